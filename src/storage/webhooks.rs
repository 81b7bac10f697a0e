// Webhooks' persistence: subscribers, and the deliveries (an outbox) written in the transaction of each
// log entry; the sender claims a due delivery with a guarded update and records each attempt on its row.

use super::models::{DeliveryRow, WebhookRow};
use super::schema::{webhook_deliveries as d, webhook_subscriptions as w};
use super::{now, DbConn, Result};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConn, url: &str, events: &[String], secret: &str, created_by: Option<i64>) -> Result<WebhookRow> {
    let id: i64 = diesel::insert_into(w::table)
        .values((
            w::url.eq(url),
            w::events.eq(events.join(",")),
            w::secret.eq(secret),
            w::active.eq(true),
            w::failures.eq(0),
            w::created_by.eq(created_by),
            w::created_at.eq(now()),
        ))
        .returning(w::id)
        .get_result(conn)?;
    get(conn, id)
}

/// A subscriber that has not been deleted.
pub fn get(conn: &mut DbConn, id: i64) -> Result<WebhookRow> {
    Ok(w::table.find(id).filter(w::deleted_at.is_null()).select(WebhookRow::as_select()).first(conn)?)
}

pub fn list(conn: &mut DbConn) -> Result<Vec<WebhookRow>> {
    Ok(w::table
        .filter(w::deleted_at.is_null())
        .order(w::id.asc())
        .select(WebhookRow::as_select())
        .load(conn)?)
}

/// Delete a subscriber: nothing more is sent to it; its delivery log stays.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<bool> {
    let n = diesel::update(w::table.find(id).filter(w::deleted_at.is_null()))
        .set((w::deleted_at.eq(Some(now())), w::active.eq(false)))
        .execute(conn)?;
    Ok(n == 1)
}

/// In the transaction of a log entry: one delivery for each active subscriber that follows `kind`.
pub fn enqueue(conn: &mut DbConn, msg_id: &str, kind: &str, payload: &str) -> Result<usize> {
    let subscribers: Vec<(i64, String)> = w::table.filter(w::active.eq(true)).select((w::id, w::events)).load(conn)?;
    let at = now();
    let mut n = 0;
    for (id, _) in subscribers.iter().filter(|(_, e)| e.split(',').any(|e| e == kind)) {
        diesel::insert_into(d::table)
            .values((
                d::subscription_id.eq(id),
                d::msg_id.eq(msg_id),
                d::event_type.eq(kind),
                d::payload.eq(payload),
                d::attempts.eq(0),
                d::next_attempt_at.eq(Some(at)),
                d::created_at.eq(at),
            ))
            .execute(conn)?;
        n += 1;
    }
    Ok(n)
}

/// A delivery with where it goes.
pub struct Due {
    pub delivery: DeliveryRow,
    pub url: String,
    pub secret: String,
}

/// Deliveries due at `at` to active subscribers, oldest first.
pub fn due(conn: &mut DbConn, at: NaiveDateTime, limit: i64) -> Result<Vec<Due>> {
    let rows: Vec<(DeliveryRow, (String, String))> = d::table
        .inner_join(w::table)
        .filter(d::next_attempt_at.le(at))
        .filter(w::active.eq(true))
        .order(d::id.asc())
        .limit(limit)
        .select((DeliveryRow::as_select(), (w::url, w::secret)))
        .load(conn)?;
    Ok(rows.into_iter().map(|(delivery, (url, secret))| Due { delivery, url, secret }).collect())
}

/// Claim a delivery for one attempt: its next attempt moves to `lease_until` (a sender that dies
/// mid-attempt leaves it to be tried again then), only if no one else moved it since it was read.
pub fn claim(conn: &mut DbConn, id: i64, seen: NaiveDateTime, lease_until: NaiveDateTime) -> Result<bool> {
    let n = diesel::update(d::table.find(id).filter(d::next_attempt_at.eq(seen)))
        .set(d::next_attempt_at.eq(Some(lease_until)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Record an attempt: delivered (the subscriber's failures reset), or failed with the next attempt (None:
/// given up); a subscriber failing `disable_after` times in a row is disabled.
pub fn record(conn: &mut DbConn, row: &DeliveryRow, status: Option<i32>, error: Option<&str>, next: Option<NaiveDateTime>, disable_after: i32) -> Result<()> {
    let at = now();
    let ok = status.is_some_and(|s| (200..300).contains(&s));
    diesel::update(d::table.find(row.id))
        .set((
            d::attempts.eq(row.attempts + 1),
            d::last_status.eq(status),
            d::last_error.eq(error),
            d::delivered_at.eq(ok.then_some(at)),
            d::next_attempt_at.eq(if ok { None } else { next }),
        ))
        .execute(conn)?;
    let sub = row.subscription_id;
    if ok {
        diesel::update(w::table.find(sub)).set(w::failures.eq(0)).execute(conn)?;
    } else {
        diesel::update(w::table.find(sub)).set(w::failures.eq(w::failures + 1)).execute(conn)?;
        diesel::update(w::table.find(sub).filter(w::failures.ge(disable_after)).filter(w::active.eq(true)))
            .set((w::active.eq(false), w::disabled_at.eq(Some(at))))
            .execute(conn)?;
    }
    Ok(())
}

/// A subscriber's deliveries, newest first.
pub fn deliveries(conn: &mut DbConn, subscription_id: i64, limit: i64) -> Result<Vec<DeliveryRow>> {
    Ok(d::table
        .filter(d::subscription_id.eq(subscription_id))
        .order(d::id.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)?)
}

/// Subscribers whose secret is not sealed yet: (id, secret).
pub fn unsealed(conn: &mut DbConn, prefix: &str) -> Result<Vec<(i64, String)>> {
    Ok(w::table
        .filter(w::secret.not_like(format!("{prefix}%")))
        .select((w::id, w::secret))
        .load(conn)?)
}

/// Replace a subscriber's stored secret (sealing it), if it is still `was`.
pub fn reseal(conn: &mut DbConn, id: i64, was: &str, sealed: &str) -> Result<bool> {
    Ok(diesel::update(w::table.find(id).filter(w::secret.eq(was)))
        .set(w::secret.eq(sealed))
        .execute(conn)?
        == 1)
}

/// Deliveries not made yet (still to be attempted), by whether their subscriber is active: (active, how
/// many, when the oldest was queued).
pub fn backlog(conn: &mut DbConn) -> Result<Vec<(bool, i64, Option<NaiveDateTime>)>> {
    Ok(d::table
        .inner_join(w::table)
        .filter(d::next_attempt_at.is_not_null())
        .group_by(w::active)
        .select((w::active, diesel::dsl::count_star(), diesel::dsl::min(d::created_at)))
        .load(conn)?)
}

// Notifications' persistence: the outbox of messages to people (one row per recipient, a key that keeps
// a message to once), who can be told, and the mailer's claims and records. Whom to tell is src/app's.

use super::models::NotificationRow;
use super::schema::{notifications as n, users, venues};
use super::{now, DbConn, Result};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

/// A person to tell: id, e-mail address (if any), the language they use the portal in (if known).
pub type Recipient = (i64, Option<String>, Option<String>);

/// One message into the outbox (`dedup` keeps it to once: a unique key).
pub fn insert(conn: &mut DbConn, kind: &str, user: Option<i64>, email: Option<&str>, language: &str, params: &Value, dedup: Option<&str>) -> Result<()> {
    let at = now();
    diesel::insert_into(n::table)
        .values((
            n::kind.eq(kind),
            n::recipient_user_id.eq(user),
            n::recipient_email.eq(email),
            n::language.eq(language),
            n::params.eq(params.to_string()),
            n::dedup_key.eq(dedup),
            n::attempts.eq(0),
            // Only a message with an address is sent; every one is shown in the portal.
            n::next_attempt_at.eq(email.map(|_| at)),
            n::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The managers of a venue.
pub fn managers(conn: &mut DbConn, venue_id: i64) -> Result<Vec<Recipient>> {
    Ok(users::table
        .filter(users::venue_id.eq(venue_id))
        .select((users::id, users::email, users::language))
        .load(conn)?)
}

/// One person (none if the id names no one).
pub fn person(conn: &mut DbConn, id: i64) -> Result<Vec<Recipient>> {
    Ok(users::table.find(id).select((users::id, users::email, users::language)).load(conn)?)
}

/// Every user with their roles as stored, oldest first (the application layer picks whom to tell).
pub fn staff(conn: &mut DbConn) -> Result<Vec<(Recipient, String)>> {
    Ok(users::table
        .select(((users::id, users::email, users::language), users::roles))
        .order(users::id.asc())
        .load(conn)?)
}

/// A venue's name, and its names in Kazakh, Russian and English where it has them.
pub type VenueNames = (String, Option<String>, Option<String>, Option<String>);

pub fn venue_names(conn: &mut DbConn, venue_id: i64) -> Result<VenueNames> {
    Ok(venues::table
        .find(venue_id)
        .select((venues::name, venues::name_kk, venues::name_ru, venues::name_en))
        .first(conn)?)
}

/// Whether any message carries `key` followed by `:<recipient>`: a range on the unique index of
/// `dedup_key` (a `LIKE` prefix would be a scan of the whole outbox on both backends).
pub fn queued_with_key(conn: &mut DbConn, key: &str) -> Result<bool> {
    let sent: i64 = n::table
        .filter(n::dedup_key.ge(format!("{key}:")).and(n::dedup_key.lt(format!("{key};"))))
        .count()
        .get_result(conn)?;
    Ok(sent > 0)
}

pub fn due(conn: &mut DbConn, at: NaiveDateTime, limit: i64) -> Result<Vec<NotificationRow>> {
    Ok(n::table
        .filter(n::next_attempt_at.le(at))
        .order(n::id.asc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)?)
}

/// Claim a message for one attempt (see `webhooks::claim`).
pub fn claim(conn: &mut DbConn, id: i64, seen: NaiveDateTime, lease_until: NaiveDateTime) -> Result<bool> {
    let changed = diesel::update(n::table.find(id).filter(n::next_attempt_at.eq(seen)))
        .set(n::next_attempt_at.eq(Some(lease_until)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Record an attempt: sent, or failed with the next attempt (None: given up).
pub fn record(conn: &mut DbConn, row: &NotificationRow, sent: bool, error: Option<&str>, next: Option<NaiveDateTime>) -> Result<()> {
    diesel::update(n::table.find(row.id))
        .set((
            n::attempts.eq(row.attempts + 1),
            n::sent_at.eq(sent.then(now)),
            n::last_error.eq(error),
            n::next_attempt_at.eq(if sent { None } else { next }),
        ))
        .execute(conn)?;
    Ok(())
}

/// A person's messages, newest first.
pub fn for_user(conn: &mut DbConn, user_id: i64, limit: i64) -> Result<Vec<NotificationRow>> {
    Ok(n::table
        .filter(n::recipient_user_id.eq(user_id))
        .order(n::id.desc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)?)
}

/// How many of a person's messages came after the newest one they have seen (by the (recipient, id) index).
pub fn unread(conn: &mut DbConn, user_id: i64, seen_id: i64) -> Result<i64> {
    Ok(n::table
        .filter(n::recipient_user_id.eq(user_id))
        .filter(n::id.gt(seen_id))
        .count()
        .get_result(conn)?)
}

/// The person has seen their messages up to `id`.
pub fn seen(conn: &mut DbConn, user_id: i64, id: i64) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .filter(users::notifications_seen_id.lt(id))
        .set(users::notifications_seen_id.eq(id))
        .execute(conn)?;
    Ok(())
}

/// All messages, oldest first (tests and support).
pub fn all(conn: &mut DbConn) -> Result<Vec<NotificationRow>> {
    Ok(n::table.order(n::id.asc()).select(NotificationRow::as_select()).load(conn)?)
}

/// The language a person last used the portal in.
pub fn set_language(conn: &mut DbConn, user_id: i64, language: &str) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set(users::language.eq(Some(language)))
        .execute(conn)?;
    Ok(())
}

/// E-mails not sent yet (still to be attempted): how many, and when the oldest was queued.
pub fn backlog(conn: &mut DbConn) -> Result<(i64, Option<NaiveDateTime>)> {
    Ok(n::table
        .filter(n::next_attempt_at.is_not_null())
        .select((diesel::dsl::count_star(), diesel::dsl::min(n::created_at)))
        .first(conn)?)
}

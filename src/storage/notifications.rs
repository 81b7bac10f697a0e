// Notifications' persistence: the outbox of messages to people, written in the transaction of the change
// they tell about (one row per recipient, a reminder once by its key), claimed and recorded by the mailer.

use super::certificates::ReminderRow;
use super::models::{AppealRow, AssessmentRow, CertificateRow, NotificationRow};
use super::schema::{notifications as n, users, venues};
use super::{now, DbConn, Result};
use crate::domain::auth::{parse_roles, Role};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Value};

/// A person to tell: id, e-mail address (if any), the language they use the portal in (if known).
type Recipient = (i64, Option<String>, Option<String>);

/// The registry's first language, for people who have not used the portal yet.
pub const DEFAULT_LANGUAGE: &str = "kk";

fn insert(conn: &mut DbConn, kind: &str, user: Option<i64>, email: Option<&str>, language: &str, params: &Value, dedup: Option<&str>) -> Result<()> {
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

/// One message to each of the given people (id, e-mail, language).
fn to_people(conn: &mut DbConn, people: &[Recipient], kind: &str, params: &Value, dedup: Option<&str>) -> Result<usize> {
    for (id, email, language) in people {
        let key = dedup.map(|d| format!("{d}:{id}"));
        insert(
            conn,
            kind,
            Some(*id),
            email.as_deref(),
            language.as_deref().unwrap_or(DEFAULT_LANGUAGE),
            params,
            key.as_deref(),
        )?;
    }
    Ok(people.len())
}

fn managers(conn: &mut DbConn, venue_id: i64) -> Result<Vec<Recipient>> {
    Ok(users::table
        .filter(users::venue_id.eq(venue_id))
        .select((users::id, users::email, users::language))
        .load(conn)?)
}

fn person(conn: &mut DbConn, id: i64) -> Result<Vec<Recipient>> {
    Ok(users::table.find(id).select((users::id, users::email, users::language)).load(conn)?)
}

/// A certificate's status change (issued, suspended, reinstated, withdrawn, expired), to its venue's managers.
pub fn certificate(conn: &mut DbConn, cert: &CertificateRow, kind: &str, reason: Option<&str>) -> Result<usize> {
    if !matches!(kind, "issued" | "suspended" | "reinstated" | "withdrawn" | "expired") {
        return Ok(0);
    }
    let people = managers(conn, cert.venue_id)?;
    let params = json!({"number": cert.number, "venue": cert.venue_name, "reason": reason, "date": cert.valid_until});
    to_people(conn, &people, kind, &params, None)
}

/// The key that keeps a reminder to once: per kind, certificate, date and stage (each recipient's row adds
/// `:<recipient>`).
fn reminder_key(kind: &str, number: &str, date: chrono::NaiveDate, days: u32) -> String {
    format!("{kind}:{number}:{date}:{days}")
}

/// Whether this reminder was queued already: a range on the unique index of `dedup_key` (a `LIKE` prefix
/// would be a scan of the whole outbox on both backends).
fn reminder_sent(conn: &mut DbConn, kind: &str, number: &str, date: chrono::NaiveDate, days: u32) -> Result<bool> {
    let key = reminder_key(kind, number, date, days);
    let sent: i64 = n::table
        .filter(n::dedup_key.ge(format!("{key}:")).and(n::dedup_key.lt(format!("{key};"))))
        .count()
        .get_result(conn)?;
    Ok(sent > 0)
}

/// Whether a reminder is still to be queued: not queued yet, and the venue has someone to tell (a venue
/// without managers would otherwise be looked at, and written for, on every pass).
pub fn reminder_pending(conn: &mut DbConn, cert: &ReminderRow, kind: &str, days: u32) -> Result<bool> {
    if reminder_sent(conn, kind, &cert.number, cert.date, days)? {
        return Ok(false);
    }
    Ok(!managers(conn, cert.venue_id)?.is_empty())
}

/// A reminder (`expiring` or `surveillance_due`) `days` before `date`, to the venue's managers, once per key.
pub fn reminder(conn: &mut DbConn, cert: &ReminderRow, kind: &str, days: u32) -> Result<usize> {
    if reminder_sent(conn, kind, &cert.number, cert.date, days)? {
        return Ok(0);
    }
    let key = reminder_key(kind, &cert.number, cert.date, days);
    let people = managers(conn, cert.venue_id)?;
    let params = json!({"number": cert.number, "venue": cert.venue_name, "date": cert.date, "days": days});
    to_people(conn, &people, kind, &params, Some(&key))
}

/// An audit returned (to its assessor) or rejected (to its assessor and the venue's managers).
pub fn decision(conn: &mut DbConn, a: &AssessmentRow, kind: &str, reason: Option<&str>) -> Result<usize> {
    if !matches!(kind, "returned" | "rejected") {
        return Ok(0);
    }
    let venue: String = venues::table.find(a.venue_id).select(venues::name).first(conn)?;
    let mut people = person(conn, a.assessor_id)?;
    if kind == "rejected" {
        people.extend(managers(conn, a.venue_id)?);
    }
    let params = json!({"audit": a.id, "venue": venue, "reason": reason});
    to_people(conn, &people, kind, &params, None)
}

/// A complaint received: an acknowledgement with its reference to the reporter's address, if they gave one.
pub fn complaint(conn: &mut DbConn, email: &str, language: &str, reference: &str, number: &str) -> Result<()> {
    insert(
        conn,
        "complaint_received",
        None,
        Some(email),
        language,
        &json!({"reference": reference, "number": number}),
        None,
    )
}

/// The staff who handle what the public and the venues bring: every officer (the registry's admins when it
/// has no officer), leaving out `except` (who took part in a decision appealed).
fn handlers(conn: &mut DbConn, except: &[Option<i64>]) -> Result<Vec<Recipient>> {
    let staff: Vec<(Recipient, String)> = users::table
        .select(((users::id, users::email, users::language), users::roles))
        .order(users::id.asc())
        .load(conn)?;
    let with = |role: Role| -> Vec<Recipient> {
        staff
            .iter()
            .filter(|((id, _, _), roles)| !except.contains(&Some(*id)) && parse_roles(roles).is_ok_and(|r| r.contains(&role)))
            .map(|(who, _)| who.clone())
            .collect()
    };
    let officers = with(Role::Officer);
    Ok(if officers.is_empty() { with(Role::Admin) } else { officers })
}

/// A complaint to triage, to its handlers: its reference, certificate and category, and where the portal
/// shows it (`portal`). Never the reporter's address or words.
pub fn complaint_to_triage(conn: &mut DbConn, complaint_id: i64, reference: &str, number: &str, category: &str) -> Result<usize> {
    let people = handlers(conn, &[])?;
    let params = json!({"reference": reference, "number": number, "category": category, "portal": format!("/app/complaints/{complaint_id}")});
    to_people(conn, &people, "complaint_to_triage", &params, None)
}

/// An appeal filed, to the handlers who may decide it: none who took part in the decision appealed.
pub fn appeal_to_decide(conn: &mut DbConn, row: &AppealRow, what: &str) -> Result<usize> {
    let people = handlers(conn, &[row.decider_id, row.assessor_id])?;
    let params = json!({"appeal": row.id, "subject": row.subject, "what": what, "portal": format!("/app/appeals/{}", row.id)});
    to_people(conn, &people, "appeal_to_decide", &params, None)
}

/// An appeal decided, to the person who filed it.
pub fn appeal(conn: &mut DbConn, filed_by: i64, appeal_id: i64, subject: &str, what: &str, outcome: &str, reason: &str) -> Result<usize> {
    let people = person(conn, filed_by)?;
    let params = json!({"appeal": appeal_id, "subject": subject, "what": what, "outcome": outcome, "reason": reason});
    to_people(conn, &people, "appeal_decided", &params, None)
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

// Scheduled work as operations: what the scheduler does to one certificate at a given time, acting as
// `system` (the rules of domain::surveillance, checked on the row as read inside the change's transaction).

use super::Result;
use crate::domain::auth::Caller;
use crate::domain::log::LogKey;
use crate::domain::surveillance::{Cutoffs, Due, Facts, Policy};
use crate::storage::certificates::{self as repo, ReminderRow, StatusChange};
use crate::storage::models::CertificateRow;
use crate::storage::DbConn;
use chrono::NaiveDateTime;

/// The actor the scheduler's events name.
pub const SYSTEM: &str = "system";

/// The numbers of the certificates that may be due for `due` at the cutoffs.
pub fn candidates(conn: &mut DbConn, due: Due, cut: &Cutoffs) -> Result<Vec<String>> {
    Ok(repo::scheduled(conn, due, cut)?)
}

/// Act on certificate `number` as of `now`, if the rules say something is due: record its expiry,
/// suspend it for overdue surveillance, or withdraw a long suspension, with its event and log entry.
/// Inside the caller's transaction; a change made meanwhile by someone else is a conflict.
pub fn act(conn: &mut DbConn, number: &str, policy: &Policy, now: NaiveDateTime, log: &LogKey) -> Result<Option<(Due, CertificateRow)>> {
    let row = repo::get(conn, number)?;
    let facts = Facts {
        status: repo::stored_status(&row)?,
        valid_until: row.valid_until,
        surveillance_due: row.surveillance_due,
        status_changed_at: row.status_changed_at,
    };
    let Some(due) = policy.due(&facts, now) else {
        return Ok(None);
    };
    let (action, to, reason) = due.change();
    let change = StatusChange {
        action,
        from: &row.status,
        to,
        reason,
        at: now,
    };
    let changed = super::certificates::store_status(conn, &Caller::system(SYSTEM), &row, &change, log)?;
    Ok(Some((due, changed)))
}

/// Valid certificates whose `kind` date (`expiring` or `surveillance_due`) is `day`.
pub fn reminder_candidates(conn: &mut DbConn, kind: &str, day: chrono::NaiveDate) -> Result<Vec<ReminderRow>> {
    Ok(repo::reminder_candidates(conn, kind, day)?)
}

/// Of these certificates, those whose reminder due `today` was not queued yet (and has someone to go to),
/// with its stage.
pub fn reminders_due(conn: &mut DbConn, rows: Vec<ReminderRow>, kind: &str, today: chrono::NaiveDate) -> Result<Vec<(ReminderRow, u32)>> {
    let mut due = Vec::new();
    for row in rows {
        if let Some(days) = crate::domain::surveillance::reminder_stage(row.date, today) {
            if super::notify::reminder_pending(conn, &row, kind, days)? {
                due.push((row, days));
            }
        }
    }
    Ok(due)
}

/// Queue the reminder (checked again inside the transaction: once per stage, 90, 30 and 7 days).
pub fn remind(conn: &mut DbConn, cert: &ReminderRow, kind: &str, days: u32) -> Result<usize> {
    Ok(super::notify::reminder(conn, cert, kind, days)?)
}

// Scheduled work as operations: what the scheduler does to one certificate at a given time, acting as
// `system` (the rules of domain::surveillance, checked on the row as read inside the change's transaction).

use super::Result;
use crate::domain::auth::Caller;
use crate::domain::log::LogKey;
use crate::domain::surveillance::{Cutoffs, Due, Facts, Policy};
use crate::storage::certificates::{self as repo, StatusChange};
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
    let changed = repo::set_status(conn, &Caller::system(SYSTEM), &row, &change, log)?;
    Ok(Some((due, changed)))
}

/// Valid certificates with `kind` (`expiring` or `surveillance_due`) falling within the next 90 days.
pub fn reminder_candidates(conn: &mut DbConn, kind: &str, today: chrono::NaiveDate) -> Result<Vec<CertificateRow>> {
    let to = today + chrono::Days::new(u64::from(crate::domain::surveillance::REMINDER_DAYS[0]));
    Ok(repo::reminder_candidates(conn, kind, today, to)?)
}

/// Queue the reminder due today for this certificate's `kind` date, once per stage (90, 30, 7 days).
pub fn remind(conn: &mut DbConn, cert: &CertificateRow, kind: &str, today: chrono::NaiveDate) -> Result<usize> {
    let date = match kind {
        "expiring" => Some(cert.valid_until),
        _ => cert.surveillance_due,
    };
    let Some(date) = date else { return Ok(0) };
    match crate::domain::surveillance::reminder_stage(date, today) {
        Some(days) => Ok(crate::storage::notifications::reminder(conn, cert, kind, date, days)?),
        None => Ok(0),
    }
}

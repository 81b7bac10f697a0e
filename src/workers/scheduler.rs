//! Scheduled work (ISO/IEC 17065 7.9, 7.11): one pass over the certificates due at a given time — expiries
//! recorded, overdue surveillance suspended, long suspensions withdrawn; inside `serve` and as `jobs run`.

use crate::app::schedule;
use crate::domain::log::LogKey;
use crate::domain::surveillance::{Due, Policy};
use crate::storage::{self, Db};
use chrono::NaiveDateTime;
use serde::Serialize;

/// What one pass did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub at: String,
    /// False when another replica's pass held the lock (PostgreSQL): this one did nothing.
    pub ran: bool,
    /// Certificates read as candidates (only those the indexes say are due).
    pub examined: usize,
    pub expired: usize,
    pub suspended: usize,
    pub withdrawn: usize,
    /// Changed meanwhile by someone else (left as they are).
    pub conflicts: usize,
    /// Failed for another reason (logged; tried again on the next pass).
    pub failed: usize,
    /// Reminders queued (90, 30 and 7 days before a surveillance audit is due or a certificate expires).
    pub reminders: usize,
    /// The certificates changed, for the caller's caches.
    #[serde(skip)]
    pub changed: Vec<String>,
}

/// One pass as of `now`. Each change is its own transaction, guarded on the status it was decided from;
/// on PostgreSQL an advisory lock lets one replica's pass run at a time. Running it again for the same
/// time changes nothing more.
pub fn run(app: &crate::app::Context, now: NaiveDateTime) -> crate::app::Result<Report> {
    let (db, policy, log) = (&app.db, &app.config.schedule, &app.log_key);
    let mut report = Report {
        at: now.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ..Default::default()
    };
    let mut lock = db.conn()?;
    if !storage::claim_scheduler(&mut lock)? {
        tracing::info!("another scheduler pass is running; this one skips");
        return Ok(report);
    }
    report.ran = true;
    let result = pass(db, policy, log, now, &mut report);
    if let Err(e) = storage::release_scheduler(&mut lock) {
        tracing::warn!(error = %e, "could not release the scheduler lock (it goes with the connection)");
    }
    result.map(|()| report)
}

fn pass(db: &Db, policy: &Policy, log: &LogKey, now: NaiveDateTime, report: &mut Report) -> crate::app::Result<()> {
    let cut = policy.cutoffs(now);
    // Expiry first: an expired certificate is not suspended or withdrawn for what follows its end.
    for due in [Due::Expire, Due::SuspendOverdue, Due::WithdrawSuspended] {
        let numbers = db.read_blocking(|c| schedule::candidates(c, due, &cut))?;
        report.examined += numbers.len();
        for number in numbers {
            match db.write_blocking(|c| schedule::act(c, &number, policy, now, log)) {
                Ok(Some((done, _))) => {
                    match done {
                        Due::Expire => report.expired += 1,
                        Due::SuspendOverdue => report.suspended += 1,
                        Due::WithdrawSuspended => report.withdrawn += 1,
                    }
                    tracing::debug!(certificate = %number, change = done.change().0, "scheduled change");
                    report.changed.push(number);
                }
                Ok(None) => {}
                Err(crate::app::Error::Storage(storage::Error::Conflict { .. })) => report.conflicts += 1,
                Err(e) => {
                    tracing::error!(certificate = %number, error = %e, "scheduled change failed");
                    report.failed += 1;
                }
            }
        }
    }
    // Reminders, once per certificate, date and stage (the outbox keeps the key): the window of the next
    // 90 days a day at a time, so that memory holds one day's certificates; a write only where one is due.
    let today = now.date();
    for kind in ["expiring", "surveillance_due"] {
        for ahead in 0..=u64::from(crate::domain::surveillance::REMINDER_DAYS[0]) {
            let day = today + chrono::Days::new(ahead);
            let due = db.read_blocking(|c| {
                let rows = schedule::reminder_candidates(c, kind, day)?;
                schedule::reminders_due(c, rows, kind, today)
            })?;
            for (row, days) in due {
                match db.write_blocking(|c| schedule::remind(c, &row, kind, days)) {
                    Ok(n) => report.reminders += n,
                    Err(e) => {
                        tracing::error!(certificate = %row.number, error = %e, "reminder failed");
                        report.failed += 1;
                    }
                }
            }
        }
    }
    Ok(())
}

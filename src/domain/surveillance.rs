//! After the award, as rules (ISO/IEC 17065 7.9, 7.11): when surveillance falls due, and what the scheduler
//! does to a certificate at a given time — record its expiry, suspend it for overdue surveillance, withdraw a long suspension.

use super::lifecycle::StoredStatus;
use chrono::{Days, Months, NaiveDate, NaiveDateTime};

/// The public reason of a suspension the scheduler makes.
pub const OVERDUE_REASON: &str = "surveillance audit overdue";
/// The public reason of a withdrawal the scheduler makes.
pub const LONG_SUSPENSION_REASON: &str = "suspended longer than the maximum suspension period";

/// The next surveillance audit falls due `months` after `from` (the grant date, then each passed audit).
pub fn next_due(from: NaiveDate, months: u32) -> NaiveDate {
    from.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// Days before a due date or an expiry when a reminder goes out.
pub const REMINDER_DAYS: [u32; 3] = [90, 30, 7];

/// The reminder due on `today` for a date, if any: the nearest stage the date is within (a pass that missed
/// the 90-day one at 20 days sends the 30-day one, then the 7-day one in time), none once it has passed.
pub fn reminder_stage(date: NaiveDate, today: NaiveDate) -> Option<u32> {
    let left = (date - today).num_days();
    if left < 0 {
        return None;
    }
    REMINDER_DAYS.iter().rev().copied().find(|&s| left <= i64::from(s))
}

/// The scheduler's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Surveillance overdue by more than this many days suspends the certificate.
    pub grace_days: u32,
    /// A suspension older than this many months becomes a withdrawal.
    pub max_suspension_months: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            grace_days: 30,
            max_suspension_months: 6,
        }
    }
}

/// The dates that make a certificate due at `now`: what storage looks up through its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// Valid or suspended with valid-until before this day: expired.
    pub expired_before: NaiveDate,
    /// Valid with surveillance due before this day: overdue by more than the grace days.
    pub overdue_before: NaiveDate,
    /// Suspended at or before this time: suspended for longer than the maximum.
    pub suspended_since: NaiveDateTime,
}

impl Policy {
    pub fn cutoffs(&self, now: NaiveDateTime) -> Cutoffs {
        let today = now.date();
        Cutoffs {
            expired_before: today,
            overdue_before: today.checked_sub_days(Days::new(u64::from(self.grace_days))).unwrap_or(NaiveDate::MIN),
            suspended_since: now.checked_sub_months(Months::new(self.max_suspension_months)).unwrap_or(NaiveDateTime::MIN),
        }
    }

    /// What the scheduler must do to this certificate at `now`, if anything. Expiry comes first: an
    /// expired certificate is neither suspended nor withdrawn for what happens after its end.
    pub fn due(&self, c: &Facts, now: NaiveDateTime) -> Option<Due> {
        let cut = self.cutoffs(now);
        match c.status {
            StoredStatus::Valid | StoredStatus::Suspended if c.valid_until < cut.expired_before => Some(Due::Expire),
            StoredStatus::Valid if c.surveillance_due.is_some_and(|d| d < cut.overdue_before) => Some(Due::SuspendOverdue),
            StoredStatus::Suspended if c.status_changed_at.is_some_and(|t| t <= cut.suspended_since) => Some(Due::WithdrawSuspended),
            _ => None,
        }
    }
}

/// What the rules need to know about a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub status: StoredStatus,
    pub valid_until: NaiveDate,
    pub surveillance_due: Option<NaiveDate>,
    pub status_changed_at: Option<NaiveDateTime>,
}

/// A change the scheduler makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Expire,
    SuspendOverdue,
    WithdrawSuspended,
}

impl Due {
    /// The event and log entry type, the stored status after it, and the public reason.
    pub fn change(self) -> (&'static str, StoredStatus, Option<&'static str>) {
        match self {
            Due::Expire => ("expired", StoredStatus::Expired, None),
            Due::SuspendOverdue => ("suspended", StoredStatus::Suspended, Some(OVERDUE_REASON)),
            Due::WithdrawSuspended => ("withdrawn", StoredStatus::Withdrawn, Some(LONG_SUSPENSION_REASON)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }
    fn noon(y: i32, m: u32, d: u32) -> NaiveDateTime {
        day(y, m, d).and_hms_opt(12, 0, 0).unwrap()
    }
    /// The Smart Plastic Zone certificate: granted 2025-12-19, valid through 2027-12-18.
    fn demo(status: StoredStatus, changed: Option<NaiveDateTime>) -> Facts {
        Facts {
            status,
            valid_until: day(2027, 12, 18),
            surveillance_due: Some(next_due(day(2025, 12, 19), 12)),
            status_changed_at: changed,
        }
    }

    #[test]
    fn surveillance_falls_due_a_year_after_the_grant() {
        assert_eq!(next_due(day(2025, 12, 19), 12), day(2026, 12, 19));
        assert_eq!(next_due(day(2024, 2, 29), 12), day(2025, 2, 28));
    }

    #[test]
    fn reminders_at_90_30_and_7_days() {
        let due = day(2026, 12, 19);
        assert_eq!(reminder_stage(due, day(2026, 9, 19)), None, "91 days before");
        assert_eq!(reminder_stage(due, day(2026, 9, 20)), Some(90));
        assert_eq!(reminder_stage(due, day(2026, 11, 19)), Some(30));
        assert_eq!(reminder_stage(due, day(2026, 12, 12)), Some(7));
        assert_eq!(reminder_stage(due, day(2026, 12, 19)), Some(7), "on the day");
        assert_eq!(reminder_stage(due, day(2026, 12, 20)), None, "past");
    }

    #[test]
    fn overdue_only_after_the_grace_days() {
        let p = Policy::default();
        let valid = demo(StoredStatus::Valid, None);
        assert_eq!(p.due(&valid, noon(2026, 12, 19)), None, "due today is not overdue");
        assert_eq!(p.due(&valid, noon(2027, 1, 18)), None, "30 days overdue is within the grace");
        assert_eq!(p.due(&valid, noon(2027, 1, 19)), Some(Due::SuspendOverdue), "31 days overdue");
    }

    #[test]
    fn a_long_suspension_becomes_a_withdrawal() {
        let p = Policy::default();
        let suspended = demo(StoredStatus::Suspended, Some(noon(2027, 1, 19)));
        assert_eq!(p.due(&suspended, noon(2027, 7, 19) - chrono::TimeDelta::seconds(1)), None);
        assert_eq!(p.due(&suspended, noon(2027, 7, 19)), Some(Due::WithdrawSuspended));
        assert_eq!(p.due(&demo(StoredStatus::Suspended, None), noon(2027, 9, 1)), None, "no time, no guess");
    }

    #[test]
    fn expiry_comes_first_and_ends_the_schedule() {
        let p = Policy::default();
        assert_eq!(p.due(&demo(StoredStatus::Valid, None), noon(2027, 12, 18)), Some(Due::SuspendOverdue));
        assert_eq!(p.due(&demo(StoredStatus::Valid, None), noon(2027, 12, 19)), Some(Due::Expire));
        assert_eq!(
            p.due(&demo(StoredStatus::Suspended, Some(noon(2027, 1, 1))), noon(2028, 1, 1)),
            Some(Due::Expire)
        );
        for done in [StoredStatus::Expired, StoredStatus::Withdrawn, StoredStatus::Superseded] {
            assert_eq!(p.due(&demo(done, Some(noon(2026, 1, 1))), noon(2030, 1, 1)), None);
        }
    }

    fn status() -> impl Strategy<Value = StoredStatus> {
        prop_oneof![
            Just(StoredStatus::Valid),
            Just(StoredStatus::Suspended),
            Just(StoredStatus::Withdrawn),
            Just(StoredStatus::Superseded),
            Just(StoredStatus::Expired),
        ]
    }

    proptest! {
        /// Whatever the certificate and the time, acting once leaves nothing more to do at that time: a
        /// second run for the same time changes nothing more.
        #[test]
        fn acting_converges(st in status(), until in 0i64..2000, due in proptest::option::of(0i64..2000),
                            changed in proptest::option::of(0i64..2000), now in 0i64..3000,
                            grace in 0u32..120, months in 1u32..24) {
            let base = day(2025, 1, 1);
            let p = Policy { grace_days: grace, max_suspension_months: months };
            let now = (base + chrono::TimeDelta::days(now)).and_hms_opt(6, 0, 0).unwrap();
            let mut f = Facts {
                status: st,
                valid_until: base + chrono::TimeDelta::days(until),
                surveillance_due: due.map(|d| base + chrono::TimeDelta::days(d)),
                status_changed_at: changed.map(|d| (base + chrono::TimeDelta::days(d)).and_hms_opt(0, 0, 0).unwrap()),
            };
            let mut steps = 0;
            while let Some(d) = p.due(&f, now) {
                let (_, to, _) = d.change();
                prop_assert_ne!(to, f.status);
                if d == Due::Expire { prop_assert!(f.valid_until < now.date()); }
                f.status = to;
                f.status_changed_at = Some(now);
                steps += 1;
                prop_assert!(steps <= 1, "one change per certificate per time");
            }
        }
    }
}

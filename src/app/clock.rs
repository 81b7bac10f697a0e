// The registry's clock: the time its rules are judged at (a certificate's validity and expiry, status
// changes, the appeal window, the scheduler's passes). Tests move it forward instead of back-dating rows.

use chrono::{NaiveDateTime, TimeDelta};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The server's time, plus an offset that only tests set (shared by every clone of one context).
#[derive(Clone, Default)]
pub struct Clock {
    offset_us: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in UTC, to the microsecond (what both backends store).
    pub fn now(&self) -> NaiveDateTime {
        let now = crate::storage::now();
        now.checked_add_signed(TimeDelta::microseconds(self.offset_us.load(Ordering::Relaxed)))
            .unwrap_or(now)
    }

    /// Move the clock forward (tests: "a month later").
    pub fn advance(&self, by: TimeDelta) {
        let us = by.num_microseconds().unwrap_or(i64::MAX);
        self.offset_us.fetch_add(us, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_offset_and_time_moves_forward() {
        let a = Clock::default();
        let b = a.clone();
        let before = a.now();
        b.advance(TimeDelta::days(31));
        let after = a.now();
        assert!(after - before >= TimeDelta::days(31), "{before} -> {after}");
        assert!(after - before < TimeDelta::days(31) + TimeDelta::seconds(5));
    }
}

// Public reads from a PostgreSQL read replica, only while it keeps the freshness promise: measured less
// than `--read-max-lag-ms` behind the primary, and holding every public change this process made.

use crate::storage::{self, replication::Replayed, Db};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the replica's position is measured against the primary's.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Samples kept while the replica has not replayed them (a minute at `SAMPLE_EVERY`).
const MAX_SAMPLES: usize = 600;

/// What is known about the replica. The lag is measured in time, not bytes: the primary's log position is
/// sampled with the time it was read, and the replica has caught up to the newest sample it has replayed.
#[derive(Debug, Default)]
pub struct Freshness {
    /// Primary positions not yet replayed, oldest first, with when they were read.
    pending: VecDeque<(Instant, u64)>,
    /// The newest moment whose every committed change the replica holds (None: unknown or unreachable).
    caught_up_to: Option<Instant>,
    /// When this process last changed something the public pages show.
    last_change: Option<Instant>,
}

impl Freshness {
    /// The primary's log position, read at `at` (after every commit before `at`).
    pub fn primary_at(&mut self, at: Instant, position: u64) {
        if self.pending.len() == MAX_SAMPLES {
            self.pending.pop_front();
        }
        self.pending.push_back((at, position));
    }

    /// The replica's progress, read after the last `primary_at`.
    pub fn replica(&mut self, replayed: Replayed) {
        while let Some(&(at, position)) = self.pending.front() {
            let done = match replayed {
                Replayed::Everything => true,
                Replayed::Upto(n) => n >= position,
            };
            if !done {
                break;
            }
            self.caught_up_to = Some(self.caught_up_to.map_or(at, |c| c.max(at)));
            self.pending.pop_front();
        }
    }

    /// The replica (or the primary) could not be read: until the next good measurement, nothing is known.
    pub fn unknown(&mut self) {
        self.pending.clear();
        self.caught_up_to = None;
    }

    /// This process changed something public at `at`: the replica serves again once it holds that.
    pub fn changed(&mut self, at: Instant) {
        self.last_change = Some(self.last_change.map_or(at, |c| c.max(at)));
    }

    /// How far behind the replica is at `now`.
    pub fn lag(&self, now: Instant) -> Option<Duration> {
        self.caught_up_to.map(|c| now.saturating_duration_since(c))
    }

    /// Whether a public read at `now` may go to the replica: it is less than `max_lag` behind and holds
    /// this process's latest change.
    pub fn fresh(&self, now: Instant, max_lag: Duration) -> bool {
        match self.caught_up_to {
            None => false,
            Some(c) => now.saturating_duration_since(c) <= max_lag && self.last_change.is_none_or(|l| c >= l),
        }
    }
}

/// The read replica's pool and what is known about it.
pub struct ReadReplica {
    pub db: Db,
    max_lag: Duration,
    freshness: Mutex<Freshness>,
}

impl ReadReplica {
    pub fn new(db: Db, max_lag: Duration) -> ReadReplica {
        ReadReplica {
            db,
            max_lag,
            freshness: Mutex::new(Freshness::default()),
        }
    }

    fn freshness(&self) -> std::sync::MutexGuard<'_, Freshness> {
        self.freshness.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a public read now may go to the replica.
    pub fn fresh(&self) -> bool {
        self.freshness().fresh(Instant::now(), self.max_lag)
    }

    /// This process changed something public just now.
    pub fn changed(&self) {
        self.freshness().changed(Instant::now());
    }

    /// One measurement: the primary's position, then how far the replica has replayed it. Returns the lag.
    pub async fn measure(&self, primary: &Db) -> Option<Duration> {
        let at = Instant::now();
        let measured = match primary.read(storage::replication::primary_position).await {
            Ok(Some(p)) => self.db.read(storage::replication::replayed).await.map(|r| r.map(|r| (p, r))),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let mut f = self.freshness();
        match measured {
            Ok(Some((p, r))) => {
                f.primary_at(at, p);
                f.replica(r);
            }
            Ok(None) => f.unknown(),
            Err(e) => {
                if f.caught_up_to.is_some() {
                    tracing::warn!(error = %e, "the read replica's lag cannot be measured: public reads go to the primary");
                }
                f.unknown();
            }
        }
        f.lag(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_millis(1000);

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn nothing_measured_is_not_fresh() {
        assert!(!Freshness::default().fresh(Instant::now(), MAX));
    }

    #[test]
    fn the_lag_is_the_age_of_the_newest_replayed_sample() {
        let t0 = Instant::now();
        let mut f = Freshness::default();
        f.primary_at(ms(t0, 0), 100);
        f.primary_at(ms(t0, 100), 200);
        f.primary_at(ms(t0, 200), 300);
        f.replica(Replayed::Upto(250));
        assert_eq!(f.lag(ms(t0, 300)), Some(Duration::from_millis(200)));
        assert!(f.fresh(ms(t0, 300), MAX));
        // It falls behind: no sample replayed for longer than the bound.
        assert!(!f.fresh(ms(t0, 1101), MAX));
        f.replica(Replayed::Upto(300));
        assert_eq!(f.lag(ms(t0, 300)), Some(Duration::from_millis(100)));
    }

    #[test]
    fn a_change_of_this_process_goes_to_the_primary_until_the_replica_has_it() {
        let t0 = Instant::now();
        let mut f = Freshness::default();
        f.primary_at(ms(t0, 0), 100);
        f.replica(Replayed::Upto(100));
        assert!(f.fresh(ms(t0, 10), MAX));
        f.changed(ms(t0, 20));
        assert!(!f.fresh(ms(t0, 30), MAX), "the replica was caught up only to before the change");
        // A sample read after the change, but not replayed yet.
        f.primary_at(ms(t0, 100), 180);
        f.replica(Replayed::Upto(150));
        assert!(!f.fresh(ms(t0, 110), MAX));
        f.replica(Replayed::Upto(180));
        assert!(f.fresh(ms(t0, 120), MAX));
    }

    #[test]
    fn a_promoted_replica_has_everything_and_an_unreachable_one_nothing() {
        let t0 = Instant::now();
        let mut f = Freshness::default();
        f.primary_at(ms(t0, 0), 100);
        f.replica(Replayed::Everything);
        assert!(f.fresh(ms(t0, 1), MAX));
        f.unknown();
        assert!(!f.fresh(ms(t0, 2), MAX));
        assert_eq!(f.lag(ms(t0, 2)), None);
    }

    #[test]
    fn samples_kept_are_bounded() {
        let t0 = Instant::now();
        let mut f = Freshness::default();
        for i in 0..(MAX_SAMPLES as u64 + 50) {
            f.primary_at(ms(t0, i), i);
        }
        assert_eq!(f.pending.len(), MAX_SAMPLES);
        f.replica(Replayed::Upto(u64::MAX));
        assert!(f.pending.is_empty());
    }
}

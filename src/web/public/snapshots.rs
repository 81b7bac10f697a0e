// Short-lived snapshots of certificates for the public pages, with their rendered bodies: at most
// `TTL` old, dropped at once when this process changes a certificate, and never stored from a read that
// began before a change (an epoch check), so a change shows on the next request by construction.
// Generic over what is kept (the public projection of src/web/public/certificates.rs), so it depends on no page code.

use actix_web::web::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long a status read from the database may be shown again. Other replicas see a change within this.
pub const TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 10_000;
const MAX_RENDERS: usize = 32;

pub struct Snapshot<T> {
    pub at: Instant,
    pub cert: T,
    /// The stored token verified against the published keys.
    pub signature_ok: bool,
    renders: Mutex<HashMap<String, Bytes>>,
    /// Set by the one request that starts reading the next snapshot.
    refreshing: AtomicBool,
}

impl<T> Snapshot<T> {
    /// True once, for the first caller after half the snapshot's life: that caller reads the next one.
    pub fn due_for_refresh(&self) -> bool {
        self.due_for_refresh_at(Instant::now())
    }

    fn due_for_refresh_at(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.at) >= TTL / 2 && !self.refreshing.swap(true, Ordering::SeqCst)
    }

    /// The body rendered for `key` (language, format, link), rendered once per snapshot.
    pub fn render(&self, key: String, f: impl FnOnce(&T) -> Bytes) -> Bytes {
        let mut renders = self.renders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = renders.get(&key) {
            return b.clone();
        }
        let b = f(&self.cert);
        if renders.len() < MAX_RENDERS {
            renders.insert(key, b.clone());
        }
        b
    }
}

pub struct Snapshots<T> {
    entries: RwLock<HashMap<String, Arc<Snapshot<T>>>>,
    /// Counts changes; guarded by `entries`' lock.
    epoch: AtomicU64,
    /// One turn per certificate being read after a miss, held by the reader while it reads.
    gates: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl<T> Default for Snapshots<T> {
    fn default() -> Self {
        Snapshots {
            entries: RwLock::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            gates: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Snapshots<T> {
    pub fn get(&self, number: &str) -> Option<Arc<Snapshot<T>>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(number).filter(|s| s.at.elapsed() < TTL).cloned()
    }

    /// The snapshot of `number`, or the one `read` makes (and keeps, through `put`). Callers that miss at
    /// the same moment take turns: the first reads, and the others find its snapshot (single flight: one
    /// database read for them all, not one each). A read that keeps nothing (not found, or overlapped by a
    /// change) leaves the next caller to read again.
    pub async fn get_or_read<E, Fut>(&self, number: &str, read: impl FnOnce() -> Fut) -> Result<Option<Arc<Snapshot<T>>>, E>
    where
        Fut: std::future::Future<Output = Result<Option<Arc<Snapshot<T>>>, E>>,
    {
        let cache = &crate::metrics::get().snapshot_cache;
        if let Some(s) = self.get(number) {
            cache.with_label_values(&["hit"]).inc();
            return Ok(Some(s));
        }
        cache.with_label_values(&["miss"]).inc();
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
            if gates.len() >= MAX_ENTRIES {
                // Turns left behind by cancelled requests: nobody else holds them.
                gates.retain(|_, g| Arc::strong_count(g) > 1);
            }
            gates.entry(number.to_string()).or_default().clone()
        };
        let result = {
            let _turn = gate.lock().await;
            match self.get(number) {
                Some(s) => Ok(Some(s)),
                None => read().await,
            }
        };
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        // Only the map and this caller hold it: nobody waits, and nobody can take it without the map's lock.
        if Arc::strong_count(&gate) == 2 {
            gates.remove(number);
        }
        result
    }

    /// Take this before reading a certificate from the database, and hand it to `put`.
    pub fn epoch(&self) -> u64 {
        let _entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        self.epoch.load(Ordering::SeqCst)
    }

    /// Keep a snapshot of what a read that started at `epoch` saw, unless a change happened since then
    /// (the read may have seen the state before it): then it is served once and not kept.
    pub fn put(&self, number: &str, cert: T, signature_ok: bool, epoch: u64) -> Arc<Snapshot<T>> {
        let snap = Arc::new(Snapshot {
            at: Instant::now(),
            cert,
            signature_ok,
            renders: Mutex::new(HashMap::new()),
            refreshing: AtomicBool::new(false),
        });
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return snap;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, s| s.at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(number.to_string(), snap.clone());
        snap
    }

    pub fn invalidate(&self, number: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        entries.remove(number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_overlapped_a_change_is_not_kept() {
        let s = Snapshots::<&str>::default();
        let before = s.epoch();
        s.invalidate("GEL-2026-000001"); // the change commits while the read is under way
        s.put("GEL-2026-000001", "valid", true, before);
        assert!(s.get("GEL-2026-000001").is_none(), "the stale read must not be served again");
        let e = s.epoch();
        s.put("GEL-2026-000001", "valid", true, e);
        assert!(s.get("GEL-2026-000001").is_some());
    }

    #[tokio::test]
    async fn callers_that_miss_together_read_once() {
        let (s, reads) = (&Snapshots::<&str>::default(), &AtomicU64::new(0));
        let read = move || async move {
            reads.fetch_add(1, Ordering::SeqCst);
            // The database round trip: the other callers arrive meanwhile.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            Ok::<_, ()>(Some(s.put("GEL-2026-000001", "valid", true, s.epoch())))
        };
        let all = futures_util::future::join_all((0..8).map(|_| s.get_or_read("GEL-2026-000001", read))).await;
        assert!(all.iter().all(|r| matches!(r, Ok(Some(snap)) if snap.cert == "valid")));
        assert_eq!(reads.load(Ordering::SeqCst), 1, "one read for eight callers");
        assert!(s.gates.lock().unwrap().is_empty(), "no turn left behind");

        // A read that keeps nothing (not found) leaves each later caller to read for itself.
        let none = move || async move {
            reads.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok::<Option<Arc<Snapshot<&str>>>, ()>(None)
        };
        let all = futures_util::future::join_all((0..3).map(|_| s.get_or_read("GEL-2026-000002", none))).await;
        assert!(all.iter().all(|r| matches!(r, Ok(None))));
        assert_eq!(reads.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn one_caller_refreshes_after_half_the_life() {
        let s = Snapshots::<&str>::default();
        let snap = s.put("GEL-2026-000001", "valid", true, s.epoch());
        assert!(!snap.due_for_refresh_at(snap.at + TTL / 4), "fresh");
        assert!(snap.due_for_refresh_at(snap.at + TTL / 2), "the first caller after half the life");
        assert!(!snap.due_for_refresh_at(snap.at + TTL / 2), "and only the first");
        assert!(s.get("GEL-2026-000001").is_some(), "still served meanwhile");
    }
}

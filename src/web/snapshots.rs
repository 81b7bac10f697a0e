// Short-lived snapshots of certificates for the public pages, with their rendered bodies: at most
// `TTL` old, and dropped at once when this process changes a certificate (the freshness rule is 60 s).

use super::pages::PublicCertificate;
use actix_web::web::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long a status read from the database may be shown again. Other replicas see a change within this.
pub const TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 10_000;
const MAX_RENDERS: usize = 32;

pub struct Snapshot {
    pub at: Instant,
    pub cert: PublicCertificate,
    /// The stored token verified against the published keys.
    pub signature_ok: bool,
    renders: Mutex<HashMap<String, Bytes>>,
}

impl Snapshot {
    /// The body rendered for `key` (language, format, link), rendered once per snapshot.
    pub fn render(&self, key: String, f: impl FnOnce(&PublicCertificate) -> Bytes) -> Bytes {
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

#[derive(Default)]
pub struct Snapshots {
    entries: RwLock<HashMap<String, Arc<Snapshot>>>,
}

impl Snapshots {
    pub fn get(&self, number: &str) -> Option<Arc<Snapshot>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(number).filter(|s| s.at.elapsed() < TTL).cloned()
    }

    pub fn put(&self, cert: PublicCertificate, signature_ok: bool) -> Arc<Snapshot> {
        let snap = Arc::new(Snapshot {
            at: Instant::now(),
            cert,
            signature_ok,
            renders: Mutex::new(HashMap::new()),
        });
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, s| s.at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(snap.cert.number.clone(), snap.clone());
        snap
    }

    pub fn invalidate(&self, number: &str) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).remove(number);
    }
}

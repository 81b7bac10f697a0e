//! `ecolabel log verify`: a monitor of a registry's public log. It checks the checkpoint signature, rebuilds
//! the tree from the entry bundles and tiles, proves consistency with the checkpoint it saw last time (kept
//! in a state directory), and checks that each certificate's public status equals its latest entry.

use crate::domain::log::{self as tlog, Entry, MemoryHashes, TILE_WIDTH};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// What the monitor found: the tree it checked, and every disagreement (empty when all holds).
#[derive(Debug)]
pub struct Report {
    pub size: u64,
    pub certificates: usize,
    pub problems: Vec<String>,
}

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    async fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        let url = format!("{}{path}", self.base);
        for _ in 0..20 {
            let r = self.http.get(&url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
            if r.status().as_u16() == 429 {
                let wait = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            if !r.status().is_success() {
                return Err(format!("GET {url}: HTTP {}", r.status()));
            }
            return r.bytes().await.map(|b| b.to_vec()).map_err(|e| format!("GET {url}: {e}"));
        }
        Err(format!("GET {url}: still rate-limited"))
    }

    async fn text(&self, path: &str) -> Result<String, String> {
        String::from_utf8(self.get(path).await?).map_err(|_| format!("{path} is not UTF-8"))
    }
}

fn read_state(dir: Option<&Path>, name: &str) -> Result<Option<String>, String> {
    let Some(dir) = dir else { return Ok(None) };
    match std::fs::read_to_string(dir.join(name)) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", dir.join(name).display())),
    }
}

fn write_state(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, dir.join(name)))
        .map_err(|e| format!("cannot write {}: {e}", dir.join(name).display()))
}

/// The witnesses whose cosignatures the served checkpoint must carry, and how many of them.
#[derive(Debug, Default, Clone)]
pub struct Policy {
    /// Cosigner verifier keys (C2SP tlog-cosignature, type 0x04).
    pub witnesses: Vec<String>,
    pub quorum: usize,
}

/// Check the log of the registry at `base` (e.g. `https://registry.example.kz`).
pub async fn verify(base: &str, state: Option<&Path>, policy: &Policy) -> Result<Report, String> {
    let client = Client {
        base: base.trim_end_matches('/').to_string(),
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| e.to_string())?,
    };
    let mut problems = Vec::new();

    // The log key: trusted on first use, then pinned in the state directory.
    let vkey = client.text("/log/vkey").await?.trim().to_string();
    if let Some(pinned) = read_state(state, "vkey")? {
        if pinned.trim() != vkey {
            return Err(format!("the log's key changed: pinned {}, served {vkey}", pinned.trim()));
        }
    }
    // The checkpoint served to everyone (cosigned by a quorum when the registry has witnesses), and the
    // newest one, signed by the log alone; the tree is rebuilt to the newest.
    let served_note = client.get("/log/checkpoint").await?;
    let served = tlog::open_checkpoint(&served_note, &vkey)?;
    if !policy.witnesses.is_empty() {
        match crate::domain::witness::check_cosigned(&served_note, &vkey, &policy.witnesses) {
            Ok(c) => {
                if let Err(e) = crate::domain::witness::require_quorum(&c, policy.quorum) {
                    problems.push(e);
                }
            }
            Err(e) => problems.push(e),
        }
    }
    let note = match client.get("/log/checkpoint.latest").await {
        Ok(n) => n,
        Err(e) if e.ends_with("HTTP 404 Not Found") => served_note.clone(),
        Err(e) => return Err(e),
    };
    let cp = tlog::open_checkpoint(&note, &vkey)?;
    let size = cp.size();
    if served.size() > size {
        problems.push(format!("the served checkpoint ({} entries) is ahead of the newest ({size})", served.size()));
    }

    // Rebuild the tree from the entries.
    let mut tree = MemoryHashes::default();
    let mut latest: BTreeMap<String, Entry> = BTreeMap::new();
    for tile in 0..size.div_ceil(TILE_WIDTH) {
        let width = (size - tile * TILE_WIDTH).min(TILE_WIDTH);
        let bundle = client.get(&format!("/log/{}", tlog::tile_path(None, tile, width))).await?;
        let entries = tlog::split_bundle(&bundle)?;
        if entries.len() as u64 != width {
            return Err(format!("entry bundle {tile} holds {} entries, not {width}", entries.len()));
        }
        for (i, bytes) in entries.iter().enumerate() {
            let seq = tile * TILE_WIDTH + i as u64;
            let entry = Entry::parse(bytes).map_err(|e| format!("entry {seq}: {e}"))?;
            if entry.seq != seq {
                problems.push(format!("entry {seq} says it is entry {}", entry.seq));
            }
            tree.append(seq, tlog::leaf_hash(bytes))?;
            latest.insert(entry.number.clone(), entry);
        }
    }
    let root = tlog_tiles::tree_hash(size, &tree).map_err(|e| e.to_string())?;
    if root != *cp.hash() {
        problems.push(format!("the entries do not hash to the checkpoint's root (size {size})"));
    }
    if served.size() < size && tlog_tiles::tree_hash(served.size(), &tree).map_err(|e| e.to_string())? != *served.hash() {
        problems.push(format!(
            "the log forked: the served (witnessed) checkpoint of {} entries is not the start of the tree of {size} entries it serves now",
            served.size()
        ));
    }
    // What the witnesses refused since they last cosigned (a fork is refused by every honest witness).
    if !policy.witnesses.is_empty() {
        if let Ok(body) = client.get("/log/witnesses").await {
            let listed: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("/log/witnesses is not JSON: {e}"))?;
            for w in listed["witnesses"].as_array().into_iter().flatten() {
                let refused_after = match (w["refused"]["at"].as_str(), w["cosigned"]["at"].as_str()) {
                    (Some(r), Some(c)) => r > c,
                    (Some(_), None) => true,
                    _ => false,
                };
                if refused_after {
                    problems.push(format!(
                        "witness {} refused the checkpoint of {} entries: {} {}",
                        w["name"].as_str().unwrap_or("?"),
                        w["refused"]["size"],
                        w["refused"]["status"],
                        w["refused"]["detail"].as_str().unwrap_or("")
                    ));
                }
            }
        }
    }
    // Every hash tile must be what the entries make.
    for (level, index, width) in tlog::tiles_of(size) {
        let path = format!("/log/{}", tlog::tile_path(Some(level), index, width));
        let served = client.get(&path).await?;
        if served != tlog::tile_data(level, index, width, &tree)? {
            problems.push(format!("tile {path} differs from the tree the entries make"));
        }
    }

    // Consistency with what this monitor saw before.
    if let Some(old_note) = read_state(state, "checkpoint")? {
        let old = tlog::open_checkpoint(old_note.as_bytes(), &vkey).map_err(|e| format!("the saved checkpoint: {e}"))?;
        if old.size() > size {
            problems.push(format!("the log shrank from {} to {size} entries: it was rolled back or forked", old.size()));
        } else if tlog_tiles::tree_hash(old.size(), &tree).map_err(|e| e.to_string())? != *old.hash() {
            problems.push(format!(
                "the log forked: the first {} entries no longer hash to the root seen before",
                old.size()
            ));
        } else if old.size() > 0 && old.size() < size {
            let p: serde_json::Value = serde_json::from_slice(&client.get(&format!("/log/proof/consistency?from={}&to={size}", old.size())).await?)
                .map_err(|e| format!("the consistency proof is not JSON: {e}"))?;
            let hashes: Vec<String> = serde_json::from_value(p["proof"].clone()).map_err(|e| e.to_string())?;
            let proof = tlog::decode_hashes(&hashes)?;
            if tlog_tiles::check_tree(&proof, size, *cp.hash(), old.size(), *old.hash()).is_err() {
                problems.push(format!("the served consistency proof from {} to {size} does not verify", old.size()));
            }
        }
    }

    // Each certificate's public status must be its latest entry's.
    let today = chrono::Utc::now().date_naive();
    let mut public: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut before: Option<i64> = None;
    loop {
        let query = match before {
            Some(b) => format!("/api/v1/public/certificates?limit=200&before={b}"),
            None => "/api/v1/public/certificates?limit=200".to_string(),
        };
        let page: serde_json::Value = serde_json::from_slice(&client.get(&query).await?).map_err(|e| format!("the register is not JSON: {e}"))?;
        for c in page["items"].as_array().into_iter().flatten() {
            let (Some(n), Some(s), Some(u)) = (c["number"].as_str(), c["status"].as_str(), c["valid_until"].as_str()) else {
                return Err("the register lists a certificate without number, status or validity".into());
            };
            public.insert(n.to_string(), (s.to_string(), u.to_string()));
        }
        match page["next_before"].as_i64() {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    for (number, (status, until)) in &public {
        let Some(entry) = latest.get(number) else {
            problems.push(format!("{number} is in the register ({status}) but not in the public log"));
            continue;
        };
        // Expiry follows from the validity and the clock; until the scheduler records it (an `expired`
        // entry), an expired certificate's last entry may be `valid` or `suspended`.
        let lapsed = chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").is_ok_and(|u| u < today);
        let agrees = *status == entry.status || (status == "expired" && matches!(entry.status.as_str(), "valid" | "suspended") && lapsed);
        if !agrees {
            problems.push(format!(
                "{number}: the registry shows {status}, but its latest log entry ({}) says {}",
                entry.seq, entry.status
            ));
        }
    }
    for number in latest.keys().filter(|n| !public.contains_key(*n)) {
        problems.push(format!("{number} is in the public log but missing from the register"));
    }

    if problems.is_empty() {
        if let Some(dir) = state {
            write_state(dir, "vkey", &format!("{vkey}\n"))?;
            write_state(dir, "checkpoint", &String::from_utf8_lossy(&note))?;
        }
    }
    Ok(Report {
        size,
        certificates: public.len(),
        problems,
    })
}

// Open data: a snapshot of the whole public register for aggregators (`certificates.jsonl.gz` and
// `certificates.csv.gz` with a manifest of sizes and SHA-256), streamed page by page and written atomically.

use super::{Context, Error, Result};
use crate::domain::lifecycle::PublicStatus;
use crate::storage::certificates::{self as repo, PublicQuery};
use crate::storage::{self, log};
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder under the data directory that holds the snapshot.
pub const DIR: &str = "open-data";
pub const JSONL: &str = "certificates.jsonl.gz";
pub const CSV: &str = "certificates.csv.gz";
pub const MANIFEST: &str = "manifest.json";
/// Certificates read per trip to the database.
const PAGE: i64 = 1000;
pub const CSV_HEADER: &str = "number,venue,city,status,valid_from,valid_until,scheme,scheme_version,issuer,url,log_index\r\n";

/// One certificate as the open data gives it: public facts only.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Record {
    pub number: String,
    pub status: PublicStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub superseded_by: Option<String>,
    pub venue: String,
    pub city: String,
    pub level: String,
    pub scheme: String,
    pub scheme_version: i32,
    pub criteria_sha256: String,
    pub valid_from: String,
    pub valid_until: String,
    pub issuer: String,
    pub kid: String,
    /// The certificate's public page.
    pub url: String,
    /// The index of its latest entry in the public log.
    pub log_index: Option<u64>,
}

/// A file of the snapshot: its name, type, size and SHA-256.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FileFacts {
    pub name: String,
    pub media_type: String,
    pub bytes: u64,
    pub sha256: String,
}

/// What a snapshot holds (`manifest.json`, written last).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Manifest {
    /// RFC 3339 UTC.
    pub generated_at: String,
    pub certificates: u64,
    /// The earliest valid-from and latest valid-until of the certificates (the dataset's temporal coverage).
    pub earliest: Option<String>,
    pub latest: Option<String>,
    pub files: Vec<FileFacts>,
}

/// A writer that counts and hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A gzip file being written under a temporary name.
struct Output {
    tmp: PathBuf,
    gz: GzEncoder<Hashing<std::fs::File>>,
}

fn io(what: &Path, e: std::io::Error) -> Error {
    Error::Storage(storage::Error::Internal(format!("{}: {e}", what.display())))
}

impl Output {
    fn create(dir: &Path, name: &str) -> Result<Output> {
        // A name of its own: two writers (a replica's daily run and `ecolabel export`) never share a file.
        let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
        let file = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        let gz = GzEncoder::new(
            Hashing {
                inner: file,
                hash: Sha256::new(),
                bytes: 0,
            },
            flate2::Compression::default(),
        );
        Ok(Output { tmp, gz })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.gz.write_all(bytes).map_err(|e| io(&self.tmp, e))
    }

    /// Finish, make durable, and move into place atomically.
    fn finish(self, dir: &Path, name: &str, media_type: &str) -> Result<FileFacts> {
        let tmp = self.tmp;
        let hashing = self.gz.finish().map_err(|e| io(&tmp, e))?;
        hashing.inner.sync_all().map_err(|e| io(&tmp, e))?;
        let to = dir.join(name);
        std::fs::rename(&tmp, &to).map_err(|e| io(&to, e))?;
        Ok(FileFacts {
            name: name.to_string(),
            media_type: media_type.to_string(),
            bytes: hashing.bytes,
            sha256: hex::encode(hashing.hash.finalize()),
        })
    }
}

/// A spreadsheet-safe CSV cell: a leading formula character (ASCII or its fullwidth form, which some
/// spreadsheets read as the same, or a tab or carriage return) is neutralised, quotes doubled.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_line(r: &Record) -> String {
    let cells = [
        csv_cell(&r.number),
        csv_cell(&r.venue),
        csv_cell(&r.city),
        r.status.as_str().to_string(),
        r.valid_from.clone(),
        r.valid_until.clone(),
        csv_cell(&r.scheme),
        r.scheme_version.to_string(),
        csv_cell(&r.issuer),
        csv_cell(&r.url),
        r.log_index.map(|i| i.to_string()).unwrap_or_default(),
    ];
    format!("{}\r\n", cells.join(","))
}

/// Where the snapshot of a registry lives.
pub fn dir_of(app: &Context) -> PathBuf {
    app.config.data_dir.join(DIR)
}

/// Write a snapshot of every certificate into `dir` (blocking: it reads page by page and streams, so memory
/// stays flat however large the register). Files appear under their names only when complete, the
/// manifest last; a reader sees the old snapshot or the new one, never half of one.
pub fn write(app: &Context, dir: &Path) -> Result<Manifest> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let now = app.clock.now();
    let base = app.config.public_url.trim_end_matches('/').to_string();
    let mut jsonl = Output::create(dir, JSONL)?;
    let mut csv = Output::create(dir, CSV)?;
    csv.write(CSV_HEADER.as_bytes())?;
    let (mut count, mut earliest, mut latest) = (0u64, None::<chrono::NaiveDate>, None::<chrono::NaiveDate>);
    let mut before = None;
    loop {
        let q = PublicQuery {
            q: None,
            city: None,
            status: None,
            venue_id: None,
            before_id: before,
            limit: PAGE,
            today: now.date(),
        };
        let (rows, indexes) = app.db.read_blocking(|c| {
            let rows = repo::list(c, &q)?;
            let numbers: Vec<String> = rows.iter().map(|r| r.number.clone()).collect();
            Ok::<_, storage::Error>((rows, log::latest_indexes(c, &numbers)?))
        })?;
        let Some(last) = rows.last() else { break };
        before = Some(last.id);
        for row in &rows {
            let status = repo::status_now(row, now)?;
            let public_reason = matches!(status, PublicStatus::Suspended | PublicStatus::Withdrawn);
            let r = Record {
                number: row.number.clone(),
                status,
                status_since: (public_reason || status == PublicStatus::Superseded)
                    .then(|| row.status_changed_at.map(|t| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
                    .flatten(),
                status_reason: public_reason.then(|| row.status_reason.clone()).flatten(),
                superseded_by: row.superseded_by.clone(),
                venue: row.venue_name.clone(),
                city: row.venue_city.clone(),
                level: row.level.clone(),
                scheme: row.scheme.clone(),
                scheme_version: row.scheme_version,
                criteria_sha256: row.criteria_sha256.clone(),
                valid_from: row.valid_from.to_string(),
                valid_until: row.valid_until.to_string(),
                issuer: row.issuer.clone(),
                kid: row.kid.clone(),
                url: format!("{base}/certificates/{}", row.number),
                log_index: indexes.get(&row.number).copied(),
            };
            let mut line = serde_json::to_vec(&r).map_err(|e| Error::Storage(storage::Error::Internal(e.to_string())))?;
            line.push(b'\n');
            jsonl.write(&line)?;
            csv.write(csv_line(&r).as_bytes())?;
            count += 1;
            earliest = Some(earliest.map_or(row.valid_from, |e| e.min(row.valid_from)));
            latest = Some(latest.map_or(row.valid_until, |l| l.max(row.valid_until)));
        }
        if i64::try_from(rows.len()).unwrap_or(0) < PAGE {
            break;
        }
    }
    let files = vec![jsonl.finish(dir, JSONL, "application/x-ndjson")?, csv.finish(dir, CSV, "text/csv")?];
    let manifest = Manifest {
        generated_at: now.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        certificates: count,
        earliest: earliest.map(|d| d.to_string()),
        latest: latest.map(|d| d.to_string()),
        files,
    };
    let tmp = dir.join(format!(".{MANIFEST}.{}.tmp", uuid::Uuid::new_v4()));
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Storage(storage::Error::Internal(e.to_string())))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(&text).and_then(|_| f.sync_all()).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, dir.join(MANIFEST)).map_err(|e| io(dir, e))?;
    tracing::info!(certificates = count, "open data snapshot written");
    Ok(manifest)
}

/// The snapshot's manifest, if one has been written.
pub fn manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read(dir.join(MANIFEST)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Whether the snapshot is missing or older than a day (the daily refresh).
pub fn is_due(dir: &Path, now: chrono::NaiveDateTime) -> bool {
    match manifest(dir).and_then(|m| chrono::DateTime::parse_from_rfc3339(&m.generated_at).ok()) {
        Some(at) => now.and_utc() - at.with_timezone(&chrono::Utc) >= chrono::TimeDelta::hours(24),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_neutralised_and_quoted() {
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_cell("Көктем"), "Көктем");
        for formula in ["＝1+1", "＋1", "－1", "＠SUM(A1)", "\t=1"] {
            assert!(csv_cell(formula).starts_with('\''), "{formula:?} is neutralised");
        }
    }

    #[test]
    fn the_hashing_writer_counts_and_hashes_what_it_writes() {
        let mut h = Hashing {
            inner: Vec::new(),
            hash: Sha256::new(),
            bytes: 0,
        };
        h.write_all(b"abc").unwrap();
        assert_eq!(h.bytes, 3);
        assert_eq!(hex::encode(h.hash.finalize()), hex::encode(Sha256::digest(b"abc")));
    }
}

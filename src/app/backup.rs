// Backups that restore: `ecolabel backup` writes one zip file (a manifest, a consistent copy of the database
// taken while `serve` runs, the key directory sealed with a passphrase); `ecolabel restore` rebuilds from it.

use crate::config::Config;
use crate::domain::seal::{open_with_passphrase, seal_with_passphrase, PassphraseBox};
use crate::storage::{self, DbUrl};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "ecolabel-backup/1";

/// What a backup holds, said in its `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: String,
    /// sqlite (the file `registry.db`) or postgres (a `pg_dump --format=custom` as `registry.pgdump`).
    pub backend: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub certificates: i64,
    pub log_size: u64,
    /// The key directory's files, sealed together with the passphrase (`keys.sealed`).
    pub key_files: Vec<String>,
}

/// A working directory beside the output, removed when done.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(out: &Path) -> Result<WorkDir, String> {
        let dir = out.with_extension(format!("work-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make a working directory {}: {e}", dir.display()))?;
        Ok(WorkDir(dir))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The passphrase in a file (its first line; at least 12 characters).
pub fn read_passphrase(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the passphrase file {}: {e}", path.display()))?;
    let pass = text.lines().next().unwrap_or_default().to_string();
    if pass.chars().count() < 12 {
        return Err(format!("the passphrase in {} is shorter than 12 characters", path.display()));
    }
    Ok(pass)
}

fn zip_err(e: impl std::fmt::Display) -> String {
    format!("the backup file: {e}")
}

/// The key directory's regular files as a zip, in memory (a few KiB).
fn pack_keys(dir: &Path) -> Result<(Vec<u8>, Vec<String>), String> {
    let mut names = Vec::new();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the key directory {}: {e}", dir.display()))?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(e.path()).map_err(|err| format!("cannot read {}: {err}", e.path().display()))?;
        out.start_file(name.clone(), opts).map_err(zip_err)?;
        out.write_all(&bytes).map_err(zip_err)?;
        names.push(name);
    }
    Ok((out.finish().map_err(zip_err)?.into_inner(), names))
}

/// Write a backup of the registry `config` describes to `out` while it may be serving. SQLite: `VACUUM INTO`
/// copies the database in one read transaction (a consistent snapshot; writers go on). PostgreSQL:
/// `pg_dump --format=custom` (one consistent snapshot too); for point-in-time recovery use base backups
/// and WAL archiving (docs/operations.md). What it returns says what was written.
pub fn backup(config: &Config, out: &Path, passphrase: &str) -> Result<Manifest, String> {
    if out.exists() {
        return Err(format!("{} exists already: choose a new file", out.display()));
    }
    let work = WorkDir::new(out)?;
    let (backend, db_file, db_name) = match &config.database {
        DbUrl::Sqlite(_) => {
            let copy = work.path().join("registry.db");
            let mut conn = storage::connect(&config.database).map_err(|e| format!("cannot open the database: {e}"))?;
            storage::snapshot_sqlite(&mut conn, &copy).map_err(|e| format!("cannot copy the database: {e}"))?;
            ("sqlite", copy, "registry.db")
        }
        DbUrl::Postgres(url) => {
            let dump = work.path().join("registry.pgdump");
            let status = std::process::Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(&dump)
                .arg(url)
                .status()
                .map_err(|e| format!("cannot run pg_dump (install PostgreSQL's client tools): {e}"))?;
            if !status.success() {
                return Err(format!("pg_dump failed ({status})"));
            }
            ("postgres", dump, "registry.pgdump")
        }
    };
    // What the copy holds, read from the copy itself (SQLite) or the database (the dump's snapshot is as
    // of its start; these counts are for the person reading the manifest).
    let counted = match &config.database {
        DbUrl::Sqlite(_) => DbUrl::Sqlite(db_file.display().to_string()),
        other => other.clone(),
    };
    let mut conn = storage::connect(&counted).map_err(|e| format!("cannot read the copy: {e}"))?;
    let (certificates, log_size) = storage::certificates::totals(&mut conn).map_err(|e| format!("cannot read the copy: {e}"))?;
    drop(conn);
    let (keys, key_files) = pack_keys(&config.key_dir)?;
    let sealed = seal_with_passphrase(passphrase, &keys, rand::random(), rand::random())?;
    let manifest = Manifest {
        format: FORMAT.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        backend: backend.into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        certificates,
        log_size,
        key_files,
    };
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    zip.start_file("manifest.json", opts).map_err(zip_err)?;
    zip.write_all(&serde_json::to_vec_pretty(&manifest).map_err(zip_err)?).map_err(zip_err)?;
    zip.start_file("keys.sealed", opts).map_err(zip_err)?;
    zip.write_all(&serde_json::to_vec(&sealed).map_err(zip_err)?).map_err(zip_err)?;
    zip.start_file(db_name, opts).map_err(zip_err)?;
    let mut db = std::fs::File::open(&db_file).map_err(zip_err)?;
    std::io::copy(&mut db, &mut zip).map_err(zip_err)?;
    let file = zip.finish().map_err(zip_err)?;
    file.sync_all().map_err(zip_err)?;
    std::fs::rename(&tmp, out).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(manifest)
}

/// Copy one entry of the backup to a new file, streaming (a database may be larger than memory).
fn copy_out(zip: &mut zip::ZipArchive<std::fs::File>, name: &str, to: &Path) -> Result<(), String> {
    let mut entry = zip.by_name(name).map_err(|_| format!("the backup holds no {name}"))?;
    let mut file = std::fs::File::create(to).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    std::io::copy(&mut entry, &mut file).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    file.sync_all().map_err(|e| format!("cannot write {}: {e}", to.display()))
}

/// Where a restore put things.
pub struct Restored {
    pub manifest: Manifest,
    pub database_url: String,
    pub key_dir: PathBuf,
}

fn empty_or_missing(dir: &Path) -> Result<(), String> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "{} is not empty: restore into a new or empty directory (nothing was changed)",
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot read {}: {e}", dir.display())),
    }
}

/// Rebuild a registry from `file` into `data_dir` (which must be empty or missing): the key directory at
/// `<data_dir>/keys`, and the database at `<data_dir>/registry.db` (SQLite) or into `postgres`, an empty
/// PostgreSQL database (`pg_restore`). Nothing is written before the passphrase has opened the keys.
pub fn restore(file: &Path, data_dir: &Path, passphrase: &str, postgres: Option<&str>) -> Result<Restored, String> {
    empty_or_missing(data_dir)?;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?).map_err(zip_err)?;
    let read = |zip: &mut zip::ZipArchive<std::fs::File>, name: &str| -> Result<Vec<u8>, String> {
        let mut entry = zip
            .by_name(name)
            .map_err(|_| format!("{} is not an ecolabel backup (no {name})", file.display()))?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(zip_err)?;
        Ok(bytes)
    };
    let manifest: Manifest = serde_json::from_slice(&read(&mut zip, "manifest.json")?).map_err(|e| format!("the manifest: {e}"))?;
    if manifest.format != FORMAT {
        return Err(format!("{} is a backup of format {}, not {FORMAT}", file.display(), manifest.format));
    }
    let sealed: PassphraseBox = serde_json::from_slice(&read(&mut zip, "keys.sealed")?).map_err(|e| format!("the sealed keys: {e}"))?;
    let keys = open_with_passphrase(passphrase, &sealed)?;
    if manifest.backend == "postgres" && postgres.is_none() {
        return Err("this backup is of a PostgreSQL registry: give the empty database to restore into with --database-url postgres://…".into());
    }
    let key_dir = data_dir.join("keys");
    std::fs::create_dir_all(&key_dir).map_err(|e| format!("cannot create {}: {e}", key_dir.display()))?;
    crate::keys::restore_files(&key_dir, &keys)?;
    let database_url = match manifest.backend.as_str() {
        "sqlite" => {
            let path = data_dir.join("registry.db");
            copy_out(&mut zip, "registry.db", &path)?;
            format!("sqlite://{}", path.display())
        }
        "postgres" => {
            let url = postgres.unwrap_or_default();
            let dump = data_dir.join("registry.pgdump");
            copy_out(&mut zip, "registry.pgdump", &dump)?;
            let mut conn = storage::connect(&DbUrl::parse(url)?).map_err(|e| format!("cannot open {url}: {e}"))?;
            if storage::has_tables(&mut conn).map_err(|e| e.to_string())? {
                return Err(format!("the database {url} is not empty: restore into an empty one"));
            }
            drop(conn);
            let status = std::process::Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname", url])
                .arg(&dump)
                .status()
                .map_err(|e| format!("cannot run pg_restore (install PostgreSQL's client tools): {e}"))?;
            std::fs::remove_file(&dump).ok();
            if !status.success() {
                return Err(format!("pg_restore failed ({status})"));
            }
            url.to_string()
        }
        other => return Err(format!("unknown backend {other} in the manifest")),
    };
    Ok(Restored {
        manifest,
        database_url,
        key_dir,
    })
}

// What anyone may read without signing in: a certificate with its place in the public log, the register,
// the status feed, the log's checkpoints, tiles and proofs, and the published signing keys.

use super::{Error, Result};
use crate::domain::history::Change;
use crate::domain::log::Hash;
use crate::storage::certificates as repo;
pub use crate::storage::certificates::PublicQuery;
use crate::storage::log;
pub use crate::storage::log::{Recorded, Watch};
use crate::storage::models::{CertificateRow, SigningKeyRow};
use crate::storage::{self, Db};

/// A certificate by number, its latest log entry with its proof, and its changes (the timeline), in one
/// trip to the database; None if there is none.
pub async fn certificate_with_log(db: &Db, number: String) -> Result<Option<(CertificateRow, Option<Recorded>, Vec<Change>)>> {
    let read = db.read(move |c| Ok::<_, storage::Error>((repo::get(c, &number)?, log::recorded(c, &number)?, log::entries_of(c, &number)?)));
    match read.await {
        Ok((row, recorded, entries)) => Ok(Some((row, recorded, read_changes(entries)?.into_iter().map(|(c, _)| c).collect()))),
        Err(storage::Error::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A certificate by number (any status).
pub async fn certificate(db: &Db, number: String) -> Result<CertificateRow> {
    Ok(db.read(move |c| repo::get(c, &number)).await?)
}

/// One page of the public register (the query asks for one row more than it shows).
pub async fn register(db: &Db, q: PublicQuery) -> Result<Vec<CertificateRow>> {
    Ok(db.read(move |c| repo::list(c, &q)).await?)
}

/// Every signing key, active and retired (the JWKS, the verifier).
pub async fn signing_keys(db: &Db) -> Result<Vec<SigningKeyRow>> {
    Ok(db.read(storage::keys::all).await?)
}

/// The newest log entries a watcher follows, newest first.
pub async fn feed(db: &Db, watch: Watch, limit: i64) -> Result<Vec<Vec<u8>>> {
    Ok(db.read(move |c| log::recent(c, &watch, limit)).await?)
}

/// The latest signed checkpoint: tree size and note.
pub async fn latest_checkpoint(db: &Db) -> Result<Option<(u64, String)>> {
    Ok(db.read(log::latest_checkpoint).await?)
}

/// A hash tile (`level`) or an entry bundle (None) of the log as it stands; None past its end.
pub async fn tile(db: &Db, level: Option<u8>, index: u64, width: u64) -> Result<Option<Vec<u8>>> {
    Ok(db
        .read(move |c| {
            let size = log::size(c)?;
            match level {
                Some(level) => log::tile(c, size, level, index, width),
                None => log::entry_bundle(c, size, index, width),
            }
        })
        .await?)
}

/// An RFC 9162 consistency proof between two sizes, the newer at most the latest checkpoint's.
pub async fn consistency(db: &Db, from: u64, to: u64) -> Result<Vec<Hash>> {
    db.read(move |c| {
        let size = log::latest_checkpoint(c)?.map(|(s, _)| s).unwrap_or(0);
        if from == 0 || from > to || to > size {
            return Err(Error::invalid(
                "invalid_range",
                format!("need 1 <= from <= to <= {size} (the latest checkpoint's size)"),
            ));
        }
        Ok(log::consistency_proof(c, from, to)?)
    })
    .await
}

/// A certificate by number, inside a caller's read (the PDF download reads it with the token and the
/// stored rendering in one trip).
pub fn certificate_row(conn: &mut storage::DbConn, number: &str) -> Result<CertificateRow> {
    Ok(repo::get(conn, number)?)
}

/// A certificate's changes as its public log entries tell them, in log order, with the entries' bytes
/// (None: no such certificate).
pub async fn history(db: &Db, number: String) -> Result<Option<(CertificateRow, Vec<(Change, Vec<u8>)>)>> {
    let read = db.read(move |c| Ok::<_, storage::Error>((repo::get(c, &number)?, log::entries_of(c, &number)?)));
    let (row, entries) = match read.await {
        Ok(r) => r,
        Err(storage::Error::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some((row, read_changes(entries)?)))
}

/// Log entries (index, bytes) read as changes, each with its bytes; an entry that does not read is an error.
fn read_changes(entries: Vec<(u64, Vec<u8>)>) -> Result<Vec<(Change, Vec<u8>)>> {
    entries
        .into_iter()
        .map(|(_, bytes)| Change::from_entry(&bytes).map(|c| (c, bytes)))
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(|e| Error::Storage(storage::Error::Internal(e)))
}

/// Entry `index` (its bytes given) with the latest checkpoint and its inclusion proof.
pub async fn prove(db: &Db, index: u64, entry: Vec<u8>) -> Result<Recorded> {
    Ok(db.read(move |c| log::prove(c, index, entry)).await?)
}

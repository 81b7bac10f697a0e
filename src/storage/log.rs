// The public log's tables: entries, the tree's stored hashes and signed checkpoints, appended in the
// transaction of the change they record; reads of tiles, entry bundles, proofs and the latest checkpoint.

use super::models::CertificateRow;
use super::schema::{certificates as c, log_checkpoints as lc, log_entries as le, log_head};
use super::{now, DbConn, Error, Result};
use crate::domain::log::{self as tlog, Entry, Hash, HashReader, LogKey};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::cell::RefCell;

/// Reads stored hashes from the database for `tlog_tiles`. Each entry row keeps the hashes its append
/// made (the leaf, then one node per subtree it completed), at consecutive stored indexes: the hash at
/// index `i` = node (level, n) was made by record `((n + 1) << level) - 1`, at position `level`.
struct DbHashes<'a>(RefCell<&'a mut DbConn>);

fn maker(index: u64) -> (i64, usize) {
    let (level, n) = tlog_tiles::split_stored_hash_index(index);
    ((((n + 1) << level) - 1) as i64, usize::from(level))
}

impl HashReader for DbHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog_tiles::Error> {
        let mut seqs: Vec<i64> = indexes.iter().map(|&i| maker(i).0).collect();
        seqs.sort_unstable();
        seqs.dedup();
        let mut conn = self.0.borrow_mut();
        let rows: Vec<(i64, Vec<u8>)> = le::table
            .filter(le::seq.eq_any(&seqs))
            .select((le::seq, le::hashes))
            .load(&mut **conn)
            .map_err(|e| tlog_tiles::Error::InvalidInput(e.to_string()))?;
        let made: std::collections::HashMap<i64, Vec<u8>> = rows.into_iter().collect();
        indexes
            .iter()
            .map(|&i| {
                let (seq, pos) = maker(i);
                let b = made
                    .get(&seq)
                    .and_then(|h| h.get(pos * 32..pos * 32 + 32))
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)?;
                let a: [u8; 32] = b.try_into().map_err(|_| tlog_tiles::Error::MalformedHash)?;
                Ok(Hash(a))
            })
            .collect()
    }
}

/// Hashes already in memory, by stored index.
struct Overlay(std::collections::HashMap<u64, Hash>);

impl HashReader for Overlay {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| self.0.get(i).copied().ok_or(tlog_tiles::Error::IndexesNotInTree))
            .collect()
    }
}

fn tlog_err(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("log: {e}"))
}

/// Facts of a change to record (the entry's `seq` is given by the log).
pub struct Change<'a> {
    pub kind: &'a str,
    pub status: &'a str,
    pub at: NaiveDateTime,
    pub reason: Option<&'a str>,
}

/// Take the head row, which serialises appenders (a row lock on PostgreSQL, the writer lock on SQLite),
/// and read the log's size.
fn take_head(conn: &mut DbConn) -> Result<u64> {
    let size: i64 = diesel::update(log_head::table.filter(log_head::id.eq(1)))
        .set(log_head::size.eq(log_head::size))
        .returning(log_head::size)
        .get_result(conn)?;
    Ok(size as u64)
}

/// Sign and store the checkpoint of the tree of `size` entries with this `root`.
fn publish(conn: &mut DbConn, key: &LogKey, size: u64, root: Hash) -> Result<()> {
    let note = key.sign_checkpoint(size, root).map_err(Error::Internal)?;
    diesel::insert_into(lc::table)
        .values((lc::size.eq(size as i64), lc::note.eq(note), lc::created_at.eq(now())))
        .execute(conn)?;
    Ok(())
}

/// The entry recording `change` of certificate `number` (of `venue`, with its signed `token`) at `seq`.
pub(super) fn entry(seq: u64, number: &str, venue: &str, token: &[u8], change: &Change<'_>) -> Entry {
    Entry {
        seq,
        kind: change.kind.to_string(),
        number: number.to_string(),
        status: change.status.to_string(),
        at: change.at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        venue: venue.to_string(),
        reason: change.reason.map(str::to_string),
        token_sha256: hex::encode(Sha256::digest(token)),
    }
}

/// The log's right edge as it stands, to append many entries in memory (`append_many`).
pub fn frontier(conn: &mut DbConn) -> Result<tlog::Frontier> {
    let size = size(conn)?;
    let hashes = DbHashes(RefCell::new(conn)).read_hashes(&tlog::Frontier::needed(size)).map_err(tlog_err)?;
    tlog::Frontier::new(size, hashes).map_err(tlog_err)
}

/// A change to record, with the facts of its certificate (owned, for appending many at once).
pub struct Pending {
    pub number: String,
    pub venue: String,
    pub token: Vec<u8>,
    pub kind: &'static str,
    pub status: &'static str,
    pub at: NaiveDateTime,
    pub reason: Option<String>,
}

/// Append `changes` in the caller's transaction from `tree` (read by `frontier`), rows many to a
/// statement, and publish one signed checkpoint for the tree after them. If anyone appended since `tree`
/// was read, nothing is written (`log_moved`). `tree` moves on only if this returns `Ok`; after an error
/// the caller must stop (the transaction rolls back).
pub fn append_many(conn: &mut DbConn, key: &LogKey, tree: &mut tlog::Frontier, changes: &[Pending]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let head = take_head(conn)?;
    if head != tree.size() {
        return Err(Error::conflict(
            "log_moved",
            format!(
                "the log holds {head} entries, not the {} these appends started from: another writer is running",
                tree.size()
            ),
        ));
    }
    let at = now();
    let mut rows = Vec::with_capacity(changes.len());
    for p in changes {
        let seq = tree.size();
        let change = Change {
            kind: p.kind,
            status: p.status,
            at: p.at,
            reason: p.reason.as_deref(),
        };
        let bytes = entry(seq, &p.number, &p.venue, &p.token, &change).to_jcs();
        let made = tree.append(tlog::leaf_hash(&bytes)).map_err(Error::Internal)?;
        rows.push((
            le::seq.eq(seq as i64),
            le::number.eq(&p.number),
            le::entry.eq(bytes),
            le::hashes.eq(made.iter().flat_map(|h| h.0).collect::<Vec<u8>>()),
            le::created_at.eq(at),
        ));
    }
    insert_all!(conn, le::table, rows, 5);
    diesel::update(log_head::table.filter(log_head::id.eq(1)))
        .set(log_head::size.eq(tree.size() as i64))
        .execute(conn)?;
    publish(conn, key, tree.size(), tree.root().map_err(Error::Internal)?)
}

/// An entry just appended: its index and bytes (what watchers are sent), with the certificate it is about.
pub struct Appended {
    pub seq: u64,
    pub entry: Vec<u8>,
    pub kind: String,
    pub reason: Option<String>,
    pub cert: CertificateRow,
}

/// Append an entry for `cert` and publish the signed checkpoint of the new tree, in the caller's
/// transaction: the change, its entry and the checkpoint commit together or not at all (and so does what
/// the application layer fans the entry out to: webhook deliveries, notifications).
pub fn append(conn: &mut DbConn, key: &LogKey, cert: &CertificateRow, change: Change<'_>) -> Result<Appended> {
    let (kind, reason) = (change.kind.to_string(), change.reason.map(str::to_string));
    let (seq, entry) = record(conn, key, cert, change)?;
    Ok(Appended {
        seq,
        entry,
        kind,
        reason,
        cert: cert.clone(),
    })
}

/// The entry and checkpoint only (the start-up backfill of certificates older than the log tells no one).
fn record(conn: &mut DbConn, key: &LogKey, cert: &CertificateRow, change: Change<'_>) -> Result<(u64, Vec<u8>)> {
    // Taking the head row serialises appenders (a row lock on PostgreSQL, the writer lock on SQLite).
    let size: i64 = diesel::update(log_head::table.filter(log_head::id.eq(1)))
        .set(log_head::size.eq(log_head::size + 1))
        .returning(log_head::size)
        .get_result(conn)?;
    let seq = (size - 1) as u64;
    let bytes = entry(seq, &cert.number, &cert.venue_name, &cert.token, &change).to_jcs();
    let leaf = tlog::leaf_hash(&bytes);
    // One read for everything this append needs: the siblings that the new leaf completes subtrees with,
    // and the subtree roots of the new tree (those not made by this append).
    let first = tlog_tiles::stored_hash_index(0, seq);
    let completes = u8::try_from((seq + 1).trailing_zeros()).unwrap_or(0);
    let mut wanted: Vec<u64> = (0..completes).map(|i| tlog_tiles::stored_hash_index(i, (seq >> i) - 1)).collect();
    wanted.extend(tlog_tiles::sub_tree_index(0, seq + 1, vec![]).into_iter().filter(|&i| i < first));
    wanted.sort_unstable();
    wanted.dedup();
    let known = DbHashes(RefCell::new(&mut *conn)).read_hashes(&wanted).map_err(tlog_err)?;
    let mut overlay = Overlay(wanted.into_iter().zip(known).collect());
    let hashes = tlog_tiles::stored_hashes_for_record_hash(seq, leaf, &overlay).map_err(tlog_err)?;
    overlay.0.extend(hashes.iter().enumerate().map(|(i, h)| (first + i as u64, *h)));
    let root = tlog_tiles::tree_hash(seq + 1, &overlay).map_err(tlog_err)?;
    let made: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
    diesel::insert_into(le::table)
        .values((
            le::seq.eq(seq as i64),
            le::number.eq(&cert.number),
            le::entry.eq(&bytes),
            le::hashes.eq(made),
            le::created_at.eq(now()),
        ))
        .execute(conn)?;
    publish(conn, key, seq + 1, root)?;
    Ok((seq, bytes))
}

/// Give every certificate that has no entry yet (those issued before the log existed) its entries: the
/// issuance, then its current stored status if that is not `valid`. Runs at start, in one transaction.
pub fn backfill(conn: &mut DbConn, key: &LogKey) -> Result<usize> {
    // Take the head first, so that replicas starting together do not both backfill.
    take_head(conn)?;
    // An anti-join through the entries' index on number, not a list of every logged number (at a million
    // certificates that list would exceed SQLite's limit on bound parameters) nor `NOT IN (subquery)`
    // (which PostgreSQL runs row by row once the numbers outgrow work_mem: a start that never ended).
    let rows: Vec<CertificateRow> = c::table
        .filter(diesel::dsl::not(diesel::dsl::exists(le::table.filter(le::number.eq(c::number)))))
        .order(c::id.asc())
        .select(CertificateRow::as_select())
        .load(conn)?;
    for row in &rows {
        let issued = Change {
            kind: "issued",
            status: "valid",
            at: row.issued_at,
            reason: None,
        };
        record(conn, key, row, issued)?;
        if row.status != "valid" {
            let kind = match row.status.as_str() {
                "suspended" => "suspended",
                "withdrawn" => "withdrawn",
                "superseded" => "superseded",
                "expired" => "expired",
                other => return Err(Error::Internal(format!("certificate {} has an unknown status {other}", row.number))),
            };
            let change = Change {
                kind,
                status: kind,
                at: row.status_changed_at.unwrap_or(row.issued_at),
                reason: row.status_reason.as_deref(),
            };
            record(conn, key, row, change)?;
        }
    }
    if latest_checkpoint(conn)?.is_none() {
        publish(conn, key, 0, tlog_tiles::EMPTY_HASH)?;
    }
    Ok(rows.len())
}

/// The number of entries in the log.
pub fn size(conn: &mut DbConn) -> Result<u64> {
    let s: i64 = log_head::table.select(log_head::size).first(conn)?;
    Ok(s as u64)
}

/// The latest signed checkpoint (size, note), if anything was logged.
pub fn latest_checkpoint(conn: &mut DbConn) -> Result<Option<(u64, String)>> {
    let row: Option<(i64, String)> = lc::table.order(lc::size.desc()).select((lc::size, lc::note)).first(conn).optional()?;
    Ok(row.map(|(s, n)| (s as u64, n)))
}

/// The bytes of a hash tile, if the tree of `size` holds it.
pub fn tile(conn: &mut DbConn, size: u64, level: u8, index: u64, width: u64) -> Result<Option<Vec<u8>>> {
    if !tile_within(size, level, index, width) {
        return Ok(None);
    }
    let reader = DbHashes(RefCell::new(conn));
    tlog::tile_data(level, index, width, &reader).map(Some).map_err(tlog_err)
}

/// Whether the tree of `size` holds every hash of tile (level, index, width); partial tiles of earlier
/// sizes stay available, as C2SP lets clients ask for them.
fn tile_within(size: u64, level: u8, index: u64, width: u64) -> bool {
    let Some(span) = tlog::TILE_WIDTH.checked_pow(u32::from(level)) else {
        return false;
    };
    let end = index
        .checked_mul(tlog::TILE_WIDTH)
        .and_then(|s| s.checked_add(width))
        .and_then(|e| e.checked_mul(span));
    (1..=tlog::TILE_WIDTH).contains(&width) && end.is_some_and(|e| e <= size)
}

/// An entry bundle (C2SP), if the log holds those entries.
pub fn entry_bundle(conn: &mut DbConn, size: u64, index: u64, width: u64) -> Result<Option<Vec<u8>>> {
    let start = index * tlog::TILE_WIDTH;
    if width == 0 || width > tlog::TILE_WIDTH || start + width > size {
        return Ok(None);
    }
    let rows: Vec<Vec<u8>> = le::table
        .filter(le::seq.ge(start as i64))
        .filter(le::seq.lt((start + width) as i64))
        .order(le::seq.asc())
        .select(le::entry)
        .load(conn)?;
    Ok(Some(tlog::entry_bundle(rows.iter().map(Vec::as_slice))))
}

/// Whose status changes a watcher follows: everyone's, or only one certificate's, one venue's, or both
/// (the certificate if it is the venue's).
#[derive(Default)]
pub struct Watch {
    pub certificate: Option<String>,
    pub venue: Option<i64>,
}

/// The latest `limit` entries a watcher follows, newest first (by the primary key, or the entries' index
/// on number; a venue's through its certificates).
pub fn recent(conn: &mut DbConn, watch: &Watch, limit: i64) -> Result<Vec<Vec<u8>>> {
    let mut query = le::table.select(le::entry).order(le::seq.desc()).limit(limit).into_boxed();
    if let Some(number) = &watch.certificate {
        query = query.filter(le::number.eq(number.clone()));
    }
    if let Some(id) = watch.venue {
        query = query.filter(le::number.eq_any(c::table.filter(c::venue_id.eq(id)).select(c::number)));
    }
    Ok(query.load(conn)?)
}

/// The latest entry of a certificate, with its index.
pub fn latest_entry(conn: &mut DbConn, number: &str) -> Result<Option<(u64, Vec<u8>)>> {
    let row: Option<(i64, Vec<u8>)> = le::table
        .filter(le::number.eq(number))
        .order(le::seq.desc())
        .select((le::seq, le::entry))
        .first(conn)
        .optional()?;
    Ok(row.map(|(s, e)| (s as u64, e)))
}

/// The index of each listed certificate's latest entry (one query for a page of certificates).
pub fn latest_indexes(conn: &mut DbConn, numbers: &[String]) -> Result<std::collections::HashMap<String, u64>> {
    if numbers.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, Option<i64>)> = le::table
        .filter(le::number.eq_any(numbers))
        .group_by(le::number)
        .select((le::number, diesel::dsl::max(le::seq)))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(n, s)| s.map(|s| (n, s as u64))).collect())
}

/// Every entry of a certificate, in log order: (index, bytes).
pub fn entries_of(conn: &mut DbConn, number: &str) -> Result<Vec<(u64, Vec<u8>)>> {
    let rows: Vec<(i64, Vec<u8>)> = le::table
        .filter(le::number.eq(number))
        .order(le::seq.asc())
        .select((le::seq, le::entry))
        .load(conn)?;
    Ok(rows.into_iter().map(|(s, e)| (s as u64, e)).collect())
}

/// Entry `index` with the latest signed checkpoint and the audit path from it to that checkpoint's root.
pub fn prove(conn: &mut DbConn, index: u64, entry: Vec<u8>) -> Result<Recorded> {
    let Some((size, checkpoint)) = latest_checkpoint(conn)? else {
        return Err(Error::Internal("the log has entries but no checkpoint".into()));
    };
    let proof = inclusion_proof(conn, size, index)?;
    Ok(Recorded {
        index,
        entry,
        checkpoint,
        proof,
    })
}

/// The audit path of entry `index` in the tree of `size`.
pub fn inclusion_proof(conn: &mut DbConn, size: u64, index: u64) -> Result<Vec<Hash>> {
    let reader = DbHashes(RefCell::new(conn));
    tlog_tiles::prove_record(size, index, &reader).map_err(tlog_err)
}

/// The consistency proof between the trees of `from` and `to` entries (RFC 9162 2.1.4).
pub fn consistency_proof(conn: &mut DbConn, from: u64, to: u64) -> Result<Vec<Hash>> {
    let reader = DbHashes(RefCell::new(conn));
    tlog_tiles::prove_tree(to, from, &reader).map_err(tlog_err)
}

/// What a certificate's page shows of the log: its latest entry's index, the checkpoint and the proof.
pub struct Recorded {
    pub index: u64,
    pub entry: Vec<u8>,
    pub checkpoint: String,
    pub proof: Vec<Hash>,
}

pub fn recorded(conn: &mut DbConn, number: &str) -> Result<Option<Recorded>> {
    let Some((index, entry)) = latest_entry(conn, number)? else { return Ok(None) };
    let Some((size, checkpoint)) = latest_checkpoint(conn)? else {
        return Err(Error::Internal("the log has entries but no checkpoint".into()));
    };
    let proof = inclusion_proof(conn, size, index)?;
    Ok(Some(Recorded {
        index,
        entry,
        checkpoint,
        proof,
    }))
}

// Bulk loading for the benchmarking seed: rows many to a statement with ids chosen up front, in one
// transaction per batch, and the public log's entries appended in memory with one signed checkpoint per batch.

use super::models::{AssessmentRow, CertificateRow, VenueRow};
use super::schema::{assessments, certificate_counters as cc, certificates, events, evidence, log_checkpoints as lc, log_entries as le, log_head, venues};
use super::{log, now, DbConn, Error, Result};
use crate::domain::log::{leaf_hash, Frontier, LogKey};
use chrono::NaiveDateTime;
use diesel::dsl::max;
use diesel::prelude::*;

/// Bound parameters per statement: under SQLite's limit (32,766) and PostgreSQL's (65,535).
const MAX_PARAMS: usize = 30_000;

#[derive(Insertable)]
#[diesel(table_name = evidence, treat_none_as_default_value = false)]
pub struct EvidenceIn {
    pub id: i64,
    pub assessment_id: i64,
    pub criterion: String,
    pub filename: String,
    pub description: Option<String>,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub content: Vec<u8>,
    pub uploaded_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = events)]
pub struct EventIn {
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub entity: &'static str,
    pub entity_id: String,
    pub action: &'static str,
    pub detail: String,
}

/// A log entry to append: certificate `number` (of `venue`, with its signed `token`) changed.
pub struct Logged {
    pub number: String,
    pub venue: String,
    pub token: Vec<u8>,
    pub kind: &'static str,
    pub status: &'static str,
    pub at: NaiveDateTime,
    pub reason: Option<String>,
}

/// One batch of rows, written in one transaction.
#[derive(Default)]
pub struct Batch {
    pub venues: Vec<VenueRow>,
    pub assessments: Vec<AssessmentRow>,
    pub evidence: Vec<EvidenceIn>,
    pub events: Vec<EventIn>,
    pub certificates: Vec<CertificateRow>,
    /// In log order.
    pub log: Vec<Logged>,
    /// The years' counters after this batch: (year, last number).
    pub counters: Vec<(i32, i64)>,
}

/// Where the tables stand: the next free ids, and the last certificate number of each year asked for.
pub struct Start {
    pub venue_id: i64,
    pub assessment_id: i64,
    pub evidence_id: i64,
    pub certificate_id: i64,
    pub last_numbers: Vec<i64>,
}

pub fn start(conn: &mut DbConn, years: &[i32]) -> Result<Start> {
    let mut last_numbers = Vec::with_capacity(years.len());
    for year in years {
        last_numbers.push(cc::table.filter(cc::year.eq(year)).select(cc::last_seq).first(conn).optional()?.unwrap_or(0));
    }
    let next = |m: Option<i64>| m.unwrap_or(0) + 1;
    Ok(Start {
        venue_id: next(venues::table.select(max(venues::id)).first(conn)?),
        assessment_id: next(assessments::table.select(max(assessments::id)).first(conn)?),
        evidence_id: next(evidence::table.select(max(evidence::id)).first(conn)?),
        certificate_id: next(certificates::table.select(max(certificates::id)).first(conn)?),
        last_numbers,
    })
}

/// The log's right edge, to append to in memory (read once, before the first batch).
pub fn log_frontier(conn: &mut DbConn) -> Result<Frontier> {
    let size = log::size(conn)?;
    log::frontier(conn, size)
}

macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {
        for chunk in $rows.chunks((MAX_PARAMS / $columns).max(1)) {
            // Multi-row inserts go to the backend's own connection (MultiConnection does not batch).
            match &mut *$conn {
                DbConn::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                DbConn::Pg(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
    };
}

/// Write a batch in the caller's transaction: its rows, its log entries (appended to `tree`, with one
/// checkpoint signed by `key` for the tree after them) and the year's counter. `tree` moves on only if
/// this returns `Ok`; after an error the caller must stop (the transaction rolls back).
pub fn write(conn: &mut DbConn, batch: &Batch, tree: &mut Frontier, key: &LogKey) -> Result<()> {
    // Take the log's head first (as every appender does): if anyone appended since `tree` was read, stop.
    let head: i64 = diesel::update(log_head::table.filter(log_head::id.eq(1)))
        .set(log_head::size.eq(log_head::size))
        .returning(log_head::size)
        .get_result(conn)?;
    if head as u64 != tree.size() {
        return Err(Error::conflict(
            "log_moved",
            format!(
                "the log holds {head} entries, not the {} this seed started from: another writer is running",
                tree.size()
            ),
        ));
    }
    insert_all!(conn, venues::table, batch.venues, 16);
    insert_all!(conn, assessments::table, batch.assessments, 16);
    insert_all!(conn, evidence::table, batch.evidence, 11);
    insert_all!(conn, certificates::table, batch.certificates, 26);
    insert_all!(conn, events::table, batch.events, 7);
    let at = now();
    let mut entries = Vec::with_capacity(batch.log.len());
    for l in &batch.log {
        let seq = tree.size();
        let change = log::Change {
            kind: l.kind,
            status: l.status,
            at: l.at,
            reason: l.reason.as_deref(),
        };
        let bytes = log::entry(seq, &l.number, &l.venue, &l.token, &change).to_jcs();
        let made = tree.append(leaf_hash(&bytes)).map_err(Error::Internal)?;
        entries.push((
            le::seq.eq(seq as i64),
            le::number.eq(&l.number),
            le::entry.eq(bytes),
            le::hashes.eq(made.iter().flat_map(|h| h.0).collect::<Vec<u8>>()),
            le::created_at.eq(at),
        ));
    }
    insert_all!(conn, le::table, entries, 5);
    if !batch.log.is_empty() {
        let size = tree.size() as i64;
        let note = key
            .sign_checkpoint(tree.size(), tree.root().map_err(Error::Internal)?)
            .map_err(Error::Internal)?;
        diesel::update(log_head::table.filter(log_head::id.eq(1)))
            .set(log_head::size.eq(size))
            .execute(conn)?;
        diesel::insert_into(lc::table)
            .values((lc::size.eq(size), lc::note.eq(note), lc::created_at.eq(at)))
            .execute(conn)?;
    }
    for (year, last) in &batch.counters {
        diesel::update(cc::table.filter(cc::year.eq(year))).set(cc::last_seq.eq(last)).execute(conn)?;
    }
    Ok(())
}

/// After rows were inserted with their own ids, move PostgreSQL's sequences past them (SQLite's
/// AUTOINCREMENT follows the largest id by itself).
pub fn sync_sequences(conn: &mut DbConn) -> Result<()> {
    if let DbConn::Pg(_) = conn {
        for table in ["venues", "assessments", "evidence", "certificates"] {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))"
            ))
            .execute(conn)?;
        }
    }
    Ok(())
}

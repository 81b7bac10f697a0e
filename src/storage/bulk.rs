// Bulk loading for the benchmarking seed: rows many to a statement with ids chosen up front, in one
// transaction per batch, with the batch's public-log entries (appended by storage::log::append_many).

use super::models::{AssessmentRow, CertificateRow, VenueRow};
use super::schema::{assessments, certificate_counters as cc, certificates, events, evidence, venues};
use super::{log, DbConn, Result};
use crate::domain::log::{Frontier, LogKey};
use chrono::NaiveDateTime;
use diesel::dsl::max;
use diesel::prelude::*;

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

/// One batch of rows, written in one transaction.
#[derive(Default)]
pub struct Batch {
    pub venues: Vec<VenueRow>,
    pub assessments: Vec<AssessmentRow>,
    pub evidence: Vec<EvidenceIn>,
    pub events: Vec<EventIn>,
    pub certificates: Vec<CertificateRow>,
    /// In log order.
    pub log: Vec<log::Pending>,
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

/// Write a batch in the caller's transaction: its rows, its log entries (appended to `tree`, see
/// `log::append_many`) and the years' counters.
pub fn write(conn: &mut DbConn, batch: &Batch, tree: &mut Frontier, key: &LogKey) -> Result<()> {
    log::append_many(conn, key, tree, &batch.log)?;
    insert_all!(conn, venues::table, batch.venues, 19);
    insert_all!(conn, assessments::table, batch.assessments, 18);
    insert_all!(conn, evidence::table, batch.evidence, 11);
    insert_all!(conn, certificates::table, batch.certificates, 32);
    insert_all!(conn, events::table, batch.events, 7);
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

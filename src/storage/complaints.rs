// Complaints' persistence: a report stored with its reference and event, officers' lists and guarded
// status changes (each with its event); the photo is read apart from the row.

use super::models::ComplaintRow;
use super::schema::complaints as k;
use super::{events, now, DbConn, Error, Result};
use crate::domain::auth::Caller;
use crate::domain::complaint::{ComplaintStatus, Report};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

/// A report as the application layer accepted it.
pub struct NewComplaint<'a> {
    pub reference: &'a str,
    pub certificate_number: &'a str,
    pub venue_id: i64,
    pub report: &'a Report,
    pub language: &'a str,
    /// The photo and its type, judged by content.
    pub photo: Option<(Vec<u8>, &'static str)>,
}

pub fn insert(conn: &mut DbConn, actor: &Caller, n: NewComplaint<'_>) -> Result<ComplaintRow> {
    let at = now();
    let (photo, photo_type) = match n.photo {
        Some((bytes, t)) => (Some(bytes), Some(t)),
        None => (None, None),
    };
    let photo_bytes = photo.as_ref().map(|p| p.len() as i64).unwrap_or(0);
    let id: i64 = diesel::insert_into(k::table)
        .values((
            k::reference.eq(n.reference),
            k::certificate_number.eq(n.certificate_number),
            k::venue_id.eq(n.venue_id),
            k::category.eq(n.report.category.as_str()),
            k::description.eq(&n.report.description),
            k::email.eq(n.report.email.as_ref().map(|e| e.as_str())),
            k::language.eq(n.language),
            k::photo.eq(photo),
            k::photo_type.eq(photo_type),
            k::photo_bytes.eq(photo_bytes),
            k::status.eq(ComplaintStatus::Received.as_str()),
            k::suspended.eq(false),
            k::created_at.eq(at),
            k::updated_at.eq(at),
        ))
        .returning(k::id)
        .get_result(conn)?;
    let row = get(conn, id)?;
    // The event keeps no e-mail and no description: the history says what happened, not who reported.
    events::append(
        conn,
        actor,
        "complaint",
        n.reference,
        "received",
        json!({"certificate": n.certificate_number, "category": n.report.category.as_str(), "photo": photo_type}),
    )?;
    Ok(row)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<ComplaintRow> {
    Ok(k::table.find(id).select(ComplaintRow::as_select()).first(conn)?)
}

pub fn photo(conn: &mut DbConn, id: i64) -> Result<Option<(Vec<u8>, String)>> {
    let (bytes, kind): (Option<Vec<u8>>, Option<String>) = k::table.find(id).select((k::photo, k::photo_type)).first(conn)?;
    Ok(bytes.zip(kind))
}

pub fn status_of(row: &ComplaintRow) -> Result<ComplaintStatus> {
    ComplaintStatus::parse(&row.status).ok_or_else(|| Error::Internal(format!("complaint {} has unknown status {}", row.id, row.status)))
}

/// Newest first, optionally of one status, a keyset page before `before_id`.
pub fn list(conn: &mut DbConn, status: Option<ComplaintStatus>, before_id: Option<i64>, limit: i64) -> Result<Vec<ComplaintRow>> {
    let mut q = k::table.select(ComplaintRow::as_select()).order(k::id.desc()).limit(limit).into_boxed();
    if let Some(s) = status {
        q = q.filter(k::status.eq(s.as_str()));
    }
    if let Some(b) = before_id {
        q = q.filter(k::id.lt(b));
    }
    Ok(q.load(conn)?)
}

/// A triage step decided by the application layer.
pub struct Step<'a> {
    pub from: ComplaintStatus,
    pub to: ComplaintStatus,
    pub outcome: Option<&'a str>,
    pub assessment_id: Option<i64>,
    pub suspended: bool,
}

/// Store a triage step, guarded on the status it was decided from, with its event.
pub fn set_status(conn: &mut DbConn, actor: &Caller, row: &ComplaintRow, s: &Step<'_>) -> Result<ComplaintRow> {
    let changed = diesel::update(k::table.find(row.id).filter(k::status.eq(s.from.as_str())))
        .set((
            k::status.eq(s.to.as_str()),
            k::outcome.eq(s.outcome.or(row.outcome.as_deref())),
            k::assessment_id.eq(s.assessment_id.or(row.assessment_id)),
            k::suspended.eq(s.suspended || row.suspended),
            k::handled_by.eq(actor.user_id),
            k::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(Error::conflict("complaint_changed", "the complaint changed meanwhile"));
    }
    let updated = get(conn, row.id)?;
    events::append(
        conn,
        actor,
        "complaint",
        &row.reference,
        s.to.as_str(),
        json!({"outcome": s.outcome, "assessment_id": s.assessment_id, "suspended": s.suspended}),
    )?;
    Ok(updated)
}

/// Complaints filed since `since`: all of them, or about one certificate (through the indexes on time).
pub fn count_since(conn: &mut DbConn, since: NaiveDateTime, number: Option<&str>) -> Result<i64> {
    let mut q = k::table.filter(k::created_at.ge(since)).into_boxed();
    if let Some(n) = number {
        q = q.filter(k::certificate_number.eq(n.to_string()));
    }
    Ok(q.count().get_result(conn)?)
}

/// The bytes all complaint photos take.
pub fn photo_bytes(conn: &mut DbConn) -> Result<i64> {
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
    }
    // A sum's SQL type differs between the backends (NUMERIC on PostgreSQL): cast to one.
    let t: Total = diesel::sql_query("SELECT CAST(COALESCE(SUM(photo_bytes), 0) AS BIGINT) AS total FROM complaints").get_result(conn)?;
    Ok(t.total)
}

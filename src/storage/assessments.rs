// Assessments: creation pinned to a criteria version, measurements, evidence files, submission with
// server-side scoring, and storing the officer's decision (its rules are in src/app/assessments.rs).

use super::models::{AssessmentRow, AssessmentSummary, EvidenceMeta};
use super::schema::{assessments as a, evidence as ev};
use super::{events, now, DbConn, Error, Result};
use crate::domain::auth::Caller;
use crate::domain::criteria::Scheme;
use crate::domain::lifecycle::{AssessmentKind, AssessmentStatus};
use crate::domain::scoring::{Measurements, Outcome};
use diesel::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

pub fn status_of(row: &AssessmentRow) -> Result<AssessmentStatus> {
    AssessmentStatus::parse(&row.status).ok_or_else(|| Error::Internal(format!("assessment {} has unknown status {}", row.id, row.status)))
}

pub fn measurements_of(row: &AssessmentRow) -> Result<Measurements> {
    serde_json::from_str(&row.measurements).map_err(|e| Error::Internal(format!("assessment {} measurements: {e}", row.id)))
}

pub fn outcome_of(row: &AssessmentRow) -> Result<Option<Outcome>> {
    row.outcome
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| Error::Internal(format!("assessment {} outcome: {e}", row.id)))
}

/// A new draft of `actor` for a venue, pinned to a criteria version.
/// A new draft: an initial audit, or a surveillance audit of `certificate`.
pub fn insert(conn: &mut DbConn, actor: &Caller, venue_id: i64, scheme: &Scheme, kind: AssessmentKind, certificate: Option<&str>) -> Result<AssessmentRow> {
    let at = now();
    let row: AssessmentRow = diesel::insert_into(a::table)
        .values((
            a::venue_id.eq(venue_id),
            a::assessor_id.eq(actor.user_id.unwrap_or(0)),
            a::status.eq(AssessmentStatus::Draft.as_str()),
            a::scheme.eq(&scheme.scheme),
            a::scheme_version.eq(scheme.version),
            a::criteria_sha256.eq(&scheme.sha256),
            a::measurements.eq("{}"),
            a::created_at.eq(at),
            a::updated_at.eq(at),
            a::kind.eq(kind.as_str()),
            a::certificate_number.eq(certificate),
        ))
        .returning(a::all_columns)
        .get_result(conn)?;
    events::append(
        conn,
        actor,
        "assessment",
        &row.id.to_string(),
        "created",
        json!({"venue_id": venue_id, "scheme": scheme.scheme, "version": scheme.version, "criteria_sha256": scheme.sha256, "kind": kind.as_str(), "certificate": certificate}),
    )?;
    Ok(row)
}

pub fn kind_of(row: &AssessmentRow) -> Result<AssessmentKind> {
    AssessmentKind::parse(&row.kind).ok_or_else(|| Error::Internal(format!("assessment {} has unknown kind {}", row.id, row.kind)))
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<AssessmentRow> {
    Ok(a::table.find(id).select(AssessmentRow::as_select()).first(conn)?)
}

pub struct ListQuery {
    pub venue_id: Option<i64>,
    pub status: Option<String>,
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// Which assessments a list may hold (the application layer decides it from the caller).
pub enum Scope {
    All,
    /// Those done by this assessor, or of this venue (either may be absent).
    Own {
        assessor_id: Option<i64>,
        venue_id: Option<i64>,
    },
}

macro_rules! filtered_list {
    ($row:ty, $conn:expr, $scope:expr, $q:expr) => {{
        let (scope, q) = ($scope, $q);
        let mut query = a::table.select(<$row>::as_select()).order(a::id.asc()).limit(q.limit).into_boxed();
        if let Scope::Own { assessor_id, venue_id } = scope {
            query = query.filter(a::assessor_id.eq(assessor_id.unwrap_or(-1)).or(a::venue_id.eq(venue_id.unwrap_or(-1))));
        }
        if let Some(v) = q.venue_id {
            query = query.filter(a::venue_id.eq(v));
        }
        if let Some(s) = &q.status {
            query = query.filter(a::status.eq(s.clone()));
        }
        if let Some(after) = q.after_id {
            query = query.filter(a::id.gt(after));
        }
        Ok(query.load($conn)?)
    }};
}

pub fn list(conn: &mut DbConn, scope: &Scope, q: &ListQuery) -> Result<Vec<AssessmentRow>> {
    filtered_list!(AssessmentRow, conn, scope, q)
}

/// The same list without measurements and results (the portal's lists).
pub fn list_summaries(conn: &mut DbConn, scope: &Scope, q: &ListQuery) -> Result<Vec<AssessmentSummary>> {
    filtered_list!(AssessmentSummary, conn, scope, q)
}

/// Store merged measurements (`changed` names the fields, for the event).
pub fn set_measurements(conn: &mut DbConn, caller: &Caller, id: i64, merged: &Measurements, changed: &[String]) -> Result<AssessmentRow> {
    let text = serde_json::to_string(merged).map_err(|e| Error::Internal(e.to_string()))?;
    let row: AssessmentRow = diesel::update(a::table.find(id))
        .set((a::measurements.eq(text), a::updated_at.eq(now())))
        .returning(a::all_columns)
        .get_result(conn)?;
    events::append(conn, caller, "assessment", &id.to_string(), "measurements_changed", json!({"fields": changed}))?;
    Ok(row)
}

pub struct NewEvidence {
    pub criterion: String,
    pub filename: String,
    pub description: Option<String>,
    pub media_type: String,
    pub sha256: String,
    pub content: Vec<u8>,
}

/// Is a file with this SHA-256 attached to the assessment already?
pub fn evidence_exists(conn: &mut DbConn, id: i64, sha256: &str) -> Result<bool> {
    let n: i64 = ev::table
        .filter(ev::assessment_id.eq(id))
        .filter(ev::sha256.eq(sha256))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Attach a file (once per SHA-256 and assessment: the unique index guards a race), with its event.
pub fn insert_evidence(conn: &mut DbConn, caller: &Caller, id: i64, e: NewEvidence) -> Result<EvidenceMeta> {
    let meta: EvidenceMeta = diesel::insert_into(ev::table)
        .values((
            ev::assessment_id.eq(id),
            ev::criterion.eq(&e.criterion),
            ev::filename.eq(&e.filename),
            ev::description.eq(&e.description),
            ev::media_type.eq(&e.media_type),
            ev::size.eq(e.content.len() as i64),
            ev::sha256.eq(&e.sha256),
            ev::content.eq(&e.content),
            ev::uploaded_by.eq(caller.user_id.unwrap_or(0)),
            ev::created_at.eq(now()),
        ))
        .returning((
            ev::id,
            ev::assessment_id,
            ev::criterion,
            ev::filename,
            ev::description,
            ev::media_type,
            ev::size,
            ev::sha256,
            ev::uploaded_by,
            ev::created_at,
        ))
        .get_result(conn)
        .map_err(|err| match Error::from(err) {
            Error::Conflict { .. } => Error::conflict("duplicate_evidence", "this file (same SHA-256) is already attached to this assessment"),
            other => other,
        })?;
    changed(
        conn,
        caller,
        id,
        "evidence_added",
        json!({"evidence_id": meta.id, "criterion": e.criterion, "sha256": e.sha256, "size": meta.size, "media_type": e.media_type}),
    )?;
    Ok(meta)
}

/// The assessment changed: its `updated_at` moves and the change is an event.
fn changed(conn: &mut DbConn, caller: &Caller, id: i64, action: &str, data: serde_json::Value) -> Result<()> {
    diesel::update(a::table.find(id)).set(a::updated_at.eq(now())).execute(conn)?;
    events::append(conn, caller, "assessment", &id.to_string(), action, data)?;
    Ok(())
}

/// Remove one evidence file of an assessment (the caller checked it is an editable draft); records an event.
pub fn delete_evidence(conn: &mut DbConn, caller: &Caller, id: i64, evidence_id: i64) -> Result<EvidenceMeta> {
    let meta: EvidenceMeta = ev::table
        .filter(ev::id.eq(evidence_id))
        .filter(ev::assessment_id.eq(id))
        .select(EvidenceMeta::as_select())
        .first(conn)?;
    diesel::delete(ev::table.find(evidence_id)).execute(conn)?;
    changed(
        conn,
        caller,
        id,
        "evidence_removed",
        json!({"evidence_id": meta.id, "criterion": meta.criterion, "sha256": meta.sha256}),
    )?;
    Ok(meta)
}

pub fn list_evidence(conn: &mut DbConn, assessment_id: i64) -> Result<Vec<EvidenceMeta>> {
    Ok(ev::table
        .filter(ev::assessment_id.eq(assessment_id))
        .order(ev::id.asc())
        .select(EvidenceMeta::as_select())
        .load(conn)?)
}

pub fn evidence_content(conn: &mut DbConn, assessment_id: i64, evidence_id: i64) -> Result<(EvidenceMeta, Vec<u8>)> {
    Ok(ev::table
        .filter(ev::assessment_id.eq(assessment_id))
        .filter(ev::id.eq(evidence_id))
        .select((EvidenceMeta::as_select(), ev::content))
        .first(conn)?)
}

pub fn evidence_counts(conn: &mut DbConn, id: i64) -> Result<BTreeMap<String, usize>> {
    let rows: Vec<String> = ev::table.filter(ev::assessment_id.eq(id)).select(ev::criterion).load(conn)?;
    let mut counts = BTreeMap::new();
    for c in rows {
        *counts.entry(c).or_insert(0) += 1;
    }
    Ok(counts)
}

/// Store a submission with its scored outcome, guarded on the assessment still being editable.
pub fn mark_submitted(conn: &mut DbConn, caller: &Caller, id: i64, outcome: &Outcome) -> Result<AssessmentRow> {
    let text = serde_json::to_string(&outcome).map_err(|e| Error::Internal(e.to_string()))?;
    let at = now();
    let row: AssessmentRow = diesel::update(a::table.find(id).filter(a::status.eq_any(["draft", "returned"])))
        .set((
            a::status.eq(AssessmentStatus::Submitted.as_str()),
            a::outcome.eq(Some(text)),
            a::overall.eq(Some(outcome.overall.clone())),
            a::submitted_at.eq(Some(at)),
            a::updated_at.eq(at),
        ))
        .returning(a::all_columns)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| Error::conflict("not_editable", "the assessment changed state meanwhile"))?;
    events::append(conn, caller, "assessment", &id.to_string(), "submitted", json!({"overall": outcome.overall}))?;
    Ok(row)
}

/// Store a decision, guarded on the assessment still being submitted (of concurrent decisions exactly one
/// finds it so; the others are conflicts), with its event.
pub fn record_decision(conn: &mut DbConn, caller: &Caller, id: i64, target: AssessmentStatus, reason: Option<&str>) -> Result<AssessmentRow> {
    let at = now();
    let updated: AssessmentRow = diesel::update(a::table.find(id).filter(a::status.eq("submitted")))
        .set((
            a::status.eq(target.as_str()),
            a::decided_by.eq(caller.user_id),
            a::decided_at.eq(Some(at)),
            a::decision_reason.eq(reason),
            a::updated_at.eq(at),
        ))
        .returning(a::all_columns)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| Error::conflict("not_submitted", "the assessment was decided meanwhile"))?;
    events::append(conn, caller, "assessment", &id.to_string(), target.as_str(), json!({"reason": reason}))?;
    Ok(updated)
}

/// An upheld appeal reopens a rejected audit: submitted again, for a new decision (guarded, with its event).
pub fn reopen(conn: &mut DbConn, caller: &Caller, id: i64, appeal_id: i64) -> Result<AssessmentRow> {
    let changed = diesel::update(a::table.find(id).filter(a::status.eq(AssessmentStatus::Rejected.as_str())))
        .set((
            a::status.eq(AssessmentStatus::Submitted.as_str()),
            a::decided_by.eq(None::<i64>),
            a::decided_at.eq(None::<chrono::NaiveDateTime>),
            a::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(Error::conflict("not_rejected", "the audit is no longer rejected"));
    }
    events::append(conn, caller, "assessment", &id.to_string(), "reopened", json!({"appeal_id": appeal_id}))?;
    get(conn, id)
}

/// How many audits wait for a decision, and since when the oldest has waited.
/// Submitted audits, oldest submission first, a page at a time after `after` (submitted_at, id).
pub fn queue(conn: &mut DbConn, after: Option<(chrono::NaiveDateTime, i64)>, limit: i64) -> Result<Vec<AssessmentSummary>> {
    let mut query = a::table
        .filter(a::status.eq(AssessmentStatus::Submitted.as_str()))
        .select(AssessmentSummary::as_select())
        .order((a::submitted_at.asc(), a::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(a::submitted_at.gt(at).or(a::submitted_at.eq(at).and(a::id.gt(id))));
    }
    Ok(query.load(conn)?)
}

pub fn waiting(conn: &mut DbConn) -> Result<(i64, Option<chrono::NaiveDateTime>)> {
    let submitted = a::table.filter(a::status.eq(AssessmentStatus::Submitted.as_str()));
    let n: i64 = submitted.count().get_result(conn)?;
    let oldest: Option<chrono::NaiveDateTime> = submitted.select(diesel::dsl::min(a::submitted_at)).first(conn)?;
    Ok((n, oldest))
}

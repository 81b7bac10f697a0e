// Assessments: creation pinned to a criteria version, measurements, evidence files, submission with
// server-side scoring, and the officer's decision (whose approval issues the certificate in the same transaction).

use super::certificates::{self, IssueContext};
use super::models::{AssessmentRow, CertificateRow, EvidenceMeta};
use super::schema::{assessments as a, evidence as ev};
use super::{events, now, venues, DbConn, Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::domain::criteria::Scheme;
use crate::domain::lifecycle::{AssessmentStatus, Decision};
use crate::domain::scoring::{self, FieldError, Measurements, Outcome};
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

pub fn create(conn: &mut DbConn, actor: &Caller, venue_id: i64, scheme: &Scheme) -> Result<AssessmentRow> {
    if !actor.has(Role::Assessor) {
        return Err(Error::forbidden("forbidden_role", "only assessors create assessments"));
    }
    if !venues::exists(conn, venue_id)? {
        return Err(Error::invalid(
            "unknown_venue",
            format!("venue {venue_id} does not exist"),
            vec![FieldError::new("venue_id", "unknown_venue", "no such venue")],
        ));
    }
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
        ))
        .returning(a::all_columns)
        .get_result(conn)?;
    events::append(
        conn,
        actor,
        "assessment",
        &row.id.to_string(),
        "created",
        json!({"venue_id": venue_id, "scheme": scheme.scheme, "version": scheme.version, "criteria_sha256": scheme.sha256}),
    )?;
    Ok(row)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<AssessmentRow> {
    Ok(a::table.find(id).select(AssessmentRow::as_select()).first(conn)?)
}

/// The assessment if the caller may see it; otherwise NotFound (no existence leak).
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<AssessmentRow> {
    let row = get(conn, id)?;
    if caller.can_view_assessment(row.assessor_id, row.venue_id) {
        Ok(row)
    } else {
        Err(Error::NotFound)
    }
}

fn get_editable(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<AssessmentRow> {
    let row = get_visible(conn, caller, id)?;
    if !caller.can_edit_assessment(row.assessor_id) {
        return Err(Error::forbidden(
            "not_your_assessment",
            "only the assessor who created this assessment may change it",
        ));
    }
    if !status_of(&row)?.is_editable() {
        return Err(Error::conflict(
            "not_editable",
            format!("the assessment is {}; only drafts and returned assessments can be changed", row.status),
        ));
    }
    Ok(row)
}

pub struct ListQuery {
    pub venue_id: Option<i64>,
    pub status: Option<String>,
    pub after_id: Option<i64>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConn, caller: &Caller, q: &ListQuery) -> Result<Vec<AssessmentRow>> {
    let mut query = a::table.select(AssessmentRow::as_select()).order(a::id.asc()).limit(q.limit).into_boxed();
    if !caller.sees_all() {
        match (caller.has(Role::Assessor), caller.has(Role::Venue)) {
            (true, true) => {
                query = query.filter(
                    a::assessor_id
                        .eq(caller.user_id.unwrap_or(-1))
                        .or(a::venue_id.eq(caller.venue_id.unwrap_or(-1))),
                )
            }
            (true, false) => query = query.filter(a::assessor_id.eq(caller.user_id.unwrap_or(-1))),
            (false, true) => query = query.filter(a::venue_id.eq(caller.venue_id.unwrap_or(-1))),
            (false, false) => return Ok(vec![]),
        }
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
    Ok(query.load(conn)?)
}

/// Validate and merge a measurement patch; nothing changes unless all of it is valid.
pub fn patch_measurements(conn: &mut DbConn, caller: &Caller, id: i64, scheme: &Scheme, patch: &serde_json::Value) -> Result<AssessmentRow> {
    let row = get_editable(conn, caller, id)?;
    let today = now().date();
    let parsed = scoring::parse_patch(scheme, patch, today).map_err(|f| Error::invalid("invalid_measurements", "some measurements are not valid", f))?;
    let changed: Vec<String> = parsed.iter().flat_map(|(c, m)| m.keys().map(move |k| format!("{c}.{k}"))).collect();
    let merged = scoring::merge(scheme, &measurements_of(&row)?, parsed)
        .map_err(|f| Error::invalid("invalid_measurements", "some measurements contradict each other", f))?;
    let text = serde_json::to_string(&merged).map_err(|e| Error::Internal(e.to_string()))?;
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

pub fn add_evidence(conn: &mut DbConn, caller: &Caller, id: i64, scheme: &Scheme, e: NewEvidence) -> Result<EvidenceMeta> {
    get_editable(conn, caller, id)?;
    if scheme.criterion(&e.criterion).is_none() {
        return Err(Error::invalid(
            "unknown_criterion",
            format!("`{}` is not a criterion of this scheme", e.criterion),
            vec![FieldError::new("criterion", "unknown_criterion", "no such criterion")],
        ));
    }
    let dup: i64 = ev::table
        .filter(ev::assessment_id.eq(id))
        .filter(ev::sha256.eq(&e.sha256))
        .count()
        .get_result(conn)?;
    if dup > 0 {
        return Err(Error::conflict(
            "duplicate_evidence",
            "this file (same SHA-256) is already attached to this assessment",
        ));
    }
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
    diesel::update(a::table.find(id)).set(a::updated_at.eq(now())).execute(conn)?;
    events::append(
        conn,
        caller,
        "assessment",
        &id.to_string(),
        "evidence_added",
        json!({"evidence_id": meta.id, "criterion": e.criterion, "sha256": e.sha256, "size": meta.size, "media_type": e.media_type}),
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

fn evidence_counts(conn: &mut DbConn, id: i64) -> Result<BTreeMap<String, usize>> {
    let rows: Vec<String> = ev::table.filter(ev::assessment_id.eq(id)).select(ev::criterion).load(conn)?;
    let mut counts = BTreeMap::new();
    for c in rows {
        *counts.entry(c).or_insert(0) += 1;
    }
    Ok(counts)
}

/// Submit for decision: everything must be present; the server scores it.
pub fn submit(conn: &mut DbConn, caller: &Caller, id: i64, scheme: &Scheme) -> Result<AssessmentRow> {
    let row = get_editable(conn, caller, id)?;
    let outcome = scoring::score(scheme, &measurements_of(&row)?, &evidence_counts(conn, id)?).map_err(|f| {
        Error::invalid(
            "incomplete_assessment",
            "the assessment is incomplete: see `fields` for every missing measurement and evidence",
            f,
        )
    })?;
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

/// The officer's decision. Approval of a Gold assessment issues its certificate in this same transaction.
pub fn decide(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    decision: Decision,
    reason: Option<&str>,
    issue: Option<&IssueContext>,
) -> Result<(AssessmentRow, Option<CertificateRow>)> {
    if !caller.has_any(&[Role::Officer, Role::Admin]) {
        return Err(Error::forbidden("forbidden_role", "only certification officers decide"));
    }
    let row = get_visible(conn, caller, id)?;
    if caller.user_id == Some(row.assessor_id) {
        tracing::warn!(assessment = id, user = ?caller.user_id, "refused: the assessor tried to decide their own assessment");
        return Err(Error::forbidden(
            "self_decision",
            "ISO/IEC 17065 7.6: the person who evaluated cannot decide; another officer must",
        ));
    }
    if status_of(&row)? != AssessmentStatus::Submitted {
        return Err(Error::conflict(
            "not_submitted",
            format!("the assessment is {}; only submitted assessments can be decided", row.status),
        ));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    match decision {
        Decision::Reject if reason.is_none() => {
            return Err(Error::invalid(
                "reason_required",
                "a rejection needs a reason",
                vec![FieldError::new("reason", "required", "reason is required")],
            ))
        }
        Decision::Return if reason.is_none() => {
            return Err(Error::invalid(
                "comments_required",
                "returning needs comments for the assessor",
                vec![FieldError::new("reason", "required", "comments are required")],
            ))
        }
        Decision::Approve if row.overall.as_deref() != Some("gold") => {
            return Err(Error::conflict(
                "not_gold",
                "the assessment does not meet every Gold criterion: reject or return it",
            ))
        }
        _ => {}
    }
    if reason.is_some_and(|r| r.chars().count() > 2000) {
        return Err(Error::invalid(
            "reason_too_long",
            "at most 2000 characters",
            vec![FieldError::new("reason", "too_long", "at most 2000 characters")],
        ));
    }
    let at = now();
    // The status guard makes concurrent decisions safe: only one UPDATE finds the row still submitted.
    let updated: AssessmentRow = diesel::update(a::table.find(id).filter(a::status.eq("submitted")))
        .set((
            a::status.eq(decision.target().as_str()),
            a::decided_by.eq(caller.user_id),
            a::decided_at.eq(Some(at)),
            a::decision_reason.eq(reason),
            a::updated_at.eq(at),
        ))
        .returning(a::all_columns)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| Error::conflict("not_submitted", "the assessment was decided meanwhile"))?;
    events::append(
        conn,
        caller,
        "assessment",
        &id.to_string(),
        decision.target().as_str(),
        json!({"reason": reason}),
    )?;
    let cert = match decision {
        Decision::Approve => {
            let ctx = issue.ok_or_else(|| Error::Internal("approval without an issuing context".into()))?;
            Some(certificates::issue(conn, caller, &updated, ctx)?)
        }
        _ => None,
    };
    Ok((updated, cert))
}

// Certificates: atomic issuance (number, validity, signed token stored verbatim), lifecycle changes,
// renewal (superseding), and the public register query.

use super::models::{AssessmentRow, CertificateRow};
use super::schema::{certificate_counters as cc, certificates as c, venues as v};
use super::{events, log, now, DbConn, Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::domain::certificate::{exp_for, valid_until, CertificateClaims, CertificateNumber};
use crate::domain::lifecycle::{public_status, transition, CertificateAction, PublicStatus, StoredStatus, MAX_REASON};
use crate::domain::log::LogKey;
use crate::domain::scoring::FieldError;
use crate::domain::signing::sign_certificate;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use serde_json::json;

/// Everything issuance needs besides the assessment: who issues, with which key, for how long.
#[derive(Clone)]
pub struct IssueContext {
    pub key: SigningKey,
    pub kid: String,
    pub public_url: String,
    pub issuer: String,
    pub issuer_address: String,
    pub signatory: String,
    pub signatory_title: String,
    pub validity_months: u32,
    /// When set, the issue date instead of today (the demo records the award of 2025-12-19).
    pub issued_on: Option<NaiveDate>,
    /// The public log's key: issuance and supersession are logged in the same transaction.
    pub log: LogKey,
}

/// The per-criterion results frozen into the certificate at issuance.
pub fn outcome_of(row: &CertificateRow) -> Result<crate::domain::scoring::Outcome> {
    serde_json::from_str(&row.outcome).map_err(|e| Error::Internal(format!("certificate {} outcome: {e}", row.number)))
}

pub fn stored_status(row: &CertificateRow) -> Result<StoredStatus> {
    StoredStatus::parse(&row.status).ok_or_else(|| Error::Internal(format!("certificate {} has unknown status {}", row.number, row.status)))
}

pub fn status_now(row: &CertificateRow, at: NaiveDateTime) -> Result<PublicStatus> {
    Ok(public_status(stored_status(row)?, row.valid_until, at))
}

/// Make sure the year's counter row exists, outside the issuing transaction (a failed insert here
/// never aborts an approval).
pub fn ensure_counter(conn: &mut DbConn, year: i32) -> Result<()> {
    let exists: i64 = cc::table.filter(cc::year.eq(year)).count().get_result(conn)?;
    if exists == 0 {
        match diesel::insert_into(cc::table).values((cc::year.eq(year), cc::last_seq.eq(0i64))).execute(conn) {
            Ok(_) | Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The next number of `year`, inside the caller's transaction: the row lock serialises issuers, and a
/// rollback gives the number back, so the public never sees a gap.
fn next_number(conn: &mut DbConn, year: i32) -> Result<CertificateNumber> {
    let seq: Option<i64> = diesel::update(cc::table.filter(cc::year.eq(year)))
        .set(cc::last_seq.eq(cc::last_seq + 1))
        .returning(cc::last_seq)
        .get_result(conn)
        .optional()?;
    let seq = match seq {
        Some(s) => s,
        None => {
            diesel::insert_into(cc::table)
                .values((cc::year.eq(year), cc::last_seq.eq(1i64)))
                .execute(conn)?;
            1
        }
    };
    CertificateNumber::new(year, seq).map_err(Error::Internal)
}

/// Issue the certificate of an approved assessment. Runs inside the approval's transaction.
pub fn issue(conn: &mut DbConn, actor: &Caller, assessment: &AssessmentRow, ctx: &IssueContext) -> Result<CertificateRow> {
    let venue = super::venues::get(conn, assessment.venue_id)?;
    let at = now();
    let issued_on = ctx.issued_on.unwrap_or(at.date());
    let issued_at = if ctx.issued_on.is_some() {
        issued_on.and_hms_opt(12, 0, 0).unwrap_or(at)
    } else {
        at
    };
    let number = next_number(conn, issued_on.year())?;
    let until = valid_until(issued_on, ctx.validity_months);
    let level = "gold".to_string();
    let claims = CertificateClaims {
        iss: ctx.public_url.clone(),
        iat: issued_at.and_utc().timestamp(),
        exp: exp_for(until),
        number: number.to_string(),
        venue: venue.name.clone(),
        level: level.clone(),
        scheme: format!("{}/{}", assessment.scheme, assessment.scheme_version),
    };
    let token = sign_certificate(&ctx.key, &claims).map_err(Error::Internal)?;
    let previous: Vec<String> = c::table
        .filter(c::venue_id.eq(venue.id))
        .filter(c::status.eq_any(["valid", "suspended"]))
        .select(c::number)
        .order(c::id.desc())
        .load(conn)?;
    let outcome = assessment
        .outcome
        .clone()
        .ok_or_else(|| Error::Internal("approved assessment without an outcome".into()))?;
    let row: CertificateRow = diesel::insert_into(c::table)
        .values((
            c::number.eq(number.as_str()),
            c::assessment_id.eq(assessment.id),
            c::venue_id.eq(venue.id),
            c::venue_name.eq(&venue.name),
            c::venue_address.eq(&venue.address),
            c::venue_city.eq(&venue.city),
            c::scheme.eq(&assessment.scheme),
            c::scheme_version.eq(assessment.scheme_version),
            c::criteria_sha256.eq(&assessment.criteria_sha256),
            c::level.eq(&level),
            c::outcome.eq(outcome),
            c::issued_at.eq(issued_at),
            c::valid_from.eq(issued_on),
            c::valid_until.eq(until),
            c::issuer.eq(&ctx.issuer),
            c::issuer_address.eq(&ctx.issuer_address),
            c::signatory.eq(&ctx.signatory),
            c::signatory_title.eq(&ctx.signatory_title),
            c::kid.eq(&ctx.kid),
            c::token.eq(&token),
            c::status.eq(StoredStatus::Valid.as_str()),
            c::supersedes.eq(previous.first()),
        ))
        .returning(c::all_columns)
        .get_result(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict { .. } => Error::conflict("already_issued", "this assessment already has its certificate"),
            other => other,
        })?;
    events::append(
        conn,
        actor,
        "certificate",
        number.as_str(),
        "issued",
        json!({"assessment_id": assessment.id, "kid": ctx.kid, "valid_until": until}),
    )?;
    let issued = log::Change {
        kind: "issued",
        status: StoredStatus::Valid.as_str(),
        at: issued_at,
        reason: None,
    };
    log::append(conn, &ctx.log, &row, issued)?;
    for old in &previous {
        let old_row: CertificateRow = diesel::update(c::table.filter(c::number.eq(old)))
            .set((
                c::status.eq(StoredStatus::Superseded.as_str()),
                c::superseded_by.eq(Some(number.as_str())),
                c::status_changed_at.eq(Some(at)),
            ))
            .returning(c::all_columns)
            .get_result(conn)?;
        events::append(conn, actor, "certificate", old, "superseded", json!({"by": number.as_str()}))?;
        let superseded = log::Change {
            kind: "superseded",
            status: StoredStatus::Superseded.as_str(),
            at,
            reason: None,
        };
        log::append(conn, &ctx.log, &old_row, superseded)?;
    }
    Ok(row)
}

pub fn get(conn: &mut DbConn, number: &str) -> Result<CertificateRow> {
    Ok(c::table.filter(c::number.eq(number)).select(CertificateRow::as_select()).first(conn)?)
}

/// The certificate if the caller may see it (officers, admins, assessors, its venue); else NotFound.
pub fn get_visible(conn: &mut DbConn, caller: &Caller, number: &str) -> Result<CertificateRow> {
    let row = get(conn, number)?;
    if caller.can_view_venue(row.venue_id) {
        Ok(row)
    } else {
        Err(Error::NotFound)
    }
}

pub fn for_assessment(conn: &mut DbConn, assessment_id: i64) -> Result<Option<CertificateRow>> {
    Ok(c::table
        .filter(c::assessment_id.eq(assessment_id))
        .select(CertificateRow::as_select())
        .first(conn)
        .optional()?)
}

/// Suspend, reinstate or withdraw; illegal transitions are conflicts, and every change is an event.
pub fn change_status(
    conn: &mut DbConn,
    caller: &Caller,
    number: &str,
    action: CertificateAction,
    reason: Option<&str>,
    log_key: &LogKey,
) -> Result<CertificateRow> {
    if !caller.has_any(&[Role::Officer, Role::Admin]) {
        return Err(Error::forbidden("forbidden_role", "only certification officers change a certificate's status"));
    }
    let row = get_visible(conn, caller, number)?;
    let at = now();
    let current = status_now(&row, at)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if matches!(action, CertificateAction::Suspend | CertificateAction::Withdraw) && reason.is_none() {
        return Err(Error::invalid(
            "reason_required",
            "a public reason is required",
            vec![FieldError::new("reason", "required", "reason is required")],
        ));
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        let message = format!("at most {MAX_REASON} characters");
        return Err(Error::invalid(
            "reason_too_long",
            message.clone(),
            vec![FieldError::new("reason", "too_long", message)],
        ));
    }
    let next = transition(current, action).map_err(|m| Error::conflict("illegal_transition", m))?;
    let updated: CertificateRow = diesel::update(c::table.filter(c::number.eq(number)).filter(c::status.eq(&row.status)))
        .set((c::status.eq(next.as_str()), c::status_reason.eq(reason), c::status_changed_at.eq(Some(at))))
        .returning(c::all_columns)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| Error::conflict("illegal_transition", "the certificate changed state meanwhile"))?;
    events::append(
        conn,
        caller,
        "certificate",
        number,
        action.as_str(),
        json!({"reason": reason, "from": current.as_str(), "to": next.as_str()}),
    )?;
    let change = log::Change {
        kind: action.as_str(),
        status: next.as_str(),
        at,
        reason,
    };
    log::append(conn, log_key, &updated, change)?;
    Ok(updated)
}

pub struct PublicQuery {
    pub q: Option<String>,
    pub city: Option<String>,
    pub status: Option<PublicStatus>,
    pub venue_id: Option<i64>,
    /// Keyset cursor: only certificates with a smaller id (newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
    pub today: NaiveDate,
}

/// The register: newest first, searchable by venue name (any language) and city, by derived status.
pub fn list(conn: &mut DbConn, q: &PublicQuery) -> Result<Vec<CertificateRow>> {
    let mut query = c::table
        .inner_join(v::table)
        .select(CertificateRow::as_select())
        .order(c::id.desc())
        .limit(q.limit)
        .into_boxed();
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        query = query.filter(v::search_text.like(super::venues::like_pattern(text)).escape('\\'));
    }
    if let Some(city) = q.city.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        query = query.filter(c::venue_city.eq(city.to_string()));
    }
    if let Some(id) = q.venue_id {
        query = query.filter(c::venue_id.eq(id));
    }
    if let Some(before) = q.before_id {
        query = query.filter(c::id.lt(before));
    }
    query = match q.status {
        None => query,
        Some(PublicStatus::Valid) => query.filter(c::status.eq("valid")).filter(c::valid_until.ge(q.today)),
        Some(PublicStatus::Suspended) => query.filter(c::status.eq("suspended")).filter(c::valid_until.ge(q.today)),
        Some(PublicStatus::Expired) => query.filter(c::status.eq_any(["valid", "suspended"])).filter(c::valid_until.lt(q.today)),
        Some(PublicStatus::Withdrawn) => query.filter(c::status.eq("withdrawn")),
        Some(PublicStatus::Superseded) => query.filter(c::status.eq("superseded")),
    };
    Ok(query.load(conn)?)
}

// Certificates as operations: issuing one for an approved assessment (number, validity, claims, the
// Ed25519 signature) and changing its status (who may, the public reason, the lifecycle's transitions).

use super::{Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::domain::certificate::{exp_for, valid_until, CertificateClaims};
use crate::domain::lifecycle::{transition, CertificateAction, MAX_REASON};
use crate::domain::log::LogKey;
use crate::domain::scoring::FieldError;
use crate::domain::signing::sign_certificate;
use crate::storage::certificates::{self as repo, NewCertificate};
use crate::storage::models::{AssessmentRow, CertificateRow};
use crate::storage::{self, venues, DbConn};
use chrono::{Datelike, NaiveDate};
use ed25519_dalek::SigningKey;

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
    /// Months between surveillance audits: the first falls due this long after the grant.
    pub surveillance_months: u32,
    /// When set, the issue date instead of today (the demo records the award of 2025-12-19).
    pub issued_on: Option<NaiveDate>,
    /// The public log's key: issuance and supersession are logged in the same transaction.
    pub log: LogKey,
}

/// Issue the certificate of an approved assessment, inside the approval's transaction: the next number
/// of the year, validity, the signed claims; the venue's current certificate is superseded.
pub fn issue(conn: &mut DbConn, actor: &Caller, assessment: &AssessmentRow, ctx: &IssueContext) -> Result<CertificateRow> {
    let venue = venues::get(conn, assessment.venue_id)?;
    let at = storage::now();
    let issued_on = ctx.issued_on.unwrap_or(at.date());
    let issued_at = if ctx.issued_on.is_some() {
        issued_on.and_hms_opt(12, 0, 0).unwrap_or(at)
    } else {
        at
    };
    let number = repo::next_number(conn, issued_on.year())?;
    let until = valid_until(issued_on, ctx.validity_months);
    let level = "gold";
    let claims = CertificateClaims {
        iss: ctx.public_url.clone(),
        iat: issued_at.and_utc().timestamp(),
        exp: exp_for(until),
        number: number.to_string(),
        venue: venue.name.clone(),
        level: level.to_string(),
        scheme: format!("{}/{}", assessment.scheme, assessment.scheme_version),
    };
    let token = sign_certificate(&ctx.key, &claims).map_err(|e| Error::Storage(storage::Error::Internal(e)))?;
    let previous = repo::current_of_venue(conn, venue.id)?;
    let new = NewCertificate {
        number: &number,
        assessment,
        venue: &venue,
        level,
        issued_at,
        valid_from: issued_on,
        valid_until: until,
        surveillance_months: ctx.surveillance_months,
        issuer: &ctx.issuer,
        issuer_address: &ctx.issuer_address,
        signatory: &ctx.signatory,
        signatory_title: &ctx.signatory_title,
        kid: &ctx.kid,
        token: &token,
    };
    let (row, appended) = repo::insert(conn, actor, &new, &previous, &ctx.log, at)?;
    for a in &appended {
        fan_out(conn, a)?;
    }
    Ok(row)
}

/// Store a status change decided by a caller of this layer (an officer, an appeal, the scheduler): guarded
/// on the status it was decided from, with its event and log entry, fanned out to watchers and managers.
pub fn store_status(conn: &mut DbConn, caller: &Caller, row: &CertificateRow, change: &repo::StatusChange<'_>, log_key: &LogKey) -> Result<CertificateRow> {
    let appended = repo::set_status(conn, caller, row, change, log_key)?;
    fan_out(conn, &appended)?;
    Ok(appended.cert)
}

/// What a new log entry fans out to, in its transaction: a webhook delivery to every subscriber of its type
/// (Standard Webhooks payload: `type`, `timestamp`, and the entry as `data`; the message id is the entry's
/// place in the log), and a notification to the venue's managers.
fn fan_out(conn: &mut DbConn, a: &storage::log::Appended) -> Result<()> {
    let data: serde_json::Value =
        serde_json::from_slice(&a.entry).map_err(|e| Error::Storage(storage::Error::Internal(format!("log entry {}: {e}", a.seq))))?;
    let payload = serde_json::json!({
        "type": format!("certificate.{}", a.kind),
        "timestamp": data["at"].clone(),
        "data": data,
    });
    storage::webhooks::enqueue(conn, &format!("msg_log_{}", a.seq), &a.kind, &payload.to_string())?;
    super::notify::certificate(conn, &a.cert, &a.kind, a.reason.as_deref())?;
    Ok(())
}

/// The certificate if the caller may see it (staff, or the manager of its venue); else not found.
pub fn get_visible(conn: &mut DbConn, caller: &Caller, number: &str) -> Result<CertificateRow> {
    let row = repo::get(conn, number)?;
    if caller.can_view_venue(row.venue_id) {
        Ok(row)
    } else {
        Err(Error::not_found())
    }
}

/// What a status change needs before anything is read: an officer or admin, and a public reason (within
/// its length) for suspension and withdrawal. `change_status` checks it; the portal checks it before its
/// confirmation step, so that a refusal comes before the person confirms.
pub fn check_change(caller: &Caller, action: CertificateAction, reason: Option<&str>) -> Result<()> {
    if !caller.has_any(&[Role::Officer, Role::Admin]) {
        return Err(Error::forbidden("forbidden_role", "only certification officers change a certificate's status"));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if matches!(action, CertificateAction::Suspend | CertificateAction::Withdraw) && reason.is_none() {
        return Err(Error::Storage(storage::Error::invalid(
            "reason_required",
            "a public reason is required",
            vec![FieldError::new("reason", "required", "reason is required")],
        )));
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        let message = format!("at most {MAX_REASON} characters");
        return Err(Error::Storage(storage::Error::invalid(
            "reason_too_long",
            message.clone(),
            vec![FieldError::new("reason", "too_long", message)],
        )));
    }
    Ok(())
}

/// Suspend, reinstate or withdraw (officers and admins): a public reason for suspension and withdrawal,
/// illegal transitions are conflicts, every change an event and a log entry.
pub fn change_status(
    conn: &mut DbConn,
    caller: &Caller,
    number: &str,
    action: CertificateAction,
    reason: Option<&str>,
    log_key: &LogKey,
    at: chrono::NaiveDateTime,
) -> Result<CertificateRow> {
    check_change(caller, action, reason)?;
    let row = get_visible(conn, caller, number)?;
    let current = repo::status_now(&row, at)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let next = transition(current, action).map_err(|m| Error::conflict("illegal_transition", m))?;
    let change = repo::StatusChange {
        action: action.as_str(),
        from: current.as_str(),
        to: next,
        reason,
        at,
    };
    store_status(conn, caller, &row, &change, log_key)
}

/// One page of certificates by the query (newest first; the caller's venue scope is in the query).
pub fn list(conn: &mut DbConn, q: &repo::PublicQuery) -> Result<Vec<CertificateRow>> {
    Ok(repo::list(conn, q)?)
}

/// A certificate's event history, oldest first.
pub fn history(conn: &mut DbConn, number: &str) -> Result<Vec<crate::storage::models::EventRow>> {
    Ok(crate::storage::events::list(conn, "certificate", number)?)
}

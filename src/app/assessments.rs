// Assessments as operations: who may see, start and change an audit (its own assessor, while a draft or
// returned), measurement and evidence checks, submission with server-side scoring, and the officer's
// decision (someone who did not do the audit, ISO/IEC 17065 7.6; Gold-only approval issues the certificate).

use super::certificates::{self, IssueContext};
use super::{Context, Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::domain::criteria::Scheme;
use crate::domain::lifecycle::{AssessmentKind, AssessmentStatus, CertificateAction, Decision, PublicStatus};
use crate::domain::log::LogKey;
use crate::domain::scoring::{self, FieldError};
use crate::domain::surveillance::{next_due, OVERDUE_REASON};
use crate::storage::assessments::{self as repo, ListQuery, NewEvidence, Scope};
use crate::storage::certificates as cert_repo;
use crate::storage::models::{AssessmentRow, AssessmentSummary, CertificateRow, EventRow, EvidenceMeta};
use crate::storage::{self, venues, DbConn};

/// The assessment if the caller may see it; otherwise not found (no existence leak).
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<AssessmentRow> {
    let row = repo::get(conn, id)?;
    if caller.can_view_assessment(row.assessor_id, row.venue_id) {
        Ok(row)
    } else {
        Err(Error::not_found())
    }
}

/// The assessment if the caller may change it: its own assessor, while it is a draft or returned.
fn get_editable(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<AssessmentRow> {
    let row = get_visible(conn, caller, id)?;
    if !caller.can_edit_assessment(row.assessor_id) {
        return Err(Error::forbidden(
            "not_your_assessment",
            "only the assessor who created this assessment may change it",
        ));
    }
    if !repo::status_of(&row)?.is_editable() {
        return Err(Error::conflict(
            "not_editable",
            format!("the assessment is {}; only drafts and returned assessments can be changed", row.status),
        ));
    }
    Ok(row)
}

/// An assessor starts an audit of an existing venue, pinned to the criteria version in force: an initial
/// audit, or a surveillance audit of the venue's current certificate (valid or suspended, not expired).
pub fn create(conn: &mut DbConn, actor: &Caller, venue_id: i64, scheme: &Scheme, kind: AssessmentKind) -> Result<AssessmentRow> {
    if !actor.has(Role::Assessor) {
        return Err(Error::forbidden("forbidden_role", "only assessors create assessments"));
    }
    if !venues::exists(conn, venue_id)? {
        return Err(Error::Storage(storage::Error::invalid(
            "unknown_venue",
            format!("venue {venue_id} does not exist"),
            vec![FieldError::new("venue_id", "unknown_venue", "no such venue")],
        )));
    }
    let certificate = match kind {
        AssessmentKind::Initial => None,
        AssessmentKind::Surveillance => Some(current_certificate(conn, venue_id)?.ok_or_else(|| {
            Error::Storage(storage::Error::invalid(
                "no_current_certificate",
                "a surveillance audit needs a venue with a valid or suspended certificate",
                vec![FieldError::new("kind", "no_current_certificate", "this venue holds no current certificate")],
            ))
        })?),
    };
    Ok(repo::insert(
        conn,
        actor,
        venue_id,
        scheme,
        kind,
        certificate.as_ref().map(|c| c.number.as_str()),
    )?)
}

/// Whether the venue has a certificate a surveillance audit could keep (the portal offers one only then).
pub fn surveillable(conn: &mut DbConn, venue_id: i64) -> Result<bool> {
    Ok(current_certificate(conn, venue_id)?.is_some())
}

/// The venue's certificate that surveillance keeps: valid or suspended now (not expired).
fn current_certificate(conn: &mut DbConn, venue_id: i64) -> Result<Option<CertificateRow>> {
    let now = storage::now();
    for number in cert_repo::current_of_venue(conn, venue_id)? {
        let row = cert_repo::get(conn, &number)?;
        if matches!(cert_repo::status_now(&row, now)?, PublicStatus::Valid | PublicStatus::Suspended) {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// What the caller may list: officers and admins all; assessors their own; venue managers their venue's;
/// `None` when nothing.
fn scope_of(caller: &Caller) -> Option<Scope> {
    if caller.sees_all() {
        return Some(Scope::All);
    }
    let assessor_id = caller.user_id.filter(|_| caller.has(Role::Assessor));
    let venue_id = caller.venue_id.filter(|_| caller.has(Role::Venue));
    (assessor_id.is_some() || venue_id.is_some()).then_some(Scope::Own { assessor_id, venue_id })
}

/// The assessments the caller may see, in full (the API).
pub fn list(conn: &mut DbConn, caller: &Caller, q: &ListQuery) -> Result<Vec<AssessmentRow>> {
    match scope_of(caller) {
        Some(scope) => Ok(repo::list(conn, &scope, q)?),
        None => Ok(vec![]),
    }
}

/// The same, without measurements and results (the portal's lists).
pub fn list_summaries(conn: &mut DbConn, caller: &Caller, q: &ListQuery) -> Result<Vec<AssessmentSummary>> {
    match scope_of(caller) {
        Some(scope) => Ok(repo::list_summaries(conn, &scope, q)?),
        None => Ok(vec![]),
    }
}

/// The officers' queue: submitted audits, oldest submission first, keyset-paginated (officers and admins).
pub fn queue(conn: &mut DbConn, caller: &Caller, after: Option<(chrono::NaiveDateTime, i64)>, limit: i64) -> Result<Vec<AssessmentSummary>> {
    if !caller.has_any(&[Role::Officer, Role::Admin]) {
        return Err(Error::forbidden("forbidden_role", "only certification officers see the queue"));
    }
    Ok(repo::queue(conn, after, limit)?)
}

/// The officers' workload: how many submitted audits wait, and the oldest submission (officers and admins).
pub fn waiting(conn: &mut DbConn, caller: &Caller) -> Result<(i64, Option<chrono::NaiveDateTime>)> {
    if !caller.has_any(&[Role::Officer, Role::Admin]) {
        return Err(Error::forbidden("forbidden_role", "only certification officers see the queue"));
    }
    Ok(repo::waiting(conn)?)
}

/// Validate and merge a measurement patch against the pinned version; nothing changes unless all of it
/// is valid.
pub fn patch_measurements(conn: &mut DbConn, caller: &Caller, id: i64, scheme: &Scheme, patch: &serde_json::Value) -> Result<AssessmentRow> {
    let row = get_editable(conn, caller, id)?;
    let today = storage::now().date();
    let invalid = |m: &str, f| Error::Storage(storage::Error::invalid("invalid_measurements", m, f));
    let parsed = scoring::parse_patch(scheme, patch, today).map_err(|f| invalid("some measurements are not valid", f))?;
    let changed: Vec<String> = parsed.iter().flat_map(|(c, m)| m.keys().map(move |k| format!("{c}.{k}"))).collect();
    let merged = scoring::merge(scheme, &repo::measurements_of(&row)?, parsed).map_err(|f| invalid("some measurements contradict each other", f))?;
    Ok(repo::set_measurements(conn, caller, id, &merged, &changed)?)
}

fn duplicate() -> Error {
    Error::conflict("duplicate_evidence", "this file (same SHA-256) is already attached to this assessment")
}

/// Attach an evidence file (its type already judged by content) to a criterion of the pinned version.
pub fn add_evidence(conn: &mut DbConn, caller: &Caller, id: i64, scheme: &Scheme, e: NewEvidence) -> Result<EvidenceMeta> {
    get_editable(conn, caller, id)?;
    if scheme.criterion(&e.criterion).is_none() {
        return Err(Error::Storage(storage::Error::invalid(
            "unknown_criterion",
            format!("`{}` is not a criterion of this scheme", e.criterion),
            vec![FieldError::new("criterion", "unknown_criterion", "no such criterion")],
        )));
    }
    if repo::evidence_exists(conn, id, &e.sha256)? {
        return Err(duplicate());
    }
    repo::insert_evidence(conn, caller, id, e).map_err(|err| match err {
        storage::Error::Conflict { .. } => duplicate(),
        other => other.into(),
    })
}

/// Remove an evidence file while the audit is a draft (or returned), by its own assessor.
pub fn remove_evidence(conn: &mut DbConn, caller: &Caller, id: i64, evidence_id: i64) -> Result<EvidenceMeta> {
    get_editable(conn, caller, id)?;
    Ok(repo::delete_evidence(conn, caller, id, evidence_id)?)
}

/// Submit for decision: every measurement and evidence item must be present; the server scores it.
pub fn submit(conn: &mut DbConn, caller: &Caller, id: i64, scheme: &Scheme) -> Result<AssessmentRow> {
    let row = get_editable(conn, caller, id)?;
    let outcome = scoring::score(scheme, &repo::measurements_of(&row)?, &repo::evidence_counts(conn, id)?).map_err(|f| {
        Error::Storage(storage::Error::invalid(
            "incomplete_assessment",
            "the assessment is incomplete: see `fields` for every missing measurement and evidence",
            f,
        ))
    })?;
    Ok(repo::mark_submitted(conn, caller, id, &outcome)?)
}

/// The longest decision reason or comments, in characters.
pub const MAX_DECISION_REASON: usize = 2000;

fn invalid(code: &'static str, message: &str, field_code: &str, field_message: &str) -> Error {
    Error::Storage(storage::Error::invalid(
        code,
        message,
        vec![FieldError::new("reason", field_code, field_message)],
    ))
}

/// What a decision needs before anything changes: an officer or admin who did not do the audit, and a
/// reason to reject or comments to return. `decide` checks it; the portal checks it before its
/// confirmation step, so that a refusal comes before the person confirms.
pub fn check_decision(caller: &Caller, row: &AssessmentRow, decision: Decision, reason: Option<&str>) -> Result<()> {
    may_decide(caller)?;
    if caller.user_id == Some(row.assessor_id) {
        tracing::warn!(assessment = row.id, user = ?caller.user_id, "refused: the assessor tried to decide their own assessment");
        return Err(Error::forbidden(
            "self_decision",
            "ISO/IEC 17065 7.6: the person who evaluated cannot decide; another officer must",
        ));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    match decision {
        Decision::Reject if reason.is_none() => Err(invalid("reason_required", "a rejection needs a reason", "required", "reason is required")),
        Decision::Return if reason.is_none() => Err(invalid(
            "comments_required",
            "returning needs comments for the assessor",
            "required",
            "comments are required",
        )),
        _ => Ok(()),
    }
}

/// Approve (Gold only; the certificate is issued in this same transaction), reject (a reason) or return
/// (comments for the assessor). Concurrent decisions: exactly one finds the assessment still submitted.
pub fn decide(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    decision: Decision,
    reason: Option<&str>,
    issue: Option<&IssueContext>,
    log: &LogKey,
) -> Result<(AssessmentRow, Option<CertificateRow>)> {
    may_decide(caller)?;
    let row = get_visible(conn, caller, id)?;
    check_decision(caller, &row, decision, reason)?;
    if repo::status_of(&row)? != AssessmentStatus::Submitted {
        return Err(Error::conflict(
            "not_submitted",
            format!("the assessment is {}; only submitted assessments can be decided", row.status),
        ));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    match decision {
        Decision::Approve if row.overall.as_deref() != Some("gold") => {
            return Err(Error::conflict(
                "not_gold",
                "the assessment does not meet every Gold criterion: reject or return it",
            ))
        }
        _ => {}
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_DECISION_REASON) {
        let message = format!("at most {MAX_DECISION_REASON} characters");
        return Err(invalid("reason_too_long", &message, "too_long", &message));
    }
    if repo::kind_of(&row)? == AssessmentKind::Surveillance {
        return decide_surveillance(conn, caller, &row, decision, reason, log);
    }
    let updated = record_decision(conn, caller, id, decision.target(), reason)?;
    let cert = match decision {
        Decision::Approve => {
            let ctx = issue.ok_or_else(|| Error::Storage(storage::Error::Internal("approval without an issuing context".into())))?;
            Some(certificates::issue(conn, caller, &updated, ctx)?)
        }
        _ => None,
    };
    Ok((updated, cert))
}

/// Run `op` as one unit of work: one write transaction with the audit the caller may see (else not found)
/// and the criteria version it is pinned to (saving, uploading, removing and submitting all judge by it).
pub async fn with_pinned<T, F>(app: &Context, caller: Caller, id: i64, op: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &Caller, &Scheme) -> Result<T> + Send + 'static,
{
    let catalogue = app.catalogue.clone();
    app.db
        .write(move |c| {
            let row = get_visible(c, &caller, id)?;
            let scheme = catalogue
                .get(&row.scheme, row.scheme_version)
                .ok_or_else(|| storage::Error::Internal(format!("assessment {id} is pinned to a scheme that is not loaded")))?;
            op(c, &caller, scheme)
        })
        .await
}

/// Attach evidence files (already judged by content) to an audit: all of them, or none.
pub async fn attach_evidence(app: &Context, caller: Caller, id: i64, files: Vec<NewEvidence>) -> Result<Vec<EvidenceMeta>> {
    with_pinned(app, caller, id, move |c, caller, scheme| {
        files.into_iter().map(|e| add_evidence(c, caller, id, scheme, e)).collect()
    })
    .await
}

/// An audit as the caller may see it, with its evidence and its certificate (if it has one).
pub fn view(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<(AssessmentRow, Vec<EvidenceMeta>, Option<CertificateRow>)> {
    let row = get_visible(conn, caller, id)?;
    let evidence = repo::list_evidence(conn, id)?;
    let cert = cert_repo::for_assessment(conn, id)?;
    Ok((row, evidence, cert))
}

/// The evidence of an audit the caller may see.
pub fn evidence(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<Vec<EvidenceMeta>> {
    get_visible(conn, caller, id)?;
    Ok(repo::list_evidence(conn, id)?)
}

/// One evidence file of an audit the caller may see: what it is, and its bytes.
pub fn evidence_file(conn: &mut DbConn, caller: &Caller, id: i64, evidence_id: i64) -> Result<(EvidenceMeta, Vec<u8>)> {
    get_visible(conn, caller, id)?;
    Ok(repo::evidence_content(conn, id, evidence_id)?)
}

/// The event history of an audit the caller may see, oldest first.
pub fn history(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<Vec<EventRow>> {
    get_visible(conn, caller, id)?;
    Ok(storage::events::list(conn, "assessment", &id.to_string())?)
}

/// An audit for the officers' review page: the row, its venue's name, evidence and history.
pub fn review(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<(AssessmentRow, String, Vec<EvidenceMeta>, Vec<EventRow>)> {
    let row = get_visible(conn, caller, id)?;
    let venue = venues::get(conn, row.venue_id)?.name;
    let evidence = repo::list_evidence(conn, id)?;
    let history = storage::events::list(conn, "assessment", &id.to_string())?;
    Ok((row, venue, evidence, history))
}

/// The names of the venues with these ids (lists of audits show them).
pub fn venue_names(conn: &mut DbConn, ids: &[i64], lang: &str) -> Result<std::collections::HashMap<i64, String>> {
    Ok(venues::names(conn, ids, lang)?)
}

/// Decide as `caller` (the API and the portal): an approval gets the issuing context (the active key) and
/// the year's counter first (outside the transaction, so a failed approval leaves no gap in the numbers),
/// then the decision and the issuance run in one transaction.
pub async fn decide_now(app: &Context, caller: Caller, id: i64, decision: Decision, reason: Option<String>) -> Result<(AssessmentRow, Option<CertificateRow>)> {
    may_decide(&caller)?;
    let ctx = match decision {
        Decision::Approve => {
            let ctx = app.issue_context().await?;
            let year = counter_year(&ctx);
            app.db.write_outside_transaction(move |c| cert_repo::ensure_counter(c, year)).await?;
            Some(ctx)
        }
        _ => None,
    };
    let log = app.log_key.clone();
    app.db
        .write(move |c| decide(c, &caller, id, decision, reason.as_deref(), ctx.as_ref(), &log))
        .await
}

/// The same for callers off the async workers (the demo), with the grant date of an award made earlier.
pub fn decide_blocking(
    app: &Context,
    caller: &Caller,
    id: i64,
    decision: Decision,
    reason: Option<&str>,
    issued_on: Option<chrono::NaiveDate>,
) -> Result<(AssessmentRow, Option<CertificateRow>)> {
    let ctx = match decision {
        Decision::Approve => {
            let mut ctx = app.issue_context_blocking()?;
            ctx.issued_on = issued_on;
            let year = counter_year(&ctx);
            app.db.write_outside_transaction_blocking(|c| cert_repo::ensure_counter(c, year))?;
            Some(ctx)
        }
        _ => None,
    };
    app.db.write_blocking(|c| decide(c, caller, id, decision, reason, ctx.as_ref(), &app.log_key))
}

/// Officers and admins decide audits (and never their own: see `decide`).
fn may_decide(caller: &Caller) -> Result<()> {
    if caller.has_any(&[Role::Officer, Role::Admin]) {
        Ok(())
    } else {
        Err(Error::forbidden("forbidden_role", "only certification officers decide"))
    }
}

/// The year whose counter numbers the certificate an approval issues.
fn counter_year(ctx: &IssueContext) -> i32 {
    chrono::Datelike::year(&ctx.issued_on.unwrap_or_else(|| storage::now().date()))
}

/// The decision stored (guarded on the audit still being submitted), and the people it concerns told.
fn record_decision(conn: &mut DbConn, caller: &Caller, id: i64, target: AssessmentStatus, reason: Option<&str>) -> Result<AssessmentRow> {
    let updated = repo::record_decision(conn, caller, id, target, reason)?;
    super::notify::decision(conn, &updated, target.as_str(), reason)?;
    Ok(updated)
}

/// A surveillance audit decided: approval keeps the certificate and moves its next due date (and lifts
/// a suspension the scheduler made for overdue surveillance); rejection suspends it with the officer's
/// reason. The certificate must still be current; it is returned when the decision changed it.
fn decide_surveillance(
    conn: &mut DbConn,
    caller: &Caller,
    row: &AssessmentRow,
    decision: Decision,
    reason: Option<&str>,
    log: &LogKey,
) -> Result<(AssessmentRow, Option<CertificateRow>)> {
    let number = row
        .certificate_number
        .clone()
        .ok_or_else(|| Error::Storage(storage::Error::Internal(format!("surveillance assessment {} names no certificate", row.id))))?;
    let cert = cert_repo::get(conn, &number)?;
    let now = storage::now();
    let status = cert_repo::status_now(&cert, now)?;
    if decision != Decision::Return && !matches!(status, PublicStatus::Valid | PublicStatus::Suspended) {
        return Err(Error::conflict(
            "certificate_not_current",
            format!("certificate {number} is {}; surveillance can no longer keep or suspend it", status.as_str()),
        ));
    }
    let updated = record_decision(conn, caller, row.id, decision.target(), reason)?;
    let months = u32::try_from(cert.surveillance_months).unwrap_or(12);
    let changed = match decision {
        Decision::Approve => {
            let kept = cert_repo::set_surveillance_due(conn, caller, &number, next_due(now.date(), months), row.id)?;
            if status == PublicStatus::Suspended && kept.status_reason.as_deref() == Some(OVERDUE_REASON) {
                Some(certificates::change_status(
                    conn,
                    caller,
                    &number,
                    CertificateAction::Reinstate,
                    None,
                    log,
                    now,
                )?)
            } else {
                Some(kept)
            }
        }
        Decision::Reject if status == PublicStatus::Valid => Some(certificates::change_status(
            conn,
            caller,
            &number,
            CertificateAction::Suspend,
            reason,
            log,
            now,
        )?),
        _ => None,
    };
    Ok((updated, changed))
}

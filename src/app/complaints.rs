// Complaints as operations: anyone reports a problem with a label (no login); officers and admins list
// and triage them, linking a special audit of the venue or suspending the certificate as the outcome.

use super::{Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::domain::complaint::{self, ComplaintStatus, Report, Triage, MAX_OUTCOME};
use crate::domain::lifecycle::CertificateAction;
use crate::domain::log::LogKey;
use crate::domain::scoring::FieldError;
use crate::storage::complaints::{self as repo, NewComplaint, Step};
use crate::storage::models::{CertificateRow, ComplaintRow};
use crate::storage::{self, assessments, certificates, DbConn};

/// The public actor of a report.
pub fn reporter() -> Caller {
    Caller {
        user_id: None,
        name: "public".into(),
        roles: vec![],
        venue_id: None,
        token_id: None,
    }
}

/// The ceilings on anonymous complaints: registry-wide and per certificate in an hour, the photos' storage,
/// and how many an hour send officers a message each (beyond: one digest an hour per officer).
#[derive(Debug, Clone, Copy)]
pub struct Ceilings {
    pub per_hour: i64,
    pub per_certificate_hour: i64,
    pub photo_bytes: i64,
    pub messages_per_hour: i64,
}

impl Default for Ceilings {
    fn default() -> Self {
        Ceilings {
            per_hour: 120,
            per_certificate_hour: 10,
            photo_bytes: 2048 * 1024 * 1024,
            messages_per_hour: 5,
        }
    }
}

/// File a report about certificate `number` (any status: a withdrawn label still shown is what the
/// public reports most). Unknown numbers are not found. Past a ceiling of the last hour the report is
/// refused (429, with when to try again); with the photo storage full, a report with a photo is refused
/// (send it without one).
pub fn file(
    conn: &mut DbConn,
    ceilings: &Ceilings,
    number: &str,
    report: &Report,
    language: &str,
    photo: Option<(Vec<u8>, &'static str)>,
    random: [u8; 5],
) -> Result<ComplaintRow> {
    let cert = certificates::get(conn, number)?;
    let hour_ago = storage::now() - chrono::Duration::hours(1);
    if repo::count_since(conn, hour_ago, None)? >= ceilings.per_hour || repo::count_since(conn, hour_ago, Some(&cert.number))? >= ceilings.per_certificate_hour
    {
        tracing::warn!(certificate = %cert.number, "complaint ceiling reached; refused");
        return Err(Error::Throttled { retry_after: 600 });
    }
    if let Some((bytes, _)) = &photo {
        if repo::photo_bytes(conn)?.saturating_add(bytes.len() as i64) > ceilings.photo_bytes {
            tracing::warn!("the complaint photo storage is full; a report with a photo refused");
            return Err(Error::invalid(
                "photo_storage_full",
                "photos cannot be taken right now: send the report without a photo",
            ));
        }
    }
    let reference = complaint::reference(random);
    let new = NewComplaint {
        reference: &reference,
        certificate_number: &cert.number,
        venue_id: cert.venue_id,
        report,
        language,
        photo,
    };
    let row = repo::insert(conn, &reporter(), new)?;
    if let Some(email) = &report.email {
        super::notify::complaint(conn, email.as_str(), language, &reference, &cert.number)?;
    }
    // A few an hour tell the officers each; beyond, one digest an hour each (the portal lists them all).
    if repo::count_since(conn, hour_ago, None)? <= ceilings.messages_per_hour {
        super::notify::complaint_to_triage(conn, row.id, &reference, &cert.number, report.category.as_str())?;
    } else {
        super::notify::complaints_digest(conn, &storage::now().format("%Y-%m-%dT%H").to_string())?;
    }
    Ok(row)
}

fn officers_only(caller: &Caller) -> Result<()> {
    if caller.has_any(&[Role::Officer, Role::Admin]) {
        Ok(())
    } else {
        Err(Error::forbidden("forbidden_role", "only certification officers handle complaints"))
    }
}

pub fn list(conn: &mut DbConn, caller: &Caller, status: Option<ComplaintStatus>, before_id: Option<i64>, limit: i64) -> Result<Vec<ComplaintRow>> {
    officers_only(caller)?;
    Ok(repo::list(conn, status, before_id, limit)?)
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<ComplaintRow> {
    officers_only(caller)?;
    Ok(repo::get(conn, id)?)
}

pub fn photo(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<Option<(Vec<u8>, String)>> {
    officers_only(caller)?;
    Ok(repo::photo(conn, id)?)
}

/// A triage request as the web layer parsed it.
pub struct TriageRequest<'a> {
    pub action: Triage,
    /// Required to close: what was found and done (told to the reporter).
    pub outcome: Option<&'a str>,
    /// A special audit of the certificate's venue that the complaint led to.
    pub assessment_id: Option<i64>,
    /// Closing with a suspension of the certificate: its public reason.
    pub suspend_reason: Option<&'a str>,
}

fn invalid(code: &'static str, field: &str, message: &str) -> Error {
    Error::Storage(storage::Error::invalid(code, message, vec![FieldError::new(field, code, message)]))
}

/// Move a complaint on (officers and admins): acknowledge, investigate (optionally linking a special audit
/// of the venue) or close with an outcome (optionally suspending the certificate, in the same transaction).
pub fn triage(conn: &mut DbConn, caller: &Caller, id: i64, t: &TriageRequest<'_>, log: &LogKey) -> Result<(ComplaintRow, Option<CertificateRow>)> {
    officers_only(caller)?;
    let row = repo::get(conn, id)?;
    let from = repo::status_of(&row)?;
    let to = complaint::triage(from, t.action).map_err(|m| Error::conflict("illegal_transition", m))?;
    let outcome = t.outcome.map(str::trim).filter(|o| !o.is_empty());
    if t.action == Triage::Close && outcome.is_none() {
        return Err(invalid("outcome_required", "outcome", "closing needs an outcome"));
    }
    if outcome.is_some_and(|o| o.chars().count() > MAX_OUTCOME) {
        return Err(invalid("outcome_too_long", "outcome", "the outcome is too long"));
    }
    let suspend_reason = t.suspend_reason.map(str::trim).filter(|r| !r.is_empty());
    if suspend_reason.is_some() && t.action != Triage::Close {
        return Err(invalid(
            "suspend_on_close",
            "suspend_reason",
            "a suspension is an outcome: send it when closing",
        ));
    }
    if let Some(aid) = t.assessment_id {
        let a = assessments::get(conn, aid).map_err(|e| match e {
            storage::Error::NotFound => invalid("unknown_assessment", "assessment_id", "no such assessment"),
            other => other.into(),
        })?;
        if a.venue_id != row.venue_id {
            return Err(invalid("other_venue", "assessment_id", "the assessment is of another venue"));
        }
    }
    let suspended = match suspend_reason {
        Some(reason) => Some(super::certificates::change_status(
            conn,
            caller,
            &row.certificate_number,
            CertificateAction::Suspend,
            Some(reason),
            log,
            storage::now(),
        )?),
        None => None,
    };
    let step = Step {
        from,
        to,
        outcome,
        assessment_id: t.assessment_id,
        suspended: suspended.is_some(),
    };
    Ok((repo::set_status(conn, caller, &row, &step)?, suspended))
}

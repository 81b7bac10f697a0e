// Appeals as operations: a venue manager appeals a rejection, suspension or withdrawal of their venue
// within 30 days; an officer or admin who took no part in that decision upholds (reverses) or dismisses it.

use super::{Error, Result};
use crate::domain::appeal::{self, AppealOutcome, AppealStatus, Subject, MAX_FILES, MAX_STATEMENT, MIN_STATEMENT};
use crate::domain::auth::{Caller, Role};
use crate::domain::lifecycle::AssessmentStatus;
use crate::domain::log::LogKey;
use crate::domain::scoring::FieldError;
use crate::domain::text::{self, TextKind};
use crate::storage::appeals::{self as repo, NewAppeal};
use crate::storage::certificates::{self as certs, StatusChange};
use crate::storage::models::{AppealFileMeta, AppealRow};
use crate::storage::{self, assessments, events, DbConn};
use chrono::NaiveDateTime;

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Error {
    let message = message.into();
    Error::Storage(storage::Error::invalid(code, message.clone(), vec![FieldError::new(field, code, message)]))
}

/// What the venue manager sent.
pub struct Filing<'a> {
    pub subject: Subject,
    pub assessment_id: Option<i64>,
    pub certificate: Option<&'a str>,
    pub statement: &'a str,
}

/// A venue manager appeals a decision about their own venue, within 30 days of it, once at a time.
pub fn lodge(conn: &mut DbConn, caller: &Caller, f: &Filing<'_>, now: NaiveDateTime) -> Result<AppealRow> {
    let Some(own) = caller.venue_id.filter(|_| caller.has(Role::Venue)) else {
        return Err(Error::forbidden("forbidden_role", "only a venue's manager appeals its decisions"));
    };
    let statement = f.statement.trim();
    text::check("statement", statement, TextKind::Free)
        .map_err(|e| Error::Storage(storage::Error::invalid("invalid_characters", e.message.clone(), vec![e])))?;
    let n = statement.chars().count();
    if !(MIN_STATEMENT..=MAX_STATEMENT).contains(&n) {
        return Err(invalid(
            "invalid_statement",
            "statement",
            format!("{MIN_STATEMENT} to {MAX_STATEMENT} characters"),
        ));
    }
    // The decision appealed: whose venue, when, and who took part in it.
    let (venue_id, at, decider, assessor, assessment_id, certificate) = match f.subject {
        Subject::Rejection => {
            let id = f
                .assessment_id
                .ok_or_else(|| invalid("assessment_required", "assessment_id", "name the rejected audit"))?;
            let row = assessments::get(conn, id).map_err(|e| match e {
                storage::Error::NotFound => invalid("unknown_assessment", "assessment_id", "no such audit"),
                other => other.into(),
            })?;
            if assessments::status_of(&row)? != AssessmentStatus::Rejected {
                return Err(Error::conflict("not_appealable", "only a rejected audit can be appealed"));
            }
            (
                row.venue_id,
                row.decided_at.unwrap_or(row.updated_at),
                row.decided_by,
                Some(row.assessor_id),
                Some(id),
                None,
            )
        }
        Subject::Suspension | Subject::Withdrawal => {
            let number = f
                .certificate
                .ok_or_else(|| invalid("certificate_required", "certificate", "name the certificate"))?;
            let row = certs::get(conn, number).map_err(|e| match e {
                storage::Error::NotFound => invalid("unknown_certificate", "certificate", "no such certificate"),
                other => other.into(),
            })?;
            let wanted = f.subject.certificate_status();
            if Some(certs::stored_status(&row)?) != wanted {
                return Err(Error::conflict("not_appealable", format!("the certificate is not {}", row.status)));
            }
            let action = wanted.map(|s| s.as_str()).unwrap_or_default();
            let decided = events::latest(conn, "certificate", &row.number, action)?;
            let at = row.status_changed_at.unwrap_or(row.issued_at);
            (row.venue_id, at, decided.and_then(|e| e.actor_id), None, None, Some(row.number))
        }
    };
    if venue_id != own {
        return Err(Error::not_found());
    }
    if !appeal::within_window(at, now) {
        return Err(Error::conflict(
            "appeal_window_closed",
            format!("decisions can be appealed within {} days", appeal::APPEAL_DAYS),
        ));
    }
    if repo::pending(conn, f.subject, assessment_id, certificate.as_deref())? {
        return Err(Error::conflict("appeal_pending", "an appeal of this decision is already open"));
    }
    let new = NewAppeal {
        venue_id,
        subject: f.subject,
        assessment_id,
        certificate_number: certificate.as_deref(),
        appealed_at: at,
        decider_id: decider,
        assessor_id: assessor,
        statement,
    };
    let row = repo::insert(conn, caller, &new)?;
    super::notify::appeal_to_decide(conn, &row)?;
    Ok(row)
}

/// The appeal if the caller may see it: officers and admins, and the venue's manager.
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<AppealRow> {
    let row = repo::get(conn, id)?;
    if caller.sees_all() || (caller.has(Role::Venue) && caller.venue_id == Some(row.venue_id)) {
        Ok(row)
    } else {
        Err(Error::not_found())
    }
}

pub fn list(conn: &mut DbConn, caller: &Caller, status: Option<AppealStatus>, before_id: Option<i64>, limit: i64) -> Result<Vec<AppealRow>> {
    let venue = if caller.sees_all() {
        None
    } else if let Some(v) = caller.venue_id.filter(|_| caller.has(Role::Venue)) {
        Some(v)
    } else {
        return Ok(vec![]);
    };
    Ok(repo::list(conn, venue, status, before_id, limit)?)
}

/// A file for an appeal, judged by its content already.
pub struct NewFile {
    pub filename: String,
    pub media_type: &'static str,
    pub sha256: String,
    pub content: Vec<u8>,
}

/// Attach files to an appeal: all of them, or none (one transaction).
pub async fn attach(app: &super::Context, caller: Caller, id: i64, files: Vec<NewFile>) -> Result<Vec<AppealFileMeta>> {
    app.db
        .write(move |c| {
            files
                .iter()
                .map(|f| add_file(c, &caller, id, &f.filename, f.media_type, &f.sha256, &f.content))
                .collect()
        })
        .await
}

/// The venue's manager adds a file (type judged by content by the caller) to their open appeal.
pub fn add_file(conn: &mut DbConn, caller: &Caller, id: i64, filename: &str, media_type: &str, sha256: &str, content: &[u8]) -> Result<AppealFileMeta> {
    let row = get_visible(conn, caller, id)?;
    if !(caller.has(Role::Venue) && caller.venue_id == Some(row.venue_id)) {
        return Err(Error::forbidden("forbidden_role", "only the venue's manager adds files to its appeal"));
    }
    if repo::status_of(&row)? != AppealStatus::Open {
        return Err(Error::conflict("appeal_decided", "the appeal is decided"));
    }
    if repo::files(conn, id)?.len() >= MAX_FILES {
        return Err(invalid("too_many_files", "file", format!("at most {MAX_FILES} files per appeal")));
    }
    Ok(repo::add_file(conn, caller, id, filename, media_type, sha256, content)?)
}

pub fn files(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<Vec<AppealFileMeta>> {
    get_visible(conn, caller, id)?;
    Ok(repo::files(conn, id)?)
}

pub fn file(conn: &mut DbConn, caller: &Caller, id: i64, file_id: i64) -> Result<(AppealFileMeta, Vec<u8>)> {
    get_visible(conn, caller, id)?;
    Ok(repo::file(conn, id, file_id)?)
}

/// What deciding an appeal needs before anything changes: an officer or admin who took no part in the
/// decision appealed, an open appeal, and a reason. `decide` checks it; the portal checks it before its
/// confirmation step. Returns the reason, trimmed.
pub fn check_decision<'r>(caller: &Caller, row: &AppealRow, reason: Option<&'r str>) -> Result<&'r str> {
    if !caller.has_any(&[Role::Officer, Role::Admin]) {
        return Err(Error::forbidden("forbidden_role", "only certification officers decide appeals"));
    }
    if !appeal::independent(caller.user_id, &[row.decider_id, row.assessor_id]) {
        tracing::warn!(appeal = row.id, user = ?caller.user_id, "refused: a person who took part in the decision tried to decide its appeal");
        return Err(Error::forbidden(
            "took_part",
            "ISO/IEC 17065 7.13: someone who took no part in the decision appealed must decide",
        ));
    }
    if repo::status_of(row)? != AppealStatus::Open {
        return Err(Error::conflict("appeal_decided", "the appeal is decided"));
    }
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| invalid("reason_required", "reason", "say why"))?;
    if reason.chars().count() > MAX_STATEMENT {
        return Err(invalid("reason_too_long", "reason", format!("at most {MAX_STATEMENT} characters")));
    }
    Ok(reason)
}

/// Decide an appeal (officers and admins who took no part in the decision appealed). `upheld` reverses
/// it in the same transaction: a rejected audit is reopened (submitted again, for a new decision); a
/// suspended or withdrawn certificate is valid again (event and log entry `reinstated`).
pub fn decide(conn: &mut DbConn, caller: &Caller, id: i64, outcome: AppealOutcome, reason: Option<&str>, log: &LogKey) -> Result<AppealRow> {
    if !caller.has_any(&[Role::Officer, Role::Admin]) {
        return Err(Error::forbidden("forbidden_role", "only certification officers decide appeals"));
    }
    let row = repo::get(conn, id)?;
    let reason = check_decision(caller, &row, reason)?;
    if outcome == AppealOutcome::Upheld {
        match repo::subject_of(&row)? {
            Subject::Rejection => {
                let aid = row
                    .assessment_id
                    .ok_or_else(|| Error::Storage(storage::Error::Internal(format!("appeal {id} names no audit"))))?;
                assessments::reopen(conn, caller, aid, id)?;
            }
            subject => {
                let number = row
                    .certificate_number
                    .clone()
                    .ok_or_else(|| Error::Storage(storage::Error::Internal(format!("appeal {id} names no certificate"))))?;
                let cert = certs::get(conn, &number)?;
                let now = storage::now();
                let to = appeal::reversal(subject, certs::status_now(&cert, now)?).map_err(|m| Error::conflict("cannot_reverse", m))?;
                if cert.valid_until < now.date() {
                    return Err(Error::conflict("cannot_reverse", "the certificate's validity has ended meanwhile"));
                }
                // The public reason says why the status changed; the officer's reasoning stays in the appeal.
                let change = StatusChange {
                    action: "reinstated",
                    from: &cert.status,
                    to,
                    reason: Some(crate::domain::appeal::UPHELD_REASON),
                    at: now,
                };
                super::certificates::store_status(conn, caller, &cert, &change, log)?;
            }
        }
    }
    let row = repo::decide(conn, caller, id, outcome, reason)?;
    super::notify::appeal_decided(conn, &row, outcome.status().as_str(), reason)?;
    Ok(row)
}

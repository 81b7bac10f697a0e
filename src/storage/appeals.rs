// Appeals' persistence: an appeal with who took part in the decision appealed, its files (bytes read
// apart), lists for officers and for the venue, and the guarded decision, each step with its event.

use super::models::{AppealFileMeta, AppealRow};
use super::schema::{appeal_files as f, appeals as a};
use super::{events, now, DbConn, Error, Result};
use crate::domain::appeal::{AppealOutcome, AppealStatus, Subject};
use crate::domain::auth::Caller;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

/// An appeal the application layer accepted.
pub struct NewAppeal<'a> {
    pub venue_id: i64,
    pub subject: Subject,
    pub assessment_id: Option<i64>,
    pub certificate_number: Option<&'a str>,
    pub appealed_at: NaiveDateTime,
    pub decider_id: Option<i64>,
    pub assessor_id: Option<i64>,
    pub statement: &'a str,
}

pub fn insert(conn: &mut DbConn, actor: &Caller, n: &NewAppeal<'_>) -> Result<AppealRow> {
    let id: i64 = diesel::insert_into(a::table)
        .values((
            a::venue_id.eq(n.venue_id),
            a::subject.eq(n.subject.as_str()),
            a::assessment_id.eq(n.assessment_id),
            a::certificate_number.eq(n.certificate_number),
            a::appealed_at.eq(n.appealed_at),
            a::decider_id.eq(n.decider_id),
            a::assessor_id.eq(n.assessor_id),
            a::statement.eq(n.statement),
            a::filed_by.eq(actor.user_id.unwrap_or(0)),
            a::status.eq(AppealStatus::Open.as_str()),
            a::created_at.eq(now()),
        ))
        .returning(a::id)
        .get_result(conn)?;
    events::append(
        conn,
        actor,
        "appeal",
        &id.to_string(),
        "filed",
        json!({"subject": n.subject.as_str(), "assessment_id": n.assessment_id, "certificate": n.certificate_number}),
    )?;
    get(conn, id)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<AppealRow> {
    Ok(a::table.find(id).select(AppealRow::as_select()).first(conn)?)
}

pub fn status_of(row: &AppealRow) -> Result<AppealStatus> {
    AppealStatus::parse(&row.status).ok_or_else(|| Error::Internal(format!("appeal {} has unknown status {}", row.id, row.status)))
}

pub fn subject_of(row: &AppealRow) -> Result<Subject> {
    Subject::parse(&row.subject).ok_or_else(|| Error::Internal(format!("appeal {} has unknown subject {}", row.id, row.subject)))
}

/// Is an appeal of this decision still open?
pub fn pending(conn: &mut DbConn, subject: Subject, assessment_id: Option<i64>, certificate: Option<&str>) -> Result<bool> {
    let mut q = a::table
        .filter(a::status.eq(AppealStatus::Open.as_str()))
        .filter(a::subject.eq(subject.as_str()))
        .into_boxed();
    if let Some(id) = assessment_id {
        q = q.filter(a::assessment_id.eq(id));
    }
    if let Some(n) = certificate {
        q = q.filter(a::certificate_number.eq(n.to_string()));
    }
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

/// Newest first: all, or one venue's; optionally of one status; a keyset page before `before_id`.
pub fn list(conn: &mut DbConn, venue_id: Option<i64>, status: Option<AppealStatus>, before_id: Option<i64>, limit: i64) -> Result<Vec<AppealRow>> {
    let mut q = a::table.select(AppealRow::as_select()).order(a::id.desc()).limit(limit).into_boxed();
    if let Some(v) = venue_id {
        q = q.filter(a::venue_id.eq(v));
    }
    if let Some(s) = status {
        q = q.filter(a::status.eq(s.as_str()));
    }
    if let Some(b) = before_id {
        q = q.filter(a::id.lt(b));
    }
    Ok(q.load(conn)?)
}

/// Record the decision, guarded on the appeal still being open, with its event.
pub fn decide(conn: &mut DbConn, actor: &Caller, id: i64, outcome: AppealOutcome, reason: &str) -> Result<AppealRow> {
    let at = now();
    let changed = diesel::update(a::table.find(id).filter(a::status.eq(AppealStatus::Open.as_str())))
        .set((
            a::status.eq(outcome.status().as_str()),
            a::decided_by.eq(actor.user_id),
            a::decision_reason.eq(reason),
            a::decided_at.eq(Some(at)),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(Error::conflict("appeal_decided", "the appeal was decided meanwhile"));
    }
    events::append(conn, actor, "appeal", &id.to_string(), outcome.status().as_str(), json!({"reason": reason}))?;
    get(conn, id)
}

const FILE_META: (f::id, f::appeal_id, f::filename, f::media_type, f::size, f::sha256, f::created_at) =
    (f::id, f::appeal_id, f::filename, f::media_type, f::size, f::sha256, f::created_at);

pub fn add_file(conn: &mut DbConn, actor: &Caller, appeal_id: i64, filename: &str, media_type: &str, sha256: &str, content: &[u8]) -> Result<AppealFileMeta> {
    let id: i64 = diesel::insert_into(f::table)
        .values((
            f::appeal_id.eq(appeal_id),
            f::filename.eq(filename),
            f::media_type.eq(media_type),
            f::size.eq(content.len() as i64),
            f::sha256.eq(sha256),
            f::content.eq(content),
            f::created_at.eq(now()),
        ))
        .returning(f::id)
        .get_result(conn)?;
    events::append(
        conn,
        actor,
        "appeal",
        &appeal_id.to_string(),
        "file_added",
        json!({"file_id": id, "sha256": sha256}),
    )?;
    Ok(f::table.find(id).select(FILE_META).first(conn)?)
}

pub fn files(conn: &mut DbConn, appeal_id: i64) -> Result<Vec<AppealFileMeta>> {
    Ok(f::table.filter(f::appeal_id.eq(appeal_id)).order(f::id.asc()).select(FILE_META).load(conn)?)
}

pub fn file(conn: &mut DbConn, appeal_id: i64, file_id: i64) -> Result<(AppealFileMeta, Vec<u8>)> {
    let meta: AppealFileMeta = f::table.find(file_id).filter(f::appeal_id.eq(appeal_id)).select(FILE_META).first(conn)?;
    let content: Vec<u8> = f::table.find(file_id).select(f::content).first(conn)?;
    Ok((meta, content))
}

// Whom a change tells, and what: the notification rules (managers, assessors, the staff who may decide,
// never anyone who took part), written to the outbox by src/storage in the transaction of the change.

use crate::domain::auth::{parse_roles, Role};
use crate::storage::certificates::ReminderRow;
use crate::storage::models::{AppealRow, AssessmentRow, CertificateRow};
use crate::storage::notifications::{self as store, Recipient};
use crate::storage::{DbConn, Result};
use serde_json::{json, Value};

/// The registry's first language, for people who have not used the portal yet.
pub const DEFAULT_LANGUAGE: &str = "kk";

/// Where the portal shows a complaint and an appeal (what a message to staff links to).
pub fn complaint_path(id: i64) -> String {
    format!("/app/complaints/{id}")
}

pub fn appeal_path(id: i64) -> String {
    format!("/app/appeals/{id}")
}

/// One message to each of the given people (id, e-mail, language).
fn to_people(conn: &mut DbConn, people: &[Recipient], kind: &str, params: &Value, dedup: Option<&str>) -> Result<usize> {
    for (id, email, language) in people {
        let key = dedup.map(|d| format!("{d}:{id}"));
        store::insert(
            conn,
            kind,
            Some(*id),
            email.as_deref(),
            language.as_deref().unwrap_or(DEFAULT_LANGUAGE),
            params,
            key.as_deref(),
        )?;
    }
    Ok(people.len())
}

/// A certificate's status change (issued, suspended, reinstated, withdrawn, expired), to its venue's managers.
pub fn certificate(conn: &mut DbConn, cert: &CertificateRow, kind: &str, reason: Option<&str>) -> Result<usize> {
    if !matches!(kind, "issued" | "suspended" | "reinstated" | "withdrawn" | "expired") {
        return Ok(0);
    }
    let people = store::managers(conn, cert.venue_id)?;
    let params = json!({"number": cert.number, "venue": cert.venue_name, "reason": reason, "date": cert.valid_until});
    to_people(conn, &people, kind, &params, None)
}

/// The key that keeps a reminder to once: per kind, certificate, date and stage (each recipient's row adds
/// `:<recipient>`).
fn reminder_key(kind: &str, number: &str, date: chrono::NaiveDate, days: u32) -> String {
    format!("{kind}:{number}:{date}:{days}")
}

/// Whether a reminder is still to be queued: not queued yet, and the venue has someone to tell (a venue
/// without managers would otherwise be looked at, and written for, on every pass).
pub fn reminder_pending(conn: &mut DbConn, cert: &ReminderRow, kind: &str, days: u32) -> Result<bool> {
    if store::queued_with_key(conn, &reminder_key(kind, &cert.number, cert.date, days))? {
        return Ok(false);
    }
    Ok(!store::managers(conn, cert.venue_id)?.is_empty())
}

/// A reminder (`expiring` or `surveillance_due`) `days` before `date`, to the venue's managers, once per key.
pub fn reminder(conn: &mut DbConn, cert: &ReminderRow, kind: &str, days: u32) -> Result<usize> {
    let key = reminder_key(kind, &cert.number, cert.date, days);
    if store::queued_with_key(conn, &key)? {
        return Ok(0);
    }
    let people = store::managers(conn, cert.venue_id)?;
    let params = json!({"number": cert.number, "venue": cert.venue_name, "date": cert.date, "days": days});
    to_people(conn, &people, kind, &params, Some(&key))
}

/// An audit returned (to its assessor) or rejected (to its assessor and the venue's managers).
pub fn decision(conn: &mut DbConn, a: &AssessmentRow, kind: &str, reason: Option<&str>) -> Result<usize> {
    if !matches!(kind, "returned" | "rejected") {
        return Ok(0);
    }
    let venue = store::venue_name(conn, a.venue_id)?;
    let mut people = store::person(conn, a.assessor_id)?;
    if kind == "rejected" {
        people.extend(store::managers(conn, a.venue_id)?);
    }
    let params = json!({"audit": a.id, "venue": venue, "reason": reason});
    to_people(conn, &people, kind, &params, None)
}

/// A complaint received: an acknowledgement with its reference to the reporter's address, if they gave one.
pub fn complaint(conn: &mut DbConn, email: &str, language: &str, reference: &str, number: &str) -> Result<()> {
    store::insert(
        conn,
        "complaint_received",
        None,
        Some(email),
        language,
        &json!({"reference": reference, "number": number}),
        None,
    )
}

/// The staff who handle what the public and the venues bring: every officer (the registry's admins when it
/// has no officer), leaving out `except` (who took part in a decision appealed: ISO/IEC 17065 7.13).
fn handlers(conn: &mut DbConn, except: &[Option<i64>]) -> Result<Vec<Recipient>> {
    let staff = store::staff(conn)?;
    let with = |role: Role| -> Vec<Recipient> {
        staff
            .iter()
            .filter(|((id, _, _), roles)| !except.contains(&Some(*id)) && parse_roles(roles).is_ok_and(|r| r.contains(&role)))
            .map(|(who, _)| who.clone())
            .collect()
    };
    let officers = with(Role::Officer);
    Ok(if officers.is_empty() { with(Role::Admin) } else { officers })
}

/// A complaint to triage, to its handlers: its reference, certificate and category, and where the portal
/// shows it. Never the reporter's address or words.
pub fn complaint_to_triage(conn: &mut DbConn, complaint_id: i64, reference: &str, number: &str, category: &str) -> Result<usize> {
    let people = handlers(conn, &[])?;
    let params = json!({"reference": reference, "number": number, "category": category, "portal": complaint_path(complaint_id)});
    to_people(conn, &people, "complaint_to_triage", &params, None)
}

/// Many complaints this hour: one message per handler for the hour (`hour`, e.g. 2026-12-02T09), pointing
/// to the complaints list, instead of one per complaint.
pub fn complaints_digest(conn: &mut DbConn, hour: &str) -> Result<usize> {
    let key = format!("complaints-digest:{hour}");
    if store::queued_with_key(conn, &key)? {
        return Ok(0);
    }
    let people = handlers(conn, &[])?;
    let params = json!({"hour": hour, "portal": "/app/complaints"});
    to_people(conn, &people, "complaints_digest", &params, Some(&key))
}

/// What an appeal is against, as people read it: the certificate's number, or `#<audit>`.
pub fn appealed(row: &AppealRow) -> String {
    match (&row.certificate_number, row.assessment_id) {
        (Some(n), _) => n.clone(),
        (None, Some(a)) => format!("#{a}"),
        (None, None) => String::new(),
    }
}

/// An appeal filed, to the handlers who may decide it: none who took part in the decision appealed.
pub fn appeal_to_decide(conn: &mut DbConn, row: &AppealRow) -> Result<usize> {
    let people = handlers(conn, &[row.decider_id, row.assessor_id])?;
    let params = json!({"appeal": row.id, "subject": row.subject, "what": appealed(row), "portal": appeal_path(row.id)});
    to_people(conn, &people, "appeal_to_decide", &params, None)
}

/// An appeal decided, to the person who filed it.
pub fn appeal_decided(conn: &mut DbConn, row: &AppealRow, outcome: &str, reason: &str) -> Result<usize> {
    let people = store::person(conn, row.filed_by)?;
    let params = json!({"appeal": row.id, "subject": row.subject, "what": appealed(row), "outcome": outcome, "reason": reason});
    to_people(conn, &people, "appeal_decided", &params, None)
}

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

/// A venue's names for a message: `venue` is the name it was registered under, `venue_names` its names in
/// the three languages where it has them (`to_people` puts the recipient's in `venue`).
fn venue_params(name: &str, kk: Option<&str>, ru: Option<&str>, en: Option<&str>) -> (Value, Value) {
    (json!(name), json!({"kk": kk, "ru": ru, "en": en}))
}

/// The parameters as one recipient reads them: the venue named in their language where it has a name in it.
fn for_language(params: &Value, language: &str) -> Value {
    let mut p = params.clone();
    let named = params
        .get("venue_names")
        .and_then(|n| n.get(language))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if let (Some(name), Some(obj)) = (named, p.as_object_mut()) {
        obj.insert("venue".into(), json!(name));
    }
    if let Some(obj) = p.as_object_mut() {
        obj.remove("venue_names");
    }
    p
}

/// One message to each of the given people (id, e-mail, language), in their language.
fn to_people(conn: &mut DbConn, people: &[Recipient], kind: &str, params: &Value, dedup: Option<&str>) -> Result<usize> {
    for (id, email, language) in people {
        let key = dedup.map(|d| format!("{d}:{id}"));
        let language = language.as_deref().unwrap_or(DEFAULT_LANGUAGE);
        store::insert(
            conn,
            kind,
            Some(*id),
            email.as_deref(),
            language,
            &for_language(params, language),
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
    let (venue, venue_names) = venue_params(
        &cert.venue_name,
        cert.venue_name_kk.as_deref(),
        cert.venue_name_ru.as_deref(),
        cert.venue_name_en.as_deref(),
    );
    let params = json!({"number": cert.number, "venue": venue, "venue_names": venue_names, "reason": reason, "date": cert.valid_until});
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
    let (venue, venue_names) = venue_params(
        &cert.venue_name,
        cert.venue_name_kk.as_deref(),
        cert.venue_name_ru.as_deref(),
        cert.venue_name_en.as_deref(),
    );
    let params = json!({"number": cert.number, "venue": venue, "venue_names": venue_names, "date": cert.date, "days": days});
    to_people(conn, &people, kind, &params, Some(&key))
}

/// An audit returned (to its assessor) or rejected (to its assessor and the venue's managers).
pub fn decision(conn: &mut DbConn, a: &AssessmentRow, kind: &str, reason: Option<&str>) -> Result<usize> {
    if !matches!(kind, "returned" | "rejected") {
        return Ok(0);
    }
    let (name, kk, ru, en) = store::venue_names(conn, a.venue_id)?;
    let (venue, venue_names) = venue_params(&name, kk.as_deref(), ru.as_deref(), en.as_deref());
    let mut people = store::person(conn, a.assessor_id)?;
    if kind == "rejected" {
        people.extend(store::managers(conn, a.venue_id)?);
    }
    let params = json!({"audit": a.id, "venue": venue, "venue_names": venue_names, "reason": reason});
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_recipient_reads_the_venue_in_their_language() {
        let (venue, names) = venue_params("Green Cup Café", Some("Жасыл кесе"), Some("Зелёная чашка"), None);
        let params = json!({"number": "GEL-2026-000001", "venue": venue, "venue_names": names});
        assert_eq!(for_language(&params, "kk")["venue"], "Жасыл кесе");
        assert_eq!(for_language(&params, "ru")["venue"], "Зелёная чашка");
        assert_eq!(for_language(&params, "en")["venue"], "Green Cup Café", "no English name: the registered one");
        assert!(for_language(&params, "ru").get("venue_names").is_none(), "each message keeps only its own");
        let (venue, names) = venue_params("Expo Hall", Some("  "), None, None);
        assert_eq!(
            for_language(&json!({"venue": venue, "venue_names": names}), "kk")["venue"],
            "Expo Hall",
            "a blank name is none"
        );
    }
}

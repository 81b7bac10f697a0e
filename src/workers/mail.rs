//! E-mail notifications: each outbox row (crate::storage::notifications) rendered in its recipient's language
//! and sent over SMTP with lettre, one attempt per claim, retried with backoff; inside `serve` when --smtp-url is set.

use crate::domain::webhook::backoff;
use crate::i18n::Messages;
use crate::storage::models::NotificationRow;
use crate::storage::{self, notifications as repo, Db};
use chrono::{NaiveDateTime, TimeDelta};
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

const LEASE: TimeDelta = TimeDelta::seconds(120);
/// Messages attempted per pass.
pub const BATCH: usize = 100;

/// Each kind of message with the catalogue keys of its subject and body.
const KINDS: &[(&str, &str, &str)] = &[
    ("issued", "mail_issued_subject", "mail_issued_body"),
    ("suspended", "mail_suspended_subject", "mail_suspended_body"),
    ("reinstated", "mail_reinstated_subject", "mail_reinstated_body"),
    ("withdrawn", "mail_withdrawn_subject", "mail_withdrawn_body"),
    ("expired", "mail_expired_subject", "mail_expired_body"),
    ("expiring", "mail_expiring_subject", "mail_expiring_body"),
    ("surveillance_due", "mail_surveillance_due_subject", "mail_surveillance_due_body"),
    ("returned", "mail_returned_subject", "mail_returned_body"),
    ("rejected", "mail_rejected_subject", "mail_rejected_body"),
    ("complaint_received", "mail_complaint_received_subject", "mail_complaint_received_body"),
    ("complaint_to_triage", "mail_complaint_to_triage_subject", "mail_complaint_to_triage_body"),
    ("complaints_digest", "mail_complaints_digest_subject", "mail_complaints_digest_body"),
    ("appeal_decided", "mail_appeal_decided_subject", "mail_appeal_decided_body"),
    ("appeal_to_decide", "mail_appeal_to_decide_subject", "mail_appeal_to_decide_body"),
];

/// The message keys of a kind: subject and body.
fn keys(kind: &str) -> Option<(&'static str, &'static str)> {
    KINDS.iter().find(|(k, _, _)| *k == kind).map(|(_, subject, body)| (*subject, *body))
}

/// Where a notification leads, as a path: staff's messages into the portal, the others to the
/// certificate's public page.
fn link_path(p: &Value) -> String {
    match p["portal"].as_str() {
        Some(path) => path.to_string(),
        None => format!("/certificates/{}", p["number"].as_str().unwrap_or_default()),
    }
}

/// The path a notification is about (its link in the portal's list and in the e-mail).
pub fn item_path(row: &NotificationRow) -> String {
    link_path(&serde_json::from_str(&row.params).unwrap_or_default())
}

/// Subject and body of a notification in `lang` (the recipient's, or the page's in the portal).
pub fn render(row: &NotificationRow, lang: &str, public_url: &str) -> Option<(String, String)> {
    let (subject, body) = keys(&row.kind)?;
    let m = Messages::for_lang(lang);
    let p: Value = serde_json::from_str(&row.params).unwrap_or_default();
    let text = |k: &str| match &p[k] {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_string(),
        v => v.to_string(),
    };
    let number = text("number");
    let outcome = match p["outcome"].as_str() {
        Some("upheld") => m.t("appeal_status_upheld").to_string(),
        Some("dismissed") => m.t("appeal_status_dismissed").to_string(),
        _ => text("outcome"),
    };
    let subject_text = match p["subject"].as_str() {
        Some("rejection") => m.t("appeal_subject_rejection"),
        Some("suspension") => m.t("appeal_subject_suspension"),
        Some("withdrawal") => m.t("appeal_subject_withdrawal"),
        _ => "",
    };
    let what = format!("{subject_text} {}", text("what")).trim().to_string();
    let category = p["category"]
        .as_str()
        .and_then(crate::domain::complaint::Category::parse)
        .map_or_else(|| text("category"), |c| m.t(c.message_key()).to_string());
    let link = format!("{public_url}{}", link_path(&p));
    let names = ["venue", "reason", "date", "days", "audit", "reference", "appeal", "hour"];
    let values: Vec<String> = names.iter().map(|k| text(k)).collect();
    let mut args: Vec<(&str, &str)> = names.iter().zip(&values).map(|(k, v)| (*k, v.as_str())).collect();
    args.extend([
        ("number", number.as_str()),
        ("outcome", outcome.as_str()),
        ("what", what.as_str()),
        ("category", category.as_str()),
        ("link", link.as_str()),
    ]);
    Some((m.f(subject, &args), m.f(body, &args)))
}

/// An SMTP connection's settings and the sender address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
}

impl Mailer {
    /// `smtp://host:port` (STARTTLS when offered; `?tls=required` to insist), `smtps://host` (TLS), with
    /// optional `user:password@`.
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("not an SMTP URL (smtp://host:port or smtps://host): {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from.parse().map_err(|e| format!("`{from}` is not an address: {e}"))?;
        Ok(Mailer {
            transport,
            from,
            public_url: public_url.to_string(),
        })
    }

    fn message(&self, row: &NotificationRow, to: &str) -> Result<Message, String> {
        let (subject, body) = render(row, &row.language, &self.public_url).ok_or_else(|| format!("unknown notification kind {}", row.kind))?;
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        let host = self
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split([':', '/'])
            .next()
            .unwrap_or("localhost");
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            // The same on every attempt, so a repeat after a crash is recognisable.
            .message_id(Some(format!("<notification-{}-{}@{host}>", row.id, row.created_at.and_utc().timestamp())))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub failed: usize,
}

/// Send every message due at `now` once (each claimed first, so two senders never send the same one at once).
pub async fn deliver_due(db: &Db, mailer: &Mailer, now: NaiveDateTime) -> Result<Report, storage::Error> {
    let mut report = Report::default();
    let due = db.read(move |c| repo::due(c, now, BATCH as i64)).await?;
    for row in due {
        let (Some(seen), Some(to)) = (row.next_attempt_at, row.recipient_email.clone()) else {
            continue;
        };
        let id = row.id;
        if !db.write(move |c| repo::claim(c, id, seen, now + LEASE)).await? {
            continue;
        }
        let result = match mailer.message(&row, &to) {
            Ok(msg) => mailer.transport.send(msg).await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let sent = result.is_ok();
        let error = result.err();
        let next = if sent { None } else { backoff(row.attempts + 1).map(|w| now + w) };
        let (r, err) = (row.clone(), error.clone());
        db.write(move |c| repo::record(c, &r, sent, err.as_deref(), next)).await?;
        let outcome = if sent {
            &crate::metrics::get().outbox_sent
        } else {
            &crate::metrics::get().outbox_failed
        };
        outcome.with_label_values(&["email"]).inc();
        if sent {
            report.sent += 1;
        } else {
            report.failed += 1;
            tracing::warn!(notification = row.id, kind = %row.kind, error = ?error, attempts = row.attempts + 1, given_up = next.is_none(), "e-mail not sent");
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(kind: &str, params: Value) -> NotificationRow {
        NotificationRow {
            id: 1,
            kind: kind.into(),
            recipient_user_id: Some(1),
            recipient_email: None,
            language: "en".into(),
            params: params.to_string(),
            dedup_key: None,
            attempts: 0,
            next_attempt_at: None,
            sent_at: None,
            last_error: None,
            created_at: chrono::DateTime::UNIX_EPOCH.naive_utc(),
        }
    }

    #[test]
    fn every_kind_reads_whole_in_every_language() {
        let params = json!({"number": "GEL-2026-000001", "venue": "Smart Plastic Zone", "reason": "r", "date": "2027-01-20",
            "days": 30, "audit": 5, "reference": "CMP-7K3M-Q9XD", "appeal": 7, "subject": "suspension", "what": "GEL-2026-000001",
            "outcome": "upheld", "category": "other"});
        for &(kind, subject_key, body_key) in KINDS {
            for lang in ["kk", "ru", "en"] {
                let (subject, body) = render(&row(kind, params.clone()), lang, "https://registry.example").unwrap();
                for (text, key) in [(&subject, subject_key), (&body, body_key)] {
                    assert!(!text.contains('{') && !text.contains(key) && !text.is_empty(), "{kind} in {lang}: {text}");
                }
            }
        }
        assert!(render(&row("no_such_kind", params), "en", "https://registry.example").is_none());
    }

    #[test]
    fn staff_messages_link_into_the_portal() {
        let url = "https://registry.example";
        let appeal = row(
            "appeal_to_decide",
            json!({"appeal": 7, "subject": "rejection", "what": "#5", "portal": "/app/appeals/7"}),
        );
        let (subject, body) = render(&appeal, "en", url).unwrap();
        assert_eq!(subject, "Appeal #7 waits for a decision");
        assert!(
            body.contains("rejection of audit #5") && body.ends_with("https://registry.example/app/appeals/7"),
            "{body}"
        );
        let complaint = row(
            "complaint_to_triage",
            json!({"reference": "CMP-7K3M-Q9XD", "number": "GEL-2026-000001", "category": "criteria_not_met", "portal": "/app/complaints/3"}),
        );
        let (subject, body) = render(&complaint, "kk", url).unwrap();
        assert!(subject.contains("CMP-7K3M-Q9XD") && subject.contains("GEL-2026-000001"), "{subject}");
        let category = Messages::for_lang("kk").t("complaint_criteria_not_met").to_string();
        assert!(body.contains(&category) && body.ends_with("/app/complaints/3"), "{body}");
        // The public's messages point to the certificate's page.
        let (_, body) = render(&row("suspended", json!({"number": "GEL-2026-000001", "reason": "r"})), "en", url).unwrap();
        assert!(body.contains("https://registry.example/certificates/GEL-2026-000001"), "{body}");
    }
}

//! The webhook sender: delivers the due rows of the outbox (crate::storage::webhooks) to subscribers, signed
//! per Standard Webhooks, one attempt per claim, retried with backoff; runs inside `serve` every few seconds.

use crate::domain::webhook::{backoff, sign, DISABLE_AFTER};
use crate::storage::{self, webhooks as repo, Db};
use chrono::{NaiveDateTime, TimeDelta};
use std::time::Duration;

/// How long one attempt may take; a claim lasts a little longer, so a sender that dies mid-attempt leaves
/// the delivery to be tried again after it.
const TIMEOUT: Duration = Duration::from_secs(10);
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// Deliveries attempted per pass.
pub const BATCH: usize = 100;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub delivered: usize,
    pub failed: usize,
}

/// A client for subscribers: no redirects followed (a signed delivery goes where it was registered).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ecolabel-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Attempt every delivery due at `now` once. The signature's timestamp is the wall clock (receivers
/// check it against theirs); `now` only says what is due.
pub async fn deliver_due(db: &Db, client: &reqwest::Client, now: NaiveDateTime) -> Result<Report, storage::Error> {
    let mut report = Report::default();
    let due = db.read(move |c| repo::due(c, now, BATCH as i64)).await?;
    for item in due {
        let Some(seen) = item.delivery.next_attempt_at else { continue };
        let id = item.delivery.id;
        if !db.write(move |c| repo::claim(c, id, seen, now + LEASE)).await? {
            continue;
        }
        let d = item.delivery;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = match sign(&item.secret, &d.msg_id, timestamp, d.payload.as_bytes()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(delivery = d.id, error = %e, "cannot sign a webhook delivery");
                continue;
            }
        };
        let sent = client
            .post(&item.url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send()
            .await;
        let (status, error) = match sent {
            Ok(r) => (Some(i32::from(r.status().as_u16())), None),
            // The error without the URL (which may hold a token of the subscriber's).
            Err(e) => (
                None,
                Some(if e.is_timeout() {
                    "timed out".to_string()
                } else {
                    e.without_url().to_string()
                }),
            ),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let next = if ok { None } else { backoff(d.attempts + 1).map(|w| now + w) };
        let (row, err) = (d.clone(), error.clone());
        db.write(move |c| repo::record(c, &row, status, err.as_deref(), next, DISABLE_AFTER)).await?;
        if ok {
            report.delivered += 1;
            tracing::debug!(delivery = d.id, subscriber = d.subscription_id, "webhook delivered");
        } else {
            report.failed += 1;
            tracing::warn!(delivery = d.id, subscriber = d.subscription_id, status = ?status, error = ?error, attempts = d.attempts + 1, given_up = next.is_none(), "webhook attempt failed");
        }
    }
    Ok(report)
}

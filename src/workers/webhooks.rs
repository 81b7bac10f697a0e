//! The webhook sender: delivers the due rows of the outbox (crate::storage::webhooks) to subscribers, signed
//! per Standard Webhooks, one attempt per claim, retried with backoff; runs inside `serve` every few seconds.

use crate::domain::webhook::{backoff, is_public_address, sign, DISABLE_AFTER};
use crate::storage::{self, webhooks as repo};
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

/// Resolves subscribers' host names to their public addresses only: a name that points at loopback, a
/// private network or the cloud metadata address is not connected to (checked at delivery time, after
/// DNS, so a name changed after registration is caught too).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let all: Vec<std::net::SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<std::net::SocketAddr> = all.into_iter().filter(|a| is_public_address(a.ip())).collect();
            if public.is_empty() {
                return Err("the subscriber's host resolves to no public address (loopback, private or metadata addresses are refused)".into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Who sends deliveries: the HTTP client, and whether private addresses may be sent to (test set-ups).
pub struct Sender {
    http: reqwest::Client,
    allow_private: bool,
}

/// A client for subscribers: no redirects followed (a signed delivery goes where it was registered), a
/// connect and a total time-out, public addresses only unless `allow_private`. The subscriber's answer
/// body is never read (only its status), so no answer can fill the registry's memory.
pub fn client(allow_private: bool) -> Sender {
    let mut b = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ecolabel-webhooks/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        b = b.dns_resolver(std::sync::Arc::new(PublicOnly));
    }
    Sender {
        http: b.build().unwrap_or_default(),
        allow_private,
    }
}

/// Attempt every delivery due at `now` once. The signature's timestamp is the wall clock (receivers
/// check it against theirs); `now` only says what is due.
pub async fn deliver_due(ctx: &crate::app::Context, sender: &Sender, now: NaiveDateTime) -> Result<Report, storage::Error> {
    let db = &ctx.db;
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
        let secret = match ctx.sealer.open(crate::domain::seal::Purpose::Webhook, &item.secret) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(delivery = d.id, error = %e, "cannot open a subscriber's secret");
                continue;
            }
        };
        let signature = match sign(&secret, &d.msg_id, timestamp, d.payload.as_bytes()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(delivery = d.id, error = %e, "cannot sign a webhook delivery");
                continue;
            }
        };
        // An address written in the URL is not resolved: it is judged here.
        let literal = crate::domain::webhook::host_of(&item.url).parse::<std::net::IpAddr>().ok();
        let refused = !sender.allow_private && literal.is_some_and(|ip| !is_public_address(ip));
        let sent = if refused {
            Err(None)
        } else {
            sender
                .http
                .post(&item.url)
                .header("content-type", "application/json")
                .header("webhook-id", &d.msg_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(d.payload.clone())
                .send()
                .await
                .map_err(Some)
        };
        let (status, error) = match sent {
            Ok(r) => (Some(i32::from(r.status().as_u16())), None),
            Err(None) => (None, Some("refused: the URL names a loopback, private or metadata address".to_string())),
            // The error without the URL (which may hold a token of the subscriber's).
            Err(Some(e)) => (
                None,
                Some(if e.is_timeout() {
                    "timed out".to_string()
                } else {
                    // The error and its causes (a refused address says so), never the URL.
                    let e = e.without_url();
                    let mut text = e.to_string();
                    let mut cause = std::error::Error::source(&e);
                    while let Some(c) = cause {
                        text.push_str(&format!(": {c}"));
                        cause = c.source();
                    }
                    text
                }),
            ),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let next = if ok { None } else { backoff(d.attempts + 1).map(|w| now + w) };
        let (row, err) = (d.clone(), error.clone());
        db.write(move |c| repo::record(c, &row, status, err.as_deref(), next, DISABLE_AFTER)).await?;
        let outcome = if ok {
            &crate::metrics::get().outbox_sent
        } else {
            &crate::metrics::get().outbox_failed
        };
        outcome.with_label_values(&["webhook"]).inc();
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

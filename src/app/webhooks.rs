// Webhook subscribers as operations (admins only): register one (URL and events checked; its secret is
// made here and shown once), list, delete, and read a subscriber's delivery log.

use super::{Context, Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::domain::scoring::FieldError;
use crate::domain::seal::{Purpose, Sealer};
use crate::domain::webhook;
use crate::storage::models::{DeliveryRow, WebhookRow};
use crate::storage::{self, webhooks as repo, DbConn};

fn admins_only(caller: &Caller) -> Result<()> {
    if caller.has(Role::Admin) {
        Ok(())
    } else {
        Err(Error::forbidden("forbidden_role", "only admins manage webhooks"))
    }
}

fn invalid(code: &'static str, field: &str, message: String) -> Error {
    Error::Storage(storage::Error::invalid(code, message.clone(), vec![FieldError::new(field, code, message)]))
}

/// Register a subscriber; its secret is stored sealed, and the row returned carries it in the clear (the
/// reply shows it once).
pub fn register(conn: &mut DbConn, sealer: &Sealer, caller: &Caller, url: &str, events: Option<&[String]>, random: [u8; 32]) -> Result<WebhookRow> {
    admins_only(caller)?;
    let url = webhook::check_url(url).map_err(|m| invalid("invalid_url", "url", m))?;
    let events = webhook::parse_events(events).map_err(|m| invalid("invalid_events", "events", m))?;
    let secret = webhook::secret(random);
    let sealed = sealer
        .seal(Purpose::Webhook, &secret, rand::random())
        .map_err(|e| Error::Storage(storage::Error::Internal(e)))?;
    let mut row = repo::insert(conn, &url, &events, &sealed, caller.user_id)?;
    row.secret = secret;
    Ok(row)
}

/// Register a subscriber (as `register`) whose URL's host resolves only to public addresses, unless the
/// registry allows private ones (`--webhook-allow-private`, test set-ups).
pub async fn register_checked(ctx: &Context, caller: Caller, url: String, events: Option<Vec<String>>, random: [u8; 32]) -> Result<WebhookRow> {
    admins_only(&caller)?;
    let url = webhook::check_url(&url).map_err(|m| invalid("invalid_url", "url", m))?;
    if !ctx.config.webhook_allow_private {
        public_target(&url).await.map_err(|m| invalid("private_address", "url", m))?;
    }
    let sealer = ctx.sealer.clone();
    ctx.db.write(move |c| register(c, &sealer, &caller, &url, events.as_deref(), random)).await
}

/// Every address the URL's host resolves to is public (see `webhook::is_public_address`).
async fn public_target(url: &str) -> std::result::Result<(), String> {
    let host = webhook::host_of(url);
    let addresses: Vec<std::net::IpAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, 0))
            .await
            .map_err(|_| format!("the host {host} does not resolve"))?
            .map(|a| a.ip())
            .collect(),
    };
    match addresses.iter().find(|ip| !webhook::is_public_address(**ip)) {
        Some(ip) => Err(format!(
            "the host {host} resolves to {ip}, a loopback, private or metadata address: webhooks go to public addresses only"
        )),
        None if addresses.is_empty() => Err(format!("the host {host} does not resolve")),
        None => Ok(()),
    }
}

pub fn list(conn: &mut DbConn, caller: &Caller) -> Result<Vec<WebhookRow>> {
    admins_only(caller)?;
    Ok(repo::list(conn)?)
}

pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<()> {
    admins_only(caller)?;
    if repo::delete(conn, id)? {
        Ok(())
    } else {
        Err(Error::not_found())
    }
}

pub fn deliveries(conn: &mut DbConn, caller: &Caller, id: i64, limit: i64) -> Result<Vec<DeliveryRow>> {
    admins_only(caller)?;
    repo::get(conn, id)?;
    Ok(repo::deliveries(conn, id, limit)?)
}

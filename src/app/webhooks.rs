// Webhook subscribers as operations (admins only): register one (URL and events checked; its secret is
// made here and shown once), list, delete, and read a subscriber's delivery log.

use super::{Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::domain::scoring::FieldError;
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

pub fn register(conn: &mut DbConn, caller: &Caller, url: &str, events: Option<&[String]>, random: [u8; 32]) -> Result<WebhookRow> {
    admins_only(caller)?;
    let url = webhook::check_url(url).map_err(|m| invalid("invalid_url", "url", m))?;
    let events = webhook::parse_events(events).map_err(|m| invalid("invalid_events", "events", m))?;
    Ok(repo::insert(conn, &url, &events, &webhook::secret(random), caller.user_id)?)
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

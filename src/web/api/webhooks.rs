// Webhook subscribers over the API (admins): register (the reply holds the secret `whsec_…`, once), list,
// delete, and each subscriber's delivery log.

use crate::app::rows::{DeliveryRow, WebhookRow};
use crate::app::webhooks as ops;
use crate::web::auth::Auth;
use crate::web::error::{missing, ApiResult};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

const NOT_FOUND: &str = "webhook";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where deliveries are POSTed (http or https).
    pub url: String,
    /// Log entry types to deliver: issued, suspended, reinstated, withdrawn, superseded, expired; all when omitted.
    pub events: Option<Vec<String>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookResponse {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    /// False once deleted or disabled after repeated failures.
    pub active: bool,
    /// Failed attempts in a row.
    pub failures: i32,
    pub disabled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The signing secret: only in the reply to the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookResponse {
    fn new(r: WebhookRow, with_secret: bool) -> Self {
        WebhookResponse {
            id: r.id,
            events: r.events.split(',').map(str::to_string).collect(),
            url: r.url,
            active: r.active,
            failures: r.failures,
            disabled_at: r.disabled_at.map(|t| t.and_utc()),
            created_at: r.created_at.and_utc(),
            secret: with_secret.then_some(r.secret),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = WebhookRequest,
    responses((status = 201, body = WebhookResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
/// Register a subscriber (admins). The reply shows its secret once; deliveries are signed with it.
pub async fn create(state: web::Data<AppState>, auth: Auth, body: web::Json<WebhookRequest>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let b = body.into_inner();
    let random: [u8; 32] = rand::random();
    let row = ops::register_checked(&state, caller, b.url, b.events, random).await?;
    tracing::info!(webhook = row.id, events = %row.events, "webhook subscriber registered");
    Ok(HttpResponse::Created().json(WebhookResponse::new(row, true)))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = [WebhookResponse]), (status = 403, body = crate::web::error::ErrorBody)))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let rows = state.db.read(move |c| ops::list(c, &caller)).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(|r| WebhookResponse::new(r, false)).collect::<Vec<_>>()))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "deleted: nothing more is sent to it"), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    state.db.write(move |c| ops::delete(c, &caller, id)).await.map_err(missing(NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryResponse {
    pub id: i64,
    /// The `webhook-id` header, the same on every attempt.
    pub msg_id: String,
    pub event_type: String,
    pub attempts: i32,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the next attempt is due; null once delivered or given up.
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The subscriber's last HTTP status.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<DeliveryRow> for DeliveryResponse {
    fn from(d: DeliveryRow) -> Self {
        DeliveryResponse {
            id: d.id,
            msg_id: d.msg_id,
            event_type: d.event_type,
            attempts: d.attempts,
            delivered_at: d.delivered_at.map(|t| t.and_utc()),
            next_attempt_at: d.next_attempt_at.map(|t| t.and_utc()),
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at.and_utc(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [DeliveryResponse]), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody)))]
/// The delivery log of a subscriber, newest first (the latest 200).
pub async fn deliveries(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    let rows = state.db.read(move |c| ops::deliveries(c, &caller, id, 200)).await.map_err(missing(NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(DeliveryResponse::from).collect::<Vec<_>>()))
}

// Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers too).
// Readiness returns 503 with a stable code when the database cannot be reached or the replica is stopping.

use super::error::{ApiError, ApiResult};
use super::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(Health { status: "ok", database: None })
}

#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = Health), (status = 503, body = super::error::ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    if state.stopping.load(std::sync::atomic::Ordering::Relaxed) {
        // Stopping (SIGTERM): the load balancer takes this replica out while in-flight requests finish.
        return Err(ApiError {
            retry_after: Some(5),
            ..ApiError::new(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "stopping", "this replica is stopping")
        });
    }
    match state.db.check().await {
        Ok(()) => Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(Health {
            status: "ready",
            database: Some(state.db.url().backend()),
        })),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            Err(ApiError::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database cannot be reached",
            ))
        }
    }
}

/// GET /metrics: the Prometheus text format (also on `--metrics-bind` alone, when that is set).
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "metrics, Prometheus text format 0.0.4", content_type = "text/plain"), (status = 404, body = super::error::ErrorBody)))]
pub async fn metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    crate::app::metrics::observe(&state).await?;
    let (kind, body) = crate::metrics::render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type(kind).insert_header(("cache-control", "no-store")).body(body))
}

//! The HTTP layer: actix handlers, request/response types (never database rows), routing, middleware.
//! Handlers check input, call src/storage (on blocking threads) and src/domain, and map errors.

pub mod assessments;
pub mod auth;
pub mod certificates;
pub mod error;
pub mod health;
pub mod i18n;
pub mod middleware;
pub mod openapi;
pub mod pages;
pub mod public;
pub mod ratelimit;
pub mod snapshots;
pub mod users;
pub mod venues;
pub mod verifier;

use crate::config::Config;
use crate::domain::criteria::Catalogue;
use crate::keys::Keyring;
use crate::storage::certificates::IssueContext;
use crate::storage::{self, Db};
use actix_web::{web, HttpRequest, HttpResponse};
use error::{ApiError, ApiResult};
use std::sync::Arc;

pub struct AppState {
    pub db: Db,
    pub catalogue: Arc<Catalogue>,
    pub keyring: Arc<Keyring>,
    pub config: Arc<Config>,
    pub verifier: verifier::Verifier,
    pub snapshots: snapshots::Snapshots,
}

impl AppState {
    /// The issuing context with the active signing key; 503 if no key can sign.
    pub async fn issue_context(&self) -> ApiResult<IssueContext> {
        let active = self.db.read(storage::keys::active).await?;
        let Some(row) = active else {
            tracing::error!("no active signing key: run `ecolabel keys generate`");
            return Err(ApiError::unavailable());
        };
        let Some(key) = self.keyring.get(&row.kid) else {
            tracing::error!(kid = %row.kid, dir = %self.keyring.dir().display(), "the active signing key is not in the key directory");
            return Err(ApiError::unavailable());
        };
        Ok(self.issue_context_with(row.kid, key))
    }

    pub fn issue_context_with(&self, kid: String, key: ed25519_dalek::SigningKey) -> IssueContext {
        let c = &self.config;
        IssueContext {
            key,
            kid,
            public_url: c.public_url.clone(),
            issuer: c.issuer_name.clone(),
            issuer_address: c.issuer_address.clone(),
            signatory: c.signatory.clone(),
            signatory_title: c.signatory_title.clone(),
            validity_months: c.validity_months,
            issued_on: None,
        }
    }
}

/// One keyset page: the query asked for `limit + 1` rows; the extra row only says that another page
/// exists, whose cursor is the key of the last row shown.
pub fn keyset_page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(key);
    (rows, next)
}

/// JSON request bodies above this are refused with 413.
pub const JSON_LIMIT: usize = 64 * 1024;

fn json_error(err: actix_web::error::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let e = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::too_large(format!("JSON bodies are limited to {} KiB", JSON_LIMIT / 1024)),
        E::ContentType => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ),
        E::Deserialize(d) if d.is_data() => ApiError::invalid("invalid_body", format!("the JSON does not fit: {d}"), vec![]),
        E::Deserialize(d) => ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {d}")),
        _ => ApiError::bad_request("invalid_body", "the request body could not be read"),
    };
    e.into()
}

fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_query", format!("invalid query parameters: {err}")).into()
}

fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    tracing::debug!(error = %err, "path did not parse");
    ApiError::not_found("resource").into()
}

async fn not_found() -> ApiResult<HttpResponse> {
    Err(ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "not_found", "no such page or endpoint"))
}

/// Every route of the registry; `limit` rate-limits the public pages per client IP.
pub fn configure(cfg: &mut web::ServiceConfig, limit: &ratelimit::PublicLimit) {
    let limited = || actix_governor::Governor::new(limit);
    cfg.service(web::resource("/V/{token}").wrap(limited()).route(web::get().to(pages::verify)))
        .service(web::resource("/v/{token}").wrap(limited()).route(web::get().to(pages::verify)))
        .service(web::resource("/certificates/{number}").wrap(limited()).route(web::get().to(pages::by_number)))
        .service(web::resource("/register").wrap(limited()).route(web::get().to(pages::register)))
        .service(
            web::resource("/api/v1/public/certificates")
                .wrap(limited())
                .route(web::get().to(pages::list_json)),
        )
        .service(
            web::resource("/api/v1/public/certificates.csv")
                .wrap(limited())
                .route(web::get().to(pages::list_csv)),
        )
        .route("/assets/style.css", web::get().to(pages::stylesheet))
        .route(
            "/",
            web::get().to(|| async { HttpResponse::Found().insert_header(("location", "/register")).finish() }),
        );
    cfg.app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(json_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::PayloadConfig::default().limit(JSON_LIMIT))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/openapi.json", web::get().to(openapi::spec))
        .route("/.well-known/jwks.json", web::get().to(public::jwks))
        .route("/api/v1/criteria/{scheme}/{version}", web::get().to(public::criteria))
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(middleware::idempotency))
                .route("/me", web::get().to(users::me))
                .route("/users", web::post().to(users::create))
                .route("/users", web::get().to(users::list))
                .route("/users/{id}/tokens", web::post().to(users::new_token))
                .route("/tokens/{id}/revoke", web::post().to(users::revoke))
                .route("/venues", web::post().to(venues::create))
                .route("/venues", web::get().to(venues::list))
                .route("/venues/{id}", web::get().to(venues::get))
                .route("/venues/{id}", web::patch().to(venues::update))
                .route("/assessments", web::post().to(assessments::create))
                .route("/assessments", web::get().to(assessments::list))
                .route("/assessments/{id}", web::get().to(assessments::get))
                .route("/assessments/{id}", web::patch().to(assessments::patch))
                .route("/assessments/{id}/evidence", web::post().to(assessments::upload_evidence))
                .route("/assessments/{id}/evidence", web::get().to(assessments::list_evidence))
                .route("/assessments/{id}/evidence/{evidence_id}", web::get().to(assessments::download_evidence))
                .route("/assessments/{id}/submit", web::post().to(assessments::submit))
                .route("/assessments/{id}/decision", web::post().to(assessments::decide))
                .route("/assessments/{id}/events", web::get().to(assessments::events))
                .route("/certificates", web::get().to(certificates::list))
                .route("/certificates/{number}", web::get().to(certificates::get))
                .route("/certificates/{number}/pdf", web::get().to(certificates::pdf))
                .route("/certificates/{number}/suspend", web::post().to(certificates::suspend))
                .route("/certificates/{number}/reinstate", web::post().to(certificates::reinstate))
                .route("/certificates/{number}/withdraw", web::post().to(certificates::withdraw)),
        )
        .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi::doc()))
        .default_service(web::to(not_found));
}

#[cfg(test)]
mod tests {
    use super::keyset_page;

    #[test]
    fn keyset_pages_use_the_extra_row_only_as_a_signal() {
        assert_eq!(keyset_page(vec![5, 4, 3], 2, |r| *r), (vec![5, 4], Some(4)));
        assert_eq!(keyset_page(vec![5, 4], 2, |r| *r), (vec![5, 4], None));
        assert_eq!(keyset_page(Vec::<i64>::new(), 2, |r| *r), (vec![], None));
    }
}

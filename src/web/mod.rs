//! The HTTP layer: actix handlers, request/response types (never database rows), routing, middleware.
//! Handlers parse input, call one operation of src/app (on blocking threads), render, and map errors.

pub mod api;
pub mod auth;
pub mod cache;
pub mod error;
pub mod guard;
pub mod health;
pub mod i18n;
pub mod layout;
pub mod middleware;
pub mod openapi;
pub mod portal;
pub mod public;
pub mod ratelimit;
pub mod session;
pub mod uploads;

use crate::app::Context;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use error::{ApiError, ApiResult};

/// What the handlers share: the application context (database, catalogue, keys, configuration), and the
/// web layer's own caches and limits. Derefs to the context, so `state.db` is the context's database.
pub struct AppState {
    pub app: Context,
    pub verifier: public::verifier::Verifier,
    pub snapshots: public::snapshots::Snapshots<public::certificates::PublicCertificate>,
    pub refusals: ratelimit::RefusalLog,
    /// Full log tiles and entry bundles, which never change.
    pub log_tiles: public::log::TileCache,
    /// Certificate PDFs as rendered for their current status.
    pub pdfs: api::certificates::PdfCache,
    /// The OpenAPI document as served at `/openapi.json`.
    pub openapi: web::Bytes,
    /// Set when SIGTERM arrives: `/readyz` answers 503 while in-flight requests finish.
    pub stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Requests in flight per client address (`guard`).
    pub in_flight: std::sync::Arc<guard::InFlight>,
}

impl std::ops::Deref for AppState {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.app
    }
}

impl AppState {
    /// One scheduler pass as of `now` (crate::workers::scheduler), then the changed certificates leave this process's
    /// snapshots so their pages show the change at once. Blocking.
    pub fn run_jobs(&self, now: chrono::NaiveDateTime) -> crate::app::Result<crate::workers::scheduler::Report> {
        let report = crate::workers::scheduler::run(&self.app, now)?;
        for number in &report.changed {
            self.forget(number);
        }
        Ok(report)
    }

    /// This process changed a certificate: reads of it go to the primary until the read replica has the
    /// change (app::replica), and this process's snapshot of it is dropped, in that order.
    pub fn forget(&self, number: &str) {
        self.app.public_changed();
        self.snapshots.invalidate(number);
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

/// A list's page size: 50 unless asked, at most 200.
pub fn page_limit(limit: Option<i64>) -> ApiResult<i64> {
    match limit.unwrap_or(50) {
        l @ 1..=200 => Ok(l),
        _ => Err(ApiError::invalid("invalid_limit", "limit must be between 1 and 200", vec![])),
    }
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

/// What an unknown URL gets: 404 `not_found`.
pub fn no_such_page() -> ApiError {
    ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "not_found", "no such page or endpoint")
}

async fn not_found() -> ApiResult<HttpResponse> {
    Err(no_such_page())
}

/// 405 `method_not_allowed` with an `Allow` header.
pub fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut e = ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this URL answers {allow}"),
    )
    .error_response();
    e.headers_mut()
        .insert(actix_web::http::header::ALLOW, actix_web::http::header::HeaderValue::from_static(allow));
    e
}

/// Each route's methods by its full pattern, as `resource` registers them: a body sent with a method the
/// route does not take is refused before it is read (`middleware::text_guard`).
static METHODS: std::sync::LazyLock<std::sync::RwLock<std::collections::HashMap<String, &'static str>>> = std::sync::LazyLock::new(Default::default);

/// The methods a route pattern takes (`GET, POST`), if it was made with `resource`.
pub fn methods_of(pattern: &str) -> Option<&'static str> {
    METHODS.read().unwrap_or_else(|p| p.into_inner()).get(pattern).copied()
}

/// Whether a route pattern takes `method` (unknown patterns are left to the router).
pub fn takes(pattern: &str, method: &str) -> bool {
    methods_of(pattern).is_none_or(|allow| allow.split(", ").any(|m| m == method))
}

/// A path with its methods: any other method gets 405 `method_not_allowed` with an `Allow` header.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    scoped_resource("", path, allow)
}

/// The same inside the `/api/v1` scope.
fn api_resource(path: &str, allow: &'static str) -> actix_web::Resource {
    scoped_resource("/api/v1", path, allow)
}

/// A resource at `path` inside the scope `prefix`, its methods recorded under its full pattern.
fn scoped_resource(prefix: &str, path: &str, allow: &'static str) -> actix_web::Resource {
    METHODS.write().unwrap_or_else(|p| p.into_inner()).insert(format!("{prefix}{path}"), allow);
    web::resource(path).default_service(web::to(move || async move { Ok::<_, actix_web::Error>(method_not_allowed(allow)) }))
}

/// 405 with the route's `Allow`, for a body sent with a method the route does not take.
pub fn refuse_method(allow: &'static str) -> HttpResponse {
    method_not_allowed(allow)
}

/// Every route of the registry; `limit` rate-limits the public pages per client IP, `signin` the
/// sign-in forms.
pub fn configure(cfg: &mut web::ServiceConfig, limit: &ratelimit::PublicLimit, signin: &ratelimit::PublicLimit) {
    let limited = || actix_governor::Governor::new(limit);
    let throttled = || actix_governor::Governor::new(signin);
    let get = web::get;
    let post = web::post;
    // The QR page is the hottest path: a scope on the static prefix, so that no pattern (a regex over the
    // long token) is matched for it; `verify` takes the token from the rest of the path.
    cfg.service(web::scope("/V").wrap(limited()).default_service(web::to(public::certificates::verify)))
        .service(web::scope("/v").wrap(limited()).default_service(web::to(public::certificates::verify)))
        .service(
            resource("/certificates/{number}", "GET")
                .wrap(limited())
                .route(get().to(public::certificates::by_number)),
        )
        .service(
            resource("/certificates/{number}/proof", "GET")
                .wrap(limited())
                .route(get().to(public::log::proof)),
        )
        .service(
            resource("/certificates/{number}/log", "GET")
                .wrap(limited())
                .route(get().to(public::log::log_page)),
        )
        .service(
            resource("/certificates/{number}/complaints", "POST")
                .wrap(throttled())
                .route(post().to(public::complaints::report)),
        )
        .service(
            resource("/certificates/{number}/complaints/new", "GET")
                .wrap(limited())
                .route(get().to(public::complaints::new_page)),
        )
        .service(resource("/badge/{file}", "GET").wrap(limited()).route(get().to(public::badge::badge)))
        .service(
            resource("/data/catalog.jsonld", "GET")
                .wrap(limited())
                .route(get().to(public::data::catalog_jsonld)),
        )
        .service(resource("/data/{file}", "GET").wrap(limited()).route(get().to(public::data::file)))
        .service(resource("/register", "GET").wrap(limited()).route(get().to(public::certificates::register)))
        .service(resource("/feed.atom", "GET").wrap(limited()).route(get().to(public::feed::feed)))
        .service(
            resource("/api/v1/public/certificates", "GET")
                .wrap(limited())
                .route(get().to(public::certificates::list_json)),
        )
        .service(
            resource("/api/v1/public/certificates.csv", "GET")
                .wrap(limited())
                .route(get().to(public::certificates::list_csv)),
        )
        .service(resource("/assets/style.css", "GET").route(get().to(layout::stylesheet)))
        // Sign-in: the forms that check a password or a code are limited per client IP.
        .service(
            resource("/login", "GET, POST")
                .route(get().to(portal::signin::login_page))
                .route(post().to(portal::signin::login).wrap(throttled())),
        )
        .service(
            resource("/login/totp", "GET, POST")
                .route(get().to(portal::signin::totp_page))
                .route(post().to(portal::signin::totp).wrap(throttled())),
        )
        .service(
            resource("/invite/{token}", "GET, POST")
                .wrap(throttled())
                .route(get().to(portal::signin::invite_page))
                .route(post().to(portal::signin::invite)),
        )
        .service(resource("/logout", "POST").route(post().to(portal::signin::logout)))
        .service(resource("/app", "GET").route(get().to(portal::home::home)))
        .service(resource("/app/account", "GET").route(get().to(portal::account::account)))
        .service(resource("/app/certificates", "GET").route(get().to(portal::certificates::list)))
        .service(resource("/app/reviews", "GET").route(get().to(portal::reviews::queue)))
        .service(resource("/app/complaints", "GET").route(get().to(portal::complaints::portal_list)))
        .service(resource("/app/notifications", "GET").route(get().to(portal::notifications::list)))
        .service(
            resource("/app/appeals", "GET, POST")
                .route(get().to(portal::appeals::portal_list))
                .route(post().to(portal::appeals::portal_create)),
        )
        .service(resource("/app/appeals/new", "GET").route(get().to(portal::appeals::new_page)))
        .service(
            resource("/app/appeals/{id}", "GET, POST")
                .route(get().to(portal::appeals::portal_detail))
                .route(post().to(portal::appeals::portal_decide)),
        )
        .service(
            resource("/app/complaints/{id}", "GET, POST")
                .route(get().to(portal::complaints::portal_detail))
                .route(post().to(portal::complaints::portal_triage)),
        )
        .service(
            resource("/app/venues", "GET, POST")
                .route(get().to(portal::venues::list))
                .route(post().to(portal::venues::create)),
        )
        .service(resource("/app/venues/new", "GET").route(get().to(portal::venues::new)))
        .service(
            resource("/app/venues/{id}", "GET, POST")
                .route(get().to(portal::venues::show))
                .route(post().to(portal::venues::update)),
        )
        .service(resource("/app/assessments/new", "POST").route(post().to(portal::venues::start_audit)))
        .service(
            resource("/app/assessments/{id}", "GET, POST")
                .route(get().to(portal::assessments::show))
                .route(post().to(portal::assessments::post)),
        )
        .service(resource("/app/assessments", "GET").route(get().to(portal::reviews::list)))
        .service(resource("/app/assessments/{id}/evidence", "POST").route(post().to(portal::assessments::upload)))
        .service(
            resource("/app/assessments/{id}/evidence/{evidence_id}", "GET, POST")
                .route(get().to(portal::assessments::evidence))
                .route(post().to(portal::assessments::remove_evidence)),
        )
        .service(
            resource("/app/keys", "GET, POST")
                .route(get().to(portal::keys::show))
                .route(post().to(portal::keys::rotate)),
        )
        .service(resource("/app/users/{id}/roles", "POST").route(post().to(portal::users::set_roles)))
        .service(
            resource("/app/users", "GET, POST")
                .route(get().to(portal::users::list))
                .route(post().to(portal::users::invite)),
        )
        .service(
            resource("/app/users/{id}", "GET, POST")
                .route(get().to(portal::users::show))
                .route(post().to(portal::users::act)),
        )
        .service(
            resource("/app/certificates/{number}", "GET, POST")
                .route(get().to(portal::certificates::show))
                .route(post().to(portal::certificates::act)),
        )
        .service(resource("/app/certificates/{number}/qr.{format}", "GET").route(get().to(portal::certificates::qr_image)))
        .service(resource("/app/account/sessions/{id}/end", "POST").route(post().to(portal::account::end_session)))
        .service(resource("/app/account/tokens", "POST").route(post().to(portal::account::create_token)))
        .service(resource("/app/account/tokens/{id}/revoke", "POST").route(post().to(portal::account::revoke_token)))
        .service(resource("/app/account/password", "POST").route(post().to(portal::account::change_password).wrap(throttled())))
        .service(
            resource("/app/account/totp", "GET, POST")
                .route(get().to(portal::account::enrol_page))
                .route(post().to(portal::account::enrol).wrap(throttled())),
        )
        .service(resource("/", "GET").route(get().to(|| async { HttpResponse::Found().insert_header(("location", "/register")).finish() })));
    cfg.app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(json_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::PayloadConfig::default().limit(JSON_LIMIT))
        .service(resource("/healthz", "GET").route(get().to(health::healthz)))
        .service(resource("/readyz", "GET").route(get().to(health::readyz)))
        .service(resource("/openapi.json", "GET").route(get().to(openapi::spec)))
        .service(resource("/.well-known/jwks.json", "GET").route(get().to(public::published::jwks)))
        .service(resource("/api/v1/criteria/{scheme}/{version}", "GET").route(get().to(public::published::criteria)))
        .service(resource("/log/checkpoint", "GET").route(get().to(public::log::checkpoint)))
        .service(resource("/log/checkpoint.latest", "GET").route(get().to(public::log::checkpoint_latest)))
        .service(resource("/log/witnesses", "GET").route(get().to(public::log::witnesses)))
        .service(resource("/log/vkey", "GET").route(get().to(public::log::vkey)))
        .service(resource("/log/proof/consistency", "GET").route(get().to(public::log::consistency)))
        .service(resource("/log/tile/entries/{index:.+}", "GET").route(get().to(public::log::entries)))
        .service(resource("/log/tile/{level}/{index:.+}", "GET").route(get().to(public::log::tile)))
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(middleware::idempotency))
                .service(api_resource("/me", "GET").route(get().to(api::users::me)))
                .service(
                    api_resource("/users", "GET, POST")
                        .route(post().to(api::users::create))
                        .route(get().to(api::users::list)),
                )
                .service(api_resource("/users/{id}/tokens", "POST").route(post().to(api::users::new_token)))
                .service(api_resource("/tokens/{id}/revoke", "POST").route(post().to(api::users::revoke)))
                .service(api_resource("/me/tokens", "POST").route(post().to(api::users::own_token)))
                .service(api_resource("/me/sessions", "GET").route(get().to(api::users::my_sessions)))
                .service(api_resource("/sessions/{id}/end", "POST").route(post().to(api::users::end_session)))
                .service(api_resource("/users/{id}/sessions", "GET").route(get().to(api::users::user_sessions)))
                .service(api_resource("/users/{id}/sessions/end", "POST").route(post().to(api::users::end_user_sessions)))
                .service(api_resource("/users/{id}/unlock", "POST").route(post().to(api::users::unlock)))
                .service(api_resource("/users/{id}/second-factor/reset", "POST").route(post().to(api::users::reset_second_factor)))
                .service(api_resource("/users/{id}/password-link", "POST").route(post().to(api::users::password_link)))
                .service(api_resource("/users/{id}/email", "POST").route(post().to(api::users::set_email)))
                .service(api_resource("/users/{id}/roles", "POST").route(post().to(api::users::set_roles)))
                .service(api_resource("/auth-events", "GET").route(get().to(api::users::auth_events)))
                .service(
                    api_resource("/venues", "GET, POST")
                        .route(post().to(api::venues::create))
                        .route(get().to(api::venues::list)),
                )
                .service(
                    api_resource("/venues/{id}", "GET, PATCH")
                        .route(get().to(api::venues::get))
                        .route(web::patch().to(api::venues::update)),
                )
                .service(
                    api_resource("/assessments", "GET, POST")
                        .route(post().to(api::assessments::create))
                        .route(get().to(api::assessments::list)),
                )
                .service(
                    api_resource("/assessments/{id}", "GET, PATCH")
                        .route(get().to(api::assessments::get))
                        .route(web::patch().to(api::assessments::patch)),
                )
                .service(
                    api_resource("/assessments/{id}/evidence", "GET, POST")
                        .route(post().to(api::assessments::upload_evidence))
                        .route(get().to(api::assessments::list_evidence)),
                )
                .service(
                    api_resource("/assessments/{id}/evidence/{evidence_id}", "GET, DELETE")
                        .route(get().to(api::assessments::download_evidence))
                        .route(web::delete().to(api::assessments::delete_evidence)),
                )
                .service(api_resource("/assessments/{id}/submit", "POST").route(post().to(api::assessments::submit)))
                .service(api_resource("/assessments/{id}/decision", "POST").route(post().to(api::assessments::decide)))
                .service(api_resource("/assessments/{id}/events", "GET").route(get().to(api::assessments::events)))
                .service(api_resource("/certificates", "GET").route(get().to(api::certificates::list)))
                .service(api_resource("/certificates/{number}", "GET").route(get().to(api::certificates::get)))
                .service(api_resource("/certificates/{number}/pdf", "GET").route(get().to(api::certificates::pdf)))
                .service(api_resource("/certificates/{number}/suspend", "POST").route(post().to(api::certificates::suspend)))
                .service(api_resource("/certificates/{number}/reinstate", "POST").route(post().to(api::certificates::reinstate)))
                .service(api_resource("/certificates/{number}/withdraw", "POST").route(post().to(api::certificates::withdraw)))
                .service(
                    api_resource("/appeals", "GET, POST")
                        .route(get().to(api::appeals::list))
                        .route(post().to(api::appeals::create)),
                )
                .service(api_resource("/appeals/{id}", "GET").route(get().to(api::appeals::get)))
                .service(api_resource("/appeals/{id}/files", "POST").route(post().to(api::appeals::upload)))
                .service(api_resource("/appeals/{id}/files/{file_id}", "GET").route(get().to(api::appeals::download)))
                .service(api_resource("/appeals/{id}/decision", "POST").route(post().to(api::appeals::decide)))
                .service(
                    api_resource("/webhooks", "GET, POST")
                        .route(get().to(api::webhooks::list))
                        .route(post().to(api::webhooks::create)),
                )
                .service(api_resource("/webhooks/{id}", "DELETE").route(web::delete().to(api::webhooks::delete)))
                .service(api_resource("/webhooks/{id}/deliveries", "GET").route(get().to(api::webhooks::deliveries)))
                .service(api_resource("/complaints", "GET").route(get().to(api::complaints::list)))
                .service(api_resource("/complaints/{id}", "GET").route(get().to(api::complaints::get)))
                .service(api_resource("/complaints/{id}/photo", "GET").route(get().to(api::complaints::photo)))
                .service(api_resource("/complaints/{id}/triage", "POST").route(post().to(api::complaints::triage))),
        )
        // The UI reads the document `spec` serves; given the document itself, each worker would keep a copy.
        .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/openapi.json")))
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

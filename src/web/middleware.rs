// Cross-cutting HTTP behaviour: one tracing span per request with an `X-Request-Id`, security headers
// on every response, and `Idempotency-Key` replay for POST requests.

use super::auth::{bearer, Authenticated};
use super::error::ApiError;
use super::ratelimit;
use super::AppState;
use crate::app::idempotency::{self, Begin};
use crate::domain::auth::{format_roles, looks_like_token, parse_roles, token_hash};
use crate::domain::scoring::FieldError;
use crate::domain::text::{self, TextKind};
use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::time::Instant;
use tracing::Instrument;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// QR tokens are public, but long and useless in logs; invitation tokens are secret: show only the route.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/V/") || path.starts_with("/v/") {
        "/V/…"
    } else if path.starts_with("/invite/") {
        // An invitation token is a secret until it is used.
        "/invite/…"
    } else {
        path
    }
}

/// One span per request with its id (also in the reply), the access log line, and the security headers
/// (one middleware for both: each layer costs a boxed future on every request).
pub async fn request_span(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    // Recorded as strings, not through `Display`: the line writer copies them as they are.
    let span = tracing::info_span!(
        "request",
        request_id = id.as_str(),
        method = req.method().as_str(),
        path = loggable_path(req.path()),
        user_id = tracing::field::Empty
    );
    let start = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let peer = req.peer_addr().map(|a| a.ip());
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).map(str::to_string);
    let docs = req.path().starts_with("/docs");
    // The span goes into the request's future and is borrowed back from it for the line (no second handle).
    let mut call = std::pin::pin!(next.call(req).instrument(span));
    let mut res = call.as_mut().await?;
    let span = call.span();
    security_headers(&mut res, docs);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    let status = res.status().as_u16();
    let elapsed = start.elapsed();
    // Whole microseconds: an integer is cheaper to write than a float's shortest decimal form.
    let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    record(&res, elapsed.as_secs_f64());
    if status == 429 {
        // Refusals are counted, and logged once a minute per client.
        if let (Some(state), Some(peer)) = (state, peer) {
            let client = ratelimit::client_ip(peer, forwarded.as_deref(), &state.config.trusted_proxies);
            if let Some(refused) = state.refusals.note(client, Instant::now()) {
                span.in_scope(|| tracing::warn!(%client, refused, "rate limit: requests refused"));
            }
        }
        return Ok(res);
    }
    // The line's parent is the request's span, named rather than entered (one enter and exit fewer).
    if status >= 500 {
        tracing::error!(parent: span, status, us, "request failed");
    } else {
        tracing::info!(parent: span, status, us, "request");
    }
    Ok(res)
}

/// Count the request by its route pattern (never the path: no certificate number or token in a label).
fn record<B>(res: &ServiceResponse<B>, seconds: f64) {
    if !crate::metrics::requests_counted() {
        return;
    }
    let req = res.request();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_string());
    let method = match *req.method() {
        actix_web::http::Method::GET => "GET",
        actix_web::http::Method::HEAD => "HEAD",
        actix_web::http::Method::POST => "POST",
        actix_web::http::Method::PUT => "PUT",
        actix_web::http::Method::PATCH => "PATCH",
        actix_web::http::Method::DELETE => "DELETE",
        actix_web::http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let m = crate::metrics::get();
    m.requests.with_label_values(&[route.as_str(), method, res.status().as_str()]).inc();
    m.request_seconds.with_label_values(&[route.as_str(), method]).observe(seconds);
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The API docs page (Swagger UI) sets inline styles; it still runs no inline script.
const CSP_DOCS: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The security headers of every response (`docs`: the API docs page's own CSP).
fn security_headers<B>(res: &mut ServiceResponse<B>, docs: bool) {
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if docs { CSP_DOCS } else { CSP }));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The largest body an idempotent request may carry (an evidence upload with its multipart framing).
const MAX_IDEMPOTENT_BODY: usize = 11 * 1024 * 1024;

/// Marks a reply that carries a secret (a bearer token, an invitation link, a webhook secret): it is
/// shown once and never stored, so a replay answers 409 `secret_shown_once` naming what was created.
#[derive(Clone)]
pub struct SecretReply {
    /// What was created, e.g. "token 12"; the replay's message names it.
    pub created: String,
}

/// Attach the `SecretReply` mark to a response.
pub fn secret_reply(mut res: HttpResponse, created: String) -> HttpResponse {
    res.extensions_mut().insert(SecretReply { created });
    res
}

fn replay(stored: idempotency::Stored) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, stored.content_type))
        .insert_header(("idempotent-replayed", "true"))
        .body(stored.body)
}

fn error_response(req: ServiceRequest, e: ApiError) -> ServiceResponse<BoxBody> {
    let (r, _) = req.into_parts();
    ServiceResponse::new(r, e.error_response())
}

/// Read a request body into memory, refusing more than `max` bytes.
async fn read_body(req: &mut ServiceRequest, max: usize) -> Result<Option<web::Bytes>, actix_web::Error> {
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// POST with `Idempotency-Key`: the first successful reply is stored and replayed for the same key and
/// body, to the same token while it is valid and holds the roles it had; the same key with another body
/// gets 422 `idempotency_key_reused`. Once claimed, the request runs to the end on its own task, so a
/// client that goes away mid-request cannot leave its key stuck: its retry gets the stored reply.
pub async fn idempotency(mut req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // An empty key is no key (HTTP clients differ in whether they send an empty header at all).
    let key = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .filter(|v| !v.as_bytes().iter().all(|b| b.is_ascii_whitespace()))
        .map(|v| v.to_str().map(|k| k.trim().to_string()));
    let (Method::POST, Some(key)) = (req.method().clone(), key) else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    // A signed-in person (the session middleware vouched for them): keys are theirs across sessions.
    let from_session = req.extensions().get::<Authenticated>().cloned();
    let bearer_token = bearer(req.request()).map(str::to_string);
    // Without a caller the handler answers (401); the key is looked at only for a caller.
    if bearer_token.is_none() && from_session.is_none() {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let key = match key {
        Ok(k) if k.len() <= 255 => k,
        _ => {
            return Ok(error_response(
                req,
                ApiError::bad_request("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters"),
            ))
        }
    };
    let (caller, token) = match (bearer_token, from_session) {
        (Some(token), _) => {
            // A replay is authenticated like a first request: an unknown or revoked token goes to the
            // handler, whose extractor refuses it, and nothing is claimed or replayed.
            let caller = if looks_like_token(&token) {
                let t = token.clone();
                match state.db.read(move |c| crate::app::users::caller_for_token(c, &t)).await {
                    Ok(c) => c,
                    Err(e) => return Ok(error_response(req, e.into())),
                }
            } else {
                None
            };
            let Some(caller) = caller else {
                return next.call(req).await.map(|r| r.map_into_boxed_body());
            };
            req.extensions_mut().insert(Authenticated(caller.clone()));
            (caller, token_hash(&token))
        }
        (None, Some(Authenticated(caller))) => {
            let token = token_hash(&format!("session-user:{}", caller.user_id.unwrap_or(0)));
            (caller, token)
        }
        (None, None) => return next.call(req).await.map(|r| r.map_into_boxed_body()),
    };
    let Some(body) = read_body(&mut req, MAX_IDEMPOTENT_BODY).await? else {
        return Ok(error_response(req, ApiError::too_large("the request body is too large")));
    };
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update(b" ");
    h.update(req.uri().to_string());
    h.update(b"\n");
    h.update(&body);
    let request_hash = hex::encode(h.finalize());
    req.set_payload(actix_web::dev::Payload::from(body));
    // From the claim on, everything runs on a task of its own: dropping this future (the client went
    // away) stops neither the claim nor the handler, so a claim always ends in a stored reply or a
    // released key.
    let task = actix_web::rt::spawn(claim_and_run(req, next, state, caller, token, key, request_hash));
    match task.await {
        Ok(r) => r,
        Err(e) => Err(ApiError::internal(format!("idempotent request task failed: {e}")).into()),
    }
}

async fn claim_and_run(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: web::Data<AppState>,
    caller: crate::domain::auth::Caller,
    token: String,
    key: String,
    request_hash: String,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let begun = {
        let (t, k, rh, roles) = (token.clone(), key.clone(), request_hash.clone(), format_roles(&caller.roles));
        state.db.write(move |c| idempotency::begin(c, &t, &k, &rh, &roles, crate::app::now())).await
    };
    match begun {
        Err(e) => Ok(error_response(req, e.into())),
        Ok(Begin::Existing(stored)) if stored.request_hash != request_hash => Ok(error_response(
            req,
            ApiError::invalid("idempotency_key_reused", "this Idempotency-Key was used with a different request", vec![]),
        )),
        Ok(Begin::Existing(stored)) if stored.status == 0 => Ok(error_response(
            req,
            ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            ),
        )),
        Ok(Begin::Existing(stored)) => {
            let then = parse_roles(&stored.roles).unwrap_or_default();
            if !then.iter().all(|r| caller.has(*r)) {
                tracing::warn!(user = ?caller.user_id, "idempotent replay refused: the caller no longer holds the request's roles");
                return Ok(error_response(
                    req,
                    ApiError::forbidden("forbidden_role", "this request was made with a role the caller no longer holds"),
                ));
            }
            let (r, _) = req.into_parts();
            Ok(ServiceResponse::new(r, replay(stored)))
        }
        Ok(Begin::Started) => run_and_store(req, next, state, token, key).await,
    }
}

async fn run_and_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: web::Data<AppState>,
    token: String,
    key: String,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = match next.call(req).await {
        Ok(r) => r,
        Err(e) => {
            let _ = state.db.write(move |c| idempotency::abandon(c, &token, &key)).await;
            return Err(e);
        }
    };
    if !res.status().is_success() {
        let _ = state.db.write(move |c| idempotency::abandon(c, &token, &key)).await;
        return Ok(res.map_into_boxed_body());
    }
    let (r, response) = res.into_parts();
    let status = response.status();
    let secret = response.extensions().get::<SecretReply>().cloned();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let mut builder = HttpResponse::build(status);
    for (name, value) in response.headers() {
        builder.append_header((name.clone(), value.clone()));
    }
    let bytes = match to_bytes(response.into_body()).await {
        Ok(b) => b,
        Err(_) => return Ok(ServiceResponse::new(r, ApiError::internal("could not read the response body").error_response())),
    };
    // A secret is never at rest: its replay is a stable error naming what was created.
    let (stored_status, stored_type, stored_body) = match &secret {
        None => (status.as_u16(), content_type, bytes.to_vec()),
        Some(s) => (
            StatusCode::CONFLICT.as_u16(),
            "application/json".to_string(),
            serde_json::to_vec(&super::error::ErrorBody {
                error: "secret_shown_once".into(),
                message: format!(
                    "this request succeeded before and created {}; its secret was shown once and is not stored",
                    s.created
                ),
                fields: vec![],
            })
            .unwrap_or_default(),
        ),
    };
    let stored = state
        .db
        .write(move |c| idempotency::finish(c, &token, &key, stored_status, &stored_type, &stored_body))
        .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "could not store the idempotent reply");
    }
    Ok(ServiceResponse::new(r, builder.body(bytes)))
}

/// A browser never gets an error as JSON: an error answer in JSON to a request that accepts HTML (outside
/// `/api/`) becomes an HTML page in the page's language with a way back (`error::browser_page`), keeping
/// its status and `Retry-After`. Clients that ask for JSON, and the API, keep the JSON body.
pub async fn browser_errors(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let browser = !req.path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    let res = next.call(req).await?.map_into_boxed_body();
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !browser || !json || res.status().as_u16() < 400 {
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let status = res.status();
    let retry_after = res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = to_bytes(res.into_body()).await.unwrap_or_default();
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_default();
    let page = super::error::browser_page(&req, status, &code, retry_after.as_deref());
    Ok(ServiceResponse::new(req, page))
}

/// A language chosen with `?lang=` is kept: the `gel_lang` cookie is set (one year, `SameSite=Lax`) when it
/// differs, and a signed-in person's account takes it too (their e-mails follow it). Pages whose language
/// can come from the cookie say so to caches (`Vary: Cookie`).
pub async fn languages(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let chosen = super::i18n::asked(req.query_string()).filter(|l| req.cookie(super::i18n::LANG_COOKIE).is_none_or(|c| c.value() != *l));
    let mut res = next.call(req).await?;
    if let Some(lang) = chosen {
        let cookie = actix_web::cookie::Cookie::build(super::i18n::LANG_COOKIE, lang)
            .path("/")
            .max_age(actix_web::cookie::time::Duration::days(365))
            .same_site(actix_web::cookie::SameSite::Lax)
            .http_only(true)
            .finish();
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    let signed_in = res
        .request()
        .extensions()
        .get::<super::session::Session>()
        .and_then(|s| s.caller.user_id.map(|id| (id, s.user.language.clone())));
    if let Some((id, saved)) = signed_in {
        let lang = super::i18n::negotiate(res.request()).lang;
        if saved.as_deref() != Some(lang) {
            if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
                if let Err(e) = state.db.write(move |c| crate::app::accounts::set_language(c, id, lang)).await {
                    tracing::warn!(error = %e, "could not record the portal language");
                }
            }
        }
    }
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("image/svg"));
    if html {
        res.headers_mut().append(header::VARY, HeaderValue::from_static("Cookie"));
    }
    Ok(res)
}

/// Text from clients is checked before any handler runs: every query parameter as one line (400), every
/// string of a JSON or form body as free text (422), both `invalid_characters` naming the field.
/// Names get the stricter check where they are parsed (`domain::text::TextKind::Name`).
pub async fn text_guard(mut req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let bad: Vec<FieldError> = query
        .iter()
        .filter_map(|(k, v)| {
            text::check("query", k, TextKind::Line)
                .err()
                .or_else(|| text::check(k, v, TextKind::Line).err())
        })
        .collect();
    if !bad.is_empty() {
        let mut e = ApiError::bad_request("invalid_characters", "a query parameter contains a control character");
        e.fields = bad;
        return Ok(error_response(req, e));
    }
    // A route for signed-in people or token holders refuses a change that names neither before reading
    // its body (the guard then closes the connection, the body unread).
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) && needs_credentials(req.path()) && !super::session::carries_credentials(&req) {
        let refusal = if req.path().starts_with("/api/") {
            ApiError::unauthorized("unauthorized", "send Authorization: Bearer <token>").error_response()
        } else {
            super::session::to_sign_in(req.path(), req.query_string())
        };
        return Ok(req.into_response(refusal).map_into_boxed_body());
    }
    let essence = req.mime_type().ok().flatten().map(|m| m.essence_str().to_string()).unwrap_or_default();
    let json = essence == "application/json" || essence.ends_with("+json");
    let form = essence == "application/x-www-form-urlencoded";
    if (json || form) && matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        // A route that takes no body with this method refuses it before reading it (the guard then closes
        // the connection, the body unread).
        if let Some(pattern) = req.resource_map().match_pattern(req.path()) {
            if !super::takes(&pattern, req.method().as_str()) {
                if let Some(allow) = super::methods_of(&pattern) {
                    return Ok(req.into_response(super::refuse_method(allow)).map_into_boxed_body());
                }
            }
        }
        let Some(body) = read_body(&mut req, super::JSON_LIMIT).await? else {
            return Ok(error_response(
                req,
                ApiError::too_large(format!("request bodies are limited to {} KiB", super::JSON_LIMIT / 1024)),
            ));
        };
        let bad = if json {
            // Malformed JSON is left to the extractor, which says what is wrong with it.
            serde_json::from_slice::<serde_json::Value>(&body)
                .map(|v| text::check_json(&v))
                .unwrap_or_default()
        } else {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .unwrap_or_default()
                .iter()
                .filter_map(|(k, v)| text::check(k, v, TextKind::Free).err())
                .collect()
        };
        if !bad.is_empty() {
            return Ok(error_response(
                req,
                ApiError::invalid("invalid_characters", "some text contains a control character", bad),
            ));
        }
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

/// Paths that act only for a signed-in person (`/app`) or a token holder (`/api/v1`, but its public lists).
fn needs_credentials(path: &str) -> bool {
    path == "/app" || path.starts_with("/app/") || (path.starts_with("/api/v1/") && !path.starts_with("/api/v1/public/"))
}

#[cfg(test)]
mod tests {
    use super::{loggable_path, needs_credentials};

    #[test]
    fn changes_to_the_portal_and_the_api_need_credentials() {
        assert!(needs_credentials("/app/venues"));
        assert!(needs_credentials("/api/v1/venues"));
        assert!(!needs_credentials("/api/v1/public/certificates"));
        assert!(!needs_credentials("/login"));
        assert!(!needs_credentials("/certificates/GEL-2026-000001/complaints"));
        assert!(!needs_credentials("/application"));
    }

    #[test]
    fn secrets_and_tokens_in_paths_are_not_logged() {
        assert_eq!(loggable_path("/V/2KCE3IQBE4CERBBF"), "/V/…");
        assert_eq!(loggable_path("/invite/q2pEk-9yjarxfc6RUg0IdaA1FlxNYdT4thb0COQueS0"), "/invite/…");
        assert_eq!(loggable_path("/api/v1/me"), "/api/v1/me");
    }
}

// Cross-cutting HTTP behaviour: one tracing span per request with an `X-Request-Id`, security headers
// on every response, and `Idempotency-Key` replay for POST requests.

use super::auth::bearer;
use super::error::ApiError;
use super::AppState;
use crate::domain::auth::token_hash;
use crate::storage::idempotency::{self, Begin};
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

/// QR tokens are public, but long and useless in logs: show only the route.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/V/") || path.starts_with("/v/") {
        "/V/…"
    } else {
        path
    }
}

pub async fn request_span(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %loggable_path(req.path()), user_id = tracing::field::Empty);
    let start = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    let status = res.status().as_u16();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, ms, "request failed");
        } else {
            tracing::info!(status, ms, "request");
        }
    });
    Ok(res)
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The API docs page (Swagger UI) sets inline styles; it still runs no inline script.
const CSP_DOCS: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

pub async fn security_headers(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let docs = req.path().starts_with("/docs");
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if docs { CSP_DOCS } else { CSP }));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    Ok(res)
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The largest body an idempotent request may carry (an evidence upload with its multipart framing).
const MAX_IDEMPOTENT_BODY: usize = 11 * 1024 * 1024;

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

/// POST with `Idempotency-Key`: the first successful reply is stored and replayed for the same key and
/// body; the same key with another body gets 422 `idempotency_key_reused`.
pub async fn idempotency(mut req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = req.headers().get(IDEMPOTENCY_KEY).map(|v| v.to_str().map(str::to_string));
    let (Method::POST, Some(key)) = (req.method().clone(), key) else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let key = match key {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k,
        _ => {
            return Ok(error_response(
                req,
                ApiError::bad_request("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters"),
            ))
        }
    };
    let (Some(token), Some(state)) = (bearer(req.request()).map(token_hash), req.app_data::<web::Data<AppState>>().cloned()) else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_IDEMPOTENT_BODY {
            return Ok(error_response(req, ApiError::too_large("the request body is too large")));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update(b" ");
    h.update(req.uri().to_string());
    h.update(b"\n");
    h.update(&body);
    let request_hash = hex::encode(h.finalize());
    let begun = {
        let (t, k, rh) = (token.clone(), key.clone(), request_hash.clone());
        state.db.write(move |c| idempotency::begin(c, &t, &k, &rh)).await
    };
    match begun {
        Err(e) => return Ok(error_response(req, e.into())),
        Ok(Begin::Existing(stored)) if stored.request_hash != request_hash => {
            return Ok(error_response(
                req,
                ApiError::invalid("idempotency_key_reused", "this Idempotency-Key was used with a different request", vec![]),
            ));
        }
        Ok(Begin::Existing(stored)) if stored.status == 0 => {
            return Ok(error_response(
                req,
                ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_in_progress",
                    "a request with this Idempotency-Key is still being processed",
                ),
            ));
        }
        Ok(Begin::Existing(stored)) => {
            let (r, _) = req.into_parts();
            return Ok(ServiceResponse::new(r, replay(stored)));
        }
        Ok(Begin::Started) => {}
    }
    req.set_payload(actix_web::dev::Payload::from(body));
    let res = next.call(req).await;
    let res = match res {
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
    let stored = {
        let (ct, b) = (content_type, bytes.to_vec());
        state.db.write(move |c| idempotency::finish(c, &token, &key, status.as_u16(), &ct, &b)).await
    };
    if let Err(e) = stored {
        tracing::error!(error = %e, "could not store the idempotent reply");
    }
    Ok(ServiceResponse::new(r, builder.body(bytes)))
}

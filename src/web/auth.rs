// Authentication as an extractor (a bearer token, or a signed-in session): handlers receive the `Caller`.
// Failures are 401 (no or bad token) or 403 (wrong role), logged without the token.

use super::error::ApiError;
use super::AppState;
use crate::domain::auth::{looks_like_token, Caller, Role};
use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpMessage, HttpRequest};
use std::future::Future;
use std::pin::Pin;

/// An authenticated caller.
pub struct Auth(pub Caller);

/// The caller behind this request's bearer token, as a middleware that had to look it up found it
/// (request extensions are set by the server only, never by the client).
#[derive(Clone)]
pub struct Authenticated(pub Caller);

/// A browser session that may not act yet (set by the session middleware): the second factor is awaited,
/// or an officer or admin must set one up first.
#[derive(Clone, Copy)]
pub struct NotReady {
    pub user_id: i64,
    pub second_factor_pending: bool,
}

impl Auth {
    /// The caller, if they hold one of `roles`; else 403 `forbidden_role` (logged).
    pub fn require(&self, roles: &[Role]) -> Result<&Caller, ApiError> {
        if self.0.has_any(roles) {
            Ok(&self.0)
        } else {
            tracing::warn!(user = ?self.0.user_id, needed = ?roles, "authorisation refused: wrong role");
            Err(ApiError::forbidden(
                "forbidden_role",
                format!("this needs the role {}", roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")),
            ))
        }
    }
}

/// The bearer token of a request, if it has a well-formed Authorization header.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Who a request says it is, before any database look-up: a caller the session or the idempotency
/// middleware has already found, or a well-formed bearer token still to look up. Otherwise the refusal
/// (401, or 403 for a session that may not act yet).
pub enum Credentials {
    Caller(Caller),
    Token(String),
}

pub fn credentials(req: &HttpRequest) -> Result<Credentials, ApiError> {
    // The idempotency middleware has already looked this request's token up: no second query.
    if let Some(Authenticated(caller)) = req.extensions().get::<Authenticated>().cloned() {
        return Ok(Credentials::Caller(caller));
    }
    // A browser session that may not act yet: the second factor is awaited, or must be set up.
    if let Some(s) = req.extensions().get::<NotReady>().copied() {
        let e = if s.second_factor_pending {
            ApiError::unauthorized("second_factor_pending", "finish signing in with the second factor")
        } else {
            ApiError::forbidden("second_factor_required", "officers and admins set up a second factor first: /app/account/totp")
        };
        tracing::warn!(user = s.user_id, code = e.code, "authorisation refused");
        return Err(e);
    }
    let Some(token) = bearer(req) else {
        tracing::warn!(
            has_header = req.headers().contains_key(header::AUTHORIZATION),
            "authentication failed: no bearer token"
        );
        return Err(ApiError::unauthorized("unauthorized", "send Authorization: Bearer <token>"));
    };
    if !looks_like_token(token) {
        tracing::warn!("authentication failed: malformed token");
        return Err(ApiError::unauthorized("invalid_token", "the token is not valid"));
    }
    Ok(Credentials::Token(token.to_string()))
}

/// The refusal of a well-formed token that names no live token (unknown or revoked).
pub fn unknown_token() -> ApiError {
    tracing::warn!("authentication failed: unknown or revoked token");
    ApiError::unauthorized("invalid_token", "the token is not valid or has been revoked")
}

/// The caller found, recorded on the request's span.
pub fn authenticated(caller: Caller) -> Caller {
    tracing::Span::current().record("user_id", caller.user_id);
    caller
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credentials = credentials(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = match credentials? {
                Credentials::Caller(caller) => return Ok(Auth(authenticated(caller))),
                Credentials::Token(token) => token,
            };
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            match state.db.read(move |c| crate::app::users::caller_for_token(c, &token)).await? {
                Some(caller) => Ok(Auth(authenticated(caller))),
                None => Err(unknown_token()),
            }
        })
    }
}

// Browser sessions: the `gel_session` cookie looked up once per request (hashed, in the database, so any
// replica accepts it), the caller it stands for, and the CSRF check of every cookie-authenticated change.

use super::auth::{Authenticated, NotReady};
use super::error::ApiError;
use super::AppState;
use crate::app::accounts::{self as ops, Client, OpenSession, Stage};
use crate::domain::account::{constant_time_eq, csrf_token};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, ResponseError};
use futures_util::StreamExt;
use std::future::{ready, Ready};

pub const CSRF_HEADER: &str = "x-csrf-token";

/// The cookie's name: `__Host-gel_session` (which browsers accept only with `Secure`, `Path=/` and no
/// domain) when the registry is served over https, else `gel_session`.
pub fn cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-gel_session"
    } else {
        "gel_session"
    }
}

fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// The cookie that carries a new session id.
pub fn session_cookie(state: &AppState, secret: &str) -> Cookie<'static> {
    Cookie::build(cookie_name(state), secret.to_string())
        .path("/")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Lax)
        .finish()
}

/// The cookie that makes the browser forget the session id.
pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    Cookie::build(cookie_name(state), "")
        .path("/")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::ZERO)
        .finish()
}

/// The signed-in (or half signed-in) session of this request, as the middleware found it.
#[derive(Clone)]
pub struct Session {
    pub id: i64,
    pub user: crate::app::rows::UserRow,
    pub caller: crate::domain::auth::Caller,
    pub stage: Stage,
    /// An officer or admin without a second factor: only the enrolment page is open to them.
    pub needs_factor: bool,
    /// The token every form of this session carries (`csrf`), and JSON calls send as `X-CSRF-Token`.
    pub csrf: String,
    pub row: crate::app::rows::SessionRow,
    /// Notifications that came since the person last opened them (counted for portal pages only).
    pub unread: i64,
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Session>()
                .cloned()
                .ok_or_else(|| ApiError::unauthorized("unauthorized", "sign in first")),
        )
    }
}

/// The session if there is one (pages that also work signed out).
pub struct MaybeSession(pub Option<Session>);

impl FromRequest for MaybeSession {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(MaybeSession(req.extensions().get::<Session>().cloned())))
    }
}

/// Who is asking, for the auth events: the client address (as the rate limiter sees it) and the browser.
pub fn client_of(req: &HttpRequest, state: &AppState) -> Client {
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = req
        .peer_addr()
        .map(|p| super::ratelimit::client_ip(p.ip(), forwarded, &state.config.trusted_proxies).to_string())
        .unwrap_or_default();
    let user_agent: String = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    Client { ip, user_agent }
}

/// Is the request from a page of this registry? `Sec-Fetch-Site` must say `same-origin` when sent, and
/// `Origin`, when sent, must be the public URL or the request's own host; at least one must be sent.
fn same_origin(req: &ServiceRequest, public_url: &str) -> Option<bool> {
    let site = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok());
    // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` even from our own pages: it says
    // nothing, and Sec-Fetch-Site decides.
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| *o != "null");
    if site.is_none() && origin.is_none() {
        return None;
    }
    if site.is_some_and(|s| s != "same-origin") {
        return Some(false);
    }
    if let Some(o) = origin {
        let info = req.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        return Some(o == public_url || o == own);
    }
    Some(true)
}

fn refuse(req: ServiceRequest, why: &str) -> ServiceResponse<BoxBody> {
    tracing::warn!(why, "csrf check failed");
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let (r, _) = req.into_parts();
    let res = if html {
        // A person with a stale page: say so in their language, with the way back.
        let m = super::i18n::negotiate(&r);
        let body = maud::html! {
            p.alert role="alert" { (m.t("csrf_failed")) }
            p { a href="/app" { (m.t("nav_home")) } }
        };
        super::layout::html_response(
            actix_web::http::StatusCode::FORBIDDEN,
            "no-store",
            super::layout::layout(&r, &m, m.t("csrf_failed_title"), body),
        )
    } else {
        ApiError::forbidden(
            "csrf_failed",
            "this change did not come from a page of the registry; reload the page and try again",
        )
        .error_response()
    };
    ServiceResponse::new(r, res)
}

/// Seconds between two writes of a session's last use (the idle limit is counted in minutes).
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Whether a request names a session or a token at all (whether it is a good one is found out later).
pub fn carries_credentials(req: &ServiceRequest) -> bool {
    req.headers().contains_key(header::AUTHORIZATION) || req.cookie("gel_session").is_some() || req.cookie("__Host-gel_session").is_some()
}

/// A page that needs a signed-in person sends anyone else to sign in, back to `path?query` afterwards.
pub fn to_sign_in(path: &str, query: &str) -> actix_web::HttpResponse {
    let here = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
    actix_web::HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/login?next={}", crate::web::layout::url_escape(&here))))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Look the session cookie up (unless the request carries a bearer token, which wins), and check CSRF
/// on every change: with an open session it needs the session's token and a same-origin request;
/// without one, a cross-site request is still refused.
pub async fn sessions(mut req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let bearer = req.headers().contains_key(header::AUTHORIZATION);
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let cookie = if bearer {
        None
    } else {
        req.cookie(cookie_name(&state)).map(|c| c.value().to_string())
    };
    let mut session = None;
    if let Some(secret) = cookie.filter(|s| !s.is_empty()) {
        let rules = state.config.sessions;
        let now = state.clock.now();
        let s = secret.clone();
        let open = match state.db.read(move |c| ops::open_session(c, &rules, &s, now)).await {
            Ok(o) => o,
            Err(e) => {
                let (r, _) = req.into_parts();
                return Ok(ServiceResponse::new(r, ApiError::from(e).error_response()));
            }
        };
        if let ops::Lookup::Stale { id, user_id, reason } = open {
            let client = client_of(req.request(), &state);
            if let Err(e) = state.db.write(move |c| ops::close_stale(c, &client, id, user_id, reason)).await {
                tracing::warn!(error = %e, "could not record the end of a session");
            }
        } else if let ops::Lookup::Open(open) = open {
            let OpenSession { session: row, user, stage } = *open;
            if (now - row.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
                let id = row.id;
                if let Err(e) = state.db.write(move |c| crate::app::accounts::touch_session(c, id, now)).await {
                    tracing::warn!(error = %e, "could not record the session's last use");
                }
            }
            let caller = match crate::app::users::caller_of(&user) {
                Ok(c) => c,
                Err(e) => {
                    let (r, _) = req.into_parts();
                    return Ok(ServiceResponse::new(r, ApiError::from(e).error_response()));
                }
            };
            tracing::Span::current().record("user_id", caller.user_id);
            // The menu's count of new notifications, for the portal's pages only.
            let page = *req.method() == Method::GET && req.path().starts_with("/app");
            let unread = if page && stage == Stage::Full {
                let (c, seen) = (caller.clone(), user.notifications_seen_id);
                match state.db.read(move |conn| crate::app::accounts::unread_notifications(conn, &c, seen)).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not count the unread notifications");
                        0
                    }
                }
            } else {
                0
            };
            session = Some(Session {
                unread,
                id: row.id,
                needs_factor: ops::needs_second_factor(&user),
                user,
                caller,
                stage,
                csrf: csrf_token(&secret),
                row,
            });
        }
    }
    if unsafe_method && !bearer {
        let origin = same_origin(&req, &state.config.public_url);
        if origin == Some(false) {
            return Ok(refuse(req, "cross-site request"));
        }
        if let Some(s) = &session {
            if origin.is_none() {
                return Ok(refuse(req, "no Origin or Sec-Fetch-Site"));
            }
            let mut sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
            let form = req
                .mime_type()
                .ok()
                .flatten()
                .is_some_and(|m| m.essence_str() == "application/x-www-form-urlencoded");
            let multipart = req.mime_type().ok().flatten().is_some_and(|m| m.essence_str() == "multipart/form-data");
            if sent.is_none() && multipart {
                // A file upload form carries the token in its action URL (the body is streamed to the handler).
                sent = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v);
            }
            if sent.is_none() && form {
                let mut payload = req.take_payload();
                let mut body = web::BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    body.extend_from_slice(&chunk?);
                    if body.len() > super::JSON_LIMIT {
                        let (r, _) = req.into_parts();
                        return Ok(ServiceResponse::new(r, ApiError::too_large("the form is too large").error_response()));
                    }
                }
                let body = body.freeze();
                sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v);
                req.set_payload(actix_web::dev::Payload::from(body));
            }
            if !sent.is_some_and(|t| constant_time_eq(&t, &s.csrf)) {
                return Ok(refuse(req, "missing or wrong CSRF token"));
            }
        }
    }
    if let Some(s) = session {
        if s.stage == Stage::Full && !s.needs_factor {
            req.extensions_mut().insert(Authenticated(s.caller.clone()));
        } else {
            req.extensions_mut().insert(NotReady {
                user_id: s.user.id,
                second_factor_pending: s.stage != Stage::Full,
            });
        }
        req.extensions_mut().insert(s);
    }
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

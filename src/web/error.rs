// The one error type of the web layer: each case maps to an HTTP status and a stable snake_case code;
// internal details are logged with the request's span and never sent to the client.

use crate::domain::scoring::FieldError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code, e.g. `self_decision`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
    /// The fields at fault, when the input was wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    /// For 429: seconds until the next request is allowed.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: vec![],
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
    pub fn invalid(code: &'static str, message: impl Into<String>, fields: Vec<FieldError>) -> Self {
        ApiError {
            fields,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
        }
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }
    /// 503 with `Retry-After: 5`: the database is switching over, or the registry is stopping.
    pub fn unavailable() -> Self {
        ApiError {
            retry_after: Some(5),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the registry cannot answer right now; try again shortly",
            )
        }
    }
    /// Log the detail, send a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if let Some(s) = self.retry_after {
            r.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        r.json(ErrorBody {
            error: self.code.to_string(),
            message: self.message.clone(),
            fields: self.fields.clone(),
        })
    }
}

impl From<crate::app::StorageError> for ApiError {
    fn from(e: crate::app::StorageError) -> Self {
        match e {
            crate::app::StorageError::NotFound => ApiError::not_found("resource"),
            crate::app::StorageError::Conflict { code, message } => ApiError::new(StatusCode::CONFLICT, code, message),
            crate::app::StorageError::Forbidden { code, message } => {
                tracing::warn!(code, "authorisation refused");
                ApiError::forbidden(code, message)
            }
            crate::app::StorageError::Invalid { code, message, fields } => ApiError::invalid(code, message, fields),
            crate::app::StorageError::Unavailable(detail) => {
                tracing::error!(error = %detail, "database unavailable");
                ApiError::unavailable()
            }
            crate::app::StorageError::Internal(detail) => ApiError::internal(detail),
        }
    }
}

/// Map an application or storage error, saying which kind of thing was not found
/// (`.map_err(missing("assessment"))`).
pub fn missing<E: Into<crate::app::Error>>(what: &'static str) -> impl Fn(E) -> ApiError {
    move |e| match e.into() {
        crate::app::Error::Storage(crate::app::StorageError::NotFound) => ApiError::not_found(what),
        e => e.into(),
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The HTTP status of an application error, declared once for the API and the pages alike (the codes and
/// their statuses are listed in crate::app::codes).
pub fn status_of(e: &crate::app::Error) -> StatusCode {
    use crate::app::Error as E;
    match e {
        E::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        E::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        E::Gone { .. } => StatusCode::GONE,
        E::Storage(crate::app::StorageError::NotFound) => StatusCode::NOT_FOUND,
        E::Storage(crate::app::StorageError::Conflict { .. }) => StatusCode::CONFLICT,
        E::Storage(crate::app::StorageError::Forbidden { .. }) => StatusCode::FORBIDDEN,
        E::Storage(crate::app::StorageError::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        E::Storage(crate::app::StorageError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        E::Storage(crate::app::StorageError::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<crate::app::Error> for ApiError {
    fn from(e: crate::app::Error) -> Self {
        use crate::app::Error as E;
        match e {
            E::Storage(s) => s.into(),
            E::Unauthorized { code, message } => ApiError::unauthorized(code, message),
            E::Throttled { retry_after } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!("too many attempts; try again in {retry_after} s"),
                )
            },
            E::Gone { code, message } => ApiError::new(StatusCode::GONE, code, message),
        }
    }
}

/// An application or storage error as the response a page sends when it has nothing better to show.
pub fn error_page(e: impl Into<ApiError>) -> HttpResponse {
    e.into().error_response()
}

/// The HTML page a browser gets instead of an error's JSON: what happened in the page's language, and the
/// way back (the page it came from on this site, else the portal or the register).
pub fn browser_page(req: &actix_web::HttpRequest, status: StatusCode, code: &str, retry_after: Option<&str>) -> HttpResponse {
    use maud::html;
    let m = crate::web::i18n::negotiate(req);
    let (title, detail) = browser_words(status, code);
    let back = req
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(url_path)
        .filter(|p| p != req.path())
        .unwrap_or_else(|| {
            if req.path().starts_with("/app") {
                "/app".to_string()
            } else {
                "/register".to_string()
            }
        });
    let body = html! {
        h1 { (m.t(title)) }
        p.alert role="alert" { (m.t(detail)) }
        @if let Some(s) = retry_after { p { (m.f("err_retry_after", &[("s", s)])) } }
        p.actions {
            a.button href=(back) { (m.t("err_back")) }
            @if req.path().starts_with("/app") { a.button.secondary href="/app" { (m.t("nav_home")) } }
        }
    };
    let mut r = crate::web::layout::html_response(status, "no-store", crate::web::layout::layout(req, &m, m.t(title), body));
    if let Some(v) = retry_after.and_then(|s| header::HeaderValue::from_str(s).ok()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// A Referer's path and query, if it is a path on this site (scheme and host are not compared: a browser
/// sends its own origin, and only the path is used).
fn url_path(referer: &str) -> Option<String> {
    let rest = referer.split_once("://").map(|(_, r)| r)?;
    let path = &rest[rest.find('/')?..];
    (path.starts_with('/') && !path.starts_with("//")).then(|| path.to_string())
}

/// The catalogue keys of an error page's title and explanation, by code where it says more than the status.
fn browser_words(status: StatusCode, code: &str) -> (&'static str, &'static str) {
    match code {
        "csrf_failed" => ("err_title_forbidden", "err_csrf_failed"),
        "method_not_allowed" => ("err_title_not_found", "err_method_not_allowed"),
        "rate_limited" | "too_many_attempts" => ("err_title_rate_limited", "err_rate_limited"),
        "self_decision" | "took_part" => ("err_title_forbidden", "err_self_decision"),
        "forbidden_role" | "forbidden" | "not_your_assessment" => ("err_title_forbidden", "not_allowed"),
        "payload_too_large" | "too_large" => ("err_title_invalid", "err_too_large"),
        "second_factor_required" => ("err_title_forbidden", "err_second_factor_required"),
        _ => match status.as_u16() {
            400 | 422 => ("err_title_invalid", "err_invalid"),
            401 => ("err_title_unauthorized", "err_unauthorized"),
            403 => ("err_title_forbidden", "not_allowed"),
            404 | 405 => ("err_title_not_found", "err_not_found"),
            409 => ("err_title_conflict", "err_conflict"),
            410 => ("err_title_gone", "err_gone"),
            429 => ("err_title_rate_limited", "err_rate_limited"),
            503 => ("err_title_unavailable", "err_unavailable"),
            _ => ("err_title_internal", "err_internal"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_of_this_site_is_a_way_back() {
        assert_eq!(url_path("http://registry.test/app/venues?x=1").as_deref(), Some("/app/venues?x=1"));
        assert_eq!(url_path("https://evil.example//x"), None);
        assert_eq!(url_path("nonsense"), None);
    }

    #[test]
    fn every_error_page_has_catalogued_words() {
        for status in [400, 401, 403, 404, 405, 409, 410, 422, 429, 500, 503] {
            for code in ["csrf_failed", "method_not_allowed", "rate_limited", "self_decision", "x"] {
                let (t, d) = browser_words(StatusCode::from_u16(status).unwrap(), code);
                for lang in crate::web::i18n::LANGS {
                    let m = crate::web::i18n::Messages::for_lang(lang);
                    assert_ne!(m.t(t), t, "{t} in {lang}");
                    assert_ne!(m.t(d), d, "{d} in {lang}");
                }
            }
        }
    }
}

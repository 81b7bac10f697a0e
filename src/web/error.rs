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

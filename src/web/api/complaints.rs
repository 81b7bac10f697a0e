// Complaints in the JSON API: the officers' list, a complaint, its photo and its triage. The public report
// form is web/public/complaints.rs, the officers' pages web/portal/complaints.rs.

use crate::app::complaints::{self as ops, TriageRequest};
use crate::app::rows::ComplaintRow;
use crate::domain::auth::Role;
use crate::domain::complaint::{Category, ComplaintStatus, Triage};
use crate::web::auth::Auth;
use crate::web::error::{missing, ApiError, ApiResult};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

pub(crate) const NOT_FOUND: &str = "complaint";

#[derive(Serialize, utoipa::ToSchema)]
pub struct ComplaintResponse {
    pub id: i64,
    pub reference: String,
    pub certificate: String,
    pub venue_id: i64,
    pub category: Category,
    pub description: String,
    /// The reporter's address, for officers only (never public).
    pub email: Option<String>,
    /// The language the report was made in (kk, ru or en): answer in it.
    pub language: String,
    /// `/api/v1/complaints/{id}/photo` when a photo came with it.
    pub photo: Option<String>,
    pub status: ComplaintStatus,
    pub outcome: Option<String>,
    /// A special audit of the venue the complaint led to.
    pub assessment_id: Option<i64>,
    /// Whether closing it suspended the certificate.
    pub suspended: bool,
    pub handled_by: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl ComplaintResponse {
    fn new(r: ComplaintRow) -> ApiResult<Self> {
        Ok(ComplaintResponse {
            category: Category::parse(&r.category).ok_or_else(|| ApiError::internal(format!("complaint {} category {}", r.id, r.category)))?,
            status: crate::app::rows::complaint::status_of(&r)?,
            photo: r.photo_type.as_ref().map(|_| format!("/api/v1/complaints/{}/photo", r.id)),
            id: r.id,
            reference: r.reference,
            certificate: r.certificate_number,
            venue_id: r.venue_id,
            description: r.description,
            email: r.email,
            language: r.language,
            outcome: r.outcome,
            assessment_id: r.assessment_id,
            suspended: r.suspended,
            handled_by: r.handled_by,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        })
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ComplaintListParams {
    pub status: Option<ComplaintStatus>,
    /// Keyset cursor: complaints older than this id (`next_before` of the previous page).
    pub before: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ComplaintList {
    pub items: Vec<ComplaintResponse>,
    pub next_before: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/complaints", tag = "complaints", security(("bearer" = [])), params(ComplaintListParams),
    responses((status = 200, body = ComplaintList), (status = 400, body = crate::web::error::ErrorBody), (status = 403, body = crate::web::error::ErrorBody)))]
/// Complaints, newest first (officers and admins).
pub async fn list(state: web::Data<AppState>, auth: Auth, q: web::Query<ComplaintListParams>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Officer, Role::Admin])?.clone();
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_limit", "limit must be between 1 and 200"));
    }
    let (status, before) = (q.status, q.before);
    let rows = state.db.read(move |c| ops::list(c, &caller, status, before, limit + 1)).await?;
    let (rows, next_before) = crate::web::keyset_page(rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(ComplaintList {
        items: rows.into_iter().map(ComplaintResponse::new).collect::<ApiResult<_>>()?,
        next_before,
    }))
}

#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "complaints", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ComplaintResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    let row = state.db.read(move |c| ops::get(c, &caller, id)).await.map_err(missing(NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(ComplaintResponse::new(row)?))
}

#[utoipa::path(get, path = "/api/v1/complaints/{id}/photo", tag = "complaints", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "the photo (JPEG or PNG)", content_type = "image/jpeg"), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn photo(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    let photo = state.db.read(move |c| ops::photo(c, &caller, id)).await.map_err(missing(NOT_FOUND))?;
    let (bytes, kind) = photo.ok_or_else(|| ApiError::not_found("photo"))?;
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header(("cache-control", "private, no-store"))
        .insert_header(("content-disposition", "attachment"))
        .body(bytes))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageBody {
    pub action: Triage,
    /// Required to close: what was found and done.
    pub outcome: Option<String>,
    /// A special audit of the certificate's venue the complaint led to.
    pub assessment_id: Option<i64>,
    /// When closing: suspend the certificate with this public reason, in the same transaction.
    pub suspend_reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/complaints/{id}/triage", tag = "complaints", security(("bearer" = [])), params(("id" = i64, Path)), request_body = TriageBody,
    responses((status = 200, body = ComplaintResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody),
        (status = 409, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
/// Acknowledge, investigate (optionally linking a special audit) or close with an outcome (optionally
/// suspending the certificate).
pub async fn triage(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<TriageBody>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let row = triage_as(&state, caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ComplaintResponse::new(row)?))
}

/// Triage as `caller` (the API and the portal).
pub async fn triage_as(state: &web::Data<AppState>, caller: crate::domain::auth::Caller, id: i64, b: TriageBody) -> ApiResult<ComplaintRow> {
    let log = state.log_key.clone();
    let (row, suspended) = state
        .db
        .write(move |c| {
            let t = TriageRequest {
                action: b.action,
                outcome: b.outcome.as_deref(),
                assessment_id: b.assessment_id,
                suspend_reason: b.suspend_reason.as_deref(),
            };
            ops::triage(c, &caller, id, &t, &log)
        })
        .await
        .map_err(missing(NOT_FOUND))?;
    if let Some(cert) = suspended {
        crate::web::api::certificates::changed(state, &cert.number).await;
    }
    Ok(row)
}

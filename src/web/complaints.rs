// Complaints on the web: the public "report a problem with this label" form and its reply (no login,
// rate-limited, HTML for browsers, JSON for the API), the officers' API and their portal pages.

use super::auth::Auth;
use super::error::{missing, ApiError, ApiResult};
use super::i18n::{negotiate, Messages};
use super::layout::{html_response, layout};
use super::session::MaybeSession;
use super::signin::{page, see_other, signed_in};
use super::AppState;
use crate::app::complaints::{self as ops, TriageRequest};
use crate::domain::auth::Role;
use crate::domain::complaint::{Category, ComplaintStatus, Report, Triage, MAX_PHOTO};
use crate::domain::scoring::FieldError;
use crate::storage::{self, models::ComplaintRow};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::{StreamExt, TryStreamExt};
use maud::html;
use serde::{Deserialize, Serialize};

const NOT_FOUND: &str = "complaint";
const NO_STORE: &str = "no-store";

/// The form as sent: text fields and an optional photo.
#[derive(Default)]
struct Sent {
    category: Option<String>,
    description: Option<String>,
    email: Option<String>,
    photo: Option<Vec<u8>>,
}

fn too_long(name: &str) -> ApiError {
    ApiError::invalid(
        "field_too_long",
        format!("{name} is too long"),
        vec![FieldError::new(name, "too_long", "too long")],
    )
}

/// Read a report sent as a form or as multipart (with `photo`); the photo is limited to 5 MiB.
async fn read_sent(req: &HttpRequest, payload: web::Payload) -> ApiResult<Sent> {
    let essence = req.mime_type().ok().flatten().map(|m| m.essence_str().to_string()).unwrap_or_default();
    let mut sent = Sent::default();
    let text = |name: &str, bytes: &[u8]| -> ApiResult<String> {
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            ApiError::invalid(
                "invalid_characters",
                format!("{name} is not UTF-8 text"),
                vec![FieldError::new(name, "invalid_characters", "not UTF-8 text")],
            )
        })
    };
    match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            let mut body = web::BytesMut::new();
            let mut payload = payload;
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_form", format!("the form could not be read: {e}")))?;
                if body.len() + chunk.len() > super::JSON_LIMIT {
                    return Err(ApiError::too_large("the form is too large"));
                }
                body.extend_from_slice(&chunk);
            }
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::bad_request("invalid_form", format!("the form could not be read: {e}")))?;
            for (k, v) in pairs {
                match k.as_str() {
                    "category" => sent.category = Some(v),
                    "description" => sent.description = Some(v),
                    "email" => sent.email = Some(v),
                    "csrf" | "lang" => {}
                    other => return Err(unknown_field(other)),
                }
            }
        }
        "multipart/form-data" => {
            let mut form = Multipart::new(req.headers(), payload);
            while let Some(mut field) = form
                .try_next()
                .await
                .map_err(|e| ApiError::bad_request("invalid_multipart", format!("the form could not be read: {e}")))?
            {
                let name = field.name().unwrap_or("").to_string();
                let limit = if name == "photo" { MAX_PHOTO } else { super::JSON_LIMIT };
                let Some(buf) = super::assessments::read_part(&mut field, limit).await? else {
                    return Err(if name == "photo" {
                        ApiError::too_large(format!("a photo is limited to {} MiB", MAX_PHOTO / 1024 / 1024))
                    } else {
                        too_long(&name)
                    });
                };
                match name.as_str() {
                    "category" => sent.category = Some(text("category", &buf)?),
                    "description" => sent.description = Some(text("description", &buf)?),
                    "email" => sent.email = Some(text("email", &buf)?),
                    // A browser sends an empty part when no photo was chosen.
                    "photo" => sent.photo = Some(buf).filter(|b| !b.is_empty()),
                    "csrf" | "lang" => {}
                    other => return Err(unknown_field(other)),
                }
            }
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the report as application/x-www-form-urlencoded or multipart/form-data",
            ))
        }
    }
    Ok(sent)
}

fn unknown_field(name: &str) -> ApiError {
    ApiError::invalid(
        "unknown_field",
        format!("unknown form field `{name}`"),
        vec![FieldError::new(name, "unknown_field", "expected category, description, email, photo")],
    )
}

fn photo_type(bytes: &[u8]) -> ApiResult<&'static str> {
    match super::assessments::sniff(bytes) {
        Some(t @ ("image/jpeg" | "image/png")) => Ok(t),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a photo must be a JPEG or PNG image (judged by its content)",
        )),
    }
}

/// The reply to a report: its reference, which the reporter quotes when they write again.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ComplaintReceipt {
    /// `CMP-XXXX-XXXX`.
    pub reference: String,
    pub certificate: String,
    pub status: ComplaintStatus,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ComplaintForm {
    /// label_misuse, criteria_not_met or other.
    category: Category,
    /// What is wrong, 10 to 4000 characters.
    description: String,
    /// Optional: for the certification body to answer; never shown publicly.
    email: Option<String>,
    /// Optional JPEG or PNG, at most 5 MiB (multipart only).
    #[schema(value_type = Option<String>, format = Binary)]
    photo: Option<Vec<u8>>,
}

fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

#[utoipa::path(post, path = "/certificates/{number}/complaints", tag = "public", params(("number" = String, Path)),
    request_body(content = ComplaintForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ComplaintReceipt), (status = 404, body = super::error::ErrorBody), (status = 413, body = super::error::ErrorBody),
        (status = 415, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody), (status = 429, body = super::error::ErrorBody)))]
/// Report a problem with a label (no login; rate-limited per client). Browsers get a page with the reference.
pub async fn report(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<String>, payload: web::Payload) -> HttpResponse {
    let number = path.into_inner();
    let m = negotiate(&req);
    let html = wants_html(&req);
    let sent = match read_sent(&req, payload).await {
        Ok(s) => s,
        Err(e) => return e.error_response(),
    };
    let fail = |e: ApiError, sent: &Sent| {
        if html && e.status != StatusCode::NOT_FOUND {
            form_page(&req, &m, &s, e.status, &number, sent, &e.fields, Some(&e))
        } else {
            e.error_response()
        }
    };
    let report = match Report::parse(sent.category.as_deref(), sent.description.as_deref(), sent.email.as_deref()) {
        Ok(r) => r,
        Err(fields) => {
            return fail(
                ApiError::invalid("invalid_complaint", "the report is not complete: see `fields`", fields),
                &sent,
            )
        }
    };
    let photo = match &sent.photo {
        None => None,
        Some(bytes) => match photo_type(bytes) {
            Ok(t) => Some((bytes.clone(), t)),
            Err(e) => return fail(e, &sent),
        },
    };
    let lang = m.lang.to_string();
    let n = number.clone();
    let random: [u8; 5] = rand::random();
    let filed = state
        .db
        .write(move |c| ops::file(c, &n, &report, &lang, photo, random).map_err(crate::app::Error::into_storage))
        .await;
    let row = match filed {
        Ok(r) => r,
        Err(e) => return fail(missing("certificate")(e), &sent),
    };
    tracing::info!(complaint = %row.reference, certificate = %row.certificate_number, category = %row.category, "complaint received");
    if html {
        let body = html! {
            h1 { (m.t("complaint_received")) }
            section.status.status-valid role="status" {
                p { (m.t("complaint_thanks")) }
                p { (m.t("complaint_reference")) " " strong #reference { (row.reference) } }
            }
            p { a href={ "/certificates/" (row.certificate_number) "?lang=" (m.lang) } { (m.t("back_to_certificate")) } }
        };
        return html_response(StatusCode::CREATED, NO_STORE, layout(&req, &m, m.t("complaint_received"), body));
    }
    HttpResponse::Created().json(ComplaintReceipt {
        reference: row.reference,
        certificate: row.certificate_number,
        status: ComplaintStatus::Received,
    })
}

/// `GET /certificates/{number}/complaints/new`: the report form (public).
pub async fn new_page(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<String>) -> HttpResponse {
    let number = path.into_inner();
    let m = negotiate(&req);
    let n = number.clone();
    match state.db.read(move |c| storage::certificates::get(c, &n)).await {
        Ok(_) => form_page(&req, &m, &s, StatusCode::OK, &number, &Sent::default(), &[], None),
        Err(e) => missing("certificate")(e).error_response(),
    }
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    req: &HttpRequest,
    m: &Messages,
    s: &MaybeSession,
    status: StatusCode,
    number: &str,
    sent: &Sent,
    errors: &[FieldError],
    error: Option<&ApiError>,
) -> HttpResponse {
    let err = |f: &str| errors.iter().find(|e| e.field == f).map(|e| e.message.clone());
    let csrf = s.0.as_ref().map(|s| format!("&csrf={}", s.csrf)).unwrap_or_default();
    let chosen = sent.category.as_deref().unwrap_or("");
    let body = html! {
        h1 { (m.t("report_problem")) }
        @if let Some(e) = error {
            p.alert role="alert" #form-error { (match e.status.as_u16() { 413 => m.t("complaint_photo_too_large"), 415 => m.t("complaint_photo_type"), _ => m.t("form_invalid") }) }
        }
        p { (m.f("complaint_intro", &[("number", number)])) }
        form.stack method="post" enctype="multipart/form-data" action={ "/certificates/" (number) "/complaints?lang=" (m.lang) (csrf) } {
            fieldset {
                legend { (m.t("complaint_category")) }
                @for c in Category::ALL {
                    label.check {
                        input type="radio" name="category" value=(c.as_str()) required checked[chosen == c.as_str()] aria-describedby=[err("category").map(|_| "category-error")];
                        " " (category_text(m, c.as_str()))
                    }
                }
                @if let Some(e) = err("category") { p.field-error #category-error { (e) } }
            }
            label for="description" { (m.t("complaint_description")) }
            textarea #description name="description" rows="6" required minlength="10" maxlength="4000" aria-invalid=[err("description").map(|_| "true")] aria-describedby=[err("description").map(|_| "description-error")] { (sent.description.as_deref().unwrap_or("")) }
            @if let Some(e) = err("description") { p.field-error #description-error { (e) } }
            label for="email" { (m.t("complaint_email")) }
            input #email type="email" name="email" autocomplete="email" value=(sent.email.as_deref().unwrap_or("")) aria-describedby="email-help" aria-invalid=[err("email").map(|_| "true")];
            p.muted #email-help { (m.t("complaint_email_help")) }
            @if let Some(e) = err("email") { p.field-error { (e) } }
            label for="photo" { (m.t("complaint_photo")) }
            input #photo type="file" name="photo" accept="image/jpeg,image/png" capture="environment";
            button type="submit" { (m.t("complaint_send")) }
        }
    };
    html_response(status, NO_STORE, layout(req, m, m.t("report_problem"), body))
}

// ---- officers: the API ----

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
            status: storage::complaints::status_of(&r)?,
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
    responses((status = 200, body = ComplaintList), (status = 400, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)))]
/// Complaints, newest first (officers and admins).
pub async fn list(state: web::Data<AppState>, auth: Auth, q: web::Query<ComplaintListParams>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Officer, Role::Admin])?.clone();
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_limit", "limit must be between 1 and 200"));
    }
    let (status, before) = (q.status, q.before);
    let rows = state
        .db
        .read(move |c| ops::list(c, &caller, status, before, limit + 1).map_err(crate::app::Error::into_storage))
        .await?;
    let (rows, next_before) = super::keyset_page(rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(ComplaintList {
        items: rows.into_iter().map(ComplaintResponse::new).collect::<ApiResult<_>>()?,
        next_before,
    }))
}

#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "complaints", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ComplaintResponse), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Officer, Role::Admin])?.clone();
    let id = path.into_inner();
    let row = state
        .db
        .read(move |c| ops::get(c, &caller, id).map_err(crate::app::Error::into_storage))
        .await
        .map_err(missing(NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(ComplaintResponse::new(row)?))
}

#[utoipa::path(get, path = "/api/v1/complaints/{id}/photo", tag = "complaints", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "the photo (JPEG or PNG)", content_type = "image/jpeg"), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn photo(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Officer, Role::Admin])?.clone();
    let id = path.into_inner();
    let photo = state
        .db
        .read(move |c| ops::photo(c, &caller, id).map_err(crate::app::Error::into_storage))
        .await
        .map_err(missing(NOT_FOUND))?;
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
    responses((status = 200, body = ComplaintResponse), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
/// Acknowledge, investigate (optionally linking a special audit) or close with an outcome (optionally
/// suspending the certificate).
pub async fn triage(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<TriageBody>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Officer, Role::Admin])?.clone();
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
            ops::triage(c, &caller, id, &t, &log).map_err(crate::app::Error::into_storage)
        })
        .await
        .map_err(missing(NOT_FOUND))?;
    if let Some(cert) = suspended {
        super::certificates::changed(state, &cert.number).await;
    }
    Ok(row)
}

// ---- officers: the portal ----

fn status_text(m: &Messages, s: &str) -> String {
    let key = match ComplaintStatus::parse(s) {
        Some(ComplaintStatus::Received) => "complaint_status_received",
        Some(ComplaintStatus::Acknowledged) => "complaint_status_acknowledged",
        Some(ComplaintStatus::Investigating) => "complaint_status_investigating",
        Some(ComplaintStatus::Closed) => "complaint_status_closed",
        None => return s.to_string(),
    };
    m.t(key).to_string()
}

fn category_text(m: &Messages, c: &str) -> String {
    Category::parse(c).map_or_else(|| c.to_string(), |c| m.t(c.message_key()).to_string())
}

/// `/app/complaints`: complaints newest first, open ones by default.
pub async fn portal_list(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, q: web::Query<PortalListParams>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let status = q.status.as_deref().and_then(ComplaintStatus::parse);
    let caller = s.caller.clone();
    let rows = match state
        .db
        .read(move |c| ops::list(c, &caller, status, None, 100).map_err(crate::app::Error::into_storage))
        .await
    {
        Ok(r) => r,
        Err(e) => return super::error::error_page(e),
    };
    let body = html! {
        form.inline method="get" action="/app/complaints" {
            label for="status" { (m.t("col_status")) }
            select #status name="status" {
                option value="" { (m.t("all_statuses")) }
                @for st in ComplaintStatus::ALL {
                    option value=(st.as_str()) selected[status == Some(st)] { (status_text(&m, st.as_str())) }
                }
            }
            button type="submit" { (m.t("search_button")) }
        }
        @if rows.is_empty() {
            p { (m.t("no_results")) }
        } @else {
            table {
                thead { tr { th { (m.t("complaint_ref")) } th { (m.t("col_number")) } th { (m.t("complaint_category")) } th { (m.t("col_status")) } th { (m.t("complaint_received_at")) } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td data-label=(m.t("complaint_ref")) { a href={ "/app/complaints/" (r.id) } { (r.reference) } }
                            td data-label=(m.t("col_number")) { (r.certificate_number) }
                            td data-label=(m.t("complaint_category")) { (category_text(&m, &r.category)) }
                            td data-label=(m.t("col_status")) { (status_text(&m, &r.status)) }
                            td data-label=(m.t("complaint_received_at")) { (r.created_at.format("%Y-%m-%d %H:%M")) }
                        }
                    }
                }
            }
        }
    };
    page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_complaints"), body)
}

#[derive(Deserialize)]
pub struct PortalListParams {
    pub status: Option<String>,
}

/// `/app/complaints/{id}`: the report, its photo, and the triage form.
pub async fn portal_detail(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let id = path.into_inner();
    let caller = s.caller.clone();
    match state.db.read(move |c| ops::get(c, &caller, id).map_err(crate::app::Error::into_storage)).await {
        Ok(row) => detail_page(&req, &m, &s, StatusCode::OK, &row, None),
        Err(e) => super::error::error_page(e),
    }
}

fn detail_page(req: &HttpRequest, m: &Messages, s: &super::session::Session, status: StatusCode, r: &ComplaintRow, error: Option<&str>) -> HttpResponse {
    let open = r.status != ComplaintStatus::Closed.as_str();
    let body = html! {
        @if let Some(e) = error { p.alert role="alert" #form-error { (e) } }
        dl.facts {
            dt { (m.t("col_number")) } dd { a href={ "/app/certificates/" (r.certificate_number) } { (r.certificate_number) } }
            dt { (m.t("complaint_category")) } dd { (category_text(m, &r.category)) }
            dt { (m.t("col_status")) } dd { (status_text(m, &r.status)) }
            dt { (m.t("complaint_received_at")) } dd { (r.created_at.format("%Y-%m-%d %H:%M")) " UTC" }
            dt { (m.t("complaint_description")) } dd { (r.description) }
            @if let Some(e) = &r.email { dt { (m.t("complaint_email")) } dd { a href={ "mailto:" (e) } { (e) } " (" (r.language) ")" } }
            @if r.photo_type.is_some() { dt { (m.t("complaint_photo")) } dd { a href={ "/api/v1/complaints/" (r.id) "/photo" } { (m.t("complaint_open_photo")) } } }
            @if let Some(o) = &r.outcome { dt { (m.t("complaint_outcome")) } dd { (o) } }
            @if let Some(a) = r.assessment_id { dt { (m.t("complaint_audit")) } dd { a href={ "/app/assessments/" (a) } { "#" (a) } } }
            @if r.suspended { dt { (m.t("complaint_suspended")) } dd { (m.t("yes")) } }
        }
        @if open {
            form.stack method="post" action={ "/app/complaints/" (r.id) } {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="outcome" { (m.t("complaint_outcome")) }
                textarea #outcome name="outcome" rows="4" maxlength="4000" aria-describedby="outcome-help" {}
                p.muted #outcome-help { (m.t("complaint_outcome_help")) }
                label for="assessment_id" { (m.t("complaint_audit")) }
                input #assessment_id type="number" name="assessment_id" min="1" inputmode="numeric";
                label for="suspend_reason" { (m.t("complaint_suspend_reason")) }
                input #suspend_reason type="text" name="suspend_reason" maxlength="1000";
                div.actions {
                    @if r.status == ComplaintStatus::Received.as_str() { button.secondary type="submit" name="action" value="acknowledge" { (m.t("complaint_acknowledge")) } }
                    @if r.status != ComplaintStatus::Investigating.as_str() { button.secondary type="submit" name="action" value="investigate" { (m.t("complaint_investigate")) } }
                    button type="submit" name="action" value="close" { (m.t("complaint_close")) }
                }
            }
        }
        p { a href="/app/complaints" { (m.t("nav_complaints")) } }
    };
    page(req, m, status, Some(s), &r.reference, body)
}

#[derive(Deserialize)]
pub struct TriageForm {
    pub action: String,
    pub outcome: Option<String>,
    pub assessment_id: Option<String>,
    pub suspend_reason: Option<String>,
}

/// `POST /app/complaints/{id}`: a triage step from the portal.
pub async fn portal_triage(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>, form: web::Form<TriageForm>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let id = path.into_inner();
    let f = form.into_inner();
    let action = match f.action.as_str() {
        "acknowledge" => Triage::Acknowledge,
        "investigate" => Triage::Investigate,
        "close" => Triage::Close,
        _ => return ApiError::bad_request("invalid_action", "acknowledge, investigate or close").error_response(),
    };
    let assessment_id = match f.assessment_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => match a.parse() {
            Ok(n) => Some(n),
            Err(_) => return ApiError::bad_request("invalid_assessment_id", "the audit number is not a number").error_response(),
        },
    };
    let body = TriageBody {
        action,
        outcome: f.outcome,
        assessment_id,
        suspend_reason: f.suspend_reason,
    };
    match triage_as(&state, s.caller.clone(), id, body).await {
        Ok(_) => see_other(&format!("/app/complaints/{id}")),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let key = match e.code {
                "outcome_required" => "complaint_outcome_required",
                "illegal_transition" | "complaint_changed" => "decided_meanwhile",
                _ => "form_invalid",
            };
            let caller = s.caller.clone();
            match state.db.read(move |c| ops::get(c, &caller, id).map_err(crate::app::Error::into_storage)).await {
                Ok(row) => detail_page(&req, &m, &s, e.status, &row, Some(m.t(key))),
                Err(e) => super::error::error_page(e),
            }
        }
        Err(e) => e.error_response(),
    }
}

// Appeals on the web: the API (a venue manager files one with a statement and files; officers and admins
// who took no part decide it) and the portal pages (the appeal form, the list, an appeal with its decision form).

use super::assessments::{judge, read_part, Judged, MAX_EVIDENCE_BYTES};
use super::auth::Auth;
use super::error::{missing, ApiError, ApiResult};
use super::i18n::{negotiate, Messages};
use super::session::{MaybeSession, Session};
use super::signin::{page, see_other, signed_in};
use super::AppState;
use crate::app::appeals::{self as ops, Filing};
use crate::domain::appeal::{AppealOutcome, AppealStatus, Subject, MAX_FILES};
use crate::domain::auth::{Caller, Role};
use crate::domain::scoring::FieldError;
use crate::storage::models::{AppealFileMeta, AppealRow};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::TryStreamExt;
use maud::html;
use serde::{Deserialize, Serialize};

const NOT_FOUND: &str = "appeal";

#[derive(Serialize, utoipa::ToSchema)]
pub struct AppealFileResponse {
    pub id: i64,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub href: String,
}

impl From<AppealFileMeta> for AppealFileResponse {
    fn from(f: AppealFileMeta) -> Self {
        AppealFileResponse {
            href: format!("/api/v1/appeals/{}/files/{}", f.appeal_id, f.id),
            id: f.id,
            filename: f.filename,
            media_type: f.media_type,
            size: f.size,
            sha256: f.sha256,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AppealResponse {
    pub id: i64,
    pub venue_id: i64,
    pub subject: Subject,
    /// The rejected audit (subject `rejection`).
    pub assessment_id: Option<i64>,
    /// The suspended or withdrawn certificate.
    pub certificate: Option<String>,
    /// When the decision appealed was made (appeals are open for 30 days after it).
    pub appealed_at: chrono::DateTime<chrono::Utc>,
    pub statement: String,
    pub status: AppealStatus,
    pub decided_by: Option<i64>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub files: Vec<AppealFileResponse>,
}

fn respond(r: AppealRow, files: Vec<AppealFileMeta>) -> ApiResult<AppealResponse> {
    Ok(AppealResponse {
        subject: crate::storage::appeals::subject_of(&r)?,
        status: crate::storage::appeals::status_of(&r)?,
        id: r.id,
        venue_id: r.venue_id,
        assessment_id: r.assessment_id,
        certificate: r.certificate_number,
        appealed_at: r.appealed_at.and_utc(),
        statement: r.statement,
        decided_by: r.decided_by,
        decision_reason: r.decision_reason,
        decided_at: r.decided_at.map(|t| t.and_utc()),
        created_at: r.created_at.and_utc(),
        files: files.into_iter().map(AppealFileResponse::from).collect(),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    pub subject: Subject,
    /// For `rejection`: the rejected audit.
    pub assessment_id: Option<i64>,
    /// For `suspension` and `withdrawal`: the certificate.
    pub certificate: Option<String>,
    /// Why the decision is wrong, 20 to 8000 characters.
    pub statement: String,
}

async fn lodge_as(state: &web::Data<AppState>, caller: Caller, b: AppealRequest) -> ApiResult<AppealRow> {
    Ok(state
        .db
        .write(move |c| {
            let f = Filing {
                subject: b.subject,
                assessment_id: b.assessment_id,
                certificate: b.certificate.as_deref(),
                statement: &b.statement,
            };
            ops::lodge(c, &caller, &f).map_err(crate::app::Error::into_storage)
        })
        .await?)
}

#[utoipa::path(post, path = "/api/v1/appeals", tag = "appeals", security(("bearer" = [])), request_body = AppealRequest,
    responses((status = 201, body = AppealResponse), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
/// A venue manager appeals a rejection, suspension or withdrawal of their venue, within 30 days of it.
pub async fn create(state: web::Data<AppState>, auth: Auth, body: web::Json<AppealRequest>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Venue])?.clone();
    let row = lodge_as(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(respond(row, vec![])?))
}

/// Judge every uploaded file (type by content, clean name, SHA-256) before anything is stored.
fn judge_all(files: Vec<(String, Vec<u8>)>) -> ApiResult<Vec<Judged>> {
    files.into_iter().map(|(n, b)| judge(&n, b, "an appeal file", "file")).collect()
}

/// Read the multipart fields: text fields by name, and every `file` part (empty, nameless parts skipped).
async fn read_form(mut form: Multipart) -> ApiResult<(Vec<(String, String)>, Vec<(String, Vec<u8>)>)> {
    let (mut fields, mut files) = (vec![], vec![]);
    while let Some(mut field) = form
        .try_next()
        .await
        .map_err(|e| ApiError::bad_request("invalid_multipart", format!("the upload could not be read: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let filename = field.content_disposition().and_then(|d| d.get_filename()).unwrap_or("").to_string();
            let bytes = read_part(&mut field, MAX_EVIDENCE_BYTES)
                .await?
                .ok_or_else(|| ApiError::too_large(format!("files are limited to {} MiB", MAX_EVIDENCE_BYTES / 1024 / 1024)))?;
            if filename.is_empty() && bytes.is_empty() {
                continue;
            }
            if files.len() >= MAX_FILES {
                return Err(ApiError::invalid(
                    "too_many_files",
                    format!("at most {MAX_FILES} files"),
                    vec![FieldError::new("file", "too_many", "too many files")],
                ));
            }
            files.push((filename, bytes));
        } else {
            let bytes = read_part(&mut field, super::JSON_LIMIT).await?.ok_or_else(|| {
                ApiError::invalid(
                    "field_too_long",
                    format!("{name} is too long"),
                    vec![FieldError::new(&name, "too_long", "too long")],
                )
            })?;
            let text = String::from_utf8(bytes).map_err(|_| ApiError::invalid("invalid_characters", format!("{name} is not UTF-8 text"), vec![]))?;
            fields.push((name, text));
        }
    }
    Ok((fields, files))
}

async fn attach(state: &web::Data<AppState>, caller: Caller, id: i64, files: Vec<Judged>) -> ApiResult<Vec<AppealFileMeta>> {
    state
        .db
        .write(move |c| {
            files
                .iter()
                .map(|f| ops::add_file(c, &caller, id, &f.filename, f.media_type, &f.sha256, &f.content).map_err(crate::app::Error::into_storage))
                .collect()
        })
        .await
        .map_err(missing(NOT_FOUND))
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AppealUpload {
    /// PDF, JPEG or PNG, at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/appeals/{id}/files", tag = "appeals", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body(content = AppealUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = [AppealFileResponse]), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody), (status = 413, body = super::error::ErrorBody), (status = 415, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
/// Add files to an open appeal (its venue's manager).
pub async fn upload(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, form: Multipart) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Venue])?.clone();
    let (fields, files) = read_form(form).await?;
    if let Some((name, _)) = fields.first() {
        return Err(ApiError::invalid(
            "unknown_field",
            format!("unknown form field `{name}`"),
            vec![FieldError::new(name, "unknown_field", "expected file")],
        ));
    }
    if files.is_empty() {
        return Err(ApiError::invalid(
            "missing_file",
            "send a `file`",
            vec![FieldError::new("file", "required", "a file is required")],
        ));
    }
    let metas = attach(&state, caller, path.into_inner(), judge_all(files)?).await?;
    Ok(HttpResponse::Created().json(metas.into_iter().map(AppealFileResponse::from).collect::<Vec<_>>()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AppealListParams {
    pub status: Option<AppealStatus>,
    /// Keyset cursor: appeals older than this id (`next_before` of the previous page).
    pub before: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AppealList {
    pub items: Vec<AppealResponse>,
    pub next_before: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/appeals", tag = "appeals", security(("bearer" = [])), params(AppealListParams),
    responses((status = 200, body = AppealList), (status = 400, body = super::error::ErrorBody)))]
/// Appeals, newest first: officers and admins see all, a venue's manager their venue's.
pub async fn list(state: web::Data<AppState>, auth: Auth, q: web::Query<AppealListParams>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
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
    Ok(HttpResponse::Ok().json(AppealList {
        items: rows.into_iter().map(|r| respond(r, vec![])).collect::<ApiResult<_>>()?,
        next_before,
    }))
}

async fn load(state: &web::Data<AppState>, caller: Caller, id: i64) -> ApiResult<(AppealRow, Vec<AppealFileMeta>)> {
    state
        .db
        .read(move |c| {
            let row = ops::get_visible(c, &caller, id).map_err(crate::app::Error::into_storage)?;
            let files = ops::files(c, &caller, id).map_err(crate::app::Error::into_storage)?;
            Ok((row, files))
        })
        .await
        .map_err(missing(NOT_FOUND))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}", tag = "appeals", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = AppealResponse), (status = 404, body = super::error::ErrorBody)))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (row, files) = load(&state, auth.0, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(respond(row, files)?))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/files/{file_id}", tag = "appeals", security(("bearer" = [])), params(("id" = i64, Path), ("file_id" = i64, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 404, body = super::error::ErrorBody)))]
pub async fn download(state: web::Data<AppState>, auth: Auth, path: web::Path<(i64, i64)>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let (id, file_id) = path.into_inner();
    let (meta, content) = state
        .db
        .read(move |c| ops::file(c, &caller, id, file_id).map_err(crate::app::Error::into_storage))
        .await
        .map_err(missing("file"))?;
    Ok(HttpResponse::Ok()
        .content_type(meta.media_type.as_str())
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{}\"", meta.filename.replace(|c: char| !c.is_ascii() || c == '"', "_")),
        ))
        .insert_header(("cache-control", "private, no-store"))
        .body(content))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealDecision {
    /// `upheld` reverses the decision appealed (reopens the audit, or makes the certificate valid again);
    /// `dismissed` keeps it.
    pub outcome: AppealOutcome,
    /// Why, for the venue.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/appeals/{id}/decision", tag = "appeals", security(("bearer" = [])), params(("id" = i64, Path)), request_body = AppealDecision,
    responses((status = 200, body = AppealResponse), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
/// Decide an appeal (officers and admins who took no part in the decision appealed: `403 took_part`).
pub async fn decide(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<AppealDecision>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Officer, Role::Admin])?.clone();
    let id = path.into_inner();
    decide_as(&state, caller.clone(), id, body.into_inner()).await?;
    let (row, files) = load(&state, caller, id).await?;
    Ok(HttpResponse::Ok().json(respond(row, files)?))
}

async fn decide_as(state: &web::Data<AppState>, caller: Caller, id: i64, b: AppealDecision) -> ApiResult<AppealRow> {
    let log = state.log_key.clone();
    let row = state
        .db
        .write(move |c| ops::decide(c, &caller, id, b.outcome, Some(&b.reason), &log).map_err(crate::app::Error::into_storage))
        .await
        .map_err(missing(NOT_FOUND))?;
    if let Some(n) = &row.certificate_number {
        super::certificates::changed(state, n).await;
    }
    Ok(row)
}

// ---- the portal ----

fn subject_text(m: &Messages, s: &str) -> String {
    let key = match Subject::parse(s) {
        Some(Subject::Rejection) => "appeal_subject_rejection",
        Some(Subject::Suspension) => "appeal_subject_suspension",
        Some(Subject::Withdrawal) => "appeal_subject_withdrawal",
        None => return s.to_string(),
    };
    m.t(key).to_string()
}

fn status_text(m: &Messages, s: &str) -> String {
    let key = match AppealStatus::parse(s) {
        Some(AppealStatus::Open) => "appeal_status_open",
        Some(AppealStatus::Upheld) => "appeal_status_upheld",
        Some(AppealStatus::Dismissed) => "appeal_status_dismissed",
        None => return s.to_string(),
    };
    m.t(key).to_string()
}

#[derive(Deserialize)]
pub struct NewParams {
    pub certificate: Option<String>,
    pub assessment: Option<i64>,
    pub subject: Option<String>,
}

/// `/app/appeals/new?certificate=…&subject=suspension|withdrawal` or `?assessment=…`: the appeal form.
pub async fn new_page(req: HttpRequest, s: MaybeSession, q: web::Query<NewParams>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    form_page(&req, &m, &s, StatusCode::OK, &q, None)
}

fn form_page(req: &HttpRequest, m: &Messages, s: &Session, status: StatusCode, q: &NewParams, error: Option<&str>) -> HttpResponse {
    let subject = match (&q.assessment, q.subject.as_deref()) {
        (Some(_), _) => "rejection",
        (None, Some("withdrawal")) => "withdrawal",
        _ => "suspension",
    };
    let what = match (&q.assessment, &q.certificate) {
        (Some(a), _) => format!("#{a}"),
        (None, Some(c)) => c.clone(),
        _ => String::new(),
    };
    let body = html! {
        @if let Some(e) = error { p.alert role="alert" #form-error { (e) } }
        p { (m.f("appeal_intro", &[("what", &format!("{} {what}", subject_text(m, subject)))])) }
        form.stack method="post" enctype="multipart/form-data" action={ "/app/appeals?csrf=" (s.csrf) } {
            input type="hidden" name="subject" value=(subject);
            @if let Some(a) = q.assessment { input type="hidden" name="assessment_id" value=(a); }
            @if let Some(c) = &q.certificate { input type="hidden" name="certificate" value=(c); }
            label for="statement" { (m.t("appeal_statement")) }
            textarea #statement name="statement" rows="8" required minlength="20" maxlength="8000" aria-describedby="statement-help" {}
            p.muted #statement-help { (m.t("appeal_statement_help")) }
            label for="file" { (m.t("appeal_files")) }
            input #file type="file" name="file" multiple accept="application/pdf,image/jpeg,image/png";
            button type="submit" { (m.t("appeal_send")) }
        }
    };
    page(req, m, status, Some(s), m.t("appeal_title"), body)
}

/// `POST /app/appeals` (multipart, the token in the action URL): file the appeal with its files.
pub async fn portal_create(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, form: Multipart) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let (fields, files) = match read_form(form).await {
        Ok(x) => x,
        Err(e) => return e.error_response(),
    };
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let params = NewParams {
        certificate: get("certificate").filter(|c| !c.is_empty()),
        assessment: get("assessment_id").and_then(|a| a.parse().ok()),
        subject: get("subject"),
    };
    let Some(subject) = params.subject.as_deref().and_then(Subject::parse) else {
        return ApiError::bad_request("invalid_subject", "rejection, suspension or withdrawal").error_response();
    };
    let body = AppealRequest {
        subject,
        assessment_id: params.assessment,
        certificate: params.certificate.clone(),
        statement: get("statement").unwrap_or_default(),
    };
    // Files are judged before anything is stored, so a bad file leaves no appeal behind.
    let files = match judge_all(files) {
        Ok(f) => f,
        Err(e) => return form_page(&req, &m, &s, e.status, &params, Some(m.t("appeal_file_refused"))),
    };
    let row = match lodge_as(&state, s.caller.clone(), body).await {
        Ok(r) => r,
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let key = match e.code {
                "invalid_statement" => "appeal_statement_help",
                "appeal_window_closed" => "appeal_window_closed",
                "appeal_pending" => "appeal_pending",
                _ => "form_invalid",
            };
            return form_page(&req, &m, &s, e.status, &params, Some(m.t(key)));
        }
        Err(e) => return e.error_response(),
    };
    if let Err(e) = attach(&state, s.caller.clone(), row.id, files).await {
        return e.error_response();
    }
    see_other(&format!("/app/appeals/{}", row.id))
}

/// `/app/appeals`: officers see all appeals, a venue's manager their own, newest first.
pub async fn portal_list(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let caller = s.caller.clone();
    let rows = match state
        .db
        .read(move |c| ops::list(c, &caller, None, None, 100).map_err(crate::app::Error::into_storage))
        .await
    {
        Ok(r) => r,
        Err(e) => return super::error::error_page(e),
    };
    let body = html! {
        @if rows.is_empty() {
            p { (m.t("no_results")) }
        } @else {
            table {
                thead { tr { th { "#" } th { (m.t("appeal_subject")) } th { (m.t("col_status")) } th { (m.t("complaint_received_at")) } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td data-label="#" { a href={ "/app/appeals/" (r.id) } { (r.id) } }
                            td data-label=(m.t("appeal_subject")) { (subject_text(&m, &r.subject)) " " (r.certificate_number.clone().unwrap_or_else(|| r.assessment_id.map(|a| format!("#{a}")).unwrap_or_default())) }
                            td data-label=(m.t("col_status")) { (status_text(&m, &r.status)) }
                            td data-label=(m.t("complaint_received_at")) { (r.created_at.format("%Y-%m-%d %H:%M")) }
                        }
                    }
                }
            }
        }
    };
    page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_appeals"), body)
}

/// `/app/appeals/{id}`: the appeal, its files, and (officers who took no part) the decision form.
pub async fn portal_detail(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    match load(&state, s.caller.clone(), path.into_inner()).await {
        Ok((row, files)) => detail_page(&req, &m, &s, StatusCode::OK, &row, &files, None),
        Err(e) => e.error_response(),
    }
}

fn detail_page(req: &HttpRequest, m: &Messages, s: &Session, status: StatusCode, r: &AppealRow, files: &[AppealFileMeta], error: Option<&str>) -> HttpResponse {
    let officer = s.caller.has_any(&[Role::Officer, Role::Admin]);
    let open = r.status == AppealStatus::Open.as_str();
    let body = html! {
        @if let Some(e) = error { p.alert role="alert" #form-error { (e) } }
        dl.facts {
            dt { (m.t("appeal_subject")) } dd {
                (subject_text(m, &r.subject)) " "
                @if let Some(c) = &r.certificate_number { a href={ "/app/certificates/" (c) } { (c) } }
                @if let Some(a) = r.assessment_id { a href={ "/app/assessments/" (a) } { "#" (a) } }
            }
            dt { (m.t("col_status")) } dd { (status_text(m, &r.status)) }
            dt { (m.t("appeal_statement")) } dd { (r.statement) }
            @if !files.is_empty() {
                dt { (m.t("appeal_files")) }
                dd { ul { @for f in files { li { a href={ "/api/v1/appeals/" (r.id) "/files/" (f.id) } { (f.filename) } } } } }
            }
            @if let Some(reason) = &r.decision_reason { dt { (m.t("field_reason")) } dd { (reason) } }
        }
        @if officer && open {
            form.stack method="post" action={ "/app/appeals/" (r.id) } {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="reason" { (m.t("field_reason")) }
                textarea #reason name="reason" rows="4" required maxlength="8000" {}
                div.actions {
                    button type="submit" name="outcome" value="upheld" { (m.t("appeal_uphold")) }
                    button.secondary type="submit" name="outcome" value="dismissed" { (m.t("appeal_dismiss")) }
                }
            }
        }
        p { a href="/app/appeals" { (m.t("nav_appeals")) } }
    };
    page(req, m, status, Some(s), &format!("{} #{}", m.t("appeal_title"), r.id), body)
}

#[derive(Deserialize)]
pub struct DecisionForm {
    pub outcome: String,
    pub reason: Option<String>,
}

/// `POST /app/appeals/{id}`: the decision from the portal.
pub async fn portal_decide(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>, form: web::Form<DecisionForm>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let id = path.into_inner();
    let outcome = match form.outcome.as_str() {
        "upheld" => AppealOutcome::Upheld,
        "dismissed" => AppealOutcome::Dismissed,
        _ => return ApiError::bad_request("invalid_outcome", "upheld or dismissed").error_response(),
    };
    let b = AppealDecision {
        outcome,
        reason: form.reason.clone().unwrap_or_default(),
    };
    match decide_as(&state, s.caller.clone(), id, b).await {
        Ok(_) => see_other(&format!("/app/appeals/{id}")),
        Err(e) if matches!(e.status.as_u16(), 403 | 409 | 422) => {
            let key = match e.code {
                "took_part" => "appeal_took_part",
                "reason_required" => "appeal_reason_required",
                "cannot_reverse" => "appeal_cannot_reverse",
                _ => "decided_meanwhile",
            };
            match load(&state, s.caller.clone(), id).await {
                Ok((row, files)) => detail_page(&req, &m, &s, e.status, &row, &files, Some(m.t(key))),
                Err(e) => e.error_response(),
            }
        }
        Err(e) => e.error_response(),
    }
}

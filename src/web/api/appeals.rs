// Appeals in the JSON API: a venue manager files one with a statement and files; officers and admins who
// took no part decide it. The portal's pages for the same operations are in web/portal/appeals.rs.

use crate::app::appeals::{self as ops, Filing};
use crate::app::rows::{AppealFileMeta, AppealRow};
use crate::domain::appeal::{AppealOutcome, AppealStatus, Subject, MAX_FILES};
use crate::domain::auth::{Caller, Role};
use crate::domain::scoring::FieldError;
use crate::web::api::assessments::MAX_EVIDENCE_BYTES;
use crate::web::auth::Auth;
use crate::web::error::{missing, ApiError, ApiResult};
use crate::web::uploads::{judge, read_part, Judged};
use crate::web::AppState;
use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

pub(crate) const NOT_FOUND: &str = "appeal";

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

pub(crate) fn respond(r: AppealRow, files: Vec<AppealFileMeta>) -> ApiResult<AppealResponse> {
    Ok(AppealResponse {
        subject: crate::app::rows::appeal::subject_of(&r)?,
        status: crate::app::rows::appeal::status_of(&r)?,
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

pub(crate) async fn lodge_as(state: &web::Data<AppState>, caller: Caller, b: AppealRequest) -> ApiResult<AppealRow> {
    let now = state.clock.now();
    Ok(state
        .db
        .write(move |c| {
            let f = Filing {
                subject: b.subject,
                assessment_id: b.assessment_id,
                certificate: b.certificate.as_deref(),
                statement: &b.statement,
            };
            ops::lodge(c, &caller, &f, now)
        })
        .await?)
}

#[utoipa::path(post, path = "/api/v1/appeals", tag = "appeals", security(("bearer" = [])), request_body = AppealRequest,
    responses((status = 201, body = AppealResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody),
        (status = 409, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
/// A venue manager appeals a rejection, suspension or withdrawal of their venue, within 30 days of it.
pub async fn create(state: web::Data<AppState>, auth: Auth, body: web::Json<AppealRequest>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Venue])?.clone();
    let row = lodge_as(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(respond(row, vec![])?))
}

/// Judge every uploaded file (type by content, clean name, SHA-256) before anything is stored.
pub(crate) fn judge_all(files: Vec<(String, Vec<u8>)>) -> ApiResult<Vec<Judged>> {
    files.into_iter().map(|(n, b)| judge(&n, b, "an appeal file", "file")).collect()
}

/// Read the multipart fields: text fields by name, and every `file` part (empty, nameless parts skipped).
pub(crate) async fn read_form(mut form: Multipart) -> ApiResult<(Vec<(String, String)>, Vec<(String, Vec<u8>)>)> {
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
            let bytes = read_part(&mut field, crate::web::JSON_LIMIT).await?.ok_or_else(|| {
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

pub(crate) async fn attach(state: &web::Data<AppState>, caller: Caller, id: i64, files: Vec<Judged>) -> ApiResult<Vec<AppealFileMeta>> {
    let files = files
        .into_iter()
        .map(|f| ops::NewFile {
            filename: f.filename,
            media_type: f.media_type,
            sha256: f.sha256,
            content: f.content,
        })
        .collect();
    ops::attach(state, caller, id, files).await.map_err(missing(NOT_FOUND))
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
    responses((status = 201, body = [AppealFileResponse]), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody),
        (status = 409, body = crate::web::error::ErrorBody), (status = 413, body = crate::web::error::ErrorBody), (status = 415, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
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
    responses((status = 200, body = AppealList), (status = 400, body = crate::web::error::ErrorBody)))]
/// Appeals, newest first: officers and admins see all, a venue's manager their venue's.
pub async fn list(state: web::Data<AppState>, auth: Auth, q: web::Query<AppealListParams>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_limit", "limit must be between 1 and 200"));
    }
    let (status, before) = (q.status, q.before);
    let rows = state.db.read(move |c| ops::list(c, &caller, status, before, limit + 1)).await?;
    let (rows, next_before) = crate::web::keyset_page(rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(AppealList {
        items: rows.into_iter().map(|r| respond(r, vec![])).collect::<ApiResult<_>>()?,
        next_before,
    }))
}

pub(crate) async fn load(state: &web::Data<AppState>, caller: Caller, id: i64) -> ApiResult<(AppealRow, Vec<AppealFileMeta>)> {
    state
        .db
        .read(move |c| crate::app::views::appeal(c, &caller, id))
        .await
        .map_err(missing(NOT_FOUND))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}", tag = "appeals", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = AppealResponse), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (row, files) = load(&state, auth.0, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(respond(row, files)?))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/files/{file_id}", tag = "appeals", security(("bearer" = [])), params(("id" = i64, Path), ("file_id" = i64, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn download(state: web::Data<AppState>, auth: Auth, path: web::Path<(i64, i64)>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let (id, file_id) = path.into_inner();
    let (meta, content) = state.db.read(move |c| ops::file(c, &caller, id, file_id)).await.map_err(missing("file"))?;
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
    responses((status = 200, body = AppealResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody),
        (status = 409, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
/// Decide an appeal (officers and admins who took no part in the decision appealed: `403 took_part`).
pub async fn decide(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<AppealDecision>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    decide_as(&state, caller.clone(), id, body.into_inner()).await?;
    let (row, files) = load(&state, caller, id).await?;
    Ok(HttpResponse::Ok().json(respond(row, files)?))
}

pub(crate) async fn decide_as(state: &web::Data<AppState>, caller: Caller, id: i64, b: AppealDecision) -> ApiResult<AppealRow> {
    let log = state.log_key.clone();
    let row = state
        .db
        .write(move |c| ops::decide(c, &caller, id, b.outcome, Some(&b.reason), &log))
        .await
        .map_err(missing(NOT_FOUND))?;
    if let Some(n) = &row.certificate_number {
        crate::web::api::certificates::changed(state, n).await;
    }
    Ok(row)
}

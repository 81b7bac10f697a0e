// Assessments over HTTP: create, fill measurements, upload evidence (multipart, type by content),
// submit (server-side scoring), decide (approval issues the certificate), and the event history.

use crate::app::rows::{AssessmentRow, CertificateRow, EvidenceMeta};
use crate::app::rows::{ListQuery, NewEvidence};
use crate::domain::auth::{Caller, Role};
use crate::domain::criteria::Scheme;
use crate::domain::lifecycle::{AssessmentKind, AssessmentStatus, Decision};
use crate::domain::scoring::{self, FieldError, Outcome};
use crate::domain::text::{self, TextKind};
use crate::web::api::certificates::CertificateSummary;
use crate::web::api::history::EventResponse;
use crate::web::auth::Auth;
use crate::web::error::{missing, ApiError, ApiResult};
use crate::web::uploads::{clean_filename, judge, read_field, text_field};
use crate::web::AppState;
use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many files one portal upload may carry.
pub use crate::web::uploads::{MAX_EVIDENCE_BYTES, MAX_FILES_PER_UPLOAD};

#[derive(Serialize, utoipa::ToSchema)]
pub struct EvidenceResponse {
    pub id: i64,
    pub criterion: String,
    pub filename: String,
    pub description: Option<String>,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Where to download the file.
    pub href: String,
}

impl From<EvidenceMeta> for EvidenceResponse {
    fn from(e: EvidenceMeta) -> Self {
        EvidenceResponse {
            href: format!("/api/v1/assessments/{}/evidence/{}", e.assessment_id, e.id),
            id: e.id,
            criterion: e.criterion,
            filename: e.filename,
            description: e.description,
            media_type: e.media_type,
            size: e.size,
            sha256: e.sha256,
            uploaded_by: e.uploaded_by,
            created_at: e.created_at.and_utc(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssessmentResponse {
    pub id: i64,
    pub venue_id: i64,
    pub assessor_id: i64,
    pub status: AssessmentStatus,
    /// `initial`, or `surveillance` (ISO/IEC 17065 7.9): approval keeps the certificate and moves its
    /// next due date, rejection suspends it.
    pub kind: AssessmentKind,
    /// For a surveillance audit: the number of the certificate it checks.
    pub surveils: Option<String>,
    pub scheme: String,
    pub scheme_version: i32,
    pub criteria_sha256: String,
    /// criterion id → measurement id → value (numbers, or a list of transfer notes).
    #[schema(value_type = Object)]
    pub measurements: serde_json::Value,
    pub evidence: Vec<EvidenceResponse>,
    /// What is still missing before submission (drafts and returned assessments).
    pub missing: Vec<FieldError>,
    /// Figures that do not add up but do not stop a submission, for the officer to weigh: transfer notes
    /// whose kg total is above the kg handed over (`notes_exceed_handed_over`).
    pub flags: Vec<FieldError>,
    /// The server's scoring, fixed at submission.
    pub outcome: Option<Outcome>,
    pub submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Rejection reason or comments for the assessor.
    pub decision_reason: Option<String>,
    pub certificate: Option<CertificateSummary>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn scheme_of<'a>(state: &'a AppState, row: &AssessmentRow) -> ApiResult<&'a Scheme> {
    state.catalogue.get(&row.scheme, row.scheme_version).ok_or_else(|| {
        ApiError::internal(format!(
            "assessment {} is pinned to unknown scheme {} v{}",
            row.id, row.scheme, row.scheme_version
        ))
    })
}

const NOT_FOUND: &str = "assessment";

/// Load an assessment the caller may see, with its evidence and certificate, and build the response.
async fn load(state: &web::Data<AppState>, caller: crate::domain::auth::Caller, id: i64) -> ApiResult<AssessmentResponse> {
    let (row, evidence, cert) = state
        .db
        .read(move |c| crate::app::assessments::view(c, &caller, id))
        .await
        .map_err(missing(NOT_FOUND))?;
    respond(state, row, evidence, cert)
}

fn respond(state: &AppState, row: AssessmentRow, evidence: Vec<EvidenceMeta>, cert: Option<crate::app::rows::CertificateRow>) -> ApiResult<AssessmentResponse> {
    let scheme = scheme_of(state, &row)?;
    let measurements = crate::app::rows::assessment::measurements_of(&row)?;
    let status = crate::app::rows::assessment::status_of(&row)?;
    let missing = if status.is_editable() {
        let mut counts = BTreeMap::new();
        for e in &evidence {
            *counts.entry(e.criterion.clone()).or_insert(0usize) += 1;
        }
        scoring::missing(scheme, &measurements, &counts)
    } else {
        vec![]
    };
    Ok(AssessmentResponse {
        id: row.id,
        venue_id: row.venue_id,
        assessor_id: row.assessor_id,
        status,
        kind: crate::app::rows::assessment::kind_of(&row)?,
        surveils: row.certificate_number.clone(),
        scheme: row.scheme.clone(),
        scheme_version: row.scheme_version,
        criteria_sha256: row.criteria_sha256.clone(),
        measurements: serde_json::to_value(&measurements).map_err(ApiError::internal)?,
        evidence: evidence.into_iter().map(EvidenceResponse::from).collect(),
        missing,
        flags: scoring::flags(scheme, &measurements).iter().map(scoring::NotesFlag::error).collect(),
        outcome: crate::app::rows::assessment::outcome_of(&row)?,
        submitted_at: row.submitted_at.map(|t| t.and_utc()),
        decided_by: row.decided_by,
        decided_at: row.decided_at.map(|t| t.and_utc()),
        decision_reason: row.decision_reason.clone(),
        certificate: cert.map(|c| CertificateSummary::new(&c, &state.config.public_url)),
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssessment {
    pub venue_id: i64,
    /// Defaults to `gold-eco-label`; the version in force (the highest) is used.
    pub scheme: Option<String>,
    /// `initial` (default) or `surveillance`: a surveillance audit of the venue's current certificate.
    pub kind: Option<AssessmentKind>,
}

#[utoipa::path(post, path = "/api/v1/assessments", tag = "assessments", security(("bearer" = [])), request_body = CreateAssessment,
    responses((status = 201, body = AssessmentResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn create(state: web::Data<AppState>, auth: Auth, body: web::Json<CreateAssessment>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Assessor])?.clone();
    let scheme_id = body.scheme.clone().unwrap_or_else(|| crate::domain::criteria::DEFAULT_SCHEME.to_string());
    let scheme = state.catalogue.current(&scheme_id).cloned().ok_or_else(|| {
        ApiError::invalid(
            "unknown_scheme",
            format!("no scheme `{scheme_id}` is published"),
            vec![FieldError::new("scheme", "unknown_scheme", "not published")],
        )
    })?;
    let venue_id = body.venue_id;
    let kind = body.kind.unwrap_or_default();
    let c2 = caller.clone();
    let row = state
        .db
        .write(move |c| crate::app::assessments::create(c, &c2, venue_id, &scheme, kind))
        .await?;
    Ok(HttpResponse::Created().json(respond(&state, row, vec![], None)?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AssessmentListParams {
    pub venue_id: Option<i64>,
    pub status: Option<AssessmentStatus>,
    pub after: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssessmentListItem {
    pub id: i64,
    pub venue_id: i64,
    pub assessor_id: i64,
    pub status: AssessmentStatus,
    pub overall: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssessmentPage {
    pub items: Vec<AssessmentListItem>,
    pub next_after: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/assessments", tag = "assessments", security(("bearer" = [])), params(AssessmentListParams), responses((status = 200, body = AssessmentPage)))]
pub async fn list(state: web::Data<AppState>, auth: Auth, params: web::Query<AssessmentListParams>) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let limit = crate::web::page_limit(p.limit)?;
    let caller = auth.0;
    let q = ListQuery {
        venue_id: p.venue_id,
        status: p.status.map(|s| s.as_str().to_string()),
        after_id: p.after,
        limit: limit + 1,
    };
    let (rows, next_after) = crate::web::keyset_page(state.db.read(move |c| crate::app::assessments::list(c, &caller, &q)).await?, limit, |r| r.id);
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(AssessmentListItem {
                status: crate::app::rows::assessment::status_of(&r)?,
                id: r.id,
                venue_id: r.venue_id,
                assessor_id: r.assessor_id,
                overall: r.overall,
                updated_at: r.updated_at.and_utc(),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(AssessmentPage { items, next_after }))
}

#[utoipa::path(get, path = "/api/v1/assessments/{id}", tag = "assessments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = AssessmentResponse), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(load(&state, auth.0, path.into_inner()).await?))
}

/// `app::assessments::with_pinned`, its not-found named "assessment".
pub(crate) async fn with_pinned_scheme<T, F>(state: &web::Data<AppState>, caller: Caller, id: i64, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::app::DbConn, &Caller, &Scheme) -> crate::app::Result<T> + Send + 'static,
{
    crate::app::assessments::with_pinned(state, caller, id, f).await.map_err(missing(NOT_FOUND))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAssessment {
    /// `{criterion: {measurement: value}}`; merged into what is stored.
    #[schema(value_type = Object)]
    pub measurements: serde_json::Value,
}

#[utoipa::path(patch, path = "/api/v1/assessments/{id}", tag = "assessments", security(("bearer" = [])), params(("id" = i64, Path)), request_body = PatchAssessment,
    responses((status = 200, body = AssessmentResponse), (status = 409, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn patch(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<PatchAssessment>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    let patch = body.into_inner().measurements;
    with_pinned_scheme(&state, caller.clone(), id, move |c, caller, scheme| {
        crate::app::assessments::patch_measurements(c, caller, id, scheme, &patch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(load(&state, caller, id).await?))
}

#[utoipa::path(post, path = "/api/v1/assessments/{id}/evidence", tag = "assessments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body(content = EvidenceUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = EvidenceResponse), (status = 409, body = crate::web::error::ErrorBody), (status = 413, body = crate::web::error::ErrorBody), (status = 415, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn upload_evidence(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, form: Multipart) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Assessor])?.clone();
    let id = path.into_inner();
    let upload = read_upload(form, false).await?;
    let mut attached = attach(&state, caller, id, upload).await?;
    let meta = attached.pop().ok_or_else(|| ApiError::internal("an upload attached nothing"))?;
    Ok(HttpResponse::Created().json(EvidenceResponse::from(meta)))
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EvidenceUpload {
    /// Criterion id the file supports.
    criterion: String,
    /// PDF, JPEG or PNG, at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    description: Option<String>,
}

/// An evidence upload as sent: the criterion, an optional description and the files (name, bytes).
pub struct Upload {
    pub criterion: String,
    pub description: Option<String>,
    pub files: Vec<(String, Vec<u8>)>,
}

/// Read an evidence form (`criterion`, `file`, `description`); `many` allows several `file` fields (the
/// portal's phone upload), otherwise one file per upload (the API).
pub async fn read_upload(mut form: Multipart, many: bool) -> ApiResult<Upload> {
    let (mut criterion, mut description, mut files) = (None, None, Vec::new());
    while let Some(mut field) = form
        .try_next()
        .await
        .map_err(|e| ApiError::bad_request("invalid_multipart", format!("the upload could not be read: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "criterion" => criterion = Some(text_field(&read_field(&mut field, 100, "criterion").await?, "criterion", TextKind::Line)?),
            "description" => {
                description = Some(text_field(&read_field(&mut field, 1000, "description").await?, "description", TextKind::Free)?).filter(|d| !d.is_empty())
            }
            "file" => {
                if !files.is_empty() && !many {
                    return Err(ApiError::invalid(
                        "one_file_per_upload",
                        "send one file per upload",
                        vec![FieldError::new("file", "duplicate", "one file per upload")],
                    ));
                }
                if files.len() >= MAX_FILES_PER_UPLOAD {
                    return Err(ApiError::invalid(
                        "too_many_files",
                        format!("at most {MAX_FILES_PER_UPLOAD} files per upload"),
                        vec![FieldError::new("file", "too_many", "too many files")],
                    ));
                }
                let raw_name = field.content_disposition().and_then(|d| d.get_filename()).unwrap_or("evidence");
                // A browser sends an empty, nameless part when no file was chosen.
                if raw_name.is_empty() && many {
                    read_field(&mut field, MAX_EVIDENCE_BYTES, "file").await?;
                    continue;
                }
                text::check("file", raw_name, TextKind::Name).map_err(|e| ApiError::invalid("invalid_characters", e.message.clone(), vec![e]))?;
                let filename = clean_filename(raw_name, "evidence");
                files.push((filename, read_field(&mut field, MAX_EVIDENCE_BYTES, "file").await?));
            }
            // The portal form's button (`action=upload`).
            "action" if many => {
                read_field(&mut field, 100, "action").await?;
            }
            other => {
                return Err(ApiError::invalid(
                    "unknown_field",
                    format!("unknown form field `{other}`"),
                    vec![FieldError::new(other, "unknown_field", "expected criterion, file, description")],
                ))
            }
        }
    }
    let criterion = criterion.filter(|c| !c.is_empty()).ok_or_else(|| {
        ApiError::invalid(
            "missing_criterion",
            "the form needs a `criterion` field",
            vec![FieldError::new("criterion", "required", "criterion is required")],
        )
    })?;
    if files.is_empty() {
        return Err(ApiError::invalid(
            "missing_file",
            "the form needs a `file` field",
            vec![FieldError::new("file", "required", "file is required")],
        ));
    }
    Ok(Upload { criterion, description, files })
}

/// Judge every file by its content, then attach them all in one transaction (all or none).
pub async fn attach(state: &web::Data<AppState>, caller: Caller, id: i64, upload: Upload) -> ApiResult<Vec<EvidenceMeta>> {
    let mut items = Vec::with_capacity(upload.files.len());
    for (filename, content) in upload.files {
        let j = judge(&filename, content, "evidence", "evidence")?;
        items.push(NewEvidence {
            criterion: upload.criterion.clone(),
            // The name was cleaned when the form was read.
            filename,
            description: upload.description.clone(),
            media_type: j.media_type.to_string(),
            sha256: j.sha256,
            content: j.content,
        });
    }
    crate::app::assessments::attach_evidence(state, caller, id, items)
        .await
        .map_err(missing(NOT_FOUND))
}

#[utoipa::path(get, path = "/api/v1/assessments/{id}/evidence", tag = "assessments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [EvidenceResponse]), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn list_evidence(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    let rows = state
        .db
        .read(move |c| crate::app::assessments::evidence(c, &caller, id))
        .await
        .map_err(missing(NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(EvidenceResponse::from).collect::<Vec<_>>()))
}

#[utoipa::path(get, path = "/api/v1/assessments/{id}/evidence/{evidence_id}", tag = "assessments", security(("bearer" = [])),
    params(("id" = i64, Path), ("evidence_id" = i64, Path)), responses((status = 200, description = "the file, as its content showed it to be", content(("application/pdf"), ("image/jpeg"), ("image/png"))), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn download_evidence(state: web::Data<AppState>, auth: Auth, path: web::Path<(i64, i64)>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let (id, eid) = path.into_inner();
    let (meta, content) = state
        .db
        .read(move |c| crate::app::assessments::evidence_file(c, &caller, id, eid))
        .await
        .map_err(missing(NOT_FOUND))?;
    Ok(HttpResponse::Ok()
        .content_type(meta.media_type.as_str())
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{}\"", meta.filename.replace(|c: char| !c.is_ascii() || c == '"', "_")),
        ))
        .insert_header(("cache-control", "private, no-store"))
        .body(content))
}

#[utoipa::path(delete, path = "/api/v1/assessments/{id}/evidence/{evidence_id}", tag = "assessments", security(("bearer" = [])),
    params(("id" = i64, Path), ("evidence_id" = i64, Path)),
    responses((status = 204, description = "removed (drafts and returned audits only, by their assessor)"), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody), (status = 409, body = crate::web::error::ErrorBody)))]
pub async fn delete_evidence(state: web::Data<AppState>, auth: Auth, path: web::Path<(i64, i64)>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Assessor])?.clone();
    let (id, eid) = path.into_inner();
    with_pinned_scheme(&state, caller, id, move |c, caller, _| {
        crate::app::assessments::remove_evidence(c, caller, id, eid)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/assessments/{id}/submit", tag = "assessments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = AssessmentResponse), (status = 409, body = crate::web::error::ErrorBody), (status = 422, description = "incomplete: `fields` lists every missing measurement and evidence", body = crate::web::error::ErrorBody)))]
pub async fn submit(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Assessor])?.clone();
    let id = path.into_inner();
    with_pinned_scheme(&state, caller.clone(), id, move |c, caller, scheme| {
        crate::app::assessments::submit(c, caller, id, scheme)
    })
    .await?;
    Ok(HttpResponse::Ok().json(load(&state, caller, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: Decision,
    /// Required to reject (the reason) or return (comments for the assessor).
    pub reason: Option<String>,
}

/// Decide as `caller` (the API and the portal): an approval gets the issuing context (the active key) and
/// the year's counter first, then the decision and the issuance run in one transaction.
pub async fn decide_as(
    state: &web::Data<AppState>,
    caller: Caller,
    id: i64,
    decision: Decision,
    reason: Option<String>,
) -> ApiResult<(AssessmentRow, Option<CertificateRow>)> {
    let (row, cert) = crate::app::assessments::decide_now(state, caller, id, decision, reason)
        .await
        .map_err(missing(NOT_FOUND))?;
    if let Some(cert) = &cert {
        crate::web::api::certificates::changed(state, &cert.number).await;
        if row.certificate_number.is_some() {
            tracing::info!(assessment = id, certificate = %cert.number, status = %cert.status, "surveillance decided");
        } else {
            tracing::info!(assessment = id, certificate = %cert.number, kid = %cert.kid, "certificate issued");
            if let Some(old) = &cert.supersedes {
                crate::web::api::certificates::changed(state, old).await;
            }
        }
    }
    Ok((row, cert))
}

#[utoipa::path(post, path = "/api/v1/assessments/{id}/decision", tag = "assessments", security(("bearer" = [])), params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, description = "decided; an approval carries its certificate", body = AssessmentResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 409, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn decide(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<DecisionRequest>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    let DecisionRequest { decision, reason } = body.into_inner();
    let (row, cert) = decide_as(&state, caller.clone(), id, decision, reason).await?;
    let evidence = state.db.read(move |c| crate::app::assessments::evidence(c, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(respond(&state, row, evidence, cert)?))
}

#[utoipa::path(get, path = "/api/v1/assessments/{id}/events", tag = "assessments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [EventResponse]), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn events(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    let rows = state
        .db
        .read(move |c| crate::app::assessments::history(c, &caller, id))
        .await
        .map_err(missing(NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(EventResponse::from).collect::<Vec<_>>()))
}

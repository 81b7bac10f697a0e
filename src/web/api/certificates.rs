// Certificates over HTTP for signed-in users: read one (results, status, history, QR text) and
// change its status (suspend, reinstate, withdraw) as an officer or admin.

use crate::app::rows::CertificateRow;
use crate::domain::lifecycle::{CertificateAction, PublicStatus};
use crate::domain::scoring::CriterionResult;
use crate::domain::signing::qr_text;

use crate::web::api::history::EventResponse;
use crate::web::auth::{authenticated, credentials, unknown_token, Auth, Credentials};
use crate::web::error::{missing, ApiError, ApiResult};
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

/// A short form, embedded in assessment responses.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificateSummary {
    pub number: String,
    pub valid_from: chrono::NaiveDate,
    pub valid_until: chrono::NaiveDate,
    pub qr_text: String,
    pub href: String,
}

impl CertificateSummary {
    pub fn new(c: &CertificateRow, public_url: &str) -> Self {
        CertificateSummary {
            number: c.number.clone(),
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            qr_text: qr_text(public_url, &c.token),
            href: format!("/api/v1/certificates/{}", c.number),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VenueRef {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub city: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificateResponse {
    pub number: String,
    /// valid, suspended, withdrawn, expired (derived from valid_until and server time) or superseded.
    pub status: PublicStatus,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub venue: VenueRef,
    pub assessment_id: i64,
    pub scheme: String,
    pub scheme_version: i32,
    pub criteria_sha256: String,
    pub level: String,
    pub results: Vec<CriterionResult>,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub valid_from: chrono::NaiveDate,
    pub valid_until: chrono::NaiveDate,
    pub issuer: String,
    pub issuer_address: String,
    pub signatory: String,
    pub signatory_title: String,
    pub kid: String,
    /// What the QR code holds: `<PUBLIC URL>/V/<base32 COSE_Sign1>`.
    pub qr_text: String,
    pub supersedes: Option<String>,
    pub superseded_by: Option<String>,
    /// Months between surveillance audits (ISO/IEC 17065 7.9), recorded at issuance.
    pub surveillance_months: i32,
    /// When the next surveillance audit is due; overdue by more than the grace days, the scheduler
    /// suspends the certificate.
    pub surveillance_due: Option<chrono::NaiveDate>,
    pub history: Vec<EventResponse>,
}

const NOT_FOUND: &str = "certificate";

async fn respond(state: &AppState, row: CertificateRow) -> ApiResult<CertificateResponse> {
    let number = row.number.clone();
    let history = state.db.read(move |c| crate::app::certificates::history(c, &number)).await?;
    Ok(CertificateResponse {
        status: crate::app::rows::certificate::status_now(&row, state.clock.now())?,
        results: crate::app::rows::certificate::outcome_of(&row)?.criteria,
        qr_text: qr_text(&state.config.public_url, &row.token),
        history: history.into_iter().map(EventResponse::from).collect(),
        venue: VenueRef {
            id: row.venue_id,
            name: row.venue_name,
            address: row.venue_address,
            city: row.venue_city,
        },
        number: row.number,
        status_reason: row.status_reason,
        status_changed_at: row.status_changed_at.map(|t| t.and_utc()),
        assessment_id: row.assessment_id,
        scheme: row.scheme,
        scheme_version: row.scheme_version,
        criteria_sha256: row.criteria_sha256,
        level: row.level,
        issued_at: row.issued_at.and_utc(),
        valid_from: row.valid_from,
        valid_until: row.valid_until,
        issuer: row.issuer,
        issuer_address: row.issuer_address,
        signatory: row.signatory,
        signatory_title: row.signatory_title,
        kid: row.kid,
        supersedes: row.supersedes,
        superseded_by: row.superseded_by,
        surveillance_months: row.surveillance_months,
        surveillance_due: row.surveillance_due,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificateListItem {
    pub number: String,
    pub status: PublicStatus,
    pub venue_id: i64,
    pub venue_name: String,
    pub valid_from: chrono::NaiveDate,
    pub valid_until: chrono::NaiveDate,
    pub href: String,
    pub pdf: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificatePage {
    pub items: Vec<CertificateListItem>,
    /// Pass as `before` for the next page (newest first); absent on the last page.
    pub next_before: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CertificateListParams {
    pub venue_id: Option<i64>,
    /// valid, suspended, withdrawn, expired or superseded.
    pub status: Option<PublicStatus>,
    pub before: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The certificates the caller may see, newest first: a venue user sees only its own venue's.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", security(("bearer" = [])), params(CertificateListParams),
    responses((status = 200, body = CertificatePage)))]
pub async fn list(state: web::Data<AppState>, auth: Auth, params: web::Query<CertificateListParams>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let p = params.into_inner();
    let limit = crate::web::page_limit(p.limit)?;
    let Some(venue_id) = caller.venue_scope(p.venue_id) else {
        return Ok(HttpResponse::Ok().json(CertificatePage {
            items: vec![],
            next_before: None,
        }));
    };
    let at = state.clock.now();
    let q = crate::app::rows::PublicQuery {
        q: None,
        city: None,
        status: p.status,
        venue_id,
        before_id: p.before,
        limit: limit + 1,
        today: at.date(),
    };
    let (rows, next_before) = crate::web::keyset_page(state.db.read(move |c| crate::app::certificates::list(c, &q)).await?, limit, |r| r.id);
    let items = rows
        .iter()
        .map(|r| {
            Ok(CertificateListItem {
                status: crate::app::rows::certificate::status_now(r, at)?,
                number: r.number.clone(),
                venue_id: r.venue_id,
                venue_name: r.venue_name.clone(),
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                href: format!("/api/v1/certificates/{}", r.number),
                pdf: format!("/api/v1/certificates/{}/pdf", r.number),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "private, no-store"))
        .json(CertificatePage { items, next_before }))
}

#[utoipa::path(get, path = "/api/v1/certificates/{number}", tag = "certificates", security(("bearer" = [])), params(("number" = String, Path, example = "GEL-2025-000001")),
    responses((status = 200, body = CertificateResponse), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let number = path.into_inner();
    let row = state
        .db
        .read(move |c| crate::app::certificates::get_visible(c, &caller, &number))
        .await
        .map_err(missing(NOT_FOUND))?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "private, no-store"))
        .json(respond(&state, row).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// Public reason: required to suspend or withdraw, optional to reinstate.
    pub reason: Option<String>,
}

/// The document's view of a suspension or withdrawal: the public reason is required.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RequiredReason {
    /// The public reason, shown on the certificate's page.
    reason: String,
}

async fn change(
    state: web::Data<AppState>,
    auth: Auth,
    number: String,
    body: Option<web::Json<StatusChange>>,
    action: CertificateAction,
) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let reason = body.map(|b| b.into_inner()).unwrap_or_default().reason;
    let (log_key, now) = (state.log_key.clone(), state.clock.now());
    let row = state
        .db
        .write(move |c| crate::app::certificates::change_status(c, &caller, &number, action, reason.as_deref(), &log_key, now))
        .await
        .map_err(missing(NOT_FOUND))?;
    tracing::info!(certificate = %row.number, status = %row.status, "certificate status changed");
    changed(&state, &row.number).await;
    Ok(HttpResponse::Ok().json(respond(&state, row).await?))
}

#[utoipa::path(post, path = "/api/v1/certificates/{number}/suspend", tag = "certificates", security(("bearer" = [])), params(("number" = String, Path)), request_body = RequiredReason,
    responses((status = 200, body = CertificateResponse), (status = 409, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn suspend(state: web::Data<AppState>, auth: Auth, path: web::Path<String>, body: Option<web::Json<StatusChange>>) -> ApiResult<HttpResponse> {
    change(state, auth, path.into_inner(), body, CertificateAction::Suspend).await
}

#[utoipa::path(post, path = "/api/v1/certificates/{number}/reinstate", tag = "certificates", security(("bearer" = [])), params(("number" = String, Path)), request_body = StatusChange,
    responses((status = 200, body = CertificateResponse), (status = 409, body = crate::web::error::ErrorBody)))]
pub async fn reinstate(state: web::Data<AppState>, auth: Auth, path: web::Path<String>, body: Option<web::Json<StatusChange>>) -> ApiResult<HttpResponse> {
    change(state, auth, path.into_inner(), body, CertificateAction::Reinstate).await
}

#[utoipa::path(post, path = "/api/v1/certificates/{number}/withdraw", tag = "certificates", security(("bearer" = [])), params(("number" = String, Path)), request_body = RequiredReason,
    responses((status = 200, body = CertificateResponse), (status = 409, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn withdraw(state: web::Data<AppState>, auth: Auth, path: web::Path<String>, body: Option<web::Json<StatusChange>>) -> ApiResult<HttpResponse> {
    change(state, auth, path.into_inner(), body, CertificateAction::Withdraw).await
}

/// The facts a certificate PDF prints, from the stored certificate (never from the live venue record).
/// Rendered certificate PDFs with their ETags, by `pdf_state`, up to 1.5 MiB (about 80 certificates), in
/// front of the stored renderings.
pub type PdfCache = crate::web::cache::BodyCache<String, (web::Bytes, String), { 1536 * 1024 }>;

/// What one trip to the database found for a certificate's PDF: the row, the status and state the PDF
/// must show, and the PDF with its ETag if this process keeps it or the database stores it.
struct Kept {
    row: CertificateRow,
    status: PublicStatus,
    key: String,
    pdf: Option<(web::Bytes, String)>,
}

fn kept_pdf(state: &AppState, conn: &mut crate::app::DbConn, number: &str) -> crate::app::Result<Kept> {
    let row = crate::app::public::certificate_row(conn, number)?;
    let (status, key) = crate::app::documents::pdf_now(state, &row)?;
    let pdf = match state.pdfs.get(&key) {
        Some(hit) => Some(hit),
        None => crate::app::documents::stored(conn, row.id, &key)?.map(|(etag, body)| (web::Bytes::from(body), etag)),
    };
    Ok(Kept { row, status, key, pdf })
}

/// Why a download was refused.
enum Refused {
    UnknownToken,
    NotTheirs,
}

/// Certificate `number`'s PDF as it stands now, with its ETag, for `who` (None: the registry itself):
/// from this process's cache, else the stored rendering of the same state, else rendered now and stored.
/// The caller's token, the certificate and the kept PDF are read in one trip to the database (each trip
/// hands the work to a blocking thread and back: about a tenth of a millisecond here). A PDF is a pure
/// function of the certificate and its state, so all three are the same bytes.
pub async fn current_pdf(state: &web::Data<AppState>, number: String, who: Option<Credentials>) -> ApiResult<(web::Bytes, String)> {
    let st = state.clone();
    let found = state
        .db
        .read(move |c| {
            let caller = match who {
                None => None,
                Some(Credentials::Caller(caller)) => Some(caller),
                Some(Credentials::Token(token)) => match crate::app::users::caller_for_token(c, &token)? {
                    Some(caller) => Some(caller),
                    None => return Ok(Err(Refused::UnknownToken)),
                },
            };
            let kept = kept_pdf(&st, c, &number)?;
            if caller.as_ref().is_some_and(|c| !c.can_download_certificate(kept.row.venue_id)) {
                return Ok(Err(Refused::NotTheirs));
            }
            Ok::<_, crate::app::Error>(Ok((caller, kept)))
        })
        .await
        .map_err(missing(NOT_FOUND))?;
    let (caller, kept) = match found {
        Ok(found) => found,
        Err(Refused::UnknownToken) => return Err(unknown_token()),
        Err(Refused::NotTheirs) => return Err(ApiError::not_found("certificate")),
    };
    if let Some(caller) = caller {
        authenticated(caller);
    }
    let made = match kept.pdf {
        Some(pdf) => pdf,
        None => {
            let (st, row, status, key) = (state.clone(), kept.row, kept.status, kept.key.clone());
            let (bytes, etag) = web::block(move || crate::app::documents::render_and_store(&st, &row, status, &key))
                .await
                .map_err(ApiError::internal)??;
            (web::Bytes::from(bytes), etag)
        }
    };
    state.pdfs.put(kept.key, made.clone());
    Ok(made)
}

/// After a certificate was issued or changed: its public page forgets the old state at once, and its PDF
/// is rendered and stored, so that the first download (on any replica) is a stored one. The change has
/// committed already: a failure here is logged, and the download renders instead.
pub async fn changed(state: &web::Data<AppState>, number: &str) {
    state.forget(number);
    if let Err(e) = current_pdf(state, number.to_string(), None).await {
        tracing::warn!(certificate = %number, error = %e.message, "could not render the changed certificate's PDF");
    }
}

#[utoipa::path(get, path = "/api/v1/certificates/{number}/pdf", tag = "certificates", security(("bearer" = [])), params(("number" = String, Path)),
    responses((status = 200, description = "the certificate, one A4 page", content_type = "application/pdf"), (status = 304, description = "not modified (If-None-Match)"), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn pdf(state: web::Data<AppState>, path: web::Path<String>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let who = credentials(&req)?;
    let number = path.into_inner();
    let (bytes, etag) = current_pdf(&state, number.clone(), Some(who)).await?;
    let matches = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return Ok(HttpResponse::NotModified().insert_header(("etag", etag)).finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(("content-disposition", format!("attachment; filename=\"{number}.pdf\"")))
        .insert_header(("etag", etag))
        .insert_header(("cache-control", "private, no-cache"))
        .body(bytes))
}

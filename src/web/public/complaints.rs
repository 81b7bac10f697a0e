// The public "report a problem with this label" form and its reply (no login, rate-limited; HTML for
// browsers, JSON for scripts): the form, the multipart/urlencoded body, the reference given back.

use crate::app::complaints::{self as ops};
use crate::domain::complaint::{Category, ComplaintStatus, Report, MAX_PHOTO};
use crate::domain::scoring::FieldError;
use crate::web::error::{missing, ApiError, ApiResult};
use crate::web::i18n::category_text;
use crate::web::i18n::{negotiate, Messages};
use crate::web::layout::{html_response, layout};

const NO_STORE: &str = "no-store";
use crate::web::session::MaybeSession;
use crate::web::AppState;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::{StreamExt, TryStreamExt};
use maud::html;
use serde::Serialize;

/// The form as sent: text fields and an optional photo.
#[derive(Default)]
pub(crate) struct Sent {
    category: Option<String>,
    description: Option<String>,
    email: Option<String>,
    photo: Option<Vec<u8>>,
}

pub(crate) fn too_long(name: &str) -> ApiError {
    ApiError::invalid(
        "field_too_long",
        format!("{name} is too long"),
        vec![FieldError::new(name, "too_long", "too long")],
    )
}

/// Read a report sent as a form or as multipart (with `photo`); the photo is limited to 5 MiB.
pub(crate) async fn read_sent(req: &HttpRequest, payload: web::Payload) -> ApiResult<Sent> {
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
                if body.len() + chunk.len() > crate::web::JSON_LIMIT {
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
                let limit = if name == "photo" { MAX_PHOTO } else { crate::web::JSON_LIMIT };
                let Some(buf) = crate::web::uploads::read_part(&mut field, limit).await? else {
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

pub(crate) fn unknown_field(name: &str) -> ApiError {
    ApiError::invalid(
        "unknown_field",
        format!("unknown form field `{name}`"),
        vec![FieldError::new(name, "unknown_field", "expected category, description, email, photo")],
    )
}

pub(crate) fn photo_type(bytes: &[u8]) -> ApiResult<&'static str> {
    match crate::web::uploads::sniff(bytes) {
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

pub(crate) fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

#[utoipa::path(post, path = "/certificates/{number}/complaints", tag = "public", params(("number" = String, Path)),
    request_body(content = ComplaintForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ComplaintReceipt), (status = 404, body = crate::web::error::ErrorBody), (status = 413, body = crate::web::error::ErrorBody),
        (status = 415, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody), (status = 429, body = crate::web::error::ErrorBody)))]
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
    let ceilings = state.config.complaints;
    let filed = state.db.write(move |c| ops::file(c, &ceilings, &n, &report, &lang, photo, random)).await;
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
    match crate::app::public::certificate(&state.db, n).await {
        Ok(_) => form_page(&req, &m, &s, StatusCode::OK, &number, &Sent::default(), &[], None),
        Err(e) => missing("certificate")(e).error_response(),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn form_page(
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

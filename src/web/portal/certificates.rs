// The portal's certificate pages (/app/certificates…): venue managers see their venue's certificates, the
// QR link, the PDF and the QR code as SVG and PNG; officers and admins search all and change their status.

use crate::app::certificates as ops;
use crate::app::rows::CertificateRow;
use crate::app::rows::PublicQuery;
use crate::domain::auth::Role;
use crate::domain::lifecycle::{CertificateAction, PublicStatus};
use crate::domain::signing::qr_text;
use crate::web::error::error_page;
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, signed_in, status_badge};
use crate::web::session::{MaybeSession, Session};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup};
use serde::Deserialize;

const PAGE: i64 = 25;

fn is_staff(s: &Session) -> bool {
    s.caller.has_any(&[Role::Officer, Role::Admin, Role::Assessor])
}

fn not_found(req: &HttpRequest, m: &Messages, s: &Session) -> HttpResponse {
    let body = html! { p role="alert" { (m.t("status_not_found_detail")) } p { a href="/app/certificates" { (m.t("nav_certificates")) } } };
    page(req, m, StatusCode::NOT_FOUND, Some(s), m.t("status_not_found"), body)
}

#[derive(Deserialize)]
pub struct ListParams {
    pub q: Option<String>,
    pub before: Option<i64>,
}

/// `/app/certificates`: the venue manager's certificates, or (staff) every certificate, searchable by name.
pub async fn list(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, params: web::Query<ListParams>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let p = params.into_inner();
    let Some(venue_id) = s.caller.venue_scope(None) else {
        return page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_certificates"), html! { p { (m.t("no_results")) } });
    };
    let at = state.clock.now();
    let q = PublicQuery {
        q: p.q.clone().filter(|q| !q.trim().is_empty() && is_staff(&s)),
        city: None,
        status: None,
        venue_id,
        before_id: p.before,
        limit: PAGE + 1,
        today: at.date(),
    };
    let rows = match state.db.read(move |c| crate::app::certificates::list(c, &q)).await {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    let (rows, next) = crate::web::keyset_page(rows, PAGE, |r| r.id);
    let body = html! {
        @if is_staff(&s) {
            form.search method="get" action="/app/certificates" role="search" {
                label { (m.t("search_name")) input type="search" name="q" value=[p.q.as_deref()]; }
                button type="submit" { (m.t("search_button")) }
            }
        }
        @if rows.is_empty() { p { (m.t("no_results")) } }
        @else {
            table {
                thead { tr { th { (m.t("col_number")) } th { (m.t("col_venue")) } th { (m.t("col_status")) } th { (m.t("col_valid_until")) } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td data-label=(m.t("col_number")) { a href={ "/app/certificates/" (r.number) } { (r.number) } }
                            td data-label=(m.t("col_venue")) { (r.venue_name_in(m.lang)) }
                            td data-label=(m.t("col_status")) { @if let Ok(st) = crate::app::rows::certificate::status_now(r, at) { (status_badge(&m, st)) } }
                            td data-label=(m.t("col_valid_until")) { (r.valid_until) }
                        }
                    }
                }
            }
        }
        @if let Some(n) = next {
            nav.pager { a href={ "/app/certificates?before=" (n) @if let Some(q) = &p.q { "&q=" (crate::web::layout::url_escape(q)) } } { (m.t("next_page")) } }
        }
    };
    page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_certificates"), body)
}

async fn visible(state: &AppState, s: &Session, number: String) -> crate::app::Result<CertificateRow> {
    let caller = s.caller.clone();
    state.db.read(move |c| ops::get_visible(c, &caller, &number)).await
}

fn detail(m: &Messages, s: &Session, state: &AppState, row: &CertificateRow, error: Option<&str>) -> Markup {
    let at = state.clock.now();
    let status = crate::app::rows::certificate::status_now(row, at).unwrap_or(PublicStatus::Withdrawn);
    let qr = qr_text(&state.config.public_url, &row.token);
    let svg = crate::render::qr::svg(&qr, &row.number).unwrap_or_default();
    let data = format!(
        "data:image/svg+xml;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)
    );
    let officer = s.caller.has_any(&[Role::Officer, Role::Admin]);
    let n = &row.number;
    html! {
        p.status-line { (status_badge(m, status)) }
        dl.facts {
            dt { (m.t("field_venue")) } dd { (row.venue_name_in(m.lang)) }
            dt { (m.t("field_city")) } dd { (row.venue_city_in(m.lang)) }
            dt { (m.t("field_valid_from")) } dd { (row.valid_from) }
            dt { (m.t("field_valid_until")) } dd { (row.valid_until) }
            @if let Some(d) = row.surveillance_due { dt { (m.t("surveillance_due")) } dd { (d) } }
            @if let Some(r) = &row.status_reason { dt { (m.t("field_reason")) } dd { (r) } }
        }
        img.qr src=(data) alt={ (m.t("qr_alt")) " " (n) } width="220" height="220";
        ul.links {
            li { a href=(qr) { (m.t("qr_link")) } }
            li { a href={ "/api/v1/certificates/" (n) "/pdf" } download={ (n) ".pdf" } { (m.t("download_pdf")) } }
            li { a href={ "/app/certificates/" (n) "/qr.svg" } download={ (n) "-qr.svg" } { (m.t("download_qr_svg")) } }
            li { a href={ "/app/certificates/" (n) "/qr.png" } download={ (n) "-qr.png" } { (m.t("download_qr_png")) } }
            li { a href={ "/certificates/" (n) } { (m.t("public_page")) } }
            li { a href={ "/certificates/" (n) "/proof" } download={ (n) ".tlog-proof" } { (m.t("download_log_proof")) } }
            @if s.caller.has(Role::Venue) && matches!(status, PublicStatus::Suspended | PublicStatus::Withdrawn) {
                li { a href={ "/app/appeals/new?certificate=" (n) "&subject=" (if status == PublicStatus::Suspended { "suspension" } else { "withdrawal" }) } { (m.t("appeal_this")) } }
            }
        }
        h2 #h-badge { (m.t("badge_section")) }
        p.muted #badge-help { (m.t("badge_help")) }
        p { img.live-badge src={ "/badge/" (n) ".svg?lang=" (m.lang) } alt={ (m.t("label_name")) " " (n) }; }
        label for="badge-code" { (m.t("badge_code")) }
        textarea #badge-code readonly rows="4" aria-describedby="badge-help" { (crate::web::public::badge::snippet(&state.config.public_url, n, m.lang)) }
        @if officer {
            h2 #h-status { (m.t("change_status")) }
            @if let Some(e) = error { p.alert role="alert" id="form-error" { (e) } }
            form.stack method="post" action={ "/app/certificates/" (n) } aria-labelledby="h-status" novalidate {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="reason" { (m.t("field_reason")) }
                textarea #reason name="reason" rows="3" maxlength="1000" aria-describedby={ "reason-help" @if error.is_some() { " form-error" } } aria-invalid=[error.map(|_| "true")] {}
                p.muted #reason-help { (m.t("reason_help")) }
                // Each action is confirmed on the next page, which names what will happen.
                @match status {
                    PublicStatus::Valid => {
                        button.secondary type="submit" name="action" value="suspend" { (m.t("action_suspend")) }
                        button.danger type="submit" name="action" value="withdraw" { (m.t("action_withdraw")) }
                    }
                    PublicStatus::Suspended => {
                        button type="submit" name="action" value="reinstate" { (m.t("action_reinstate")) }
                        button.danger type="submit" name="action" value="withdraw" { (m.t("action_withdraw")) }
                    }
                    _ => { p { (m.t("no_status_change")) } }
                }
            }
        }
    }
}

/// `/app/certificates/{number}`: status, validity, the QR code and its downloads; officers' actions.
pub async fn show(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<String>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    match visible(&state, &s, path.into_inner()).await {
        Ok(row) => page(&req, &m, StatusCode::OK, Some(&s), &row.number.clone(), detail(&m, &s, &state, &row, None)),
        Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => not_found(&req, &m, &s),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    pub action: String,
    #[serde(default)]
    pub reason: String,
    pub confirm: Option<String>,
}

/// Suspend, reinstate or withdraw from the certificate's page: a confirmation step that names what will
/// happen, then the change (`confirm=yes`).
pub async fn act(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<String>, form: web::Form<ActionForm>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let number = path.into_inner();
    let f = form.into_inner();
    let action = match f.action.as_str() {
        "suspend" => CertificateAction::Suspend,
        "reinstate" => CertificateAction::Reinstate,
        "withdraw" => CertificateAction::Withdraw,
        _ => return see_other(&format!("/app/certificates/{number}")),
    };
    let row = match visible(&state, &s, number.clone()).await {
        Ok(r) => r,
        Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => return not_found(&req, &m, &s),
        Err(e) => return error_page(e),
    };
    let refuse = |status: StatusCode, key: &'static str| page(&req, &m, status, Some(&s), &row.number, detail(&m, &s, &state, &row, Some(m.t(key))));
    if f.confirm.as_deref() != Some("yes") {
        // Refused before the person confirms: the operation's own checks (who may, the reason).
        match crate::app::certificates::check_change(&s.caller, action, Some(&f.reason)) {
            Ok(()) => {}
            Err(crate::app::Error::Storage(crate::app::StorageError::Invalid { code: "reason_required", .. })) => {
                return refuse(StatusCode::UNPROCESSABLE_ENTITY, "reason_required")
            }
            Err(crate::app::Error::Storage(crate::app::StorageError::Invalid { .. })) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, "form_invalid"),
            Err(_) => return refuse(StatusCode::FORBIDDEN, "not_allowed"),
        }
        let venue = row.venue_name_in(m.lang);
        let (what, button, danger) = match action {
            CertificateAction::Suspend => (
                m.f("confirm_suspend", &[("number", row.number.as_str()), ("venue", venue)]),
                m.t("confirm_suspend_button"),
                false,
            ),
            CertificateAction::Reinstate => (
                m.f("confirm_reinstate", &[("number", row.number.as_str()), ("venue", venue)]),
                m.t("confirm_reinstate_button"),
                false,
            ),
            CertificateAction::Withdraw => (
                m.f("confirm_withdraw", &[("number", row.number.as_str()), ("venue", venue)]),
                m.t("confirm_withdraw_button"),
                true,
            ),
        };
        let confirm = crate::web::portal::frame::Confirm {
            title: m.f("confirm_title_certificate", &[("number", &row.number)]),
            what,
            reason: &f.reason,
            action_url: format!("/app/certificates/{}", row.number),
            name: "action",
            action: &f.action,
            button: button.to_string(),
            danger,
            back: format!("/app/certificates/{}?lang={}#h-status", row.number, m.lang),
        };
        return crate::web::portal::frame::confirm_page(&req, &m, &s, confirm);
    }
    let (caller, log_key, reason, now) = (s.caller.clone(), state.log_key.clone(), f.reason, state.clock.now());
    let changed = state
        .db
        .write(move |c| ops::change_status(c, &caller, &number, action, Some(&reason), &log_key, now))
        .await;
    match changed {
        Ok(updated) => {
            tracing::info!(certificate = %updated.number, status = %updated.status, "certificate status changed (portal)");
            crate::web::api::certificates::changed(&state, &updated.number).await;
            see_other(&format!("/app/certificates/{}?done={}", updated.number, f.action))
        }
        Err(crate::app::Error::Storage(crate::app::StorageError::Invalid { code: "reason_required", .. })) => {
            refuse(StatusCode::UNPROCESSABLE_ENTITY, "reason_required")
        }
        Err(crate::app::Error::Storage(crate::app::StorageError::Invalid { .. })) => refuse(StatusCode::UNPROCESSABLE_ENTITY, "form_invalid"),
        Err(crate::app::Error::Storage(crate::app::StorageError::Forbidden { .. })) => refuse(StatusCode::FORBIDDEN, "not_allowed"),
        Err(crate::app::Error::Storage(crate::app::StorageError::Conflict { .. })) => refuse(StatusCode::CONFLICT, "status_changed_meanwhile"),
        Err(e) => error_page(e),
    }
}

/// The QR code for plaques and web sites: SVG (vector) or PNG (8 px per module, quiet zone included).
pub async fn qr_image(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<(String, String)>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let (number, format) = path.into_inner();
    let row = match visible(&state, &s, number).await {
        Ok(r) => r,
        Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => return not_found(&req, &m, &s),
        Err(e) => return error_page(e),
    };
    let text = qr_text(&state.config.public_url, &row.token);
    let (bytes, media) = match format.as_str() {
        "svg" => (crate::render::qr::svg(&text, &row.number).map(String::into_bytes), "image/svg+xml"),
        "png" => (crate::render::qr::png(&text, 8), "image/png"),
        _ => return not_found(&req, &m, &s),
    };
    match bytes {
        Ok(b) => HttpResponse::Ok()
            .content_type(media)
            .insert_header(("cache-control", "private, no-store"))
            .insert_header(("content-disposition", format!("attachment; filename=\"{}-qr.{format}\"", row.number)))
            .body(b),
        Err(e) => crate::web::error::ApiError::internal(e).error_response(),
    }
}

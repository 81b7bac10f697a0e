// The officers' complaint pages in the portal (/app/complaints…): the list by status, and a complaint
// with its triage form (acknowledge, investigate, close with an outcome, suspend on an upheld one).

use crate::app::complaints::{self as ops};
use crate::app::rows::ComplaintRow;
use crate::domain::complaint::{ComplaintStatus, Triage};
use crate::web::api::complaints::*;
use crate::web::error::ApiError;
use crate::web::i18n::category_text;
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, signed_in};
use crate::web::session::MaybeSession;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::html;
use serde::Deserialize;

pub(crate) fn status_text(m: &Messages, s: &str) -> String {
    let key = match ComplaintStatus::parse(s) {
        Some(ComplaintStatus::Received) => "complaint_status_received",
        Some(ComplaintStatus::Acknowledged) => "complaint_status_acknowledged",
        Some(ComplaintStatus::Investigating) => "complaint_status_investigating",
        Some(ComplaintStatus::Closed) => "complaint_status_closed",
        None => return s.to_string(),
    };
    m.t(key).to_string()
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
    let rows = match state.db.read(move |c| ops::list(c, &caller, status, None, 100)).await {
        Ok(r) => r,
        Err(e) => return crate::web::error::error_page(e),
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
                thead { tr { th { (m.t("complaint_ref")) } th { (m.t("col_number")) } th { (m.t("complaint_category_seen")) } th { (m.t("col_status")) } th { (m.t("complaint_received_at")) } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td data-label=(m.t("complaint_ref")) { a href={ "/app/complaints/" (r.id) } { (r.reference) } }
                            td data-label=(m.t("col_number")) { (r.certificate_number) }
                            td data-label=(m.t("complaint_category_seen")) { (category_text(&m, &r.category)) }
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
    match state.db.read(move |c| ops::get(c, &caller, id)).await {
        Ok(row) => detail_page(&req, &m, &s, StatusCode::OK, &row, None),
        Err(e) => crate::web::error::error_page(e),
    }
}

pub(crate) fn detail_page(
    req: &HttpRequest,
    m: &Messages,
    s: &crate::web::session::Session,
    status: StatusCode,
    r: &ComplaintRow,
    error: Option<&str>,
) -> HttpResponse {
    let open = r.status != ComplaintStatus::Closed.as_str();
    let body = html! {
        @if let Some(e) = error { p.alert role="alert" #form-error { (e) } }
        dl.facts {
            dt { (m.t("col_number")) } dd { a href={ "/app/certificates/" (r.certificate_number) } { (r.certificate_number) } }
            dt { (m.t("complaint_category_seen")) } dd { (category_text(m, &r.category)) }
            dt { (m.t("col_status")) } dd { (status_text(m, &r.status)) }
            dt { (m.t("complaint_received_at")) } dd { (r.created_at.format("%Y-%m-%d %H:%M")) " UTC" }
            dt { (m.t("complaint_description_seen")) } dd { (r.description) }
            @if let Some(e) = &r.email { dt { (m.t("complaint_email_seen")) } dd { a href={ "mailto:" (e) } { (e) } " (" (r.language) ")" } }
            @if r.photo_type.is_some() { dt { (m.t("complaint_photo_seen")) } dd { a href={ "/api/v1/complaints/" (r.id) "/photo" } { (m.t("complaint_open_photo")) } } }
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
        Ok(_) => see_other(&format!("/app/complaints/{id}?done=complaint_updated")),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let key = match e.code {
                "outcome_required" => "complaint_outcome_required",
                "illegal_transition" | "complaint_changed" => "decided_meanwhile",
                _ => "form_invalid",
            };
            let caller = s.caller.clone();
            match state.db.read(move |c| ops::get(c, &caller, id)).await {
                Ok(row) => detail_page(&req, &m, &s, e.status, &row, Some(m.t(key))),
                Err(e) => crate::web::error::error_page(e),
            }
        }
        Err(e) => e.error_response(),
    }
}

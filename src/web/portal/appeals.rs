// The portal's appeal pages: the form a venue manager files an appeal with (statement and files), the list,
// and an appeal with the decision form for the officers and admins who took no part.

use crate::app::appeals::{self as ops};
use crate::app::rows::{AppealFileMeta, AppealRow};
use crate::domain::appeal::{AppealOutcome, AppealStatus, Subject};
use crate::domain::auth::Role;
use crate::web::api::appeals::*;
use crate::web::error::ApiError;
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, signed_in};
use crate::web::session::{MaybeSession, Session};
use crate::web::AppState;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::html;
use serde::Deserialize;

pub(crate) fn subject_text(m: &Messages, s: &str) -> String {
    let key = match Subject::parse(s) {
        Some(Subject::Rejection) => "appeal_subject_rejection",
        Some(Subject::Suspension) => "appeal_subject_suspension",
        Some(Subject::Withdrawal) => "appeal_subject_withdrawal",
        None => return s.to_string(),
    };
    m.t(key).to_string()
}

pub(crate) fn status_text(m: &Messages, s: &str) -> String {
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

pub(crate) fn form_page(req: &HttpRequest, m: &Messages, s: &Session, status: StatusCode, q: &NewParams, error: Option<&str>) -> HttpResponse {
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
    see_other(&format!("/app/appeals/{}?done=appeal_sent", row.id))
}

/// `/app/appeals`: officers see all appeals, a venue's manager their own, newest first.
pub async fn portal_list(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let caller = s.caller.clone();
    let rows = match state.db.read(move |c| ops::list(c, &caller, None, None, 100)).await {
        Ok(r) => r,
        Err(e) => return crate::web::error::error_page(e),
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

pub(crate) fn detail_page(
    req: &HttpRequest,
    m: &Messages,
    s: &Session,
    status: StatusCode,
    r: &AppealRow,
    files: &[AppealFileMeta],
    error: Option<&str>,
) -> HttpResponse {
    let officer = s.caller.has_any(&[Role::Officer, Role::Admin]);
    let open = r.status == AppealStatus::Open.as_str();
    // Whoever took part in the decision appealed against is told so, and given no form.
    let independent = crate::domain::appeal::independent(s.caller.user_id, &[r.decider_id, r.assessor_id]);
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
        @if officer && open && !independent {
            p.alert role="alert" { (m.t("appeal_took_part")) }
        }
        @if officer && open && independent {
            form.stack method="post" action={ "/app/appeals/" (r.id) } {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="reason" { (m.t("field_reason")) }
                textarea #reason name="reason" rows="4" required maxlength="8000" {}
                div.actions {
                    // Each outcome is confirmed on the next page, which names what will happen.
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
    pub confirm: Option<String>,
}

/// A refused appeal decision's words.
fn refusal_key(code: &str) -> &'static str {
    match code {
        "took_part" => "appeal_took_part",
        "reason_required" => "appeal_reason_required",
        "cannot_reverse" => "appeal_cannot_reverse",
        "forbidden_role" => "not_allowed",
        _ => "decided_meanwhile",
    }
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
    if form.confirm.as_deref() != Some("yes") {
        let (row, files) = match load(&state, s.caller.clone(), id).await {
            Ok(r) => r,
            Err(e) => return e.error_response(),
        };
        // Refused before the person confirms: the operation's own checks (who may, the reason).
        if let Err(e) = crate::app::appeals::check_decision(&s.caller, &row, form.reason.as_deref()) {
            let e = ApiError::from(e);
            return detail_page(&req, &m, &s, e.status, &row, &files, Some(m.t(refusal_key(e.code))));
        }
        let subject = row
            .certificate_number
            .clone()
            .unwrap_or_else(|| format!("#{}", row.assessment_id.unwrap_or_default()));
        let (what, button) = match outcome {
            AppealOutcome::Upheld => (m.f("confirm_uphold", &[("subject", &subject)]), m.t("confirm_uphold_button")),
            AppealOutcome::Dismissed => (m.f("confirm_dismiss", &[("subject", &subject)]), m.t("confirm_dismiss_button")),
        };
        let reason = form.reason.clone().unwrap_or_default();
        let confirm = crate::web::portal::frame::Confirm {
            title: format!("{} #{}", m.t("appeal_title"), id),
            what,
            reason: &reason,
            action_url: format!("/app/appeals/{id}"),
            name: "outcome",
            action: &form.outcome,
            button: button.to_string(),
            danger: false,
            back: format!("/app/appeals/{id}?lang={}", m.lang),
        };
        return crate::web::portal::frame::confirm_page(&req, &m, &s, confirm);
    }
    let b = AppealDecision {
        outcome,
        reason: form.reason.clone().unwrap_or_default(),
    };
    match decide_as(&state, s.caller.clone(), id, b).await {
        Ok(_) => see_other(&format!("/app/appeals/{id}?done=appeal_decided")),
        Err(e) if matches!(e.status.as_u16(), 403 | 409 | 422) => {
            let key = refusal_key(e.code);
            match load(&state, s.caller.clone(), id).await {
                Ok((row, files)) => detail_page(&req, &m, &s, e.status, &row, &files, Some(m.t(key))),
                Err(e) => e.error_response(),
            }
        }
        Err(e) => e.error_response(),
    }
}

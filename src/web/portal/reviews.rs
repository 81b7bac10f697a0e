// The portal's audit pages for reviewing (/app/reviews, /app/assessments/{id}): the officers' queue, oldest
// first with the waiting time; an audit's measurements, figures against thresholds, evidence and history
// side by side; the decision form (approve / reject with a reason / return with comments).

use crate::app::assessments as ops;
use crate::app::rows::ListQuery;
use crate::app::rows::{AssessmentRow, EventRow, EvidenceMeta};
use crate::domain::auth::Role;
use crate::domain::lifecycle::{AssessmentStatus, Decision};
use crate::domain::scoring::{Outcome, Value};
use crate::web::error::{error_page, ApiError};
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, signed_in};
use crate::web::session::{MaybeSession, Session};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup};
use serde::Deserialize;

const QUEUE: i64 = 50;

fn waiting(m: &Messages, since: chrono::NaiveDateTime) -> String {
    let d = crate::app::now() - since;
    if d.num_days() >= 1 {
        m.f("waiting_days", &[("n", &d.num_days().to_string())])
    } else {
        m.f("waiting_hours", &[("n", &d.num_hours().to_string())])
    }
}

const CURSOR_TIME: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// The queue's cursor: the last row's submission time and id.
#[derive(Deserialize)]
pub struct QueueParams {
    pub after_at: Option<String>,
    pub after_id: Option<i64>,
}

impl QueueParams {
    fn cursor(&self) -> Option<(chrono::NaiveDateTime, i64)> {
        let at = chrono::NaiveDateTime::parse_from_str(self.after_at.as_deref()?, CURSOR_TIME).ok()?;
        Some((at, self.after_id?))
    }
}

/// `/app/reviews`: submitted audits, oldest first, with how long each has waited (officers and admins).
pub async fn queue(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    if !s.caller.has_any(&[Role::Officer, Role::Admin]) {
        return page(
            &req,
            &m,
            StatusCode::FORBIDDEN,
            Some(&s),
            m.t("nav_reviews"),
            html! { p.alert role="alert" { (m.t("not_allowed")) } },
        );
    }
    let caller = s.caller.clone();
    let after = web::Query::<QueueParams>::from_query(req.query_string()).ok().and_then(|q| q.cursor());
    let lang = m.lang;
    let listed = state.db.read(move |c| crate::app::views::queue(c, &caller, after, QUEUE + 1, lang)).await;
    let rows = match listed {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    let more = rows.len() as i64 > QUEUE;
    let rows: Vec<_> = rows.into_iter().take(QUEUE as usize).collect();
    let next = rows.last().filter(|_| more).and_then(|(_, r)| r.submitted_at.map(|t| (t, r.id)));
    let body = html! {
        @if rows.is_empty() { p { (m.t("queue_empty")) } }
        @else {
            table {
                thead { tr { th { (m.t("field_venue")) } th { (m.t("col_audit")) } th { (m.t("col_waiting")) } } }
                tbody {
                    @for (venue, r) in &rows {
                        tr {
                            // The row links by its name: the venue (the audit's number is beside it).
                            td data-label=(m.t("field_venue")) { a href={ "/app/assessments/" (r.id) } { (venue) } }
                            td data-label=(m.t("col_audit")) { "#" (r.id) }
                            td data-label=(m.t("col_waiting")) { @if let Some(t) = r.submitted_at { (waiting(&m, t)) } }
                        }
                    }
                }
            }
        }
        @if let Some((at, id)) = next {
            nav.pager { a href={ "/app/reviews?after_at=" (at.format(CURSOR_TIME)) "&after_id=" (id) } { (m.t("next_page")) } }
        }
    };
    page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_reviews"), body)
}

#[derive(Deserialize)]
pub struct AuditListParams {
    pub status: Option<String>,
    pub after: Option<i64>,
}

const AUDITS_PAGE: i64 = 50;

/// `/app/assessments`: the audits this person may see (assessors their own, venue managers their venue's,
/// officers and admins all), by status, in pages of 50.
pub async fn list(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, params: web::Query<AuditListParams>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let p = params.into_inner();
    let status = p.status.clone().filter(|st| AssessmentStatus::parse(st).is_some());
    let caller = s.caller.clone();
    let q = ListQuery {
        venue_id: None,
        status: status.clone(),
        after_id: p.after,
        limit: AUDITS_PAGE + 1,
    };
    let lang = m.lang;
    let listed = state.db.read(move |c| crate::app::views::audits(c, &caller, &q, lang)).await;
    let (rows, names) = match listed {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    let (rows, next) = crate::web::keyset_page(rows, AUDITS_PAGE, |r| r.id);
    let body = html! {
        form.search method="get" action="/app/assessments" {
            label for="status" { (m.t("col_status")) }
            select #status name="status" {
                option value="" { (m.t("all_statuses")) }
                @for st in ["draft", "submitted", "returned", "approved", "rejected"] {
                    option value=(st) selected[status.as_deref() == Some(st)] { (status_text(&m, st)) }
                }
            }
            button type="submit" { (m.t("search_button")) }
        }
        @if rows.is_empty() { p { (m.t("no_results")) } }
        @else {
            table {
                thead { tr { th { (m.t("field_venue")) } th { (m.t("col_audit")) } th { (m.t("col_status")) } th { (m.t("col_updated")) } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td data-label=(m.t("field_venue")) {
                                a href={ "/app/assessments/" (r.id) } { (names.get(&r.venue_id).map(String::as_str).filter(|n| !n.is_empty()).unwrap_or("—")) }
                            }
                            td data-label=(m.t("col_audit")) { "#" (r.id) }
                            td data-label=(m.t("col_status")) { (status_text(&m, &r.status)) }
                            td data-label=(m.t("col_updated")) { (r.updated_at.format("%Y-%m-%d %H:%M")) }
                        }
                    }
                }
            }
        }
        @if let Some(n) = next {
            nav.pager { a href={ "/app/assessments?after=" (n) @if let Some(st) = &status { "&status=" (st) } } { (m.t("next_page")) } }
        }
    };
    page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_assessments"), body)
}

pub(crate) struct Audit {
    pub row: AssessmentRow,
    pub venue: String,
    pub evidence: Vec<EvidenceMeta>,
    pub history: Vec<EventRow>,
}

pub(crate) async fn load(state: &AppState, s: &Session, id: i64) -> crate::app::Result<Audit> {
    let caller = s.caller.clone();
    state
        .db
        .read(move |c| {
            let (row, venue, evidence, history) = ops::review(c, &caller, id)?;
            Ok(Audit { venue, evidence, history, row })
        })
        .await
}

/// An audit's history event in the page's language (the code itself only for one the catalogue lacks).
pub(crate) fn history_word(m: &Messages, action: &str) -> String {
    let key = match action {
        "created" => "event_created",
        "measurements_changed" => "event_measurements_changed",
        "evidence_added" => "event_evidence_added",
        "evidence_removed" => "event_evidence_removed",
        "submitted" => "event_submitted",
        "approved" => "event_approved",
        "rejected" => "event_rejected",
        "returned" => "event_returned",
        "reopened" => "event_reopened",
        "surveillance_passed" => "event_surveillance_passed",
        other => return other.replace('_', " "),
    };
    m.t(key).to_string()
}

pub(crate) fn status_text(m: &Messages, status: &str) -> String {
    m.t(match status {
        "draft" => "audit_draft",
        "submitted" => "audit_submitted",
        "approved" => "audit_approved",
        "rejected" => "audit_rejected",
        "returned" => "audit_returned",
        _ => "audit_draft",
    })
    .to_string()
}

pub(crate) fn audit_body(m: &Messages, s: &Session, state: &AppState, a: &Audit, error: Option<&str>) -> Markup {
    let scheme = state.catalogue.get(&a.row.scheme, a.row.scheme_version);
    let name = |id: &str| {
        scheme
            .and_then(|sc| sc.criterion(id))
            .map(|c| c.name.get(m.lang).to_string())
            .unwrap_or_else(|| id.to_string())
    };
    let outcome: Option<Outcome> = crate::app::rows::assessment::outcome_of(&a.row).ok().flatten();
    let measurements: serde_json::Value = serde_json::from_str(&a.row.measurements).unwrap_or_default();
    let values = crate::app::rows::assessment::measurements_of(&a.row).unwrap_or_default();
    let own = s.caller.user_id == Some(a.row.assessor_id);
    let officer = s.caller.has_any(&[Role::Officer, Role::Admin]);
    let id = a.row.id;
    html! {
        @if let Some(n) = &a.row.certificate_number {
            p.notice { (m.f("surveillance_of", &[("number", n)])) }
        }
        dl.facts {
            dt { (m.t("field_venue")) } dd { (a.venue) }
            dt { (m.t("col_status")) } dd { (status_text(m, &a.row.status)) }
            dt { (m.t("field_scheme")) } dd { (a.row.scheme) " v" (a.row.scheme_version) " · SHA-256 " code { (&a.row.criteria_sha256[..12.min(a.row.criteria_sha256.len())]) "…" } }
            @if let Some(r) = &a.row.decision_reason { dt { (m.t("field_reason")) } dd { (r) } }
        }
        @if s.caller.has(Role::Venue) && a.row.status == "rejected" {
            p { a href={ "/app/appeals/new?assessment=" (id) } { (m.t("appeal_this")) } }
        }
        @if let Some(o) = &outcome {
            h2 { (m.t("figures")) }
            table {
                thead { tr { th { (m.t("field_criteria")) } th { (m.t("figure_measured")) } th { (m.t("figure_threshold")) } th { (m.t("figure_result")) } } }
                tbody {
                    @for c in &o.criteria {
                        tr {
                            td data-label=(m.t("field_criteria")) { (name(&c.criterion)) }
                            td data-label=(m.t("figure_measured")) { (format!("{:.1}", c.measured)) " " (c.unit) }
                            td data-label=(m.t("figure_threshold")) { (c.op) " " (format!("{:.1}", c.threshold)) " " (c.unit) }
                            td data-label=(m.t("figure_result")) {
                                @if c.passed { span.badge.status-valid { "✓ " (m.t("passed")) } } @else { span.badge.status-bad { "✗ " (m.t("not_passed")) } }
                            }
                        }
                    }
                }
            }
        }
        h2 { (m.t("measurements")) }
        @match scheme {
            // In the criteria file's order: each measurement labelled with its unit, the criterion's figure
            // against its threshold, and its evidence with the assessor's description.
            Some(sc) => {
                @let flags = crate::domain::scoring::flags(sc, &values);
                @for c in &sc.criteria {
                    @let h = format!("m-{}", c.id);
                    section.review-criterion aria-labelledby=(h) {
                        h3 id=(h) { (c.name.get(m.lang)) }
                        @if let Some(r) = outcome.as_ref().and_then(|o| o.criteria.iter().find(|r| r.criterion == c.id)) {
                            p.figure {
                                (format!("{:.1}", r.measured)) " " (r.unit) " · " (m.t("figure_threshold")) " " (r.op) " " (format!("{:.1}", r.threshold)) " " (r.unit) " · "
                                @if r.passed { span.badge.status-valid { "✓ " (m.t("passed")) } } @else { span.badge.status-bad { "✗ " (m.t("not_passed")) } }
                            }
                        }
                        (crate::web::portal::assessments::flag_lines(m, &flags, &c.id))
                        table.measurements {
                            thead { tr { th { (m.t("col_measurement")) } th { (m.t("col_value")) } } }
                            tbody {
                                @for def in &c.measurements {
                                    @let value = values.get(&c.id).and_then(|v| v.get(&def.id));
                                    @let unit = def.unit.as_deref().map(|u| crate::web::portal::assessments::unit_text(m, u)).unwrap_or_default();
                                    tr {
                                        td data-label=(m.t("col_measurement")) { (def.name.get(m.lang)) @if !unit.is_empty() { " (" (unit) ")" } }
                                        td data-label=(m.t("col_value")) {
                                            @match value {
                                                Some(Value::Number(n)) => { strong { (format!("{n}")) } " " (unit) }
                                                Some(Value::Notes(notes)) => {
                                                    @if notes.is_empty() { "—" }
                                                    ol.notes {
                                                        @for n in notes {
                                                            li { (n.recycler) " · " (m.t("note_licence")) " " (n.licence_no) " · " (n.date) " · " strong { (format!("{}", n.kg)) } " " (m.t("unit_kg")) }
                                                        }
                                                    }
                                                }
                                                None => { "—" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        @let files: Vec<_> = a.evidence.iter().filter(|e| e.criterion == c.id).collect();
                        h4 { (m.t("evidence")) }
                        @if files.is_empty() { p.muted { "—" } }
                        ul.evidence {
                            @for e in &files {
                                @let href = format!("/app/assessments/{id}/evidence/{}", e.id);
                                li {
                                    a href=(href) { (e.filename) } " · " (e.size / 1024) " KiB · SHA-256 " code { (&e.sha256[..12]) }
                                    @if let Some(d) = &e.description { br; span { (d) } }
                                    @if e.media_type.starts_with("image/") { br; img.evidence src=(href) alt=(e.filename) loading="lazy"; }
                                }
                            }
                        }
                    }
                }
            }
            None => {
                @if let Some(obj) = measurements.as_object() {
                    @for (criterion, values) in obj {
                        h3 { (name(criterion)) }
                        pre.measurements { (serde_json::to_string_pretty(values).unwrap_or_default()) }
                    }
                }
                h2 { (m.t("evidence")) }
                ul.evidence {
                    @for e in &a.evidence {
                        li { (name(&e.criterion)) ": " a href={ "/app/assessments/" (id) "/evidence/" (e.id) } { (e.filename) } }
                    }
                }
            }
        }
        h2 { (m.t("history")) }
        ol.history {
            @for ev in &a.history { li { (ev.at.format("%Y-%m-%d %H:%M")) " · " (ev.actor_name) " · " (history_word(m, &ev.action)) } }
        }
        @if officer && a.row.status == "submitted" {
            h2 #h-decision { (m.t("decision")) }
            @if own {
                p.alert role="alert" { (m.t("self_decision_explained")) }
            } @else {
                @if let Some(e) = error { p.alert role="alert" id="form-error" { (e) } }
                form.stack method="post" action={ "/app/assessments/" (id) } aria-labelledby="h-decision" novalidate {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label for="reason" { (m.t("decision_reason")) }
                    textarea #reason name="reason" rows="3" maxlength="2000" aria-describedby={ "reason-help" @if error.is_some() { " form-error" } } aria-invalid=[error.map(|_| "true")] {}
                    p.muted #reason-help { (m.t("decision_reason_help")) }
                    // Each decision looks different: approve is the main button, reject the danger one,
                    // return a plain one; each is confirmed on the next page.
                    @if outcome.as_ref().is_some_and(|o| o.is_gold()) {
                        button type="submit" name="action" value="approve" { (m.t("action_approve")) }
                    }
                    button.secondary type="submit" name="action" value="return" { (m.t("action_return")) }
                    button.danger type="submit" name="action" value="reject" { (m.t("action_reject")) }
                }
            }
        }
    }
}

/// The audit's page, freshly loaded, with `error` above the decision form; 404 when the caller may not see it.
async fn audit_page(req: &HttpRequest, state: &AppState, s: &Session, id: i64, status: StatusCode, error: Option<&str>) -> HttpResponse {
    let m = negotiate(req);
    match load(state, s, id).await {
        Ok(a) => page(
            req,
            &m,
            status,
            Some(s),
            &m.f("audit_title", &[("id", &id.to_string())]),
            audit_body(&m, s, state, &a, error),
        ),
        Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => not_found(req, &m, s),
        Err(e) => error_page(e),
    }
}

pub(crate) fn not_found(req: &HttpRequest, m: &Messages, s: &Session) -> HttpResponse {
    page(
        req,
        m,
        StatusCode::NOT_FOUND,
        Some(s),
        m.t("nav_reviews"),
        html! { p role="alert" { (m.t("audit_not_found")) } },
    )
}

/// The decision from the audit's page: first a confirmation step that names what will happen, then (with
/// `confirm=yes`) the same operation as the API, with the same refusals.
pub(crate) async fn decide(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    s: &Session,
    id: i64,
    action: &str,
    reason: String,
    confirmed: bool,
) -> HttpResponse {
    let m = negotiate(req);
    let decision = match action {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        "return" => Decision::Return,
        _ => return see_other(&format!("/app/assessments/{id}")),
    };
    let reason = Some(reason).filter(|r| !r.trim().is_empty());
    if !confirmed {
        let a = match load(state, s, id).await {
            Ok(a) => a,
            Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => return not_found(req, &m, s),
            Err(e) => return error_page(e),
        };
        // Refused before the person confirms: the operation's own checks (who may, the reason).
        if let Err(e) = crate::app::assessments::check_decision(&s.caller, &a.row, decision, reason.as_deref()) {
            return refused(req, state, s, id, ApiError::from(e)).await;
        }
        let reason = reason.unwrap_or_default();
        let until = crate::domain::certificate::valid_until(state.clock.now().date(), state.config.validity_months).to_string();
        let venue = a.venue.as_str();
        let what = match (decision, &a.row.certificate_number) {
            (Decision::Approve, None) => m.f("confirm_approve", &[("venue", venue), ("until", &until)]),
            (Decision::Approve, Some(n)) => m.f("confirm_approve_surveillance", &[("venue", venue), ("number", n)]),
            (Decision::Reject, None) => m.f("confirm_reject", &[("venue", venue)]),
            (Decision::Reject, Some(n)) => m.f("confirm_reject_surveillance", &[("venue", venue), ("number", n)]),
            (Decision::Return, _) => m.f("confirm_return", &[("venue", venue)]),
        };
        let (button, danger) = match decision {
            Decision::Approve => (m.t("confirm_approve_button"), false),
            Decision::Reject => (m.t("confirm_reject_button"), true),
            Decision::Return => (m.t("confirm_return_button"), false),
        };
        let confirm = crate::web::portal::frame::Confirm {
            title: m.f("confirm_title_audit", &[("id", &id.to_string())]),
            what,
            reason: &reason,
            action_url: format!("/app/assessments/{id}"),
            name: "action",
            action,
            button: button.to_string(),
            danger,
            back: format!("/app/assessments/{id}?lang={}#h-decision", m.lang),
        };
        return crate::web::portal::frame::confirm_page(req, &m, s, confirm);
    }
    match crate::web::api::assessments::decide_as(state, s.caller.clone(), id, decision, reason).await {
        Ok((_, Some(cert))) => see_other(&format!("/app/certificates/{}?done=issued", cert.number)),
        Ok((_, None)) => see_other(&format!("/app/assessments/{id}?done={action}")),
        Err(e) => refused(req, state, s, id, e).await,
    }
}

/// A refused decision, said above the decision form in the page's language.
async fn refused(req: &HttpRequest, state: &AppState, s: &Session, id: i64, e: ApiError) -> HttpResponse {
    let m = negotiate(req);
    let (status, key) = match (e.status.as_u16(), e.code) {
        (404, _) => return not_found(req, &m, s),
        (403, "self_decision") => (StatusCode::FORBIDDEN, "self_decision_explained"),
        (403, _) => (StatusCode::FORBIDDEN, "not_allowed"),
        (409, _) => (StatusCode::CONFLICT, "decided_meanwhile"),
        (422, "reason_required") => (StatusCode::UNPROCESSABLE_ENTITY, "reject_needs_reason"),
        (422, "comments_required") => (StatusCode::UNPROCESSABLE_ENTITY, "return_needs_comments"),
        (422, _) => (StatusCode::UNPROCESSABLE_ENTITY, "form_invalid"),
        _ => return e.error_response(),
    };
    audit_page(req, state, s, id, status, Some(m.t(key))).await
}

// The portal's page frame: the page with its menu for a signed-in person, redirects (Post/Redirect/Get),
// the gate that sends a person to sign in, the flash-message query, and the status badge pages share.

use crate::app::accounts::Stage;
use crate::domain::auth::Role;
use crate::domain::lifecycle::PublicStatus;
use crate::domain::signing::Verdict;
use crate::web::i18n::Messages;
use crate::web::layout::{html_response, layout};
use crate::web::session::{MaybeSession, Session};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) const NO_STORE: &str = "no-store";

pub(crate) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .finish()
}

pub(crate) fn page(req: &HttpRequest, m: &Messages, status: StatusCode, session: Option<&Session>, title: &str, body: Markup) -> HttpResponse {
    let nav = session.filter(|s| s.stage == Stage::Full).map(|s| {
        html! {
            nav.portal aria-label=(m.t("nav_portal")) {
                a href="/app" { (m.t("nav_home")) }
                @if s.caller.has_any(&[Role::Officer, Role::Admin]) { a href="/app/reviews" { (m.t("nav_reviews")) } a href="/app/complaints" { (m.t("nav_complaints")) } }
                @if s.caller.has_any(&[Role::Officer, Role::Admin, Role::Venue]) { a href="/app/appeals" { (m.t("nav_appeals")) } }
                @if s.caller.has_any(&[Role::Assessor, Role::Officer, Role::Admin, Role::Venue]) { a href="/app/assessments" { (m.t("nav_assessments")) } }
                a href="/app/venues" { (m.t("nav_venues")) }
                a href="/app/certificates" { (m.t("nav_certificates")) }
                @if s.caller.has(Role::Admin) { a href="/app/users" { (m.t("nav_users")) } a href="/app/keys" { (m.t("nav_keys")) } }
                a href="/app/notifications" {
                    (m.t("nav_notifications"))
                    @if s.unread > 0 { " " span.count #unread aria-label=(m.f("unread_count", &[("n", &s.unread.to_string())])) { (s.unread) } }
                }
                a href="/app/account" { (m.t("nav_account")) }
                span.muted { (s.user.name) }
                form.inline method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" name="action" value="logout" { (m.t("sign_out")) }
                }
            }
        }
    });
    let flash = flash(req, m);
    let body = html! {
        @if let Some(n) = nav { (n) }
        h1 { (title) }
        @if let Some(f) = flash { p.notice role="status" #flash { (f) } }
        (body)
    };
    html_response(status, NO_STORE, layout(req, m, title, body))
}

/// The flash message after an action's redirect (`?done=<what>`, Post/Redirect/Get): what just happened,
/// in the page's language. Codes a page shows itself (the account's, the people pages') are left to it.
fn flash(req: &HttpRequest, m: &Messages) -> Option<String> {
    let done = web::Query::<Notice>::from_query(req.query_string()).ok()?.into_inner().done?;
    let key = match done.as_str() {
        "issued" => "flash_issued",
        "suspend" => "flash_suspend",
        "reinstate" => "flash_reinstate",
        "withdraw" => "flash_withdraw",
        "venue_created" => "flash_venue_created",
        "saved" => "flash_venue_saved",
        "audit_started" => "flash_audit_started",
        "approve" => "flash_audit_approved",
        "reject" => "flash_audit_rejected",
        "return" => "flash_audit_returned",
        "appeal_sent" => "flash_appeal_sent",
        "appeal_decided" => "flash_appeal_decided",
        "complaint_updated" => "flash_complaint_updated",
        _ => return None,
    };
    Some(m.t(key).to_string())
}

/// What a confirmation step shows and sends.
pub(crate) struct Confirm<'a> {
    /// The page's title and the sentence that names what will happen.
    pub title: String,
    pub what: String,
    /// The reason or comments the person typed, shown and carried on.
    pub reason: &'a str,
    /// Where the confirmed form goes, and the decision it sends (`name=value` of the button pressed).
    pub action_url: String,
    pub name: &'a str,
    pub action: &'a str,
    /// The confirming button's words and look (`danger` for what cannot be undone).
    pub button: String,
    pub danger: bool,
    /// Where "Go back, change nothing" leads: another address than the form's (a query at least), so that
    /// the browser loads it rather than only scrolling the confirmation page.
    pub back: String,
}

/// The second step of a decision: the sentence that names what will happen ("Issue certificate for …,
/// valid until …"), the reason as typed, and a form that sends the same decision with `confirm=yes`; going
/// back changes nothing.
pub(crate) fn confirm_page(req: &HttpRequest, m: &Messages, s: &Session, c: Confirm<'_>) -> HttpResponse {
    let body = html! {
        p.callout role="status" #confirm-what { (c.what) }
        @if !c.reason.trim().is_empty() {
            dl.facts { dt { (m.t("field_reason")) } dd { (c.reason) } }
        }
        form.stack method="post" action=(c.action_url) {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="reason" value=(c.reason);
            input type="hidden" name="confirm" value="yes";
            button class=[c.danger.then_some("danger")] type="submit" name=(c.name) value=(c.action) { (c.button) }
        }
        p { a.button.secondary href=(c.back) { (m.t("confirm_back")) } }
    };
    page(req, m, StatusCode::OK, Some(s), &c.title, body)
}

/// Pages for signed-in people: the session, or a redirect to sign in (back here afterwards), or to the
/// second-factor set-up for officers and admins who have none.
pub(crate) fn signed_in(req: &HttpRequest, s: MaybeSession, allow_without_factor: bool) -> Result<Session, Box<HttpResponse>> {
    match s.0 {
        Some(s) if s.stage == Stage::Full && (allow_without_factor || !s.needs_factor) => Ok(s),
        Some(s) if s.stage == Stage::Full => Err(Box::new(see_other("/app/account/totp"))),
        _ => Err(Box::new(crate::web::session::to_sign_in(req.path(), req.query_string()))),
    }
}

#[derive(Deserialize)]
pub struct Notice {
    pub done: Option<String>,
}

/// The status as text with a symbol (the badge's class draws ✓, !, ✗ or →).
pub fn status_badge(m: &Messages, s: PublicStatus) -> Markup {
    let v = Verdict::from(s);
    let class = crate::web::layout::style(v);
    let symbol = match class {
        "status-valid" => "✓",
        "status-warn" => "!",
        "status-bad" => "✗",
        _ => "→",
    };
    html! { span class={ "badge " (class) } { span aria-hidden="true" { (symbol) " " } (crate::web::layout::status_word(m, v)) } }
}

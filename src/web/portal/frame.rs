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
use actix_web::{HttpRequest, HttpResponse};
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
                a href="/app/notifications" { (m.t("nav_notifications")) }
                a href="/app/account" { (m.t("nav_account")) }
                span.muted { (s.user.name) }
                form.inline method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" name="action" value="logout" { (m.t("sign_out")) }
                }
            }
        }
    });
    let body = html! {
        @if let Some(n) = nav { (n) }
        h1 { (title) }
        (body)
    };
    html_response(status, NO_STORE, layout(req, m, title, body))
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

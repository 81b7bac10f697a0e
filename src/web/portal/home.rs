// The signed-in home `/app`: what to do next, by role (drafts and returned audits, the review queue,
// the venue's certificates).

use crate::domain::auth::Role;
use crate::web::error::error_page;
use crate::web::i18n::negotiate;
use crate::web::portal::account::{role_help_key, role_key};
use crate::web::portal::frame::{page, signed_in, status_badge};
use crate::web::session::{MaybeSession, Session};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

// ---- /app ----

use crate::app::views::Todo;

async fn todo(state: &AppState, s: &Session) -> crate::app::Result<Todo> {
    let (today, caller) = (state.clock.now().date(), s.caller.clone());
    state.db.read(move |c| crate::app::views::todo(c, &caller, today)).await
}

pub async fn home(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    let m = negotiate(&req);
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let t = match todo(&state, &s).await {
        Ok(t) => t,
        Err(e) => return error_page(e),
    };
    let roles: Vec<&str> = s.caller.roles.iter().map(|r| m.t(role_key(*r))).collect();
    let at = state.clock.now();
    let body = html! {
        p { (m.f("home_intro", &[("name", &s.user.name)])) " " (roles.join(", ")) }
        @for r in &s.caller.roles { p.muted { (m.t(role_help_key(*r))) } }
        @if s.caller.has_any(&[Role::Officer, Role::Admin]) {
            section aria-labelledby="h-decide" {
                h2 #h-decide { (m.t("nav_reviews")) }
                p {
                    (m.f("todo_waiting", &[("n", &t.waiting.to_string())]))
                    @if let Some(o) = t.oldest { " " (m.f("todo_oldest", &[("date", &o.format("%Y-%m-%d").to_string())])) }
                }
                p { a href="/app/reviews" { (m.t("todo_open_queue")) } }
            }
        }
        @if !t.complaints.is_empty() {
            section aria-labelledby="h-complaints" {
                h2 #h-complaints { (m.t("todo_complaints")) }
                ul.links { @for c in &t.complaints { li {
                    a href={ "/app/complaints/" (c.id) } { (c.reference) " · " (crate::web::i18n::category_text(&m, &c.category)) }
                    " " span.muted { (c.certificate_number) " · " (c.created_at.format("%Y-%m-%d")) }
                } } }
                p { a href="/app/complaints" { (m.t("todo_all_complaints")) } }
            }
        }
        @if !t.appeals.is_empty() {
            section aria-labelledby="h-appeals" {
                h2 #h-appeals { (m.t("todo_appeals")) }
                ul.links { @for a in &t.appeals { li {
                    a href={ "/app/appeals/" (a.id) } { (m.t("appeal_title")) " #" (a.id) @if let Some(n) = &a.certificate_number { " · " (n) } }
                    " " span.muted { (a.created_at.format("%Y-%m-%d")) }
                } } }
            }
        }
        @if !t.due_soon.is_empty() {
            section aria-labelledby="h-due" {
                h2 #h-due { (m.t("todo_due_soon")) }
                ul.links { @for c in &t.due_soon { li {
                    a href={ "/app/certificates/" (c.number) } { (c.venue_name_in(m.lang)) " · " (c.number) }
                    " " span.muted {
                        @if let Some(d) = c.surveillance_due { (m.t("surveillance_due")) " " (d) " · " }
                        (m.t("col_valid_until")) " " (c.valid_until)
                    }
                } } }
            }
        }
        @if s.caller.has(Role::Assessor) {
            section aria-labelledby="h-mine" {
                h2 #h-mine { (m.t("todo_mine")) }
                @if t.mine.is_empty() { p { (m.t("todo_mine_none")) } }
                ul { @for a in &t.mine { li { a href={ "/app/assessments/" (a.id) } { (m.f("audit_title", &[("id", &a.id.to_string())])) } " · " (m.t(if a.status == "returned" { "audit_returned" } else { "audit_draft" })) } } }
            }
        }
        @if s.caller.has(Role::Venue) {
            section aria-labelledby="h-certs" {
                h2 #h-certs { (m.t("nav_certificates")) }
                @if t.certificates.is_empty() { p { (m.t("no_results")) } }
                ul { @for c in &t.certificates { li {
                    a href={ "/app/certificates/" (c.number) } { (c.number) } " "
                    @if let Ok(st) = crate::app::rows::certificate::status_now(c, at) { (status_badge(&m, st)) }
                    " " (m.t("col_valid_until")) " " (c.valid_until)
                } } }
            }
        }
        @if s.caller.has(Role::Admin) {
            section aria-labelledby="h-admin" {
                h2 #h-admin { (m.t("nav_users")) }
                p { a href="/app/users" { (m.t("todo_people")) } }
                p { a href="/app/keys" { (m.t("todo_keys")) } }
            }
        }
        ul.links {
            li { a href="/app/certificates" { (m.t("nav_certificates")) } }
            li { a href="/app/account" { (m.t("nav_account")) } }
            li { a href="/docs/" { (m.t("api_docs")) } }
            li { a href="/register" { (m.t("nav_register")) } }
        }
    };
    page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_home"), body)
}

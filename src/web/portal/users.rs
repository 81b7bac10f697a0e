// The portal's people pages for admins (/app/users…): invite people (the link shown once), and for each
// person unlock sign-in, reset the second factor, make a new password link, end sessions, revoke tokens.

use crate::app::accounts as ops;
use crate::app::rows::AuthEventRow;
use crate::app::rows::UserRow;
use crate::app::users::{RolesChange, VenuePick};
use crate::domain::auth::{parse_roles, Role};
use crate::web::error::error_page;
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, signed_in};
use crate::web::session::{client_of, MaybeSession, Session};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

/// The signed-in admin, or a 403 page titled `title` for anyone else.
pub(crate) fn require_admin(req: &HttpRequest, s: MaybeSession, title: &'static str) -> Result<Session, Box<HttpResponse>> {
    let s = signed_in(req, s, false)?;
    if s.caller.has(Role::Admin) {
        Ok(s)
    } else {
        let m = negotiate(req);
        let body = html! { p.alert role="alert" { (m.t("not_allowed")) } };
        Err(Box::new(page(req, &m, StatusCode::FORBIDDEN, Some(&s), m.t(title), body)))
    }
}

fn admin(req: &HttpRequest, s: MaybeSession) -> Result<Session, Box<HttpResponse>> {
    require_admin(req, s, "nav_users")
}

fn role_name(m: &Messages, r: Role) -> &str {
    m.t(match r {
        Role::Admin => "role_admin",
        Role::Officer => "role_officer",
        Role::Assessor => "role_assessor",
        Role::Venue => "role_venue",
    })
}

fn roles_text(m: &Messages, u: &UserRow) -> String {
    parse_roles(&u.roles)
        .unwrap_or_default()
        .into_iter()
        .map(|r| role_name(m, r))
        .collect::<Vec<_>>()
        .join(", ")
}

fn invite_form(m: &Messages, s: &Session, error: Option<&str>, f: Option<&InviteForm>) -> Markup {
    let field_invalid = error.map(|_| "true");
    html! {
        h2 #h-invite { (m.t("invite_title")) }
        @if let Some(e) = error { p.alert role="alert" id="form-error" { (e) } }
        form.stack method="post" action="/app/users" aria-labelledby="h-invite" novalidate {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="email" { (m.t("field_email")) }
            input #email type="email" name="email" required value=[f.map(|f| f.email.as_str())] aria-invalid=[field_invalid] aria-describedby=[error.map(|_| "form-error")];
            label for="name" { (m.t("field_name")) }
            input #name type="text" name="name" required maxlength="200" value=[f.map(|f| f.name.as_str())];
            fieldset {
                legend { (m.t("field_roles")) }
                @for r in Role::ALL {
                    label.check { input type="checkbox" name="role" value=(r.as_str()); " " (role_name(m, r)) }
                }
            }
            // A venue manager is invited from the venue's page (no number to type); a form sent from there
            // and shown again keeps its venue.
            @if let Some(v) = f.and_then(|f| f.venue_id.as_deref()).filter(|v| !v.is_empty()) { input type="hidden" name="venue_id" value=(v); }
            p.muted #venue-help { (m.t("invite_venue_manager_help")) " " a href="/app/venues" { (m.t("nav_venues")) } }
            button type="submit" name="action" value="invite" { (m.t("invite_button")) }
        }
    }
}

const PEOPLE_PAGE: i64 = 50;

/// A sign-in event in words of the page's language ("Sign-in · failed"), never its codes; a code this
/// version does not know (written by a newer one) is shown as it is.
fn auth_event_words(m: &Messages, kind: &str, outcome: &str) -> String {
    let kind_key = match kind {
        "invitation_created" => "auth_invitation_created",
        "password_link_created" => "auth_password_link_created",
        "email_set" => "auth_email_set",
        "password_set" => "auth_password_set",
        "sign_in" => "auth_sign_in",
        "locked" => "auth_locked",
        "second_factor" => "auth_second_factor",
        "second_factor_enrolled" => "auth_second_factor_enrolled",
        "second_factor_reset" => "auth_second_factor_reset",
        "session_ended" => "auth_session_ended",
        "unlocked" => "auth_unlocked",
        "password_changed" => "auth_password_changed",
        _ => "",
    };
    let outcome_key = match outcome {
        "ok" => "outcome_ok",
        "failed" => "outcome_failed",
        "refused_locked" => "outcome_refused_locked",
        "second_factor_needed" => "outcome_second_factor_needed",
        _ => "",
    };
    let word = |key: &'static str, code: &str| if key.is_empty() { code.to_string() } else { m.t(key).to_string() };
    format!("{} · {}", word(kind_key, kind), word(outcome_key, outcome))
}

/// Sign-in events, newest first: when, what and the outcome, from where.
fn events_table(m: &Messages, events: &[AuthEventRow]) -> Markup {
    html! {
        h2 { (m.t("auth_events")) }
        table {
            thead { tr { th { (m.t("event_when")) } th { (m.t("event_what")) } th { (m.t("session_ip")) } } }
            tbody { @for e in events { tr {
                td data-label=(m.t("event_when")) { (e.at.format("%Y-%m-%d %H:%M:%S")) }
                td data-label=(m.t("event_what")) { (auth_event_words(m, &e.kind, &e.outcome)) }
                td data-label=(m.t("session_ip")) { (e.ip) }
            } } }
        }
    }
}

#[derive(Deserialize)]
pub struct PeopleParams {
    pub after: Option<i64>,
}

async fn users_page(
    req: &HttpRequest,
    state: &AppState,
    s: &Session,
    status: StatusCode,
    notice: Option<Markup>,
    error: Option<&str>,
    f: Option<&InviteForm>,
) -> HttpResponse {
    let m = negotiate(req);
    let after = web::Query::<PeopleParams>::from_query(req.query_string()).ok().and_then(|q| q.after);
    let caller = s.caller.clone();
    let lang = m.lang;
    let listed = state
        .db
        .read(move |c| crate::app::views::people(c, &caller, after, PEOPLE_PAGE + 1, lang))
        .await;
    let crate::app::views::People { rows, events, venues } = match listed {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    let (rows, next) = crate::web::keyset_page(rows, PEOPLE_PAGE, |u| u.id);
    let body = html! {
        @if let Some(n) = notice { (n) }
        (invite_form(&m, s, error, f))
        h2 { (m.t("nav_users")) }
        table {
            thead { tr { th { (m.t("field_name")) } th { (m.t("field_email")) } th { (m.t("field_roles")) } th { (m.t("second_factor")) } } }
            tbody {
                @for u in &rows {
                    tr {
                        td data-label=(m.t("field_name")) { a href={ "/app/users/" (u.id) } { (u.name) } }
                        td data-label=(m.t("field_email")) { (u.email.as_deref().unwrap_or("—")) }
                        td data-label=(m.t("field_roles")) {
                            (roles_text(&m, u))
                            // A venue manager's venue, by name, linking to it.
                            @if let Some(v) = u.venue_id { " · " a href={ "/app/venues/" (v) } { (venues.get(&v).map(String::as_str).unwrap_or("—")) } }
                        }
                        td data-label=(m.t("second_factor")) { @if u.totp_secret.is_some() { "✓ " (m.t("yes")) } @else { "— " (m.t("no")) } }
                    }
                }
            }
        }
        @if let Some(n) = next { nav.pager { a href={ "/app/users?after=" (n) } { (m.t("next_page")) } } }
        (events_table(&m, &events))
    };
    page(req, &m, status, Some(s), m.t("nav_users"), body)
}

/// `/app/users`: everyone, and the invitation form.
pub async fn list(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    match admin(&req, s) {
        Ok(s) => users_page(&req, &state, &s, StatusCode::OK, None, None, None).await,
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    pub venue_id: Option<String>,
}

/// Invite a person: the link is shown once, to pass on.
pub async fn invite(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, body: web::Bytes) -> HttpResponse {
    let s = match admin(&req, s) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    // Several `role` fields: read the form as pairs.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let form = InviteForm {
        email: get("email").unwrap_or_default(),
        name: get("name").unwrap_or_default(),
        venue_id: get("venue_id").filter(|v| !v.trim().is_empty()),
    };
    let roles: Vec<Role> = pairs.iter().filter(|(k, _)| k == "role").filter_map(|(_, v)| Role::parse(v).ok()).collect();
    let venue_id = match form.venue_id.as_deref().map(|v| v.trim().parse::<i64>()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => return users_page(&req, &state, &s, StatusCode::UNPROCESSABLE_ENTITY, None, Some(m.t("form_invalid")), Some(&form)).await,
    };
    let (caller, client, url, now) = (s.caller.clone(), client_of(&req, &state), state.config.public_url.clone(), state.clock.now());
    let (email, name) = (form.email.clone(), form.name.clone());
    let made = state
        .db
        .write(move |c| {
            let p = ops::NewPerson {
                email: &email,
                name: &name,
                roles: &roles,
                venue_id,
            };
            ops::invite(c, &caller, &client, p, &url, now)
        })
        .await;
    match made {
        Ok(link) => {
            let notice = html! {
                div.notice role="status" {
                    p { (m.f("invited", &[("name", &link.user.name)])) }
                    p { code.secret #invitation-link { (link.url) } }
                }
            };
            let mut res = users_page(&req, &state, &s, StatusCode::OK, Some(notice), None, None).await;
            res.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            res
        }
        Err(crate::app::Error::Storage(crate::app::StorageError::Invalid { message, .. } | crate::app::StorageError::Conflict { message, .. })) => {
            users_page(&req, &state, &s, StatusCode::UNPROCESSABLE_ENTITY, None, Some(&message), Some(&form)).await
        }
        Err(e) => error_page(e),
    }
}

/// `/app/users/{id}`: a person's sessions, tokens and sign-in events, with the admin's actions.
pub async fn show(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>) -> HttpResponse {
    match admin(&req, s) {
        Ok(s) => person_page(&req, &state, &s, path.into_inner(), StatusCode::OK, RolesForm::default()).await,
        Err(r) => *r,
    }
}

/// The role form as sent, shown again with its error (nothing typed is lost), or the venues a typed name
/// matches for the admin to choose among.
#[derive(Default)]
struct RolesForm {
    error: Option<String>,
    roles: Option<Vec<Role>>,
    venue: Option<String>,
    choices: Vec<crate::storage::models::VenueRow>,
}

async fn person_page(req: &HttpRequest, state: &AppState, s: &Session, id: i64, status: StatusCode, form: RolesForm) -> HttpResponse {
    let error = form.error.as_deref();
    let m = negotiate(req);
    let caller = s.caller.clone();
    let lang = m.lang;
    let person = state.db.read(move |c| crate::app::views::person(c, &caller, id, lang)).await;
    let p = match person {
        Ok(p) => p,
        Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => {
            return page(
                req,
                &m,
                StatusCode::NOT_FOUND,
                Some(s),
                m.t("nav_users"),
                html! { p role="alert" { (m.t("user_not_found")) } },
            )
        }
        Err(e) => return error_page(e),
    };
    let done = web::Query::<crate::web::portal::frame::Notice>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.done.clone());
    let action = |value: &str, label: &str| {
        html! {
            form.inline method="post" action={ "/app/users/" (p.user.id) } {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" name="action" value=(value) { (label) }
            }
        }
    };
    let body = html! {
        @if let Some(d) = done { p.notice role="status" { (m.t(match d.as_str() { "unlocked" => "notice_unlocked", "factor_reset" => "notice_factor_reset", "sessions_ended" => "notice_session_ended", "token_revoked" => "notice_token_revoked", "roles" => "notice_roles", _ => "notice_saved" })) } }
        dl.facts {
            dt { (m.t("field_email")) } dd { (p.user.email.as_deref().unwrap_or("—")) }
            dt { (m.t("field_roles")) } dd { (roles_text(&m, &p.user)) }
            @if let (Some(v), Some(name)) = (p.user.venue_id, &p.venue) { dt { (m.t("field_venue")) } dd { a href={ "/app/venues/" (v) } { (name) } } }
            dt { (m.t("second_factor")) } dd { @if p.user.totp_secret.is_some() { "✓ " (m.t("yes")) } @else { "— " (m.t("no")) } }
        }
        h2 #h-roles { (m.t("field_roles")) }
        @if let Some(e) = error { p.alert role="alert" id="roles-error" { (e) } }
        form.stack method="post" action={ "/app/users/" (p.user.id) "/roles" } aria-labelledby="h-roles" novalidate {
            input type="hidden" name="csrf" value=(s.csrf);
            fieldset aria-describedby=[error.map(|_| "roles-error")] {
                legend { (m.t("field_roles")) }
                @let current = form.roles.clone().unwrap_or_else(|| parse_roles(&p.user.roles).unwrap_or_default());
                @for r in Role::ALL {
                    label.check { input type="checkbox" name="role" value=(r.as_str()) checked[current.contains(&r)]; " " (role_name(&m, r)) }
                }
            }
            // The venue by name (as the venue list finds it), never by number; the current one is kept as it is.
            @if let (Some(v), Some(name)) = (p.user.venue_id, &p.venue) {
                input type="hidden" name="venue_was" value=(name);
                input type="hidden" name="venue_was_id" value=(v);
            }
            label for="venue" { (m.t("field_venue_name")) }
            input #venue type="search" name="venue" autocomplete="off" aria-describedby="venue-help" value=[form.venue.as_deref().or(p.venue.as_deref())];
            p.muted #venue-help { (m.t("venue_name_help")) }
            @if !form.choices.is_empty() {
                fieldset #venue-choices {
                    legend { (m.t("venue_choose")) }
                    @for v in &form.choices {
                        label.check { input type="radio" name="venue_id" value=(v.id); " " (crate::web::layout::venue_name(m.lang, v)) " · " (crate::web::layout::venue_city(m.lang, v)) }
                    }
                }
            }
            button type="submit" name="action" value="save_roles" { (m.t("save_roles")) }
        }
        p.actions {
            (action("unlock", m.t("action_unlock"))) " "
            @if p.user.totp_secret.is_some() { (action("reset_second_factor", m.t("action_reset_factor"))) " " }
            @if p.user.email.is_some() { (action("password_link", m.t("action_password_link"))) " " }
            @if !p.sessions.is_empty() { (action("end_sessions", m.t("action_end_sessions"))) }
        }
        h2 { (m.t("sessions")) }
        @if p.sessions.is_empty() { p { "—" } }
        ul { @for x in &p.sessions { li { (crate::domain::account::device_of(&x.user_agent)) " · " (x.ip) " · " (x.last_seen_at.format("%Y-%m-%d %H:%M UTC")) } } }
        h2 { (m.t("api_tokens")) }
        ul {
            @for t in p.tokens.iter().filter(|t| t.revoked_at.is_none()) {
                li {
                    (t.label) " "
                    form.inline method="post" action={ "/app/users/" (p.user.id) } {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="token_id" value=(t.id);
                        button type="submit" name="action" value="revoke_token" aria-label={ (m.t("revoke")) ": " (t.label) } { (m.t("revoke")) }
                    }
                }
            }
        }
        (events_table(&m, &p.events))
    };
    page(req, &m, status, Some(s), &p.user.name.clone(), body)
}

/// Change a person's roles and venue binding (the same operation as `POST /api/v1/users/{id}/roles`).
pub async fn set_roles(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>, body: web::Bytes) -> HttpResponse {
    let s = match admin(&req, s) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let id = path.into_inner();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let roles: Vec<Role> = pairs.iter().filter(|(k, _)| k == "role").filter_map(|(_, v)| Role::parse(v).ok()).collect();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let typed = field("venue");
    // A venue chosen among the matches, else the current one while its name is unchanged (none once the
    // person no longer manages a venue: the name left in the box is not a request to keep it), else the
    // name typed.
    let manages = roles.contains(&Role::Venue);
    let pick = match (field("venue_id"), field("venue_was").zip(field("venue_was_id")), typed.clone()) {
        (Some(chosen), _, _) => chosen.parse().map(VenuePick::Id).ok(),
        (None, Some((was, _)), Some(t)) if t == was && !manages => Some(VenuePick::None),
        (None, Some((was, was_id)), Some(t)) if t == was => was_id.parse().map(VenuePick::Id).ok(),
        (None, _, Some(t)) => Some(VenuePick::Name(t)),
        (None, _, None) => Some(VenuePick::None),
    };
    let again = |error: &str, choices| RolesForm {
        error: Some(error.to_string()),
        roles: Some(roles.clone()),
        venue: typed.clone(),
        choices,
    };
    let Some(pick) = pick else {
        return person_page(&req, &state, &s, id, StatusCode::UNPROCESSABLE_ENTITY, again(m.t("form_invalid"), vec![])).await;
    };
    let (caller, chosen) = (s.caller.clone(), roles.clone());
    let changed = state
        .db
        .write(move |c| crate::app::users::set_roles_naming_venue(c, &caller, id, &chosen, pick))
        .await;
    let key = match changed {
        Ok(RolesChange::Done(u)) => {
            tracing::info!(user = u.id, roles = %u.roles, "roles changed (portal)");
            return see_other(&format!("/app/users/{id}?done=roles"));
        }
        Ok(RolesChange::Choose(venues)) => {
            return person_page(&req, &state, &s, id, StatusCode::UNPROCESSABLE_ENTITY, again(m.t("venue_choose"), venues)).await
        }
        Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => {
            return person_page(&req, &state, &s, id, StatusCode::NOT_FOUND, RolesForm::default()).await
        }
        Err(crate::app::Error::Storage(crate::app::StorageError::Invalid { code, .. } | crate::app::StorageError::Conflict { code, .. })) => match code {
            "invalid_role" => "roles_none",
            "venue_required" => "roles_venue_required",
            "venue_not_allowed" => "roles_venue_not_allowed",
            "unknown_venue" => "roles_unknown_venue",
            "cannot_demote_self" => "roles_not_self",
            _ => "form_invalid",
        },
        Err(e) => return error_page(e),
    };
    let status = if key == "roles_not_self" {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    person_page(&req, &state, &s, id, status, again(m.t(key), vec![])).await
}

#[derive(Deserialize)]
pub struct PersonAction {
    pub action: String,
    pub token_id: Option<i64>,
}

/// The admin's actions on a person, each one operation of the application layer.
pub async fn act(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>, form: web::Form<PersonAction>) -> HttpResponse {
    let s = match admin(&req, s) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let id = path.into_inner();
    let f = form.into_inner();
    let (caller, client, url, now) = (s.caller.clone(), client_of(&req, &state), state.config.public_url.clone(), state.clock.now());
    let action = f.action.clone();
    let out = state
        .db
        .write(move |c| -> crate::app::Result<_> {
            let r = match action.as_str() {
                "unlock" => ops::unlock(c, &caller, &client, id).map(|_| None),
                "reset_second_factor" => ops::reset_second_factor(c, &caller, &client, id).map(|_| None),
                "end_sessions" => ops::end_all_sessions(c, &caller, &client, id, None).map(|_| None),
                // Only this person's tokens from this page.
                "revoke_token" => ops::revoke_token_of(c, &caller, id, f.token_id.unwrap_or(-1)).map(|_| None),
                "password_link" => ops::password_link(c, &caller, &client, id, &url, now).map(|l| Some(l.url)),
                _ => return Ok(None),
            };
            r
        })
        .await;
    let done = match f.action.as_str() {
        "unlock" => "unlocked",
        "reset_second_factor" => "factor_reset",
        "end_sessions" => "sessions_ended",
        "revoke_token" => "token_revoked",
        _ => "saved",
    };
    match out {
        Ok(Some(link)) => {
            let body = html! {
                div.notice role="status" { p { (m.t("password_link_made")) } p { code.secret #password-link { (link) } } }
                p { a href={ "/app/users/" (id) } { (m.t("continue")) } }
            };
            let mut res = page(&req, &m, StatusCode::OK, Some(&s), m.t("action_password_link"), body);
            res.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            res
        }
        Ok(None) | Err(crate::app::Error::Storage(crate::app::StorageError::Conflict { .. })) => see_other(&format!("/app/users/{id}?done={done}")),
        Err(e) => error_page(e),
    }
}

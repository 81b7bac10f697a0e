// The sign-in pages (kk/ru/en, no script): invitation and password links, /login and /login/totp,
// sign-out, the signed-in home /app, and /app/account (sessions, API tokens, password, second factor).

use super::error::error_page;
use super::i18n::{negotiate, Messages};
use super::layout::{html_response, layout};
use super::session::{client_of, removal_cookie, session_cookie, MaybeSession, Session};
use super::AppState;
use crate::app::accounts::{self as ops, Stage};
use crate::app::Error as AppError;
use crate::domain::account::{device_of, safe_next, PASSWORD_MIN};
use crate::domain::auth::Role;
use crate::storage::{self, users};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

const NO_STORE: &str = "no-store";

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

/// An error message for the top of a form, tied to the field it is about.
fn alert(text: &str) -> Markup {
    html! { p.alert role="alert" id="form-error" { (text) } }
}

fn error_text(m: &Messages, e: &AppError) -> String {
    match e {
        AppError::Throttled { retry_after } => m.f("signin_throttled", &[("minutes", &retry_after.div_ceil(60).to_string())]),
        AppError::Unauthorized {
            code: "invalid_credentials", ..
        } => m.t("signin_wrong").to_string(),
        AppError::Unauthorized { code: "invalid_code", .. } => m.t("code_wrong").to_string(),
        AppError::Unauthorized { .. } => m.t("signin_again").to_string(),
        AppError::Gone { .. } => m.t("link_invalid").to_string(),
        AppError::Storage(storage::Error::Invalid { code, .. }) => match *code {
            "password_too_short" => m.f("password_too_short", &[("min", &PASSWORD_MIN.to_string())]),
            "password_too_long" => m.t("password_too_long").to_string(),
            "password_mismatch" => m.t("password_mismatch").to_string(),
            "password_weak" => m.t("password_weak").to_string(),
            "wrong_password" => m.t("current_password_wrong").to_string(),
            "invalid_code" => m.t("code_wrong").to_string(),
            _ => m.t("form_invalid").to_string(),
        },
        _ => m.t("try_again").to_string(),
    }
}

fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        AppError::Gone { .. } => StatusCode::GONE,
        AppError::Storage(storage::Error::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Storage(storage::Error::Conflict { .. }) => StatusCode::CONFLICT,
        AppError::Storage(storage::Error::NotFound) => StatusCode::NOT_FOUND,
        AppError::Storage(storage::Error::Forbidden { .. }) => StatusCode::FORBIDDEN,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn with_retry(mut res: HttpResponse, e: &AppError) -> HttpResponse {
    if let AppError::Throttled { retry_after } = e {
        if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// Log what a page cannot show (internal errors), once.
fn logged(e: AppError) -> AppError {
    if matches!(e, AppError::Storage(storage::Error::Internal(_) | storage::Error::Unavailable(_))) {
        tracing::error!(error = %e, "sign-in operation failed");
    }
    e
}

fn csrf_field(s: Option<&Session>) -> Markup {
    html! { @if let Some(s) = s { input type="hidden" name="csrf" value=(s.csrf); } }
}

fn next_of(req: &HttpRequest) -> Option<String> {
    web::Query::<NextQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.next.clone())
        .and_then(|n| safe_next(&n))
}

#[derive(Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Pages for signed-in people: the session, or a redirect to sign in (back here afterwards), or to the
/// second-factor set-up for officers and admins who have none.
pub(crate) fn signed_in(req: &HttpRequest, s: MaybeSession, allow_without_factor: bool) -> Result<Session, Box<HttpResponse>> {
    match s.0 {
        Some(s) if s.stage == Stage::Full && (allow_without_factor || !s.needs_factor) => Ok(s),
        Some(s) if s.stage == Stage::Full => Err(Box::new(see_other("/app/account/totp"))),
        _ => {
            let here = format!(
                "{}{}",
                req.path(),
                if req.query_string().is_empty() {
                    String::new()
                } else {
                    format!("?{}", req.query_string())
                }
            );
            Err(Box::new(see_other(&format!("/login?next={}", super::layout::url_escape(&here)))))
        }
    }
}

// ---- /login ----

fn login_form(m: &Messages, s: Option<&Session>, email: &str, next: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { (alert(e)) }
        form.stack method="post" action="/login" novalidate {
            (csrf_field(s))
            @if let Some(n) = next { input type="hidden" name="next" value=(n); }
            label for="email" { (m.t("field_email")) }
            input #email type="email" name="email" value=(email) autocomplete="username" required autofocus[error.is_none()]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "form-error")];
            label for="password" { (m.t("field_password")) }
            input #password type="password" name="password" autocomplete="current-password" required
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "form-error")] autofocus[error.is_some()];
            button type="submit" name="action" value="login" { (m.t("sign_in")) }
        }
        p.muted { (m.t("signin_help")) }
    }
}

pub async fn login_page(req: HttpRequest, s: MaybeSession) -> HttpResponse {
    let m = negotiate(&req);
    let next = next_of(&req);
    if let Some(sess) = s.0.as_ref().filter(|s| s.stage == Stage::Full) {
        let _ = sess;
        return see_other(next.as_deref().unwrap_or("/app"));
    }
    let notice = web::Query::<Notice>::from_query(req.query_string()).ok().and_then(|q| q.done.clone());
    let body = html! {
        @if let Some(n) = notice.as_deref() {
            @let key = match n { "password_set" => "notice_password_set", "signed_out" => "notice_signed_out", _ => "notice_signed_out" };
            p.notice role="status" { (m.t(key)) }
        }
        (login_form(&m, s.0.as_ref(), "", next.as_deref(), None))
    };
    page(&req, &m, StatusCode::OK, None, m.t("sign_in"), body)
}

#[derive(Deserialize)]
pub struct Notice {
    pub done: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
    pub next: Option<String>,
}

pub async fn login(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, form: web::Form<LoginForm>) -> HttpResponse {
    let m = negotiate(&req);
    let form = form.into_inner();
    let next = form.next.as_deref().and_then(safe_next);
    let client = client_of(&req, &state);
    let previous = s.0.as_ref().map(|s| s.id);
    match ops::sign_in(&state.db, state.config.sessions, &client, form.email.clone(), form.password, previous).await {
        Ok(new) => {
            let to = match new.stage {
                Stage::SecondFactor => match &next {
                    Some(n) => format!("/login/totp?next={}", super::layout::url_escape(n)),
                    None => "/login/totp".to_string(),
                },
                Stage::Full if ops::needs_second_factor(&new.user) => "/app/account/totp".to_string(),
                Stage::Full => next.unwrap_or_else(|| "/app".to_string()),
            };
            let mut res = see_other(&to);
            let _ = res.add_cookie(&session_cookie(&state, &new.secret));
            res
        }
        Err(e) => {
            let e = logged(e);
            let body = login_form(&m, s.0.as_ref(), &form.email, next.as_deref(), Some(&error_text(&m, &e)));
            with_retry(page(&req, &m, status_of(&e), None, m.t("sign_in"), body), &e)
        }
    }
}

// ---- /login/totp ----

fn totp_form(m: &Messages, s: &Session, next: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { (alert(e)) }
        form.stack method="post" action="/login/totp" novalidate {
            (csrf_field(Some(s)))
            @if let Some(n) = next { input type="hidden" name="next" value=(n); }
            label for="code" { (m.t("field_code")) }
            input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus
                aria-describedby={ "code-help" @if error.is_some() { " form-error" } } aria-invalid=[error.map(|_| "true")];
            p.muted #code-help { (m.t("code_help")) }
            button type="submit" name="action" value="verify" { (m.t("verify")) }
        }
    }
}

pub async fn totp_page(req: HttpRequest, s: MaybeSession) -> HttpResponse {
    let m = negotiate(&req);
    let next = next_of(&req);
    match s.0 {
        Some(s) if s.stage == Stage::SecondFactor => page(&req, &m, StatusCode::OK, None, m.t("second_factor"), totp_form(&m, &s, next.as_deref(), None)),
        Some(_) => see_other(next.as_deref().unwrap_or("/app")),
        None => see_other("/login"),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    pub code: String,
    pub next: Option<String>,
}

pub async fn totp(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, form: web::Form<CodeForm>) -> HttpResponse {
    let m = negotiate(&req);
    let form = form.into_inner();
    let next = form.next.as_deref().and_then(safe_next);
    let Some(sess) = s.0.filter(|s| s.stage == Stage::SecondFactor) else {
        return see_other("/login");
    };
    let client = client_of(&req, &state);
    match ops::second_factor(&state.db, state.config.sessions, &client, sess.row.clone(), form.code).await {
        Ok(new) => {
            let mut res = see_other(next.as_deref().unwrap_or("/app"));
            let _ = res.add_cookie(&session_cookie(&state, &new.secret));
            res
        }
        Err(e) => {
            let e = logged(e);
            if matches!(e, AppError::Unauthorized { code: "session_ended", .. }) {
                return see_other("/login");
            }
            let body = totp_form(&m, &sess, next.as_deref(), Some(&error_text(&m, &e)));
            with_retry(page(&req, &m, status_of(&e), None, m.t("second_factor"), body), &e)
        }
    }
}

// ---- /logout ----

pub async fn logout(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    if let Some(sess) = s.0 {
        let client = client_of(&req, &state);
        let row = sess.row.clone();
        if let Err(e) = state
            .db
            .write(move |c| ops::sign_out(c, &client, &row).map_err(crate::app::Error::into_storage))
            .await
        {
            tracing::error!(error = %e, "could not end the session");
            return error_page(e);
        }
    }
    let mut res = see_other("/login?done=signed_out");
    let _ = res.add_cookie(&removal_cookie(&state));
    res
}

// ---- /invite/{token} ----

fn password_fields(m: &Messages, error: Option<(&str, &str)>, focus: bool) -> Markup {
    let (field, text) = error.unwrap_or(("", ""));
    let invalid = |f: &str| (field == f).then_some("true");
    let described = |f: &str| {
        if field == f {
            format!("{f}-help form-error")
        } else {
            format!("{f}-help")
        }
    };
    html! {
        @if error.is_some() { (alert(text)) }
        label for="password" { (m.t("field_new_password")) }
        input #password type="password" name="password" autocomplete="new-password" required minlength=(PASSWORD_MIN)
            aria-invalid=[invalid("password")] aria-describedby=(described("password")) autofocus[focus];
        p.muted #password-help { (m.f("password_rules", &[("min", &PASSWORD_MIN.to_string())])) }
        label for="password_confirm" { (m.t("field_password_confirm")) }
        input #password_confirm type="password" name="password_confirm" autocomplete="new-password" required
            aria-invalid=[invalid("password_confirm")] aria-describedby=(described("password_confirm"));
        p.muted #password_confirm-help { (m.t("password_confirm_help")) }
    }
}

fn field_of(e: &AppError) -> &str {
    match e {
        AppError::Storage(storage::Error::Invalid { fields, .. }) => fields.first().map(|f| f.field.as_str()).unwrap_or("password"),
        _ => "password",
    }
}

fn invite_form(m: &Messages, token: &str, view: &ops::LinkView, error: Option<(&str, &str)>) -> Markup {
    html! {
        p { (m.f("invite_intro", &[("name", &view.user.name), ("email", view.user.email.as_deref().unwrap_or(""))])) }
        form.stack method="post" action={ "/invite/" (token) } novalidate {
            (password_fields(m, error, true))
            button type="submit" name="action" value="set_password" { (m.t("set_password")) }
        }
    }
}

pub async fn invite_page(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let m = negotiate(&req);
    let token = path.into_inner();
    let t = token.clone();
    let view = state
        .db
        .read(move |c| ops::open_link(c, &t, storage::now()).map_err(AppError::into_storage))
        .await;
    match view {
        Ok(v) => page(&req, &m, StatusCode::OK, None, m.t("set_password"), invite_form(&m, &token, &v, None)),
        Err(storage::Error::Conflict {
            code: "invitation_invalid", ..
        }) => gone_page(&req, &m),
        Err(e) => error_page(e),
    }
}

fn gone_page(req: &HttpRequest, m: &Messages) -> HttpResponse {
    let body = html! {
        p role="alert" { (m.t("link_invalid")) }
        p { a href="/login" { (m.t("sign_in")) } }
    };
    page(req, m, StatusCode::GONE, None, m.t("link_invalid_title"), body)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    pub password: String,
    pub password_confirm: String,
    #[serde(default)]
    pub current_password: String,
}

pub async fn invite(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<PasswordForm>) -> HttpResponse {
    let m = negotiate(&req);
    let token = path.into_inner();
    let form = form.into_inner();
    let client = client_of(&req, &state);
    match ops::accept_link(&state.db, &client, token.clone(), form.password, form.password_confirm).await {
        Ok(_) => see_other("/login?done=password_set"),
        Err(AppError::Gone { .. }) => gone_page(&req, &m),
        Err(e) => {
            let e = logged(e);
            let t = token.clone();
            match state
                .db
                .read(move |c| ops::open_link(c, &t, storage::now()).map_err(AppError::into_storage))
                .await
            {
                Ok(v) => {
                    let text = error_text(&m, &e);
                    let body = invite_form(&m, &token, &v, Some((field_of(&e), &text)));
                    page(&req, &m, status_of(&e), None, m.t("set_password"), body)
                }
                Err(_) => gone_page(&req, &m),
            }
        }
    }
}

// ---- /app ----

/// What `/app` shows a person to do next, by role.
struct Todo {
    /// The assessor's drafts and returned audits.
    mine: Vec<crate::storage::models::AssessmentSummary>,
    /// Submitted audits waiting for an officer, and the oldest submission.
    waiting: i64,
    oldest: Option<chrono::NaiveDateTime>,
    /// The venue manager's certificates.
    certificates: Vec<crate::storage::models::CertificateRow>,
}

async fn todo(state: &AppState, s: &Session) -> storage::Result<Todo> {
    use crate::storage::assessments::ListQuery;
    let caller = s.caller.clone();
    state
        .db
        .read(move |c| {
            let list = |c: &mut crate::storage::DbConn, status: &str| {
                let q = ListQuery {
                    venue_id: None,
                    status: Some(status.to_string()),
                    after_id: None,
                    limit: 200,
                };
                crate::app::assessments::list_summaries(c, &caller, &q).map_err(crate::app::Error::into_storage)
            };
            let mut mine = vec![];
            if caller.has(Role::Assessor) {
                for status in ["returned", "draft"] {
                    mine.extend(list(c, status)?.into_iter().filter(|a| Some(a.assessor_id) == caller.user_id));
                }
            }
            let (waiting, oldest) = if caller.has_any(&[Role::Officer, Role::Admin]) {
                crate::app::assessments::waiting(c, &caller).map_err(crate::app::Error::into_storage)?
            } else {
                (0, None)
            };
            let mut certificates = vec![];
            if let (true, Some(v)) = (caller.has(Role::Venue), caller.venue_id) {
                let q = crate::storage::certificates::PublicQuery {
                    q: None,
                    city: None,
                    status: None,
                    venue_id: Some(v),
                    before_id: None,
                    limit: 20,
                    today: storage::now().date(),
                };
                certificates = crate::storage::certificates::list(c, &q)?;
            }
            Ok(Todo {
                mine,
                waiting,
                oldest,
                certificates,
            })
        })
        .await
}

pub async fn home(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    let m = negotiate(&req);
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    // The language the person uses the portal in is the language of their e-mails.
    if let (Some(id), true) = (s.caller.user_id, s.user.language.as_deref() != Some(m.lang)) {
        let lang = m.lang;
        if let Err(e) = state.db.write(move |c| storage::notifications::set_language(c, id, lang)).await {
            tracing::warn!(error = %e, "could not record the portal language");
        }
    }
    let t = match todo(&state, &s).await {
        Ok(t) => t,
        Err(e) => return error_page(e),
    };
    let roles: Vec<&str> = s.caller.roles.iter().map(|r| m.t(role_key(*r))).collect();
    let at = storage::now();
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
                    @if let Ok(st) = crate::storage::certificates::status_now(c, at) { (super::portal::status_badge(&m, st)) }
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

fn role_key(r: Role) -> &'static str {
    match r {
        Role::Admin => "role_admin",
        Role::Officer => "role_officer",
        Role::Assessor => "role_assessor",
        Role::Venue => "role_venue",
    }
}

fn role_help_key(r: Role) -> &'static str {
    match r {
        Role::Admin => "role_admin_help",
        Role::Officer => "role_officer_help",
        Role::Assessor => "role_assessor_help",
        Role::Venue => "role_venue_help",
    }
}

// ---- /app/account ----

struct AccountData {
    sessions: Vec<crate::storage::accounts::SessionRow>,
    tokens: Vec<crate::storage::models::TokenRow>,
    codes_left: i64,
}

async fn account_data(state: &AppState, s: &Session) -> storage::Result<AccountData> {
    let (caller, uid) = (s.caller.clone(), s.user.id);
    state
        .db
        .read(move |c| {
            Ok(AccountData {
                sessions: ops::sessions(c, &caller, uid).map_err(crate::app::Error::into_storage)?,
                tokens: users::tokens_of(c, uid)?,
                codes_left: crate::storage::accounts::recovery_codes_left(c, uid)?,
            })
        })
        .await
}

fn fmt_time(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn account_body(m: &Messages, s: &Session, d: &AccountData, notice: Option<Markup>, password_error: Option<(&str, &str)>) -> Markup {
    html! {
        @if let Some(n) = notice { (n) }
        section aria-labelledby="h-sessions" {
            h2 #h-sessions { (m.t("sessions")) }
            table {
                thead { tr { th { (m.t("session_device")) } th { (m.t("session_ip")) } th { (m.t("session_last_use")) } th { span.visually-hidden { (m.t("actions")) } } } }
                tbody {
                    @for row in &d.sessions {
                        tr {
                            td data-label=(m.t("session_device")) {
                                (device_of(&row.user_agent))
                                @if row.id == s.id { " " strong { (m.t("session_this")) } }
                            }
                            td data-label=(m.t("session_ip")) { (row.ip) }
                            td data-label=(m.t("session_last_use")) { (fmt_time(row.last_seen_at)) }
                            td {
                                @if row.id != s.id {
                                    form.inline method="post" action={ "/app/account/sessions/" (row.id) "/end" } {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        button type="submit" name="action" value="end_session" aria-label={ (m.t("end_session")) ": " (device_of(&row.user_agent)) ", " (row.ip) } { (m.t("end_session")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="h-tokens" {
            h2 #h-tokens { (m.t("api_tokens")) }
            p.muted { (m.t("api_tokens_help")) }
            @let live: Vec<_> = d.tokens.iter().filter(|t| t.revoked_at.is_none()).collect();
            @if live.is_empty() { p { (m.t("api_tokens_none")) } }
            ul {
                @for t in &live {
                    li {
                        (t.label) " · " (m.t("created")) " " (fmt_time(t.created_at)) " "
                        form.inline method="post" action={ "/app/account/tokens/" (t.id) "/revoke" } {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" name="action" value="revoke" aria-label={ (m.t("revoke")) ": " (t.label) } { (m.t("revoke")) }
                        }
                    }
                }
            }
            form.stack method="post" action="/app/account/tokens" {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="label" { (m.t("token_label")) }
                input #label type="text" name="label" maxlength="100" required;
                button type="submit" name="action" value="create_token" { (m.t("create_token")) }
            }
        }
        section aria-labelledby="h-password" {
            h2 #h-password { (m.t("change_password")) }
            form.stack method="post" action="/app/account/password" novalidate {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="current_password" { (m.t("field_current_password")) }
                input #current_password type="password" name="current_password" autocomplete="current-password" required
                    aria-invalid=[password_error.filter(|(f, _)| *f == "current_password").map(|_| "true")];
                (password_fields(m, password_error, false))
                button type="submit" name="action" value="change_password" { (m.t("change_password")) }
            }
        }
        section aria-labelledby="h-factor" {
            h2 #h-factor { (m.t("second_factor")) }
            @if s.user.totp_secret.is_some() {
                p { (m.f("factor_on", &[("left", &d.codes_left.to_string())])) }
            } @else {
                p { (m.t("factor_off")) " " a href="/app/account/totp" { (m.t("factor_set_up")) } }
            }
        }
    }
}

async fn account_response(
    req: &HttpRequest,
    state: &AppState,
    s: &Session,
    status: StatusCode,
    notice: Option<Markup>,
    password_error: Option<(&str, &str)>,
) -> HttpResponse {
    let m = negotiate(req);
    match account_data(state, s).await {
        Ok(d) => page(req, &m, status, Some(s), m.t("nav_account"), account_body(&m, s, &d, notice, password_error)),
        Err(e) => error_page(e),
    }
}

pub async fn account(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let notice = web::Query::<Notice>::from_query(req.query_string()).ok().and_then(|q| q.done.clone()).map(|n| {
        let key = match n.as_str() {
            "session_ended" => "notice_session_ended",
            "token_revoked" => "notice_token_revoked",
            "password_changed" => "notice_password_changed",
            _ => "notice_saved",
        };
        html! { p.notice role="status" { (m.t(key)) } }
    });
    account_response(&req, &state, &s, StatusCode::OK, notice, None).await
}

pub async fn end_session(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let id = path.into_inner();
    let client = client_of(&req, &state);
    let caller = s.caller.clone();
    match state
        .db
        .write(move |c| ops::end_session(c, &caller, &client, id).map_err(crate::app::Error::into_storage))
        .await
    {
        Ok(_) | Err(storage::Error::Conflict { .. }) => see_other("/app/account?done=session_ended"),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    pub label: String,
}

pub async fn create_token(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, form: web::Form<TokenForm>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let label = form.into_inner().label;
    let caller = s.caller.clone();
    match state
        .db
        .write(move |c| ops::create_own_token(c, &caller, &label).map_err(crate::app::Error::into_storage))
        .await
    {
        Ok((_, token)) => {
            let notice = html! {
                div.notice role="status" {
                    p { (m.t("token_created")) }
                    p { code.secret { (token) } }
                }
            };
            let mut res = account_response(&req, &state, &s, StatusCode::OK, Some(notice), None).await;
            res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static(NO_STORE));
            res
        }
        Err(e @ storage::Error::Invalid { .. }) => {
            let notice = html! { p.alert role="alert" { (m.t("token_label_invalid")) } };
            let _ = e;
            account_response(&req, &state, &s, StatusCode::UNPROCESSABLE_ENTITY, Some(notice), None).await
        }
        Err(e) => error_page(e),
    }
}

pub async fn revoke_token(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let id = path.into_inner();
    let caller = s.caller.clone();
    match state
        .db
        .write(move |c| ops::revoke_token(c, &caller, id).map_err(crate::app::Error::into_storage))
        .await
    {
        Ok(_) | Err(storage::Error::Conflict { .. }) => see_other("/app/account?done=token_revoked"),
        Err(e) => error_page(e),
    }
}

pub async fn change_password(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, form: web::Form<PasswordForm>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let f = form.into_inner();
    let client = client_of(&req, &state);
    match ops::change_password(&state.db, &client, s.user.id, s.id, f.current_password, f.password, f.password_confirm).await {
        Ok(()) => see_other("/app/account?done=password_changed"),
        Err(e) => {
            let e = logged(e);
            let text = error_text(&m, &e);
            account_response(&req, &state, &s, status_of(&e), None, Some((field_of(&e), &text))).await
        }
    }
}

// ---- /app/account/totp ----

fn enrol_body(m: &Messages, s: &Session, secret: &str, uri: &str, error: Option<&str>) -> Markup {
    let qr = crate::render::qr::svg(uri, m.t("totp_qr_alt")).unwrap_or_default();
    let data = format!(
        "data:image/svg+xml;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, qr)
    );
    html! {
        @if s.needs_factor { p.notice role="status" { (m.t("factor_required")) } }
        ol.steps {
            li { (m.t("totp_step_app")) }
            li {
                (m.t("totp_step_scan"))
                img.qr src=(data) alt=(m.t("totp_qr_alt")) width="220" height="220";
                p { (m.t("totp_uri")) } p { code.secret #otpauth-uri { (uri) } }
                p { (m.t("totp_secret")) } p { code.secret { (secret) } }
            }
            li { (m.t("totp_step_code")) }
        }
        @if let Some(e) = error { (alert(e)) }
        form.stack method="post" action="/app/account/totp" novalidate {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="code" { (m.t("field_code")) }
            input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "form-error")];
            button type="submit" name="action" value="enrol" { (m.t("totp_confirm")) }
        }
    }
}

pub async fn enrol_page(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    let s = match signed_in(&req, s, true) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    if s.user.totp_secret.is_some() {
        return see_other("/app/account");
    }
    let (uid, issuer) = (s.user.id, state.config.issuer_name.clone());
    match state
        .db
        .write(move |c| ops::begin_enrolment(c, uid, &issuer).map_err(crate::app::Error::into_storage))
        .await
    {
        Ok((secret, uri)) => page(&req, &m, StatusCode::OK, Some(&s), m.t("totp_title"), enrol_body(&m, &s, &secret, &uri, None)),
        Err(e) => error_page(e),
    }
}

pub async fn enrol(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, form: web::Form<CodeForm>) -> HttpResponse {
    let s = match signed_in(&req, s, true) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let client = client_of(&req, &state);
    match ops::confirm_enrolment(&state.db, &client, s.user.id, Some(s.id), form.into_inner().code).await {
        Ok(codes) => {
            let body = html! {
                p.notice role="status" { (m.t("totp_done")) }
                h2 { (m.t("recovery_codes")) }
                p { (m.t("recovery_codes_help")) }
                ol.codes { @for c in &codes { li { code.secret { (c) } } } }
                p { a href="/app" { (m.t("continue")) } }
            };
            page(&req, &m, StatusCode::OK, Some(&s), m.t("totp_title"), body)
        }
        Err(e) => {
            let e = logged(e);
            let (uid, issuer) = (s.user.id, state.config.issuer_name.clone());
            match state
                .db
                .write(move |c| ops::begin_enrolment(c, uid, &issuer).map_err(crate::app::Error::into_storage))
                .await
            {
                Ok((secret, uri)) => page(
                    &req,
                    &m,
                    status_of(&e),
                    Some(&s),
                    m.t("totp_title"),
                    enrol_body(&m, &s, &secret, &uri, Some(&error_text(&m, &e))),
                ),
                Err(_) => see_other("/app/account"),
            }
        }
    }
}

// The sign-in pages (kk/ru/en, no script): invitation and password links, /login and /login/totp, and
// sign-out; the helpers their forms share with the account page (errors, CSRF field, the `next` target).

use crate::app::accounts::{self as ops, Stage};
use crate::app::Error as AppError;
use crate::domain::account::{safe_next, PASSWORD_MIN};
use crate::web::error::error_page;
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, Notice};
use crate::web::session::{client_of, removal_cookie, session_cookie, MaybeSession, Session};
use crate::web::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

/// An error message for the top of a form, tied to the field it is about.
pub(crate) fn alert(text: &str) -> Markup {
    html! { p.alert role="alert" id="form-error" { (text) } }
}

pub(crate) fn error_text(m: &Messages, e: &AppError) -> String {
    match e {
        AppError::Throttled { retry_after } => m.f("signin_throttled", &[("minutes", &retry_after.div_ceil(60).to_string())]),
        AppError::Unauthorized {
            code: "invalid_credentials", ..
        } => m.t("signin_wrong").to_string(),
        AppError::Unauthorized { code: "invalid_code", .. } => m.t("code_wrong").to_string(),
        AppError::Unauthorized { .. } => m.t("signin_again").to_string(),
        AppError::Gone { .. } => m.t("link_invalid").to_string(),
        AppError::Storage(crate::app::StorageError::Invalid { code, .. }) => match *code {
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

pub(crate) use crate::web::error::status_of;

pub(crate) fn with_retry(mut res: HttpResponse, e: &AppError) -> HttpResponse {
    if let AppError::Throttled { retry_after } = e {
        if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// Log what a page cannot show (internal errors), once.
pub(crate) fn logged(e: AppError) -> AppError {
    if matches!(
        e,
        AppError::Storage(crate::app::StorageError::Internal(_) | crate::app::StorageError::Unavailable(_))
    ) {
        tracing::error!(error = %e, "sign-in operation failed");
    }
    e
}

pub(crate) fn csrf_field(s: Option<&Session>) -> Markup {
    html! { @if let Some(s) = s { input type="hidden" name="csrf" value=(s.csrf); } }
}

pub(crate) fn next_of(req: &HttpRequest) -> Option<String> {
    web::Query::<NextQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.next.clone())
        .and_then(|n| safe_next(&n))
}

#[derive(Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

// ---- /login ----

pub(crate) fn login_form(m: &Messages, s: Option<&Session>, email: &str, next: Option<&str>, error: Option<&str>) -> Markup {
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

/// The e-mail to fill in on the sign-in page (after a password was set from an invitation).
#[derive(Deserialize)]
pub struct Prefill {
    pub email: Option<String>,
}

pub async fn login_page(req: HttpRequest, s: MaybeSession) -> HttpResponse {
    let m = negotiate(&req);
    let next = next_of(&req);
    if let Some(sess) = s.0.as_ref().filter(|s| s.stage == Stage::Full) {
        let _ = sess;
        return see_other(next.as_deref().unwrap_or("/app"));
    }
    let notice = web::Query::<Notice>::from_query(req.query_string()).ok().and_then(|q| q.done.clone());
    let email = web::Query::<Prefill>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().email)
        .unwrap_or_default();
    let body = html! {
        @if let Some(n) = notice.as_deref() {
            @let key = match n { "password_set" => "notice_password_set", "signed_out" => "notice_signed_out", _ => "notice_signed_out" };
            p.notice role="status" { (m.t(key)) }
        }
        (login_form(&m, s.0.as_ref(), &email, next.as_deref(), None))
    };
    page(&req, &m, StatusCode::OK, None, m.t("sign_in"), body)
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
    match ops::sign_in(
        &state.db,
        state.config.sessions,
        &client,
        form.email.clone(),
        form.password,
        previous,
        state.clock.now(),
    )
    .await
    {
        Ok(new) => {
            let to = match new.stage {
                Stage::SecondFactor => match &next {
                    Some(n) => format!("/login/totp?next={}", crate::web::layout::url_escape(n)),
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

pub(crate) fn totp_form(m: &Messages, s: &Session, next: Option<&str>, error: Option<&str>) -> Markup {
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
    match ops::second_factor(&state, &client, sess.row.clone(), form.code).await {
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
        if let Err(e) = state.db.write(move |c| ops::sign_out(c, &client, &row)).await {
            tracing::error!(error = %e, "could not end the session");
            return error_page(e);
        }
    }
    let mut res = see_other("/login?done=signed_out");
    let _ = res.add_cookie(&removal_cookie(&state));
    res
}

// ---- /invite/{token} ----

pub(crate) fn password_fields(m: &Messages, error: Option<(&str, &str)>, focus: bool) -> Markup {
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

pub(crate) fn field_of(e: &AppError) -> &str {
    match e {
        AppError::Storage(crate::app::StorageError::Invalid { fields, .. }) => fields.first().map(|f| f.field.as_str()).unwrap_or("password"),
        _ => "password",
    }
}

pub(crate) fn invite_form(m: &Messages, token: &str, view: &ops::LinkView, error: Option<(&str, &str)>) -> Markup {
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
    let (t, now) = (token.clone(), state.clock.now());
    let view = state.db.read(move |c| ops::open_link(c, &t, now)).await;
    match view {
        Ok(v) => page(&req, &m, StatusCode::OK, None, m.t("set_password"), invite_form(&m, &token, &v, None)),
        Err(AppError::Gone { .. }) => gone_page(&req, &m),
        Err(e) => error_page(e),
    }
}

pub(crate) fn gone_page(req: &HttpRequest, m: &Messages) -> HttpResponse {
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
    match ops::accept_link(&state.db, &client, token.clone(), form.password, form.password_confirm, state.clock.now()).await {
        // The sign-in page that follows has the e-mail filled in.
        Ok(user) => see_other(&format!(
            "/login?done=password_set&email={}",
            crate::web::layout::url_escape(user.email.as_deref().unwrap_or(""))
        )),
        Err(AppError::Gone { .. }) => gone_page(&req, &m),
        Err(e) => {
            let e = logged(e);
            let (t, now) = (token.clone(), state.clock.now());
            match state.db.read(move |c| ops::open_link(c, &t, now)).await {
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

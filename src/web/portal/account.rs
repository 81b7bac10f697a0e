// The account page `/app/account`: sessions, API tokens, password change and the second factor set-up
// (kk/ru/en, no script).

use crate::app::accounts::{self as ops};
use crate::domain::account::device_of;
use crate::domain::auth::Role;
use crate::web::error::error_page;
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, signed_in, Notice, NO_STORE};
use crate::web::portal::signin::*;
use crate::web::session::{client_of, MaybeSession, Session};
use crate::web::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn role_key(r: Role) -> &'static str {
    match r {
        Role::Admin => "role_admin",
        Role::Officer => "role_officer",
        Role::Assessor => "role_assessor",
        Role::Venue => "role_venue",
    }
}

pub(crate) fn role_help_key(r: Role) -> &'static str {
    match r {
        Role::Admin => "role_admin_help",
        Role::Officer => "role_officer_help",
        Role::Assessor => "role_assessor_help",
        Role::Venue => "role_venue_help",
    }
}

// ---- /app/account ----

type AccountData = crate::app::views::Account;

async fn account_data(state: &AppState, s: &Session) -> crate::app::Result<AccountData> {
    let (caller, uid) = (s.caller.clone(), s.user.id);
    state.db.read(move |c| crate::app::views::account(c, &caller, uid)).await
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
    match state.db.write(move |c| ops::end_session(c, &caller, &client, id)).await {
        Ok(_) | Err(crate::app::Error::Storage(crate::app::StorageError::Conflict { .. })) => see_other("/app/account?done=session_ended"),
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
    match state.db.write(move |c| ops::create_own_token(c, &caller, &label)).await {
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
        Err(crate::app::Error::Storage(e @ crate::app::StorageError::Invalid { .. })) => {
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
    match state.db.write(move |c| ops::revoke_token(c, &caller, id)).await {
        Ok(_) | Err(crate::app::Error::Storage(crate::app::StorageError::Conflict { .. })) => see_other("/app/account?done=token_revoked"),
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
    match ops::change_password(
        &state.db,
        &client,
        s.user.id,
        s.id,
        f.current_password,
        f.password,
        f.password_confirm,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => see_other("/app/account?done=password_changed"),
        Err(e) => {
            let e = logged(e);
            let text = error_text(&m, &e);
            account_response(&req, &state, &s, status_of(&e), None, Some((field_of(&e), &text))).await
        }
    }
}

// ---- /app/account/totp ----

/// A key in groups of four, as people copy it by hand.
fn grouped(key: &str) -> String {
    key.chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

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
                // On the phone itself, the app opens from the link; the QR code is for another device.
                p { a.button #otpauth-link href=(uri) { (m.t("totp_open_app")) } }
                img.qr src=(data) alt=(m.t("totp_qr_alt")) width="220" height="220";
                p { (m.t("totp_secret")) } p { code.secret #totp-key { (grouped(secret)) } }
                details { summary { (m.t("totp_uri")) } p { code.secret #otpauth-uri { (uri) } } }
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
    let (uid, issuer, sealer) = (s.user.id, state.config.issuer_name.clone(), state.sealer.clone());
    match state.db.write(move |c| ops::begin_enrolment(c, &sealer, uid, &issuer)).await {
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
    match ops::confirm_enrolment(&state, &client, s.user.id, Some(s.id), form.into_inner().code).await {
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
            let (uid, issuer, sealer) = (s.user.id, state.config.issuer_name.clone(), state.sealer.clone());
            match state.db.write(move |c| ops::begin_enrolment(c, &sealer, uid, &issuer)).await {
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

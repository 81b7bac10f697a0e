// The portal's keys page for admins (/app/keys): the signing keys with status and dates, rotation with a
// confirmation step, and the criteria versions the registry publishes with their SHA-256.

use crate::app::keys as ops;
use crate::web::error::error_page;
use crate::web::i18n::negotiate;
use crate::web::portal::frame::{page, see_other};
use crate::web::session::{MaybeSession, Session};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

fn admin(req: &HttpRequest, s: MaybeSession) -> Result<Session, Box<HttpResponse>> {
    crate::web::portal::users::require_admin(req, s, "nav_keys")
}

#[derive(Deserialize)]
pub struct KeysParams {
    pub done: Option<String>,
}

async fn keys_page(req: &HttpRequest, state: &AppState, s: &Session, status: StatusCode, error: Option<&str>, done: bool) -> HttpResponse {
    let m = negotiate(req);
    let caller = s.caller.clone();
    let rows = match state.db.read(move |c| ops::list(c, &caller)).await {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    let local = state.keyring.kids();
    let status_key = |st: &str| match st {
        "active" => "key_active",
        "pending" => "key_pending",
        _ => "key_retired",
    };
    let body = html! {
        @if done { p.notice role="status" { (m.t("key_rotated")) } }
        h2 { (m.t("keys_signing")) }
        table {
            thead { tr { th { "kid" } th { (m.t("col_status")) } th { (m.t("key_created")) } th { (m.t("key_retired_at")) } th { (m.t("key_private")) } } }
            tbody {
                @for r in &rows {
                    tr {
                        td data-label="kid" { code { (r.kid) } }
                        td data-label=(m.t("col_status")) { (m.t(status_key(&r.status))) }
                        td data-label=(m.t("key_created")) { (r.created_at.format("%Y-%m-%d %H:%M")) }
                        td data-label=(m.t("key_retired_at")) { (r.retired_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "—".into())) }
                        td data-label=(m.t("key_private")) { @if local.contains(&r.kid) { "✓ " (m.t("yes")) } @else { "— " (m.t("no")) } }
                    }
                }
            }
        }
        p { a href="/.well-known/jwks.json" { "/.well-known/jwks.json" } }
        h2 #h-rotate { (m.t("key_rotate_title")) }
        p { (m.t("key_rotate_help")) }
        @if let Some(e) = error { p.alert role="alert" id="form-error" { (e) } }
        form.stack method="post" action="/app/keys" aria-labelledby="h-rotate" novalidate {
            input type="hidden" name="csrf" value=(s.csrf);
            label.check { input #confirm type="checkbox" name="confirm" value="yes" aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "form-error")]; " " (m.t("key_rotate_confirm")) }
            button.danger type="submit" name="action" value="rotate" { (m.t("key_rotate")) }
        }
        h2 { (m.t("criteria_versions")) }
        table {
            thead { tr { th { (m.t("field_scheme")) } th { (m.t("criteria_published")) } th { "SHA-256" } } }
            tbody {
                @for sc in state.catalogue.all() {
                    tr {
                        td data-label=(m.t("field_scheme")) { a href={ "/api/v1/criteria/" (sc.scheme) "/" (sc.version) } { (sc.scheme) " v" (sc.version) } }
                        td data-label=(m.t("criteria_published")) { (sc.published) }
                        td data-label="SHA-256" { code.hash { (sc.sha256) } }
                    }
                }
            }
        }
    };
    page(req, &m, status, Some(s), m.t("nav_keys"), body)
}

/// `/app/keys`: keys and criteria versions (admins).
pub async fn show(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, params: web::Query<KeysParams>) -> HttpResponse {
    match admin(&req, s) {
        Ok(s) => keys_page(&req, &state, &s, StatusCode::OK, None, params.done.as_deref() == Some("rotated")).await,
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    pub action: String,
    pub confirm: Option<String>,
}

/// Rotate: a new key is written to the key directory, published and made active; the old one retires.
pub async fn rotate(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, form: web::Form<RotateForm>) -> HttpResponse {
    let s = match admin(&req, s) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    if form.action != "rotate" {
        return see_other("/app/keys");
    }
    if form.confirm.as_deref() != Some("yes") {
        return keys_page(&req, &state, &s, StatusCode::UNPROCESSABLE_ENTITY, Some(m.t("key_rotate_needs_confirm")), false).await;
    }
    let (kid, public) = match state.keyring.generate() {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "could not write a new signing key");
            return error_page(crate::app::StorageError::Unavailable("the key directory cannot be written".into()));
        }
    };
    let caller = s.caller.clone();
    let registered = {
        let kid = kid.clone();
        state.db.write(move |c| ops::rotate(c, &caller, &kid, public.as_bytes())).await
    };
    match registered {
        Ok(()) => {
            tracing::info!(kid = %kid, "signing key rotated (portal)");
            see_other("/app/keys?done=rotated")
        }
        Err(e) => error_page(e),
    }
}

// The portal's notifications page: what the registry told the signed-in person (certificate changes,
// reminders, decisions, appeals), newest first, in the page's language, and whether it went out by e-mail.

use crate::web::i18n::negotiate;
use crate::web::portal::frame::{page, signed_in};
use crate::web::session::MaybeSession;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

/// `/app/notifications`: the latest 100.
pub async fn list(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let Some(_) = s.caller.user_id else {
        return page(
            &req,
            &m,
            StatusCode::OK,
            Some(&s),
            m.t("nav_notifications"),
            html! { p { (m.t("no_results")) } },
        );
    };
    let caller = s.caller.clone();
    let rows = match state.db.read(move |c| crate::app::accounts::notifications(c, &caller, 100)).await {
        Ok(r) => r,
        Err(e) => return crate::web::error::error_page(e),
    };
    // Seen now: the menu's count starts again from the newest shown.
    if let Some(newest) = rows.first().map(|r| r.id) {
        let caller = s.caller.clone();
        if let Err(e) = state.db.write(move |c| crate::app::accounts::notifications_seen(c, &caller, newest)).await {
            tracing::warn!(error = %e, "could not record the notifications as seen");
        }
    }
    let url = state.config.public_url.clone();
    let body = html! {
        p { (m.t("notifications_intro")) }
        @if rows.is_empty() {
            p { (m.t("no_results")) }
        }
        @for r in &rows {
            @if let Some((subject, text)) = crate::workers::mail::render(r, m.lang, &url) {
                article.notification {
                    // The notification opens the item it is about.
                    h2 { a href=(crate::workers::mail::item_path(r)) { (subject) } }
                    p { (text) }
                    p.muted {
                        time datetime=(r.created_at.format("%Y-%m-%dT%H:%M:%SZ")) { (r.created_at.format("%Y-%m-%d %H:%M")) " UTC" }
                        @if r.sent_at.is_some() { " · " (m.t("notification_sent")) }
                    }
                }
            }
        }
    };
    page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_notifications"), body)
}

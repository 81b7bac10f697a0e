// Page chrome every HTML page shares (public pages and the portal): the layout with the language switch,
// the HTML response, the status words and colours, URL escaping, and the stylesheet.

use super::i18n::{Messages, LANGS};
use crate::domain::signing::Verdict;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup, DOCTYPE};

pub fn style(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "status-valid",
        Verdict::Suspended | Verdict::Expired => "status-warn",
        Verdict::Superseded => "status-info",
        _ => "status-bad",
    }
}

pub fn status_word(m: &Messages, v: Verdict) -> String {
    m.t(match v {
        Verdict::Valid => "status_valid",
        Verdict::Suspended => "status_suspended",
        Verdict::Withdrawn => "status_withdrawn",
        Verdict::Expired => "status_expired",
        Verdict::Superseded => "status_superseded",
        Verdict::InvalidSignature => "status_invalid_signature",
        Verdict::UnknownKey => "status_unknown_key",
        Verdict::Malformed => "status_malformed",
    })
    .to_string()
}

/// A reason as the page's language says it: the reasons the registry gives itself (surveillance overdue, a
/// suspension too long, an appeal upheld) are catalogue words; a person's own reason is shown as written.
pub fn reason_text(m: &Messages, reason: &str) -> String {
    let key = match reason {
        crate::domain::surveillance::OVERDUE_REASON => "reason_surveillance_overdue",
        crate::domain::surveillance::LONG_SUSPENSION_REASON => "reason_long_suspension",
        crate::domain::appeal::UPHELD_REASON => "reason_appeal_upheld",
        other => return other.to_string(),
    };
    m.t(key).to_string()
}

/// The query string without `lang=`, so the language switch keeps the rest.
fn query_without_lang(req: &HttpRequest) -> String {
    req.query_string()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect::<Vec<_>>()
        .join("&")
}

fn lang_href(req: &HttpRequest, lang: &str) -> String {
    let q = query_without_lang(req);
    if q.is_empty() {
        format!("{}?lang={lang}", req.path())
    } else {
        format!("{}?{q}&lang={lang}", req.path())
    }
}

pub fn layout(req: &HttpRequest, m: &Messages, title: &str, body: Markup) -> Markup {
    layout_with_head(req, m, title, html! {}, body)
}

/// The same, with more in the page's `<head>` (alternate representations of the page).
pub fn layout_with_head(req: &HttpRequest, m: &Messages, title: &str, head: Markup, body: Markup) -> Markup {
    let langs = LANGS.map(|l| (l, Messages::for_lang(l).t("lang_name").to_string(), lang_href(req, l)));
    html! {
        (DOCTYPE)
        html lang=(m.t("html_lang")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (m.t("site_title")) }
                link rel="stylesheet" href="/assets/style.css";
                link rel="alternate" type="application/atom+xml" title=(m.t("feed_link")) href="/feed.atom";
                (head)
            }
            body {
                header {
                    div.bar {
                        a.brand href={ "/register?lang=" (m.lang) } { (m.t("site_title")) }
                        nav.lang aria-label=(m.t("language")) {
                            @for (code, name, href) in &langs {
                                @if *code == m.lang { strong lang=(code) { (name) } } @else { a href=(href) lang=(code) hreflang=(code) { (name) } }
                            }
                        }
                    }
                }
                main { (body) }
                footer {
                    p { (m.t("footer")) }
                    p { a href={ "/register?lang=" (m.lang) } { (m.t("nav_register")) } " · " a href="/.well-known/jwks.json" { (m.t("keys_link")) } " · " a href="/feed.atom" type="application/atom+xml" { (m.t("feed_link")) } }
                }
            }
        }
    }
}

pub fn html_response(status: StatusCode, cache: &str, page: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", cache))
        .body(page.into_string())
}

/// A venue's name in the page's language: its Kazakh, Russian or English name where it has one, else the
/// name it was registered under.
pub fn venue_name<'a>(lang: &str, v: &'a crate::app::rows::VenueRow) -> &'a str {
    name_in(lang, &v.name, v.name_kk.as_deref(), v.name_ru.as_deref(), v.name_en.as_deref())
}

/// A venue's city in the page's language (Kazakh or Russian where given), else the one it was registered with.
pub fn venue_city<'a>(lang: &str, v: &'a crate::app::rows::VenueRow) -> &'a str {
    name_in(lang, &v.city, v.city_kk.as_deref(), v.city_ru.as_deref(), None)
}

/// The name for `lang` among a name's translations (`domain::venue::translated`).
pub fn name_in<'a>(lang: &str, name: &'a str, kk: Option<&'a str>, ru: Option<&'a str>, en: Option<&'a str>) -> &'a str {
    crate::domain::venue::translated(lang, name, kk, ru, en)
}

pub fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(include_str!("../../assets/style.css"))
}

// The language of a page: `?lang=`, then the `gel_lang` cookie, then the signed-in person's saved language,
// then `Accept-Language`, then Kazakh (catalogues in src/i18n.rs). Re-exports the catalogue types the pages use.

pub use crate::i18n::{check, Messages, LANGS};
use actix_web::{HttpMessage, HttpRequest};

/// The cookie that keeps a person's choice of language (one year, `SameSite=Lax`).
pub const LANG_COOKIE: &str = "gel_lang";

/// The language `?lang=` asks for, if it is one of ours.
pub fn asked(query: &str) -> Option<&'static str> {
    query
        .split('&')
        .filter_map(|p| p.strip_prefix("lang="))
        .find_map(|l| LANGS.into_iter().find(|x| *x == l))
}

/// `?lang=` wins, then the `gel_lang` cookie, then the signed-in person's saved language, then the first
/// supported language of `Accept-Language`, then Kazakh.
pub fn negotiate(req: &HttpRequest) -> Messages {
    if let Some(l) = asked(req.query_string()) {
        return Messages::for_lang(l);
    }
    if let Some(l) = req.cookie(LANG_COOKIE).and_then(|c| LANGS.into_iter().find(|x| *x == c.value())) {
        return Messages::for_lang(l);
    }
    let saved = req
        .extensions()
        .get::<crate::web::session::Session>()
        .and_then(|s| s.user.language.as_deref().and_then(|l| LANGS.into_iter().find(|x| *x == l)));
    if let Some(l) = saved {
        return Messages::for_lang(l);
    }
    let header = req.headers().get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut best: Option<(&str, f32)> = None;
    for part in header.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        if let Some(l) = LANGS.into_iter().find(|l| *l == primary) {
            if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
                best = Some((l, q));
            }
        }
    }
    Messages::for_lang(best.map(|(l, _)| l).unwrap_or("kk"))
}

/// A complaint's category in the page's language (its code if unknown).
pub fn category_text(m: &Messages, c: &str) -> String {
    crate::domain::complaint::Category::parse(c).map_or_else(|| c.to_string(), |c| m.t(c.message_key()).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn query_then_header_then_kazakh() {
        let r = TestRequest::default()
            .uri("/x?lang=en")
            .insert_header(("accept-language", "ru"))
            .to_http_request();
        assert_eq!(negotiate(&r).lang, "en");
        let r = TestRequest::default()
            .uri("/x")
            .insert_header(("accept-language", "de-DE, ru;q=0.8, en;q=0.9"))
            .to_http_request();
        assert_eq!(negotiate(&r).lang, "en");
        let r = TestRequest::default().uri("/x").insert_header(("accept-language", "fr")).to_http_request();
        assert_eq!(negotiate(&r).lang, "kk");
        let r = TestRequest::default().uri("/x?lang=zz").to_http_request();
        assert_eq!(negotiate(&r).lang, "kk");
    }

    #[test]
    fn the_cookie_comes_after_the_query_and_before_the_header() {
        let cookie = actix_web::cookie::Cookie::new(LANG_COOKIE, "ru");
        let r = TestRequest::default()
            .uri("/x")
            .cookie(cookie.clone())
            .insert_header(("accept-language", "en"))
            .to_http_request();
        assert_eq!(negotiate(&r).lang, "ru");
        let r = TestRequest::default().uri("/x?lang=kk").cookie(cookie).to_http_request();
        assert_eq!(negotiate(&r).lang, "kk");
        let r = TestRequest::default()
            .uri("/x")
            .cookie(actix_web::cookie::Cookie::new(LANG_COOKIE, "zz"))
            .insert_header(("accept-language", "en"))
            .to_http_request();
        assert_eq!(negotiate(&r).lang, "en");
    }
}

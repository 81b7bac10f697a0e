// The language of a public page: `?lang=`, then `Accept-Language`, then Kazakh (catalogues in src/i18n.rs).
// Re-exports the catalogue types the pages use.

pub use crate::i18n::{check, Messages, LANGS};
use actix_web::HttpRequest;

/// `?lang=` wins, then the first supported language of `Accept-Language`, then Kazakh.
pub fn negotiate(req: &HttpRequest) -> Messages {
    let from_query = req
        .query_string()
        .split('&')
        .filter_map(|p| p.strip_prefix("lang="))
        .find(|l| LANGS.contains(l));
    if let Some(l) = from_query {
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
}

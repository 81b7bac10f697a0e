// The message catalogues of the public pages (assets/i18n/{kk,ru,en}.toml) and the choice of language:
// `?lang=`, then `Accept-Language`, then Kazakh.

use actix_web::HttpRequest;
use std::collections::HashMap;
use std::sync::OnceLock;

pub const LANGS: [&str; 3] = ["kk", "ru", "en"];

const SOURCES: [(&str, &str); 3] = [
    ("kk", include_str!("../../assets/i18n/kk.toml")),
    ("ru", include_str!("../../assets/i18n/ru.toml")),
    ("en", include_str!("../../assets/i18n/en.toml")),
];

type Catalogue = HashMap<String, String>;

fn catalogues() -> &'static HashMap<&'static str, Result<Catalogue, String>> {
    static CATS: OnceLock<HashMap<&'static str, Result<Catalogue, String>>> = OnceLock::new();
    CATS.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(lang, text)| (*lang, toml::from_str::<Catalogue>(text).map_err(|e| format!("assets/i18n/{lang}.toml: {e}"))))
            .collect()
    })
}

/// Check every catalogue parses and has the same keys (called at start).
pub fn check() -> Result<(), String> {
    let cats = catalogues();
    let en = cats["en"].as_ref().map_err(Clone::clone)?;
    for lang in LANGS {
        let c = cats[lang].as_ref().map_err(Clone::clone)?;
        let missing: Vec<_> = en.keys().filter(|k| !c.contains_key(*k)).collect();
        let extra: Vec<_> = c.keys().filter(|k| !en.contains_key(*k)).collect();
        if !missing.is_empty() || !extra.is_empty() {
            return Err(format!("assets/i18n/{lang}.toml: missing {missing:?}, unexpected {extra:?}"));
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
pub struct Messages {
    pub lang: &'static str,
    map: Option<&'static Catalogue>,
}

impl Messages {
    pub fn for_lang(lang: &str) -> Messages {
        let lang = LANGS.into_iter().find(|l| *l == lang).unwrap_or("kk");
        Messages {
            lang,
            map: catalogues().get(lang).and_then(|r| r.as_ref().ok()),
        }
    }
    /// The message, or its key (visible, so a gap is noticed; the catalogues are checked at start).
    pub fn t(&self, key: &'static str) -> &str {
        self.map.and_then(|m| m.get(key)).map(String::as_str).unwrap_or(key)
    }
    /// The message with `{name}` placeholders filled in.
    pub fn f(&self, key: &'static str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_string();
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn catalogues_have_the_same_keys() {
        check().unwrap();
        assert_eq!(Messages::for_lang("kk").t("status_valid"), "Жарамды");
        assert_eq!(Messages::for_lang("xx").lang, "kk");
    }

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

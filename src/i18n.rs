//! The message catalogues (assets/i18n/{kk,ru,en}.toml) of the public pages and of the certificate PDF:
//! every text a person reads comes from here, in Kazakh, Russian and English.

use std::collections::HashMap;
use std::sync::OnceLock;

pub const LANGS: [&str; 3] = ["kk", "ru", "en"];

const SOURCES: [(&str, &str); 3] = [
    ("kk", include_str!("../assets/i18n/kk.toml")),
    ("ru", include_str!("../assets/i18n/ru.toml")),
    ("en", include_str!("../assets/i18n/en.toml")),
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

/// The same message in the three languages, `kk · ru · en` (the certificate PDF is trilingual).
pub fn trilingual(key: &'static str) -> String {
    LANGS.map(|l| Messages::for_lang(l).t(key).to_string()).join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_have_the_same_keys() {
        check().unwrap();
        assert_eq!(Messages::for_lang("kk").t("status_valid"), "Жарамды");
        assert_eq!(Messages::for_lang("xx").lang, "kk");
    }

    #[test]
    fn trilingual_joins_the_three_languages() {
        assert_eq!(trilingual("status_valid"), "Жарамды · Действителен · Valid");
    }
}

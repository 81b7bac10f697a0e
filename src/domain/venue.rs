//! Venues as the registry accepts them: validated names, address, city, category and contact.
//! Pure: `VenueInput::parse` turns client fields into checked values or field errors.

use super::scoring::FieldError;
use super::text::{self, TextKind};
use serde::{Deserialize, Serialize};

pub const CATEGORIES: [&str; 7] = ["hotel", "event_hall", "expo_pavilion", "cafe", "office", "public_space", "other"];

/// Venue fields as a client sends them (create replaces all; update sends only what changes).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueFields {
    /// The display name (any language); required on create.
    pub name: Option<String>,
    pub name_kk: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    /// The city in Kazakh and in Russian, where it is written otherwise (shown on kk/ru pages).
    pub city_kk: Option<String>,
    pub city_ru: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `KZ`.
    pub country: Option<String>,
    /// One of hotel, event_hall, expo_pavilion, cafe, office, public_space, other.
    pub category: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
}

/// A complete, valid venue.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub name: String,
    pub name_kk: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    pub address: String,
    pub city: String,
    pub city_kk: Option<String>,
    pub city_ru: Option<String>,
    pub country: String,
    pub category: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
}

pub const MAX_NAME: usize = 200;
pub const MAX_TEXT: usize = 300;
pub const MAX_CITY: usize = 100;
pub const MAX_PHONE: usize = 40;

fn clean(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|s| !s.is_empty())
}

impl Venue {
    /// Apply `fields` over `base` (None for create) and check the result.
    pub fn apply(base: Option<&Venue>, f: &VenueFields) -> Result<Venue, Vec<FieldError>> {
        let mut errors = Vec::new();
        let pick = |new: &Option<String>, old: Option<&String>| if new.is_some() { clean(new) } else { old.cloned() };
        let pick_opt = |new: &Option<String>, old: Option<&Option<String>>| if new.is_some() { clean(new) } else { old.cloned().flatten() };
        let required = |field: &str, v: Option<String>, max: usize, errors: &mut Vec<FieldError>| -> String {
            match v {
                None => {
                    errors.push(FieldError::new(field, "required", format!("{field} is required")));
                    String::new()
                }
                Some(s) if s.chars().count() > max => {
                    errors.push(FieldError::new(field, "too_long", format!("at most {max} characters")));
                    s
                }
                Some(s) => s,
            }
        };
        let name = required("name", pick(&f.name, base.map(|b| &b.name)), MAX_NAME, &mut errors);
        let address = required("address", pick(&f.address, base.map(|b| &b.address)), MAX_TEXT, &mut errors);
        let city = required("city", pick(&f.city, base.map(|b| &b.city)), MAX_CITY, &mut errors);
        let country = pick(&f.country, base.map(|b| &b.country)).unwrap_or_else(|| "KZ".into()).to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.push(FieldError::new(
                "country",
                "invalid_country",
                "country must be an ISO 3166-1 alpha-2 code such as KZ",
            ));
        }
        let category = pick(&f.category, base.map(|b| &b.category)).unwrap_or_else(|| "other".into());
        if !CATEGORIES.contains(&category.as_str()) {
            errors.push(FieldError::new(
                "category",
                "invalid_category",
                format!("category must be one of {}", CATEGORIES.join(", ")),
            ));
        }
        let mut optional = |field: &str, v: Option<String>, max: usize| -> Option<String> {
            if v.as_ref().is_some_and(|s| s.chars().count() > max) {
                errors.push(FieldError::new(field, "too_long", format!("at most {max} characters")));
            }
            v
        };
        let name_kk = optional("name_kk", pick_opt(&f.name_kk, base.map(|b| &b.name_kk)), MAX_NAME);
        let name_ru = optional("name_ru", pick_opt(&f.name_ru, base.map(|b| &b.name_ru)), MAX_NAME);
        let name_en = optional("name_en", pick_opt(&f.name_en, base.map(|b| &b.name_en)), MAX_NAME);
        let city_kk = optional("city_kk", pick_opt(&f.city_kk, base.map(|b| &b.city_kk)), MAX_CITY);
        let city_ru = optional("city_ru", pick_opt(&f.city_ru, base.map(|b| &b.city_ru)), MAX_CITY);
        let contact_name = optional("contact_name", pick_opt(&f.contact_name, base.map(|b| &b.contact_name)), MAX_NAME);
        let contact_email = optional("contact_email", pick_opt(&f.contact_email, base.map(|b| &b.contact_email)), 254);
        let contact_phone = optional("contact_phone", pick_opt(&f.contact_phone, base.map(|b| &b.contact_phone)), MAX_PHONE);
        if let Some(e) = &contact_email {
            let ok = e
                .split_once('@')
                .is_some_and(|(a, d)| !a.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
                && !e.contains(' ');
            if !ok {
                errors.push(FieldError::new("contact_email", "invalid_email", "not an e-mail address"));
            }
        }
        // Names and places reach the public register: no control characters, no bidirectional overrides.
        let shown = [
            ("name", Some(&name)),
            ("name_kk", name_kk.as_ref()),
            ("name_ru", name_ru.as_ref()),
            ("name_en", name_en.as_ref()),
            ("address", Some(&address)),
            ("city", Some(&city)),
            ("city_kk", city_kk.as_ref()),
            ("city_ru", city_ru.as_ref()),
            ("contact_name", contact_name.as_ref()),
            ("contact_email", contact_email.as_ref()),
            ("contact_phone", contact_phone.as_ref()),
        ];
        for (field, value) in shown {
            if let Some(Err(e)) = value.map(|v| text::check(field, v, TextKind::Name)) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(Venue {
                name,
                name_kk,
                name_ru,
                name_en,
                address,
                city,
                city_kk,
                city_ru,
                country,
                category,
                contact_name,
                contact_email,
                contact_phone,
            })
        } else {
            Err(errors)
        }
    }

    /// The name in a language, falling back to the display name.
    pub fn name_in(&self, lang: &str) -> &str {
        translated(lang, &self.name, self.name_kk.as_deref(), self.name_ru.as_deref(), self.name_en.as_deref())
    }
}

/// The form of a name for `lang` (kk, ru, en) among its translations (blank ones do not count), else the
/// name itself: how every page, list, PDF and e-mail names a venue, its city and the issuer.
pub fn translated<'a>(lang: &str, name: &'a str, kk: Option<&'a str>, ru: Option<&'a str>, en: Option<&'a str>) -> &'a str {
    let t = match lang {
        "kk" => kk,
        "ru" => ru,
        _ => en,
    };
    t.map(str::trim).filter(|t| !t.is_empty()).unwrap_or(name)
}

/// A name's other forms besides the one shown (the name and its translations, blank ones left out, each
/// once): the PDF's other-language lines and the JSON-LD's `alternateName`.
pub fn other_forms(name: &str, translations: &[Option<&str>], shown: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in std::iter::once(Some(name)).chain(translations.iter().copied()).flatten().map(str::trim) {
        if !n.is_empty() && n != shown.trim() && !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> VenueFields {
        VenueFields {
            name: Some("  Smart   Plastic Zone ".into()),
            address: Some("Mangilik El 55".into()),
            city: Some("Astana".into()),
            category: Some("expo_pavilion".into()),
            ..Default::default()
        }
    }

    #[test]
    fn create_normalises_and_defaults() {
        let v = Venue::apply(None, &fields()).unwrap();
        assert_eq!(v.name, "Smart Plastic Zone");
        assert_eq!(v.country, "KZ");
        assert_eq!(v.name_in("kk"), "Smart Plastic Zone");
    }

    #[test]
    fn errors_name_fields() {
        let mut f = fields();
        f.name = Some(" ".into());
        f.category = Some("castle".into());
        f.contact_email = Some("nope".into());
        let e = Venue::apply(None, &f).unwrap_err();
        let names: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["name", "category", "contact_email"]);
    }

    #[test]
    fn names_refuse_bidi_overrides() {
        let mut f = fields();
        f.name_kk = Some("Ақ\u{202E}Орда".into());
        f.city = Some("Astana\u{2066}".into());
        let e = Venue::apply(None, &f).unwrap_err();
        let names: Vec<_> = e.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(names, [("name_kk", "invalid_characters"), ("city", "invalid_characters")]);
    }

    #[test]
    fn update_keeps_what_is_not_sent() {
        let v = Venue::apply(None, &fields()).unwrap();
        let u = Venue::apply(
            Some(&v),
            &VenueFields {
                city: Some("Almaty".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(u.city, "Almaty");
        assert_eq!(u.name, v.name);
    }
}

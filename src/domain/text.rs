//! Which characters the registry accepts in text from clients: no NUL or other C0 controls (tab and
//! newline only in free text), and no bidirectional overrides in names. Pure; used by every input path.

use super::scoring::FieldError;

/// How a piece of text is used, which decides what it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Descriptions, reasons, comments: tab, newline and carriage return are allowed.
    Free,
    /// One line: query parameters, identifiers, file names. No control characters at all.
    Line,
    /// A name shown to the public: one line, and no bidirectional overrides or isolates, which can make
    /// a register entry read as something else (U+202A–U+202E, U+2066–U+2069).
    Name,
}

pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The first character `kind` does not allow, if any.
pub fn forbidden_char(s: &str, kind: TextKind) -> Option<char> {
    s.chars().find(|&c| {
        let control = c.is_control() && (c as u32) < 0x20 || c == '\u{7f}';
        match kind {
            TextKind::Free => control && !matches!(c, '\t' | '\n' | '\r'),
            TextKind::Line => control,
            TextKind::Name => control || is_bidi_control(c),
        }
    })
}

/// The same rules as JSON Schema (ECMA-262) patterns, for the API document: what `kind` forbids, as a
/// character-class body, and whether the text must hold a non-blank character.
pub fn forbidden_class(kind: TextKind) -> &'static str {
    match kind {
        TextKind::Free => r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F",
        TextKind::Line => r"\x00-\x1F\x7F",
        TextKind::Name => r"\x00-\x1F\x7F\u202A-\u202E\u2066-\u2069",
    }
}

/// A pattern for text of `kind`; `non_blank` also requires one character that is not white space.
pub fn pattern(kind: TextKind, non_blank: bool) -> String {
    let bad = forbidden_class(kind);
    if non_blank {
        format!(r"^[^{bad}]*[^\s{bad}][^{bad}]*$")
    } else {
        format!(r"^[^{bad}]*$")
    }
}

/// `Ok` when `s` may be used as `kind`; else a field error `invalid_characters` naming `field`.
pub fn check(field: &str, s: &str, kind: TextKind) -> Result<(), FieldError> {
    match forbidden_char(s, kind) {
        None => Ok(()),
        Some(c) => Err(FieldError::new(
            field,
            "invalid_characters",
            format!("{field} contains a character that is not allowed here (U+{:04X})", c as u32),
        )),
    }
}

/// Every string in a JSON document (keys and values) checked as free text; the fields at fault are
/// named by their JSON path (`measurements.recycling_handover.transfer_notes[0].recycler`).
pub fn check_json(v: &serde_json::Value) -> Vec<FieldError> {
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<FieldError>) {
        let name = |p: &str| if p.is_empty() { "body".to_string() } else { p.to_string() };
        match v {
            serde_json::Value::String(s) => out.extend(check(&name(path), s, TextKind::Free).err()),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), out);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    if let Err(e) = check(&name(path), k, TextKind::Line) {
                        out.push(e);
                        continue;
                    }
                    walk(item, &p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

/// Text as search compares it: lower-cased, and without accents, so that "cafe" finds "Café" and "елка"
/// finds "Ёлка" (each character decomposed, its combining marks dropped). "й" stays a letter of its own
/// (Russian and Kazakh do not read it as "и" with a mark), and the Kazakh letters (ә, ғ, қ, ң, ө, ұ, ү,
/// һ, і) have no decomposition, so they are kept as they are, in either case.
pub fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(s.len());
    // Composed first, so that "и" followed by a combining breve is the "й" it shows.
    for c in s.nfc().flat_map(char::to_lowercase) {
        if c == 'й' {
            out.push(c);
            continue;
        }
        unicode_normalization::char::decompose_canonical(c, |d| {
            if !is_combining_mark(d) {
                out.push(d);
            }
        });
    }
    out
}

/// The combining marks an accent decomposes into (the diacritical marks blocks and their supplements).
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn free_text_keeps_tabs_and_newlines_but_not_nul() {
        assert!(check("reason", "line one\n\tline two\r\n", TextKind::Free).is_ok());
        assert_eq!(check("reason", "a\u{0}b", TextKind::Free).unwrap_err().code, "invalid_characters");
        assert!(check("reason", "bell\u{7}", TextKind::Free).is_err());
        assert!(check("reason", "del\u{7f}", TextKind::Free).is_err());
        assert!(check("q", "a\tb", TextKind::Line).is_err());
    }

    #[test]
    fn names_refuse_bidi_overrides_but_keep_any_script() {
        assert!(check("name", "Smart Plastic Zone — Ақ Орда Ұлттық", TextKind::Name).is_ok());
        assert!(check("name", "مطعم", TextKind::Name).is_ok(), "right-to-left scripts are fine");
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            let e = check("name", &format!("abc{c}def"), TextKind::Name).unwrap_err();
            assert!(e.message.contains(&format!("{:04X}", c as u32)), "{}", e.message);
        }
        assert!(check("reason", "\u{202E}", TextKind::Free).is_ok(), "free text is not a name");
    }

    #[test]
    fn json_paths_name_the_field_at_fault() {
        let v = serde_json::json!({"name": "ok", "notes": [{"recycler": "x\u{0}"}], "k\u{1}": 1});
        let fields: Vec<String> = check_json(&v).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["body".to_string(), "notes[0].recycler".to_string()]);
    }

    #[test]
    fn search_folds_case_and_accents_but_keeps_letters_of_their_own() {
        assert_eq!(fold("Green Cup Café"), "green cup cafe");
        assert_eq!(fold("CAFÉ"), "cafe");
        assert_eq!(fold("Ёлка"), fold("елка"));
        assert_eq!(fold("Жасыл Ғимарат ҚАЗАҚ ӘӨҰҮҺІ"), "жасыл ғимарат қазақ әөұүһі");
        assert_eq!(fold("Й"), "й", "й is a letter, not и with a mark");
        assert_eq!(fold("И\u{306}"), "й", "written with a combining breve, too");
        assert_eq!(fold("Straße Zürich"), "straße zurich");
        assert_eq!(fold("İstanbul"), "istanbul");
        // A name written with a combining accent finds the one written precomposed, and the other way round.
        assert_eq!(fold("Cafe\u{301}"), fold("Café"));
    }

    proptest! {
        #[test]
        fn folding_twice_changes_nothing(s in "\\PC{0,40}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
            prop_assert!(!once.chars().any(is_combining_mark));
        }

        #[test]
        fn any_control_below_space_other_than_tab_newline_cr_is_refused(pre in "\\PC{0,20}", post in "\\PC{0,20}", c in 0u32..0x20) {
            let ch = char::from_u32(c).unwrap();
            let s = format!("{pre}{ch}{post}");
            let allowed = matches!(ch, '\t' | '\n' | '\r');
            prop_assert_eq!(check("f", &s, TextKind::Free).is_ok(), allowed);
            prop_assert!(check("f", &s, TextKind::Line).is_err());
            prop_assert!(check("f", &s, TextKind::Name).is_err());
        }

        #[test]
        fn printable_text_passes(s in "\\PC{0,60}") {
            prop_assume!(!s.chars().any(is_bidi_control));
            prop_assert!(check("f", &s, TextKind::Name).is_ok());
        }
    }
}

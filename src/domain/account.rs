//! People's sign-in rules: e-mail addresses, the password policy and argon2id hashing, TOTP codes and
//! recovery codes, session and invitation secrets, CSRF tokens, sign-in throttling, safe redirects.
//! Pure apart from drawing random bytes from the operating system's generator.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{Duration, NaiveDateTime};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// An e-mail address as the sign-in name: trimmed and lower-cased, so comparison is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

pub const MAX_EMAIL: usize = 254;
/// Characters an address may not hold (besides white space and control characters).
pub const EMAIL_FORBIDDEN: &str = "<>()[]\\,;:\"@";

/// The same rule as a JSON Schema pattern, for the API document.
pub fn email_pattern() -> String {
    let bad = format!(
        r#"\s@<>()\[\]\\,;:"\x00-\x1f\x7f-\x9f{}"#,
        crate::domain::text::forbidden_class(crate::domain::text::TextKind::Name)
    );
    format!(r"^\s*[^{bad}]+@[^{bad}.]+(\.[^{bad}.]+)+\s*$")
}

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        // The length as sent (spaces around it included), as the published schema's maxLength counts it.
        let too_long = s.chars().count() > MAX_EMAIL;
        let s = s.trim();
        if s.is_empty() || too_long {
            return Err(format!("an e-mail address has 3 to {MAX_EMAIL} characters"));
        }
        let s = s.to_lowercase();
        let Some((local, domain)) = s.split_once('@') else {
            return Err("an e-mail address looks like name@example.kz".into());
        };
        let bad = |c: char| c.is_whitespace() || c.is_control() || crate::domain::text::is_bidi_control(c) || EMAIL_FORBIDDEN.contains(c);
        if local.is_empty() || domain.is_empty() || local.chars().any(bad) || domain.chars().any(bad) {
            return Err("an e-mail address looks like name@example.kz".into());
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err("the part after @ must be a domain name, like example.kz".into());
        }
        Ok(Email(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 1024;

/// Why a new password is refused (the page says it in the reader's language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Mismatch,
    /// Too easy to guess; zxcvbn's warning (English) when it has one.
    Weak(Option<String>),
}

impl PasswordProblem {
    pub fn code(&self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "password_too_short",
            PasswordProblem::TooLong => "password_too_long",
            PasswordProblem::Mismatch => "password_mismatch",
            PasswordProblem::Weak(_) => "password_weak",
        }
    }
    pub fn message(&self) -> String {
        match self {
            PasswordProblem::TooShort => format!("a password needs at least {PASSWORD_MIN} characters"),
            PasswordProblem::TooLong => format!("a password has at most {PASSWORD_MAX} characters"),
            PasswordProblem::Mismatch => "the two passwords differ".into(),
            PasswordProblem::Weak(Some(w)) => format!("this password is too easy to guess: {w}"),
            PasswordProblem::Weak(None) => "this password is too easy to guess".into(),
        }
    }
}

/// The password policy (NIST SP 800-63B): length 12 to 1024 characters of any Unicode, no composition
/// rules, and an estimated 10^10 guesses or more (zxcvbn score 3), counting the person's own e-mail
/// and name as known words.
pub fn check_password(password: &str, confirm: &str, known: &[&str]) -> Result<(), PasswordProblem> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        return Err(PasswordProblem::TooShort);
    }
    if n > PASSWORD_MAX {
        return Err(PasswordProblem::TooLong);
    }
    if password != confirm {
        return Err(PasswordProblem::Mismatch);
    }
    let mut inputs: Vec<&str> = known.to_vec();
    let parts: Vec<&str> = known
        .iter()
        .flat_map(|k| k.split(|c: char| !c.is_alphanumeric()))
        .filter(|p| p.chars().count() >= 2)
        .collect();
    // Mostly one's own name or address is refused, whatever the estimate says of the rest: the whole
    // address and name first, then their parts of two characters or more, longest first.
    let mut removed: Vec<&str> = known.iter().copied().chain(parts.iter().copied()).filter(|p| !p.trim().is_empty()).collect();
    removed.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
    let mut rest = password.to_lowercase();
    for p in &removed {
        rest = rest.replace(&p.to_lowercase(), "");
    }
    if rest.chars().filter(|c| c.is_alphanumeric()).count() < 6 {
        return Err(PasswordProblem::Weak(Some("it is mostly your name or e-mail address".into())));
    }
    inputs.extend(parts.into_iter().filter(|p| p.chars().count() >= 3));
    inputs.extend(["ecolabel", "eco-label", "registry", "gold", "astana", "plastic"]);
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < 3 {
        let warning = estimate.feedback().and_then(|f| f.warning()).map(|w| w.to_string());
        return Err(PasswordProblem::Weak(warning));
    }
    Ok(())
}

/// argon2id with OWASP's parameters: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

/// Does `password` match the stored hash? A stored hash that does not parse matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => argon2().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing anyone knows: an unknown e-mail address is checked against it, so that it takes as
/// long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut pw);
        hash_password(&hex::encode(pw)).unwrap_or_default()
    })
}

/// 256 random bits, base64url (43 characters): session ids and invitation tokens.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Cheap shape check before any database look-up.
pub fn looks_like_secret(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the database keeps of a session id, an invitation token or a recovery code.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of a session: derived from its secret id, so it needs no storage and is unguessable.
pub fn csrf_token(session_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"gel-csrf\0");
    h.update(session_id.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Compare in time independent of where the strings differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---- TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps, one step of clock skew either way) ----

pub const TOTP_STEP: u64 = 30;

fn totp(secret_b32: &str, account: &str, issuer: &str) -> Option<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).ok()?;
    let issuer = issuer.replace(':', " ");
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(TOTP_STEP)
        .with_secret(secret)
        .with_account_name(account.replace(':', " "))
        .with_issuer(Some(issuer))
        .build()
        .ok()
}

/// A new TOTP secret: 160 random bits, base32 (RFC 4648, no padding).
pub fn new_totp_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    totp_rs::Secret::from(bytes.to_vec()).to_base32()
}

/// The `otpauth://totp/Issuer:account?secret=…&issuer=…` URI an authenticator app reads from the QR code.
pub fn totp_uri(secret_b32: &str, account: &str, issuer: &str) -> Option<String> {
    totp(secret_b32, account, issuer)?.to_url().ok()
}

/// The code for a time (tests, and the browser test's authenticator).
pub fn totp_code(secret_b32: &str, unix_time: u64) -> Option<String> {
    Some(totp(secret_b32, "x", "x")?.generate(unix_time).to_string())
}

/// The time step a code belongs to, if it is right for `unix_time` (±1 step) and newer than
/// `last_step`: a code is accepted once.
pub fn totp_accept(secret_b32: &str, code: &str, unix_time: u64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret_b32, "x", "x")?;
    let origin = unix_time / TOTP_STEP;
    // Newest first, so a code of the next step is not taken for an older one.
    (origin.saturating_sub(1)..=origin + 1).rev().find_map(|step| {
        let step_i = i64::try_from(step).ok()?;
        let fresh = last_step.is_none_or(|last| step_i > last);
        (fresh && constant_time_eq(&t.generate(step * TOTP_STEP).to_string(), &code)).then_some(step_i)
    })
}

// ---- Recovery codes: 10 single-use codes of 10 base32 characters (50 bits), shown once ----

pub const RECOVERY_CODES: usize = 10;
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let c: String = (0..10)
                .map(|_| RECOVERY_ALPHABET[(rng.next_u32() as usize) % RECOVERY_ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &c[..5], &c[5..])
        })
        .collect()
}

/// A typed recovery code in its stored form (spaces and dashes dropped, lower case), if it has the shape.
pub fn normalize_recovery_code(s: &str) -> Option<String> {
    let c: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_lowercase();
    (c.len() == 10 && c.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(c)
}

/// The fast (SHA-256) form recovery codes were stored in before the slow one: still accepted for codes
/// made then, never written any more.
pub fn recovery_code_hash(code: &str) -> Option<String> {
    normalize_recovery_code(code).map(|c| secret_hash(&format!("recovery:{c}")))
}

/// A recovery code as stored: argon2id with the password parameters, salted per person, so that a database
/// dump does not let anyone try codes quickly (each guess costs 19 MiB and two passes, and no two people
/// share a salt). Deterministic for one person, so a typed code is found by equality.
pub fn recovery_code_slow_hash(code: &str, user_id: i64) -> Option<String> {
    let c = normalize_recovery_code(code)?;
    let salt_bytes = Sha256::digest(format!("gel-recovery-code:{user_id}").as_bytes());
    let salt = SaltString::encode_b64(&salt_bytes[..16]).ok()?;
    argon2().hash_password(c.as_bytes(), &salt).map(|h| h.to_string()).ok()
}

// ---- Throttling: per e-mail typed, 5 failures in 15 minutes start a wait that doubles, to 15 minutes ----

pub const MAX_FAILURES: i32 = 5;
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
pub const FIRST_WAIT_SECONDS: i64 = 60;
pub const MAX_WAIT_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub failures: i32,
    pub window_start: NaiveDateTime,
    /// Waits started in this streak (each doubles the next).
    pub locks: i32,
    pub locked_until: Option<NaiveDateTime>,
}

impl Throttle {
    pub fn fresh(now: NaiveDateTime) -> Throttle {
        Throttle {
            failures: 0,
            window_start: now,
            locks: 0,
            locked_until: None,
        }
    }

    /// Seconds left to wait, if sign-in is closed now.
    pub fn wait(&self, now: NaiveDateTime) -> Option<i64> {
        self.locked_until.filter(|u| *u > now).map(|u| (u - now).num_seconds().max(1))
    }

    /// The state after one more failure at `now`.
    pub fn after_failure(&self, now: NaiveDateTime) -> Throttle {
        let window = Duration::minutes(FAILURE_WINDOW_MINUTES);
        let idle = now - self.locked_until.unwrap_or(self.window_start).max(self.window_start) > window;
        let mut t = if idle { Throttle::fresh(now) } else { self.clone() };
        t.failures += 1;
        if t.failures >= MAX_FAILURES {
            let shift = u32::try_from(t.locks.clamp(0, 10)).unwrap_or(10);
            let wait = (FIRST_WAIT_SECONDS << shift).min(MAX_WAIT_SECONDS);
            t.locked_until = Some(now + Duration::seconds(wait));
            t.locks += 1;
        }
        t
    }
}

// ---- Redirects and devices ----

/// Where to go after signing in: a same-origin path only (`/app/…`), never another site.
pub fn safe_next(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    ok.then(|| next.to_string())
}

/// A short description of a browser for the session list ("Chrome on Android").
pub fn device_of(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("YaBrowser") {
        "Yandex Browser"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.contains("curl/") {
        "curl"
    } else {
        ""
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        ""
    };
    match (browser, os) {
        ("", "") => ua.chars().take(40).collect(),
        (b, "") => b.to_string(),
        ("", o) => o.to_string(),
        (b, o) => format!("{b} on {o}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn emails_are_case_insensitive_and_checked() {
        assert_eq!(Email::parse("  Aigerim@Example.KZ ").unwrap().as_str(), "aigerim@example.kz");
        for bad in ["", "no-at", "a@b", "a@.kz", "a b@x.kz", "@x.kz", "a@x..kz", "a@@x.kz"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        assert_eq!(check_password("short", "short", &[]), Err(PasswordProblem::TooShort));
        assert_eq!(check_password("password1234", "password1234", &[]).unwrap_err().code(), "password_weak");
        assert_eq!(check_password("qwertyuiop123", "qwertyuiop123", &[]).unwrap_err().code(), "password_weak");
        assert_eq!(
            check_password("aigerim.nurlanovna", "aigerim.nurlanovna", &["aigerim.nurlanovna@example.kz"])
                .unwrap_err()
                .code(),
            "password_weak"
        );
        assert_eq!(
            check_password("correct horse battery staple", "correct horse battery stapler", &[]),
            Err(PasswordProblem::Mismatch)
        );
        check_password("correct horse battery staple", "correct horse battery staple", &[]).unwrap();
        // An address whose parts are shorter than three characters, twice, is still one's own address.
        assert_eq!(
            check_password("o4@rt.example o4@rt.example", "o4@rt.example o4@rt.example", &["o4@rt.example", "O R"])
                .unwrap_err()
                .code(),
            "password_weak"
        );
        // Any Unicode, counted in characters, not bytes.
        check_password("жасыл жапырақ өзен таңы", "жасыл жапырақ өзен таңы", &[]).unwrap();
        let long = "ж".repeat(PASSWORD_MAX + 1);
        assert_eq!(check_password(&long, &long, &[]), Err(PasswordProblem::TooLong));
    }

    #[test]
    fn recovery_codes_are_stored_with_a_slow_salted_hash() {
        let h = recovery_code_slow_hash("abcde-fghjk", 7).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(
            recovery_code_slow_hash("ABCDE FGHJK", 7).unwrap(),
            h,
            "typed in another shape, found by equality"
        );
        assert_ne!(recovery_code_slow_hash("abcde-fghjk", 8).unwrap(), h, "another person's salt");
        assert_eq!(recovery_code_slow_hash("not a code", 7), None);
    }

    #[test]
    fn argon2id_with_owasp_parameters() {
        let h = hash_password("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("correct horse battery stapl", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("", dummy_hash()));
    }

    #[test]
    fn totp_matches_rfc_6238_and_is_accepted_once() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last 6 digits.
        let secret = totp_rs::Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(totp_code(&secret, 59).unwrap(), "287082");
        assert_eq!(totp_code(&secret, 1111111109).unwrap(), "081804");
        assert_eq!(totp_code(&secret, 2000000000).unwrap(), "279037");
        let step = totp_accept(&secret, "081804", 1111111109, None).unwrap();
        assert_eq!(totp_accept(&secret, "081804", 1111111109, Some(step)), None, "replayed");
        assert_eq!(totp_accept(&secret, "081804", 1111111109 + 30, None), Some(step), "one step late is fine");
        assert_eq!(totp_accept(&secret, "081804", 1111111109 + 90, None), None, "three steps late is not");
        assert_eq!(totp_accept(&secret, "08180", 1111111109, None), None);
        let uri = totp_uri(&new_totp_secret(), "aigerim@example.kz", "Gold eco-label registry").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Gold%20eco-label%20registry:aigerim%40example.kz?secret="),
            "{uri}"
        );
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut d = codes.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 10);
        let c = &codes[0];
        assert_eq!(recovery_code_hash(c), recovery_code_hash(&c.to_uppercase().replace('-', " ")));
        assert_eq!(recovery_code_hash("123456"), None);
    }

    #[test]
    fn throttle_locks_after_five_failures_and_doubles_to_fifteen_minutes() {
        let t0 = at("2026-11-28 10:00:00");
        let mut t = Throttle::fresh(t0);
        for i in 0..4 {
            t = t.after_failure(t0 + Duration::seconds(i));
            assert_eq!(t.wait(t0 + Duration::seconds(i)), None);
        }
        t = t.after_failure(t0 + Duration::seconds(4));
        assert_eq!(t.wait(t0 + Duration::seconds(4)), Some(60));
        let mut now = t0 + Duration::seconds(64);
        let mut waits = vec![];
        for _ in 0..6 {
            assert_eq!(t.wait(now), None);
            t = t.after_failure(now);
            let w = t.wait(now).unwrap();
            waits.push(w);
            now += Duration::seconds(w);
        }
        assert_eq!(waits, vec![120, 240, 480, 900, 900, 900]);
        // A quiet quarter of an hour starts afresh.
        let later = now + Duration::minutes(16);
        assert_eq!(t.after_failure(later).wait(later), None);
    }

    #[test]
    fn only_same_origin_paths_are_followed() {
        assert_eq!(safe_next("/app/assessments/3?x=1").as_deref(), Some("/app/assessments/3?x=1"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "app",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }

    #[test]
    fn devices() {
        assert_eq!(
            device_of("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"),
            "Chrome on Android"
        );
        assert_eq!(device_of("curl/8.5.0"), "curl");
    }

    proptest! {
        #[test]
        fn safe_next_never_leaves_the_site(s in ".{0,40}") {
            if let Some(p) = safe_next(&s) {
                prop_assert!(p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'));
            }
        }

        #[test]
        fn secrets_and_csrf_tokens(_x in 0u8..4) {
            let a = new_secret();
            prop_assert!(looks_like_secret(&a));
            prop_assert!(!constant_time_eq(&csrf_token(&a), &csrf_token(&new_secret())));
            prop_assert!(constant_time_eq(&csrf_token(&a), &csrf_token(&a)));
        }

        #[test]
        fn random_codes_are_not_accepted_for_a_fresh_secret(code in "[0-9]{6}") {
            let s = new_totp_secret();
            let t = 1_800_000_000u64;
            let accepted = totp_accept(&s, &code, t, None).is_some();
            let expected = (t / 30 - 1..=t / 30 + 1).any(|st| totp_code(&s, st * 30).as_deref() == Some(code.as_str()));
            prop_assert_eq!(accepted, expected);
        }
    }
}

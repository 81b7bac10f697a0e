//! Webhooks per the Standard Webhooks specification, as rules: which events a subscriber may ask for, its
//! URL and secret, the signature of a delivery, the retry schedule and when a failing subscriber is disabled.

use base64::Engine;
use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The log entry types a subscriber can follow (all of them when it names none).
pub const EVENTS: [&str; 6] = ["issued", "suspended", "reinstated", "withdrawn", "superseded", "expired"];
pub const SECRET_PREFIX: &str = "whsec_";
pub const MAX_URL: usize = 2000;
/// Attempts of one delivery before it is given up (the last about a day and a half after the first).
pub const MAX_ATTEMPTS: i32 = 8;
/// Failed attempts in a row (over all its deliveries) after which a subscriber is disabled.
pub const DISABLE_AFTER: i32 = 20;

/// The events asked for, checked; none means all.
pub fn parse_events(events: Option<&[String]>) -> Result<Vec<String>, String> {
    let Some(list) = events else {
        return Ok(EVENTS.iter().map(|e| e.to_string()).collect());
    };
    if list.is_empty() {
        return Err("name at least one event, or leave `events` out for all".into());
    }
    let mut out: Vec<String> = vec![];
    for e in list {
        if !EVENTS.contains(&e.as_str()) {
            return Err(format!("`{e}` is not one of {}", EVENTS.join(", ")));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// A subscriber URL: http or https, with a host, no credentials, at most 2000 characters.
pub fn check_url(url: &str) -> Result<String, String> {
    let u = url.trim();
    if u.chars().count() > MAX_URL {
        return Err(format!("at most {MAX_URL} characters"));
    }
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err("names no host".into());
    }
    if host.contains('@') {
        return Err("must not carry credentials".into());
    }
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(u.to_string())
}

/// A subscriber's secret from 32 random bytes: `whsec_` and their base64.
pub fn secret(random: [u8; 32]) -> String {
    format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(random))
}

/// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256, keyed by the secret's bytes, of
/// `{msg_id}.{timestamp}.{body}`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| format!("webhook secret: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())))
}

/// How long to wait after the `attempts`-th failed attempt (Standard Webhooks' suggested schedule), or
/// None: give up.
pub fn backoff(attempts: i32) -> Option<TimeDelta> {
    let wait = match attempts {
        1 => TimeDelta::seconds(5),
        2 => TimeDelta::minutes(5),
        3 => TimeDelta::minutes(30),
        4 => TimeDelta::hours(2),
        5 => TimeDelta::hours(5),
        6 | 7 => TimeDelta::hours(10),
        _ => return None,
    };
    (attempts < MAX_ATTEMPTS).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn events_default_to_all_and_are_checked() {
        assert_eq!(parse_events(None).unwrap().len(), 6);
        assert_eq!(parse_events(Some(&["suspended".into(), "suspended".into()])).unwrap(), ["suspended"]);
        assert!(parse_events(Some(&[])).is_err());
        assert!(parse_events(Some(&["created".into()])).is_err());
    }

    #[test]
    fn urls_are_http_with_a_host() {
        assert_eq!(check_url(" https://hooks.example.kz/gel ").unwrap(), "https://hooks.example.kz/gel");
        for bad in ["ftp://x", "https://", "https://user:pw@x.kz/", "https://x.kz/a b"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_like_the_reference() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn retries_back_off_then_stop() {
        let waits: Vec<_> = (1..=MAX_ATTEMPTS).map(backoff).collect();
        assert_eq!(waits[0], Some(TimeDelta::seconds(5)));
        assert!(waits.windows(2).all(|w| w[1].is_none() || w[0] <= w[1]));
        assert_eq!(backoff(MAX_ATTEMPTS), None);
    }

    proptest! {
        #[test]
        fn secrets_round_trip_into_keys(random in any::<[u8; 32]>(), msg in "[a-z0-9_]{1,30}", ts in 0i64..4_000_000_000) {
            let s = secret(random);
            prop_assert!(s.starts_with(SECRET_PREFIX));
            let a = sign(&s, &msg, ts, b"{}").unwrap();
            prop_assert!(a.starts_with("v1,"));
            prop_assert_eq!(a.clone(), sign(&s, &msg, ts, b"{}").unwrap());
            prop_assert_ne!(a, sign(&s, &msg, ts + 1, b"{}").unwrap());
        }
    }
}

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

/// Whether a webhook may be sent to this address: not loopback, unspecified (0.0.0.0, ::), link-local
/// (169.254/16 with the cloud metadata address, fe80::/10), private (10/8, 172.16/12, 192.168/16),
/// shared (100.64/10), unique-local (fc00::/7), multicast or broadcast; an IPv4 address inside IPv6 is
/// judged as IPv4.
pub fn is_public_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The host of a checked subscriber URL (without port or IPv6 brackets).
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority)
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
    fn private_and_metadata_addresses_are_refused() {
        for bad in [
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "169.254.169.254",
            "10.0.0.5",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "fc00::1",
            "fd00:ec2::254",
            "0.0.0.0",
            "::",
            "fe80::1",
            "100.64.0.1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public_address(bad.parse().unwrap()), "{bad}");
        }
        for good in ["93.184.216.34", "2a00:1450:4001:81b::200e", "172.32.0.1", "8.8.8.8"] {
            assert!(is_public_address(good.parse().unwrap()), "{good}");
        }
        assert_eq!(host_of("https://hooks.example.kz:8443/x?y"), "hooks.example.kz");
        assert_eq!(host_of("http://[::1]:80/"), "::1");
        assert_eq!(host_of("http://10.0.0.1/"), "10.0.0.1");
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

// Per-IP rate limiting of the public pages (actix-governor): over the limit is 429 with Retry-After and
// the registry's JSON error body. Limits come from the configuration.

use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::governor::NotUntil;
use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor, PeerIpKeyExtractor, SimpleKeyExtractionError};
use actix_web::dev::ServiceRequest;
use actix_web::{HttpResponse, HttpResponseBuilder};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The client address: the TCP peer, or, when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not a trusted proxy. IPv6 clients are grouped by /56 (as actix-governor does).
#[derive(Clone, Default)]
pub struct PublicIp {
    trusted: Arc<Vec<IpAddr>>,
}

pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    forwarded_for
        .into_iter()
        .flat_map(|h| h.rsplit(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

impl KeyExtractor for PublicIp {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        let peer = PeerIpKeyExtractor.extract(req)?;
        if self.trusted.is_empty() {
            return Ok(peer);
        }
        let header = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
        Ok(match client_ip(peer, header, &self.trusted) {
            IpAddr::V6(v6) => {
                let mut octets = v6.octets();
                octets[7..16].fill(0);
                IpAddr::V6(octets.into())
            }
            v4 => v4,
        })
    }

    fn exceed_rate_limit_response(&self, negative: &NotUntil<QuantaInstant>, mut response: HttpResponseBuilder) -> HttpResponse {
        // Round up: a client told "0" would retry at once.
        let wait = negative.wait_time_from(DefaultClock::default().now()).as_secs_f64().ceil().max(1.0) as u64;
        response.insert_header(("retry-after", wait)).insert_header(("x-ratelimit-after", wait));
        // Not logged here: `RefusalLog` writes one line per client per minute (see `request_span`).
        response.json(super::error::ErrorBody {
            error: "rate_limited".into(),
            message: format!("too many requests; retry in {wait} s"),
            fields: vec![],
        })
    }
}

/// Refused requests counted per client and logged at most once a minute per client, so that a client
/// hammering the limit cannot fill the disk with log lines.
#[derive(Default)]
pub struct RefusalLog {
    clients: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(60);
const REFUSAL_LOG_CLIENTS: usize = 10_000;

impl RefusalLog {
    /// Count one refusal for `client`; returns how many to report when a line is due (the client's
    /// first refusal, then at most once per minute), else None.
    pub fn note(&self, client: IpAddr, now: Instant) -> Option<u64> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if clients.len() >= REFUSAL_LOG_CLIENTS && !clients.contains_key(&client) {
            clients.retain(|_, (at, _)| now.duration_since(*at) < REFUSAL_LOG_EVERY);
            if clients.len() >= REFUSAL_LOG_CLIENTS {
                clients.clear();
            }
        }
        match clients.get_mut(&client) {
            None => {
                clients.insert(client, (now, 0));
                Some(1)
            }
            Some((at, count)) => {
                *count += 1;
                if now.duration_since(*at) >= REFUSAL_LOG_EVERY {
                    let n = *count;
                    *at = now;
                    *count = 0;
                    Some(n)
                } else {
                    None
                }
            }
        }
    }
}

pub type PublicLimit = GovernorConfig<PublicIp, NoOpMiddleware<QuantaInstant>>;

/// `rate` requests per second sustained per client IP, with bursts of `burst`.
pub fn public_limit(rate: u32, burst: u32, trusted_proxies: &[IpAddr]) -> Result<PublicLimit, String> {
    let period = std::time::Duration::from_nanos(1_000_000_000 / u64::from(rate.max(1)));
    GovernorConfigBuilder::default()
        .period(period)
        .burst_size(burst.max(1))
        .key_extractor(PublicIp {
            trusted: Arc::new(trusted_proxies.to_vec()),
        })
        .finish()
        .ok_or_else(|| "invalid rate limit".to_string())
}

/// `per_minute` requests a minute sustained per client IP, with bursts of as many (the sign-in forms).
pub fn per_minute_limit(per_minute: u32, trusted_proxies: &[IpAddr]) -> Result<PublicLimit, String> {
    let period = std::time::Duration::from_millis(60_000 / u64::from(per_minute.max(1)).min(60_000));
    GovernorConfigBuilder::default()
        .period(period.max(std::time::Duration::from_millis(1)))
        .burst_size(per_minute.max(1))
        .key_extractor(PublicIp {
            trusted: Arc::new(trusted_proxies.to_vec()),
        })
        .finish()
        .ok_or_else(|| "invalid sign-in rate limit".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_once_a_minute_per_client() {
        let log = RefusalLog::default();
        let (a, b): (IpAddr, IpAddr) = ("203.0.113.7".parse().unwrap(), "198.51.100.1".parse().unwrap());
        let t0 = Instant::now();
        assert_eq!(log.note(a, t0), Some(1), "the first refusal is logged");
        for i in 1..1000 {
            assert_eq!(log.note(a, t0 + Duration::from_millis(i * 50)), None);
        }
        assert_eq!(log.note(b, t0), Some(1), "clients are counted apart");
        assert_eq!(log.note(a, t0 + Duration::from_secs(61)), Some(1000), "then one line with the count");
        assert_eq!(log.note(a, t0 + Duration::from_secs(62)), None);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let lb: IpAddr = "10.0.0.5".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(client_ip(lb, Some("203.0.113.7"), &[lb]), client);
        assert_eq!(
            client_ip(lb, Some("198.51.100.1, 203.0.113.7, 10.0.0.5"), &[lb]),
            client,
            "the rightmost untrusted hop"
        );
        assert_eq!(client_ip(client, Some("1.2.3.4"), &[lb]), client, "an untrusted peer cannot pick its key");
        assert_eq!(client_ip(lb, Some("garbage"), &[lb]), lb);
        assert_eq!(client_ip(lb, None, &[lb]), lb);
    }
}

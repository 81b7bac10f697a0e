// Per-IP rate limiting of the public pages (actix-governor): over the limit is 429 with Retry-After and
// the registry's JSON error body. Limits come from the configuration.

use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::governor::NotUntil;
use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor, PeerIpKeyExtractor, SimpleKeyExtractionError};
use actix_web::dev::ServiceRequest;
use actix_web::{HttpResponse, HttpResponseBuilder};

#[derive(Clone, Copy)]
pub struct PublicIp;

impl KeyExtractor for PublicIp {
    type Key = std::net::IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        PeerIpKeyExtractor.extract(req)
    }

    fn exceed_rate_limit_response(&self, negative: &NotUntil<QuantaInstant>, mut response: HttpResponseBuilder) -> HttpResponse {
        // Round up: a client told "0" would retry at once.
        let wait = negative.wait_time_from(DefaultClock::default().now()).as_secs_f64().ceil().max(1.0) as u64;
        response.insert_header(("retry-after", wait)).insert_header(("x-ratelimit-after", wait));
        tracing::warn!(retry_after = wait, "rate limit exceeded on a public page");
        response.json(super::error::ErrorBody {
            error: "rate_limited".into(),
            message: format!("too many requests; retry in {wait} s"),
            fields: vec![],
        })
    }
}

pub type PublicLimit = GovernorConfig<PublicIp, NoOpMiddleware<QuantaInstant>>;

/// `rate` requests per second sustained per client IP, with bursts of `burst`.
pub fn public_limit(rate: u32, burst: u32) -> Result<PublicLimit, String> {
    let period = std::time::Duration::from_nanos(1_000_000_000 / u64::from(rate.max(1)));
    GovernorConfigBuilder::default()
        .period(period)
        .burst_size(burst.max(1))
        .key_extractor(PublicIp)
        .finish()
        .ok_or_else(|| "invalid rate limit".to_string())
}

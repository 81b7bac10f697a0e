//! Metrics in the Prometheus text format (the `prometheus` crate): the counters and histograms the layers
//! move as they work, and the gauges read at scrape time. No label names a person, token or certificate.

use prometheus::{Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;

pub struct Metrics {
    registry: Registry,
    /// Requests by route pattern (never the path itself), method and status.
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    /// Time to take a database connection from the pool, and the takes that timed out.
    pub pool_wait_seconds: Histogram,
    pub pool_timeouts: IntCounter,
    pub pool_connections: IntGaugeVec,
    pub signin_failures: IntCounter,
    pub lockouts: IntCounter,
    /// Public snapshot cache: hit or miss.
    pub snapshot_cache: IntCounterVec,
    /// Outbox messages sent or failed, by outbox (email, webhook).
    pub outbox_sent: IntCounterVec,
    pub outbox_failed: IntCounterVec,
    /// Pending outbox messages and the age of the oldest, by outbox and (webhooks) the subscriber's state.
    pub outbox_pending: IntGaugeVec,
    pub outbox_oldest_seconds: IntGaugeVec,
    pub scheduler_last_run: IntGauge,
    pub scheduler_last_seconds: prometheus::Gauge,
    /// What the scheduler did: expired, suspended, withdrawn, failed.
    pub scheduler_changes: IntCounterVec,
    pub log_size: IntGauge,
    pub log_checkpoint_age: IntGauge,
    pub log_cosigned_age: IntGauge,
    pub log_cosigned_size: IntGauge,
    /// The read replica: how far behind the primary it was last measured (-1: unknown or unreachable), and
    /// the public reads it served against those that went to the primary.
    pub replica_lag_seconds: prometheus::Gauge,
    pub public_reads: IntCounterVec,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    match r {
        Ok(v) => v,
        // The names and labels below are constants: an error here is a bug, found by the first test.
        Err(e) => panic!("metric definition: {e}"),
    }
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = must(IntCounterVec::new(Opts::new(name, help), labels));
    must(r.register(Box::new(c.clone())));
    c
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = must(IntGaugeVec::new(Opts::new(name, help), labels));
    must(r.register(Box::new(g.clone())));
    g
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = must(IntCounter::new(name, help));
    must(r.register(Box::new(c.clone())));
    c
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = must(IntGauge::new(name, help));
    must(r.register(Box::new(g.clone())));
    g
}

fn build() -> Metrics {
    let r = Registry::new();
    #[cfg(target_os = "linux")]
    must(r.register(Box::new(prometheus::process_collector::ProcessCollector::for_self())));
    let requests = counter_vec(
        &r,
        "ecolabel_http_requests_total",
        "HTTP requests answered, by route pattern, method and status",
        &["route", "method", "status"],
    );
    let request_seconds = must(HistogramVec::new(
        HistogramOpts::new("ecolabel_http_request_duration_seconds", "Time to answer, by route pattern and method")
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        &["route", "method"],
    ));
    must(r.register(Box::new(request_seconds.clone())));
    let pool_wait_seconds = must(Histogram::with_opts(
        HistogramOpts::new("ecolabel_db_pool_wait_seconds", "Time to take a database connection from the pool")
            .buckets(vec![0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
    ));
    must(r.register(Box::new(pool_wait_seconds.clone())));
    let scheduler_last_seconds = must(prometheus::Gauge::new(
        "ecolabel_scheduler_last_duration_seconds",
        "How long the last scheduler pass took",
    ));
    must(r.register(Box::new(scheduler_last_seconds.clone())));
    let replica_lag_seconds = must(prometheus::Gauge::new(
        "ecolabel_read_replica_lag_seconds",
        "How far the read replica was behind the primary at the last measurement (-1: unknown or unreachable)",
    ));
    must(r.register(Box::new(replica_lag_seconds.clone())));
    Metrics {
        replica_lag_seconds,
        public_reads: counter_vec(
            &r,
            "ecolabel_public_reads_total",
            "Public certificate reads from the database, by where they went (replica or primary)",
            &["source"],
        ),
        requests,
        request_seconds,
        pool_wait_seconds,
        pool_timeouts: counter(&r, "ecolabel_db_pool_timeouts_total", "Takes from the database pool that timed out"),
        pool_connections: gauge_vec(
            &r,
            "ecolabel_db_pool_connections",
            "Database connections of the pool, in use or idle",
            &["state"],
        ),
        signin_failures: counter(&r, "ecolabel_signin_failures_total", "Sign-ins refused for a wrong password or unknown address"),
        lockouts: counter(
            &r,
            "ecolabel_signin_lockouts_total",
            "Sign-in waits started (too many failures for one address)",
        ),
        snapshot_cache: counter_vec(
            &r,
            "ecolabel_public_snapshot_cache_total",
            "Public certificate snapshots served from memory (hit) or read (miss)",
            &["result"],
        ),
        outbox_sent: counter_vec(&r, "ecolabel_outbox_sent_total", "Outbox messages delivered, by outbox", &["outbox"]),
        outbox_failed: counter_vec(
            &r,
            "ecolabel_outbox_failed_total",
            "Outbox delivery attempts that failed, by outbox",
            &["outbox"],
        ),
        outbox_pending: gauge_vec(
            &r,
            "ecolabel_outbox_pending",
            "Outbox messages not delivered yet, by outbox and subscriber state",
            &["outbox", "subscriber_state"],
        ),
        outbox_oldest_seconds: gauge_vec(
            &r,
            "ecolabel_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox message",
            &["outbox"],
        ),
        scheduler_last_run: gauge(
            &r,
            "ecolabel_scheduler_last_run_timestamp_seconds",
            "When the scheduler last finished a pass (Unix time)",
        ),
        scheduler_last_seconds,
        scheduler_changes: counter_vec(
            &r,
            "ecolabel_scheduler_changes_total",
            "What the scheduler did: expired, suspended, withdrawn, failed",
            &["change"],
        ),
        log_size: gauge(&r, "ecolabel_log_size", "Entries in the public log"),
        log_checkpoint_age: gauge(&r, "ecolabel_log_checkpoint_age_seconds", "Age of the newest signed checkpoint"),
        log_cosigned_age: gauge(
            &r,
            "ecolabel_log_cosigned_checkpoint_age_seconds",
            "Age of the newest checkpoint a quorum of witnesses cosigned (-1: none)",
        ),
        log_cosigned_size: gauge(
            &r,
            "ecolabel_log_cosigned_size",
            "Tree size of the newest checkpoint a quorum of witnesses cosigned",
        ),
        registry: r,
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(build);

/// Whether each request is counted (`--request-metrics`; on unless turned off).
static REQUESTS_COUNTED: AtomicBool = AtomicBool::new(true);

pub fn count_requests(on: bool) {
    REQUESTS_COUNTED.store(on, Ordering::Relaxed);
}

pub fn requests_counted() -> bool {
    REQUESTS_COUNTED.load(Ordering::Relaxed)
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

/// Everything in the Prometheus text format (version 0.0.4).
pub fn render() -> Result<(String, Vec<u8>), String> {
    let encoder = TextEncoder::new();
    let mut out = Vec::new();
    encoder.encode(&get().registry.gather(), &mut out).map_err(|e| e.to_string())?;
    Ok((encoder.format_type().to_string(), out))
}

/// The database pool's checkouts, timed (an r2d2 event handler).
#[derive(Debug)]
pub struct PoolEvents;

impl diesel::r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: diesel::r2d2::event::CheckoutEvent) {
        get().pool_wait_seconds.observe(event.duration().as_secs_f64());
    }
    fn handle_timeout(&self, _event: diesel::r2d2::event::TimeoutEvent) {
        get().pool_timeouts.inc();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_metric_is_defined_and_rendered() {
        super::get().requests.with_label_values(&["/certificates/{number}", "GET", "200"]).inc();
        let (kind, text) = super::render().unwrap();
        assert!(kind.starts_with("text/plain; version=0.0.4"));
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("ecolabel_http_requests_total{method=\"GET\",route=\"/certificates/{number}\",status=\"200\"}"),
            "{text}"
        );
    }
}

// Running it for real: /metrics in the Prometheus text format (parsed by Prometheus's Python client) moves with a
// request, a failed sign-in and an outbox send, and no label carries a person, token or certificate number.

use crate::helpers::*;
use crate::webhooks::Receiver;
use ecolabel::domain::auth::Role;
use serde_json::json;

/// One sample: metric name, labels, value.
struct Sample {
    metric: String,
    labels: std::collections::HashMap<String, String>,
    value: f64,
}

struct Scrape(Vec<Sample>);

/// Parse with the Prometheus project's own Python client (`prometheus_client.parser`); in CI a missing
/// package is a failure, elsewhere the test says it was skipped.
fn parse(text: &str) -> Option<Vec<Sample>> {
    let script = "import sys, json\nfrom prometheus_client.parser import text_string_to_metric_families\nout = []\nfor f in text_string_to_metric_families(sys.stdin.read()):\n    for s in f.samples:\n        out.append([s.name, s.labels, s.value])\nprint(json.dumps(out))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && err.contains("No module named") {
        assert!(!in_ci(), "CI=true but prometheus_client is missing: {err}");
        eprintln!("skipped: the Prometheus parser check (pip install prometheus_client)");
        return None;
    }
    assert!(out.status.success(), "the Prometheus parser refused the metrics: {err}");
    let rows: Vec<(String, std::collections::HashMap<String, String>, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    Some(rows.into_iter().map(|(metric, labels, value)| Sample { metric, labels, value }).collect())
}

async fn scrape(app: &TestApp) -> Option<Scrape> {
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    parse(&text).map(Scrape)
}

impl Scrape {
    fn value(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
            .map(|s| s.value)
            .sum()
    }
}

async fn metrics_move_with_what_happens(app: TestApp) {
    let Some(before) = scrape(&app).await else { return };
    let healthz = [("route", "/healthz"), ("method", "GET"), ("status", "200")];
    for _ in 0..3 {
        assert_eq!(app.get("/healthz", None).await.status(), 200);
    }
    let receiver = Receiver::start();
    let admin = app.token(&[Role::Admin]).await;
    assert_eq!(app.post("/api/v1/webhooks", Some(&admin), json!({"url": receiver.url})).await.status(), 201);
    let issued = app.issue("Smart Plastic Zone", "Astana").await;
    let r = app
        .client
        .post(app.url("/login"))
        .header("origin", &app.address)
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", "nobody@example.kz"), ("password", "not the password at all")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let middle = scrape(&app).await.unwrap();
    assert!(middle.value("ecolabel_http_requests_total", &healthz) >= before.value("ecolabel_http_requests_total", &healthz) + 3.0);
    assert!(middle.value("ecolabel_http_request_duration_seconds_count", &[("route", "/healthz")]) >= 3.0);
    assert!(middle.value("ecolabel_signin_failures_total", &[]) >= before.value("ecolabel_signin_failures_total", &[]) + 1.0);
    assert_eq!(
        middle.value("ecolabel_outbox_pending", &[("outbox", "webhook"), ("subscriber_state", "active")]),
        1.0
    );
    assert!(middle.value("ecolabel_outbox_oldest_pending_age_seconds", &[("outbox", "webhook")]) >= 0.0);
    assert_eq!(middle.value("ecolabel_log_size", &[]), 1.0, "the issuance is the log's one entry");
    assert!(middle.value("ecolabel_log_checkpoint_age_seconds", &[]) < 60.0);
    assert_eq!(middle.value("ecolabel_log_cosigned_checkpoint_age_seconds", &[]), -1.0, "no witnesses here");
    assert!(middle.value("ecolabel_db_pool_connections", &[("state", "idle")]) + middle.value("ecolabel_db_pool_connections", &[("state", "in_use")]) >= 1.0);
    assert!(middle.value("process_resident_memory_bytes", &[]) > 1e6, "the process's memory");

    let report = ecolabel::workers::webhooks::deliver_due(&app.state, &ecolabel::workers::webhooks::client(true), ecolabel::storage::now())
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    let after = scrape(&app).await.unwrap();
    assert!(after.value("ecolabel_outbox_sent_total", &[("outbox", "webhook")]) >= middle.value("ecolabel_outbox_sent_total", &[("outbox", "webhook")]) + 1.0);
    assert_eq!(
        after.value("ecolabel_outbox_pending", &[("outbox", "webhook"), ("subscriber_state", "active")]),
        0.0
    );

    // Route patterns, never paths: no certificate number, e-mail or token in any label.
    assert_eq!(app.get(&format!("/certificates/{}", issued.number), None).await.status(), 200);
    let last = scrape(&app).await.unwrap();
    let routes: std::collections::BTreeSet<String> = last
        .0
        .iter()
        .filter(|s| s.metric == "ecolabel_http_requests_total")
        .filter_map(|s| s.labels.get("route").cloned())
        .collect();
    assert!(
        last.value("ecolabel_http_requests_total", &[("route", "/certificates/{number}")]) >= 1.0,
        "{routes:?}"
    );
    for s in &last.0 {
        for (k, v) in &s.labels {
            assert!(
                !v.contains(&issued.number) && !v.contains('@') && !v.contains("gel_") && !v.starts_with("/V/"),
                "{}: {k}={v}",
                s.metric
            );
        }
    }
}

/// With --metrics-bind, /metrics answers there and not on the public port.
#[actix_web::test]
async fn metrics_can_have_a_port_of_their_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| c.metrics_bind = Some(format!("127.0.0.1:{port}").parse().unwrap())).await else {
        return;
    };
    assert_eq!(app.get("/metrics", None).await.status(), 404);
    let r = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("ecolabel_log_size"));
}

crate::both_backends!(metrics_move_with_what_happens);

/// One address opens more stalled bodies than its cap allows — posts whose body never comes, to a route
/// that reads one (`/login`), one that takes none (`POST /register`) and one that needs a token
/// (`/api/v1/venues`). The QR page stays answered for another address throughout, the address's requests
/// beyond the cap are refused at once, and every stalled connection is answered and closed within the body
/// deadline.
#[actix_web::test]
async fn stalled_bodies_hold_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.client_requests = 20;
        c.body_timeout_seconds = 2;
    })
    .await
    else {
        return;
    };
    let issued = app.issue("Smart Plastic Zone", "Astana").await;
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut stalled = vec![];
    for i in 0..60 {
        let path = ["/login", "/register", "/api/v1/venues"][i % 3];
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: registry.test\r\nX-Forwarded-For: 203.0.113.66\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nemail=a"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        stalled.push(s);
    }
    let started = std::time::Instant::now();
    for _ in 0..10 {
        let r = app
            .client
            .get(app.url(&issued.path))
            .header("x-forwarded-for", "198.51.100.7")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "the QR page is answered while one address stalls");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    let mut answers = std::collections::BTreeMap::new();
    for mut s in stalled {
        let mut out = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out))
            .await
            .expect("every stalled connection is closed within the body deadline")
            .ok();
        let status = String::from_utf8_lossy(&out).split(' ').nth(1).unwrap_or("none").to_string();
        *answers.entry(status).or_insert(0) += 1;
    }
    assert!(answers.get("429").copied().unwrap_or(0) >= 1, "beyond the cap, refused at once: {answers:?}");
    assert!(
        answers.get("400").copied().unwrap_or(0) >= 1,
        "a body that stops coming fails at its deadline: {answers:?}"
    );
    assert!(!answers.contains_key("none"), "each got an answer before the close: {answers:?}");
}

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
    assert!(
        answers.get("405").copied().unwrap_or(0) >= 1,
        "a route that takes no body refuses one unread: {answers:?}"
    );
    assert!(!answers.contains_key("none"), "each got an answer before the close: {answers:?}");
}

/// A change sent without a session or a token, to the portal or the API, is refused as soon as its
/// headers arrive (sign in, or 401), its body never read: the body deadline is far away.
#[actix_web::test]
async fn a_change_naming_nobody_is_refused_unread() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| c.body_timeout_seconds = 60).await else {
        return;
    };
    let addr = app.address.trim_start_matches("http://").to_string();
    for (path, kind, expect) in [
        ("/app/venues", "application/x-www-form-urlencoded", "303"),
        ("/app/assessments/1/evidence", "multipart/form-data; boundary=x", "303"),
        ("/api/v1/venues", "application/json", "401"),
    ] {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!("POST {path} HTTP/1.1\r\nHost: registry.test\r\nContent-Type: {kind}\r\nContent-Length: 100000\r\n\r\nname=a");
        s.write_all(head.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut out))
            .await
            .unwrap_or_else(|_| panic!("{path}: answered and closed long before the 60 s body deadline"))
            .unwrap();
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.split(' ').nth(1), Some(expect), "{path}: {text}");
        if expect == "303" {
            assert!(text.contains(&format!("location: /login?next={}", path.replace('/', "%2F"))), "{text}");
        }
    }
    // With a token the same request is read and answered as before.
    let token = app.token(&[Role::Assessor]).await;
    let r = app.post("/api/v1/venues", Some(&token), json!({"name": "x"})).await;
    assert_eq!(r.status(), 422);
}

/// Public reads go to the read replica while it is fresh, and a suspension made here shows on the next
/// request (reads go to the primary until the replica holds it).
/// (The replica here is the primary's own database, which is not a standby and so holds everything; a
/// real standby is measured in scripts/failover_test.py.)
#[actix_web::test]
async fn public_reads_go_to_the_replica_only_while_it_is_fresh() {
    let Some(app) = spawn_app_with(Backend::Postgres, |c| c.read_database = Some(c.database.clone())).await else {
        return;
    };
    let issued = app.issue("Replica Café", "Astana").await;
    let reads = |s: &Scrape, source: &str| s.value("ecolabel_public_reads_total", &[("source", source)]);
    // Measured every 100 ms: soon the replica has caught up with the issuance and serves the register.
    let mut served = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let Some(before) = scrape(&app).await else { return };
        assert_eq!(app.get("/register?q=Replica", None).await.status(), 200);
        let after = scrape(&app).await.unwrap();
        if reads(&after, "replica") > reads(&before, "replica") {
            let lag = after.value("ecolabel_read_replica_lag_seconds", &[]);
            assert!((0.0..1.0).contains(&lag), "lag {lag}");
            served = true;
            break;
        }
    }
    assert!(served, "the register was read from the replica");
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", issued.number),
            Some(&issued.officer),
            json!({"reason": "Bins missing at the entrance"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // Which database answers depends on whether the 100 ms measurement ran in between (the rule itself is
    // unit-tested in app::replica); what a person sees does not.
    let page = app.get(&issued.path, None).await.text().await.unwrap();
    assert!(page.contains("Bins missing at the entrance"), "the suspension shows at once");
}

fn cli_with(env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn sequence(number: &str) -> u64 {
    number.rsplit('-').next().unwrap().parse().unwrap()
}

/// A backup taken while the registry issues certificates restores into a registry that serves the same
/// certificates, whose log verifies against the checkpoint a monitor saved before the backup, and that
/// goes on numbering from where the copy ends; a non-empty target and a wrong passphrase are refused.
async fn a_backup_taken_while_issuing_restores(app: TestApp) {
    app.issue("Backup hall", "Astana").await;
    let monitor = app.dir.path().join("monitor");
    let seen = ecolabel::cli::monitor::verify(&app.address, Some(&monitor), &Default::default()).await.unwrap();
    assert!(seen.problems.is_empty(), "{:?}", seen.problems);
    let pass = app.dir.path().join("passphrase");
    std::fs::write(&pass, "a long backup passphrase\n").unwrap();
    let out = app.dir.path().join("registry.backup");
    let env = vec![
        ("DATABASE_URL", app.database_url()),
        ("ECOLABEL_DATA_DIR", app.dir.path().display().to_string()),
        ("ECOLABEL_KEY_DIR", app.config.key_dir.display().to_string()),
    ];
    let (env2, out2, pass2) = (env.clone(), out.clone(), pass.clone());
    let backup = actix_web::rt::task::spawn_blocking(move || {
        cli_with(
            &env2,
            &["backup", "--out", out2.to_str().unwrap(), "--passphrase-file", pass2.to_str().unwrap()],
        )
    });
    // Issuing goes on while the backup is written.
    let mut during = 0;
    while !backup.is_finished() || during < 2 {
        app.issue(&format!("Busy hall {during}"), "Almaty").await;
        during += 1;
    }
    let done = backup.await.unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).starts_with("backup: "));

    // Refused: a target that holds something, and a wrong passphrase; neither writes anything.
    let target = tempfile::tempdir().unwrap();
    let restored_dir = target.path().join("restored");
    let (pg_url, pg_name) = match app.backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => {
            let admin = app.pg_admin_url.clone().unwrap();
            let name = format!("{}_restored", app.pg_database.clone().unwrap());
            let mut c = <diesel::pg::PgConnection as diesel::Connection>::establish(&admin).unwrap();
            diesel::RunQueryDsl::execute(diesel::sql_query(format!("CREATE DATABASE {name}")), &mut c).unwrap();
            let (prefix, _) = admin.rsplit_once('/').unwrap();
            (Some(format!("{prefix}/{name}")), Some(name))
        }
    };
    let restore_env = |dir: &std::path::Path| {
        let mut e = vec![
            ("ECOLABEL_DATA_DIR", dir.display().to_string()),
            ("ECOLABEL_KEY_DIR", dir.join("keys").display().to_string()),
        ];
        if let Some(u) = &pg_url {
            e.push(("DATABASE_URL", u.clone()));
        }
        e
    };
    let busy = cli_with(
        &restore_env(app.dir.path()),
        &["restore", out.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()],
    );
    assert!(!busy.status.success() && String::from_utf8_lossy(&busy.stderr).contains("is not empty"));
    let wrong = target.path().join("wrong");
    std::fs::write(&wrong, "not the passphrase at all\n").unwrap();
    let refused = cli_with(
        &restore_env(&restored_dir),
        &["restore", out.to_str().unwrap(), "--passphrase-file", wrong.to_str().unwrap()],
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("passphrase does not open"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!restored_dir.exists(), "nothing written");
    let ok = cli_with(
        &restore_env(&restored_dir),
        &["restore", out.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()],
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));

    // Served from the copy: every certificate as the original shows it.
    let database = match &pg_url {
        Some(u) => ecolabel::storage::DbUrl::Postgres(u.clone()),
        None => ecolabel::storage::DbUrl::Sqlite(restored_dir.join("registry.db").display().to_string()),
    };
    let cfg_db = database.clone();
    let key_dir = restored_dir.join("keys");
    let data_dir = restored_dir.clone();
    let (address, state) = app
        .replica_with_state(move |c| {
            c.database = cfg_db;
            c.key_dir = key_dir;
            c.data_dir = data_dir;
        })
        .await;
    let mut restored = TestApp {
        address: address.clone(),
        client: app.client.clone(),
        state,
        config: app.config.clone(),
        dir: tempfile::tempdir().unwrap(),
        backend: app.backend,
        pg_admin_url: app.pg_admin_url.clone(),
        pg_database: pg_name,
    };
    restored.config.database = database;
    let list = json(restored.get("/api/v1/public/certificates?limit=200", None).await).await;
    let numbers: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect();
    assert!(!numbers.is_empty() && numbers.len() <= 1 + during, "{numbers:?}");
    for n in &numbers {
        let here = public_json(&restored, n).await;
        let there = public_json(&app, n).await;
        assert_eq!((&here["status"], &here["qr_text"]), (&there["status"], &there["qr_text"]), "{n}");
    }
    // The log verifies against the checkpoint the monitor saved before the backup.
    let report = ecolabel::cli::monitor::verify(&address, Some(&monitor), &Default::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Issuing goes on from where the copy ends.
    let max = numbers.iter().map(|n| sequence(n)).max().unwrap();
    let next = restored.issue("After the restore", "Astana").await;
    assert_eq!(sequence(&next.number), max + 1, "{} after {numbers:?}", next.number);
}

crate::both_backends!(metrics_move_with_what_happens, a_backup_taken_while_issuing_restores);

/// `serve` stopped with SIGTERM: /readyz answers 503 `stopping` at once while the process still answers,
/// then the process exits 0, its log written out (one plain line per request). Started while its PostgreSQL
/// database does not exist yet, it waits, says so, and starts once the database is there.
#[actix_web::test]
async fn serve_stops_gracefully_and_waits_for_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let spawn = |db: &str, extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--drain-seconds", "2"])
            .args(extra)
            .env("DATABASE_URL", db)
            .env("ECOLABEL_DATA_DIR", dir.path())
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let ready = |wait: u64| {
        let url = format!("{base}/readyz");
        async move {
            for _ in 0..wait * 10 {
                if let Ok(r) = reqwest::get(&url).await {
                    return Some(r.status().as_u16());
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            None
        }
    };
    let child = spawn(&format!("sqlite://{}/registry.db", dir.path().display()), &[]);
    assert_eq!(ready(30).await, Some(200));
    let client = reqwest::Client::new();
    for path in ["/healthz", "/V/AAAAsecretQRtokenZZZZ"] {
        client.get(format!("{base}{path}")).header("x-request-id", "log-check-1").send().await.unwrap();
    }
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status(), 503, "readiness turns 503 first");
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(json(r).await["error"], "stopping");
    assert_eq!(
        reqwest::get(format!("{base}/healthz")).await.unwrap().status(),
        200,
        "and it still answers meanwhile"
    );
    let out = actix_web::rt::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    // Its log (stderr to a pipe: plain text lines, written out before it exits): one line per request with
    // the request's id, method and path, a QR token left out.
    let log = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("request_id=log-check-1")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("  INFO request{request_id=log-check-1 method=GET path=/healthz}: request status=200 us="),
        "{log}"
    );
    assert!(
        lines[1].contains("request{request_id=log-check-1 method=GET path=/V/…}: request status=400 us="),
        "{log}"
    );
    assert!(!log.contains("secretQRtoken") && !log.contains('\u{1b}'), "no token, no colour codes: {log}");

    // A database that is not there yet: waited for.
    let base_url = pg_base_url();
    let Ok(mut admin) = <diesel::pg::PgConnection as diesel::Connection>::establish(&base_url) else {
        assert!(!in_ci(), "CI=true but PostgreSQL is not reachable");
        eprintln!("skipped: PostgreSQL not reachable");
        return;
    };
    let name = format!("gel_test_{}", uuid::Uuid::new_v4().simple());
    let (prefix, _) = base_url.rsplit_once('/').unwrap();
    let mut child = spawn(&format!("{prefix}/{name}"), &["--database-wait-seconds", "60"]);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(child.try_wait().unwrap().is_none(), "it waits instead of exiting");
    diesel::RunQueryDsl::execute(diesel::sql_query(format!("CREATE DATABASE {name}")), &mut admin).unwrap();
    assert_eq!(ready(60).await, Some(200), "it started once the database was there");
    child.kill().unwrap();
    let out = actix_web::rt::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be reached yet; waiting"));
    diesel::RunQueryDsl::execute(diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")), &mut admin).unwrap();
}

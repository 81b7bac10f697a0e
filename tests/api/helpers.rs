// Test harness: starts the real registry on port 0 with a fresh database per test (a temporary SQLite
// file, or a new PostgreSQL database created from TEST_DATABASE_URL) and talks HTTP to it.

use actix_web::web::Data;
use diesel::Connection;
use ecolabel::config::{Config, LogFormat};
use ecolabel::domain::auth::{Caller, Role};
use ecolabel::startup::Application;
use ecolabel::storage::DbUrl;
use ecolabel::web::AppState;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: Data<AppState>,
    pub config: Config,
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    pub pg_admin_url: Option<String>,
    pub pg_database: Option<String>,
}

/// The test server's PostgreSQL; OpenSSL is set up first, as the registry does (`storage::init_openssl`).
pub fn pg_base_url() -> String {
    ecolabel::storage::init_openssl();
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false)
}

/// A fresh PostgreSQL database for one test, or None (skip) when PostgreSQL is not reachable here.
fn fresh_pg_database() -> Option<(String, String, String)> {
    let base = pg_base_url();
    let mut admin = match diesel::pg::PgConnection::establish(&base) {
        Ok(c) => c,
        Err(e) => {
            if in_ci() {
                panic!("CI=true but PostgreSQL is not reachable at {base}: {e}");
            }
            eprintln!("skipped: PostgreSQL not reachable at {base} ({e}); set TEST_DATABASE_URL to run the PostgreSQL tests");
            return None;
        }
    };
    let name = format!("gel_test_{}", uuid::Uuid::new_v4().simple());
    diesel::RunQueryDsl::execute(diesel::sql_query(format!("CREATE DATABASE {name}")), &mut admin).expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    Some((format!("{prefix}/{name}"), base, name))
}

pub fn test_config(dir: &std::path::Path, database: DbUrl) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database,
        public_url: "http://registry.test".into(),
        data_dir: dir.to_path_buf(),
        key_dir: dir.join("keys"),
        criteria_dir: std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/criteria")),
        log_format: LogFormat::Text,
        issuer_name: "Test certification body".into(),
        issuer_name_kk: Some("Сынақ сертификаттау органы".into()),
        issuer_name_ru: Some("Тестовый орган по сертификации".into()),
        issuer_address: "Astana, Kazakhstan".into(),
        signatory: "Test Signatory".into(),
        signatory_title: "Head of certification".into(),
        validity_months: 24,
        surveillance_months: 12,
        schedule: Default::default(),
        // The tests run the scheduler and deliver webhooks themselves, at the times they choose.
        jobs_interval: 0,
        webhook_interval: 0,
        smtp_url: None,
        mail_from: "Test registry <registry@example.kz>".into(),
        db_pool: 8,
        public_rate: 1000,
        public_burst: 1000,
        trusted_proxies: vec![],
        sessions: Default::default(),
        signin_rate: 1000,
        log_origin: None,
        witnesses: vec![],
        witness_quorum: 0,
        // The tests send checkpoints to witnesses themselves.
        witness_interval: 0,
        drain_seconds: 0,
        database_wait_seconds: 0,
        // The tests' webhook receivers are on loopback.
        webhook_allow_private: true,
        read_database: None,
        read_max_lag: std::time::Duration::from_secs(1),
        metrics_bind: None,
        request_metrics: true,
        body_timeout_seconds: 10,
        client_requests: 1000,
        complaints: Default::default(),
    }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    if std::env::var("TEST_LOG").is_ok() {
        ecolabel::telemetry::init(LogFormat::Text);
    }
    let dir = tempfile::tempdir().unwrap();
    let (database, pg_admin_url, pg_database) = match backend {
        Backend::Sqlite => (DbUrl::Sqlite(dir.path().join("registry.db").display().to_string()), None, None),
        Backend::Postgres => {
            let (url, admin, name) = fresh_pg_database()?;
            (DbUrl::Postgres(url), Some(admin), Some(name))
        }
    };
    let mut config = test_config(dir.path(), database);
    tweak(&mut config);
    let cfg = config.clone();
    let app = actix_web::rt::task::spawn_blocking(move || Application::build(cfg, false))
        .await
        .unwrap()
        .expect("the registry starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    actix_web::rt::spawn(app.run_until_stopped());
    Some(TestApp {
        address,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        state,
        config,
        dir,
        backend,
        pg_admin_url,
        pg_database,
    })
}

impl TestApp {
    /// Start another server over this one's database and key directory (a replica behind a load
    /// balancer, or a restart), with `tweak` applied to its configuration; its address.
    pub async fn replica(&self, tweak: impl FnOnce(&mut Config)) -> String {
        self.replica_with_state(tweak).await.0
    }

    /// A replica (as `replica`) with its shared state, to run its workers from the test.
    pub async fn replica_with_state(&self, tweak: impl FnOnce(&mut Config)) -> (String, Data<AppState>) {
        let mut cfg = self.config.clone();
        tweak(&mut cfg);
        let other = actix_web::rt::task::spawn_blocking(move || Application::build(cfg, false))
            .await
            .unwrap()
            .expect("the replica starts");
        let address = format!("http://127.0.0.1:{}", other.port());
        let state = other.state.clone();
        actix_web::rt::spawn(other.run_until_stopped());
        (address, state)
    }

    /// The database URL as the command line takes it.
    pub fn database_url(&self) -> String {
        match &self.config.database {
            DbUrl::Sqlite(p) => format!("sqlite://{p}"),
            DbUrl::Postgres(u) => u.clone(),
        }
    }

    /// Run `ecolabel <args>` against this registry's database and keys; stdout on success.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"))
            .args(args)
            .env("DATABASE_URL", self.database_url())
            .env("ECOLABEL_DATA_DIR", self.dir.path())
            .env("ECOLABEL_KEY_DIR", &self.config.key_dir)
            .env("ECOLABEL_PUBLIC_URL", &self.config.public_url)
            .env("ECOLABEL_CRITERIA_DIR", &self.config.criteria_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "ecolabel {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let (Some(admin), Some(name)) = (&self.pg_admin_url, &self.pg_database) {
            if let Ok(mut c) = diesel::pg::PgConnection::establish(admin) {
                let _ = diesel::RunQueryDsl::execute(diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")), &mut c);
            }
        }
    }
}

/// Run one test body against each backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[actix_web::test] async fn $name() { if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await { super::$name(app).await } } )*
        }
        mod postgres {
            $( #[actix_web::test] async fn $name() { if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await { super::$name(app).await } } )*
        }
    };
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let r = self.client.request(method, self.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token).json(&body).send().await.unwrap()
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::PATCH, path, token).json(&body).send().await.unwrap()
    }

    /// A user with these roles (as the CLI creates them); returns (user id, token).
    pub async fn user(&self, name: &str, roles: &[Role], venue: Option<i64>) -> (i64, String) {
        let (name, roles) = (name.to_string(), roles.to_vec());
        let created = self
            .state
            .db
            .write(move |c| ecolabel::app::users::create_with_token(c, &Caller::system("test"), &name, &roles, venue))
            .await
            .unwrap();
        (created.user.id, created.token)
    }

    pub async fn token(&self, roles: &[Role]) -> String {
        self.user(&format!("{roles:?}"), roles, None).await.1
    }

    pub async fn venue(&self, token: &str, name: &str, city: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/venues",
                Some(token),
                json!({"name": name, "address": "Main street 1", "city": city, "category": "hotel"}),
            )
            .await;
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    pub async fn upload(&self, token: &str, assessment: i64, criterion: &str, filename: &str, bytes: Vec<u8>) -> Response {
        let form = reqwest::multipart::Form::new()
            .text("criterion", criterion.to_string())
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()));
        self.request(Method::POST, &format!("/api/v1/assessments/{assessment}/evidence"), Some(token))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// A submitted assessment for a new venue, with the given measurements (Gold by default) and evidence.
    pub async fn submitted_assessment(&self, assessor: &str, measurements: Value) -> (i64, i64) {
        let venue = self.venue(assessor, &format!("Venue {}", uuid::Uuid::new_v4().simple()), "Astana").await;
        let id = self.draft_with_evidence(assessor, venue, measurements).await;
        let r = self.post(&format!("/api/v1/assessments/{id}/submit"), Some(assessor), json!({})).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        (venue, id)
    }

    pub async fn draft_with_evidence(&self, assessor: &str, venue: i64, measurements: Value) -> i64 {
        self.draft_of_kind(assessor, venue, measurements, "initial").await
    }

    /// A draft of `kind` (`initial` or `surveillance`) with the measurements and one evidence file per criterion.
    pub async fn draft_of_kind(&self, assessor: &str, venue: i64, measurements: Value, kind: &str) -> i64 {
        let r = self.post("/api/v1/assessments", Some(assessor), json!({"venue_id": venue, "kind": kind})).await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let r = self
            .patch(&format!("/api/v1/assessments/{id}"), Some(assessor), json!({ "measurements": measurements }))
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        for c in CRITERIA {
            let r = self.upload(assessor, id, c, &format!("{c}.pdf"), pdf_bytes(&format!("{c} {id}"))).await;
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        }
        id
    }
}

/// A certificate issued through the API for a new venue, with the tokens that made it.
pub struct Issued {
    pub number: String,
    pub qr_text: String,
    /// The path of the QR link (the test server is not at the public URL).
    pub path: String,
    pub officer: String,
    pub assessor: String,
    pub venue: i64,
}

pub fn qr_path(qr: &str) -> String {
    qr[qr.find("/V/").unwrap()..].to_string()
}

impl TestApp {
    pub async fn issue(&self, name: &str, city: &str) -> Issued {
        self.issue_to(json!({"name": name, "address": "Mangilik El 55", "city": city, "category": "expo_pavilion"}))
            .await
    }

    /// A certificate for a new venue with these fields (names in other languages, say).
    pub async fn issue_to(&self, venue: Value) -> Issued {
        let assessor = self.token(&[Role::Assessor]).await;
        let officer = self.token(&[Role::Officer]).await;
        let r = self.post("/api/v1/venues", Some(&assessor), venue).await;
        assert_eq!(r.status(), 201);
        let venue = json(r).await["id"].as_i64().unwrap();
        let id = self.draft_with_evidence(&assessor, venue, gold_measurements()).await;
        assert_eq!(
            self.post(&format!("/api/v1/assessments/{id}/submit"), Some(&assessor), json!({}))
                .await
                .status(),
            200
        );
        let d = json(
            self.post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), json!({"decision": "approve"}))
                .await,
        )
        .await;
        let qr_text = d["certificate"]["qr_text"].as_str().unwrap().to_string();
        Issued {
            number: d["certificate"]["number"].as_str().unwrap().into(),
            path: qr_path(&qr_text),
            qr_text,
            officer,
            assessor,
            venue,
        }
    }
}

pub const CRITERIA: [&str; 4] = ["plastic_reduction", "alternative_materials", "separate_collection", "recycling_handover"];

pub fn gold_measurements() -> Value {
    json!({
        "plastic_reduction": {"baseline_kg": 1000, "last_12_months_kg": 400},
        "alternative_materials": {"items_total": 100, "alternatives_count": 80},
        "separate_collection": {"waste_points_total": 20, "points_with_plastic_stream": 19, "contamination_pct": 5},
        "recycling_handover": {"collected_kg": 500, "handed_over_kg": 450,
            "transfer_notes": [{"recycler": "Eco Recycling LLP", "licence_no": "KZ-123", "date": "2025-11-01", "kg": 450}]}
    })
}

/// A real 1×1 PNG (the registry reads image headers).
pub fn png_bytes() -> Vec<u8> {
    hex::decode("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082")
        .expect("hex")
}

pub fn pdf_bytes(title: &str) -> Vec<u8> {
    ecolabel::cli::demo::evidence_pdf(title)
}

/// One field of every item of a list response (`{"items": [...]}`), as text.
pub fn item_field(v: &Value, field: &str) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|i| i[field].as_str().unwrap().to_string()).collect()
}

pub async fn json(r: Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
}

/// Assert the response has this status and stable error code.
pub async fn assert_error(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "expected {status} {code}");
    let v = json(r).await;
    assert_eq!(v["error"], code, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    v
}

/// A line of SQLite's `EXPLAIN QUERY PLAN`.
#[derive(diesel::QueryableByName)]
pub struct SqlitePlan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub detail: String,
}

/// A line of PostgreSQL's `EXPLAIN`.
#[derive(diesel::QueryableByName)]
pub struct PgPlan {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    pub line: String,
}

/// The public certificate answer as JSON (`/certificates/{number}`, Accept: application/json).
pub async fn public_json(app: &TestApp, number: &str) -> Value {
    let r = app
        .request(Method::GET, &format!("/certificates/{number}"), None)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    json(r).await
}

/// Run one SQL statement on the test's database, behind the registry's back (an edit, a fork).
pub async fn raw_sql(app: &TestApp, sql: impl Into<String>) {
    let sql = sql.into();
    app.state
        .db
        .write(move |c| -> ecolabel::storage::Result<_> {
            diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?;
            Ok(())
        })
        .await
        .unwrap();
}

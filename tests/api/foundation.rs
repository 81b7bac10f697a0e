// Foundation: health and readiness, token authentication and roles, JSON errors for bad requests,
// the CLI-created token working over HTTP, migrations, request ids and the OpenAPI document.

use crate::helpers::*;
use ecolabel::domain::auth::Role;
use serde_json::json;

async fn health_and_readiness(app: TestApp) {
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await["status"], "ok");
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status(), 200);
    let v = json(r).await;
    assert_eq!(v["status"], "ready");
    assert_eq!(v["database"], if app.backend == Backend::Sqlite { "sqlite" } else { "postgres" });
}

async fn readiness_fails_when_the_database_is_gone(app: TestApp) {
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    match app.backend {
        Backend::Sqlite => {
            let path = app.dir.path().join("registry.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        Backend::Postgres => {
            let mut c = <diesel::pg::PgConnection as diesel::Connection>::establish(app.pg_admin_url.as_ref().unwrap()).unwrap();
            diesel::RunQueryDsl::execute(
                diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", app.pg_database.as_ref().unwrap())),
                &mut c,
            )
            .unwrap();
        }
    }
    let r = app.get("/readyz", None).await;
    assert_error(r, 503, "database_unavailable").await;
    // Liveness is about the process, not the database.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

async fn tokens_and_roles(app: TestApp) {
    assert_error(app.get("/api/v1/me", None).await, 401, "unauthorized").await;
    assert_error(app.get("/api/v1/me", Some("gel_not-a-real-token")).await, 401, "invalid_token").await;
    let forged = ecolabel::domain::auth::new_token();
    assert_error(app.get("/api/v1/me", Some(&forged)).await, 401, "invalid_token").await;

    let admin = app.token(&[Role::Admin]).await;
    let r = app.post("/api/v1/users", Some(&admin), json!({"name": "Aliya", "roles": ["assessor"]})).await;
    assert_eq!(r.status(), 201);
    let created = json(r).await;
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 4 + 43, "256-bit token");
    let me = json(app.get("/api/v1/me", Some(&token)).await).await;
    assert_eq!(me["name"], "Aliya");
    assert_eq!(me["roles"], json!(["assessor"]));

    // Wrong role.
    assert_error(app.get("/api/v1/users", Some(&token)).await, 403, "forbidden_role").await;
    assert_error(
        app.post("/api/v1/users", Some(&token), json!({"name": "x", "roles": ["admin"]})).await,
        403,
        "forbidden_role",
    )
    .await;

    // Revoked.
    let id = created["token_id"].as_i64().unwrap();
    let r = app.post(&format!("/api/v1/tokens/{id}/revoke"), Some(&admin), json!({})).await;
    assert_eq!(r.status(), 200);
    assert_error(app.get("/api/v1/me", Some(&token)).await, 401, "invalid_token").await;
    assert_error(
        app.post(&format!("/api/v1/tokens/{id}/revoke"), Some(&admin), json!({})).await,
        409,
        "already_revoked",
    )
    .await;

    // Only the hash is stored.
    let stored: Vec<String> = app
        .state
        .db
        .read(|c| -> ecolabel::storage::Result<_> {
            use diesel::prelude::*;
            Ok(ecolabel::storage::schema::api_tokens::table
                .select(ecolabel::storage::schema::api_tokens::token_hash)
                .load(c)?)
        })
        .await
        .unwrap();
    assert!(stored.iter().all(|h| h.len() == 64 && !h.contains("gel_")));
    assert!(!stored.contains(&token));
}

async fn bad_requests_get_json_errors(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    let r = app
        .request(reqwest::Method::POST, "/api/v1/users", Some(&admin))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "malformed_json").await;
    let r = app
        .request(reqwest::Method::POST, "/api/v1/users", Some(&admin))
        .header("content-type", "application/json")
        .body("{\"name\": 5, \"roles\": []}")
        .send()
        .await
        .unwrap();
    assert_error(r, 422, "invalid_body").await;
    let big = format!("{{\"name\": \"{}\", \"roles\": [\"admin\"]}}", "x".repeat(200_000));
    let r = app
        .request(reqwest::Method::POST, "/api/v1/users", Some(&admin))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "payload_too_large").await;
    assert_error(app.get("/no/such/page", None).await, 404, "not_found").await;
    assert_error(app.get("/api/v1/venues/not-a-number", Some(&admin)).await, 404, "not_found").await;
    // Nothing was created by any of these.
    let users = json(app.get("/api/v1/users", Some(&admin)).await).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
}

async fn cli_created_token_works_over_http(app: TestApp) {
    let url = match &app.config.database {
        ecolabel::storage::DbUrl::Sqlite(p) => format!("sqlite://{p}"),
        ecolabel::storage::DbUrl::Postgres(u) => u.clone(),
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"))
        .args(["users", "create", "--role", "officer", "--name", "Serik"])
        .env("DATABASE_URL", url)
        .env("ECOLABEL_DATA_DIR", app.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let me = json(app.get("/api/v1/me", Some(&token)).await).await;
    assert_eq!(me["name"], "Serik");
    assert_eq!(me["roles"], json!(["officer"]));
}

async fn migrations_apply_twice_without_change(app: TestApp) {
    let mut conn = ecolabel::storage::connect(&app.config.database).unwrap();
    assert_eq!(ecolabel::storage::migrate(&mut conn).unwrap(), Vec::<String>::new());
    assert_eq!(ecolabel::storage::migrate(&mut conn).unwrap(), Vec::<String>::new());
}

async fn request_id_security_headers_and_openapi(app: TestApp) {
    let r = app.get("/healthz", None).await;
    assert!(r.headers().get("x-request-id").is_some_and(|v| v.len() >= 16));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let r = app
        .request(reqwest::Method::GET, "/healthz", None)
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.headers()["content-type"], "application/json");
    let spec = json(r).await;
    for path in [
        "/api/v1/assessments/{id}/decision",
        "/api/v1/certificates/{number}/suspend",
        "/.well-known/jwks.json",
        "/readyz",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} missing from OpenAPI");
    }
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    // The UI reads the document the server serves.
    let init = app.get("/docs/swagger-initializer.js", None).await.text().await.unwrap();
    assert!(init.contains("\"/openapi.json\""), "{init}");
}

async fn events_are_append_only(app: TestApp) {
    use ecolabel::storage::Error;
    let admin = app.token(&[Role::Admin]).await;
    app.post("/api/v1/users", Some(&admin), json!({"name": "A", "roles": ["assessor"]})).await;
    let count = || {
        app.state.db.read(|c| {
            use diesel::prelude::*;
            Ok::<i64, Error>(ecolabel::storage::schema::events::table.count().get_result(c)?)
        })
    };
    let before = count().await.unwrap();
    assert!(before > 0, "creating a user records an event");
    // Each change is refused by the table's trigger, with its own message, on both backends.
    let delete = app
        .state
        .db
        .write(|c| {
            use diesel::prelude::*;
            Ok::<usize, Error>(diesel::delete(ecolabel::storage::schema::events::table).execute(c)?)
        })
        .await;
    let update = app
        .state
        .db
        .write(|c| {
            use diesel::prelude::*;
            use ecolabel::storage::schema::events;
            Ok::<usize, Error>(diesel::update(events::table).set(events::action.eq("rewritten")).execute(c)?)
        })
        .await;
    for (what, r) in [("delete", delete), ("update", update)] {
        match r {
            Err(Error::Internal(message)) => assert!(message.contains("events are append-only"), "{what}: refused by something else: {message}"),
            other => panic!("{what} of events was not refused by the trigger: {other:?}"),
        }
    }
    assert_eq!(count().await.unwrap(), before, "every event is still there");
}

crate::both_backends!(
    health_and_readiness,
    readiness_fails_when_the_database_is_gone,
    tokens_and_roles,
    bad_requests_get_json_errors,
    cli_created_token_works_over_http,
    migrations_apply_twice_without_change,
    request_id_security_headers_and_openapi,
    events_are_append_only,
);

#[test]
fn invalid_configuration_stops_with_one_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"))
        .args(["serve", "--public-url", "https://x.kz/path"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--public-url") && err.contains("ECOLABEL_PUBLIC_URL"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"))
        .args(["migrate"])
        .env("DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stderr).unwrap().contains("DATABASE_URL"));
}

#[test]
fn require_key_refuses_to_start_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"))
        .args(["serve", "--require-key", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no signing key") && err.contains("keys generate"), "{err}");
    assert!(!dir.path().join("data/keys").exists() || std::fs::read_dir(dir.path().join("data/keys")).unwrap().next().is_none());
}

/// libpq is compiled in (pq-sys `bundled`), with TLS through OpenSSL: a registry whose URL says
/// `sslmode=require` starts, and PostgreSQL sees its connection encrypted.
#[actix_web::test]
async fn postgres_connections_can_require_tls() {
    use diesel::{Connection, QueryableByName, RunQueryDsl};
    use ecolabel::storage::{DbConn, DbUrl};
    let tls = diesel::pg::PgConnection::establish(&pg_base_url()).ok().map(|mut c| {
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            ssl: String,
        }
        diesel::sql_query("SHOW ssl").get_result::<Setting>(&mut c).unwrap().ssl == "on"
    });
    match tls {
        Some(true) => {}
        // Not reachable: spawn_app says it skipped (and fails in CI).
        None => {
            assert!(spawn_app(Backend::Postgres).await.is_none());
            return;
        }
        Some(false) => {
            assert!(!in_ci(), "CI=true but PostgreSQL at {} has TLS off", pg_base_url());
            eprintln!("skipped: PostgreSQL at {} has TLS off", pg_base_url());
            return;
        }
    }
    let Some(app) = spawn_app_with(Backend::Postgres, |c| {
        if let DbUrl::Postgres(url) = &mut c.database {
            url.push_str(if url.contains('?') { "&sslmode=require" } else { "?sslmode=require" });
        }
    })
    .await
    else {
        return;
    };
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    #[derive(QueryableByName)]
    struct Encrypted {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let encrypted = app
        .state
        .db
        .read(|c| -> ecolabel::storage::Result<_> {
            match c {
                DbConn::Pg(p) => Ok(diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                    .get_result::<Encrypted>(p)?
                    .ssl),
                DbConn::Sqlite(_) => unreachable!("a PostgreSQL registry"),
            }
        })
        .await
        .unwrap();
    assert!(encrypted, "the connection is not encrypted");
}

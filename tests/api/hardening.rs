// Hardening, written as the attacks: replays with a revoked token or a lost role, secrets at rest,
// a dropped connection and its retry, control and bidi characters everywhere, disguised evidence.

use crate::helpers::*;
use diesel::prelude::*;
use ecolabel::domain::auth::Role;
use ecolabel::storage::{self, idempotency};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn keyed(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, path, Some(token))
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn replayed(r: &reqwest::Response) -> bool {
    r.headers().get("idempotent-replayed").is_some()
}

async fn replays_are_authorised_like_first_requests(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    // The admin creates an assessor; the reply holds the assessor's token once.
    let r = keyed(&app, "/api/v1/users", &admin, "new-assessor", json!({"name": "Aigerim", "roles": ["assessor"]})).await;
    assert_eq!(r.status(), 201);
    let created = json(r).await;
    let (user_id, token_id, token) = (
        created["user"]["id"].as_i64().unwrap(),
        created["token_id"].as_i64().unwrap(),
        created["token"].as_str().unwrap().to_string(),
    );
    // Its replay does not hand the token over again.
    let r = keyed(&app, "/api/v1/users", &admin, "new-assessor", json!({"name": "Aigerim", "roles": ["assessor"]})).await;
    assert!(replayed(&r));
    let body = assert_error(r, 409, "secret_shown_once").await;
    assert!(!body.to_string().contains(&token), "the replay must not contain the token");
    assert!(body["message"].as_str().unwrap().contains(&format!("token {token_id}")));
    // Another token for that user, likewise.
    let path = format!("/api/v1/users/{user_id}/tokens");
    let second = json(keyed(&app, &path, &admin, "second-token", json!({})).await).await;
    let second = second["token"].as_str().unwrap().to_string();
    let r = keyed(&app, &path, &admin, "second-token", json!({})).await;
    assert!(!r.text().await.unwrap().contains(&second));

    // The assessor creates a venue with a key; the replay works while the token is valid...
    let venue = json!({"name": "Replay hall", "address": "Street 1", "city": "Astana"});
    let first = keyed(&app, "/api/v1/venues", &token, "venue-1", venue.clone()).await;
    assert_eq!(first.status(), 201);
    let again = keyed(&app, "/api/v1/venues", &token, "venue-1", venue.clone()).await;
    assert_eq!(again.status(), 201);
    assert!(replayed(&again));
    // ...and not once it is revoked: the replay is refused like any request with that token.
    let r = app.post(&format!("/api/v1/tokens/{token_id}/revoke"), Some(&admin), json!({})).await;
    assert_eq!(r.status(), 200);
    let r = keyed(&app, "/api/v1/venues", &token, "venue-1", venue.clone()).await;
    assert!(!replayed(&r));
    assert_error(r, 401, "invalid_token").await;

    // A caller who lost the role the request was made with gets no replay either.
    let (uid, other) = app.user("Bolat", &[Role::Assessor], None).await;
    let venue = json!({"name": "Role hall", "address": "Street 2", "city": "Astana"});
    assert_eq!(keyed(&app, "/api/v1/venues", &other, "venue-2", venue.clone()).await.status(), 201);
    app.state
        .db
        .write(move |c| -> ecolabel::storage::Result<_> {
            diesel::update(storage::schema::users::table.find(uid))
                .set(storage::schema::users::roles.eq("officer"))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let r = keyed(&app, "/api/v1/venues", &other, "venue-2", venue).await;
    assert!(!replayed(&r));
    assert_error(r, 403, "forbidden_role").await;
}

/// Every byte the database holds, as text: the SQLite files themselves, or PostgreSQL's rows as JSON.
async fn database_text(app: &TestApp) -> String {
    match app.backend {
        Backend::Sqlite => {
            let path = app.dir.path().join("registry.db");
            ["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::read(format!("{}{s}", path.display())).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect()
        }
        Backend::Postgres => {
            let url = match app.state.db.url() {
                storage::DbUrl::Postgres(u) => u.clone(),
                _ => unreachable!(),
            };
            let mut c = diesel::pg::PgConnection::establish(&url).unwrap();
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text)]
                t: String,
            }
            let tables: Vec<Row> = diesel::sql_query("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")
                .load(&mut c)
                .unwrap();
            let mut out = String::new();
            for table in tables {
                let rows: Vec<Row> = diesel::sql_query(format!("SELECT row_to_json(x)::text AS t FROM {} x", table.t))
                    .load(&mut c)
                    .unwrap();
                for r in rows {
                    out.push_str(&r.t);
                }
            }
            // bytea columns show as hex in JSON: decode the idempotent replies too.
            let bodies: Vec<Vec<u8>> = storage::schema::idempotency_keys::table
                .select(storage::schema::idempotency_keys::body)
                .load(&mut c)
                .unwrap();
            for b in bodies {
                out.push_str(&String::from_utf8_lossy(&b));
            }
            out
        }
    }
}

async fn no_secret_is_at_rest(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    let r = keyed(&app, "/api/v1/users", &admin, "k1", json!({"name": "Dana", "roles": ["officer"]})).await;
    let created = json(r).await;
    let first = created["token"].as_str().unwrap().to_string();
    let id = created["user"]["id"].as_i64().unwrap();
    let r = keyed(&app, &format!("/api/v1/users/{id}/tokens"), &admin, "k2", json!({})).await;
    let second = json(r).await["token"].as_str().unwrap().to_string();
    // Make sure the replies were stored (their replays answer), then look everywhere.
    assert_eq!(
        keyed(&app, "/api/v1/users", &admin, "k1", json!({"name": "Dana", "roles": ["officer"]}))
            .await
            .status(),
        409
    );
    if app.backend == Backend::Sqlite {
        // Fold the WAL into the file so that nothing hides in either.
        app.state
            .db
            .write(|c| -> ecolabel::storage::Result<_> {
                diesel::connection::SimpleConnection::batch_execute(c, "PRAGMA wal_checkpoint(FULL)").map_err(|e| storage::Error::Internal(e.to_string()))
            })
            .await
            .ok();
    }
    let text = database_text(&app).await;
    assert!(text.len() > 1000, "the database was read");
    for secret in [&first, &second, &admin] {
        assert!(!text.contains(secret.as_str()), "a bearer token is stored in the database");
        // Nor its random part on its own.
        assert!(!text.contains(&secret["gel_".len()..]), "a token's random part is stored");
    }
}

async fn stored_replies_expire_after_a_day(app: TestApp) {
    let now = storage::now();
    let old = now - chrono::TimeDelta::hours(25);
    let begin = |at| {
        let db = app.state.db.clone();
        async move { db.write(move |c| idempotency::begin(c, "h", "k", "r1", "assessor", at)).await.unwrap() }
    };
    assert!(matches!(begin(old).await, idempotency::Begin::Started));
    app.state
        .db
        .write(|c| idempotency::finish(c, "h", "k", 201, "application/json", b"{}"))
        .await
        .unwrap();
    // A day later the key binds nothing: the job removes the reply, and a new request may use the key.
    // (The housekeeping task of `serve` may have run first: either way the reply is gone.)
    app.state.db.write(move |c| idempotency::purge_expired(c, now)).await.unwrap();
    let left: i64 = app
        .state
        .db
        .read(|c| Ok::<_, storage::Error>(storage::schema::idempotency_keys::table.count().get_result(c)?))
        .await
        .unwrap();
    assert_eq!(left, 0, "the expired reply was removed");
    assert!(matches!(begin(old).await, idempotency::Begin::Started));
    app.state
        .db
        .write(|c| idempotency::finish(c, "h", "k", 201, "application/json", b"{}"))
        .await
        .unwrap();
    assert!(matches!(begin(now).await, idempotency::Begin::Started), "an expired reply is not replayed");
    // An unfinished claim older than its lease (the server died mid-request) is taken over once.
    let stale = now - idempotency::LEASE - chrono::TimeDelta::seconds(1);
    let db = app.state.db.clone();
    let b = db.write(move |c| idempotency::begin(c, "h", "k2", "r", "assessor", stale)).await.unwrap();
    assert!(matches!(b, idempotency::Begin::Started));
    let b = db.write(move |c| idempotency::begin(c, "h", "k2", "r", "assessor", now)).await.unwrap();
    assert!(matches!(b, idempotency::Begin::Started), "a stale claim is taken over");
    let b = db.write(move |c| idempotency::begin(c, "h", "k2", "r", "assessor", now)).await.unwrap();
    assert!(matches!(b, idempotency::Begin::Existing(s) if s.status == 0), "a live claim is not");
}

/// Send a request on a raw socket and reset the connection at once (RST, not FIN).
async fn send_and_reset(app: &TestApp, request: String) {
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut s, request.as_bytes()).await.unwrap();
    s.set_zero_linger().unwrap();
    drop(s);
}

async fn a_dropped_request_can_be_retried(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    for i in 0..10 {
        let name = format!("Dropped hall {i}");
        let body = json!({"name": name, "address": "Street 3", "city": "Astana"}).to_string();
        let key = format!("drop-{i}");
        let raw = format!(
            "POST /api/v1/venues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {assessor}\r\nIdempotency-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        send_and_reset(&app, raw).await;
        // The retry the key exists for: it gets the stored reply or runs the operation, never a stuck key.
        let (mut status, mut last) = (0, String::new());
        for _ in 0..100 {
            let r = app
                .request(Method::POST, "/api/v1/venues", Some(&assessor))
                .header("Idempotency-Key", &key)
                .header("Content-Type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            status = r.status().as_u16();
            last = r.text().await.unwrap();
            if status != 409 {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(status, 201, "retry {i} after a reset connection: {last}");
        let list = json(app.get(&format!("/api/v1/venues?q={}", name.replace(' ', "%20")), Some(&assessor)).await).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "venue {i} exists exactly once");
    }
}

/// An evidence upload with a description.
async fn described_upload(app: &TestApp, token: &str, assessment: i64, description: &str, pdf_title: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("criterion", "plastic_reduction")
        .text("description", description.to_string())
        .part("file", reqwest::multipart::Part::bytes(pdf_bytes(pdf_title)).file_name("a.pdf"));
    app.request(Method::POST, &format!("/api/v1/assessments/{assessment}/evidence"), Some(token))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn control_and_bidi_characters_are_refused_everywhere(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    let issued = app.issue("Ақ Орда Hall", "Astana").await;
    let assessor = issued.assessor.clone();
    let count = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            db.read(|c| -> ecolabel::storage::Result<_> {
                let v: i64 = storage::schema::venues::table.count().get_result(c)?;
                let u: i64 = storage::schema::users::table.count().get_result(c)?;
                let e: i64 = storage::schema::events::table.count().get_result(c)?;
                Ok((v, u, e))
            })
            .await
            .unwrap()
        }
    };
    let a = json(app.post("/api/v1/assessments", Some(&assessor), json!({"venue_id": issued.venue})).await).await;
    let aid = a["id"].as_i64().unwrap();
    let before = count(&app).await;
    let venue = |field: &str, value: &str| {
        let mut v = json!({"name": "Hall", "address": "Street 4", "city": "Astana"});
        v[field] = json!(value);
        v
    };
    // JSON bodies: NUL and other C0 controls anywhere, bidi overrides in names.
    for (field, value) in [
        ("name", "a\u{0}b"),
        ("address", "x\u{1b}[31m"),
        ("city", "Astana\u{0}"),
        ("contact_name", "\u{7}"),
        ("name", "Evil\u{202E}lah"),
        ("name_kk", "\u{2066}Ақ"),
        ("city", "As\u{202D}tana"),
    ] {
        let r = app.post("/api/v1/venues", Some(&assessor), venue(field, value)).await;
        let v = assert_error(r, 422, "invalid_characters").await;
        assert_eq!(v["fields"][0]["field"], field, "{v}");
    }
    let r = app
        .post("/api/v1/users", Some(&admin), json!({"name": "Nul\u{0}l", "roles": ["assessor"]}))
        .await;
    assert_eq!(assert_error(r, 422, "invalid_characters").await["fields"][0]["field"], "name");
    let r = app
        .post("/api/v1/users", Some(&admin), json!({"name": "\u{202E}nimda", "roles": ["assessor"]}))
        .await;
    assert_error(r, 422, "invalid_characters").await;
    let path = format!("/api/v1/certificates/{}/suspend", issued.number);
    let r = app.post(&path, Some(&issued.officer), json!({"reason": "bad\u{0}reason"})).await;
    assert_eq!(assert_error(r, 422, "invalid_characters").await["fields"][0]["field"], "reason");
    // Multipart fields and file names.
    let r = described_upload(&app, &assessor, aid, "scan\u{0}", "x").await;
    assert_eq!(assert_error(r, 422, "invalid_characters").await["fields"][0]["field"], "description");
    let r = app.upload(&assessor, aid, "plastic_reduction", "invoice\u{202E}fdp.exe", pdf_bytes("y")).await;
    assert_eq!(assert_error(r, 422, "invalid_characters").await["fields"][0]["field"], "file");
    // Query parameters, public and signed in: 400, never a 5xx.
    for (path, field) in [
        ("/register?q=%00", "q"),
        ("/api/v1/public/certificates?q=a%00b", "q"),
        ("/api/v1/public/certificates.csv?city=%00", "city"),
        ("/api/v1/public/certificates?lang=%1b", "lang"),
        ("/api/v1/venues?q=%00", "q"),
        ("/api/v1/assessments?status=%00", "status"),
    ] {
        let r = app.get(path, Some(&assessor)).await;
        let v = assert_error(r, 400, "invalid_characters").await;
        assert_eq!(v["fields"][0]["field"], field, "{path}");
    }
    assert_eq!(before, count(&app).await, "nothing was created or recorded");
    // Free text keeps tabs and newlines.
    let r = described_upload(&app, &assessor, aid, "page 1\n\tpage 2", "z").await;
    assert_eq!(r.status(), 201, "tab and newline are fine in free text");
    // The register still answers.
    assert_eq!(app.get("/register?q=%D0%90%D2%9B", None).await.status(), 200);
}

async fn evidence_is_judged_by_parsing_it(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let venue = app.venue(&assessor, "Parse hall", "Astana").await;
    let a = json(app.post("/api/v1/assessments", Some(&assessor), json!({"venue_id": venue})).await).await;
    let aid = a["id"].as_i64().unwrap();
    let html = b"%PDF-1.7\n<html><script>alert(1)</script></html>".to_vec();
    let r = app.upload(&assessor, aid, "plastic_reduction", "scan.pdf", html).await;
    assert_error(r, 415, "unsupported_media_type").await;
    let fake_png = [&png_bytes()[..8], b"<svg onload=alert(1)>"].concat();
    let r = app.upload(&assessor, aid, "separate_collection", "photo.png", fake_png).await;
    assert_error(r, 415, "unsupported_media_type").await;
    let fake_jpeg = [&[0xFFu8, 0xD8, 0xFF, 0xE0][..], b"not a jpeg"].concat();
    let r = app.upload(&assessor, aid, "separate_collection", "photo.jpg", fake_jpeg).await;
    assert_error(r, 415, "unsupported_media_type").await;
    let r = app.upload(&assessor, aid, "separate_collection", "photo.png", png_bytes()).await;
    assert_eq!(r.status(), 201);
    let r = app.upload(&assessor, aid, "plastic_reduction", "scan.pdf", pdf_bytes("ok")).await;
    assert_eq!(json(r).await["media_type"], "application/pdf");
}

async fn methods_and_timestamps_follow_the_document(app: TestApp) {
    let r = app.request(Method::from_bytes(b"TRACE").unwrap(), "/healthz", None).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET");
    assert_error(r, 405, "method_not_allowed").await;
    let admin = app.token(&[Role::Admin]).await;
    let r = app.request(Method::DELETE, "/api/v1/venues", Some(&admin)).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET, POST");
    assert_error(r, 405, "method_not_allowed").await;
    assert_error(app.get("/no/such/page", None).await, 404, "not_found").await;
    // Timestamps are RFC 3339 in UTC with `Z`.
    let v = json(
        app.post(
            "/api/v1/venues",
            Some(&admin),
            json!({"name": "Clock hall", "address": "Street 5", "city": "Astana"}),
        )
        .await,
    )
    .await;
    let created = v["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z'), "{created}");
    assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok());
    // The document names the statuses the machinery can return.
    let doc = json(app.get("/openapi.json", None).await).await;
    let venues = &doc["paths"]["/api/v1/venues"]["post"]["responses"];
    for status in ["201", "400", "401", "403", "409", "413", "415", "422", "503"] {
        assert!(venues.get(status).is_some(), "POST /api/v1/venues documents {status}");
    }
    let params = doc["paths"]["/api/v1/venues"]["post"]["parameters"].as_array().unwrap();
    assert!(params.iter().any(|p| p["name"] == "Idempotency-Key"));
}

crate::both_backends!(
    replays_are_authorised_like_first_requests,
    no_secret_is_at_rest,
    stored_replies_expire_after_a_day,
    a_dropped_request_can_be_retried,
    control_and_bidi_characters_are_refused_everywhere,
    evidence_is_judged_by_parsing_it,
    methods_and_timestamps_follow_the_document,
);

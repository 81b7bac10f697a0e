// The public log: every issuance and status change is an entry in the same transaction, checkpoints are
// signed, tiles, bundles and proofs verify, and the monitor catches a quiet edit and a fork.

use crate::helpers::*;
use ecolabel::domain::log::{self as tlog, Entry, ProofBundle, TILE_WIDTH};
use ecolabel::storage;
use serde_json::json;

async fn bytes(app: &TestApp, path: &str) -> (u16, Option<String>, Vec<u8>) {
    let r = app.get(path, None).await;
    let status = r.status().as_u16();
    let cache = r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
    (status, cache, r.bytes().await.unwrap().to_vec())
}

async fn checkpoint(app: &TestApp) -> tlog::Checkpoint {
    let vkey = app.get("/log/vkey", None).await.text().await.unwrap();
    let (status, _, note) = bytes(app, "/log/checkpoint").await;
    assert_eq!(status, 200);
    tlog::open_checkpoint(&note, vkey.trim()).expect("the checkpoint verifies with the published key")
}

async fn entries(app: &TestApp, size: u64) -> Vec<Entry> {
    let mut out = Vec::new();
    for tile in 0..size.div_ceil(TILE_WIDTH) {
        let width = (size - tile * TILE_WIDTH).min(TILE_WIDTH);
        let (status, _, bundle) = bytes(app, &format!("/log/{}", tlog::tile_path(None, tile, width))).await;
        assert_eq!(status, 200);
        for e in tlog::split_bundle(&bundle).unwrap() {
            out.push(Entry::parse(&e).unwrap());
        }
    }
    out
}

async fn every_change_is_an_entry_with_proofs(app: TestApp) {
    let empty = checkpoint(&app).await;
    assert_eq!(empty.size(), 0, "a new registry publishes the empty tree");
    let issued = app.issue("Smart Plastic Zone", "Astana").await;
    let cert = format!("/api/v1/certificates/{}", issued.number);
    for (action, body) in [
        ("suspend", json!({"reason": "audit pending"})),
        ("reinstate", json!({})),
        ("withdraw", json!({"reason": "closed"})),
    ] {
        let r = app.post(&format!("{cert}/{action}"), Some(&issued.officer), body).await;
        assert_eq!(r.status(), 200);
    }
    let cp = checkpoint(&app).await;
    assert_eq!(cp.size(), 4, "a checkpoint is published with each change");
    let log = entries(&app, 4).await;
    let kinds: Vec<(&str, &str)> = log.iter().map(|e| (e.kind.as_str(), e.status.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("issued", "valid"),
            ("suspended", "suspended"),
            ("reinstated", "valid"),
            ("withdrawn", "withdrawn")
        ]
    );
    assert!(log.iter().all(|e| e.number == issued.number && e.venue == "Smart Plastic Zone"));
    assert_eq!(log[1].reason.as_deref(), Some("audit pending"));
    assert!(log[0].at.ends_with('Z'));

    // The certificate's JSON proves its latest entry against the signed checkpoint.
    let page = json(
        app.request(reqwest::Method::GET, &format!("/certificates/{}", issued.number), None)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["log"]["index"], 3);
    let bundle: ProofBundle = serde_json::from_value(page["log"].clone()).unwrap();
    let vkey = app.get("/log/vkey", None).await.text().await.unwrap();
    let (entry, _) = tlog::check_bundle(&bundle, vkey.trim()).expect("the inclusion proof verifies");
    assert_eq!(entry.status, "withdrawn");
    let mut forged = bundle.clone();
    forged.entry = forged.entry.replace("withdrawn", "valid");
    assert!(tlog::check_bundle(&forged, vkey.trim()).is_err(), "an altered entry is not in the tree");
    let html = app.get(&format!("/certificates/{}?lang=en", issued.number), None).await.text().await.unwrap();
    assert!(
        html.contains("Recorded in the public log, entry 3"),
        "the public page says where it is recorded"
    );
    // It opens a page a person can read: the entry, its checkpoint, the changes and how to check them; the
    // binary entry bundle is linked from there for programs.
    assert!(html.contains(&format!("href=\"/certificates/{}/log?lang=en\"", issued.number)), "{html}");
    let r = app
        .client
        .get(app.url(&format!("/certificates/{}/log?lang=en", issued.number)))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = r.text().await.unwrap();
    for needle in [
        "Latest entry",
        "<dd>3</dd>",
        "Check it yourself",
        "ecolabel log verify",
        ".tlog-proof",
        "href=\"/log/tile/entries/000.p/4\"",
    ] {
        assert!(page.contains(needle), "{needle}: {page}");
    }
    let missing = app
        .client
        .get(app.url("/certificates/GEL-2020-999999/log"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("<html"), "a page, not JSON");

    // Consistency from every older size to the latest.
    let root_at = |n: u64| {
        let mut m = tlog::MemoryHashes::default();
        for (i, e) in log.iter().take(n as usize).enumerate() {
            m.append(i as u64, tlog::leaf_hash(&e.to_jcs())).unwrap();
        }
        tlog_tiles::tree_hash(n, &m).unwrap()
    };
    assert_eq!(root_at(4), *cp.hash(), "the entries hash to the checkpoint's root");
    for from in 1..=4u64 {
        let p = json(app.get(&format!("/log/proof/consistency?from={from}&to=4"), None).await).await;
        let proof = tlog::decode_hashes(&serde_json::from_value::<Vec<String>>(p["proof"].clone()).unwrap()).unwrap();
        tlog_tiles::check_tree(&proof, 4, *cp.hash(), from, root_at(from)).expect("consistency proof verifies");
    }
    assert_error(app.get("/log/proof/consistency?from=3&to=9", None).await, 422, "invalid_range").await;
    // Tiles: the level-0 tile holds the leaf hashes; what the tree does not hold is 404.
    let (status, cache, tile) = bytes(&app, "/log/tile/0/000.p/4").await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("public, max-age=60"));
    assert_eq!(tile, log.iter().flat_map(|e| tlog::leaf_hash(&e.to_jcs()).0).collect::<Vec<u8>>());
    for missing in [
        "/log/tile/0/000",
        "/log/tile/0/000.p/5",
        "/log/tile/1/000.p/1",
        "/log/tile/entries/001",
        "/log/tile/0/0",
    ] {
        assert_eq!(bytes(&app, missing).await.0, 404, "{missing}");
    }
}

async fn full_tiles_are_immutable(app: TestApp) {
    let issued = app.issue("Tile hall", "Almaty").await;
    let cert = format!("/api/v1/certificates/{}", issued.number);
    // 1 issuance + 255 changes = one full tile of 256 entries.
    for i in 0..255 {
        let (action, body) = if i % 2 == 0 {
            ("suspend", json!({"reason": format!("check {i}")}))
        } else {
            ("reinstate", json!({}))
        };
        assert_eq!(app.post(&format!("{cert}/{action}"), Some(&issued.officer), body).await.status(), 200);
    }
    assert_eq!(checkpoint(&app).await.size(), 256);
    let (status, cache, tile) = bytes(&app, "/log/tile/0/000").await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("public, max-age=31536000, immutable"));
    assert_eq!(tile.len(), 256 * 32);
    let (_, cache, bundle) = bytes(&app, "/log/tile/entries/000").await;
    assert_eq!(cache.as_deref(), Some("public, max-age=31536000, immutable"));
    assert_eq!(tlog::split_bundle(&bundle).unwrap().len(), 256);
    let (status, _, top) = bytes(&app, "/log/tile/1/000.p/1").await;
    assert_eq!(status, 200, "the level-1 tile holds the root of the full level-0 tile");
    assert_eq!(top, tlog::Tile::subtree_hash(&tile).0.to_vec());
    // The monitor agrees with all of it.
    let report = ecolabel::cli::monitor::verify(&app.address, None, &Default::default()).await.unwrap();
    assert_eq!(report.size, 256);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn the_monitor_catches_a_quiet_edit_and_a_fork(app: TestApp) {
    let a = app.issue("Quiet edit hall", "Astana").await;
    let b = app.issue("Honest hall", "Almaty").await;
    assert_eq!(
        app.post(&format!("/api/v1/certificates/{}/suspend", b.number), Some(&b.officer), json!({"reason": "r"}))
            .await
            .status(),
        200
    );
    let state = app.dir.path().join("monitor");
    let report = ecolabel::cli::monitor::verify(&app.address, Some(&state), &Default::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.size, report.certificates), (3, 2));
    assert!(state.join("checkpoint").exists() && state.join("vkey").exists());

    // Someone withdraws a certificate in the database, behind the registry's back.
    raw_sql(&app, "UPDATE certificates SET status = 'withdrawn' WHERE venue_name = 'Quiet edit hall'").await;
    let report = ecolabel::cli::monitor::verify(&app.address, Some(&state), &Default::default()).await.unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].contains(&a.number) && report.problems[0].contains("withdrawn") && report.problems[0].contains("valid"),
        "{}",
        report.problems[0]
    );
    raw_sql(&app, "UPDATE certificates SET status = 'valid' WHERE venue_name = 'Quiet edit hall'").await;

    // A checkpoint the monitor saw before that this tree does not extend: a fork.
    let forged = app.state.log_key.sign_checkpoint(2, tlog::Hash([7; 32])).unwrap();
    std::fs::write(state.join("checkpoint"), forged).unwrap();
    let report = ecolabel::cli::monitor::verify(&app.address, Some(&state), &Default::default()).await.unwrap();
    assert!(report.problems.iter().any(|p| p.contains("forked")), "{:?}", report.problems);
    // One from a larger tree: rolled back.
    let forged = app.state.log_key.sign_checkpoint(9, tlog::Hash([7; 32])).unwrap();
    std::fs::write(state.join("checkpoint"), forged).unwrap();
    let report = ecolabel::cli::monitor::verify(&app.address, Some(&state), &Default::default()).await.unwrap();
    assert!(report.problems.iter().any(|p| p.contains("shrank")), "{:?}", report.problems);
    // A different log key is refused outright.
    std::fs::write(state.join("vkey"), "someone+00000000+AQ==\n").unwrap();
    assert!(ecolabel::cli::monitor::verify(&app.address, Some(&state), &Default::default())
        .await
        .unwrap_err()
        .contains("key changed"));
}

async fn existing_certificates_are_backfilled(app: TestApp) {
    let issued = app.issue("Before the log", "Astana").await;
    assert_eq!(
        app.post(
            &format!("/api/v1/certificates/{}/suspend", issued.number),
            Some(&issued.officer),
            json!({"reason": "old"})
        )
        .await
        .status(),
        200
    );
    // As if the certificate was issued before the log existed: empty the log (the triggers must be lifted).
    match app.backend {
        Backend::Sqlite => {
            for t in ["log_entries", "log_checkpoints"] {
                let sql: &'static str = Box::leak(format!("DROP TRIGGER {t}_no_delete").into_boxed_str());
                raw_sql(&app, sql).await;
            }
        }
        Backend::Postgres => {
            for t in ["log_entries", "log_checkpoints"] {
                let sql: &'static str = Box::leak(format!("ALTER TABLE {t} DISABLE TRIGGER USER").into_boxed_str());
                raw_sql(&app, sql).await;
            }
        }
    }
    for sql in ["DELETE FROM log_entries", "DELETE FROM log_checkpoints", "UPDATE log_head SET size = 0"] {
        raw_sql(&app, sql).await;
    }
    let key = app.state.log_key.clone();
    let n = app.state.db.write(move |c| storage::log::backfill(c, &key)).await.unwrap();
    assert_eq!(n, 1);
    let log = entries(&app, checkpoint(&app).await.size()).await;
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["issued", "suspended"], "the issuance, then the current status");
    assert_eq!(log[1].reason.as_deref(), Some("old"));
    let key = app.state.log_key.clone();
    assert_eq!(app.state.db.write(move |c| storage::log::backfill(c, &key)).await.unwrap(), 0, "only once");
    let report = ecolabel::cli::monitor::verify(&app.address, None, &Default::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn two_replicas_append_without_racing(app: TestApp) {
    // A second replica over the same database and key directory, as behind a load balancer.
    let other_address = app.replica(|_| {}).await;
    let assessor = app.token(&[ecolabel::domain::auth::Role::Assessor]).await;
    let officer = app.token(&[ecolabel::domain::auth::Role::Officer]).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(app.submitted_assessment(&assessor, gold_measurements()).await.1);
    }
    let approvals = ids.iter().enumerate().map(|(i, id)| {
        let base = if i % 2 == 0 { app.address.clone() } else { other_address.clone() };
        let (client, officer) = (app.client.clone(), officer.clone());
        async move {
            client
                .post(format!("{base}/api/v1/assessments/{id}/decision"))
                .bearer_auth(officer)
                .json(&json!({"decision": "approve"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(approvals).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let cp = checkpoint(&app).await;
    assert_eq!(cp.size(), 12, "one entry per approval, whichever replica made it");
    let log = entries(&app, 12).await;
    assert!(log.iter().enumerate().all(|(i, e)| e.seq == i as u64));
    let report = ecolabel::cli::monitor::verify(&other_address, None, &Default::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// Replicas are the PostgreSQL deployment (SQLite is one process, whose writers queue on a lock in it).
#[actix_web::test]
async fn two_postgres_replicas_append_without_racing() {
    if let Some(app) = spawn_app(Backend::Postgres).await {
        two_replicas_append_without_racing(app).await
    }
}

crate::both_backends!(
    every_change_is_an_entry_with_proofs,
    full_tiles_are_immutable,
    the_monitor_catches_a_quiet_edit_and_a_fork,
    existing_certificates_are_backfilled,
);

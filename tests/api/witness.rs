// The witnessed log: two witnesses of our own cosign on loopback, /log/checkpoint serves the cosigned
// checkpoint, a fork is refused by both and named, a restarted witness keeps its size, the log keeps its
// origin when the public URL changes, the sender keeps to its rate, and a .tlog-proof verifies offline.

use crate::helpers::*;
use actix_web::web::Data;
use ecolabel::domain::log::{self as tlog, LogKey};
use ecolabel::domain::witness::{check_cosigned, AddCheckpoint, TlogProof};
use ecolabel::web::AppState;
use ecolabel::witness::{build, WitnessConfig};
use serde_json::json;

struct Witness {
    url: String,
    vkey: String,
    handle: actix_web::dev::ServerHandle,
    config: (String, std::path::PathBuf, Vec<String>, std::path::PathBuf),
}

/// A witness of our own on loopback, following the logs given; its key and state under `dir`.
fn start_witness(name: &str, dir: &std::path::Path, logs: Vec<String>) -> Witness {
    let key_dir = dir.join(name.replace('/', "_"));
    let state = key_dir.join("witness.db");
    let running = build(WitnessConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        name: name.into(),
        key_dir: key_dir.clone(),
        logs: logs.clone(),
        state: state.clone(),
    })
    .expect("the witness starts");
    let handle = running.server.handle();
    actix_web::rt::spawn(running.server);
    Witness {
        url: format!("http://127.0.0.1:{}", running.port),
        vkey: running.vkey,
        handle,
        config: (name.into(), key_dir, logs, state),
    }
}

async fn text(url: &str) -> (u16, String, String) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

async fn add_checkpoint(url: &str, body: Vec<u8>) -> (u16, String, String) {
    let r = reqwest::Client::new().post(format!("{url}/add-checkpoint")).body(body).send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

/// The registry with two witnesses of its own (quorum 2): a replica over the same database and keys,
/// configured with them; its address and state.
async fn witnessed(app: &TestApp) -> (String, Data<AppState>, Witness, Witness) {
    let log_vkey = app.state.log_key.vkey();
    let w1 = start_witness("witness.test/w1", app.dir.path(), vec![log_vkey.clone()]);
    let w2 = start_witness("witness.test/w2", app.dir.path(), vec![log_vkey]);
    let targets = [&w1, &w2].map(|w| ecolabel::config::WitnessTarget::parse(&format!("{} {}", w.vkey, w.url)).unwrap());
    let (address, state) = app
        .replica_with_state(|c| {
            c.witnesses = targets.to_vec();
            c.witness_quorum = 2;
        })
        .await;
    (address, state, w1, w2)
}

async fn pass(state: &AppState, every: u32) -> ecolabel::workers::witnesses::Report {
    ecolabel::workers::witnesses::pass(state, &ecolabel::workers::witnesses::client(), every)
        .await
        .unwrap()
}

async fn change(app: &TestApp, issued: &Issued, action: &str) {
    let body = if action == "suspend" {
        json!({"reason": "surveillance visit"})
    } else {
        json!({})
    };
    let r = app
        .post(&format!("/api/v1/certificates/{}/{action}", issued.number), Some(&issued.officer), body)
        .await;
    assert_eq!(r.status(), 200);
}

async fn two_witnesses_cosign_and_the_proof_verifies_offline(app: TestApp) {
    let (address, state, w1, w2) = witnessed(&app).await;
    let vkeys = vec![w1.vkey.clone(), w2.vkey.clone()];
    let log_vkey = app.state.log_key.vkey();
    let issued = app.issue("Smart Plastic Zone", "Astana").await;
    change(&app, &issued, "suspend").await;

    // Before any witness cosigned, the log's own newest checkpoint is served; the monitor with a quorum
    // of two fails, naming both witnesses.
    let policy = ecolabel::cli::monitor::Policy {
        witnesses: vkeys.clone(),
        quorum: 2,
    };
    let report = ecolabel::cli::monitor::verify(&address, None, &policy).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("0 of the 2 cosignatures") && p.contains("witness.test/w1") && p.contains("witness.test/w2")),
        "{:?}",
        report.problems
    );

    let r = pass(&state, 60).await;
    assert_eq!((r.sent, r.cosigned, r.refused.len(), r.failed), (2, 2, 0, 0), "{r:?}");
    let (status, _, served) = text(&format!("{address}/log/checkpoint")).await;
    assert_eq!(status, 200);
    let c = check_cosigned(served.as_bytes(), &log_vkey, &vkeys).unwrap();
    assert_eq!((c.checkpoint.size(), c.by.len()), (2, 2), "the cosigned checkpoint of both entries, by both");
    assert!(
        served.lines().nth(4).unwrap().starts_with("— registry.test/log "),
        "the log's own signature line comes first:\n{served}"
    );
    assert_eq!(served.matches('—').count(), 3);
    let (_, _, latest) = text(&format!("{address}/log/checkpoint.latest")).await;
    assert_eq!(latest.matches('—').count(), 1, "the latest checkpoint is signed by the log alone");
    let report = ecolabel::cli::monitor::verify(&address, None, &policy).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let (_, _, listed) = text(&format!("{address}/log/witnesses")).await;
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["quorum"], 2);
    assert_eq!(listed["witnesses"][0]["cosigned"]["size"], 2);

    // The proof bundle: C2SP tlog-proof, checked with only the keys, on the command line and here.
    let r = app.client.get(format!("{address}/certificates/{}/proof", issued.number)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-tlog-proof");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("{}.tlog-proof", issued.number)));
    let bundle = r.text().await.unwrap();
    let proof = TlogProof::parse(&bundle).unwrap();
    let (entry, c) = proof.check(&log_vkey, &vkeys, 2).unwrap();
    assert_eq!(
        (entry.number.as_str(), entry.status.as_str(), c.by.len()),
        (issued.number.as_str(), "suspended", 2)
    );
    let offline = tempfile::tempdir().unwrap();
    let jwks = app.get("/.well-known/jwks.json", None).await.text().await.unwrap();
    let files = [
        ("p.tlog-proof", bundle.clone()),
        ("jwks.json", jwks),
        ("log.vkey", log_vkey.clone()),
        ("w1.vkey", w1.vkey.clone()),
    ];
    for (f, body) in &files {
        std::fs::write(offline.path().join(f), body).unwrap();
    }
    let verify = |proof_file: &str, quorum: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"))
            .args([
                "verify",
                &issued.qr_text,
                "--jwks",
                "jwks.json",
                "--proof",
                proof_file,
                "--log-vkey",
                "log.vkey",
            ])
            .args(["--witness-vkey", "w1.vkey", "--witness-vkey", &w2.vkey, "--quorum", quorum])
            .current_dir(offline.path())
            .env("ECOLABEL_KEY_DIR", offline.path().join("no-keys"))
            .env("ECOLABEL_DATA_DIR", offline.path())
            .output()
            .unwrap()
    };
    let out = verify("p.tlog-proof", "2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("cosigned by witness.test/w1, witness.test/w2"), "{stdout}");
    // One cosignature line removed: two are required, and the missing witness is named.
    let lines: Vec<&str> = bundle.lines().filter(|l| !l.starts_with("— witness.test/w2")).collect();
    std::fs::write(offline.path().join("one.tlog-proof"), lines.join("\n") + "\n").unwrap();
    let out = verify("one.tlog-proof", "2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && stdout.contains("not by: witness.test/w2"), "{stdout}");
    assert!(verify("one.tlog-proof", "1").status.success(), "one of two is enough for a quorum of one");

    // The rate: a change a moment later is not sent until the interval has passed.
    change(&app, &issued, "reinstate").await;
    let r = pass(&state, 60).await;
    assert_eq!(r.sent, 0, "{r:?}");
    let (_, _, served) = text(&format!("{address}/log/checkpoint")).await;
    assert_eq!(check_cosigned(served.as_bytes(), &log_vkey, &vkeys).unwrap().checkpoint.size(), 2);
    state.clock.advance(chrono::TimeDelta::seconds(61));
    let r = pass(&state, 60).await;
    assert_eq!((r.sent, r.cosigned), (2, 2), "{r:?}");
    let (_, _, served) = text(&format!("{address}/log/checkpoint")).await;
    assert_eq!(check_cosigned(served.as_bytes(), &log_vkey, &vkeys).unwrap().checkpoint.size(), 3);
    // Nothing new: nothing sent, however long it waits.
    state.clock.advance(chrono::TimeDelta::seconds(61));
    assert_eq!(pass(&state, 60).await.sent, 0);

    // `serve` sends by itself: a replica with a one-second interval gets the next change cosigned.
    let targets = [&w1, &w2].map(|w| ecolabel::config::WitnessTarget::parse(&format!("{} {}", w.vkey, w.url)).unwrap());
    let (live, live_state) = app
        .replica_with_state(|c| {
            c.witnesses = targets.to_vec();
            c.witness_quorum = 2;
            c.witness_interval = 1;
        })
        .await;
    // Its clock as far on as the one the last sends were claimed at.
    live_state.clock.advance(chrono::TimeDelta::seconds(130));
    change(&app, &issued, "suspend").await;
    let mut size = 0;
    // Up to 30 s: the sender looks every second, and a loaded machine (CI) can be slow.
    for _ in 0..300 {
        let (_, _, served) = text(&format!("{live}/log/checkpoint")).await;
        size = check_cosigned(served.as_bytes(), &log_vkey, &vkeys).unwrap().checkpoint.size();
        if size == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(size, 4, "the sender inside serve had the newest checkpoint cosigned");
    w1.handle.stop(true).await;
    w2.handle.stop(true).await;
}

/// Rewrite the tree in the database: every stored hash zeroed (a fork: the tree no longer extends the
/// one the witnesses saw).
async fn fork(app: &TestApp) {
    let statements: &[&str] = match app.backend {
        Backend::Sqlite => &["DROP TRIGGER log_entries_no_update", "UPDATE log_entries SET hashes = zeroblob(length(hashes))"],
        Backend::Postgres => &[
            "DROP TRIGGER log_entries_append_only ON log_entries",
            "UPDATE log_entries SET hashes = decode(repeat('00', length(hashes)), 'hex')",
        ],
    };
    for sql in statements {
        raw_sql(app, *sql).await;
    }
}

async fn a_forked_log_is_refused_by_every_witness_and_named(app: TestApp) {
    let (address, state, w1, w2) = witnessed(&app).await;
    let vkeys = vec![w1.vkey.clone(), w2.vkey.clone()];
    let issued = app.issue("Fork hall", "Astana").await;
    change(&app, &issued, "suspend").await;
    assert_eq!(pass(&state, 60).await.cosigned, 2);

    fork(&app).await;
    change(&app, &issued, "reinstate").await;
    state.clock.advance(chrono::TimeDelta::seconds(61));
    let r = pass(&state, 60).await;
    assert_eq!((r.cosigned, r.refused.len()), (0, 2), "{r:?}");
    assert!(r.refused.iter().all(|x| x.contains(": 422 ")), "{r:?}");
    // Everyone is still served the last checkpoint the witnesses cosigned.
    let (_, _, served) = text(&format!("{address}/log/checkpoint")).await;
    assert_eq!(
        check_cosigned(served.as_bytes(), &app.state.log_key.vkey(), &vkeys).unwrap().checkpoint.size(),
        2
    );
    // The monitor reports the fork and names both witnesses' refusals.
    let policy = ecolabel::cli::monitor::Policy { witnesses: vkeys, quorum: 2 };
    let report = ecolabel::cli::monitor::verify(&address, None, &policy).await.unwrap();
    for name in ["witness.test/w1", "witness.test/w2"] {
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains(name) && p.contains("refused the checkpoint of 3 entries: 422")),
            "{name}: {:?}",
            report.problems
        );
    }
    assert!(
        report.problems.iter().any(|p| p.contains("do not hash to the checkpoint's root")),
        "{:?}",
        report.problems
    );
}

async fn a_restarted_witness_keeps_its_size_and_refuses_per_spec(app: TestApp) {
    let log_vkey = app.state.log_key.vkey();
    let w = start_witness("witness.test/w1", app.dir.path(), vec![log_vkey.clone()]);
    let issued = app.issue("Restart hall", "Astana").await;
    change(&app, &issued, "suspend").await;
    change(&app, &issued, "reinstate").await;
    let (_, _, note3) = text(&app.url("/log/checkpoint")).await;
    let req = |old: u64, proof: Vec<tlog::Hash>, checkpoint: &str| {
        AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        }
        .to_bytes()
    };
    let (status, _, line) = add_checkpoint(&w.url, req(0, vec![], &note3)).await;
    assert_eq!(status, 200, "{line}");
    assert!(
        check_cosigned(format!("{note3}{line}").as_bytes(), &log_vkey, std::slice::from_ref(&w.vkey))
            .unwrap()
            .by
            .len()
            == 1
    );

    // Stopped and started again over the same state: it remembers 3.
    w.handle.stop(true).await;
    let (name, _, logs, _) = w.config.clone();
    let w = start_witness(&name, app.dir.path(), logs);
    let (status, kind, body) = add_checkpoint(&w.url, req(0, vec![], &note3)).await;
    assert_eq!((status, kind.as_str(), body.as_str()), (409, "text/x.tlog.size", "3\n"));

    // The other refusals, one per status.
    change(&app, &issued, "suspend").await;
    let (_, _, note4) = text(&app.url("/log/checkpoint")).await;
    let good = app.state.db.read(|c| ecolabel::storage::log::consistency_proof(c, 3, 4)).await.unwrap();
    let (status, _, _) = add_checkpoint(&w.url, req(3, vec![tlog::Hash([9; 32])], &note4)).await;
    assert_eq!(status, 422, "a consistency proof that does not verify");
    let (status, _, _) = add_checkpoint(&w.url, req(5, good.clone(), &note4)).await;
    assert_eq!(status, 400, "an old size above the checkpoint's");
    let (status, _, _) = add_checkpoint(&w.url, b"hello".to_vec()).await;
    assert_eq!(status, 400, "not a request");
    let stranger = LogKey::new("registry.test/log".into(), ed25519_dalek::SigningKey::from_bytes(&[3; 32]));
    let forged = stranger.sign_checkpoint(4, tlog::Hash([1; 32])).unwrap();
    let (status, _, _) = add_checkpoint(&w.url, req(3, good.clone(), &forged)).await;
    assert_eq!(status, 403, "signed by a key the witness does not trust for this origin");
    let other = LogKey::new("other.example/log".into(), ed25519_dalek::SigningKey::from_bytes(&[3; 32]));
    let (status, _, _) = add_checkpoint(&w.url, req(0, vec![], &other.sign_checkpoint(1, tlog::Hash([1; 32])).unwrap())).await;
    assert_eq!(status, 404, "a log the witness does not follow");
    // Nothing refused moved it: the good proof from 3 still cosigns.
    let (status, _, _) = add_checkpoint(&w.url, req(3, good, &note4)).await;
    assert_eq!(status, 200);
    w.handle.stop(true).await;
}

async fn the_log_keeps_its_origin_when_the_public_url_changes(app: TestApp) {
    let issued = app.issue("Origin hall", "Astana").await;
    change(&app, &issued, "suspend").await;
    let moved = app.replica(|c| c.public_url = "https://registry.example.kz".into()).await;
    let (_, _, vkey) = text(&format!("{moved}/log/vkey")).await;
    assert!(vkey.starts_with("registry.test/log+"), "{vkey}");
    let (_, _, cp) = text(&format!("{moved}/log/checkpoint")).await;
    assert!(cp.starts_with("registry.test/log\n"), "{cp}");
    let report = ecolabel::cli::monitor::verify(&moved, None, &Default::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // A log made before the origin was stored keeps its first checkpoint's, whatever --log-origin says.
    raw_sql(&app, "UPDATE log_head SET origin = NULL").await;
    let again = app
        .replica(|c| {
            c.public_url = "https://elsewhere.example.kz".into();
            c.log_origin = Some("elsewhere.example.kz/log".into());
        })
        .await;
    let (_, _, vkey) = text(&format!("{again}/log/vkey")).await;
    assert!(vkey.starts_with("registry.test/log+"), "{vkey}");
    let report = ecolabel::cli::monitor::verify(&again, None, &Default::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

crate::both_backends!(
    two_witnesses_cosign_and_the_proof_verifies_offline,
    a_forked_log_is_refused_by_every_witness_and_named,
    a_restarted_witness_keeps_its_size_and_refuses_per_spec,
    the_log_keeps_its_origin_when_the_public_url_changes,
);

// Certificates: issuance with approval, the signed token and JWKS, status changes and their 409s,
// renewal, key rotation, concurrent approvals (exactly one certificate each), and tamper resistance.

use crate::helpers::*;
use ecolabel::domain::auth::Role;
use ecolabel::domain::signing::{decode_qr_text, verify_token, Jwks};
use serde_json::{json, Value};

async fn approve(app: &TestApp, officer: &str, id: i64) -> Value {
    let r = app
        .post(&format!("/api/v1/assessments/{id}/decision"), Some(officer), json!({"decision": "approve"}))
        .await;
    assert_eq!(r.status(), 200);
    json(r).await
}

async fn jwks(app: &TestApp) -> Jwks {
    let r = app.get("/.well-known/jwks.json", None).await;
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    serde_json::from_value(json(r).await).unwrap()
}

fn verify_with(set: &Jwks, qr: &str) -> Result<ecolabel::domain::signing::Verified, ecolabel::domain::signing::Failure> {
    let keys: Vec<_> = set.keys.iter().map(|k| k.verifying_key().unwrap()).collect();
    verify_token(&decode_qr_text(qr)?, ecolabel::domain::signing::key_in(&keys))
}

async fn approval_issues_a_signed_certificate(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let (venue, id) = app.submitted_assessment(&assessor, gold_measurements()).await;
    let d = approve(&app, &officer, id).await;
    let number = d["certificate"]["number"].as_str().unwrap().to_string();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(number, format!("GEL-{year}-000001"));
    let c = json(app.get(&format!("/api/v1/certificates/{number}"), Some(&officer)).await).await;
    assert_eq!(c["status"], "valid");
    assert_eq!(c["venue"]["id"], venue);
    assert_eq!(c["results"].as_array().unwrap().len(), 4);
    assert_eq!(c["level"], "gold");
    assert_eq!(c["issuer"], "Test certification body");
    let qr = c["qr_text"].as_str().unwrap();
    assert!(qr.starts_with("HTTP://REGISTRY.TEST/V/"));
    assert!(qr.chars().all(|ch| "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(ch)));
    let set = jwks(&app).await;
    assert_eq!(set.keys.len(), 1);
    assert_eq!(set.keys[0].status.as_deref(), Some("active"));
    assert_eq!(set.keys[0].kty, "OKP");
    let v = verify_with(&set, qr).unwrap();
    assert_eq!(v.claims.number, number);
    assert_eq!(v.claims.iss, "http://registry.test");
    assert_eq!(v.claims.scheme, "gold-eco-label/1");
    assert_eq!(v.kid, c["kid"]);
    // Valid until the day before the same date two years later.
    let from = chrono::NaiveDate::parse_from_str(c["valid_from"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let until = chrono::NaiveDate::parse_from_str(c["valid_until"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert_eq!(until, ecolabel::domain::certificate::valid_until(from, 24));
    // Approving again is a conflict, and makes no second certificate.
    assert_error(
        app.post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), json!({"decision": "approve"}))
            .await,
        409,
        "not_submitted",
    )
    .await;
    // The venue sees its certificate; another venue does not.
    let (_, venue_user) = app.user("venue", &[Role::Venue], Some(venue)).await;
    assert_eq!(app.get(&format!("/api/v1/certificates/{number}"), Some(&venue_user)).await.status(), 200);
    let other_venue = app.venue(&assessor, "Other", "Almaty").await;
    let (_, stranger) = app.user("stranger", &[Role::Venue], Some(other_venue)).await;
    assert_error(app.get(&format!("/api/v1/certificates/{number}"), Some(&stranger)).await, 404, "not_found").await;
}

async fn status_changes_and_illegal_transitions(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let (_, id) = app.submitted_assessment(&assessor, gold_measurements()).await;
    let number = approve(&app, &officer, id).await["certificate"]["number"].as_str().unwrap().to_string();
    let p = |action: &str| format!("/api/v1/certificates/{number}/{action}");
    assert_error(app.post(&p("suspend"), Some(&officer), json!({})).await, 422, "reason_required").await;
    assert_error(app.post(&p("suspend"), Some(&assessor), json!({"reason": "x"})).await, 403, "forbidden_role").await;
    assert_error(app.post(&p("reinstate"), Some(&officer), json!({})).await, 409, "illegal_transition").await;
    let s = json(
        app.post(&p("suspend"), Some(&officer), json!({"reason": "Plastic stream contaminated at inspection"}))
            .await,
    )
    .await;
    assert_eq!(s["status"], "suspended");
    assert_eq!(s["status_reason"], "Plastic stream contaminated at inspection");
    assert_error(
        app.post(&p("suspend"), Some(&officer), json!({"reason": "again"})).await,
        409,
        "illegal_transition",
    )
    .await;
    assert_eq!(json(app.post(&p("reinstate"), Some(&officer), json!({})).await).await["status"], "valid");
    let w = json(app.post(&p("withdraw"), Some(&officer), json!({"reason": "Venue closed"})).await).await;
    assert_eq!(w["status"], "withdrawn");
    assert_error(app.post(&p("reinstate"), Some(&officer), json!({})).await, 409, "illegal_transition").await;
    assert_error(app.post(&p("suspend"), Some(&officer), json!({"reason": "x"})).await, 409, "illegal_transition").await;
    let history: Vec<String> = w["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(history, ["issued", "suspended", "reinstated", "withdrawn"]);
    assert_error(
        app.post("/api/v1/certificates/GEL-2020-000001/suspend", Some(&officer), json!({"reason": "x"}))
            .await,
        404,
        "not_found",
    )
    .await;
}

async fn expired_is_derived_and_cannot_be_suspended(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let (_, id) = app.submitted_assessment(&assessor, gold_measurements()).await;
    let number = approve(&app, &officer, id).await["certificate"]["number"].as_str().unwrap().to_string();
    // 25 months later by the registry's clock: past the default validity of 24 months.
    app.state.clock.advance(chrono::TimeDelta::days(25 * 31));
    let c = json(app.get(&format!("/api/v1/certificates/{number}"), Some(&officer)).await).await;
    assert_eq!(c["status"], "expired");
    assert_error(
        app.post(&format!("/api/v1/certificates/{number}/suspend"), Some(&officer), json!({"reason": "x"}))
            .await,
        409,
        "illegal_transition",
    )
    .await;
}

async fn renewal_supersedes_the_old_certificate(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let (venue, first) = app.submitted_assessment(&assessor, gold_measurements()).await;
    let old = approve(&app, &officer, first).await["certificate"]["number"].as_str().unwrap().to_string();
    let second = app.draft_with_evidence(&assessor, venue, gold_measurements()).await;
    assert_eq!(
        app.post(&format!("/api/v1/assessments/{second}/submit"), Some(&assessor), json!({}))
            .await
            .status(),
        200
    );
    let new = approve(&app, &officer, second).await["certificate"]["number"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    let o = json(app.get(&format!("/api/v1/certificates/{old}"), Some(&officer)).await).await;
    assert_eq!(o["status"], "superseded");
    assert_eq!(o["superseded_by"], new.as_str());
    let n = json(app.get(&format!("/api/v1/certificates/{new}"), Some(&officer)).await).await;
    assert_eq!(n["status"], "valid");
    assert_eq!(n["supersedes"], old.as_str());
    assert_error(
        app.post(&format!("/api/v1/certificates/{old}/withdraw"), Some(&officer), json!({"reason": "x"}))
            .await,
        409,
        "illegal_transition",
    )
    .await;
}

async fn rotated_keys_keep_old_certificates_verifying(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let (_, first) = app.submitted_assessment(&assessor, gold_measurements()).await;
    let old_qr = approve(&app, &officer, first).await["certificate"]["qr_text"].as_str().unwrap().to_string();
    // Rotate while the server runs: the new key signs from the next approval on.
    let (kid, public) = app.state.keyring.generate().unwrap();
    let k = kid.clone();
    app.state
        .db
        .write(move |c| ecolabel::storage::keys::register(c, &ecolabel::domain::auth::Caller::system("test"), &k, public.as_bytes(), true))
        .await
        .unwrap();
    let (_, second) = app.submitted_assessment(&assessor, gold_measurements()).await;
    let new_cert = approve(&app, &officer, second).await;
    let number = new_cert["certificate"]["number"].as_str().unwrap();
    let c = json(app.get(&format!("/api/v1/certificates/{number}"), Some(&officer)).await).await;
    assert_eq!(c["kid"], kid.as_str());
    let set = jwks(&app).await;
    assert_eq!(set.keys.len(), 2);
    let statuses: Vec<_> = set.keys.iter().map(|k| k.status.clone().unwrap()).collect();
    assert_eq!(statuses, ["retired", "active"]);
    assert!(set.keys[0].valid_until.is_some());
    assert!(verify_with(&set, &old_qr).is_ok());
    assert!(verify_with(&set, c["qr_text"].as_str().unwrap()).is_ok());
}

/// 100 submitted assessments, each approved twice at once: exactly 100 certificates with consecutive
/// numbers, every loser gets 409, no 5xx.
async fn concurrent_approvals_issue_exactly_one_certificate_each(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let officer2 = app.token(&[Role::Officer]).await;
    let venue = app.venue(&assessor, "Concurrency hall", "Astana").await;
    let ids = seed_submitted(&app, &assessor, venue, 100).await;
    let mut calls = Vec::new();
    for id in &ids {
        for token in [&officer, &officer2] {
            let req = app
                .request(reqwest::Method::POST, &format!("/api/v1/assessments/{id}/decision"), Some(token))
                .json(&json!({"decision": "approve"}));
            calls.push(async move { req.send().await.unwrap().status().as_u16() });
        }
    }
    let statuses = futures_util::future::join_all(calls).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((ok, conflicts), (100, 100), "statuses: {statuses:?}");
    let numbers: Vec<String> = app
        .state
        .db
        .read(|c| -> ecolabel::storage::Result<_> {
            use diesel::prelude::*;
            use ecolabel::storage::schema::certificates as t;
            Ok(t::table.select(t::number).order(t::number.asc()).load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(numbers.len(), 100);
    let year = chrono::Utc::now().format("%Y").to_string();
    // Renewal supersedes within one venue; every certificate still exists, numbered 1..=100.
    for (i, n) in numbers.iter().enumerate() {
        assert_eq!(n, &format!("GEL-{year}-{:06}", i + 1));
    }
}

/// Submitted assessments made directly through storage (what 100 HTTP round trips each would do).
async fn seed_submitted(app: &TestApp, assessor_token: &str, venue: i64, n: usize) -> Vec<i64> {
    let me = json(app.get("/api/v1/me", Some(assessor_token)).await).await;
    let caller = ecolabel::domain::auth::Caller {
        user_id: me["id"].as_i64(),
        name: "assessor".into(),
        roles: vec![Role::Assessor],
        venue_id: None,
        token_id: None,
    };
    let scheme = app.state.catalogue.current("gold-eco-label").unwrap().clone();
    app.state
        .db
        .write(move |c| -> ecolabel::app::Result<_> {
            use ecolabel::app::assessments as a;
            let mut ids = Vec::new();
            for i in 0..n {
                let row = a::create(c, &caller, venue, &scheme, Default::default())?;
                a::patch_measurements(c, &caller, row.id, &scheme, &gold_measurements())?;
                for crit in CRITERIA {
                    let content = pdf_bytes(&format!("{crit}-{i}"));
                    use sha2::Digest;
                    let sha256 = hex::encode(sha2::Sha256::digest(&content));
                    a::add_evidence(
                        c,
                        &caller,
                        row.id,
                        &scheme,
                        ecolabel::storage::assessments::NewEvidence {
                            criterion: crit.into(),
                            filename: "e.pdf".into(),
                            description: None,
                            media_type: "application/pdf".into(),
                            sha256,
                            content,
                        },
                    )?;
                }
                a::submit(c, &caller, row.id, &scheme)?;
                ids.push(row.id);
            }
            Ok(ids)
        })
        .await
        .unwrap()
}

/// Every single-bit change of 20 real tokens fails to verify.
async fn flipped_bits_never_verify(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let venue = app.venue(&assessor, "Bits", "Astana").await;
    let ids = seed_submitted(&app, &assessor, venue, 20).await;
    let set = jwks(&app).await;
    let keys: Vec<_> = set.keys.iter().map(|k| k.verifying_key().unwrap()).collect();
    let mut checked = 0;
    for id in ids {
        let qr = approve(&app, &officer, id).await["certificate"]["qr_text"].as_str().unwrap().to_string();
        let token = decode_qr_text(&qr).unwrap();
        assert!(verify_token(&token, ecolabel::domain::signing::key_in(&keys)).is_ok());
        for bit in 0..token.len() * 8 {
            let mut t = token.clone();
            t[bit / 8] ^= 1 << (bit % 8);
            assert!(
                verify_token(&t, ecolabel::domain::signing::key_in(&keys)).is_err(),
                "bit {bit} of certificate {id}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20 * 150 * 8, "{checked}");
}

crate::both_backends!(
    approval_issues_a_signed_certificate,
    status_changes_and_illegal_transitions,
    expired_is_derived_and_cannot_be_suspended,
    renewal_supersedes_the_old_certificate,
    rotated_keys_keep_old_certificates_verifying,
    concurrent_approvals_issue_exactly_one_certificate_each,
);

#[actix_web::test]
async fn flipped_bits_never_verify_sqlite() {
    flipped_bits_never_verify(spawn_app(Backend::Sqlite).await.unwrap()).await;
}

/// The demo seeds once, prints the same certificate twice (with fresh sign-in links, one per role, each
/// run voiding the last), and its QR verifies offline with the CLI.
#[actix_web::test]
async fn demo_and_offline_verify() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ecolabel"))
            .args(args)
            .current_dir(dir.path())
            .env("ECOLABEL_CRITERIA_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/assets/criteria"))
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let first = run(&["demo"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = run(&["demo"]);
    assert!(second.status.success());
    let out = String::from_utf8(first.stdout).unwrap();
    let second = String::from_utf8(second.stdout).unwrap();
    let certificate_lines = |s: &str| s.lines().filter(|l| !l.contains("/invite/")).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(certificate_lines(&out), certificate_lines(&second));
    let links = |s: &str| s.lines().filter(|l| l.contains("/invite/")).map(str::to_string).collect::<Vec<_>>();
    let (a, b) = (links(&out), links(&second));
    assert_eq!(a.len(), 4);
    for (role, (x, y)) in ["assessor", "officer", "venue", "admin"].iter().zip(a.iter().zip(&b)) {
        assert!(x.starts_with(&format!("{role}: http://127.0.0.1:8080/invite/")), "{x}");
        assert_ne!(x, y, "a new link each run");
    }
    let qr = out.lines().find_map(|l| l.strip_prefix("verify: ")).unwrap().to_string();
    assert!(qr.starts_with("HTTP://127.0.0.1:8080/V/"));
    // The demo certificate's PDF, one page, at most 19 KB (19,000 bytes).
    let pdf = out.lines().find_map(|l| l.strip_prefix("pdf: ")).unwrap();
    let size = std::fs::metadata(pdf).unwrap().len();
    assert!(size <= 19_000, "the demo PDF is {size} bytes");
    let v = run(&["verify", &qr]);
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stdout));
    let text = String::from_utf8(v.stdout).unwrap();
    assert!(
        text.contains("verdict: valid") && text.contains("venue: Smart Plastic Zone") && text.contains("GEL-2025-000001"),
        "{text}"
    );
    // One altered character: not genuine, exit 1.
    let mut altered = qr.clone().into_bytes();
    let i = altered.len() - 10;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let v = run(&["verify", std::str::from_utf8(&altered).unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8(v.stdout).unwrap().contains("verdict: invalid_signature"));
    // With an empty JWKS the key is unknown.
    std::fs::write(dir.path().join("empty.json"), "{\"keys\": []}").unwrap();
    let v = run(&["verify", &qr, "--jwks", "empty.json"]);
    assert!(String::from_utf8(v.stdout).unwrap().contains("verdict: unknown_key"));
    // OpenSSL 3 reads the private key file (PKCS#8 v1), which is mode 0600.
    let key = std::fs::read_dir(dir.path().join("data/keys")).unwrap().next().unwrap().unwrap().path();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    if let Ok(o) = std::process::Command::new("openssl")
        .args(["pkey", "-in", key.to_str().unwrap(), "-noout"])
        .output()
    {
        assert!(o.status.success(), "openssl rejected the key: {}", String::from_utf8_lossy(&o.stderr));
    }
}

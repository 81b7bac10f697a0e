// Assessments: the full path assessor → submit → officer approves, independence of the decision,
// every kind of bad input (changing nothing), access between venues, idempotency, criteria versions.

use crate::helpers::*;
use ecolabel::domain::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

async fn full_path_from_draft_to_approval(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let venue = app.venue(&assessor, "Smart Plastic Zone", "Astana").await;
    let r = app.post("/api/v1/assessments", Some(&assessor), json!({"venue_id": venue})).await;
    assert_eq!(r.status(), 201);
    let a = json(r).await;
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["status"], "draft");
    assert_eq!(a["scheme"], "gold-eco-label");
    assert_eq!(a["scheme_version"], 1);
    assert_eq!(a["criteria_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(a["missing"].as_array().unwrap().len(), 14, "10 measurements and 4 evidence are missing");

    // Submitting an incomplete assessment lists everything missing.
    let v = assert_error(
        app.post(&format!("/api/v1/assessments/{id}/submit"), Some(&assessor), json!({})).await,
        422,
        "incomplete_assessment",
    )
    .await;
    assert_eq!(v["fields"].as_array().unwrap().len(), 14);

    let r = app
        .patch(
            &format!("/api/v1/assessments/{id}"),
            Some(&assessor),
            json!({"measurements": gold_measurements()}),
        )
        .await;
    assert_eq!(r.status(), 200);
    for c in CRITERIA {
        assert_eq!(app.upload(&assessor, id, c, "scan.pdf", pdf_bytes(c)).await.status(), 201);
    }
    // A PNG and a JPEG are accepted too, judged by content.
    let png = png_bytes();
    let r = app.upload(&assessor, id, "separate_collection", "photo.bin", png).await;
    assert_eq!(r.status(), 201);
    assert_eq!(json(r).await["media_type"], "image/png");

    let r = app.post(&format!("/api/v1/assessments/{id}/submit"), Some(&assessor), json!({})).await;
    assert_eq!(r.status(), 200);
    let s = json(r).await;
    assert_eq!(s["status"], "submitted");
    assert_eq!(s["outcome"]["overall"], "gold");
    assert_eq!(s["outcome"]["criteria"][0]["measured"], 60.0);
    assert_eq!(s["outcome"]["criteria"][0]["passed"], true);

    // Submitted assessments can no longer be changed.
    assert_error(
        app.patch(&format!("/api/v1/assessments/{id}"), Some(&assessor), json!({"measurements": {}}))
            .await,
        409,
        "not_editable",
    )
    .await;

    let r = app
        .post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), json!({"decision": "approve"}))
        .await;
    assert_eq!(r.status(), 200);
    let d = json(r).await;
    assert_eq!(d["status"], "approved");
    assert!(d["certificate"]["number"].as_str().unwrap().starts_with("GEL-"));

    // Evidence is listed and downloadable, with its hash.
    let ev = json(app.get(&format!("/api/v1/assessments/{id}/evidence"), Some(&officer)).await).await;
    assert_eq!(ev.as_array().unwrap().len(), 5);
    let href = ev[0]["href"].as_str().unwrap();
    let file = app.get(href, Some(&officer)).await;
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(file.bytes().await.unwrap().to_vec(), pdf_bytes("plastic_reduction"));

    let events = json(app.get(&format!("/api/v1/assessments/{id}/events"), Some(&assessor)).await).await;
    let actions: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "created",
            "measurements_changed",
            "evidence_added",
            "evidence_added",
            "evidence_added",
            "evidence_added",
            "evidence_added",
            "submitted",
            "approved"
        ]
    );
    assert!(events[8]["actor_id"].is_i64());
}

async fn the_assessor_can_never_decide(app: TestApp) {
    let (_, both) = app.user("Assessor and officer", &[Role::Assessor, Role::Officer], None).await;
    let (_, id) = app.submitted_assessment(&both, gold_measurements()).await;
    for decision in ["approve", "reject", "return"] {
        let r = app
            .post(
                &format!("/api/v1/assessments/{id}/decision"),
                Some(&both),
                json!({"decision": decision, "reason": "mine"}),
            )
            .await;
        assert_error(r, 403, "self_decision").await;
    }
    let a = json(app.get(&format!("/api/v1/assessments/{id}"), Some(&both)).await).await;
    assert_eq!(a["status"], "submitted");
    // Assessors cannot decide at all.
    let other_assessor = app.token(&[Role::Assessor]).await;
    assert_error(
        app.post(
            &format!("/api/v1/assessments/{id}/decision"),
            Some(&other_assessor),
            json!({"decision": "approve"}),
        )
        .await,
        403,
        "forbidden_role",
    )
    .await;
}

async fn decisions_follow_the_lifecycle(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let mut failing = gold_measurements();
    failing["plastic_reduction"]["last_12_months_kg"] = json!(501); // 49.9 %
    let (_, id) = app.submitted_assessment(&assessor, failing).await;
    let a = json(app.get(&format!("/api/v1/assessments/{id}"), Some(&officer)).await).await;
    assert_eq!(a["outcome"]["overall"], "not_met");
    assert_error(
        app.post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), json!({"decision": "approve"}))
            .await,
        409,
        "not_gold",
    )
    .await;
    assert_error(
        app.post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), json!({"decision": "reject"}))
            .await,
        422,
        "reason_required",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/v1/assessments/{id}/decision"),
            Some(&officer),
            json!({"decision": "return", "reason": "  "}),
        )
        .await,
        422,
        "comments_required",
    )
    .await;
    let r = app
        .post(
            &format!("/api/v1/assessments/{id}/decision"),
            Some(&officer),
            json!({"decision": "return", "reason": "Re-weigh the last 12 months"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await["decision_reason"], "Re-weigh the last 12 months");
    assert_error(
        app.post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), json!({"decision": "approve"}))
            .await,
        409,
        "not_submitted",
    )
    .await;

    // Returned: the assessor corrects and resubmits; now it is Gold and can be approved.
    let r = app
        .patch(
            &format!("/api/v1/assessments/{id}"),
            Some(&assessor),
            json!({"measurements": {"plastic_reduction": {"last_12_months_kg": 500}}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.post(&format!("/api/v1/assessments/{id}/submit"), Some(&assessor), json!({})).await.status(),
        200
    );
    assert_eq!(
        app.post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), json!({"decision": "approve"}))
            .await
            .status(),
        200
    );

    let (_, id2) = app.submitted_assessment(&assessor, gold_measurements()).await;
    assert_eq!(
        app.post(
            &format!("/api/v1/assessments/{id2}/decision"),
            Some(&officer),
            json!({"decision": "reject", "reason": "Evidence unreadable"})
        )
        .await
        .status(),
        200
    );
    assert_error(
        app.post(&format!("/api/v1/assessments/{id2}/submit"), Some(&assessor), json!({})).await,
        409,
        "not_editable",
    )
    .await;
}

async fn bad_input_is_refused_and_changes_nothing(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let venue = app.venue(&assessor, "Hotel", "Almaty").await;
    let id = json(app.post("/api/v1/assessments", Some(&assessor), json!({"venue_id": venue})).await).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/assessments/{id}");
    assert_eq!(
        app.patch(&path, Some(&assessor), json!({"measurements": {"recycling_handover": {"collected_kg": 100}}}))
            .await
            .status(),
        200
    );
    let before = json(app.get(&path, Some(&assessor)).await).await["measurements"].clone();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"plastic_reduction": {"baseline_kg": -5}}),
            "measurements.plastic_reduction.baseline_kg",
            "negative",
        ),
        (
            json!({"plastic_reduction": {"baseline_kg": "a lot"}}),
            "measurements.plastic_reduction.baseline_kg",
            "not_a_number",
        ),
        (
            json!({"separate_collection": {"contamination_pct": 101}}),
            "measurements.separate_collection.contamination_pct",
            "percent_out_of_range",
        ),
        (
            json!({"recycling_handover": {"handed_over_kg": 120}}),
            "measurements.recycling_handover.handed_over_kg",
            "exceeds_related_measurement",
        ),
        (json!({"glitter_reduction": {"kg": 1}}), "measurements.glitter_reduction", "unknown_criterion"),
        (
            json!({"plastic_reduction": {"weight": 1}}),
            "measurements.plastic_reduction.weight",
            "unknown_measurement",
        ),
        (
            json!({"recycling_handover": {"transfer_notes": [{"recycler": "R", "licence_no": "L", "date": "2999-01-01", "kg": 1}]}}),
            "measurements.recycling_handover.transfer_notes[0].date",
            "date_in_future",
        ),
    ];
    for (m, field, code) in cases {
        let v = assert_error(
            app.patch(&path, Some(&assessor), json!({ "measurements": m })).await,
            422,
            "invalid_measurements",
        )
        .await;
        assert_eq!(v["fields"][0]["field"], field, "{v}");
        assert_eq!(v["fields"][0]["code"], code, "{v}");
    }
    // Files: wrong type by content (a PDF name does not help), empty, duplicate, unknown criterion, too large.
    assert_error(
        app.upload(&assessor, id, "plastic_reduction", "invoice.pdf", b"GIF89a not a pdf".to_vec())
            .await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_error(app.upload(&assessor, id, "plastic_reduction", "empty.pdf", vec![]).await, 422, "empty_file").await;
    assert_error(app.upload(&assessor, id, "nope", "x.pdf", pdf_bytes("x")).await, 422, "unknown_criterion").await;
    assert_eq!(app.upload(&assessor, id, "plastic_reduction", "a.pdf", pdf_bytes("same")).await.status(), 201);
    assert_error(
        app.upload(&assessor, id, "alternative_materials", "b.pdf", pdf_bytes("same")).await,
        409,
        "duplicate_evidence",
    )
    .await;
    let mut big = pdf_bytes("big");
    big.resize(10 * 1024 * 1024 + 1, b' ');
    assert_error(app.upload(&assessor, id, "plastic_reduction", "big.pdf", big).await, 413, "payload_too_large").await;
    let form = reqwest::multipart::Form::new().text("criterion", "plastic_reduction");
    let r = app
        .request(Method::POST, &format!("{path}/evidence"), Some(&assessor))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(r, 422, "missing_file").await;

    let after = json(app.get(&path, Some(&assessor)).await).await;
    assert_eq!(after["measurements"], before);
    assert_eq!(after["evidence"].as_array().unwrap().len(), 1);
    // Venues: bad fields are named.
    let v = assert_error(
        app.post(
            "/api/v1/venues",
            Some(&assessor),
            json!({"name": "", "address": "x", "city": "y", "category": "castle"}),
        )
        .await,
        422,
        "invalid_venue",
    )
    .await;
    let fields: Vec<&str> = v["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "category"]);
    assert_error(
        app.post("/api/v1/assessments", Some(&assessor), json!({"venue_id": 999999})).await,
        422,
        "unknown_venue",
    )
    .await;
}

async fn venues_see_only_their_own(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let va = app.venue(&assessor, "Venue A", "Astana").await;
    let vb = app.venue(&assessor, "Venue B", "Almaty").await;
    let a_id = app.draft_with_evidence(&assessor, va, gold_measurements()).await;
    let b_id = app.draft_with_evidence(&assessor, vb, gold_measurements()).await;
    let (_, venue_a) = app.user("Venue A manager", &[Role::Venue], Some(va)).await;
    let own = json(app.get(&format!("/api/v1/assessments/{a_id}"), Some(&venue_a)).await).await;
    assert_eq!(own["venue_id"], va);
    assert_error(app.get(&format!("/api/v1/assessments/{b_id}"), Some(&venue_a)).await, 404, "not_found").await;
    assert_error(app.get(&format!("/api/v1/assessments/{b_id}/evidence"), Some(&venue_a)).await, 404, "not_found").await;
    assert_error(
        app.get(&format!("/api/v1/assessments/{b_id}/evidence/1"), Some(&venue_a)).await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.get(&format!("/api/v1/venues/{vb}"), Some(&venue_a)).await, 404, "not_found").await;
    assert_eq!(app.get(&format!("/api/v1/venues/{va}"), Some(&venue_a)).await.status(), 200);
    let list = json(app.get("/api/v1/assessments", Some(&venue_a)).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let venues = json(app.get("/api/v1/venues", Some(&venue_a)).await).await;
    assert_eq!(venues["items"].as_array().unwrap().len(), 1);
    // Read-only for the venue.
    let r = app
        .patch(&format!("/api/v1/assessments/{a_id}"), Some(&venue_a), json!({"measurements": {}}))
        .await;
    assert_error(r, 403, "not_your_assessment").await;
    // Another assessor does not see this assessor's drafts.
    let other = app.token(&[Role::Assessor]).await;
    assert_error(app.get(&format!("/api/v1/assessments/{a_id}"), Some(&other)).await, 404, "not_found").await;
    // Search by name in any case and by city.
    let found = json(app.get("/api/v1/venues?q=venue%20b", Some(&assessor)).await).await;
    assert_eq!(found["items"][0]["id"], vb);
    let found = json(app.get("/api/v1/venues?city=Astana", Some(&assessor)).await).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}

async fn idempotency_keys(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let venue = app.venue(&assessor, "Idem", "Astana").await;
    let send = |body: Value| {
        app.request(Method::POST, "/api/v1/assessments", Some(&assessor))
            .header("idempotency-key", "k-1")
            .json(&body)
            .send()
    };
    let first = json(send(json!({"venue_id": venue})).await.unwrap()).await;
    let again = send(json!({"venue_id": venue})).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await["id"], first["id"]);
    assert_error(
        send(json!({"venue_id": venue, "scheme": "gold-eco-label"})).await.unwrap(),
        422,
        "idempotency_key_reused",
    )
    .await;
    let list = json(app.get("/api/v1/assessments", Some(&assessor)).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "one resource only");
}

async fn criteria_are_published(app: TestApp) {
    let r = app.get("/api/v1/criteria/gold-eco-label/1", None).await;
    assert_eq!(r.status(), 200);
    let v = json(r).await;
    assert_eq!(v["criteria"].as_array().unwrap().len(), 4);
    assert_eq!(v["title"]["kk"], "Алтын экологиялық белгі");
    let text = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/criteria/gold-eco-label-v1.toml")).unwrap();
    use sha2::Digest;
    assert_eq!(v["sha256"], hex::encode(sha2::Sha256::digest(&text)));
    assert_error(app.get("/api/v1/criteria/gold-eco-label/9", None).await, 404, "not_found").await;
}

crate::both_backends!(
    full_path_from_draft_to_approval,
    the_assessor_can_never_decide,
    decisions_follow_the_lifecycle,
    bad_input_is_refused_and_changes_nothing,
    venues_see_only_their_own,
    idempotency_keys,
    criteria_are_published,
);

/// Version 2 is a new file: no code changes; new assessments use it, old ones keep version 1.
#[actix_web::test]
async fn a_second_criteria_version_needs_no_code() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/criteria/gold-eco-label-v1.toml")).unwrap();
    std::fs::write(dir.path().join("gold-eco-label-v1.toml"), &v1).unwrap();
    let criteria_dir = dir.path().to_path_buf();
    let app = spawn_app_with(Backend::Sqlite, |c| c.criteria_dir = criteria_dir.clone()).await.unwrap();
    let assessor = app.token(&[Role::Assessor]).await;
    let venue = app.venue(&assessor, "V", "Astana").await;
    let old = json(app.post("/api/v1/assessments", Some(&assessor), json!({"venue_id": venue})).await).await;
    assert_eq!(old["scheme_version"], 1);
    drop(app);

    let v2 = v1.replace("version = 1", "version = 2").replace("threshold = 50.0", "threshold = 60.0");
    std::fs::write(dir.path().join("gold-eco-label-v2.toml"), &v2).unwrap();
    // Start again with the new file beside the old one.
    let app = spawn_app_with(Backend::Sqlite, |c| c.criteria_dir = criteria_dir.clone()).await.unwrap();
    let v = json(app.get("/api/v1/criteria/gold-eco-label/2", None).await).await;
    assert_eq!(v["criteria"][0]["checks"][0]["threshold"], 60.0);
    assert_eq!(app.get("/api/v1/criteria/gold-eco-label/1", None).await.status(), 200);
    let assessor = app.token(&[Role::Assessor]).await;
    let (_, id) = app.submitted_assessment(&assessor, gold_measurements()).await; // 60 % reduction
    let a = json(app.get(&format!("/api/v1/assessments/{id}"), Some(&assessor)).await).await;
    assert_eq!(a["scheme_version"], 2);
    assert_eq!(a["outcome"]["criteria"][0]["threshold"], 60.0);
    assert_eq!(a["outcome"]["overall"], "gold");

    // A malformed file stops the start, naming file and line.
    std::fs::write(
        dir.path().join("gold-eco-label-v3.toml"),
        v2.replace("version = 2", "version = 3").replace("op = \">=\"", "op = \"~\""),
    )
    .unwrap();
    let cfg = {
        let mut c = app.config.clone();
        c.database = ecolabel::storage::DbUrl::Sqlite(dir.path().join("fresh.db").display().to_string());
        c
    };
    let err = actix_web::rt::task::spawn_blocking(move || ecolabel::startup::Application::build(cfg, false).err())
        .await
        .unwrap()
        .expect("start must fail");
    assert!(err.contains("gold-eco-label-v3.toml:"), "{err}");
}

// Appeals: a venue manager appeals a suspension, withdrawal or rejection of their venue within 30 days,
// with a statement and files; someone who took no part in the decision upholds (reverses) or dismisses it.

use crate::helpers::*;
use ecolabel::domain::auth::Role;
use reqwest::multipart::{Form, Part};
use serde_json::json;

const STATEMENT: &str = "The bins were moved for cleaning on the day of the inspection; photos attached.";

async fn upload(app: &TestApp, token: &str, id: i64, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.request(reqwest::Method::POST, &format!("/api/v1/appeals/{id}/files"), Some(token))
        .multipart(Form::new().part("file", Part::bytes(bytes).file_name(name.to_string())))
        .send()
        .await
        .unwrap()
}

async fn an_upheld_appeal_reinstates_a_suspended_certificate(app: TestApp) {
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let (_, manager) = app.user("Manager", &[Role::Venue], Some(a.venue)).await;
    let b = app.issue("Samal Cafe", "Almaty").await;
    let (_, stranger) = app.user("Other manager", &[Role::Venue], Some(b.venue)).await;
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", a.number),
            Some(&a.officer),
            json!({"reason": "Bins missing at inspection"}),
        )
        .await;
    assert_eq!(r.status(), 200);

    let body = |statement: &str| json!({"subject": "suspension", "certificate": a.number, "statement": statement});
    assert_error(app.post("/api/v1/appeals", Some(&manager), body("too short")).await, 422, "invalid_statement").await;
    assert_error(app.post("/api/v1/appeals", Some(&stranger), body(STATEMENT)).await, 404, "not_found").await;
    assert_error(app.post("/api/v1/appeals", Some(&a.officer), body(STATEMENT)).await, 403, "forbidden_role").await;
    let r = app
        .post(
            "/api/v1/appeals",
            Some(&manager),
            json!({"subject": "withdrawal", "certificate": a.number, "statement": STATEMENT}),
        )
        .await;
    assert_error(r, 409, "not_appealable").await;
    let r = app.post("/api/v1/appeals", Some(&manager), body(STATEMENT)).await;
    assert_eq!(r.status(), 201);
    let filed = json(r).await;
    assert_eq!((filed["status"].as_str(), filed["subject"].as_str()), (Some("open"), Some("suspension")));
    let id = filed["id"].as_i64().unwrap();
    assert_error(app.post("/api/v1/appeals", Some(&manager), body(STATEMENT)).await, 409, "appeal_pending").await;
    // The officers who may decide it are told, with the portal's link; not the one who suspended.
    let me = |token: &str| {
        let (app, token) = (&app, token.to_string());
        async move { json(app.get("/api/v1/me", Some(&token)).await).await["id"].as_i64() }
    };
    let (suspender, other) = (me(&a.officer).await, me(&b.officer).await);
    let told = app.state.db.read(ecolabel::storage::notifications::all).await.unwrap();
    let to_decide: Vec<_> = told.iter().filter(|n| n.kind == "appeal_to_decide").collect();
    assert_eq!(to_decide.iter().map(|n| n.recipient_user_id).collect::<Vec<_>>(), [other], "not {suspender:?}");
    assert!(to_decide[0].params.contains(&format!("/app/appeals/{id}")), "{}", to_decide[0].params);

    // Files: PDF, JPEG or PNG judged by content, by the venue's manager.
    assert_eq!(upload(&app, &manager, id, "bins.png", png_bytes()).await.status(), 201);
    assert_error(
        upload(&app, &manager, id, "notes.txt", b"plain text".to_vec()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    let seen = json(app.get(&format!("/api/v1/appeals/{id}"), Some(&manager)).await).await;
    assert_eq!(seen["files"].as_array().map(Vec::len), Some(1), "{seen}");
    let file = app.get(seen["files"][0]["href"].as_str().unwrap(), Some(&a.officer)).await;
    assert_eq!(file.bytes().await.unwrap().to_vec(), png_bytes());
    assert_eq!(app.get(&format!("/api/v1/appeals/{id}"), Some(&stranger)).await.status(), 404);
    let mine = json(app.get("/api/v1/appeals", Some(&stranger)).await).await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(0));

    // The officer who suspended took part: another decides.
    let decision = format!("/api/v1/appeals/{id}/decision");
    assert_error(
        app.post(&decision, Some(&a.officer), json!({"outcome": "upheld", "reason": "x"})).await,
        403,
        "took_part",
    )
    .await;
    let (_, other_officer) = app.user("Second officer", &[Role::Officer], None).await;
    assert_error(
        app.post(&decision, Some(&other_officer), json!({"outcome": "upheld", "reason": " "})).await,
        422,
        "reason_required",
    )
    .await;
    assert_eq!(public_json(&app, &a.number).await["status"], "suspended", "a refused decision changes nothing");
    let r = json(
        app.post(
            &decision,
            Some(&other_officer),
            json!({"outcome": "upheld", "reason": "The photos show the bins in use."}),
        )
        .await,
    )
    .await;
    assert_eq!(r["status"], "upheld", "{r}");
    let told = app.state.db.read(ecolabel::storage::notifications::all).await.unwrap();
    let decided: Vec<_> = told.iter().filter(|n| n.kind == "appeal_decided").collect();
    assert_eq!(decided.len(), 1, "the manager who filed it is told");
    assert!(decided[0].params.contains("upheld"));
    assert_eq!(public_json(&app, &a.number).await["status"], "valid");
    let feed = app.get(&format!("/feed.atom?certificate={}", a.number), None).await.text().await.unwrap();
    assert!(feed.contains(&format!("{} reinstated", a.number)), "{feed}");
    assert_error(
        app.post(&decision, Some(&other_officer), json!({"outcome": "dismissed", "reason": "again"}))
            .await,
        409,
        "appeal_decided",
    )
    .await;
    let history = json(app.get(&format!("/api/v1/certificates/{}", a.number), Some(&a.officer)).await).await;
    let last = history["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["detail"]["reason"].as_str()),
        (Some("reinstated"), Some("appeal upheld")),
        "{last}"
    );
}

async fn a_rejection_appeal_reopens_the_audit_or_is_dismissed(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let (officer_id, officer) = app.user("Deciding officer", &[Role::Officer], None).await;
    let venue = app.venue(&assessor, "Green Yurt", "Astana").await;
    let (_, manager) = app.user("Manager", &[Role::Venue], Some(venue)).await;
    let rejection = json!({"decision": "reject", "reason": "Recycling handover not evidenced"});
    let id = app.draft_with_evidence(&assessor, venue, gold_measurements()).await;
    assert_eq!(
        app.post(&format!("/api/v1/assessments/{id}/submit"), Some(&assessor), json!({})).await.status(),
        200
    );
    let r = app.post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), rejection.clone()).await;
    assert_eq!(r.status(), 200);

    let r = app
        .post(
            "/api/v1/appeals",
            Some(&manager),
            json!({"subject": "rejection", "assessment_id": id, "statement": STATEMENT}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let appeal = json(r).await["id"].as_i64().unwrap();
    let decision = format!("/api/v1/appeals/{appeal}/decision");
    let upheld = json!({"outcome": "upheld", "reason": "Handover notes were in the file."});
    assert_error(app.post(&decision, Some(&officer), upheld.clone()).await, 403, "took_part").await;
    let (admin_id, admin) = app.user("Admin", &[Role::Admin], None).await;
    assert_ne!(admin_id, officer_id);
    assert_eq!(app.post(&decision, Some(&admin), upheld.clone()).await.status(), 200);
    let audit = json(app.get(&format!("/api/v1/assessments/{id}"), Some(&assessor)).await).await;
    assert_eq!(audit["status"], "submitted", "reopened for a new decision: {audit}");
    let queue = json(app.get(&format!("/api/v1/assessments/{id}/events"), Some(&assessor)).await).await;
    assert!(queue.to_string().contains("reopened"), "{queue}");

    // Rejected again, appealed again, dismissed: it stays rejected.
    let r = app.post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), rejection.clone()).await;
    assert_eq!(r.status(), 200);
    let r = app
        .post(
            "/api/v1/appeals",
            Some(&manager),
            json!({"subject": "rejection", "assessment_id": id, "statement": STATEMENT}),
        )
        .await;
    let second = json(r).await["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/appeals/{second}/decision"),
            Some(&admin),
            json!({"outcome": "dismissed", "reason": "The notes are unsigned."}),
        )
        .await;
    assert_eq!(json(r).await["status"], "dismissed");
    let audit = json(app.get(&format!("/api/v1/assessments/{id}"), Some(&assessor)).await).await;
    assert_eq!(audit["status"], "rejected");
}

async fn appeals_close_thirty_days_after_the_decision(app: TestApp) {
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let (_, manager) = app.user("Manager", &[Role::Venue], Some(a.venue)).await;
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/withdraw", a.number),
            Some(&a.officer),
            json!({"reason": "Venue closed"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // A month later, by the registry's clock.
    app.state.clock.advance(chrono::TimeDelta::days(31));
    let r = app
        .post(
            "/api/v1/appeals",
            Some(&manager),
            json!({"subject": "withdrawal", "certificate": a.number, "statement": STATEMENT}),
        )
        .await;
    assert_error(r, 409, "appeal_window_closed").await;
}

/// The venue manager appeals from the portal (statement and a file in one form); the officer decides there.
async fn the_portal_carries_an_appeal_from_the_venue_to_a_decision(app: TestApp) {
    use crate::signin::{enrol, person, Browser, PASSWORD};
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    person(&app, "manager@spz.kz", &[Role::Venue], Some(a.venue)).await;
    person(&app, "officer2@example.kz", &[Role::Officer], None).await;
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", a.number),
            Some(&a.officer),
            json!({"reason": "Bins missing"}),
        )
        .await;
    assert_eq!(r.status(), 200);

    let mut b = Browser::new(&app);
    b.sign_in("manager@spz.kz", PASSWORD).await;
    let p = b.get(&format!("/app/certificates/{}?lang=en", a.number)).await;
    let link = format!("/app/appeals/new?certificate={}&amp;subject=suspension", a.number);
    assert!(p.body.contains(&link) && p.body.contains("Appeal this decision"), "{}", p.body);
    let p = b.get(&format!("/app/appeals/new?certificate={}&subject=suspension&lang=en", a.number)).await;
    assert_eq!(p.status, 200);
    let fields = [("subject", "suspension"), ("certificate", a.number.as_str()), ("statement", "short")];
    let p = b.upload("/app/appeals?lang=en", &fields, &[("bins.png", png_bytes())], true).await;
    assert_eq!(p.status, 422, "{}", p.body);
    let fields = [("subject", "suspension"), ("certificate", a.number.as_str()), ("statement", STATEMENT)];
    let p = b.upload("/app/appeals?lang=en", &fields, &[("bins.png", png_bytes())], true).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let to = p.location.unwrap();
    assert!(to.ends_with("?done=appeal_sent"), "{to}");
    let appeal = to.split('?').next().unwrap().to_string();
    let p = b.get(&format!("{appeal}?lang=en")).await;
    assert!(
        p.body.contains(STATEMENT) && p.body.contains("bins.png") && p.body.contains("Open"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("value=\"upheld\""), "the venue does not decide");

    let mut o = Browser::new(&app);
    o.sign_in("officer2@example.kz", PASSWORD).await;
    enrol(&mut o).await;
    assert!(o.get("/app/appeals?lang=en").await.body.contains(&appeal));
    // The officer who may decide it finds it on the home page; so do certificates due soon (none yet).
    let home = o.get("/app?lang=en").await;
    assert!(
        home.body.contains("Appeals for you to decide") && home.body.contains(&format!("href=\"{appeal}\"")),
        "{}",
        home.body
    );
    assert!(!home.body.contains("expiring soon"));
    let p = o.form(&format!("{appeal}?lang=en"), &[("outcome", "upheld"), ("reason", "")]).await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Say why."), "{}", p.body);
    let p = o.form(&appeal, &[("outcome", "upheld"), ("reason", "Photos show the bins in use.")]).await;
    assert_eq!(p.status, 200, "a confirmation step first");
    assert!(p.body.contains("name=\"outcome\" value=\"upheld\""), "{}", p.body);
    let p = o
        .form(
            &appeal,
            &[("outcome", "upheld"), ("reason", "Photos show the bins in use."), ("confirm", "yes")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(o.get(&format!("{appeal}?lang=en")).await.body.contains("Upheld"));
    assert_eq!(public_json(&app, &a.number).await["status"], "valid");
}

crate::both_backends!(
    an_upheld_appeal_reinstates_a_suspended_certificate,
    a_rejection_appeal_reopens_the_audit_or_is_dismissed,
    appeals_close_thirty_days_after_the_decision,
    the_portal_carries_an_appeal_from_the_venue_to_a_decision,
);

// Complaints: anyone reports a problem with a label from its public page (no login, rate-limited, with a
// reference in the reply); officers list and triage them; the reporter's e-mail never reaches the public.

use crate::helpers::*;
use ecolabel::domain::auth::Role;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

async fn report(app: &TestApp, number: &str, form: Form) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/certificates/{number}/complaints")))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn with_photo(category: &str, description: &str, email: Option<&str>, photo: Vec<u8>) -> Form {
    let mut f = Form::new().text("category", category.to_string()).text("description", description.to_string());
    if let Some(e) = email {
        f = f.text("email", e.to_string());
    }
    f.part("photo", Part::bytes(photo).file_name("door.png"))
}

async fn complaints(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let v = json(app.get(&format!("/api/v1/complaints{query}"), Some(token)).await).await;
    v["items"].as_array().unwrap().clone()
}

async fn the_public_reports_a_problem_and_officers_triage_it(app: TestApp) {
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let officer = app.token(&[Role::Officer]).await;

    // The public page leads to the form, in the reader's language.
    let page = app.get(&format!("/certificates/{}?lang=kk", a.number), None).await.text().await.unwrap();
    assert!(page.contains(&format!("href=\"/certificates/{}/complaints/new?lang=kk\"", a.number)), "{page}");
    assert!(page.contains("Осы белгіге қатысты мәселе туралы хабарлау"));
    let form = app.get(&format!("/certificates/{}/complaints/new?lang=ru", a.number), None).await;
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("Что вы увидели?"));
    assert_eq!(app.get("/certificates/GEL-2099-000001/complaints/new", None).await.status(), 404);

    // Bad reports are refused with every problem named, and nothing is stored.
    let r = report(&app, &a.number, Form::new().text("category", "spam").text("description", "short")).await;
    let body = assert_error(r, 422, "invalid_complaint").await;
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["category", "description"]);
    let r = report(&app, &a.number, with_photo("other", "A photo that is not one", None, pdf_bytes("x"))).await;
    assert_error(r, 415, "unsupported_media_type").await;
    let r = report(
        &app,
        &a.number,
        with_photo("other", "A photo far too large", None, vec![0u8; 5 * 1024 * 1024 + 1]),
    )
    .await;
    assert_error(r, 413, "payload_too_large").await;
    let r = report(&app, "GEL-2099-000001", with_photo("other", "No such certificate here", None, png_bytes())).await;
    assert_error(r, 404, "not_found").await;
    let r = app
        .post(&format!("/certificates/{}/complaints", a.number), None, json!({"category": "other"}))
        .await;
    assert_error(r, 415, "unsupported_media_type").await;
    assert!(complaints(&app, &officer, "").await.is_empty(), "nothing stored");

    // A report with a photo and an e-mail (multipart), and one as a plain form without either.
    let r = report(
        &app,
        &a.number,
        with_photo(
            "label_misuse",
            "The label hangs at the door, but the bins are gone.",
            Some("Aigerim@Example.KZ"),
            png_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status(), 201);
    let receipt = json(r).await;
    let reference = receipt["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("CMP-") && reference.len() == 13, "{receipt}");
    assert_eq!(
        (receipt["certificate"].as_str(), receipt["status"].as_str()),
        (Some(a.number.as_str()), Some("received"))
    );
    let r = app
        .client
        .post(app.url(&format!("/certificates/{}/complaints?lang=en", a.number)))
        .header("accept", "text/html")
        .form(&[("category", "criteria_not_met"), ("description", "Plastic cups are back at the counter.")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let thanks = r.text().await.unwrap();
    assert!(thanks.contains("Your reference:") && thanks.contains("CMP-"), "{thanks}");

    // Officers see both, newest first, with the e-mail; others may not look.
    let list = complaints(&app, &officer, "").await;
    assert_eq!(list.len(), 2);
    let first = &list[1];
    assert_eq!(first["reference"], reference.as_str());
    assert_eq!(first["email"], "aigerim@example.kz");
    assert_eq!(first["language"], "kk", "no lang asked: the registry's first language");
    assert_eq!(list[0]["email"], Value::Null);
    assert_eq!(list[0]["category"], "criteria_not_met");
    let photo = app.get(first["photo"].as_str().unwrap(), Some(&officer)).await;
    assert_eq!(photo.headers()["content-type"], "image/png");
    assert_eq!(photo.bytes().await.unwrap().to_vec(), png_bytes());
    assert_error(app.get("/api/v1/complaints", Some(&a.assessor)).await, 403, "forbidden_role").await;
    assert_eq!(app.get("/api/v1/complaints", None).await.status(), 401);

    // The e-mail is never public.
    let public = app.get(&format!("/certificates/{}?lang=en", a.number), None).await.text().await.unwrap();
    let public_json = app
        .request(reqwest::Method::GET, &format!("/certificates/{}", a.number), None)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let feed = app.get("/feed.atom", None).await.text().await.unwrap();
    for text in [public, public_json, feed] {
        assert!(!text.contains("aigerim"), "{text}");
    }

    // Triage: acknowledge, investigate with a special audit of this venue, close with a suspension.
    let id = first["id"].as_i64().unwrap();
    let triage_path = format!("/api/v1/complaints/{id}/triage");
    let triage = |body: Value| app.post(&triage_path, Some(&officer), body);
    let r = triage(json!({"action": "acknowledge"})).await;
    assert_eq!(json(r).await["status"], "acknowledged");
    assert_error(triage(json!({"action": "acknowledge"})).await, 409, "illegal_transition").await;
    let other = app.issue("Samal Cafe", "Almaty").await;
    let other_audit = app.draft_with_evidence(&other.assessor, other.venue, gold_measurements()).await;
    assert_error(triage(json!({"action": "investigate", "assessment_id": other_audit})).await, 422, "other_venue").await;
    let special = app.draft_of_kind(&a.assessor, a.venue, gold_measurements(), "surveillance").await;
    let r = json(triage(json!({"action": "investigate", "assessment_id": special})).await).await;
    assert_eq!((r["status"].as_str(), r["assessment_id"].as_i64()), (Some("investigating"), Some(special)));
    assert_error(triage(json!({"action": "close"})).await, 422, "outcome_required").await;
    let r = json(
        triage(
            json!({"action": "close", "outcome": "Bins removed; label shown without separate collection.", "suspend_reason": "Separate collection stopped"}),
        )
        .await,
    )
    .await;
    assert_eq!((r["status"].as_str(), r["suspended"].as_bool()), (Some("closed"), Some(true)), "{r}");
    let p = json(
        app.request(reqwest::Method::GET, &format!("/certificates/{}", a.number), None)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (p["status"].as_str(), p["status_reason"].as_str()),
        (Some("suspended"), Some("Separate collection stopped"))
    );
    assert_error(triage(json!({"action": "close", "outcome": "again"})).await, 409, "illegal_transition").await;
    let open = complaints(&app, &officer, "?status=received").await;
    assert_eq!(open.len(), 1, "the other one is still waiting");

    // The portal: an officer finds it in the list, reads it, and acknowledges it.
    crate::signin::person(&app, "officer@example.kz", &[Role::Officer], None).await;
    let mut b = crate::signin::Browser::new(&app);
    b.sign_in("officer@example.kz", crate::signin::PASSWORD).await;
    crate::signin::enrol(&mut b).await;
    let waiting = open[0]["reference"].as_str().unwrap();
    // The home page lists what waits for this officer, linking to it.
    let home = b.get("/app?lang=en").await;
    assert!(
        home.body.contains("Complaints to triage") && home.body.contains(&format!("href=\"/app/complaints/{}\"", open[0]["id"])),
        "{}",
        home.body
    );
    let p = b.get("/app/complaints?status=received&lang=en").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains(waiting) && !p.body.contains(&reference), "{}", p.body);
    let path = format!("/app/complaints/{}?lang=en", open[0]["id"]);
    let p = b.get(&path).await;
    assert!(
        p.body.contains("Plastic cups are back at the counter.") && p.body.contains("value=\"acknowledge\""),
        "{}",
        p.body
    );
    let p = b.form(&path, &[("action", "close"), ("outcome", "")]).await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Closing needs an outcome."), "{}", p.body);
    let p = b.form(&path, &[("action", "acknowledge")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(b.get(&path).await.body.contains("Acknowledged"));
    assert!(
        b.get(&format!("/app/complaints/{id}?lang=en")).await.body.contains("aigerim@example.kz"),
        "officers see the address"
    );
}

/// Reports are limited per client (the sign-in forms' per-minute limit): the third within the minute is refused.
#[actix_web::test]
async fn reports_are_rate_limited() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| c.signin_rate = 2).await else {
        return;
    };
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let send = || {
        report(
            &app,
            &a.number,
            Form::new().text("category", "other").text("description", "Something odd at the venue."),
        )
    };
    assert_eq!(send().await.status(), 201);
    assert_eq!(send().await.status(), 201);
    assert_eq!(send().await.status(), 429);
}

crate::both_backends!(the_public_reports_a_problem_and_officers_triage_it);

/// Registry-wide ceilings, whatever addresses the reports come from: per certificate and per hour, the
/// photos' storage, and past a few reports an hour one digest to each officer instead of one per report.
async fn complaint_ceilings_hold_for_the_whole_registry(app: TestApp) {
    let officer_id = crate::signin::person(&app, "triage@example.kz", &[Role::Officer], None).await;
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let b = app.issue("Green Cup Café", "Almaty").await;
    let c = app.issue("Expo Hall", "Astana").await;
    let text = |n: usize| {
        Form::new()
            .text("category", "other")
            .text("description", format!("Something odd at the venue, report {n}."))
    };
    // Three a certificate, five in all in the hour, two messages an hour each; the photos' storage full at
    // one photo.
    for n in 0..3 {
        assert_eq!(report(&app, &a.number, text(n)).await.status(), 201);
    }
    assert_error(report(&app, &a.number, text(3)).await, 429, "too_many_attempts").await;
    assert_eq!(
        report(&app, &b.number, with_photo("other", "A photo of the bins by the door", None, png_bytes()))
            .await
            .status(),
        201
    );
    let r = report(&app, &b.number, with_photo("other", "Another photo of the bins by the door", None, png_bytes())).await;
    assert_error(r, 422, "photo_storage_full").await;
    assert_eq!(report(&app, &b.number, text(5)).await.status(), 201, "without a photo it is taken");
    assert_error(report(&app, &c.number, text(6)).await, 429, "too_many_attempts").await;
    // The officer got two messages, then one digest for the hour.
    let kinds: Vec<String> = app
        .state
        .db
        .read(move |conn| -> ecolabel::storage::Result<Vec<String>> {
            Ok(ecolabel::storage::notifications::all(conn)?
                .into_iter()
                .filter(|n| n.recipient_user_id == Some(officer_id))
                .map(|n| n.kind)
                .collect())
        })
        .await
        .unwrap();
    assert_eq!(kinds.iter().filter(|k| *k == "complaint_to_triage").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "complaints_digest").count(), 1, "{kinds:?}");
}

#[actix_web::test]
async fn complaint_ceilings_hold_on_sqlite() {
    let Some(app) = spawn_app_with(Backend::Sqlite, ceilings).await else { return };
    complaint_ceilings_hold_for_the_whole_registry(app).await;
}

#[actix_web::test]
async fn complaint_ceilings_hold_on_postgres() {
    let Some(app) = spawn_app_with(Backend::Postgres, ceilings).await else {
        return;
    };
    complaint_ceilings_hold_for_the_whole_registry(app).await;
}

fn ceilings(c: &mut ecolabel::config::Config) {
    c.complaints = ecolabel::app::complaints::Ceilings {
        per_hour: 5,
        per_certificate_hour: 3,
        photo_bytes: png_bytes().len() as i64 + 10,
        messages_per_hour: 2,
    };
}

// The portal's certificate pages as people use them: a venue manager sees only their venue's
// certificates and downloads the PDF and the QR images with the session; an officer suspends and
// withdraws from the page (reason, confirmation); refusals for other venues and other roles.

use crate::helpers::*;
use crate::signin::{enrol, person, Browser, PASSWORD};
use ecolabel::domain::auth::Role;
use reqwest::Method;
use std::process::Command;

/// The public certificate JSON, as anyone reads it.
async fn public_json(app: &TestApp, number: &str) -> serde_json::Value {
    let r = app
        .request(Method::GET, &format!("/certificates/{number}"), None)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    json(r).await
}

async fn venue_managers_see_and_download_their_certificates(app: TestApp) {
    let ours = app.issue("Smart Plastic Zone", "Astana").await;
    let theirs = app.issue("Other Cafe", "Almaty").await;
    person(&app, "manager@spz.kz", &[Role::Venue], Some(ours.venue)).await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("manager@spz.kz", PASSWORD).await.location.as_deref(), Some("/app"));
    let p = b.get("/app?lang=en").await;
    assert!(
        p.body.contains(&format!("/app/certificates/{}", ours.number)),
        "their certificate on the home page"
    );
    assert!(!p.body.contains(&theirs.number));
    let p = b.get("/app/certificates?lang=en").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains(&ours.number), "their certificate is listed");
    assert!(!p.body.contains(&theirs.number), "another venue's is not");
    assert!(p.body.contains("✓") && p.body.contains("Valid"), "status as symbol and text");
    // Another venue's certificate does not exist for them, in the page and in every download.
    for path in [
        format!("/app/certificates/{}", theirs.number),
        format!("/app/certificates/{}/qr.png", theirs.number),
        format!("/app/certificates/{}/qr.svg", theirs.number),
    ] {
        assert_eq!(b.get(&path).await.status, 404, "{path}");
    }
    assert_eq!(
        b.api(Method::GET, &format!("/api/v1/certificates/{}/pdf", theirs.number), None).await.status(),
        404
    );

    let p = b.get(&format!("/app/certificates/{}?lang=en", ours.number)).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains(&ours.qr_text), "the QR link is shown");
    assert!(
        !p.body.contains("value=\"suspend\"") && !p.body.contains("value=\"withdraw\""),
        "no status actions for a venue manager"
    );
    // The PDF: the session is enough.
    let r = b.api(Method::GET, &format!("/api/v1/certificates/{}/pdf", ours.number), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let file = app.dir.path().join("ours.pdf");
    std::fs::write(&file, &pdf).unwrap();
    if crate::pdf::tool("pdftotext") {
        let out = Command::new("pdftotext").args([file.to_str().unwrap(), "-"]).output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains(&ours.number), "that very certificate");
    }
    // The QR images decode to the certificate's QR text.
    let r = b.api(Method::GET, &format!("/app/certificates/{}/qr.svg", ours.number), None).await;
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().starts_with("<svg"));
    let r = b.api(Method::GET, &format!("/app/certificates/{}/qr.png", ours.number), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = app.dir.path().join("qr.png");
    std::fs::write(&png, r.bytes().await.unwrap()).unwrap();
    if crate::pdf::tool("zbarimg") {
        let out = Command::new("zbarimg")
            .args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable", png.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), ours.qr_text);
    }
    // A venue manager cannot change a status, even by posting the form.
    let p = b
        .form(&format!("/app/certificates/{}?lang=en", ours.number), &[("action", "suspend"), ("reason", "x")])
        .await;
    assert_eq!(p.status, 403);
    let status = public_json(&app, &ours.number).await;
    assert_eq!(status["status"], "valid");
    // Eleven months and a half later its surveillance is due within 30 days: the home page says so.
    assert!(!b.get("/app?lang=en").await.body.contains("due for surveillance"));
    app.state.clock.advance(chrono::TimeDelta::days(350));
    b.sign_in("manager@spz.kz", PASSWORD).await;
    let p = b.get("/app?lang=en").await;
    assert!(p.body.contains("Certificates due for surveillance or expiring soon"), "{}", p.body);
    assert!(p.body.contains(&format!("href=\"/app/certificates/{}\"", ours.number)) && !p.body.contains(&theirs.number));
}

async fn officers_suspend_and_withdraw_from_the_page(app: TestApp) {
    let cert = app.issue("Smart Plastic Zone", "Astana").await;
    person(&app, "officer2@example.kz", &[Role::Officer], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("officer2@example.kz", PASSWORD).await;
    enrol(&mut b).await;
    let page = format!("/app/certificates/{}?lang=en", cert.number);
    let p = b.get(&page).await;
    assert!(p.body.contains("value=\"suspend\"") && p.body.contains("value=\"withdraw\""));
    // Officers search every certificate by name.
    let p = b.get("/app/certificates?q=plastic").await;
    assert!(p.body.contains(&cert.number));
    // A suspension needs the public reason.
    let p = b.form(&page, &[("action", "suspend"), ("reason", "  ")]).await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Give the public reason") && p.body.contains("aria-invalid=\"true\""));
    // A confirmation step names what will happen; nothing changes until it is confirmed.
    let p = b.form(&page, &[("action", "suspend"), ("reason", "Separate collection stopped")]).await;
    assert_eq!(p.status, 200);
    assert!(
        p.body.contains("Suspend certificate") && p.body.contains("name=\"confirm\" value=\"yes\""),
        "{}",
        p.body
    );
    assert_eq!(public_json(&app, &cert.number).await["status"], "valid");
    let p = b
        .form(&page, &[("action", "suspend"), ("reason", "Separate collection stopped"), ("confirm", "yes")])
        .await;
    assert_eq!(p.status, 303);
    assert!(p.location.as_deref().unwrap().ends_with("?done=suspend"));
    let public = public_json(&app, &cert.number).await;
    assert_eq!(public["status"], "suspended");
    assert_eq!(public["status_reason"], "Separate collection stopped");
    // The same form sent again changes nothing more (the status moved on): a conflict, said on the page.
    let p = b
        .form(&page, &[("action", "suspend"), ("reason", "Separate collection stopped"), ("confirm", "yes")])
        .await;
    assert_eq!(p.status, 409);
    // Withdrawal is confirmed on a page that says it is for good.
    b.get(&page).await;
    let p = b.form(&page, &[("action", "withdraw"), ("reason", "No plastic stream for six months")]).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("for good"), "{}", p.body);
    let p = b
        .form(
            &page,
            &[("action", "withdraw"), ("reason", "No plastic stream for six months"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(p.status, 303);
    let public = public_json(&app, &cert.number).await;
    assert_eq!(public["status"], "withdrawn");
    let p = b.get(&page).await;
    assert!(p.body.contains("can no longer be changed"));
}

fn between<'b>(s: &'b str, start: &str, end: &str) -> Option<&'b str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

async fn admins_invite_and_look_after_people(app: TestApp) {
    person(&app, "admin@example.kz", &[Role::Admin], None).await;
    let mut a = Browser::new(&app);
    a.sign_in("admin@example.kz", PASSWORD).await;
    enrol(&mut a).await;
    let p = a.get("/app/users?lang=en").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("Invite a person"));
    // Invite: the link is shown once and works.
    let p = a
        .form(
            "/app/users?lang=en",
            &[
                ("email", "Aigerim@Example.kz"),
                ("name", "Aigerim Sarsenova"),
                ("role", "assessor"),
                ("role", "officer"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let link = between(&p.body, "id=\"invitation-link\">", "<").unwrap().to_string();
    let path = format!("/invite/{}", link.rsplit_once("/invite/").unwrap().1);
    let mut newcomer = Browser::new(&app);
    assert_eq!(newcomer.get(&path).await.status, 200);
    assert_eq!(
        newcomer.form(&path, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await.status,
        303
    );
    let users = json(app.get("/api/v1/users", Some(&app.token(&[Role::Admin]).await)).await).await;
    let aigerim = users.as_array().unwrap().iter().find(|u| u["email"] == "aigerim@example.kz").unwrap().clone();
    assert_eq!(aigerim["roles"], serde_json::json!(["officer", "assessor"]));
    let id = aigerim["id"].as_i64().unwrap();
    // Bad input is said on the form and changes nothing: a malformed address, a taken one, a venue manager without a venue.
    for (email, role, says) in [
        ("not-an-address", "assessor", "name@example.kz"),
        ("aigerim@example.kz", "assessor", "already has"),
        ("venue@example.kz", "venue", "bound to a venue"),
    ] {
        let p = a.form("/app/users?lang=en", &[("email", email), ("name", "Someone"), ("role", role)]).await;
        assert_eq!(p.status, 422, "{email}");
        assert!(p.body.contains(says), "{email}: {}", p.body);
    }
    assert_eq!(
        json(app.get("/api/v1/users", Some(&app.token(&[Role::Admin]).await)).await)
            .await
            .as_array()
            .unwrap()
            .len(),
        users.as_array().unwrap().len() + 1
    );
    // Locked out after five failures; the admin unlocks from the person's page.
    let mut b = Browser::new(&app);
    for _ in 0..5 {
        b.form("/login", &[("email", "aigerim@example.kz"), ("password", "not the password at all")])
            .await;
    }
    assert_eq!(b.form("/login", &[("email", "aigerim@example.kz"), ("password", PASSWORD)]).await.status, 429);
    let page = format!("/app/users/{id}?lang=en");
    let p = a.get(&page).await;
    // Sign-in events in words, never codes.
    assert!(
        p.body.contains("Locked after failed attempts · done") && p.body.contains("Sign-in · failed"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("sign_in ·"), "{}", p.body);
    let p = a.get(&format!("/app/users/{id}?lang=ru")).await;
    assert!(p.body.contains("Вход · неудачно"), "{}", p.body);
    a.get(&page).await;
    let p = a.form(&format!("/app/users/{id}"), &[("action", "unlock")]).await;
    assert_eq!(p.location.as_deref(), Some(format!("/app/users/{id}?done=unlocked").as_str()));
    assert_eq!(b.form("/login", &[("email", "aigerim@example.kz"), ("password", PASSWORD)]).await.status, 303);
    // End all their sessions; a new password link is shown once.
    a.get(&page).await;
    let p = a.form(&format!("/app/users/{id}"), &[("action", "end_sessions")]).await;
    assert_eq!(p.status, 303);
    assert_eq!(b.api(Method::GET, "/api/v1/me", None).await.status(), 401);
    a.get(&page).await;
    let p = a.form(&format!("/app/users/{id}"), &[("action", "password_link")]).await;
    assert_eq!(p.status, 200);
    assert!(between(&p.body, "id=\"password-link\">", "<").unwrap().contains("/invite/"));
    // Other roles may not see these pages.
    let mut other = Browser::new(&app);
    other.sign_in("aigerim@example.kz", PASSWORD).await;
    assert_eq!(
        other.get("/app/users").await.location.as_deref(),
        Some("/app/account/totp"),
        "an officer enrols first"
    );
    enrol(&mut other).await;
    assert_eq!(other.get("/app/users").await.status, 403);
}

async fn officers_review_and_decide_audits_in_the_portal(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let (_, audit) = app.submitted_assessment(&assessor, gold_measurements()).await;
    person(&app, "reviewer@example.kz", &[Role::Officer], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("reviewer@example.kz", PASSWORD).await;
    enrol(&mut b).await;
    let p = b.get("/app?lang=en").await;
    assert!(p.body.contains("Submitted audits waiting for a decision: 1."), "what to do next");
    let p = b.get("/app/reviews?lang=en").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains(&format!("/app/assessments/{audit}")), "the queue lists it");
    let page = format!("/app/assessments/{audit}?lang=en");
    let p = b.get(&page).await;
    assert_eq!(p.status, 200);
    for needle in [
        "Figures against thresholds",
        "✓ met",
        "plastic_reduction.pdf",
        "submitted",
        "value=\"approve\"",
        "value=\"reject\"",
    ] {
        assert!(p.body.contains(needle), "{needle} in the review page");
    }
    // A rejection without a reason is refused on the page, and nothing changes.
    let p = b.form(&page, &[("action", "reject"), ("reason", " ")]).await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("A rejection needs a reason"));
    let status = json(app.get(&format!("/api/v1/assessments/{audit}"), Some(&assessor)).await).await["status"].clone();
    assert_eq!(status, "submitted");
    // Approval issues the certificate and leads to it; the same form again changes nothing.
    b.get(&page).await;
    let p = b.form(&page, &[("action", "approve")]).await;
    assert_eq!(p.status, 200, "a confirmation step first");
    assert!(p.body.contains("Issue a certificate for") && p.body.contains("valid until"), "{}", p.body);
    let p = b.form(&page, &[("action", "approve"), ("confirm", "yes")]).await;
    assert_eq!(p.status, 303);
    let to = p.location.unwrap();
    assert!(to.starts_with("/app/certificates/GEL-") && to.ends_with("?done=issued"), "{to}");
    assert!(b.get(&format!("{to}&lang=en")).await.body.contains("Certificate issued"));
    let p = b.form(&page, &[("action", "approve"), ("confirm", "yes")]).await;
    assert_eq!(p.status, 409, "a double submission does nothing twice");
    let certs = json(app.get("/api/v1/certificates", Some(&assessor)).await).await;
    assert_eq!(certs["items"].as_array().unwrap().len(), 1);
}

async fn an_officer_who_did_the_audit_sees_why_they_cannot_decide(app: TestApp) {
    person(&app, "both@example.kz", &[Role::Assessor, Role::Officer], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("both@example.kz", PASSWORD).await;
    enrol(&mut b).await;
    // Their own API token for their audit.
    let token = json(b.api(Method::POST, "/api/v1/me/tokens", Some(serde_json::json!({"label": "audit"}))).await).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, audit) = app.submitted_assessment(&token, gold_measurements()).await;
    let page = format!("/app/assessments/{audit}?lang=en");
    let p = b.get(&page).await;
    assert!(p.body.contains("You did this audit, so you cannot decide it"));
    assert!(!p.body.contains("value=\"approve\""));
    // The server refuses anyway.
    let p = b.form(&page, &[("action", "approve")]).await;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("You did this audit"));
    // A venue manager of another venue, or a non-officer, does not see it.
    let other = app.venue(&token, "Other Place", "Almaty").await;
    person(&app, "manager@other.kz", &[Role::Venue], Some(other)).await;
    let mut v = Browser::new(&app);
    v.sign_in("manager@other.kz", PASSWORD).await;
    assert_eq!(v.get(&page).await.status, 404);
    assert_eq!(v.get("/app/reviews").await.status, 403);
}

async fn an_assessor_creates_a_venue_and_starts_an_audit(app: TestApp) {
    person(&app, "assessor@example.kz", &[Role::Assessor], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("assessor@example.kz", PASSWORD).await;
    let p = b.get("/app/venues/new?lang=en").await;
    assert_eq!(p.status, 200);
    for label in ["Name in Kazakh", "Kind of venue", "Contact e-mail"] {
        assert!(p.body.contains(label), "{label}");
    }
    let count = || {
        let db = app.state.db.clone();
        async move {
            use diesel::prelude::*;
            db.read(|c| Ok::<_, ecolabel::storage::Error>(ecolabel::storage::schema::venues::table.count().get_result::<i64>(c)?))
                .await
                .unwrap()
        }
    };
    // Errors are shown next to their fields, and nothing is created.
    let bad = [
        ("name", ""),
        ("address", "Mangilik El 55"),
        ("city", "Astana"),
        ("country", "KZ"),
        ("category", "expo_pavilion"),
        ("contact_email", "nope"),
    ];
    let p = b.form("/app/venues?lang=en", &bad).await;
    assert_eq!(p.status, 422);
    assert!(
        p.body.contains("id=\"name-error\"") && p.body.contains("id=\"contact_email-error\""),
        "{}",
        p.body
    );
    assert!(p.body.contains("aria-describedby=\"name-error\""));
    assert_eq!(count().await, 0);
    let good = [
        ("name", "Smart Plastic Zone"),
        ("name_kk", "Smart Plastic Zone жобасы"),
        ("name_ru", "Проект Smart Plastic Zone"),
        ("name_en", "Smart Plastic Zone project"),
        ("address", "Mangilik El 55"),
        ("city", "Astana"),
        ("country", "KZ"),
        ("category", "expo_pavilion"),
        ("contact_email", "hello@spz.kz"),
    ];
    let p = b.form("/app/venues", &good).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let to = p.location.unwrap();
    assert!(to.ends_with("?done=venue_created"), "{to}");
    let venue_page = to.split('?').next().unwrap().to_string();
    let venue_id: i64 = venue_page.rsplit('/').next().unwrap().parse().unwrap();
    let p = b.get(&format!("{venue_page}?lang=ru")).await;
    assert!(p.body.contains("Проект Smart Plastic Zone") && p.body.contains("Начать аудит"));
    // A surveillance audit is offered only for a venue with a certificate to keep.
    assert!(!p.body.contains("value=\"surveillance\""), "no certificate yet");
    let certified = app.issue("Certified Hall", "Astana").await;
    let p = b.get(&format!("/app/venues/{}?lang=en", certified.venue)).await;
    assert!(p.body.contains("value=\"surveillance\""), "{}", p.body);
    // Editing keeps the other fields.
    let mut edited = good.to_vec();
    edited[5] = ("city", "Astana city");
    let p = b.form(&venue_page, &edited).await;
    assert_eq!(p.status, 303);
    let token = app.token(&[Role::Admin]).await;
    let v = json(app.get(&format!("/api/v1/venues/{venue_id}"), Some(&token)).await).await;
    assert_eq!(v["city"], "Astana city");
    assert_eq!(v["name_kk"], "Smart Plastic Zone жобасы");
    // Start an audit: a draft pinned to the criteria in force.
    b.get(&venue_page).await;
    let p = b.form("/app/assessments/new", &[("venue_id", &venue_id.to_string())]).await;
    assert_eq!(p.status, 303);
    let audit_page = p.location.unwrap().split('?').next().unwrap().to_string();
    let p = b.get(&format!("{audit_page}?lang=en")).await;
    assert!(p.body.contains("Draft") && p.body.contains("gold-eco-label v1"), "{}", p.body);
    // A venue manager of another venue sees neither this venue nor the form to make one.
    let other = app.venue(&token, "Other Place", "Almaty").await;
    person(&app, "manager@other.kz", &[Role::Venue], Some(other)).await;
    let mut v = Browser::new(&app);
    v.sign_in("manager@other.kz", PASSWORD).await;
    assert_eq!(v.get(&venue_page).await.status, 404);
    assert_eq!(v.get("/app/venues/new").await.status, 403);
    assert_eq!(v.get(&audit_page).await.status, 404);
}

crate::both_backends!(
    venue_managers_see_and_download_their_certificates,
    officers_suspend_and_withdraw_from_the_page,
    admins_invite_and_look_after_people,
    officers_review_and_decide_audits_in_the_portal,
    an_officer_who_did_the_audit_sees_why_they_cannot_decide,
    an_assessor_creates_a_venue_and_starts_an_audit,
);

// The assessor's audit form as people use it: a form generated from the pinned criteria, errors next to
// their fields with nothing stored, figures on save, evidence from a phone (several files, removable),
// submission listing what is missing, a returned audit's comments; admins' roles and keys pages.

use crate::helpers::*;
use crate::signin::{enrol, person, Browser, Page, PASSWORD};
use ecolabel::domain::auth::Role;
use serde_json::json;

fn assert_has(p: &Page, needles: &[&str]) {
    for n in needles {
        assert!(p.body.contains(n), "`{n}` missing from the page:\n{}", p.body);
    }
}

async fn measurements(app: &TestApp, token: &str, audit: &str) -> serde_json::Value {
    json(app.get(&format!("/api/v1/assessments/{audit}"), Some(token)).await).await["measurements"].clone()
}

async fn evidence_count(app: &TestApp, token: &str, audit: &str) -> usize {
    json(app.get(&format!("/api/v1/assessments/{audit}/evidence"), Some(token)).await)
        .await
        .as_array()
        .unwrap()
        .len()
}

async fn user(app: &TestApp, token: &str, id: i64) -> serde_json::Value {
    let all = json(app.get("/api/v1/users", Some(token)).await).await;
    let list = all.get("items").unwrap_or(&all).as_array().unwrap().clone();
    list.into_iter().find(|u| u["id"] == id).unwrap()
}

async fn an_assessor_fills_in_uploads_and_submits_from_the_portal(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    let venue = app.venue(&admin, "Smart Plastic Zone", "Astana").await;
    person(&app, "assessor@example.kz", &[Role::Assessor], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("assessor@example.kz", PASSWORD).await;
    b.get("/app/venues").await;
    let p = b.form("/app/assessments/new", &[("venue_id", &venue.to_string())]).await;
    // The redirect says what happened (`?done=audit_started`); the audit's own address is its path.
    let page = p.location.unwrap().split('?').next().unwrap().to_string();
    let audit = page.rsplit('/').next().unwrap().to_string();
    // The form comes from the criteria file: inputs named by JSON path, units, descriptions in the language.
    let p = b.get(&format!("{page}?lang=en")).await;
    assert_has(
        &p,
        &[
            "name=\"plastic_reduction.baseline_kg\"",
            "name=\"separate_collection.contamination_pct\"",
            "name=\"recycling_handover.transfer_notes[0].recycler\"",
            "name=\"recycling_handover.transfer_notes[0].kg\"",
            "Single-use plastic use reduced by at least 50 %",
            "Single-use plastic, baseline year (kg)",
            "value=\"save\"",
            "value=\"submit\"",
            "enctype=\"multipart/form-data\"",
            "multiple",
        ],
    );
    let p = b.get(&format!("{page}?lang=kk")).await;
    assert_has(&p, &["Бір реттік пластик, базалық жыл (кг)"]);
    // Bad values: errors next to their fields, the typed text kept, nothing stored.
    b.get(&page).await;
    let p = b
        .form(
            &format!("{page}?lang=en"),
            &[
                ("action", "save"),
                ("plastic_reduction.baseline_kg", "lots"),
                ("plastic_reduction.last_12_months_kg", "400"),
                ("separate_collection.contamination_pct", "150"),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    assert_has(
        &p,
        &[
            "id=\"f-plastic_reduction-baseline_kg-error\"",
            "Type a number",
            "aria-describedby=\"f-plastic_reduction-baseline_kg-error\"",
            "value=\"lots\"",
            "A percentage is between 0 and 100",
        ],
    );
    assert!(p.body.contains("autofocus"), "focus on the first error");
    assert_eq!(measurements(&app, &admin, &audit).await, serde_json::json!({}));
    // Good values: saved, and each criterion's figure against its threshold from the scoring code.
    let p = b
        .form(
            &page,
            &[
                ("action", "save"),
                ("plastic_reduction.baseline_kg", "1 000"),
                ("plastic_reduction.last_12_months_kg", "700,25"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b.get(&format!("{}&lang=en", p.location.unwrap())).await;
    assert_has(&p, &["Saved.", "30.0 %", "≥ 50.0 %", "✗ not met", "The figure appears when"]);
    assert_eq!(measurements(&app, &admin, &audit).await["plastic_reduction"]["last_12_months_kg"], 700.25);
    // Submitting now lists every missing item as a link to it; nothing changes.
    let p = b.form(&format!("{page}?lang=en"), &[("action", "submit")]).await;
    assert_eq!(p.status, 422);
    assert_has(
        &p,
        &[
            "href=\"#f-alternative_materials-items_total\"",
            "href=\"#f-recycling_handover-transfer_notes\"",
            "href=\"#evidence-plastic_reduction\"",
            "this audit still needs",
        ],
    );
    // Transfer notes: a bad row is reported on that row; "add a row" saves and offers another.
    let rest = [
        ("plastic_reduction.last_12_months_kg", "400"),
        ("alternative_materials.items_total", "100"),
        ("alternative_materials.alternatives_count", "80"),
        ("separate_collection.waste_points_total", "20"),
        ("separate_collection.points_with_plastic_stream", "19"),
        ("separate_collection.contamination_pct", "5"),
        ("recycling_handover.collected_kg", "500"),
        ("recycling_handover.handed_over_kg", "450"),
        ("recycling_handover.transfer_notes.present", "1"),
    ];
    let mut bad = rest.to_vec();
    bad.extend([
        ("action", "save"),
        ("recycling_handover.transfer_notes[0].recycler", ""),
        ("recycling_handover.transfer_notes[1].recycler", "Eco Recycling LLP"),
        ("recycling_handover.transfer_notes[1].licence_no", "KZ-123"),
        ("recycling_handover.transfer_notes[1].date", "2025-11-01"),
        ("recycling_handover.transfer_notes[1].kg", "-4"),
    ]);
    let p = b.form(&format!("{page}?lang=en"), &bad).await;
    assert_eq!(p.status, 422);
    assert_has(&p, &["id=\"f-recycling_handover-transfer_notes-1--kg-error\"", "Must not be negative"]);
    assert!(
        measurements(&app, &admin, &audit).await.get("alternative_materials").is_none(),
        "nothing stored"
    );
    let mut good = rest.to_vec();
    good.extend([
        ("action", "add_row"),
        ("recycling_handover.transfer_notes[0].recycler", "Eco Recycling LLP"),
        ("recycling_handover.transfer_notes[0].licence_no", "KZ-123"),
        ("recycling_handover.transfer_notes[0].date", "2025-11-01"),
        ("recycling_handover.transfer_notes[0].kg", "450"),
        ("recycling_handover.transfer_notes[1].recycler", "Taken off"),
        ("recycling_handover.transfer_notes[1].remove", "yes"),
    ]);
    let p = b.form(&page, &good).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let to = p.location.unwrap();
    assert!(to.contains("rows=2"), "{to}");
    let p = b.get(&to).await;
    assert!(
        p.body.contains("name=\"recycling_handover.transfer_notes[2].kg\""),
        "two empty rows after the stored one"
    );
    let notes = measurements(&app, &admin, &audit).await["recycling_handover"]["transfer_notes"].clone();
    assert_eq!(notes.as_array().unwrap().len(), 1);
    assert_eq!(notes[0]["recycler"], "Eco Recycling LLP");
    assert!(!p.body.contains("data-flag="), "450 kg of notes for 450 kg handed over");
    // Notes adding up to more than the kg handed over are flagged (saved all the same: the officer weighs it).
    let mut over = good.clone();
    over.retain(|(k, _)| !k.starts_with("recycling_handover.transfer_notes[1]") && *k != "action");
    over.extend([
        ("action", "save"),
        ("recycling_handover.transfer_notes[1].recycler", "Second Recycler"),
        ("recycling_handover.transfer_notes[1].licence_no", "KZ-9"),
        ("recycling_handover.transfer_notes[1].date", "2025-11-02"),
        ("recycling_handover.transfer_notes[1].kg", "100.5"),
    ]);
    let p = b.form(&page, &over).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b.get(&format!("{page}?lang=ru")).await;
    assert_has(
        &p,
        &[
            "data-flag=\"notes_exceed_handed_over\"",
            "Акты передачи в сумме дают 550.5 кг, больше переданных 450 кг",
        ],
    );
    let api = json(app.get(&format!("/api/v1/assessments/{audit}"), Some(&admin)).await).await;
    assert_eq!(api["flags"][0]["code"], "notes_exceed_handed_over", "{api}");
    assert_eq!(api["flags"][0]["field"], "measurements.recycling_handover.transfer_notes");
    let mut fixed = over.clone();
    fixed.push(("recycling_handover.transfer_notes[1].remove", "yes"));
    assert_eq!(b.form(&page, &fixed).await.status, 303);
    // (Back to English, which the rest of this walk reads.)
    assert!(
        !b.get(&format!("{page}?lang=en")).await.body.contains("data-flag="),
        "the second note taken off"
    );
    let api = json(app.get(&format!("/api/v1/assessments/{audit}"), Some(&admin)).await).await;
    assert_eq!(api["flags"], json!([]));
    // Evidence from a phone: several files at once; the form's token is required.
    let files = vec![("receipts.pdf", pdf_bytes("receipts")), ("shelf.png", png_bytes())];
    let upload = format!("/app/assessments/{audit}/evidence");
    let p = b.upload(&upload, &[("criterion", "plastic_reduction")], &files, false).await;
    assert_eq!(p.status, 403, "no token, no upload");
    assert_eq!(evidence_count(&app, &admin, &audit).await, 0);
    let p = b
        .upload(&upload, &[("criterion", "plastic_reduction"), ("description", "March")], &files, true)
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("/app/assessments/{audit}?uploaded=2#evidence-plastic_reduction").as_str())
    );
    assert_has(&b.get(&format!("{}&lang=en", p.location.clone().unwrap())).await, &["2 file(s) uploaded"]);
    assert_eq!(evidence_count(&app, &admin, &audit).await, 2);
    // The same files again: refused, shown next to that criterion's input, nothing added.
    b.get(&page).await;
    let p = b
        .upload(&format!("{upload}?lang=en"), &[("criterion", "plastic_reduction")], &files, true)
        .await;
    assert_eq!(p.status, 409);
    assert_has(&p, &["id=\"file-plastic_reduction-error\"", "already attached"]);
    assert_eq!(evidence_count(&app, &admin, &audit).await, 2);
    // A text file posing as an image is refused.
    let p = b
        .upload(
            &format!("{upload}?lang=en"),
            &[("criterion", "alternative_materials")],
            &[("photo.png", b"not an image".to_vec())],
            true,
        )
        .await;
    assert_eq!(p.status, 415);
    assert_has(&p, &["PDF, JPEG or PNG"]);
    // The audit is one form: an upload also saves the figures typed above it. With a figure that cannot
    // be saved, the file is still attached, and the page comes back with everything typed and the error.
    b.get(&page).await;
    let p = b
        .upload_as(
            &format!("{upload}?lang=en"),
            &[("plastic_reduction.baseline_kg", "1000"), ("alternative_materials.items_total", "ten")],
            "file.alternative_materials",
            &[("menu.pdf", pdf_bytes("menu"))],
            true,
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert_has(
        &p,
        &[
            "value=\"ten\"",
            "value=\"1000\"",
            "menu.pdf",
            "1 file(s) uploaded",
            "id=\"f-alternative_materials-items_total-error\"",
        ],
    );
    assert_eq!(evidence_count(&app, &admin, &audit).await, 3);
    let p = b
        .upload_as(
            &upload,
            &[("alternative_materials.items_total", "100")],
            "file.alternative_materials",
            &[("menu2.pdf", pdf_bytes("menu 2"))],
            true,
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(measurements(&app, &admin, &audit).await["alternative_materials"]["items_total"], 100.0);
    assert_eq!(evidence_count(&app, &admin, &audit).await, 4);
    // Listed with name, size, SHA-256 prefix and a thumbnail; removable while a draft.
    let p = b.get(&format!("{page}?lang=en")).await;
    assert_has(
        &p,
        &["receipts.pdf", "shelf.png", "SHA-256", "img class=\"thumb\"", "evidence added", "figures saved"],
    );
    assert!(!p.body.contains("evidence_added"), "history in words, never codes");
    let list = json(app.get(&format!("/api/v1/assessments/{audit}/evidence"), Some(&admin)).await).await;
    let png = list.as_array().unwrap().iter().find(|e| e["filename"] == "shelf.png").unwrap()["id"]
        .as_i64()
        .unwrap();
    let shown = app
        .client
        .get(app.url(&format!("/app/assessments/{audit}/evidence/{png}")))
        .header("cookie", format!("gel_session={}", b.cookie.clone().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(shown.headers()["content-disposition"].to_str().unwrap(), "inline; filename=\"shelf.png\"");
    assert_eq!(shown.bytes().await.unwrap().to_vec(), png_bytes());
    let p = b.form(&format!("/app/assessments/{audit}/evidence/{png}"), &[("action", "remove")]).await;
    assert_eq!(p.status, 303);
    assert!(p.location.unwrap().contains("removed=1"));
    assert_eq!(evidence_count(&app, &admin, &audit).await, 3);
    for (c, name) in [
        ("alternative_materials", "invoice.pdf"),
        ("separate_collection", "bins.pdf"),
        ("recycling_handover", "note.pdf"),
    ] {
        b.get(&page).await;
        let p = b.upload(&upload, &[("criterion", c)], &[(name, pdf_bytes(name))], true).await;
        assert_eq!(p.status, 303, "{}", p.body);
    }
    // Submit: done once; the same form again does nothing more.
    b.get(&page).await;
    let p = b.form(&page, &[("action", "submit")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let a = json(app.get(&format!("/api/v1/assessments/{audit}"), Some(&admin)).await).await;
    assert_eq!(a["status"], "submitted");
    assert_eq!(a["outcome"]["overall"], "gold");
    let p = b.form(&format!("{page}?lang=en"), &[("action", "submit")]).await;
    assert_eq!(p.status, 409);
    assert_has(&p, &["can no longer be changed"]);
    let p = b.form(&format!("/app/assessments/{audit}/evidence/1"), &[("action", "remove")]).await;
    assert_eq!(p.status, 409, "evidence stays once submitted");
    // An officer returns it with comments; the assessor sees them above the form again.
    person(&app, "officer@example.kz", &[Role::Officer], None).await;
    let mut o = Browser::new(&app);
    o.sign_in("officer@example.kz", PASSWORD).await;
    enrol(&mut o).await;
    o.get(&page).await;
    let p = o
        .form(
            &page,
            &[("action", "return"), ("reason", "Add the March transfer note, please."), ("confirm", "yes")],
        )
        .await;
    assert_eq!(p.status, 303);
    let p = b.get(&format!("{page}?lang=en")).await;
    assert_has(
        &p,
        &[
            "returned this audit with these comments",
            "Add the March transfer note, please.",
            "value=\"submit\"",
        ],
    );
    // The audits list shows it to its assessor, and the other assessor sees neither it nor its files.
    let p = b.get("/app/assessments?lang=en&status=returned").await;
    assert_has(&p, &[&format!("href=\"/app/assessments/{audit}\""), "Returned to the assessor"]);
    person(&app, "other@example.kz", &[Role::Assessor], None).await;
    let mut x = Browser::new(&app);
    x.sign_in("other@example.kz", PASSWORD).await;
    assert_eq!(x.get(&page).await.status, 404);
    assert_eq!(x.get(&format!("/app/assessments/{audit}/evidence/1")).await.status, 404);
    let p = x.get("/app/assessments").await;
    assert!(!p.body.contains(&format!("href=\"/app/assessments/{audit}\"")));
    x.get("/app/venues").await;
    let p = x.form(&page, &[("action", "save"), ("plastic_reduction.baseline_kg", "1")]).await;
    assert_eq!(p.status, 404);
    assert_eq!(measurements(&app, &admin, &audit).await["plastic_reduction"]["baseline_kg"], 1000.0);
}

async fn the_api_removes_evidence_only_from_drafts(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let other = app.token(&[Role::Assessor]).await;
    let venue = app.venue(&assessor, "Cafe", "Astana").await;
    let audit = app.draft_with_evidence(&assessor, venue, gold_measurements()).await;
    let list = json(app.get(&format!("/api/v1/assessments/{audit}/evidence"), Some(&assessor)).await).await;
    let e = list[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/assessments/{audit}/evidence/{e}");
    assert_error(
        app.request(reqwest::Method::DELETE, &path, Some(&other)).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let r = app.request(reqwest::Method::DELETE, &path, Some(&assessor)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_error(
        app.request(reqwest::Method::DELETE, &path, Some(&assessor)).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let events = json(app.get(&format!("/api/v1/assessments/{audit}/events"), Some(&assessor)).await).await;
    assert!(events.as_array().unwrap().iter().any(|e| e["action"] == "evidence_removed"));
}

async fn admins_change_roles_and_rotate_keys_in_the_portal(app: TestApp) {
    let token = app.token(&[Role::Admin]).await;
    let venue = app.venue(&token, "Smart Plastic Zone", "Astana").await;
    let admin_id = person(&app, "admin@example.kz", &[Role::Admin], None).await;
    let someone = person(&app, "someone@example.kz", &[Role::Assessor], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("admin@example.kz", PASSWORD).await;
    enrol(&mut b).await;
    let page = format!("/app/users/{someone}");
    let p = b.get(&format!("{page}?lang=en")).await;
    assert_has(&p, &["Save the roles", "value=\"venue\""]);
    // A venue manager without a venue is refused next to the form; nothing changes.
    let p = b.form(&format!("/app/users/{someone}/roles?lang=en"), &[("role", "venue")]).await;
    assert_eq!(p.status, 422);
    assert_has(&p, &["needs the venue they manage"]);
    let u = user(&app, &token, someone).await;
    assert_eq!(u["roles"], serde_json::json!(["assessor"]), "{u}");
    // The venue is named, never numbered: a name no venue has is refused with what was typed kept.
    let annex = app.venue(&token, "Smart Plastic Zone Annex", "Astana").await;
    app.venue(&token, "Smart Plastic Café", "Almaty").await;
    let roles = format!("/app/users/{someone}/roles?lang=en");
    let p = b.form(&roles, &[("role", "venue"), ("venue", "Nothing Like It")]).await;
    assert_eq!(p.status, 422);
    assert_has(&p, &["No venue has this name", "value=\"Nothing Like It\"", "value=\"venue\" checked"]);
    // A name several venues hold in part asks which, by name and city.
    let p = b.form(&roles, &[("role", "venue"), ("venue", "smart plastic")]).await;
    assert_eq!(p.status, 422);
    assert_has(
        &p,
        &[
            "Several venues have this name",
            &format!("name=\"venue_id\" value=\"{annex}\""),
            "Smart Plastic Café · Almaty",
        ],
    );
    assert_eq!(user(&app, &token, someone).await["roles"], serde_json::json!(["assessor"]));
    // The one that has the name exactly (case and accents aside) is that one.
    let p = b.form(&roles, &[("role", "venue"), ("venue", "SMART PLASTIC ZONE")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let u = user(&app, &token, someone).await;
    assert_eq!(u["roles"], serde_json::json!(["venue"]));
    assert_eq!(u["venue_id"], venue);
    let p = b.get(&format!("{page}?lang=en")).await;
    assert_has(
        &p,
        &[&format!("href=\"/app/venues/{venue}\">Smart Plastic Zone</a>"), "value=\"Smart Plastic Zone\""],
    );
    // Chosen from the list.
    let p = b
        .form(&roles, &[("role", "venue"), ("venue", "smart plastic"), ("venue_id", &annex.to_string())])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(user(&app, &token, someone).await["venue_id"], annex);
    // Saved again unchanged, the current venue stays (its name is not looked up again).
    let p = b.get(&format!("{page}?lang=en")).await;
    assert_has(&p, &["value=\"Smart Plastic Zone Annex\""]);
    let p = b
        .form(
            &roles,
            &[
                ("role", "venue"),
                ("venue", "Smart Plastic Zone Annex"),
                ("venue_was", "Smart Plastic Zone Annex"),
                ("venue_was_id", &annex.to_string()),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(user(&app, &token, someone).await["venue_id"], annex);
    let p = b.form(&roles, &[("role", "venue"), ("venue", "Smart Plastic Zone")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(user(&app, &token, someone).await["venue_id"], venue);
    // No longer a venue manager: the venue's name left in the box does not keep the binding.
    let was = venue.to_string();
    let fields = [
        ("role", "officer"),
        ("venue", "Smart Plastic Zone"),
        ("venue_was", "Smart Plastic Zone"),
        ("venue_was_id", was.as_str()),
    ];
    let p = b.form(&roles, &fields).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let u = user(&app, &token, someone).await;
    assert_eq!(u["roles"], serde_json::json!(["officer"]));
    assert!(u["venue_id"].is_null(), "{u}");
    let p = b.form(&roles, &[("role", "venue"), ("venue", "Smart Plastic Zone")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    // No admin removes their own admin role.
    b.get(&format!("/app/users/{admin_id}")).await;
    let p = b.form(&format!("/app/users/{admin_id}/roles?lang=en"), &[("role", "officer")]).await;
    assert_eq!(p.status, 409);
    assert_has(&p, &["cannot remove your own admin role"]);
    // The API does the same through the same operation.
    let r = app
        .post(
            &format!("/api/v1/users/{someone}/roles"),
            Some(&token),
            serde_json::json!({"roles": ["officer"], "venue_id": venue}),
        )
        .await;
    assert_error(r, 422, "venue_not_allowed").await;
    let r = app
        .post(
            &format!("/api/v1/users/{someone}/roles"),
            Some(&token),
            serde_json::json!({"roles": ["officer"]}),
        )
        .await;
    assert_eq!(json(r).await["roles"], serde_json::json!(["officer"]));
    let assessor = app.token(&[Role::Assessor]).await;
    let r = app
        .post(
            &format!("/api/v1/users/{someone}/roles"),
            Some(&assessor),
            serde_json::json!({"roles": ["admin"]}),
        )
        .await;
    assert_error(r, 403, "forbidden_role").await;
    // Keys: rotation needs the confirmation; then a new key signs and the old one stays published.
    let before = json(app.get("/.well-known/jwks.json", None).await).await["keys"].as_array().unwrap().len();
    let p = b.get("/app/keys?lang=en").await;
    assert_has(
        &p,
        &["Signing keys", "Active: signs new certificates", "gold-eco-label v1", "Criteria versions"],
    );
    let sha = app.state.catalogue.all().next().unwrap().sha256.clone();
    assert!(p.body.contains(&sha), "the criteria hash is shown in full");
    let p = b.form("/app/keys?lang=en", &[("action", "rotate")]).await;
    assert_eq!(p.status, 422);
    assert_has(&p, &["Tick the confirmation box"]);
    assert_eq!(
        json(app.get("/.well-known/jwks.json", None).await).await["keys"].as_array().unwrap().len(),
        before
    );
    let p = b.form("/app/keys", &[("action", "rotate"), ("confirm", "yes")]).await;
    assert_eq!(p.status, 303);
    let keys = json(app.get("/.well-known/jwks.json", None).await).await["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), before + 1);
    assert_eq!(keys.iter().filter(|k| k["status"] == "active").count(), 1);
    let issued = app.issue("Rotated Cafe", "Almaty").await;
    let kid = json(app.get(&format!("/api/v1/certificates/{}", issued.number), Some(&token)).await).await["kid"].clone();
    let active = keys.iter().find(|k| k["status"] == "active").unwrap()["kid"].clone();
    assert_eq!(kid, active, "the new key signs");
    // Others may not see the keys page.
    let mut v = Browser::new(&app);
    v.sign_in("someone@example.kz", PASSWORD).await;
    enrol(&mut v).await;
    assert_eq!(v.get("/app/keys").await.status, 403);
}

crate::both_backends!(
    an_assessor_fills_in_uploads_and_submits_from_the_portal,
    the_api_removes_evidence_only_from_drafts,
    admins_change_roles_and_rotate_keys_in_the_portal,
);

/// The four evidence files the browser scripts choose from a phone's files, in a temporary directory.
fn evidence_files() -> tempfile::TempDir {
    let files = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("purchase-records.pdf", pdf_bytes("Purchase records, single-use plastic")),
        ("invoice.pdf", pdf_bytes("Invoice: glass bottles")),
        ("bins.png", png_bytes()),
        ("transfer-note.pdf", pdf_bytes("Transfer note KZ-02-0451")),
    ] {
        std::fs::write(files.path().join(name), bytes).unwrap();
    }
    files
}

/// The whole portal story in Debian's Chromium on a 360×740 screen without JavaScript, with axe-core on
/// every portal page (tests/browser/story.py); screenshots in target/browser/story.
#[actix_web::test]
async fn the_whole_story_in_a_real_browser() {
    if !crate::signin::browser_available() {
        return;
    }
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    person(&app, "assessor@example.kz", &[Role::Assessor], None).await;
    person(&app, "officer@example.kz", &[Role::Officer], None).await;
    person(&app, "officer2@example.kz", &[Role::Officer], None).await;
    person(&app, "admin@example.kz", &[Role::Admin], None).await;
    let files = evidence_files();
    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/target/browser/story");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/story.py");
    let dir = files.path().to_str().unwrap().to_string();
    crate::signin::run_browser_script(script, vec![app.address.clone(), shots.into(), dir]).await;
}

/// The portal fit for the people who use it (tests/browser/fit.py), in Debian's Chromium on a 360×740
/// screen without JavaScript: typed figures survive an upload, the chosen language is kept, decisions are
/// confirmed, flash messages, tap targets measured on every page, no JSON reached by clicking; it prints the
/// page loads and taps of the assessor's and the officer's paths. Screenshots in target/browser/fit.
#[actix_web::test]
async fn the_portal_fits_in_a_real_browser() {
    if !crate::signin::browser_available() {
        return;
    }
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    // The assessor comes in through an invitation, as a new person does.
    let (_, invitation) = crate::signin::invite(&app, "assessor@example.kz", &[Role::Assessor], None).await;
    person(&app, "officer@example.kz", &[Role::Officer], None).await;
    person(&app, "officer2@example.kz", &[Role::Officer], None).await;
    person(&app, "officer3@example.kz", &[Role::Officer], None).await;
    let files = evidence_files();
    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/target/browser/fit");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/fit.py");
    let dir = files.path().to_str().unwrap().to_string();
    crate::signin::run_browser_script(script, vec![app.address.clone(), shots.into(), dir, invitation]).await;
}

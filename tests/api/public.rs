// Public verification: each status as a person sees it (HTML and JSON), forged and unknown-key codes,
// languages, security headers, rate limits, the register (search, keyset pages, CSV), failures as 503,
// random garbage as 4xx, and a real headless browser opening the QR link.

use crate::helpers::*;
use serde_json::{json, Value};

async fn page(app: &TestApp, path: &str, lang: &str) -> (u16, String) {
    let r = app
        .request(reqwest::Method::GET, path, None)
        .header("accept-language", lang)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn verdict(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app
        .request(reqwest::Method::GET, path, None)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, json(r).await)
}

async fn every_status_as_a_person_sees_it(app: TestApp) {
    let c = app.issue("Smart Plastic Zone", "Astana").await;
    let (s, html) = page(&app, &c.path, "en").await;
    assert_eq!(s, 200);
    for needle in [
        "Valid",
        "Smart Plastic Zone",
        "Astana",
        c.number.as_str(),
        "Gold eco-label",
        "Handover for recycling",
        "Test certification body",
        "Status checked",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert_eq!(verdict(&app, &c.path).await.1["verdict"], "valid");
    // The lower-case form of the link works too.
    assert_eq!(page(&app, &c.path.replacen("/V/", "/v/", 1).to_lowercase(), "en").await.0, 200);

    let p = |a: &str| format!("/api/v1/certificates/{}/{a}", c.number);
    app.post(&p("suspend"), Some(&c.officer), json!({"reason": "Plastic found in the paper stream"}))
        .await;
    let (_, html) = page(&app, &c.path, "en").await;
    assert!(
        html.contains("Suspended") && html.contains("Plastic found in the paper stream"),
        "suspension shows on the next request"
    );
    assert!(!html.contains("class=\"word\">Valid<"));
    let (_, v) = verdict(&app, &c.path).await;
    assert_eq!(v["verdict"], "suspended");
    assert_eq!(v["certificate"]["status_reason"], "Plastic found in the paper stream");

    app.post(&p("withdraw"), Some(&c.officer), json!({"reason": "Venue closed"})).await;
    let (_, html) = page(&app, &c.path, "en").await;
    assert!(html.contains("Withdrawn") && html.contains("Venue closed"));

    // Superseded: a renewal links to the new certificate.
    let r = app.issue("Renewed venue", "Almaty").await;
    let second = app.draft_with_evidence(&r.assessor, r.venue, gold_measurements()).await;
    app.post(&format!("/api/v1/assessments/{second}/submit"), Some(&r.assessor), json!({})).await;
    let d = json(
        app.post(
            &format!("/api/v1/assessments/{second}/decision"),
            Some(&r.officer),
            json!({"decision": "approve"}),
        )
        .await,
    )
    .await;
    let newer = d["certificate"]["number"].as_str().unwrap().to_string();
    let (_, html) = page(&app, &r.path, "en").await;
    assert!(html.contains("Superseded") && html.contains(&format!("/certificates/{newer}")));

    // Expired: derived from valid-until and the clock.
    let e = app.issue("Old cafe", "Shymkent").await;
    let n = e.number.clone();
    app.state
        .db
        .write(move |c| -> ecolabel::storage::Result<_> {
            use diesel::prelude::*;
            use ecolabel::storage::schema::certificates as t;
            diesel::update(t::table.filter(t::number.eq(n)))
                .set(t::valid_until.eq(chrono::NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let (_, html) = page(&app, &e.path, "en").await;
    assert!(html.contains("Expired") && html.contains("2024-01-31"));

    // By number, HTML and JSON.
    let (s, html) = page(&app, &format!("/certificates/{}", e.number), "en").await;
    assert_eq!(s, 200);
    assert!(html.contains("Expired"));
    let (s, v) = verdict(&app, &format!("/certificates/{}", c.number)).await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "withdrawn");
    assert_eq!(v["criteria"].as_array().unwrap().len(), 4);
    assert_eq!(page(&app, "/certificates/GEL-2020-999999", "en").await.0, 404);
    assert_eq!(page(&app, "/certificates/nonsense", "en").await.0, 404);
}

async fn forged_codes_are_never_valid(app: TestApp) {
    let c = app.issue("Genuine", "Astana").await;
    // One altered character in the signature part.
    let mut altered = c.path.clone().into_bytes();
    let i = altered.len() - 5;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let (s, html) = page(&app, &altered, "en").await;
    assert_eq!(s, 200);
    assert!(html.contains("Not genuine") && !html.contains("status-valid"));
    assert_eq!(verdict(&app, &altered).await.1["verdict"], "invalid_signature");
    // Signed by a key the registry never published.
    let foreign = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let claims = ecolabel::domain::certificate::CertificateClaims {
        iss: "http://registry.test".into(),
        iat: 1_766_145_600,
        exp: 1_900_000_000,
        number: c.number.clone(),
        venue: "Genuine".into(),
        level: "gold".into(),
        scheme: "gold-eco-label/1".into(),
    };
    let token = ecolabel::domain::signing::sign_certificate(&foreign, &claims).unwrap();
    let path = qr_path(&ecolabel::domain::signing::qr_text("http://registry.test", &token));
    let (_, html) = page(&app, &path, "en").await;
    assert!(html.contains("Unknown signing key"));
    assert_eq!(verdict(&app, &path).await.1["verdict"], "unknown_key");
    let (s, html) = page(&app, "/V/NOT-A-TOKEN!", "en").await;
    assert_eq!(s, 400);
    assert!(html.contains("Unreadable code"));
    // The QR route is one path segment after /V or /v, GET only.
    assert_eq!(page(&app, &c.path.replacen("/V/", "/v/", 1), "en").await.0, 200);
    for path in ["/V", "/V/", &format!("{}/more", c.path), "/Vx/ABC"] {
        assert_error(app.get(path, None).await, 404, "not_found").await;
    }
    let r = app.post(&c.path, None, json!({})).await;
    assert_eq!(r.headers()["allow"], "GET");
    assert_error(r, 405, "method_not_allowed").await;
}

async fn a_registry_failure_is_503_not_forgery(app: TestApp) {
    let c = app.issue("Resilient", "Astana").await;
    assert_eq!(page(&app, &c.path, "en").await.0, 200);
    app.state
        .db
        .write(|c| -> ecolabel::storage::Result<_> {
            use diesel::prelude::*;
            diesel::sql_query("ALTER TABLE certificates RENAME TO certificates_gone").execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    // Public pages may show a status read up to one second ago (well inside the 60 s freshness rule).
    actix_web::rt::time::sleep(ecolabel::web::public::snapshots::TTL + std::time::Duration::from_millis(100)).await;
    let (s, html) = page(&app, &c.path, "en").await;
    assert_eq!(s, 503);
    assert!(html.contains("Verification unavailable") && !html.contains("Not genuine"));
    let (s, v) = verdict(&app, &c.path).await;
    assert_eq!(s, 503);
    assert_eq!(v["error"], "verification_unavailable");
}

async fn languages_and_headers(app: TestApp) {
    let c = app.issue("Тіл", "Астана").await;
    assert!(page(&app, &c.path, "").await.1.contains("Жарамды"), "Kazakh by default");
    assert!(page(&app, &c.path, "ru-RU,ru;q=0.9").await.1.contains("Действителен"));
    assert!(page(&app, &c.path, "en-GB").await.1.contains("class=\"word\">Valid<"));
    let (_, html) = page(&app, &format!("{}?lang=ru", c.path), "en").await;
    assert!(html.contains("Действителен") && html.contains("lang=\"ru\""), "?lang= wins over the header");
    assert!(
        html.contains("hreflang=\"kk\"") && html.contains("hreflang=\"en\""),
        "a visible language switch"
    );
    for path in [
        c.path.as_str(),
        "/register",
        "/certificates/GEL-2020-000001",
        "/api/v1/public/certificates",
        "/healthz",
        "/nope",
    ] {
        let r = app.get(path, None).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(h["strict-transport-security"].to_str().unwrap().contains("max-age="));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.contains_key("referrer-policy"));
    }
    let r = app.get(&c.path, None).await;
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let css = app.get("/assets/style.css", None).await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    // No inline script (the only <script> is the schema.org data block, which no browser runs), and no
    // external resource: nothing is loaded from another address.
    let html = r.text().await.unwrap();
    assert_eq!(html.matches("<script").count(), html.matches(r#"<script type="application/ld+json">"#).count());
    assert!(html.contains(r#"<script type="application/ld+json">"#));
    for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "url(http"] {
        assert!(!html.contains(attr), "{attr}");
    }
}

async fn the_register_searches_pages_and_exports(app: TestApp) {
    let mut numbers = Vec::new();
    for (name, city) in [
        ("Green Hotel", "Astana"),
        ("Blue Cafe", "Almaty"),
        ("Green Office", "Almaty"),
        ("Expo Hall", "Astana"),
    ] {
        numbers.push(app.issue(name, city).await);
    }
    let list = |q: &str| {
        let app = &app;
        let q = q.to_string();
        async move { json(app.get(&format!("/api/v1/public/certificates?{q}"), None).await).await }
    };
    let names = |v: &Value| item_field(v, "venue_name");
    assert_eq!(names(&list("q=green").await), ["Green Office", "Green Hotel"]);
    assert_eq!(names(&list("city=Almaty").await), ["Green Office", "Blue Cafe"]);
    let officer = &numbers[0].officer;
    app.post(
        &format!("/api/v1/certificates/{}/withdraw", numbers[1].number),
        Some(officer),
        json!({"reason": "closed"}),
    )
    .await;
    assert_eq!(names(&list("status=withdrawn").await), ["Blue Cafe"]);
    assert_eq!(names(&list("status=valid").await).len(), 3);
    assert_error(app.get("/api/v1/public/certificates?status=shiny", None).await, 400, "invalid_status").await;
    // Keyset pages stay stable when certificates are issued between page loads.
    let first = list("limit=2").await;
    assert_eq!(names(&first), ["Expo Hall", "Green Office"]);
    let before = first["next_before"].as_i64().unwrap();
    app.issue("Newcomer", "Astana").await;
    let second = list(&format!("limit=2&before={before}")).await;
    assert_eq!(names(&second), ["Blue Cafe", "Green Hotel"]);
    assert!(second["next_before"].is_null());
    // HTML and CSV.
    let (s, html) = page(&app, "/register?q=green&lang=en", "").await;
    assert_eq!(s, 200);
    assert!(html.contains("Green Hotel") && html.contains("Green Office") && !html.contains("Blue Cafe"));
    let r = app.get("/api/v1/public/certificates.csv?city=Almaty", None).await;
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "number,venue,city,status,valid_from,valid_until,scheme,scheme_version,issuer,verification_url"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().any(|l| l.contains("Blue Cafe") && l.contains(",withdrawn,")));
}

/// Search as people type: no case, no accents ("cafe" finds "Café", "елка" finds "Ёлка"), Kazakh letters in
/// either case, on the register and in the portal's venue search alike.
async fn search_ignores_case_and_accents(app: TestApp) {
    let cafe = app.issue("Green Cup Café", "Astana").await;
    app.issue("Ёлка Hall", "Almaty").await;
    app.issue("Жасыл Қала Office", "Astana").await;
    app.issue("Blue Cafeteria", "Astana").await;
    let register = |q: &str| {
        let url = format!("/api/v1/public/certificates?q={}", ecolabel::web::layout::url_escape(q));
        let app = &app;
        async move { item_field(&json(app.get(&url, None).await).await, "venue_name") }
    };
    assert_eq!(register("cafe").await, ["Blue Cafeteria", "Green Cup Café"]);
    assert_eq!(register("CAFÉ").await, ["Blue Cafeteria", "Green Cup Café"]);
    assert_eq!(register("cup cafe").await, ["Green Cup Café"], "through the word index");
    assert_eq!(register("green cup cafe\u{301}").await, ["Green Cup Café"], "a combining accent");
    assert_eq!(register("елка").await, ["Ёлка Hall"]);
    assert_eq!(register("ЁЛКА HALL").await, ["Ёлка Hall"]);
    assert_eq!(register("ҚАЛА").await, ["Жасыл Қала Office"]);
    assert_eq!(register("жасыл қала").await, ["Жасыл Қала Office"]);
    assert!(register("кала").await.is_empty(), "қ is a letter of its own, not к with a mark");
    let venues = |q: &str| {
        let url = format!("/api/v1/venues?q={}", ecolabel::web::layout::url_escape(q));
        let app = &app;
        let token = cafe.officer.clone();
        async move { item_field(&json(app.get(&url, Some(&token)).await).await, "name") }
    };
    assert_eq!(venues("green cup cafe").await, ["Green Cup Café"]);
    assert_eq!(venues("ёлка").await, ["Ёлка Hall"]);
    let (s, html) = page(&app, "/register?q=cafe&lang=en", "").await;
    assert_eq!(s, 200);
    assert!(html.contains("Green Cup Café") && html.contains("Blue Cafeteria") && !html.contains("Ёлка Hall"));
}

/// A venue's Kazakh, Russian and English names, and the issuer's, are shown on the pages of that language.
async fn names_in_the_pages_language(app: TestApp) {
    let c = app
        .issue_to(
            json!({"name": "Green Cup Café", "name_kk": "Жасыл кесе", "name_ru": "Зелёная чашка", "address": "Abay 10",
            "city": "Almaty", "city_kk": "Алматы", "city_ru": "Алма-Ата", "category": "cafe"}),
        )
        .await;
    let plain = app.issue("Expo Hall", "Astana").await;
    for (lang, venue, issuer, city) in [
        ("kk", "Жасыл кесе", "Сынақ сертификаттау органы", "Алматы"),
        ("ru", "Зелёная чашка", "Тестовый орган по сертификации", "Алма-Ата"),
        ("en", "Green Cup Café", "Test certification body", "Almaty"),
    ] {
        let (s, html) = page(&app, &format!("/certificates/{}?lang={lang}", c.number), "").await;
        assert_eq!(s, 200);
        assert!(html.contains(&format!("<h1>{venue}</h1>")), "{lang}: {html}");
        assert!(html.contains(&format!("<dd>{issuer}</dd>")), "{lang}: {html}");
        assert!(html.contains(&format!("<dd>{city}</dd>")), "{lang}: {html}");
        let (_, register) = page(&app, &format!("/register?lang={lang}"), "").await;
        assert!(register.contains(&format!(">{venue}</a>")), "{lang}: {register}");
        assert!(register.contains(&format!(">{city}</td>")), "{lang}: {register}");
        // A venue without names in other languages keeps its own everywhere.
        let (_, html) = page(&app, &format!("/certificates/{}?lang={lang}", plain.number), "").await;
        assert!(html.contains("<h1>Expo Hall</h1>"), "{lang}");
    }
    // The JSON says all of them; search finds the venue by any.
    let v = public_json(&app, &c.number).await;
    assert_eq!(v["venue_name"], "Green Cup Café");
    assert_eq!(v["venue_name_ru"], "Зелёная чашка");
    assert_eq!(v["issuer_kk"], "Сынақ сертификаттау органы");
    let found = json(app.get("/api/v1/public/certificates?q=%D0%B7%D0%B5%D0%BB%D0%B5%D0%BD%D0%B0%D1%8F", None).await).await;
    assert_eq!(item_field(&found, "number"), vec![c.number.clone()], "«зеленая» finds «Зелёная»");
    let found = json(app.get("/api/v1/public/certificates?q=%D0%B0%D0%BB%D0%BC%D0%B0-%D0%B0%D1%82%D0%B0", None).await).await;
    assert_eq!(item_field(&found, "number"), vec![c.number.clone()], "the city in Russian finds it too");
    // The portal's venue list names the venue and its city in the page's language.
    let v = json(app.get(&format!("/api/v1/venues/{}", c.venue), Some(&c.officer)).await).await;
    assert_eq!((v["city_kk"].as_str(), v["city_ru"].as_str()), (Some("Алматы"), Some("Алма-Ата")));
}

crate::both_backends!(
    names_in_the_pages_language,
    search_ignores_case_and_accents,
    every_status_as_a_person_sees_it,
    forged_codes_are_never_valid,
    a_registry_failure_is_503_not_forgery,
    languages_and_headers,
    the_register_searches_pages_and_exports
);

#[actix_web::test]
async fn public_pages_are_rate_limited_per_ip() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.public_rate = 1;
        c.public_burst = 3;
    })
    .await
    .unwrap();
    for _ in 0..3 {
        assert_eq!(app.get("/register", None).await.status(), 200);
    }
    let r = app.get("/register", None).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(json(r).await["error"], "rate_limited");
    // The API for signed-in users is not limited by the public limit.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.public_rate = 1;
        c.public_burst = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await
    .unwrap();
    let from = |ip: &'static str| app.request(reqwest::Method::GET, "/register", None).header("x-forwarded-for", ip).send();
    assert_eq!(from("203.0.113.1").await.unwrap().status(), 200);
    assert_eq!(from("203.0.113.1").await.unwrap().status(), 200);
    assert_eq!(from("203.0.113.1").await.unwrap().status(), 429);
    assert_eq!(from("203.0.113.2").await.unwrap().status(), 200, "another client behind the same proxy");
}

#[actix_web::test]
async fn random_garbage_tokens_get_4xx_never_5xx() {
    use proptest::strategy::{Strategy, ValueTree};
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::prop_oneof![
        proptest::string::string_regex("[A-Z2-7]{0,600}").unwrap(),
        proptest::string::string_regex("[a-zA-Z0-9]{1,2000}").unwrap(),
        proptest::string::string_regex("\\PC{1,80}").unwrap(),
    ];
    for _ in 0..300 {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        let encoded: String = s
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        if encoded.is_empty() {
            continue;
        }
        let r = app.get(&format!("/V/{encoded}"), None).await;
        let status = r.status().as_u16();
        assert!((400..500).contains(&status) || status == 200, "{status} for {s:?}");
        if status == 200 {
            assert!(!r.text().await.unwrap().contains("status-valid"), "garbage verified: {s:?}");
        }
    }
}

/// A real browser (headless Chromium) opens the QR link, sees "Valid", then "Suspended" after a suspension.
#[actix_web::test]
async fn a_headless_browser_opens_the_qr_link() {
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|b| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    let Some(chromium) = chromium else {
        assert!(std::env::var("CI").is_err(), "chromium is required in CI");
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let c = app.issue("Smart Plastic Zone", "Astana").await;
    let url = app.url(&format!("{}?lang=en", c.path));
    let profile = app.dir.path().join("chromium");
    let dom = |url: String, profile: std::path::PathBuf| {
        actix_web::rt::task::spawn_blocking(move || {
            let out = std::process::Command::new(chromium)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--dump-dom",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg(&url)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    };
    let html = dom(url.clone(), profile.clone()).await.unwrap();
    assert!(html.contains("class=\"word\">Valid<"), "{html}");
    assert!(html.contains("Smart Plastic Zone"));
    app.post(
        &format!("/api/v1/certificates/{}/suspend", c.number),
        Some(&c.officer),
        json!({"reason": "Audit follow-up"}),
    )
    .await;
    let html = dom(url, profile).await.unwrap();
    assert!(html.contains("class=\"word\">Suspended<") && html.contains("Audit follow-up"), "{html}");
}

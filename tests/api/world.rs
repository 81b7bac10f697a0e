// The label out in the world: the live badge (colour and words per status in kk/ru/en, well-formed SVG, fresh
// after a change, ETag, the grey 404 badge, the portal snippet) and the pages' schema.org JSON-LD read by pyld.

use crate::helpers::*;
use crate::signin::{person, Browser, PASSWORD};
use ecolabel::domain::auth::Role;
use ecolabel::i18n::Messages;
use serde_json::json;

struct Badge {
    status: u16,
    etag: String,
    cache: String,
    body: String,
}

async fn badge(app: &TestApp, path: &str) -> Badge {
    let r = app.get(path, None).await;
    let status = r.status().as_u16();
    assert_eq!(r.headers()["content-type"], "image/svg+xml; charset=utf-8", "{path}");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    let body = r.text().await.unwrap();
    Badge { status, etag, cache, body }
}

/// The badge parses as SVG, is labelled for screen readers, and its title and fill say what is expected.
fn check(svg: &str, words: &str, colour: &str) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"));
    let title = root
        .children()
        .find(|n| n.has_tag_name("title"))
        .and_then(|t| t.text())
        .unwrap_or_default()
        .to_string();
    assert!(title.contains(words), "title {title:?} says {words:?}");
    assert_eq!(root.attribute("aria-label"), Some(title.as_str()));
    let fills: Vec<&str> = root.descendants().filter_map(|n| n.attribute("fill")).collect();
    assert!(fills.contains(&colour), "{colour} in {fills:?}");
    assert!(svg.len() < 4096, "a few KB: {}", svg.len());
}

fn word(lang: &str, key: &'static str) -> String {
    Messages::for_lang(lang).t(key).to_string()
}

async fn the_badge_follows_the_status_in_three_languages(app: TestApp) {
    let c = app.issue("Green Cup Café", "Almaty").await;
    let path = format!("/badge/{}.svg", c.number);
    for lang in ["kk", "ru", "en"] {
        let b = badge(&app, &format!("{path}?lang={lang}")).await;
        assert_eq!(b.status, 200);
        assert_eq!(b.cache, "public, max-age=60");
        check(&b.body, &word(lang, "status_valid"), "#1a7f37");
        assert!(b.body.contains(&word(lang, "label_name")), "{lang}: {}", b.body);
        assert!(b.body.contains(&c.number));
    }
    let valid = badge(&app, &format!("{path}?lang=en")).await;
    // Unchanged: the same ETag, and a conditional request is answered 304.
    let r = app
        .request(reqwest::Method::GET, &format!("{path}?lang=en"), None)
        .header("if-none-match", &valid.etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // Suspended: the next request says so (no stale "valid"), in amber, with a new ETag.
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", c.number),
            Some(&c.officer),
            json!({"reason": "Bins missing"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let suspended = badge(&app, &format!("{path}?lang=en")).await;
    check(&suspended.body, "Suspended", "#9a6700");
    assert!(!suspended.body.contains(">Valid<"));
    assert_ne!(suspended.etag, valid.etag);
    for lang in ["kk", "ru"] {
        check(
            &badge(&app, &format!("{path}?lang={lang}")).await.body,
            &word(lang, "status_suspended"),
            "#9a6700",
        );
    }

    // Withdrawn: red, for good.
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/withdraw", c.number),
            Some(&c.officer),
            json!({"reason": "Venue closed"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    check(&badge(&app, &format!("{path}?lang=en")).await.body, "Withdrawn", "#cf222e");

    // Compact: one line, 20 px high.
    let compact = badge(&app, &format!("{path}?lang=en&style=compact")).await;
    let doc = roxmltree::Document::parse(&compact.body).unwrap();
    assert_eq!(doc.root_element().attribute("height"), Some("20"));

    // Unknown and malformed numbers: the grey badge, 404.
    for bad in ["/badge/GEL-2020-999999.svg", "/badge/nonsense.svg", "/badge/GEL-2025-000001.png"] {
        let b = badge(&app, &format!("{bad}?lang=en")).await;
        assert_eq!(b.status, 404, "{bad}");
        check(&b.body, "Certificate not found", "#6e7781");
    }
}

async fn expired_and_superseded_badges(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let approve = |id: i64| {
        let officer = officer.clone();
        let app = &app;
        async move {
            let r = app
                .post(&format!("/api/v1/assessments/{id}/decision"), Some(&officer), json!({"decision": "approve"}))
                .await;
            json(r).await["certificate"]["number"].as_str().unwrap().to_string()
        }
    };
    let (venue, first) = app.submitted_assessment(&assessor, gold_measurements()).await;
    let old = approve(first).await;
    let second = app.draft_with_evidence(&assessor, venue, gold_measurements()).await;
    let r = app.post(&format!("/api/v1/assessments/{second}/submit"), Some(&assessor), json!({})).await;
    assert_eq!(r.status(), 200);
    let new = approve(second).await;
    check(&badge(&app, &format!("/badge/{old}.svg?lang=en")).await.body, "Superseded", "#0969da");
    check(&badge(&app, &format!("/badge/{new}.svg?lang=en")).await.body, "Valid", "#1a7f37");
    // 25 months later by the registry's clock, once the page's snapshot is renewed.
    app.state.clock.advance(chrono::TimeDelta::days(25 * 31));
    app.state.snapshots.invalidate(&new);
    let expired = badge(&app, &format!("/badge/{new}.svg?lang=en")).await;
    check(&expired.body, "Expired", "#57606a");
    assert!(!expired.body.contains(">Valid<"));
}

/// The venue manager finds the badge and the code to copy on the certificate's portal page.
async fn the_venue_copies_its_badge_from_the_portal(app: TestApp) {
    let c = app.issue("Smart Plastic Zone", "Astana").await;
    person(&app, "manager@spz.kz", &[Role::Venue], Some(c.venue)).await;
    let mut b = Browser::new(&app);
    b.sign_in("manager@spz.kz", PASSWORD).await;
    for lang in ["kk", "ru", "en"] {
        let p = b.get(&format!("/app/certificates/{}?lang={lang}", c.number)).await;
        assert_eq!(p.status, 200);
        assert!(p.body.contains(&word(lang, "badge_section")), "{lang}");
        assert!(p.body.contains(&format!("src=\"/badge/{}.svg?lang={lang}\"", c.number)), "the badge image");
        // The snippet links the badge to the public page, on the registry's public URL.
        let snippet = format!(
            "&lt;a href=&quot;{url}/certificates/{n}?lang={lang}&quot;&gt;&lt;img src=&quot;{url}/badge/{n}.svg?lang={lang}&quot;",
            url = app.config.public_url.trim_end_matches('/'),
            n = c.number
        );
        assert!(p.body.contains(&snippet), "{snippet} is not on the page");
    }
}

/// What one of the scripts that read JSON-LD with pyld prints for `input`, or None where pyld is missing
/// (a failure in CI).
fn pyld(script: &str, input: &str) -> Option<serde_json::Value> {
    use std::io::Write;
    let script = format!("{}/scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("No module named 'pyld'") {
        assert!(std::env::var("CI").is_err(), "CI=true but pyld is missing");
        eprintln!("skipped: the JSON-LD check needs pyld (pip install pyld)");
        return None;
    }
    assert!(out.status.success(), "{err}");
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// The certificate page as a JSON-LD processor (pyld) reads it.
fn read_json_ld(html: &str) -> Option<serde_json::Value> {
    pyld("jsonld_check.py", html)
}

/// Each public certificate page carries schema.org JSON-LD that says what the page says, and the register
/// offers its JSON and CSV as alternates.
async fn pages_say_the_same_to_machines(app: TestApp) {
    let c = app.issue("Green Cup Café", "Almaty").await;
    let path = format!("/certificates/{}?lang=en", c.number);
    let html = app.get(&path, None).await.text().await.unwrap();
    let Some(ld) = read_json_ld(&html) else { return };
    let facts = public_json(&app, &c.number).await;
    let base = app.config.public_url.trim_end_matches('/');
    assert_eq!(ld["id"], format!("{base}/certificates/{}", c.number));
    assert_eq!(ld["identifier"], c.number);
    assert_eq!(ld["status"], "https://schema.org/CertificationActive");
    assert_eq!(ld["rating"], "gold");
    assert_eq!(ld["venue"], "Green Cup Café");
    assert_eq!(ld["locality"], "Almaty");
    assert_eq!(ld["venue_types"], json!(["https://schema.org/LocalBusiness", "https://schema.org/Place"]));
    assert_eq!(ld["valid_from"], facts["valid_from"]);
    assert_eq!(ld["expires"], facts["valid_until"]);
    assert_eq!(ld["issuer"], facts["issuer"]);
    assert_eq!(ld["criteria"], format!("{base}/api/v1/criteria/gold-eco-label/1"));
    assert!(html.contains(facts["valid_until"].as_str().unwrap()) && html.contains("Green Cup Café"));

    // Suspended: the page says so, and so does its JSON-LD.
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", c.number),
            Some(&c.officer),
            json!({"reason": "Bins missing"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = app.get(&path, None).await.text().await.unwrap();
    assert!(html.contains("Suspended"));
    assert_eq!(read_json_ld(&html).unwrap()["status"], "https://schema.org/CertificationInactive");

    // The register links its machine-readable forms, for the same search.
    let reg = app.get("/register?lang=en&city=Almaty", None).await.text().await.unwrap();
    let doc = |t: &str| format!(r#"<link rel="alternate" type="{t}""#);
    assert!(reg.contains(&doc("application/json")) && reg.contains(&doc("text/csv")), "{reg}");
    assert!(reg.contains(r#"href="/api/v1/public/certificates?lang=en&amp;city=Almaty""#));
    assert!(reg.contains(r#"href="/api/v1/public/certificates.csv?lang=en&amp;city=Almaty""#));
}

async fn at_json(app: &TestApp, number: &str, when: String) -> (u16, serde_json::Value) {
    let path = format!("/certificates/{number}?at={when}");
    let r = app
        .request(reqwest::Method::GET, &path, None)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
}

/// "Was it valid on that day?": the status at a moment from the public log, with the deciding entry and a
/// proof that checks offline against the log's key; before issuance "not yet issued"; the future refused.
async fn the_status_on_a_date_comes_from_the_log(app: TestApp) {
    use chrono::TimeDelta;
    let c = app.issue("Koktem Hotel", "Almaty").await;
    let clock = &app.state.clock;
    let day = |d: chrono::NaiveDateTime| d.format("%Y-%m-%d").to_string();
    let issued = clock.now();
    clock.advance(TimeDelta::days(40));
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", c.number),
            Some(&c.officer),
            json!({"reason": "Bins missing"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    clock.advance(TimeDelta::days(20));
    let r = app
        .post(&format!("/api/v1/certificates/{}/reinstate", c.number), Some(&c.officer), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    clock.advance(TimeDelta::days(5));
    let vkey = app.get("/log/vkey", None).await.text().await.unwrap();
    let at = |when: String| at_json(&app, &c.number, when);
    // Before issuance.
    let (s, v) = at(day(issued - TimeDelta::days(1))).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("not_yet_issued")));
    assert!(v["decided_by"].is_null() && v["log"].is_null());
    // Each moment is decided by the entry before it; its proof checks against the log's key.
    for (when, status, kind) in [
        (issued + TimeDelta::days(10), "valid", "issued"),
        (issued + TimeDelta::days(50), "suspended", "suspended"),
        (issued + TimeDelta::days(62), "valid", "reinstated"),
    ] {
        let (s, v) = at(day(when)).await;
        assert_eq!(s, 200);
        assert_eq!(v["status"], status, "{when}: {v}");
        assert_eq!(v["decided_by"]["kind"], kind);
        let bundle: ecolabel::domain::log::ProofBundle = serde_json::from_value(v["log"].clone()).unwrap();
        let (entry, _) = ecolabel::domain::log::check_bundle(&bundle, vkey.trim()).unwrap();
        assert_eq!((entry.kind.as_str(), entry.number.as_str()), (kind, c.number.as_str()));
        assert_eq!(v["decided_by"]["index"], bundle.index);
        assert_eq!(v["timeline"].as_array().unwrap().len(), 3);
    }
    // An RFC 3339 time works too; the future and nonsense are refused.
    let (s, v) = at((issued + TimeDelta::days(50)).and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("suspended")));
    let (s, v) = at(day(issued + TimeDelta::days(90))).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("at_in_future")));
    let (s, v) = at("15.03.2026".into()).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_at")));

    // The page says it in words, with the timeline; the certificate page shows the timeline too.
    let html = app
        .get(&format!("/certificates/{}?at={}&lang=en", c.number, day(issued + TimeDelta::days(50))), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("On {} this certificate was: Suspended.", day(issued + TimeDelta::days(50)))),
        "{html}"
    );
    for word in ["Issued", "Suspended", "Reinstated", "Bins missing"] {
        assert!(html.contains(word), "{word}");
    }
    app.state.snapshots.invalidate(&c.number);
    let page = app.get(&format!("/certificates/{}?lang=en", c.number), None).await.text().await.unwrap();
    assert!(page.contains("Timeline") && page.contains("Reinstated"), "{page}");
    assert_eq!(public_json(&app, &c.number).await["timeline"].as_array().unwrap().len(), 3);
}

async fn data_file(app: &TestApp, name: &str) -> (String, Vec<u8>) {
    let path = format!("/data/{name}");
    let r = app.get(&path, None).await;
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(r.headers()["content-type"], "application/gzip");
    assert!(r.headers().contains_key("last-modified"));
    let etag = r.headers()["etag"].to_str().unwrap().trim_matches('"').to_string();
    (etag, r.bytes().await.unwrap().to_vec())
}

/// Open data: the snapshot files parse back to the register (every certificate, its status and log index),
/// their sizes and SHA-256 match the manifest, the ETag and the DCAT-AP description, which pyld reads.
async fn open_data_is_the_register(app: TestApp) {
    use std::io::Read;
    app.issue("Green Cup Café", "Almaty").await;
    let b = app.issue("=Koktem, \"Hotel\"", "Astana").await;
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", b.number),
            Some(&b.officer),
            json!({"reason": "Bins missing"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let ctx = app.state.app.clone();
    let dir = ecolabel::app::export::dir_of(&ctx);
    let manifest = actix_web::rt::task::spawn_blocking(move || ecolabel::app::export::write(&ctx, &dir))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manifest.certificates, 2);
    let register = json(app.get("/api/v1/public/certificates", None).await).await;
    let mut want: Vec<(String, String)> = register["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["number"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string()))
        .collect();
    want.sort();
    for (name, facts) in [("certificates.jsonl.gz", &manifest.files[0]), ("certificates.csv.gz", &manifest.files[1])] {
        assert_eq!(facts.name, name);
        let (etag, gz) = data_file(&app, name).await;
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&gz));
        assert_eq!((sha.as_str(), gz.len() as u64), (facts.sha256.as_str(), facts.bytes), "{name}");
        assert_eq!(etag, sha);
        let r = app
            .request(reqwest::Method::GET, &format!("/data/{name}"), None)
            .header("if-none-match", format!("\"{sha}\""))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
        let mut got: Vec<(String, String)> = if name.ends_with(".jsonl.gz") {
            text.lines()
                .map(|l| {
                    let r: ecolabel::app::export::Record = serde_json::from_str(l).unwrap();
                    assert!(r.log_index.is_some(), "{l}");
                    assert_eq!(r.url, format!("{}/certificates/{}", app.config.public_url.trim_end_matches('/'), r.number));
                    if r.number == b.number {
                        assert_eq!((r.venue.as_str(), r.status_reason.as_deref()), ("=Koktem, \"Hotel\"", Some("Bins missing")));
                    }
                    (r.number, r.status.as_str().to_string())
                })
                .collect()
        } else {
            let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
            assert_eq!(format!("{}\r\n", lines.next().unwrap()), ecolabel::app::export::CSV_HEADER);
            let rows: Vec<&str> = lines.collect();
            assert!(rows.iter().any(|l| l.contains("\"'=Koktem, \"\"Hotel\"\"\"")), "quoted and neutralised: {text}");
            rows.iter()
                .map(|l| {
                    let number = l.split(',').next().unwrap().to_string();
                    let status = if l.contains(",suspended,") { "suspended" } else { "valid" };
                    (number, status.to_string())
                })
                .collect()
        };
        got.sort();
        assert_eq!(got, want, "{name}");
    }
    // The DCAT-AP description, read by a JSON-LD processor.
    let r = app.get("/data/catalog.jsonld", None).await;
    assert_eq!(r.headers()["content-type"], "application/ld+json");
    let Some(dcat) = pyld("dcat_check.py", &r.text().await.unwrap()) else {
        return;
    };
    assert_eq!(dcat["license"], "https://creativecommons.org/licenses/by/4.0/");
    assert_eq!(dcat["periodicity"], "http://publications.europa.eu/resource/authority/frequency/DAILY");
    assert_eq!(dcat["start"], manifest.earliest.clone().unwrap());
    assert_eq!(dcat["end"], manifest.latest.clone().unwrap());
    let dists = dcat["distributions"].as_array().unwrap();
    assert_eq!(dists.len(), 2);
    for (d, f) in dists.iter().zip(&manifest.files) {
        assert!(d["download"].as_str().unwrap().ends_with(&format!("/data/{}", f.name)));
        assert_eq!((d["bytes"].as_u64(), d["sha256"].as_str()), (Some(f.bytes), Some(f.sha256.as_str())));
    }
    assert_eq!(app.get("/data/other.zip", None).await.status(), 404);
}

crate::both_backends!(
    the_badge_follows_the_status_in_three_languages,
    expired_and_superseded_badges,
    the_venue_copies_its_badge_from_the_portal,
    pages_say_the_same_to_machines,
    the_status_on_a_date_comes_from_the_log,
    open_data_is_the_register,
);

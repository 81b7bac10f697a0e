// The live badge (/badge/{number}.svg): colour and words per status in kk, ru and en, a well-formed SVG,
// fresh after a change, cached with an ETag, the grey 404 badge, and the snippet on the venue's portal page.

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

crate::both_backends!(
    the_badge_follows_the_status_in_three_languages,
    expired_and_superseded_badges,
    the_venue_copies_its_badge_from_the_portal,
);

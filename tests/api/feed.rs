// The status watch: `/feed.atom` read by a real feed parser (feed-rs): every public status change the log
// records, newest first, for everyone, one certificate or one venue; bad filters are 400 with a stable code.

use crate::helpers::*;
use ecolabel::domain::auth::Role;
use serde_json::json;

async fn atom(app: &TestApp, query: &str) -> feed_rs::model::Feed {
    let r = app.get(&format!("/feed.atom{query}"), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/atom+xml; charset=utf-8");
    let body = r.bytes().await.unwrap();
    let feed = feed_rs::parser::parse(&body[..]).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    feed
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries.iter().map(|e| e.title.as_ref().unwrap().content.clone()).collect()
}

async fn watchers_follow_status_changes_in_the_atom_feed(app: TestApp) {
    assert!(atom(&app, "").await.entries.is_empty(), "nothing issued, nothing to watch");
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let b = app.issue("Samal Cafe", "Almaty").await;
    let officer = app.token(&[Role::Officer]).await;
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", a.number),
            Some(&officer),
            json!({"reason": "Inspection pending"}),
        )
        .await;
    assert_eq!(r.status(), 200);

    // Everything, newest first.
    let all = atom(&app, "").await;
    assert_eq!(
        titles(&all),
        [
            format!("{} suspended — Smart Plastic Zone", a.number),
            format!("{} issued — Samal Cafe", b.number),
            format!("{} issued — Smart Plastic Zone", a.number),
        ]
    );
    let newest = &all.entries[0];
    assert!(newest.summary.as_ref().unwrap().content.contains("Inspection pending"), "the public reason");
    assert!(newest.links[0].href.ends_with(&format!("/certificates/{}", a.number)), "{:?}", newest.links);
    assert_eq!(all.updated, newest.updated, "the feed is as new as its newest entry");
    let ids: std::collections::HashSet<_> = all.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 3, "each entry its own id");

    // One certificate, one venue.
    let one = atom(&app, &format!("?certificate={}", a.number)).await;
    assert_eq!(titles(&one), titles(&all).into_iter().filter(|t| t.starts_with(&a.number)).collect::<Vec<_>>());
    let venue = atom(&app, &format!("?venue={}", b.venue)).await;
    assert_eq!(titles(&venue), [format!("{} issued — Samal Cafe", b.number)]);
    assert!(atom(&app, "?certificate=GEL-2099-000001").await.entries.is_empty());
    assert!(
        atom(&app, "?certificate=GEL-0000-000000").await.entries.is_empty(),
        "well-formed, names nothing"
    );
    // Both: the certificate only if it is the venue's.
    assert_eq!(titles(&atom(&app, &format!("?venue={}&certificate={}", b.venue, b.number)).await).len(), 1);
    assert!(atom(&app, &format!("?venue={}&certificate={}", b.venue, a.number)).await.entries.is_empty());

    // The change shows at once (the register's 30 s cache is for clients, not the server).
    let r = app
        .post(&format!("/api/v1/certificates/{}/reinstate", a.number), Some(&officer), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(titles(&atom(&app, "").await)[0], format!("{} reinstated — Smart Plastic Zone", a.number));

    // The certificate's public page links to its feed; every page announces the whole feed.
    let page = app.get(&format!("/certificates/{}?lang=en", a.number), None).await.text().await.unwrap();
    assert!(page.contains(&format!("href=\"/feed.atom?certificate={}\"", a.number)), "{page}");
    assert!(page.contains("rel=\"alternate\" type=\"application/atom+xml\""));
    let register = app.get("/register?lang=kk", None).await.text().await.unwrap();
    assert!(register.contains("Мәртебе өзгерістері (Atom)"));

    // Bad filters change nothing and say why.
    assert_error(app.get("/feed.atom?certificate=nope", None).await, 400, "invalid_certificate_number").await;
    let r = app.get("/feed.atom?venue=abc", None).await;
    assert_eq!(r.status(), 400);
}

crate::both_backends!(watchers_follow_status_changes_in_the_atom_feed);

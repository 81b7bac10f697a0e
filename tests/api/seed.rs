// `ecolabel seed`, the load-test generator: what it writes goes through the real operations (signed,
// verifiable certificates, audits in the queue, some suspended or withdrawn), and it refuses a database
// that holds data unless forced.

use crate::helpers::*;
use crate::signin::{enrol, person, Browser, PASSWORD};
use ecolabel::domain::auth::Role;
use ecolabel::seed::{run, Plan};

async fn seed_fills_an_empty_registry_through_the_real_operations(app: TestApp) {
    let state = app.state.clone();
    let plan = Plan {
        certificates: 60,
        venues: 50,
        submitted: 55,
        force: false,
    };
    let report = actix_web::rt::task::spawn_blocking(move || run(&state, &plan)).await.unwrap().unwrap();
    assert!(report[1].starts_with("60 certificates"), "{report:?}");
    let admin = app.token(&[Role::Admin]).await;
    // Ten venues were certified twice: the renewal supersedes the first certificate.
    let all = json(app.get("/api/v1/public/certificates?limit=100", None).await).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 60);
    let count = |s: &str| items.iter().filter(|c| c["status"] == s).count();
    assert_eq!(count("superseded"), 10, "{all}");
    assert!(count("suspended") >= 1 && count("withdrawn") >= 1, "some labels are suspended or withdrawn");
    // Every certificate verifies like an issued one.
    let one = items.iter().find(|c| c["status"] == "valid").unwrap();
    let v = app.get(&qr_path(one["verification_url"].as_str().unwrap()), None).await;
    assert_eq!(v.status(), 200);
    // Names in three languages, realistic cities.
    let venue = json(app.get("/api/v1/venues/1", Some(&admin)).await).await;
    assert!(venue["name_kk"].as_str().unwrap().contains("қонақүйі"), "{venue}");
    assert_eq!(venue["city"], "Astana");
    // The queue holds the submitted audits.
    let queued = json(app.get("/api/v1/assessments?status=submitted&limit=100", Some(&admin)).await).await;
    assert_eq!(queued["items"].as_array().unwrap().len(), 55, "{queued}");
    // The officers' queue: oldest first, 50 a page, the next page by keyset.
    person(&app, "officer@example.kz", &[Role::Officer], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("officer@example.kz", PASSWORD).await;
    enrol(&mut b).await;
    let first = b.get("/app/reviews?lang=en").await;
    let ids = |body: &str| -> Vec<i64> {
        body.split("href=\"/app/assessments/")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect()
    };
    let page1 = ids(&first.body);
    assert_eq!(page1.len(), 50);
    assert!(
        page1.windows(2).all(|w| w[0] < w[1]),
        "seeded in order, so the oldest submissions have the lowest ids"
    );
    let next = first
        .body
        .split("href=\"/app/reviews?after_at=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let page2 = ids(&b.get(&format!("/app/reviews?after_at={next}")).await.body);
    assert_eq!(page2.len(), 5);
    assert!(page2[0] > page1[49]);
    // A second run refuses (the database holds data) and changes nothing.
    let state = app.state.clone();
    let again = Plan {
        certificates: 5,
        venues: 5,
        submitted: 0,
        force: false,
    };
    let refused = actix_web::rt::task::spawn_blocking(move || run(&state, &again)).await.unwrap();
    assert!(refused.unwrap_err().contains("--force"));
    let all = json(app.get("/api/v1/public/certificates?limit=100", None).await).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 60);
}

crate::both_backends!(seed_fills_an_empty_registry_through_the_real_operations,);

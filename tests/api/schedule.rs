// After the award: surveillance audits and the scheduler. Time is what the test passes (`jobs run --at`,
// `AppState::run_jobs(at)`), never a sleep; what the public page, the JSON and the feed say is checked at each step.

use crate::helpers::*;
use chrono::NaiveDateTime;
use ecolabel::domain::auth::Role;
use serde_json::{json, Value};

async fn public_page(app: &TestApp, number: &str) -> String {
    app.get(&format!("/certificates/{number}?lang=en"), None).await.text().await.unwrap()
}

async fn newest_feed_title(app: &TestApp, number: &str) -> String {
    let body = app.get(&format!("/feed.atom?certificate={number}"), None).await.bytes().await.unwrap();
    let feed = feed_rs::parser::parse(&body[..]).unwrap();
    feed.entries[0].title.as_ref().unwrap().content.clone()
}

/// `ecolabel jobs run --at …` against the test registry's database; its JSON report. The command is another
/// process, whose changes this server's public pages show within their snapshot's 1 s; the test drops the
/// snapshot rather than wait.
fn jobs_at(app: &TestApp, number: &str, time: &str) -> Value {
    let report: Value = serde_json::from_str(&app.cli(&["jobs", "run", "--at", time])).unwrap();
    app.state.snapshots.invalidate(number);
    report
}

/// Move a certificate's surveillance due date, as the storage does for an approved surveillance audit.
async fn set_surveillance_due(app: &TestApp, number: &str, due: chrono::NaiveDate) {
    let (number, state) = (number.to_string(), app.state.clone());
    actix_web::rt::task::spawn_blocking(move || {
        state
            .db
            .write_blocking(|c| ecolabel::storage::certificates::set_surveillance_due(c, &ecolabel::domain::auth::Caller::system("test"), &number, due, 0))
            .unwrap()
    })
    .await
    .unwrap();
}

fn changes(report: &Value) -> [i64; 3] {
    assert_eq!(report["ran"], true, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    ["expired", "suspended", "withdrawn"].map(|k| report[k].as_i64().unwrap())
}

/// A surveillance audit of `venue`'s certificate, filled in and submitted by `assessor`.
async fn submitted_surveillance(app: &TestApp, assessor: &str, venue: i64) -> i64 {
    let id = app.draft_of_kind(assessor, venue, gold_measurements(), "surveillance").await;
    let r = app.post(&format!("/api/v1/assessments/{id}/submit"), Some(assessor), json!({})).await;
    assert_eq!(r.status(), 200);
    id
}

async fn the_demo_certificate_is_suspended_for_overdue_surveillance_then_withdrawn(app: TestApp) {
    let state = app.state.clone();
    let demo = actix_web::rt::task::spawn_blocking(move || ecolabel::cli::demo::seed(&state))
        .await
        .unwrap()
        .unwrap();
    let n = demo.number.clone();
    let admin = app.token(&[Role::Admin]).await;
    let cert = json(app.get(&format!("/api/v1/certificates/{n}"), Some(&admin)).await).await;
    assert_eq!(cert["valid_from"], "2025-12-19");
    assert_eq!(cert["surveillance_months"], 12);
    assert_eq!(cert["surveillance_due"], "2026-12-19", "a year after the award");

    // A webhook subscriber follows the certificate's changes as they happen.
    let receiver = crate::webhooks::Receiver::start();
    let r = app
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            json!({"url": receiver.url, "events": ["suspended", "withdrawn"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let hooks = ecolabel::workers::webhooks::client(true);
    let deliver = || ecolabel::workers::webhooks::deliver_due(&app.state, &hooks, ecolabel::storage::now());

    // Due on 2026-12-19, 30 days of grace: nothing happens through 2027-01-18.
    assert_eq!(changes(&jobs_at(&app, &n, "2027-01-18T12:00:00Z")), [0, 0, 0]);
    assert_eq!(public_json(&app, &n).await["status"], "valid");

    let report = jobs_at(&app, &n, "2027-01-19T12:00:00Z");
    assert_eq!(changes(&report), [0, 1, 0]);
    assert_eq!(report["examined"], 1, "only the due certificate was read");
    assert_eq!(
        changes(&jobs_at(&app, &n, "2027-01-19T12:00:00Z")),
        [0, 0, 0],
        "the same time again changes nothing"
    );
    let p = public_json(&app, &n).await;
    assert_eq!(p["status"], "suspended");
    assert_eq!(p["status_reason"], "surveillance audit overdue");
    assert_eq!(p["status_since"], "2027-01-19T12:00:00Z");
    let page = public_page(&app, &n).await;
    assert!(page.contains("surveillance audit overdue"), "{page}");
    assert_eq!(newest_feed_title(&app, &n).await, format!("{n} suspended — Smart Plastic Zone"));
    assert_eq!(deliver().await.unwrap().delivered, 1);
    assert_eq!(receiver.types(), ["certificate.suspended"]);
    let cert = json(app.get(&format!("/api/v1/certificates/{n}"), Some(&admin)).await).await;
    let last = cert["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["actor"].as_str()), (Some("suspended"), Some("system")), "{last}");

    // Suspended for six months: withdrawn.
    assert_eq!(changes(&jobs_at(&app, &n, "2027-07-19T11:59:59Z")), [0, 0, 0]);
    assert_eq!(changes(&jobs_at(&app, &n, "2027-07-19T12:00:00Z")), [0, 0, 1]);
    let p = public_json(&app, &n).await;
    assert_eq!(p["status"], "withdrawn");
    assert_eq!(p["status_reason"], "suspended longer than the maximum suspension period");
    assert!(public_page(&app, &n).await.contains("suspended longer than the maximum suspension period"));
    assert_eq!(newest_feed_title(&app, &n).await, format!("{n} withdrawn — Smart Plastic Zone"));
    assert_eq!(deliver().await.unwrap().delivered, 1);
    assert_eq!(receiver.types(), ["certificate.suspended", "certificate.withdrawn"]);
    // Withdrawn is the end: expiry does not follow.
    assert_eq!(changes(&jobs_at(&app, &n, "2028-06-01T00:00:00Z")), [0, 0, 0]);
    assert_eq!(public_json(&app, &n).await["status"], "withdrawn");
}

async fn expiry_is_recorded_once_as_an_event_and_a_log_entry(app: TestApp) {
    let a = app.issue("Samal Cafe", "Almaty").await;
    let admin = app.token(&[Role::Admin]).await;
    let cert = json(app.get(&format!("/api/v1/certificates/{}", a.number), Some(&admin)).await).await;
    let until = chrono::NaiveDate::parse_from_str(cert["valid_until"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    // Keep surveillance out of the way: it was passed the day before the end.
    set_surveillance_due(&app, &a.number, until).await;
    let run = |t: NaiveDateTime| {
        let state = app.state.clone();
        actix_web::rt::task::spawn_blocking(move || state.run_jobs(t).unwrap())
    };
    let last_day = until.and_hms_opt(23, 59, 59).unwrap();
    let r = run(last_day).await.unwrap();
    assert_eq!((r.expired, r.suspended, r.withdrawn), (0, 0, 0), "valid through the whole last day");
    let r = run(last_day + chrono::TimeDelta::seconds(1)).await.unwrap();
    assert_eq!((r.expired, r.suspended, r.withdrawn, r.examined), (1, 0, 0, 1));
    let r = run(last_day + chrono::TimeDelta::days(400)).await.unwrap();
    assert_eq!((r.expired, r.suspended, r.withdrawn, r.examined), (0, 0, 0, 0), "nothing left to read");

    assert_eq!(public_json(&app, &a.number).await["status"], "expired");
    assert_eq!(newest_feed_title(&app, &a.number).await, format!("{} expired — Samal Cafe", a.number));
    let cert = json(app.get(&format!("/api/v1/certificates/{}", a.number), Some(&admin)).await).await;
    assert_eq!(cert["status"], "expired");
    let expired: Vec<_> = cert["history"].as_array().unwrap().iter().filter(|e| e["action"] == "expired").collect();
    assert_eq!(expired.len(), 1, "{cert}");
    let listed = json(app.get("/api/v1/public/certificates?status=expired", None).await).await;
    assert!(listed.to_string().contains(&a.number), "the register's expired filter finds it: {listed}");
    // An expired certificate can still be withdrawn, not suspended.
    let r = app
        .post(&format!("/api/v1/certificates/{}/suspend", a.number), Some(&a.officer), json!({"reason": "x"}))
        .await;
    assert_error(r, 409, "illegal_transition").await;
}

async fn surveillance_audits_keep_or_suspend_the_certificate(app: TestApp) {
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let assessor = &a.assessor;
    let today = chrono::Utc::now().date_naive();

    // A surveillance audit is for a certified venue only.
    let bare = app.venue(assessor, "No certificate yet", "Astana").await;
    let r = app
        .post("/api/v1/assessments", Some(assessor), json!({"venue_id": bare, "kind": "surveillance"}))
        .await;
    let body = assert_error(r, 422, "no_current_certificate").await;
    assert_eq!(body["fields"][0]["field"], "kind", "{body}");
    let r = app
        .post("/api/v1/assessments", Some(assessor), json!({"venue_id": bare, "kind": "yearly"}))
        .await;
    assert!(r.status().is_client_error());

    // Approval: the certificate stays valid, the next audit falls due a year from the decision. The
    // independence rule holds as for initial audits.
    let both = app.token(&[Role::Assessor, Role::Officer]).await;
    let id = app.draft_of_kind(&both, a.venue, gold_measurements(), "surveillance").await;
    let draft = json(app.get(&format!("/api/v1/assessments/{id}"), Some(&both)).await).await;
    assert_eq!(
        (draft["kind"].as_str(), draft["surveils"].as_str()),
        (Some("surveillance"), Some(a.number.as_str()))
    );
    assert_eq!(
        app.post(&format!("/api/v1/assessments/{id}/submit"), Some(&both), json!({})).await.status(),
        200
    );
    let r = app
        .post(&format!("/api/v1/assessments/{id}/decision"), Some(&both), json!({"decision": "approve"}))
        .await;
    assert_error(r, 403, "self_decision").await;
    let d = json(
        app.post(&format!("/api/v1/assessments/{id}/decision"), Some(&a.officer), json!({"decision": "approve"}))
            .await,
    )
    .await;
    assert_eq!(d["status"], "approved", "{d}");
    assert_eq!(d["certificate"]["number"], a.number.as_str(), "no new certificate: the same one kept");
    let cert = json(app.get(&format!("/api/v1/certificates/{}", a.number), Some(&a.officer)).await).await;
    assert_eq!(cert["status"], "valid");
    assert_eq!(cert["surveillance_due"], (today + chrono::Months::new(12)).to_string());

    // Rejection: suspended with the officer's reason, in the log and the feed.
    let id = submitted_surveillance(&app, assessor, a.venue).await;
    let r = app
        .post(
            &format!("/api/v1/assessments/{id}/decision"),
            Some(&a.officer),
            json!({"decision": "reject", "reason": "Mixed plastic found in the recycling bins"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let p = public_json(&app, &a.number).await;
    assert_eq!(
        (p["status"].as_str(), p["status_reason"].as_str()),
        (Some("suspended"), Some("Mixed plastic found in the recycling bins"))
    );
    assert_eq!(newest_feed_title(&app, &a.number).await, format!("{} suspended — Smart Plastic Zone", a.number));

    // A withdrawn certificate is no longer kept by surveillance.
    let id = submitted_surveillance(&app, assessor, a.venue).await;
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/withdraw", a.number),
            Some(&a.officer),
            json!({"reason": "Closed"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post(&format!("/api/v1/assessments/{id}/decision"), Some(&a.officer), json!({"decision": "approve"}))
        .await;
    assert_error(r, 409, "certificate_not_current").await;
    let again = json(app.get(&format!("/api/v1/assessments/{id}"), Some(assessor)).await).await;
    assert_eq!(again["status"], "submitted", "a refused decision changes nothing");
}

async fn a_passed_surveillance_audit_lifts_an_overdue_suspension(app: TestApp) {
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let far = chrono::Utc::now().naive_utc() + chrono::TimeDelta::days(365 + 31);
    let state = app.state.clone();
    let r = actix_web::rt::task::spawn_blocking(move || state.run_jobs(far).unwrap()).await.unwrap();
    assert_eq!(r.suspended, 1);
    assert_eq!(public_json(&app, &a.number).await["status"], "suspended");
    let id = submitted_surveillance(&app, &a.assessor, a.venue).await;
    let r = app
        .post(&format!("/api/v1/assessments/{id}/decision"), Some(&a.officer), json!({"decision": "approve"}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(public_json(&app, &a.number).await["status"], "valid");
    assert_eq!(
        newest_feed_title(&app, &a.number).await,
        format!("{} reinstated — Smart Plastic Zone", a.number)
    );
}

/// Two schedulers (two replicas) race over the same due certificates on PostgreSQL: each is suspended once.
#[actix_web::test]
async fn racing_schedulers_suspend_each_certificate_once_on_postgres() {
    let Some(app) = spawn_app(Backend::Postgres).await else { return };
    let mut numbers = vec![];
    for i in 0..6 {
        numbers.push(app.issue(&format!("Venue {i}"), "Astana").await.number);
    }
    let far = chrono::Utc::now().naive_utc() + chrono::TimeDelta::days(365 + 31);
    let run = |s: actix_web::web::Data<ecolabel::web::AppState>| {
        std::thread::spawn(move || {
            // Each its own state, like two processes: bypass the in-process lock and meet in the database.
            let app = ecolabel::app::Context {
                db: ecolabel::storage::Db::open(s.db.url(), 4).unwrap(),
                ..s.app.clone()
            };
            ecolabel::workers::scheduler::run(&app, far).unwrap()
        })
    };
    let (x, y) = (run(app.state.clone()), run(app.state.clone()));
    let (x, y) = (x.join().unwrap(), y.join().unwrap());
    assert_eq!(x.suspended + y.suspended, numbers.len(), "{x:?} {y:?}");
    assert_eq!(x.failed + y.failed, 0);
    // And the guarded change alone, without the lock: two acts on one certificate, one wins.
    let n = app.issue("Venue last", "Astana").await.number;
    let act = |s: actix_web::web::Data<ecolabel::web::AppState>, n: String| {
        std::thread::spawn(move || {
            s.db.write_blocking(|c| ecolabel::app::schedule::act(c, &n, &s.config.schedule, far, &s.log_key))
        })
    };
    let (p, q) = (act(app.state.clone(), n.clone()), act(app.state.clone(), n.clone()));
    let outcomes = [p.join().unwrap(), q.join().unwrap()];
    let done = outcomes.iter().filter(|o| matches!(o, Ok(Some(_)))).count();
    assert_eq!(done, 1, "{outcomes:?}");
    numbers.push(n);
    let admin = app.token(&[Role::Admin]).await;
    for n in &numbers {
        let cert = json(app.get(&format!("/api/v1/certificates/{n}"), Some(&admin)).await).await;
        let suspended = cert["history"].as_array().unwrap().iter().filter(|e| e["action"] == "suspended").count();
        assert_eq!(suspended, 1, "{n}: one event, {cert}");
        let body = app.get(&format!("/feed.atom?certificate={n}"), None).await.bytes().await.unwrap();
        let feed = feed_rs::parser::parse(&body[..]).unwrap();
        let logged = feed
            .entries
            .iter()
            .filter(|e| e.title.as_ref().unwrap().content.contains(" suspended "))
            .count();
        assert_eq!(logged, 1, "{n}: one log entry");
    }
}

/// Each of the scheduler's three queries reads its own index, on both backends.
async fn the_scheduler_reads_due_certificates_through_its_indexes(app: TestApp) {
    use diesel::RunQueryDsl;
    use ecolabel::domain::surveillance::Due;
    use ecolabel::storage::DbConn;
    // Enough certificates, with fresh statistics, that the planner weighs the indexes by what they hold.
    let state = app.state.clone();
    let plan = ecolabel::cli::seed::Plan {
        certificates: 300,
        venues: 300,
        submitted: 0,
        force: false,
        per_year: ecolabel::cli::seed::PER_YEAR,
    };
    actix_web::rt::task::spawn_blocking(move || ecolabel::cli::seed::run(&state, &plan))
        .await
        .unwrap()
        .unwrap();
    // The very queries the scheduler runs (storage::certificates::scheduled), each with its index.
    let cut = ecolabel::domain::surveillance::Cutoffs {
        expired_before: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        overdue_before: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        suspended_since: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap(),
    };
    let queries = [
        ("certificates_expiry", Due::Expire),
        ("certificates_surveillance_due", Due::SuspendOverdue),
        ("certificates_status_since", Due::WithdrawSuspended),
    ];
    let plans = app
        .state
        .db
        .read(move |c| {
            let mut out = vec![];
            for (index, due) in queries {
                // The test database is small, so a sequential scan would be cheaper: ask whether the index serves.
                if let DbConn::Pg(p) = c {
                    diesel::sql_query("SET enable_seqscan = off").execute(p)?;
                }
                let plan = ecolabel::storage::certificates::scheduled_plan(c, due, &cut);
                if let DbConn::Pg(p) = c {
                    diesel::sql_query("RESET enable_seqscan").execute(p)?;
                }
                out.push((index, plan?));
            }
            Ok::<_, ecolabel::storage::Error>(out)
        })
        .await
        .unwrap();
    for (index, plan) in plans {
        assert!(plan.contains(index), "expected {index}: {plan}");
    }
}

/// `serve` runs the scheduler itself at start and every `--jobs-interval` minutes (the tests' servers have
/// it off, 0, and run it at the times they choose): a second server on the same database finds the overdue
/// certificate at start and suspends it.
async fn serve_runs_the_scheduler_at_start(app: TestApp) {
    let a = app.issue("Samal Cafe", "Almaty").await;
    let overdue = chrono::Utc::now().date_naive() - chrono::Days::new(40);
    set_surveillance_due(&app, &a.number, overdue).await;
    assert_eq!(
        public_json(&app, &a.number).await["status"],
        "valid",
        "nothing runs the scheduler in the test server"
    );

    app.replica(|c| c.jobs_interval = 60).await;
    // The pass runs in the background of the starting server: wait for what it does (up to 30 s).
    let mut status = Value::Null;
    for _ in 0..300 {
        app.state.snapshots.invalidate(&a.number);
        status = public_json(&app, &a.number).await["status"].clone();
        if status == "suspended" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "suspended");
    assert_eq!(public_json(&app, &a.number).await["status_reason"], "surveillance audit overdue");
}

crate::both_backends!(
    serve_runs_the_scheduler_at_start,
    the_scheduler_reads_due_certificates_through_its_indexes,
    the_demo_certificate_is_suspended_for_overdue_surveillance_then_withdrawn,
    expiry_is_recorded_once_as_an_event_and_a_log_entry,
    surveillance_audits_keep_or_suspend_the_certificate,
    a_passed_surveillance_audit_lifts_an_overdue_suspension,
);

// Notifications: written to the outbox in the transaction of the change, sent by e-mail (lettre) to a local
// SMTP server the test starts (Python aiosmtpd) in the recipient's language, once, retried when the server is
// down, also after a sender died holding a claim; reminders once per stage; shown in the portal.

use crate::helpers::*;
use crate::signin::{person, Browser, PASSWORD};
use chrono::{NaiveDateTime, TimeDelta};
use ecolabel::domain::auth::Role;
use serde_json::{json, Value};

/// A local SMTP server (aiosmtpd) writing each message into a maildir.
struct Smtp {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Smtp {
    fn start(dir: &std::path::Path, port: Option<u16>) -> Option<Smtp> {
        let port = port.unwrap_or_else(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
        let maildir = dir.join("maildir");
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let mut smtp = Smtp { child, port, dir: maildir };
        // Wait until it listens (or report why it cannot).
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(smtp);
            }
            if let Ok(Some(_)) = smtp.child.try_wait() {
                let mut err = String::new();
                std::io::Read::read_to_string(smtp.child.stderr.as_mut().unwrap(), &mut err).ok();
                assert!(std::env::var("CI").is_err(), "CI=true but aiosmtpd cannot run: {err}");
                eprintln!("skipped: the SMTP test needs aiosmtpd (pip install aiosmtpd): {err}");
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start");
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received: to, subject and body decoded by Python's e-mail parser, and the Message-ID.
    fn messages(&self) -> Vec<Value> {
        let script = "import sys, json, mailbox\nbox = mailbox.Maildir(sys.argv[1], create=False)\nout = []\nfor m in box:\n    body = m.get_payload(decode=True).decode(m.get_content_charset() or 'utf-8')\n    import email.header\n    subject = str(email.header.make_header(email.header.decode_header(m['Subject'])))\n    out.append({'to': m['To'], 'subject': subject, 'body': body, 'id': m['Message-ID']})\nprint(json.dumps(sorted(out, key=lambda x: x['id'])))";
        if !self.dir.exists() {
            return vec![];
        }
        let out = std::process::Command::new("python3").args(["-c", script]).arg(&self.dir).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mailer(app: &TestApp, smtp_url: &str) -> ecolabel::workers::mail::Mailer {
    ecolabel::workers::mail::Mailer::new(smtp_url, &app.config.mail_from, &app.config.public_url).unwrap()
}

async fn send(app: &TestApp, mailer: &ecolabel::workers::mail::Mailer, at: NaiveDateTime) -> ecolabel::workers::mail::Report {
    ecolabel::workers::mail::deliver_due(&app.state.db, mailer, at).await.unwrap()
}

/// A problem reported from the certificate's public page as a form (the reply: its JSON).
async fn report(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Value {
    let r = app
        .client
        .post(app.url(path))
        .header("accept", "application/json")
        .form(fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    json(r).await
}

async fn outbox(app: &TestApp) -> Vec<ecolabel::storage::models::NotificationRow> {
    app.state.db.read(ecolabel::storage::notifications::all).await.unwrap()
}

async fn changes_are_mailed_once_in_the_recipients_language(app: TestApp) {
    let Some(mut smtp) = Smtp::start(app.dir.path(), None) else { return };
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    person(&app, "manager@spz.kz", &[Role::Venue], Some(a.venue)).await;
    let mut b = Browser::new(&app);
    b.sign_in("manager@spz.kz", PASSWORD).await;
    assert_eq!(b.get("/app?lang=ru").await.status, 200, "the manager uses the portal in Russian");

    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", a.number),
            Some(&a.officer),
            json!({"reason": "Контейнеры не найдены"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let m = mailer(&app, &smtp.url());
    let now = ecolabel::storage::now();
    assert_eq!(send(&app, &m, now).await, ecolabel::workers::mail::Report { sent: 1, failed: 0 });
    let got = smtp.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["to"], "manager@spz.kz");
    assert_eq!(got[0]["subject"], format!("Сертификат {} приостановлен: Smart Plastic Zone", a.number));
    let body = got[0]["body"].as_str().unwrap();
    assert!(
        body.contains("Контейнеры не найдены") && body.contains(&format!("http://registry.test/certificates/{}", a.number)),
        "{body}"
    );
    assert_eq!(send(&app, &m, now + TimeDelta::days(1)).await, Default::default(), "never twice");

    // The server is down: the message waits and goes out on a later attempt.
    let port = smtp.port;
    drop(smtp);
    let r = app
        .post(&format!("/api/v1/certificates/{}/reinstate", a.number), Some(&a.officer), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let t0 = ecolabel::storage::now();
    assert_eq!(send(&app, &m, t0).await.failed, 1);
    let waiting = outbox(&app).await.into_iter().last().unwrap();
    assert_eq!((waiting.kind.as_str(), waiting.attempts), ("reinstated", 1));
    assert!(waiting.last_error.is_some() && waiting.next_attempt_at.is_some() && waiting.sent_at.is_none());
    smtp = Smtp::start(app.dir.path(), Some(port)).unwrap();
    assert_eq!(send(&app, &m, t0 + TimeDelta::seconds(2)).await, Default::default(), "not before the backoff");
    assert_eq!(send(&app, &m, t0 + TimeDelta::seconds(6)).await.sent, 1);
    let got = smtp.messages();
    assert_eq!(got.len(), 2);
    assert!(got
        .iter()
        .any(|g| g["subject"] == format!("Сертификат {} снова действителен: Smart Plastic Zone", a.number)));

    // A sender that claimed a message and died before recording it: sent once its claim lapses.
    let r = app
        .post(
            &format!("/api/v1/certificates/{}/suspend", a.number),
            Some(&a.officer),
            json!({"reason": "Again"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let t1 = ecolabel::storage::now();
    let claimed = app
        .state
        .db
        .write(move |c| {
            let due = ecolabel::storage::notifications::due(c, t1, 10)?;
            ecolabel::storage::notifications::claim(c, due[0].id, due[0].next_attempt_at.unwrap(), t1 + TimeDelta::seconds(120))
        })
        .await
        .unwrap();
    assert!(claimed);
    assert_eq!(send(&app, &m, t1 + TimeDelta::seconds(60)).await, Default::default(), "the claim holds");
    assert_eq!(send(&app, &m, t1 + TimeDelta::seconds(121)).await.sent, 1);
    assert_eq!(smtp.messages().len(), 3);

    // The menu counts the messages not seen yet; the list shows every message in the page's language,
    // each a link to what it is about, and opening it clears the count.
    let home = b.get("/app?lang=en").await;
    let unread = home
        .body
        .split("id=\"unread\"")
        .nth(1)
        .and_then(|t| t.split('>').nth(1))
        .and_then(|t| t.split('<').next());
    assert!(unread.is_some_and(|n| n.parse::<i64>().unwrap() >= 1), "{}", home.body);
    let p = b.get("/app/notifications?lang=en").await;
    assert_eq!(p.status, 200);
    assert!(
        p.body.contains(&format!("Certificate {} suspended: Smart Plastic Zone", a.number)),
        "{}",
        p.body
    );
    assert!(p.body.contains(&format!("<a href=\"/certificates/{}\">", a.number)), "{}", p.body);
    assert!(p.body.contains("sent by e-mail"));
    assert!(!b.get("/app?lang=en").await.body.contains("id=\"unread\""), "seen: no count");
}

async fn decisions_complaints_appeals_and_reminders_are_notified(app: TestApp) {
    let Some(smtp) = Smtp::start(app.dir.path(), None) else { return };
    let m = mailer(&app, &smtp.url());
    // A rejected audit: its assessor (no address: in the portal only).
    let assessor = app.token(&[Role::Assessor]).await;
    let officer = app.token(&[Role::Officer]).await;
    let venue = app.venue(&assessor, "Green Yurt", "Astana").await;
    let id = app.draft_with_evidence(&assessor, venue, gold_measurements()).await;
    assert_eq!(
        app.post(&format!("/api/v1/assessments/{id}/submit"), Some(&assessor), json!({})).await.status(),
        200
    );
    let r = app
        .post(
            &format!("/api/v1/assessments/{id}/decision"),
            Some(&officer),
            json!({"decision": "reject", "reason": "No transfer notes"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let rows = outbox(&app).await;
    let rejected: Vec<_> = rows.iter().filter(|r| r.kind == "rejected").collect();
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].recipient_email.is_none() && rejected[0].next_attempt_at.is_none(),
        "no address: not sent, shown"
    );

    // A complaint with an address: the reporter gets the reference in the language they wrote in, and the
    // officers are told there is a report to triage, in their own language, with the portal's link to it and
    // never the reporter's address or words: one with an address by e-mail, the other in the portal only.
    let (aigerim, _) = app.user("Aigerim", &[Role::Officer], None).await;
    app.state
        .db
        .write(move |c| {
            ecolabel::storage::accounts::set_email(c, aigerim, "aigerim@example.kz")?;
            ecolabel::storage::notifications::set_language(c, aigerim, "ru")
        })
        .await
        .unwrap();
    let a = app.issue("Smart Plastic Zone", "Astana").await;
    let fields = [
        ("category", "label_misuse"),
        ("description", "The label hangs at a closed kiosk."),
        ("email", "visitor@example.kz"),
    ];
    let reference = report(&app, &format!("/certificates/{}/complaints?lang=en", a.number), &fields).await["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let triage: Vec<_> = outbox(&app).await.into_iter().filter(|r| r.kind == "complaint_to_triage").collect();
    let told: Vec<(i64, bool)> = triage.iter().map(|r| (r.recipient_user_id.unwrap(), r.next_attempt_at.is_some())).collect();
    let everyone = app.state.db.read(ecolabel::storage::users::list).await.unwrap();
    let officers: Vec<(i64, bool)> = everyone
        .iter()
        .filter(|u| u.roles.split(',').any(|r| r == "officer"))
        .map(|u| (u.id, u.id == aigerim))
        .collect();
    let officer_id = json(app.get("/api/v1/me", Some(&officer)).await).await["id"].as_i64().unwrap();
    assert!(officers.contains(&(officer_id, false)) && officers.len() < everyone.len(), "{officers:?}");
    assert_eq!(told, officers, "every officer, no one else; mailed where there is an address");
    assert_eq!(send(&app, &m, ecolabel::storage::now()).await.sent, 2);
    let got = smtp.messages();
    let to = |who: &str| got.iter().find(|g| g["to"] == who).unwrap_or_else(|| panic!("nothing to {who}: {got:?}"));
    assert_eq!(to("visitor@example.kz")["subject"], format!("Your report {reference} was received"));
    let officer_mail = to("aigerim@example.kz");
    assert_eq!(officer_mail["subject"], format!("Новое сообщение {reference} о сертификате {}", a.number));
    let body = officer_mail["body"].as_str().unwrap();
    assert!(body.contains("/app/complaints/") && body.contains("Знак используется"), "{body}");
    assert!(!body.contains("visitor@") && !body.contains("kiosk"), "no address, no words: {body}");

    // Reminders 90, 30 and 7 days before expiry and before surveillance, each once.
    let (_, manager) = app.user("Manager", &[Role::Venue], Some(a.venue)).await;
    let _ = manager;
    let cert = json(app.get(&format!("/api/v1/certificates/{}", a.number), Some(&officer)).await).await;
    let until = chrono::NaiveDate::parse_from_str(cert["valid_until"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let due = chrono::NaiveDate::parse_from_str(cert["surveillance_due"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let run = |t: NaiveDateTime| {
        let state = app.state.clone();
        actix_web::rt::task::spawn_blocking(move || state.run_jobs(t).unwrap())
    };
    let noon = |d: chrono::NaiveDate| d.and_hms_opt(12, 0, 0).unwrap();
    assert_eq!(run(noon(due) - TimeDelta::days(91)).await.unwrap().reminders, 0);
    assert_eq!(run(noon(due) - TimeDelta::days(90)).await.unwrap().reminders, 1);
    assert_eq!(run(noon(due) - TimeDelta::days(89)).await.unwrap().reminders, 0, "once per stage");
    assert_eq!(run(noon(due) - TimeDelta::days(20)).await.unwrap().reminders, 1, "the 30-day one");
    assert_eq!(run(noon(due) - TimeDelta::days(7)).await.unwrap().reminders, 1);
    assert_eq!(run(noon(due) - TimeDelta::days(7)).await.unwrap().reminders, 0);
    // An approved surveillance audit keeps the certificate; expiry reminders follow (a passed audit a
    // year on moves the due date past the expiry).
    let rows = outbox(&app).await;
    let stages: Vec<i64> = rows
        .iter()
        .filter(|r| r.kind == "surveillance_due")
        .map(|r| serde_json::from_str::<Value>(&r.params).unwrap()["days"].as_i64().unwrap())
        .collect();
    assert_eq!(stages, [90, 30, 7]);
    let number = a.number.clone();
    let later = noon(until) - TimeDelta::days(30);
    app.state
        .db
        .write(move |c| {
            ecolabel::storage::certificates::set_surveillance_due(c, &ecolabel::domain::auth::Caller::system("test"), &number, until, 0).map(|_| ())
        })
        .await
        .unwrap();
    assert_eq!(run(later).await.unwrap().reminders, 2, "expiring (30 days) and surveillance (30 days)");
    let expiring = outbox(&app).await.into_iter().filter(|r| r.kind == "expiring").count();
    assert_eq!(expiring, 1);
    // A registry without officers tells its admins.
    let (admin, _) = app.user("Admin", &[Role::Admin], None).await;
    let officers: Vec<i64> = officers.iter().map(|(id, _)| *id).collect();
    app.state
        .db
        .write(move |c| {
            let system = ecolabel::domain::auth::Caller::system("test");
            officers
                .iter()
                .try_for_each(|id| ecolabel::storage::users::set_roles(c, &system, *id, &[Role::Assessor], None).map(|_| ()))
        })
        .await
        .unwrap();
    let fields = [("category", "other"), ("description", "Nobody answers the phone there.")];
    report(&app, &format!("/certificates/{}/complaints", a.number), &fields).await;
    let told: Vec<Option<i64>> = outbox(&app)
        .await
        .iter()
        .filter(|r| r.kind == "complaint_to_triage")
        .skip(triage.len())
        .map(|r| r.recipient_user_id)
        .collect();
    assert_eq!(told, [Some(admin)]);
}

crate::both_backends!(
    changes_are_mailed_once_in_the_recipients_language,
    decisions_complaints_appeals_and_reminders_are_notified,
);

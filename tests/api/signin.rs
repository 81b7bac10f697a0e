// Sign-in as people do it, with a cookie jar of our own: invitations, passwords, TOTP enrolment, the
// second factor, sign-out; and the attacks: brute force, forged and stale sessions, cross-site requests.

use crate::helpers::*;
use diesel::prelude::*;
use ecolabel::app::accounts as ops;
use ecolabel::domain::account::totp_code;
use ecolabel::domain::auth::{Caller, Role};
use ecolabel::storage::{self, schema};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

/// A browser: keeps the session cookie, reads the CSRF token off each page, sends forms from our origin.
pub struct Browser<'a> {
    app: &'a TestApp,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub set_cookie: Option<String>,
    /// The `gel_lang` cookie, once a language was chosen.
    pub lang: Option<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

fn between<'b>(s: &'b str, start: &str, end: &str) -> Option<&'b str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">")
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookie: None,
            csrf: None,
            set_cookie: None,
            lang: None,
        }
    }

    fn cookie_name(&self) -> &'static str {
        if self.app.config.public_url.starts_with("https://") {
            "__Host-gel_session"
        } else {
            "gel_session"
        }
    }

    async fn read(&mut self, r: reqwest::Response) -> Page {
        let status = r.status();
        let location = r.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        // A browser keeps each cookie by its name: the session's, and the chosen language's.
        for sc in r.headers().get_all(header::SET_COOKIE) {
            let sc = sc.to_str().unwrap().to_string();
            if let Some(lang) = sc.strip_prefix("gel_lang=") {
                self.lang = Some(lang.split(';').next().unwrap_or("").to_string());
                continue;
            }
            let value = between(&format!("{sc};"), &format!("{}=", self.cookie_name()), ";").unwrap_or("").to_string();
            self.cookie = (!value.is_empty()).then_some(value);
            self.set_cookie = Some(sc);
        }
        let body = r.text().await.unwrap();
        if let Some(t) = between(&body, "name=\"csrf\" value=\"", "\"") {
            self.csrf = Some(t.to_string());
        }
        Page { status, location, body }
    }

    fn with_cookie(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut cookies = vec![];
        if let Some(c) = &self.cookie {
            cookies.push(format!("{}={c}", self.cookie_name()));
        }
        if let Some(l) = &self.lang {
            cookies.push(format!("gel_lang={l}"));
        }
        if cookies.is_empty() {
            r
        } else {
            r.header(header::COOKIE, cookies.join("; "))
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self.with_cookie(self.app.client.get(self.app.url(path))).send().await.unwrap();
        self.read(r).await
    }

    /// A form posted from one of our pages (Origin and Sec-Fetch-Site as a browser sends them).
    pub async fn form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(t) = &self.csrf {
            if !fields.iter().any(|(k, _)| k == "csrf") {
                fields.push(("csrf".into(), t.clone()));
            }
        }
        let r = self
            .with_cookie(self.app.client.post(self.app.url(path)))
            .header(header::ORIGIN, &self.app.address)
            .header("sec-fetch-site", "same-origin")
            .form(&fields)
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// A file upload form (multipart) posted from one of our pages; its token travels in the action URL
    /// (`with_token`), as the page writes it.
    pub async fn upload(&mut self, path: &str, fields: &[(&str, &str)], files: &[(&str, Vec<u8>)], with_token: bool) -> Page {
        self.upload_as(path, fields, "file", files, with_token).await
    }

    /// The same with the files in the form field `file_field` (the audit form's `file.<criterion>`).
    pub async fn upload_as(&mut self, path: &str, fields: &[(&str, &str)], file_field: &str, files: &[(&str, Vec<u8>)], with_token: bool) -> Page {
        let mut form = reqwest::multipart::Form::new().text("action", "upload");
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (name, bytes) in files {
            form = form.part(
                file_field.to_string(),
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
            );
        }
        let url = match (&self.csrf, with_token) {
            (Some(t), true) => format!("{path}{}csrf={t}", if path.contains('?') { "&" } else { "?" }),
            _ => path.to_string(),
        };
        let r = self
            .with_cookie(self.app.client.post(self.app.url(&url)))
            .header(header::ORIGIN, &self.app.address)
            .header("sec-fetch-site", "same-origin")
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// A JSON call made by a page's script: cookie, `X-CSRF-Token`, same origin.
    pub async fn api(&mut self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut r = self
            .with_cookie(self.app.client.request(method, self.app.url(path)))
            .header(header::ORIGIN, &self.app.address);
        if let Some(t) = &self.csrf {
            r = r.header("x-csrf-token", t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.get("/login").await;
        self.form("/login", &[("email", email), ("password", password)]).await
    }
}

pub const PASSWORD: &str = "steppe wind over the ishim river";

fn link_path(url: &str) -> String {
    format!("/invite/{}", url.rsplit_once("/invite/").unwrap().1)
}

/// Invite a person (as the CLI does) and return the path of their link.
pub async fn invite(app: &TestApp, email: &str, roles: &[Role], venue: Option<i64>) -> (i64, String) {
    let (email, roles) = (email.to_string(), roles.to_vec());
    let (url, now) = (app.config.public_url.clone(), app.state.clock.now());
    let link = app
        .state
        .db
        .write(move |c| -> ecolabel::app::Result<_> {
            let p = ops::NewPerson {
                email: &email,
                name: "Test Person",
                roles: &roles,
                venue_id: venue,
            };
            ops::invite(c, &Caller::system("test"), &ops::Client::default(), p, &url, now)
        })
        .await
        .unwrap();
    (link.user.id, link_path(&link.url))
}

/// A person who accepted their invitation (password set), not signed in.
pub async fn person(app: &TestApp, email: &str, roles: &[Role], venue: Option<i64>) -> i64 {
    let (id, path) = invite(app, email, roles, venue).await;
    let mut b = Browser::new(app);
    b.get(&path).await;
    let p = b.form(&path, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    id
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Enrol TOTP on the set-up page (codes computed from the URI shown) and return the secret and the
/// recovery codes.
pub async fn enrol(b: &mut Browser<'_>) -> (String, Vec<String>) {
    let p = b.get("/app/account/totp").await;
    assert_eq!(p.status, 200, "{}", p.body);
    let uri = unescape(between(&p.body, "id=\"otpauth-uri\">", "<").expect("the page shows the otpauth URI"));
    // On the phone itself the app opens from a link, and the key reads in groups of four.
    assert!(
        p.body.contains(&format!("id=\"otpauth-link\" href=\"{}\"", uri.replace('&', "&amp;"))),
        "{}",
        p.body
    );
    let key = between(&p.body, "id=\"totp-key\">", "<").expect("the key");
    assert!(key.split(' ').all(|g| (1..=4).contains(&g.len())) && key.len() > 20, "{key}");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(p.body.contains("<img class=\"qr\" src=\"data:image/svg+xml;base64,"), "a QR code image");
    let secret = between(&format!("{uri}&"), "secret=", "&").unwrap().to_string();
    let code = totp_code(&secret, now_unix()).unwrap();
    let p = b.form("/app/account/totp", &[("code", &code)]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let codes: Vec<String> = p
        .body
        .split("<li><code class=\"secret\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes are shown once");
    (secret, codes)
}

async fn invitation_password_second_factor_sign_out_sign_in(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    // The admin invites an officer through the API; the reply holds the link once.
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({"name": "Daniyar Omarov", "roles": ["officer"], "email": "Daniyar.Omarov@Example.KZ"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created = json(r).await;
    assert_eq!(created["user"]["email"], "daniyar.omarov@example.kz", "stored lower-case");
    assert!(created.get("token").is_none(), "people get a link, not a token");
    let url = created["invitation_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://registry.test/invite/"), "{url}");
    let path = link_path(&url);

    let mut b = Browser::new(&app);
    let p = b.get(&format!("{path}?lang=en")).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("Daniyar Omarov") && p.body.contains("daniyar.omarov@example.kz"));
    assert!(p.body.contains("name=\"password\"") && p.body.contains("name=\"password_confirm\""));
    // Weak, short and mismatched passwords are refused with a reason; the link still works.
    for (pw, confirm, says) in [
        ("password1234", "password1234", "too easy to guess"),
        ("short", "short", "too short"),
        (PASSWORD, "steppe wind over the ishim", "differ"),
        ("daniyar.omarov", "daniyar.omarov", "too easy to guess"),
    ] {
        let p = b.form(&format!("{path}?lang=en"), &[("password", pw), ("password_confirm", confirm)]).await;
        assert_eq!(p.status, 422, "{pw}");
        assert!(p.body.contains(says), "{pw}: {}", p.body);
        assert!(p.body.contains("aria-invalid=\"true\""), "the field at fault is marked");
    }
    let p = b.form(&path, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await;
    assert_eq!(p.status, 303);
    let to = p.location.clone().unwrap();
    assert!(to.starts_with("/login?done=password_set&email="), "{to}");
    // The sign-in page that follows has the e-mail filled in.
    let email = to.split("&email=").nth(1).unwrap().replace("%40", "@");
    assert!(b.get(&to).await.body.contains(&format!("value=\"{email}\"")), "the e-mail is filled in");
    // The link worked once.
    assert_eq!(b.get(&path).await.status, 410);

    // Signing in, with the e-mail in any case: an officer without a second factor is sent to set it up.
    let p = b.sign_in("DANIYAR.omarov@example.kz", PASSWORD).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/app/account/totp"));
    let sc = b.set_cookie.clone().unwrap();
    assert!(sc.starts_with("gel_session="), "{sc}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(sc.contains(attr), "{attr} in {sc}");
    }
    assert!(!sc.contains("Secure"), "http public URL: no Secure");
    let first_cookie = b.cookie.clone().unwrap();
    assert_eq!(first_cookie.len(), 43, "256 random bits, base64url");
    // Until then, nothing else is open to them.
    assert_error(b.api(Method::GET, "/api/v1/me", None).await, 403, "second_factor_required").await;
    assert_eq!(b.get("/app").await.location.as_deref(), Some("/app/account/totp"));

    let (secret, recovery) = enrol(&mut b).await;
    let me = json(b.api(Method::GET, "/api/v1/me", None).await).await;
    assert_eq!(me["email"], "daniyar.omarov@example.kz");
    assert_eq!(me["second_factor"], true);
    let p = b.get("/app").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("Daniyar Omarov"));

    // Sign out: the session ends everywhere at once.
    let p = b.form("/logout", &[]).await;
    assert_eq!(p.status, 303);
    assert!(b.set_cookie.as_deref().unwrap().contains("Max-Age=0"), "the cookie is removed");
    let mut stale = Browser::new(&app);
    stale.cookie = Some(first_cookie.clone());
    assert_error(stale.api(Method::GET, "/api/v1/me", None).await, 401, "unauthorized").await;

    // Sign in again: password, then the second factor; a new session id at each step.
    let p = b.sign_in("daniyar.omarov@example.kz", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/login/totp"));
    let pending = b.cookie.clone().unwrap();
    assert_ne!(pending, first_cookie);
    assert_error(b.api(Method::GET, "/api/v1/me", None).await, 401, "second_factor_pending").await;
    b.get("/login/totp").await;
    // The enrolment code's step is used: the next step's code is the one to type.
    let code = totp_code(&secret, now_unix() + 30).unwrap();
    let p = b.form("/login/totp", &[("code", &code)]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/app"));
    let full = b.cookie.clone().unwrap();
    assert_ne!(full, pending);
    assert_eq!(json(b.api(Method::GET, "/api/v1/me", None).await).await["email"], "daniyar.omarov@example.kz");

    // The same code is not accepted twice; a recovery code works once.
    let mut other = Browser::new(&app);
    other.sign_in("daniyar.omarov@example.kz", PASSWORD).await;
    other.get("/login/totp").await;
    let p = other.form("/login/totp?lang=en", &[("code", &code)]).await;
    assert_eq!(p.status, 401);
    assert!(p.body.contains("wrong or has been used"), "{}", p.body);
    let p = other.form("/login/totp", &[("code", &recovery[0].to_uppercase())]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let mut third = Browser::new(&app);
    third.sign_in("daniyar.omarov@example.kz", PASSWORD).await;
    third.get("/login/totp").await;
    assert_eq!(third.form("/login/totp", &[("code", &recovery[0])]).await.status, 401);

    // Auth events: what happened, never a password, code or token.
    let events = json(app.get(&format!("/api/v1/auth-events?user_id={}", me["id"]), Some(&admin)).await).await;
    let text = events.to_string();
    for kind in [
        "invitation_created",
        "password_set",
        "sign_in",
        "second_factor_enrolled",
        "session_ended",
        "second_factor",
    ] {
        assert!(text.contains(&format!("\"kind\":\"{kind}\"")), "{kind} in {text}");
    }
    for secret_text in [PASSWORD, &code, &recovery[0], &first_cookie, &full, &secret] {
        assert!(!text.contains(secret_text), "auth events hold no secrets");
    }
}

async fn links_are_single_use_expire_and_are_voided_by_newer_ones(app: TestApp) {
    let (uid, old) = invite(&app, "aigerim@example.kz", &[Role::Assessor], None).await;
    // A new link for the same person voids the first.
    let (url, now) = (app.config.public_url.clone(), app.state.clock.now());
    let newer = app
        .state
        .db
        .write(move |c| ops::password_link(c, &Caller::system("test"), &ops::Client::default(), uid, &url, now))
        .await
        .unwrap();
    let mut b = Browser::new(&app);
    let p = b.get(&format!("{old}?lang=ru")).await;
    assert_eq!(p.status, 410);
    assert!(p.body.contains("Ссылка больше не действует"));
    let p = b.form(&old, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await;
    assert_eq!(p.status, 410, "a voided link sets nothing");
    // An expired one neither: 73 hours later by the registry's clock.
    let newer_path = link_path(&newer.url);
    app.state.clock.advance(chrono::Duration::hours(73));
    assert_eq!(b.get(&newer_path).await.status, 410);
    assert_eq!(b.form(&newer_path, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await.status, 410);
    let user = app.state.db.read(move |c| storage::users::get(c, uid)).await.unwrap();
    assert!(user.password_hash.is_none(), "no password was set");
    // Forged and malformed tokens are just as invalid.
    assert_eq!(b.get(&format!("/invite/{}", "A".repeat(43))).await.status, 410);
    assert_eq!(b.get("/invite/short").await.status, 410);
    // The CLI's path: a fresh link works once, and its password is argon2id.
    let (url, now) = (app.config.public_url.clone(), app.state.clock.now());
    let fresh = app
        .state
        .db
        .write(move |c| ops::password_link(c, &Caller::system("test"), &ops::Client::default(), uid, &url, now))
        .await
        .unwrap();
    let p = b.form(&link_path(&fresh.url), &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await;
    assert_eq!(p.status, 303);
    let user = app.state.db.read(move |c| storage::users::get(c, uid)).await.unwrap();
    assert!(user.password_hash.unwrap().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(
        b.form(&link_path(&fresh.url), &[("password", PASSWORD), ("password_confirm", PASSWORD)])
            .await
            .status,
        410
    );
}

async fn brute_force_is_throttled_and_accounts_do_not_show(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    let uid = person(&app, "known@example.kz", &[Role::Assessor], None).await;
    let mut pages = vec![];
    for email in ["known@example.kz", "nobody@example.kz"] {
        let mut b = Browser::new(&app);
        let mut seen = vec![];
        for _ in 0..6 {
            let p = b.form("/login?lang=en", &[("email", email), ("password", "wrong password entirely")]).await;
            seen.push((p.status.as_u16(), p.body.replace(email, "EMAIL")));
        }
        pages.push(seen);
    }
    assert_eq!(pages[0], pages[1], "a known and an unknown address get the same answers");
    let statuses: Vec<u16> = pages[0].iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429], "5 failures start a wait");
    assert!(pages[0][0].1.contains("The e-mail address or the password is wrong."));
    assert!(pages[0][4].1.contains("Too many attempts"));
    // While the wait runs, even the right password is refused.
    let mut b = Browser::new(&app);
    let p = b.form("/login", &[("email", "known@example.kz"), ("password", PASSWORD)]).await;
    assert_eq!(p.status, 429);
    assert!(b.cookie.is_none(), "no session");
    // An admin unlocks; the right password works again.
    let r = app.post(&format!("/api/v1/users/{uid}/unlock"), Some(&admin), json!({})).await;
    assert_eq!(json(r).await["was_locked"], true);
    let p = b.form("/login", &[("email", "known@example.kz"), ("password", PASSWORD)]).await;
    assert_eq!(p.status, 303);
    let events = json(app.get(&format!("/api/v1/auth-events?user_id={uid}&limit=200"), Some(&admin)).await).await;
    let kinds: Vec<(String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["outcome"].as_str().unwrap().to_string()))
        .collect();
    for want in [
        ("sign_in", "failed"),
        ("locked", "ok"),
        ("sign_in", "refused_locked"),
        ("unlocked", "ok"),
        ("sign_in", "ok"),
    ] {
        assert!(kinds.contains(&(want.0.to_string(), want.1.to_string())), "{want:?} in {kinds:?}");
    }
    // Only admins read them.
    let assessor = app.token(&[Role::Assessor]).await;
    assert_error(app.get("/api/v1/auth-events", Some(&assessor)).await, 403, "forbidden_role").await;
}

async fn sessions_cannot_be_forged_reused_or_kept(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    let a = person(&app, "a@example.kz", &[Role::Assessor], None).await;
    person(&app, "b@example.kz", &[Role::Assessor], None).await;
    let mut alice = Browser::new(&app);
    alice.sign_in("a@example.kz", PASSWORD).await;
    let mut bob = Browser::new(&app);
    bob.sign_in("b@example.kz", PASSWORD).await;
    assert_eq!(bob.api(Method::GET, "/api/v1/me", None).await.status(), 200);
    // Forged ids: random, malformed, empty.
    for forged in [ecolabel::domain::account::new_secret(), "x".into(), "".into()] {
        let mut f = Browser::new(&app);
        f.cookie = Some(forged);
        assert_eq!(f.api(Method::GET, "/api/v1/me", None).await.status(), 401);
    }
    // Sessions are listed with device, IP and last use; Bob cannot end Alice's (it does not exist for him).
    let mine = json(alice.api(Method::GET, "/api/v1/me/sessions", None).await).await;
    let alice_session = mine[0]["id"].as_i64().unwrap();
    bob.get("/app/account").await;
    assert_eq!(mine[0]["current"], true);
    assert_eq!(mine[0]["ip"], "127.0.0.1");
    assert_error(
        bob.api(Method::POST, &format!("/api/v1/sessions/{alice_session}/end"), Some(json!({}))).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(alice.api(Method::GET, "/api/v1/me", None).await.status(), 200);
    let page = alice.get("/app/account").await;
    assert!(page.body.contains("127.0.0.1") && page.body.contains("(this browser)") || page.body.contains("(осы браузер)"));
    // Idle for 31 minutes by the registry's clock: the session is over.
    app.state.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(alice.api(Method::GET, "/api/v1/me", None).await.status(), 401);
    // Past the absolute limit, however active: a request every 25 minutes keeps it open for 11 h 40 min,
    // and the next one, at 12 h 5 min, is refused.
    alice.sign_in("a@example.kz", PASSWORD).await;
    for _ in 0..28 {
        app.state.clock.advance(chrono::Duration::minutes(25));
        assert_eq!(alice.api(Method::GET, "/api/v1/me", None).await.status(), 200);
    }
    app.state.clock.advance(chrono::Duration::minutes(25));
    assert_eq!(alice.api(Method::GET, "/api/v1/me", None).await.status(), 401);
    // An admin ends all of someone's sessions: refused at once.
    alice.sign_in("a@example.kz", PASSWORD).await;
    let mut alice_phone = Browser::new(&app);
    alice_phone.sign_in("a@example.kz", PASSWORD).await;
    let r = app.post(&format!("/api/v1/users/{a}/sessions/end"), Some(&admin), json!({})).await;
    assert_eq!(json(r).await["ended"], 2);
    assert_eq!(alice.api(Method::GET, "/api/v1/me", None).await.status(), 401);
    assert_eq!(alice_phone.api(Method::GET, "/api/v1/me", None).await.status(), 401);
    // A password change ends the person's other sessions, not the one that changed it.
    alice.sign_in("a@example.kz", PASSWORD).await;
    alice_phone.sign_in("a@example.kz", PASSWORD).await;
    alice.get("/app/account").await;
    let new_pw = "kumis and baursak at the bazaar";
    let p = alice
        .form(
            "/app/account/password",
            &[("current_password", PASSWORD), ("password", new_pw), ("password_confirm", new_pw)],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(alice.api(Method::GET, "/api/v1/me", None).await.status(), 200);
    assert_eq!(alice_phone.api(Method::GET, "/api/v1/me", None).await.status(), 401);
    assert_eq!(alice_phone.sign_in("a@example.kz", PASSWORD).await.status, 401, "the old password is gone");
    // People end their own sessions from the account page.
    alice_phone.sign_in("a@example.kz", new_pw).await;
    let phone_session = json(alice_phone.api(Method::GET, "/api/v1/me/sessions", None).await).await[0]["id"]
        .as_i64()
        .unwrap();
    let mine = json(alice.api(Method::GET, "/api/v1/me/sessions", None).await).await;
    let phone = mine.as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].as_i64().unwrap();
    assert_eq!(phone, phone_session);
    alice.get("/app/account").await;
    let p = alice.form(&format!("/app/account/sessions/{phone}/end"), &[]).await;
    assert_eq!(p.status, 303);
    assert_eq!(alice_phone.api(Method::GET, "/api/v1/me", None).await.status(), 401);
}

async fn changes_need_the_csrf_token_and_our_origin(app: TestApp) {
    person(&app, "assessor@example.kz", &[Role::Assessor], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("assessor@example.kz", PASSWORD).await;
    b.get("/app/account").await;
    let token = b.csrf.clone().unwrap();
    let venue = json!({"name": "Csrf Cafe", "address": "Main street 1", "city": "Astana", "category": "hotel"});
    let count = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            db.read(|c| Ok::<_, ecolabel::storage::Error>(schema::venues::table.count().get_result::<i64>(c)?))
                .await
                .unwrap()
        }
    };
    let cookie = format!("gel_session={}", b.cookie.clone().unwrap());
    let post = |origin: Option<&str>, site: Option<&str>, csrf: Option<&str>| {
        let mut r = app.client.post(app.url("/api/v1/venues")).header(header::COOKIE, &cookie).json(&venue);
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        if let Some(t) = csrf {
            r = r.header("x-csrf-token", t);
        }
        r.send()
    };
    let ours = app.address.as_str();
    let cases = [
        (Some(ours), None, None, "no token"),
        (Some(ours), None, Some("wrong-token"), "a wrong token"),
        (Some("https://evil.example"), None, Some(token.as_str()), "a cross-site Origin"),
        (None, Some("cross-site"), Some(token.as_str()), "a cross-site fetch"),
        (None, None, Some(token.as_str()), "neither Origin nor Sec-Fetch-Site"),
    ];
    for (origin, site, csrf, what) in cases {
        let r = post(origin, site, csrf).await.unwrap();
        assert_eq!(r.status(), 403, "{what}");
        assert_eq!(json(r).await["error"], "csrf_failed", "{what}");
    }
    assert_eq!(count(&app).await, 0, "nothing changed");
    let r = post(Some(ours), Some("same-origin"), Some(&token)).await.unwrap();
    assert_eq!(r.status(), 201);
    // Forms carry the token as `csrf`; without it, nothing happens.
    let r = app
        .client
        .post(app.url("/app/account/tokens"))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, ours)
        .header(header::ACCEPT, "text/html")
        .header(header::ACCEPT_LANGUAGE, "en")
        .form(&[("label", "script")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Reload the page"), "a person is told what to do");
    let p = b.form("/app/account/tokens", &[("label", "nightly export")]).await;
    assert_eq!(p.status, 200);
    let shown = between(&p.body, "<code class=\"secret\">", "<").unwrap().to_string();
    assert!(shown.starts_with("gel_"), "the new API token is shown once");
    // Bearer calls are not affected, and the person's own token works.
    let r = app
        .post(
            "/api/v1/venues",
            Some(&shown),
            json!({"name": "Bearer Bistro", "address": "Main street 2", "city": "Astana", "category": "hotel"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(count(&app).await, 2);
    // Cross-site sign-in forms are refused too (login CSRF).
    let r = app
        .client
        .post(app.url("/login"))
        .header(header::ORIGIN, "https://evil.example")
        .form(&[("email", "assessor@example.kz"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Only same-origin paths are followed after sign-in.
    for (next, to) in [
        ("//evil.example/x", "/app"),
        ("https://evil.example/", "/app"),
        ("/app/account", "/app/account"),
    ] {
        let mut c = Browser::new(&app);
        let p = c
            .form("/login", &[("email", "assessor@example.kz"), ("password", PASSWORD), ("next", next)])
            .await;
        assert_eq!(p.location.as_deref(), Some(to), "{next}");
    }
}

async fn officers_without_a_second_factor_cannot_decide(app: TestApp) {
    let assessor = app.token(&[Role::Assessor]).await;
    let (_, assessment) = app.submitted_assessment(&assessor, gold_measurements()).await;
    person(&app, "officer@example.kz", &[Role::Officer], None).await;
    let mut b = Browser::new(&app);
    let p = b.sign_in("officer@example.kz", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/app/account/totp"));
    b.get("/app/account/totp").await;
    let r = b
        .api(
            Method::POST,
            &format!("/api/v1/assessments/{assessment}/decision"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_error(r, 403, "second_factor_required").await;
    let status = json(app.get(&format!("/api/v1/assessments/{assessment}"), Some(&assessor)).await).await["status"].clone();
    assert_eq!(status, "submitted", "nothing was decided");
    // With the factor set up, the same officer decides.
    enrol(&mut b).await;
    let r = b
        .api(
            Method::POST,
            &format!("/api/v1/assessments/{assessment}/decision"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn an_admin_resets_a_lost_second_factor(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    let uid = person(&app, "officer@example.kz", &[Role::Officer], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("officer@example.kz", PASSWORD).await;
    enrol(&mut b).await;
    let r = app.post(&format!("/api/v1/users/{uid}/second-factor/reset"), Some(&admin), json!({})).await;
    assert_eq!(json(r).await["second_factor"], false);
    assert_eq!(b.api(Method::GET, "/api/v1/me", None).await.status(), 401, "their sessions ended");
    let p = b.sign_in("officer@example.kz", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/app/account/totp"), "they enrol again");
}

/// Errors keep their meaning from the application layer to HTTP: 401 (with `WWW-Authenticate` on the API),
/// 410 for a used link, 429 with `Retry-After` for a sign-in and for a second factor that are throttled
/// (the failure that starts the wait is committed by the transaction that refuses it), and every code
/// seen is one `/openapi.json` declares with that status.
async fn error_statuses_arrive_intact(app: TestApp) {
    let spec = json(app.get("/openapi.json", None).await).await;
    let table = spec["components"]["schemas"]["ErrorBody"]["properties"]["error"]["x-error-codes"].clone();
    let declared = |code: &str, status: u16| {
        table
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == code && c["statuses"].as_array().unwrap().contains(&json!(status)))
    };
    let r = app.get("/api/v1/me", None).await;
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_error(r, 401, "unauthorized").await;
    assert!(declared("unauthorized", 401));

    // 410: a link used once is gone, to the page and to the form.
    let (_, path) = invite(&app, "gone@example.kz", &[Role::Officer], None).await;
    let mut b = Browser::new(&app);
    b.get(&path).await;
    assert_eq!(b.form(&path, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await.status, 303);
    assert_eq!(b.form(&path, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await.status, 410);
    assert_eq!(b.get(&path).await.status, 410);
    assert!(declared("invitation_invalid", 410));

    // 401 then 429 with Retry-After for wrong second-factor codes.
    let p = b.sign_in("gone@example.kz", PASSWORD).await;
    assert_eq!(p.status, 303);
    let (_, _) = enrol(&mut b).await;
    b.form("/logout", &[]).await;
    let p = b.sign_in("gone@example.kz", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/login/totp"));
    assert_error(b.api(Method::GET, "/api/v1/me", None).await, 401, "second_factor_pending").await;
    assert!(declared("second_factor_pending", 401));
    let mut statuses = vec![];
    let mut retry_after = None;
    for _ in 0..6 {
        b.get("/login/totp").await;
        let csrf = b.csrf.clone().unwrap_or_default();
        let r = app
            .request(Method::POST, "/login/totp", None)
            .header("cookie", format!("gel_session={}", b.cookie.clone().unwrap()))
            .header("origin", &app.address)
            .form(&[("code", "000000"), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429], "wrong codes, then the wait");
    assert!(retry_after.is_some_and(|s| s > 0), "429 says how long to wait: {retry_after:?}");
    assert!(declared("invalid_code", 401) && declared("too_many_attempts", 429));

    // 429 with Retry-After for wrong passwords (another address: its own count).
    person(&app, "throttled@example.kz", &[Role::Assessor], None).await;
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            app.request(Method::POST, "/login", None)
                .header("origin", &app.address)
                .form(&[("email", "throttled@example.kz"), ("password", "not the password at all")])
                .send()
                .await
                .unwrap(),
        );
    }
    let last = last.unwrap();
    assert_eq!(last.status(), 429);
    let wait: u64 = last.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
}

/// 40 wrong passwords at once for one address: the lockout check and the failure record are one step, so
/// at most five passwords are checked, the rest are refused without one, and the right password then waits.
async fn concurrent_wrong_passwords_check_at_most_five(app: TestApp) {
    let admin = app.token(&[Role::Admin]).await;
    let uid = person(&app, "busy@example.kz", &[Role::Assessor], None).await;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (client, url, origin) = (app.client.clone(), app.url("/login"), app.address.clone());
            actix_web::rt::spawn(async move {
                client
                    .post(url)
                    .header(header::ORIGIN, origin)
                    .header("sec-fetch-site", "same-origin")
                    .form(&[("email", "busy@example.kz"), ("password", "wrong password entirely")])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 36, "{statuses:?}");
    let mut b = Browser::new(&app);
    assert_eq!(b.form("/login", &[("email", "busy@example.kz"), ("password", PASSWORD)]).await.status, 429);
    assert!(b.cookie.is_none());
    let events = json(app.get(&format!("/api/v1/auth-events?user_id={uid}&limit=200"), Some(&admin)).await).await;
    let count = |kind: &str, outcome: &str| {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind && e["outcome"] == outcome)
            .count()
    };
    assert_eq!(count("sign_in", "failed"), 5, "exactly five passwords were checked");
    assert_eq!(count("sign_in", "refused_locked"), 36);
}

async fn raw_column(app: &TestApp, sql: &'static str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    app.state
        .db
        .read(move |c| -> ecolabel::storage::Result<Vec<String>> { Ok(diesel::sql_query(sql).load::<Row>(c)?.into_iter().map(|r| r.v).collect()) })
        .await
        .unwrap()
}

/// TOTP and webhook secrets are sealed in the database (a dump reveals neither), recovery codes are kept
/// with a slow hash, and all of them still work; secrets an earlier version stored in the clear are sealed
/// at the next start.
async fn secrets_are_sealed_at_rest_and_still_work(app: TestApp) {
    person(&app, "sealed@example.kz", &[Role::Officer], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("sealed@example.kz", PASSWORD).await;
    let (secret, recovery) = enrol(&mut b).await;
    let stored = raw_column(&app, "SELECT totp_secret AS v FROM users WHERE email = 'sealed@example.kz'").await;
    assert!(stored[0].starts_with("sealed:v1:") && !stored[0].contains(&secret), "{stored:?}");
    let hashes = raw_column(&app, "SELECT code_hash AS v FROM recovery_codes").await;
    assert_eq!(hashes.len(), 10);
    assert!(hashes.iter().all(|h| h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")), "{hashes:?}");
    let mut again = Browser::new(&app);
    again.sign_in("sealed@example.kz", PASSWORD).await;
    again.get("/login/totp").await;
    let p = again.form("/login/totp", &[("code", &totp_code(&secret, now_unix() + 30).unwrap())]).await;
    assert_eq!(p.status, 303, "the sealed TOTP secret still checks codes: {}", p.body);
    let mut lost = Browser::new(&app);
    lost.sign_in("sealed@example.kz", PASSWORD).await;
    lost.get("/login/totp").await;
    assert_eq!(lost.form("/login/totp", &[("code", &recovery[3])]).await.status, 303, "a recovery code works");

    let admin = app.token(&[Role::Admin]).await;
    let hook = json(app.post("/api/v1/webhooks", Some(&admin), json!({"url": "https://hooks.example.kz/gel"})).await).await;
    let whsec = hook["secret"].as_str().unwrap().to_string();
    assert!(whsec.starts_with("whsec_"));
    let stored = raw_column(&app, "SELECT secret AS v FROM webhook_subscriptions").await;
    assert!(stored[0].starts_with("sealed:v1:") && !stored[0].contains(&whsec[6..]), "{stored:?}");

    // As an earlier version stored them: in the clear. The next start seals them, and they still work.
    raw_sql(
        &app,
        format!("UPDATE users SET totp_secret = '{secret}', totp_last_step = NULL WHERE email = 'sealed@example.kz'"),
    )
    .await;
    raw_sql(&app, format!("UPDATE webhook_subscriptions SET secret = '{whsec}'")).await;
    let replica = app.replica(|_| {}).await;
    for sql in [
        "SELECT totp_secret AS v FROM users WHERE email = 'sealed@example.kz'",
        "SELECT secret AS v FROM webhook_subscriptions",
    ] {
        let v = raw_column(&app, sql).await;
        assert!(v[0].starts_with("sealed:v1:"), "{sql}: {v:?}");
    }
    assert_eq!(reqwest::get(format!("{replica}/readyz")).await.unwrap().status(), 200);
    let mut third = Browser::new(&app);
    third.sign_in("sealed@example.kz", PASSWORD).await;
    third.get("/login/totp").await;
    let p = third.form("/login/totp", &[("code", &totp_code(&secret, now_unix()).unwrap())]).await;
    assert_eq!(p.status, 303, "the secret sealed at start still checks codes: {}", p.body);
}

crate::both_backends!(
    secrets_are_sealed_at_rest_and_still_work,
    concurrent_wrong_passwords_check_at_most_five,
    invitation_password_second_factor_sign_out_sign_in,
    links_are_single_use_expire_and_are_voided_by_newer_ones,
    brute_force_is_throttled_and_accounts_do_not_show,
    sessions_cannot_be_forged_reused_or_kept,
    changes_need_the_csrf_token_and_our_origin,
    officers_without_a_second_factor_cannot_decide,
    an_admin_resets_a_lost_second_factor,
    error_statuses_arrive_intact,
);

#[actix_web::test]
async fn https_registries_use_a_host_only_secure_cookie() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| c.public_url = "https://registry.example.kz".into()).await else {
        return;
    };
    person(&app, "venue@example.kz", &[Role::Assessor], None).await;
    let mut b = Browser::new(&app);
    let p = b.sign_in("venue@example.kz", PASSWORD).await;
    assert_eq!(p.status, 303);
    let sc = b.set_cookie.clone().unwrap();
    assert!(sc.starts_with("__Host-gel_session="), "{sc}");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(sc.contains(attr), "{attr} in {sc}");
    }
    assert!(!sc.contains("Domain"), "host-only");
    assert_eq!(b.api(Method::GET, "/api/v1/me", None).await.status(), 200);
}

#[actix_web::test]
async fn the_demo_prints_a_working_link_per_role() {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let state = app.state.clone();
    let links = actix_web::rt::task::spawn_blocking(move || {
        let r = ecolabel::cli::demo::seed(&state).unwrap();
        (ecolabel::cli::demo::invitation_links(&state, r.row.venue_id).unwrap(), r.row.venue_id)
    })
    .await
    .unwrap();
    let (links, venue_id) = links;
    let roles: Vec<&str> = links.iter().map(|(r, _)| *r).collect();
    assert_eq!(roles, ["assessor", "officer", "venue", "admin"]);
    let venue_link = &links[2].1;
    let mut b = Browser::new(&app);
    assert_eq!(b.get(&link_path(venue_link)).await.status, 200);
    assert_eq!(
        b.form(&link_path(venue_link), &[("password", PASSWORD), ("password_confirm", PASSWORD)])
            .await
            .status,
        303
    );
    let p = b.sign_in("venue@demo.example", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/app"));
    let me = json(b.api(Method::GET, "/api/v1/me", None).await).await;
    assert_eq!(me["roles"], json!(["venue"]));
    assert_eq!(me["venue_id"], venue_id);
    // The assessor's link belongs to the person who audited the example.
    let p = Browser::new(&app).get(&link_path(&links[0].1)).await;
    assert!(p.body.contains("Aigerim Sarsenova"), "{}", p.body);
}

/// Is a browser here? Locally a missing one skips the browser test (with a message); in CI it fails.
pub fn browser_available() -> bool {
    let chromium = std::path::Path::new("/usr/bin/chromium").exists();
    let playwright = std::process::Command::new("python3")
        .args(["-c", "import playwright.sync_api, axe_playwright_python"])
        .output()
        .is_ok_and(|o| o.status.success());
    if chromium && playwright {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "CI=true but the browser test cannot run (chromium: {chromium}, playwright for Python: {playwright})"
    );
    eprintln!("skipped: browser test (needs /usr/bin/chromium and `pip install playwright axe-playwright-python`)");
    false
}

/// The whole sign-in in Debian's Chromium on a 360 px screen without JavaScript (tests/browser/signin.py).
#[actix_web::test]
async fn in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let (_, path) = invite(&app, "officer@example.kz", &[Role::Officer], None).await;
    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/target/browser/signin");
    let (base, script) = (app.address.clone(), concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/signin.py"));
    run_browser_script(script, vec![base, path, "officer@example.kz".into(), shots.into()]).await;
}

/// Run a browser script (Python, Playwright) with these arguments; its output is shown, and a failure fails the test.
pub async fn run_browser_script(script: &'static str, args: Vec<String>) {
    let out = actix_web::rt::task::spawn_blocking(move || std::process::Command::new("python3").arg(script).args(args).output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

// The certificate PDF: who may download it, what text it carries (Kazakh included), that its QR code
// decodes to the exact QR text, that it is byte-identical on every download, and that long names fit.

use crate::helpers::*;
use ecolabel::domain::auth::Role;
use serde_json::json;
use std::process::Command;

/// A command-line tool the PDF checks use; missing is a failure in CI and a skip elsewhere.
pub fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "{name} is required in CI (apt-get install poppler-utils zbar-tools)"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

async fn issued(app: &TestApp, venue_name: &str) -> (String, String, i64) {
    let c = app.issue(venue_name, "Astana").await;
    (c.number, c.qr_text, c.venue)
}

fn write(app: &TestApp, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = app.dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

async fn suspend(app: &TestApp, number: &str, officer: &str) {
    let r = app
        .post(
            &format!("/api/v1/certificates/{number}/suspend"),
            Some(officer),
            json!({"reason": "Inspection pending"}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

async fn download(app: &TestApp, number: &str, token: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/certificates/{number}/pdf"), Some(token)).await
}

async fn venue_downloads_a_verifiable_pdf(app: TestApp) {
    // Named in three languages: the PDF prints the Kazakh and Russian names under the registered one.
    let c = app
        .issue_to(
            json!({"name": "Smart Plastic Zone", "name_kk": "Смарт Пластик Аймағы", "name_ru": "Смарт Пластик Зона",
            "address": "Mangilik El 55", "city": "Astana", "category": "expo_pavilion"}),
        )
        .await;
    let (number, qr, venue) = (c.number, c.qr_text, c.venue);
    let (_, venue_user) = app.user("venue", &[Role::Venue], Some(venue)).await;
    // The venue finds its certificate in its list, with the PDF link.
    let list = json(app.get("/api/v1/certificates", Some(&venue_user)).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["number"], number.as_str());
    assert_eq!(list["items"][0]["status"], "valid");
    let pdf_href = list["items"][0]["pdf"].as_str().unwrap().to_string();
    assert_eq!(pdf_href, format!("/api/v1/certificates/{number}/pdf"));
    let r = app.get(&pdf_href, Some(&venue_user)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.headers()["content-disposition"], format!("attachment; filename=\"{number}.pdf\"").as_str());
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let bytes = r.bytes().await.unwrap().to_vec();
    assert!(bytes.len() < 60 * 1024, "{} bytes", bytes.len());
    // Deterministic, and cacheable by ETag.
    let again = download(&app, &number, &venue_user).await.bytes().await.unwrap().to_vec();
    assert_eq!(bytes, again);
    let r = app
        .request(reqwest::Method::GET, &format!("/api/v1/certificates/{number}/pdf"), Some(&venue_user))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    // Strangers and assessors get 404; officers may download.
    let other = app.venue(&app.token(&[Role::Assessor]).await, "Other", "Almaty").await;
    let (_, stranger) = app.user("stranger", &[Role::Venue], Some(other)).await;
    assert_error(download(&app, &number, &stranger).await, 404, "not_found").await;
    let theirs = json(app.get(&format!("/api/v1/certificates?venue_id={venue}"), Some(&stranger)).await).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0, "another venue's certificates stay hidden");
    assert_error(download(&app, &number, &app.token(&[Role::Assessor]).await).await, 404, "not_found").await;
    assert_eq!(download(&app, &number, &app.token(&[Role::Officer]).await).await.status(), 200);
    // No token or an unknown one: 401 before anything about the certificate is said.
    let pdf_path = format!("/api/v1/certificates/{number}/pdf");
    assert_error(app.get(&pdf_path, None).await, 401, "unauthorized").await;
    let unknown = format!("gel_{}", "A".repeat(43));
    assert_error(download(&app, &number, &unknown).await, 401, "invalid_token").await;
    assert_error(download(&app, "GEL-2099-999999", &unknown).await, 401, "invalid_token").await;
    assert_error(download(&app, "GEL-2099-999999", &venue_user).await, 404, "not_found").await;

    let file = write(&app, "cert.pdf", &bytes);
    // The offline verifier finds the token inside the PDF.
    let keys = app.dir.path().join("keys");
    let out = Command::new(env!("CARGO_BIN_EXE_ecolabel"))
        .args(["verify", file.to_str().unwrap(), "--key-dir", keys.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&number));

    if tool("pdftotext") {
        let out = Command::new("pdftotext").args([file.to_str().unwrap(), "-"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for needle in [
            "Алтын экологиялық белгі",
            "Золотой экологический знак",
            "Gold eco-label",
            "Smart Plastic Zone",
            number.as_str(),
            "Пластик қалдықтарын бөлек жинау",
            "Test certification body",
            // The issuer's and the venue's names in the other languages.
            "Сынақ сертификаттау органы",
            "Тестовый орган по сертификации",
            "Смарт Пластик Аймағы · Смарт Пластик Зона",
        ] {
            assert!(text.contains(needle), "{needle} not in the PDF text:\n{text}");
        }
        let info = Command::new("pdfinfo").arg(&file).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains(&format!("Gold eco-label certificate {number}")), "{info}");
        assert!(info.contains("Author:          Test certification body"), "{info}");
        assert!(info.contains("Pages:           1"), "{info}");
        assert!(info.contains("595.276 x 841.89"), "A4: {info}");
        // Embedded font subsets are named as PDF 32000-1 §9.6.4 asks (six upper-case letters and `+`).
        let fonts = Command::new("pdffonts").arg(&file).output().unwrap();
        let fonts = String::from_utf8_lossy(&fonts.stdout);
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert_eq!(rows.len(), 2, "{fonts}");
        for row in rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            let name = cols[0];
            let (tag, base) = name.split_once('+').unwrap();
            assert!(tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_uppercase()), "{name}");
            assert!(base.starts_with("DejaVuSans") && !base.contains('+'), "{name}");
            assert_eq!(
                &cols[cols.len() - 5..cols.len() - 2],
                &["yes", "yes", "yes"],
                "embedded, subset, unicode: {row}"
            );
        }
    }
    if tool("pdftoppm") && tool("zbarimg") {
        let png = app.dir.path().join("page");
        assert!(Command::new("pdftoppm")
            .args(["-png", "-r", "150", "-singlefile", file.to_str().unwrap(), png.to_str().unwrap()])
            .status()
            .unwrap()
            .success());
        let out = Command::new("zbarimg")
            // Only QR codes: zbar can also "find" a linear barcode in a QR code's modules.
            .args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable", &format!("{}.png", png.display())])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            qr,
            "the printed QR code decodes to the exact QR text"
        );
    }
}

async fn suspended_certificates_download_with_a_stamp(app: TestApp) {
    let (number, _, _) = issued(&app, "Cafe").await;
    let officer = app.token(&[Role::Officer]).await;
    let before = download(&app, &number, &officer).await.bytes().await.unwrap();
    suspend(&app, &number, &officer).await;
    let r = download(&app, &number, &officer).await;
    assert_eq!(r.status(), 200);
    let after = r.bytes().await.unwrap();
    assert_ne!(before, after, "a rendered PDF is kept only for the status it was rendered in");
    assert_eq!(download(&app, &number, &officer).await.bytes().await.unwrap(), after);
    let reinstate = app.post(&format!("/api/v1/certificates/{number}/reinstate"), Some(&officer), json!({})).await;
    assert_eq!(reinstate.status(), 200);
    assert_eq!(
        download(&app, &number, &officer).await.bytes().await.unwrap(),
        before,
        "valid again: the first PDF"
    );
    suspend(&app, &number, &officer).await;
    let r = download(&app, &number, &officer).await;
    let after = r.bytes().await.unwrap();
    if tool("pdftotext") {
        let file = write(&app, "s.pdf", &after);
        let text = String::from_utf8(Command::new("pdftotext").args([file.to_str().unwrap(), "-"]).output().unwrap().stdout).unwrap();
        assert!(
            text.contains("SUSPENDED") && text.contains("ТОҚТАТЫЛДЫ") && text.contains("Inspection pending"),
            "{text}"
        );
    }
}

/// The stored rendering of a certificate, as (state, bytes).
async fn stored_pdf(app: &TestApp, number: &str) -> Vec<(String, Vec<u8>)> {
    let n = number.to_string();
    app.state
        .db
        .read(move |c| {
            let id = ecolabel::storage::certificates::get(c, &n)?.id;
            ecolabel::storage::documents::bodies(c, &[id])
        })
        .await
        .unwrap()
        .into_iter()
        .map(|(_, state, body)| (state, body))
        .collect()
}

/// The approval renders the PDF and stores it with the state it shows; a second replica, which has rendered
/// nothing, serves the stored bytes; a suspension stores the stamped rendering, which every replica serves.
async fn the_rendered_pdf_is_stored_and_served_by_every_replica(app: TestApp) {
    let (number, _, _) = issued(&app, "Stored Cafe").await;
    let officer = app.token(&[Role::Officer]).await;
    let stored = stored_pdf(&app, &number).await;
    assert_eq!(stored.len(), 1, "rendered at issuance");
    let (state, body) = &stored[0];
    assert!(state.starts_with(&format!("{number}|valid|")), "{state}");
    let r = download(&app, &number, &officer).await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(&r.bytes().await.unwrap().to_vec(), body, "the download is the stored rendering");

    // Mark the stored copy: a replica that rendered nothing itself must serve exactly what is stored.
    let (n, st) = (number.clone(), state.clone());
    app.state
        .db
        .write_outside_transaction(move |c| {
            let id = ecolabel::storage::certificates::get(c, &n)?.id;
            ecolabel::storage::documents::store(c, id, &st, "\"marked\"", b"%PDF-1.5 marked")
        })
        .await
        .unwrap();
    let other_address = app.replica(|_| {}).await;
    let from_other = |address: String| {
        let (client, officer, number) = (app.client.clone(), officer.clone(), number.clone());
        async move {
            client
                .get(format!("{address}/api/v1/certificates/{number}/pdf"))
                .bearer_auth(officer)
                .send()
                .await
                .unwrap()
        }
    };
    let r = from_other(other_address.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"marked\"");
    assert_eq!(r.bytes().await.unwrap(), &b"%PDF-1.5 marked"[..]);
    assert_eq!(
        download(&app, &number, &officer).await.headers()["etag"].to_str().unwrap(),
        etag,
        "the first replica still has its own rendering in memory"
    );

    // A suspension renders the stamped certificate and stores it in place of the old state.
    suspend(&app, &number, &officer).await;
    let stored = stored_pdf(&app, &number).await;
    assert_eq!(stored.len(), 1, "one rendering per certificate");
    assert!(stored[0].0.starts_with(&format!("{number}|suspended|")), "{}", stored[0].0);
    let r = from_other(other_address).await;
    assert_ne!(r.headers()["etag"], "\"marked\"");
    let suspended = r.bytes().await.unwrap().to_vec();
    assert!(suspended.starts_with(b"%PDF-"));
    assert_eq!(suspended, stored[0].1, "the other replica serves the stored suspended rendering");
    assert_eq!(download(&app, &number, &officer).await.bytes().await.unwrap().to_vec(), suspended);
}

crate::both_backends!(
    venue_downloads_a_verifiable_pdf,
    suspended_certificates_download_with_a_stamp,
    the_rendered_pdf_is_stored_and_served_by_every_replica
);

/// A 120-character Kazakh venue name still fits: every word's box is inside the frame.
#[actix_web::test]
async fn the_longest_venue_name_fits() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let name: String = "Қазақстан Республикасы Экология министрлігінің Өңірлік жасыл технологиялар орталығы Ұлттық көрме павильоны Һәм Іс-шаралар"
        .chars()
        .take(120)
        .collect();
    assert_eq!(name.chars().count(), 120);
    let (number, _, _) = issued(&app, &name).await;
    let bytes = download(&app, &number, &app.token(&[Role::Officer]).await).await.bytes().await.unwrap();
    if !tool("pdftotext") {
        return;
    }
    let file = write(&app, "long.pdf", &bytes);
    let html = String::from_utf8(Command::new("pdftotext").args(["-bbox", file.to_str().unwrap(), "-"]).output().unwrap().stdout).unwrap();
    let attr = |line: &str, key: &str| -> f64 { line.split(&format!("{key}=\"")).nth(1).unwrap().split('"').next().unwrap().parse().unwrap() };
    let mut words = 0;
    for line in html.lines().filter(|l| l.contains("<word ")) {
        let (x0, y0, x1, y1) = (attr(line, "xMin"), attr(line, "yMin"), attr(line, "xMax"), attr(line, "yMax"));
        // The inner frame is 11 mm (31.2 pt) from each edge of 595.3 x 841.9 pt.
        assert!(
            x0 >= 31.0 && y0 >= 31.0 && x1 <= 595.3 - 31.0 && y1 <= 841.9 - 31.0,
            "outside the frame: {line}"
        );
        words += 1;
    }
    assert!(words > 100);
    let text = String::from_utf8(Command::new("pdftotext").args([file.to_str().unwrap(), "-"]).output().unwrap().stdout).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&name), "the whole name is printed");
}

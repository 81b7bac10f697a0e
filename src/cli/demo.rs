//! `ecolabel demo`: seeds the Smart Plastic Zone example (gold eco-label awarded at the RES 2026 EXPO
//! presentation in Astana, 2025-12-19) end to end through the same storage functions as the API.

use crate::app::Context;
use crate::config::Config;
use crate::domain::auth::{Caller, Role};
use crate::domain::lifecycle::Decision;
use crate::domain::venue::VenueFields;
use crate::startup;
use crate::storage::{self, assessments, certificates, venues};
use chrono::NaiveDate;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::process::ExitCode;

pub const DEMO_VENUE: &str = "Smart Plastic Zone";

/// A small, valid one-page PDF that stands in for a scanned evidence document.
pub fn evidence_pdf(title: &str) -> Vec<u8> {
    let text = title.replace(['(', ')', '\\'], " ");
    let content = format!("BT /F1 14 Tf 72 760 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub struct DemoResult {
    pub number: String,
    pub row: storage::models::CertificateRow,
    pub qr_text: String,
    pub created: bool,
}

/// Seed (or find) the example and return its certificate.
pub fn seed(state: &Context) -> Result<DemoResult, String> {
    let db = &state.db;
    let existing = db
        .read_blocking(|c| {
            let found = venues::list(
                c,
                &venues::VenueQuery {
                    q: Some(DEMO_VENUE.into()),
                    city: Some("Astana".into()),
                    only_id: None,
                    after_id: None,
                    limit: 50,
                },
            )?;
            for v in found.iter().filter(|v| v.name == DEMO_VENUE) {
                let q = certificates::PublicQuery {
                    q: None,
                    city: None,
                    status: None,
                    venue_id: Some(v.id),
                    before_id: None,
                    limit: 1,
                    today: storage::now().date(),
                };
                if let Some(cert) = certificates::list(c, &q)?.into_iter().next() {
                    return Ok::<_, storage::Error>(Some(cert));
                }
            }
            Ok(None)
        })
        .map_err(err)?;
    if let Some(cert) = existing {
        return Ok(DemoResult {
            qr_text: crate::domain::signing::qr_text(&state.config.public_url, &cert.token),
            number: cert.number.clone(),
            row: cert.clone(),
            created: false,
        });
    }
    let system = Caller::system("demo");
    let caller = |u: &crate::app::users::NewUser, roles: Vec<Role>| Caller {
        user_id: Some(u.user.id),
        name: u.user.name.clone(),
        roles,
        venue_id: u.user.venue_id,
        token_id: Some(u.token_id),
    };
    let with_email = |name: &str, role: Role, email: &str| {
        db.write_blocking(|c| {
            let u = crate::app::users::create_with_token(c, &system, name, &[role], None)?;
            storage::accounts::set_email(c, u.user.id, email)?;
            Ok::<_, crate::app::Error>(u)
        })
        .map_err(err)
    };
    let assessor_user = with_email(DEMO_PEOPLE[0].1, Role::Assessor, &demo_email("assessor"))?;
    let officer_user = with_email(DEMO_PEOPLE[1].1, Role::Officer, &demo_email("officer"))?;
    let assessor = caller(&assessor_user, vec![Role::Assessor]);
    let officer = caller(&officer_user, vec![Role::Officer]);
    let fields = VenueFields {
        name: Some(DEMO_VENUE.into()),
        name_kk: Some("Smart Plastic Zone жобасы".into()),
        name_ru: Some("Проект Smart Plastic Zone".into()),
        name_en: Some("Smart Plastic Zone project".into()),
        address: Some("RES 2026 EXPO exhibition grounds".into()),
        city: Some("Astana".into()),
        city_kk: Some("Астана".into()),
        city_ru: Some("Астана".into()),
        country: Some("KZ".into()),
        category: Some("expo_pavilion".into()),
        ..Default::default()
    };
    let venue_row = db.write_blocking(|c| crate::app::venues::create(c, &assessor, &fields)).map_err(err)?;
    let scheme = state
        .catalogue
        .current(crate::domain::criteria::DEFAULT_SCHEME)
        .cloned()
        .ok_or("no gold-eco-label scheme")?;
    let a = db
        .write_blocking(|c| crate::app::assessments::create(c, &assessor, venue_row.id, &scheme, Default::default()))
        .map_err(err)?;
    let measurements = json!({
        "plastic_reduction": {"baseline_kg": 1240, "last_12_months_kg": 410},
        "alternative_materials": {"items_total": 2600, "alternatives_count": 2210},
        "separate_collection": {"waste_points_total": 48, "points_with_plastic_stream": 46, "contamination_pct": 6.5},
        "recycling_handover": {"collected_kg": 880, "handed_over_kg": 772, "transfer_notes": [
            {"recycler": "Astana plastic recycling plant", "licence_no": "KZ-02-RCY-0417", "date": "2025-10-31", "kg": 402},
            {"recycler": "Astana plastic recycling plant", "licence_no": "KZ-02-RCY-0417", "date": "2025-11-28", "kg": 370}
        ]}
    });
    db.write_blocking(|c| crate::app::assessments::patch_measurements(c, &assessor, a.id, &scheme, &measurements))
        .map_err(err)?;
    let files = [
        (
            "plastic_reduction",
            "purchase-records-2024-2025.pdf",
            "Purchase records: single-use plastic, baseline year and last 12 months",
        ),
        (
            "alternative_materials",
            "invoices-alternative-materials.pdf",
            "Invoices: glass, metal, paper and certified compostable items",
        ),
        (
            "separate_collection",
            "waste-points-photo-report.pdf",
            "Photo report: 46 of 48 waste points with a plastic stream",
        ),
        (
            "recycling_handover",
            "transfer-notes-oct-nov-2025.pdf",
            "Transfer notes to the licensed recycler, October and November 2025",
        ),
    ];
    for (criterion, filename, title) in files {
        let content = evidence_pdf(&format!("Smart Plastic Zone - {title}"));
        let e = assessments::NewEvidence {
            criterion: criterion.into(),
            filename: filename.into(),
            description: Some(title.into()),
            media_type: "application/pdf".into(),
            sha256: hex::encode(Sha256::digest(&content)),
            content,
        };
        db.write_blocking(|c| crate::app::assessments::add_evidence(c, &assessor, a.id, &scheme, e))
            .map_err(err)?;
    }
    db.write_blocking(|c| crate::app::assessments::submit(c, &assessor, a.id, &scheme))
        .map_err(err)?;
    // The award was made at the RES 2026 EXPO presentation in Astana on 2025-12-19.
    let (_, cert) = crate::app::assessments::decide_blocking(
        state,
        &officer,
        a.id,
        Decision::Approve,
        Some("All four Gold criteria met with evidence; awarded at the RES 2026 EXPO presentation, Astana"),
        NaiveDate::from_ymd_opt(2025, 12, 19),
    )
    .map_err(err)?;
    let cert = cert.ok_or("approval issued no certificate")?;
    Ok(DemoResult {
        qr_text: crate::domain::signing::qr_text(&state.config.public_url, &cert.token),
        number: cert.number.clone(),
        row: cert.clone(),
        created: true,
    })
}

/// The demo's people, one per role: (role, name). The assessor and the officer are the ones who audited
/// and decided the example.
pub const DEMO_PEOPLE: [(&str, &str); 4] = [
    ("assessor", "Aigerim Sarsenova (demo assessor)"),
    ("officer", "Daniyar Omarov (demo certification officer)"),
    ("venue", "Smart Plastic Zone manager (demo)"),
    ("admin", "Registry administrator (demo)"),
];

pub fn demo_email(role: &str) -> String {
    format!("{role}@demo.example")
}

/// A fresh sign-in link for each demo person (invited on first use; older links stop working).
pub fn invitation_links(state: &Context, venue_id: i64) -> Result<Vec<(&'static str, String)>, String> {
    let system = Caller::system("demo");
    let client = crate::app::accounts::Client {
        ip: "cli".into(),
        user_agent: "ecolabel demo".into(),
    };
    let url = &state.config.public_url;
    let mut out = Vec::new();
    for (role, name) in DEMO_PEOPLE {
        let email = demo_email(role);
        let roles = [Role::parse(role)?];
        let link = state
            .db
            .write_blocking(|c| match storage::accounts::user_by_email(c, &email)? {
                Some(user) => crate::app::accounts::password_link(c, &system, &client, user.id, url, state.clock.now()),
                None => {
                    let p = crate::app::accounts::NewPerson {
                        email: &email,
                        name,
                        roles: &roles,
                        venue_id: (role == "venue").then_some(venue_id),
                    };
                    crate::app::accounts::invite(c, &system, &client, p, url, state.clock.now())
                }
            })
            .map_err(err)?;
        out.push((role, link.url));
    }
    Ok(out)
}

pub fn run(config: &Config) -> Result<ExitCode, String> {
    let state = startup::build_context(config, false)?;
    let r = seed(&state)?;
    if r.created {
        eprintln!("seeded the Smart Plastic Zone example: certificate {}", r.number);
    } else {
        eprintln!("the Smart Plastic Zone example exists already: certificate {}", r.number);
    }
    let (status, key) = crate::app::documents::pdf_now(&state, &r.row).map_err(|e| e.to_string())?;
    let (pdf, _) = crate::app::documents::render_and_store(&state, &r.row, status, &key).map_err(|e| e.to_string())?;
    let dir = config.data_dir.join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.pdf", r.number));
    std::fs::write(&path, pdf).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    println!("verify: {}", r.qr_text);
    println!("register: {}/register", state.config.public_url);
    println!("pdf: {}", path.display());
    eprintln!("sign-in links (single use, 72 h; run `ecolabel demo` again for new ones):");
    for (role, url) in invitation_links(&state, r.row.venue_id)? {
        println!("{role}: {url}");
    }
    Ok(ExitCode::SUCCESS)
}

//! `ecolabel seed`: a benchmarking tool that fills an empty registry with many venues, audits and signed
//! certificates through the same operations people use (one transaction per batch), for load tests.

use crate::app;
use crate::domain::auth::{Caller, Role};
use crate::domain::criteria::{Scheme, DEFAULT_SCHEME};
use crate::domain::lifecycle::{CertificateAction, Decision};
use crate::domain::venue::VenueFields;
use crate::storage::{self, assessments::NewEvidence, DbConn};
use crate::web::AppState;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// What to make.
pub struct Plan {
    /// Certificates issued (each from an approved audit).
    pub certificates: usize,
    /// Venues they are spread over (a venue certified again gets a renewal that supersedes the old one).
    pub venues: usize,
    /// Further audits left submitted, waiting in the officers' queue.
    pub submitted: usize,
    /// Seed even though the database holds venues, audits or certificates.
    pub force: bool,
}

/// Venue kinds with the word for them in kk, ru, en (Kazakh puts it after the name, with its possessive).
const KINDS: [(&str, &str, &str, &str); 6] = [
    ("hotel", "қонақүйі", "Гостиница", "Hotel"),
    ("cafe", "кафесі", "Кафе", "Café"),
    ("office", "кеңсесі", "Офис", "Office"),
    ("event_hall", "той залы", "Зал", "Event hall"),
    ("expo_pavilion", "павильоны", "Павильон", "Pavilion"),
    ("public_space", "саябағы", "Парк", "Park"),
];

/// Names people give places in Kazakhstan, in kk, ru, en.
const NAMES: [(&str, &str, &str); 16] = [
    ("Бәйтерек", "Байтерек", "Baiterek"),
    ("Алатау", "Алатау", "Alatau"),
    ("Есіл", "Есиль", "Esil"),
    ("Көктем", "Коктем", "Koktem"),
    ("Шаңырақ", "Шанырак", "Shanyrak"),
    ("Арай", "Арай", "Arai"),
    ("Тұран", "Туран", "Turan"),
    ("Достық", "Достык", "Dostyk"),
    ("Нұр", "Нур", "Nur"),
    ("Самал", "Самал", "Samal"),
    ("Жетісу", "Жетысу", "Zhetysu"),
    ("Сарыарқа", "Сарыарка", "Saryarka"),
    ("Ақжайық", "Акжайык", "Akzhaiyk"),
    ("Хан Тәңірі", "Хан Тенгри", "Khan Tengri"),
    ("Көкжиек", "Кокжиек", "Kokzhiek"),
    ("Ұлытау", "Улытау", "Ulytau"),
];

const CITIES: [&str; 16] = [
    "Astana",
    "Almaty",
    "Shymkent",
    "Karaganda",
    "Aktobe",
    "Taraz",
    "Pavlodar",
    "Oskemen",
    "Semey",
    "Atyrau",
    "Kostanay",
    "Kyzylorda",
    "Oral",
    "Petropavl",
    "Turkistan",
    "Aktau",
];

const BATCH: usize = 250;

/// The `i`-th venue: a name in three languages, a city, a kind, an address.
pub fn venue_fields(i: usize) -> VenueFields {
    let (kind, kk_word, ru_word, en_word) = KINDS[i % KINDS.len()];
    let (kk, ru, en) = NAMES[(i / KINDS.len()) % NAMES.len()];
    let n = i + 1;
    VenueFields {
        name: Some(format!("{en} {en_word} {n}")),
        name_kk: Some(format!("{kk} {kk_word} {n}")),
        name_ru: Some(format!("{ru_word} «{ru}» {n}")),
        name_en: Some(format!("{en} {en_word} {n}")),
        address: Some(format!("{} street {}", NAMES[(i * 7) % NAMES.len()].2, 1 + i % 120)),
        city: Some(CITIES[(i / 3) % CITIES.len()].to_string()),
        country: Some("KZ".into()),
        category: Some(kind.into()),
        ..Default::default()
    }
}

fn measurements(i: usize) -> serde_json::Value {
    let base = 500 + (i % 900) as i64;
    json!({
        "plastic_reduction": {"baseline_kg": base, "last_12_months_kg": base * 2 / 5},
        "alternative_materials": {"items_total": 1000, "alternatives_count": 760 + (i % 200) as i64},
        "separate_collection": {"waste_points_total": 40, "points_with_plastic_stream": 37 + (i % 4) as i64, "contamination_pct": 4 + (i % 6) as i64},
        "recycling_handover": {"collected_kg": 600, "handed_over_kg": 500, "transfer_notes": [
            {"recycler": "Kazakhstan Waste Recycling LLP", "licence_no": format!("KZ-{:02}-RCY-{:04}", i % 17, i % 9973), "date": "2025-11-30", "kg": 500}
        ]}
    })
}

fn evidence(criterion: &str, i: usize) -> NewEvidence {
    // A small valid PNG, different per audit and criterion (evidence is unique per SHA-256 in an audit).
    let content = crate::render::qr::png(&format!("seed evidence {i} {criterion}"), 1).unwrap_or_default();
    NewEvidence {
        criterion: criterion.into(),
        filename: format!("{criterion}-{i}.png"),
        description: Some("Seeded for a load test".into()),
        media_type: "image/png".into(),
        sha256: hex::encode(Sha256::digest(&content)),
        content,
    }
}

/// An audit of venue `venue_id`, filled in with evidence and submitted, by `assessor`.
fn submitted_audit(c: &mut DbConn, assessor: &Caller, scheme: &Scheme, venue_id: i64, i: usize) -> app::Result<i64> {
    let a = app::assessments::create(c, assessor, venue_id, scheme)?;
    app::assessments::patch_measurements(c, assessor, a.id, scheme, &measurements(i))?;
    for crit in &scheme.criteria {
        app::assessments::add_evidence(c, assessor, a.id, scheme, evidence(&crit.id, i))?;
    }
    app::assessments::submit(c, assessor, a.id, scheme)?;
    Ok(a.id)
}

fn person(c: &mut DbConn, name: &str, role: Role) -> storage::Result<Caller> {
    let u = app::users::add(c, &Caller::system("seed"), name, &[role], None, None).map_err(app::Error::into_storage)?;
    storage::users::caller_of(&u)
}

/// Fill the registry per `plan`; returns a summary line per phase.
pub fn run(state: &AppState, plan: &Plan) -> Result<Vec<String>, String> {
    let db = &state.db;
    let err = |e: storage::Error| e.to_string();
    let held = db.read_blocking(storage::registry_rows).map_err(err)?;
    if held > 0 && !plan.force {
        return Err(format!(
            "the database already holds {held} venues, audits and certificates; `seed` is a benchmarking tool for an empty registry (use --force to add to it anyway)"
        ));
    }
    let venues = plan.venues.clamp(1, plan.certificates.max(1));
    let scheme = state.catalogue.current(DEFAULT_SCHEME).cloned().ok_or("no gold-eco-label scheme")?;
    let assessor = db.write_blocking(|c| person(c, "Seed assessor", Role::Assessor)).map_err(err)?;
    let officer = db.write_blocking(|c| person(c, "Seed officer", Role::Officer)).map_err(err)?;
    let active = db
        .read_blocking(storage::keys::active)
        .map_err(err)?
        .ok_or("no active signing key: run `ecolabel keys generate`")?;
    let key = state.keyring.get(&active.kid).ok_or("the active signing key is not in the key directory")?;
    let ctx = state.issue_context_with(active.kid, key);
    let year = chrono::Datelike::year(&storage::now().date());
    db.write_outside_transaction_blocking(|c| storage::certificates::ensure_counter(c, year))
        .map_err(err)?;
    let mut report = Vec::new();

    let started = Instant::now();
    let mut venue_ids = Vec::with_capacity(venues);
    for chunk in (0..venues).collect::<Vec<_>>().chunks(BATCH) {
        let made = db
            .write_blocking(|c| {
                chunk
                    .iter()
                    .map(|&i| app::venues::create(c, &assessor, &venue_fields(i)).map(|v| v.id))
                    .collect::<app::Result<Vec<_>>>()
                    .map_err(app::Error::into_storage)
            })
            .map_err(err)?;
        venue_ids.extend(made);
    }
    report.push(format!("{venues} venues in {:.1} s", started.elapsed().as_secs_f64()));

    let started = Instant::now();
    let mut numbers = Vec::with_capacity(plan.certificates);
    for chunk in (0..plan.certificates).collect::<Vec<_>>().chunks(BATCH) {
        let issued = db
            .write_blocking(|c| {
                let mut out = Vec::with_capacity(chunk.len());
                for &i in chunk {
                    let id = submitted_audit(c, &assessor, &scheme, venue_ids[i % venues], i).map_err(app::Error::into_storage)?;
                    let (_, cert) = app::assessments::decide(c, &officer, id, Decision::Approve, Some("Seeded: all four criteria met"), Some(&ctx))
                        .map_err(app::Error::into_storage)?;
                    out.extend(cert.map(|k| k.number));
                }
                Ok(out)
            })
            .map_err(err)?;
        numbers.extend(issued);
        if numbers.len() % 10_000 < BATCH {
            eprintln!("seed: {} certificates", numbers.len());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    report.push(format!(
        "{} certificates (each an audit with measurements, 4 evidence files, submission and approval) in {secs:.1} s, {:.0}/s",
        numbers.len(),
        numbers.len() as f64 / secs.max(1e-9)
    ));

    // Some labels are suspended or withdrawn, as in a real register (every 20th and every 50th).
    let started = Instant::now();
    let changes: Vec<(String, CertificateAction, &str)> = numbers
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match i {
            i if i % 50 == 49 => Some((n.clone(), CertificateAction::Withdraw, "Seeded: the venue closed")),
            i if i % 20 == 19 => Some((n.clone(), CertificateAction::Suspend, "Seeded: contamination above 10 % at an inspection")),
            _ => None,
        })
        .collect();
    for chunk in changes.chunks(BATCH) {
        db.write_blocking(|c| {
            for (n, action, reason) in chunk {
                match app::certificates::change_status(c, &officer, n, *action, Some(reason), &state.log_key) {
                    // A superseded certificate no longer changes status.
                    Ok(_) | Err(app::Error::Storage(storage::Error::Conflict { .. })) => {}
                    Err(e) => return Err(e.into_storage()),
                }
            }
            Ok(())
        })
        .map_err(err)?;
    }
    report.push(format!("{} status changes in {:.1} s", changes.len(), started.elapsed().as_secs_f64()));

    let started = Instant::now();
    for chunk in (0..plan.submitted).collect::<Vec<_>>().chunks(BATCH) {
        db.write_blocking(|c| {
            for &i in chunk {
                submitted_audit(c, &assessor, &scheme, venue_ids[i % venues], plan.certificates + i).map_err(app::Error::into_storage)?;
            }
            Ok(())
        })
        .map_err(err)?;
    }
    report.push(format!(
        "{} submitted audits waiting in the queue in {:.1} s",
        plan.submitted,
        started.elapsed().as_secs_f64()
    ));
    let started = Instant::now();
    db.write_outside_transaction_blocking(storage::refresh_statistics).map_err(err)?;
    report.push(format!("planner statistics (ANALYZE) in {:.1} s", started.elapsed().as_secs_f64()));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_venues_are_valid_and_distinct() {
        let mut names = std::collections::HashSet::new();
        for i in 0..500 {
            let f = venue_fields(i);
            crate::domain::venue::Venue::apply(None, &f).unwrap();
            assert!(names.insert(f.name.clone().unwrap()));
        }
    }
}

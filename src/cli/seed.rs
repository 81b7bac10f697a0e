//! `ecolabel seed`: a benchmarking tool that fills an empty registry with many venues, audits and signed
//! certificates through the same operations people use (one transaction per batch), for load tests.

use crate::app;
use crate::app::certificates::IssueContext;
use crate::app::Context;
use crate::domain::auth::{Caller, Role};
use crate::domain::certificate::{exp_for, valid_until, CertificateClaims, CertificateNumber};
use crate::domain::criteria::{Scheme, DEFAULT_SCHEME};
use crate::domain::scoring;
use crate::domain::signing::sign_certificate;
use crate::domain::venue::Venue;
use crate::domain::venue::VenueFields;
use crate::storage::models::{AssessmentRow, CertificateRow, VenueRow};
use crate::storage::{self, assessments::NewEvidence, bulk, DbConn};
use chrono::{NaiveDate, NaiveDateTime};
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
    /// Certificates issued per year at most (numbers have six digits a year): a larger seed starts years
    /// back, a year's certificates each at the same time of that year.
    pub per_year: usize,
}

/// `Plan::per_year` unless told otherwise.
pub const PER_YEAR: usize = 500_000;

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

/// Audits left submitted are made through the real operations, this many per transaction.
const BATCH: usize = 250;
/// Certificates per bulk transaction.
const BULK: usize = 2_000;

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

/// The `i`-th audit's measurements, as of `audited` (the transfer note a month before).
fn measurements(i: usize, audited: NaiveDate) -> serde_json::Value {
    let note_date = (audited - chrono::Days::new(30)).to_string();
    let base = 500 + (i % 900) as i64;
    json!({
        "plastic_reduction": {"baseline_kg": base, "last_12_months_kg": base * 2 / 5},
        "alternative_materials": {"items_total": 1000, "alternatives_count": 760 + (i % 200) as i64},
        "separate_collection": {"waste_points_total": 40, "points_with_plastic_stream": 37 + (i % 4) as i64, "contamination_pct": 4 + (i % 6) as i64},
        "recycling_handover": {"collected_kg": 600, "handed_over_kg": 500, "transfer_notes": [
            {"recycler": "Kazakhstan Waste Recycling LLP", "licence_no": format!("KZ-{:02}-RCY-{:04}", i % 17, i % 9973), "date": note_date, "kg": 500}
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
    let a = app::assessments::create(c, assessor, venue_id, scheme, Default::default())?;
    app::assessments::patch_measurements(c, assessor, a.id, scheme, &measurements(i, storage::now().date()))?;
    for crit in &scheme.criteria {
        app::assessments::add_evidence(c, assessor, a.id, scheme, evidence(&crit.id, i))?;
    }
    app::assessments::submit(c, assessor, a.id, scheme)?;
    Ok(a.id)
}

fn person(c: &mut DbConn, name: &str, role: Role) -> crate::app::Result<Caller> {
    let u = app::users::add(c, &Caller::system("seed"), name, &[role], None, None)?;
    Ok(storage::users::caller_of(&u)?)
}

fn json_text<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

/// An issuance year of the seed: when its certificates are issued, until when they are valid, the year's
/// last number before the seed, and which certificates (`first`, `count`) it holds.
#[derive(Clone, Copy)]
struct Year {
    year: i32,
    at: NaiveDateTime,
    valid_until: NaiveDate,
    last_number: i64,
    first: usize,
    count: usize,
}

/// The approval's reason on every seeded audit.
const APPROVAL: &str = "Seeded: all four criteria met";

/// What becomes of the `i`-th certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Valid,
    /// Every 20th, as after an inspection found contamination above 10 %.
    Suspended,
    /// Every 50th, as when a venue closes.
    Withdrawn,
    /// A venue certified again: its older certificate is superseded by the newer one.
    Superseded,
}

/// Makes the rows of seeded certificates: the same rows the real operations write (venue, audit with its
/// measurements scored by the scheme, four evidence files, every event, the signed certificate, the log
/// entries), with ids chosen up front so that a batch is a handful of multi-row statements.
struct Generator<'a> {
    scheme: &'a Scheme,
    assessor: &'a Caller,
    officer: &'a Caller,
    ctx: &'a IssueContext,
    first: &'a bulk::Start,
    venues: usize,
    total: usize,
    /// The issuance years, oldest first, `Plan::per_year` certificates each (the last one the rest).
    years: Vec<Year>,
    /// One small file per criterion: a file may appear in many audits, only once in each.
    evidence: Vec<NewEvidence>,
}

impl<'a> Generator<'a> {
    fn fate(&self, i: usize) -> Fate {
        match i {
            i if i + self.venues < self.total => Fate::Superseded,
            i if i % 50 == 49 => Fate::Withdrawn,
            i if i % 20 == 19 => Fate::Suspended,
            _ => Fate::Valid,
        }
    }

    fn venue(&self, i: usize) -> Result<Venue, String> {
        Venue::apply(None, &venue_fields(i % self.venues)).map_err(|e| format!("seeded venue {i}: {e:?}"))
    }

    /// The year the `i`-th certificate is issued in.
    fn year(&self, i: usize) -> &Year {
        let k = self.years.partition_point(|y| y.first <= i);
        &self.years[k.saturating_sub(1)]
    }

    fn number(&self, i: usize) -> Result<String, String> {
        let y = self.year(i);
        Ok(CertificateNumber::new(y.year, y.last_number + (i - y.first) as i64 + 1)?.to_string())
    }

    /// The `i`-th certificate's number and signed token, for its venue named `venue` (Ed25519 signs
    /// deterministically, so making it again gives the same bytes).
    fn signed(&self, i: usize, venue: &str) -> Result<(String, Vec<u8>), String> {
        let number = self.number(i)?;
        let claims = CertificateClaims {
            iss: self.ctx.public_url.clone(),
            iat: self.year(i).at.and_utc().timestamp(),
            exp: exp_for(self.year(i).valid_until),
            number: number.clone(),
            venue: venue.to_string(),
            level: "gold".into(),
            scheme: format!("{}/{}", self.scheme.scheme, self.scheme.version),
        };
        Ok((number, sign_certificate(&self.ctx.key, &claims)?))
    }

    fn event(&self, at: NaiveDateTime, actor: &Caller, entity: &'static str, id: String, action: &'static str, detail: serde_json::Value) -> bulk::EventIn {
        bulk::EventIn {
            at,
            actor_id: actor.user_id,
            actor_name: actor.name.clone(),
            entity,
            entity_id: id,
            action,
            detail: detail.to_string(),
        }
    }

    /// The rows of certificates `range`, made on `jobs` threads, in order.
    fn batch(&self, range: std::ops::Range<usize>, jobs: usize) -> Result<bulk::Batch, String> {
        let per = range.len().div_ceil(jobs.max(1)).max(1);
        let parts: Vec<_> = range.clone().step_by(per).map(|s| s..(s + per).min(range.end)).collect();
        let made: Vec<Result<bulk::Batch, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = parts.into_iter().map(|r| s.spawn(move || self.rows(r))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("a seeding thread panicked".into())))
                .collect()
        });
        let mut out = bulk::Batch::default();
        for part in made {
            let p = part?;
            out.venues.extend(p.venues);
            out.assessments.extend(p.assessments);
            out.evidence.extend(p.evidence);
            out.events.extend(p.events);
            out.certificates.extend(p.certificates);
            out.log.extend(p.log);
        }
        // Each year's counter moves to the last number this batch used in it.
        out.counters = self
            .years
            .iter()
            .filter(|y| y.first < range.end && range.start < y.first + y.count)
            .map(|y| (y.year, y.last_number + (range.end.min(y.first + y.count) - y.first) as i64))
            .collect();
        Ok(out)
    }

    fn rows(&self, range: std::ops::Range<usize>) -> Result<bulk::Batch, String> {
        let mut b = bulk::Batch::default();
        for i in range {
            self.one(i, &mut b)?;
        }
        Ok(b)
    }

    /// Everything the real operations would have written for the `i`-th certificate.
    fn one(&self, i: usize, b: &mut bulk::Batch) -> Result<(), String> {
        let (scheme, assessor, officer) = (self.scheme, self.assessor, self.officer);
        let Year { at, valid_until, .. } = *self.year(i);
        let venue = self.venue(i)?;
        let venue_id = self.first.venue_id + (i % self.venues) as i64;
        if i < self.venues {
            let text = storage::venues::search_text(&venue);
            b.events.push(self.event(
                at,
                assessor,
                "venue",
                venue_id.to_string(),
                "created",
                json!({"name": venue.name, "city": venue.city}),
            ));
            b.venues.push(VenueRow {
                id: venue_id,
                search_words: Some(storage::venues::search_words(&text)),
                search_text: text,
                contact_name: venue.contact_name.clone(),
                contact_email: venue.contact_email.clone(),
                contact_phone: venue.contact_phone.clone(),
                name: venue.name.clone(),
                name_kk: venue.name_kk.clone(),
                name_ru: venue.name_ru.clone(),
                name_en: venue.name_en.clone(),
                address: venue.address.clone(),
                city: venue.city.clone(),
                city_kk: venue.city_kk.clone(),
                city_ru: venue.city_ru.clone(),
                country: venue.country.clone(),
                category: venue.category.clone(),
                created_by: assessor.user_id.unwrap_or(0),
                created_at: at,
                updated_at: at,
            });
        }

        let aid = self.first.assessment_id + i as i64;
        let a = aid.to_string();
        let fail = |what: &str, e: Vec<crate::domain::scoring::FieldError>| format!("seeded audit {i}: {what}: {e:?}");
        let parsed = scoring::parse_patch(scheme, &measurements(i, at.date()), at.date()).map_err(|e| fail("measurements", e))?;
        let changed: Vec<String> = parsed.iter().flat_map(|(c, m)| m.keys().map(move |k| format!("{c}.{k}"))).collect();
        let merged = scoring::merge(scheme, &Default::default(), parsed).map_err(|e| fail("measurements", e))?;
        let counts = scheme.criteria.iter().map(|c| (c.id.clone(), 1)).collect();
        let outcome = scoring::score(scheme, &merged, &counts).map_err(|e| fail("score", e))?;
        if !outcome.is_gold() {
            return Err(format!("seeded audit {i} does not meet the Gold criteria"));
        }
        b.events.push(self.event(
            at,
            assessor,
            "assessment",
            a.clone(),
            "created",
            json!({"venue_id": venue_id, "scheme": scheme.scheme, "version": scheme.version, "criteria_sha256": scheme.sha256, "kind": "initial", "certificate": null}),
        ));
        b.events
            .push(self.event(at, assessor, "assessment", a.clone(), "measurements_changed", json!({"fields": changed})));
        for (k, e) in self.evidence.iter().enumerate() {
            let eid = self.first.evidence_id + (i * self.evidence.len() + k) as i64;
            b.events.push(self.event(
                at,
                assessor,
                "assessment",
                a.clone(),
                "evidence_added",
                json!({"evidence_id": eid, "criterion": e.criterion, "sha256": e.sha256, "size": e.content.len(), "media_type": e.media_type}),
            ));
            b.evidence.push(bulk::EvidenceIn {
                id: eid,
                assessment_id: aid,
                criterion: e.criterion.clone(),
                filename: e.filename.clone(),
                description: e.description.clone(),
                media_type: e.media_type.clone(),
                size: e.content.len() as i64,
                sha256: e.sha256.clone(),
                content: e.content.clone(),
                uploaded_by: assessor.user_id.unwrap_or(0),
                created_at: at,
            });
        }
        b.events
            .push(self.event(at, assessor, "assessment", a.clone(), "submitted", json!({"overall": outcome.overall})));
        b.events
            .push(self.event(at, officer, "assessment", a.clone(), "approved", json!({"reason": APPROVAL})));
        let outcome_text = json_text(&outcome)?;
        b.assessments.push(AssessmentRow {
            id: aid,
            venue_id,
            assessor_id: assessor.user_id.unwrap_or(0),
            status: "approved".into(),
            scheme: scheme.scheme.clone(),
            scheme_version: scheme.version,
            criteria_sha256: scheme.sha256.clone(),
            measurements: json_text(&merged)?,
            outcome: Some(outcome_text.clone()),
            overall: Some(outcome.overall.clone()),
            submitted_at: Some(at),
            decided_by: officer.user_id,
            decided_at: Some(at),
            decision_reason: Some(APPROVAL.into()),
            created_at: at,
            updated_at: at,
            kind: "initial".into(),
            certificate_number: None,
        });

        let venue_name = venue.name.clone();
        let (number, token) = self.signed(i, &venue_name)?;
        let fate = self.fate(i);
        // The certificate this one supersedes is the same venue's.
        let previous = if i >= self.venues {
            Some(self.signed(i - self.venues, &venue_name)?)
        } else {
            None
        };
        let (status, reason) = match fate {
            Fate::Valid => ("valid", None),
            Fate::Suspended => ("suspended", Some("Seeded: contamination above 10 % at an inspection")),
            Fate::Withdrawn => ("withdrawn", Some("Seeded: the venue closed")),
            Fate::Superseded => ("superseded", None),
        };
        b.events.push(self.event(
            at,
            officer,
            "certificate",
            number.clone(),
            "issued",
            json!({"assessment_id": aid, "kid": self.ctx.kid, "valid_until": valid_until}),
        ));
        let logged = |number: &str, venue: &str, token: &[u8], kind: &'static str, reason: Option<&str>| storage::log::Pending {
            number: number.to_string(),
            venue: venue.to_string(),
            token: token.to_vec(),
            kind,
            status: kind,
            at,
            reason: reason.map(str::to_string),
        };
        b.log.push(storage::log::Pending {
            status: "valid",
            ..logged(&number, &venue_name, &token, "issued", None)
        });
        if let Some((old, old_token)) = &previous {
            b.events
                .push(self.event(at, officer, "certificate", old.clone(), "superseded", json!({"by": number})));
            b.log.push(logged(old, &venue_name, old_token, "superseded", None));
        }
        if let (Some(r), "suspended" | "withdrawn") = (reason, status) {
            b.events.push(self.event(
                at,
                officer,
                "certificate",
                number.clone(),
                status,
                json!({"reason": r, "from": "valid", "to": status}),
            ));
            b.log.push(logged(&number, &venue_name, &token, status, Some(r)));
        }
        b.certificates.push(CertificateRow {
            id: self.first.certificate_id + i as i64,
            number: number.clone(),
            assessment_id: aid,
            venue_id,
            venue_name,
            venue_name_kk: venue.name_kk,
            venue_name_ru: venue.name_ru,
            venue_name_en: venue.name_en,
            venue_cities: storage::models::venue_cities_of(venue.city_kk.as_deref(), venue.city_ru.as_deref()),
            venue_address: venue.address,
            venue_city: venue.city,
            scheme: scheme.scheme.clone(),
            scheme_version: scheme.version,
            criteria_sha256: scheme.sha256.clone(),
            level: "gold".into(),
            outcome: outcome_text,
            issued_at: at,
            valid_from: at.date(),
            valid_until,
            issuer: self.ctx.issuer.clone(),
            issuer_address: self.ctx.issuer_address.clone(),
            signatory: self.ctx.signatory.clone(),
            signatory_title: self.ctx.signatory_title.clone(),
            kid: self.ctx.kid.clone(),
            token,
            status: status.into(),
            status_reason: reason.map(str::to_string),
            status_changed_at: (fate != Fate::Valid).then_some(at),
            supersedes: previous.map(|p| p.0),
            superseded_by: if fate == Fate::Superseded {
                Some(self.number(i + self.venues)?)
            } else {
                None
            },
            surveillance_months: i32::try_from(self.ctx.surveillance_months).map_err(|e| e.to_string())?,
            surveillance_due: Some(crate::domain::surveillance::next_due(at.date(), self.ctx.surveillance_months)),
        });
        Ok(())
    }
}

/// Fill the registry per `plan`; returns a summary line per phase.
pub fn run(state: &Context, plan: &Plan) -> Result<Vec<String>, String> {
    let db = &state.db;
    fn err(e: impl std::fmt::Display) -> String {
        e.to_string()
    }
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
    let ctx = state.issue_context_blocking().map_err(|e| e.to_string())?;
    // Up to `per_year` certificates a year, the last year this one: a million starts a year ago.
    let now = storage::now();
    let per_year = plan.per_year.clamp(1, 999_999);
    let spans = plan.certificates.div_ceil(per_year).max(1);
    let mut years = Vec::with_capacity(spans);
    for k in 0..spans {
        let back = u32::try_from(12 * (spans - 1 - k)).map_err(|e| e.to_string())?;
        let at = now.checked_sub_months(chrono::Months::new(back)).ok_or("the seed reaches too far back")?;
        let first = k * per_year;
        let count = if k + 1 == spans { plan.certificates - first } else { per_year };
        let valid_until = valid_until(at.date(), ctx.validity_months);
        let year = chrono::Datelike::year(&at.date());
        years.push(Year {
            year,
            at,
            valid_until,
            last_number: 0,
            first,
            count,
        });
        db.write_outside_transaction_blocking(|c| storage::certificates::ensure_counter(c, year))
            .map_err(err)?;
    }
    let mut report = Vec::new();

    let started = Instant::now();
    let first = db
        .write_blocking(|c| bulk::start(c, &years.iter().map(|y| y.year).collect::<Vec<_>>()))
        .map_err(err)?;
    for (y, last) in years.iter_mut().zip(&first.last_numbers) {
        y.last_number = *last;
        if *last + y.count as i64 > 999_999 {
            return Err(format!(
                "{} already holds {last} certificates: {} more would pass the six-digit numbers of the year",
                y.year, y.count
            ));
        }
    }
    let mut tree = db.read_blocking(storage::log::frontier).map_err(err)?;
    let gen = Generator {
        scheme: &scheme,
        assessor: &assessor,
        officer: &officer,
        ctx: &ctx,
        first: &first,
        venues,
        total: plan.certificates,
        years,
        evidence: scheme.criteria.iter().map(|c| evidence(&c.id, 0)).collect(),
    };
    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    let batches = plan.certificates.div_ceil(BULK);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<bulk::Batch, String>>(2);
    // Rows are made (signed, scored) on every core while the previous batch is written.
    std::thread::scope(|s| {
        s.spawn(|| {
            for b in 0..batches {
                let range = b * BULK..((b + 1) * BULK).min(plan.certificates);
                if tx.send(gen.batch(range, jobs)).is_err() {
                    break;
                }
            }
            drop(tx);
        });
        let mut written = 0usize;
        for batch in rx {
            let batch = batch?;
            db.write_blocking(|c| bulk::write(c, &batch, &mut tree, &state.log_key)).map_err(err)?;
            written += batch.certificates.len();
            if written % 100_000 < BULK {
                eprintln!(
                    "seed: {written} certificates, {:.0}/s",
                    written as f64 / started.elapsed().as_secs_f64().max(1e-9)
                );
            }
        }
        Ok::<(), String>(())
    })?;
    db.write_outside_transaction_blocking(bulk::sync_sequences).map_err(err)?;
    let secs = started.elapsed().as_secs_f64();
    let suspended = (0..plan.certificates).filter(|&i| gen.fate(i) == Fate::Suspended).count();
    let withdrawn = (0..plan.certificates).filter(|&i| gen.fate(i) == Fate::Withdrawn).count();
    let superseded = plan.certificates.saturating_sub(venues);
    report.push(format!(
        "{venues} venues and {} certificates ({suspended} suspended, {withdrawn} withdrawn, {superseded} superseded), each from an approved audit with measurements, 4 evidence files and its events, and a log of {} entries, in {secs:.1} s, {:.0} certificates/s",
        plan.certificates,
        tree.size(),
        plan.certificates as f64 / secs.max(1e-9)
    ));

    let started = Instant::now();
    for chunk in (0..plan.submitted).collect::<Vec<_>>().chunks(BATCH) {
        db.write_blocking(|c| {
            for &i in chunk {
                submitted_audit(c, &assessor, &scheme, first.venue_id + (i % venues) as i64, plan.certificates + i)?;
            }
            Ok::<_, crate::app::Error>(())
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

// The public read side, no login: the projection of a certificate the public may see, its snapshot cache,
// and every way it is read — the QR landing page (/V/{token}, /v/{token}), the certificate page by number
// (HTML, or JSON with Accept: application/json), the register (HTML, JSON, CSV), in kk / ru / en.

use crate::app::rows::CertificateRow;
use crate::app::rows::PublicQuery;
use crate::domain::certificate::CertificateNumber;
use crate::domain::lifecycle::PublicStatus;
use crate::domain::signing::{decode_qr_text, qr_text, Failure, Verdict};
use crate::web::error::{ApiError, ApiResult};
use crate::web::i18n::{negotiate, Messages};
use crate::web::layout::{html_response, layout, layout_with_head, reason_text, status_word, style, url_escape};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use maud::html;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A public certificate as kept by the snapshot cache.
pub(crate) type Snapshot = crate::web::public::snapshots::Snapshot<PublicCertificate>;

/// Public pages reflect a suspension or withdrawal on the next request: browsers and proxies must revalidate.
const FRESH: &str = "no-cache";
/// The register list may be up to 30 s old (well inside the 60 s freshness rule).
const LIST_CACHE: &str = "public, max-age=30";

#[derive(Serialize, Clone, utoipa::ToSchema)]
pub struct PublicCriterion {
    pub id: String,
    pub name_kk: String,
    pub name_ru: String,
    pub name_en: String,
    pub passed: bool,
}

/// What the public may know of a certificate, with its live status.
#[derive(Serialize, Clone, utoipa::ToSchema)]
pub struct PublicCertificate {
    pub number: String,
    pub status: PublicStatus,
    /// The public reason of a suspension or withdrawal.
    pub status_reason: Option<String>,
    pub status_since: Option<chrono::DateTime<chrono::Utc>>,
    pub superseded_by: Option<String>,
    /// The name the venue was registered under.
    pub venue_name: String,
    /// Its names in Kazakh, Russian and English, where it has them (pages show the one in their language).
    pub venue_name_kk: Option<String>,
    pub venue_name_ru: Option<String>,
    pub venue_name_en: Option<String>,
    pub city: String,
    /// The city in Kazakh and Russian, where given.
    pub city_kk: Option<String>,
    pub city_ru: Option<String>,
    pub label: String,
    pub level: String,
    pub scheme: String,
    pub scheme_version: i32,
    pub criteria: Vec<PublicCriterion>,
    pub valid_from: chrono::NaiveDate,
    pub valid_until: chrono::NaiveDate,
    pub issuer: String,
    /// The issuer's name in Kazakh and Russian, where the registry has them (`--issuer-name-kk`, `-ru`).
    pub issuer_kk: Option<String>,
    pub issuer_ru: Option<String>,
    pub kid: String,
    /// The link in the QR code.
    pub verification_url: String,
    /// The certificate's public page.
    pub url: String,
    /// The published criteria it was judged by (`/api/v1/criteria/{scheme}/{version}`).
    pub criteria_url: String,
    /// Server time (UTC) when the status was read.
    pub checked_at: chrono::DateTime<chrono::Utc>,
    /// Where the certificate's latest status is recorded in the public log (single-certificate answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogRecord>,
    /// Every change of its status, as the public log records them, oldest first (single-certificate answers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<crate::domain::history::Change>,
}

impl From<crate::app::public::Recorded> for LogRecord {
    fn from(r: crate::app::public::Recorded) -> Self {
        LogRecord {
            index: r.index,
            checkpoint: r.checkpoint,
            inclusion_proof: crate::domain::log::encode_hashes(&r.proof),
            entry: String::from_utf8_lossy(&r.entry).into_owned(),
        }
    }
}

/// The entry bundle that holds entry `index`, as of `checkpoint` (a partial bundle while the tile fills).
pub(crate) fn bundle_path(index: u64, checkpoint: &str) -> String {
    use crate::domain::log::{tile_path, TILE_WIDTH};
    let size: u64 = checkpoint.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(index + 1);
    let tile = index / TILE_WIDTH;
    tile_path(None, tile, size.saturating_sub(tile * TILE_WIDTH).clamp(1, TILE_WIDTH))
}

/// A certificate's latest entry in the public log, with the proof that the signed checkpoint includes it.
#[derive(Serialize, Clone, utoipa::ToSchema)]
pub struct LogRecord {
    /// The entry's index (`seq`).
    pub index: u64,
    /// The signed checkpoint (C2SP signed note) the proof leads to.
    pub checkpoint: String,
    /// RFC 9162 audit path from the entry to the checkpoint's root, base64 hashes.
    pub inclusion_proof: Vec<String>,
    /// The entry itself (RFC 8785 JSON), as its leaf hash covers it.
    pub entry: String,
}

/// The answer of the QR landing page in JSON.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VerificationResponse {
    /// valid, suspended, withdrawn, expired, superseded, invalid_signature, unknown_key or malformed.
    pub verdict: Verdict,
    pub checked_at: chrono::DateTime<chrono::Utc>,
    pub certificate: Option<PublicCertificate>,
}

fn public_certificate(state: &AppState, row: &CertificateRow, at: chrono::NaiveDateTime) -> ApiResult<PublicCertificate> {
    let status = crate::app::rows::certificate::status_now(row, at)?;
    let scheme = state.catalogue.get(&row.scheme, row.scheme_version);
    let outcome = crate::app::rows::certificate::outcome_of(row)?;
    let criteria = outcome
        .criteria
        .iter()
        .map(|r| {
            let def = scheme.and_then(|s| s.criterion(&r.criterion));
            let name = |f: fn(&crate::domain::criteria::I18n) -> &String| def.map(|d| f(&d.name).clone()).unwrap_or_else(|| r.criterion.clone());
            PublicCriterion {
                id: r.criterion.clone(),
                name_kk: name(|n| &n.kk),
                name_ru: name(|n| &n.ru),
                name_en: name(|n| &n.en),
                passed: r.passed,
            }
        })
        .collect();
    let show_reason = matches!(status, PublicStatus::Suspended | PublicStatus::Withdrawn);
    let cities = row.venue_city_names();
    Ok(PublicCertificate {
        number: row.number.clone(),
        status,
        status_reason: if show_reason { row.status_reason.clone() } else { None },
        status_since: if show_reason || status == PublicStatus::Superseded {
            row.status_changed_at.map(|t| t.and_utc())
        } else {
            None
        },
        superseded_by: row.superseded_by.clone(),
        venue_name: row.venue_name.clone(),
        venue_name_kk: row.venue_name_kk.clone(),
        venue_name_ru: row.venue_name_ru.clone(),
        venue_name_en: row.venue_name_en.clone(),
        city: row.venue_city.clone(),
        city_kk: cities.0,
        city_ru: cities.1,
        label: scheme.map(|s| s.title.en.clone()).unwrap_or_else(|| row.scheme.clone()),
        level: row.level.clone(),
        scheme: row.scheme.clone(),
        scheme_version: row.scheme_version,
        criteria,
        valid_from: row.valid_from,
        valid_until: row.valid_until,
        issuer_kk: state.config.issuer_translation("kk", &row.issuer).map(str::to_string),
        issuer_ru: state.config.issuer_translation("ru", &row.issuer).map(str::to_string),
        issuer: row.issuer.clone(),
        kid: row.kid.clone(),
        url: format!("{}/certificates/{}", state.config.public_url.trim_end_matches('/'), row.number),
        criteria_url: format!(
            "{}/api/v1/criteria/{}/{}",
            state.config.public_url.trim_end_matches('/'),
            row.scheme,
            row.scheme_version
        ),
        verification_url: qr_text(&state.config.public_url, &row.token),
        checked_at: at.and_utc(),
        log: None,
        timeline: vec![],
    })
}

impl PublicCertificate {
    /// The venue's name in `lang`, else the name it was registered under.
    pub fn venue_in(&self, lang: &str) -> &str {
        crate::web::layout::name_in(
            lang,
            &self.venue_name,
            self.venue_name_kk.as_deref(),
            self.venue_name_ru.as_deref(),
            self.venue_name_en.as_deref(),
        )
    }

    /// The city in `lang`, else the one the venue was registered with.
    pub fn city_in(&self, lang: &str) -> &str {
        crate::web::layout::name_in(lang, &self.city, self.city_kk.as_deref(), self.city_ru.as_deref(), None)
    }

    /// The issuer's name in `lang`, else the one on the certificate.
    pub fn issuer_in(&self, lang: &str) -> &str {
        crate::web::layout::name_in(lang, &self.issuer, self.issuer_kk.as_deref(), self.issuer_ru.as_deref(), None)
    }
}

fn wants_json(req: &HttpRequest) -> bool {
    let accept = req.headers().get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

fn message_page(req: &HttpRequest, m: &Messages, status: StatusCode, class: &str, word_key: &'static str, detail_key: &'static str) -> HttpResponse {
    let word = m.t(word_key).to_string();
    let body = html! {
        section class={ "status " (class) } role="status" {
            span.word { (word) }
            p { (m.t(detail_key)) }
        }
        p { a href={ "/register?lang=" (m.lang) } { (m.t("nav_register")) } }
    };
    html_response(status, FRESH, layout(req, m, &word, body))
}

/// The certificate as schema.org JSON-LD (a `Certification` about the venue as a `LocalBusiness`/`Place`),
/// for search engines, booking platforms and aggregators; it says what the page says.
pub fn json_ld(m: &Messages, c: &PublicCertificate) -> String {
    let status = if c.status == PublicStatus::Valid {
        "CertificationActive"
    } else {
        "CertificationInactive"
    };
    let doc = serde_json::json!({
        "@context": {"@vocab": "https://schema.org/"},
        "@type": "Certification",
        "@id": c.url,
        "url": c.url,
        "name": m.t("label_name"),
        "certificationIdentification": c.number,
        "certificationStatus": {"@id": format!("https://schema.org/{status}")},
        "certificationRating": {"@type": "Rating", "ratingValue": c.level},
        "issuedBy": {"@type": "Organization", "name": c.issuer_in(m.lang), "alternateName": crate::domain::venue::other_forms(&c.issuer, &[c.issuer_kk.as_deref(), c.issuer_ru.as_deref()], c.issuer_in(m.lang))},
        "validFrom": c.valid_from.to_string(),
        "expires": c.valid_until.to_string(),
        "isBasedOn": {"@id": c.criteria_url},
        "about": {
            "@type": ["LocalBusiness", "Place"],
            "name": c.venue_in(m.lang),
            "alternateName": crate::domain::venue::other_forms(&c.venue_name, &[c.venue_name_kk.as_deref(), c.venue_name_ru.as_deref(), c.venue_name_en.as_deref()], c.venue_in(m.lang)),
            "address": {"@type": "PostalAddress", "addressLocality": c.city_in(m.lang)},
        },
    });
    // Inside <script>, "</" would end the element: JSON allows "<\/" for it.
    doc.to_string().replace("</", "<\\/")
}

fn certificate_page(req: &HttpRequest, m: &Messages, c: &PublicCertificate, signature_ok: bool) -> String {
    let verdict = Verdict::from(c.status);
    let word = status_word(m, verdict);
    let since = c.status_since.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let reason = c.status_reason.as_deref().map(|r| reason_text(m, r)).unwrap_or_default();
    let detail = match c.status {
        PublicStatus::Valid => m.t("status_valid_detail").to_string(),
        PublicStatus::Suspended => m.f("status_suspended_detail", &[("date", &since), ("reason", &reason)]),
        PublicStatus::Withdrawn => m.f("status_withdrawn_detail", &[("date", &since), ("reason", &reason)]),
        PublicStatus::Expired => m.f("status_expired_detail", &[("date", &c.valid_until.to_string())]),
        PublicStatus::Superseded => m.t("status_superseded_detail").to_string(),
    };
    let label = m.t("label_name").to_string();
    let current = c.status == PublicStatus::Valid;
    let not_since = match c.status {
        PublicStatus::Expired => c.valid_until.to_string(),
        _ => since.clone(),
    };
    let body = html! {
        section class={ "status " (style(verdict)) } role="status" aria-live="polite" {
            span.word { (word) }
            p {
                (detail)
                @if let Some(next) = &c.superseded_by { " " a href={ "/certificates/" (next) "?lang=" (m.lang) } { (next) } }
            }
        }
        h1 { (c.venue_in(m.lang)) }
        script type="application/ld+json" { (maud::PreEscaped(json_ld(m, c))) }
        dl.facts {
            dt { (m.t("field_number")) } dd { (c.number) }
            dt { (m.t("field_venue")) } dd { (c.venue_in(m.lang)) }
            dt { (m.t("field_city")) } dd { (c.city_in(m.lang)) }
            dt { (m.t("field_label")) } dd { (label) " · " (c.scheme) " v" (c.scheme_version) }
            // Not valid now: what it was awarded for and when it was valid, never as if current.
            dt { (m.t(if current { "field_criteria" } else { "field_criteria_at_award" })) } dd {
                ul.criteria {
                    @for k in &c.criteria {
                        @let name = match m.lang { "ru" => &k.name_ru, "en" => &k.name_en, _ => &k.name_kk };
                        li class=[(!k.passed).then_some("failed")] { (name) span.muted { " — " (if k.passed { m.t("passed") } else { m.t("not_passed") }) } }
                    }
                }
            }
            @if current {
                dt { (m.t("field_valid")) } dd { (c.valid_from) " — " (c.valid_until) }
            } @else {
                dt { (m.t("field_was_valid")) }
                dd { (c.valid_from) " — " (c.valid_until) " · " strong { (m.f("not_valid_since", &[("date", &not_since)])) } }
            }
            dt { (m.t("field_issuer")) } dd { (c.issuer_in(m.lang)) }
            @if signature_ok { dt { (m.t("field_signature")) } dd { (m.f("signature_ok", &[("kid", &c.kid)])) } }
            @if let Some(l) = &c.log {
                dt { (m.t("field_log")) }
                dd {
                    // A page a person can read: the entry, its checkpoint, how to check it.
                    a href={ "/certificates/" (c.number) "/log?lang=" (m.lang) } { (m.f("recorded_in_log", &[("n", &l.index.to_string())])) }
                    " · "
                    a href={ "/certificates/" (c.number) "/proof" } download={ (c.number) ".tlog-proof" } { (m.t("download_log_proof")) }
                    " · "
                    a href={ "/feed.atom?certificate=" (c.number) } type="application/atom+xml" { (m.t("follow_changes")) }
                }
            }
            dt { (m.t("field_checked")) } dd { time datetime={ (c.checked_at.format("%Y-%m-%dT%H:%M:%SZ")) } { (c.checked_at.format("%Y-%m-%d %H:%M:%S")) " UTC" } span.muted { " (" (m.t("server_time")) ")" } }
        }
        (timeline(m, &c.timeline))
        (at_form(m, &c.number, None))
        p.report { a href={ "/certificates/" (c.number) "/complaints/new?lang=" (m.lang) } { (m.t("report_problem")) } }
    };
    layout(req, m, &format!("{} · {}", c.number, word), body).into_string()
}

/// A change's kind in the page's language.
fn change_word(m: &Messages, kind: &str) -> String {
    let key = match kind {
        "issued" => "change_issued",
        "suspended" => "change_suspended",
        "reinstated" => "change_reinstated",
        "withdrawn" => "change_withdrawn",
        "superseded" => "change_superseded",
        "expired" => "change_expired",
        other => return other.to_string(),
    };
    m.t(key).to_string()
}

/// The certificate's changes, oldest first, with their dates and public reasons.
pub(crate) fn timeline(m: &Messages, changes: &[crate::domain::history::Change]) -> maud::Markup {
    html! {
        @if !changes.is_empty() {
            h2 #h-timeline { (m.t("timeline")) }
            ol.timeline aria-labelledby="h-timeline" {
                @for ch in changes {
                    li {
                        time datetime={ (ch.at.format("%Y-%m-%dT%H:%M:%SZ")) } { (ch.at.format("%Y-%m-%d")) }
                        " — " (change_word(m, &ch.kind))
                        @if let Some(r) = &ch.reason { span.muted { " (" (reason_text(m, r)) ")" } }
                    }
                }
            }
        }
    }
}

/// "Status on a date": a GET form to this page with `at`.
fn at_form(m: &Messages, number: &str, value: Option<&str>) -> maud::Markup {
    html! {
        form.search method="get" action={ "/certificates/" (number) } {
            input type="hidden" name="lang" value=(m.lang);
            label for="at" { (m.t("status_at_ask")) }
            input #at type="date" name="at" value=[value];
            button type="submit" { (m.t("status_at_button")) }
        }
    }
}

/// The answer to `?at=`: the status the certificate had at that moment, from its log entries, with the
/// deciding entry and its inclusion proof (JSON), or the page saying so with the timeline (HTML).
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusAt {
    pub number: String,
    /// The moment asked about (a date is its first instant, UTC).
    pub at: chrono::DateTime<chrono::Utc>,
    /// valid, suspended, withdrawn, expired, superseded, or not_yet_issued.
    pub status: String,
    /// The log entry that decided it (none before issuance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<crate::domain::history::Change>,
    /// That entry with the latest checkpoint and the proof that it includes the entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogRecord>,
    pub timeline: Vec<crate::domain::history::Change>,
    pub checked_at: chrono::DateTime<chrono::Utc>,
}

async fn status_at(req: &HttpRequest, m: &Messages, state: &AppState, number: &str, at: &str, json: bool) -> HttpResponse {
    use crate::domain::history::{parse_moment, status_at, Then};
    let now = state.clock.now();
    let Some(moment) = parse_moment(at).filter(|t| *t <= now) else {
        let code = if parse_moment(at).is_some() { "at_in_future" } else { "invalid_at" };
        if json {
            return actix_web::ResponseError::error_response(&ApiError::bad_request(code, m.t("status_at_invalid")));
        }
        let body = html! {
            p.alert role="alert" { (m.t("status_at_invalid")) }
            (at_form(m, number, None))
            p { a href={ "/certificates/" (number) "?lang=" (m.lang) } { (m.t("status_at_now")) } }
        };
        return html_response(StatusCode::BAD_REQUEST, FRESH, layout(req, m, m.t("status_at_ask"), body));
    };
    let history = match crate::app::public::history(state.public_db(), number.to_string()).await {
        Ok(Some(h)) => h,
        Ok(None) => {
            return if json {
                actix_web::ResponseError::error_response(&ApiError::not_found("certificate"))
            } else {
                message_page(req, m, StatusCode::NOT_FOUND, "status-bad", "status_not_found", "status_not_found_detail")
            }
        }
        Err(e) => return unavailable(req, m, json, &e),
    };
    let (row, entries) = history;
    let changes: Vec<_> = entries.iter().map(|(c, _)| c.clone()).collect();
    let (status, decided_by, log) = match status_at(&changes, row.valid_until, moment) {
        Then::NotYetIssued => ("not_yet_issued".to_string(), None, None),
        Then::Was { status, decided_by } => {
            let bytes = entries
                .iter()
                .find(|(c, _)| c.index == decided_by.index)
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            let proved = match crate::app::public::prove(&state.db, decided_by.index, bytes).await {
                Ok(r) => r,
                Err(e) => return unavailable(req, m, json, &e),
            };
            (status.as_str().to_string(), Some(decided_by.clone()), Some(LogRecord::from(proved)))
        }
    };
    let answer = StatusAt {
        number: row.number.clone(),
        at: moment.and_utc(),
        status,
        decided_by,
        log,
        timeline: changes,
        checked_at: now.and_utc(),
    };
    if json {
        return HttpResponse::Ok().insert_header(("cache-control", FRESH)).json(answer);
    }
    let date = moment.format("%Y-%m-%d").to_string();
    let (class, said) = match PublicStatus::parse(&answer.status) {
        Some(s) => {
            let v = Verdict::from(s);
            (style(v), m.f("status_at_was", &[("date", &date), ("status", &status_word(m, v))]))
        }
        None => {
            let issued = answer.timeline.first().map(|c| c.at.format("%Y-%m-%d").to_string()).unwrap_or_default();
            ("status-info", m.f("status_at_not_yet", &[("date", &date), ("issued", &issued)]))
        }
    };
    let title = m.f("status_at_title", &[("date", &date)]);
    let body = html! {
        section class={ "status " (class) } role="status" {
            span.word { (title) }
            p { (said) }
            @if let (Some(d), Some(l)) = (&answer.decided_by, &answer.log) {
                p {
                    (m.f("status_at_decided", &[("n", &d.index.to_string()), ("change", &change_word(m, &d.kind)), ("date", &d.at.format("%Y-%m-%d %H:%M UTC").to_string())]))
                    " "
                    a href={ "/certificates/" (row.number) "/log?lang=" (m.lang) } { (m.f("recorded_in_log", &[("n", &l.index.to_string())])) }
                }
            }
        }
        h1 { (row.venue_name_in(m.lang)) }
        p { (row.number) }
        (timeline(m, &answer.timeline))
        (at_form(m, &row.number, Some(&date)))
        p { a href={ "/certificates/" (row.number) "?lang=" (m.lang) } { (m.t("status_at_now")) } }
    };
    html_response(StatusCode::OK, FRESH, layout(req, m, &title, body))
}

/// The certificate as the public pages show it: from a snapshot at most `crate::web::public::snapshots::TTL` old.
pub(crate) async fn snapshot(state: &web::Data<AppState>, number: String) -> crate::app::Result<Option<Arc<Snapshot>>> {
    if let Some(s) = state.snapshots.get(&number) {
        // Past half its life, one request starts reading the next snapshot in the background while this one
        // is served (still within TTL): under load the snapshot never runs out, so no request waits for the
        // database, nor do all the requests of that moment read it at once. (On PostgreSQL, with the CPU
        // busy, the reads' round trips had made every request of that moment wait up to 0.8 s.)
        if s.due_for_refresh() {
            let (state, number) = (state.clone(), number.clone());
            actix_web::rt::spawn(async move {
                if let Err(e) = read_snapshot(&state, number).await {
                    tracing::warn!(error = %e, "a certificate snapshot could not be refreshed");
                }
            });
        }
        return Ok(Some(s));
    }
    state.snapshots.get_or_read(&number.clone(), || read_snapshot(state, number)).await
}

/// Read a certificate's snapshot from the database and keep it (unless it changed meanwhile).
async fn read_snapshot(state: &AppState, number: String) -> crate::app::Result<Option<Arc<Snapshot>>> {
    let epoch = state.snapshots.epoch();
    // The certificate and its place in the log, in one trip to the database.
    let Some((row, recorded, timeline)) = crate::app::public::certificate_with_log(state.public_db(), number).await? else {
        return Ok(None);
    };
    let signature_ok = state.verifier.verify(&state.db, &row.token).await?.is_ok();
    let mut cert = public_certificate(state, &row, state.clock.now()).map_err(|e| crate::app::Error::Storage(crate::app::StorageError::Internal(e.message)))?;
    cert.timeline = timeline;
    cert.log = recorded.map(LogRecord::from);
    Ok(Some(state.snapshots.put(&cert.number.clone(), cert, signature_ok, epoch)))
}

/// The rendered HTML or JSON of a snapshot, for this request's language and link.
fn snapshot_response(req: &HttpRequest, m: &Messages, snap: &Snapshot, json: bool, verification: bool) -> HttpResponse {
    let key = format!("{}|{json}|{verification}|{}", m.lang, req.uri());
    let body = snap.render(key, |c| {
        let text = match (json, verification) {
            (true, true) => serde_json::to_string(&VerificationResponse {
                verdict: Verdict::from(c.status),
                checked_at: c.checked_at,
                certificate: Some(c.clone()),
            }),
            (true, false) => serde_json::to_string(c),
            (false, _) => Ok(certificate_page(req, m, c, verification || snap.signature_ok)),
        };
        Bytes::from(text.unwrap_or_default())
    });
    let content_type = if json { "application/json" } else { "text/html; charset=utf-8" };
    HttpResponse::Ok().content_type(content_type).insert_header(("cache-control", FRESH)).body(body)
}

fn unavailable(req: &HttpRequest, m: &Messages, json: bool, e: &crate::app::Error) -> HttpResponse {
    tracing::error!(error = %e, "verification unavailable");
    if json {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "verification_unavailable",
            "the registry cannot check this right now; try again shortly",
        );
        e.retry_after = Some(30);
        return actix_web::ResponseError::error_response(&e);
    }
    let mut r = message_page(
        req,
        m,
        StatusCode::SERVICE_UNAVAILABLE,
        "status-warn",
        "status_unavailable",
        "status_unavailable_detail",
    );
    r.headers_mut()
        .insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from_static("30"));
    r
}

fn verdict_json(status: StatusCode, verdict: Verdict, certificate: Option<PublicCertificate>) -> HttpResponse {
    HttpResponse::build(status).insert_header(("cache-control", FRESH)).json(VerificationResponse {
        verdict,
        checked_at: crate::app::now().and_utc(),
        certificate,
    })
}

/// GET /V/{token} and /v/{token}: what a phone camera opens from the QR code.
#[utoipa::path(get, path = "/V/{token}", tag = "public", params(("token" = String, Path, description = "base32 of the COSE_Sign1 token")),
    responses((status = 200, description = "a verdict (HTML, or JSON with Accept: application/json)", content((VerificationResponse = "application/json"), (String = "text/html"))),
        (status = 400, description = "malformed code (verdict `malformed`)", content((VerificationResponse = "application/json"), (String = "text/html"))),
        (status = 503, description = "verification unavailable, try again", content((crate::web::error::ErrorBody = "application/json"), (String = "text/html")))))]
pub async fn verify(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // What follows `/V`: one segment, the token (as the pattern `/V/{token}` would have matched).
    let Some(path) = req.match_info().unprocessed().strip_prefix('/').filter(|t| !t.is_empty() && !t.contains('/')) else {
        return actix_web::ResponseError::error_response(&crate::web::no_such_page());
    };
    if req.method() != actix_web::http::Method::GET {
        return crate::web::method_not_allowed("GET");
    }
    let m = negotiate(&req);
    let json = wants_json(&req);
    let failure = |f: Failure| {
        let v = Verdict::from(f);
        let status = if f == Failure::Malformed { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        if json {
            return verdict_json(status, v, None);
        }
        let (w, d) = match f {
            Failure::Malformed => ("status_malformed", "status_malformed_detail"),
            Failure::UnknownKey => ("status_unknown_key", "status_unknown_key_detail"),
            Failure::InvalidSignature => ("status_invalid_signature", "status_invalid_signature_detail"),
        };
        message_page(&req, &m, status, "status-bad", w, d)
    };
    let token = match decode_qr_text(path) {
        Ok(t) => t,
        Err(f) => return failure(f),
    };
    let verified = match state.verifier.verify(&state.db, &token).await {
        Err(e) => return unavailable(&req, &m, json, &e),
        Ok(Err(f)) => return failure(f),
        Ok(Ok(v)) => v,
    };
    match snapshot(&state, verified.claims.number.clone()).await {
        Ok(Some(snap)) => snapshot_response(&req, &m, &snap, json, true),
        Ok(None) => {
            tracing::warn!(number = %verified.claims.number, "a genuine token names a certificate the registry does not hold");
            if json {
                verdict_json(StatusCode::NOT_FOUND, Verdict::Malformed, None)
            } else {
                message_page(&req, &m, StatusCode::NOT_FOUND, "status-bad", "status_not_found", "status_not_found_detail")
            }
        }
        Err(e) => unavailable(&req, &m, json, &e),
    }
}

/// GET /certificates/{number}: the same facts by number; with `?at=`, the status at that moment.
#[utoipa::path(get, path = "/certificates/{number}", tag = "public", params(("number" = String, Path, example = "GEL-2025-000001"), AtParams),
    responses((status = 200, description = "HTML, or JSON with Accept: application/json (`StatusAt` when `at` is given)", content((PublicCertificate = "application/json"), (StatusAt = "application/json"), (String = "text/html"))),
        (status = 400, description = "`at` is not a date or time, or is in the future (`invalid_at`, `at_in_future`)", content((crate::web::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 404, description = "no such certificate", content((crate::web::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 503, description = "verification unavailable, try again", content((crate::web::error::ErrorBody = "application/json"), (String = "text/html")))))]
pub async fn by_number(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let m = negotiate(&req);
    let json = wants_json(&req);
    let not_found = || {
        if json {
            actix_web::ResponseError::error_response(&ApiError::not_found("certificate"))
        } else {
            message_page(&req, &m, StatusCode::NOT_FOUND, "status-bad", "status_not_found", "status_not_found_detail")
        }
    };
    let Ok(number) = CertificateNumber::parse(&path) else { return not_found() };
    // An empty `at` (the date form sent blank) is the certificate now.
    if let Some(at) = web::Query::<AtParams>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().at)
        .filter(|a| !a.trim().is_empty())
    {
        return status_at(&req, &m, &state, number.as_str(), &at, json).await;
    }
    match snapshot(&state, number.as_str().to_string()).await {
        Ok(Some(snap)) => snapshot_response(&req, &m, &snap, json, false),
        Ok(None) => not_found(),
        Err(e) => unavailable(&req, &m, json, &e),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtParams {
    /// A date (`2026-03-15`, its first instant UTC) or an RFC 3339 time, not in the future: the answer is
    /// the status at that moment, from the public log.
    pub at: Option<String>,
}

#[derive(Deserialize, Clone, utoipa::IntoParams)]
pub struct RegisterParams {
    /// Part of the venue name, in any language.
    pub q: Option<String>,
    pub city: Option<String>,
    /// valid, suspended, withdrawn, expired or superseded; empty means any.
    #[param(pattern = "^(|valid|suspended|withdrawn|expired|superseded)$")]
    pub status: Option<String>,
    /// Keyset cursor: `next_before` of the previous page.
    pub before: Option<i64>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// kk, ru or en (the page language; others fall back).
    pub lang: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicPage {
    pub items: Vec<PublicCertificate>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

fn parse_status(s: &Option<String>) -> Result<Option<PublicStatus>, ApiError> {
    match s.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => PublicStatus::parse(s)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("invalid_status", "status must be valid, suspended, withdrawn, expired or superseded")),
    }
}

async fn load_page(state: &AppState, p: &RegisterParams, status: Option<PublicStatus>, limit: i64) -> crate::app::Result<(Vec<CertificateRow>, Option<i64>)> {
    let q = PublicQuery {
        q: p.q.clone(),
        city: p.city.clone(),
        status,
        venue_id: None,
        before_id: p.before,
        limit: limit + 1,
        today: state.clock.now().date(),
    };
    Ok(crate::web::keyset_page(crate::app::public::register(state.public_db(), q).await?, limit, |r| {
        r.id
    }))
}

/// GET /register: the searchable public list of certified venues.
pub async fn register(req: HttpRequest, state: web::Data<AppState>, params: web::Query<RegisterParams>) -> HttpResponse {
    let m = negotiate(&req);
    let p = params.into_inner();
    let status = parse_status(&p.status).unwrap_or(None);
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let (rows, next) = match load_page(&state, &p, status, limit).await {
        Ok(r) => r,
        Err(e) => return unavailable(&req, &m, false, &e),
    };
    let at = state.clock.now();
    let items: Vec<PublicCertificate> = match rows.iter().map(|r| public_certificate(&state, r, at)).collect() {
        Ok(i) => i,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let keep = |extra: &str| {
        let mut parts = vec![format!("lang={}", m.lang)];
        for (k, v) in [("q", &p.q), ("city", &p.city), ("status", &p.status)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", url_escape(v)));
            }
        }
        if !extra.is_empty() {
            parts.push(extra.to_string());
        }
        parts.join("&")
    };
    let statuses = [
        PublicStatus::Valid,
        PublicStatus::Suspended,
        PublicStatus::Withdrawn,
        PublicStatus::Expired,
        PublicStatus::Superseded,
    ];
    let title = m.t("register_title").to_string();
    let body = html! {
        h1 { (title) }
        p.muted { (m.t("register_intro")) }
        form.search method="get" action="/register" role="search" {
            input type="hidden" name="lang" value=(m.lang);
            label { (m.t("search_name")) input type="search" name="q" value=[p.q.as_deref()]; }
            label { (m.t("search_city")) input type="text" name="city" value=[p.city.as_deref()]; }
            label { (m.t("search_status"))
                select name="status" {
                    option value="" { (m.t("any_status")) }
                    @for s in statuses { option value=(s.as_str()) selected[status == Some(s)] { (status_word(&m, Verdict::from(s))) } }
                }
            }
            button type="submit" { (m.t("search_button")) }
        }
        @if items.is_empty() { p { (m.t("no_results")) } } @else {
            table {
                thead { tr { th { (m.t("col_venue")) } th { (m.t("col_number")) } th { (m.t("col_city")) } th { (m.t("col_status")) } th { (m.t("col_valid_until")) } } }
                tbody {
                    @for c in &items {
                        tr {
                            // The row links by its name: the venue.
                            td data-label=(m.t("col_venue")) { a href={ "/certificates/" (c.number) "?lang=" (m.lang) } { (c.venue_in(m.lang)) } }
                            td data-label=(m.t("col_number")) { (c.number) }
                            td data-label=(m.t("col_city")) { (c.city_in(m.lang)) }
                            td data-label=(m.t("col_status")) { span class={ "badge " (style(Verdict::from(c.status))) } { (status_word(&m, Verdict::from(c.status))) } }
                            td data-label=(m.t("col_valid_until")) { (c.valid_until) }
                        }
                    }
                }
            }
        }
        div.pager {
            @if p.before.is_some() { a href={ "/register?" (keep("")) } { (m.t("first_page")) } }
            @if let Some(n) = next { a href={ "/register?" (keep(&format!("before={n}"))) } { (m.t("next_page")) " →" } }
            a href={ "/api/v1/public/certificates.csv?" (keep("")) } { (m.t("download_csv")) }
            a href={ "/api/v1/public/certificates?" (keep("")) } { (m.t("download_json")) }
        }
    };
    // The same list for machines: JSON and CSV of this search (and page).
    let head = html! {
        link rel="alternate" type="application/json" title=(m.t("download_json")) href={ "/api/v1/public/certificates?" (keep("")) };
        link rel="alternate" type="text/csv" title=(m.t("download_csv")) href={ "/api/v1/public/certificates.csv?" (keep("")) };
    };
    html_response(StatusCode::OK, LIST_CACHE, layout_with_head(&req, &m, &title, head, body))
}

/// GET /api/v1/public/certificates: the register as JSON, newest first, keyset-paginated.
#[utoipa::path(get, path = "/api/v1/public/certificates", tag = "public", params(RegisterParams), responses((status = 200, body = PublicPage), (status = 400, body = crate::web::error::ErrorBody)))]
pub async fn list_json(state: web::Data<AppState>, params: web::Query<RegisterParams>) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let status = parse_status(&p.status)?;
    let limit = crate::web::page_limit(p.limit)?;
    let (rows, next_before) = load_page(&state, &p, status, limit).await?;
    let at = state.clock.now();
    let items = rows.iter().map(|r| public_certificate(&state, r, at)).collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", LIST_CACHE))
        .json(PublicPage { items, next_before }))
}

fn csv_field(s: &str) -> String {
    crate::app::export::csv_cell(s)
}

/// Rows read from the database per step of the CSV export.
const CSV_PAGE: i64 = 500;

/// The filters of the CSV export (the whole filtered register, so no page parameters).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct CsvParams {
    /// Part of the venue name, in any language.
    q: Option<String>,
    city: Option<String>,
    /// valid, suspended, withdrawn, expired or superseded; empty means any.
    #[param(pattern = "^(|valid|suspended|withdrawn|expired|superseded)$")]
    status: Option<String>,
}

/// GET /api/v1/public/certificates.csv: the whole (filtered) register as CSV.
#[utoipa::path(get, path = "/api/v1/public/certificates.csv", tag = "public", params(CsvParams), responses((status = 200, description = "CSV", content_type = "text/csv")))]
pub async fn list_csv(state: web::Data<AppState>, params: web::Query<RegisterParams>) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let status = parse_status(&p.status)?;
    // The first page is read before answering, so that a database failure is a 503 and not a cut file.
    let first = load_page(&state, &p, status, CSV_PAGE).await?;
    let at = state.clock.now();
    let header = Bytes::from_static(CSV_HEADER.as_bytes());
    // Then one keyset page at a time: memory stays flat however long the register is. A failure after
    // the first page aborts the response, so a client never takes a cut file for the whole register.
    let pages = futures_util::stream::unfold(Some((first, p)), move |next| {
        let state = state.clone();
        async move {
            let ((rows, after), p) = next?;
            let chunk = csv_rows(&state, &rows, at);
            let following = match (&chunk, after) {
                (Ok(_), Some(before)) => {
                    let p = RegisterParams { before: Some(before), ..p };
                    match load_page(&state, &p, status, CSV_PAGE).await {
                        Ok(page) => Some((page, p)),
                        Err(e) => {
                            tracing::error!(error = %e, "the register export stopped: the database failed");
                            return Some((Err(std::io::Error::other("the register export stopped")), None));
                        }
                    }
                }
                _ => None,
            };
            Some((chunk.map_err(|e| std::io::Error::other(e.message)), following))
        }
    });
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(header) }).chain(pages);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", "attachment; filename=\"gold-eco-label-register.csv\""))
        .insert_header(("cache-control", LIST_CACHE))
        .streaming(body))
}

const CSV_HEADER: &str = "number,venue,city,status,valid_from,valid_until,scheme,scheme_version,issuer,verification_url\r\n";

/// One page of the register as CSV lines.
fn csv_rows(state: &AppState, rows: &[CertificateRow], at: chrono::NaiveDateTime) -> ApiResult<Bytes> {
    let mut out = String::with_capacity(rows.len() * 320);
    for r in rows {
        let c = public_certificate(state, r, at)?;
        let fields = [
            c.number,
            c.venue_name,
            c.city,
            c.status.as_str().to_string(),
            c.valid_from.to_string(),
            c.valid_until.to_string(),
            c.scheme,
            c.scheme_version.to_string(),
            c.issuer,
            c.verification_url,
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_neutralises() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("Astana"), "Astana");
    }
}

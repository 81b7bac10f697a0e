// Certificate documents: the view a PDF is drawn from (names, results, status stamp, QR text), its
// rendering, and the stored rendering per state (so that every replica serves the same bytes).

use super::{Context, Error, Result};
use crate::domain::criteria::Catalogue;
use crate::domain::lifecycle::PublicStatus;
use crate::domain::signing::qr_text;
use crate::domain::venue::other_forms;
use crate::i18n::trilingual;
use crate::render::pdf::{CertificateView, CriterionLine};
use crate::storage::models::CertificateRow;
use crate::storage::{self, certificates as repo};

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Storage(storage::Error::Internal(e.to_string()))
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        format!("{n:.1}")
    }
}

/// What a certificate's PDF shows; `issuer_names` are the issuer's Kazakh and Russian names (settings).
pub fn certificate_view(
    catalogue: &Catalogue,
    public_url: &str,
    issuer_names: [Option<&str>; 2],
    row: &CertificateRow,
    status: PublicStatus,
) -> std::result::Result<CertificateView, String> {
    let scheme = catalogue
        .get(&row.scheme, row.scheme_version)
        .ok_or_else(|| format!("scheme {} v{} is not loaded", row.scheme, row.scheme_version))?;
    let outcome = repo::outcome_of(row).map_err(|e| e.to_string())?;
    let mut criteria = Vec::new();
    for r in &outcome.criteria {
        let def = scheme
            .criterion(&r.criterion)
            .ok_or_else(|| format!("criterion {} is not in the scheme", r.criterion))?;
        criteria.push(CriterionLine {
            name_kk: def.name.kk.clone(),
            name_ru: def.name.ru.clone(),
            name_en: def.name.en.clone(),
            measured: r.checks.iter().map(|k| format!("{:.1} {}", k.measured, k.unit)).collect::<Vec<_>>().join(" · "),
            threshold: r
                .checks
                .iter()
                .map(|k| format!("{} {} {}", k.op, number_text(k.threshold), k.unit))
                .collect::<Vec<_>>()
                .join(" · "),
            passed: r.passed,
        });
    }
    let since = row.status_changed_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let reason = row.status_reason.clone().unwrap_or_default();
    let (stamp, note) = match status {
        PublicStatus::Valid => (None, None),
        PublicStatus::Suspended => (Some(trilingual("stamp_suspended")), Some(format!("{since}: {reason}"))),
        PublicStatus::Withdrawn => (Some(trilingual("stamp_withdrawn")), Some(format!("{since}: {reason}"))),
        PublicStatus::Superseded => (Some(trilingual("stamp_superseded")), row.superseded_by.as_ref().map(|n| format!("→ {n}"))),
        PublicStatus::Expired => (Some(trilingual("stamp_expired")), Some(format!("{}", row.valid_until))),
    };
    Ok(CertificateView {
        title: [scheme.title.kk.clone(), scheme.title.ru.clone(), scheme.title.en.clone()],
        number: row.number.clone(),
        status_stamp: stamp,
        status_note: note,
        venue_name: row.venue_name.clone(),
        venue_other_names: other_forms(
            &row.venue_name,
            &[row.venue_name_kk.as_deref(), row.venue_name_ru.as_deref(), row.venue_name_en.as_deref()],
            &row.venue_name,
        ),
        // The city with its Kazakh and Russian names where they differ ("Almaty / Алматы").
        venue_address: format!(
            "{}, {}",
            row.venue_address,
            std::iter::once(row.venue_city.clone())
                .chain({
                    let (kk, ru) = row.venue_city_names();
                    other_forms(&row.venue_city, &[kk.as_deref(), ru.as_deref()], &row.venue_city)
                })
                .collect::<Vec<_>>()
                .join(" / ")
        ),
        scheme: row.scheme.clone(),
        scheme_version: row.scheme_version,
        criteria_sha256: row.criteria_sha256.clone(),
        criteria,
        grant_date: row.valid_from.to_string(),
        valid_from: row.valid_from.to_string(),
        valid_until: row.valid_until.to_string(),
        issuer: row.issuer.clone(),
        issuer_other_names: other_forms(&row.issuer, &issuer_names, &row.issuer),
        issuer_address: row.issuer_address.clone(),
        signatory: row.signatory.clone(),
        signatory_title: row.signatory_title.clone(),
        kid: row.kid.clone(),
        qr_text: qr_text(public_url, &row.token),
        issued_at: row.issued_at.and_utc().timestamp(),
    })
}

/// What a certificate's PDF shows besides its fixed facts: its number, its status as of now and the
/// public URL its QR code links to. A stored or cached rendering of another state is never served.
fn pdf_state(row: &CertificateRow, status: PublicStatus, public_url: &str, issuer_names: [Option<&str>; 2]) -> String {
    format!(
        "{}|{}|{}|{:?}|{:?}|{:?}|{public_url}|{:?}",
        row.number,
        status.as_str(),
        row.status,
        row.status_reason,
        row.status_changed_at,
        row.superseded_by,
        issuer_names
    )
}

/// The issuer's Kazakh and Russian names for a certificate (settings; only for the issuer it names).
fn issuer_names<'a>(state: &'a Context, row: &CertificateRow) -> [Option<&'a str>; 2] {
    [
        state.config.issuer_translation("kk", &row.issuer),
        state.config.issuer_translation("ru", &row.issuer),
    ]
}

/// What a certificate's PDF shows as of now: its public status and the `pdf_state` that names it.
pub fn pdf_now(state: &Context, row: &CertificateRow) -> storage::Result<(PublicStatus, String)> {
    let status = repo::status_now(row, state.clock.now())?;
    Ok((status, pdf_state(row, status, &state.config.public_url, issuer_names(state, row))))
}

/// Render a certificate's PDF showing `status` (stamped when not valid).
pub fn render_pdf(state: &Context, row: &CertificateRow, status: PublicStatus) -> Result<Vec<u8>> {
    let view = certificate_view(&state.catalogue, &state.config.public_url, issuer_names(state, row), row, status).map_err(internal)?;
    crate::render::pdf::render(&view).map_err(internal)
}

/// Render a certificate's PDF showing `status` and store it under `key` (its `pdf_state`), blocking (the
/// demo, and a download that found no stored rendering of this state): the bytes and their ETag. A store
/// that fails is logged; the caller still gets the bytes.
pub fn render_and_store(state: &Context, row: &CertificateRow, status: PublicStatus, key: &str) -> Result<(Vec<u8>, String)> {
    let bytes = render_pdf(state, row, status)?;
    use sha2::Digest;
    let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&bytes)[..16]));
    let stored = state
        .db
        .write_outside_transaction_blocking(|c| storage::documents::store(c, row.id, key, &etag, &bytes));
    if let Err(e) = stored {
        tracing::warn!(certificate = %row.number, error = %e, "could not store the rendered PDF");
    }
    Ok((bytes, etag))
}

/// The stored rendering of a certificate's PDF in a given state (its ETag and bytes), if there is one.
pub fn stored(conn: &mut storage::DbConn, certificate_id: i64, key: &str) -> Result<Option<(String, Vec<u8>)>> {
    Ok(storage::documents::get(conn, certificate_id, key)?)
}

// The status watch as an Atom feed (RFC 4287): every public status change the log records, newest first,
// for everyone, one certificate or one venue. Built from the public log, so it says what the log proves.

use crate::app::public::Watch;
use crate::domain::certificate::CertificateNumber;
use crate::domain::log::Entry;
use crate::web::error::{ApiError, ApiResult};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use atom_syndication::{Category, Feed, FixedDateTime, Link, Person, Text};
use serde::Deserialize;

/// Entries in one feed document.
const FEED_SIZE: i64 = 50;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct FeedParams {
    /// Only this venue's certificates (its id).
    pub venue: Option<i64>,
    /// Only this certificate, e.g. GEL-2025-000001 (with `venue`: only if it is that venue's).
    #[param(pattern = "^GEL-[0-9]{4}-[0-9]{6}$")]
    pub certificate: Option<String>,
}

fn link(href: String, rel: &str, mime_type: Option<&str>) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: mime_type.map(str::to_string),
        ..Default::default()
    }
}

fn when(at: &str) -> Result<FixedDateTime, ApiError> {
    chrono::DateTime::parse_from_rfc3339(at).map_err(|e| ApiError::internal(format!("a log entry's time {at}: {e}")))
}

/// One entry of the feed from one entry of the log.
fn item(base: &str, e: &Entry) -> Result<atom_syndication::Entry, ApiError> {
    let reason = e.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
    Ok(atom_syndication::Entry {
        id: format!("{base}/feed.atom#log-{}", e.seq),
        title: Text::plain(format!("{} {} — {}", e.number, e.kind, e.venue)),
        updated: when(&e.at)?,
        published: Some(when(&e.at)?),
        summary: Some(Text::plain(format!("{} is {} (log entry {}){reason}", e.number, e.status, e.seq))),
        links: vec![link(format!("{base}/certificates/{}", e.number), "alternate", Some("text/html"))],
        categories: vec![Category {
            term: e.kind.clone(),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// GET /feed.atom: the status watch.
#[utoipa::path(get, path = "/feed.atom", tag = "public", params(FeedParams),
    responses((status = 200, description = "Atom feed (RFC 4287) of the latest 50 public status changes, newest first", content_type = "application/atom+xml"),
        (status = 400, description = "a malformed certificate number or venue id", body = crate::web::error::ErrorBody),
        (status = 503, description = "the database is unavailable", body = crate::web::error::ErrorBody)))]
pub async fn feed(state: web::Data<AppState>, params: web::Query<FeedParams>) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    // Any number of the right shape is a filter (one that names no certificate gives an empty feed).
    let certificate = match p.certificate.as_deref().map(str::trim) {
        Some(n) if CertificateNumber::well_formed(n) => Some(n.to_string()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_certificate_number",
                "certificate must look like GEL-2025-000001",
            ))
        }
        None => None,
    };
    let filters: Vec<String> = [p.venue.map(|v| format!("venue={v}")), certificate.as_ref().map(|n| format!("certificate={n}"))]
        .into_iter()
        .flatten()
        .collect();
    let query = if filters.is_empty() {
        String::new()
    } else {
        format!("?{}", filters.join("&"))
    };
    let watch = Watch { certificate, venue: p.venue };
    let rows = crate::app::public::feed(state.public_db(), watch, FEED_SIZE).await?;
    let entries = rows
        .iter()
        .map(|b| Entry::parse(b).map_err(ApiError::internal))
        .collect::<Result<Vec<_>, _>>()?;
    let base = state.config.public_url.trim_end_matches('/');
    let updated = match entries.first() {
        Some(e) => when(&e.at)?,
        None => chrono::Utc::now().fixed_offset(),
    };
    let feed = Feed {
        title: Text::plain(format!(
            "Gold eco-label registry: status changes{}",
            if query.is_empty() { "" } else { " of one label" }
        )),
        id: format!("{base}/feed.atom{query}"),
        updated,
        authors: vec![Person {
            name: state.config.issuer_name.clone(),
            uri: Some(base.to_string()),
            ..Default::default()
        }],
        links: vec![
            link(format!("{base}/feed.atom{query}"), "self", Some("application/atom+xml")),
            link(format!("{base}/register"), "alternate", Some("text/html")),
        ],
        entries: entries.iter().map(|e| item(base, e)).collect::<Result<_, _>>()?,
        ..Default::default()
    };
    Ok(HttpResponse::Ok()
        .content_type("application/atom+xml; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=30"))
        .insert_header(("access-control-allow-origin", "*"))
        .body(feed.to_string()))
}

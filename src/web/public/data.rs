// Open data for aggregators, no login: the daily snapshot of the register (`/data/certificates.jsonl.gz`,
// `/data/certificates.csv.gz`, streamed from disk with ETag and Last-Modified) and its DCAT-AP description.

use crate::app::export::{self, Manifest};
use crate::web::error::ApiError;
use crate::web::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

/// Aggregators may keep a snapshot for an hour; it changes daily.
const CACHE: &str = "public, max-age=3600";

fn pending() -> HttpResponse {
    let mut e = ApiError::new(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "export_pending",
        "the first open data snapshot is being written; try again shortly",
    );
    e.retry_after = Some(60);
    actix_web::ResponseError::error_response(&e)
}

fn last_modified(m: &Manifest) -> Option<header::HttpDate> {
    let t = chrono::DateTime::parse_from_rfc3339(&m.generated_at).ok()?;
    Some(header::HttpDate::from(std::time::SystemTime::from(t.with_timezone(&chrono::Utc))))
}

/// `GET /data/{file}`: a file of the latest snapshot, as written (gzip), with its SHA-256 as ETag.
#[utoipa::path(get, path = "/data/{file}", tag = "public",
    params(("file" = String, Path, description = "`certificates.jsonl.gz` or `certificates.csv.gz`")),
    responses((status = 200, description = "the file, gzip-compressed (one JSON object a line, or CSV with a header)", content_type = "application/gzip"),
        (status = 304, description = "not modified (If-None-Match)"),
        (status = 404, body = crate::web::error::ErrorBody),
        (status = 503, description = "the first snapshot is being written (`export_pending`)", body = crate::web::error::ErrorBody)))]
pub async fn file(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    if name != export::JSONL && name != export::CSV {
        return actix_web::ResponseError::error_response(&crate::web::no_such_page());
    }
    let dir = export::dir_of(&state);
    let Some(manifest) = export::manifest(&dir) else { return pending() };
    let Some(facts) = manifest.files.iter().find(|f| f.name == name) else {
        return pending();
    };
    let etag = format!("\"{}\"", facts.sha256);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, CACHE))
        .insert_header(("x-content-sha256", facts.sha256.clone()));
    if let Some(t) = last_modified(&manifest) {
        res.insert_header((header::LAST_MODIFIED, t));
    }
    if fresh {
        return res.finish();
    }
    let file = match tokio::fs::File::open(dir.join(&name)).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, file = %name, "open data file missing beside its manifest");
            return pending();
        }
    };
    // Streamed from disk in 64 KiB pieces: the process never holds the file.
    let chunks = futures_util::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(web::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    res.insert_header((header::CONTENT_TYPE, "application/gzip"))
        .insert_header((header::CONTENT_LENGTH, facts.bytes))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .streaming(chunks.boxed_local())
}

/// The DCAT-AP description of the dataset: title, publisher, licence (CC BY 4.0), daily updates, temporal
/// coverage, and each distribution with its download URL, media type, size and SHA-256.
pub fn catalog(public_url: &str, publisher: &str, m: &Manifest) -> serde_json::Value {
    let base = public_url.trim_end_matches('/');
    let distributions: Vec<serde_json::Value> = m
        .files
        .iter()
        .map(|f| {
            let url = format!("{base}/data/{}", f.name);
            serde_json::json!({
                "@id": format!("{url}#distribution"),
                "@type": "dcat:Distribution",
                "dct:title": f.name,
                "dcat:accessURL": {"@id": url},
                "dcat:downloadURL": {"@id": url},
                "dcat:mediaType": {"@id": format!("https://www.iana.org/assignments/media-types/{}", f.media_type)},
                "dcat:compressFormat": {"@id": "https://www.iana.org/assignments/media-types/application/gzip"},
                "dcat:byteSize": {"@value": f.bytes.to_string(), "@type": "xsd:nonNegativeInteger"},
                "spdx:checksum": {
                    "@type": "spdx:Checksum",
                    "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                    "spdx:checksumValue": {"@value": f.sha256, "@type": "xsd:hexBinary"},
                },
                "dct:license": {"@id": "https://creativecommons.org/licenses/by/4.0/"},
                "dct:modified": {"@value": m.generated_at, "@type": "xsd:dateTime"},
            })
        })
        .collect();
    serde_json::json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "spdx": "http://spdx.org/rdf/terms#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": format!("{base}/data/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": "Gold eco-label registry — open data",
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher},
        "dcat:dataset": {
            "@id": format!("{base}/data/catalog.jsonld#register"),
            "@type": "dcat:Dataset",
            "dct:title": "Gold eco-label certificates (Алтын экологиялық белгі / Золотой экологический знак)",
            "dct:description": "Every Gold eco-label certificate the registry has issued, with its public status, venue, city, validity, criteria version and the index of its latest entry in the public log. Regenerated daily.",
            "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher},
            "dct:license": {"@id": "https://creativecommons.org/licenses/by/4.0/"},
            "dct:accrualPeriodicity": {"@id": "http://publications.europa.eu/resource/authority/frequency/DAILY"},
            "dct:modified": {"@value": m.generated_at, "@type": "xsd:dateTime"},
            "dct:temporal": {
                "@type": "dct:PeriodOfTime",
                "dcat:startDate": m.earliest.as_ref().map(|d| serde_json::json!({"@value": d, "@type": "xsd:date"})),
                "dcat:endDate": m.latest.as_ref().map(|d| serde_json::json!({"@value": d, "@type": "xsd:date"})),
            },
            "dcat:landingPage": {"@id": format!("{base}/register")},
            "dcat:distribution": distributions,
        },
    })
}

/// `GET /data/catalog.jsonld`: the DCAT-AP description of the open data.
#[utoipa::path(get, path = "/data/catalog.jsonld", tag = "public",
    responses((status = 200, description = "DCAT-AP dataset description (JSON-LD)", content_type = "application/ld+json"),
        (status = 503, description = "the first snapshot is being written (`export_pending`)", body = crate::web::error::ErrorBody)))]
pub async fn catalog_jsonld(state: web::Data<AppState>) -> HttpResponse {
    let Some(m) = export::manifest(&export::dir_of(&state)) else {
        return pending();
    };
    let mut res = HttpResponse::Ok();
    if let Some(t) = last_modified(&m) {
        res.insert_header((header::LAST_MODIFIED, t));
    }
    res.insert_header((header::CONTENT_TYPE, "application/ld+json"))
        .insert_header((header::CACHE_CONTROL, CACHE))
        .body(catalog(&state.config.public_url, &state.config.issuer_name, &m).to_string())
}

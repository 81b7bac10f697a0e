// The public log over HTTP (C2SP tlog-tiles): the signed checkpoint, the note verifier key, hash tiles,
// entry bundles and consistency proofs. Full tiles never change and are cacheable for ever.

use crate::domain::log::{self as tlog, TILE_WIDTH};
use crate::web::error::{ApiError, ApiResult};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const PARTIAL: &str = "public, max-age=60";
const FRESH: &str = "no-cache";

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("cache-control", FRESH))
        .insert_header(("access-control-allow-origin", "*"))
        .body(body)
}

fn tile_response(width: u64, data: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("cache-control", if width == TILE_WIDTH { IMMUTABLE } else { PARTIAL }))
        .insert_header(("access-control-allow-origin", "*"))
        .body(data)
}

/// A tile or bundle: full ones from the cache when there, else read (given the log's size) and kept.
async fn cached(state: &AppState, key: (Option<u8>, u64), width: u64) -> ApiResult<Option<HttpResponse>> {
    let full = width == TILE_WIDTH;
    if full {
        if let Some(data) = state.log_tiles.get(&key) {
            return Ok(Some(tile_response(width, data)));
        }
    }
    let Some(data) = crate::app::public::tile(&state.db, key.0, key.1, width).await? else {
        return Ok(None);
    };
    let data = web::Bytes::from(data);
    if full {
        state.log_tiles.put(key, data.clone());
    }
    Ok(Some(tile_response(width, data)))
}

/// GET /log/checkpoint: the checkpoint to trust (C2SP tlog-checkpoint in a signed note): with witnesses,
/// the newest one a quorum cosigned, their cosignatures after the log's signature line.
#[utoipa::path(get, path = "/log/checkpoint", tag = "log", responses((status = 200, description = "signed (and cosigned) checkpoint", content_type = "text/plain")))]
pub async fn checkpoint(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let (_, note) = crate::app::witnesses::served_checkpoint(&state).await?;
    Ok(text(note))
}

/// GET /log/checkpoint.latest: the newest checkpoint, signed by the log alone (within 10 s of a change).
#[utoipa::path(get, path = "/log/checkpoint.latest", tag = "log", responses((status = 200, description = "signed checkpoint", content_type = "text/plain")))]
pub async fn checkpoint_latest(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let (_, note) = crate::app::witnesses::latest_checkpoint(&state).await?;
    Ok(text(note))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WitnessList {
    /// How many cosignatures /log/checkpoint needs.
    pub quorum: usize,
    pub witnesses: Vec<WitnessStatus>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WitnessStatus {
    pub name: String,
    /// The witness's verifier key (C2SP tlog-cosignature, type 0x04).
    pub vkey: String,
    pub url: String,
    /// The newest checkpoint it cosigned.
    pub cosigned: Option<Cosigned>,
    /// The last checkpoint it refused, with its tlog-witness status.
    pub refused: Option<Refused>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Cosigned {
    pub size: u64,
    /// RFC 3339 UTC.
    pub at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Refused {
    pub size: u64,
    pub status: u16,
    pub detail: String,
    /// RFC 3339 UTC.
    pub at: String,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// GET /log/witnesses: the witnesses the log asks for cosignatures, and what each did last.
#[utoipa::path(get, path = "/log/witnesses", tag = "log", responses((status = 200, body = WitnessList)))]
pub async fn witnesses(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let states = crate::app::witnesses::status(&state).await?;
    let witnesses = state
        .config
        .witnesses
        .iter()
        .zip(states)
        .map(|(w, s)| WitnessStatus {
            name: w.name.clone(),
            vkey: w.vkey.clone(),
            url: w.url.clone(),
            cosigned: s.cosigned.map(|(size, at)| Cosigned { size, at: rfc3339(at) }),
            refused: s.refused.map(|(size, status, detail, at)| Refused {
                size,
                status,
                detail,
                at: rfc3339(at),
            }),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", FRESH))
        .insert_header(("access-control-allow-origin", "*"))
        .json(WitnessList {
            quorum: state.config.witness_quorum,
            witnesses,
        }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofParams {
    /// Prove against the published checkpoint of this tree size (default: the newest cosigned one that
    /// holds the entry, else the newest).
    #[param(minimum = 1)]
    pub size: Option<u64>,
}

/// GET /certificates/{number}/proof: a C2SP tlog-proof@v1 bundle for the certificate's latest log entry
/// (the entry as the extra data), checkable offline with `ecolabel verify … --proof`.
#[utoipa::path(get, path = "/certificates/{number}/proof", tag = "log", params(("number" = String, Path, description = "certificate number"), ProofParams),
    responses((status = 200, description = "tlog-proof bundle", content_type = "application/x-tlog-proof"),
        (status = 404, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn proof(state: web::Data<AppState>, path: web::Path<String>, params: web::Query<ProofParams>) -> ApiResult<HttpResponse> {
    let number = path.into_inner();
    let bundle = crate::app::witnesses::proof_bundle(&state, number.clone(), params.into_inner().size)
        .await?
        .ok_or_else(|| ApiError::not_found("certificate"))?;
    let file: String = number.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    Ok(HttpResponse::Ok()
        .content_type("application/x-tlog-proof")
        .insert_header(("content-disposition", format!("attachment; filename=\"{file}.tlog-proof\"")))
        .insert_header(("cache-control", FRESH))
        .insert_header(("access-control-allow-origin", "*"))
        .body(bundle.to_text()))
}

/// GET /certificates/{number}/log: the certificate's place in the public log as a person reads it — its
/// latest entry, the checkpoint that holds it, its status changes, and how to check all of it oneself.
pub async fn log_page(req: actix_web::HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    use crate::web::layout::{html_response, layout};
    use maud::html;
    let m = crate::web::i18n::negotiate(&req);
    let number = path.into_inner();
    let found = crate::app::public::certificate_with_log(&state.db, number.clone()).await;
    let (row, recorded, changes) = match found {
        Ok(Some(f)) => f,
        Ok(None) => return crate::web::error::browser_page(&req, actix_web::http::StatusCode::NOT_FOUND, "not_found", None),
        Err(e) => return actix_web::ResponseError::error_response(&ApiError::from(e)),
    };
    let n = &row.number;
    let checkpoint = recorded
        .as_ref()
        .map(|r| r.checkpoint.lines().take(3).map(str::to_string).collect::<Vec<_>>())
        .unwrap_or_default();
    let body = html! {
        p { (m.t("log_page_intro")) }
        @if let Some(r) = &recorded {
            dl.facts {
                dt { (m.t("log_entry")) } dd { (r.index) }
                dt { (m.t("log_origin")) } dd { code { (checkpoint.first().map(String::as_str).unwrap_or("")) } }
                dt { (m.t("log_tree_size")) } dd { (checkpoint.get(1).map(String::as_str).unwrap_or("")) }
                dt { (m.t("log_root")) } dd { code.hash { (checkpoint.get(2).map(String::as_str).unwrap_or("")) } }
                dt { (m.t("log_proof_hashes")) } dd { (r.proof.len()) }
                dt { (m.t("log_bundle")) } dd { a href={ "/log/" (crate::web::public::certificates::bundle_path(r.index, &r.checkpoint)) } { (m.t("log_bundle_link")) } }
            }
        }
        (crate::web::public::certificates::timeline(&m, &changes))
        h2 #h-check { (m.t("log_check_title")) }
        ol.steps aria-labelledby="h-check" {
            li { a href={ "/certificates/" (n) "/proof" } download={ (n) ".tlog-proof" } { (m.t("download_log_proof")) } }
            li { (m.t("log_check_keys")) " " a href="/log/vkey" { "/log/vkey" } " · " a href="/log/checkpoint" { "/log/checkpoint" } " · " a href="/log/witnesses" { "/log/witnesses" } }
            li { (m.t("log_check_offline")) pre.measurements { "ecolabel verify '" (crate::domain::signing::qr_text(&state.config.public_url, &row.token)) "' --proof " (n) ".tlog-proof --log-vkey \"$(curl -s " (state.config.public_url) "/log/vkey)\"" } }
            li { (m.t("log_check_monitor")) pre.measurements { "ecolabel log verify " (state.config.public_url) } }
        }
        p { a href={ "/certificates/" (n) "?lang=" (m.lang) } { (m.t("back_to_certificate")) } }
    };
    html_response(
        actix_web::http::StatusCode::OK,
        FRESH,
        layout(&req, &m, &m.f("log_page_title", &[("number", n)]), body),
    )
}

/// GET /log/vkey: the note verifier key of the log (C2SP signed-note).
#[utoipa::path(get, path = "/log/vkey", tag = "log", responses((status = 200, description = "note verifier key", content_type = "text/plain")))]
pub async fn vkey(state: web::Data<AppState>) -> HttpResponse {
    text(format!("{}\n", state.log_key.vkey()))
}

/// GET /log/tile/{level}/{index…}: a hash tile of height 8.
#[utoipa::path(get, path = "/log/tile/{level}/{index}", tag = "log",
    params(("level" = u8, Path, description = "tile level, 0 to 5"), ("index" = String, Path, description = "C2SP tile index, e.g. `x001/234` or `000.p/5`")),
    responses((status = 200, description = "the tile's hashes", content_type = "application/octet-stream"), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn tile(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let (level, rest) = path.into_inner();
    let missing = || ApiError::not_found("tile");
    let level: u8 = level.parse().ok().filter(|l: &u8| *l <= 5 && level.len() == 1).ok_or_else(missing)?;
    let (index, width) = tlog::parse_tile_index(&rest).ok_or_else(missing)?;
    cached(&state, (Some(level), index), width).await?.ok_or_else(missing)
}

/// GET /log/tile/entries/{index…}: an entry bundle (each entry a big-endian u16 length and its bytes).
#[utoipa::path(get, path = "/log/tile/entries/{index}", tag = "log",
    params(("index" = String, Path, description = "C2SP tile index, e.g. `000` or `001.p/17`")),
    responses((status = 200, description = "entry bundle", content_type = "application/octet-stream"), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn entries(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let missing = || ApiError::not_found("entry bundle");
    let (index, width) = tlog::parse_tile_index(&path.into_inner()).ok_or_else(missing)?;
    cached(&state, (None, index), width).await?.ok_or_else(missing)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The older tree size.
    #[param(minimum = 1)]
    pub from: u64,
    /// The newer tree size, at most the latest checkpoint's.
    #[param(minimum = 1)]
    pub to: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// RFC 9162 2.1.4 consistency proof, base64 hashes.
    pub proof: Vec<String>,
}

/// GET /log/proof/consistency?from=N&to=M: for monitors that do not read tiles.
#[utoipa::path(get, path = "/log/proof/consistency", tag = "log", params(ConsistencyParams),
    responses((status = 200, body = ConsistencyProof), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn consistency(state: web::Data<AppState>, params: web::Query<ConsistencyParams>) -> ApiResult<HttpResponse> {
    let ConsistencyParams { from, to } = params.into_inner();
    let proof = crate::app::public::consistency(&state.db, from, to).await?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", IMMUTABLE)).json(ConsistencyProof {
        from,
        to,
        proof: tlog::encode_hashes(&proof),
    }))
}

/// Full tiles and entry bundles never change: kept in memory once read, up to 16 MiB.
pub type TileCache = crate::web::cache::BodyCache<(Option<u8>, u64), web::Bytes, { 16 * 1024 * 1024 }>;

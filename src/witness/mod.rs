//! `ecolabel witness serve`: a C2SP tlog-witness any C2SP log can use (ours or another registry's). It
//! verifies the log's signature and the consistency proof, persists the new size, then cosigns.

use crate::domain::witness::{self as w, AddCheckpoint, CosignerKey, Refusal};
use crate::storage::witness_state::Store;
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Mutex;

/// A request body is an old size, at most 63 hashes and a checkpoint: a few KiB at most.
const MAX_BODY: usize = 64 * 1024;

pub struct WitnessConfig {
    pub bind: SocketAddr,
    /// The witness's name (a schema-less URL, e.g. `witness.example.kz/w1`): part of its verifier key.
    pub name: String,
    pub key_dir: PathBuf,
    /// The logs it follows: their note verifier keys (`<origin>+<id>+<key>`).
    pub logs: Vec<String>,
    /// Its state file (SQLite).
    pub state: PathBuf,
}

struct Witness {
    key: CosignerKey,
    /// Trusted log keys by origin.
    logs: HashMap<String, Vec<String>>,
    store: Mutex<Store>,
}

/// The witness's key under its name, made in the key directory if it is not there yet.
pub fn cosigner(name: &str, key_dir: &std::path::Path) -> Result<CosignerKey, String> {
    CosignerKey::new(name, crate::keys::witness_key(key_dir)?)
}

pub struct Running {
    pub port: u16,
    pub vkey: String,
    pub server: Server,
}

/// Bind and build the witness (not yet running: await `server`).
pub fn build(config: WitnessConfig) -> Result<Running, String> {
    let key = cosigner(&config.name, &config.key_dir)?;
    let mut logs: HashMap<String, Vec<String>> = HashMap::new();
    for vkey in &config.logs {
        let verifier = signed_note::StandardVerifier::new(vkey.trim()).map_err(|e| format!("--log `{vkey}` is not a note verifier key: {e}"))?;
        logs.entry(signed_note::Verifier::name(&verifier).to_string())
            .or_default()
            .push(vkey.trim().to_string());
    }
    if logs.is_empty() {
        return Err("give the logs this witness follows with --log \"<verifier key>\"".into());
    }
    let store = Store::open(&config.state)?;
    let vkey = key.vkey();
    let state = web::Data::new(Witness {
        key,
        logs,
        store: Mutex::new(store),
    });
    let listener = TcpListener::bind(config.bind).map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::default().limit(MAX_BODY))
            .route("/add-checkpoint", web::post().to(add_checkpoint))
            .default_service(web::to(|| async {
                HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("not found\n")
            }))
    })
    .workers(2)
    .client_request_timeout(std::time::Duration::from_secs(10))
    .shutdown_timeout(10)
    .listen(listener)
    .map_err(|e| format!("cannot start the witness: {e}"))?
    .run();
    tracing::info!(addr = %config.bind, port, vkey = %vkey, "witness listening");
    Ok(Running { port, vkey, server })
}

fn refusal(r: &Refusal) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(r.status()).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    let kind = if matches!(r, Refusal::Conflict(_)) {
        "text/x.tlog.size"
    } else {
        "text/plain; charset=utf-8"
    };
    HttpResponse::build(status).content_type(kind).body(r.message())
}

/// POST /add-checkpoint (C2SP tlog-witness).
async fn add_checkpoint(state: web::Data<Witness>, body: web::Bytes) -> HttpResponse {
    let req = match AddCheckpoint::parse(&body) {
        Ok(r) => r,
        Err(why) => return refusal(&Refusal::BadRequest(why)),
    };
    let origin = match w::origin_of(&req.checkpoint) {
        Ok(o) => o,
        Err(r) => return refusal(&r),
    };
    let Some(keys) = state.logs.get(&origin).cloned() else {
        return refusal(&Refusal::UnknownLog(origin));
    };
    let s = state.clone();
    let span = tracing::Span::current();
    let decided = actix_web::rt::task::spawn_blocking(move || {
        let _enter = span.enter();
        let mut store = s.store.lock().map_err(|_| "the witness state lock is poisoned".to_string())?;
        let outcome = store.advance(&origin, |seen| w::decide(&req, &keys, seen))?;
        // Cosign only once the new size is stored.
        Ok::<_, String>(outcome.map(|text| {
            let time = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            s.key.cosign(&text, time)
        }))
    })
    .await;
    match decided {
        Ok(Ok(Ok(Ok(line)))) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(line),
        Ok(Ok(Err(r))) => {
            tracing::info!(status = r.status(), "checkpoint refused");
            refusal(&r)
        }
        Ok(Ok(Ok(Err(e)))) | Ok(Err(e)) => {
            tracing::error!(error = %e, "the witness could not record a checkpoint");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error\n")
        }
        Err(e) => {
            tracing::error!(error = %e, "the witness task failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error\n")
        }
    }
}

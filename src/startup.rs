//! Wiring: load the criteria, open and migrate the database, make sure a signing key exists, and
//! build the HTTP server (port 0 works, for tests). Graceful shutdown on SIGTERM and Ctrl-C.

use crate::config::Config;
use crate::domain::auth::Caller;
use crate::domain::criteria::{parse_scheme, Catalogue, BUILTIN_V1, DEFAULT_SCHEME};
use crate::domain::log::{self, LogKey};
use crate::keys::Keyring;
use crate::storage::{self, Db};
use crate::web::{self, middleware, AppState};
use actix_web::dev::Server;
use actix_web::{web::Data, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;

/// Read every criteria file, add the built-in v1 if no file defines it, add versions known only to the
/// database, and publish new versions (a changed file for a published version stops the start).
pub fn load_catalogue(config: &Config, db: &Db) -> Result<Catalogue, String> {
    let mut cat = Catalogue::default();
    let dir = &config.criteria_dir;
    if dir.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for path in files.into_iter().filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml")) {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let scheme = parse_scheme(&path.display().to_string(), &text).map_err(|e| format!("invalid criteria file {e}"))?;
            cat.insert(scheme)?;
        }
    } else {
        tracing::info!(dir = %dir.display(), "no criteria directory; using the built-in gold-eco-label v1");
    }
    if cat.get(DEFAULT_SCHEME, 1).is_none() {
        cat.insert(parse_scheme("built-in gold-eco-label-v1.toml", BUILTIN_V1).map_err(|e| e.to_string())?)?;
    }
    let stored = db.read_blocking(storage::criteria::all).map_err(|e| e.to_string())?;
    for (scheme, version, _sha, content) in stored {
        if cat.get(&scheme, version).is_none() {
            cat.insert(parse_scheme(&format!("stored {scheme} v{version}"), &content).map_err(|e| e.to_string())?)?;
        }
    }
    for s in cat.all() {
        let new = db.write_blocking(|c| storage::criteria::register(c, s)).map_err(|e| e.to_string())?;
        if new {
            tracing::info!(scheme = %s.scheme, version = s.version, sha256 = %s.sha256, "criteria version published");
        }
    }
    Ok(cat)
}

/// Make sure an active signing key exists whose private half is in the key directory.
pub fn ensure_signing_key(db: &Db, keyring: &Keyring, require_key: bool) -> Result<(), String> {
    let active = db.read_blocking(storage::keys::active).map_err(|e| e.to_string())?;
    match active {
        Some(row) if keyring.get(&row.kid).is_some() => {
            tracing::info!(kid = %row.kid, "signing with key");
            Ok(())
        }
        Some(row) => Err(format!(
            "the active signing key {} is not in the key directory {} (restore it from backup, or run `ecolabel keys rotate`)",
            row.kid,
            keyring.dir().display()
        )),
        None if require_key => Err(format!(
            "no signing key (--require-key): run `ecolabel keys generate` with the key directory {}",
            keyring.dir().display()
        )),
        None => {
            let (kid, public) = keyring.generate()?;
            db.write_blocking(|c| storage::keys::register(c, &Caller::system("serve"), &kid, public.as_bytes(), true))
                .map_err(|e| e.to_string())?;
            tracing::warn!(kid = %kid, dir = %keyring.dir().display(), "no signing key found: generated a new one (back up this directory)");
            Ok(())
        }
    }
}

/// The application context from the configuration: criteria loaded, database opened and migrated, a
/// signing key made sure of, the public log filled for certificates older than it.
pub fn build_context(config: &Config, require_key: bool) -> Result<crate::app::Context, String> {
    crate::render::pdf::warm_up()?;
    crate::i18n::check()?;
    let db = Db::open(&config.database, config.db_pool)?;
    let catalogue = load_catalogue(config, &db)?;
    let keyring = Keyring::load(&config.key_dir)?;
    ensure_signing_key(&db, &keyring, require_key)?;
    let log_key = LogKey::new(log::origin(&config.public_url), crate::keys::log_key(&config.key_dir)?);
    let backfilled = db
        .write_blocking(|c| storage::log::backfill(c, &log_key))
        .map_err(|e| format!("cannot fill the public log: {e}"))?;
    if backfilled > 0 {
        tracing::info!(certificates = backfilled, "recorded existing certificates in the public log");
    }
    Ok(crate::app::Context {
        db,
        catalogue: Arc::new(catalogue),
        keyring: Arc::new(keyring),
        config: Arc::new(config.clone()),
        log_key,
        clock: Default::default(),
    })
}

/// Everything the handlers share: the application context and the web layer's own caches.
pub fn build_state(config: &Config, require_key: bool) -> Result<AppState, String> {
    let app = build_context(config, require_key)?;
    let openapi = crate::web::openapi::json_for(&app.catalogue)?;
    Ok(AppState {
        app,
        openapi,
        verifier: Default::default(),
        snapshots: Default::default(),
        refusals: Default::default(),
        log_tiles: Default::default(),
        pdfs: Default::default(),
    })
}

pub struct Application {
    port: u16,
    server: Server,
    pub state: Data<AppState>,
}

impl Application {
    pub fn build(config: Config, require_key: bool) -> Result<Application, String> {
        let state = Data::new(build_state(&config, require_key)?);
        let listener = TcpListener::bind(config.bind).map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let s = state.clone();
        let limit = crate::web::ratelimit::public_limit(config.public_rate, config.public_burst, &config.trusted_proxies)?;
        let signin = crate::web::ratelimit::per_minute_limit(config.signin_rate, &config.trusted_proxies)?;
        let server = HttpServer::new(move || {
            let (limit, signin) = (limit.clone(), signin.clone());
            App::new()
                .app_data(s.clone())
                .wrap(actix_web::middleware::from_fn(crate::web::session::sessions))
                .wrap(actix_web::middleware::from_fn(middleware::text_guard))
                .wrap(actix_web::middleware::from_fn(middleware::request_span))
                .configure(move |cfg| web::configure(cfg, &limit, &signin))
        })
        .shutdown_timeout(30)
        // Blocking work is database work (and the odd PDF or password hash): more threads than
        // connections only wait for one, and each idle thread keeps its stack and its malloc cache.
        .worker_max_blocking_threads(config.db_pool as usize + 2)
        .listen(listener)
        .map_err(|e| format!("cannot start the server: {e}"))?
        .run();
        tracing::info!(addr = %config.bind, port, backend = config.database.backend(), public_url = %config.public_url, "registry listening");
        Ok(Application { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serve until SIGTERM or Ctrl-C; in-flight requests finish first. Housekeeping runs meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let job = actix_web::rt::spawn(housekeeping(self.state.clone()));
        let scheduler = actix_web::rt::spawn(schedule(self.state.clone()));
        let sender = actix_web::rt::spawn(send_webhooks(self.state.clone()));
        let mailer = actix_web::rt::spawn(send_mail(self.state.clone()));
        let result = self.server.await;
        job.abort();
        scheduler.abort();
        sender.abort();
        mailer.abort();
        result
    }
}

/// The webhook sender inside `serve`: every `--webhook-interval` seconds, the deliveries that are due
/// (crate::workers::webhooks); none when it is 0.
async fn send_webhooks(state: Data<AppState>) {
    let every = u64::from(state.config.webhook_interval);
    if every == 0 {
        return;
    }
    let client = crate::workers::webhooks::client();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Drain: pass after pass while full batches come back.
        loop {
            match crate::workers::webhooks::deliver_due(&state.db, &client, storage::now()).await {
                Ok(r) if r.delivered + r.failed >= crate::workers::webhooks::BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "the webhook sender could not read its outbox");
                    break;
                }
            }
        }
    }
}

/// The e-mail sender inside `serve` when `--smtp-url` is set: every 5 s, the notifications that are due.
async fn send_mail(state: Data<AppState>) {
    let Some(url) = state.config.smtp_url.clone() else { return };
    let mailer = match crate::workers::mail::Mailer::new(&url, &state.config.mail_from, &state.config.public_url) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "e-mail notifications are off");
            return;
        }
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match crate::workers::mail::deliver_due(&state.db, &mailer, storage::now()).await {
                Ok(r) if r.sent + r.failed >= crate::workers::mail::BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "the mailer could not read its outbox");
                    break;
                }
            }
        }
    }
}

/// Housekeeping inside `serve`, at start and hourly: stored idempotent replies older than 24 h go; SQLite's
/// search indexes have their segments merged.
async fn housekeeping(state: Data<AppState>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match state.db.write(|c| storage::idempotency::purge_expired(c, storage::now())).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "expired idempotent replies removed"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired idempotent replies"),
        }
        match state.db.write_outside_transaction(storage::merge_search_indexes).await {
            Ok(0) => {}
            Ok(steps) => tracing::info!(steps, "search index segments merged"),
            Err(e) => tracing::warn!(error = %e, "could not merge the search indexes' segments"),
        }
        // The open data snapshot: at start if there is none, then daily.
        let dir = crate::app::export::dir_of(&state);
        if crate::app::export::is_due(&dir, state.clock.now()) {
            let app = state.app.clone();
            match actix_web::rt::task::spawn_blocking(move || crate::app::export::write(&app, &dir)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "could not write the open data snapshot"),
                Err(e) => tracing::warn!(error = %e, "the open data snapshot task failed"),
            }
        }
    }
}

/// The scheduler inside `serve`, at start and every `--jobs-interval` minutes (crate::workers::scheduler); none when it is 0.
async fn schedule(state: Data<AppState>) {
    let every = u64::from(state.config.jobs_interval);
    if every == 0 {
        return;
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(every * 60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = state.clone();
        match actix_web::rt::task::spawn_blocking(move || s.run_jobs(s.clock.now())).await {
            Ok(Ok(report)) => {
                if !report.changed.is_empty() || report.failed > 0 {
                    tracing::info!(
                        expired = report.expired,
                        suspended = report.suspended,
                        withdrawn = report.withdrawn,
                        failed = report.failed,
                        "scheduled work done"
                    );
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "the scheduler pass failed; it runs again at the next interval"),
            Err(e) => tracing::error!(error = %e, "the scheduler pass panicked"),
        }
    }
}

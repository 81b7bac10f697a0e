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

/// Open the database; a PostgreSQL server that cannot be reached yet (starting, or switching over) is
/// tried again with backoff (1 s doubling to 30 s) for up to `--database-wait-seconds`, saying so each time.
fn open_waiting(config: &Config) -> Result<Db, String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(u64::from(config.database_wait_seconds));
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        match storage::connect(&config.database) {
            Ok(conn) => {
                drop(conn);
                return Db::open(&config.database, config.db_pool);
            }
            Err(e) if matches!(config.database, storage::DbUrl::Postgres(_)) && std::time::Instant::now() + wait <= deadline => {
                tracing::warn!(database = %config.database.redacted(), error = %e, retry_in_s = wait.as_secs(), "the database cannot be reached yet; waiting");
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_secs(30));
            }
            Err(e) => {
                return Err(format!(
                    "cannot open the {} database {}: {e}",
                    config.database.backend(),
                    config.database.redacted()
                ))
            }
        }
    }
}

/// The public log's origin: the one stored with the log (or its first checkpoint's), else the one this
/// configuration proposes (`--log-origin`, or from the public URL), stored now for good.
pub fn fix_log_origin(db: &Db, config: &Config) -> Result<String, String> {
    let proposed = config.log_origin.clone().unwrap_or_else(|| log::origin(&config.public_url));
    let origin = db
        .write_blocking(|c| storage::witnessing::fix_origin(c, &proposed))
        .map_err(|e| format!("cannot read the public log's origin: {e}"))?;
    if origin != proposed {
        tracing::info!(origin = %origin, proposed = %proposed, "the public log keeps the origin it was created with");
    }
    Ok(origin)
}

/// The application context from the configuration: criteria loaded, database opened and migrated, a
/// signing key made sure of, the public log filled for certificates older than it.
pub fn build_context(config: &Config, require_key: bool) -> Result<crate::app::Context, String> {
    crate::render::pdf::warm_up()?;
    crate::i18n::check()?;
    let db = open_waiting(config)?;
    let catalogue = load_catalogue(config, &db)?;
    let keyring = Keyring::load(&config.key_dir)?;
    ensure_signing_key(&db, &keyring, require_key)?;
    let log_key = LogKey::new(fix_log_origin(&db, config)?, crate::keys::log_key(&config.key_dir)?);
    let backfilled = db
        .write_blocking(|c| storage::log::backfill(c, &log_key))
        .map_err(|e| format!("cannot fill the public log: {e}"))?;
    if backfilled > 0 {
        tracing::info!(certificates = backfilled, "recorded existing certificates in the public log");
    }
    let sealer = Arc::new(crate::domain::seal::Sealer::new(&crate::keys::sealing_key(&config.key_dir)?));
    let sealed = crate::app::secrets::seal_stored_secrets(&db, &sealer).map_err(|e| format!("cannot seal the stored secrets: {e}"))?;
    if sealed > 0 {
        tracing::info!(secrets = sealed, "sealed TOTP and webhook secrets stored in the clear by an earlier version");
    }
    Ok(crate::app::Context {
        db,
        catalogue: Arc::new(catalogue),
        keyring: Arc::new(keyring),
        config: Arc::new(config.clone()),
        log_key,
        clock: Default::default(),
        sealer,
        reads: config.read_database.as_ref().map(|url| {
            Arc::new(crate::app::replica::ReadReplica::new(
                Db::open_replica(url, config.db_pool),
                config.read_max_lag,
            ))
        }),
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
        stopping: Default::default(),
        in_flight: Default::default(),
    })
}

pub struct Application {
    port: u16,
    server: Server,
    pub state: Data<AppState>,
    /// The `/metrics` listener of `--metrics-bind`.
    metrics: Option<Server>,
}

impl Application {
    pub fn build(config: Config, require_key: bool) -> Result<Application, String> {
        let state = Data::new(build_state(&config, require_key)?);
        let listener = TcpListener::bind(config.bind).map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let s = state.clone();
        let limit = crate::web::ratelimit::public_limit(config.public_rate, config.public_burst, &config.trusted_proxies)?;
        let signin = crate::web::ratelimit::per_minute_limit(config.signin_rate, &config.trusted_proxies)?;
        crate::metrics::count_requests(config.request_metrics);
        let metrics_here = config.metrics_bind.is_none();
        let metrics = match config.metrics_bind {
            Some(addr) => {
                let s = state.clone();
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(s.clone())
                        .service(actix_web::web::resource("/metrics").route(actix_web::web::get().to(crate::web::health::metrics)))
                })
                .workers(1)
                .disable_signals()
                .bind(addr)
                .map_err(|e| format!("cannot listen on --metrics-bind {addr}: {e}"))?;
                tracing::info!(addr = %addr, "metrics listening");
                Some(server.run())
            }
            None => None,
        };
        let server = HttpServer::new(move || {
            let (limit, signin) = (limit.clone(), signin.clone());
            App::new()
                .app_data(s.clone())
                .wrap(actix_web::middleware::from_fn(middleware::languages))
                .wrap(actix_web::middleware::from_fn(crate::web::session::sessions))
                .wrap(actix_web::middleware::from_fn(middleware::text_guard))
                .wrap(actix_web::middleware::from_fn(middleware::browser_errors))
                .wrap(actix_web::middleware::from_fn(middleware::request_span))
                .wrap(actix_web::middleware::from_fn(crate::web::guard::guard))
                .configure(move |cfg| web::configure(cfg, &limit, &signin))
                .configure(move |cfg| {
                    // With --metrics-bind, /metrics is served there only.
                    if metrics_here {
                        cfg.service(actix_web::web::resource("/metrics").route(actix_web::web::get().to(crate::web::health::metrics)));
                    }
                })
        })
        .shutdown_timeout(30)
        // SIGTERM and Ctrl-C are ours (`run_until_stopped`): readiness turns 503 before the listener closes.
        .disable_signals()
        // Blocking work is database work (and the odd PDF or password hash): more threads than
        // connections only wait for one, and each idle thread keeps its stack and its malloc cache.
        .worker_max_blocking_threads(config.db_pool as usize + 2)
        .listen(listener)
        .map_err(|e| format!("cannot start the server: {e}"))?
        .run();
        tracing::info!(addr = %config.bind, port, backend = config.database.backend(), public_url = %config.public_url, "registry listening");
        Ok(Application { port, server, state, metrics })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serve until SIGTERM or Ctrl-C. On the signal `/readyz` answers 503 at once; after `--drain-seconds`
    /// the listener closes and in-flight requests finish (up to 30 s); the outbox senders finish the pass
    /// they are in (up to 10 s more). Housekeeping and the workers run meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let job = actix_web::rt::spawn(housekeeping(self.state.clone()));
        let scheduler = actix_web::rt::spawn(schedule(self.state.clone()));
        let sender = actix_web::rt::spawn(send_webhooks(self.state.clone(), stop_rx.clone()));
        let mailer = actix_web::rt::spawn(send_mail(self.state.clone(), stop_rx));
        let witnessing = actix_web::rt::spawn(ask_witnesses(self.state.clone()));
        let replica = actix_web::rt::spawn(measure_replica(self.state.clone()));
        let metrics = self.metrics.map(|m| (m.handle(), actix_web::rt::spawn(m)));
        let (handle, state) = (self.server.handle(), self.state.clone());
        let signals = actix_web::rt::spawn(async move {
            if wait_for_stop_signal().await.is_err() {
                return;
            }
            state.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
            let drain = state.config.drain_seconds;
            tracing::info!(
                drain_seconds = drain,
                "stopping: /readyz answers 503; the listener closes after the drain, in-flight requests finish"
            );
            tokio::time::sleep(std::time::Duration::from_secs(u64::from(drain))).await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        signals.abort();
        witnessing.abort();
        replica.abort();
        job.abort();
        scheduler.abort();
        // The outbox senders finish the delivery pass they are in, bounded.
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            let _ = sender.await;
            let _ = mailer.await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!("the outbox senders did not finish within 10 s; what they held is retried at the next start");
        }
        tracing::info!("stopped");
        result
    }
}

/// SIGTERM or Ctrl-C (SIGINT).
async fn wait_for_stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            r = tokio::signal::ctrl_c() => r,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Wait for the next tick, or a stop: true if the sender should stop.
async fn next_tick(tick: &mut tokio::time::Interval, stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tick.tick() => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// The webhook sender inside `serve`: every `--webhook-interval` seconds, the deliveries that are due
/// (crate::workers::webhooks); none when it is 0.
async fn send_webhooks(state: Data<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = u64::from(state.config.webhook_interval);
    if every == 0 {
        return;
    }
    let client = crate::workers::webhooks::client(state.config.webhook_allow_private);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !next_tick(&mut tick, &mut stop).await {
        // Drain: pass after pass while full batches come back (a stop ends it after the pass it is in).
        loop {
            match crate::workers::webhooks::deliver_due(&state.app, &client, storage::now()).await {
                Ok(r) if r.delivered + r.failed >= crate::workers::webhooks::BATCH && !*stop.borrow() => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "the webhook sender could not read its outbox");
                    break;
                }
            }
        }
    }
}

/// The witness sender inside `serve` when witnesses are configured: the newest checkpoint to each witness
/// at most every `--witness-interval` seconds while there are new entries (crate::workers::witnesses).
/// With a read replica: its lag measured every 100 ms, which decides where public reads go (app::replica)
/// and is shown as `ecolabel_read_replica_lag_seconds`.
async fn measure_replica(state: Data<AppState>) {
    let Some(replica) = state.app.reads.clone() else { return };
    let mut tick = tokio::time::interval(crate::app::replica::SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let lag = replica.measure(&state.app.db).await;
        crate::metrics::get().replica_lag_seconds.set(lag.map_or(-1.0, |l| l.as_secs_f64()));
    }
}

async fn ask_witnesses(state: Data<AppState>) {
    let every = state.config.witness_interval;
    if every == 0 || state.config.witnesses.is_empty() {
        return;
    }
    let client = crate::workers::witnesses::client();
    // Look four times per interval: the claim in the database keeps each witness to its rate.
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(u64::from(every) * 250).max(std::time::Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::workers::witnesses::pass(&state.app, &client, every).await {
            Ok(r) if r.cosigned > 0 || !r.refused.is_empty() => {
                tracing::info!(
                    sent = r.sent,
                    cosigned = r.cosigned,
                    refused = r.refused.len(),
                    failed = r.failed,
                    "checkpoint sent to witnesses"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the witness sender could not read the log"),
        }
    }
}

/// The e-mail sender inside `serve` when `--smtp-url` is set: every 5 s, the notifications that are due.
async fn send_mail(state: Data<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
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
    while !next_tick(&mut tick, &mut stop).await {
        loop {
            match crate::workers::mail::deliver_due(&state.db, &mailer, storage::now()).await {
                Ok(r) if r.sent + r.failed >= crate::workers::mail::BATCH && !*stop.borrow() => continue,
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
        let started = std::time::Instant::now();
        match actix_web::rt::task::spawn_blocking(move || s.run_jobs(s.clock.now())).await {
            Ok(Ok(report)) => {
                let m = crate::metrics::get();
                m.scheduler_last_run.set(chrono::Utc::now().timestamp());
                m.scheduler_last_seconds.set(started.elapsed().as_secs_f64());
                for (change, n) in [
                    ("expired", report.expired),
                    ("suspended", report.suspended),
                    ("withdrawn", report.withdrawn),
                    ("failed", report.failed),
                ] {
                    m.scheduler_changes.with_label_values(&[change]).inc_by(n as u64);
                }
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

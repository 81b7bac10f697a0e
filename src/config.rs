//! Configuration: every setting as a command-line flag and an `ECOLABEL_*` (or `DATABASE_URL`) variable,
//! with defaults that let `ecolabel serve` run on a fresh checkout, checked once with a one-line error.

use crate::storage::DbUrl;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "ECOLABEL_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,
    /// Database: sqlite://path/to/file.db or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/registry.db", global = true)]
    pub database_url: String,
    /// Public base URL that QR codes point to, scheme and host only (default: http://<bind>).
    #[arg(long, env = "ECOLABEL_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Directory for data files (the default SQLite database lives under it).
    #[arg(long, env = "ECOLABEL_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Directory of the private signing keys (default: <data-dir>/keys).
    #[arg(long, env = "ECOLABEL_KEY_DIR", global = true)]
    pub key_dir: Option<PathBuf>,
    /// Directory of criteria files (<scheme>-v<version>.toml); the built-in v1 is used if it is missing.
    #[arg(long, env = "ECOLABEL_CRITERIA_DIR", default_value = "assets/criteria", global = true)]
    pub criteria_dir: PathBuf,
    /// Log output: text or json.
    #[arg(long, env = "ECOLABEL_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Name of the certification body printed on certificates.
    #[arg(long, env = "ECOLABEL_ISSUER_NAME", default_value = "Gold eco-label certification body", global = true)]
    pub issuer_name: String,
    /// The certification body's name in Kazakh (shown on Kazakh pages, the PDF's Kazakh lines and e-mails).
    #[arg(long, env = "ECOLABEL_ISSUER_NAME_KK", global = true)]
    pub issuer_name_kk: Option<String>,
    /// The certification body's name in Russian.
    #[arg(long, env = "ECOLABEL_ISSUER_NAME_RU", global = true)]
    pub issuer_name_ru: Option<String>,
    /// Postal address of the certification body.
    #[arg(long, env = "ECOLABEL_ISSUER_ADDRESS", default_value = "Astana, Republic of Kazakhstan", global = true)]
    pub issuer_address: String,
    /// Name of the person who signs certificates.
    #[arg(long, env = "ECOLABEL_SIGNATORY", default_value = "Head of Certification", global = true)]
    pub signatory: String,
    /// Title of the signatory.
    #[arg(long, env = "ECOLABEL_SIGNATORY_TITLE", default_value = "Head of the certification body", global = true)]
    pub signatory_title: String,
    /// Certificate validity in months.
    #[arg(long, env = "ECOLABEL_VALIDITY_MONTHS", default_value_t = 24, global = true)]
    pub validity_months: u32,
    /// Months between surveillance audits of a certificate, recorded at issuance (ISO/IEC 17065 7.9).
    #[arg(long, env = "ECOLABEL_SURVEILLANCE_MONTHS", default_value_t = 12, global = true)]
    pub surveillance_months: u32,
    /// Surveillance overdue by more than this many days suspends the certificate (scheduled work).
    #[arg(long, env = "ECOLABEL_SURVEILLANCE_GRACE_DAYS", default_value_t = 30, global = true)]
    pub surveillance_grace_days: u32,
    /// A certificate suspended longer than this many months is withdrawn (scheduled work).
    #[arg(long, env = "ECOLABEL_MAX_SUSPENSION_MONTHS", default_value_t = 6, global = true)]
    pub max_suspension_months: u32,
    /// Minutes between the scheduler's passes inside `serve` (the first at start); 0 runs none in this
    /// process (`ecolabel jobs run` from cron, or another replica, does the work).
    #[arg(long, env = "ECOLABEL_JOBS_INTERVAL", default_value_t = 60, global = true)]
    pub jobs_interval: u32,
    /// Seconds between the webhook sender's looks at its outbox; 0 turns the sender off in this process
    /// (another replica sends).
    #[arg(long, env = "ECOLABEL_WEBHOOK_INTERVAL", default_value_t = 2, global = true)]
    pub webhook_interval: u32,
    /// SMTP server for e-mail notifications, e.g. smtp://mail.example.kz:587?tls=required or
    /// smtps://user:pass@mail.example.kz; without it notifications are shown in the portal only.
    #[arg(long, env = "ECOLABEL_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// The sender of e-mail notifications.
    #[arg(long, env = "ECOLABEL_MAIL_FROM", default_value = "Gold eco-label registry <noreply@localhost>", global = true)]
    pub mail_from: String,
    /// Database connections in the pool (default: twice the CPU cores, at least 4; more connections than
    /// the cores can serve only make PostgreSQL's backends wait for each other).
    #[arg(long, env = "ECOLABEL_DB_POOL", global = true)]
    pub db_pool: Option<u32>,
    /// Public pages: requests per second allowed per client IP (sustained).
    #[arg(long, env = "ECOLABEL_PUBLIC_RATE", default_value_t = 20, global = true)]
    pub public_rate: u32,
    /// Public pages: burst allowance per client IP.
    #[arg(long, env = "ECOLABEL_PUBLIC_BURST", default_value_t = 60, global = true)]
    pub public_burst: u32,
    /// Signed-in sessions end after this many idle minutes.
    #[arg(long, env = "ECOLABEL_SESSION_IDLE_MINUTES", default_value_t = 30, global = true)]
    pub session_idle_minutes: u32,
    /// Signed-in sessions end this many hours after sign-in, however active.
    #[arg(long, env = "ECOLABEL_SESSION_MAX_HOURS", default_value_t = 12, global = true)]
    pub session_max_hours: u32,
    /// Sign-in forms: attempts allowed per client IP per minute (sustained), after a burst of as many.
    #[arg(long, env = "ECOLABEL_SIGNIN_RATE", default_value_t = 20, global = true)]
    pub signin_rate: u32,
    /// Load balancers / proxies (IP addresses, comma-separated) whose X-Forwarded-For names the client.
    #[arg(long = "trusted-proxy", env = "ECOLABEL_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<String>,
    /// The public log's origin line when the log is created (default: the public URL's host and path +
    /// `/log`). Stored with the log; an existing log keeps its own whatever this says.
    #[arg(long, env = "ECOLABEL_LOG_ORIGIN", global = true)]
    pub log_origin: Option<String>,
    /// A witness that cosigns the log's checkpoints: "<verifier key> <URL>" (C2SP tlog-witness); repeat it
    /// for several (in the variable, separate them with `;`).
    #[arg(long = "witness", env = "ECOLABEL_WITNESSES", value_delimiter = ';', global = true)]
    pub witnesses: Vec<String>,
    /// How many witnesses must cosign a checkpoint before /log/checkpoint serves it (default: a majority).
    #[arg(long, env = "ECOLABEL_WITNESS_QUORUM", global = true)]
    pub witness_quorum: Option<usize>,
    /// Seconds between checkpoints sent to each witness (the rate promised to them), while there are new
    /// entries; 0 sends none from this process (another replica sends).
    #[arg(long, env = "ECOLABEL_WITNESS_INTERVAL", default_value_t = 60, global = true)]
    pub witness_interval: u32,
    /// On SIGTERM, seconds that /readyz answers 503 before the listener closes (for the load balancer to
    /// notice); in-flight requests then finish.
    #[arg(long, env = "ECOLABEL_DRAIN_SECONDS", default_value_t = 5, global = true)]
    pub drain_seconds: u32,
    /// At start, how long to keep retrying (with backoff) a PostgreSQL server that cannot be reached
    /// before giving up; 0 gives up at once.
    #[arg(long, env = "ECOLABEL_DATABASE_WAIT_SECONDS", default_value_t = 300, global = true)]
    pub database_wait_seconds: u32,
    /// A PostgreSQL read replica (a hot standby of DATABASE_URL) for the public pages' reads; they go to the
    /// primary whenever the replica is further behind than --read-max-lag-ms or lacks this process's change.
    #[arg(long, env = "ECOLABEL_READ_DATABASE_URL", global = true)]
    pub read_database_url: Option<String>,
    /// How far behind the primary (in milliseconds, measured) the read replica may be and still serve.
    #[arg(long, env = "ECOLABEL_READ_MAX_LAG_MS", default_value_t = 1000, global = true)]
    pub read_max_lag_ms: u32,
    /// Let webhook subscribers be on loopback or private addresses (test set-ups only; refused by default,
    /// at registration and at delivery).
    #[arg(long, env = "ECOLABEL_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: bool,
    /// Serve /metrics on this address only (e.g. 127.0.0.1:9464), not on the main port.
    #[arg(long, env = "ECOLABEL_METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,
    /// Count every request in /metrics (by route, method and status, with its latency); `false` leaves
    /// only the figures read at scrape time and the other counters.
    #[arg(long, env = "ECOLABEL_REQUEST_METRICS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub request_metrics: bool,
    /// A request body may pause at most this many seconds, and after as many seconds must arrive at 4 KiB/s
    /// on average; slower, the request fails and its connection closes.
    #[arg(long, env = "ECOLABEL_BODY_TIMEOUT_SECONDS", default_value_t = 10, global = true)]
    pub body_timeout_seconds: u32,
    /// Requests in flight at once per client address (beyond: 429 and the connection closes).
    #[arg(long, env = "ECOLABEL_CLIENT_REQUESTS", default_value_t = 64, global = true)]
    pub client_requests: u32,
    /// Complaints the whole registry accepts in an hour (beyond: 429 until the hour has room).
    #[arg(long, env = "ECOLABEL_COMPLAINTS_PER_HOUR", default_value_t = 120, global = true)]
    pub complaints_per_hour: u32,
    /// Complaints about one certificate accepted in an hour.
    #[arg(long, env = "ECOLABEL_COMPLAINTS_PER_CERTIFICATE_HOUR", default_value_t = 10, global = true)]
    pub complaints_per_certificate_hour: u32,
    /// Storage for complaint photos, in MiB; when full, complaints are taken without a photo only.
    #[arg(long, env = "ECOLABEL_COMPLAINT_PHOTO_QUOTA_MB", default_value_t = 2048, global = true)]
    pub complaint_photo_quota_mb: u64,
    /// Complaints an hour that each send officers a message; beyond, one digest an hour per officer.
    #[arg(long, env = "ECOLABEL_COMPLAINT_MESSAGES_PER_HOUR", default_value_t = 5, global = true)]
    pub complaint_messages_per_hour: u32,
}

/// A witness the registry asks for cosignatures: its verifier key, its name (from the key) and URL prefix.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    pub name: String,
    pub vkey: String,
    pub url: String,
}

impl WitnessTarget {
    /// From "<verifier key> <URL>": the key must be a cosignature/v1 verifier key, the URL http(s).
    pub fn parse(text: &str) -> Result<WitnessTarget, String> {
        let (vkey, url) = text
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("`{text}` is not \"<verifier key> <URL>\""))?;
        let verifier = crate::domain::witness::CosignatureVerifier::parse(vkey)?;
        let url = url.trim().trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(char::is_whitespace) {
            return Err(format!("`{url}` is not an http(s) URL"));
        }
        Ok(WitnessTarget {
            name: verifier.name().to_string(),
            vkey: vkey.to_string(),
            url: url.to_string(),
        })
    }
}

/// Settings after checking: the values the program runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: DbUrl,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub key_dir: PathBuf,
    pub criteria_dir: PathBuf,
    pub log_format: LogFormat,
    pub issuer_name: String,
    /// The issuer's name in Kazakh and Russian (None: not given; pages show `issuer_name`).
    pub issuer_name_kk: Option<String>,
    pub issuer_name_ru: Option<String>,
    pub issuer_address: String,
    pub signatory: String,
    pub signatory_title: String,
    pub validity_months: u32,
    pub surveillance_months: u32,
    /// The scheduler's grace days and longest suspension.
    pub schedule: crate::domain::surveillance::Policy,
    /// Minutes between the scheduler's passes in `serve`; 0: none in this process.
    pub jobs_interval: u32,
    /// Seconds between the webhook sender's passes; 0: no sender in this process.
    pub webhook_interval: u32,
    /// Where e-mail notifications go out (None: the portal shows them only).
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub db_pool: u32,
    pub public_rate: u32,
    pub public_burst: u32,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub sessions: crate::app::accounts::SessionRules,
    pub signin_rate: u32,
    /// The origin a new public log takes (None: from the public URL).
    pub log_origin: Option<String>,
    pub witnesses: Vec<WitnessTarget>,
    /// Cosignatures /log/checkpoint needs (0 when there are no witnesses).
    pub witness_quorum: usize,
    /// Seconds between sends to each witness; 0: none from this process.
    pub witness_interval: u32,
    /// Seconds /readyz answers 503 after SIGTERM before the listener closes.
    pub drain_seconds: u32,
    /// Seconds to keep retrying an unreachable PostgreSQL at start.
    pub database_wait_seconds: u32,
    /// The read replica for public reads (PostgreSQL only), and how far behind it may be.
    pub read_database: Option<DbUrl>,
    pub read_max_lag: std::time::Duration,
    /// Webhook subscribers may be on loopback or private addresses.
    pub webhook_allow_private: bool,
    /// Where /metrics is served instead of the main port.
    pub metrics_bind: Option<SocketAddr>,
    /// Whether each request is counted in /metrics.
    pub request_metrics: bool,
    /// Longest pause in a request body (and the grace before its minimum rate applies).
    pub body_timeout_seconds: u32,
    /// Requests in flight at once per client address.
    pub client_requests: u32,
    /// Ceilings on anonymous complaints.
    pub complaints: crate::app::complaints::Ceilings,
}

fn setting(flag: &str, env: &str, why: impl std::fmt::Display) -> String {
    format!("invalid setting --{flag} ({env}): {why}")
}

/// Accept `http(s)://host[:port]` only: QR codes upper-case the URL, so a path would change meaning.
pub fn check_public_url(url: &str) -> Result<String, String> {
    let u = url.trim().trim_end_matches('/');
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if rest.is_empty() {
        return Err("names no host".into());
    }
    if rest.contains('/') || rest.contains('?') || rest.contains('#') || rest.contains('@') {
        return Err("must be scheme and host only, without a path (QR codes upper-case it)".into());
    }
    if !rest.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)) {
        return Err("the host may only use letters, digits, '.', '-' and a :port".into());
    }
    Ok(u.to_string())
}

impl Config {
    /// The issuer's name in `lang` (kk or ru) for a certificate issued under `issuer`: the setting, when the
    /// certificate names this registry's issuer (an older certificate under another name keeps its own).
    pub fn issuer_translation(&self, lang: &str, issuer: &str) -> Option<&str> {
        if issuer != self.issuer_name {
            return None;
        }
        match lang {
            "kk" => self.issuer_name_kk.as_deref(),
            "ru" => self.issuer_name_ru.as_deref(),
            _ => None,
        }
    }
}

impl Settings {
    pub fn check(&self) -> Result<Config, String> {
        let bind: SocketAddr = self
            .bind
            .parse()
            .map_err(|e| setting("bind", "ECOLABEL_BIND", format!("`{}` is not host:port ({e})", self.bind)))?;
        let database = DbUrl::parse(&self.database_url).map_err(|e| setting("database-url", "DATABASE_URL", e))?;
        let public_url = match &self.public_url {
            Some(u) => check_public_url(u).map_err(|e| setting("public-url", "ECOLABEL_PUBLIC_URL", format!("`{u}` {e}")))?,
            None => format!("http://{bind}"),
        };
        if !(1..=120).contains(&self.validity_months) {
            return Err(setting("validity-months", "ECOLABEL_VALIDITY_MONTHS", "must be between 1 and 120"));
        }
        if !(1..=120).contains(&self.surveillance_months) {
            return Err(setting("surveillance-months", "ECOLABEL_SURVEILLANCE_MONTHS", "must be between 1 and 120"));
        }
        if self.surveillance_grace_days > 365 {
            return Err(setting(
                "surveillance-grace-days",
                "ECOLABEL_SURVEILLANCE_GRACE_DAYS",
                "must be between 0 and 365",
            ));
        }
        if !(1..=120).contains(&self.max_suspension_months) {
            return Err(setting("max-suspension-months", "ECOLABEL_MAX_SUSPENSION_MONTHS", "must be between 1 and 120"));
        }
        if self.jobs_interval > 1440 {
            return Err(setting("jobs-interval", "ECOLABEL_JOBS_INTERVAL", "must be between 0 and 1440"));
        }
        if self.webhook_interval > 3600 {
            return Err(setting("webhook-interval", "ECOLABEL_WEBHOOK_INTERVAL", "must be between 0 and 3600"));
        }
        let smtp_url = self.smtp_url.clone().filter(|u| !u.trim().is_empty());
        if let Some(u) = &smtp_url {
            crate::workers::mail::Mailer::new(u, &self.mail_from, "http://localhost").map_err(|e| setting("smtp-url", "ECOLABEL_SMTP_URL", e))?;
        }
        self.mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| setting("mail-from", "ECOLABEL_MAIL_FROM", format!("`{}` is not an address: {e}", self.mail_from)))?;
        let db_pool = self.db_pool.unwrap_or_else(default_pool);
        if !(1..=256).contains(&db_pool) {
            return Err(setting("db-pool", "ECOLABEL_DB_POOL", "must be between 1 and 256"));
        }
        if self.public_rate == 0 || self.public_burst == 0 {
            return Err(setting("public-rate", "ECOLABEL_PUBLIC_RATE", "rate and burst must be at least 1"));
        }
        for (flag, env, v) in [
            ("issuer-name", "ECOLABEL_ISSUER_NAME", &self.issuer_name),
            ("issuer-address", "ECOLABEL_ISSUER_ADDRESS", &self.issuer_address),
            ("signatory", "ECOLABEL_SIGNATORY", &self.signatory),
            ("signatory-title", "ECOLABEL_SIGNATORY_TITLE", &self.signatory_title),
        ] {
            if v.trim().is_empty() || v.chars().count() > 200 {
                return Err(setting(flag, env, "must be 1 to 200 characters"));
            }
        }
        for (flag, env, v) in [
            ("issuer-name-kk", "ECOLABEL_ISSUER_NAME_KK", &self.issuer_name_kk),
            ("issuer-name-ru", "ECOLABEL_ISSUER_NAME_RU", &self.issuer_name_ru),
        ] {
            if v.as_deref().is_some_and(|v| v.chars().count() > 200) {
                return Err(setting(flag, env, "must be at most 200 characters"));
            }
        }
        if !(1..=1440).contains(&self.session_idle_minutes) {
            return Err(setting("session-idle-minutes", "ECOLABEL_SESSION_IDLE_MINUTES", "must be between 1 and 1440"));
        }
        if !(1..=720).contains(&self.session_max_hours) {
            return Err(setting("session-max-hours", "ECOLABEL_SESSION_MAX_HOURS", "must be between 1 and 720"));
        }
        if !(1..=100_000).contains(&self.signin_rate) {
            return Err(setting("signin-rate", "ECOLABEL_SIGNIN_RATE", "must be between 1 and 100000"));
        }
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.trim()
                    .parse()
                    .map_err(|_| setting("trusted-proxy", "ECOLABEL_TRUSTED_PROXIES", format!("`{p}` is not an IP address")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let log_origin = match self.log_origin.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(o) if signed_note::is_key_name_valid(o) => Some(o.to_string()),
            Some(o) => {
                return Err(setting(
                    "log-origin",
                    "ECOLABEL_LOG_ORIGIN",
                    format!("`{o}` must be one word without `+` (e.g. registry.example.kz/log)"),
                ))
            }
        };
        let witnesses = self
            .witnesses
            .iter()
            .filter(|w| !w.trim().is_empty())
            .map(|w| WitnessTarget::parse(w).map_err(|e| setting("witness", "ECOLABEL_WITNESSES", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut names: Vec<&str> = witnesses.iter().map(|w| w.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() != witnesses.len() {
            return Err(setting("witness", "ECOLABEL_WITNESSES", "two witnesses have the same name"));
        }
        let witness_quorum = self.witness_quorum.unwrap_or(witnesses.len() / 2 + usize::from(!witnesses.is_empty()));
        if witness_quorum > witnesses.len() || (witness_quorum == 0 && !witnesses.is_empty()) {
            return Err(setting(
                "witness-quorum",
                "ECOLABEL_WITNESS_QUORUM",
                format!("must be between 1 and the {} witnesses given", witnesses.len()),
            ));
        }
        if self.witness_interval > 86_400 {
            return Err(setting("witness-interval", "ECOLABEL_WITNESS_INTERVAL", "must be between 0 and 86400"));
        }
        if self.drain_seconds > 300 {
            return Err(setting("drain-seconds", "ECOLABEL_DRAIN_SECONDS", "must be between 0 and 300"));
        }
        let metrics_bind = match self.metrics_bind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) => Some(
                a.parse()
                    .map_err(|e| setting("metrics-bind", "ECOLABEL_METRICS_BIND", format!("`{a}` is not host:port ({e})")))?,
            ),
        };
        if !(1..=600).contains(&self.body_timeout_seconds) {
            return Err(setting("body-timeout-seconds", "ECOLABEL_BODY_TIMEOUT_SECONDS", "must be between 1 and 600"));
        }
        if self.client_requests == 0 {
            return Err(setting("client-requests", "ECOLABEL_CLIENT_REQUESTS", "must be at least 1"));
        }
        let read_database = match self.read_database_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => match DbUrl::parse(u).map_err(|e| setting("read-database-url", "ECOLABEL_READ_DATABASE_URL", e))? {
                r @ DbUrl::Postgres(_) if matches!(database, DbUrl::Postgres(_)) => Some(r),
                _ => {
                    return Err(setting(
                        "read-database-url",
                        "ECOLABEL_READ_DATABASE_URL",
                        "a read replica is a PostgreSQL standby of a PostgreSQL DATABASE_URL",
                    ))
                }
            },
        };
        if !(10..=60_000).contains(&self.read_max_lag_ms) {
            return Err(setting("read-max-lag-ms", "ECOLABEL_READ_MAX_LAG_MS", "must be between 10 and 60000"));
        }
        Ok(Config {
            request_metrics: self.request_metrics,
            complaints: crate::app::complaints::Ceilings {
                per_hour: i64::from(self.complaints_per_hour),
                per_certificate_hour: i64::from(self.complaints_per_certificate_hour),
                photo_bytes: i64::try_from(self.complaint_photo_quota_mb.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX),
                messages_per_hour: i64::from(self.complaint_messages_per_hour),
            },
            body_timeout_seconds: self.body_timeout_seconds,
            client_requests: self.client_requests,
            metrics_bind,
            drain_seconds: self.drain_seconds,
            webhook_allow_private: self.webhook_allow_private,
            read_database,
            read_max_lag: std::time::Duration::from_millis(u64::from(self.read_max_lag_ms)),
            database_wait_seconds: self.database_wait_seconds,
            log_origin,
            witnesses,
            witness_quorum,
            witness_interval: self.witness_interval,
            trusted_proxies,
            bind,
            database,
            public_url,
            key_dir: self.key_dir.clone().unwrap_or_else(|| self.data_dir.join("keys")),
            data_dir: self.data_dir.clone(),
            criteria_dir: self.criteria_dir.clone(),
            log_format: self.log_format,
            issuer_name: self.issuer_name.trim().to_string(),
            issuer_name_kk: self.issuer_name_kk.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string),
            issuer_name_ru: self.issuer_name_ru.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string),
            issuer_address: self.issuer_address.trim().to_string(),
            signatory: self.signatory.trim().to_string(),
            signatory_title: self.signatory_title.trim().to_string(),
            validity_months: self.validity_months,
            surveillance_months: self.surveillance_months,
            schedule: crate::domain::surveillance::Policy {
                grace_days: self.surveillance_grace_days,
                max_suspension_months: self.max_suspension_months,
            },
            jobs_interval: self.jobs_interval,
            webhook_interval: self.webhook_interval,
            smtp_url,
            mail_from: self.mail_from.clone(),
            db_pool,
            public_rate: self.public_rate,
            public_burst: self.public_burst,
            sessions: crate::app::accounts::SessionRules {
                idle: chrono::Duration::minutes(i64::from(self.session_idle_minutes)),
                absolute: chrono::Duration::hours(i64::from(self.session_max_hours)),
            },
            signin_rate: self.signin_rate,
        })
    }
}

/// Twice the CPU cores, at least 4.
fn default_pool() -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_must_have_no_path() {
        assert_eq!(check_public_url("https://registry.example.kz/").unwrap(), "https://registry.example.kz");
        assert!(check_public_url("https://x.kz/registry").is_err());
        assert!(check_public_url("ftp://x").is_err());
        assert!(check_public_url("http://").is_err());
        assert_eq!(check_public_url("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
    }
}

//! The `ecolabel` command line: serve, migrate, keys, users, verify and demo, with `--help` for each.
//! Commands that change data go through the same storage functions as the HTTP API.

pub mod batch;
pub mod demo;
pub mod monitor;
pub mod seed;

use crate::config::{Config, Settings};
use crate::domain::auth::{parse_roles, Caller};
use crate::domain::lifecycle::PublicStatus;
use crate::domain::signing::{self, Jwks, Verdict};
use crate::keys::Keyring;
use crate::storage::{self, Db};
use crate::{startup, telemetry};
use clap::{Parser, Subcommand};
use sha2::Digest;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "ecolabel", version, about = "Gold eco-label registry: audits, independent decisions, signed certificates, public verification.", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the registry (HTTP API, public pages); migrates the database first.
    Serve {
        /// Refuse to start without an existing signing key (production); otherwise one is generated.
        #[arg(long, env = "ECOLABEL_REQUIRE_KEY")]
        require_key: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage the Ed25519 signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage users and their bearer tokens.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Check a certificate's signature offline: QR text, URL, base32 token or a certificate PDF.
    Verify {
        /// The QR text (or /V/ URL, or bare token), or the path of a certificate PDF.
        input: String,
        /// JWKS file with the issuer's public keys (default: the keys in the key directory).
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// A proof that the public log records this certificate: a C2SP tlog-proof file
        /// (`/certificates/{number}/proof`, `<number>.tlog-proof`), or the `log` object of the certificate's
        /// JSON; checked against the log key (and the witnesses' keys given).
        #[arg(long)]
        proof: Option<PathBuf>,
        /// The log's note verifier key (text of `/log/vkey`, or a file holding it); default: the log key
        /// in the key directory.
        #[arg(long)]
        log_vkey: Option<String>,
        /// A witness's verifier key (or a file holding it) whose cosignature the proof's checkpoint must
        /// carry; repeatable.
        #[arg(long = "witness-vkey")]
        witness_vkeys: Vec<String>,
        /// How many of the witnesses given must have cosigned (default: all of them).
        #[arg(long)]
        quorum: Option<usize>,
    },
    /// A witness for C2SP transparency logs (ours or another registry's): `serve` cosigns checkpoints
    /// (C2SP tlog-witness), `vkey` prints its verifier key. Give it its own --key-dir.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// The public transparency log.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Write a backup while `serve` runs: one file with a consistent copy of the database (SQLite: VACUUM
    /// INTO; PostgreSQL: pg_dump — see docs/operations.md for base backups) and the key directory sealed
    /// with the passphrase.
    Backup {
        /// The file to write (refused if it exists).
        #[arg(long)]
        out: PathBuf,
        /// A file whose first line is the passphrase that seals the key directory (12 characters or more).
        #[arg(long)]
        passphrase_file: PathBuf,
    },
    /// Rebuild a registry from a backup into --data-dir (refused unless it is empty or missing): the keys
    /// into <data-dir>/keys, the database into <data-dir>/registry.db, or for a PostgreSQL backup into the
    /// empty database of --database-url.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// A file whose first line is the backup's passphrase.
        #[arg(long)]
        passphrase_file: PathBuf,
    },
    /// Seed the Smart Plastic Zone example end to end and print its links.
    Demo,
    /// Scheduled work (it also runs inside `serve`, at start and every `--jobs-interval` minutes).
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Write the open data snapshot now (it is also written daily inside `serve`): every certificate's public
    /// facts as `certificates.jsonl.gz` and `certificates.csv.gz` with a manifest of sizes and SHA-256.
    Export {
        /// The folder to write into (default: `<data-dir>/open-data`, the one `serve` publishes under /data/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Render the PDFs of many certificates into one zip file (register order, newest first), on every core.
    PdfBatch {
        /// The zip file to write.
        #[arg(long)]
        out: PathBuf,
        /// Only certificates with this status now: valid, suspended, withdrawn, expired or superseded.
        #[arg(long)]
        status: Option<String>,
        /// Only certificates of venues in this city.
        #[arg(long)]
        city: Option<String>,
        /// At most this many certificates.
        #[arg(long)]
        limit: Option<usize>,
        /// Render threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// A benchmarking tool: fill an empty registry with venues, audits and signed certificates through the
    /// same operations people use (for load tests; refuses a database holding data unless --force).
    Seed {
        /// How many certificates to issue (each from an approved audit).
        #[arg(long)]
        certificates: usize,
        /// How many venues to spread them over (default: one per certificate).
        #[arg(long)]
        venues: Option<usize>,
        /// How many more audits to leave submitted, in the officers' queue.
        #[arg(long, default_value_t = 0)]
        submitted: usize,
        /// Add to a database that already holds venues, audits or certificates.
        #[arg(long)]
        force: bool,
        /// Certificates per issuance year at most (numbers have six digits a year): more start years back.
        #[arg(long, default_value_t = crate::cli::seed::PER_YEAR)]
        per_year: usize,
    },
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// One pass: record expiries, suspend certificates whose surveillance is overdue by more than
    /// --surveillance-grace-days, withdraw those suspended longer than --max-suspension-months. Prints
    /// what it did as JSON. Running it again for the same time changes nothing more.
    Run {
        /// Act as if it were this time (RFC 3339, e.g. 2027-01-20T09:00:00Z); default now.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum LogCommand {
    /// Monitor a registry's log: checkpoint signature, tree rebuilt from tiles and entries, consistency
    /// with the last checkpoint seen (kept in --state), and each certificate's status against its latest
    /// entry. Exits 1 and names what differs.
    Verify {
        /// The registry's base URL, e.g. https://registry.example.kz
        url: String,
        /// Where to keep the pinned log key and the last checkpoint seen between runs.
        #[arg(long)]
        state: Option<PathBuf>,
        /// A witness's verifier key: the served checkpoint must carry its cosignature (repeatable).
        #[arg(long = "witness-vkey")]
        witness_vkeys: Vec<String>,
        /// How many of the witnesses given must have cosigned (default: all of them).
        #[arg(long)]
        quorum: Option<usize>,
    },
}

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Serve POST /add-checkpoint on --bind for the logs given with --log; the key is made in --key-dir
    /// on first use, the state (each log's latest cosigned size) kept in --state.
    Serve {
        /// The witness's name, a schema-less URL (e.g. witness.example.kz/w1); it is part of its key.
        #[arg(long, env = "ECOLABEL_WITNESS_NAME")]
        name: String,
        /// A log to follow: its note verifier key (the text of the log's /log/vkey); repeat for several.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
        /// The state file (SQLite; default: <key-dir>/witness.db).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Print the witness's verifier key (made in --key-dir on first use), for the logs' `--witness`.
    Vkey {
        #[arg(long, env = "ECOLABEL_WITNESS_NAME")]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key; it signs from now on if no key is active, else it waits (pending) for `rotate`.
    Generate,
    /// List keys: kid, status, dates, and whether the private key is in the key directory.
    List,
    /// Create a new key and make it the one that signs; the previous key retires (still verifies).
    Rotate,
    /// Stop a key from signing; it stays published so that what it signed keeps verifying.
    Retire { kid: String },
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user and print its bearer token once (on stdout; details on stderr).
    Create {
        /// admin, officer, assessor or venue; several comma-separated (assessor,officer).
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<String>,
        #[arg(long)]
        name: String,
        /// For venue users: the venue id they belong to.
        #[arg(long)]
        venue: Option<i64>,
    },
    /// List users.
    List,
    /// Revoke a token by its id (see the id printed at creation).
    RevokeToken { token_id: i64 },
    /// Issue another token for a user (printed once).
    NewToken { user_id: i64 },
    /// Invite a person: creates the user and prints a single-use link (72 h) to set a password.
    Invite {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, officer, assessor or venue; several comma-separated (assessor,officer).
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<String>,
        /// For venue managers: the venue id they belong to.
        #[arg(long)]
        venue: Option<i64>,
    },
    /// Print a new single-use link (72 h) for a person to set a new password; older links stop working.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// Give an existing user (made before sign-in existed) the e-mail address they sign in with.
    SetEmail {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        email: String,
    },
    /// Lift the sign-in wait of a person after failed attempts.
    Unlock {
        #[arg(long)]
        email: String,
    },
    /// Remove a person's second factor (a lost phone): they set it up again at their next sign-in.
    ResetSecondFactor {
        #[arg(long)]
        email: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.settings.check() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let code = match run(cli.command, config) {
        Ok(code) => code,
        Err(e) => {
            telemetry::flush();
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    };
    telemetry::flush();
    code
}

fn open_db(config: &Config) -> Result<Db, String> {
    Db::open_with(&config.database, 2, 0)
}

fn run(command: Command, config: Config) -> Result<ExitCode, String> {
    match command {
        Command::Serve { require_key } => {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let app = startup::Application::build(config, require_key)?;
                app.run_until_stopped().await.map_err(|e| e.to_string())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let mut conn = storage::connect(&config.database)
                .map_err(|e| format!("cannot open the {} database {}: {e}", config.database.backend(), config.database.redacted()))?;
            let applied = storage::migrate(&mut conn)?;
            eprintln!("{} migration(s) applied on {}", applied.len(), config.database.redacted());
            // Certificates issued before the public log existed get their entries now.
            let proposed = config.log_origin.clone().unwrap_or_else(|| crate::domain::log::origin(&config.public_url));
            let log_key = crate::keys::log_key(&config.key_dir)?;
            let filled = diesel::Connection::transaction(&mut conn, |c| {
                let key = crate::domain::log::LogKey::new(storage::witnessing::fix_origin(c, &proposed)?, log_key);
                storage::log::backfill(c, &key)
            })
            .map_err(|e| format!("cannot fill the public log: {e}"))?;
            if filled > 0 {
                eprintln!("{filled} existing certificate(s) recorded in the public log");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command } => keys(command, &config),
        Command::Users { command } => users(command, &config),
        Command::Verify {
            input,
            jwks,
            proof,
            log_vkey,
            witness_vkeys,
            quorum,
        } => {
            let witnesses = read_vkeys(&witness_vkeys)?;
            let quorum = quorum.unwrap_or(witnesses.len());
            if quorum > witnesses.len() {
                return Err(format!("--quorum {quorum} is more than the {} witness keys given", witnesses.len()));
            }
            let code = verify(&input, jwks.as_deref(), &config)?;
            match proof {
                Some(p) if code == ExitCode::SUCCESS || code == ExitCode::from(3) => {
                    let policy = crate::cli::monitor::Policy { witnesses, quorum };
                    verify_proof(&input, &p, log_vkey.as_deref(), &policy, &config).map(|ok| ok.unwrap_or(code))
                }
                _ => Ok(code),
            }
        }
        Command::Log {
            command: LogCommand::Verify {
                url,
                state,
                witness_vkeys,
                quorum,
            },
        } => log_verify(&url, state.as_deref(), &witness_vkeys, quorum),
        Command::Witness { command } => witness(command, &config),
        Command::Demo => crate::cli::demo::run(&config),
        Command::Backup { out, passphrase_file } => {
            let pass = crate::app::backup::read_passphrase(&passphrase_file)?;
            let started = std::time::Instant::now();
            let m = crate::app::backup::backup(&config, &out, &pass)?;
            if m.backend == "postgres" {
                eprintln!("PostgreSQL: the database is in the file as a pg_dump (one consistent snapshot). For point-in-time recovery keep base backups and WAL archives as well (pg_basebackup; docs/operations.md).");
            }
            println!(
                "backup: {} ({} certificates, log of {} entries, {} key files) in {:.1} s",
                out.display(),
                m.certificates,
                m.log_size,
                m.key_files.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file, passphrase_file } => {
            let pass = crate::app::backup::read_passphrase(&passphrase_file)?;
            let postgres = match &config.database {
                storage::DbUrl::Postgres(u) => Some(u.clone()),
                storage::DbUrl::Sqlite(_) => None,
            };
            let started = std::time::Instant::now();
            let r = crate::app::backup::restore(&file, &config.data_dir, &pass, postgres.as_deref())?;
            println!(
                "restored: {} certificates, log of {} entries, in {:.1} s; start it with:\nDATABASE_URL={} ECOLABEL_DATA_DIR={} ecolabel serve",
                r.manifest.certificates,
                r.manifest.log_size,
                started.elapsed().as_secs_f64(),
                r.database_url,
                config.data_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs {
            command: JobsCommand::Run { at },
        } => {
            let now = match at.as_deref() {
                None => storage::now(),
                Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                    .map_err(|e| format!("--at `{t}` is not an RFC 3339 time (e.g. 2027-01-20T09:00:00Z): {e}"))?
                    .naive_utc(),
            };
            let state = crate::startup::build_context(&config, false)?;
            let report = crate::workers::scheduler::run(&state, now).map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(if report.failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Command::Export { out } => {
            let app = crate::startup::build_context(&config, false)?;
            let dir = out.unwrap_or_else(|| crate::app::export::dir_of(&app));
            let started = std::time::Instant::now();
            let m = crate::app::export::write(&app, &dir).map_err(|e| e.to_string())?;
            for f in &m.files {
                println!("{}\t{}\t{}", dir.join(&f.name).display(), f.bytes, f.sha256);
            }
            eprintln!("{} certificates exported in {:.1} s", m.certificates, started.elapsed().as_secs_f64());
            Ok(ExitCode::SUCCESS)
        }
        Command::PdfBatch {
            out,
            status,
            city,
            limit,
            jobs,
        } => {
            let status = match status.as_deref() {
                None | Some("") => None,
                Some(s) => Some(PublicStatus::parse(s).ok_or_else(|| format!("unknown status `{s}`: valid, suspended, withdrawn, expired or superseded"))?),
            };
            let state = crate::startup::build_context(&config, false)?;
            let jobs = jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
                .max(1);
            let (_, line) = crate::cli::batch::run(
                &state,
                &crate::cli::batch::Batch {
                    out,
                    status,
                    city,
                    limit,
                    jobs,
                },
            )?;
            eprintln!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed {
            certificates,
            venues,
            submitted,
            force,
            per_year,
        } => {
            let state = crate::startup::build_context(&config, false)?;
            let plan = crate::cli::seed::Plan {
                certificates,
                venues: venues.unwrap_or(certificates),
                submitted,
                force,
                per_year,
            };
            for line in crate::cli::seed::run(&state, &plan)? {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn keys(command: KeysCommand, config: &Config) -> Result<ExitCode, String> {
    let db = open_db(config)?;
    let keyring = Keyring::load(&config.key_dir)?;
    let actor = Caller::system("cli");
    match command {
        KeysCommand::Generate | KeysCommand::Rotate => {
            let rotate = matches!(command, KeysCommand::Rotate);
            let active = db.read_blocking(crate::app::keys::active).map_err(|e| e.to_string())?;
            let (kid, public) = keyring.generate()?;
            let activate = rotate || active.is_none();
            db.write_blocking(|c| {
                if rotate {
                    crate::app::keys::rotate(c, &actor, &kid, public.as_bytes())
                } else {
                    crate::app::keys::publish(c, &actor, &kid, public.as_bytes(), activate)
                }
            })
            .map_err(|e| e.to_string())?;
            let file = keyring.dir().join(format!("{kid}.pem"));
            println!("{kid}");
            eprintln!(
                "key {kid} written to {} ({})",
                file.display(),
                if activate {
                    "active: signs from now on"
                } else {
                    "pending: run `ecolabel keys rotate` to switch"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::List => {
            let rows = db.read_blocking(|c| crate::app::keys::list(c, &actor)).map_err(|e| e.to_string())?;
            let local = keyring.kids();
            println!("{:<12} {:<8} {:<20} {:<20} private key", "kid", "status", "created", "retired");
            for r in rows {
                let retired = r.retired_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "-".into());
                let here = if local.contains(&r.kid) { "present" } else { "absent" };
                println!(
                    "{:<12} {:<8} {:<20} {:<20} {here}",
                    r.kid,
                    r.status,
                    r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    retired
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Retire { kid } => {
            db.write_blocking(|c| crate::app::keys::retire(c, &actor, &kid)).map_err(|e| match e {
                crate::app::Error::Storage(storage::Error::NotFound) => format!("no key {kid}"),
                e => e.to_string(),
            })?;
            eprintln!("key {kid} retired: it no longer signs, and stays published for verification");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The command line as the "client" of an auth event.
fn cli_client() -> crate::app::accounts::Client {
    crate::app::accounts::Client {
        ip: "cli".into(),
        user_agent: "ecolabel command line".into(),
    }
}

fn user_by_email(c: &mut storage::DbConn, email: &str) -> storage::Result<storage::models::UserRow> {
    let e = crate::domain::account::Email::parse(email).map_err(|m| storage::Error::invalid("invalid_email", m, vec![]))?;
    storage::accounts::user_by_email(c, e.as_str())?
        .ok_or_else(|| storage::Error::invalid("unknown_email", format!("no user with the e-mail address {e}"), vec![]))
}

fn users(command: UsersCommand, config: &Config) -> Result<ExitCode, String> {
    let db = open_db(config)?;
    let actor = Caller::system("cli");
    match command {
        UsersCommand::Create { role, name, venue } => {
            let roles = parse_roles(&role.join(","))?;
            let created = db
                .write_blocking(|c| crate::app::users::create_with_token(c, &actor, &name, &roles, venue))
                .map_err(|e| e.to_string())?;
            eprintln!(
                "user {} ({}) created with role(s) {}; token id {} — the token below is shown once:",
                created.user.id, created.user.name, created.user.roles, created.token_id
            );
            println!("{}", created.token);
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::List => {
            for u in db.read_blocking(|c| crate::app::users::list(c, &actor)).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.id,
                    u.name,
                    u.roles,
                    u.venue_id.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                    u.email.as_deref().unwrap_or("-")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::RevokeToken { token_id } => {
            db.write_blocking(|c| crate::app::accounts::revoke_token(c, &actor, token_id))
                .map_err(|e| match e {
                    crate::app::Error::Storage(storage::Error::NotFound) => format!("no token {token_id}"),
                    e => e.to_string(),
                })?;
            eprintln!("token {token_id} revoked");
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::Invite { email, name, role, venue } => {
            let roles = parse_roles(&role.join(","))?;
            let link = db
                .write_blocking(|c| {
                    let p = crate::app::accounts::NewPerson {
                        email: &email,
                        name: &name,
                        roles: &roles,
                        venue_id: venue,
                    };
                    crate::app::accounts::invite(c, &actor, &cli_client(), p, &config.public_url, storage::now())
                })
                .map_err(|e| e.to_string())?;
            eprintln!(
                "user {} ({}, {}) invited as {}; the link below works once, until {} UTC:",
                link.user.id,
                link.user.name,
                email.trim().to_lowercase(),
                link.user.roles,
                link.expires_at.format("%Y-%m-%d %H:%M")
            );
            println!("{}", link.url);
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::ResetPassword { email } => {
            let link = db
                .write_blocking(|c| {
                    let user = user_by_email(c, &email)?;
                    crate::app::accounts::password_link(c, &actor, &cli_client(), user.id, &config.public_url, storage::now())
                })
                .map_err(|e| match e {
                    crate::app::Error::Storage(storage::Error::NotFound) => format!("no user with the e-mail address {email}"),
                    e => e.to_string(),
                })?;
            eprintln!(
                "a new password link for user {} ({}); it works once, until {} UTC:",
                link.user.id,
                link.user.name,
                link.expires_at.format("%Y-%m-%d %H:%M")
            );
            println!("{}", link.url);
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::SetEmail { id, email } => {
            let user = db
                .write_blocking(|c| crate::app::accounts::set_email(c, &actor, &cli_client(), id, &email))
                .map_err(|e| match e {
                    crate::app::Error::Storage(storage::Error::NotFound) => format!("no user {id}"),
                    e => e.to_string(),
                })?;
            eprintln!("user {} ({}) signs in as {}", user.id, user.name, user.email.unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::Unlock { email } => {
            let was = db
                .write_blocking(|c| {
                    let user = user_by_email(c, &email)?;
                    crate::app::accounts::unlock(c, &actor, &cli_client(), user.id)
                })
                .map_err(|e| e.to_string())?;
            eprintln!("{email}: {}", if was { "unlocked" } else { "was not locked" });
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::ResetSecondFactor { email } => {
            db.write_blocking(|c| {
                let user = user_by_email(c, &email)?;
                crate::app::accounts::reset_second_factor(c, &actor, &cli_client(), user.id)
            })
            .map_err(|e| e.to_string())?;
            eprintln!("{email}: second factor removed, sessions ended; they set it up again at their next sign-in");
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::NewToken { user_id } => {
            let crate::app::users::NewUser { token_id: id, token, .. } = db
                .write_blocking(|c| crate::app::users::issue_token(c, &actor, user_id, "cli-issued"))
                .map_err(|e| match e {
                    crate::app::Error::Storage(storage::Error::NotFound) => format!("no user {user_id}"),
                    e => e.to_string(),
                })?;
            eprintln!("token {id} for user {user_id} — shown once:");
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Exit codes: 0 valid, 1 not valid (forged, altered, unknown key, unreadable), 3 genuine but expired.
fn verify(input: &str, jwks: Option<&std::path::Path>, config: &Config) -> Result<ExitCode, String> {
    let keys: Vec<ed25519_dalek::VerifyingKey> = match jwks {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let set: Jwks = serde_json::from_str(&text).map_err(|e| format!("{} is not a JWKS: {e}", path.display()))?;
            set.keys
                .iter()
                .filter_map(|k| k.verifying_key().map_err(|e| eprintln!("skipping a key: {e}")).ok())
                .collect()
        }
        None => Keyring::load(&config.key_dir)?.public_keys(),
    };
    let text = if std::path::Path::new(input).is_file() {
        let bytes = std::fs::read(input).map_err(|e| format!("cannot read {input}: {e}"))?;
        crate::render::pdf::find_qr_text(&bytes).ok_or_else(|| format!("{input}: no certificate QR text found in the file"))?
    } else {
        input.to_string()
    };
    let result = signing::decode_qr_text(&text).and_then(|token| signing::verify_token(&token, signing::key_in(&keys)));
    let verdict = signing::offline_verdict(&result, chrono::Utc::now().timestamp());
    println!("verdict: {}", verdict.as_str());
    match &result {
        Ok(v) => {
            let c = &v.claims;
            let ts = |s: i64| chrono::DateTime::from_timestamp(s, 0).map(|t| t.to_rfc3339()).unwrap_or_else(|| s.to_string());
            println!(
                "number: {}\nvenue: {}\nlevel: {}\nscheme: {}\nissuer: {}\nissued_at: {}\nexpires_at: {}\nkid: {}",
                c.number,
                c.venue,
                c.level,
                c.scheme,
                c.iss,
                ts(c.iat),
                ts(c.exp),
                v.kid
            );
            println!(
                "note: this checks the signature offline; the live status (suspended, withdrawn, superseded) is at {}/certificates/{}",
                c.iss, c.number
            );
        }
        Err(f) => println!(
            "reason: {}",
            match f {
                signing::Failure::Malformed => "the input is not a readable certificate code",
                signing::Failure::UnknownKey => "the code is signed with a key that is not in the key set given",
                signing::Failure::InvalidSignature => "the signature does not match: the code is forged or altered",
            }
        ),
    }
    Ok(match verdict {
        Verdict::Valid => ExitCode::SUCCESS,
        Verdict::Expired => ExitCode::from(3),
        _ => ExitCode::FAILURE,
    })
}

fn witness(command: WitnessCommand, config: &Config) -> Result<ExitCode, String> {
    match command {
        WitnessCommand::Vkey { name } => {
            println!("{}", crate::witness::cosigner(&name, &config.key_dir)?.vkey());
        }
        WitnessCommand::Serve { name, logs, state } => {
            let state = state.unwrap_or_else(|| config.key_dir.join("witness.db"));
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let running = crate::witness::build(crate::witness::WitnessConfig {
                    bind: config.bind,
                    name,
                    key_dir: config.key_dir.clone(),
                    logs,
                    state,
                })?;
                eprintln!("witness {} on port {}", running.vkey, running.port);
                running.server.await.map_err(|e| e.to_string())
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The witness key files given on the command line: each a verifier key or a file holding one.
fn read_vkeys(given: &[String]) -> Result<Vec<String>, String> {
    given
        .iter()
        .map(|v| {
            if std::path::Path::new(v).is_file() {
                std::fs::read_to_string(v)
                    .map(|s| s.trim().to_string())
                    .map_err(|e| format!("cannot read {v}: {e}"))
            } else {
                Ok(v.trim().to_string())
            }
        })
        .collect()
}

fn log_verify(url: &str, state: Option<&std::path::Path>, witnesses: &[String], quorum: Option<usize>) -> Result<ExitCode, String> {
    let witnesses = read_vkeys(witnesses)?;
    let quorum = quorum.unwrap_or(witnesses.len());
    if quorum > witnesses.len() {
        return Err(format!("--quorum {quorum} is more than the {} witness keys given", witnesses.len()));
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let policy = crate::cli::monitor::Policy { witnesses, quorum };
    let report = rt.block_on(crate::cli::monitor::verify(url, state, &policy))?;
    println!("log: {} entries, {} certificates in the register", report.size, report.certificates);
    if report.problems.is_empty() {
        println!("ok: the checkpoint verifies, the tree matches its tiles and entries, and every status matches its latest entry");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &report.problems {
        println!("problem: {p}");
    }
    Ok(ExitCode::FAILURE)
}

/// The proof half of `verify --proof`: None when it holds (keep the signature's exit code), else 1.
fn verify_proof(
    input: &str,
    path: &std::path::Path,
    vkey: Option<&str>,
    policy: &crate::cli::monitor::Policy,
    config: &Config,
) -> Result<Option<ExitCode>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // A C2SP tlog-proof, or the JSON bundle (the certificate JSON's `log` with its entry).
    let (bundle, tlog_proof) = if text.starts_with(crate::domain::witness::PROOF_HEADER) {
        let p = crate::domain::witness::TlogProof::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let bundle = crate::domain::log::ProofBundle {
            entry: String::from_utf8(p.extra.clone().unwrap_or_default()).map_err(|_| format!("{}: the entry is not UTF-8", path.display()))?,
            index: p.index,
            checkpoint: p.checkpoint.clone(),
            inclusion_proof: crate::domain::log::encode_hashes(&p.proof),
        };
        (bundle, Some(p))
    } else {
        let b: crate::domain::log::ProofBundle = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is neither a tlog-proof nor a proof bundle (the certificate JSON's `log`): {e}",
                path.display()
            )
        })?;
        (b, None)
    };
    let vkey = match vkey {
        Some(v) if std::path::Path::new(v).is_file() => std::fs::read_to_string(v).map_err(|e| format!("cannot read {v}: {e}"))?,
        Some(v) => v.to_string(),
        None => {
            let key =
                crate::keys::log_key_if_present(&config.key_dir)?.ok_or_else(|| "give the log's key with --log-vkey (the text of /log/vkey)".to_string())?;
            // The key names itself by the log's origin, the checkpoint's first line.
            let origin = bundle.checkpoint.lines().next().unwrap_or_default().to_string();
            crate::domain::log::LogKey::new(origin, key).vkey()
        }
    };
    let token_text = if std::path::Path::new(input).is_file() {
        let bytes = std::fs::read(input).map_err(|e| format!("cannot read {input}: {e}"))?;
        crate::render::pdf::find_qr_text(&bytes).unwrap_or_default()
    } else {
        input.to_string()
    };
    let token = signing::decode_qr_text(&token_text).map_err(|_| "the certificate code is not readable".to_string())?;
    let checked = match &tlog_proof {
        Some(p) => p
            .check(vkey.trim(), &policy.witnesses, policy.quorum)
            .map(|(entry, c)| (entry, c.checkpoint, c.by)),
        None if !policy.witnesses.is_empty() => Err("a JSON bundle carries no cosignatures: give the .tlog-proof file".to_string()),
        None => crate::domain::log::check_bundle(&bundle, vkey.trim()).map(|(entry, cp)| (entry, cp, vec![])),
    };
    match checked {
        Ok((entry, cp, by)) if entry.token_sha256 == hex::encode(sha2::Sha256::digest(&token)) => {
            println!(
                "log: recorded as entry {} ({} {}, {}) in the tree of {} entries signed by {}",
                entry.seq,
                entry.kind,
                entry.status,
                entry.at,
                cp.size(),
                cp.origin()
            );
            if !by.is_empty() {
                println!("witnesses: cosigned by {} ({} required)", by.join(", "), policy.quorum);
            }
            Ok(None)
        }
        Ok((entry, _, _)) => {
            println!(
                "log: entry {} is about another certificate token; this proof does not cover this code",
                entry.seq
            );
            Ok(Some(ExitCode::FAILURE))
        }
        Err(e) => {
            println!("log: {e}");
            Ok(Some(ExitCode::FAILURE))
        }
    }
}

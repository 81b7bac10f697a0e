//! Persistence with diesel over one portable schema: SQLite (embedded, default) or PostgreSQL, picked
//! from the URL scheme; the pool, migrations, the write discipline, and the error type of this layer.

/// Bound parameters per statement: under SQLite's limit (32,766) and PostgreSQL's (65,535).
const MAX_PARAMS: usize = 30_000;

/// Insert `rows` (of `columns` columns each) many to a statement. Multi-row inserts go to the backend's
/// own connection: diesel's MultiConnection does not batch.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {
        for chunk in $rows.chunks((super::MAX_PARAMS / $columns).max(1)) {
            match &mut *$conn {
                super::DbConn::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                super::DbConn::Pg(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
    };
}

pub mod accounts;
pub mod appeals;
pub mod assessments;
pub mod bulk;
pub mod certificates;
pub mod complaints;
pub mod criteria;
pub mod documents;
pub mod events;
pub mod idempotency;
pub mod keys;
pub mod log;
pub mod models;
pub mod notifications;
pub mod replication;
pub mod schema;
pub mod users;
pub mod venues;
pub mod webhooks;
pub mod witness_state;
pub mod witnessing;

use crate::domain::scoring::FieldError;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Where the data lives, parsed from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Postgres(String),
    /// A file path (`sqlite://data/registry.db` → `data/registry.db`), or `:memory:`.
    Sqlite(String),
}

impl DbUrl {
    pub fn parse(url: &str) -> std::result::Result<DbUrl, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbUrl::Postgres(url.to_string()))
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err("the sqlite URL names no file (sqlite://path/to/registry.db)".into());
            }
            Ok(DbUrl::Sqlite(path.to_string()))
        } else {
            Err("must start with postgres:// or sqlite://".into())
        }
    }
    pub fn backend(&self) -> &'static str {
        match self {
            DbUrl::Postgres(_) => "postgres",
            DbUrl::Sqlite(_) => "sqlite",
        }
    }
    /// The URL without any password, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DbUrl::Sqlite(p) => format!("sqlite://{p}"),
            DbUrl::Postgres(u) => match (u.find("://"), u.rfind('@')) {
                (Some(s), Some(at)) if at > s => {
                    let creds = &u[s + 3..at];
                    let user = creds.split(':').next().unwrap_or("");
                    format!("{}{}@{}", &u[..s + 3], user, &u[at + 1..])
                }
                _ => u.clone(),
            },
        }
    }
}

/// Errors of this layer; the web layer maps each to a status and a stable code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    /// The request does not fit the current state (HTTP 409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller may not do this (HTTP 403).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// The input is wrong (HTTP 422), with the fields at fault.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        fields: Vec<FieldError>,
    },
    /// The database cannot be reached (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Internal(String),
}

impl Error {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict { code, message: message.into() }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Error::Forbidden { code, message: message.into() }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>, fields: Vec<FieldError>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            fields,
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => Error::NotFound,
            E::DatabaseError(K::UniqueViolation, info) => Error::conflict("duplicate", info.message().to_string()),
            E::DatabaseError(K::ClosedConnection, info) => Error::Unavailable(info.message().to_string()),
            E::DatabaseError(K::SerializationFailure, info) => Error::conflict("serialization_failure", info.message().to_string()),
            // The server went away or is switching over (a primary stopped, a standby not yet promoted):
            // 503, try again; never taken for a fault of the request.
            E::DatabaseError(_, info) if connection_lost(info.message()) => Error::Unavailable(info.message().to_string()),
            E::BrokenTransactionManager => Error::Unavailable("the connection broke during a transaction".into()),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// A driver message that says the connection to the server is gone, or the server cannot take writes now.
fn connection_lost(message: &str) -> bool {
    const SIGNS: [&str; 8] = [
        "server closed the connection",
        "terminating connection",
        "could not receive data",
        "could not send data",
        "no connection to the server",
        "connection to server",
        "read-only transaction",
        "the database system is",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Error::Unavailable(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Open one connection, showing the driver's own error, with the SQLite settings applied.
pub fn connect(url: &DbUrl) -> std::result::Result<DbConn, String> {
    match url {
        DbUrl::Postgres(u) => {
            init_openssl();
            PgConnection::establish(u).map(DbConn::Pg).map_err(|e| e.to_string())
        }
        DbUrl::Sqlite(path) => {
            if path != ":memory:" {
                if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
            }
            let c = SqliteConnection::establish(path).map_err(|e| e.to_string())?;
            sqlite_settings(c)
        }
    }
}

/// libpq's TLS goes through the system's OpenSSL, which registers OPENSSL_cleanup with atexit unless it is
/// told not to; at exit that frees the library's state while a pool thread may still be opening a
/// connection, and a process whose work succeeded dies of SIGSEGV. This initialises OpenSSL (once) with
/// OPENSSL_INIT_NO_ATEXIT, before the first connection to PostgreSQL.
pub fn init_openssl() {
    openssl_sys::init();
}

/// A pool connection: on SQLite it opens the existing file only (`mode=rw`), so a database file that
/// disappeared is an error (readiness says 503) rather than a new empty database created in its place.
fn reconnect(url: &DbUrl) -> std::result::Result<DbConn, String> {
    match url {
        DbUrl::Sqlite(path) if path != ":memory:" => {
            let c = SqliteConnection::establish(&existing_file_uri(path)).map_err(|e| e.to_string())?;
            sqlite_settings(c)
        }
        _ => connect(url),
    }
}

/// `file:` URI of an SQLite path that must already exist (the characters a URI gives a meaning to are escaped).
fn existing_file_uri(path: &str) -> String {
    let mut uri = String::from("file:");
    for ch in path.chars() {
        match ch {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=rw");
    uri
}

/// WAL for concurrent readers; FULL sync so that an acknowledged certificate survives a power cut; a page
/// cache of 1 MiB per connection (SQLite's default is 2 MB, which the pool's connections filled under the
/// million-certificate load, taking the server past 50 MB; the pages come back from the OS's cache).
fn sqlite_settings(mut c: SqliteConnection) -> std::result::Result<DbConn, String> {
    c.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -1024;")
        .map_err(|e| e.to_string())?;
    Ok(DbConn::Sqlite(c))
}

/// Apply the embedded migrations of the connection's backend; returns the versions applied now.
pub fn migrate(conn: &mut DbConn) -> std::result::Result<Vec<String>, String> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| format!("migration failed: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// One write transaction. On SQLite it takes the write lock when it begins (`BEGIN IMMEDIATE`), so that a
/// writer of another process (a second `serve`, the CLI) is waited out by the busy timeout: a deferred one
/// reads first and then fails at once (SQLITE_BUSY_SNAPSHOT) if the other committed in between.
fn immediate_transaction<T, E, F>(conn: &mut DbConn, f: F) -> std::result::Result<T, E>
where
    F: FnOnce(&mut DbConn) -> std::result::Result<T, E>,
    E: DbError,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Tm = <DbConn as diesel::Connection>::TransactionManager;
    match &mut *conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(_) => return conn.transaction(f),
    }
    // What diesel's `transaction` does after its BEGIN (nested transactions inside `f` become savepoints).
    match f(&mut *conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Tm::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

pub struct Manager {
    url: DbUrl,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(String);

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ConnectError;
    fn connect(&self) -> std::result::Result<DbConn, ConnectError> {
        reconnect(&self.url).map_err(ConnectError)
    }
    fn is_valid(&self, conn: &mut DbConn) -> std::result::Result<(), ConnectError> {
        conn.ping().map_err(|e| ConnectError(e.to_string()))
    }
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// What a database closure may fail with: this layer's error, or any error that can hold one (the
/// application layer's), so that an operation's own error (401, 410, 429 …) comes back out intact.
pub trait DbError: From<Error> + From<diesel::result::Error> + Send + 'static {}
impl<E: From<Error> + From<diesel::result::Error> + Send + 'static> DbError for E {}

/// Run blocking database work off the async workers, inside the caller's tracing span (so that what the
/// work logs carries the request's id).
async fn blocking<T: Send + 'static, E: DbError>(f: impl FnOnce() -> std::result::Result<T, E> + Send + 'static) -> std::result::Result<T, E> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| E::from(Error::Internal(format!("database task failed: {e}"))))?
}

/// The connection pool. Diesel is synchronous, so every use runs on tokio's blocking threads.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    url: DbUrl,
    /// SQLite has one writer at a time; taking this lock first keeps writers of this process in line
    /// (so no transaction fails with SQLITE_BUSY); PostgreSQL does not need it.
    write_lock: Arc<Mutex<()>>,
}

impl Db {
    /// Connect (the real error on failure), migrate, and build the pool, which keeps one connection open.
    pub fn open(url: &DbUrl, pool_size: u32) -> std::result::Result<Db, String> {
        Db::open_with(url, pool_size, 1)
    }

    /// The same, keeping `min_idle` connections open between uses. A command that runs once passes 0: the
    /// pool then opens a connection only for a caller waiting on it, so none is still being opened in the
    /// background when the command ends.
    pub fn open_with(url: &DbUrl, pool_size: u32, min_idle: u32) -> std::result::Result<Db, String> {
        let mut first = connect(url).map_err(|e| format!("cannot open the {} database {}: {e}", url.backend(), url.redacted()))?;
        let applied = migrate(&mut first)?;
        if !applied.is_empty() {
            tracing::info!(backend = url.backend(), migrations = ?applied, "database migrated");
        }
        let words = venues::backfill_words(&mut first).map_err(|e| format!("cannot fill in the venues' search words: {e}"))?;
        if words > 0 {
            tracing::info!(venues = words, "venues' search words filled in for the word index");
        }
        drop(first);
        Ok(Db::pool(url, pool_size, min_idle))
    }

    /// A pool on a read replica: nothing is migrated or written there (a standby is read-only), and no
    /// connection is made until one is needed, so a replica that is down does not stop the start.
    pub fn open_replica(url: &DbUrl, pool_size: u32) -> Db {
        Db::pool(url, pool_size, 0)
    }

    fn pool(url: &DbUrl, pool_size: u32, min_idle: u32) -> Db {
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(min_idle))
            .connection_timeout(Duration::from_secs(5))
            // PostgreSQL: a connection is pinged as it is taken, so that one whose server went away (a
            // primary lost, a standby promoted) is dropped and a new one made through the multi-host URL,
            // instead of failing request after request. SQLite's connections are files: nothing to check.
            .test_on_check_out(matches!(url, DbUrl::Postgres(_)))
            .event_handler(Box::new(crate::metrics::PoolEvents))
            .build_unchecked(Manager { url: url.clone() });
        Db {
            pool,
            url: url.clone(),
            write_lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The pool's connections: (open, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    pub fn conn(&self) -> Result<PooledConnection<Manager>> {
        Ok(self.pool.get()?)
    }

    /// Run read work on a blocking thread.
    pub async fn read<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: DbError,
    {
        let db = self.clone();
        blocking(move || db.read_blocking(f)).await
    }

    /// Run `f` in one write transaction on a blocking thread: all of it commits, or none of it.
    pub async fn write<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: DbError,
    {
        let db = self.clone();
        blocking(move || db.write_blocking(f)).await
    }

    /// The same as `write`, for callers that are already off the async workers (the CLI).
    pub fn write_blocking<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E>,
        E: DbError,
    {
        let mut conn = self.conn()?;
        let _guard = self.writer_turn(&conn);
        let conn: &mut DbConn = &mut conn;
        immediate_transaction(conn, f)
    }

    /// On SQLite, this process's writers go one at a time (held until the guard drops); PostgreSQL needs no turn.
    fn writer_turn(&self, conn: &DbConn) -> Option<std::sync::MutexGuard<'_, ()>> {
        match conn {
            DbConn::Sqlite(_) => Some(self.write_lock.lock().unwrap_or_else(|p| p.into_inner())),
            DbConn::Pg(_) => None,
        }
    }

    /// Statements that change something but need no transaction, each one safe to race (an insert that
    /// tolerates a duplicate): in line with this process's SQLite writers, whose deferred transactions would
    /// otherwise find their snapshot stale (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out); outside
    /// a transaction, because on PostgreSQL a refused statement would abort the transaction around it.
    pub fn write_outside_transaction_blocking<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E>,
        E: DbError,
    {
        let mut conn = self.conn()?;
        let _guard = self.writer_turn(&conn);
        f(&mut conn)
    }

    /// The same on a blocking thread.
    pub async fn write_outside_transaction<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: DbError,
    {
        let db = self.clone();
        blocking(move || db.write_outside_transaction_blocking(f)).await
    }

    pub fn read_blocking<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E>,
        E: DbError,
    {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// Readiness: a query that touches the schema, and for SQLite the file still being there.
    pub async fn check(&self) -> Result<()> {
        if let DbUrl::Sqlite(path) = &self.url {
            if path != ":memory:" && std::fs::metadata(path).is_err() {
                return Err(Error::Unavailable(format!("database file {path} is missing")));
            }
        }
        self.read(|c| {
            use diesel::prelude::*;
            schema::users::table
                .count()
                .get_result::<i64>(c)
                .map(|_| ())
                .map_err(|e| Error::Unavailable(e.to_string()))
        })
        .await
    }
}

/// `EXPLAIN` (PostgreSQL) or `EXPLAIN QUERY PLAN` (SQLite) of a query as this layer runs it, binds and
/// all: the plan as text, one line a step (tests check that a query reads the index meant for it).
pub fn explain<Q>(conn: &mut DbConn, query: Q) -> Result<String>
where
    Q: diesel::query_builder::QueryFragment<MultiBackend>,
{
    use diesel::sql_types::{Integer, Text};
    use diesel::RunQueryDsl;
    let lines: Vec<String> = match conn {
        DbConn::Sqlite(_) => Explain::<_, (Integer, Integer, Integer, Text)>::new("EXPLAIN QUERY PLAN ", query)
            .load::<(i32, i32, i32, String)>(conn)?
            .into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect(),
        DbConn::Pg(_) => Explain::<_, Text>::new("EXPLAIN ", query).load::<String>(conn)?,
    };
    Ok(lines.join("\n"))
}

/// A query behind an `EXPLAIN` prefix, with the row type the backend's plan comes in.
struct Explain<Q, ST> {
    prefix: &'static str,
    query: Q,
    rows: std::marker::PhantomData<ST>,
}

impl<Q, ST> Explain<Q, ST> {
    fn new(prefix: &'static str, query: Q) -> Self {
        Explain {
            prefix,
            query,
            rows: std::marker::PhantomData,
        }
    }
}

impl<Q, ST> diesel::query_builder::QueryId for Explain<Q, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, ST> diesel::query_builder::Query for Explain<Q, ST> {
    type SqlType = ST;
}

impl<Q: diesel::query_builder::QueryFragment<MultiBackend>, ST> diesel::query_builder::QueryFragment<MultiBackend> for Explain<Q, ST> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>) -> diesel::QueryResult<()> {
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q, ST> diesel::RunQueryDsl<DbConn> for Explain<Q, ST> {}

/// Current UTC time, truncated to microseconds (what both backends store).
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

/// How many venues, audits and certificates the registry holds.
pub fn registry_rows(conn: &mut DbConn) -> Result<i64> {
    use diesel::{QueryDsl, RunQueryDsl};
    use schema::{assessments, certificates, venues};
    let v: i64 = venues::table.count().get_result(conn)?;
    let a: i64 = assessments::table.count().get_result(conn)?;
    let k: i64 = certificates::table.count().get_result(conn)?;
    Ok(v + a + k)
}

/// Fresh statistics for the query planner after a bulk load, as autovacuum (PostgreSQL, with the visibility
/// map: VACUUM) or `PRAGMA optimize` (SQLite) give a registry that grew over months. Outside a transaction
/// (VACUUM cannot run in one).
pub fn refresh_statistics(conn: &mut DbConn) -> Result<()> {
    use diesel::RunQueryDsl;
    let sql = match conn {
        DbConn::Pg(_) => "VACUUM ANALYZE",
        // The search indexes' segments merged, as the hourly merge (`merge_search_indexes`) has them by then.
        DbConn::Sqlite(_) => {
            for t in SQLITE_SEARCH_INDEXES {
                diesel::sql_query(format!("INSERT INTO {t}({t}) VALUES ('optimize')")).execute(conn)?;
            }
            "ANALYZE"
        }
    };
    diesel::sql_query(sql).execute(conn)?;
    Ok(())
}

/// SQLite's full-text indexes of venue names (words, trigrams).
const SQLITE_SEARCH_INDEXES: [&str; 2] = ["venues_words", "venues_search"];

/// Merge the segments FTS5 writes on every insert (housekeeping, hourly, SQLite only): a term's matches in
/// one place, so a search reads one list instead of one per segment. A step of 500 pages at a time, until
/// a step does no work (FTS5's own test: fewer than two changes). Returns the steps that did work.
pub fn merge_search_indexes(conn: &mut DbConn) -> Result<usize> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Changes {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConn::Sqlite(_) = conn else { return Ok(0) };
    let mut steps = 0;
    for t in SQLITE_SEARCH_INDEXES {
        for _ in 0..1000 {
            let before = diesel::sql_query("SELECT total_changes() AS n").get_result::<Changes>(conn)?.n;
            diesel::sql_query(format!("INSERT INTO {t}({t}, rank) VALUES ('merge', 500)")).execute(conn)?;
            let after = diesel::sql_query("SELECT total_changes() AS n").get_result::<Changes>(conn)?.n;
            if after - before < 2 {
                break;
            }
            steps += 1;
        }
    }
    Ok(steps)
}

/// The advisory lock that makes one scheduler pass run at a time across replicas on PostgreSQL.
const SCHEDULER_LOCK: i64 = 0x4543_4f4c_4142_454c;

/// Try to become the one scheduler (PostgreSQL: a session advisory lock on this connection, released by
/// `release_scheduler` or when the connection closes); SQLite has one writer at a time and needs none.
pub fn claim_scheduler(conn: &mut DbConn) -> Result<bool> {
    use diesel::RunQueryDsl;
    match conn {
        DbConn::Pg(pg) => Ok(diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("pg_try_advisory_lock({SCHEDULER_LOCK})"))).get_result(pg)?),
        DbConn::Sqlite(_) => Ok(true),
    }
}

pub fn release_scheduler(conn: &mut DbConn) -> Result<()> {
    use diesel::RunQueryDsl;
    if let DbConn::Pg(pg) = conn {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("pg_advisory_unlock({SCHEDULER_LOCK})"))).get_result::<bool>(pg)?;
    }
    Ok(())
}

/// A consistent copy of an SQLite database into a new file (`VACUUM INTO`: one read transaction, so
/// writers go on meanwhile and the copy is as of one moment).
pub fn snapshot_sqlite(conn: &mut DbConn, to: &std::path::Path) -> Result<()> {
    let path = to.to_str().ok_or_else(|| Error::Internal(format!("{} is not a UTF-8 path", to.display())))?;
    diesel::RunQueryDsl::execute(diesel::sql_query(format!("VACUUM INTO '{}'", path.replace('\'', "''"))), conn)?;
    Ok(())
}

/// Whether a PostgreSQL database holds any table in its public schema (a restore needs an empty one).
pub fn has_tables(conn: &mut DbConn) -> Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"),
        conn,
    )?;
    Ok(n.n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(DbUrl::parse("sqlite://data/registry.db").unwrap(), DbUrl::Sqlite("data/registry.db".into()));
        assert_eq!(DbUrl::parse("postgres://u:p@h/db").unwrap().backend(), "postgres");
        assert!(DbUrl::parse("mysql://x").is_err());
        assert!(DbUrl::parse("sqlite://").is_err());
        assert_eq!(DbUrl::parse("postgres://u:secret@h:5432/db").unwrap().redacted(), "postgres://u@h:5432/db");
    }

    #[test]
    fn pool_connections_open_an_existing_database_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd ?#%20 name.db").display().to_string();
        let url = DbUrl::Sqlite(path.clone());
        assert!(reconnect(&url).is_err(), "no file, no connection");
        assert!(!std::path::Path::new(&path).exists(), "and no empty database made in its place");
        drop(connect(&url).unwrap());
        assert!(std::path::Path::new(&path).exists(), "the first connection creates it, at the same path");
        assert!(reconnect(&url).is_ok());
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(name.starts_with("odd ?#%20 name.db"), "the database and its WAL files only, not {name}");
        }
    }

    #[test]
    fn a_writer_of_another_process_is_waited_for_not_failed() {
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().unwrap();
        let url = DbUrl::Sqlite(dir.path().join("two.db").display().to_string());
        // Two pools on one file, as a second `serve` or the CLI would have: each has its own writer turn.
        let (a, b) = (Db::open(&url, 2).unwrap(), Db::open(&url, 2).unwrap());
        a.write_blocking(|c| -> Result<()> { Ok(c.batch_execute("CREATE TABLE t (x INTEGER)")?) })
            .unwrap();
        let (held, holding) = std::sync::mpsc::channel();
        let other = std::thread::spawn(move || {
            b.write_blocking(|c| -> Result<()> {
                c.batch_execute("INSERT INTO t VALUES (1)")?;
                held.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
        });
        holding.recv().unwrap();
        // A transaction that reads and then writes, begun while the other holds the write lock.
        let seen = a.write_blocking(|c| -> Result<i64> {
            let DbConn::Sqlite(s) = c else { panic!("an SQLite connection") };
            let n = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT COUNT(*) FROM t)")).get_result::<i64>(s)?;
            s.batch_execute("INSERT INTO t VALUES (2)")?;
            Ok(n)
        });
        other.join().unwrap().unwrap();
        assert_eq!(seen.unwrap(), 1, "it waited for the other's commit, then saw its row");
    }

    #[test]
    fn migration_folders_match() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let root = env!("CARGO_MANIFEST_DIR");
        let (s, p) = (names(&format!("{root}/migrations/sqlite")), names(&format!("{root}/migrations/postgres")));
        assert!(!s.is_empty());
        assert_eq!(s, p);
    }
}

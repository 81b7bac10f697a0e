// Where PostgreSQL's write-ahead log stands: the primary's position, and how far a read replica (a hot
// standby) has replayed it. SQLite has no replicas: every call answers None.

use super::{DbConn, Result};
use diesel::RunQueryDsl;

#[derive(diesel::QueryableByName)]
struct Position {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    n: Option<i64>,
}

#[derive(diesel::QueryableByName)]
struct Replay {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    standby: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    n: Option<i64>,
}

/// How far a read replica has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// A standby that has replayed the log up to this position.
    Upto(u64),
    /// Not a standby (a primary: e.g. the standby promoted, or the primary itself): it has everything.
    Everything,
}

/// The primary's write position in its log (bytes since its start), read on a connection to it: every
/// transaction committed before this call lies before it.
pub fn primary_position(conn: &mut DbConn) -> Result<Option<u64>> {
    let DbConn::Pg(_) = conn else { return Ok(None) };
    let p: Position = diesel::sql_query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS n").get_result(conn)?;
    Ok(p.n.and_then(|n| u64::try_from(n).ok()))
}

/// How far a replica has replayed the primary's log, read on a connection to the replica.
pub fn replayed(conn: &mut DbConn) -> Result<Option<Replayed>> {
    let DbConn::Pg(_) = conn else { return Ok(None) };
    let r: Replay =
        diesel::sql_query("SELECT pg_is_in_recovery() AS standby, pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint AS n").get_result(conn)?;
    Ok(Some(match (r.standby, r.n.and_then(|n| u64::try_from(n).ok())) {
        (false, _) => Replayed::Everything,
        (true, Some(n)) => Replayed::Upto(n),
        // A standby that has replayed nothing yet.
        (true, None) => Replayed::Upto(0),
    }))
}

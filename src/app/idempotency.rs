// Idempotency keys of the JSON API: a request with a key runs once; a repeat gets the stored reply. The
// HTTP middleware decides when; this is the record it keeps (begin, finish, abandon).

use super::Result;
pub use crate::storage::idempotency::{Begin, Stored};
use crate::storage::{idempotency as store, DbConn};
use chrono::NaiveDateTime;

/// Claim `key` for `token`'s request (its hash and the caller's roles), or find it claimed or answered.
pub fn begin(conn: &mut DbConn, token_hash: &str, key: &str, request_hash: &str, roles: &str, now: NaiveDateTime) -> Result<Begin> {
    Ok(store::begin(conn, token_hash, key, request_hash, roles, now)?)
}

/// Give the key up (the request failed before it answered).
pub fn abandon(conn: &mut DbConn, token_hash: &str, key: &str) -> Result<()> {
    Ok(store::abandon(conn, token_hash, key)?)
}

/// Store the reply a repeat of the request gets.
pub fn finish(conn: &mut DbConn, token_hash: &str, key: &str, status: u16, content_type: &str, body: &[u8]) -> Result<()> {
    Ok(store::finish(conn, token_hash, key, status, content_type, body)?)
}

// Stored replies for POST requests sent with an `Idempotency-Key`, keyed per caller token: claims
// (with the caller's roles), leases that a crashed request cannot hold for ever, replies, and expiry.

use super::schema::idempotency_keys as ik;
use super::{DbConn, Result};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::Connection;

/// How long a stored reply is kept and replayed; after that the key may be used afresh.
pub const RETENTION: TimeDelta = TimeDelta::hours(24);
/// How long an unfinished claim holds its key. A request's processing runs to the end even when its
/// client goes away, so only a crash of the server leaves a claim unfinished; after this it is taken over.
pub const LEASE: TimeDelta = TimeDelta::seconds(60);

/// A stored reply; `status == 0` marks a request still being processed.
pub struct Stored {
    pub request_hash: String,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// The caller's roles when the request was made (`format_roles`).
    pub roles: String,
}

pub enum Begin {
    /// This request holds the key now and should run.
    Started,
    /// The key was used before (or is in use).
    Existing(Stored),
}

/// Claim the key for this request, or return what an earlier request with it stored.
pub fn begin(conn: &mut DbConn, token_hash: &str, key: &str, request_hash: &str, roles: &str, now: NaiveDateTime) -> Result<Begin> {
    let this = || ik::table.filter(ik::token_hash.eq(token_hash)).filter(ik::idem_key.eq(key));
    // An expired reply no longer binds its key.
    diesel::delete(this().filter(ik::created_at.lt(now - RETENTION))).execute(conn)?;
    // A savepoint: on PostgreSQL a failed insert would otherwise abort the surrounding transaction.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(ik::table)
            .values((
                ik::token_hash.eq(token_hash),
                ik::idem_key.eq(key),
                ik::request_hash.eq(request_hash),
                ik::status.eq(0),
                ik::content_type.eq(""),
                ik::body.eq(Vec::<u8>::new()),
                ik::created_at.eq(now),
                ik::roles.eq(roles),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(Begin::Started),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            let (request_hash_stored, status, content_type, body, roles_stored, created_at): (String, i32, String, Vec<u8>, String, NaiveDateTime) = this()
                .select((ik::request_hash, ik::status, ik::content_type, ik::body, ik::roles, ik::created_at))
                .first(conn)?;
            if status == 0 && created_at < now - LEASE && request_hash_stored == request_hash {
                // The claim outlived its request (the server stopped mid-way): take it over, once.
                let taken = diesel::update(this().filter(ik::status.eq(0)).filter(ik::created_at.eq(created_at)))
                    .set((ik::created_at.eq(now), ik::roles.eq(roles)))
                    .execute(conn)?;
                if taken == 1 {
                    return Ok(Begin::Started);
                }
            }
            Ok(Begin::Existing(Stored {
                request_hash: request_hash_stored,
                status: status as u16,
                content_type,
                body,
                roles: roles_stored,
            }))
        }
        Err(e) => Err(e.into()),
    }
}

/// Keep the reply of a successful request.
pub fn finish(conn: &mut DbConn, token_hash: &str, key: &str, status: u16, content_type: &str, body: &[u8]) -> Result<()> {
    diesel::update(ik::table.filter(ik::token_hash.eq(token_hash)).filter(ik::idem_key.eq(key)))
        .set((ik::status.eq(status as i32), ik::content_type.eq(content_type), ik::body.eq(body)))
        .execute(conn)?;
    Ok(())
}

/// Release the key after a failed request, so that a corrected retry can use it.
pub fn abandon(conn: &mut DbConn, token_hash: &str, key: &str) -> Result<()> {
    diesel::delete(
        ik::table
            .filter(ik::token_hash.eq(token_hash))
            .filter(ik::idem_key.eq(key))
            .filter(ik::status.eq(0)),
    )
    .execute(conn)?;
    Ok(())
}

/// Delete replies older than `RETENTION` (run by the maintenance job); returns how many went.
pub fn purge_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize> {
    Ok(diesel::delete(ik::table.filter(ik::created_at.lt(now - RETENTION))).execute(conn)?)
}

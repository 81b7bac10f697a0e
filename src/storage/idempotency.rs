// Stored replies for POST requests sent with an `Idempotency-Key`, keyed per caller token:
// a repeat with the same body gets the first reply; a different body under the same key is refused.

use super::schema::idempotency_keys as ik;
use super::{now, DbConn, Result};
use diesel::prelude::*;
use diesel::Connection;

/// A stored reply; `status == 0` marks a request still being processed.
pub struct Stored {
    pub request_hash: String,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

pub enum Begin {
    /// This request holds the key now and should run.
    Started,
    /// The key was used before (or is in use).
    Existing(Stored),
}

/// Claim the key for this request, or return what an earlier request with it stored.
pub fn begin(conn: &mut DbConn, token_hash: &str, key: &str, request_hash: &str) -> Result<Begin> {
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
                ik::created_at.eq(now()),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(Begin::Started),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            let (request_hash, status, content_type, body): (String, i32, String, Vec<u8>) = ik::table
                .filter(ik::token_hash.eq(token_hash))
                .filter(ik::idem_key.eq(key))
                .select((ik::request_hash, ik::status, ik::content_type, ik::body))
                .first(conn)?;
            Ok(Begin::Existing(Stored {
                request_hash,
                status: status as u16,
                content_type,
                body,
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

// Certificate PDFs as last rendered, each with the state it shows: read the one of a given state, read a
// batch's, store a newer rendering in place. What a state is, and when to render, is the web layer's.

use super::schema::certificate_documents as d;
use super::{DbConn, Error, Result};
use diesel::prelude::*;

/// The stored rendering of certificate `id` if it shows `state`: its ETag and bytes (the body is not read
/// when the state differs).
pub fn get(conn: &mut DbConn, id: i64, state: &str) -> Result<Option<(String, Vec<u8>)>> {
    Ok(d::table
        .filter(d::certificate_id.eq(id).and(d::state.eq(state)))
        .select((d::etag, d::body))
        .first(conn)
        .optional()?)
}

/// The stored renderings of these certificates, with the states they show.
pub fn bodies(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<(i64, String, Vec<u8>)>> {
    Ok(d::table
        .filter(d::certificate_id.eq_any(ids))
        .select((d::certificate_id, d::state, d::body))
        .load(conn)?)
}

/// One rendering as written, the same columns on insert and on update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = d, primary_key(certificate_id))]
struct DocumentWrite<'a> {
    certificate_id: i64,
    state: &'a str,
    etag: &'a str,
    body: &'a [u8],
    rendered_at: chrono::NaiveDateTime,
}

/// Keep this rendering of certificate `id` (one row per certificate: a newer state replaces the older).
/// Outside a transaction and safe to race: two writers of the first rendering both end with a row.
pub fn store(conn: &mut DbConn, id: i64, state: &str, etag: &str, body: &[u8]) -> Result<()> {
    let row = DocumentWrite {
        certificate_id: id,
        state,
        etag,
        body,
        rendered_at: super::now(),
    };
    let update = |conn: &mut DbConn| diesel::update(d::table.filter(d::certificate_id.eq(id))).set(&row).execute(conn);
    if update(conn)? > 0 {
        return Ok(());
    }
    match diesel::insert_into(d::table).values(&row).execute(conn) {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => update(conn).map(|_| ()).map_err(Error::from),
        Err(e) => Err(e.into()),
    }
}

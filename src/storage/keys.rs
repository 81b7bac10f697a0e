// The public halves of the signing keys and their status (active / retired) with validity windows.
// Private keys never come here: they live only as PEM files in the key directory.

use super::models::SigningKeyRow;
use super::schema::signing_keys as sk;
use super::{events, now, DbConn, Error, Result};
use crate::domain::auth::Caller;
use diesel::prelude::*;
use serde_json::json;

pub fn all(conn: &mut DbConn) -> Result<Vec<SigningKeyRow>> {
    Ok(sk::table.order(sk::created_at.asc()).select(SigningKeyRow::as_select()).load(conn)?)
}

pub fn get(conn: &mut DbConn, kid: &str) -> Result<Option<SigningKeyRow>> {
    Ok(sk::table.find(kid).select(SigningKeyRow::as_select()).first(conn).optional()?)
}

pub fn active(conn: &mut DbConn) -> Result<Option<SigningKeyRow>> {
    Ok(sk::table
        .filter(sk::status.eq("active"))
        .order(sk::created_at.desc())
        .select(SigningKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Publish a key. With `activate`, it becomes the one that signs and any other active key retires.
pub fn register(conn: &mut DbConn, actor: &Caller, kid: &str, public_key: &[u8], activate: bool) -> Result<()> {
    if get(conn, kid)?.is_some() {
        return Err(Error::conflict("key_exists", format!("key {kid} is already registered")));
    }
    let at = now();
    if activate {
        retire_active(conn, actor, at)?;
    }
    diesel::insert_into(sk::table)
        .values((
            sk::kid.eq(kid),
            sk::public_key.eq(public_key),
            sk::status.eq(if activate { "active" } else { "pending" }),
            sk::created_at.eq(at),
        ))
        .execute(conn)?;
    events::append(conn, actor, "signing_key", kid, if activate { "activated" } else { "registered" }, json!({}))?;
    Ok(())
}

fn retire_active(conn: &mut DbConn, actor: &Caller, at: chrono::NaiveDateTime) -> Result<()> {
    let ids: Vec<String> = sk::table.filter(sk::status.eq("active")).select(sk::kid).load(conn)?;
    for kid in ids {
        diesel::update(sk::table.find(&kid))
            .set((sk::status.eq("retired"), sk::retired_at.eq(Some(at))))
            .execute(conn)?;
        events::append(conn, actor, "signing_key", &kid, "retired", json!({}))?;
    }
    Ok(())
}

/// Stop a key from signing; it stays published so that what it signed keeps verifying.
pub fn retire(conn: &mut DbConn, actor: &Caller, kid: &str) -> Result<()> {
    let row = get(conn, kid)?.ok_or(Error::NotFound)?;
    if row.status == "retired" {
        return Err(Error::conflict("already_retired", format!("key {kid} is already retired")));
    }
    diesel::update(sk::table.find(kid))
        .set((sk::status.eq("retired"), sk::retired_at.eq(Some(now()))))
        .execute(conn)?;
    events::append(conn, actor, "signing_key", kid, "retired", json!({}))?;
    Ok(())
}

// Users, their roles and venue binding, and their bearer tokens (stored only as SHA-256 hashes).
// Token checks, creation and revocation; the token itself is returned once and never stored.

use super::models::{TokenRow, UserRow};
use super::schema::{api_tokens, users};
use super::{events, now, DbConn, Error, Result};
use crate::domain::auth::{format_roles, new_token, parse_roles, token_hash, Caller, Role};
use diesel::prelude::*;
use serde_json::json;

/// Store a new user (the application layer has checked name, roles, venue and e-mail), with its event.
pub fn insert(conn: &mut DbConn, actor: &Caller, name: &str, roles: &[Role], venue_id: Option<i64>, email: Option<&str>) -> Result<UserRow> {
    let user: UserRow = diesel::insert_into(users::table)
        .values((
            users::name.eq(name),
            users::roles.eq(format_roles(roles)),
            users::created_at.eq(now()),
            users::venue_id.eq(venue_id),
            users::email.eq(email),
        ))
        .returning(users::all_columns)
        .get_result(conn)?;
    events::append(
        conn,
        actor,
        "user",
        &user.id.to_string(),
        "created",
        json!({"name": name, "roles": format_roles(roles), "venue_id": venue_id, "email": email}),
    )?;
    Ok(user)
}

/// Change a user's roles and venue binding (the application layer has checked them), with its event.
pub fn set_roles(conn: &mut DbConn, actor: &Caller, id: i64, roles: &[Role], venue_id: Option<i64>) -> Result<UserRow> {
    let before = get(conn, id)?;
    let user: UserRow = diesel::update(users::table.find(id))
        .set((users::roles.eq(format_roles(roles)), users::venue_id.eq(venue_id)))
        .returning(users::all_columns)
        .get_result(conn)?;
    events::append(
        conn,
        actor,
        "user",
        &id.to_string(),
        "roles_changed",
        json!({"from": {"roles": before.roles, "venue_id": before.venue_id}, "to": {"roles": format_roles(roles), "venue_id": venue_id}}),
    )?;
    Ok(user)
}

pub fn create_token(conn: &mut DbConn, actor: &Caller, user_id: i64, label: &str) -> Result<(i64, String)> {
    let token = new_token();
    let id = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::user_id.eq(user_id),
            api_tokens::token_hash.eq(token_hash(&token)),
            api_tokens::label.eq(label),
            api_tokens::created_at.eq(now()),
        ))
        .returning(api_tokens::id)
        .get_result(conn)?;
    events::append(
        conn,
        actor,
        "user",
        &user_id.to_string(),
        "token_created",
        json!({"token_id": id, "label": label}),
    )?;
    Ok((id, token))
}

pub fn revoke_token(conn: &mut DbConn, actor: &Caller, token_id: i64) -> Result<TokenRow> {
    let t: TokenRow = api_tokens::table.find(token_id).select(TokenRow::as_select()).first(conn)?;
    if t.revoked_at.is_some() {
        return Err(Error::conflict("already_revoked", format!("token {token_id} is already revoked")));
    }
    let t: TokenRow = diesel::update(api_tokens::table.find(token_id))
        .set(api_tokens::revoked_at.eq(Some(now())))
        .returning(api_tokens::all_columns)
        .get_result(conn)?;
    events::append(conn, actor, "user", &t.user_id.to_string(), "token_revoked", json!({"token_id": token_id}))?;
    Ok(t)
}

/// The caller behind a bearer token, if the token exists and is not revoked.
pub fn caller_for_token(conn: &mut DbConn, token: &str) -> Result<Option<Caller>> {
    let found: Option<(UserRow, i64)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash(token)))
        .filter(api_tokens::revoked_at.is_null())
        .select((UserRow::as_select(), api_tokens::id))
        .first(conn)
        .optional()?;
    match found {
        Some((u, token_id)) => Ok(Some(Caller {
            token_id: Some(token_id),
            ..caller_of(&u)?
        })),
        None => Ok(None),
    }
}

/// The caller a user row stands for (no token).
pub fn caller_of(u: &UserRow) -> Result<Caller> {
    Ok(Caller {
        user_id: Some(u.id),
        name: u.name.clone(),
        roles: parse_roles(&u.roles).map_err(Error::Internal)?,
        venue_id: u.venue_id,
        token_id: None,
    })
}

/// A page of users in id order, after `after_id`.
pub fn page(conn: &mut DbConn, after_id: Option<i64>, limit: i64) -> Result<Vec<UserRow>> {
    Ok(users::table
        .filter(users::id.gt(after_id.unwrap_or(0)))
        .order(users::id.asc())
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?)
}

pub fn list(conn: &mut DbConn) -> Result<Vec<UserRow>> {
    Ok(users::table.order(users::id.asc()).select(UserRow::as_select()).load(conn)?)
}

pub fn tokens_of(conn: &mut DbConn, user_id: i64) -> Result<Vec<TokenRow>> {
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.asc())
        .select(TokenRow::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<UserRow> {
    Ok(users::table.find(id).select(UserRow::as_select()).first(conn)?)
}

// Persistence of sign-in: e-mail and credentials on users, invitations, sessions (hashed ids), recovery
// codes, the per-address throttle, and the append-only auth events. Rules live in src/app/accounts.rs.

use super::models::UserRow;
use super::schema::{auth_events, invitations, recovery_codes, sessions, signin_throttle, users};
use super::{DbConn, Result};
use crate::domain::account::Throttle;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct InvitationRow {
    pub id: i64,
    pub user_id: i64,
    pub token_hash: String,
    pub purpose: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub voided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub id_hash: String,
    pub stage: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub ended_reason: Option<String>,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = auth_events)]
pub struct AuthEventRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub user_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub outcome: String,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
}

/// An auth event about to be written.
pub struct NewAuthEvent<'a> {
    pub at: NaiveDateTime,
    pub user_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub kind: &'a str,
    pub outcome: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub detail: serde_json::Value,
}

pub fn append_event(conn: &mut DbConn, e: NewAuthEvent<'_>) -> Result<()> {
    diesel::insert_into(auth_events::table)
        .values((
            auth_events::at.eq(e.at),
            auth_events::user_id.eq(e.user_id),
            auth_events::actor_id.eq(e.actor_id),
            auth_events::kind.eq(e.kind),
            auth_events::outcome.eq(e.outcome),
            auth_events::ip.eq(e.ip),
            auth_events::user_agent.eq(e.user_agent),
            auth_events::detail.eq(e.detail.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Newest first; `before` is the keyset cursor (an event id).
pub fn events(conn: &mut DbConn, user_id: Option<i64>, before: Option<i64>, limit: i64) -> Result<Vec<AuthEventRow>> {
    let mut q = auth_events::table.into_boxed();
    if let Some(u) = user_id {
        q = q.filter(auth_events::user_id.eq(u));
    }
    if let Some(b) = before {
        q = q.filter(auth_events::id.lt(b));
    }
    Ok(q.order(auth_events::id.desc()).limit(limit).select(AuthEventRow::as_select()).load(conn)?)
}

// ---- users ----

pub fn user_by_email(conn: &mut DbConn, email: &str) -> Result<Option<UserRow>> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_email(conn: &mut DbConn, user_id: i64, email: &str) -> Result<usize> {
    Ok(diesel::update(users::table.find(user_id)).set(users::email.eq(email)).execute(conn)?)
}

pub fn set_password_hash(conn: &mut DbConn, user_id: i64, hash: &str) -> Result<()> {
    diesel::update(users::table.find(user_id)).set(users::password_hash.eq(hash)).execute(conn)?;
    Ok(())
}

pub fn set_totp_pending(conn: &mut DbConn, user_id: i64, secret: Option<&str>) -> Result<()> {
    diesel::update(users::table.find(user_id)).set(users::totp_pending.eq(secret)).execute(conn)?;
    Ok(())
}

/// Make the pending secret the active one, with the step of the confirming code; false if the pending
/// secret changed meanwhile (another enrolment page).
pub fn confirm_totp(conn: &mut DbConn, user_id: i64, secret: &str, step: i64) -> Result<bool> {
    let n = diesel::update(users::table.find(user_id).filter(users::totp_pending.eq(secret)))
        .set((
            users::totp_secret.eq(Some(secret)),
            users::totp_pending.eq(None::<String>),
            users::totp_last_step.eq(Some(step)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Record that a code of `step` was used; false if that step (or a later one) was used already.
pub fn use_totp_step(conn: &mut DbConn, user_id: i64, step: i64) -> Result<bool> {
    let n = diesel::update(
        users::table
            .find(user_id)
            .filter(users::totp_last_step.is_null().or(users::totp_last_step.lt(step))),
    )
    .set(users::totp_last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn clear_totp(conn: &mut DbConn, user_id: i64) -> Result<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_pending.eq(None::<String>),
            users::totp_last_step.eq(None::<i64>),
        ))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

// ---- recovery codes ----

pub fn replace_recovery_codes(conn: &mut DbConn, user_id: i64, hashes: &[String]) -> Result<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    for h in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((recovery_codes::user_id.eq(user_id), recovery_codes::code_hash.eq(h)))
            .execute(conn)?;
    }
    Ok(())
}

/// Use a recovery code once; false if it is unknown or used.
pub fn use_recovery_code(conn: &mut DbConn, user_id: i64, hash: &str, now: NaiveDateTime) -> Result<bool> {
    let n = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n >= 1)
}

pub fn recovery_codes_left(conn: &mut DbConn, user_id: i64) -> Result<i64> {
    Ok(recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

// ---- invitations ----

/// Store a new link for the user; every older unused link of the user is voided.
pub fn create_invitation(conn: &mut DbConn, user_id: i64, token_hash: &str, purpose: &str, now: NaiveDateTime, expires_at: NaiveDateTime) -> Result<()> {
    void_invitations(conn, user_id, now)?;
    diesel::insert_into(invitations::table)
        .values((
            invitations::user_id.eq(user_id),
            invitations::token_hash.eq(token_hash),
            invitations::purpose.eq(purpose),
            invitations::created_at.eq(now),
            invitations::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn void_invitations(conn: &mut DbConn, user_id: i64, now: NaiveDateTime) -> Result<()> {
    diesel::update(
        invitations::table
            .filter(invitations::user_id.eq(user_id))
            .filter(invitations::used_at.is_null())
            .filter(invitations::voided_at.is_null()),
    )
    .set(invitations::voided_at.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}

pub fn invitation(conn: &mut DbConn, token_hash: &str) -> Result<Option<(InvitationRow, UserRow)>> {
    Ok(invitations::table
        .inner_join(users::table)
        .filter(invitations::token_hash.eq(token_hash))
        .select((InvitationRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Mark a link used, if it still can be (unused, not voided, not expired): true exactly once.
pub fn use_invitation(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<bool> {
    let n = diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::used_at.is_null())
            .filter(invitations::voided_at.is_null())
            .filter(invitations::expires_at.gt(now)),
    )
    .set(invitations::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

// ---- sessions ----

pub struct NewSession<'a> {
    pub user_id: i64,
    pub id_hash: &'a str,
    pub stage: &'a str,
    pub now: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

pub fn create_session(conn: &mut DbConn, s: NewSession<'_>) -> Result<i64> {
    Ok(diesel::insert_into(sessions::table)
        .values((
            sessions::user_id.eq(s.user_id),
            sessions::id_hash.eq(s.id_hash),
            sessions::stage.eq(s.stage),
            sessions::created_at.eq(s.now),
            sessions::last_seen_at.eq(s.now),
            sessions::expires_at.eq(s.expires_at),
            sessions::ip.eq(s.ip),
            sessions::user_agent.eq(s.user_agent),
        ))
        .returning(sessions::id)
        .get_result(conn)?)
}

pub fn session_by_hash(conn: &mut DbConn, id_hash: &str) -> Result<Option<(SessionRow, UserRow)>> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::id_hash.eq(id_hash))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()?)
}

pub fn session(conn: &mut DbConn, id: i64) -> Result<SessionRow> {
    Ok(sessions::table.find(id).select(SessionRow::as_select()).first(conn)?)
}

pub fn touch_session(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<()> {
    diesel::update(sessions::table.find(id).filter(sessions::ended_at.is_null()))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// End one open session; false if it had ended already.
pub fn end_session(conn: &mut DbConn, id: i64, reason: &str, now: NaiveDateTime) -> Result<bool> {
    let n = diesel::update(sessions::table.find(id).filter(sessions::ended_at.is_null()))
        .set((sessions::ended_at.eq(Some(now)), sessions::ended_reason.eq(Some(reason))))
        .execute(conn)?;
    Ok(n == 1)
}

/// End every open session of a user but `except`; how many ended.
pub fn end_sessions_of(conn: &mut DbConn, user_id: i64, except: Option<i64>, reason: &str, now: NaiveDateTime) -> Result<usize> {
    let q = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::id.ne(except.unwrap_or(-1)));
    Ok(diesel::update(q)
        .set((sessions::ended_at.eq(Some(now)), sessions::ended_reason.eq(Some(reason))))
        .execute(conn)?)
}

/// Open sessions (not ended, not past their absolute end), most recently used first.
pub fn open_sessions(conn: &mut DbConn, user_id: i64, now: NaiveDateTime) -> Result<Vec<SessionRow>> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order(sessions::last_seen_at.desc())
        .select(SessionRow::as_select())
        .load(conn)?)
}

// ---- throttle ----

pub fn throttle(conn: &mut DbConn, email_hash: &str) -> Result<Option<Throttle>> {
    let row: Option<(i32, NaiveDateTime, i32, Option<NaiveDateTime>)> = signin_throttle::table
        .find(email_hash)
        .select((
            signin_throttle::failures,
            signin_throttle::window_start,
            signin_throttle::locks,
            signin_throttle::locked_until,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(throttle_of))
}

fn throttle_of((failures, window_start, locks, locked_until): (i32, NaiveDateTime, i32, Option<NaiveDateTime>)) -> Throttle {
    Throttle {
        failures,
        window_start,
        locks,
        locked_until,
    }
}

/// An address's throttle, its row locked for the rest of the transaction (an UPDATE that changes nothing
/// takes the row lock on PostgreSQL; SQLite's writer lock is held already): concurrent sign-ins for one
/// address take turns between reading it and recording an attempt. None if the address has no row.
pub fn lock_throttle(conn: &mut DbConn, email_hash: &str) -> Result<Option<Throttle>> {
    let row: Option<(i32, NaiveDateTime, i32, Option<NaiveDateTime>)> = diesel::update(signin_throttle::table.find(email_hash))
        .set(signin_throttle::failures.eq(signin_throttle::failures))
        .returning((
            signin_throttle::failures,
            signin_throttle::window_start,
            signin_throttle::locks,
            signin_throttle::locked_until,
        ))
        .get_result(conn)
        .optional()?;
    Ok(row.map(throttle_of))
}

pub fn put_throttle(conn: &mut DbConn, email_hash: &str, t: &Throttle, existed: bool) -> Result<()> {
    if existed {
        diesel::update(signin_throttle::table.find(email_hash))
            .set((
                signin_throttle::failures.eq(t.failures),
                signin_throttle::window_start.eq(t.window_start),
                signin_throttle::locks.eq(t.locks),
                signin_throttle::locked_until.eq(t.locked_until),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(signin_throttle::table)
            .values((
                signin_throttle::email_hash.eq(email_hash),
                signin_throttle::failures.eq(t.failures),
                signin_throttle::window_start.eq(t.window_start),
                signin_throttle::locks.eq(t.locks),
                signin_throttle::locked_until.eq(t.locked_until),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Forget the failures of an address (a successful sign-in, or an admin's unlock); true if any were kept.
pub fn clear_throttle(conn: &mut DbConn, email_hash: &str) -> Result<bool> {
    Ok(diesel::delete(signin_throttle::table.find(email_hash)).execute(conn)? > 0)
}

/// A user's stored TOTP columns: (id, secret, pending).
pub type StoredTotp = (i64, Option<String>, Option<String>);

/// Users with a TOTP secret (active or being enrolled) not yet sealed.
pub fn unsealed_totp(conn: &mut DbConn, prefix: &str) -> Result<Vec<StoredTotp>> {
    let pattern = format!("{prefix}%");
    Ok(users::table
        .filter(
            users::totp_secret
                .is_not_null()
                .and(users::totp_secret.not_like(pattern.clone()))
                .or(users::totp_pending.is_not_null().and(users::totp_pending.not_like(pattern))),
        )
        .select((users::id, users::totp_secret, users::totp_pending))
        .load(conn)?)
}

/// Replace a user's stored TOTP secret and pending secret (sealing them), if they are still `was`.
pub fn reseal_totp(conn: &mut DbConn, user_id: i64, was: (Option<&str>, Option<&str>), now: (Option<&str>, Option<&str>)) -> Result<bool> {
    let mut q = diesel::update(users::table.find(user_id)).into_boxed();
    q = match was.0 {
        Some(v) => q.filter(users::totp_secret.eq(v.to_string())),
        None => q.filter(users::totp_secret.is_null()),
    };
    q = match was.1 {
        Some(v) => q.filter(users::totp_pending.eq(v.to_string())),
        None => q.filter(users::totp_pending.is_null()),
    };
    Ok(q.set((users::totp_secret.eq(now.0), users::totp_pending.eq(now.1))).execute(conn)? == 1)
}

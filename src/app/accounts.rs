// Accounts and sign-in as operations: invitations and password links, setting and changing passwords,
// signing in with a password and a second factor, TOTP enrolment, sessions, throttling, admin actions.

use super::{Context, Error, Result};
use crate::domain::account::{self as acc, Email, Throttle};
use crate::domain::auth::{Caller, Role};
use crate::domain::seal::{Purpose, Sealer};
use crate::storage::accounts::{self as store, NewAuthEvent, SessionRow};
use crate::storage::models::UserRow;
use crate::storage::{self, users, Db, DbConn};
use chrono::{Duration, NaiveDateTime};
use serde_json::json;

/// Invitation and password links last 72 hours.
pub const LINK_HOURS: i64 = 72;
/// A session waiting for its second factor lasts 5 minutes.
pub const PENDING_MINUTES: i64 = 5;

/// Where a request comes from, for the auth events.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// How long sessions live (`--session-idle-minutes`, `--session-max-hours`).
#[derive(Debug, Clone, Copy)]
pub struct SessionRules {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionRules {
    fn default() -> Self {
        SessionRules {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        }
    }
}

/// What a session is for: waiting for the second factor, or signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    SecondFactor,
    Full,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::SecondFactor => "totp",
            Stage::Full => "full",
        }
    }
}

fn event(conn: &mut DbConn, client: &Client, user_id: Option<i64>, actor_id: Option<i64>, kind: &str, outcome: &str, detail: serde_json::Value) -> Result<()> {
    store::append_event(
        conn,
        NewAuthEvent {
            at: storage::now(),
            user_id,
            actor_id,
            kind,
            outcome,
            ip: &client.ip,
            user_agent: &client.user_agent,
            detail,
        },
    )?;
    Ok(())
}

fn require_admin(actor: &Caller) -> Result<()> {
    if actor.has(Role::Admin) {
        Ok(())
    } else {
        Err(Error::forbidden("forbidden_role", "this needs the role admin"))
    }
}

/// Officers and admins may do nothing until they have a second factor.
pub fn needs_second_factor(user: &UserRow) -> bool {
    let roles = crate::domain::auth::parse_roles(&user.roles).unwrap_or_default();
    user.totp_secret.is_none() && (roles.contains(&Role::Officer) || roles.contains(&Role::Admin))
}

fn parse_email(s: &str) -> Result<Email> {
    Email::parse(s).map_err(|m| field_error("invalid_email", "email", m))
}

/// Invalid input in one field.
fn field_error(code: &'static str, field: &str, message: impl Into<String>) -> Error {
    let message = message.into();
    Error::Storage(storage::Error::invalid(
        code,
        message.clone(),
        vec![crate::domain::scoring::FieldError::new(field, code, message)],
    ))
}

fn throttle_key(email: &str) -> String {
    acc::secret_hash(&format!("signin:{}", email.trim().to_lowercase()))
}

// ---- invitations and password links ----

/// A new single-use link, shown once.
pub struct Link {
    pub user: UserRow,
    pub url: String,
    pub expires_at: NaiveDateTime,
}

fn new_link(conn: &mut DbConn, user: UserRow, purpose: &str, public_url: &str, now: NaiveDateTime) -> Result<Link> {
    let token = acc::new_secret();
    let expires_at = now + Duration::hours(LINK_HOURS);
    store::create_invitation(conn, user.id, &acc::secret_hash(&token), purpose, now, expires_at)?;
    Ok(Link {
        user,
        url: format!("{public_url}/invite/{token}"),
        expires_at,
    })
}

pub struct NewPerson<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub roles: &'a [Role],
    pub venue_id: Option<i64>,
}

/// Invite a person: the user is created with their e-mail address and gets a 72-hour link to set a password
/// (counted from `now`, the registry's clock).
pub fn invite(conn: &mut DbConn, actor: &Caller, client: &Client, p: NewPerson<'_>, public_url: &str, now: NaiveDateTime) -> Result<Link> {
    require_admin(actor)?;
    let email = parse_email(p.email)?;
    let user = super::users::add(conn, actor, p.name, p.roles, p.venue_id, Some(email.as_str()))?;
    let link = new_link(conn, user, "invite", public_url, now)?;
    event(
        conn,
        client,
        Some(link.user.id),
        actor.user_id,
        "invitation_created",
        "ok",
        json!({"by": actor.name}),
    )?;
    Ok(link)
}

/// A new password link for an existing person (voids the older ones); their password stays until it is used.
pub fn password_link(conn: &mut DbConn, actor: &Caller, client: &Client, user_id: i64, public_url: &str, now: NaiveDateTime) -> Result<Link> {
    require_admin(actor)?;
    let user = users::get(conn, user_id)?;
    if user.email.is_none() {
        return Err(Error::invalid("no_email", "this user has no e-mail address (set one first)"));
    }
    let purpose = if user.password_hash.is_some() { "reset" } else { "invite" };
    let link = new_link(conn, user, purpose, public_url, now)?;
    event(
        conn,
        client,
        Some(link.user.id),
        actor.user_id,
        "password_link_created",
        "ok",
        json!({"by": actor.name}),
    )?;
    Ok(link)
}

/// Give an existing user (made before sign-in existed) their e-mail address.
pub fn set_email(conn: &mut DbConn, actor: &Caller, client: &Client, user_id: i64, email: &str) -> Result<UserRow> {
    require_admin(actor)?;
    let email = parse_email(email)?;
    let user = users::get(conn, user_id)?;
    if let Some(other) = store::user_by_email(conn, email.as_str())? {
        if other.id != user_id {
            return Err(Error::conflict("email_taken", format!("another user already has the e-mail address {email}")));
        }
    }
    store::set_email(conn, user_id, email.as_str())?;
    event(
        conn,
        client,
        Some(user_id),
        actor.user_id,
        "email_set",
        "ok",
        json!({"previous": user.email, "by": actor.name}),
    )?;
    Ok(users::get(conn, user_id)?)
}

/// What the link page shows: whose link it is, if it can still be used.
pub struct LinkView {
    pub invitation_id: i64,
    pub user: UserRow,
    pub purpose: String,
}

fn gone() -> Error {
    Error::Gone {
        code: "invitation_invalid",
        message: "this link has expired, has been used, or was replaced by a newer one".into(),
    }
}

pub fn open_link(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> Result<LinkView> {
    if !acc::looks_like_secret(token) {
        return Err(gone());
    }
    let (inv, user) = store::invitation(conn, &acc::secret_hash(token))?.ok_or_else(gone)?;
    if inv.used_at.is_some() || inv.voided_at.is_some() || inv.expires_at <= now {
        return Err(gone());
    }
    Ok(LinkView {
        invitation_id: inv.id,
        user,
        purpose: inv.purpose,
    })
}

fn password_error(p: acc::PasswordProblem) -> Error {
    let field = if p == acc::PasswordProblem::Mismatch {
        "password_confirm"
    } else {
        "password"
    };
    field_error(p.code(), field, p.message())
}

async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || acc::hash_password(&password))
        .await
        .map_err(|e| Error::Storage(storage::Error::Internal(e.to_string())))?
        .map_err(|e| Error::Storage(storage::Error::Internal(e)))
}

async fn verify_blocking(password: String, hash: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || acc::verify_password(&password, hash.as_deref().unwrap_or(acc::dummy_hash())) && hash.is_some())
        .await
        .map_err(|e| Error::Storage(storage::Error::Internal(e.to_string())))
}

/// Set the password through a link: the policy, argon2id, the link used once, every session of the person ended.
/// `now` is the registry's clock (the link's 72 hours are counted by it).
pub async fn accept_link(db: &Db, client: &Client, token: String, password: String, confirm: String, now: NaiveDateTime) -> Result<UserRow> {
    let t = token.clone();
    let view = db.read(move |c| Ok::<_, storage::Error>(open_link(c, &t, now))).await??;
    let email = view.user.email.clone().unwrap_or_default();
    acc::check_password(&password, &confirm, &[&email, &view.user.name]).map_err(password_error)?;
    let hash = hash_blocking(password).await?;
    let client = client.clone();
    let out = db
        .write(move |c| -> storage::Result<_> {
            if !store::use_invitation(c, view.invitation_id, now)? {
                return Ok(None);
            }
            store::set_password_hash(c, view.user.id, &hash)?;
            store::end_sessions_of(c, view.user.id, None, "password_changed", now)?;
            store::clear_throttle(c, &throttle_key(&email))?;
            let _ = event(
                c,
                &client,
                Some(view.user.id),
                Some(view.user.id),
                "password_set",
                "ok",
                json!({"via": view.purpose}),
            );
            Ok(Some(users::get(c, view.user.id)?))
        })
        .await?;
    out.ok_or_else(gone)
}

// ---- signing in ----

/// A session just made: its secret goes into the cookie, once.
pub struct NewSession {
    pub secret: String,
    pub session_id: i64,
    pub stage: Stage,
    pub user: UserRow,
}

fn wrong() -> Error {
    Error::Unauthorized {
        code: "invalid_credentials",
        message: "the e-mail address or the password is wrong".into(),
    }
}

fn start_session(conn: &mut DbConn, user: UserRow, stage: Stage, rules: &SessionRules, client: &Client, now: NaiveDateTime) -> Result<NewSession> {
    let secret = acc::new_secret();
    let expires_at = match stage {
        Stage::Full => now + rules.absolute,
        Stage::SecondFactor => now + Duration::minutes(PENDING_MINUTES),
    };
    let session_id = store::create_session(
        conn,
        store::NewSession {
            user_id: user.id,
            id_hash: &acc::secret_hash(&secret),
            stage: stage.as_str(),
            now,
            expires_at,
            ip: &client.ip,
            user_agent: &client.user_agent,
        },
    )?;
    Ok(NewSession {
        secret,
        session_id,
        stage,
        user,
    })
}

/// Count a failure for the address typed (account or not); the wait it starts, if any.
fn record_failure(conn: &mut DbConn, key: &str, now: NaiveDateTime) -> Result<Option<i64>> {
    let existing = store::throttle(conn, key)?;
    let next = existing.clone().unwrap_or_else(|| Throttle::fresh(now)).after_failure(now);
    match store::put_throttle(conn, key, &next, existing.is_some()) {
        // Another request inserted the row first: count on top of it.
        Err(storage::Error::Conflict { .. }) => {
            let t = store::throttle(conn, key)?.unwrap_or_else(|| Throttle::fresh(now)).after_failure(now);
            store::put_throttle(conn, key, &t, true)?;
            Ok(t.wait(now))
        }
        Err(e) => Err(e.into()),
        Ok(()) => Ok(next.wait(now)),
    }
}

/// An attempt to sign in to an address, counted before the password is checked: the lockout check and the
/// failure record are one step on the address's locked row, so concurrent attempts cannot check more
/// passwords than the throttle allows. `Err(wait)`: closed; `Ok(locks)`: this attempt may be checked, and
/// if it fails the address waits `locks` seconds (a success forgets it).
async fn reserve_attempt(db: &Db, key: String, now: NaiveDateTime) -> Result<std::result::Result<Option<i64>, i64>> {
    // The row exists first (a concurrent insert's conflict is as good), so that there is a row to lock.
    let k = key.clone();
    match db.write(move |c| store::put_throttle(c, &k, &Throttle::fresh(now), false)).await {
        Ok(()) | Err(storage::Error::Conflict { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    db.write(move |c| -> Result<_> {
        let current = store::lock_throttle(c, &key)?.unwrap_or_else(|| Throttle::fresh(now));
        if let Some(wait) = current.wait(now) {
            return Ok(Err(wait));
        }
        let next = current.after_failure(now);
        store::put_throttle(c, &key, &next, true)?;
        Ok(Ok(next.wait(now)))
    })
    .await
}

/// The first step: e-mail and password. Unknown addresses and wrong passwords look the same and take as
/// long (a dummy hash is checked); both count towards the address's throttle. `previous` is a session the
/// browser still holds, which ends (a new id at every sign-in). `now` is the registry's clock: the session's
/// idle and absolute limits count from it.
pub async fn sign_in(
    db: &Db,
    rules: SessionRules,
    client: &Client,
    email: String,
    password: String,
    previous: Option<i64>,
    now: NaiveDateTime,
) -> Result<NewSession> {
    let key = throttle_key(&email);
    let parsed = Email::parse(&email).ok();
    let user = match &parsed {
        Some(e) => {
            let e = e.as_str().to_string();
            db.read(move |c| store::user_by_email(c, &e)).await?
        }
        None => None,
    };
    let wait = match reserve_attempt(db, key.clone(), now).await? {
        Ok(wait) => wait,
        Err(wait) => {
            let (client, uid) = (client.clone(), user.as_ref().map(|u| u.id));
            db.write(move |c| event(c, &client, uid, uid, "sign_in", "refused_locked", json!({}))).await?;
            return Err(Error::Throttled { retry_after: wait as u64 });
        }
    };
    let ok = verify_blocking(password, user.as_ref().and_then(|u| u.password_hash.clone())).await?;
    let client = client.clone();
    if !ok {
        let uid = user.as_ref().map(|u| u.id);
        crate::metrics::get().signin_failures.inc();
        if wait.is_some() {
            crate::metrics::get().lockouts.inc();
        }
        db.write(move |c| -> Result<_> {
            let reason = if uid.is_some() { "wrong_password" } else { "unknown_email" };
            event(c, &client, uid, uid, "sign_in", "failed", json!({"reason": reason}))?;
            if let Some(w) = wait {
                event(c, &client, uid, None, "locked", "ok", json!({"seconds": w}))?;
            }
            Ok(())
        })
        .await?;
        return Err(match wait {
            Some(w) => Error::Throttled { retry_after: w as u64 },
            None => wrong(),
        });
    }
    let Some(user) = user else { return Err(wrong()) };
    let stage = if user.totp_secret.is_some() { Stage::SecondFactor } else { Stage::Full };
    db.write(move |c| {
        if let Some(p) = previous {
            store::end_session(c, p, "replaced", now)?;
        }
        store::clear_throttle(c, &key)?;
        let outcome = if stage == Stage::Full { "ok" } else { "second_factor_needed" };
        event(c, &client, Some(user.id), Some(user.id), "sign_in", outcome, json!({}))?;
        start_session(c, user, stage, &rules, &client, now)
    })
    .await
}

/// Check a TOTP code (once per time step) or a recovery code (once) of a user, counting failures.
fn check_second_factor(
    c: &mut DbConn,
    sealer: &Sealer,
    user: &UserRow,
    code: &str,
    slow: Option<&str>,
    client: &Client,
    now: NaiveDateTime,
) -> Result<&'static str> {
    let key = throttle_key(user.email.as_deref().unwrap_or_default());
    if let Some(wait) = store::lock_throttle(c, &key)?.and_then(|t| t.wait(now)) {
        event(c, client, Some(user.id), Some(user.id), "second_factor", "refused_locked", json!({}))?;
        return Err(Error::Throttled { retry_after: wait as u64 });
    }
    let stored = user
        .totp_secret
        .clone()
        .ok_or_else(|| Error::invalid("no_second_factor", "this account has no second factor"))?;
    let secret = open(sealer, &stored)?;
    let unix = u64::try_from(now.and_utc().timestamp()).unwrap_or(0);
    let method = if let Some(step) = acc::totp_accept(&secret, code, unix, user.totp_last_step) {
        store::use_totp_step(c, user.id, step)?.then_some("totp")
    } else if let Some(h) = slow {
        // The slow hash of codes made now; the fast one of codes made before it.
        let legacy = acc::recovery_code_hash(code).unwrap_or_default();
        (store::use_recovery_code(c, user.id, h, now)? || store::use_recovery_code(c, user.id, &legacy, now)?).then_some("recovery_code")
    } else {
        None
    };
    match method {
        Some(m) => {
            store::clear_throttle(c, &key)?;
            Ok(m)
        }
        None => {
            let wait = record_failure(c, &key, now)?;
            crate::metrics::get().signin_failures.inc();
            if wait.is_some() {
                crate::metrics::get().lockouts.inc();
            }
            event(c, client, Some(user.id), Some(user.id), "second_factor", "failed", json!({}))?;
            if let Some(w) = wait {
                event(c, client, Some(user.id), None, "locked", "ok", json!({"seconds": w}))?;
            }
            Err(match wait {
                Some(w) => Error::Throttled { retry_after: w as u64 },
                None => Error::Unauthorized {
                    code: "invalid_code",
                    message: "the code is wrong or was used already".into(),
                },
            })
        }
    }
}

/// The second step: a TOTP code or a recovery code for a session waiting for it; the waiting session
/// ends and a new one (new id) is signed in. A wrong code is counted (committed) before it is refused.
pub async fn second_factor(ctx: &Context, client: &Client, pending: SessionRow, code: String) -> Result<NewSession> {
    let (client, sealer, rules) = (client.clone(), ctx.sealer.clone(), ctx.config.sessions);
    // A recovery code is looked up by its slow hash, made before the transaction (it takes a while).
    let uid = pending.user_id;
    let typed = code.clone();
    let slow = actix_web::rt::task::spawn_blocking(move || acc::recovery_code_slow_hash(&typed, uid))
        .await
        .map_err(|e| Error::Storage(storage::Error::Internal(e.to_string())))?;
    ctx.db
        .write(move |c| Ok::<_, storage::Error>(second_factor_in(c, &sealer, &rules, &client, &pending, &code, slow.as_deref())))
        .await?
}

fn second_factor_in(
    c: &mut DbConn,
    sealer: &Sealer,
    rules: &SessionRules,
    client: &Client,
    pending: &SessionRow,
    code: &str,
    slow: Option<&str>,
) -> Result<NewSession> {
    let now = storage::now();
    let user = users::get(c, pending.user_id)?;
    let method = check_second_factor(c, sealer, &user, code, slow, client, now)?;
    if !store::end_session(c, pending.id, "second_factor_done", now)? {
        return Err(Error::Unauthorized {
            code: "session_ended",
            message: "this sign-in has ended; start again".into(),
        });
    }
    let left = if method == "recovery_code" {
        Some(store::recovery_codes_left(c, user.id)?)
    } else {
        None
    };
    event(
        c,
        client,
        Some(user.id),
        Some(user.id),
        "sign_in",
        "ok",
        json!({"second_factor": method, "recovery_codes_left": left}),
    )?;
    start_session(c, user, Stage::Full, rules, client, now)
}

/// The session behind a cookie, if it is open: not ended, within its absolute and idle limits.
pub struct OpenSession {
    pub session: SessionRow,
    pub user: UserRow,
    pub stage: Stage,
}

/// What a cookie leads to.
pub enum Lookup {
    Open(Box<OpenSession>),
    /// A session past its idle or absolute limit, not yet marked ended: `close_stale` records it.
    Stale {
        id: i64,
        user_id: i64,
        reason: &'static str,
    },
    None,
}

pub fn open_session(c: &mut DbConn, rules: &SessionRules, secret: &str, now: NaiveDateTime) -> Result<Lookup> {
    if !acc::looks_like_secret(secret) {
        return Ok(Lookup::None);
    }
    let Some((session, user)) = store::session_by_hash(c, &acc::secret_hash(secret))? else {
        return Ok(Lookup::None);
    };
    let stage = if session.stage == "full" { Stage::Full } else { Stage::SecondFactor };
    let idle = match stage {
        Stage::Full => rules.idle,
        Stage::SecondFactor => Duration::minutes(PENDING_MINUTES),
    };
    if session.ended_at.is_some() {
        return Ok(Lookup::None);
    }
    if session.expires_at <= now || session.last_seen_at + idle <= now {
        let reason = if session.expires_at <= now { "expired" } else { "idle" };
        return Ok(Lookup::Stale {
            id: session.id,
            user_id: session.user_id,
            reason,
        });
    }
    Ok(Lookup::Open(Box::new(OpenSession { session, user, stage })))
}

/// Record that a session ran out (idle or absolute limit), once.
pub fn close_stale(c: &mut DbConn, client: &Client, id: i64, user_id: i64, reason: &'static str) -> Result<()> {
    if store::end_session(c, id, reason, storage::now())? {
        event(
            c,
            client,
            Some(user_id),
            None,
            "session_ended",
            "ok",
            json!({"reason": reason, "session_id": id}),
        )?;
    }
    Ok(())
}

/// Sign out: the session ends everywhere at once.
pub fn sign_out(c: &mut DbConn, client: &Client, session: &SessionRow) -> Result<()> {
    if store::end_session(c, session.id, "signed_out", storage::now())? {
        event(
            c,
            client,
            Some(session.user_id),
            Some(session.user_id),
            "session_ended",
            "ok",
            json!({"reason": "signed_out", "session_id": session.id}),
        )?;
    }
    Ok(())
}

/// End one session: one's own, or anyone's for an admin (else it does not exist for the caller).
pub fn end_session(c: &mut DbConn, actor: &Caller, client: &Client, session_id: i64) -> Result<SessionRow> {
    let s = store::session(c, session_id)?;
    if actor.user_id != Some(s.user_id) && !actor.has(Role::Admin) {
        return Err(Error::not_found());
    }
    let reason = if actor.user_id == Some(s.user_id) {
        "ended_by_user"
    } else {
        "ended_by_admin"
    };
    if !store::end_session(c, session_id, reason, storage::now())? {
        return Err(Error::conflict("session_ended", format!("session {session_id} has ended already")));
    }
    event(
        c,
        client,
        Some(s.user_id),
        actor.user_id,
        "session_ended",
        "ok",
        json!({"reason": reason, "session_id": session_id}),
    )?;
    Ok(store::session(c, session_id)?)
}

/// End every session of a user (admin), or all but the current one (the user).
pub fn end_all_sessions(c: &mut DbConn, actor: &Caller, client: &Client, user_id: i64, keep: Option<i64>) -> Result<usize> {
    if actor.user_id != Some(user_id) {
        require_admin(actor)?;
        users::get(c, user_id)?;
    }
    let reason = if actor.user_id == Some(user_id) { "ended_by_user" } else { "ended_by_admin" };
    let n = store::end_sessions_of(c, user_id, keep, reason, storage::now())?;
    event(
        c,
        client,
        Some(user_id),
        actor.user_id,
        "session_ended",
        "ok",
        json!({"reason": reason, "sessions": n}),
    )?;
    Ok(n)
}

/// A person's API tokens: one's own, or anyone's for an admin.
pub fn tokens(c: &mut DbConn, actor: &Caller, user_id: i64) -> Result<Vec<crate::storage::models::TokenRow>> {
    if actor.user_id != Some(user_id) {
        require_admin(actor)?;
    }
    Ok(users::tokens_of(c, user_id)?)
}

/// How many unused recovery codes the caller has left.
pub fn recovery_codes_left(c: &mut DbConn, actor: &Caller) -> Result<i64> {
    let user_id = actor.user_id.ok_or_else(Error::not_found)?;
    Ok(store::recovery_codes_left(c, user_id)?)
}

/// The language a person uses the portal in (their e-mails follow it).
pub fn set_language(c: &mut DbConn, user_id: i64, language: &str) -> Result<()> {
    Ok(crate::storage::notifications::set_language(c, user_id, language)?)
}

/// A person's messages in the portal, newest first.
pub fn notifications(c: &mut DbConn, actor: &Caller, limit: i64) -> Result<Vec<crate::storage::models::NotificationRow>> {
    let user_id = actor.user_id.ok_or_else(Error::not_found)?;
    Ok(crate::storage::notifications::for_user(c, user_id, limit)?)
}

/// How many of one's notifications are new since one last opened them.
pub fn unread_notifications(c: &mut DbConn, actor: &Caller, seen_id: i64) -> Result<i64> {
    let user_id = actor.user_id.ok_or_else(Error::not_found)?;
    Ok(crate::storage::notifications::unread(c, user_id, seen_id)?)
}

/// One has seen one's notifications up to `id` (the newest shown).
pub fn notifications_seen(c: &mut DbConn, actor: &Caller, id: i64) -> Result<()> {
    let user_id = actor.user_id.ok_or_else(Error::not_found)?;
    Ok(crate::storage::notifications::seen(c, user_id, id)?)
}

/// Open sessions of a user: one's own, or anyone's for an admin.
pub fn sessions(c: &mut DbConn, actor: &Caller, user_id: i64) -> Result<Vec<SessionRow>> {
    if actor.user_id != Some(user_id) {
        require_admin(actor)?;
        users::get(c, user_id)?;
    }
    Ok(store::open_sessions(c, user_id, storage::now())?)
}

// ---- second factor ----

/// A stored TOTP secret opened (sealed ones with the sealing key; one from before sealing as it is).
fn open(sealer: &Sealer, stored: &str) -> Result<String> {
    sealer.open(Purpose::Totp, stored).map_err(|e| Error::Storage(storage::Error::Internal(e)))
}

/// The secret being enrolled (kept while the page is reloaded), and its `otpauth://` URI.
pub fn begin_enrolment(c: &mut DbConn, sealer: &Sealer, user_id: i64, issuer: &str) -> Result<(String, String)> {
    let user = users::get(c, user_id)?;
    if user.totp_secret.is_some() {
        return Err(Error::conflict(
            "second_factor_enrolled",
            "a second factor is set up already; an admin can reset it",
        ));
    }
    let secret = match user.totp_pending {
        Some(s) => open(sealer, &s)?,
        None => {
            let s = acc::new_totp_secret();
            let sealed = sealer
                .seal(Purpose::Totp, &s, rand::random())
                .map_err(|e| Error::Storage(storage::Error::Internal(e)))?;
            store::set_totp_pending(c, user_id, Some(&sealed))?;
            s
        }
    };
    let account = user.email.clone().unwrap_or(user.name.clone());
    let uri = acc::totp_uri(&secret, &account, issuer).ok_or_else(|| Error::Storage(storage::Error::Internal("cannot build the otpauth URI".into())))?;
    Ok((secret, uri))
}

/// Confirm enrolment with the first code: the factor becomes active, 10 recovery codes are made (returned
/// once, stored hashed), and the person's other sessions end.
pub async fn confirm_enrolment(ctx: &Context, client: &Client, user_id: i64, current_session: Option<i64>, code: String) -> Result<Vec<String>> {
    let (client, sealer) = (client.clone(), ctx.sealer.clone());
    ctx.db
        .write(move |c| Ok::<_, storage::Error>(confirm_enrolment_in(c, &sealer, &client, user_id, current_session, &code)))
        .await?
}

fn confirm_enrolment_in(c: &mut DbConn, sealer: &Sealer, client: &Client, user_id: i64, current_session: Option<i64>, code: &str) -> Result<Vec<String>> {
    let user = users::get(c, user_id)?;
    if user.totp_secret.is_some() {
        return Err(Error::conflict("second_factor_enrolled", "a second factor is set up already"));
    }
    let pending = user
        .totp_pending
        .clone()
        .ok_or_else(|| Error::invalid("no_enrolment", "open the set-up page first"))?;
    let now = storage::now();
    let unix = u64::try_from(now.and_utc().timestamp()).unwrap_or(0);
    let Some(step) = acc::totp_accept(&open(sealer, &pending)?, code, unix, None) else {
        event(c, client, Some(user_id), Some(user_id), "second_factor_enrolled", "failed", json!({}))?;
        return Err(field_error(
            "invalid_code",
            "code",
            "the code is wrong; check the time on your phone and type the current code",
        ));
    };
    if !store::confirm_totp(c, user_id, &pending, step)? {
        return Err(Error::conflict("enrolment_changed", "the set-up changed meanwhile; open the page again"));
    }
    let codes = acc::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().filter_map(|c| acc::recovery_code_slow_hash(c, user_id)).collect();
    store::replace_recovery_codes(c, user_id, &hashes)?;
    let ended = store::end_sessions_of(c, user_id, current_session, "second_factor_changed", now)?;
    event(
        c,
        client,
        Some(user_id),
        Some(user_id),
        "second_factor_enrolled",
        "ok",
        json!({"other_sessions_ended": ended}),
    )?;
    Ok(codes)
}

/// An admin removes someone's second factor (lost phone): they enrol again at their next sign-in; their
/// sessions end.
pub fn reset_second_factor(c: &mut DbConn, actor: &Caller, client: &Client, user_id: i64) -> Result<UserRow> {
    require_admin(actor)?;
    users::get(c, user_id)?;
    store::clear_totp(c, user_id)?;
    let ended = store::end_sessions_of(c, user_id, None, "second_factor_changed", storage::now())?;
    event(
        c,
        client,
        Some(user_id),
        actor.user_id,
        "second_factor_reset",
        "ok",
        json!({"by": actor.name, "sessions_ended": ended}),
    )?;
    Ok(users::get(c, user_id)?)
}

/// An admin lifts a sign-in wait of a person.
pub fn unlock(c: &mut DbConn, actor: &Caller, client: &Client, user_id: i64) -> Result<bool> {
    require_admin(actor)?;
    let user = users::get(c, user_id)?;
    let was = match &user.email {
        Some(e) => store::clear_throttle(c, &throttle_key(e))?,
        None => false,
    };
    event(
        c,
        client,
        Some(user_id),
        actor.user_id,
        "unlocked",
        "ok",
        json!({"by": actor.name, "was_locked": was}),
    )?;
    Ok(was)
}

/// Change one's password: the current one, then the policy; the person's other sessions end.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    db: &Db,
    client: &Client,
    user_id: i64,
    session_id: i64,
    current: String,
    password: String,
    confirm: String,
    now: NaiveDateTime,
) -> Result<()> {
    let user = db.read(move |c| users::get(c, user_id)).await?;
    if !verify_blocking(current, user.password_hash.clone()).await? {
        let client = client.clone();
        db.write(move |c| {
            event(
                c,
                &client,
                Some(user_id),
                Some(user_id),
                "password_changed",
                "failed",
                json!({"reason": "wrong_current_password"}),
            )
        })
        .await?;
        return Err(field_error("wrong_password", "current_password", "the current password is wrong"));
    }
    let email = user.email.clone().unwrap_or_default();
    acc::check_password(&password, &confirm, &[&email, &user.name]).map_err(password_error)?;
    let hash = hash_blocking(password).await?;
    let client = client.clone();
    db.write(move |c| {
        store::set_password_hash(c, user_id, &hash)?;
        let ended = store::end_sessions_of(c, user_id, Some(session_id), "password_changed", now)?;
        event(
            c,
            &client,
            Some(user_id),
            Some(user_id),
            "password_changed",
            "ok",
            json!({"other_sessions_ended": ended}),
        )
    })
    .await?;
    Ok(())
}

/// Auth events, newest first (admins).
pub fn auth_events(c: &mut DbConn, actor: &Caller, user_id: Option<i64>, before: Option<i64>, limit: i64) -> Result<Vec<store::AuthEventRow>> {
    require_admin(actor)?;
    Ok(store::events(c, user_id, before, limit)?)
}

// ---- API tokens ----

/// A signed-in person makes an API token for their own scripts (shown once).
pub fn create_own_token(c: &mut DbConn, actor: &Caller, label: &str) -> Result<(i64, String)> {
    let user_id = actor.user_id.ok_or_else(|| Error::forbidden("forbidden_role", "only people have API tokens"))?;
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(field_error("invalid_label", "label", "a token needs a label of 1 to 100 characters"));
    }
    if let Err(e) = crate::domain::text::check("label", label, crate::domain::text::TextKind::Line) {
        return Err(Error::Storage(storage::Error::invalid("invalid_characters", e.message.clone(), vec![e])));
    }
    Ok(users::create_token(c, actor, user_id, label)?)
}

/// Revoke an API token: one's own, or anyone's for an admin (else it does not exist for the caller).
pub fn revoke_token(c: &mut DbConn, actor: &Caller, token_id: i64) -> Result<crate::storage::models::TokenRow> {
    let own = match actor.user_id {
        Some(u) => users::tokens_of(c, u)?.iter().any(|t| t.id == token_id),
        None => false,
    };
    if !own && !actor.has(Role::Admin) {
        return Err(Error::not_found());
    }
    Ok(users::revoke_token(c, actor, token_id)?)
}

/// Revoke one of a person's tokens, from their page (admins): a token of someone else is not found.
pub fn revoke_token_of(c: &mut DbConn, actor: &Caller, user_id: i64, token_id: i64) -> Result<crate::storage::models::TokenRow> {
    if !tokens(c, actor, user_id)?.iter().any(|t| t.id == token_id) {
        return Err(Error::not_found());
    }
    revoke_token(c, actor, token_id)
}

/// Record a session's last use (the idle limit counts from it).
pub fn touch_session(c: &mut DbConn, session_id: i64, now: NaiveDateTime) -> Result<()> {
    Ok(store::touch_session(c, session_id, now)?)
}

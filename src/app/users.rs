// Users as operations: who may create them (admins, and the command line), and what a user needs — a
// name, at least one role, a venue exactly when they manage one, an e-mail address no one else has.

use super::{Error, Result};
use crate::domain::auth::{Caller, Role, MAX_USER_NAME};
use crate::storage::models::UserRow;
use crate::storage::{self, accounts, users, venues, DbConn};

/// A user made for scripts, with their first bearer token (shown once).
pub struct NewUser {
    pub user: UserRow,
    pub token_id: i64,
    pub token: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> Error {
    Error::invalid(code, message)
}

/// Check and store a new user; `email` (already parsed, lower case) when they will sign in.
pub fn add(conn: &mut DbConn, actor: &Caller, name: &str, roles: &[Role], venue_id: Option<i64>, email: Option<&str>) -> Result<UserRow> {
    if !actor.has(Role::Admin) {
        return Err(Error::forbidden("forbidden_role", "this needs the role admin"));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_USER_NAME {
        return Err(invalid("invalid_name", format!("a user needs a name of 1 to {MAX_USER_NAME} characters")));
    }
    if let Err(e) = crate::domain::text::check("name", name, crate::domain::text::TextKind::Name) {
        return Err(Error::Storage(storage::Error::invalid("invalid_characters", e.message.clone(), vec![e])));
    }
    check_roles(conn, roles, venue_id)?;
    if let Some(e) = email {
        if accounts::user_by_email(conn, e)?.is_some() {
            return Err(Error::conflict("email_taken", format!("another user already has the e-mail address {e}")));
        }
    }
    Ok(users::insert(conn, actor, name, roles, venue_id, email)?)
}

/// At least one role; a venue exactly when the user manages one, and that venue exists.
fn check_roles(conn: &mut DbConn, roles: &[Role], venue_id: Option<i64>) -> Result<()> {
    if roles.is_empty() {
        return Err(invalid("invalid_role", "a user needs at least one role"));
    }
    match (roles.contains(&Role::Venue), venue_id) {
        (true, None) => Err(invalid("venue_required", "a venue user must be bound to a venue (--venue <id>)")),
        (false, Some(_)) => Err(invalid("venue_not_allowed", "only venue users are bound to a venue")),
        (true, Some(v)) if !venues::exists(conn, v)? => Err(invalid("unknown_venue", format!("venue {v} does not exist"))),
        _ => Ok(()),
    }
}

/// An admin changes a person's roles and venue binding (effective on their next request). An admin cannot
/// take the admin role from themselves, so the registry never loses its last way in by accident.
pub fn set_roles(conn: &mut DbConn, actor: &Caller, id: i64, roles: &[Role], venue_id: Option<i64>) -> Result<UserRow> {
    if !actor.has(Role::Admin) {
        return Err(Error::forbidden("forbidden_role", "this needs the role admin"));
    }
    users::get(conn, id)?;
    check_roles(conn, roles, venue_id)?;
    if actor.user_id == Some(id) && !roles.contains(&Role::Admin) {
        return Err(Error::conflict(
            "cannot_demote_self",
            "an admin cannot remove their own admin role; another admin can",
        ));
    }
    Ok(users::set_roles(conn, actor, id, roles, venue_id)?)
}

/// The venue a person is to manage, as the portal's role form names it: chosen from a list of matches
/// (`Id`), or typed by name (`Name`, in any of its languages, case and accents ignored), or none.
pub enum VenuePick {
    Id(i64),
    Name(String),
    None,
}

/// What the role form's change came to: done, or several venues hold the name typed (the person chooses).
pub enum RolesChange {
    Done(Box<UserRow>),
    Choose(Vec<crate::storage::models::VenueRow>),
}

/// How many venues a typed name may match for the person to choose among.
const VENUE_CHOICES: i64 = 10;

/// `set_roles` with the venue named rather than numbered: a name that one venue holds (or one venue holds
/// exactly, among several holding it in part) is that venue; a name several hold asks which; none is
/// `unknown_venue`.
pub fn set_roles_naming_venue(conn: &mut DbConn, actor: &Caller, id: i64, roles: &[Role], venue: VenuePick) -> Result<RolesChange> {
    if !actor.has(Role::Admin) {
        return Err(Error::forbidden("forbidden_role", "this needs the role admin"));
    }
    let venue_id = match venue {
        VenuePick::Id(v) => Some(v),
        VenuePick::None => None,
        // The name only matters for a venue manager; for other roles `set_roles` says a venue is not allowed.
        VenuePick::Name(name) => {
            let query = crate::storage::venues::VenueQuery {
                q: Some(name.clone()),
                city: None,
                only_id: None,
                after_id: None,
                limit: VENUE_CHOICES + 1,
            };
            let found = venues::list(conn, &query)?;
            let folded = crate::domain::text::fold(name.trim());
            let exact: Vec<&crate::storage::models::VenueRow> = found
                .iter()
                .filter(|v| {
                    [Some(&v.name), v.name_kk.as_ref(), v.name_ru.as_ref(), v.name_en.as_ref()]
                        .into_iter()
                        .flatten()
                        .any(|n| crate::domain::text::fold(n) == folded)
                })
                .collect();
            match (found.len(), exact.as_slice()) {
                (0, _) => return Err(invalid("unknown_venue", "no venue has this name")),
                (1, _) => Some(found[0].id),
                (_, [one]) => Some(one.id),
                _ => {
                    let mut found = found;
                    found.truncate(usize::try_from(VENUE_CHOICES).unwrap_or(10));
                    return Ok(RolesChange::Choose(found));
                }
            }
        }
    };
    Ok(RolesChange::Done(Box::new(set_roles(conn, actor, id, roles, venue_id)?)))
}

/// A user for scripts, with a bearer token.
pub fn create_with_token(conn: &mut DbConn, actor: &Caller, name: &str, roles: &[Role], venue_id: Option<i64>) -> Result<NewUser> {
    let user = add(conn, actor, name, roles, venue_id, None)?;
    let (token_id, token) = users::create_token(conn, actor, user.id, "initial")?;
    Ok(NewUser { user, token_id, token })
}

/// The signed-in caller's own record.
pub fn me(conn: &mut DbConn, caller: &Caller) -> Result<UserRow> {
    let id = caller.user_id.ok_or_else(Error::not_found)?;
    Ok(users::get(conn, id)?)
}

/// A user's record (admins; everyone else sees only their own).
pub fn get(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<UserRow> {
    if !caller.has(Role::Admin) && caller.user_id != Some(id) {
        return Err(Error::not_found());
    }
    Ok(users::get(conn, id)?)
}

/// An admin issues a bearer token for a user's scripts (shown once).
pub fn issue_token(conn: &mut DbConn, caller: &Caller, id: i64, label: &str) -> Result<NewUser> {
    if !caller.has(Role::Admin) {
        return Err(Error::forbidden("forbidden_role", "this needs the role admin"));
    }
    let user = users::get(conn, id)?;
    let (token_id, token) = users::create_token(conn, caller, id, label)?;
    Ok(NewUser { user, token_id, token })
}

/// One page of people, by id after `after` (admins).
pub fn page(conn: &mut DbConn, caller: &Caller, after: Option<i64>, limit: i64) -> Result<Vec<UserRow>> {
    if !caller.has(Role::Admin) {
        return Err(Error::forbidden("forbidden_role", "this needs the role admin"));
    }
    Ok(users::page(conn, after, limit)?)
}

/// The caller a bearer token stands for (None: unknown or revoked).
pub fn caller_for_token(conn: &mut DbConn, token: &str) -> Result<Option<Caller>> {
    Ok(users::caller_for_token(conn, token)?)
}

/// Every user (admins, and the command line).
pub fn list(conn: &mut DbConn, caller: &Caller) -> Result<Vec<UserRow>> {
    if !caller.has(Role::Admin) {
        return Err(Error::forbidden("forbidden_role", "this needs the role admin"));
    }
    Ok(users::list(conn)?)
}

/// Who a stored user is, as the rules see them (roles parsed).
pub fn caller_of(user: &UserRow) -> Result<Caller> {
    Ok(users::caller_of(user)?)
}

/// A signed-in person makes an API token for their own scripts (shown once), with their record.
pub fn own_token(conn: &mut DbConn, caller: &Caller, label: &str) -> Result<NewUser> {
    let (token_id, token) = super::accounts::create_own_token(conn, caller, label)?;
    Ok(NewUser {
        user: me(conn, caller)?,
        token_id,
        token,
    })
}

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
    if roles.is_empty() {
        return Err(invalid("invalid_role", "a user needs at least one role"));
    }
    match (roles.contains(&Role::Venue), venue_id) {
        (true, None) => return Err(invalid("venue_required", "a venue user must be bound to a venue (--venue <id>)")),
        (false, Some(_)) => return Err(invalid("venue_not_allowed", "only venue users are bound to a venue")),
        (true, Some(v)) if !venues::exists(conn, v)? => return Err(invalid("unknown_venue", format!("venue {v} does not exist"))),
        _ => {}
    }
    if let Some(e) = email {
        if accounts::user_by_email(conn, e)?.is_some() {
            return Err(Error::conflict("email_taken", format!("another user already has the e-mail address {e}")));
        }
    }
    Ok(users::insert(conn, actor, name, roles, venue_id, email)?)
}

/// A user for scripts, with a bearer token.
pub fn create_with_token(conn: &mut DbConn, actor: &Caller, name: &str, roles: &[Role], venue_id: Option<i64>) -> Result<NewUser> {
    let user = add(conn, actor, name, roles, venue_id, None)?;
    let (token_id, token) = users::create_token(conn, actor, user.id, "initial")?;
    Ok(NewUser { user, token_id, token })
}

// Venues as operations: assessors and admins create and edit them (every field checked by the domain's
// rules); staff see every venue, a venue manager only their own.

use super::{Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::domain::scoring::FieldError;
use crate::domain::venue::{Venue, VenueFields};
use crate::storage::models::VenueRow;
use crate::storage::{self, venues as repo, DbConn};

fn may_edit(actor: &Caller) -> Result<()> {
    if actor.has_any(&[Role::Assessor, Role::Admin]) {
        Ok(())
    } else {
        Err(Error::forbidden("forbidden_role", "this needs the role assessor or admin"))
    }
}

/// Invalid fields: `invalid_characters` when that is what is wrong, else `invalid_venue`.
fn invalid(fields: Vec<FieldError>) -> Error {
    let (code, message) = if fields.iter().any(|f| f.code == "invalid_characters") {
        ("invalid_characters", "a venue field contains a character that is not allowed")
    } else {
        ("invalid_venue", "some venue fields are not valid")
    };
    Error::Storage(storage::Error::invalid(code, message, fields))
}

pub fn create(conn: &mut DbConn, actor: &Caller, fields: &VenueFields) -> Result<VenueRow> {
    may_edit(actor)?;
    let venue = Venue::apply(None, fields).map_err(invalid)?;
    Ok(repo::create(conn, actor, &venue)?)
}

/// Change some fields; the others stay.
pub fn update(conn: &mut DbConn, actor: &Caller, id: i64, fields: &VenueFields) -> Result<VenueRow> {
    may_edit(actor)?;
    let current = repo::get(conn, id)?;
    let venue = Venue::apply(Some(&repo::to_domain(&current)), fields).map_err(invalid)?;
    Ok(repo::update(conn, actor, id, &venue)?)
}

/// The venue if the caller may see it; else not found.
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<VenueRow> {
    if !caller.can_view_venue(id) {
        return Err(Error::not_found());
    }
    Ok(repo::get(conn, id)?)
}

/// One page of venues by the query (the portal's and the API's list; `only_id` scopes a venue manager).
pub fn list(conn: &mut DbConn, q: &crate::storage::venues::VenueQuery) -> Result<Vec<VenueRow>> {
    Ok(crate::storage::venues::list(conn, q)?)
}

/// A venue's page: the venue as the caller may see it, and whether it has a certificate a surveillance
/// audit could keep (only then is one offered).
pub fn page(c: &mut DbConn, caller: &Caller, id: i64) -> Result<(VenueRow, bool)> {
    let row = get_visible(c, caller, id)?;
    let certified = super::assessments::surveillable(c, id)?;
    Ok((row, certified))
}

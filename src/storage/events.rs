// The append-only event history: every state change with who, when, what and why.
// Rows are only ever inserted (the database refuses updates and deletes with a trigger).

use super::models::EventRow;
use super::schema::events;
use super::{now, DbConn, Result};
use crate::domain::auth::Caller;
use diesel::prelude::*;

pub fn append(conn: &mut DbConn, actor: &Caller, entity: &str, entity_id: &str, action: &str, detail: serde_json::Value) -> Result<()> {
    diesel::insert_into(events::table)
        .values((
            events::at.eq(now()),
            events::actor_id.eq(actor.user_id),
            events::actor_name.eq(&actor.name),
            events::entity.eq(entity),
            events::entity_id.eq(entity_id),
            events::action.eq(action),
            events::detail.eq(detail.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn list(conn: &mut DbConn, entity: &str, entity_id: &str) -> Result<Vec<EventRow>> {
    Ok(events::table
        .filter(events::entity.eq(entity))
        .filter(events::entity_id.eq(entity_id))
        .order(events::id.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}

/// The latest event of `action` on an entity: who made the decision, and when.
pub fn latest(conn: &mut DbConn, entity: &str, entity_id: &str, action: &str) -> Result<Option<EventRow>> {
    Ok(events::table
        .filter(events::entity.eq(entity))
        .filter(events::entity_id.eq(entity_id))
        .filter(events::action.eq(action))
        .order(events::id.desc())
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

// The event history as the API shows it (an assessment's, a certificate's): who did what, when, why.
// Shared by the assessment and certificate handlers, so neither imports the other for it.

use crate::app::rows::EventRow;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventResponse {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<EventRow> for EventResponse {
    fn from(e: EventRow) -> Self {
        EventResponse {
            id: e.id,
            at: e.at.and_utc(),
            actor_id: e.actor_id,
            actor: e.actor_name,
            action: e.action,
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

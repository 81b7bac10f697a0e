// The JSON API under /api/v1 (bearer tokens, or the session cookie with X-CSRF-Token): request and
// response types, each handler parsing, calling one operation of src/app, and answering JSON.

pub mod appeals;
pub mod assessments;
pub mod certificates;
pub mod complaints;
pub mod history;
pub mod users;
pub mod venues;
pub mod webhooks;

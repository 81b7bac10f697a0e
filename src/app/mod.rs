//! The application layer: each operation people can do is one function here, called by the JSON API,
//! the pages and the CLI alike; it checks who may do it and the workflow rules, then calls src/storage.
//! src/storage is persistence only: queries, guarded updates, events and log entries, transactions.

pub mod accounts;
pub mod appeals;
pub mod assessments;
pub mod backup;
pub mod certificates;
pub mod clock;
pub mod codes;
pub mod complaints;
pub mod context;
pub mod documents;
pub mod export;
pub mod idempotency;
pub mod keys;
pub mod metrics;
pub mod notify;
pub mod public;
pub mod replica;
pub mod schedule;
pub mod secrets;
pub mod users;
pub mod venues;
pub mod views;
pub mod webhooks;
pub mod witnesses;

use crate::storage;

pub use crate::storage::{now, Db, DbConn, Error as StorageError};
pub use context::Context;

/// Why an operation did not happen. The web layer maps each case to a status and a stable code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] storage::Error),
    /// Not signed in, or the credentials are wrong (401).
    #[error("{code}: {message}")]
    Unauthorized { code: &'static str, message: String },
    /// Too many attempts: try again after this many seconds (429).
    #[error("too many attempts; wait {retry_after} s")]
    Throttled { retry_after: u64 },
    /// A link that was valid once and is not any more (410).
    #[error("{code}: {message}")]
    Gone { code: &'static str, message: String },
}

impl Error {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Storage(storage::Error::invalid(code, message, vec![]))
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Error::Storage(storage::Error::forbidden(code, message))
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Storage(storage::Error::conflict(code, message))
    }
    pub fn not_found() -> Self {
        Error::Storage(storage::Error::NotFound)
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Storage(e.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// What the outer layers read of an operation's result: the stored rows, and how a row reads (its status,
/// outcome, measurements …: pure functions of the row). Queries and writes stay behind the operations.
pub mod rows {
    pub use crate::storage::accounts::{AuthEventRow, SessionRow};
    pub use crate::storage::assessments::{ListQuery, NewEvidence};
    pub use crate::storage::certificates::PublicQuery;
    pub use crate::storage::models::*;
    pub use crate::storage::venues::VenueQuery;
    pub mod assessment {
        pub use crate::storage::assessments::{kind_of, measurements_of, outcome_of, status_of};
    }
    pub mod certificate {
        pub use crate::storage::certificates::{outcome_of, status_now, stored_status};
    }
    pub mod appeal {
        pub use crate::storage::appeals::{status_of, subject_of};
    }
    pub mod complaint {
        pub use crate::storage::complaints::status_of;
    }
}

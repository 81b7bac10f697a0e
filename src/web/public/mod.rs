// What anyone may read without signing in: the QR landing page, certificate pages, the register,
// the Atom feed, the public log, the published keys and criteria; snapshots and caches for them.

pub mod badge;
pub mod certificates;
pub mod complaints;
pub mod data;
pub mod feed;
pub mod log;
pub mod published;
pub mod snapshots;
pub mod verifier;

// One integration test binary: every test starts the real registry on port 0 with a fresh database,
// on SQLite and on PostgreSQL (skipped, with a message, where PostgreSQL is not reachable; fails in CI).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or bench that fails panics: that is its report

mod appeals;
mod assessments;
mod audit_form;
mod certificates;
mod complaints;
mod feed;
mod foundation;
mod hardening;
pub mod helpers;
mod log;
mod notifications;
mod operations;
pub mod pdf;
mod portal;
mod public;
mod schedule;
mod seed;
pub mod signin;
pub mod webhooks;
mod witness;
mod world;

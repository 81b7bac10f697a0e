//! The pure core: criteria, scoring, lifecycles, certificate payload, signing and verification.
//! No actix, no diesel, no I/O here; everything takes its inputs (including the time) as arguments.

pub mod account;
pub mod appeal;
pub mod auth;
pub mod certificate;
pub mod complaint;
pub mod criteria;
pub mod history;
pub mod lifecycle;
pub mod log;
pub mod scoring;
pub mod seal;
pub mod signing;
pub mod surveillance;
pub mod text;
pub mod venue;
pub mod webhook;
pub mod witness;

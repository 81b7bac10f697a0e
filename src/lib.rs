//! Gold eco-label registry: assessors audit venues, independent officers decide, approved venues get
//! Ed25519-signed certificates with a QR code that anyone can verify, online or offline.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod i18n;
pub mod keys;
pub mod metrics;
pub mod render;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod web;
pub mod witness;
pub mod workers;

//! deskbot: a self-hosted chatops IT helpdesk bot.
//!
//! `core` is platform-neutral and does no I/O; `store` implements storage on SQLite and PostgreSQL; `adapters`
//! translate chat platforms to the core's envelopes and outbound messages; `replay` drives the core from a script
//! with a simulated clock.

pub mod adapters;
pub mod app;
pub mod bench;
pub mod catalog;
pub mod chart;
pub mod config;
pub mod core;
pub mod eval;
pub mod outbox;
pub mod replay;
pub mod serve;
pub mod store;

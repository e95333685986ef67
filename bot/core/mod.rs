//! The platform-neutral core: tickets, triage, SLA, commands and the desk service. No I/O happens here; storage
//! and chat are reached through the [`crate::store::Store`] port and the outbox, time through [`clock::Clock`].

pub mod alerts;
pub mod calendar;
pub mod clock;
pub mod command;
pub mod conversation;
pub mod dates;
pub mod desk;
pub mod duration;
pub mod embed;
pub mod ids;
pub mod message;
pub mod model;
pub mod recurring;
pub mod report;
pub mod roles;
pub mod rules;
pub mod runbook;
pub mod semantic;
pub mod signals;
pub mod silence;
pub mod sla;
pub mod ticket;
pub mod triage;
pub mod vendor;

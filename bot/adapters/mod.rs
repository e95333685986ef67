//! Chat adapters. Each only translates between its platform and the core's envelopes and outbound messages.

pub mod alerts;
pub mod console;
pub mod discord;
pub mod http;
pub mod intro;
pub mod silence;
pub mod slack;
pub mod teams;
pub mod vendor;

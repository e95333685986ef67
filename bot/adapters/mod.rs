//! Chat adapters. Each only translates between its platform and the core's envelopes and outbound messages.

pub mod console;
pub mod http;
pub mod slack;
pub mod vendor;

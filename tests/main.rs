//! One integration-test binary (faster to build than one per file).

mod authz;
mod cli;
mod common;
mod conformance;
mod console;
mod crash;
mod http;
mod replay;
mod runbooks;
mod slack;
mod vendor;

//! One integration-test binary (faster to build than one per file).

mod alerts;
mod authz;
mod cli;
mod common;
mod conformance;
mod console;
mod contract;
mod crash;
mod discord;
mod http;
mod replay;
mod replicas;
mod reports;
mod runbooks;
mod silence;
mod slack;
mod teams;
mod vendor;

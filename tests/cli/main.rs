//! One integration binary: the real `scalekit-auth` binary against the emulator over real HTTP.

mod harness;

mod agent;
mod authorize;
mod bounds;
mod completions;
mod config;
mod connections;
mod exec;
mod guidance;
mod hardening;
mod hostile;
mod hosts;
mod identities;
mod init;
mod interactive;
mod layers;
mod list;
mod man;
mod mcp;
#[cfg(target_os = "linux")]
mod memory;
mod modes;
mod network;
mod pipes;
mod playground;
mod readme;
mod relink;
mod remove;
mod request;
mod request_parity;
mod secrets;
mod skill;
mod status;
mod token;
mod tools;
mod trust_config;
mod trust_output;
mod trust_store;
mod urls;

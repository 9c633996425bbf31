//! One integration binary: the real `scalekit-auth` binary against the emulator over real HTTP.

mod harness;

mod authorize;
mod completions;
mod config;
mod connections;
mod exec;
mod hardening;
mod hostile;
mod hosts;
mod identities;
mod init;
mod interactive;
mod list;
mod man;
mod mcp;
mod modes;
mod network;
mod pipes;
mod remove;
mod request;
mod secrets;
mod skill;
mod status;
mod token;
mod tools;

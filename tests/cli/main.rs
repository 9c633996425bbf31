//! One integration binary: the real `scalekit-auth` binary against the emulator over real HTTP.

mod harness;

mod authorize;
mod config;
mod exec;
mod hosts;
mod identities;
mod init;
mod list;
mod network;
mod remove;
mod request;
mod secrets;
mod status;
mod token;

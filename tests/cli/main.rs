//! One integration binary: the real `scalekit-auth` binary against the emulator over real HTTP.

mod harness;

mod authorize;
mod config;
mod hardening;
mod hostile;
mod init;
mod list;
mod modes;
mod network;
mod pipes;
mod secrets;
mod status;
mod token;

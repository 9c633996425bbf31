//! Integration tests: the emulator over real HTTP, through reqwest.

mod accounts;
mod binary;
mod common;
mod connections;
mod control;
mod faults;
mod hostile;
mod list;
mod load;
mod magic;
mod oauth;
mod proxy;
mod tools;

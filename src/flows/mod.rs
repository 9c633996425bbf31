//! What several commands share: the context they run in, getting a credential (or the
//! exit-4 error with a fresh link), and the authorize flow. Commands call flows; flows never
//! call commands.

pub(crate) mod authorization;
pub(crate) mod connections;
pub(crate) mod context;
pub(crate) mod credentials;
pub(crate) mod proxy;
pub(crate) mod tools;

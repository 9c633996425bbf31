//! What several commands share: the context they run in, getting a credential (or the
//! exit-4 error with a fresh link), the authorize flow, the variable names a credential goes
//! out under, and the tool calls. Commands call flows; flows never call commands.

pub(crate) mod authorization;
pub(crate) mod context;
pub(crate) mod credentials;
pub(crate) mod env_names;
pub(crate) mod tools;

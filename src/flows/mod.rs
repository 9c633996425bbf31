//! What several commands share: the context they run in, getting a credential (or the
//! exit-4 error with a fresh link), the authorize flow, the variable names a credential goes
//! out under, the tool calls, the connections and the checks of a proxy call. Commands (and
//! the MCP server) call flows; flows never call commands.

pub(crate) mod authorization;
pub(crate) mod connections;
pub(crate) mod context;
pub(crate) mod credentials;
pub(crate) mod env_names;
pub(crate) mod proxy;
pub(crate) mod suggest;
pub(crate) mod tools;

//! Configuration: `config.toml` (no secrets), `credentials.toml` (the client secret), the
//! environment snapshot, name validation and the resolution rules of docs/cli.md. One room a file:
//! `env` (dotenv and the process environment), `paths`, `file` (typed load), `edit`
//! (`toml_edit`), `store` (lock and atomic two-file commit), `names` (validation), `resolve`
//! (every setting with its source), `identity` (`IDENTITY.md`) and `import`.
//!
//! Reads never lock: every write replaces a file by renaming a complete temporary file over
//! it, so a reader sees the old or the new file, never half of one. Writes take a
//! cross-process lock (`flock` on `<dir>/.lock`) around their read-modify-write, so
//! concurrent `config` calls lose no mapping. The kernel drops the lock when its holder
//! exits, however it exits, so a stale lock never blocks.

mod edit;
mod env;
mod file;
mod identity;
mod import;
mod names;
mod paths;
pub(crate) mod resolve;
mod store;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod test_support;

pub(crate) use edit::ConfigEdit;
pub(crate) use env::Env;
#[cfg(test)]
pub(crate) use file::load_client_secret;
pub(crate) use file::{
    Config, ServiceConfig, StoredCredentials, credentials_too_open, load, load_credentials,
};
pub(crate) use identity::{identifier_from_identity_md, identity_md_path};
pub(crate) use import::{Import, parse_import};
pub(crate) use names::{
    env_url_string, is_loopback, validate_connection_name, validate_env_url, validate_identifier,
    validate_service,
};
pub(crate) use paths::Paths;
pub(crate) use store::{bind_stored_secret, save_init, update};

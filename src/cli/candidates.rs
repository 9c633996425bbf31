//! The values the clap surface offers a shell for completion, named by `cli`'s
//! `#[arg(add = ...)]` attributes. They live here, under `cli`, rather than in `completion`
//! (which answers a shell's request through `cli`'s command), so that the arrow between the
//! two runs one way: `completion` uses `cli`, never the reverse.

use std::ffi::OsString;

use clap_complete::engine::CompletionCandidate;

use crate::config::{self, Env, Paths, resolve};
use crate::output::safe;

/// The configured service names, for SERVICE arguments (the engine filters them by what is
/// typed). Reads `config.toml` from the directory the resolver picks without flags
/// (`SCALEKIT_AUTH_CONFIG_DIR`, from the environment or a named env file, else the default);
/// `--config-dir` on the command line is not visible to a value completer. Any error gives
/// no candidates and prints nothing: a completion must never write to the terminal.
pub(crate) fn service_candidates() -> Vec<CompletionCandidate> {
    let Ok(env) = Env::load(None) else {
        return Vec::new();
    };
    let dir = resolve::config_dir(None, &env).map(|d| d.value);
    let Ok(paths) = Paths::new(dir) else {
        return Vec::new();
    };
    let Ok(config) = config::load(&paths) else {
        return Vec::new();
    };
    // config.toml is outside text: a key that is not a valid service name is no candidate
    // (a shell would insert it as typed), and the description is made visible.
    config
        .services
        .into_iter()
        .filter(|(name, _)| config::validate_service(name).is_ok_and(|valid| valid == *name))
        .map(|(name, service)| {
            let help = safe::line(&service.connection_name).into_owned();
            CompletionCandidate::new(OsString::from(name)).help(Some(help.into()))
        })
        .collect()
}

//! The values the clap surface offers a shell for completion, named by `cli`'s
//! `#[arg(add = ...)]` attributes. They live here, under `cli`, rather than in `completion`
//! (which answers a shell's request through `cli`'s command), so that the arrow between the
//! two runs one way: `completion` uses `cli`, never the reverse.

use std::ffi::OsString;
use std::time::Duration;

use clap_complete::engine::CompletionCandidate;

use crate::config::{self, Env, Paths, resolve};
use crate::output::safe;
use crate::scalekit::tools::{Pages, ToolFilter};
use crate::scalekit::{Client, ClientOptions};

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

/// The longest a tool-name lookup may hold up the shell, credentials, network and all.
const TOOL_LOOKUP_BUDGET: Duration = Duration::from_millis(300);

/// Tool names from Scalekit's catalog, for `tools run SERVICE TOOL` (that service's tools when
/// SERVICE is configured) and `tools schema TOOL`. Only when credentials resolve without a
/// prompt; the whole lookup (config, API token, every page) runs on its own thread and is
/// abandoned after [`TOOL_LOOKUP_BUDGET`] (the completion process exits right after
/// answering). Any failure or a late answer gives no candidates and prints nothing.
pub(crate) fn tool_candidates() -> Vec<CompletionCandidate> {
    let service = service_on_command_line(std::env::args_os().collect());
    let (sender, receiver) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("tool-completion".into())
        .spawn(move || {
            let _ = sender.send(lookup_tools(service.as_deref()));
        });
    if spawned.is_err() {
        return Vec::new();
    }
    let Ok(Some(tools)) = receiver.recv_timeout(TOOL_LOOKUP_BUDGET) else {
        return Vec::new();
    };
    tools
        .into_iter()
        // Names go into the command line as typed: only plain ones are offered.
        .filter(|(name, _)| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        })
        .map(|(name, help)| {
            let help = safe::line(help.trim().lines().next().unwrap_or_default()).into_owned();
            CompletionCandidate::new(OsString::from(name)).help(Some(help.into()))
        })
        .collect()
}

/// The SERVICE word of `tools run SERVICE TOOL` on the command line being completed (the
/// words after `--`, as the registration scripts pass them), when there is one before the
/// word being completed. Options that take a value are skipped with it.
fn service_on_command_line(args: Vec<OsString>) -> Option<String> {
    const VALUE_OPTIONS: &[&str] = &[
        "-d",
        "--data",
        "--identifier",
        "--run-id",
        "--timeout",
        "--config-dir",
        "--env-file",
        "--http-timeout",
        "--color",
    ];
    let words: Vec<String> = args
        .into_iter()
        .skip_while(|a| a != "--")
        .skip(2)
        .filter_map(|a| a.into_string().ok())
        .collect();
    // The last word is the one being completed.
    let (_, before) = words.split_last()?;
    let mut positionals = Vec::new();
    let mut skip = false;
    for word in before {
        if skip {
            skip = false;
        } else if word.starts_with('-') {
            skip = VALUE_OPTIONS.contains(&word.as_str());
        } else {
            positionals.push(word.as_str());
        }
    }
    match positionals.as_slice() {
        ["tools", "run", service, ..] => Some((*service).to_owned()),
        _ => None,
    }
}

/// Every tool name and description (of `service`'s connection when it is configured), or
/// `None` on any failure.
fn lookup_tools(service: Option<&str>) -> Option<Vec<(String, String)>> {
    let env = Env::load(None).ok()?;
    let dir = resolve::config_dir(None, &env).map(|d| d.value);
    let paths = Paths::new(dir).ok()?;
    let config = config::load(&paths).ok()?;
    let stored = config::load_credentials(&paths).ok()?;
    let resolved = resolve::scalekit(
        resolve::Layer::default(),
        &env,
        resolve::Layer::default(),
        &config,
        &stored,
    )
    .ok()?;
    let sendable = resolved.sendable().ok()?;
    let connector = service
        .and_then(|name| config.services.get(name))
        .map(|s| s.connection_name.clone());
    let client = Client::new(ClientOptions {
        env_url: sendable.env_url,
        client_id: sendable.client_id,
        client_secret: sendable.client_secret,
        http_timeout: TOOL_LOOKUP_BUDGET,
        retry_budget: TOOL_LOOKUP_BUDGET,
        observer: None,
    })
    .ok()?;
    let runtime = crate::runtime::new().ok()?;
    let filter = ToolFilter {
        connector: connector.as_deref(),
        ..ToolFilter::default()
    };
    let tools = runtime
        .block_on(async {
            tokio::time::timeout(TOOL_LOOKUP_BUDGET, client.list_tools(&filter, Pages::All)).await
        })
        .ok()?
        .ok()?;
    Some(
        tools
            .into_iter()
            .map(|tool| (tool.name, tool.description))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_is_read_from_tools_run_only() {
        let words = |line: &str| -> Vec<OsString> {
            std::iter::once("scalekit-auth")
                .chain(["--", "scalekit-auth"])
                .chain(line.split(' '))
                .map(OsString::from)
                .collect()
        };
        assert_eq!(
            service_on_command_line(words("tools run gmail gm")).as_deref(),
            Some("gmail")
        );
        assert_eq!(
            service_on_command_line(words("-v tools run --identifier me slack ")).as_deref(),
            Some("slack")
        );
        assert_eq!(
            service_on_command_line(words("--config-dir d tools run -d {} github x")).as_deref(),
            Some("github")
        );
        // The service itself being completed, or another command: none.
        assert_eq!(service_on_command_line(words("tools run gm")), None);
        assert_eq!(service_on_command_line(words("tools schema gm")), None);
        assert_eq!(service_on_command_line(words("token gmail x")), None);
        assert_eq!(service_on_command_line(vec![OsString::from("x")]), None);
    }
}

//! `scalekit-emulator`: serves the local Scalekit on 127.0.0.1 until Ctrl-C/SIGTERM.
//!
//! The first stdout line is exactly `listening on http://127.0.0.1:PORT`; scripts
//! read it to learn the port.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use scalekit_emulator::{
    API_TOKEN_LIFETIME, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Options, SeedAccount,
    SeedConnection, default_connections,
};

/// A faithful local Scalekit (connected-accounts REST API) for tests and offline use.
///
/// Examples:
///   scalekit-emulator
///   scalekit-emulator --port 0 --seed accounts.json --verbose
///   scalekit-emulator --upstream /_emulator/echo
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment)]
struct Cli {
    /// TCP port on 127.0.0.1 (0 picks a free one)
    #[arg(long, value_name = "PORT", default_value_t = 8787)]
    port: u16,

    /// The client id POST /oauth/token accepts
    #[arg(long, value_name = "ID", default_value = DEFAULT_CLIENT_ID)]
    client_id: String,

    /// The client secret POST /oauth/token accepts
    #[arg(
        long,
        value_name = "SECRET",
        env = "SCALEKIT_EMULATOR_CLIENT_SECRET",
        hide_env_values = true,
        default_value = DEFAULT_CLIENT_SECRET
    )]
    client_secret: String,

    /// Delay added before answering every logged request, in milliseconds
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,

    /// Lifetime of magic links, in seconds
    #[arg(long, value_name = "N", default_value_t = 60)]
    link_ttl_secs: u64,

    /// Lifetime of the API tokens POST /oauth/token issues, in seconds
    #[arg(long, value_name = "N", default_value_t = API_TOKEN_LIFETIME.as_secs())]
    api_token_lifetime_secs: u64,

    /// JSON file of accounts (and connections) to start with: an array of accounts, or
    /// {"accounts": [...], "connections": [...]} (either key optional)
    #[arg(long, value_name = "FILE")]
    seed: Option<PathBuf>,

    /// Base URL the proxy (/proxy/...) forwards to; a leading / means the emulator itself
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,

    /// One stderr line per request: method, path, status, milliseconds
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (seed, connections) = match cli.seed.as_deref().map(load_seed_file).transpose() {
        Ok(seed) => seed.unwrap_or_default(),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let default_secret = cli.client_secret == DEFAULT_CLIENT_SECRET;
    let options = Options {
        port: cli.port,
        client_id: cli.client_id,
        client_secret: cli.client_secret,
        link_ttl: Duration::from_secs(cli.link_ttl_secs),
        api_token_lifetime: Duration::from_secs(cli.api_token_lifetime_secs),
        latency: Duration::from_millis(cli.latency_ms),
        upstream: cli.upstream,
        seed,
        connections: connections.unwrap_or_else(default_connections),
    };
    // Caught before the "listening" line, so a script that stops the emulator as soon
    // as it has read that line gets a clean exit.
    let signals = match Signals::catch() {
        Ok(signals) => signals,
        Err(err) => {
            eprintln!("error: cannot catch signals: {err}");
            return ExitCode::FAILURE;
        }
    };
    let emulator = match Emulator::start(options) {
        Ok(emulator) => emulator,
        Err(err) => {
            eprintln!("error: cannot listen on 127.0.0.1:{}: {err}", cli.port);
            return ExitCode::FAILURE;
        }
    };
    emulator.set_verbose(cli.verbose);
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", emulator.url());
    let _ = stdout.flush();
    eprintln!(
        "scalekit-emulator: client id {}, client secret {}; control API at {}/_emulator/; Ctrl-C stops",
        emulator.client_id(),
        if default_secret {
            "the default (emulator-secret)"
        } else {
            "as given"
        },
        emulator.url(),
    );
    match signals.wait() {
        Ok(()) => {
            drop(emulator);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: cannot wait for signals: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C (SIGINT) and, on Unix, SIGTERM, caught from the moment this is built: a
/// signal that arrives before [`Signals::wait`] is kept, not fatal.
struct Signals {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn catch() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let context = runtime.enter();
            let interrupt = signal(SignalKind::interrupt())?;
            let terminate = signal(SignalKind::terminate())?;
            drop(context);
            Ok(Self {
                runtime,
                interrupt,
                terminate,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self { runtime })
        }
    }

    /// Blocks until one of the signals arrives (or has arrived). Only Windows' Ctrl-C
    /// wait can fail.
    #[cfg_attr(unix, allow(clippy::unnecessary_wraps))]
    fn wait(self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            let Self {
                runtime,
                mut interrupt,
                mut terminate,
            } = self;
            runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
            Ok(())
        }
        #[cfg(not(unix))]
        {
            self.runtime.block_on(tokio::signal::ctrl_c())
        }
    }
}

/// What a seed file holds: accounts, and the connections when it names them.
type SeedFile = (Vec<SeedAccount>, Option<Vec<SeedConnection>>);

/// Reads `--seed FILE`: a JSON array of accounts, or an object with `accounts` and/or
/// `connections` (a file without `connections` keeps the default ones).
fn load_seed_file(path: &Path) -> Result<SeedFile, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read seed file {shown}: {err}"))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| format!("seed file {shown} is not valid JSON: {err}"))?;
    let (accounts, connections) = match value {
        serde_json::Value::Array(items) => (items, None),
        serde_json::Value::Object(mut map)
            if !map.is_empty() && map.keys().all(|k| k == "accounts" || k == "connections") =>
        {
            let accounts = match map.remove("accounts") {
                None => Vec::new(),
                Some(serde_json::Value::Array(items)) => items,
                Some(_) => return Err(shape_error(path)),
            };
            let connections = match map.remove("connections") {
                None => None,
                Some(serde_json::Value::Array(items)) => Some(items),
                Some(_) => return Err(shape_error(path)),
            };
            (accounts, connections)
        }
        _ => return Err(shape_error(path)),
    };
    let accounts = accounts
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let seed: SeedAccount = serde_json::from_value(item)
                .map_err(|err| format!("seed file {shown}, account {}: {err}", index + 1))?;
            seed.validate()
                .map_err(|err| format!("seed file {shown}, account {}: {err}", index + 1))?;
            Ok(seed)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let connections = connections
        .map(|items| {
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| {
                    let seed: SeedConnection = serde_json::from_value(item).map_err(|err| {
                        format!("seed file {shown}, connection {}: {err}", index + 1)
                    })?;
                    seed.validate().map_err(|err| {
                        format!("seed file {shown}, connection {}: {err}", index + 1)
                    })?;
                    Ok(seed)
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .transpose()?;
    Ok((accounts, connections))
}

fn shape_error(path: &Path) -> String {
    format!(
        "seed file {} must hold a JSON array of accounts or {{\"accounts\": [...], \"connections\": [...]}}",
        path.display()
    )
}

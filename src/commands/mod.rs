//! One module per subcommand, each with one `run`. They decide; `config` and `scalekit` do
//! the work; `output` shows it.

pub(crate) mod authorize;
pub(crate) mod completions;
pub(crate) mod config;
pub(crate) mod exec;
pub(crate) mod init;
pub(crate) mod list;
pub(crate) mod remove;
pub(crate) mod request;
pub(crate) mod status;
pub(crate) mod token;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{self as cfg, Config, Env, Paths, ServiceConfig};
use crate::error::{CliError, ExitStatus};
use crate::output::Output;
use crate::scalekit::{self, Client, ClientOptions};

/// Everything a command needs from the global options and the environment.
pub(crate) struct Context {
    pub(crate) env: Env,
    pub(crate) paths: Paths,
    pub(crate) out: Output,
    no_input: bool,
    http_timeout: Duration,
}

/// A service resolved against the config: what to ask Scalekit for.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) service: String,
    pub(crate) connection_name: String,
    pub(crate) identifier: String,
}

impl Context {
    /// Reads the environment (with the env file) and decides the config directory.
    pub(crate) fn new(global: &GlobalArgs, out: Output) -> anyhow::Result<Self> {
        let env = Env::load(global.env_file.as_deref())?;
        let paths = Paths::new(global.config_dir.clone())?;
        let no_input =
            global.no_input || env.is_truthy("SCALEKIT_AUTH_NO_INPUT") || env.is_truthy("CI");
        Ok(Self {
            env,
            paths,
            out,
            no_input,
            http_timeout: Duration::from_secs_f64(global.http_timeout),
        })
    }

    /// Interactive: stdin and stderr are terminals, and none of `--no-input`,
    /// `SCALEKIT_AUTH_NO_INPUT`, `CI`, `--json` is in force.
    pub(crate) fn interactive(&self, json: bool) -> bool {
        !json && !self.no_input && std::io::stdin().is_terminal() && self.out.stderr_is_terminal()
    }

    /// The per-request timeout (`--http-timeout`).
    pub(crate) fn http_timeout(&self) -> Duration {
        self.http_timeout
    }

    /// Loads config.toml (missing is empty; malformed is exit 3).
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        cfg::load(&self.paths)
    }

    /// A Scalekit client from the resolved credentials, or exit 3 naming what is missing.
    pub(crate) fn client(&self, config: &Config) -> anyhow::Result<Arc<Client>> {
        let stored_secret = cfg::load_client_secret(&self.paths)?;
        let creds = cfg::resolve_credentials(&self.env, config, stored_secret);
        let mut missing = Vec::new();
        if creds.env_url.is_none() {
            missing.push("SCALEKIT_ENV_URL");
        }
        if creds.client_id.is_none() {
            missing.push("SCALEKIT_CLIENT_ID");
        }
        if creds
            .client_secret
            .as_ref()
            .is_none_or(crate::secret::Secret::is_empty)
        {
            missing.push("SCALEKIT_CLIENT_SECRET");
        }
        let (Some(env_url), Some(client_id), Some(client_secret), true) = (
            creds.env_url,
            creds.client_id,
            creds.client_secret,
            missing.is_empty(),
        ) else {
            return Err(CliError::not_configured(format!(
                "no Scalekit credentials: {} not set",
                missing.join(", ")
            ))
            .with_hint(
                "run `scalekit-auth init`, or set SCALEKIT_ENV_URL, SCALEKIT_CLIENT_ID and \
                 SCALEKIT_CLIENT_SECRET",
            )
            .into());
        };
        let env_url = cfg::validate_env_url(&env_url)?;
        let client = Client::new(ClientOptions {
            env_url,
            client_id,
            client_secret,
            http_timeout: self.http_timeout,
            retry_budget: scalekit::DEFAULT_RETRY_BUDGET,
            observer: self.out.request_observer(),
        })?;
        Ok(Arc::new(client))
    }

    /// Validates a service name and finds its mapping, or exit 3 naming the command to add it.
    pub(crate) fn service<'c>(
        &self,
        config: &'c Config,
        name: &str,
    ) -> Result<(String, &'c ServiceConfig), CliError> {
        let service = cfg::validate_service(name)?;
        match config.services.get(&service) {
            Some(mapping) => Ok((service, mapping)),
            None => Err(
                CliError::not_configured(format!("unknown service {service:?}"))
                    .with_hint(format!("scalekit-auth config {service} CONNECTION_NAME")),
            ),
        }
    }

    /// The service's connection and effective identifier.
    pub(crate) fn target(
        &self,
        config: &Config,
        name: &str,
        identifier_flag: Option<&str>,
    ) -> Result<Target, CliError> {
        let (service, mapping) = self.service(config, name)?;
        let identifier =
            cfg::resolve_identifier(identifier_flag, Some(mapping), &self.env, config)?;
        Ok(Target {
            service,
            connection_name: mapping.connection_name.clone(),
            identifier,
        })
    }
}

/// Runs the parsed command.
pub(crate) fn run(cli: Cli, out: Output) -> anyhow::Result<ExitStatus> {
    // Needs no configuration: a broken .env must not stop a shell from loading completions.
    if let Command::Completions(args) = &cli.command {
        return completions::run(&out, args);
    }
    let ctx = Context::new(&cli.global, out)?;
    match cli.command {
        Command::Init(args) => init::run(&ctx, &args),
        Command::Config(args) => config::run(&ctx, &args),
        Command::Authorize(args) => block_on(interruptible(authorize::run(&ctx, &args))),
        Command::Token(args) => block_on(interruptible(token::run(&ctx, &args))),
        Command::Status(args) => block_on(interruptible(status::run(&ctx, &args))),
        Command::List(args) => list::run(&ctx, &args),
        Command::Completions(_) => unreachable!("handled above"),
        Command::Exec(args) => block_on(exec::run(&ctx, &args)),
        Command::Request(args) => block_on(interruptible(request::run(&ctx, &args))),
        // exec is interruptible until the child runs; then signals go to the child.
        // remove is not: its confirmation prompt blocks, and must keep Ctrl-C's default.
        Command::Remove(args) => block_on(remove::run(&ctx, &args)),
    }
}

/// Ends the command with exit 130 on Ctrl-C, wherever it is: in a request, a retry's backoff,
/// between polls. Without this, a Ctrl-C outside `authorize`'s own wait loop was lost once
/// that loop had installed the SIGINT handler (the tokio handler stays for the whole run),
/// e.g. while `token --wait` fetched the token after the approval. Async commands write no
/// file, so dropping them midway leaves nothing behind. `biased`: a command that handles
/// Ctrl-C itself (the wait clears its spinner) gets to do so first.
pub(crate) async fn interruptible<T>(
    command: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::select! {
        biased;
        result = command => result,
        _ = tokio::signal::ctrl_c() => Err(CliError::interrupted().into()),
    }
}

/// Runs a future on a single-threaded runtime: the work is a handful of concurrent requests.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(future)
}

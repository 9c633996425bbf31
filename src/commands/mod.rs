//! One module per subcommand, each with one `run`. They decide; `config` and `scalekit` do
//! the work; `output` shows it.

pub(crate) mod agent;
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
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::resolve::{self, Layer, Setting};
use crate::config::{self as cfg, Config, Env, Paths, ServiceConfig};
use crate::error::{CliError, ExitStatus};
use crate::output::Output;
use crate::scalekit::{self, Client, ClientOptions, RequestEvent};
use crate::secret::Secret;

/// Everything a command needs from the global options and the environment.
pub(crate) struct Context {
    pub(crate) env: Env,
    pub(crate) paths: Paths,
    /// Where the config directory came from (`None`: the platform's default).
    pub(crate) config_dir: Option<Setting<PathBuf>>,
    pub(crate) out: Output,
    no_input: bool,
    /// `--no-agent` / `SCALEKIT_AUTH_NO_AGENT`: never ask a running agent.
    pub(crate) no_agent: bool,
    http_timeout: Duration,
    /// A stored secret without `env_url` (written before the binding rule) and the URL it
    /// was used with; bound to that URL once Scalekit accepts it.
    pending_binding: Mutex<Option<(String, Secret)>>,
    /// Set when `POST /oauth/token` succeeded in this run.
    verified: Arc<AtomicBool>,
}

/// A service resolved against the config: what to ask Scalekit for.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) service: String,
    pub(crate) connection_name: String,
    pub(crate) identifier: String,
}

impl Context {
    /// Reads the environment (with the named env file, if any) and decides the config
    /// directory, both through the resolver.
    pub(crate) fn new(global: &GlobalArgs, out: Output) -> anyhow::Result<Self> {
        let env = Env::load(global.env_file.as_deref())?;
        let config_dir = resolve::config_dir(global.config_dir.clone(), &env);
        let paths = Paths::new(config_dir.as_ref().map(|d| d.value.clone()))?;
        let no_input =
            global.no_input || env.is_truthy("SCALEKIT_AUTH_NO_INPUT") || env.is_truthy("CI");
        let no_agent = global.no_agent || env.is_truthy("SCALEKIT_AUTH_NO_AGENT");
        Ok(Self {
            env,
            paths,
            config_dir,
            out,
            no_input,
            no_agent,
            http_timeout: Duration::from_secs_f64(global.http_timeout),
            pending_binding: Mutex::new(None),
            verified: Arc::new(AtomicBool::new(false)),
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

    /// The Scalekit credentials in effect, each with its source.
    pub(crate) fn scalekit(&self, config: &Config) -> anyhow::Result<resolve::Scalekit> {
        let stored = cfg::load_credentials(&self.paths)?;
        Ok(resolve::scalekit(
            Layer::default(),
            &self.env,
            Layer::default(),
            config,
            &stored,
        )?)
    }

    /// A Scalekit client from the resolved credentials, or exit 3 naming what is missing, or
    /// exit 3 when the stored secret would go to another URL than the one it was saved with.
    pub(crate) fn client(&self, config: &Config) -> anyhow::Result<Arc<Client>> {
        let resolved = self.scalekit(config)?;
        let sendable = resolved.sendable()?;
        if let Some(url) = &resolved.env_url {
            crate::error::note_env_url(&cfg::env_url_string(&url.value), &url.source.to_string());
        }
        if let Some(url) = sendable.bind_after_verify.clone()
            && let Ok(mut pending) = self.pending_binding.lock()
        {
            *pending = Some((url, sendable.client_secret.clone()));
        }
        let client = Client::new(ClientOptions {
            env_url: sendable.env_url,
            client_id: sendable.client_id,
            client_secret: sendable.client_secret,
            http_timeout: self.http_timeout,
            retry_budget: scalekit::DEFAULT_RETRY_BUDGET,
            observer: Some(self.observer()),
        })?;
        Ok(Arc::new(client))
    }

    /// `--verbose`'s observer, plus a note of a successful `POST /oauth/token`: the run that
    /// verifies a stored secret without `env_url` binds it (README "Scalekit credentials").
    fn observer(&self) -> scalekit::Observer {
        let verbose = self.out.request_observer();
        let verified = Arc::clone(&self.verified);
        Arc::new(move |event: &RequestEvent| {
            if let Some(verbose) = &verbose {
                verbose(event);
            }
            if event.method == reqwest::Method::POST
                && event.path == "/oauth/token"
                && event.status.is_some_and(|s| (200..300).contains(&s))
            {
                verified.store(true, Ordering::Relaxed);
            }
        })
    }

    /// Binds an old `credentials.toml` (no `env_url`) to the URL Scalekit just accepted its
    /// secret for. Best effort: a failure leaves the file as it was, still usable only with
    /// config.toml's `env_url`, and says so.
    fn bind_if_verified(&self) {
        if !self.verified.load(Ordering::Relaxed) {
            return;
        }
        let Some((url, secret)) = self.pending_binding.lock().ok().and_then(|mut p| p.take())
        else {
            return;
        };
        if let Err(err) = cfg::bind_stored_secret(&self.paths, &url, &secret) {
            self.out.warn(&format!(
                "could not record the environment URL in credentials.toml: {}",
                crate::error::classify(&err).message
            ));
        }
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
        let identifier = resolve::identifier(identifier_flag, Some(mapping), &self.env, config)?;
        Ok(Target {
            service,
            connection_name: mapping.connection_name.clone(),
            identifier: identifier.value,
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
    let result = match cli.command {
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
        Command::Agent(args) => agent::run(&ctx, &args),
    };
    ctx.bind_if_verified();
    result
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

//! What every command and flow works with: the environment, the config directory, the
//! terminal side, and the Scalekit client built from the resolved credentials.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::suggest::{self, init_first};
use crate::config::resolve::{self, Layer, Setting};
use crate::config::{self as cfg, Config, Env, Paths, ServiceConfig};
use crate::error::CliError;
use crate::output::Output;
use crate::scalekit::{self, Client, ClientOptions, RequestEvent};
use crate::secret::Secret;

/// The per-request timeout when `--http-timeout` is not given.
pub(crate) const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a command needs from the global options and the environment.
pub(crate) struct Context {
    pub(crate) env: Env,
    pub(crate) paths: Paths,
    /// Where the config directory came from (`None`: the platform's default).
    pub(crate) config_dir: Option<Setting<PathBuf>>,
    pub(crate) out: Output,
    no_input: bool,
    /// `--no-agent` / `SCALEKIT_AUTH_NO_AGENT`: never ask a running agent (src/agent).
    pub(crate) no_agent: bool,
    /// `--http-timeout` (or its variable), when given.
    http_timeout: Option<Duration>,
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
    pub(crate) fn new(
        env_file: Option<&Path>,
        config_dir: Option<PathBuf>,
        no_input: bool,
        http_timeout: Option<f64>,
        out: Output,
    ) -> anyhow::Result<Self> {
        let env = Env::load(env_file)?;
        let config_dir = resolve::config_dir(config_dir, &env);
        let paths = Paths::new(config_dir.as_ref().map(|d| d.value.clone()))?;
        let no_input = no_input || env.is_truthy("SCALEKIT_AUTH_NO_INPUT") || env.is_truthy("CI");
        let no_agent = env.is_truthy("SCALEKIT_AUTH_NO_AGENT");
        Ok(Self {
            env,
            paths,
            config_dir,
            out,
            no_input,
            no_agent,
            http_timeout: http_timeout.map(Duration::from_secs_f64),
            pending_binding: Mutex::new(None),
            verified: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Interactive: stdin and stderr are terminals, and none of `--no-input`,
    /// `SCALEKIT_AUTH_NO_INPUT`, `CI`, `--json` is in force.
    pub(crate) fn interactive(&self, json: bool) -> bool {
        !json && !self.no_input && std::io::stdin().is_terminal() && self.out.stderr_is_terminal()
    }

    /// The per-request timeout (`--http-timeout`, default 30 s).
    pub(crate) fn http_timeout(&self) -> Duration {
        self.http_timeout.unwrap_or(DEFAULT_HTTP_TIMEOUT)
    }

    /// `--http-timeout` when it was given: a command with a longer default of its own
    /// (`tools run`) keeps that one otherwise.
    pub(crate) fn http_timeout_given(&self) -> Option<Duration> {
        self.http_timeout
    }

    /// How often a wait for approval asks Scalekit: `default`, unless the testing knob
    /// `SCALEKIT_AUTH_POLL_INTERVAL_MS` says otherwise (exit 2 when it is malformed).
    pub(crate) fn poll_interval(&self, default: Duration) -> Result<Duration, CliError> {
        Ok(resolve::poll_interval(&self.env)?.map_or(default, |s| s.value))
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
    pub(crate) fn client(&self, config: &Config) -> anyhow::Result<Client> {
        Ok(Client::new(self.client_options(config)?)?)
    }

    /// What [`Context::client`] builds a client from: the resolved credentials (or exit 3,
    /// as there), the timeouts and the observer. A long-lived caller (the MCP server)
    /// compares them to decide whether its client still fits.
    pub(crate) fn client_options(&self, config: &Config) -> anyhow::Result<ClientOptions> {
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
        Ok(ClientOptions {
            env_url: sendable.env_url,
            client_id: sendable.client_id,
            client_secret: sendable.client_secret,
            http_timeout: self.http_timeout(),
            retry_budget: scalekit::DEFAULT_RETRY_BUDGET,
            observer: Some(self.observer()),
        })
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
    pub(crate) fn bind_if_verified(&self) {
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

    /// Validates a service name and finds its mapping. Unknown: exit 3 with `init` first when
    /// nothing is configured at all, else the close names, the configured services and the
    /// command that adds it.
    pub(crate) fn service<'c>(
        &self,
        config: &'c Config,
        name: &str,
    ) -> Result<(String, &'c ServiceConfig), CliError> {
        self.lookup(config, name, true)
    }

    /// As [`Self::service`], for commands on an existing mapping (`remove`): an unknown name
    /// is never answered with the command that would configure it.
    pub(crate) fn existing_service<'c>(
        &self,
        config: &'c Config,
        name: &str,
    ) -> Result<(String, &'c ServiceConfig), CliError> {
        self.lookup(config, name, false)
    }

    fn lookup<'c>(
        &self,
        config: &'c Config,
        name: &str,
        offer_config: bool,
    ) -> Result<(String, &'c ServiceConfig), CliError> {
        let service = cfg::validate_service(name)?;
        match config.services.get(&service) {
            Some(mapping) => Ok((service, mapping)),
            None if self.nothing_configured(config) => Err(init_first()),
            None => Err(suggest::unknown_service(&service, config, offer_config)),
        }
    }

    /// Nothing configured at all: no service mapped and no Scalekit credential from any
    /// source. Every command then sends the user to `init` first.
    pub(crate) fn nothing_configured(&self, config: &Config) -> bool {
        config.services.is_empty()
            && self.scalekit(config).is_ok_and(|s| {
                s.env_url.is_none() && s.client_id.is_none() && s.client_secret.is_none()
            })
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
            resolve::identifier(&service, identifier_flag, Some(mapping), &self.env, config)?;
        Ok(Target {
            service,
            connection_name: mapping.connection_name.clone(),
            identifier: identifier.value,
        })
    }
}

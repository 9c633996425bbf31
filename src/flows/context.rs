//! What every command and flow works with: the environment, the config directory, the
//! terminal side, and the Scalekit client built from the resolved credentials.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{self as cfg, Config, Env, Paths, ServiceConfig};
use crate::error::CliError;
use crate::output::Output;
use crate::scalekit::{self, Client, ClientOptions};

/// The per-request timeout when `--http-timeout` is not given.
pub(crate) const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a command needs from the global options and the environment.
pub(crate) struct Context {
    pub(crate) env: Env,
    pub(crate) paths: Paths,
    pub(crate) out: Output,
    no_input: bool,
    /// `--http-timeout` (or its variable), when given.
    http_timeout: Option<Duration>,
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
    pub(crate) fn new(
        env_file: Option<&std::path::Path>,
        config_dir: Option<std::path::PathBuf>,
        no_input: bool,
        http_timeout: Option<f64>,
        out: Output,
    ) -> anyhow::Result<Self> {
        let env = Env::load(env_file)?;
        let paths = Paths::new(config_dir)?;
        let no_input = no_input || env.is_truthy("SCALEKIT_AUTH_NO_INPUT") || env.is_truthy("CI");
        Ok(Self {
            env,
            paths,
            out,
            no_input,
            http_timeout: http_timeout.map(Duration::from_secs_f64),
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

    /// Loads config.toml (missing is empty; malformed is exit 3).
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        cfg::load(&self.paths)
    }

    /// A Scalekit client from the resolved credentials, or exit 3 naming what is missing.
    pub(crate) fn client(&self, config: &Config) -> anyhow::Result<Arc<Client>> {
        Ok(Arc::new(Client::new(self.client_options(config)?)?))
    }

    /// What [`Context::client`] builds a client from: the resolved credentials (or exit 3
    /// naming what is missing), the timeouts and the `-v` observer. A long-lived caller (the
    /// MCP server) compares them to decide whether its client still fits.
    pub(crate) fn client_options(&self, config: &Config) -> anyhow::Result<ClientOptions> {
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
        Ok(ClientOptions {
            env_url,
            client_id,
            client_secret,
            http_timeout: self.http_timeout(),
            retry_budget: scalekit::DEFAULT_RETRY_BUDGET,
            observer: self.out.request_observer(),
        })
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

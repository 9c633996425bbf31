//! The single resolver: every setting with where it came from (docs: README "Environment"
//! and "Scalekit credentials"). Highest first: a flag, a variable (the process environment,
//! or the named env file), `init`'s imports, `config.toml`, `credentials.toml`, `IDENTITY.md`,
//! a default. Each value keeps its [`Source`], so an error can say "`SCALEKIT_ENV_URL` from
//! --env-file x" and the binding rule is checked in one place: [`Scalekit::sendable`].

use std::fmt;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::{
    Config, Env, ServiceConfig, StoredCredentials, env_url_string, identifier_from_identity_md,
    identity_md_path, validate_env_url, validate_identifier,
};
use crate::error::CliError;
use crate::secret::Secret;

/// The variables that give the environment URL, preferred first.
const ENV_URL_VARIABLES: [&str; 2] = ["SCALEKIT_ENV_URL", "SCALEKIT_ENVIRONMENT_URL"];
/// The variable that gives the config directory when `--config-dir` is not given.
const CONFIG_DIR_VARIABLE: &str = "SCALEKIT_AUTH_CONFIG_DIR";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A command-line flag, e.g. `--env-url`.
    Flag(&'static str),
    /// A variable of the process environment.
    Variable(&'static str),
    /// A variable of the named env file: the variable, the file, and how it was named.
    EnvFile {
        variable: &'static str,
        file: PathBuf,
        named_by: &'static str,
    },
    /// `init --import FILE`.
    Import(PathBuf),
    /// A key of `config.toml`, e.g. `env_url`.
    ConfigToml(&'static str),
    /// A key of `credentials.toml`.
    CredentialsToml(&'static str),
    /// The agent name in `OpenClaw`'s `IDENTITY.md`.
    IdentityMd(PathBuf),
    /// An answer typed at `init`'s prompt.
    Prompt,
    /// Nothing set it.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Variable(name) => write!(f, "{name}"),
            Source::EnvFile {
                variable,
                file,
                named_by,
            } => write!(f, "{variable} from {named_by} {}", file.display()),
            Source::Import(file) => write!(f, "--import {}", file.display()),
            Source::ConfigToml(key) => write!(f, "{key} in config.toml"),
            Source::CredentialsToml(key) => write!(f, "{key} in credentials.toml"),
            Source::IdentityMd(file) => write!(f, "the agent name in {}", file.display()),
            Source::Prompt => write!(f, "prompt"),
            Source::Default => write!(f, "default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting<T> {
    pub(crate) value: T,
    pub(crate) source: Source,
}

impl<T> Setting<T> {
    pub(crate) fn new(value: T, source: Source) -> Self {
        Setting { value, source }
    }
}

/// Looks `variable` up in `env`, naming the env file when the value came from there.
pub(crate) fn variable(env: &Env, variable: &'static str) -> Option<Setting<String>> {
    let value = env.get(variable)?.to_owned();
    let source = match env.file() {
        Some(file) if env.came_from_file(variable) => Source::EnvFile {
            variable,
            file: file.path.clone(),
            named_by: file.named_by,
        },
        _ => Source::Variable(variable),
    };
    Some(Setting::new(value, source))
}

/// The variable that shortens the wait's poll interval: a testing knob (README,
/// "Environment"), so that tests of the wait do not sleep 2 s per poll.
pub(crate) const POLL_INTERVAL_VAR: &str = "SCALEKIT_AUTH_POLL_INTERVAL_MS";

/// `SCALEKIT_AUTH_POLL_INTERVAL_MS`: how often a wait for approval asks Scalekit, in whole
/// milliseconds from 1 to 60000. `None` when unset or empty (the caller's default); exit 2
/// naming the variable and its source for anything else.
pub(crate) fn poll_interval(env: &Env) -> Result<Option<Setting<Duration>>, CliError> {
    let Some(setting) = variable(env, POLL_INTERVAL_VAR) else {
        return Ok(None);
    };
    if setting.value.is_empty() {
        return Ok(None);
    }
    match setting.value.parse::<u64>() {
        Ok(ms) if (1..=60_000).contains(&ms) => Ok(Some(Setting::new(
            Duration::from_millis(ms),
            setting.source,
        ))),
        _ => Err(CliError::usage(format!(
            // Debug quoting escapes control characters: the value is outside text.
            "{} must be a whole number of milliseconds from 1 to 60000, not {:?}",
            setting.source, setting.value
        ))),
    }
}

/// The config directory: `--config-dir`, else `SCALEKIT_AUTH_CONFIG_DIR`; `None` means the
/// platform's default (see [`super::Paths::new`]). Empty counts as unset.
pub(crate) fn config_dir(flag: Option<PathBuf>, env: &Env) -> Option<Setting<PathBuf>> {
    flag.filter(|d| !d.as_os_str().is_empty())
        .map(|d| Setting::new(d, Source::Flag("--config-dir")))
        .or_else(|| {
            variable(env, CONFIG_DIR_VARIABLE)
                .map(|s| Setting::new(PathBuf::from(s.value), s.source))
        })
}

/// Values given above the environment (flags) or between it and the files (`init`'s
/// imports). Commands other than `init` pass none.
#[derive(Debug, Default, Clone)]
pub(crate) struct Layer {
    pub(crate) env_url: Option<Setting<String>>,
    pub(crate) client_id: Option<Setting<String>>,
    pub(crate) client_secret: Option<Setting<Secret>>,
}

/// The Scalekit credentials in effect, each with its source, and what the binding rule needs.
#[derive(Debug, Clone)]
pub(crate) struct Scalekit {
    /// The effective environment URL, validated and canonical (no trailing slash).
    pub(crate) env_url: Option<Setting<Url>>,
    pub(crate) client_id: Option<Setting<String>>,
    pub(crate) client_secret: Option<Setting<Secret>>,
    /// The URL the stored secret may go to: `credentials.toml`'s `env_url`, or for a file
    /// written before the binding rule, `config.toml`'s. `None` when neither is set.
    bound_to: Option<Setting<String>>,
    /// The stored secret has no `env_url` of its own yet (written before the binding rule).
    unbound: bool,
}

/// What a request to Scalekit needs, after the binding rule allowed it.
#[derive(Debug, Clone)]
pub(crate) struct Sendable {
    pub(crate) env_url: Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    /// `Some(url)` when the stored secret has no `env_url` yet: bind it to `url` once
    /// Scalekit accepted it (docs/cli.md, "The binding rule": "a verified run").
    pub(crate) bind_after_verify: Option<String>,
}

/// Resolves the Scalekit credentials, each value separately, highest first: `flags`,
/// the environment (`SCALEKIT_ENV_URL` or `SCALEKIT_ENVIRONMENT_URL`, `SCALEKIT_CLIENT_ID`,
/// `SCALEKIT_CLIENT_SECRET`; the named env file counts as environment), `imports`,
/// `config.toml`, then `credentials.toml`. The effective URL is validated here; an invalid
/// one is a usage error naming the value and its source.
pub(crate) fn scalekit(
    flags: Layer,
    env: &Env,
    imports: Layer,
    config: &Config,
    stored: &StoredCredentials,
) -> Result<Scalekit, CliError> {
    let env_url_var = ENV_URL_VARIABLES.iter().find_map(|v| variable(env, v));
    let env_url = flags
        .env_url
        .or(env_url_var)
        .or(imports.env_url)
        .or_else(|| {
            config
                .env_url
                .clone()
                .map(|u| Setting::new(u, Source::ConfigToml("env_url")))
        })
        .or_else(|| {
            stored
                .env_url
                .clone()
                .map(|u| Setting::new(u, Source::CredentialsToml("env_url")))
        });
    let env_url = env_url
        .map(|s| {
            validate_env_url(&s.value)
                .map(|url| Setting::new(url, s.source.clone()))
                .map_err(|e| CliError::usage(format!("{} (from {})", e.message, s.source)))
        })
        .transpose()?;
    let client_id = flags
        .client_id
        .or_else(|| variable(env, "SCALEKIT_CLIENT_ID"))
        .or(imports.client_id)
        .or_else(|| {
            config
                .client_id
                .clone()
                .map(|id| Setting::new(id, Source::ConfigToml("client_id")))
        })
        .filter(|s| !s.value.trim().is_empty());
    let client_secret = flags
        .client_secret
        .or_else(|| {
            variable(env, "SCALEKIT_CLIENT_SECRET")
                .map(|s| Setting::new(Secret::new(s.value), s.source))
        })
        .or(imports.client_secret)
        .or_else(|| {
            stored
                .client_secret
                .clone()
                .map(|s| Setting::new(s, Source::CredentialsToml("client_secret")))
        })
        .filter(|s| !s.value.is_empty());
    let bound_to = stored
        .env_url
        .clone()
        .map(|u| Setting::new(u, Source::CredentialsToml("env_url")))
        .or_else(|| {
            config
                .env_url
                .clone()
                .map(|u| Setting::new(u, Source::ConfigToml("env_url")))
        });
    Ok(Scalekit {
        env_url,
        client_id,
        client_secret,
        bound_to,
        unbound: stored.env_url.is_none(),
    })
}

impl Scalekit {
    /// Whether the secret in effect is the one stored in `credentials.toml`.
    pub(crate) fn secret_is_stored(&self) -> bool {
        self.client_secret
            .as_ref()
            .is_some_and(|s| matches!(s.source, Source::CredentialsToml(_)))
    }

    /// The credentials to send, or exit 3 naming what is missing, or, by the binding rule,
    /// exit 3 when the stored secret would go to another URL than the one it was saved with
    /// (naming both URLs and where the effective one came from). Nothing is sent then.
    pub(crate) fn sendable(&self) -> Result<Sendable, CliError> {
        let mut missing = Vec::new();
        if self.env_url.is_none() {
            missing.push("SCALEKIT_ENV_URL");
        }
        if self.client_id.is_none() {
            missing.push("SCALEKIT_CLIENT_ID");
        }
        if self.client_secret.is_none() {
            missing.push("SCALEKIT_CLIENT_SECRET");
        }
        let (Some(env_url), Some(client_id), Some(client_secret)) =
            (&self.env_url, &self.client_id, &self.client_secret)
        else {
            return Err(CliError::not_configured(format!(
                "no Scalekit credentials: {} not set",
                missing.join(", ")
            ))
            .with_hint(
                "run `scalekit-auth init`, or set SCALEKIT_ENV_URL, SCALEKIT_CLIENT_ID and \
                 SCALEKIT_CLIENT_SECRET",
            ));
        };
        let mut bind_after_verify = None;
        if self.secret_is_stored() {
            self.check_binding(&env_url.value, &env_url.source)?;
            if self.unbound {
                bind_after_verify = Some(env_url_string(&env_url.value));
            }
        }
        Ok(Sendable {
            env_url: env_url.value.clone(),
            client_id: client_id.value.clone(),
            client_secret: client_secret.value.clone(),
            bind_after_verify,
        })
    }

    /// The binding rule for the stored secret and `url` (from `source`).
    pub(crate) fn check_binding(&self, url: &Url, source: &Source) -> Result<(), CliError> {
        let effective = env_url_string(url);
        let Some(bound) = &self.bound_to else {
            return Err(CliError::not_configured(format!(
                "the client secret in credentials.toml is not bound to any environment URL, and \
                 the environment URL {effective} comes from {source}; nothing was sent"
            ))
            .with_hint(
                "run `scalekit-auth init` to save the credentials together, or set \
                 SCALEKIT_CLIENT_SECRET for that environment",
            ));
        };
        let bound_url = validate_env_url(&bound.value)
            .ok()
            .map(|u| env_url_string(&u));
        if bound_url.as_deref() == Some(effective.as_str()) {
            return Ok(());
        }
        Err(CliError::not_configured(format!(
            "the client secret in credentials.toml was saved for {} ({}), but the environment \
             URL is {effective} (from {source}); the secret is sent only to the URL it was saved \
             with, so nothing was sent",
            bound_url.as_deref().unwrap_or(bound.value.as_str()),
            bound.source,
        ))
        .with_hint(format!(
            "remove {source} to use the saved credentials, run `scalekit-auth init` to save \
             credentials for {effective}, or set SCALEKIT_CLIENT_SECRET for it"
        )))
    }
}

/// The identifier for a service, highest first: `flag`, `services.<name>.identifier`,
/// `SCALEKIT_AUTH_IDENTIFIER`, `scalekit.identifier`, the agent name in `OpenClaw`'s
/// `IDENTITY.md`. None of them: a "not configured" error saying how to set one. The result
/// is validated; an invalid one is a usage error naming where it came from.
pub(crate) fn identifier(
    service_name: &str,
    flag: Option<&str>,
    service: Option<&ServiceConfig>,
    env: &Env,
    config: &Config,
) -> Result<Setting<String>, CliError> {
    let found = flag
        .map(|id| Setting::new(id.to_owned(), Source::Flag("--identifier")))
        .or_else(|| {
            service
                .and_then(|s| s.identifier.clone())
                .filter(|i| !i.is_empty())
                .map(|id| Setting::new(id, Source::ConfigToml("the service's identifier")))
        })
        .or_else(|| variable(env, "SCALEKIT_AUTH_IDENTIFIER"))
        .or_else(|| default_identifier(env, config));
    let Some(found) = found else {
        return Err(CliError::not_configured(format!(
            "no identifier for {service_name}: pass --identifier ID, set \
             SCALEKIT_AUTH_IDENTIFIER, or store one in config.toml"
        ))
        .with_hint(format!(
            "scalekit-auth config {service_name} --identifier ID (this service), or \
             scalekit-auth init --identifier ID (every service)"
        )));
    };
    validate_identifier(&found.value).map_err(|e| {
        let message = if found.source == Source::Flag("--identifier") {
            e.message
        } else {
            format!("{} (from {})", e.message, found.source)
        };
        CliError::usage(message)
    })?;
    Ok(found)
}

/// The default identifier of every service: `[scalekit] identifier` in config.toml, else the
/// agent name in `IDENTITY.md`.
pub(crate) fn default_identifier(env: &Env, config: &Config) -> Option<Setting<String>> {
    config
        .identifier
        .clone()
        .filter(|i| !i.is_empty())
        .map(|id| Setting::new(id, Source::ConfigToml("[scalekit] identifier")))
        .or_else(|| {
            let path = identity_md_path(env)?;
            let text = fs::read_to_string(&path).ok()?;
            identifier_from_identity_md(&text).map(|id| Setting::new(id, Source::IdentityMd(path)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Import;
    use crate::config::test_support::*;
    use crate::error::ErrorKind;
    use std::collections::BTreeMap;

    // --- Resolution ------------------------------------------------------------------------

    fn stored_config() -> Config {
        Config {
            env_url: Some("https://file.example".into()),
            client_id: Some("file-id".into()),
            identifier: Some("file-default".into()),
            services: BTreeMap::new(),
        }
    }

    fn none() -> Env {
        Env::from_pairs::<_, &str, &str>([])
    }

    fn stored(url: Option<&str>, secret: &str) -> StoredCredentials {
        StoredCredentials {
            env_url: url.map(str::to_owned),
            client_secret: Some(Secret::new(secret)),
        }
    }

    fn resolve(env: &Env, config: &Config, stored: &StoredCredentials) -> Scalekit {
        scalekit(Layer::default(), env, Layer::default(), config, stored).expect("resolves")
    }

    #[test]
    fn credentials_resolve_per_value_with_their_source() {
        let config = stored_config();
        let env = Env::from_pairs([("SCALEKIT_ENVIRONMENT_URL", "https://env.example")]);
        let creds = resolve(&env, &config, &stored(None, "file-secret"));
        let url = creds.env_url.expect("url");
        assert_eq!(url.value.as_str(), "https://env.example/");
        assert_eq!(url.source, Source::Variable("SCALEKIT_ENVIRONMENT_URL"));
        let id = creds.client_id.expect("id");
        assert_eq!(id.value, "file-id");
        assert_eq!(id.source.to_string(), "client_id in config.toml");
        let secret = creds.client_secret.expect("secret");
        assert_eq!(secret.value, Secret::new("file-secret"));
        assert_eq!(
            secret.source.to_string(),
            "client_secret in credentials.toml"
        );

        let env = Env::from_pairs([
            ("SCALEKIT_ENV_URL", "https://primary.example"),
            ("SCALEKIT_ENVIRONMENT_URL", "https://env.example"),
            ("SCALEKIT_CLIENT_ID", "env-id"),
            ("SCALEKIT_CLIENT_SECRET", "env-secret"),
        ])
        .with_file("/x/dev.env", &["SCALEKIT_CLIENT_ID"]);
        let creds = resolve(&env, &config, &stored(None, "file-secret"));
        let url = creds.env_url.expect("url");
        assert_eq!(url.value.as_str(), "https://primary.example/");
        assert_eq!(url.source.to_string(), "SCALEKIT_ENV_URL");
        let id = creds.client_id.expect("id");
        assert_eq!(id.value, "env-id");
        assert_eq!(
            id.source.to_string(),
            "SCALEKIT_CLIENT_ID from --env-file /x/dev.env"
        );
        assert_eq!(
            creds.client_secret.expect("secret").value,
            Secret::new("env-secret")
        );

        let creds = resolve(&none(), &Config::default(), &StoredCredentials::default());
        assert!(
            creds.env_url.is_none() && creds.client_id.is_none() && creds.client_secret.is_none()
        );
        let err = creds.sendable().expect_err("nothing set");
        assert_eq!(err.kind, ErrorKind::NotConfigured);
    }

    #[test]
    fn flags_beat_the_environment_which_beats_imports_which_beat_the_files() {
        let config = stored_config();
        let env = Env::from_pairs([("SCALEKIT_CLIENT_ID", "env-id")]);
        let flags = Layer {
            env_url: Some(Setting::new(
                "https://flag.example".into(),
                Source::Flag("--env-url"),
            )),
            ..Layer::default()
        };
        let imports = Layer {
            env_url: Some(Setting::new(
                "https://import.example".into(),
                Source::Import("/i.env".into()),
            )),
            client_id: Some(Setting::new(
                "import-id".into(),
                Source::Import("/i.env".into()),
            )),
            client_secret: Some(Setting::new(
                Secret::new("import-secret"),
                Source::Import("/i.env".into()),
            )),
        };
        let creds =
            scalekit(flags, &env, imports.clone(), &config, &stored(None, "s")).expect("resolves");
        assert_eq!(
            creds.env_url.expect("url").source,
            Source::Flag("--env-url")
        );
        assert_eq!(creds.client_id.expect("id").value, "env-id");
        assert_eq!(
            creds.client_secret.expect("secret").source,
            Source::Import("/i.env".into())
        );
        let creds = scalekit(
            Layer::default(),
            &none(),
            imports,
            &config,
            &stored(None, "s"),
        )
        .expect("resolves");
        assert_eq!(
            creds.env_url.expect("url").value.as_str(),
            "https://import.example/"
        );
        // credentials.toml's URL is the last resort, when config.toml has none.
        let creds = resolve(
            &none(),
            &Config::default(),
            &stored(Some("https://bound.example"), "s"),
        );
        let url = creds.env_url.expect("url");
        assert_eq!(url.source.to_string(), "env_url in credentials.toml");
    }

    #[test]
    fn an_invalid_url_names_its_source() {
        let env = Env::from_pairs([("SCALEKIT_ENV_URL", "https://acme.scalekit.dev/api")])
            .with_file("/x/dev.env", &["SCALEKIT_ENV_URL"]);
        let err = scalekit(
            Layer::default(),
            &env,
            Layer::default(),
            &Config::default(),
            &StoredCredentials::default(),
        )
        .expect_err("a path");
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(
            err.message.contains("\"https://acme.scalekit.dev/api\"")
                && err
                    .message
                    .contains("SCALEKIT_ENV_URL from --env-file /x/dev.env"),
            "{}",
            err.message
        );
        let config = Config {
            env_url: Some("http://example.com".into()),
            ..Config::default()
        };
        let err = scalekit(
            Layer::default(),
            &none(),
            Layer::default(),
            &config,
            &StoredCredentials::default(),
        )
        .expect_err("clear text");
        assert!(
            err.message.contains("env_url in config.toml"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_stored_secret_goes_only_to_its_url() {
        let config = stored_config();
        let bound = stored(Some("https://file.example/"), "s");
        // Same URL (canonically): allowed, and nothing to migrate.
        let ok = resolve(&none(), &config, &bound).sendable().expect("bound");
        assert_eq!(ok.client_secret, Secret::new("s"));
        assert_eq!(ok.bind_after_verify, None);
        // A variable points elsewhere: exit 3 naming both URLs and the variable.
        let env = Env::from_pairs([("SCALEKIT_ENV_URL", "https://evil.example")]);
        let err = resolve(&env, &config, &bound)
            .sendable()
            .expect_err("elsewhere");
        assert_eq!(err.kind, ErrorKind::NotConfigured);
        for part in [
            "https://file.example",
            "https://evil.example",
            "SCALEKIT_ENV_URL",
        ] {
            assert!(err.message.contains(part), "{part}: {}", err.message);
        }
        assert!(!err.message.contains("\"s\""));
        // An edited config.toml: likewise.
        let edited = Config {
            env_url: Some("https://edited.example".into()),
            ..config.clone()
        };
        let err = resolve(&none(), &edited, &bound)
            .sendable()
            .expect_err("edited");
        assert!(
            err.message.contains("env_url in config.toml"),
            "{}",
            err.message
        );
        // A secret from the environment goes to the URL resolved with it.
        let env = Env::from_pairs([
            ("SCALEKIT_ENV_URL", "https://other.example"),
            ("SCALEKIT_CLIENT_SECRET", "env-secret"),
        ]);
        let ok = resolve(&env, &config, &bound)
            .sendable()
            .expect("env secret");
        assert_eq!(ok.env_url.as_str(), "https://other.example/");
        assert_eq!(ok.client_secret, Secret::new("env-secret"));
    }

    #[test]
    fn an_old_credentials_file_is_used_only_with_config_tomls_url() {
        let config = stored_config();
        let old = stored(None, "s");
        let ok = resolve(&none(), &config, &old).sendable().expect("legacy");
        assert_eq!(
            ok.bind_after_verify.as_deref(),
            Some("https://file.example")
        );
        let env = Env::from_pairs([("SCALEKIT_ENV_URL", "https://evil.example")]);
        let err = resolve(&env, &config, &old)
            .sendable()
            .expect_err("elsewhere");
        assert!(
            err.message.contains("https://evil.example"),
            "{}",
            err.message
        );
        // No URL in either file: the secret is bound to nothing and goes nowhere.
        let err = resolve(&env, &Config::default(), &old)
            .sendable()
            .expect_err("unbound");
        assert_eq!(err.kind, ErrorKind::NotConfigured);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let creds = resolve(&none(), &stored_config(), &stored(None, "hunter2"));
        assert!(!format!("{creds:?}").contains("hunter2"));
        assert!(!format!("{:?}", creds.sendable().expect("ok")).contains("hunter2"));
        assert!(!format!("{:?}", stored(None, "hunter2")).contains("hunter2"));
        let import = Import::Env {
            env_url: None,
            client_id: None,
            client_secret: Some(Secret::new("hunter2")),
            identifier: None,
        };
        assert!(!format!("{import:?}").contains("hunter2"));
        assert!(!format!("{:?}", stored_config()).contains("hunter2"));
    }

    #[test]
    fn identifier_precedence() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(&tmp.path().join("IDENTITY.md"), IDENTITY_INLINE);
        let workspace = tmp.path().display().to_string();
        let service = ServiceConfig {
            connection_name: "c".into(),
            identifier: Some("svc".into()),
            hosts: Vec::new(),
        };
        let bare = ServiceConfig {
            identifier: None,
            ..service.clone()
        };
        let config = stored_config();
        let env = Env::from_pairs([
            ("SCALEKIT_AUTH_IDENTIFIER", "env"),
            ("OPENCLAW_WORKSPACE", workspace.as_str()),
        ]);
        let no_id_env = Env::from_pairs([("OPENCLAW_WORKSPACE", workspace.as_str())]);
        let resolve = |f, s, e: &Env, c: &Config| identifier("gmail", f, s, e, c).map(|s| s.value);

        assert_eq!(
            resolve(Some("flag"), Some(&service), &env, &config).expect("id"),
            "flag"
        );
        assert_eq!(
            resolve(None, Some(&service), &env, &config).expect("id"),
            "svc"
        );
        assert_eq!(
            resolve(None, Some(&bare), &env, &config).expect("id"),
            "env"
        );
        assert_eq!(
            resolve(None, Some(&bare), &no_id_env, &config).expect("id"),
            "file-default"
        );
        assert_eq!(
            resolve(None, None, &no_id_env, &Config::default()).expect("id"),
            "mess"
        );

        let nothing = Env::from_pairs([("HOME", tmp.path().join("nohome").display().to_string())]);
        let err = resolve(None, None, &nothing, &Config::default()).expect_err("none");
        assert_eq!(err.kind, ErrorKind::NotConfigured);
        assert!(
            err.hint
                .as_deref()
                .is_some_and(|h| h.contains("--identifier ID"))
        );

        let err = resolve(Some(""), None, &env, &config).expect_err("empty flag");
        assert_eq!(err.kind, ErrorKind::Usage);
        let long = "x".repeat(101);
        let err = resolve(
            None,
            None,
            &Env::from_pairs([("SCALEKIT_AUTH_IDENTIFIER", long)]),
            &config,
        )
        .expect_err("too long");
        assert!(
            err.message.contains("SCALEKIT_AUTH_IDENTIFIER"),
            "{}",
            err.message
        );
    }
}

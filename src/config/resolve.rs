//! Resolution: every setting with its source.

use std::fs::{self};

use super::Config;
use super::Env;
use super::ServiceConfig;
use super::identifier_from_identity_md;
use super::identity_md_path;
use super::validate_identifier;
use crate::error::CliError;
use crate::secret::Secret;

/// The hint when no identifier can be found.
const IDENTIFIER_HINT: &str = "scalekit-auth config SERVICE CONNECTION --identifier ID, or scalekit-auth init --identifier ID";

/// The Scalekit credentials in effect, each value resolved separately (environment, else
/// files). Values are as found: validate `env_url` with [`validate_env_url`] before use.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) env_url: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
}

/// Resolves each credential separately, highest first: `SCALEKIT_ENV_URL` (or
/// `SCALEKIT_ENVIRONMENT_URL`), `SCALEKIT_CLIENT_ID`, `SCALEKIT_CLIENT_SECRET` from `env`,
/// else `config.toml` / `credentials.toml`.
pub(crate) fn resolve_credentials(
    env: &Env,
    config: &Config,
    stored_secret: Option<Secret>,
) -> Credentials {
    let env_url = env
        .get("SCALEKIT_ENV_URL")
        .or_else(|| env.get("SCALEKIT_ENVIRONMENT_URL"))
        .map(str::to_owned)
        .or_else(|| config.env_url.clone());
    let client_id = env
        .get("SCALEKIT_CLIENT_ID")
        .map(str::to_owned)
        .or_else(|| config.client_id.clone());
    let client_secret = env
        .get("SCALEKIT_CLIENT_SECRET")
        .map(Secret::new)
        .or(stored_secret)
        .filter(|s| !s.is_empty());
    Credentials {
        env_url,
        client_id,
        client_secret,
    }
}

/// The identifier for a service, highest first: `flag`, `services.<name>.identifier`,
/// `SCALEKIT_AUTH_IDENTIFIER`, `scalekit.identifier`, the agent name in `OpenClaw`'s
/// `IDENTITY.md`. None of them: a "not configured" error saying how to set one. The result
/// is validated; an invalid one is a usage error naming where it came from.
pub(crate) fn resolve_identifier(
    flag: Option<&str>,
    service: Option<&ServiceConfig>,
    env: &Env,
    config: &Config,
) -> Result<String, CliError> {
    let found = if let Some(id) = flag {
        Some((id.to_owned(), "--identifier".to_owned()))
    } else if let Some(id) = service
        .and_then(|s| s.identifier.as_deref())
        .filter(|i| !i.is_empty())
    {
        Some((
            id.to_owned(),
            "the service's identifier in config.toml".to_owned(),
        ))
    } else if let Some(id) = env.get("SCALEKIT_AUTH_IDENTIFIER") {
        Some((id.to_owned(), "SCALEKIT_AUTH_IDENTIFIER".to_owned()))
    } else if let Some(id) = config.identifier.as_deref().filter(|i| !i.is_empty()) {
        Some((
            id.to_owned(),
            "[scalekit] identifier in config.toml".to_owned(),
        ))
    } else {
        identity_md_path(env).and_then(|path| {
            let text = fs::read_to_string(&path).ok()?;
            identifier_from_identity_md(&text).map(|id| (id, path.display().to_string()))
        })
    };
    let Some((id, source)) = found else {
        return Err(CliError::not_configured(
            "no identifier: pass --identifier ID, set SCALEKIT_AUTH_IDENTIFIER, or store one \
             in config.toml",
        )
        .with_hint(IDENTIFIER_HINT));
    };
    validate_identifier(&id).map_err(|e| {
        let message = if source == "--identifier" {
            e.message
        } else {
            format!("{} (from {source})", e.message)
        };
        CliError::usage(message)
    })?;
    Ok(id)
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

    #[test]
    fn credentials_resolve_per_value() {
        let config = stored_config();
        let env = Env::from_pairs([("SCALEKIT_ENVIRONMENT_URL", "https://env.example")]);
        let creds = resolve_credentials(&env, &config, Some(Secret::new("file-secret")));
        assert_eq!(creds.env_url.as_deref(), Some("https://env.example"));
        assert_eq!(creds.client_id.as_deref(), Some("file-id"));
        assert_eq!(creds.client_secret, Some(Secret::new("file-secret")));

        let env = Env::from_pairs([
            ("SCALEKIT_ENV_URL", "https://primary.example"),
            ("SCALEKIT_ENVIRONMENT_URL", "https://env.example"),
            ("SCALEKIT_CLIENT_ID", "env-id"),
            ("SCALEKIT_CLIENT_SECRET", "env-secret"),
        ]);
        let creds = resolve_credentials(&env, &config, Some(Secret::new("file-secret")));
        assert_eq!(creds.env_url.as_deref(), Some("https://primary.example"));
        assert_eq!(creds.client_id.as_deref(), Some("env-id"));
        assert_eq!(creds.client_secret, Some(Secret::new("env-secret")));

        let creds = resolve_credentials(
            &Env::from_pairs::<_, &str, &str>([]),
            &Config::default(),
            None,
        );
        assert!(
            creds.env_url.is_none() && creds.client_id.is_none() && creds.client_secret.is_none()
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let creds = Credentials {
            env_url: Some("https://a".into()),
            client_id: Some("id".into()),
            client_secret: Some(Secret::new("hunter2")),
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
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
        let resolve = resolve_identifier;

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

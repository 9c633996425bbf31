//! The typed view of `config.toml` and `credentials.toml`, and loading them.

use std::collections::BTreeMap;
use std::fs::{self};
use std::io::{self};
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml_edit::DocumentMut;

use super::Paths;
use super::env::line_col;
use crate::error::CliError;
use crate::secret::Secret;

/// The hint of every "malformed config" error.
const MALFORMED_HINT: &str =
    "fix the file by hand; scalekit-auth never overwrites a malformed file";

/// The typed content of `config.toml`. Empty strings read as `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Config {
    /// `[scalekit] env_url`, as stored (validate before use).
    pub(crate) env_url: Option<String>,
    /// `[scalekit] client_id`.
    pub(crate) client_id: Option<String>,
    /// `[scalekit] identifier`: the default identifier for every service.
    pub(crate) identifier: Option<String>,
    /// `[services.<name>]`, keyed by the name as written in the file.
    pub(crate) services: BTreeMap<String, ServiceConfig>,
}

/// One `[services.<name>]` table: which Scalekit connection the service uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceConfig {
    /// The Scalekit connection name, e.g. `gmail_u3134a`.
    pub(crate) connection_name: String,
    /// Overrides the default identifier for this service.
    pub(crate) identifier: Option<String>,
    /// `hosts = [..]`; empty when absent.
    pub(crate) hosts: Vec<String>,
}

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    scalekit: RawScalekit,
    #[serde(default)]
    services: BTreeMap<String, RawService>,
}

#[derive(Deserialize, Default)]
struct RawScalekit {
    env_url: Option<String>,
    client_id: Option<String>,
    identifier: Option<String>,
}

#[derive(Deserialize)]
struct RawService {
    connection_name: String,
    identifier: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
}

#[derive(Deserialize)]
struct RawCredentials {
    env_url: Option<toml::Spanned<toml::Value>>,
    client_secret: Option<toml::Spanned<toml::Value>>,
}

/// The content of `credentials.toml`: the client secret and the environment URL it was saved
/// with, the only URL it is ever sent to (docs: README "Scalekit credentials", the binding
/// rule). A file written before that rule has no `env_url`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StoredCredentials {
    /// `env_url`, as stored (compare it canonicalized).
    pub(crate) env_url: Option<String>,
    pub(crate) client_secret: Option<Secret>,
}

/// Reads `config.toml`; a missing file is an empty configuration. Malformed TOML or a wrong
/// type is a "not configured" error with `path:line:col`. Unknown keys are ignored.
pub(crate) fn load(paths: &Paths) -> anyhow::Result<Config> {
    let path = paths.config_file();
    match read_existing(&path)? {
        Some(text) => Ok(parse_config(&path, &text)?),
        None => Ok(Config::default()),
    }
}

/// Reads `client_secret` from `credentials.toml`; a missing file or an empty secret is
/// `None`. Errors never quote the file: it holds the secret.
#[cfg(test)]
pub(crate) fn load_client_secret(paths: &Paths) -> anyhow::Result<Option<Secret>> {
    Ok(load_credentials(paths)?.client_secret)
}

/// Reads `credentials.toml` (`env_url` and `client_secret`); a missing file is empty. Errors
/// never quote the file: it holds the secret.
pub(crate) fn load_credentials(paths: &Paths) -> anyhow::Result<StoredCredentials> {
    let path = paths.credentials_file();
    match read_existing(&path)? {
        Some(text) => Ok(parse_stored_credentials(&path, &text)?),
        None => Ok(StoredCredentials::default()),
    }
}

/// `Some(mode & 0o777)` when `credentials.toml` exists and is readable by group or others,
/// for `status`'s warning; `None` otherwise (and always on non-Unix systems).
pub(crate) fn credentials_too_open(paths: &Paths) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(paths.credentials_file())
            .ok()?
            .permissions()
            .mode()
            & 0o777;
        (mode & 0o044 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = paths;
        None
    }
}

/// The file's text, `None` when it does not exist.
pub(super) fn read_existing(path: &Path) -> Result<Option<String>, CliError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            let valid =
                String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]).into_owned();
            malformed(
                path,
                &valid,
                Some(valid.len()..valid.len()),
                "not valid UTF-8",
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::failed(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// The "malformed config" error, located at `span`'s start when known.
fn malformed(path: &Path, text: &str, span: Option<Range<usize>>, what: &str) -> CliError {
    let location = match span {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("{}:{line}:{col}", path.display())
        }
        None => path.display().to_string(),
    };
    CliError::not_configured(format!("malformed config: {location}: {what}"))
        .with_hint(MALFORMED_HINT)
}

pub(super) fn parse_config(path: &Path, text: &str) -> Result<Config, CliError> {
    let raw: RawConfig =
        toml::from_str(text).map_err(|e| malformed(path, text, e.span(), e.message()))?;
    Ok(Config {
        env_url: non_empty(raw.scalekit.env_url),
        client_id: non_empty(raw.scalekit.client_id),
        identifier: non_empty(raw.scalekit.identifier),
        services: raw
            .services
            .into_iter()
            .map(|(name, s)| {
                let service = ServiceConfig {
                    connection_name: s.connection_name,
                    identifier: non_empty(s.identifier),
                    hosts: s.hosts,
                };
                (name, service)
            })
            .collect(),
    })
}

pub(super) fn parse_stored_credentials(
    path: &Path,
    text: &str,
) -> Result<StoredCredentials, CliError> {
    // A syntax error's message is a fixed text from the parser; a type error's would quote
    // the value, so that one gets our own words.
    let raw: RawCredentials =
        toml::from_str(text).map_err(|e| malformed(path, text, e.span(), e.message()))?;
    let string = |value: Option<toml::Spanned<toml::Value>>, key: &str| match value {
        None => Ok(None),
        Some(spanned) => {
            let span = spanned.span();
            match spanned.into_inner() {
                toml::Value::String(s) if s.is_empty() => Ok(None),
                toml::Value::String(s) => Ok(Some(s)),
                _ => Err(malformed(
                    path,
                    text,
                    Some(span),
                    &format!("`{key}` must be a string"),
                )),
            }
        }
    };
    Ok(StoredCredentials {
        env_url: string(raw.env_url, "env_url")?,
        client_secret: string(raw.client_secret, "client_secret")?.map(Secret::new),
    })
}

pub(super) fn parse_document(path: &Path, text: &str) -> Result<DocumentMut, CliError> {
    text.parse::<DocumentMut>()
        .map_err(|e| malformed(path, text, e.span(), e.message()))
}

pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::*;
    use crate::error::ErrorKind;

    // --- Loading ---------------------------------------------------------------------------

    #[test]
    fn load_missing_is_default() {
        let (_tmp, paths) = temp_paths();
        assert_eq!(load(&paths).expect("load"), Config::default());
        assert!(load_client_secret(&paths).expect("secret").is_none());
        assert_eq!(credentials_too_open(&paths), None);
    }

    #[test]
    fn load_reads_the_documented_format_and_ignores_unknown_keys() {
        let (_tmp, paths) = temp_paths();
        write(&paths.config_file(), HAND_WRITTEN);
        let config = load(&paths).expect("load");
        assert_eq!(config.env_url.as_deref(), Some("https://acme.scalekit.dev"));
        assert_eq!(config.client_id.as_deref(), Some("skc_58327480066375686"));
        assert_eq!(config.identifier.as_deref(), Some("mess"));
        assert_eq!(
            config.services["gmail"],
            ServiceConfig {
                connection_name: "gmail_u3134a".into(),
                identifier: Some("mess".into()),
                hosts: vec!["gmail.googleapis.com".into()],
            }
        );
        assert_eq!(config.services["slack"].identifier, None);
        assert!(config.services["slack"].hosts.is_empty());
    }

    #[test]
    fn load_treats_empty_strings_as_unset() {
        let (_tmp, paths) = temp_paths();
        write(
            &paths.config_file(),
            "[scalekit]\nenv_url = \"\"\nidentifier = \"\"\n[services.a]\nconnection_name = \"c\"\nidentifier = \"\"\n",
        );
        let config = load(&paths).expect("load");
        assert_eq!(config.env_url, None);
        assert_eq!(config.identifier, None);
        assert_eq!(config.services["a"].identifier, None);
    }

    #[test]
    fn malformed_config_is_located_and_not_configured() {
        let (_tmp, paths) = temp_paths();
        let path = paths.config_file();
        let cases = [
            (
                "[services.gmail]\nconnection_name = 5\n",
                "2:19",
                "invalid type",
            ),
            ("[scalekit]\nenv_url = []\n", "2:11", "invalid type"),
            ("[scalekit]\nenv_url = \"x\n", "2:", ""),
            (
                "[services.gmail]\nidentifier = \"a\"\n",
                "1:1",
                "connection_name",
            ),
            ("scalekit = 5\n", "1:12", "invalid type"),
            ("a = 1\na = 2\n", "2:1", "duplicate key"),
        ];
        for (text, location, what) in cases {
            write(&path, text);
            let err = load(&paths).expect_err(text);
            let cli = cli_error(&err);
            assert_eq!(cli.kind, ErrorKind::NotConfigured, "{text}");
            let prefix = format!("malformed config: {}:{location}", path.display());
            assert!(cli.message.starts_with(&prefix), "{text}: {}", cli.message);
            assert!(cli.message.contains(what), "{text}: {}", cli.message);
            assert_eq!(cli.hint.as_deref(), Some(MALFORMED_HINT));
        }
    }

    #[test]
    fn malformed_location_counts_characters() {
        assert_eq!(line_col("é = x", 4), (1, 4));
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("a", 99), (1, 2));
    }

    #[test]
    fn malformed_credentials_never_echo_the_file() {
        let (_tmp, paths) = temp_paths();
        let path = paths.credentials_file();
        for text in [
            "client_secret = \"hunter2\n",
            "client_secret = hunter2\n",
            "client_secret = 1234567\n",
            "client_secret = [\"hunter2\"]\n",
            "client_secret = { v = \"hunter2\" }\n",
        ] {
            write(&path, text);
            let err = load_client_secret(&paths).expect_err(text);
            let cli = cli_error(&err);
            assert_eq!(cli.kind, ErrorKind::NotConfigured);
            assert!(
                cli.message.contains(&format!("{}:1:", path.display())),
                "{}",
                cli.message
            );
            assert!(!cli.message.contains("hunter2"), "{}", cli.message);
            assert!(!cli.message.contains("1234567"), "{}", cli.message);
        }
    }

    #[test]
    fn client_secret_reads_back() {
        let (_tmp, paths) = temp_paths();
        write(
            &paths.credentials_file(),
            "# mine\nclient_secret = \"s3\"\nother = 1\n",
        );
        assert_eq!(
            load_client_secret(&paths).expect("load"),
            Some(Secret::new("s3"))
        );
        write(&paths.credentials_file(), "client_secret = \"\"\n");
        assert_eq!(load_client_secret(&paths).expect("load"), None);
    }
}

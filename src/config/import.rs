//! `init --import FILE`: a `connections.json` or a dotenv's `SCALEKIT_*` values.

use std::collections::BTreeMap;
use std::fs::{self};
use std::path::Path;

use serde::Deserialize;

use super::Env;
use super::ServiceConfig;
use super::env::parse_dotenv;
use super::env_url_string;
use super::file::non_empty;
use super::validate_connection_name;
use super::validate_env_url;
use super::validate_identifier;
use super::validate_service;
use crate::error::CliError;
use crate::secret::Secret;

/// What `init --import FILE` found in a file.
#[derive(Debug)]
pub(crate) enum Import {
    /// The old helper's `connections.json`: service → mapping, identifiers verbatim.
    Services(BTreeMap<String, ServiceConfig>),
    /// A dotenv's `SCALEKIT_*` values (each `None` when absent or empty); `env_url`
    /// validated and without trailing slash, `identifier` validated.
    Env {
        env_url: Option<String>,
        client_id: Option<String>,
        client_secret: Option<Secret>,
        identifier: Option<String>,
    },
}

#[derive(Deserialize)]
struct ImportedService {
    connection_name: String,
    #[serde(default)]
    identifier: Option<String>,
}

/// Reads an import file: JSON (by a `.json` name or content starting with `{`) is the old
/// helper's `{service: {connection_name, identifier?}}` with names validated (services
/// lower-cased); anything else is a dotenv whose `SCALEKIT_*` values are taken. Unreadable
/// or malformed files are usage errors naming the path (and the line), never the secret.
pub(crate) fn parse_import(path: &Path) -> anyhow::Result<Import> {
    let text = fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read import file {}: {e}", path.display())))?;
    let text = String::from_utf8(text)
        .map_err(|_| CliError::usage(format!("{}: not valid UTF-8", path.display())))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    if is_json {
        parse_import_json(path, &text)
    } else {
        parse_import_env(path, &text)
    }
}

fn parse_import_json(path: &Path, text: &str) -> anyhow::Result<Import> {
    let raw: BTreeMap<String, ImportedService> = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        // serde_json appends " at line L column C"; we put the position first.
        let what = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(w, _)| w);
        CliError::usage(format!(
            "{}: line {}, column {}: {what} (expected {{\"SERVICE\": {{\"connection_name\": \
             \"…\", \"identifier\": \"…\"}}}})",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let in_file = |e: CliError| CliError::usage(format!("{}: {}", path.display(), e.message));
    let mut services = BTreeMap::new();
    for (name, entry) in raw {
        let service = validate_service(&name).map_err(in_file)?;
        validate_connection_name(&entry.connection_name).map_err(in_file)?;
        let identifier = non_empty(entry.identifier);
        if let Some(id) = &identifier {
            validate_identifier(id).map_err(in_file)?;
        }
        let mapping = ServiceConfig {
            connection_name: entry.connection_name,
            identifier,
            hosts: Vec::new(),
        };
        if services.insert(service.clone(), mapping).is_some() {
            return Err(CliError::usage(format!(
                "{}: service {service:?} appears twice (names are case-insensitive)",
                path.display()
            ))
            .into());
        }
    }
    Ok(Import::Services(services))
}

fn parse_import_env(path: &Path, text: &str) -> anyhow::Result<Import> {
    let env = Env::layered(Vec::new(), parse_dotenv(path, text)?);
    let in_file = |e: CliError| CliError::usage(format!("{}: {}", path.display(), e.message));
    let env_url = env
        .get("SCALEKIT_ENV_URL")
        .or_else(|| env.get("SCALEKIT_ENVIRONMENT_URL"))
        .map(|u| validate_env_url(u).map(|u| env_url_string(&u)))
        .transpose()
        .map_err(in_file)?;
    let identifier = env.get("SCALEKIT_AUTH_IDENTIFIER").map(str::to_owned);
    if let Some(id) = &identifier {
        validate_identifier(id).map_err(in_file)?;
    }
    Ok(Import::Env {
        env_url,
        client_id: env.get("SCALEKIT_CLIENT_ID").map(str::to_owned),
        client_secret: env.get("SCALEKIT_CLIENT_SECRET").map(Secret::new),
        identifier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::*;
    use crate::error::ErrorKind;

    // --- Import ----------------------------------------------------------------------------

    #[test]
    fn import_connections_json_sample() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("connections.json");
        write(&file, CONNECTIONS_JSON);
        let Import::Services(services) = parse_import(&file).expect("import") else {
            panic!("expected services");
        };
        assert_eq!(services.len(), 2);
        assert_eq!(services["gmail"].connection_name, "gmail_u3134a");
        assert_eq!(services["gmail"].identifier.as_deref(), Some("mess"));
        assert_eq!(services["slack"].connection_name, "slack_x7y9z");

        // JSON by content; service names lower-cased, identifiers verbatim.
        let file = tmp.path().join("mappings");
        write(
            &file,
            "{\"GMail\": {\"connection_name\": \"g\", \"identifier\": \"MeSS\", \"x\": 1}}",
        );
        let Import::Services(services) = parse_import(&file).expect("import") else {
            panic!("expected services");
        };
        assert_eq!(services["gmail"].identifier.as_deref(), Some("MeSS"));
    }

    #[test]
    fn import_seed_env_sample() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("seed.env");
        write(&file, SEED_ENV);
        let Import::Env {
            env_url,
            client_id,
            client_secret,
            identifier,
        } = parse_import(&file).expect("import")
        else {
            panic!("expected env");
        };
        assert_eq!(env_url.as_deref(), Some("https://acme.scalekit.dev"));
        assert_eq!(client_id.as_deref(), Some("skc_58327480066375686"));
        assert_eq!(client_secret, Some(Secret::new("test_secret_do_not_use")));
        assert_eq!(identifier, None);
    }

    #[test]
    fn import_errors_name_the_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("c.json");
        let cases = [
            ("{\n  \"gmail\": {\"connection_name\": 5}\n}", "line 2"),
            (
                "{\n  \"gmail\": {\"identifier\": \"x\"}\n}",
                "connection_name",
            ),
            ("{\"Gm@il\": {\"connection_name\": \"g\"}}", "\"Gm@il\""),
            ("{\"gmail\": {\"connection_name\": \"g/h\"}}", "\"g/h\""),
            (
                "{\"gmail\": {\"connection_name\": \"g\"}, \"GMAIL\": {\"connection_name\": \"h\"}}",
                "twice",
            ),
        ];
        for (text, what) in cases {
            write(&file, text);
            let err = parse_import(&file).expect_err(text);
            let cli = cli_error(&err);
            assert_eq!(cli.kind, ErrorKind::Usage);
            assert!(
                cli.message.starts_with(&file.display().to_string()),
                "{}",
                cli.message
            );
            assert!(cli.message.contains(what), "{}", cli.message);
        }

        let env_file = tmp.path().join("x.env");
        write(
            &env_file,
            "SCALEKIT_CLIENT_SECRET=hunter2\nSCALEKIT_ENV_URL=http://example.com\n",
        );
        let err = parse_import(&env_file).expect_err("http");
        assert!(cli_error(&err).message.contains("clear text"));
        assert!(!cli_error(&err).message.contains("hunter2"));

        write(&env_file, "SCALEKIT_CLIENT_SECRET=\"hunter2\n");
        let err = parse_import(&env_file).expect_err("malformed");
        assert!(!cli_error(&err).message.contains("hunter2"));
        assert!(cli_error(&err).message.contains("line 1"));

        let err = parse_import(&tmp.path().join("absent.json")).expect_err("missing");
        assert_eq!(cli_error(&err).kind, ErrorKind::Usage);
        assert!(cli_error(&err).message.contains("absent.json"));
    }
}

//! Property tests of the file parsers: arbitrary bytes and TOML-ish text never panic; a
//! malformed file is a "not configured" error located at `path:line:col` that never quotes
//! the credentials file; an edit never writes a file that does not read back, and never
//! overwrites a malformed one.
//!
//! CI runs a few cases per property; `PROPTEST_CASES=100000 cargo test --bin scalekit-auth
//! proptests` runs a long session (see SECURITY.md).

use std::path::Path;

use proptest::prelude::*;

use super::env::parse_dotenv;
use super::{Paths, load, load_client_secret, parse_import, update};
use crate::error::{CliError, ErrorKind};

/// `PROPTEST_CASES` when set, else a count small enough for every CI run.
fn cases() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 96;
    }
    config
}

/// Pieces of TOML (and of the things people get wrong in it), glued at random: much more of
/// the parser is reached than with random bytes.
fn tomlish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "[scalekit]",
        "[services.gmail]",
        "[services.\"Gm ail\"]",
        "[[services]]",
        "[services]",
        "services = ",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        "=",
        " = ",
        "\"",
        "'",
        "\"\"\"",
        "'''",
        "\\",
        "\\u00e9",
        "\\uD800",
        "#",
        "\n",
        "\r\n",
        "\r",
        "\t",
        " ",
        "env_url",
        "client_id",
        "identifier",
        "connection_name",
        "hosts",
        "client_secret",
        "\"https://acme.scalekit.dev\"",
        "\"gmail_u3134a\"",
        "\"mess\"",
        "\"\"",
        "[\"a\", \"b\"]",
        "{ connection_name = \"c\" }",
        "42",
        "-0",
        "1e400",
        "nan",
        "inf",
        "true",
        "1979-05-27T07:32:00Z",
        "\u{feff}",
        "\u{0}",
        "é",
        "\u{1f98a}",
    ]);
    prop::collection::vec(pieces, 0..48).prop_map(|v| v.concat())
}

/// A valid `config.toml` with odd but legal content: any Unicode in names and values
/// (quoted keys, escapes), optional identifiers and hosts, and keys the tool does not know.
fn valid_config() -> impl Strategy<Value = String> {
    let service = (
        any::<String>(),
        any::<String>(),
        prop::option::of(any::<String>()),
        prop::collection::vec(any::<String>(), 0..3),
        any::<bool>(),
    );
    (
        prop::option::of(any::<String>()),
        prop::option::of(any::<String>()),
        prop::collection::vec(service, 0..4),
    )
        .prop_map(|(env_url, identifier, services)| {
            let mut doc = toml_edit::DocumentMut::new();
            let mut scalekit = toml_edit::Table::new();
            if let Some(url) = env_url {
                scalekit["env_url"] = toml_edit::value(url);
            }
            if let Some(id) = identifier {
                scalekit["identifier"] = toml_edit::value(id);
            }
            scalekit["future_key"] = toml_edit::value(true);
            doc["scalekit"] = toml_edit::Item::Table(scalekit);
            let mut table = toml_edit::Table::new();
            table.set_implicit(true);
            for (name, connection, identifier, hosts, extra) in services {
                let mut s = toml_edit::Table::new();
                s["connection_name"] = toml_edit::value(connection);
                if let Some(id) = identifier {
                    s["identifier"] = toml_edit::value(id);
                }
                if !hosts.is_empty() {
                    s["hosts"] = toml_edit::value(hosts.into_iter().collect::<toml_edit::Array>());
                }
                if extra {
                    s["unknown"] = toml_edit::value(1);
                }
                table[name.as_str()] = toml_edit::Item::Table(s);
            }
            doc["services"] = toml_edit::Item::Table(table);
            doc.to_string()
        })
}

/// The raw bytes of a file: arbitrary, TOML-ish or valid, as they are or with a byte flipped.
fn file_bytes() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![tomlish(), valid_config()];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        text.clone().prop_map(String::into_bytes),
        (text, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(text, at, byte)| {
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            bytes
        }),
    ]
}

fn cli_error(err: &anyhow::Error) -> &CliError {
    err.downcast_ref::<CliError>()
        .unwrap_or_else(|| panic!("not a CliError: {err:#}"))
}

/// `malformed config: <path>:<line>:<col>: …`, exit 3.
fn assert_located(err: &anyhow::Error, path: &Path) {
    let err = cli_error(err);
    assert_eq!(err.kind, ErrorKind::NotConfigured, "{}", err.message);
    let prefix = format!("malformed config: {}:", path.display());
    let rest = err
        .message
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{:?} does not start with {prefix:?}", err.message));
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().unwrap_or("");
    let col = parts.next().unwrap_or("");
    assert!(
        line.parse::<usize>().is_ok_and(|n| n >= 1) && col.parse::<usize>().is_ok_and(|n| n >= 1),
        "no line:col in {:?}",
        err.message
    );
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn config_toml_never_panics_and_errors_are_located(bytes in file_bytes()) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(Some(dir.path().to_path_buf())).unwrap();
        let file = paths.config_file();
        std::fs::write(&file, &bytes).unwrap();
        match load(&paths) {
            Ok(config) => {
                // A file that reads can be edited, and the edit reads back.
                update(&paths, |c| {
                    c.set_service("zz-fuzz", "fuzz_conn", None);
                    Ok(())
                })
                .unwrap();
                let again = load(&paths).unwrap();
                prop_assert_eq!(&again.services["zz-fuzz"].connection_name, "fuzz_conn");
                for (name, service) in &config.services {
                    if name != "zz-fuzz" {
                        prop_assert_eq!(&again.services[name], service);
                    }
                }
            }
            Err(err) => {
                assert_located(&err, &file);
                // A malformed file is never overwritten.
                let edit = update(&paths, |c| {
                    c.set_service("zz-fuzz", "fuzz_conn", None);
                    Ok(())
                });
                prop_assert!(edit.is_err());
                prop_assert_eq!(std::fs::read(&file).unwrap(), bytes);
            }
        }
    }

    #[test]
    fn credentials_toml_never_panics_and_never_quotes_the_file(
        bytes in file_bytes(),
        // A value that must never show up in an error, however the file is broken.
        secret in "[A-Za-z0-9]{12}",
        wrap in 0usize..6,
    ) {
        let marker = format!("SECRET{secret}");
        let mut text = bytes;
        let value = match wrap {
            0 => format!("client_secret = \"{marker}\"\n"),
            1 => format!("client_secret = {marker}\n"),
            2 => format!("client_secret = [\"{marker}\"]\n"),
            3 => format!("client_secret = {{ v = \"{marker}\" }}\n"),
            4 => format!("client_secret = \"{marker}\n"),
            _ => format!("[x]\nclient_secret = '{marker}'\n"),
        };
        text.extend_from_slice(value.as_bytes());
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(Some(dir.path().to_path_buf())).unwrap();
        std::fs::write(paths.credentials_file(), &text).unwrap();
        match load_client_secret(&paths) {
            Ok(_) => {}
            Err(err) => {
                assert_located(&err, &paths.credentials_file());
                let shown = format!("{err:#} {:?}", cli_error(&err));
                prop_assert!(!shown.contains(&marker), "{}", shown);
            }
        }
    }

    #[test]
    fn dotenv_never_panics_and_never_quotes_a_line(
        text in prop::collection::vec(
            prop::sample::select(vec![
                "SCALEKIT_CLIENT_SECRET", "KEY", "export ", "=", "\"", "'", "\\", "$", "{", "}",
                "#", " ", "\n", "\r\n", "\t", "SECRETvalue", "\u{feff}", "é", "`",
            ]),
            0..40,
        ).prop_map(|v| v.concat()),
    ) {
        let path = Path::new("/x/.env");
        if let Err(err) = parse_dotenv(path, &text) {
            prop_assert_eq!(err.kind, ErrorKind::Usage);
            prop_assert!(err.message.starts_with("/x/.env: "), "{}", err.message);
            prop_assert!(!err.message.contains("SECRETvalue"), "{}", err.message);
        }
    }

    #[test]
    fn import_files_never_panic(bytes in file_bytes(), json in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(if json { "connections.json" } else { "old.env" });
        std::fs::write(&file, &bytes).unwrap();
        if let Err(err) = parse_import(&file) {
            prop_assert_eq!(cli_error(&err).kind, ErrorKind::Usage);
        }
    }
}

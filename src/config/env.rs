//! Environment: the process environment over a named dotenv file, read once.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self};
use std::io::{self};
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// The variable that names an env file when `--env-file` is not given.
pub(crate) const ENV_FILE_VARIABLE: &str = "SCALEKIT_AUTH_ENV_FILE";

/// A snapshot of the environment: the process env layered over an optional dotenv file
/// (process wins). Read once at start-up so the process environment is never mutated
/// (`set_var` is unsafe) and tests can build one from pairs. It remembers which values came
/// from the file, so the resolver can say "`SCALEKIT_ENV_URL` from --env-file x".
pub(crate) struct Env {
    vars: HashMap<String, String>,
    /// The named env file, when one was read.
    file: Option<EnvFile>,
}

/// The env file a value came from: its path and how it was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvFile {
    pub(crate) path: PathBuf,
    /// The names whose value was taken from the file (the process did not set them).
    names: HashSet<String>,
    /// `--env-file` or `SCALEKIT_AUTH_ENV_FILE`.
    pub(crate) named_by: &'static str,
}

/// Only the names: the values may hold the client secret.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env")
            .field("names", &names)
            .field("file", &self.file.as_ref().map(|f| &f.path))
            .finish()
    }
}

impl Env {
    /// The process environment over the env file named by `flag` (`--env-file`), else by
    /// `SCALEKIT_AUTH_ENV_FILE`. Nothing else is read: a `./.env` in the working directory
    /// is never read on its own (docs: README "Environment"; a cloned repository must not
    /// redirect the stored secret). A named file that is missing or unreadable, and any
    /// malformed dotenv, is a usage error naming the file (and the line) but never its
    /// content.
    pub(crate) fn load(flag: Option<&Path>) -> anyhow::Result<Env> {
        // Variables that are not UTF-8 cannot be any of ours; skip them rather than fail.
        let process: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let named = match flag.filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => Some((path.to_path_buf(), "--env-file")),
            None => process
                .iter()
                .find(|(k, v)| k == ENV_FILE_VARIABLE && !v.is_empty())
                .map(|(_, v)| (PathBuf::from(v), ENV_FILE_VARIABLE)),
        };
        let Some((path, named_by)) = named else {
            return Ok(Self::layered(process, Vec::new()));
        };
        let file_vars = read_env_file(&path)?;
        // The file's value is used where the process leaves the variable unset or empty.
        let names = file_vars
            .iter()
            .filter(|(k, _)| !process.iter().any(|(pk, pv)| pk == k && !pv.is_empty()))
            .map(|(k, _)| k.clone())
            .collect();
        let mut env = Self::layered(process, file_vars);
        env.file = Some(EnvFile {
            path,
            names,
            named_by,
        });
        Ok(env)
    }

    /// An environment of exactly these variables (for tests).
    #[cfg(test)]
    pub(crate) fn from_pairs<I, K, V>(pairs: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            file: None,
        }
    }

    /// These variables, as if `names` had come from the env file `path` (for tests).
    #[cfg(test)]
    pub(crate) fn with_file(mut self, path: &str, names: &[&str]) -> Env {
        self.file = Some(EnvFile {
            path: PathBuf::from(path),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            named_by: "--env-file",
        });
        self
    }

    /// `process` over `file_vars`. Within the file the first definition wins, as with
    /// dotenvy's own loader. An empty process variable counts as unset, so it does not hide
    /// the file's value.
    pub(super) fn layered(
        process: impl IntoIterator<Item = (String, String)>,
        file_vars: Vec<(String, String)>,
    ) -> Env {
        let mut vars = HashMap::new();
        for (key, value) in file_vars {
            vars.entry(key).or_insert(value);
        }
        for (key, value) in process {
            if !value.is_empty() || !vars.contains_key(&key) {
                vars.insert(key, value);
            }
        }
        Env { vars, file: None }
    }

    /// The env file that was read, if any.
    pub(crate) fn file(&self) -> Option<&EnvFile> {
        self.file.as_ref()
    }

    /// Whether `key`'s value came from the env file rather than the process.
    pub(crate) fn came_from_file(&self, key: &str) -> bool {
        self.file.as_ref().is_some_and(|f| f.names.contains(key))
    }

    /// The variable's value; an empty string counts as unset.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether a flag-like variable is on: set and not `""`, `0` or `false` (any case).
    /// The rule docs/cli.md ("Global options") gives for `CI` and `SCALEKIT_AUTH_NO_INPUT`.
    pub(crate) fn is_truthy(&self, key: &str) -> bool {
        self.get(key)
            .map(str::trim)
            .is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
    }
}

/// The variables of a dotenv file, in file order.
fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, CliError> {
    let bytes = fs::read(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            CliError::usage(format!("env file not found: {}", path.display()))
        } else {
            CliError::usage(format!("cannot read env file {}: {e}", path.display()))
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, _) = line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        CliError::usage(format!("{}: line {line}: not valid UTF-8", path.display()))
    })?;
    parse_dotenv(path, &text)
}

/// Parses dotenv text with dotenvy (without touching the process environment). Errors give
/// the line number but never the line: it may hold a secret.
pub(super) fn parse_dotenv(path: &Path, text: &str) -> Result<Vec<(String, String)>, CliError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vars = Vec::new();
    // dotenvy reports the failing statement's text, not its line number. We find that text
    // in the file, searching from the line after the last statement that parsed.
    let mut cursor = 0;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                if let Some(next) = line_after_key(text, cursor, &key) {
                    cursor = next;
                }
                vars.push((key, value));
            }
            Err(dotenvy::Error::LineParse(fragment, index)) => {
                let offset = locate_fragment(text, cursor, &fragment, index);
                let (line, _) = line_col(text, offset);
                return Err(CliError::usage(format!(
                    "{}: line {line}: invalid dotenv syntax (expected KEY=VALUE with balanced quotes)",
                    path.display()
                )));
            }
            Err(e) => return Err(CliError::usage(format!("{}: {e}", path.display()))),
        }
    }
    Ok(vars)
}

/// The offset of the line after the first line at or after `from` that assigns `key`.
fn line_after_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let mut offset = from;
    for line in text.get(from..)?.split_inclusive('\n') {
        let statement = line.trim_start();
        let statement = statement
            .strip_prefix("export ")
            .map_or(statement, str::trim_start);
        if statement
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(offset + line.len());
        }
        offset += line.len();
    }
    None
}

/// The byte offset in `text` of dotenvy's error position (`index` into `fragment`).
fn locate_fragment(text: &str, cursor: usize, fragment: &str, index: usize) -> usize {
    let found = if fragment.is_empty() {
        None
    } else {
        text.get(cursor..)
            .and_then(|rest| rest.find(fragment))
            .map(|p| p + cursor)
            .or_else(|| text.find(fragment))
    };
    match found {
        // An index at the very end means an unterminated quote: point at where it began.
        Some(start) if index < fragment.len() => start + index,
        Some(start) => start,
        None => cursor,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::*;
    use crate::error::ErrorKind;

    // --- Env -------------------------------------------------------------------------------

    #[test]
    fn env_empty_is_unset_and_truthiness() {
        let env = Env::from_pairs([
            ("EMPTY", ""),
            ("A", "x"),
            ("ZERO", "0"),
            ("NO", "FALSE"),
            ("YES", "1"),
            ("WORD", "true"),
        ]);
        assert_eq!(env.get("EMPTY"), None);
        assert_eq!(env.get("MISSING"), None);
        assert_eq!(env.get("A"), Some("x"));
        assert!(!env.is_truthy("EMPTY"));
        assert!(!env.is_truthy("MISSING"));
        assert!(!env.is_truthy("ZERO"));
        assert!(!env.is_truthy("NO"));
        assert!(env.is_truthy("YES"));
        assert!(env.is_truthy("WORD"));
        assert!(env.is_truthy("A"));
    }

    #[test]
    fn env_debug_shows_names_only() {
        let env = Env::from_pairs([("SCALEKIT_CLIENT_SECRET", "hunter2")]);
        let debug = format!("{env:?}");
        assert!(debug.contains("SCALEKIT_CLIENT_SECRET"));
        assert!(!debug.contains("hunter2"));
    }

    #[test]
    fn env_file_is_layered_under_the_process() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("test.env");
        write(
            &file,
            "# comment\nexport SCALEKIT_CONFIG_RS_TEST_ONLY=from-file\nPATH=/bogus\nDUP=first\nDUP=second\n",
        );
        let env = Env::load(Some(&file)).expect("load");
        assert_eq!(env.get("SCALEKIT_CONFIG_RS_TEST_ONLY"), Some("from-file"));
        assert_eq!(env.get("DUP"), Some("first"));
        if let Ok(path) = std::env::var("PATH") {
            assert_eq!(
                env.get("PATH"),
                Some(path.as_str()).filter(|p| !p.is_empty())
            );
        }
        // The env file remembers which values it gave, for the resolver's sources.
        let named = env.file().expect("a file was read");
        assert_eq!(
            (named.path.as_path(), named.named_by),
            (file.as_path(), "--env-file")
        );
        assert!(env.came_from_file("SCALEKIT_CONFIG_RS_TEST_ONLY"));
        assert!(env.came_from_file("DUP"));
        assert_eq!(
            env.came_from_file("PATH"),
            std::env::var("PATH").map_or(true, |p| p.is_empty())
        );
        assert!(!env.came_from_file("NOT_IN_THE_FILE"));
    }

    #[test]
    fn env_empty_process_value_does_not_hide_the_file() {
        let env = Env::layered(
            [
                ("A".to_owned(), String::new()),
                ("B".to_owned(), "proc".to_owned()),
            ],
            vec![
                ("A".to_owned(), "file".to_owned()),
                ("B".to_owned(), "file".to_owned()),
            ],
        );
        assert_eq!(env.get("A"), Some("file"));
        assert_eq!(env.get("B"), Some("proc"));
    }

    #[test]
    fn env_file_missing_is_a_usage_error_naming_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("nope.env");
        let err = Env::load(Some(&file)).expect_err("missing");
        let cli = cli_error(&err);
        assert_eq!(cli.kind, ErrorKind::Usage);
        assert!(
            cli.message.contains(&file.display().to_string()),
            "{}",
            cli.message
        );
    }

    #[test]
    fn env_file_malformed_names_the_line_not_the_content() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("bad.env");
        write(&file, "A=1\n\n# note\nSECRET hunter2\nB=2\n");
        let err = Env::load(Some(&file)).expect_err("malformed");
        let cli = cli_error(&err);
        assert_eq!(cli.kind, ErrorKind::Usage);
        assert!(
            cli.message
                .starts_with(&format!("{}: line 4: ", file.display())),
            "{}",
            cli.message
        );
        assert!(!cli.message.contains("hunter2"));

        write(&file, "A=1\nB=\"unterminated hunter2\nC=3\n");
        let err = Env::load(Some(&file)).expect_err("unterminated");
        let cli = cli_error(&err);
        assert!(cli.message.contains(": line 2: "), "{}", cli.message);
        assert!(!cli.message.contains("hunter2"));

        write(&file, "A=1\nB='x' trailing hunter2\n");
        let err = Env::load(Some(&file)).expect_err("trailing");
        assert!(
            cli_error(&err).message.contains(": line 2: "),
            "{}",
            cli_error(&err).message
        );
    }
}

//! Configuration: `config.toml` (no secrets), `credentials.toml` (the client secret), the
//! environment snapshot, name validation and the resolution rules of cli.md.
//!
//! Reads never lock: every write replaces a file by renaming a complete temporary file over
//! it, so a reader sees the old or the new file, never half of one. Writes take a
//! cross-process lock (`flock` on `<dir>/.lock`) around their read-modify-write, so
//! concurrent `config` calls lose no mapping. The kernel drops the lock when its holder
//! exits, however it exits, so a stale lock never blocks.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Deserialize;
use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

use crate::error::CliError;
use crate::secret::Secret;

/// The first line of a `config.toml` this tool creates.
const CONFIG_HEADER: &str = "# scalekit-auth configuration (no secrets; safe to share)\n\n";
/// The first line of a `credentials.toml` this tool creates.
const CREDENTIALS_HEADER: &str = "# scalekit-auth client secret (keep private)\n";
/// The lock file, in the config directory, that serializes writers across processes.
const LOCK_FILE: &str = ".lock";
/// The suffix of a staged file: `.<name>.XXXXXX.tmp` beside its target.
const TEMP_SUFFIX: &str = ".tmp";
/// Mode of a new `config.toml` (an existing file keeps its own).
#[cfg(unix)]
const CONFIG_FILE_MODE: u32 = 0o644;
/// Mode of a config directory this tool creates.
#[cfg(unix)]
const CONFIG_DIR_MODE: u32 = 0o700;
/// The hint of every "malformed config" error.
const MALFORMED_HINT: &str =
    "fix the file by hand; scalekit-auth never overwrites a malformed file";
/// The hint when no identifier can be found.
const IDENTIFIER_HINT: &str = "scalekit-auth config SERVICE CONNECTION --identifier ID, or scalekit-auth init --identifier ID";

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/// A snapshot of the environment: the process env layered over an optional dotenv file
/// (process wins). Read once at start-up so the process environment is never mutated
/// (`set_var` is unsafe) and tests can build one from pairs.
pub(crate) struct Env {
    vars: HashMap<String, String>,
}

/// Only the names: the values may hold the client secret.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env").field("names", &names).finish()
    }
}

impl Env {
    /// The process environment over `env_file`, or over `./.env` when `env_file` is `None`
    /// and that file exists. A named file that is missing or unreadable, and any malformed
    /// dotenv, is a usage error naming the file (and the line) but never its content.
    pub(crate) fn load(env_file: Option<&Path>) -> anyhow::Result<Env> {
        let default = Path::new(".env");
        let file_vars = if let Some(path) = env_file {
            read_env_file(path)?
        } else if default.is_file() {
            read_env_file(default).map_err(|e| {
                e.with_hint("fix ./.env, or pass --env-file FILE to read another file")
            })?
        } else {
            Vec::new()
        };
        // Variables that are not UTF-8 cannot be any of ours; skip them rather than fail.
        let process = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Ok(Self::layered(process, file_vars))
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
        }
    }

    /// `process` over `file_vars`. Within the file the first definition wins, as with
    /// dotenvy's own loader. An empty process variable counts as unset, so it does not hide
    /// the file's value.
    fn layered(
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
        Env { vars }
    }

    /// The variable's value; an empty string counts as unset.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether a flag-like variable is on: set and not `""`, `0` or `false` (any case).
    /// The rule cli.md gives for `CI` and `SCALEKIT_AUTH_NO_INPUT`.
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
fn parse_dotenv(path: &Path, text: &str) -> Result<Vec<(String, String)>, CliError> {
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
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// Where `config.toml` and `credentials.toml` live (`--config-dir`, else the platform's
/// config directory), so that tests and users can point the tool anywhere.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) dir: PathBuf,
}

impl Paths {
    /// `dir`, or the `directories` crate's config dir for `scalekit-auth` when `dir` is
    /// `None` or empty (Linux: `$XDG_CONFIG_HOME/scalekit-auth` or
    /// `~/.config/scalekit-auth`).
    pub(crate) fn new(dir: Option<PathBuf>) -> anyhow::Result<Paths> {
        if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) {
            return Ok(Paths { dir });
        }
        let dirs = directories::ProjectDirs::from("", "", "scalekit-auth").ok_or_else(|| {
            CliError::usage("cannot find the home directory to put the configuration in")
                .with_hint("pass --config-dir DIR or set SCALEKIT_AUTH_CONFIG_DIR")
        })?;
        Ok(Paths {
            dir: dirs.config_dir().to_path_buf(),
        })
    }

    /// `<dir>/config.toml`: service mappings and non-secret credentials.
    pub(crate) fn config_file(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    /// `<dir>/credentials.toml`: the client secret, mode 0600.
    pub(crate) fn credentials_file(&self) -> PathBuf {
        self.dir.join("credentials.toml")
    }

    fn lock_file(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }
}

// ---------------------------------------------------------------------------------------------
// Typed view and loading
// ---------------------------------------------------------------------------------------------

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
    client_secret: Option<toml::Spanned<toml::Value>>,
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
pub(crate) fn load_client_secret(paths: &Paths) -> anyhow::Result<Option<Secret>> {
    let path = paths.credentials_file();
    match read_existing(&path)? {
        Some(text) => Ok(parse_credentials(&path, &text)?),
        None => Ok(None),
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
fn read_existing(path: &Path) -> Result<Option<String>, CliError> {
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

fn parse_config(path: &Path, text: &str) -> Result<Config, CliError> {
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

fn parse_credentials(path: &Path, text: &str) -> Result<Option<Secret>, CliError> {
    // A syntax error's message is a fixed text from the parser; a type error's would quote
    // the value, so that one gets our own words.
    let raw: RawCredentials =
        toml::from_str(text).map_err(|e| malformed(path, text, e.span(), e.message()))?;
    match raw.client_secret {
        None => Ok(None),
        Some(spanned) => {
            let span = spanned.span();
            match spanned.into_inner() {
                toml::Value::String(s) if s.is_empty() => Ok(None),
                toml::Value::String(s) => Ok(Some(Secret::new(s))),
                _ => Err(malformed(
                    path,
                    text,
                    Some(span),
                    "`client_secret` must be a string",
                )),
            }
        }
    }
}

fn parse_document(path: &Path, text: &str) -> Result<DocumentMut, CliError> {
    text.parse::<DocumentMut>()
        .map_err(|e| malformed(path, text, e.span(), e.message()))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Editing and writing
// ---------------------------------------------------------------------------------------------

/// A `config.toml` being edited inside [`update`] or [`save_init`]. Wraps the format-preserving
/// document so unknown keys, tables and comments survive; the setters expect names that were
/// already validated.
pub(crate) struct ConfigEdit {
    doc: DocumentMut,
    path: PathBuf,
}

impl ConfigEdit {
    /// The typed view of the document as edited so far.
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        Ok(parse_config(&self.path, &self.doc.to_string())?)
    }

    /// Sets `[scalekit] env_url`, without trailing slashes (validate it first).
    pub(crate) fn set_env_url(&mut self, url: &str) {
        set_string(self.scalekit(), "env_url", url.trim_end_matches('/'));
    }

    /// Sets `[scalekit] client_id`.
    pub(crate) fn set_client_id(&mut self, id: &str) {
        set_string(self.scalekit(), "client_id", id);
    }

    /// Sets `[scalekit] identifier`, or removes it with `None`.
    pub(crate) fn set_default_identifier(&mut self, id: Option<&str>) {
        match id {
            Some(id) => set_string(self.scalekit(), "identifier", id),
            None => {
                if let Some(table) = self
                    .doc
                    .get_mut("scalekit")
                    .and_then(Item::as_table_like_mut)
                {
                    table.remove("identifier");
                }
            }
        }
    }

    /// Adds or replaces `[services.<service>]`. `identifier: None` keeps the service's
    /// existing identifier (cli.md: `config SVC CONN` without `--identifier`); `hosts` and
    /// unknown keys are kept as they are.
    pub(crate) fn set_service(
        &mut self,
        service: &str,
        connection_name: &str,
        identifier: Option<&str>,
    ) {
        let services = ensure_table(self.doc.as_item_mut(), "services", true);
        let entry = ensure_table(services, service, false);
        let table = entry
            .as_table_like_mut()
            .expect("ensure_table returns a table-like item");
        set_string(table, "connection_name", connection_name);
        if let Some(id) = identifier {
            set_string(table, "identifier", id);
        }
    }

    /// Replaces `hosts = [...]` of `[services.<service>]` (call after [`Self::set_service`]);
    /// an empty list removes the key. The values should be normalized already.
    pub(crate) fn set_hosts(&mut self, service: &str, hosts: &[String]) {
        let services = ensure_table(self.doc.as_item_mut(), "services", true);
        let entry = ensure_table(services, service, false);
        let table = entry
            .as_table_like_mut()
            .expect("ensure_table returns a table-like item");
        if hosts.is_empty() {
            table.remove("hosts");
            return;
        }
        let array: toml_edit::Array = hosts.iter().map(String::as_str).collect();
        if let Some(Item::Value(old)) = table.get_mut("hosts") {
            let decor = old.decor().clone();
            *old = Value::Array(array);
            *old.decor_mut() = decor;
        } else {
            table.insert("hosts", toml_edit::value(array));
        }
    }

    /// Removes `[services.<service>]`; `false` when there was none.
    pub(crate) fn remove_service(&mut self, service: &str) -> bool {
        let present = self
            .doc
            .get("services")
            .and_then(Item::as_table_like)
            .is_some_and(|s| s.contains_key(service));
        if !present {
            return false;
        }
        // The file's header comment may sit on the table being removed: keep it on top, and
        // let the table that becomes first start without a blank line.
        let removing_first = !root_has_values(&self.doc)
            && first_table_path(self.doc.as_table())
                .is_some_and(|path| path.len() == 2 && path[0] == "services" && path[1] == service);
        if removing_first {
            hoist_header(&mut self.doc);
        }
        let removed = self
            .doc
            .get_mut("services")
            .and_then(Item::as_table_like_mut)
            .is_some_and(|s| s.remove(service).is_some());
        if removing_first
            && let Some(first) = first_table_path(self.doc.as_table())
                .and_then(|path| table_at_mut(&mut self.doc, &path))
        {
            let prefix = decor_prefix(first).unwrap_or_default();
            first
                .decor_mut()
                .set_prefix(prefix.trim_start_matches('\n'));
        }
        removed
    }

    /// The `[scalekit]` table, created before every other table when missing.
    fn scalekit(&mut self) -> &mut dyn TableLike {
        if !self.doc.get("scalekit").is_some_and(Item::is_table_like) {
            // The header comment of a parsed file belongs to its first table; keep it on top,
            // and keep a blank line before the table that is no longer first.
            if let Some(path) = hoist_header(&mut self.doc)
                && let Some(old_first) = table_at_mut(&mut self.doc, &path)
            {
                let prefix = decor_prefix(old_first).unwrap_or_default();
                if !prefix.starts_with('\n') {
                    old_first.decor_mut().set_prefix(format!("\n{prefix}"));
                }
            }
            let mut table = Table::new();
            table.set_position(Some(min_position(self.doc.as_table()) - 1));
            self.doc.insert("scalekit", Item::Table(table));
        }
        self.doc
            .get_mut("scalekit")
            .and_then(Item::as_table_like_mut)
            .expect("[scalekit] was just ensured to be a table")
    }
}

/// Sets `table[key]` to a string, keeping the old value's surrounding whitespace and
/// trailing comment.
fn set_string(table: &mut dyn TableLike, key: &str, value: &str) {
    if let Some(Item::Value(old)) = table.get_mut(key) {
        let decor = old.decor().clone();
        *old = Value::from(value);
        *old.decor_mut() = decor;
    } else {
        table.insert(key, toml_edit::value(value));
    }
}

/// `parent[key]` as a table-like item, created in the parent's style (a `[header]` table,
/// a dotted-key table, or an inline table) when missing.
fn ensure_table<'a>(parent: &'a mut Item, key: &str, implicit: bool) -> &'a mut Item {
    let fresh = match &*parent {
        Item::Value(Value::InlineTable(_)) => Item::Value(Value::InlineTable(InlineTable::new())),
        Item::Table(t) if t.is_dotted() => {
            let mut table = Table::new();
            table.set_dotted(true);
            Item::Table(table)
        }
        _ => {
            let mut table = Table::new();
            table.set_implicit(implicit);
            Item::Table(table)
        }
    };
    let parent = parent
        .as_table_like_mut()
        .expect("callers pass a table-like item");
    if !parent.get(key).is_some_and(Item::is_table_like) {
        parent.insert(key, fresh);
    }
    parent.get_mut(key).expect("the key was just ensured")
}

/// The lowest document position of any table (0 when none has one), so a new table can go
/// before all of them.
fn min_position(table: &Table) -> isize {
    let own = table.position().unwrap_or(0);
    table
        .iter()
        .filter_map(|(_, item)| item.as_table())
        .map(min_position)
        .fold(own, isize::min)
}

/// Moves the file's header comment (a comment block followed by a blank line at the top of
/// the first table's prefix) to the document's own prefix, so it stays on top when a table
/// is inserted before, or removed from, the first place. Returns the path of the table the
/// header came from.
fn hoist_header(doc: &mut DocumentMut) -> Option<Vec<String>> {
    if root_has_values(doc) {
        return None;
    }
    let path = first_table_path(doc.as_table())?;
    let table = table_at_mut(doc, &path)?;
    let prefix = decor_prefix(table)?;
    let blank = prefix.rfind("\n\n")?;
    let (header, rest) = prefix.split_at(blank + 2);
    if !header.trim_start().starts_with('#') {
        return None;
    }
    table.decor_mut().set_prefix(rest);
    doc.decor_mut().set_prefix(header);
    Some(path)
}

/// Whether the document starts with top-level keys (rendered before any `[header]`).
fn root_has_values(doc: &DocumentMut) -> bool {
    doc.iter()
        .any(|(_, item)| item.is_value() || item.as_table().is_some_and(Table::is_dotted))
}

/// The table at a key path of `[header]` tables.
fn table_at_mut<'a>(doc: &'a mut DocumentMut, path: &[String]) -> Option<&'a mut Table> {
    let mut table = doc.as_table_mut();
    for key in path {
        table = table.get_mut(key)?.as_table_mut()?;
    }
    Some(table)
}

/// A table's explicit prefix decor (comments and blank lines before its header).
fn decor_prefix(table: &Table) -> Option<String> {
    table.decor().prefix()?.as_str().map(str::to_owned)
}

/// The key path of the first `[header]` table as the document renders it (the same ordering
/// as `toml_edit`'s encoder: by position, a table without one following its predecessor).
fn first_table_path(root: &Table) -> Option<Vec<String>> {
    fn visit(
        table: &Table,
        path: &mut Vec<String>,
        last: &mut isize,
        out: &mut Vec<(isize, Vec<String>)>,
    ) {
        if let Some(position) = table.position() {
            *last = position;
        }
        if !path.is_empty() && !table.is_dotted() && !table.is_implicit() {
            out.push((*last, path.clone()));
        }
        for (key, item) in table {
            if let Some(child) = item.as_table() {
                path.push(key.to_owned());
                visit(child, path, last, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    visit(root, &mut Vec::new(), &mut 0, &mut out);
    out.into_iter()
        .min_by_key(|(position, _)| *position)
        .map(|(_, path)| path)
}

/// Edits `config.toml` under the cross-process lock: re-reads the file inside the lock, lets
/// `edit` change it, and writes it atomically (temporary file in the same directory, then
/// rename), keeping unknown keys, tables and comments. Writes nothing when the existing file
/// is malformed (that error is returned), when `edit` fails, or when nothing changed.
/// Creates the directory (mode 0700) if missing. Do not call `update` from inside `edit`:
/// the lock is not re-entrant.
pub(crate) fn update<T>(
    paths: &Paths,
    edit: impl FnOnce(&mut ConfigEdit) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let _lock = lock(paths)?;
    let (value, staged) = stage_config(paths, edit)?;
    if let Some(staged) = staged {
        staged.commit()?;
    }
    Ok(value)
}

/// Writes `client_secret` to `credentials.toml` atomically under the same lock. The file is
/// created 0600 from the start (never a wider file narrowed afterwards) in a 0700 directory;
/// other keys and comments are kept. A malformed existing file is an error and nothing is
/// written. (`init` writes the secret through [`save_init`]; this is the same staging alone.)
#[cfg(test)]
pub(crate) fn write_client_secret(paths: &Paths, secret: &Secret) -> anyhow::Result<()> {
    let _lock = lock(paths)?;
    stage_credentials(paths, secret)?.commit()
}

/// `init`'s write: the config edit and, with `Some`, the client secret, both prepared and
/// checked before either file is replaced, so a failed init writes neither. `None` leaves
/// `credentials.toml` alone.
pub(crate) fn save_init<T>(
    paths: &Paths,
    secret: Option<&Secret>,
    edit: impl FnOnce(&mut ConfigEdit) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let _lock = lock(paths)?;
    let credentials = secret.map(|s| stage_credentials(paths, s)).transpose()?;
    let (value, config) = stage_config(paths, edit)?;
    if let Some(staged) = config {
        staged.commit()?;
    }
    if let Some(staged) = credentials {
        staged.commit()?;
    }
    Ok(value)
}

/// Creates the directory when missing (mode 0700 for the directory itself; missing parents
/// get the usual mode), then takes the exclusive lock. The lock lasts as long as the file.
fn lock(paths: &Paths) -> anyhow::Result<File> {
    ensure_dir(&paths.dir)?;
    let path = paths.lock_file();
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options
        .open(&path)
        .map_err(|e| CliError::failed(format!("cannot open {}: {e}", path.display())))?;
    file.lock()
        .map_err(|e| CliError::failed(format!("cannot lock {}: {e}", path.display())))?;
    remove_orphaned_temp_files(paths);
    Ok(file)
}

/// Removes the temporary files (`.config.toml.XXXXXX.tmp`, `.credentials.toml.XXXXXX.tmp`)
/// that a writer killed between staging and renaming left behind. Writers create them only
/// while holding the lock, so to the lock's holder every such file is an orphan. They never
/// confuse a reader (the names are random), but they pile up, and the credentials one holds
/// the client secret. Best effort: a file that cannot be removed is left alone.
fn remove_orphaned_temp_files(paths: &Paths) {
    let Ok(entries) = fs::read_dir(&paths.dir) else {
        return;
    };
    let targets = [paths.config_file(), paths.credentials_file()];
    let prefixes: Vec<String> = targets
        .iter()
        .filter_map(|t| t.file_name()?.to_str().map(|n| format!(".{n}.")))
        .collect();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let orphan = name.ends_with(TEMP_SUFFIX) && prefixes.iter().any(|p| name.starts_with(p));
        if orphan && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn ensure_dir(dir: &Path) -> Result<(), CliError> {
    if dir.is_dir() {
        return Ok(());
    }
    let fail = |e: io::Error| {
        CliError::failed(format!(
            "cannot create the config directory {}: {e}",
            dir.display()
        ))
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(CONFIG_DIR_MODE);
    }
    match builder.create(dir) {
        // Another process may have created it in the meantime.
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists || !dir.is_dir() => Err(fail(e)),
        _ => Ok(()),
    }
}

/// Reads, validates and edits `config.toml`; the new content staged in a temporary file, or
/// `None` when the edit changed nothing. Must run under the lock.
fn stage_config<T>(
    paths: &Paths,
    edit: impl FnOnce(&mut ConfigEdit) -> anyhow::Result<T>,
) -> anyhow::Result<(T, Option<Staged>)> {
    let path = paths.config_file();
    let doc = if let Some(text) = read_existing(&path)? {
        parse_config(&path, &text)?;
        parse_document(&path, &text)?
    } else {
        let mut doc = DocumentMut::new();
        doc.decor_mut().set_prefix(CONFIG_HEADER);
        doc
    };
    let before = doc.to_string();
    let mut editing = ConfigEdit { doc, path };
    let value = edit(&mut editing)?;
    let after = editing.doc.to_string();
    if after == before {
        return Ok((value, None));
    }
    // A document we cannot read back must never replace a good file.
    parse_config(&editing.path, &after).map_err(|e| {
        anyhow::anyhow!("internal error: the edited configuration does not parse ({e})")
    })?;
    let target = write_target(&editing.path);
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(&target).map_or(CONFIG_FILE_MODE, |m| m.permissions().mode() & 0o777)
    };
    #[cfg(not(unix))]
    let mode = 0;
    let staged = Staged::new(target, &after, Some(mode))?;
    Ok((value, Some(staged)))
}

/// Reads and validates `credentials.toml`, sets the secret, and stages the result with mode
/// 0600. Must run under the lock.
fn stage_credentials(paths: &Paths, secret: &Secret) -> anyhow::Result<Staged> {
    let path = paths.credentials_file();
    let mut doc = if let Some(text) = read_existing(&path)? {
        parse_credentials(&path, &text)?;
        parse_document(&path, &text)?
    } else {
        let mut doc = DocumentMut::new();
        doc.decor_mut().set_prefix(CREDENTIALS_HEADER);
        doc
    };
    set_string(doc.as_table_mut(), "client_secret", secret.expose());
    let text = doc.to_string();
    if parse_credentials(&path, &text).ok().flatten().as_ref() != Some(secret) {
        anyhow::bail!("internal error: the edited credentials do not read back");
    }
    // No mode change: tempfile creates the file 0600, which is what we want.
    Staged::new(write_target(&path), &text, None)
}

/// The file to replace: the target of a symlink (dotfile managers link config files), so the
/// rename updates the linked file instead of replacing the link.
fn write_target(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// New file content in a temporary file beside its target, written and synced, waiting to
/// be renamed over the target. Dropping it removes the temporary file.
struct Staged {
    file: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Staged {
    /// `mode: None` keeps tempfile's 0600.
    fn new(target: PathBuf, contents: &str, mode: Option<u32>) -> anyhow::Result<Staged> {
        let fail =
            |e: io::Error| CliError::failed(format!("cannot write {}: {e}", target.display()));
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)
            .map_err(fail)?;
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt as _;
            file.as_file()
                .set_permissions(fs::Permissions::from_mode(mode))
                .map_err(fail)?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        file.write_all(contents.as_bytes()).map_err(fail)?;
        file.as_file().sync_all().map_err(fail)?;
        Ok(Staged { file, target })
    }

    /// Renames the temporary file over the target.
    fn commit(self) -> anyhow::Result<()> {
        let target = self.target;
        self.file.persist(&target).map_err(|e| {
            CliError::failed(format!("cannot write {}: {}", target.display(), e.error))
        })?;
        // Make the rename itself durable; failure here loses nothing already written.
        #[cfg(unix)]
        if let Some(dir) = target.parent() {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// The service name, lower-cased, when it matches `[a-z0-9][a-z0-9_-]{0,62}` (cli.md
/// "Names"); otherwise a usage error quoting the input.
pub(crate) fn validate_service(name: &str) -> Result<String, CliError> {
    let lower = name.to_lowercase();
    let mut chars = lower.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && lower.len() <= 63;
    if valid {
        Ok(lower)
    } else {
        Err(CliError::usage(format!(
            "invalid service name {name:?}: use 1 to 63 letters, digits, '-' or '_', \
             starting with a letter or digit"
        )))
    }
}

/// Checks a connection name against Scalekit's `^[a-zA-Z0-9_: -]{1,400}$`, so a typo fails
/// here rather than as a confusing API error.
pub(crate) fn validate_connection_name(name: &str) -> Result<(), CliError> {
    let valid = (1..=400).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | ' ' | '-'));
    if valid {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "invalid connection name {name:?}: use 1 to 400 letters, digits, spaces, '_', ':' or '-'"
        )))
    }
}

/// Checks an identifier: 1 to 100 characters (not bytes).
pub(crate) fn validate_identifier(id: &str) -> Result<(), CliError> {
    if (1..=100).contains(&id.chars().count()) {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "invalid identifier {id:?}: use 1 to 100 characters"
        )))
    }
}

/// Parses an environment URL and refuses any that would send the client secret in clear
/// text: it must be `https://`, or `http://` to a loopback host (`localhost`, `127.0.0.0/8`,
/// `[::1]`). No user info, query or fragment. Trailing slashes are removed from the path
/// (the `Url` of a bare origin still prints as `https://host/`; see [`env_url_string`]).
pub(crate) fn validate_env_url(url: &str) -> Result<Url, CliError> {
    let input = url.trim();
    let mut parsed = Url::parse(input).map_err(|e| {
        CliError::usage(format!(
            "invalid environment URL {input:?}: {e}; expected e.g. https://acme.scalekit.dev"
        ))
    })?;
    match parsed.scheme() {
        "https" if parsed.host().is_some() => {}
        "http" if is_loopback(&parsed) => {}
        "http" => {
            return Err(CliError::usage(format!(
                "refusing environment URL {input:?}: plain http:// is allowed only to localhost, \
                 127.0.0.0/8 or [::1]; elsewhere the client secret would cross the network in \
                 clear text. Use https://"
            )));
        }
        _ => {
            return Err(CliError::usage(format!(
                "refusing environment URL {input:?}: it must start with https:// (or http:// to \
                 a loopback emulator), or the client secret would cross the network in clear text"
            )));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(CliError::usage(format!(
            "invalid environment URL {input:?}: it must not contain a user name or password"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(CliError::usage(format!(
            "invalid environment URL {input:?}: it must not have a query or fragment"
        )));
    }
    let path = parsed.path().trim_end_matches('/').to_owned();
    parsed.set_path(&path);
    Ok(parsed)
}

/// The canonical text of a validated environment URL: no trailing slash, as it is stored in
/// `config.toml` and shown by `status`.
pub(crate) fn env_url_string(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// `localhost`, `127.0.0.0/8` or `[::1]` (the `url` crate has already normalised the host:
/// lower-cased, IPv4 in dotted decimal, IPv6 in brackets).
fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------------

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

/// Where `OpenClaw` keeps the agent's identity: `$OPENCLAW_WORKSPACE/IDENTITY.md`, else
/// `$HOME/.openclaw/workspace/IDENTITY.md`; `None` when neither variable is set.
pub(crate) fn identity_md_path(env: &Env) -> Option<PathBuf> {
    if let Some(workspace) = env.get("OPENCLAW_WORKSPACE") {
        return Some(PathBuf::from(workspace).join("IDENTITY.md"));
    }
    env.get("HOME").map(|home| {
        PathBuf::from(home)
            .join(".openclaw")
            .join("workspace")
            .join("IDENTITY.md")
    })
}

/// The agent name of an `OpenClaw` `IDENTITY.md`, lower-cased: the value of the first `Name:`
/// label (bold or not, in a list item or not), on the same line or the next non-blank one,
/// with markdown emphasis stripped. A template placeholder such as `_(pick something you
/// like)_` is no name. Front matter is skipped.
pub(crate) fn identifier_from_identity_md(text: &str) -> Option<String> {
    let body = skip_front_matter(text.strip_prefix('\u{feff}').unwrap_or(text));
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        let Some(value) = name_label_value(line) else {
            continue;
        };
        let value = if value.trim().is_empty() {
            let next = lines.by_ref().map(str::trim).find(|l| !l.is_empty())?;
            // The next list item or heading: the name was left empty.
            if next.starts_with('#') || list_item_body(next).is_some() {
                return None;
            }
            next
        } else {
            value
        };
        let name = value.trim().trim_matches(['*', '_']).trim();
        let placeholder = name.is_empty()
            || (name.starts_with('(') && name.ends_with(')'))
            || name.starts_with("<!--");
        return (!placeholder).then(|| name.to_lowercase());
    }
    None
}

fn skip_front_matter(text: &str) -> &str {
    let mut lines = text.split_inclusive('\n');
    if lines.next().is_none_or(|first| first.trim_end() != "---") {
        return text;
    }
    let mut offset = text.find('\n').map_or(text.len(), |i| i + 1);
    for line in lines {
        offset += line.len();
        if matches!(line.trim_end(), "---" | "...") {
            return &text[offset..];
        }
    }
    text
}

/// The text after a list marker (`- `, `* `, `+ `), if the line is a list item.
fn list_item_body(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(['-', '*', '+'])?;
    if rest.is_empty() {
        Some(rest)
    } else if rest.starts_with([' ', '\t']) {
        Some(rest.trim_start())
    } else {
        None
    }
}

/// The rest of a `Name:` label line after the label (`- **Name:** x`, `**Name**: x`,
/// `Name: x`), or `None` for any other line.
fn name_label_value(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let line = list_item_body(line).unwrap_or(line);
    let line = line.trim_start_matches(['*', '_']);
    let label = line.get(..4)?;
    if !label.eq_ignore_ascii_case("name") {
        return None;
    }
    let rest = line[4..].trim_start_matches(['*', '_']).trim_start();
    Some(rest.strip_prefix(':')?.trim_start_matches(['*', '_']))
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

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
mod proptests;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::ErrorKind;

    /// Copies of `../shared/samples`, so the tests do not depend on the outside directory.
    const IDENTITY_INLINE: &str = "# IDENTITY.md - Who Am I?\n\n- **Name:** Mess\n- **Creature:** a helpful familiar\n- **Vibe:** sharp, warm\n- **Emoji:** \u{1f98a}\n";
    const IDENTITY_NEXTLINE: &str = "---\ntitle: \"IDENTITY\"\nsummary: \"Agent identity record\"\n---\n\n# IDENTITY.md - Who Am I?\n\n- **Name:**\n  _Clawdia_\n- **Creature:**\n  _robot_\n- **Vibe:**\n  _(how do you come across? sharp? warm? chaotic? calm?)_\n";
    const IDENTITY_TEMPLATE: &str = "# IDENTITY.md - Who Am I?\n\n_Fill this in during your first conversation. Make it yours._\n\n- **Name:**\n  _(pick something you like)_\n- **Creature:**\n  _(AI? robot? familiar? ghost in the machine? something weirder?)_\n- **Vibe:**\n  _(how do you come across? sharp? warm? chaotic? calm?)_\n- **Emoji:**\n  _(your signature \u{2014} pick one that feels right)_\n";
    const CONNECTIONS_JSON: &str = "{\n  \"gmail\": {\n    \"connection_name\": \"gmail_u3134a\",\n    \"identifier\": \"mess\"\n  },\n  \"slack\": {\n    \"connection_name\": \"slack_x7y9z\",\n    \"identifier\": \"mess\"\n  }\n}\n";
    const SEED_ENV: &str = "SCALEKIT_CLIENT_ID=skc_58327480066375686\nSCALEKIT_CLIENT_SECRET=test_secret_do_not_use\nSCALEKIT_ENV_URL=https://acme.scalekit.dev\n";

    /// cli.md's example, with a comment, an unknown key and an unknown table added.
    const HAND_WRITTEN: &str = "\
# my scalekit setup
[scalekit]
env_url = \"https://acme.scalekit.dev\"
client_id = \"skc_58327480066375686\"
identifier = \"mess\"              # default identifier for every service
future_key = true

# mail
[services.gmail]
connection_name = \"gmail_u3134a\"
identifier = \"mess\"              # optional; overrides the default
hosts = [\"gmail.googleapis.com\"]

[services.slack]
connection_name = \"slack_x7y9z\"

[extras]
note = \"kept\"
";

    fn temp_paths() -> (tempfile::TempDir, Paths) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let paths = Paths::new(Some(tmp.path().join("cfg"))).expect("paths");
        (tmp, paths)
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    fn cli_error(err: &anyhow::Error) -> &CliError {
        err.downcast_ref::<CliError>().expect("a CliError")
    }

    /// The names in the directory, sorted.
    fn dir_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    fn add(paths: &Paths, service: &str, connection: &str, identifier: Option<&str>) {
        update(paths, |c| {
            c.set_service(service, connection, identifier);
            Ok(())
        })
        .expect("update");
    }

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

    // --- Paths -----------------------------------------------------------------------------

    #[test]
    fn paths_name_the_two_files() {
        let paths = Paths::new(Some(PathBuf::from("/x/y"))).expect("paths");
        assert_eq!(paths.config_file(), Path::new("/x/y/config.toml"));
        assert_eq!(paths.credentials_file(), Path::new("/x/y/credentials.toml"));
        // Empty counts as unset: the platform default.
        let default = Paths::new(Some(PathBuf::new()));
        if let Ok(default) = default {
            assert!(default.dir.ends_with("scalekit-auth"), "{:?}", default.dir);
        }
    }

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

    // --- Writing ---------------------------------------------------------------------------

    #[test]
    fn fresh_config_looks_like_the_documented_example() {
        let (_tmp, paths) = temp_paths();
        add(&paths, "gmail", "gmail_u3134a", Some("mess"));
        update(&paths, |c| {
            c.set_env_url("https://acme.scalekit.dev/");
            c.set_client_id("skc_1");
            c.set_default_identifier(Some("mess"));
            Ok(())
        })
        .expect("update");
        let text = fs::read_to_string(paths.config_file()).expect("read");
        assert_eq!(
            text,
            "# scalekit-auth configuration (no secrets; safe to share)\n\n\
             [scalekit]\nenv_url = \"https://acme.scalekit.dev\"\nclient_id = \"skc_1\"\n\
             identifier = \"mess\"\n\n\
             [services.gmail]\nconnection_name = \"gmail_u3134a\"\nidentifier = \"mess\"\n"
        );
        // Removing the only service keeps the header on top.
        update(&paths, |c| {
            c.set_default_identifier(None);
            assert!(c.remove_service("gmail"));
            Ok(())
        })
        .expect("update");
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            "# scalekit-auth configuration (no secrets; safe to share)\n\n\
             [scalekit]\nenv_url = \"https://acme.scalekit.dev\"\nclient_id = \"skc_1\"\n"
        );
    }

    #[test]
    fn header_stays_on_top_when_scalekit_is_added_later() {
        let (_tmp, paths) = temp_paths();
        add(&paths, "gmail", "g1", None);
        update(&paths, |c| {
            c.set_client_id("skc_1");
            Ok(())
        })
        .expect("update");
        let text = fs::read_to_string(paths.config_file()).expect("read");
        assert_eq!(
            text,
            "# scalekit-auth configuration (no secrets; safe to share)\n\n\
             [scalekit]\nclient_id = \"skc_1\"\n\n[services.gmail]\nconnection_name = \"g1\"\n"
        );
    }

    #[test]
    fn header_stays_on_top_when_the_first_table_is_removed() {
        let (_tmp, paths) = temp_paths();
        add(&paths, "gmail", "g1", None);
        add(&paths, "slack", "s1", None);
        assert!(update(&paths, |c| Ok(c.remove_service("gmail"))).expect("update"));
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            "# scalekit-auth configuration (no secrets; safe to share)\n\n\
             [services.slack]\nconnection_name = \"s1\"\n"
        );
        // A comment of the removed table alone goes with it.
        write(
            &paths.config_file(),
            "# gmail\n[services.gmail]\nconnection_name = \"g\"\n",
        );
        add(&paths, "slack", "s1", None);
        assert!(update(&paths, |c| Ok(c.remove_service("gmail"))).expect("update"));
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            "[services.slack]\nconnection_name = \"s1\"\n"
        );
    }

    #[test]
    fn comments_and_unknown_keys_survive_edits() {
        let (_tmp, paths) = temp_paths();
        write(&paths.config_file(), HAND_WRITTEN);
        update(&paths, |c| {
            c.set_service("gmail", "gmail_new", None);
            c.set_service("notion", "notion_1", Some("bot"));
            assert!(c.remove_service("slack"));
            assert!(!c.remove_service("absent"));
            Ok(())
        })
        .expect("update");
        let text = fs::read_to_string(paths.config_file()).expect("read");
        for kept in [
            "# my scalekit setup",
            "future_key = true",
            "# mail",
            "identifier = \"mess\"              # optional; overrides the default",
            "hosts = [\"gmail.googleapis.com\"]",
            "[extras]\nnote = \"kept\"",
            "connection_name = \"gmail_new\"",
        ] {
            assert!(text.contains(kept), "lost {kept:?} in:\n{text}");
        }
        assert!(!text.contains("slack"), "{text}");
        let config = load(&paths).expect("load");
        assert_eq!(config.services["gmail"].identifier.as_deref(), Some("mess"));
        assert_eq!(config.services["notion"].identifier.as_deref(), Some("bot"));
        assert_eq!(config.services["notion"].connection_name, "notion_1");

        // With an identifier, set_service replaces it and keeps its comment.
        update(&paths, |c| {
            c.set_service("gmail", "gmail_new", Some("other"));
            Ok(())
        })
        .expect("update");
        let text = fs::read_to_string(paths.config_file()).expect("read");
        assert!(
            text.contains("identifier = \"other\"              # optional"),
            "{text}"
        );
    }

    #[test]
    fn unusual_but_valid_layouts_are_edited_in_their_own_style() {
        let (_tmp, paths) = temp_paths();
        write(
            &paths.config_file(),
            "services = { gmail = { connection_name = \"g\" } }\n",
        );
        add(&paths, "slack", "s", Some("me"));
        assert_eq!(load(&paths).expect("load").services.len(), 2);

        write(
            &paths.config_file(),
            "services.gmail.connection_name = \"g\"\n",
        );
        add(&paths, "slack", "s", None);
        let config = load(&paths).expect("load");
        assert_eq!(config.services["slack"].connection_name, "s");
        assert_eq!(config.services["gmail"].connection_name, "g");
    }

    #[test]
    fn edit_sees_the_current_config() {
        let (_tmp, paths) = temp_paths();
        add(&paths, "gmail", "g1", None);
        let seen = update(&paths, |c| {
            c.set_service("slack", "s1", None);
            Ok(c.config()?.services.keys().cloned().collect::<Vec<_>>())
        })
        .expect("update");
        assert_eq!(seen, ["gmail", "slack"]);
    }

    #[test]
    fn twenty_concurrent_updates_lose_nothing() {
        let (_tmp, paths) = temp_paths();
        let paths = Arc::new(paths);
        let start = Arc::new(std::sync::Barrier::new(20));
        let threads: Vec<_> = (0..20)
            .map(|i| {
                let paths = Arc::clone(&paths);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    add(&paths, &format!("svc{i}"), &format!("conn{i}"), None);
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        let config = load(&paths).expect("load");
        assert_eq!(config.services.len(), 20, "{:?}", config.services.keys());
        assert_eq!(config.services["svc7"].connection_name, "conn7");
        assert_eq!(dir_names(&paths.dir), [".lock", "config.toml"]);
    }

    #[test]
    fn malformed_files_are_never_overwritten() {
        let (_tmp, paths) = temp_paths();
        let bad_config = "[services.gmail]\nconnection_name = 5 # keep me\n";
        write(&paths.config_file(), bad_config);
        let mut called = false;
        let err = update(&paths, |c| {
            called = true;
            c.set_service("x", "y", None);
            Ok(())
        })
        .expect_err("malformed");
        assert!(!called);
        assert_eq!(cli_error(&err).kind, ErrorKind::NotConfigured);
        assert!(
            cli_error(&err).message.contains(":2:19:"),
            "{}",
            cli_error(&err).message
        );
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            bad_config
        );
        assert!(save_init(&paths, Some(&Secret::new("s")), |_| Ok(())).is_err());
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            bad_config
        );
        assert!(!paths.credentials_file().exists());

        let bad_credentials = "client_secret = \"unterminated\n";
        write(&paths.credentials_file(), bad_credentials);
        let err = write_client_secret(&paths, &Secret::new("new")).expect_err("malformed");
        assert!(
            cli_error(&err).message.contains("credentials.toml:1:"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(paths.credentials_file()).expect("read"),
            bad_credentials
        );
        assert_eq!(
            dir_names(&paths.dir),
            [".lock", "config.toml", "credentials.toml"]
        );
    }

    #[test]
    fn a_failed_edit_writes_nothing() {
        let (_tmp, paths) = temp_paths();
        let err = update(&paths, |c| -> anyhow::Result<()> {
            c.set_service("gmail", "g", None);
            anyhow::bail!("no")
        })
        .expect_err("edit fails");
        assert_eq!(err.to_string(), "no");
        assert!(!paths.config_file().exists());

        add(&paths, "gmail", "g", None);
        let before = fs::read(paths.config_file()).expect("read");
        let _ = update(&paths, |c| -> anyhow::Result<()> {
            c.remove_service("gmail");
            anyhow::bail!("no")
        });
        assert_eq!(fs::read(paths.config_file()).expect("read"), before);
        assert_eq!(dir_names(&paths.dir), [".lock", "config.toml"]);
    }

    #[test]
    fn a_no_op_edit_creates_no_file() {
        let (_tmp, paths) = temp_paths();
        let removed = update(&paths, |c| Ok(c.remove_service("gmail"))).expect("update");
        assert!(!removed);
        assert!(!paths.config_file().exists());
    }

    #[test]
    fn save_init_writes_both_or_nothing() {
        let (_tmp, paths) = temp_paths();
        let secret = Secret::new("s3cr3t");
        let err = save_init(&paths, Some(&secret), |c| -> anyhow::Result<()> {
            c.set_client_id("skc_1");
            anyhow::bail!("verification failed")
        })
        .expect_err("fails");
        assert_eq!(err.to_string(), "verification failed");
        assert_eq!(dir_names(&paths.dir), [".lock"]);

        save_init(&paths, Some(&secret), |c| {
            c.set_env_url("https://acme.scalekit.dev");
            c.set_client_id("skc_1");
            Ok(())
        })
        .expect("save");
        assert_eq!(
            load(&paths).expect("load").client_id.as_deref(),
            Some("skc_1")
        );
        assert_eq!(load_client_secret(&paths).expect("secret"), Some(secret));
        assert_eq!(
            fs::read_to_string(paths.credentials_file()).expect("read"),
            "# scalekit-auth client secret (keep private)\nclient_secret = \"s3cr3t\"\n"
        );

        // None leaves credentials.toml alone.
        let before = fs::read(paths.credentials_file()).expect("read");
        save_init(&paths, None, |c| {
            c.set_client_id("skc_2");
            Ok(())
        })
        .expect("save");
        assert_eq!(fs::read(paths.credentials_file()).expect("read"), before);
        assert_eq!(
            dir_names(&paths.dir),
            [".lock", "config.toml", "credentials.toml"]
        );
    }

    #[test]
    fn client_secret_rewrite_keeps_other_keys_and_comments() {
        let (_tmp, paths) = temp_paths();
        write(
            &paths.credentials_file(),
            "# my note\nclient_secret = \"old\" # rotated monthly\nextra = \"x\"\n",
        );
        write_client_secret(&paths, &Secret::new("new")).expect("write");
        assert_eq!(
            fs::read_to_string(paths.credentials_file()).expect("read"),
            "# my note\nclient_secret = \"new\" # rotated monthly\nextra = \"x\"\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn file_and_directory_modes() {
        use std::os::unix::fs::PermissionsExt as _;
        let (_tmp, paths) = temp_paths();
        write_client_secret(&paths, &Secret::new("s")).expect("write");
        assert_eq!(mode(&paths.dir), 0o700);
        assert_eq!(mode(&paths.credentials_file()), 0o600);
        assert_eq!(credentials_too_open(&paths), None);

        add(&paths, "gmail", "g", None);
        assert_eq!(mode(&paths.config_file()), 0o644);

        fs::set_permissions(paths.config_file(), fs::Permissions::from_mode(0o640)).expect("chmod");
        add(&paths, "slack", "s", None);
        assert_eq!(mode(&paths.config_file()), 0o640);

        // A too-open credentials file is reported, and a rewrite makes it 0600 again.
        fs::set_permissions(paths.credentials_file(), fs::Permissions::from_mode(0o644))
            .expect("chmod");
        assert_eq!(credentials_too_open(&paths), Some(0o644));
        write_client_secret(&paths, &Secret::new("t")).expect("write");
        assert_eq!(mode(&paths.credentials_file()), 0o600);

        // An existing directory keeps its mode (it may be the user's own, e.g. `.`).
        let (_tmp2, other) = temp_paths();
        fs::create_dir_all(&other.dir).expect("mkdir");
        fs::set_permissions(&other.dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        write_client_secret(&other, &Secret::new("s")).expect("write");
        assert_eq!(mode(&other.dir), 0o755);
        assert_eq!(mode(&other.credentials_file()), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_config_stays_a_symlink() {
        let (tmp, paths) = temp_paths();
        let real = tmp.path().join("dotfiles").join("config.toml");
        write(
            &real,
            "# linked\n[services.gmail]\nconnection_name = \"g\"\n",
        );
        fs::create_dir_all(&paths.dir).expect("mkdir");
        std::os::unix::fs::symlink(&real, paths.config_file()).expect("symlink");
        add(&paths, "slack", "s", None);
        assert!(
            fs::symlink_metadata(paths.config_file())
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::read_to_string(&real)
                .expect("read")
                .contains("[services.slack]")
        );
        assert_eq!(dir_names(real.parent().expect("parent")), ["config.toml"]);
    }

    // --- Names -----------------------------------------------------------------------------

    #[test]
    fn service_names() {
        assert_eq!(validate_service("Gmail").expect("ok"), "gmail");
        assert_eq!(validate_service("a").expect("ok"), "a");
        assert_eq!(validate_service("0_x-y").expect("ok"), "0_x-y");
        assert!(validate_service(&"a".repeat(63)).is_ok());
        for bad in ["", "-a", "_a", "Gm@il", "a b", "é", &"a".repeat(64)] {
            let err = validate_service(bad).expect_err(bad);
            assert_eq!(err.kind, ErrorKind::Usage);
            assert!(err.message.contains(&format!("{bad:?}")), "{}", err.message);
        }
    }

    #[test]
    fn connection_names() {
        assert!(validate_connection_name("gmail_u3134a").is_ok());
        assert!(validate_connection_name("My Conn: v-2").is_ok());
        assert!(validate_connection_name(&"a".repeat(400)).is_ok());
        for bad in ["", "a/b", "é", &"a".repeat(401)] {
            let err = validate_connection_name(bad).expect_err(bad);
            assert_eq!(err.kind, ErrorKind::Usage);
            assert!(err.message.contains(&format!("{bad:?}")));
        }
    }

    #[test]
    fn identifiers_count_characters() {
        assert!(validate_identifier("mess").is_ok());
        assert!(validate_identifier(&"é".repeat(100)).is_ok());
        assert!(validate_identifier(&"é".repeat(101)).is_err());
        let err = validate_identifier("").expect_err("empty");
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(err.message.contains("\"\""));
    }

    #[test]
    fn env_urls() {
        for ok in [
            "https://acme.scalekit.dev",
            "https://acme.scalekit.dev/",
            "http://localhost:8787",
            "http://LOCALHOST:8787/",
            "http://127.0.0.1",
            "http://127.1.2.3",
            "http://[::1]:9",
        ] {
            let url = validate_env_url(ok).unwrap_or_else(|e| panic!("{ok}: {}", e.message));
            assert!(!env_url_string(&url).ends_with('/'), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "http://[::ffff:10.0.0.1]",
            "ftp://acme.scalekit.dev",
            "acme.scalekit.dev",
            "https://user:pw@acme.scalekit.dev",
            "https://acme.scalekit.dev/?x=1",
        ] {
            let err = validate_env_url(bad).expect_err(bad);
            assert_eq!(err.kind, ErrorKind::Usage, "{bad}");
            assert!(err.message.contains(&format!("{bad:?}")), "{}", err.message);
        }
        let err = validate_env_url("http://example.com").expect_err("clear text");
        assert!(err.message.contains("clear text"), "{}", err.message);
    }

    #[test]
    fn env_url_trailing_slashes_are_dropped() {
        let url = validate_env_url(" https://acme.scalekit.dev/base// ").expect("ok");
        assert_eq!(url.path(), "/base");
        assert_eq!(env_url_string(&url), "https://acme.scalekit.dev/base");
        let url = validate_env_url("https://acme.scalekit.dev/").expect("ok");
        assert_eq!(env_url_string(&url), "https://acme.scalekit.dev");
    }

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

    #[test]
    fn identity_md_location() {
        let env = Env::from_pairs([("OPENCLAW_WORKSPACE", "/ws"), ("HOME", "/home/a")]);
        assert_eq!(
            identity_md_path(&env),
            Some(PathBuf::from("/ws/IDENTITY.md"))
        );
        let env = Env::from_pairs([("HOME", "/home/a")]);
        assert_eq!(
            identity_md_path(&env),
            Some(PathBuf::from("/home/a/.openclaw/workspace/IDENTITY.md"))
        );
        assert_eq!(
            identity_md_path(&Env::from_pairs::<_, &str, &str>([])),
            None
        );
    }

    #[test]
    fn identity_samples() {
        assert_eq!(
            identifier_from_identity_md(IDENTITY_INLINE).as_deref(),
            Some("mess")
        );
        assert_eq!(
            identifier_from_identity_md(IDENTITY_NEXTLINE).as_deref(),
            Some("clawdia")
        );
        assert_eq!(identifier_from_identity_md(IDENTITY_TEMPLATE), None);
    }

    #[test]
    fn identity_variants() {
        let cases = [
            ("Name: Plain\n", Some("plain")),
            ("- Name: Listed  \r\n", Some("listed")),
            ("* **Name**: Outside\n", Some("outside")),
            ("- __Name:__ *Starred*\n", Some("starred")),
            (
                "\u{feff}---\nname: fm\n---\n- **Name:** Body\n",
                Some("body"),
            ),
            ("- **Name:**\n- **Creature:** x\n", None),
            ("- **Name:**\n", None),
            ("- **Name:** <!-- fill me -->\n", None),
            ("- **Nickname:** nope\n- **Names:** nope\n", None),
            (
                "Intro\n\n- **Name:** Mr_Bot\n- **Name:** Second\n",
                Some("mr_bot"),
            ),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                identifier_from_identity_md(text).as_deref(),
                expected,
                "{text:?}"
            );
        }
    }

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

//! Editing `config.toml` with `toml_edit`, keeping unknown keys, tables and comments.

use std::path::PathBuf;

use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

use super::Config;
use super::file::parse_config;

/// A `config.toml` being edited inside [`update`] or [`save_init`]. Wraps the format-preserving
/// document so unknown keys, tables and comments survive; the setters expect names that were
/// already validated.
pub(crate) struct ConfigEdit {
    pub(super) doc: DocumentMut,
    pub(super) path: PathBuf,
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
    /// existing identifier (docs/cli.md, "General": `config SVC CONN` without `--identifier`); `hosts` and
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
pub(super) fn set_string(table: &mut dyn TableLike, key: &str, value: &str) {
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

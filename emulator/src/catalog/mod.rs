//! The tool catalog behind `GET /api/v1/tools` and `POST /api/v1/execute_tool`: the
//! definitions, the schema check Scalekit runs on `params`, and what each tool returns.

mod run;
mod schema;
mod tools;

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

pub(crate) use schema::Violation;

/// When the catalog was last updated (`updated_at` of every tool); fixed so answers
/// are stable.
pub(crate) const UPDATED_AT: &str = "2026-01-15T09:30:00.000000Z";

/// One tool.
#[derive(Clone, Debug)]
pub(crate) struct Tool {
    pub(crate) name: &'static str,
    /// Provider key, e.g. `GMAIL`.
    pub(crate) provider: &'static str,
    pub(crate) description: &'static str,
    /// `metadata.category`.
    pub(crate) category: &'static str,
    pub(crate) input_schema: Value,
    pub(crate) is_default: bool,
}

/// Who runs a tool: the connected account it runs as.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller<'a> {
    pub(crate) connector: &'a str,
    pub(crate) identifier: &'a str,
}

static CATALOG: LazyLock<Vec<Tool>> = LazyLock::new(tools::all);

/// Every tool, ordered by name.
pub(crate) fn all() -> &'static [Tool] {
    &CATALOG
}

/// The tool with this exact name.
pub(crate) fn find(name: &str) -> Option<&'static Tool> {
    CATALOG.iter().find(|t| t.name == name)
}

impl Tool {
    /// Stable `tool_…` id.
    pub(crate) fn id(&self) -> String {
        format!(
            "tool_{:016x}",
            crate::rules::stable_hash(&["tool", self.name])
        )
    }

    /// The `definition` object; `summary` leaves out the schemas.
    pub(crate) fn definition(&self, summary: bool) -> Value {
        let mut definition = json!({
            "name": self.name,
            "description": self.description,
        });
        if !summary && let Value::Object(map) = &mut definition {
            map.insert("input_schema".to_owned(), self.input_schema.clone());
            map.insert(
                "output_schema".to_owned(),
                json!({"type": "object", "description": "The provider's answer"}),
            );
        }
        definition
    }

    /// `metadata`.
    pub(crate) fn metadata(&self) -> Value {
        json!({"category": self.category, "version": "1.0"})
    }

    /// `tags`.
    pub(crate) fn tags(&self) -> Vec<String> {
        vec![self.provider.to_lowercase(), self.category.to_owned()]
    }

    /// Whether every term of a search query appears in the name, description,
    /// provider or tags (case-insensitive).
    pub(crate) fn matches_query(&self, query: &str) -> bool {
        let haystack = format!(
            "{} {} {} {}",
            self.name,
            self.description,
            self.provider,
            self.tags().join(" ")
        )
        .to_lowercase()
        .replace('_', " ");
        query
            .to_lowercase()
            .replace('_', " ")
            .split_whitespace()
            .all(|term| haystack.contains(term))
    }

    /// The problems with `params` against the input schema.
    pub(crate) fn check(&self, params: &Map<String, Value>) -> Vec<Violation> {
        schema::check(&self.input_schema, &Value::Object(params.clone()))
    }

    /// Runs the tool (params already checked) and returns its `data`.
    pub(crate) fn run(&self, caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
        run::run(self.name, caller, params)
    }
}

//! Connections and tools (docs/scalekit-wire.md §14–§15): the environment's connections and Scalekit's
//! tool catalog (running a tool is in `execute.rs`). The answers are read leniently: a field
//! that is missing, `null` or of another type is empty, never an error.

use reqwest::Method;
use serde_json::{Map, Value};

use super::decode::{decode_answer, expect_success};
use super::{ApiError, Client};

/// Pages read at most from one listing before its page tokens are taken to loop.
const MAX_LIST_PAGES: usize = 1000;

/// Page size for `GET /api/v1/connections/app`: the API's limit.
pub(crate) const CONNECTIONS_PAGE_SIZE: u32 = 30;
/// Page size for listing every tool.
pub(crate) const TOOLS_PAGE_SIZE: u32 = 100;

/// A connection as the dashboard configures it (`GET /api/v1/connections/app`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Connection {
    /// The connection name (`key_id`) every other call takes as `connector`.
    pub(crate) key_id: String,
    /// `GMAIL`, `SLACK`… (`provider_key`, else `provider`).
    pub(crate) provider: String,
    /// `OAUTH`, `API_KEY`, `BASIC`…
    pub(crate) kind: String,
    /// `DRAFT`, `IN_PROGRESS`, `COMPLETED`.
    pub(crate) status: String,
    pub(crate) enabled: bool,
}

impl Connection {
    /// Only a `COMPLETED`, enabled connection can be authorized.
    pub(crate) fn usable(&self) -> bool {
        self.enabled && self.status.eq_ignore_ascii_case("COMPLETED")
    }

    fn from_json(value: &Value) -> Self {
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
        let provider = if text("provider_key").is_empty() {
            text("provider")
        } else {
            text("provider_key")
        };
        Self {
            key_id: text("key_id").to_owned(),
            provider: provider.to_owned(),
            kind: text("type").to_owned(),
            status: text("status").to_owned(),
            enabled: value
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

/// One tool of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tool {
    /// `definition.name`.
    pub(crate) name: String,
    pub(crate) provider: String,
    /// `definition.description`, the full text.
    pub(crate) description: String,
    /// The definition object exactly as Scalekit returned it (`{}` when it sent none).
    pub(crate) definition: Value,
}

impl Tool {
    fn from_json(value: &Value) -> Option<Self> {
        let definition = match value.get("definition") {
            Some(Value::Object(map)) => Value::Object(map.clone()),
            _ => Value::Object(Map::new()),
        };
        let name = definition.get("name").and_then(Value::as_str)?.to_owned();
        if name.is_empty() {
            return None;
        }
        let provider = value
            .get("provider")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let description = definition
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Some(Self {
            name,
            provider,
            description,
            definition,
        })
    }

    /// `definition.input_schema`, when it is a JSON Schema (an object or a boolean).
    pub(crate) fn input_schema(&self) -> Option<&Value> {
        self.definition
            .get("input_schema")
            .filter(|s| s.is_object() || s.is_boolean())
    }
}

/// What `GET /api/v1/tools` is asked for. Each set field becomes its dotted query key.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ToolFilter<'a> {
    pub(crate) query: Option<&'a str>,
    pub(crate) provider: Option<&'a str>,
    pub(crate) connector: Option<&'a str>,
    /// Repeated: one `filter.tool_name` per name.
    pub(crate) tool_names: &'a [&'a str],
}

impl ToolFilter<'_> {
    fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(query) = self.query {
            pairs.push(("filter.query", query.to_owned()));
        }
        if let Some(provider) = self.provider {
            pairs.push(("filter.provider", provider.to_owned()));
        }
        if let Some(connector) = self.connector {
            pairs.push(("filter.connector", connector.to_owned()));
        }
        for name in self.tool_names {
            pairs.push(("filter.tool_name", (*name).to_owned()));
        }
        pairs
    }
}

/// How many pages of tools to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pages {
    /// One page of this size (`tools search --limit`).
    One(u32),
    /// Every page.
    All,
}

impl Client {
    /// `GET /api/v1/connections/app`, every page (pages of [`CONNECTIONS_PAGE_SIZE`]),
    /// optionally one provider's (sent as given).
    pub(crate) async fn list_connections(
        &self,
        provider: Option<&str>,
    ) -> Result<Vec<Connection>, ApiError> {
        let path = "/api/v1/connections/app";
        let page_size = CONNECTIONS_PAGE_SIZE.to_string();
        let mut connections = Vec::new();
        let mut page_token = String::new();
        for _ in 0..MAX_LIST_PAGES {
            let mut query = vec![("page_size", page_size.as_str())];
            if let Some(provider) = provider {
                query.push(("provider", provider));
            }
            if !page_token.is_empty() {
                query.push(("page_token", page_token.as_str()));
            }
            let page = self.get_object(path, &query).await?;
            if let Some(items) = page.get("connections").and_then(Value::as_array) {
                connections.extend(items.iter().map(Connection::from_json));
            }
            let next = next_page_token(&page);
            if next.is_empty() || next == page_token {
                return Ok(connections);
            }
            page_token = next;
        }
        Err(looping(path))
    }

    /// `GET /api/v1/tools` with the filter's dotted keys; one page or every page. Tools
    /// without a name are skipped.
    pub(crate) async fn list_tools(
        &self,
        filter: &ToolFilter<'_>,
        pages: Pages,
    ) -> Result<Vec<Tool>, ApiError> {
        let path = "/api/v1/tools";
        let page_size = match pages {
            Pages::One(n) => n,
            Pages::All => TOOLS_PAGE_SIZE,
        }
        .to_string();
        let pairs = filter.query_pairs();
        let mut tools = Vec::new();
        let mut page_token = String::new();
        for _ in 0..MAX_LIST_PAGES {
            let mut query: Vec<(&str, &str)> =
                pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            query.push(("page_size", page_size.as_str()));
            if !page_token.is_empty() {
                query.push(("page_token", page_token.as_str()));
            }
            let page = self.get_object(path, &query).await?;
            if let Some(items) = page.get("tools").and_then(Value::as_array) {
                tools.extend(items.iter().filter_map(Tool::from_json));
            }
            let next = next_page_token(&page);
            if pages != Pages::All || next.is_empty() || next == page_token {
                return Ok(tools);
            }
            page_token = next;
        }
        Err(looping(path))
    }

    async fn get_object(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Map<String, Value>, ApiError> {
        let answer = self.api(&Method::GET, path, query, None).await?;
        expect_success(&Method::GET, path, &answer)?;
        decode_answer(&Method::GET, path, &answer)
    }
}

fn next_page_token(page: &Map<String, Value>) -> String {
    page.get("next_page_token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn looping(path: &str) -> ApiError {
    ApiError::Decode {
        method: "GET".into(),
        path: path.into(),
        detail: format!("more than {MAX_LIST_PAGES} pages; the page tokens seem to loop"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn connections_read_leniently() {
        let c = Connection::from_json(&json!({
            "key_id": "gmail_u3134a", "provider_key": "GMAIL", "provider": "google",
            "type": "OAUTH", "status": "COMPLETED", "enabled": true
        }));
        assert!(c.usable());
        assert_eq!(c.provider, "GMAIL");
        let c = Connection::from_json(&json!({"key_id": 5, "enabled": "yes", "status": null}));
        assert_eq!(c, Connection::default());
        assert!(!c.usable());
        let c = Connection::from_json(&json!({"provider": "SLACK", "status": "completed"}));
        assert_eq!(c.provider, "SLACK");
        assert!(!c.usable(), "not enabled");
    }

    #[test]
    fn tools_need_a_name_and_keep_their_definition() {
        assert!(Tool::from_json(&json!({"provider": "GMAIL"})).is_none());
        assert!(Tool::from_json(&json!({"definition": {"name": ""}})).is_none());
        assert!(Tool::from_json(&json!({"definition": []})).is_none());
        let def = json!({"name": "gmail_fetch_mails", "input_schema": {"type": "object"}, "x": 1});
        let tool = Tool::from_json(&json!({"provider": "GMAIL", "definition": def})).unwrap();
        assert_eq!(tool.definition, def);
        assert_eq!(tool.description, "");
        assert!(tool.input_schema().is_some());
        let tool =
            Tool::from_json(&json!({"definition": {"name": "t", "input_schema": "no"}})).unwrap();
        assert!(tool.input_schema().is_none());
    }

    #[test]
    fn filters_use_dotted_keys_and_repeat_repeated_fields() {
        let filter = ToolFilter {
            query: Some("send mail"),
            provider: Some("GMAIL"),
            connector: None,
            tool_names: &["a", "b"],
        };
        assert_eq!(
            filter.query_pairs(),
            vec![
                ("filter.query", "send mail".to_owned()),
                ("filter.provider", "GMAIL".to_owned()),
                ("filter.tool_name", "a".to_owned()),
                ("filter.tool_name", "b".to_owned()),
            ]
        );
    }
}

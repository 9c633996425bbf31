//! The seven tools the server offers: names, argument schemas, descriptions written for a
//! model, and the annotations MCP defines (docs/cli.md, `mcp` and its edge cases). Names and
//! argument names are part of the contract.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

/// The tool names, in the order `tools/list` gives them.
pub(crate) const LIST_SERVICES: &str = "list_services";
pub(crate) const LIST_CONNECTIONS: &str = "list_connections";
pub(crate) const SEARCH_TOOLS: &str = "search_tools";
pub(crate) const GET_TOOL_SCHEMA: &str = "get_tool_schema";
pub(crate) const EXECUTE_TOOL: &str = "execute_tool";
pub(crate) const HTTP_REQUEST: &str = "http_request";
pub(crate) const AUTHORIZE: &str = "authorize";

/// The tools a server with these limits exposes: `--read-only` hides `execute_tool`.
pub(crate) fn tools(read_only: bool) -> Vec<Tool> {
    let mut tools = vec![
        tool(
            LIST_SERVICES,
            "List the services configured for this user (gmail, slack, github…), each with its \
             Scalekit connection, the identifier of the user's connected account and the \
             account's status (ACTIVE, PENDING_AUTH, EXPIRED, NOT_FOUND…). Call this first to \
             learn which services you can act on; a service that is not ACTIVE needs the \
             `authorize` tool before execute_tool or http_request can use it. Returns a JSON \
             array. Never returns a token.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            read_only_annotations("List configured services"),
        ),
        tool(
            LIST_CONNECTIONS,
            "List the connections configured in the Scalekit dashboard for this environment \
             (one per provider app: Gmail, Slack, Notion…), with provider, type, status, whether \
             it is enabled, and the services mapped to it. Use it to find what could be set up \
             when a service is missing; only COMPLETED, enabled connections can be authorized. \
             Returns a JSON array.",
            json!({
                "type": "object",
                "properties": {
                    "provider": {"type": "string", "description": "Only this provider's connections, e.g. GMAIL, SLACK, NOTION (case-insensitive)"}
                },
                "additionalProperties": false
            }),
            read_only_annotations("List Scalekit connections"),
        ),
        tool(
            SEARCH_TOOLS,
            "Search Scalekit's catalog of pre-built tools (gmail_fetch_mails, \
             slack_send_message, notion_page_get…) by what they do. Use it to find the tool for \
             a task, then get_tool_schema for its parameters and execute_tool to run it. \
             Returns a JSON array of {name, provider, description}.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 3, "description": "What the tool should do, e.g. \"send email\" or \"list channels\" (at least 3 characters)"},
                    "provider": {"type": "string", "description": "Only this provider's tools, e.g. GMAIL"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20, "description": "At most this many tools (default 20)"}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
            read_only_annotations("Search Scalekit tools"),
        ),
        tool(
            GET_TOOL_SCHEMA,
            "Get one Scalekit tool's full definition: its description and the JSON Schema of its \
             parameters (input_schema). Call it before execute_tool to know which params to \
             send. Returns the definition object exactly as Scalekit gives it; an unknown name \
             fails with close names suggested.",
            json!({
                "type": "object",
                "properties": {
                    "tool_name": {"type": "string", "description": "The exact tool name, e.g. gmail_fetch_mails"}
                },
                "required": ["tool_name"],
                "additionalProperties": false
            }),
            read_only_annotations("Get a tool's schema"),
        ),
    ];
    if !read_only {
        tools.push(tool(
            EXECUTE_TOOL,
            "Run a Scalekit tool for the user, with the credentials of their connected account \
             for the service; Scalekit runs it and the token never leaves Scalekit. The params \
             are checked against the tool's input_schema first. Returns JSON \
             {tool, service, execution_id, data} where data is the tool's output. The tool may \
             act in the outside world (send an email, post a message): it is not retried. If \
             the account needs authorization the call fails with a link for the user to open; \
             call execute_tool again after they approve.",
            json!({
                "type": "object",
                "properties": {
                    "service": {"type": "string", "description": "A configured service (see list_services), e.g. gmail"},
                    "tool_name": {"type": "string", "description": "The tool to run (see search_tools), e.g. gmail_fetch_mails"},
                    "params": {"type": "object", "description": "The tool's parameters, as its input_schema describes (default {})"},
                    "identifier": {"type": "string", "description": "Act for this connected-account identifier instead of the configured one"}
                },
                "required": ["service", "tool_name"],
                "additionalProperties": false
            }),
            ToolAnnotations::with_title("Run a Scalekit tool")
                .read_only(false)
                .destructive(true)
                .idempotent(false)
                .open_world(true),
        ));
    }
    tools.push(tool(
        HTTP_REQUEST,
        &format!(
            "Call the service provider's own REST API (e.g. Gmail's, GitHub's) through \
             Scalekit's proxy, which adds the user's credentials: the token never reaches you. \
             Use it when no Scalekit tool fits. The path is relative to the provider's API base \
             (e.g. /gmail/v1/users/me/messages?maxResults=5). Returns JSON {{status, headers, \
             body}}; body is text, or base64 with body_base64: true when it is not UTF-8. A \
             provider's 4xx/5xx is returned as its status, not as a failure. POST, PUT, PATCH and \
             DELETE change things and are sent once, never retried. If the account needs \
             authorization the call fails with a link for the user to open; call again after they \
             approve.{}",
            if read_only {
                " This server is read-only: only GET and HEAD are allowed."
            } else {
                ""
            }
        ),
        json!({
            "type": "object",
            "properties": {
                "service": {"type": "string", "description": "A configured service (see list_services), e.g. github"},
                "method": {"type": "string", "enum": methods(read_only), "description": "The HTTP method"},
                "path": {"type": "string", "description": "The API path with its query string, starting with /, e.g. /user/repos?per_page=5"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Extra request headers (not Authorization: Scalekit adds the credentials)"},
                "body": {"type": "string", "description": "The request body; sent with Content-Type: application/json unless headers say otherwise"},
                "identifier": {"type": "string", "description": "Act for this connected-account identifier instead of the configured one"}
            },
            "required": ["service", "method", "path"],
            "additionalProperties": false
        }),
        ToolAnnotations::with_title("Call a provider API through Scalekit")
            .read_only(read_only)
            .destructive(!read_only)
            .idempotent(read_only)
            .open_world(true),
    ));
    tools.push(tool(
        AUTHORIZE,
        "Start authorizing a service for the user: creates their connected account if needed \
         and mints a magic link for the user to open and approve in a browser. Returns JSON \
         {service, connection_name, identifier, status, link, link_expires_at}; show the link to \
         the user, then retry what needed it once they approved. It does not wait for the \
         approval. An account that is already ACTIVE is reported as such, with no link.",
        json!({
            "type": "object",
            "properties": {
                "service": {"type": "string", "description": "A configured service (see list_services), e.g. gmail"},
                "identifier": {"type": "string", "description": "Authorize this connected-account identifier instead of the configured one"}
            },
            "required": ["service"],
            "additionalProperties": false
        }),
        ToolAnnotations::with_title("Authorize a service")
            .read_only(false)
            .destructive(false)
            .idempotent(true)
            .open_world(true),
    ));
    tools
}

/// The HTTP methods `http_request` takes.
pub(crate) fn methods(read_only: bool) -> Vec<&'static str> {
    if read_only {
        vec!["GET", "HEAD"]
    } else {
        crate::flows::proxy::METHODS.to_vec()
    }
}

fn read_only_annotations(title: &str) -> ToolAnnotations {
    ToolAnnotations::with_title(title)
        .read_only(true)
        .destructive(false)
        .idempotent(true)
        .open_world(false)
}

fn tool(
    name: &'static str,
    description: &str,
    schema: Value,
    annotations: ToolAnnotations,
) -> Tool {
    let Value::Object(schema) = schema else {
        unreachable!("every schema above is an object")
    };
    let schema: JsonObject = schema;
    let mut tool = Tool::new(name, description.to_owned(), Arc::new(schema));
    tool.title.clone_from(&annotations.title);
    tool.annotations = Some(annotations);
    tool
}

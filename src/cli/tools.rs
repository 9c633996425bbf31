//! The `connections`, `tools` and `mcp` commands' arguments (cli.rs holds the rest of the
//! surface).

// Doc comments here are help text: Markdown backticks would show up in `--help`.
#![allow(clippy::doc_markdown)]

use clap::{Args, Subcommand};
use clap_complete::engine::ArgValueCandidates;

use super::WaitArgs;

/// List the environment's connections, as configured in the Scalekit dashboard
///
/// Every connection (GET /api/v1/connections/app, every page) with its provider, type, status,
/// whether it is enabled, and the services mapped to it. Only COMPLETED, enabled connections can
/// be authorized; the others are shown, marked.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth connections
  scalekit-auth connections --provider GMAIL
  scalekit-auth connections --json | jq -r '.[] | select(.service == null) | .connection_name'")]
pub(crate) struct ConnectionsArgs {
    /// Only this provider's connections (GMAIL, SLACK, NOTION…)
    #[arg(long, value_name = "PROVIDER")]
    pub(crate) provider: Option<String>,

    /// A JSON array on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// Serve the connected accounts to MCP clients (Claude Code, Claude Desktop, Cursor…) on stdio
///
/// A Model Context Protocol server on standard input and output. Its tools list the services and
/// connections, search Scalekit's tool catalog, run a tool, call a provider's API through
/// Scalekit's proxy and mint authorization links. No tool ever returns an access token or a
/// credential. An account that needs authorization makes the call fail with a link to approve;
/// the server never waits for a person. Logs go to standard error; it ends when standard input
/// closes.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  claude mcp add scalekit -- scalekit-auth mcp
  scalekit-auth mcp --service gmail --service slack
  scalekit-auth mcp --read-only")]
pub(crate) struct McpArgs {
    /// Serve only this configured service (repeatable); calls for others are refused
    #[arg(long = "service", value_name = "SERVICE", add = ArgValueCandidates::new(super::candidates::service_candidates))]
    pub(crate) services: Vec<String>,

    /// Expose only the listing, schema and authorize tools, and http_request for GET and HEAD
    #[arg(long)]
    pub(crate) read_only: bool,
}

/// Find and run Scalekit's tools (gmail_fetch_mails, slack_send_message…) on a user's behalf
///
/// Scalekit runs the tool with the connected account's credentials, on its side: the token
/// never reaches this machine. Discover a tool (search, list), read its input schema (schema),
/// then run it (run).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth tools search \"send email\" --provider GMAIL
  scalekit-auth tools schema gmail_send_email
  scalekit-auth tools run gmail gmail_fetch_mails -d '{\"max_results\": 5}'")]
pub(crate) struct ToolsArgs {
    #[command(subcommand)]
    pub(crate) command: ToolsCommand,
}

/// `tools` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ToolsCommand {
    Search(ToolsSearchArgs),
    List(ToolsListArgs),
    Schema(ToolsSchemaArgs),
    Run(ToolsRunArgs),
}

impl ToolsCommand {
    /// Whether the subcommand promised one JSON document on stdout.
    pub(crate) fn json(&self) -> bool {
        match self {
            Self::Search(a) => a.json,
            Self::List(a) => a.json,
            Self::Schema(a) => a.json,
            Self::Run(a) => a.json,
        }
    }
}

/// Search Scalekit's tool catalog
///
/// One page of tools whose name or description matches QUERY (at least 3 characters): name,
/// provider and the first line of the description.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth tools search \"send email\"
  scalekit-auth tools search calendar --provider GOOGLE_CALENDAR --limit 5
  scalekit-auth tools search issue --json | jq -r '.[].name'")]
pub(crate) struct ToolsSearchArgs {
    /// What the tool should do, in a few words
    #[arg(value_name = "QUERY")]
    pub(crate) query: String,

    /// Only this provider's tools (GMAIL, SLACK…)
    #[arg(long, value_name = "PROVIDER")]
    pub(crate) provider: Option<String>,

    /// At most this many tools
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) limit: u32,

    /// A JSON array of {name, provider, description} on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// List Scalekit's tools: all, one provider's, or one service's
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth tools list
  scalekit-auth tools list --service gmail
  scalekit-auth tools list --provider SLACK --json")]
pub(crate) struct ToolsListArgs {
    /// Only this provider's tools (GMAIL, SLACK…)
    #[arg(long, value_name = "PROVIDER", conflicts_with = "service")]
    pub(crate) provider: Option<String>,

    /// Only the tools of this configured service's connection
    #[arg(long, value_name = "SERVICE", add = ArgValueCandidates::new(super::candidates::service_candidates))]
    pub(crate) service: Option<String>,

    /// A JSON array of {name, provider, description} on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// Show a tool's definition: description and input parameters
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth tools schema gmail_send_email
  scalekit-auth tools schema slack_send_message --json | jq .input_schema")]
pub(crate) struct ToolsSchemaArgs {
    /// The tool's name, as tools search shows it
    #[arg(value_name = "TOOL", add = ArgValueCandidates::new(super::candidates::tool_candidates))]
    pub(crate) tool: String,

    /// The definition exactly as Scalekit returned it
    #[arg(long)]
    pub(crate) json: bool,
}

/// Run a tool for a service's connected account; its data goes to stdout
///
/// The params (-d) must be a JSON object; they are checked against the tool's input schema
/// first (required fields, types, enums, unknown fields) and never sent when wrong: every
/// problem is listed (exit 2). --dry-run only checks. The run is sent once and never again
/// once it may have reached Scalekit: a failure after that is exit 1 saying whether the tool
/// may have run, never 5. When the account needs authorization: at a terminal (or with --wait)
/// runs the authorize flow, then the tool; otherwise exits 4 with the link.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth tools run gmail gmail_fetch_mails -d '{\"max_results\": 5}'
  scalekit-auth tools run slack slack_send_message -d @message.json --dry-run
  echo '{\"page_id\": \"abc\"}' | scalekit-auth tools run notion notion_page_get -d - --json")]
pub(crate) struct ToolsRunArgs {
    /// The configured service whose connected account the tool acts for
    #[arg(value_name = "SERVICE", add = ArgValueCandidates::new(super::candidates::service_candidates))]
    pub(crate) service: String,

    /// The tool's name, as tools search shows it
    #[arg(value_name = "TOOL", add = ArgValueCandidates::new(super::candidates::tool_candidates))]
    pub(crate) tool: String,

    /// The params: a JSON object, @FILE, or - for stdin [default: {}]
    #[arg(short, long, value_name = "JSON")]
    pub(crate) data: Option<String>,

    /// Identifier, overriding the configured one
    #[arg(long, value_name = "ID")]
    pub(crate) identifier: Option<String>,

    /// Sent as agent_run_id, to group an agent's runs [env: SCALEKIT_AUTH_RUN_ID]
    #[arg(long, value_name = "ID")]
    pub(crate) run_id: Option<String>,

    /// Check the params against the tool's schema, and run nothing
    #[arg(long, conflicts_with = "no_check")]
    pub(crate) dry_run: bool,

    /// Do not fetch the schema to check the params first (one request less)
    #[arg(long)]
    pub(crate) no_check: bool,

    #[command(flatten)]
    pub(crate) auth: WaitArgs,

    /// {"tool", "service", "execution_id", "data"} on stdout (with --dry-run: {"valid",
    /// "problems"})
    #[arg(long)]
    pub(crate) json: bool,
}

//! `mcp`: a Model Context Protocol server on stdio (docs/cli.md, `mcp`), built on the official
//! Rust SDK (rmcp). Each tool call runs the flows the CLI commands run and answers what the
//! command's `--json` would print; whatever the command would exit non-zero for is a tool
//! error (`isError`) with the error line, the hint and, for authorization, the link. Nothing
//! but JSON-RPC goes to stdout; logs go to stderr. No result carries a token or a secret.

mod args;
mod calls;
mod catalog;
mod elicit;
mod redact;
mod stdio;

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use crate::config::Config;
use crate::error::{CliError, ExitStatus};
use crate::flows::context::Context;
use crate::scalekit::{Client, ClientOptions};

/// What `mcp`'s flags limit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Limits {
    /// `--service`: only these services (validated names); empty means every one.
    pub(crate) services: Vec<String>,
    /// `--read-only`: no `execute_tool`, and `http_request` for GET and HEAD only.
    pub(crate) read_only: bool,
}

/// Serves MCP on stdin/stdout until stdin closes (then `Ok`: exit 0).
pub(crate) async fn serve(ctx: Context, limits: Limits) -> anyhow::Result<ExitStatus> {
    QUIET.store(ctx.out.is_quiet(), Ordering::Relaxed);
    let server = Server {
        shared: Arc::new(Shared {
            ctx,
            limits,
            client: Mutex::new(None),
        }),
    };
    log("serving MCP on stdio; logs go to stderr");
    let running = match server.serve(stdio::Stdio::new()).await {
        Ok(running) => running,
        Err(err) => {
            // Stdin closed (or the client gave up) before the handshake ended: nothing to
            // serve, and nothing went wrong on this side.
            log(&format!("no MCP session: {err}"));
            return Ok(ExitStatus::Success);
        }
    };
    let reason = running.waiting().await;
    log(&format!("stdin closed; stopping ({reason:?})"));
    Ok(ExitStatus::Success)
}

/// `-q`: no log lines.
static QUIET: AtomicBool = AtomicBool::new(false);

/// One line on stderr (not with `-q`), in one write; a closed stderr loses it (no panic).
pub(crate) fn log(message: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        let line = format!("scalekit-auth mcp: {}\n", crate::output::shown(message));
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

struct Server {
    shared: Arc<Shared>,
}

/// What every call shares: the context, the limits, and one Scalekit client (its connection
/// pool and API token are reused for the server's lifetime, until the credentials change, the
/// token expires or Scalekit answers 401).
pub(crate) struct Shared {
    pub(crate) ctx: Context,
    pub(crate) limits: Limits,
    client: Mutex<Option<(ClientOptions, Arc<Client>)>>,
}

impl Shared {
    /// The client for the credentials in force now. Config and credentials are read again on
    /// every call, so `init` or `config` run meanwhile take effect without a restart; the
    /// client (and its API token) is kept while they stay the same.
    pub(crate) fn client(&self, config: &Config) -> anyhow::Result<Arc<Client>> {
        let options = self.ctx.client_options(config)?;
        let mut cached = self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((known, client)) = cached.as_ref()
            && known.env_url == options.env_url
            && known.client_id == options.client_id
            && known.client_secret.expose() == options.client_secret.expose()
        {
            return Ok(client.clone());
        }
        let client = Arc::new(Client::new(options.clone())?);
        *cached = Some((options, client.clone()));
        Ok(client)
    }

    /// The secrets a result must never carry: the client secret of the client in force (every
    /// call that reached Scalekit built it through [`Shared::client`]; nothing is read again).
    fn secrets(&self) -> Vec<String> {
        self.client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|(options, _)| vec![options.client_secret.expose().to_owned()])
            .unwrap_or_default()
    }

    /// Whether `--service` lets the server act on this service.
    pub(crate) fn allows(&self, service: &str) -> bool {
        self.limits.services.is_empty() || self.limits.services.iter().any(|s| s == service)
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("scalekit-auth", env!("CARGO_PKG_VERSION"))
            .with_title("Scalekit connected accounts");
        info.instructions = Some(
            "Acts on the user's connected accounts (Gmail, Slack, GitHub…) through Scalekit; \
             no token ever reaches you. Start with list_services; find a tool with \
             search_tools, read its parameters with get_tool_schema, run it with execute_tool; \
             http_request calls a provider's API directly. When a call says authorization is \
             needed, show the user the link, and call again after they approve."
                .to_owned(),
        );
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(catalog::tools(
            self.shared.limits.read_only,
        )))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        catalog::tools(self.shared.limits.read_only)
            .into_iter()
            .find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.as_ref();
        if self.get_tool(name).is_none() {
            // An unknown or hidden tool is the protocol's invalid-params error.
            return Err(ErrorData::invalid_params(
                format!("unknown tool {:?}", crate::output::shown(name)),
                None,
            ));
        }
        let started = Instant::now();
        let args = request.arguments.unwrap_or_default();
        let outcome = calls::call(&self.shared, name, &args, &context.peer).await;
        // A stored secret without `env_url` that Scalekit just accepted is bound now, as a
        // command's run binds it (README, "Scalekit credentials").
        self.shared.ctx.bind_if_verified();
        let secrets = self.shared.secrets();
        let result = match outcome {
            Ok(value) => {
                log(&format!(
                    "{name}: ok ({} ms)",
                    started.elapsed().as_millis()
                ));
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                CallToolResult::success(vec![ContentBlock::text(redact::redact(&text, &secrets))])
            }
            Err(err) => {
                let err = crate::error::classify(&err);
                log(&format!(
                    "{name}: {} ({} ms)",
                    err.kind.json_code(),
                    started.elapsed().as_millis()
                ));
                let text = error_text(name, &err);
                CallToolResult::error(vec![ContentBlock::text(redact::redact(&text, &secrets))])
            }
        };
        Ok(result.into())
    }
}

/// The CLI's error line, its detail lines and hint, and for authorization the link and what to do next.
fn error_text(tool: &str, err: &CliError) -> String {
    let mut text = format!("error: {}", err.message);
    for detail in &err.details {
        text.push_str(&format!("\n  {detail}"));
    }
    if let Some(link) = &err.link {
        text.push_str(&format!("\nlink: {}", link.link));
        if let Some(expires) = &link.expires_at {
            text.push_str(&format!("\nlink expires at: {expires}"));
        }
        text.push_str(&format!(
            "\nnext: ask the user to open the link and approve, then call {tool} again"
        ));
    } else if let Some(hint) = &err.hint {
        text.push_str(&format!("\nhint: {hint}"));
    }
    if let Some(id) = &err.execution_id {
        text.push_str(&format!("\nexecution_id: {id}"));
    }
    text
}

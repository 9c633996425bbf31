//! Running a tool: find its definition, run it through `execute_tool`, and turn Scalekit's
//! answer into what the user needs (docs/cli.md, "`execute_tool` outcomes"): data, exit 4 with
//! a link (or the authorize flow) exactly as `token`, exit 3 for an unknown tool, exit 2 for
//! params Scalekit names as wrong, exit 1 (`tool_failed`) for everything after the request may
//! have reached Scalekit, and exit 5 only when nothing was sent.

use reqwest::StatusCode;
use serde::Serialize;

use super::authorization::{self, FlowOptions};
use super::context::{Context, Target};
use super::credentials::authorization_required;
use crate::error::{CliError, ErrorKind};
use crate::output::safe;
use crate::scalekit::execute::{ExecuteError, Executed, Execution, ToolFailure};
use crate::scalekit::tools::{Pages, Tool, ToolFilter};
use crate::scalekit::types::AccountStatus;
use crate::scalekit::{ApiError, Client};
use crate::tools::check::Problem;
use crate::tools::close_names;

/// How many close names an unknown tool's hint suggests.
const SUGGESTIONS: usize = 5;
/// `tools search` needs a query at least this long.
pub(crate) const MIN_QUERY_CHARS: usize = 3;

/// `tools search`: one page of at most `limit` tools matching the query (`GET /api/v1/tools`
/// with `filter.query`). A query shorter than [`MIN_QUERY_CHARS`] is a usage error, and
/// nothing is sent.
pub(crate) async fn search(
    client: &Client,
    query: &str,
    provider: Option<&str>,
    limit: u32,
) -> anyhow::Result<Vec<Tool>> {
    let query = check_query(query)?;
    let filter = ToolFilter {
        query: Some(query),
        provider,
        ..ToolFilter::default()
    };
    let tools = client.list_tools(&filter, Pages::One(limit)).await?;
    Ok(tools.into_iter().take(limit as usize).collect())
}

/// The query, trimmed, when it is long enough.
pub(crate) fn check_query(query: &str) -> Result<&str, CliError> {
    let query = query.trim();
    if query.chars().count() < MIN_QUERY_CHARS {
        return Err(CliError::usage(format!(
            "the search query needs at least {MIN_QUERY_CHARS} characters, got \"{}\"",
            safe::line(query)
        ))
        .with_hint("scalekit-auth tools list shows every tool"));
    }
    Ok(query)
}

/// `tools search --json` and `tools list --json` (and the MCP server's tool lists).
pub(crate) fn tool_docs(tools: &[Tool]) -> Vec<ToolDoc<'_>> {
    tools
        .iter()
        .map(|t| ToolDoc {
            description: &t.description,
            name: &t.name,
            provider: &t.provider,
        })
        .collect()
}

/// A tool in `tools search|list --json`. Fields in alphabetical order, the order the keys
/// have always had.
#[derive(Serialize)]
pub(crate) struct ToolDoc<'a> {
    description: &'a str,
    name: &'a str,
    provider: &'a str,
}

/// The error for params that do not fit the tool's schema (exit 2); `with_lines`: the
/// problems in the message too, one a line (the `--json` and MCP message).
pub(crate) fn problems_error(tool: &str, problems: &[Problem], with_lines: bool) -> CliError {
    let n = problems.len();
    let mut message = format!(
        "the params do not match {}'s input schema ({n} problem{}):",
        safe::line(tool),
        if n == 1 { "" } else { "s" },
    );
    if with_lines {
        for line in problem_lines(problems) {
            message.push_str(&format!("\n  {line}"));
        }
    }
    CliError::usage(message).with_hint(format!("scalekit-auth tools schema {}", safe::line(tool)))
}

/// One line per problem, `$.path: message`, safe for the terminal.
pub(crate) fn problem_lines(problems: &[Problem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| format!("{}: {}", safe::line(&p.path), safe::line(&p.message)))
        .collect()
}

/// A tool's definition by exact name (one `GET /api/v1/tools` with `filter.tool_name`);
/// `None` when Scalekit has no such tool.
pub(crate) async fn find_tool(client: &Client, name: &str) -> Result<Option<Tool>, ApiError> {
    let names = [name];
    let filter = ToolFilter {
        tool_names: &names,
        ..ToolFilter::default()
    };
    let tools = client.list_tools(&filter, Pages::One(10)).await?;
    Ok(tools.into_iter().find(|t| t.name == name))
}

/// Exit 3 for a tool Scalekit does not know, with close names from the whole catalog (one
/// more listing; when that fails, the error just has no suggestions).
pub(crate) async fn unknown_tool(client: &Client, name: &str) -> CliError {
    let catalog = client
        .list_tools(&ToolFilter::default(), Pages::All)
        .await
        .unwrap_or_default();
    let close: Vec<String> =
        close_names(name, catalog.iter().map(|t| t.name.as_str()), SUGGESTIONS)
            .into_iter()
            .map(|n| safe::line(&n).into_owned())
            .collect();
    let err = CliError::not_configured(format!(
        "Scalekit has no tool named \"{}\"",
        safe::line(name)
    ));
    if close.is_empty() {
        err.with_hint("find one with: scalekit-auth tools search QUERY")
    } else {
        err.with_hint(format!(
            "did you mean {}? (scalekit-auth tools search QUERY finds more)",
            close.join(", ")
        ))
    }
}

/// How [`run`] treats an account that needs authorization.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunOptions {
    /// Run the authorize flow (interactive, or `--wait`), then the tool; else exit 4.
    pub(crate) authorize: bool,
    pub(crate) flow: FlowOptions,
}

/// Runs the tool for the target. An account that needs authorization gets `token`'s
/// treatment: the authorize flow and then the run, or exit 4 with a fresh link.
pub(crate) async fn run(
    ctx: &Context,
    client: &Client,
    target: &Target,
    execution: &Execution<'_>,
    options: RunOptions,
) -> anyhow::Result<Executed> {
    match attempt(client, target, execution).await? {
        Attempt::Ran(executed) => Ok(executed),
        Attempt::NeedsAuthorization { status, missing } => {
            let hint = rerun_hint(target, execution.tool_name);
            if !options.authorize {
                return Err(authorization_required(client, target, &status, &hint).await);
            }
            let mut flow = options.flow;
            flow.account_missing = missing;
            authorization::flow(ctx, client, target, flow).await?;
            // Scalekit refused the first request before running anything (the account was
            // not usable), so this is the tool's first run, not a re-send.
            match attempt(client, target, execution).await? {
                Attempt::Ran(executed) => Ok(executed),
                Attempt::NeedsAuthorization { status, .. } => Err(CliError::new(
                    ErrorKind::AuthorizationRequired,
                    format!(
                        "{} is {} right after authorization",
                        target.service,
                        status.as_str()
                    ),
                )
                .with_hint(format!("scalekit-auth authorize {}", target.service))
                .into()),
            }
        }
    }
}

fn rerun_hint(target: &Target, tool: &str) -> String {
    let tool = safe::line(tool);
    format!(
        "after approving, run the tool again (or wait for the approval: scalekit-auth tools run \
         {} {tool} --wait)",
        target.service
    )
}

enum Attempt {
    Ran(Executed),
    /// Scalekit refused to run the tool because the account is missing (`missing`) or not
    /// `ACTIVE`.
    NeedsAuthorization {
        status: AccountStatus,
        missing: bool,
    },
}

async fn attempt(
    client: &Client,
    target: &Target,
    execution: &Execution<'_>,
) -> anyhow::Result<Attempt> {
    let failure = match client.execute_tool(execution).await {
        Ok(executed) => return Ok(Attempt::Ran(executed)),
        Err(ExecuteError::Api(err)) => return Err(err.into()),
        Err(ExecuteError::Lost { detail }) => {
            return Err(CliError::new(
                ErrorKind::ToolFailed,
                format!("{}: {detail}", shown_tool(execution)),
            )
            .with_hint("check whether it took effect before running it again")
            .into());
        }
        Err(ExecuteError::Answered(failure)) => failure,
    };
    // Not found, or a failed precondition: the account may be missing or inactive (Scalekit
    // does not say which in a way to rely on, docs/scalekit-wire.md §16): look it up.
    let precondition = failure.grpc_code == Some(9);
    if failure.status == StatusCode::NOT_FOUND.as_u16() || precondition {
        let account = client
            .account_details(&target.connection_name, &target.identifier)
            .await?;
        match account {
            None => {
                return Ok(Attempt::NeedsAuthorization {
                    status: AccountStatus::Unspecified,
                    missing: true,
                });
            }
            Some(account) if account.status != AccountStatus::Active => {
                return Ok(Attempt::NeedsAuthorization {
                    status: account.status,
                    missing: false,
                });
            }
            Some(_) if !precondition => {
                return Err(unknown_tool(client, execution.tool_name).await.into());
            }
            Some(_) => {}
        }
    }
    Err(failed(execution, &failure).into())
}

/// The error for an execution Scalekit answered with an error status.
fn failed(execution: &Execution<'_>, failure: &ToolFailure) -> CliError {
    let tool = shown_tool(execution);
    let said = failure
        .message
        .as_deref()
        .or(failure.error_code.as_deref())
        .map(|m| format!(": {}", safe::line(m)))
        .unwrap_or_default();
    if failure.status == 400 && !failure.fields.is_empty() {
        return CliError::usage(format!(
            "Scalekit refused the params of {tool} ({}){said}",
            safe::line(&failure.fields.join(", "))
        ))
        .with_hint(format!(
            "see the tool's parameters: scalekit-auth tools schema {tool}"
        ));
    }
    // A 400 refuses the request before running it; a tool's own error says it ran; any other
    // answer (429, 5xx without a tool error) leaves it open.
    let (what, hint) = if failure.status == 400 {
        ("was refused, and did not run", None)
    } else if failure.execution_id.is_some() {
        ("ran and failed", None)
    } else {
        (
            "failed, and may have run",
            Some("check whether it took effect before running it again"),
        )
    };
    let mut err = CliError::new(
        ErrorKind::ToolFailed,
        format!(
            "{tool} {what} (Scalekit answered {}{}){said}",
            failure.status,
            failure
                .execution_id
                .as_deref()
                .map(|id| format!(", execution {}", safe::line(id)))
                .unwrap_or_default()
        ),
    );
    err.execution_id = failure.execution_id.as_deref().map(Box::from);
    if let Some(hint) = hint {
        err = err.with_hint(hint);
    }
    err
}

/// The tool's name as the user typed it, safe for the terminal (SECURITY.md, "Output from
/// outside").
fn shown_tool(execution: &Execution<'_>) -> String {
    safe::line(execution.tool_name).into_owned()
}

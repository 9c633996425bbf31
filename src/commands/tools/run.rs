//! `tools run`: check the params against the tool's schema, run the tool through Scalekit,
//! print its data. Costs `POST /oauth/token`, one `GET /api/v1/tools` (not with `--no-check`)
//! and `POST /api/v1/execute_tool`; nothing else on success.

use std::io::{IsTerminal, Read};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::super::Context;
use crate::agent::Agent;
use crate::cli::ToolsRunArgs;
use crate::error::{CliError, ExitStatus, Partial};
use crate::flows::authorization::FlowOptions;
use crate::flows::tools::{
    self as flow, RunOptions, find_tool, problem_lines, problems_error, unknown_tool,
};
use crate::output::{ErrorBody, ErrorDoc, safe};
use crate::scalekit::execute::{EXECUTE_TIMEOUT, Execution};
use crate::tools::check::{self, Problem};

/// Params larger than this are refused (a tool's params are a few fields, not a file).
const MAX_PARAMS_BYTES: u64 = 16 * 1024 * 1024;

pub(crate) async fn run(ctx: &Context, args: &ToolsRunArgs) -> anyhow::Result<ExitStatus> {
    // Everything that can be wrong locally is found before any request.
    let params = read_params(args.data.as_deref())?;
    if args.tool.trim().is_empty() || args.tool.chars().any(char::is_control) {
        return Err(
            CliError::usage(format!("invalid tool name \"{}\"", safe::line(&args.tool)))
                .with_hint("scalekit-auth tools search QUERY")
                .into(),
        );
    }
    let config = ctx.config()?;
    let target = ctx.target(&config, &args.service, args.identifier.as_deref())?;
    let run_id = args
        .run_id
        .clone()
        .or_else(|| ctx.env.get("SCALEKIT_AUTH_RUN_ID").map(str::to_owned));
    let client = ctx.client(&config)?;
    // A running agent's API token: the run then costs only Scalekit's tool calls.
    if let Some(agent) = Agent::for_run(ctx.no_agent, &ctx.env, &ctx.paths, &client) {
        agent.lend_api_token(&client).await;
    }

    if !args.no_check {
        let Some(tool) = find_tool(&client, &args.tool).await? else {
            return Err(unknown_tool(&client, &args.tool).await.into());
        };
        let problems = tool
            .input_schema()
            .map(|schema| check::check(schema, &Value::Object(params.clone())))
            .unwrap_or_default();
        if args.dry_run {
            return dry_run(ctx, args, tool.input_schema().is_some(), &problems);
        }
        if !problems.is_empty() {
            return invalid(ctx, args, &problems);
        }
    }

    let interactive = ctx.interactive(args.json);
    let options = RunOptions {
        authorize: interactive || args.auth.wait,
        flow: FlowOptions {
            wait: true,
            timeout: Duration::from_secs(args.auth.timeout),
            qr: args.auth.qr.into(),
            open: false,
            force: false,
            interactive,
            account_missing: false,
        },
    };
    let execution = Execution {
        tool_name: &args.tool,
        connector: &target.connection_name,
        identifier: &target.identifier,
        params: &params,
        agent_run_id: run_id.as_deref(),
        timeout: ctx.http_timeout_given().unwrap_or(EXECUTE_TIMEOUT),
    };
    let executed = flow::run(ctx, &client, &target, &execution, options).await?;
    if args.json {
        ctx.out.json(&RunDoc {
            data: &executed.data,
            execution_id: executed.execution_id.as_deref(),
            service: &target.service,
            tool: &args.tool,
        })?;
    } else if std::io::stdout().is_terminal() {
        ctx.out.json(&executed.data)?;
    } else {
        ctx.out.data(&executed.data.to_string())?;
    }
    Ok(ExitStatus::Success)
}

/// `-d JSON`, `-d @FILE` or `-d -` (stdin); `{}` without `-d`. Must be a JSON object.
fn read_params(data: Option<&str>) -> Result<Map<String, Value>, CliError> {
    let (text, origin) = match data {
        None => return Ok(Map::new()),
        Some("-") => (read_limited(std::io::stdin().lock(), "stdin")?, "stdin"),
        Some(arg) if arg.starts_with('@') => {
            let path = &arg[1..];
            let file = std::fs::File::open(path).map_err(|e| {
                CliError::usage(format!(
                    "cannot read the params file \"{}\": {e}",
                    safe::line(path)
                ))
            })?;
            (read_limited(file, path)?, "the params file")
        }
        Some(text) => (text.to_owned(), "the params"),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!(
            "{origin} are not valid JSON: {} at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Eof => "it ends too soon",
                _ => "unexpected input",
            },
            e.line(),
            e.column()
        ))
        .with_hint(r#"give a JSON object, e.g. -d '{"max_results": 5}'"#)
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(CliError::usage(format!(
            "the params must be a JSON object, got {}",
            match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            }
        ))
        .with_hint(r#"wrap them in an object, e.g. -d '{"max_results": 5}'"#)),
    }
}

fn read_limited(reader: impl Read, name: &str) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_PARAMS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", safe::line(name))))?;
    if bytes.len() as u64 > MAX_PARAMS_BYTES {
        return Err(CliError::usage(format!(
            "the params in {} are larger than {} MiB",
            safe::line(name),
            MAX_PARAMS_BYTES >> 20
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("the params in {} are not UTF-8", safe::line(name))))
}

/// `--dry-run`: "valid" or every problem; exit 0 or 2.
fn dry_run(
    ctx: &Context,
    args: &ToolsRunArgs,
    has_schema: bool,
    problems: &[Problem],
) -> anyhow::Result<ExitStatus> {
    if args.json {
        ctx.out.json(&DryRunDoc {
            problems: problem_docs(problems),
            valid: problems.is_empty(),
        })?;
    }
    if problems.is_empty() {
        let note = if has_schema {
            ""
        } else {
            " (the tool has no input schema to check against)"
        };
        ctx.out.success(&format!("valid{note}"));
        return Ok(ExitStatus::Success);
    }
    Err(problems_failure(&args.tool, problems))
}

/// A real run whose params do not fit the schema: nothing is sent; exit 2 with every problem.
fn invalid(ctx: &Context, args: &ToolsRunArgs, problems: &[Problem]) -> anyhow::Result<ExitStatus> {
    if args.json {
        let err = problems_error(&args.tool, problems, true);
        ctx.out.json(&InvalidDoc {
            error: InvalidBody {
                doc: ErrorDoc::new(&err).error,
                problems: problem_docs(problems),
            },
        })?;
    }
    Err(problems_failure(&args.tool, problems))
}

/// The error for stderr, one problem a line under it, after what `--json` printed (exit 2).
fn problems_failure(tool: &str, problems: &[Problem]) -> anyhow::Error {
    let err = problems_error(tool, problems, false).with_details(problem_lines(problems));
    Partial::of(vec![err]).into()
}

fn problem_docs(problems: &[Problem]) -> Vec<ProblemDoc<'_>> {
    problems
        .iter()
        .map(|p| ProblemDoc {
            message: &p.message,
            path: &p.path,
        })
        .collect()
}

// The `--json` documents. Fields in alphabetical order, the order the keys have always had.

/// `tools run --json`: what the tool returned.
#[derive(Serialize)]
struct RunDoc<'a> {
    data: &'a Value,
    execution_id: Option<&'a str>,
    service: &'a str,
    tool: &'a str,
}

/// `tools run --dry-run --json`.
#[derive(Serialize)]
struct DryRunDoc<'a> {
    problems: Vec<ProblemDoc<'a>>,
    valid: bool,
}

/// `tools run --json` with params that do not fit: the error document with every problem.
#[derive(Serialize)]
struct InvalidDoc<'a> {
    error: InvalidBody<'a>,
}

#[derive(Serialize)]
struct InvalidBody<'a> {
    #[serde(flatten)]
    doc: ErrorBody<'a>,
    problems: Vec<ProblemDoc<'a>>,
}

/// One problem: where in the params (a JSON pointer) and what is wrong.
#[derive(Serialize)]
struct ProblemDoc<'a> {
    message: &'a str,
    path: &'a str,
}

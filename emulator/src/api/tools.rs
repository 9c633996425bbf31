//! `GET /api/v1/tools` (the catalog, filtered and paged) and
//! `POST /api/v1/execute_tool` (runs a tool as a connected account).
#![allow(clippy::result_large_err)]

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::request::{
    Params, check_connector, check_max_len, invalid, json_body, paging, parse_bool, window,
};
use crate::catalog::{self, Caller, Tool};
use crate::ctx::{Ctx, Req};
use crate::state::{Lookup, State};
use crate::types::Execution;
use crate::wire::{self, FieldViolation, Resp};

/// Largest `page_size` for tools.
const MAX_TOOLS_PAGE: usize = 100;

#[derive(Serialize)]
struct ToolWire {
    id: String,
    provider: &'static str,
    definition: Value,
    metadata: Value,
    tags: Vec<String>,
    is_default: bool,
    updated_at: &'static str,
}

#[derive(Serialize)]
struct ToolsResponse {
    tools: Vec<ToolWire>,
    tool_names: Vec<&'static str>,
    next_page_token: String,
    total_size: usize,
}

fn render(tool: &Tool, summary: bool) -> ToolWire {
    ToolWire {
        id: tool.id(),
        provider: tool.provider,
        definition: tool.definition(summary),
        metadata: tool.metadata(),
        tags: tool.tags(),
        is_default: tool.is_default,
        updated_at: catalog::UPDATED_AT,
    }
}

/// `GET /api/v1/tools`: every filter given must hold. `filter.connector` selects the
/// tools of that connection's provider; `filter.summary` leaves the schemas out.
pub(super) fn list(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let params = Params::parse(
        req,
        &[
            "filter.query",
            "filter.provider",
            "filter.tool_name",
            "filter.connector",
            "filter.identifier",
            "filter.summary",
            "page_size",
            "page_token",
        ],
    )?;
    let query = params.one("filter.query")?.filter(|v| !v.is_empty());
    let provider = params.one("filter.provider")?.filter(|v| !v.is_empty());
    let connector = params.one("filter.connector")?.filter(|v| !v.is_empty());
    let identifier = params.one("filter.identifier")?.filter(|v| !v.is_empty());
    let names = params.all("filter.tool_name");
    let summary = match params.one("filter.summary")? {
        None | Some("") => false,
        Some(text) => parse_bool("filter.summary", text)?,
    };
    check_max_len("filter.query", query, 200)?;
    check_max_len("filter.provider", provider, 100)?;
    check_connector("filter.connector", connector)?;
    check_max_len("filter.identifier", identifier, 100)?;
    if names.len() > 50 {
        return Err(invalid(
            "filter.tool_name",
            "value must contain no more than 50 item(s)",
        ));
    }
    for name in &names {
        if name.is_empty() {
            return Err(invalid(
                "filter.tool_name",
                "value length must be at least 1 characters",
            ));
        }
        check_max_len("filter.tool_name", Some(name), 100)?;
    }
    let mut state = ctx.shared.state();
    let (size, offset) = paging(&state, &params, |size| {
        if size > MAX_TOOLS_PAGE {
            Err(invalid(
                "page_size",
                "value must be less than or equal to 100",
            ))
        } else {
            Ok(())
        }
    })?;
    let connector_provider = connector.map(|c| state.provider_of(c));
    let matching: Vec<&Tool> = catalog::all()
        .iter()
        .filter(|t| {
            query.is_none_or(|q| t.matches_query(q))
                && provider.is_none_or(|p| t.provider.eq_ignore_ascii_case(p))
                && connector_provider
                    .as_deref()
                    .is_none_or(|p| t.provider.eq_ignore_ascii_case(p))
                && (names.is_empty() || names.contains(&t.name))
        })
        .collect();
    let page = window(&mut state, matching.len(), size, offset);
    let shown = &matching[page.range];
    Ok(wire::api_ok(
        200,
        &ToolsResponse {
            tools: shown.iter().map(|t| render(t, summary)).collect(),
            tool_names: shown.iter().map(|t| t.name).collect(),
            next_page_token: page.next_page_token,
            total_size: matching.len(),
        },
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecuteRequest {
    tool_name: Option<String>,
    identifier: Option<String>,
    connector: Option<String>,
    params: Option<Value>,
    connected_account_id: Option<String>,
    agent_run_id: Option<String>,
}

#[derive(Serialize)]
struct ExecuteResponse {
    data: Value,
    execution_id: String,
}

/// `POST /api/v1/execute_tool`: checks the request, finds the tool and the `ACTIVE`
/// account of the tool's provider, checks `params` against the tool's schema, runs
/// it and records the execution.
pub(super) fn execute(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
    let body: ExecuteRequest = json_body(req)?;
    let params = match body.params {
        None => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(wire::parse_error(
                "invalid request body: params must be a JSON object",
            ));
        }
    };
    let tool_name = body.tool_name.as_deref().unwrap_or_default();
    if tool_name.is_empty() {
        return Err(invalid("tool_name", "value is required"));
    }
    check_max_len("tool_name", Some(tool_name), 100)?;
    check_max_len("agent_run_id", body.agent_run_id.as_deref(), 100)?;
    let lookup = Lookup {
        id: body.connected_account_id.as_deref(),
        connector: body.connector.as_deref(),
        identifier: body.identifier.as_deref(),
        organization_id: None,
        user_id: None,
    };
    check_connector("connector", lookup.connector)?;
    check_max_len("identifier", lookup.identifier, 100)?;
    if let Some(id) = lookup.id.filter(|id| !id.is_empty()) {
        if !id.starts_with("ca_") {
            return Err(invalid(
                "connected_account_id",
                "value does not have prefix `ca_`",
            ));
        }
        check_max_len("connected_account_id", Some(id), 32)?;
    }
    let by_key = lookup.connector.is_some_and(|c| !c.is_empty())
        && lookup.identifier.is_some_and(|i| !i.is_empty());
    if !(by_key || lookup.id.is_some_and(|id| !id.is_empty())) {
        return Err(wire::bad_request(
            "either connected_account_id, or connector and identifier, must be provided",
        ));
    }
    let tool = catalog::find(tool_name).ok_or_else(|| {
        wire::grpc_error(
            404,
            5,
            &format!("tool {tool_name:?} not found"),
            Some("NOT_FOUND"),
        )
    })?;
    let mut state = ctx.shared.state();
    let index = state.locate(&lookup).ok_or_else(wire::account_not_found)?;
    check_account(&state, index, tool)?;
    let violations = tool.check(&params);
    if !violations.is_empty() {
        return Err(invalid_params(&violations));
    }
    let account = &mut state.accounts[index];
    account.last_used_at = Some(now);
    let caller = Caller {
        connector: &account.connector,
        identifier: &account.identifier,
    };
    let data = tool.run(&caller, &params);
    let execution = Execution {
        execution_id: State::new_execution_id(),
        tool_name: tool.name.to_owned(),
        connector: account.connector.clone(),
        identifier: account.identifier.clone(),
        connected_account_id: account.id.clone(),
        params: Value::Object(params),
        agent_run_id: body.agent_run_id.filter(|v| !v.is_empty()),
        data: data.clone(),
        at: wire::timestamp(now),
    };
    let execution_id = execution.execution_id.clone();
    state.record_execution(execution);
    Ok(wire::api_ok(200, &ExecuteResponse { data, execution_id }))
}

/// The account must belong to the tool's provider and be `ACTIVE`
/// (`FAILED_PRECONDITION` otherwise).
fn check_account(state: &State, index: usize, tool: &Tool) -> Result<(), Resp> {
    let account = &state.accounts[index];
    let provider = state.provider_of(&account.connector);
    if !(provider.eq_ignore_ascii_case(tool.provider)
        || account.provider.eq_ignore_ascii_case(tool.provider))
    {
        return Err(wire::grpc_error(
            400,
            9,
            &format!(
                "tool {} needs a {} connection; {} is {provider}",
                tool.name, tool.provider, account.connector
            ),
            Some("FAILED_PRECONDITION"),
        ));
    }
    if account.status != "ACTIVE" {
        return Err(wire::grpc_error(
            400,
            9,
            &format!("connected account is {}, not ACTIVE", account.status),
            Some("CONNECTED_ACCOUNT_NOT_ACTIVE"),
        ));
    }
    Ok(())
}

/// 400 naming every parameter that fails the tool's schema.
fn invalid_params(violations: &[catalog::Violation]) -> Resp {
    let message = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    let fields = violations
        .iter()
        .map(|v| FieldViolation {
            field: if v.field == "params" {
                "params".to_owned()
            } else {
                format!("params.{}", v.field)
            },
            description: v.description.clone(),
            constraint: v.constraint.to_owned(),
        })
        .collect();
    wire::invalid_fields(&format!("invalid params: {message}"), fields)
}

//! What each tool does: the CLI command's work through the same flows, answered as the
//! command's `--json` would print it. Errors are `CliError`s the server turns into tool
//! errors; nothing here waits for a person.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use rmcp::model::JsonObject;
use rmcp::{Peer, RoleServer};
use serde_json::{Map, Value, json};

use super::args::Args;
use super::catalog::{
    AUTHORIZE, EXECUTE_TOOL, GET_TOOL_SCHEMA, HTTP_REQUEST, LIST_CONNECTIONS, LIST_SERVICES,
    SEARCH_TOOLS,
};
use super::{Shared, elicit};
use crate::error::{CliError, ErrorKind};
use crate::flows::authorization::{FlowOptions, QrChoice};
use crate::flows::context::Target;
use crate::flows::{connections, credentials, proxy, tools as tool_flow};
use crate::output::shown;
use crate::runtime::join_all;
use crate::scalekit::execute::{EXECUTE_TIMEOUT, Execution};
use crate::scalekit::types::{AccountStatus, format_timestamp};
use crate::scalekit::{ProxyRefusal, ProxyRequest, is_idempotent};
use crate::tools::check;

/// `search_tools`' default and largest `limit`.
const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;

/// Runs one tool with its arguments.
pub(super) async fn call(
    shared: &Shared,
    name: &str,
    args: &JsonObject,
    peer: &Peer<RoleServer>,
) -> anyhow::Result<Value> {
    let args = Args::new(args);
    match name {
        LIST_SERVICES => {
            args.only(&[])?;
            list_services(shared).await
        }
        LIST_CONNECTIONS => {
            args.only(&["provider"])?;
            let config = shared.ctx.config()?;
            let client = shared.client(&config)?;
            let list = connections::list(&client, args.string("provider")?).await?;
            Ok(serde_json::to_value(connections::docs(&config, &list))?)
        }
        SEARCH_TOOLS => {
            args.only(&["query", "provider", "limit"])?;
            let query = tool_flow::check_query(args.required("query")?)?;
            let limit = args
                .integer("limit", 1, MAX_LIMIT)?
                .unwrap_or(DEFAULT_LIMIT);
            let config = shared.ctx.config()?;
            let client = shared.client(&config)?;
            let limit = u32::try_from(limit).unwrap_or(20);
            let tools = tool_flow::search(&client, query, args.string("provider")?, limit).await?;
            Ok(serde_json::to_value(tool_flow::tool_docs(&tools))?)
        }
        GET_TOOL_SCHEMA => {
            args.only(&["tool_name"])?;
            let tool_name = tool_name(args.required("tool_name")?)?;
            let config = shared.ctx.config()?;
            let client = shared.client(&config)?;
            match tool_flow::find_tool(&client, tool_name).await? {
                Some(tool) => Ok(tool.definition),
                None => Err(tool_flow::unknown_tool(&client, tool_name).await.into()),
            }
        }
        EXECUTE_TOOL => {
            args.only(&["service", "tool_name", "params", "identifier"])?;
            execute_tool(shared, &args).await
        }
        HTTP_REQUEST => {
            args.only(&["service", "method", "path", "headers", "body", "identifier"])?;
            http_request(shared, &args).await
        }
        AUTHORIZE => {
            args.only(&["service", "identifier"])?;
            authorize(shared, &args, peer).await
        }
        _ => Err(CliError::usage(format!("unknown tool {:?}", shown(name))).into()),
    }
}

/// `list_services`: each configured service (only `--service`'s, when given) with its account
/// status, looked up concurrently without pulling a token (`…/details`).
async fn list_services(shared: &Shared) -> anyhow::Result<Value> {
    let config = shared.ctx.config()?;
    let client = shared.client(&config)?;
    // Credentials first: rejected or unreachable is the call's failure, not each row's.
    client.verify_credentials().await?;
    let mut lookups = Vec::new();
    let mut rows = Vec::new();
    for service in config.services.keys() {
        if !shared.allows(service) {
            continue;
        }
        match shared.ctx.target(&config, service, None) {
            Ok(target) => {
                rows.push(json!({
                    "service": target.service,
                    "connection_name": target.connection_name,
                    "identifier": target.identifier,
                }));
                lookups.push((rows.len() - 1, target));
            }
            Err(err) => rows.push(json!({
                "service": service,
                "connection_name": config.services[service].connection_name,
                "identifier": null,
                "status": "NOT_CONFIGURED",
                "error": err.message,
            })),
        }
    }
    let found =
        join_all(lookups.iter().map(|(_, target)| {
            client.account_details(&target.connection_name, &target.identifier)
        }))
        .await;
    for ((row, _), found) in lookups.iter().zip(found) {
        let doc = &mut rows[*row];
        match found {
            Ok(Some(account)) => {
                doc["status"] = json!(account.status.as_str());
                doc["authorization_type"] = Some(account.authorization_type)
                    .filter(|t| !t.is_empty())
                    .into();
                doc["token_expires_at"] = account.token_expires_at.map(format_timestamp).into();
                doc["last_used_at"] = account.last_used_at.map(format_timestamp).into();
            }
            Ok(None) => doc["status"] = json!("NOT_FOUND"),
            Err(err) => {
                let err = crate::error::classify(&err.into());
                doc["status"] = json!(if err.kind == ErrorKind::Unreachable {
                    "UNREACHABLE"
                } else {
                    "ERROR"
                });
                doc["error"] = json!(err.message);
            }
        }
    }
    Ok(Value::Array(rows))
}

/// The service a call names, refused when `--service` leaves it out.
fn target(
    shared: &Shared,
    config: &crate::config::Config,
    args: &Args<'_>,
) -> anyhow::Result<Target> {
    let service = crate::config::validate_service(args.required("service")?)?;
    if !shared.allows(&service) {
        return Err(CliError::usage(format!(
            "this server serves only {}; {service:?} is not one of them",
            shared.limits.services.join(", ")
        ))
        .with_hint("start the server with --service for it, or leave --service out")
        .into());
    }
    Ok(shared
        .ctx
        .target(config, &service, args.string("identifier")?)?)
}

/// `execute_tool`: as `tools run SERVICE TOOL -d PARAMS --json`, never waiting for approval.
async fn execute_tool(shared: &Shared, args: &Args<'_>) -> anyhow::Result<Value> {
    let tool_name = tool_name(args.required("tool_name")?)?;
    let params = match args.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(CliError::usage("params must be a JSON object").into()),
    };
    let config = shared.ctx.config()?;
    let target = target(shared, &config, args)?;
    let client = shared.client(&config)?;
    let Some(tool) = tool_flow::find_tool(&client, tool_name).await? else {
        return Err(tool_flow::unknown_tool(&client, tool_name).await.into());
    };
    if let Some(schema) = tool.input_schema() {
        let problems = check::check(schema, &Value::Object(params.clone()));
        if !problems.is_empty() {
            return Err(tool_flow::problems_error(tool_name, &problems, true).into());
        }
    }
    let run_id = shared
        .ctx
        .env
        .get("SCALEKIT_AUTH_RUN_ID")
        .map(str::to_owned);
    let execution = Execution {
        tool_name,
        connector: &target.connection_name,
        identifier: &target.identifier,
        params: &params,
        agent_run_id: run_id.as_deref(),
        timeout: shared.ctx.http_timeout_given().unwrap_or(EXECUTE_TIMEOUT),
    };
    let options = tool_flow::RunOptions {
        authorize: false,
        flow: FlowOptions {
            wait: false,
            timeout: Duration::ZERO,
            qr: QrChoice::default(),
            open: false,
            force: false,
            interactive: false,
            account_missing: false,
        },
    };
    let executed = tool_flow::run(&shared.ctx, &client, &target, &execution, options).await?;
    Ok(json!({
        "tool": tool_name,
        "service": target.service,
        "execution_id": executed.execution_id,
        "data": executed.data,
    }))
}

/// `http_request`: as `request SERVICE METHOD PATH`, answered as `{"status","headers","body"}`.
async fn http_request(shared: &Shared, args: &Args<'_>) -> anyhow::Result<Value> {
    let method = proxy::parse_method(args.required("method")?)?;
    if shared.limits.read_only && method != Method::GET && method != Method::HEAD {
        return Err(CliError::usage(format!(
            "this server is read-only: {method} is refused (GET and HEAD only)"
        ))
        .into());
    }
    let path = args.required("path")?;
    if path.contains("://") {
        return Err(CliError::usage(
            "give the API path (e.g. /gmail/v1/users/me/profile), not a full URL",
        )
        .into());
    }
    let path_and_query = proxy::api_path(path)?;
    let mut header_lines = Vec::new();
    match args.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                let Some(value) = value.as_str() else {
                    return Err(CliError::usage(format!(
                        "the {} header's value must be a string",
                        shown(name)
                    ))
                    .into());
                };
                header_lines.push(format!("{name}: {value}"));
            }
        }
        Some(_) => return Err(CliError::usage("headers must be an object of strings").into()),
    }
    let mut headers = proxy::parse_headers(&header_lines)?;
    let body = args.string("body")?.map(|b| b.as_bytes().to_vec());
    if body.is_some() && !headers.iter().any(|(name, _)| *name == CONTENT_TYPE) {
        headers.push((
            CONTENT_TYPE,
            HeaderValue::from_static(proxy::DEFAULT_CONTENT_TYPE),
        ));
    }
    let config = shared.ctx.config()?;
    let target = target(shared, &config, args)?;
    let client = shared.client(&config)?;
    let request = ProxyRequest {
        method: method.clone(),
        path_and_query: &path_and_query,
        connection_name: &target.connection_name,
        identifier: &target.identifier,
        headers: &headers,
        body: body.as_deref(),
        spill: None,
    };
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query.as_str(), |(p, _)| p);
    let answer = client.proxy(&request).await.map_err(|err| {
        let err = anyhow::Error::from(err);
        if is_idempotent(&method) {
            err
        } else {
            err.context(format!(
                "{method} {path} was sent once and not retried (it may have reached {})",
                target.service
            ))
        }
    })?;
    match answer.refusal {
        None => {}
        Some(ProxyRefusal::Other(err)) => return Err(err.into()),
        Some(ProxyRefusal::AccountNotFound | ProxyRefusal::AccountNotActive) => {
            let status = client
                .account_details(&target.connection_name, &target.identifier)
                .await?
                .map_or(AccountStatus::Unspecified, |a| a.status);
            let hint = format!("after approving, call {HTTP_REQUEST} again");
            return Err(
                credentials::authorization_required(&client, &target, &status, &hint).await,
            );
        }
    }
    let mut header_doc = Map::new();
    for (name, value) in &answer.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match header_doc.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                header_doc.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let mut doc = json!({
        "status": answer.status.as_u16(),
        "headers": header_doc,
    });
    match String::from_utf8(answer.body) {
        Ok(text) => doc["body"] = json!(text),
        Err(bytes) => {
            doc["body"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes.as_bytes()));
            doc["body_base64"] = json!(true);
        }
    }
    if answer.status == StatusCode::UNAUTHORIZED {
        doc["hint"] = json!(format!(
            "the provider rejected the account's credentials; the user may need to \
             re-authorize: scalekit-auth authorize {} --force",
            target.service
        ));
    }
    Ok(doc)
}

/// `authorize`: gets or creates the account and mints a link, without waiting; an `ACTIVE`
/// account is reported with no link. Offers the link through URL elicitation when the client
/// supports it.
async fn authorize(
    shared: &Shared,
    args: &Args<'_>,
    peer: &Peer<RoleServer>,
) -> anyhow::Result<Value> {
    let config = shared.ctx.config()?;
    let target = target(shared, &config, args)?;
    let client = shared.client(&config)?;
    let account = match client
        .account_details(&target.connection_name, &target.identifier)
        .await?
    {
        Some(account) => account,
        None => {
            client
                .create_account(&target.connection_name, &target.identifier)
                .await?
        }
    };
    let mut doc = json!({
        "service": target.service,
        "connection_name": target.connection_name,
        "identifier": target.identifier,
        "status": account.status.as_str(),
    });
    match account.status {
        AccountStatus::Active => {
            doc["message"] = json!(format!("{} is already authorized", target.service));
        }
        AccountStatus::PendingVerification => {
            doc["message"] = json!(format!(
                "{} was approved and waits for the user's identity verification; no new link \
                 is needed",
                target.service
            ));
        }
        _ => {
            let link = crate::flows::authorization::mint(&client, &target).await?;
            let url = elicit::checked_link(&link.link)?;
            doc["link"] = json!(link.link);
            doc["link_expires_at"] = link.expiry.map(format_timestamp).into();
            doc["message"] = json!(format!(
                "ask the user to open the link and approve access to {}; then call the tool \
                 that needed it again",
                target.service
            ));
            doc["elicitation"] = json!(elicit::offer(peer, &target, url, link.expiry));
        }
    }
    Ok(doc)
}

/// A tool name as `tools run` takes it: not empty, no control characters.
fn tool_name(name: &str) -> Result<&str, CliError> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(
            CliError::usage(format!("invalid tool name {:?}", shown(name)))
                .with_hint("find one with search_tools"),
        );
    }
    Ok(name)
}

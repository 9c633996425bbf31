//! The JSON control API under `/_emulator/`: the same operations as the Rust methods
//! of [`crate::Emulator`], for the binary and for scripts. Not logged, no latency, no
//! faults, no authentication. Errors are `{"error": "…"}`.
//!
//! Also the echo upstream `ANY /_emulator/echo/{rest}`, which the proxy can forward to.
//!
//! Handlers return `Result<Resp, Resp>`: the error is the finished error response.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ctx::{Ctx, Req};
use crate::rules::STATUSES;
use crate::state::{LinkOutcome, LinkProblem};
use crate::types::{Fault, SeedAccount, SeedConnection};
use crate::wire::{self, Resp};

/// Dispatches `/_emulator/…`.
pub(crate) fn handle(ctx: &Ctx, req: &Req) -> Resp {
    let path = req.path.strip_prefix("/_emulator").unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/echo")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return echo(req, rest);
    }
    let result = match (path, req.method.as_str()) {
        ("/health", "GET") => Ok(health(ctx)),
        ("/accounts", "GET") => Ok(ok(
            &json!({"accounts": wire::accounts_json(&ctx.shared.state())}),
        )),
        ("/accounts", "POST") => seed(ctx, req),
        ("/accounts/activate", "POST") => activate(ctx, req),
        ("/accounts/status", "POST") => set_status(ctx, req),
        ("/accounts/rotate", "POST") => rotate(ctx, req),
        ("/accounts/expiry", "POST") => expiry(ctx, req),
        ("/settings", "GET") => Ok(settings(ctx)),
        ("/settings", "POST") => update_settings(ctx, req),
        ("/faults", "POST") => queue_fault(ctx, req),
        ("/expire_api_tokens", "POST") => {
            ctx.shared.state().expire_api_tokens();
            Ok(done())
        }
        ("/requests", "GET") => Ok(ok(&json!({"requests": ctx.shared.state().requests()}))),
        ("/requests", "DELETE") => {
            ctx.shared.state().clear_requests();
            Ok(done())
        }
        ("/connections", "GET") => Ok(ok(&json!({"connections": connections(ctx)}))),
        ("/connections", "POST") => seed_connection(ctx, req),
        ("/connections/remove", "POST") => remove_connection(ctx, req),
        ("/executions", "GET") => Ok(ok(&json!({"executions": ctx.shared.state().executions()}))),
        ("/executions", "DELETE") => {
            ctx.shared.state().clear_executions();
            Ok(done())
        }
        ("/links", "GET") => Ok(ok(&json!({"links": ctx.shared.state().magic_links()}))),
        ("/links/approve", "POST") => approve(ctx, req),
        ("/reset", "POST") => {
            ctx.shared.state().reset(&ctx.shared.initial);
            Ok(done())
        }
        (
            "/health"
            | "/accounts"
            | "/accounts/activate"
            | "/accounts/status"
            | "/accounts/rotate"
            | "/accounts/expiry"
            | "/settings"
            | "/faults"
            | "/expire_api_tokens"
            | "/requests"
            | "/links"
            | "/links/approve"
            | "/reset"
            | "/connections"
            | "/connections/remove"
            | "/executions",
            _,
        ) => Err(error(405, "method not allowed")),
        _ => Err(error(
            404,
            "no such control endpoint; see emulator/README.md",
        )),
    };
    result.unwrap_or_else(|resp| resp)
}

fn ok(value: &impl Serialize) -> Resp {
    wire::json(200, value)
}

fn done() -> Resp {
    ok(&json!({"ok": true}))
}

fn error(status: u16, message: &str) -> Resp {
    wire::json(status, &json!({"error": message}))
}

/// Parses a JSON body; an empty body is `{}`. Unknown fields are errors.
fn body<T: DeserializeOwned>(req: &Req) -> Result<T, Resp> {
    let bytes: &[u8] = if req.body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &req.body
    };
    serde_json::from_slice(bytes).map_err(|err| error(400, &format!("invalid body: {err}")))
}

fn no_account(connector: &str, identifier: &str) -> Resp {
    error(
        404,
        &format!("no connected account for connector {connector:?} and identifier {identifier:?}"),
    )
}

fn health(ctx: &Ctx) -> Resp {
    ok(&json!({
        "status": "ok",
        "url": ctx.shared.base_url,
        "client_id": ctx.shared.initial.client_id,
    }))
}

fn seed(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let seed: SeedAccount = body(req)?;
    seed.validate().map_err(|message| error(400, &message))?;
    let id = ctx.shared.state().seed(seed, crate::types::now());
    Ok(ok(&json!({"id": id})))
}

fn connections(ctx: &Ctx) -> Vec<Value> {
    let state = ctx.shared.state();
    state
        .connections
        .iter()
        .map(|c| wire::to_json(&wire::connection(c)))
        .collect()
}

fn seed_connection(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let seed: SeedConnection = body(req)?;
    seed.validate().map_err(|message| error(400, &message))?;
    ctx.shared
        .state()
        .seed_connection(seed, crate::types::now());
    Ok(done())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionRef {
    key_id: String,
}

fn remove_connection(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let target: ConnectionRef = body(req)?;
    if ctx.shared.state().remove_connection(&target.key_id) {
        Ok(done())
    } else {
        Err(error(
            404,
            &format!("no connection with key_id {:?}", target.key_id),
        ))
    }
}

/// `{connector, identifier}` naming an account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountRef {
    connector: String,
    identifier: String,
}

fn activate(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let target: AccountRef = body(req)?;
    if ctx
        .shared
        .state()
        .activate(&target.connector, &target.identifier, crate::types::now())
    {
        Ok(done())
    } else {
        Err(no_account(&target.connector, &target.identifier))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    connector: String,
    identifier: String,
    status: String,
}

fn set_status(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let target: StatusBody = body(req)?;
    if !STATUSES.contains(&target.status.as_str()) {
        return Err(error(
            400,
            &format!("status must be one of {}", STATUSES.join(", ")),
        ));
    }
    if ctx.shared.state().set_status(
        &target.connector,
        &target.identifier,
        &target.status,
        crate::types::now(),
    ) {
        Ok(done())
    } else {
        Err(no_account(&target.connector, &target.identifier))
    }
}

fn rotate(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let target: AccountRef = body(req)?;
    ctx.shared
        .state()
        .rotate_token(&target.connector, &target.identifier, crate::types::now())
        .map(|token| ok(&json!({"access_token": token})))
        .ok_or_else(|| no_account(&target.connector, &target.identifier))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpiryBody {
    connector: String,
    identifier: String,
    /// RFC 3339, or null/absent to clear.
    #[serde(default)]
    expires_at: Option<String>,
    /// Seconds from now (negative: in the past); instead of `expires_at`.
    #[serde(default)]
    expires_in_secs: Option<i64>,
}

fn expiry(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let target: ExpiryBody = body(req)?;
    let now = crate::types::now();
    let expires_at = match (target.expires_at.as_deref(), target.expires_in_secs) {
        (Some(_), Some(_)) => {
            return Err(error(400, "give expires_at or expires_in_secs, not both"));
        }
        (Some(text), None) => Some(
            wire::parse_timestamp(text)
                .ok_or_else(|| error(400, &format!("expires_at {text:?} is not RFC 3339")))?,
        ),
        (None, Some(secs)) => Some(now + time::Duration::seconds(secs)),
        (None, None) => None,
    };
    if ctx
        .shared
        .state()
        .set_token_expiry(&target.connector, &target.identifier, expires_at)
    {
        Ok(done())
    } else {
        Err(no_account(&target.connector, &target.identifier))
    }
}

fn settings(ctx: &Ctx) -> Resp {
    let state = ctx.shared.state();
    let settings = &state.settings;
    ok(&json!({
        "link_ttl_secs": settings.link_ttl.as_secs(),
        "api_token_lifetime_secs": settings.api_token_lifetime.as_secs(),
        "latency_ms": u64::try_from(settings.latency.as_millis()).unwrap_or(u64::MAX),
        "verification_mode": settings.verification_mode,
        "create_status": settings.create_status,
        "upstream": settings.upstream,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    link_ttl_secs: Option<u64>,
    /// For the API tokens issued from now on.
    api_token_lifetime_secs: Option<u64>,
    latency_ms: Option<u64>,
    verification_mode: Option<bool>,
    create_status: Option<u16>,
    /// A base URL (leading `/`: the emulator itself); `""` removes it.
    upstream: Option<String>,
}

fn update_settings(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let changes: SettingsBody = body(req)?;
    if changes
        .create_status
        .is_some_and(|s| !matches!(s, 200 | 201))
    {
        return Err(error(400, "create_status must be 200 or 201"));
    }
    {
        let mut state = ctx.shared.state();
        let settings = &mut state.settings;
        if let Some(secs) = changes.link_ttl_secs {
            settings.link_ttl = Duration::from_secs(secs);
        }
        if let Some(secs) = changes.api_token_lifetime_secs {
            settings.api_token_lifetime = Duration::from_secs(secs);
        }
        if let Some(ms) = changes.latency_ms {
            settings.latency = Duration::from_millis(ms);
        }
        if let Some(on) = changes.verification_mode {
            settings.verification_mode = on;
        }
        if let Some(status) = changes.create_status {
            settings.create_status = status;
        }
        if let Some(upstream) = changes.upstream {
            settings.upstream = (!upstream.is_empty()).then_some(upstream);
        }
    }
    Ok(settings(ctx))
}

fn queue_fault(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let fault: Fault = body(req)?;
    check_fault(&fault).map_err(|message| error(400, &message))?;
    ctx.shared.state().queue_fault(fault);
    Ok(done())
}

/// What the JSON control API refuses in a fault (the Rust API skips or ignores it).
fn check_fault(fault: &Fault) -> Result<(), String> {
    if !fault.path.starts_with('/') {
        return Err("path must be a request path such as /oauth/token".to_owned());
    }
    if fault.status.is_some_and(|s| !(100..=599).contains(&s)) {
        return Err("status must be between 100 and 599".to_owned());
    }
    if let Some(method) = &fault.method
        && hyper::Method::from_bytes(method.as_bytes()).is_err()
    {
        return Err(format!("method {method:?} is not an HTTP method"));
    }
    if fault.no_body && fault.body.is_some() {
        return Err("give body or no_body, not both".to_owned());
    }
    if fault.hang && fault.drop {
        return Err("give hang or drop, not both".to_owned());
    }
    for (name, value) in &fault.headers {
        let header = hyper::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header name {name:?} is not valid"))?;
        if header == hyper::header::CONTENT_LENGTH || header == hyper::header::TRANSFER_ENCODING {
            return Err(format!("header {name} is set by the server"));
        }
        hyper::header::HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| format!("the value of header {name} cannot be sent over HTTP"))?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    link: String,
}

fn approve(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let target: ApproveBody = body(req)?;
    let outcome = ctx
        .shared
        .state()
        .decide_link(&target.link, true, crate::types::now());
    let refused = |status: u16, message: &str| {
        wire::json(status, &json!({"approved": false, "error": message}))
    };
    match outcome {
        LinkOutcome::Approved { .. } => Ok(ok(&json!({"approved": true}))),
        LinkOutcome::Unusable(LinkProblem::Used) => Err(refused(410, "the link was already used")),
        LinkOutcome::Unusable(LinkProblem::Expired) => Err(refused(410, "the link has expired")),
        LinkOutcome::Unusable(LinkProblem::AccountGone) => {
            Err(refused(404, "the link's account no longer exists"))
        }
        _ => Err(refused(404, "no such link")),
    }
}

/// `ANY /_emulator/echo/{rest}`: describes the request it got.
fn echo(req: &Req, rest: &str) -> Resp {
    let mut headers = Map::new();
    for (name, value) in &req.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    ok(&json!({
        "method": req.method.as_str(),
        "path": if rest.is_empty() { "/" } else { rest },
        "query": req.query.as_deref().unwrap_or_default(),
        "headers": headers,
        "body": String::from_utf8_lossy(&req.body),
    }))
}

//! `ANY /proxy/{rest}`: forwards to the upstream with the account's credentials.

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, HeaderValue};
use hyper::{HeaderMap, Request};
use serde_json::Value;

use super::request::authenticate;
use crate::ctx::{Ctx, Req};
use crate::state::Credentials;
use crate::wire::{self, Resp};

/// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded in either direction.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Header names not to copy: hop-by-hop ones, those the `Connection` header lists,
/// and `extra`.
fn skipped_headers(headers: &HeaderMap, extra: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = HOP_BY_HOP
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect();
    for value in headers.get_all(hyper::header::CONNECTION) {
        if let Ok(value) = value.to_str() {
            names.extend(value.split(',').map(|n| n.trim().to_ascii_lowercase()));
        }
    }
    names
}

/// The `Authorization` value the upstream gets for stored credentials.
fn upstream_authorization(credentials: &Credentials) -> Option<String> {
    match credentials {
        Credentials::OAuth(token) if !token.access_token.is_empty() => {
            Some(format!("Bearer {}", token.access_token))
        }
        Credentials::OAuth(_) => None,
        Credentials::Static(details) => {
            let text = |key: &str| details.get(key).and_then(Value::as_str);
            if let Some(secret) = text("api_key").or(text("token")).or(text("access_token")) {
                Some(format!("Bearer {secret}"))
            } else if let (Some(user), Some(password)) = (text("username"), text("password")) {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some(format!("Basic {encoded}"))
            } else {
                None
            }
        }
    }
}

/// `ANY /proxy/{rest}`: forwards to `{upstream}/{rest}` with the account's
/// credentials, and relays the answer.
pub(crate) async fn proxy(ctx: &Ctx, req: &Req) -> Resp {
    if let Err(resp) = authenticate(ctx, &req.headers) {
        return resp;
    }
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let Some(connector) = header("connection_name") else {
        return wire::bad_request("the connection_name header is required");
    };
    let Some(identifier) = header("identifier") else {
        return wire::bad_request("the identifier header is required");
    };
    let (authorization, upstream) = {
        let mut state = ctx.shared.state();
        let Some(index) = state.position(connector, identifier) else {
            return wire::account_not_found();
        };
        let account = &state.accounts[index];
        if account.status != "ACTIVE" {
            return wire::grpc_error(
                400,
                9,
                &format!("connected account is {}, not ACTIVE", account.status),
                Some("CONNECTED_ACCOUNT_NOT_ACTIVE"),
            );
        }
        let authorization = upstream_authorization(&account.credentials);
        let Some(upstream) = state.settings.upstream.clone() else {
            return wire::grpc_error(
                501,
                12,
                "the emulator has no upstream for the proxy (start it with --upstream)",
                Some("UNIMPLEMENTED"),
            );
        };
        state.accounts[index].last_used_at = Some(crate::types::now());
        let upstream = if upstream.starts_with('/') {
            format!("{}{upstream}", state.base_url())
        } else {
            upstream
        };
        (authorization, upstream)
    };
    let rest = req.path.strip_prefix("/proxy").unwrap_or_default();
    let mut target = format!(
        "{}{}",
        upstream.trim_end_matches('/'),
        if rest.is_empty() { "/" } else { rest }
    );
    if let Some(query) = &req.query {
        target.push('?');
        target.push_str(query);
    }
    match forward(ctx, req, &target, authorization.as_deref()).await {
        Ok(answer) => answer,
        Err(message) => wire::grpc_error(502, 14, &message, Some("UPSTREAM_ERROR")),
    }
}

/// Sends the request on and relays the answer.
async fn forward(
    ctx: &Ctx,
    req: &Req,
    target: &str,
    authorization: Option<&str>,
) -> Result<Resp, String> {
    let uri: hyper::Uri = target
        .parse()
        .map_err(|err| format!("bad upstream URL {target:?}: {err}"))?;
    let skip = skipped_headers(
        &req.headers,
        &[
            "authorization",
            "connection_name",
            "identifier",
            "host",
            "content-length",
        ],
    );
    let mut outgoing = Request::new(Full::new(req.body.clone()));
    *outgoing.method_mut() = req.method.clone();
    *outgoing.uri_mut() = uri;
    for (name, value) in &req.headers {
        if !skip.iter().any(|s| s == name.as_str()) {
            outgoing.headers_mut().append(name.clone(), value.clone());
        }
    }
    if let Some(value) = authorization.and_then(|v| HeaderValue::from_str(v).ok()) {
        outgoing.headers_mut().insert(AUTHORIZATION, value);
    }
    let answer = ctx
        .client
        .request(outgoing)
        .await
        .map_err(|err| format!("upstream request failed: {err}"))?;
    let (parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|err| format!("upstream body failed: {err}"))?
        .to_bytes();
    let skip = skipped_headers(&parts.headers, &["content-length"]);
    let mut resp = hyper::Response::new(Full::new(body));
    *resp.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if !skip.iter().any(|s| s == name.as_str()) {
            resp.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(resp)
}

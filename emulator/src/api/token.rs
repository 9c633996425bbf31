//! `POST /oauth/token`: the client-credentials grant, form-encoded.

use hyper::Method;
use serde_json::json;

use super::request::has_media_type;
use crate::ctx::{Ctx, Req};
use crate::wire::{self, Resp};

/// `POST /oauth/token`: the client-credentials grant, form-encoded.
pub(crate) fn token(ctx: &Ctx, req: &Req) -> Resp {
    if req.method != Method::POST {
        return wire::method_not_allowed();
    }
    let mut resp = token_response(ctx, req);
    wire::set_header(
        &mut resp,
        "cache-control",
        "no-cache, no-store, must-revalidate",
    );
    resp
}

fn token_response(ctx: &Ctx, req: &Req) -> Resp {
    let oauth_error = |status: u16, error: &str, description: &str| {
        wire::json(
            status,
            &json!({"error": error, "error_description": description}),
        )
    };
    if !has_media_type(&req.headers, "application/x-www-form-urlencoded") {
        return oauth_error(
            400,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let mut fields = std::collections::HashMap::new();
    for (name, value) in form_urlencoded::parse(&req.body) {
        if fields.insert(name.clone(), value).is_some() {
            return oauth_error(
                400,
                "invalid_request",
                &format!("parameter {name} is given more than once"),
            );
        }
    }
    let field = |name: &str| {
        fields
            .get(name)
            .map(AsRef::as_ref)
            .filter(|v: &&str| !v.is_empty())
    };
    let Some(grant_type) = field("grant_type") else {
        return oauth_error(400, "invalid_request", "grant_type is required");
    };
    if grant_type != "client_credentials" {
        return oauth_error(
            400,
            "unsupported_grant_type",
            &format!("grant_type {grant_type} is not supported; use client_credentials"),
        );
    }
    let (Some(client_id), Some(client_secret)) = (field("client_id"), field("client_secret"))
    else {
        return oauth_error(
            400,
            "invalid_request",
            "client_id and client_secret are required in the form body",
        );
    };
    let initial = &ctx.shared.initial;
    if client_id != initial.client_id || client_secret != initial.client_secret {
        return oauth_error(401, "invalid_client", "client authentication failed");
    }
    let (access_token, lifetime) = ctx.shared.state().issue_api_token();
    wire::json(
        200,
        &json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
        }),
    )
}

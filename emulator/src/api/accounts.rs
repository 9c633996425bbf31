//! The routes that name one connected account: `/auth`, `/details`, create, update,
//! magic link, delete and user verify.
#![allow(clippy::result_large_err)]

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::request::{Params, check_connector, check_lookup, check_max_len, invalid, json_body};
use crate::ctx::{Ctx, Req};
use crate::state::{
    Account, Credentials, Lookup, OAuthToken, VerifyError, static_authorization_type,
};
use crate::wire::{self, AccountWire, Resp, View};

#[derive(Serialize)]
pub(super) struct AccountEnvelope {
    connected_account: AccountWire,
}

pub(super) fn envelope(account: &Account, view: View) -> AccountEnvelope {
    AccountEnvelope {
        connected_account: wire::account(account, view),
    }
}

/// `GET …/auth` and `GET …/details`.
pub(super) fn get_account(
    ctx: &Ctx,
    req: &Req,
    view: View,
    now: OffsetDateTime,
) -> Result<Resp, Resp> {
    let params = Params::parse(
        req,
        &[
            "organization_id",
            "user_id",
            "connector",
            "identifier",
            "id",
        ],
    )?;
    let lookup = Lookup {
        id: params.one("id")?,
        connector: params.one("connector")?,
        identifier: params.one("identifier")?,
        organization_id: params.one("organization_id")?,
        user_id: params.one("user_id")?,
    };
    check_lookup(&lookup)?;
    let mut state = ctx.shared.state();
    let index = state.locate(&lookup).ok_or_else(wire::account_not_found)?;
    let account = &mut state.accounts[index];
    if view == View::Auth {
        account.last_used_at = Some(now);
    }
    Ok(wire::api_ok(200, &envelope(account, view)))
}

/// `connected_account` in create and update bodies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccountInput {
    authorization_details: Option<AuthorizationInput>,
    api_config: Option<Map<String, Value>>,
}

/// The `authorization_details` oneof on input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthorizationInput {
    oauth_token: Option<OAuthInput>,
    static_auth: Option<StaticInput>,
    google_dwd: Option<Value>,
    trusted_idp: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OAuthInput {
    access_token: Option<String>,
    refresh_token: Option<String>,
    scopes: Option<Vec<String>>,
    domain: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StaticInput {
    details: Option<Map<String, Value>>,
}

/// The credentials an `authorization_details` input sets.
pub(super) enum NewCredentials {
    OAuth(OAuthInput),
    Static(Map<String, Value>),
}

impl AuthorizationInput {
    fn into_credentials(self) -> Result<Option<NewCredentials>, Resp> {
        let set = [
            self.oauth_token.is_some(),
            self.static_auth.is_some(),
            self.google_dwd.is_some(),
            self.trusted_idp.is_some(),
        ];
        if set.iter().filter(|s| **s).count() > 1 {
            return Err(wire::parse_error(
                "invalid request body: field already set for oneof \"details\" of authorization_details",
            ));
        }
        if self.google_dwd.is_some() || self.trusted_idp.is_some() {
            return Err(wire::bad_request(
                "google_dwd and trusted_idp credentials are not supported by the emulator",
            ));
        }
        Ok(match (self.oauth_token, self.static_auth) {
            (Some(oauth), _) => Some(NewCredentials::OAuth(oauth)),
            (_, Some(fixed)) => Some(NewCredentials::Static(fixed.details.unwrap_or_default())),
            _ => None,
        })
    }
}

/// Applies new credentials: OAuth fields given replace the stored ones (a non-empty
/// access token makes the account `ACTIVE`); static details replace the stored ones
/// (non-empty details make it `ACTIVE`).
pub(super) fn apply_credentials(account: &mut Account, credentials: NewCredentials) {
    match credentials {
        NewCredentials::OAuth(input) => {
            let mut token = match &account.credentials {
                Credentials::OAuth(token) => token.clone(),
                Credentials::Static(_) => OAuthToken::default(),
            };
            if let Some(access_token) = input.access_token {
                token.access_token = access_token;
                // A token brought by the caller has no known expiry.
                account.token_expires_at = None;
            }
            if let Some(refresh_token) = input.refresh_token {
                token.refresh_token = refresh_token;
            }
            if let Some(scopes) = input.scopes {
                token.scopes = scopes;
            }
            if let Some(domain) = input.domain {
                token.domain = domain;
            }
            if !token.access_token.is_empty() {
                "ACTIVE".clone_into(&mut account.status);
            }
            "OAUTH".clone_into(&mut account.authorization_type);
            account.credentials = Credentials::OAuth(token);
        }
        NewCredentials::Static(details) => {
            if !details.is_empty() {
                "ACTIVE".clone_into(&mut account.status);
            }
            let details = Value::Object(details);
            static_authorization_type(&details).clone_into(&mut account.authorization_type);
            account.credentials = Credentials::Static(details);
            account.token_expires_at = None;
        }
    }
}

/// Merges `api_config` keys into the stored object.
pub(super) fn merge_api_config(account: &mut Account, config: Map<String, Value>) {
    match &mut account.api_config {
        Some(Value::Object(existing)) => existing.extend(config),
        _ => account.api_config = Some(Value::Object(config)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateRequest {
    connector: Option<String>,
    identifier: Option<String>,
    organization_id: Option<String>,
    user_id: Option<String>,
    connected_account: Option<AccountInput>,
}

/// `POST /api/v1/connected_accounts`.
pub(super) fn create(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
    let body: CreateRequest = json_body(req)?;
    let connector = body.connector.as_deref().unwrap_or_default();
    let identifier = body.identifier.as_deref().unwrap_or_default();
    check_connector("connector", Some(connector))?;
    check_max_len("identifier", Some(identifier), 100)?;
    check_max_len("organization_id", body.organization_id.as_deref(), 32)?;
    check_max_len("user_id", body.user_id.as_deref(), 32)?;
    if connector.is_empty() {
        return Err(invalid("connector", "value is required"));
    }
    if identifier.is_empty() {
        return Err(invalid("identifier", "value is required"));
    }
    let Some(input) = body.connected_account else {
        return Err(invalid("connected_account", "value is required"));
    };
    let credentials = match input.authorization_details {
        Some(details) => details.into_credentials()?,
        None => None,
    };
    let mut state = ctx.shared.state();
    if state.position(connector, identifier).is_some() {
        return Err(wire::grpc_error(
            409,
            6,
            "connected account already exists",
            Some("ALREADY_EXISTS"),
        ));
    }
    let mut account = Account::pending(state.new_account_id(), connector, identifier, now);
    account.organization_id = body.organization_id.filter(|v| !v.is_empty());
    account.user_id = body.user_id.filter(|v| !v.is_empty());
    if let Some(credentials) = credentials {
        apply_credentials(&mut account, credentials);
    }
    if let Some(config) = input.api_config {
        merge_api_config(&mut account, config);
    }
    let resp = wire::api_ok(
        state.settings.create_status,
        &envelope(&account, View::Auth),
    );
    state.accounts.push(account);
    Ok(resp)
}

/// `lookup()` for the request bodies that name an account by `connector` + `identifier` or
/// `id` (update, magic link, delete): the same five fields in each.
macro_rules! account_key_lookup {
    ($($body:ty),+) => {$(
        impl $body {
            fn lookup(&self) -> Lookup<'_> {
                Lookup {
                    id: self.id.as_deref(),
                    connector: self.connector.as_deref(),
                    identifier: self.identifier.as_deref(),
                    organization_id: self.organization_id.as_deref(),
                    user_id: self.user_id.as_deref(),
                }
            }
        }
    )+};
}

account_key_lookup!(UpdateRequest, MagicLinkRequest, DeleteRequest);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateRequest {
    connector: Option<String>,
    identifier: Option<String>,
    id: Option<String>,
    organization_id: Option<String>,
    user_id: Option<String>,
    connected_account: Option<AccountInput>,
    /// Accepted (it is part of the real request) and ignored.
    #[serde(rename = "scope_selection")]
    _scope_selection: Option<serde::de::IgnoredAny>,
}

/// `PUT /api/v1/connected_accounts`: replaces the credential fields given and
/// merges `api_config`.
pub(super) fn update(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
    let mut body: UpdateRequest = json_body(req)?;
    let input = body.connected_account.take();
    let lookup = body.lookup();
    check_lookup(&lookup)?;
    let Some(input) = input else {
        return Err(invalid("connected_account", "value is required"));
    };
    let credentials = match input.authorization_details {
        Some(details) => details.into_credentials()?,
        None => None,
    };
    let mut state = ctx.shared.state();
    let index = state.locate(&lookup).ok_or_else(wire::account_not_found)?;
    let account = &mut state.accounts[index];
    if let Some(credentials) = credentials {
        apply_credentials(account, credentials);
    }
    if let Some(config) = input.api_config {
        merge_api_config(account, config);
    }
    account.updated_at = now;
    Ok(wire::api_ok(200, &envelope(account, View::Auth)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MagicLinkRequest {
    connector: Option<String>,
    identifier: Option<String>,
    id: Option<String>,
    organization_id: Option<String>,
    user_id: Option<String>,
    state: Option<String>,
    user_verify_url: Option<String>,
}

#[derive(Serialize)]
pub(super) struct MagicLinkResponse {
    link: String,
    expiry: String,
}

/// `POST …/magic_link`.
pub(super) fn magic_link(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
    let body: MagicLinkRequest = json_body(req)?;
    let lookup = body.lookup();
    check_lookup(&lookup)?;
    check_max_len("state", body.state.as_deref(), 512)?;
    check_max_len("user_verify_url", body.user_verify_url.as_deref(), 2048)?;
    if let Some(url) = body.user_verify_url.as_deref()
        && !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(invalid(
            "user_verify_url",
            "value does not match regex pattern `^$|^https?://`",
        ));
    }
    let mut state = ctx.shared.state();
    let index = state.locate(&lookup).ok_or_else(wire::account_not_found)?;
    let (link, expiry) = state.mint_link(index, body.state, body.user_verify_url, now);
    Ok(wire::api_ok(
        200,
        &MagicLinkResponse {
            link,
            expiry: wire::timestamp(expiry),
        },
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteRequest {
    connector: Option<String>,
    identifier: Option<String>,
    id: Option<String>,
    organization_id: Option<String>,
    user_id: Option<String>,
}

/// `POST /api/v1/connected_accounts:delete`.
pub(super) fn delete(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let body: DeleteRequest = json_body(req)?;
    let lookup = body.lookup();
    check_lookup(&lookup)?;
    let mut state = ctx.shared.state();
    let index = state.locate(&lookup).ok_or_else(wire::account_not_found)?;
    state.accounts.remove(index);
    Ok(wire::api_ok(200, &json!({})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyRequest {
    auth_request_id: Option<String>,
    identifier: Option<String>,
}

/// `POST …/user/verify`: completes verification mode's second step.
pub(super) fn verify(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
    let body: VerifyRequest = json_body(req)?;
    let auth_request_id = body.auth_request_id.unwrap_or_default();
    let identifier = body.identifier.unwrap_or_default();
    if auth_request_id.is_empty() {
        return Err(invalid("auth_request_id", "value is required"));
    }
    if identifier.is_empty() {
        return Err(invalid("identifier", "value is required"));
    }
    let mut state = ctx.shared.state();
    match state.verify_user(&auth_request_id, &identifier, now) {
        Ok(()) => Ok(wire::api_ok(
            200,
            &json!({
                "post_user_verify_redirect_url": format!("{}/connect/success", state.base_url())
            }),
        )),
        Err(VerifyError::NotFound) => Err(wire::grpc_error(
            404,
            5,
            "no pending verification for this auth_request_id",
            Some("NOT_FOUND"),
        )),
        Err(VerifyError::IdentifierMismatch) => Err(wire::grpc_error(
            403,
            7,
            "identifier does not match the auth request",
            Some("PERMISSION_DENIED"),
        )),
    }
}

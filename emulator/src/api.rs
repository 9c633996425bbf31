//! The Scalekit routes: `POST /oauth/token`, `/api/v1/connected_accounts…` and the
//! proxy. Validation is strict on purpose: unknown body fields and query parameters,
//! camelCase names and non-JSON bodies are rejected with 400 (code 3).
//!
//! Handlers return `Result<Resp, Resp>`: the error is the finished error response,
//! returned at once, so its size does not matter.
#![allow(clippy::result_large_err)]

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{HeaderMap, Method, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::server::{Ctx, Req};
use crate::state::{
    Account, Credentials, Lookup, OAuthToken, State, TokenCheck, VerifyError,
    static_authorization_type,
};
use crate::wire::{self, AccountWire, Resp, View};

/// `page_size` when the request gives none (or 0).
const DEFAULT_PAGE_SIZE: usize = 10;

// ---- POST /oauth/token ------------------------------------------------------------

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
    let access_token = ctx.shared.state().issue_api_token();
    wire::json(
        200,
        &json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": crate::state::API_TOKEN_LIFETIME.as_secs(),
        }),
    )
}

// ---- /api/v1 ------------------------------------------------------------------------

/// The routes under `/api/v1`.
#[derive(Clone, Copy, Debug)]
enum Route {
    List,
    Create,
    Update,
    Auth,
    Details,
    MagicLink,
    Delete,
    Search,
    Verify,
}

/// Everything under `/api/`: route, authenticate, then answer.
pub(crate) fn v1(ctx: &Ctx, req: &Req) -> Resp {
    let method = &req.method;
    let route = match req.path.as_str() {
        "/api/v1/connected_accounts" => match *method {
            Method::GET => Some(Route::List),
            Method::POST => Some(Route::Create),
            Method::PUT => Some(Route::Update),
            _ => None,
        },
        "/api/v1/connected_accounts/auth" => only(method, &Method::GET, Route::Auth),
        "/api/v1/connected_accounts/details" => only(method, &Method::GET, Route::Details),
        "/api/v1/connected_accounts/magic_link" => only(method, &Method::POST, Route::MagicLink),
        "/api/v1/connected_accounts:delete" => only(method, &Method::POST, Route::Delete),
        "/api/v1/connected_accounts:search" => only(method, &Method::GET, Route::Search),
        "/api/v1/connected_accounts/user/verify" => only(method, &Method::POST, Route::Verify),
        _ => return wire::route_not_found(),
    };
    let Some(route) = route else {
        return wire::method_not_allowed();
    };
    if let Err(resp) = authenticate(ctx, &req.headers) {
        return resp;
    }
    let now = crate::now();
    let result = match route {
        Route::List => list(ctx, req),
        Route::Create => create(ctx, req, now),
        Route::Update => update(ctx, req, now),
        Route::Auth => get_account(ctx, req, View::Auth, now),
        Route::Details => get_account(ctx, req, View::Details, now),
        Route::MagicLink => magic_link(ctx, req, now),
        Route::Delete => delete(ctx, req),
        Route::Search => search(ctx, req),
        Route::Verify => verify(ctx, req, now),
    };
    result.unwrap_or_else(|resp| resp)
}

fn only(method: &Method, allowed: &Method, route: Route) -> Option<Route> {
    (method == allowed).then_some(route)
}

/// Checks `Authorization: Bearer <token>` against the tokens this emulator issued.
fn authenticate(ctx: &Ctx, headers: &HeaderMap) -> Result<(), Resp> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(wire::unauthenticated("Token empty"));
    };
    let value = value
        .to_str()
        .map_err(|_| wire::unauthenticated("invalid token"))?
        .trim();
    // `Bearer ` arrives as `Bearer`: header values lose trailing whitespace.
    if value.is_empty() || value.eq_ignore_ascii_case("bearer") {
        return Err(wire::unauthenticated("Token empty"));
    }
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(wire::unauthenticated("invalid token")),
    };
    if token.is_empty() {
        return Err(wire::unauthenticated("Token empty"));
    }
    match ctx.shared.state().check_api_token(token) {
        TokenCheck::Valid => Ok(()),
        TokenCheck::Invalid => Err(wire::unauthenticated("invalid token")),
        TokenCheck::Expired => Err(wire::unauthenticated("token expired")),
    }
}

/// Whether the `Content-Type` header names this media type (parameters ignored).
fn has_media_type(headers: &HeaderMap, wanted: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted))
}

/// Parses a JSON body strictly. An empty body without a content type counts as `{}`
/// (as the gateway does); anything else must be `application/json`.
fn json_body<T: DeserializeOwned>(req: &Req) -> Result<T, Resp> {
    let empty = req.body.iter().all(u8::is_ascii_whitespace);
    if (req.headers.contains_key(CONTENT_TYPE) || !empty)
        && !has_media_type(&req.headers, "application/json")
    {
        return Err(wire::parse_error(
            "the request body must be JSON with Content-Type: application/json",
        ));
    }
    let body: &[u8] = if empty { b"{}" } else { &req.body };
    serde_json::from_slice(body)
        .map_err(|err| wire::parse_error(&format!("invalid request body: {err}")))
}

/// Query parameters, checked against the names a route accepts.
struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    fn parse(req: &Req, allowed: &[&str]) -> Result<Self, Resp> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(req.query.as_deref().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, _)| !allowed.contains(&name.as_str()))
        {
            return Err(wire::parse_error(&format!(
                "unknown query parameter {name:?}; this route accepts {}",
                allowed.join(", ")
            )));
        }
        Ok(Self { pairs })
    }

    /// A single-valued parameter.
    fn one(&self, name: &str) -> Result<Option<&str>, Resp> {
        let mut values = self.all(name).into_iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(wire::parse_error(&format!(
                "query parameter {name:?} is given more than once"
            )));
        }
        Ok(first)
    }

    /// Every value of a repeated parameter.
    fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn invalid(field: &str, problem: &str) -> Resp {
    wire::bad_request(&format!("validation error: {field}: {problem}"))
}

fn check_max_len(field: &str, value: Option<&str>, max: usize) -> Result<(), Resp> {
    match value {
        Some(v) if v.chars().count() > max => Err(invalid(
            field,
            &format!("value length must be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

fn check_connector(field: &str, value: Option<&str>) -> Result<(), Resp> {
    check_max_len(field, value, 400)?;
    match value {
        Some(v) if !wire::is_valid_connector(v) => Err(invalid(
            field,
            "value does not match regex pattern `^[a-zA-Z0-9_: -]*$`",
        )),
        _ => Ok(()),
    }
}

fn non_empty(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// The field rules shared by every request that names one account.
fn check_lookup(lookup: &Lookup<'_>) -> Result<(), Resp> {
    check_connector("connector", lookup.connector)?;
    check_max_len("identifier", lookup.identifier, 100)?;
    check_max_len("organization_id", lookup.organization_id, 32)?;
    check_max_len("user_id", lookup.user_id, 32)?;
    if let Some(id) = lookup.id.filter(|id| !id.is_empty()) {
        if !id.starts_with("ca_") {
            return Err(invalid("id", "value does not have prefix `ca_`"));
        }
        check_max_len("id", Some(id), 32)?;
    }
    let by_key = non_empty(lookup.connector) && non_empty(lookup.identifier);
    if !(non_empty(lookup.id) || by_key) {
        return Err(wire::bad_request(
            "either id, or connector and identifier, must be provided",
        ));
    }
    Ok(())
}

/// `{"connected_account": …}` in field order.
#[derive(Serialize)]
struct AccountEnvelope {
    connected_account: AccountWire,
}

fn envelope(account: &Account, view: View) -> AccountEnvelope {
    AccountEnvelope {
        connected_account: wire::account(account, view),
    }
}

/// `GET …/auth` and `GET …/details`.
fn get_account(ctx: &Ctx, req: &Req, view: View, now: OffsetDateTime) -> Result<Resp, Resp> {
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
struct AccountInput {
    authorization_details: Option<AuthorizationInput>,
    api_config: Option<Map<String, Value>>,
}

/// The `authorization_details` oneof on input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizationInput {
    oauth_token: Option<OAuthInput>,
    static_auth: Option<StaticInput>,
    google_dwd: Option<Value>,
    trusted_idp: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OAuthInput {
    access_token: Option<String>,
    refresh_token: Option<String>,
    scopes: Option<Vec<String>>,
    domain: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticInput {
    details: Option<Map<String, Value>>,
}

/// The credentials an `authorization_details` input sets.
enum NewCredentials {
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
fn apply_credentials(account: &mut Account, credentials: NewCredentials) {
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
fn merge_api_config(account: &mut Account, config: Map<String, Value>) {
    match &mut account.api_config {
        Some(Value::Object(existing)) => existing.extend(config),
        _ => account.api_config = Some(Value::Object(config)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    connector: Option<String>,
    identifier: Option<String>,
    organization_id: Option<String>,
    user_id: Option<String>,
    connected_account: Option<AccountInput>,
}

/// `POST /api/v1/connected_accounts`.
fn create(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
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
struct UpdateRequest {
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
fn update(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
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
struct MagicLinkRequest {
    connector: Option<String>,
    identifier: Option<String>,
    id: Option<String>,
    organization_id: Option<String>,
    user_id: Option<String>,
    state: Option<String>,
    user_verify_url: Option<String>,
}

#[derive(Serialize)]
struct MagicLinkResponse {
    link: String,
    expiry: String,
}

/// `POST …/magic_link`.
fn magic_link(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
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
struct DeleteRequest {
    connector: Option<String>,
    identifier: Option<String>,
    id: Option<String>,
    organization_id: Option<String>,
    user_id: Option<String>,
}

/// `POST /api/v1/connected_accounts:delete`.
fn delete(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let body: DeleteRequest = json_body(req)?;
    let lookup = body.lookup();
    check_lookup(&lookup)?;
    let mut state = ctx.shared.state();
    let index = state.locate(&lookup).ok_or_else(wire::account_not_found)?;
    state.accounts.remove(index);
    Ok(wire::api_ok(200, &json!({})))
}

#[derive(Serialize)]
struct ListResponse {
    connected_accounts: Vec<AccountWire>,
    total_size: usize,
    next_page_token: String,
    prev_page_token: String,
}

/// Parses `page_size` (a uint32) and `page_token` into a size and an offset.
fn paging(
    state: &State,
    params: &Params,
    valid_size: impl Fn(usize) -> Result<(), Resp>,
) -> Result<(usize, usize), Resp> {
    let size = match params.one("page_size")? {
        None | Some("") => 0,
        Some(text) => text.parse::<u32>().map_err(|err| {
            wire::parse_error(&format!(
                "type mismatch, parameter: page_size, error: {err}"
            ))
        })?,
    };
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    valid_size(size)?;
    let token = params.one("page_token")?.unwrap_or_default();
    check_max_len("page_token", Some(token), 100)?;
    let offset = if token.is_empty() {
        0
    } else {
        state
            .page_offset(token)
            .ok_or_else(|| invalid("page_token", "not a page token this server issued"))?
    };
    Ok((if size == 0 { DEFAULT_PAGE_SIZE } else { size }, offset))
}

/// One page of the matching accounts, with page tokens.
fn page(state: &mut State, matching: &[usize], size: usize, offset: usize) -> ListResponse {
    let total = matching.len();
    let connected_accounts = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|&index| wire::account(&state.accounts[index], View::List))
        .collect();
    let next_page_token = if offset + size < total {
        state.page_token(offset + size)
    } else {
        String::new()
    };
    let prev_page_token = if offset > 0 {
        state.page_token(offset.saturating_sub(size))
    } else {
        String::new()
    };
    ListResponse {
        connected_accounts,
        total_size: total,
        next_page_token,
        prev_page_token,
    }
}

/// Go's `strconv.ParseBool`, which the gateway uses for query booleans.
fn parse_bool(name: &str, text: &str) -> Result<bool, Resp> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(wire::parse_error(&format!(
            "type mismatch, parameter: {name}, error: strconv.ParseBool: parsing {text:?}: invalid syntax"
        ))),
    }
}

/// `GET /api/v1/connected_accounts`.
fn list(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let params = Params::parse(
        req,
        &[
            "organization_id",
            "user_id",
            "connector",
            "identifier",
            "provider",
            "page_size",
            "page_token",
            "query",
            "connection_names",
            "is_org_wide_credential",
        ],
    )?;
    let organization_id = params.one("organization_id")?.filter(|v| !v.is_empty());
    let user_id = params.one("user_id")?.filter(|v| !v.is_empty());
    let connector = params.one("connector")?.filter(|v| !v.is_empty());
    let identifier = params.one("identifier")?.filter(|v| !v.is_empty());
    let provider = params.one("provider")?.filter(|v| !v.is_empty());
    let query = params.one("query")?.filter(|v| !v.is_empty());
    let connection_names = params.all("connection_names");
    let org_wide = match params.one("is_org_wide_credential")? {
        None | Some("") => false,
        Some(text) => parse_bool("is_org_wide_credential", text)?,
    };
    check_max_len("organization_id", organization_id, 32)?;
    check_max_len("user_id", user_id, 32)?;
    check_connector("connector", connector)?;
    check_max_len("identifier", identifier, 100)?;
    check_max_len("query", query, 100)?;
    if connection_names.len() > 20 {
        return Err(invalid(
            "connection_names",
            "value must contain no more than 20 item(s)",
        ));
    }
    for name in &connection_names {
        if name.is_empty() {
            return Err(invalid(
                "connection_names",
                "value length must be at least 1 characters",
            ));
        }
        check_connector("connection_names", Some(name))?;
    }
    if connector.is_some() && !connection_names.is_empty() {
        return Err(wire::bad_request(
            "connector and connection_names are mutually exclusive — provide only one",
        ));
    }
    let mut state = ctx.shared.state();
    let (size, offset) = paging(&state, &params, |size| {
        if size >= 100 {
            Err(invalid("page_size", "value must be less than 100"))
        } else {
            Ok(())
        }
    })?;
    let query = query.map(str::to_lowercase);
    let matching: Vec<usize> = state
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            !org_wide
                && organization_id.is_none_or(|v| a.organization_id.as_deref() == Some(v))
                && user_id.is_none_or(|v| a.user_id.as_deref() == Some(v))
                && connector.is_none_or(|v| a.connector == v)
                && identifier.is_none_or(|v| a.identifier == v)
                && provider.is_none_or(|v| a.provider.eq_ignore_ascii_case(v))
                && (connection_names.is_empty() || connection_names.contains(&a.connector.as_str()))
                && query.as_deref().is_none_or(|q| {
                    a.identifier.to_lowercase().contains(q)
                        || a.connector.to_lowercase().contains(q)
                })
        })
        .map(|(index, _)| index)
        .collect();
    let body = page(&mut state, &matching, size, offset);
    Ok(wire::api_ok(200, &body))
}

/// `GET /api/v1/connected_accounts:search`.
fn search(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let params = Params::parse(req, &["query", "page_size", "page_token", "connection_id"])?;
    let query = params.one("query")?.unwrap_or_default();
    if query.chars().count() < 3 {
        return Err(invalid(
            "query",
            "value length must be at least 3 characters",
        ));
    }
    check_max_len("query", Some(query), 100)?;
    let connection_id = params.one("connection_id")?.filter(|v| !v.is_empty());
    let mut state = ctx.shared.state();
    let (size, offset) = paging(&state, &params, |size| {
        if size > 30 {
            Err(invalid(
                "page_size",
                "value must be greater than or equal to 1 and less than or equal to 30",
            ))
        } else {
            Ok(())
        }
    })?;
    let query = query.to_lowercase();
    let matching: Vec<usize> = state
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            connection_id.is_none_or(|id| wire::connection_id(&a.connector) == id)
                && [&a.identifier, &a.provider, &a.connector]
                    .iter()
                    .any(|field| field.to_lowercase().contains(&query))
        })
        .map(|(index, _)| index)
        .collect();
    let body = page(&mut state, &matching, size, offset);
    Ok(wire::api_ok(200, &body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    auth_request_id: Option<String>,
    identifier: Option<String>,
}

/// `POST …/user/verify`: completes verification mode's second step.
fn verify(ctx: &Ctx, req: &Req, now: OffsetDateTime) -> Result<Resp, Resp> {
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

// ---- proxy ----------------------------------------------------------------------

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
        state.accounts[index].last_used_at = Some(crate::now());
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

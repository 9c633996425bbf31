//! The public data types: start-up options, seeds, faults, the request log and magic
//! links. Re-exported from the crate root.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::rules;

/// Default client id accepted by `POST /oauth/token`.
pub const DEFAULT_CLIENT_ID: &str = "skc_emulator";
/// Default client secret accepted by `POST /oauth/token`.
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";
/// Default lifetime of a magic link.
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(60);
/// Default lifetime of an API token from `POST /oauth/token` (`expires_in`).
pub const API_TOKEN_LIFETIME: Duration = Duration::from_secs(86_399);

/// How to start an [`Emulator`].
#[derive(Clone, Debug)]
pub struct Options {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The only client id `POST /oauth/token` accepts.
    pub client_id: String,
    /// The only client secret `POST /oauth/token` accepts.
    pub client_secret: String,
    /// Lifetime of the magic links minted by `POST …/magic_link`.
    pub link_ttl: Duration,
    /// Lifetime of the API tokens `POST /oauth/token` issues (its `expires_in`, in whole
    /// seconds); a token used after it gets 401. Default [`API_TOKEN_LIFETIME`].
    pub api_token_lifetime: Duration,
    /// Added before answering every logged request (see [`Emulator::requests`]).
    pub latency: Duration,
    /// Base URL the proxy (`/proxy/…`) forwards to. A value starting with `/` is
    /// relative to the emulator itself, e.g. `/_emulator/echo`.
    pub upstream: Option<String>,
    /// Accounts present at start-up (and again after [`crate::Emulator::reset`]).
    pub seed: Vec<SeedAccount>,
    /// The environment's connections (`GET /api/v1/connections/app`) at start-up and
    /// after a reset; default [`default_connections`].
    pub connections: Vec<SeedConnection>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            port: 0,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            link_ttl: DEFAULT_LINK_TTL,
            api_token_lifetime: API_TOKEN_LIFETIME,
            latency: Duration::ZERO,
            upstream: None,
            seed: Vec::new(),
            connections: default_connections(),
        }
    }
}

/// A connected account to put into the emulator directly, bypassing the API.
///
/// Every field has a default, so `{"connector":"gmail_x","identifier":"me"}` is a
/// complete seed: an `ACTIVE` OAuth account with a generated token valid for an hour.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedAccount {
    /// The connection name (`connector` on the wire).
    pub connector: String,
    /// The end-user key.
    pub identifier: String,
    /// A `ConnectorStatus` name; default `ACTIVE`.
    pub status: Option<String>,
    /// Default: the connector's text before the first `_` or `-`, upper-cased.
    pub provider: Option<String>,
    /// A `ConnectorType` name; default `OAUTH`, or for `static_auth` `BASIC_AUTH`
    /// (`username` + `password`), `BEARER_TOKEN` (`token` / `access_token`) or `API_KEY`.
    pub authorization_type: Option<String>,
    /// Generated (`ya29.emu.…`) for an `ACTIVE` OAuth account when absent.
    pub access_token: Option<String>,
    /// Generated for an `ACTIVE` OAuth account when absent.
    pub refresh_token: Option<String>,
    /// Granted scopes; empty means a default list for an `ACTIVE` OAuth account.
    pub scopes: Vec<String>,
    /// Seconds from now until `token_expires_at`; default 3600 for an `ACTIVE` OAuth
    /// account, otherwise unknown. Negative means already past.
    pub token_expires_in_secs: Option<i64>,
    /// The `static_auth.details` object, for API-key, bearer and basic connections.
    pub static_auth: Option<serde_json::Value>,
}

impl SeedAccount {
    /// Checks the seed the way the JSON control API and `--seed` do: connector and
    /// identifier as the API would accept them, known status and type names, and an
    /// object for `static_auth`. The Rust API ([`Emulator::seed`]) does not check.
    /// object for `static_auth`. The Rust API ([`crate::Emulator::seed`]) does not check.
    pub fn validate(&self) -> Result<(), String> {
        if self.connector.is_empty() || !rules::is_valid_connector(&self.connector) {
            return Err(format!(
                "connector {:?} must be 1-400 characters matching ^[a-zA-Z0-9_: -]*$",
                self.connector
            ));
        }
        let identifier_len = self.identifier.chars().count();
        if identifier_len == 0 || identifier_len > 100 {
            return Err(format!(
                "identifier {:?} must be 1-100 characters",
                self.identifier
            ));
        }
        if let Some(status) = &self.status
            && !rules::STATUSES.contains(&status.as_str())
        {
            return Err(format!(
                "status {status:?} is not one of {}",
                rules::STATUSES.join(", ")
            ));
        }
        if let Some(kind) = &self.authorization_type
            && !rules::AUTHORIZATION_TYPES.contains(&kind.as_str())
        {
            return Err(format!(
                "authorization_type {kind:?} is not one of {}",
                rules::AUTHORIZATION_TYPES.join(", ")
            ));
        }
        if let Some(details) = &self.static_auth
            && !details.is_object()
        {
            return Err("static_auth must be a JSON object (the details)".to_owned());
        }
        Ok(())
    }
}

/// A connection as the dashboard shows it: `key_id` is the connection name that every
/// other call takes as `connector`.
///
/// Every field but `key_id` has a default: `{"key_id":"gmail_x"}` is a completed,
/// enabled OAuth connection of provider `GMAIL`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedConnection {
    /// The connection name.
    pub key_id: String,
    /// Default: the name's text before the first `_` or `-`, upper-cased.
    pub provider_key: Option<String>,
    /// `OAUTH` (default), `API_KEY`, `BASIC`, `BEARER`, `OAUTH_M2M`, `GOOGLE_DWD`, …
    #[serde(rename = "type")]
    pub connection_type: Option<String>,
    /// `DRAFT`, `IN_PROGRESS` or `COMPLETED` (default).
    pub status: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

impl SeedConnection {
    /// A completed, enabled connection of this type.
    #[must_use]
    pub fn new(key_id: &str, provider_key: &str, connection_type: &str) -> Self {
        Self {
            key_id: key_id.to_owned(),
            provider_key: Some(provider_key.to_owned()),
            connection_type: Some(connection_type.to_owned()),
            ..Self::default()
        }
    }

    /// Checks the connection the way the JSON control API does.
    pub fn validate(&self) -> Result<(), String> {
        if self.key_id.is_empty() || !rules::is_valid_connector(&self.key_id) {
            return Err(format!(
                "key_id {:?} must be 1-400 characters matching ^[a-zA-Z0-9_: -]*$",
                self.key_id
            ));
        }
        if let Some(key) = &self.provider_key
            && (key.is_empty()
                || key.len() > 100
                || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(format!(
                "provider_key {key:?} must be 1-100 letters, digits or _"
            ));
        }
        if let Some(kind) = &self.connection_type
            && !rules::CONNECTION_TYPES.contains(&kind.as_str())
        {
            return Err(format!(
                "type {kind:?} is not one of {}",
                rules::CONNECTION_TYPES.join(", ")
            ));
        }
        if let Some(status) = &self.status
            && !rules::CONNECTION_STATUSES.contains(&status.as_str())
        {
            return Err(format!(
                "status {status:?} is not one of {}",
                rules::CONNECTION_STATUSES.join(", ")
            ));
        }
        Ok(())
    }
}

/// The connections an emulator starts with unless [`Options::connections`] says
/// otherwise: the names the example seed uses (`gmail_u3134a`, `slack_x7y9z`,
/// `github-connect`, `freshdesk-8`), `notion_1`, and a draft Salesforce connection.
#[must_use]
pub fn default_connections() -> Vec<SeedConnection> {
    vec![
        SeedConnection::new("gmail_u3134a", "GMAIL", "OAUTH"),
        SeedConnection::new("slack_x7y9z", "SLACK", "OAUTH"),
        SeedConnection::new("github-connect", "GITHUB", "OAUTH"),
        SeedConnection::new("notion_1", "NOTION", "OAUTH"),
        SeedConnection::new("freshdesk-8", "FRESHDESK", "API_KEY"),
        SeedConnection {
            status: Some("DRAFT".to_owned()),
            enabled: Some(false),
            ..SeedConnection::new("salesforce-1hpnGzcD", "SALESFORCE", "OAUTH")
        },
    ]
}

/// One tool execution that ran (`POST /api/v1/execute_tool` answered, or was about
/// to answer, with its data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// The `execution_id` answered.
    pub execution_id: String,
    /// The tool that ran.
    pub tool_name: String,
    /// The connection name of the account it ran as.
    pub connector: String,
    /// The identifier of the account it ran as.
    pub identifier: String,
    /// The `ca_…` id of the account it ran as.
    pub connected_account_id: String,
    /// The params as received.
    pub params: serde_json::Value,
    /// `agent_run_id`, when given.
    pub agent_run_id: Option<String>,
    /// The `data` answered.
    pub data: serde_json::Value,
    /// When it ran, RFC 3339 UTC.
    pub at: String,
}

/// A fault to inject into the next matching requests: any status, headers and body,
/// a delay, a hang or a dropped connection, for any logged route.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fault {
    /// Request path to match, without the query string: exact, or a prefix when it
    /// ends in `*` (`/proxy/*`).
    pub path: String,
    /// Only requests with this method (`GET`, `POST`, …, any case); `None`: any.
    pub method: Option<String>,
    /// How many of the matching requests get the fault; 0 counts as 1.
    pub count: u32,
    /// Let the first `nth - 1` matching requests through untouched, then apply the
    /// fault (to `count` requests); 0 and 1 both mean the next matching request.
    pub nth: u32,
    /// Answer with this status: with `body` if given, else the gRPC error body for
    /// the status (unless `no_body`). Defaults to 503 when `no_body` is set without a
    /// status, and to 200 when only `body` is given.
    pub status: Option<u16>,
    /// Adds `Retry-After: <seconds>` to the answer.
    pub retry_after: Option<u64>,
    /// Answer with an empty body.
    pub no_body: bool,
    /// Never answer; the request stays pending until the client gives up.
    pub hang: bool,
    /// Wait this long, then answer (normally, or as the other fields say).
    pub delay_ms: Option<u64>,
    /// Headers added to whatever the answer is, in order, repeats allowed. A
    /// `content-type` here replaces the default one. Names or values that HTTP cannot
    /// carry are skipped (the JSON control API rejects them).
    pub headers: Vec<(String, String)>,
    /// The answer's body, instead of the gRPC error body.
    pub body: Option<FaultBody>,
    /// Close the connection without answering, after reading the request (and after
    /// `delay_ms`). Logged with status 0.
    pub drop: bool,
    /// Handle the request normally first (an account is created, a tool runs), then
    /// answer as the fault says (or drop, or hang) instead of with the real answer.
    pub handle_first: bool,
}

/// A fault's answer body. In JSON: `{"json": …}`, `{"text": "…"}` or
/// `{"base64": "…"}` (raw bytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultBody {
    /// Any JSON value, sent with `content-type: application/json`.
    Json(serde_json::Value),
    /// Text as is, with no content type unless `headers` gives one.
    Text(String),
    /// Raw bytes (base64 in JSON), with no content type unless `headers` gives one.
    #[serde(rename = "base64", with = "base64_bytes")]
    Bytes(Vec<u8>),
}

/// `Vec<u8>` as standard base64 text.
mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

impl Fault {
    /// Whether a request's method and path select this fault.
    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        path_ok
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.is_empty() || m.eq_ignore_ascii_case(method))
    }
}

/// One request received by the emulator, as seen on the wire.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Request path without the query string.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, as UTF-8 (lossy).
    pub body: String,
    /// The status answered; 0 while unanswered, and for ever for a `hang` fault.
    pub status: u16,
    /// Id of the TCP connection that carried the request, counting from 1.
    pub connection: u64,
    /// Milliseconds since the emulator started, when the request was received.
    pub at_ms: u64,
}

/// A magic link minted by `POST /api/v1/connected_accounts/magic_link`.
#[derive(Clone, Debug, Serialize)]
pub struct MagicLinkInfo {
    /// The full URL, `http://127.0.0.1:PORT/magicLink/<uuid>`.
    pub link: String,
    /// The connection name of the account it authorizes.
    pub connector: String,
    /// The identifier of the account it authorizes.
    pub identifier: String,
    /// Expiry, RFC 3339 UTC.
    pub expiry: String,
    /// Whether the link was already used (allowed or denied).
    pub used: bool,
}

/// The current time; one place so every timestamp comes from the same clock.
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

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
    /// Added before answering every logged request (see [`Emulator::requests`]).
    pub latency: Duration,
    /// Base URL the proxy (`/proxy/…`) forwards to. A value starting with `/` is
    /// relative to the emulator itself, e.g. `/_emulator/echo`.
    pub upstream: Option<String>,
    /// Accounts present at start-up (and again after [`Emulator::reset`]).
    pub seed: Vec<SeedAccount>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            port: 0,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            link_ttl: DEFAULT_LINK_TTL,
            latency: Duration::ZERO,
            upstream: None,
            seed: Vec::new(),
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

/// A fault to inject into the next matching requests.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fault {
    /// Exact request path to match, without the query string.
    pub path: String,
    /// How many of the next matching requests get the fault; 0 counts as 1.
    pub count: u32,
    /// Answer with this status (and the gRPC error body for it, unless `no_body`).
    /// Defaults to 503 when `no_body` is set without a status.
    pub status: Option<u16>,
    /// Adds `Retry-After: <seconds>` to the answer.
    pub retry_after: Option<u64>,
    /// Answer with an empty body.
    pub no_body: bool,
    /// Never answer; the request stays pending until the client gives up.
    pub hang: bool,
    /// Wait this long, then answer (normally, or with `status` if given).
    pub delay_ms: Option<u64>,
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

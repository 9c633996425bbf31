//! Getting credentials: one `/auth` lookup per service, concurrently, with the authorize flow
//! or an exit-4 error (with a fresh link) for an account that needs authorization. Shared by
//! `token`, `exec`, `request` and `tools run`.

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use super::authorization::{self as authorize, FlowOptions, human_duration, pending_link};
use super::context::{Context, Target};
use crate::agent::Agent;
use crate::config::Config;
use crate::error::{CliError, ErrorKind};
use crate::hosts::{self, ApiUrl};
use crate::runtime::join_all;
use crate::scalekit::Client;
use crate::scalekit::types::{AccountStatus, ConnectedAccount, SecretMap, format_timestamp};
use crate::secret::Secret;

/// How long to pause before asking Scalekit again for a token that expires too soon
/// (Scalekit refreshes in the background; docs/scalekit-wire.md §19).
const MIN_TTL_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// A credential ready to print.
#[derive(Debug)]
pub(crate) struct Credential {
    pub(crate) target: Target,
    /// What a request needs: the access token, API key, or `username:password`.
    pub(crate) value: Secret,
    /// `Bearer` or `Basic`.
    pub(crate) scheme: Scheme,
    pub(crate) authorization_type: String,
    pub(crate) expires_at: Option<time::OffsetDateTime>,
    pub(crate) scopes: Vec<String>,
    /// Static credentials: the fields Scalekit returned (`Debug` shows only their names).
    pub(crate) static_fields: Option<SecretMap>,
}

/// How the credential goes into an `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    Basic,
}

impl Credential {
    /// `Authorization` header value.
    pub(crate) fn header_value(&self) -> String {
        match self.scheme {
            Scheme::Bearer => format!("Bearer {}", self.value.expose()),
            Scheme::Basic => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(self.value.expose())
            ),
        }
    }
}

/// The service an API URL belongs to: the one named (after checking that the URL's host is
/// one of its hosts: exit 2 otherwise), or the one configured service that serves the host
/// (exit 3 when none or several do). `name_it(service)` is the command that names one.
pub(crate) fn service_for_url(
    ctx: &Context,
    config: &Config,
    url: &ApiUrl,
    explicit: Option<&str>,
    name_it: impl Fn(&str) -> String,
) -> Result<String, CliError> {
    match explicit {
        Some(name) => {
            let (service, mapping) = ctx.service(config, name)?;
            hosts::check(url, &service, mapping)?;
            Ok(service)
        }
        None if ctx.nothing_configured(config) => Err(super::suggest::init_first()),
        None => hosts::pick(config, url, name_it),
    }
}

/// How [`credentials`] treats services that need authorization, and how fresh a token must be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchOptions {
    /// Run the authorize flow (interactive, or `--wait`) instead of failing with exit 4.
    pub(crate) authorize: bool,
    pub(crate) flow: FlowOptions,
    /// `--min-ttl`: a token that expires within this time is asked for once more; zero
    /// refuses only a token that is already past its expiry.
    pub(crate) min_ttl: Duration,
    /// The exit-4 hint: what to run after approving, for a service.
    pub(crate) rerun_hint: fn(&str) -> String,
}

/// Every resolved target's credential: one API token and one `/auth` lookup per service, all
/// concurrent (1 + N requests). Services that need authorization get the authorize flow (one
/// at a time, when `options.authorize`) or an exit-4 error with a fresh link. Results come
/// back in argument order; unresolved targets keep their error.
pub(crate) async fn credentials(
    ctx: &Context,
    client: &Client,
    targets: &[Result<Target, CliError>],
    options: FetchOptions,
) -> Vec<anyhow::Result<Credential>> {
    let agent = Agent::for_run(ctx.no_agent, &ctx.env, &ctx.paths, client);
    let results = fetch_all(client, targets, options.min_ttl, agent.as_deref()).await;
    let mut outcomes = Vec::with_capacity(results.len());
    for result in results {
        let outcome = match result {
            Ok(Fetched::Ready(cred)) => Ok(*cred),
            Ok(Fetched::NeedsAuthorization(target, status)) => {
                if options.authorize {
                    let mut options = options;
                    // `/auth` answered 404: the flow need not look the account up again.
                    options.flow.account_missing = status == AccountStatus::Unspecified;
                    authorize_then_fetch(ctx, client, &target, options).await
                } else {
                    Err(authorization_required(
                        client,
                        &target,
                        &status,
                        &(options.rerun_hint)(&target.service),
                    )
                    .await)
                }
            }
            Ok(Fetched::TooShort {
                target,
                expires_at,
                min_ttl,
            }) => Err(too_short(&target, expires_at, min_ttl)),
            Err(err) => Err(err),
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// The answer for one service before any authorization.
enum Fetched {
    Ready(Box<Credential>),
    NeedsAuthorization(Target, AccountStatus),
    /// `ACTIVE`, but the token expires sooner than `--min-ttl`, even when asked again.
    TooShort {
        target: Target,
        expires_at: time::OffsetDateTime,
        min_ttl: Duration,
    },
}

/// `GET /auth` for every resolved target, concurrently, on the one client. Results come
/// back in argument order.
async fn fetch_all(
    client: &Client,
    targets: &[Result<Target, CliError>],
    min_ttl: Duration,
    agent: Option<&Agent>,
) -> Vec<Result<Fetched, anyhow::Error>> {
    join_all(targets.iter().map(|target| async move {
        match target {
            Ok(target) => match from_agent(agent, target, min_ttl).await {
                Some(cred) => Ok(Fetched::Ready(Box::new(cred))),
                None => fetch(client, target.clone(), min_ttl).await,
            },
            Err(err) => Err(err.clone().into()),
        }
    }))
    .await
}

/// The running agent's token for a target, if it has one with more than
/// `max(60 s, min_ttl)` left (src/agent): a hit costs no request. `None`: ask Scalekit.
async fn from_agent(
    agent: Option<&Agent>,
    target: &Target,
    min_ttl: Duration,
) -> Option<Credential> {
    let cached = agent?
        .token(
            &target.service,
            &target.connection_name,
            &target.identifier,
            min_ttl,
        )
        .await?;
    Some(Credential {
        target: target.clone(),
        value: cached.access_token,
        scheme: Scheme::Bearer,
        authorization_type: cached.authorization_type,
        expires_at: Some(cached.expires_at),
        scopes: cached.scopes,
        static_fields: None,
    })
}

/// One `/auth` lookup. A token that expires within `min_ttl` (zero: one already past its
/// expiry) is asked for once more after a short pause, since Scalekit refreshes tokens in the
/// background (docs/scalekit-wire.md §19). Still expired: the account needs authorization again;
/// still too short: [`Fetched::TooShort`].
async fn fetch(client: &Client, target: Target, min_ttl: Duration) -> anyhow::Result<Fetched> {
    let mut asked_again = false;
    loop {
        let account = client
            .account_auth(&target.connection_name, &target.identifier)
            .await?;
        let Some(account) = account else {
            return Ok(Fetched::NeedsAuthorization(
                target,
                AccountStatus::Unspecified,
            ));
        };
        if account.status != AccountStatus::Active {
            return Ok(Fetched::NeedsAuthorization(target, account.status));
        }
        // A token without a known expiry (static credentials, non-expiring tokens) is never
        // too short.
        let now = time::OffsetDateTime::now_utc();
        let short = account
            .token_expires_at
            .filter(|&at| at <= now || at - now < min_ttl);
        if let Some(expires_at) = short {
            if !asked_again {
                asked_again = true;
                tokio::time::sleep(MIN_TTL_RETRY_PAUSE).await;
                continue;
            }
            if expires_at <= time::OffsetDateTime::now_utc() {
                return Ok(Fetched::NeedsAuthorization(target, AccountStatus::Expired));
            }
            return Ok(Fetched::TooShort {
                target,
                expires_at,
                min_ttl,
            });
        }
        return match credential(target.clone(), &account)? {
            Some(cred) => Ok(Fetched::Ready(Box::new(cred))),
            None => Ok(Fetched::NeedsAuthorization(target, account.status)),
        };
    }
}

/// Exit 4 for a token that stays too short-lived for `--min-ttl`: says how long it has left
/// and what was asked. No link: the account is `ACTIVE`; only a re-authorization would help.
fn too_short(
    target: &Target,
    expires_at: time::OffsetDateTime,
    min_ttl: Duration,
) -> anyhow::Error {
    CliError::new(
        ErrorKind::AuthorizationRequired,
        format!(
            "{}'s token expires in {} (at {}), sooner than the {}s --min-ttl asks for; \
             Scalekit returned no fresher token when asked again",
            target.service,
            human_duration(authorize::until(expires_at)),
            format_timestamp(expires_at),
            min_ttl.as_secs()
        ),
    )
    .with_hint(format!(
        "retry in a while, lower --min-ttl, or re-authorize: scalekit-auth authorize {} --force",
        target.service
    ))
    .into()
}

/// What a request needs from an `ACTIVE` account; `None` when the account holds no usable
/// token (then it needs authorization again).
pub(crate) fn credential(
    target: Target,
    account: &ConnectedAccount,
) -> Result<Option<Credential>, CliError> {
    let details = account.authorization_details.clone().unwrap_or_default();
    if let Some(oauth) = details.oauth_token.filter(|t| !t.access_token.is_empty()) {
        return Ok(Some(Credential {
            target,
            value: oauth.access_token,
            scheme: Scheme::Bearer,
            authorization_type: non_empty(&account.authorization_type, "OAUTH"),
            expires_at: account.token_expires_at,
            scopes: oauth.scopes,
            static_fields: None,
        }));
    }
    let Some(fields) = details.static_auth.map(|s| s.details.0) else {
        return Ok(None);
    };
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let (value, scheme) =
        if let Some(v) = text("api_key").or(text("token")).or(text("access_token")) {
            (v.to_owned(), Scheme::Bearer)
        } else if let (Some(user), Some(password)) = (text("username"), text("password")) {
            (format!("{user}:{password}"), Scheme::Basic)
        } else {
            let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
            return Err(CliError::failed(format!(
                "{}: unsupported static credential (fields: {})",
                target.service,
                keys.join(", ")
            )));
        };
    Ok(Some(Credential {
        target,
        value: Secret::new(value),
        scheme,
        authorization_type: non_empty(&account.authorization_type, "API_KEY"),
        expires_at: account.token_expires_at,
        scopes: Vec::new(),
        static_fields: Some(SecretMap(fields)),
    }))
}

fn non_empty(value: &str, default: &str) -> String {
    if value.is_empty() {
        default.to_owned()
    } else {
        value.to_owned()
    }
}

/// Runs the authorize flow, then asks for the token again.
async fn authorize_then_fetch(
    ctx: &Context,
    client: &Client,
    target: &Target,
    options: FetchOptions,
) -> anyhow::Result<Credential> {
    authorize::flow(ctx, client, target, options.flow).await?;
    match fetch(client, target.clone(), options.min_ttl).await? {
        Fetched::Ready(cred) => Ok(*cred),
        Fetched::TooShort {
            target,
            expires_at,
            min_ttl,
        } => Err(too_short(&target, expires_at, min_ttl)),
        Fetched::NeedsAuthorization(_, status) => Err(CliError::new(
            ErrorKind::AuthorizationRequired,
            format!(
                "{} is {} right after authorization",
                target.service,
                status.as_str()
            ),
        )
        .with_hint(format!("scalekit-auth authorize {}", target.service))
        .into()),
    }
}

/// Exit 4 with a link: gets or creates the account and mints a link, so the user (or the
/// agent's user) can approve without running another command first. `hint` says what to run
/// after approving.
pub(crate) async fn authorization_required(
    client: &Client,
    target: &Target,
    status: &AccountStatus,
    hint: &str,
) -> anyhow::Error {
    let state = match status {
        AccountStatus::Unspecified => "is not connected yet".to_owned(),
        other => format!("is {}", other.as_str()),
    };
    let mut err = CliError::new(
        ErrorKind::AuthorizationRequired,
        format!(
            "authorization needed for {} (connection {}, identifier {}): the account {state}",
            target.service, target.connection_name, target.identifier
        ),
    )
    .with_hint(hint);
    if *status == AccountStatus::PendingVerification {
        // Approved already; only the verification is left. A new link would not help.
        return err.into();
    }
    let ensure = async {
        // Unspecified: the lookup before this answered 404. A 404 is an answer, asked once:
        // create at once (a 409 on create covers an account that appeared meanwhile).
        if *status == AccountStatus::Unspecified {
            client
                .create_account(&target.connection_name, &target.identifier)
                .await?;
        }
        authorize::mint(client, target).await
    };
    match ensure.await {
        Ok(link) => {
            err = err.with_link(pending_link(&link));
            err.into()
        }
        // The link could not be minted: that failure (e.g. unreachable) says more.
        Err(link_err) => link_err.context(err.message),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn static_credentials() {
        let target = Target {
            service: "x".into(),
            connection_name: "c".into(),
            identifier: "i".into(),
        };
        let account: ConnectedAccount = serde_json::from_value(json!({
            "status": "ACTIVE", "authorization_type": "BASIC_AUTH",
            "authorization_details": {"static_auth": {"details": {"username": "u", "password": "p"}}}
        }))
        .unwrap();
        let cred = credential(target.clone(), &account).unwrap().unwrap();
        assert_eq!(cred.value.expose(), "u:p");
        assert_eq!(cred.header_value(), "Basic dTpw");
        let account: ConnectedAccount = serde_json::from_value(json!({
            "status": "ACTIVE", "authorization_type": "API_KEY",
            "authorization_details": {"static_auth": {"details": {"api_key": "k"}}}
        }))
        .unwrap();
        let cred = credential(target, &account).unwrap().unwrap();
        assert_eq!(cred.header_value(), "Bearer k");
    }
}

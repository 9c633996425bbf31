//! `token`: a fresh access token per service, fetched concurrently, printed in argument order.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::authorize::{self, FlowOptions, pending_link};
use super::{Context, Target};
use crate::cli::TokenArgs;
use crate::error::{self, CliError, ErrorKind, ExitStatus};
use crate::output::Output;
use crate::scalekit::Client;
use crate::scalekit::types::{AccountStatus, ConnectedAccount, SecretMap, format_timestamp};
use crate::secret::Secret;

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

pub(crate) async fn run(ctx: &Context, args: &TokenArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    // Resolve every service first: a typo costs no request.
    let targets: Vec<Result<Target, CliError>> = args
        .services
        .iter()
        .map(|name| ctx.target(&config, name, args.identifier.as_deref()))
        .collect();
    if targets.iter().all(Result::is_err)
        || (!args.format.json && targets.iter().any(Result::is_err))
    {
        // Nothing to fetch, or a plain-text run that could not print every line anyway.
        let first = targets.into_iter().find_map(Result::err);
        return Err(first.map_or_else(|| CliError::usage("no service given").into(), Into::into));
    }
    let client = ctx.client(&config)?;
    let interactive = ctx.interactive(args.format.json);
    let options = FlowOptions {
        wait: true,
        timeout: Duration::from_secs(args.timeout),
        qr: args.qr,
        open: false,
        force: false,
        interactive,
    };
    let results = fetch_all(&client, &targets).await;
    let mut outcomes = Vec::with_capacity(results.len());
    for result in results {
        let outcome = match result {
            Ok(Fetched::Ready(cred)) => Ok(*cred),
            Ok(Fetched::NeedsAuthorization(target, status)) => {
                if interactive || args.wait {
                    authorize_then_fetch(ctx, &client, &target, options).await
                } else {
                    Err(authorization_required(&client, &target, &status).await)
                }
            }
            Err(err) => Err(err),
        };
        outcomes.push(outcome);
    }
    print(ctx, args, outcomes)
}

/// The answer for one service before any authorization.
enum Fetched {
    Ready(Box<Credential>),
    NeedsAuthorization(Target, AccountStatus),
}

/// `GET /auth` for every resolved target, concurrently, on the one client. Results come
/// back in argument order.
async fn fetch_all(
    client: &Arc<Client>,
    targets: &[Result<Target, CliError>],
) -> Vec<Result<Fetched, anyhow::Error>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, target) in targets.iter().enumerate() {
        if let Ok(target) = target {
            let client = Arc::clone(client);
            let target = target.clone();
            tasks.spawn(async move { (index, fetch(&client, target).await) });
        }
    }
    let mut results: Vec<Option<Result<Fetched, anyhow::Error>>> = targets
        .iter()
        .map(|t| t.as_ref().err().map(|e| Err(e.clone().into())))
        .collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, result)) => results[index] = Some(result),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("lost a result"))))
        .collect()
}

/// One `/auth` lookup. A token that is already past its expiry is asked for once more after
/// a short pause (Scalekit refreshes in the background; scalekit-api.md §8).
async fn fetch(client: &Client, target: Target) -> anyhow::Result<Fetched> {
    const EXPIRED_RETRY_PAUSE: Duration = Duration::from_secs(1);
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
        let expired = account
            .token_expires_at
            .is_some_and(|t| t <= time::OffsetDateTime::now_utc());
        if expired && !asked_again {
            asked_again = true;
            tokio::time::sleep(EXPIRED_RETRY_PAUSE).await;
            continue;
        }
        if expired {
            return Ok(Fetched::NeedsAuthorization(target, AccountStatus::Expired));
        }
        return match credential(target.clone(), &account)? {
            Some(cred) => Ok(Fetched::Ready(Box::new(cred))),
            None => Ok(Fetched::NeedsAuthorization(target, account.status)),
        };
    }
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
    options: FlowOptions,
) -> anyhow::Result<Credential> {
    authorize::flow(ctx, client, target, options).await?;
    match fetch(client, target.clone()).await? {
        Fetched::Ready(cred) => Ok(*cred),
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
/// agent's user) can approve without running another command first.
async fn authorization_required(
    client: &Client,
    target: &Target,
    status: &AccountStatus,
) -> anyhow::Error {
    let state = match status {
        AccountStatus::Unspecified => "not connected yet".to_owned(),
        other => format!("is {}", other.as_str()),
    };
    let mut err = CliError::new(
        ErrorKind::AuthorizationRequired,
        format!(
            "authorization needed for {} (connection {}, identifier {}): the account {state}",
            target.service, target.connection_name, target.identifier
        ),
    )
    .with_hint(format!(
        "after approving, run: scalekit-auth token {0} (or wait for it: scalekit-auth token {0} --wait)",
        target.service
    ));
    if *status == AccountStatus::PendingVerification {
        // Approved already; only the verification is left. A new link would not help.
        return err.into();
    }
    let ensure = async {
        if *status == AccountStatus::Unspecified
            && client
                .account_details(&target.connection_name, &target.identifier)
                .await?
                .is_none()
        {
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

/// Prints the results in argument order and picks the exit code: the most severe failure
/// (4 over 5 over 1, then the rest).
fn print(
    ctx: &Context,
    args: &TokenArgs,
    outcomes: Vec<anyhow::Result<Credential>>,
) -> anyhow::Result<ExitStatus> {
    let failures: Vec<CliError> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .map(error::classify)
        .collect();
    let exit = most_severe(failures.iter().map(|e| e.kind));
    if args.format.json {
        let docs: Vec<Value> = args
            .services
            .iter()
            .zip(&outcomes)
            .map(|(name, outcome)| match outcome {
                Ok(cred) => json_success(cred),
                Err(err) => {
                    let err = error::classify(err);
                    let mut doc = Output::error_json(&err);
                    doc["service"] = json!(name.to_lowercase());
                    doc
                }
            })
            .collect();
        let doc = if docs.len() == 1 {
            docs.into_iter().next().unwrap_or_default()
        } else {
            json!(docs)
        };
        ctx.out.json(&doc)?;
        for err in &failures {
            ctx.out.error(err);
        }
        return Ok(exit);
    }
    if !failures.is_empty() {
        // Either every line or none: a script reading line N must not get another service's.
        for err in &failures {
            ctx.out.error(err);
        }
        return Ok(exit);
    }
    let mut text = String::new();
    for cred in outcomes.into_iter().flatten() {
        if args.format.header {
            text.push_str(&format!("Authorization: {}\n", cred.header_value()));
        } else if args.format.env {
            text.push_str(&format!(
                "{}={}\n",
                env_name(&cred.target.service),
                cred.value.expose()
            ));
        } else {
            text.push_str(cred.value.expose());
            text.push('\n');
        }
    }
    ctx.out.data(&text)?;
    Ok(ExitStatus::Success)
}

/// `gmail` → `GMAIL_ACCESS_TOKEN`; `-` becomes `_`.
pub(crate) fn env_name(service: &str) -> String {
    format!("{}_ACCESS_TOKEN", service.to_uppercase().replace('-', "_"))
}

fn json_success(cred: &Credential) -> Value {
    let mut doc = json!({
        "service": cred.target.service,
        "connection_name": cred.target.connection_name,
        "identifier": cred.target.identifier,
        "access_token": cred.value.expose(),
        "token_type": if cred.scheme == Scheme::Basic { "Basic" } else { "Bearer" },
        "expires_at": cred.expires_at.map(format_timestamp),
        "scopes": cred.scopes,
    });
    if let Some(fields) = &cred.static_fields {
        doc["authorization_type"] = json!(cred.authorization_type);
        doc["credentials"] = Value::Object(fields.0.clone());
    }
    doc
}

/// The exit code for a set of failures: 4 over 5 over 1 (cli.md), then 3 and 2.
pub(crate) fn most_severe(kinds: impl Iterator<Item = ErrorKind>) -> ExitStatus {
    let rank = |k: ErrorKind| match k {
        ErrorKind::Interrupted => 7,
        ErrorKind::AuthorizationRequired => 6,
        ErrorKind::Unreachable => 5,
        ErrorKind::Failed => 4,
        ErrorKind::NotConfigured => 3,
        ErrorKind::Usage => 2,
    };
    kinds
        .max_by_key(|k| rank(*k))
        .map_or(ExitStatus::Success, ErrorKind::exit_status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        assert_eq!(env_name("gmail"), "GMAIL_ACCESS_TOKEN");
        assert_eq!(env_name("google-drive"), "GOOGLE_DRIVE_ACCESS_TOKEN");
    }

    #[test]
    fn severity_order() {
        use ErrorKind::*;
        assert_eq!(
            most_severe([Failed, Unreachable].into_iter()),
            ExitStatus::Unreachable
        );
        assert_eq!(
            most_severe([Unreachable, AuthorizationRequired, Failed].into_iter()),
            ExitStatus::AuthorizationRequired
        );
        assert_eq!(most_severe(std::iter::empty()), ExitStatus::Success);
    }

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

//! `request`: one HTTP call to a provider's API through Scalekit's proxy, so the service's
//! token never touches this machine. The answer's body goes to stdout as it is (or to a file
//! with `-o`, or wrapped in JSON with `--json`); its status decides the exit code (0 for 2xx,
//! 1 otherwise).

mod body;
mod show;

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

use super::{Context, Target};
use crate::agent::Agent;
use crate::cli::RequestArgs;
use crate::error::{CliError, ErrorKind, ExitStatus};
use crate::flows::authorization::{self as authorize, FlowOptions};
use crate::flows::credentials as token;
use crate::flows::proxy::{self as parse, DEFAULT_CONTENT_TYPE};
use crate::hosts::ApiUrl;
use crate::scalekit::types::AccountStatus;
use crate::scalekit::{ApiError, ProxyRefusal, ProxyRequest, is_idempotent};

pub(crate) async fn run(ctx: &Context, args: &RequestArgs) -> anyhow::Result<ExitStatus> {
    // clap fills the positionals from the left: two words are METHOD and PATH_OR_URL.
    let (service_word, method_word, location) = match (&args.service, &args.method, &args.location)
    {
        (Some(method), Some(location), None) => (None, method, location),
        (Some(service), Some(method), Some(location)) => (Some(service.as_str()), method, location),
        _ => return Err(usage_shape("expected [SERVICE] METHOD PATH_OR_URL").into()),
    };
    let method = parse::parse_method(method_word).map_err(|e| e.with_hint(SHAPE_HINT))?;
    let mut headers = parse::parse_headers(&args.headers)?;
    let config = ctx.config()?;
    let (service, path_and_query) = if ApiUrl::is_url(location) {
        let url = ApiUrl::parse(location)?;
        let name_it = |service: &str| format!("scalekit-auth request {service} {method} URL");
        let service = token::service_for_url(ctx, &config, &url, service_word, name_it)?;
        (service, url.path_and_query)
    } else {
        let Some(service) = service_word else {
            return Err(usage_shape(&format!(
                "{location:?} is a path: name the service, or give a full URL"
            ))
            .into());
        };
        (service.to_owned(), parse::api_path(location)?)
    };
    let path_and_query = parse::with_query(&path_and_query, &args.query)?;
    let target = ctx.target(&config, &service, args.identifier.as_deref())?;
    let has_content_type = headers.iter().any(|(name, _)| *name == CONTENT_TYPE);
    let body = if !args.form.is_empty() {
        if has_content_type {
            return Err(CliError::usage(
                "-F sets the Content-Type (multipart/form-data with its boundary): drop the \
                 Content-Type header",
            )
            .into());
        }
        let (content_type, body) = body::multipart(&args.form)?;
        let value = HeaderValue::from_str(&content_type)
            .map_err(|_| CliError::failed("invalid multipart boundary"))?;
        headers.push((CONTENT_TYPE, value));
        Some(body)
    } else if let Some(data) = &args.data {
        if !has_content_type {
            headers.push((CONTENT_TYPE, HeaderValue::from_static(DEFAULT_CONTENT_TYPE)));
        }
        Some(body::read_body(data)?)
    } else {
        None
    };
    // `-o FILE`: the answer goes to a temporary file beside FILE, renamed over it once whole.
    // Made now, so that a directory that cannot take it fails before anything is sent.
    let output = match args.output.as_deref() {
        Some(dest) if dest != Path::new("-") => Some(show::Output::new(dest)?),
        _ => None,
    };
    let client = ctx.client(&config)?;
    // A running agent's API token: the call then costs only the proxy request.
    if let Some(agent) = Agent::for_run(ctx.no_agent, &ctx.env, &ctx.paths, &client) {
        agent.lend_api_token(&client).await;
    }
    let interactive = ctx.interactive(false);
    let request = ProxyRequest {
        method: method.clone(),
        path_and_query: &path_and_query,
        connection_name: &target.connection_name,
        identifier: &target.identifier,
        headers: &headers,
        body: body.as_deref(),
        spill: output.as_ref().map(show::Output::file),
    };
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query.as_str(), |(path, _)| path);
    let mut authorized = false;
    let answer = loop {
        let answer = client
            .proxy(&request)
            .await
            .map_err(|err| match (err, &output) {
                // Answered, but the disk refused it (full, say): exit 1, and FILE untouched.
                (ApiError::Write { detail }, Some(output)) => CliError::failed(format!(
                    "{method} {path} was answered, but the answer could not be written to {}: \
                     {detail}",
                    output.shown()
                ))
                .into(),
                (err, _) => unanswered(err, &method, path, &target),
            })?;
        match answer.refusal {
            None => {
                if answer.status == reqwest::StatusCode::UNAUTHORIZED {
                    // The provider refused the account's token: a running agent forgets it.
                    let (connection, identifier) = (&target.connection_name, &target.identifier);
                    crate::agent::forget(&ctx.env, connection, Some(identifier)).await;
                }
                break answer;
            }
            Some(ProxyRefusal::Other(err)) => return Err(err.into()),
            // Not authorized: Scalekit refused before forwarding, so sending once more after
            // the user approves is safe, whatever the method.
            Some(ProxyRefusal::AccountNotFound | ProxyRefusal::AccountNotActive) => {
                // The one lookup after the proxy's refusal; the flows below reuse its answer.
                let status = client
                    .account_details(&target.connection_name, &target.identifier)
                    .await?
                    .map_or(AccountStatus::Unspecified, |a| a.status);
                if authorized {
                    return Err(CliError::new(
                        ErrorKind::AuthorizationRequired,
                        format!(
                            "Scalekit still refuses {}'s calls right after authorization \
                             (the account is {})",
                            target.service,
                            status.as_str()
                        ),
                    )
                    .with_hint(format!("scalekit-auth status {}", target.service))
                    .into());
                }
                if interactive || args.auth.wait {
                    let options = FlowOptions {
                        wait: true,
                        timeout: Duration::from_secs(args.auth.timeout),
                        qr: args.auth.qr.into(),
                        open: false,
                        force: false,
                        interactive,
                        account_missing: status == AccountStatus::Unspecified,
                    };
                    authorize::flow(ctx, &client, &target, options).await?;
                    authorized = true;
                    continue;
                }
                let hint = "after approving, run the same command again (or add --wait to wait \
                            for the approval)";
                return Err(token::authorization_required(&client, &target, &status, hint).await);
            }
        }
    };
    show::relay(ctx, args, &method, path, &target, &answer, output)
}

/// A call that brought back no usable answer. Nothing sent (the connection could not be
/// made), or an idempotent method: Scalekit's error as it is (exit 5 when unreachable, safe to
/// retry). A POST, PATCH or DELETE that may have been received (no answer after sending, or a
/// busy answer from Scalekit): exit 1, since sending it again may act twice (docs/cli.md, exit
/// codes).
fn unanswered(err: ApiError, method: &Method, path: &str, target: &Target) -> anyhow::Error {
    if is_idempotent(method) {
        return err.into();
    }
    let hint = format!(
        "check whether it took effect at {} before sending it again",
        target.service
    );
    match err {
        ApiError::Lost { .. } => CliError::failed(format!("{err}")).with_hint(hint).into(),
        ApiError::Busy { .. } => CliError::failed(format!(
            "{err}; {method} {path} was sent once and not retried: it may have reached {}",
            target.service
        ))
        .with_hint(hint)
        .into(),
        other => other.into(),
    }
}

/// The hint of a request whose words do not fit its shape.
const SHAPE_HINT: &str =
    "scalekit-auth request SERVICE METHOD PATH, or scalekit-auth request METHOD URL";

fn usage_shape(message: &str) -> CliError {
    CliError::usage(message).with_hint(SHAPE_HINT)
}

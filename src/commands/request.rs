//! `request`: one HTTP call to a provider's API through Scalekit's proxy, so the service's
//! token never touches this machine. The answer's body goes to stdout as it is; its status
//! decides the exit code (0 for 2xx, 1 otherwise).

use std::io::Read as _;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};

use super::{Context, Target};
use crate::cli::RequestArgs;
use crate::error::{CliError, ErrorKind, ExitStatus};
use crate::flows::authorization::{self as authorize, FlowOptions};
use crate::flows::credentials as token;
use crate::flows::proxy::{DEFAULT_CONTENT_TYPE, api_path, parse_headers, parse_method};
use crate::hosts::ApiUrl;
use crate::scalekit::types::AccountStatus;
use crate::scalekit::{ProxyAnswer, ProxyRefusal, ProxyRequest, is_idempotent};

pub(crate) async fn run(ctx: &Context, args: &RequestArgs) -> anyhow::Result<ExitStatus> {
    // clap fills the positionals from the left: two words are METHOD and PATH_OR_URL.
    let (service_word, method_word, location) = match (&args.service, &args.method, &args.location)
    {
        (Some(method), Some(location), None) => (None, method, location),
        (Some(service), Some(method), Some(location)) => (Some(service.as_str()), method, location),
        _ => return Err(usage_shape("expected [SERVICE] METHOD PATH_OR_URL").into()),
    };
    let method = parse_method(method_word).map_err(|e| {
        e.with_hint(
            "scalekit-auth request SERVICE METHOD PATH, or scalekit-auth request METHOD URL",
        )
    })?;
    let headers = parse_headers(&args.headers)?;
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
        (service.to_owned(), api_path(location)?)
    };
    let target = ctx.target(&config, &service, args.identifier.as_deref())?;
    let mut headers = headers;
    let body = match &args.data {
        Some(data) => {
            if !headers.iter().any(|(name, _)| *name == CONTENT_TYPE) {
                headers.push((CONTENT_TYPE, HeaderValue::from_static(DEFAULT_CONTENT_TYPE)));
            }
            Some(read_body(data)?)
        }
        None => None,
    };
    let client = ctx.client(&config)?;
    let interactive = ctx.interactive(false);
    let request = ProxyRequest {
        method: method.clone(),
        path_and_query: &path_and_query,
        connection_name: &target.connection_name,
        identifier: &target.identifier,
        headers: &headers,
        body: body.as_deref(),
    };
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query.as_str(), |(path, _)| path);
    let mut authorized = false;
    loop {
        let answer = client.proxy(&request).await.map_err(|err| {
            let err = anyhow::Error::from(err);
            if is_idempotent(&method) {
                err
            } else {
                err.context(format!(
                    "{method} {path} was sent once and not retried (it may have reached {})",
                    target.service
                ))
            }
        })?;
        match answer.refusal {
            None => return relay(ctx, args, &method, path, &target, &answer),
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
    }
}

/// Prints the provider's answer: the body on stdout (not for a non-2xx with `--fail`), and
/// for a non-2xx an error on stderr; exit 0 for 2xx, else 1.
fn relay(
    ctx: &Context,
    args: &RequestArgs,
    method: &Method,
    path: &str,
    target: &Target,
    answer: &ProxyAnswer,
) -> anyhow::Result<ExitStatus> {
    let success = answer.status.is_success();
    if success || !args.fail {
        ctx.out.raw(&answer.body)?;
    }
    if success {
        return Ok(ExitStatus::Success);
    }
    let mut err = CliError::failed(format!(
        "{method} {path} answered {} ({}'s API, through Scalekit's proxy)",
        answer.status, target.service
    ));
    if answer.status == StatusCode::UNAUTHORIZED {
        err = err.with_hint(format!(
            "the provider rejected the account's credentials; re-authorize: scalekit-auth \
             authorize {} --force",
            target.service
        ));
    }
    // The body is on stdout already; the error follows on stderr (exit 1).
    Err(err.into())
}

fn usage_shape(message: &str) -> CliError {
    CliError::usage(message)
        .with_hint("scalekit-auth request SERVICE METHOD PATH, or scalekit-auth request METHOD URL")
}

/// `--data`: the text itself, `@FILE`, or `@-` for stdin, as bytes.
fn read_body(data: &str) -> Result<Vec<u8>, CliError> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| CliError::failed(format!("cannot read the body from stdin: {e}")))?;
            Ok(body)
        }
        Some(file) => std::fs::read(file)
            .map_err(|e| CliError::usage(format!("cannot read the body from {file:?}: {e}"))),
        None => Ok(data.as_bytes().to_vec()),
    }
}

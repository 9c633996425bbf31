//! `request`: one HTTP call to a provider's API through Scalekit's proxy, so the service's
//! token never touches this machine. The answer's body goes to stdout as it is; its status
//! decides the exit code (0 for 2xx, 1 otherwise).

use std::io::Read as _;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};

use super::{Context, Target};
use crate::agent::Agent;
use crate::cli::RequestArgs;
use crate::error::{CliError, ErrorKind, ExitStatus};
use crate::flows::authorization::{self as authorize, FlowOptions};
use crate::flows::credentials as token;
use crate::hosts::ApiUrl;
use crate::scalekit::types::AccountStatus;
use crate::scalekit::{ProxyAnswer, ProxyRefusal, ProxyRequest, is_idempotent};

/// The methods `request` sends.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Headers the user may not set: Scalekit sets `Authorization` (the account's credentials)
/// and reads `connection_name` and `identifier`; the rest belong to the HTTP client.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "connection_name",
    "identifier",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
];
/// The body's content type when `--data` is given without a `Content-Type` header.
const DEFAULT_CONTENT_TYPE: &str = "application/json";

pub(crate) async fn run(ctx: &Context, args: &RequestArgs) -> anyhow::Result<ExitStatus> {
    // clap fills the positionals from the left: two words are METHOD and PATH_OR_URL.
    let (service_word, method_word, location) = match (&args.service, &args.method, &args.location)
    {
        (Some(method), Some(location), None) => (None, method, location),
        (Some(service), Some(method), Some(location)) => (Some(service.as_str()), method, location),
        _ => return Err(usage_shape("expected [SERVICE] METHOD PATH_OR_URL").into()),
    };
    let method = parse_method(method_word)?;
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
            None => {
                if answer.status == StatusCode::UNAUTHORIZED {
                    // The provider refused the account's token: a running agent forgets it.
                    let (connection, identifier) = (&target.connection_name, &target.identifier);
                    crate::agent::forget(&ctx.env, connection, Some(identifier)).await;
                }
                return relay(ctx, args, &method, path, &target, &answer);
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

/// A known method, upper-cased; anything else is a usage error listing them.
fn parse_method(word: &str) -> Result<Method, CliError> {
    let upper = word.to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(usage_shape(&format!(
            "{word:?} is not an HTTP method ({})",
            METHODS.join(", ")
        )));
    }
    Method::from_bytes(upper.as_bytes()).map_err(|_| CliError::usage("invalid method"))
}

/// `-H 'Name: value'` headers, checked: a valid name and value, and none of the reserved
/// ones. Errors quote the header's name, never its value (it may hold a key).
fn parse_headers(raw: &[String]) -> Result<Vec<(HeaderName, HeaderValue)>, CliError> {
    raw.iter()
        .map(|text| {
            let Some((name, value)) = text.split_once(':') else {
                return Err(CliError::usage(
                    "a header is 'Name: value' (-H 'Accept: application/json')",
                ));
            };
            let name = name.trim();
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| CliError::usage(format!("{name:?} is not a header name")))?;
            if RESERVED_HEADERS.contains(&header.as_str()) {
                let why = if header == reqwest::header::AUTHORIZATION {
                    "Scalekit's proxy adds the account's credentials itself"
                } else {
                    "it is set by scalekit-auth"
                };
                return Err(CliError::usage(format!(
                    "cannot set the {name} header: {why}"
                )));
            }
            let value = HeaderValue::from_bytes(value.trim().as_bytes())
                .map_err(|_| CliError::usage(format!("the {name} header's value is invalid")))?;
            Ok((header, value))
        })
        .collect()
}

/// An API path as given (a missing leading `/` is added), refused when it has spaces,
/// control characters, a backslash, a fragment, `.`/`..` segments (which would step out of
/// the proxy's path), or starts with `//` (which reads as another host).
fn api_path(text: &str) -> Result<String, CliError> {
    let invalid = |why: &str| CliError::usage(format!("invalid API path {text:?}: {why}"));
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "it holds spaces or control characters (percent-encode them)",
        ));
    }
    if text.contains('\\') {
        return Err(invalid("it holds a backslash"));
    }
    if text.starts_with("//") {
        return Err(invalid(
            "it starts with // (read as another host); a path starts with a single /",
        ));
    }
    if text.contains('#') {
        return Err(invalid("a fragment (#) is never sent"));
    }
    let path = if text.starts_with('/') {
        text.to_owned()
    } else {
        format!("/{text}")
    };
    let path_only = path.split_once('?').map_or(path.as_str(), |(p, _)| p);
    let dot_segment = path_only.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    });
    if dot_segment {
        return Err(invalid("it has . or .. segments"));
    }
    Ok(path)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_known_and_upper_cased() {
        assert_eq!(parse_method("get").unwrap(), Method::GET);
        assert_eq!(parse_method("PATCH").unwrap(), Method::PATCH);
        for bad in ["gmail", "FETCH", ""] {
            assert_eq!(parse_method(bad).unwrap_err().kind, ErrorKind::Usage);
        }
        assert!(is_idempotent(&Method::PUT) && !is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
    }

    #[test]
    fn headers_are_checked_and_reserved_ones_refused() {
        let parsed = parse_headers(&["Accept: application/json".into(), "X-A:b".into()]).unwrap();
        assert_eq!(parsed[0].0, reqwest::header::ACCEPT);
        assert_eq!(parsed[1].1, "b");
        for bad in [
            "Authorization: Bearer x",
            "identifier: me",
            "Host: x",
            "no colon",
            "bad name: x",
        ] {
            let err = parse_headers(&[bad.into()]).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage, "{bad}");
            assert!(!err.message.contains("Bearer x"), "{err:?}");
        }
    }

    #[test]
    fn paths_get_a_slash_and_lose_no_query() {
        assert_eq!(
            api_path("gmail/v1/x?q=a%20b").unwrap(),
            "/gmail/v1/x?q=a%20b"
        );
        assert_eq!(api_path("/v1/users").unwrap(), "/v1/users");
        // Dots inside a query or a name are fine; dot segments are not.
        assert!(api_path("/v1/a.b?next=../x").is_ok());
        for bad in [
            "/../api/v1/connected_accounts",
            "/a/./b",
            "/a/%2E%2e/b",
            "/a b",
            "/a#b",
            "//evil.com/x",
            "/a\\b",
        ] {
            assert!(api_path(bad).is_err(), "{bad}");
        }
    }
}

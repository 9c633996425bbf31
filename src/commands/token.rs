//! `token`: a fresh access token per service, fetched concurrently, printed in argument order.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Context, Target};
use crate::cli::TokenArgs;
use crate::error::{self, CliError, ExitStatus};
use crate::flows::authorization::FlowOptions;
use crate::flows::credentials::{
    Credential, FetchOptions, Scheme, credentials, env_name, most_severe, service_for_url,
};
use crate::hosts::ApiUrl;
use crate::output::Output;
use crate::scalekit::types::format_timestamp;

pub(crate) async fn run(ctx: &Context, args: &TokenArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let names = match &args.for_url {
        Some(url) => {
            if args.services.len() > 1 {
                return Err(CliError::usage("--for-url takes at most one SERVICE").into());
            }
            let url = ApiUrl::parse(url)?;
            let name_it = |service: &str| format!("scalekit-auth token {service} --for-url URL");
            vec![service_for_url(
                ctx,
                &config,
                &url,
                args.services.first().map(String::as_str),
                name_it,
            )?]
        }
        None => args.services.clone(),
    };
    // Resolve every service first: a typo costs no request.
    let targets: Vec<Result<Target, CliError>> = names
        .iter()
        .map(|name| ctx.target(&config, name, args.identifier.as_deref()))
        .collect();
    if targets.iter().all(Result::is_err)
        || (!args.format.json && targets.iter().any(Result::is_err))
    {
        // Nothing to fetch, or a plain-text run that could not print every line anyway:
        // report what is wrong without a single request.
        let outcomes = targets
            .into_iter()
            .filter_map(Result::err)
            .map(|e| Err(e.into()))
            .collect();
        return print(ctx, args, &names, outcomes);
    }
    let client = ctx.client(&config)?;
    let interactive = ctx.interactive(args.format.json);
    let options = FetchOptions {
        authorize: interactive || args.wait,
        flow: FlowOptions {
            wait: true,
            timeout: Duration::from_secs(args.timeout),
            qr: args.qr.into(),
            open: false,
            force: false,
            interactive,
        },
        min_ttl: Duration::from_secs(args.min_ttl),
        rerun_hint: |service| {
            format!(
                "after approving, run: scalekit-auth token {service} (or wait for it: \
                 scalekit-auth token {service} --wait)"
            )
        },
    };
    let outcomes = credentials(ctx, &client, &targets, options).await;
    print(ctx, args, &names, outcomes)
}

/// Prints the results in argument order and picks the exit code: the most severe failure
/// (4 over 5 over 1, then the rest).
fn print(
    ctx: &Context,
    args: &TokenArgs,
    names: &[String],
    outcomes: Vec<anyhow::Result<Credential>>,
) -> anyhow::Result<ExitStatus> {
    let failures: Vec<CliError> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .map(error::classify)
        .collect();
    let exit = most_severe(failures.iter().map(|e| e.kind));
    if args.format.json {
        let docs: Vec<Value> = names
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

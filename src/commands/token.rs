//! `token`: a fresh access token per service, fetched concurrently, printed in argument order.

use std::time::Duration;

use super::{Context, Target};
use crate::cli::TokenArgs;
use crate::error::{CliError, ExitStatus};
use crate::flows::authorization::FlowOptions;
use crate::flows::credentials::{FetchOptions, credentials, service_for_url};
use crate::hosts::ApiUrl;

mod print;

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
        return print::print(ctx, args, &names, &[], outcomes);
    }
    // --env's variables are checked before any request: a bad --env-name costs nothing.
    let variables = if args.format.env {
        print::env_variables(&targets, &args.env_names)?
    } else {
        Vec::new()
    };
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
            account_missing: false,
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
    print::print(ctx, args, &names, &variables, outcomes)
}

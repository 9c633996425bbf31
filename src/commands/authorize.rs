//! `authorize`: get or create the connected account, mint a magic link, show it (and a QR
//! code), and wait until the user approves (the flow is in `flows::authorization`).

use std::time::Duration;

use serde::Serialize;

use super::Context;
use crate::cli::AuthorizeArgs;
use crate::error::ExitStatus;
use crate::flows::authorization::{FlowOptions, FlowOutcome, flow};
use crate::output::LinkDoc;
use crate::scalekit::types::{AccountStatus, format_timestamp};

pub(crate) async fn run(ctx: &Context, args: &AuthorizeArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let target = ctx.target(&config, &args.service, args.identifier.as_deref())?;
    let client = ctx.client(&config)?;
    let options = FlowOptions {
        wait: !args.no_wait,
        timeout: Duration::from_secs(args.timeout),
        qr: args.qr.into(),
        open: args.open,
        force: args.force,
        interactive: ctx.interactive(args.json),
        account_missing: false,
    };
    if args.force {
        // Re-authorizing: a running agent must not hand out the old account's token.
        crate::agent::forget(&ctx.env, &target.connection_name, Some(&target.identifier)).await;
    }
    let outcome = flow(ctx, &client, &target, options).await?;
    let (status, exit) = match &outcome {
        FlowOutcome::AlreadyActive => {
            ctx.out.success(&format!(
                "{} is already authorized (connection {}, identifier {})",
                target.service, target.connection_name, target.identifier
            ));
            ctx.out.hint(&format!(
                "scalekit-auth authorize {} --force mints a new link anyway",
                target.service
            ));
            (AccountStatus::Active, ExitStatus::Success)
        }
        FlowOutcome::Authorized => (AccountStatus::Active, ExitStatus::Success),
        FlowOutcome::LinkIssued { status, .. } => {
            (status.clone(), ExitStatus::AuthorizationRequired)
        }
    };
    if args.json {
        let link = match &outcome {
            FlowOutcome::LinkIssued { link, .. } => Some(LinkDoc {
                link: link.as_ref().map(|l| l.link.as_str()),
                link_expires_at: link.as_ref().and_then(|l| l.expiry).map(format_timestamp),
            }),
            _ => None,
        };
        ctx.out.json(&AuthorizeDoc {
            connection_name: &target.connection_name,
            identifier: &target.identifier,
            link,
            service: &target.service,
            status: status.as_str(),
        })?;
    }
    Ok(exit)
}

/// `authorize --json`. Fields in alphabetical order, the order the keys have always had; the
/// link's keys only when a link was issued (`null` when Scalekit gave none).
#[derive(Serialize)]
struct AuthorizeDoc<'a> {
    connection_name: &'a str,
    identifier: &'a str,
    #[serde(flatten)]
    link: Option<LinkDoc<'a>>,
    service: &'a str,
    status: &'a str,
}

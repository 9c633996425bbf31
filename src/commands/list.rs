//! `list`: the configured services (no network), or with `--remote` the connected accounts
//! in Scalekit (every page).

use serde::Serialize;

use super::Context;
use crate::cli::ListArgs;
use crate::config::{self as cfg, resolve};
use crate::error::ExitStatus;
use crate::output::format_table;
use crate::scalekit::types::format_timestamp;

pub(crate) fn run(ctx: &Context, args: &ListArgs) -> anyhow::Result<ExitStatus> {
    if args.remote {
        return crate::runtime::block_on(remote(ctx, args));
    }
    let config = ctx.config()?;
    let rows: Vec<(String, String, Option<String>)> = config
        .services
        .iter()
        .map(|(service, mapping)| {
            // The effective identifier, or null when none resolves.
            let identifier = resolve::identifier(service, None, Some(mapping), &ctx.env, &config)
                .ok()
                .map(|id| id.value);
            (service.clone(), mapping.connection_name.clone(), identifier)
        })
        .collect();
    if args.json {
        let docs: Vec<ServiceDoc> = rows
            .iter()
            .map(|(s, c, i)| ServiceDoc {
                connection_name: c,
                identifier: i.as_deref(),
                service: s,
            })
            .collect();
        ctx.out.json(&docs)?;
    } else if rows.is_empty() {
        ctx.out.info("No services configured.");
        if ctx.nothing_configured(&config) {
            ctx.out
                .hint("scalekit-auth init, then scalekit-auth config SERVICE CONNECTION_NAME");
        } else {
            ctx.out.hint("scalekit-auth config SERVICE CONNECTION_NAME");
        }
    } else {
        let table: Vec<[String; 3]> = rows
            .into_iter()
            .map(|(s, c, i)| [s, c, i.unwrap_or_else(|| "-".into())])
            .collect();
        ctx.out.data(&format_table(
            &["SERVICE", "CONNECTION", "IDENTIFIER"],
            &table,
        ))?;
    }
    Ok(ExitStatus::Success)
}

async fn remote(ctx: &Context, args: &ListArgs) -> anyhow::Result<ExitStatus> {
    if let Some(identifier) = &args.identifier {
        cfg::validate_identifier(identifier)?;
    }
    let config = ctx.config()?;
    let client = ctx.client(&config)?;
    let accounts = client
        .list_accounts(None, args.identifier.as_deref())
        .await?;
    if args.json {
        let docs: Vec<AccountDoc> = accounts
            .iter()
            .map(|a| AccountDoc {
                connection_name: &a.connector,
                id: &a.id,
                identifier: &a.identifier,
                provider: &a.provider,
                status: a.status.as_str(),
                token_expires_at: a.token_expires_at.map(format_timestamp),
            })
            .collect();
        ctx.out.json(&docs)?;
    } else if accounts.is_empty() {
        ctx.out.info("No connected accounts in Scalekit.");
    } else {
        let table: Vec<[String; 6]> = accounts
            .iter()
            .map(|a| {
                [
                    a.id.clone(),
                    a.connector.clone(),
                    a.identifier.clone(),
                    a.provider.clone(),
                    a.status.as_str().to_owned(),
                    a.token_expires_at
                        .map_or_else(|| "-".into(), format_timestamp),
                ]
            })
            .collect();
        ctx.out.data(&format_table(
            &[
                "ID",
                "CONNECTION",
                "IDENTIFIER",
                "PROVIDER",
                "STATUS",
                "TOKEN EXPIRES",
            ],
            &table,
        ))?;
    }
    Ok(ExitStatus::Success)
}

// The `--json` documents. Fields in alphabetical order, the order the keys have always had.

/// A configured service in `list --json`.
#[derive(Serialize)]
struct ServiceDoc<'a> {
    connection_name: &'a str,
    identifier: Option<&'a str>,
    service: &'a str,
}

/// A connected account in `list --remote --json`.
#[derive(Serialize)]
struct AccountDoc<'a> {
    connection_name: &'a str,
    id: &'a str,
    identifier: &'a str,
    provider: &'a str,
    status: &'a str,
    token_expires_at: Option<String>,
}

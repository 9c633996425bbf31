//! `connections`: the environment's connections from the dashboard, marking which can be
//! authorized and which services map to each.

use serde::Serialize;

use super::Context;
use crate::cli::ConnectionsArgs;
use crate::config::Config;
use crate::error::ExitStatus;
use crate::output::{format_table, safe};
use crate::scalekit::tools::Connection;

pub(crate) async fn run(ctx: &Context, args: &ConnectionsArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let client = ctx.client(&config)?;
    let connections = client.list_connections(args.provider.as_deref()).await?;
    // --provider filters server-side; the comparison here only guards against an API that
    // ignores the filter (provider keys compare case-insensitively).
    let connections: Vec<Connection> = connections
        .into_iter()
        .filter(|c| {
            args.provider
                .as_deref()
                .is_none_or(|p| c.provider.eq_ignore_ascii_case(p))
        })
        .collect();
    if args.json {
        let docs: Vec<ConnectionDoc> = connections
            .iter()
            .map(|c| {
                let services = services_of(&config, &c.key_id);
                ConnectionDoc {
                    connection_name: &c.key_id,
                    enabled: c.enabled,
                    provider: &c.provider,
                    service: services.first().cloned(),
                    services,
                    status: &c.status,
                    kind: &c.kind,
                }
            })
            .collect();
        ctx.out.json(&docs)?;
        return Ok(ExitStatus::Success);
    }
    if connections.is_empty() {
        let which = args
            .provider
            .as_deref()
            .map(|p| format!(" for provider {}", safe::line(p)))
            .unwrap_or_default();
        ctx.out.info(&format!("no connections{which}"));
        ctx.out
            .hint("create one in the Scalekit dashboard: Agent Auth > Connections");
        return Ok(ExitStatus::Success);
    }
    // Every cell goes through `safe::line` in `format_table`: they come from Scalekit.
    let rows: Vec<[String; 6]> = connections
        .iter()
        .map(|c| {
            let mark = if c.usable() { "" } else { " (not usable)" };
            [
                c.key_id.clone(),
                c.provider.clone(),
                c.kind.clone(),
                format!("{}{mark}", c.status),
                if c.enabled { "yes" } else { "no" }.to_owned(),
                services_of(&config, &c.key_id).join(", "),
            ]
        })
        .collect();
    ctx.out.data(&format_table(
        &[
            "CONNECTION",
            "PROVIDER",
            "TYPE",
            "STATUS",
            "ENABLED",
            "SERVICE",
        ],
        &rows,
    ))?;
    if connections.iter().any(|c| !c.usable()) {
        ctx.out.hint(
            "only COMPLETED, enabled connections can be authorized; finish the others in the \
             Scalekit dashboard (Agent Auth > Connections)",
        );
    }
    Ok(ExitStatus::Success)
}

/// The services mapped to a connection, in name order.
fn services_of(config: &Config, connection_name: &str) -> Vec<String> {
    let mut services: Vec<String> = config
        .services
        .iter()
        .filter(|(_, m)| m.connection_name == connection_name)
        .map(|(name, _)| name.clone())
        .collect();
    services.sort();
    services
}

/// One connection of `connections --json`. Fields in alphabetical order (by key), the order
/// the keys have always had.
#[derive(Serialize)]
struct ConnectionDoc<'a> {
    connection_name: &'a str,
    enabled: bool,
    provider: &'a str,
    /// The first service mapped to it, for scripts that expect one.
    service: Option<String>,
    services: Vec<String>,
    status: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

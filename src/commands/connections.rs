//! `connections`: the environment's connections from the dashboard, marking which can be
//! authorized and which services map to each.

use super::Context;
use crate::cli::ConnectionsArgs;
use crate::error::ExitStatus;
use crate::flows::connections;
use crate::output::{format_table, safe};

pub(crate) async fn run(ctx: &Context, args: &ConnectionsArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let client = ctx.client(&config)?;
    let connections = connections::list(&client, args.provider.as_deref()).await?;
    if args.json {
        ctx.out.json(&connections::docs(&config, &connections))?;
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
                connections::services_of(&config, &c.key_id).join(", "),
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

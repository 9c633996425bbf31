//! `remove`: forget a service's mapping; with `--disconnect`, delete its connected account in
//! Scalekit first, and forget the mapping only when that worked.

use anyhow::Context as _;

use super::Context;
use crate::cli::RemoveArgs;
use crate::config as cfg;
use crate::error::{CliError, ExitStatus};
use crate::prompt;

pub(crate) async fn run(ctx: &Context, args: &RemoveArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let (service, mapping) = ctx.existing_service(&config, &args.service)?;
    if let Some(identifier) = &args.identifier {
        cfg::validate_identifier(identifier)?;
    }
    // Whatever happens next, a running agent forgets the account's tokens.
    let connection = mapping.connection_name.clone();
    crate::agent::forget(&ctx.env, &connection, args.identifier.as_deref()).await;
    if !args.disconnect {
        forget(ctx, &service)?;
        ctx.out.success(&format!(
            "removed {service} (connection {}); its connected account in Scalekit is kept",
            mapping.connection_name
        ));
        return Ok(ExitStatus::Success);
    }
    let target = ctx.target(&config, &service, args.identifier.as_deref())?;
    let what = format!(
        "{}'s connected account in Scalekit (connection {}, identifier {})",
        target.service, target.connection_name, target.identifier
    );
    if !args.yes {
        if !ctx.interactive(false) {
            return Err(CliError::usage(format!(
                "--disconnect deletes {what}; confirm with --yes"
            ))
            .with_hint(format!(
                "scalekit-auth remove {} --disconnect --yes",
                args.service
            ))
            .into());
        }
        let question = format!("Delete {what}? The user will have to authorize again");
        if !prompt::confirm(&question, false)? {
            ctx.out.info("Cancelled; nothing was removed.");
            return Ok(ExitStatus::Failure);
        }
    }
    let client = ctx.client(&config)?;
    // Remote first: if the delete fails, the mapping is still there to try again with.
    let deleted = client
        .delete_account(&target.connection_name, &target.identifier)
        .await
        .with_context(|| format!("could not delete {what}; nothing was removed"))?;
    crate::agent::forget(&ctx.env, &connection, Some(&target.identifier)).await;
    if deleted {
        ctx.out.success(&format!("deleted {what}"));
    } else {
        ctx.out.info(&format!(
            "{} had no connected account in Scalekit for identifier {} (already gone)",
            target.service, target.identifier
        ));
    }
    if args.identifier.is_some() {
        ctx.out.info(&format!(
            "kept the {} mapping (--identifier)",
            target.service
        ));
        return Ok(ExitStatus::Success);
    }
    forget(ctx, &service)?;
    ctx.out.success(&format!(
        "removed {service} from {}",
        ctx.paths.config_file().display()
    ));
    Ok(ExitStatus::Success)
}

/// Removes `[services.<service>]` from config.toml (already gone is fine: the goal is met).
fn forget(ctx: &Context, service: &str) -> anyhow::Result<()> {
    cfg::update(&ctx.paths, |edit| Ok(edit.remove_service(service)))?;
    Ok(())
}

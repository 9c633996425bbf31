//! `config`: add, replace, show or remove a service → connection mapping. No network.

use serde_json::json;

use super::Context;
use crate::cli::ConfigArgs;
use crate::config::{self as cfg, resolve};
use crate::error::{CliError, ExitStatus};
use crate::hosts;
use crate::output::safe;

pub(crate) fn run(ctx: &Context, args: &ConfigArgs) -> anyhow::Result<ExitStatus> {
    let service = cfg::validate_service(&args.service)?;
    if let Some(identifier) = &args.identifier {
        cfg::validate_identifier(identifier)?;
    }
    let mut host_list: Vec<String> = Vec::new();
    for host in &args.hosts {
        let host = hosts::normalize(host)?;
        if !host_list.contains(&host) {
            host_list.push(host);
        }
    }
    if args.unset {
        let removed = cfg::update(&ctx.paths, |edit| Ok(edit.remove_service(&service)))?;
        if !removed {
            return Err(not_mapped(&service).into());
        }
        ctx.out.success(&format!("removed {service}"));
        return Ok(ExitStatus::Success);
    }
    if let Some(connection_name) = &args.connection_name {
        cfg::validate_connection_name(connection_name)?;
        cfg::update(&ctx.paths, |edit| {
            edit.set_service(&service, connection_name, args.identifier.as_deref());
            if !host_list.is_empty() {
                edit.set_hosts(&service, &host_list);
            }
            Ok(())
        })?;
        ctx.out
            .success(&format!("{service} → connection {connection_name}"));
        return show(ctx, &service, args.json, false);
    }
    if args.identifier.is_some() || !host_list.is_empty() {
        // `config SVC --identifier ID` / `--host HOST`: change only those of an existing mapping.
        cfg::update(&ctx.paths, |edit| {
            let config = edit.config()?;
            let mapping = config
                .services
                .get(&service)
                .ok_or_else(|| not_mapped(&service))?;
            edit.set_service(
                &service,
                &mapping.connection_name,
                args.identifier.as_deref(),
            );
            if !host_list.is_empty() {
                edit.set_hosts(&service, &host_list);
            }
            Ok(())
        })?;
        return show(ctx, &service, args.json, false);
    }
    show(ctx, &service, args.json, true)
}

/// Prints the mapping; with `print_text` false only `--json` prints (after a change, the
/// human confirmation is on stderr already).
fn show(ctx: &Context, service: &str, json: bool, print_text: bool) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let mapping = config
        .services
        .get(service)
        .ok_or_else(|| not_mapped(service))?;
    let identifier = resolve::identifier(None, Some(mapping), &ctx.env, &config)
        .ok()
        .map(|id| id.value);
    if json {
        ctx.out.json(&json!({
            "service": service,
            "connection_name": mapping.connection_name,
            "identifier": identifier,
            "hosts": mapping.hosts,
        }))?;
    } else if print_text {
        let origin = if mapping.identifier.is_some() {
            ""
        } else {
            " (default)"
        };
        let mut text = format!(
            "service          {service}\nconnection_name  {}\nidentifier       {}{}",
            safe::line(&mapping.connection_name),
            safe::line(
                identifier
                    .as_deref()
                    .unwrap_or("(none: set one with --identifier)")
            ),
            if identifier.is_some() { origin } else { "" },
        );
        if !mapping.hosts.is_empty() {
            let hosts = safe::line(&mapping.hosts.join(", ")).into_owned();
            text.push_str(&format!("\nhosts            {hosts}"));
        }
        ctx.out.data(&text)?;
    }
    Ok(ExitStatus::Success)
}

fn not_mapped(service: &str) -> CliError {
    CliError::not_configured(format!("{service} is not configured"))
        .with_hint(format!("scalekit-auth config {service} CONNECTION_NAME"))
}

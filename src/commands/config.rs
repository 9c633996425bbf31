//! `config`: add, replace, show or remove a service → connection mapping. No network, except
//! `--provider`, which lists the provider's connections to find the one to map.

use serde::Serialize;

use super::{Context, interruptible};
use crate::cli::ConfigArgs;
use crate::config::{self as cfg, Config, resolve};
use crate::error::{CliError, ExitStatus};
use crate::flows::suggest;
use crate::hosts;
use crate::output::safe;
use crate::prompt;
use crate::runtime::block_on;
use crate::scalekit::tools::Connection;

/// Where connections are created and finished.
const DASHBOARD_PAGE: &str = "the Scalekit dashboard, Agent Auth > Connections";

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
            return Err(not_mapped(ctx, &ctx.config()?, &service).into());
        }
        ctx.out.success(&format!("removed {service}"));
        return Ok(ExitStatus::Success);
    }
    let picked;
    let connection_name = match &args.provider {
        Some(provider) => {
            picked = pick_connection(ctx, &service, provider, args.json)?;
            Some(&picked)
        }
        None => args.connection_name.as_ref(),
    };
    if let Some(connection_name) = connection_name {
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
                .ok_or_else(|| with_flags(not_mapped(ctx, &config, &service), args))?;
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
        let mut changed = Vec::new();
        if let Some(identifier) = &args.identifier {
            changed.push(format!("identifier {}", safe::line(identifier)));
        }
        if !host_list.is_empty() {
            changed.push(format!("hosts {}", safe::line(&host_list.join(", "))));
        }
        ctx.out
            .success(&format!("{service}: {}", changed.join(", ")));
        ctx.out.info(&format!(
            "next: scalekit-auth authorize {service} (connects the account for it), or \
             scalekit-auth status {service}"
        ));
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
        .ok_or_else(|| not_mapped(ctx, &config, service))?;
    let identifier = resolve::identifier(service, None, Some(mapping), &ctx.env, &config)
        .ok()
        .map(|id| id.value);
    if json {
        ctx.out.json(&ServiceDoc {
            connection_name: &mapping.connection_name,
            hosts: &mapping.hosts,
            identifier: identifier.as_deref(),
            service,
        })?;
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

/// The provider's one usable (`COMPLETED`, enabled) connection; several: a choice at a
/// terminal, else exit 2 listing them; none: exit 3 saying what exists and what to finish.
fn pick_connection(
    ctx: &Context,
    service: &str,
    provider: &str,
    json: bool,
) -> anyhow::Result<String> {
    let config = ctx.config()?;
    let client = ctx.client(&config)?;
    let (mine, others) = block_on(interruptible(async {
        let listed = client.list_connections(Some(provider)).await?;
        let (mine, mut others): (Vec<Connection>, Vec<Connection>) = listed
            .into_iter()
            .partition(|c| c.provider.eq_ignore_ascii_case(provider));
        if mine.is_empty() {
            // Nothing of that provider: say what the environment has instead.
            others = client.list_connections(None).await?;
        }
        anyhow::Ok((mine, others))
    }))?;
    let usable: Vec<&Connection> = mine
        .iter()
        .filter(|c| c.usable() && cfg::validate_connection_name(&c.key_id).is_ok())
        .collect();
    match usable.as_slice() {
        [one] => Ok(one.key_id.clone()),
        [] => Err(no_usable_connection(provider, &mine, &others).into()),
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|c| safe::line(&c.key_id).into_owned())
                .collect();
            if ctx.interactive(json) {
                prompt::restore_terminal_on_interrupt();
                let prompt = format!("{service}: which {} connection?", safe::line(provider));
                let choice = prompt::select(&prompt, &names)?;
                return Ok(several[choice].key_id.clone());
            }
            Err(CliError::usage(format!(
                "{} connections of provider {} can be used: {}",
                several.len(),
                safe::line(provider),
                names.join(", ")
            ))
            .with_hint(format!("scalekit-auth config {service} {}", names[0]))
            .into())
        }
    }
}

fn no_usable_connection(provider: &str, mine: &[Connection], others: &[Connection]) -> CliError {
    let describe = |c: &Connection| {
        format!(
            "{} ({}{})",
            safe::line(&c.key_id),
            safe::line(&c.status),
            if c.enabled { "" } else { ", disabled" }
        )
    };
    let message = if mine.is_empty() {
        format!(
            "no connection of provider {} in this environment",
            safe::line(provider)
        )
    } else {
        let list: Vec<String> = mine.iter().map(describe).collect();
        format!(
            "no usable connection of provider {}: {} (only COMPLETED, enabled connections can \
             be authorized)",
            safe::line(provider),
            list.join(", ")
        )
    };
    let mut hint = if mine.is_empty() {
        format!(
            "create a {} connection in {DASHBOARD_PAGE}",
            safe::line(provider)
        )
    } else {
        format!("finish or enable it in {DASHBOARD_PAGE}")
    };
    let mut providers: Vec<String> = others
        .iter()
        .map(|c| safe::line(&c.provider).into_owned())
        .collect();
    providers.sort();
    providers.dedup();
    if !providers.is_empty() {
        hint.push_str(&format!(
            "; other providers here: {} (see scalekit-auth connections)",
            providers.join(", ")
        ));
    }
    CliError::not_configured(message).with_hint(hint)
}

/// A hint that maps the service keeps the `--identifier` the user gave with it.
fn with_flags(mut err: CliError, args: &ConfigArgs) -> CliError {
    if let (Some(hint), Some(identifier)) = (err.hint.as_mut(), &args.identifier)
        && hint.ends_with(" CONNECTION_NAME")
    {
        hint.push_str(&format!(" --identifier {}", safe::line(identifier)));
    }
    err
}

/// No mapping for `service`: `init` first on an empty machine, else close names and the
/// configured services.
fn not_mapped(ctx: &Context, config: &Config, service: &str) -> CliError {
    if ctx.nothing_configured(config) {
        return suggest::init_first();
    }
    suggest::unknown_service(service, config, true)
}

/// `config SERVICE --json`. Fields in alphabetical order, the order the keys have always had.
#[derive(Serialize)]
struct ServiceDoc<'a> {
    connection_name: &'a str,
    hosts: &'a [String],
    identifier: Option<&'a str>,
    service: &'a str,
}

//! `init`: gather the Scalekit credentials (flags, environment, imports, prompts), check
//! them against `POST /oauth/token`, then write config.toml and credentials.toml together.
//! A failed init writes nothing.

use std::collections::BTreeMap;
use std::io::Read;

use super::Context;
use crate::cli::InitArgs;
use crate::config::{self as cfg, Import, ServiceConfig};
use crate::error::{CliError, ExitStatus};
use crate::prompt;
use crate::scalekit::{self, Client, ClientOptions};
use crate::secret::Secret;

/// What `init` will save.
#[derive(Debug, Default)]
struct Answers {
    env_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    identifier: Option<String>,
    services: BTreeMap<String, ServiceConfig>,
}

pub(crate) fn run(ctx: &Context, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let interactive = ctx.interactive(false);
    let existing = ctx.config()?;
    let stored_secret = cfg::load_client_secret(&ctx.paths)?;

    // Highest first: flags, environment, imported files, then (interactive) prompts.
    let mut answers = Answers {
        env_url: args.env_url.clone().or_else(|| env_url(ctx)),
        client_id: args
            .client_id
            .clone()
            .or_else(|| ctx.env.get("SCALEKIT_CLIENT_ID").map(str::to_owned)),
        client_secret: None,
        identifier: args.identifier.clone(),
        services: BTreeMap::new(),
    };
    if args.client_secret_stdin {
        answers.client_secret = Some(read_secret_from_stdin()?);
    } else if let Some(secret) = ctx.env.get("SCALEKIT_CLIENT_SECRET") {
        answers.client_secret = Some(Secret::new(secret));
    }
    for path in &args.imports {
        match cfg::parse_import(path)? {
            Import::Services(services) => answers.services.extend(services),
            Import::Env {
                env_url,
                client_id,
                client_secret,
                identifier,
            } => {
                answers.env_url = answers.env_url.or(env_url);
                answers.client_id = answers.client_id.or(client_id);
                answers.client_secret = answers.client_secret.or(client_secret);
                answers.identifier = answers.identifier.or(identifier);
            }
        }
    }

    // Validate what was given before asking for the rest.
    if let Some(url) = &answers.env_url {
        cfg::validate_env_url(url)?;
    }
    if let Some(identifier) = &answers.identifier {
        cfg::validate_identifier(identifier)?;
    }

    if interactive {
        prompt::restore_terminal_on_interrupt();
        ask_missing(ctx, &mut answers, &existing, stored_secret.is_some())?;
    }
    let env_url = answers
        .env_url
        .clone()
        .or(existing.env_url.clone())
        .ok_or_else(|| {
            missing(
                "the Scalekit environment URL",
                "--env-url URL (or SCALEKIT_ENV_URL)",
            )
        })?;
    let env_url = cfg::validate_env_url(&env_url)?;
    let client_id = answers
        .client_id
        .clone()
        .or(existing.client_id.clone())
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            missing(
                "the Scalekit client ID",
                "--client-id ID (or SCALEKIT_CLIENT_ID)",
            )
        })?;
    let secret_for_check = answers
        .client_secret
        .clone()
        .or(stored_secret)
        .ok_or_else(|| {
            missing(
                "the Scalekit client secret",
                "--client-secret-stdin (or SCALEKIT_CLIENT_SECRET)",
            )
        })?;

    if !args.no_verify {
        verify(ctx, &env_url, &client_id, &secret_for_check)?;
    }

    let env_url_text = env_url.as_str().trim_end_matches('/').to_owned();
    cfg::save_init(&ctx.paths, answers.client_secret.as_ref(), |edit| {
        edit.set_env_url(&env_url_text);
        edit.set_client_id(&client_id);
        if let Some(identifier) = &answers.identifier {
            edit.set_default_identifier(Some(identifier));
        }
        // Imported services are added or updated; existing mappings are never removed.
        for (service, mapping) in &answers.services {
            edit.set_service(
                service,
                &mapping.connection_name,
                mapping.identifier.as_deref(),
            );
        }
        Ok(())
    })?;

    ctx.out
        .success(&format!("saved {}", ctx.paths.config_file().display()));
    if answers.client_secret.is_some() {
        ctx.out.success(&format!(
            "saved {} (mode 0600)",
            ctx.paths.credentials_file().display()
        ));
    }
    if !answers.services.is_empty() {
        let names: Vec<&str> = answers.services.keys().map(String::as_str).collect();
        ctx.out
            .info(&format!("imported services: {}", names.join(", ")));
    }
    let config = ctx.config()?;
    let next = match config.services.keys().next() {
        Some(service) => format!("next: scalekit-auth authorize {service}"),
        None => "next: scalekit-auth config SERVICE CONNECTION_NAME (the connection's name in the \
                 Scalekit dashboard)"
            .to_owned(),
    };
    ctx.out.info(&next);
    Ok(ExitStatus::Success)
}

fn env_url(ctx: &Context) -> Option<String> {
    ctx.env
        .get("SCALEKIT_ENV_URL")
        .or_else(|| ctx.env.get("SCALEKIT_ENVIRONMENT_URL"))
        .map(str::to_owned)
}

fn missing(what: &str, flag: &str) -> CliError {
    CliError::usage(format!(
        "{what} is missing and there is no terminal to ask for it"
    ))
    .with_hint(format!("pass {flag}"))
}

fn read_secret_from_stdin() -> anyhow::Result<Secret> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read the client secret from stdin: {e}")))?;
    let secret = text.trim_end_matches(['\r', '\n']).trim();
    if secret.is_empty() {
        return Err(CliError::usage("--client-secret-stdin: standard input was empty").into());
    }
    Ok(Secret::new(secret))
}

/// Prompts for every value not given yet, with the existing config's values as defaults.
fn ask_missing(
    ctx: &Context,
    answers: &mut Answers,
    existing: &cfg::Config,
    has_stored_secret: bool,
) -> anyhow::Result<()> {
    if answers.env_url.is_none() {
        let url = prompt::input(
            "Scalekit environment URL (e.g. https://acme.scalekit.dev)",
            existing.env_url.as_deref(),
            |answer| {
                cfg::validate_env_url(answer)
                    .map(|_| ())
                    .map_err(|e| e.message)
            },
        )?;
        answers.env_url = Some(url);
    }
    if answers.client_id.is_none() {
        let id = prompt::input(
            "Client ID (skc_…)",
            existing.client_id.as_deref(),
            |answer| {
                if answer.is_empty() {
                    Err("the client ID cannot be empty".into())
                } else {
                    Ok(())
                }
            },
        )?;
        answers.client_id = Some(id);
    }
    if answers.client_secret.is_none() {
        let keep =
            has_stored_secret && prompt::confirm("Keep the client secret already saved?", true)?;
        if !keep {
            answers.client_secret = Some(prompt::password("Client secret")?);
        }
    }
    if answers.identifier.is_none() {
        let suggestion = existing
            .identifier
            .clone()
            .or_else(|| {
                cfg::identity_md_path(&ctx.env)
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .and_then(|text| cfg::identifier_from_identity_md(&text))
            })
            .or_else(|| ctx.env.get("USER").map(str::to_owned));
        let id = prompt::input(
            "Default identifier (your user's key in Scalekit)",
            suggestion.as_deref(),
            |answer| cfg::validate_identifier(answer).map_err(|e| e.message),
        )?;
        answers.identifier = Some(id);
    }
    Ok(())
}

/// `POST /oauth/token` with the new credentials. Rejected: exit 3; unreachable: exit 5.
fn verify(
    ctx: &Context,
    env_url: &reqwest::Url,
    client_id: &str,
    secret: &Secret,
) -> anyhow::Result<()> {
    let client = Client::new(ClientOptions {
        env_url: env_url.clone(),
        client_id: client_id.to_owned(),
        client_secret: secret.clone(),
        http_timeout: ctx.http_timeout(),
        retry_budget: scalekit::DEFAULT_RETRY_BUDGET,
        observer: ctx.out.request_observer(),
    })?;
    super::block_on(client.verify_credentials())?;
    ctx.out.success("Scalekit accepted the credentials");
    Ok(())
}

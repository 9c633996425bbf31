//! `init`: gather the Scalekit credentials (flags, environment, imports, prompts), check
//! them against `POST /oauth/token`, then write config.toml and credentials.toml together.
//! A failed init writes nothing.

use std::collections::BTreeMap;
use std::io::Read;

use super::Context;
use crate::cli::InitArgs;
use crate::config::resolve::{self, Layer, Setting, Source};
use crate::config::{self as cfg, Import, ServiceConfig};
use crate::error::{CliError, ErrorKind, ExitStatus};
use crate::prompt;
use crate::scalekit::{self, Client, ClientOptions};
use crate::secret::Secret;

pub(crate) fn run(ctx: &Context, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let interactive = ctx.interactive(false);
    let existing = ctx.config()?;
    let stored = cfg::load_credentials(&ctx.paths)?;

    // The one resolver decides, highest first: flags, the environment (with a named env
    // file), imported files, then the files already saved. Prompts fill what is left.
    let flags = Layer {
        env_url: args
            .env_url
            .clone()
            .map(|u| Setting::new(u, Source::Flag("--env-url"))),
        client_id: args
            .client_id
            .clone()
            .map(|id| Setting::new(id, Source::Flag("--client-id"))),
        client_secret: if args.client_secret_stdin {
            Some(Setting::new(
                read_secret_from_stdin()?,
                Source::Flag("--client-secret-stdin"),
            ))
        } else {
            None
        },
    };
    let mut identifier = args
        .identifier
        .clone()
        .map(|id| Setting::new(id, Source::Flag("--identifier")));
    let mut imports = Layer::default();
    let mut services = BTreeMap::<String, ServiceConfig>::new();
    for path in &args.imports {
        let from = || Source::Import(path.clone());
        match cfg::parse_import(path)? {
            Import::Services(found) => services.extend(found),
            Import::Env {
                env_url,
                client_id,
                client_secret,
                identifier: id,
            } => {
                imports.env_url = first(imports.env_url.take(), env_url, from());
                imports.client_id = first(imports.client_id.take(), client_id, from());
                imports.client_secret = first(imports.client_secret.take(), client_secret, from());
                identifier = first(identifier.take(), id, from());
            }
        }
    }
    if let Some(id) = &identifier {
        cfg::validate_identifier(&id.value)?;
    }
    let resolved = resolve::scalekit(flags, &ctx.env, imports, &existing, &stored)?;
    let from_files =
        |source: &Source| matches!(source, Source::ConfigToml(_) | Source::CredentialsToml(_));

    let mut answers = Answers {
        env_url: resolved.env_url.clone(),
        client_id: resolved.client_id.clone(),
        client_secret: resolved.client_secret.clone(),
    };
    if interactive {
        prompt::restore_terminal_on_interrupt();
    }
    // Interactive: a rejected secret or an unreachable URL asks again, with the answers
    // given as the defaults; it never ends the run on a typo (cli.md, `init`).
    let mut retry = false;
    let (env_url, client_id, client_secret) = loop {
        if interactive {
            ask(&mut answers, &resolved, retry)?;
            if identifier.is_none() {
                let suggestion = resolve::default_identifier(&ctx.env, &existing)
                    .map(|s| s.value)
                    .or_else(|| ctx.env.get("USER").map(str::to_owned));
                let answer = prompt::input(
                    "Default identifier (your user's key in Scalekit)",
                    suggestion.as_deref(),
                    |answer| cfg::validate_identifier(answer).map_err(|e| e.message),
                )?;
                identifier = Some(Setting::new(answer, Source::Prompt));
            }
        }
        let env_url = answers.env_url.clone().ok_or_else(|| {
            missing(
                "the Scalekit environment URL",
                "--env-url URL (or SCALEKIT_ENV_URL)",
            )
        })?;
        let client_id = answers.client_id.clone().ok_or_else(|| {
            missing(
                "the Scalekit client ID",
                "--client-id ID (or SCALEKIT_CLIENT_ID)",
            )
        })?;
        let client_secret = answers.client_secret.clone().ok_or_else(|| {
            missing(
                "the Scalekit client secret",
                "--client-secret-stdin (or SCALEKIT_CLIENT_SECRET)",
            )
        })?;
        // The binding rule: the saved secret is never sent to another URL, not even to check it.
        if from_files(&client_secret.source) {
            resolved.check_binding(&env_url.value, &env_url.source)?;
        }
        if !args.no_verify {
            crate::error::note_env_url(
                &cfg::env_url_string(&env_url.value),
                &env_url.source.to_string(),
            );
            if let Err(err) = verify(ctx, &env_url.value, &client_id.value, &client_secret.value) {
                let failure = crate::error::classify(&err);
                if !interactive || failure.kind == ErrorKind::Interrupted {
                    return Err(err);
                }
                ctx.out.warn(&failure.message);
                ctx.out.info(
                    "nothing was saved; check the URL, client ID and secret (Enter keeps an \
                     answer)",
                );
                retry = true;
                continue;
            }
        }
        break (env_url, client_id, client_secret);
    };

    let env_url_text = cfg::env_url_string(&env_url.value);
    // credentials.toml always records the URL beside the secret (a kept, older secret gets
    // bound here); it is renamed before config.toml (see `save_init`).
    cfg::save_init(
        &ctx.paths,
        Some((env_url_text.as_str(), &client_secret.value)),
        |edit| {
            edit.set_env_url(&env_url_text);
            edit.set_client_id(&client_id.value);
            if let Some(identifier) = &identifier {
                edit.set_default_identifier(Some(&identifier.value));
            }
            // Imported services are added or updated; existing mappings are never removed.
            for (service, mapping) in &services {
                edit.set_service(
                    service,
                    &mapping.connection_name,
                    mapping.identifier.as_deref(),
                );
            }
            Ok(())
        },
    )?;

    ctx.out
        .success(&format!("saved {}", ctx.paths.config_file().display()));
    ctx.out.success(&format!(
        "saved {} (mode 0600)",
        ctx.paths.credentials_file().display()
    ));
    // Where each saved value came from: a value from an unexpected place shows here.
    let config_dir_source = ctx
        .config_dir
        .as_ref()
        .map_or(Source::Default, |d| d.source.clone());
    ctx.out.info(&format!(
        "  config directory: {} (from {config_dir_source})",
        ctx.paths.dir.display()
    ));
    ctx.out.info(&format!(
        "  environment URL:  {env_url_text} (from {})",
        env_url.source
    ));
    ctx.out.info(&format!(
        "  client ID:        {} (from {})",
        client_id.value, client_id.source
    ));
    let identifier = identifier.or_else(|| resolve::default_identifier(&ctx.env, &existing));
    match &identifier {
        Some(id) => ctx.out.info(&format!(
            "  identifier:       {} (from {})",
            id.value, id.source
        )),
        None => ctx
            .out
            .info("  identifier:       none (pass --identifier ID to set one)"),
    }
    if !services.is_empty() {
        let names: Vec<&str> = services.keys().map(String::as_str).collect();
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

/// The three credential answers, each with where it came from.
struct Answers {
    env_url: Option<Setting<reqwest::Url>>,
    client_id: Option<Setting<String>>,
    client_secret: Option<Setting<Secret>>,
}

/// Prompts for each credential not given by a flag or the environment; on a `retry` (the
/// last answers were rejected or unreachable) for all three, the last answers as defaults.
fn ask(answers: &mut Answers, resolved: &resolve::Scalekit, retry: bool) -> anyhow::Result<()> {
    let from_files =
        |source: &Source| matches!(source, Source::ConfigToml(_) | Source::CredentialsToml(_));
    if retry
        || answers
            .env_url
            .as_ref()
            .is_none_or(|u| from_files(&u.source))
    {
        let old = answers.env_url.take();
        let answer = prompt::input(
            "Scalekit environment URL (e.g. https://acme.scalekit.dev)",
            old.as_ref()
                .map(|u| cfg::env_url_string(&u.value))
                .as_deref(),
            |answer| {
                cfg::validate_env_url(answer)
                    .map(|_| ())
                    .map_err(|e| e.message)
            },
        )?;
        let url = cfg::validate_env_url(&answer)?;
        let source = match old {
            Some(old) if old.value == url => old.source,
            _ => Source::Prompt,
        };
        answers.env_url = Some(Setting::new(url, source));
    }
    if retry
        || answers
            .client_id
            .as_ref()
            .is_none_or(|id| from_files(&id.source))
    {
        let old = answers.client_id.take();
        let answer = prompt::input(
            "Client ID (skc_…)",
            old.as_ref().map(|id| id.value.as_str()),
            |answer| {
                if answer.is_empty() {
                    Err("the client ID cannot be empty".into())
                } else {
                    Ok(())
                }
            },
        )?;
        let source = match old {
            Some(old) if old.value == answer => old.source,
            _ => Source::Prompt,
        };
        answers.client_id = Some(Setting::new(answer, source));
    }
    let secret_from_files = answers
        .client_secret
        .as_ref()
        .is_some_and(|s| from_files(&s.source));
    // The saved secret is offered only for the URL it was saved with.
    let bound_here = answers
        .env_url
        .as_ref()
        .is_some_and(|u| resolved.check_binding(&u.value, &u.source).is_ok());
    if retry {
        // A secret already typed (or given) may be kept with Enter, unless it is the saved
        // one and the URL is no longer the one it was saved with.
        let keepable = answers.client_secret.is_some() && (!secret_from_files || bound_here);
        let typed = prompt::password_or_keep(
            if keepable {
                "Client secret (Enter keeps the last one)"
            } else {
                "Client secret"
            },
            keepable,
        )?;
        if let Some(typed) = typed {
            answers.client_secret = Some(Setting::new(typed, Source::Prompt));
        }
    } else if answers.client_secret.is_none() || secret_from_files {
        let keep = answers.client_secret.is_some()
            && bound_here
            && prompt::confirm("Keep the client secret already saved?", true)?;
        if !keep {
            answers.client_secret = Some(Setting::new(
                prompt::password("Client secret")?,
                Source::Prompt,
            ));
        }
    }
    Ok(())
}

/// The value found first (an earlier `--import` or a flag wins), else `new` from `source`.
fn first<T>(old: Option<Setting<T>>, new: Option<T>, source: Source) -> Option<Setting<T>> {
    old.or_else(|| new.map(|v| Setting::new(v, source)))
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

/// `POST /oauth/token` with the new credentials. Rejected: exit 3; unreachable: exit 5.
fn verify(
    ctx: &Context,
    env_url: &url::Url,
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
    crate::runtime::block_on(client.verify_credentials())?;
    ctx.out.success("Scalekit accepted the credentials");
    Ok(())
}

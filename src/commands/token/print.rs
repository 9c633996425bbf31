//! How `token` prints: raw lines, `--header`, `--env` (shell-safe, with `exec`'s variable
//! names) or `--json`, in argument order; every line or none.

use serde_json::{Value, json};

use crate::cli::TokenArgs;
use crate::commands::{Context, Target};
use crate::error::{self, CliError, ExitStatus, Partial};
use crate::flows::credentials::{Credential, Scheme};
use crate::flows::env_names;
use crate::output::Output;
use crate::scalekit::types::format_timestamp;

/// `--env`'s variable for each target, in order (a service named twice gets its one
/// variable twice).
pub(super) fn env_variables(
    targets: &[Result<Target, CliError>],
    overrides: &[String],
) -> Result<Vec<String>, CliError> {
    let mut services: Vec<String> = Vec::new();
    for target in targets.iter().flatten() {
        if !services.contains(&target.service) {
            services.push(target.service.clone());
        }
    }
    let names = env_names::variable_names(&services, overrides)?;
    Ok(targets
        .iter()
        .flatten()
        .filter_map(|t| {
            let index = services.iter().position(|s| *s == t.service)?;
            names.get(index).cloned()
        })
        .collect())
}

/// Prints the results in argument order; failures come back as a [`Partial`], whose exit
/// code is the most severe failure's (4 over 5 over 1, then the rest). `variables` are `--env`'s names, one per outcome.
pub(super) fn print(
    ctx: &Context,
    args: &TokenArgs,
    names: &[String],
    variables: &[String],
    outcomes: Vec<anyhow::Result<Credential>>,
) -> anyhow::Result<ExitStatus> {
    let failures: Vec<CliError> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .map(error::classify)
        .collect();
    if args.format.json {
        let docs: Vec<Value> = names
            .iter()
            .zip(&outcomes)
            .map(|(name, outcome)| match outcome {
                Ok(cred) => json_success(cred),
                Err(err) => {
                    let err = error::classify(err);
                    let mut doc = Output::error_json(&err);
                    doc["service"] = json!(name.to_lowercase());
                    doc
                }
            })
            .collect();
        let doc = if docs.len() == 1 {
            docs.into_iter().next().unwrap_or_default()
        } else {
            json!(docs)
        };
        ctx.out.json(&doc)?;
        if failures.is_empty() {
            return Ok(ExitStatus::Success);
        }
        return Err(Partial::of(failures).into());
    }
    if !failures.is_empty() {
        // Either every line or none: a script reading line N must not get another service's.
        return Err(Partial::of(failures).into());
    }
    let creds: Vec<Credential> = outcomes.into_iter().flatten().collect();
    // A line format is read by a shell or an HTTP client: a CR, LF, NUL or ESC in a value
    // would end the line, inject a header or reach the terminal. Refuse them all, print none.
    let unprintable: Vec<CliError> = creds
        .iter()
        .filter(|c| c.value.expose().chars().any(char::is_control))
        .map(|c| {
            CliError::failed(format!(
                "{}'s credential contains a control character (CR, LF, NUL, ESC…); \
                 refusing to print it as a line",
                c.target.service
            ))
            .with_hint("--json carries it, escaped")
        })
        .collect();
    if !unprintable.is_empty() {
        return Err(Partial::of(unprintable).into());
    }
    let mut text = String::new();
    for (index, cred) in creds.iter().enumerate() {
        if args.format.header {
            text.push_str(&format!("Authorization: {}\n", cred.header_value()));
        } else if args.format.env {
            let default = env_names::default_variable(&cred.target.service);
            let name = variables.get(index).unwrap_or(&default);
            text.push_str(&env_names::shell_assignment(name, cred.value.expose()));
            text.push('\n');
        } else {
            text.push_str(cred.value.expose());
            text.push('\n');
        }
    }
    ctx.out.data(&text)?;
    Ok(ExitStatus::Success)
}

fn json_success(cred: &Credential) -> Value {
    let mut doc = json!({
        "service": cred.target.service,
        "connection_name": cred.target.connection_name,
        "identifier": cred.target.identifier,
        "access_token": cred.value.expose(),
        "token_type": if cred.scheme == Scheme::Basic { "Basic" } else { "Bearer" },
        "expires_at": cred.expires_at.map(format_timestamp),
        "scopes": cred.scopes,
    });
    if let Some(fields) = &cred.static_fields {
        doc["authorization_type"] = json!(cred.authorization_type);
        doc["credentials"] = Value::Object(fields.0.clone());
    }
    doc
}

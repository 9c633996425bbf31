//! How `token` prints: raw lines, `--header`, `--env` (shell-safe, with `exec`'s variable
//! names) or `--json`, in argument order; every line or none.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::TokenArgs;
use crate::commands::{Context, Target};
use crate::error::{self, CliError, ExitStatus, Partial};
use crate::flows::credentials::{Credential, Scheme};
use crate::flows::env_names;
use crate::output::ErrorDoc;
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
        let docs: Vec<TokenDoc> = names
            .iter()
            .zip(&outcomes)
            .map(|(name, outcome)| match outcome {
                Ok(cred) => TokenDoc::Credential(CredentialDoc::new(cred)),
                Err(err) => TokenDoc::Failed(ServiceError {
                    error: error::classify(err),
                    service: name.to_lowercase(),
                }),
            })
            .collect();
        if let [doc] = docs.as_slice() {
            ctx.out.json(doc)?;
        } else {
            ctx.out.json(&docs)?;
        }
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

/// One service of `token --json`: its credential, or its error.
#[derive(Serialize)]
#[serde(untagged)]
enum TokenDoc<'a> {
    Credential(CredentialDoc<'a>),
    Failed(ServiceError),
}

/// A service's error: the `--json` error document plus the service's name.
struct ServiceError {
    error: CliError,
    service: String,
}

impl Serialize for ServiceError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Doc<'a> {
            #[serde(flatten)]
            doc: ErrorDoc<'a>,
            service: &'a str,
        }
        Doc {
            doc: ErrorDoc::new(&self.error),
            service: &self.service,
        }
        .serialize(serializer)
    }
}

/// A credential in `token --json`. Fields in alphabetical order, the order the keys have
/// always had; the static fields only for static credentials.
#[derive(Serialize)]
struct CredentialDoc<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_type: Option<&'a str>,
    connection_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<&'a Map<String, Value>>,
    expires_at: Option<String>,
    identifier: &'a str,
    scopes: &'a [String],
    service: &'a str,
    token_type: &'static str,
}

impl<'a> CredentialDoc<'a> {
    fn new(cred: &'a Credential) -> Self {
        let fields = cred.static_fields.as_ref();
        Self {
            access_token: cred.value.expose(),
            authorization_type: fields.map(|_| cred.authorization_type.as_str()),
            connection_name: &cred.target.connection_name,
            credentials: fields.map(|f| &f.0),
            expires_at: cred.expires_at.map(format_timestamp),
            identifier: &cred.target.identifier,
            scopes: &cred.scopes,
            service: &cred.target.service,
            token_type: if cred.scheme == Scheme::Basic {
                "Basic"
            } else {
                "Bearer"
            },
        }
    }
}

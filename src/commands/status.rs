//! `status`: the credentials check and each service's account state, concurrently, without
//! pulling a token (`/details`, never `/auth`). `--all-identities` lists every account of each
//! service's connection instead (the connected-accounts list, filtered by connector).

mod print;

use super::{Context, Target};
use crate::cli::StatusArgs;
use crate::config::{self as cfg, Config, resolve};
use crate::error::{self, CliError, ErrorKind, ExitStatus, Partial};
use crate::runtime::join_all;
use crate::scalekit::Client;
use crate::scalekit::types::{AccountStatus, ConnectedAccount};

/// One row of the report.
struct Row {
    service: String,
    connection_name: Option<String>,
    identifier: Option<String>,
    status: RowStatus,
    account: Option<ConnectedAccount>,
    error: Option<CliError>,
    /// With `--all-identities`: whether this is the identifier the service uses.
    selected: Option<bool>,
}

/// A row's state: the account's, or why there is none to show.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RowStatus {
    /// The connected account's status, as Scalekit gave it.
    Account(AccountStatus),
    /// No connected account for this identifier.
    NotFound,
    /// Scalekit did not answer (after retries).
    Unreachable,
    /// Not checked: the credentials did not get that far.
    Unknown,
    /// The service is not in config.toml, or has no identifier.
    NotConfigured,
    /// The name is invalid, or Scalekit gave an answer that could not be used.
    Error,
}

impl RowStatus {
    fn as_str(&self) -> &str {
        match self {
            Self::Account(status) => status.as_str(),
            Self::NotFound => "NOT_FOUND",
            Self::Unreachable => "UNREACHABLE",
            Self::Unknown => "UNKNOWN",
            Self::NotConfigured => "NOT_CONFIGURED",
            Self::Error => "ERROR",
        }
    }

    /// Every state but an `ACTIVE` account (`NOT_FOUND` included) needs the user.
    fn needs_authorization(&self) -> bool {
        match self {
            Self::Account(status) => *status != AccountStatus::Active,
            Self::NotFound => true,
            Self::Unreachable | Self::Unknown | Self::NotConfigured | Self::Error => false,
        }
    }
}

/// The credentials check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credentials {
    Valid,
    Rejected,
    Missing,
    Unreachable,
}

impl Credentials {
    fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Rejected => "rejected",
            Self::Missing => "missing",
            Self::Unreachable => "unreachable",
        }
    }
}

pub(crate) async fn run(ctx: &Context, args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    if let Some(identifier) = &args.identifier {
        cfg::validate_identifier(identifier)?;
    }
    if let Some(mode) = cfg::credentials_too_open(&ctx.paths) {
        ctx.out.warn(&format!(
            "{} is readable by others (mode {mode:03o}); run: chmod 600 {}",
            ctx.paths.credentials_file().display(),
            ctx.paths.credentials_file().display()
        ));
    }
    for warning in crate::permissions::warnings(
        &ctx.paths.dir,
        &ctx.paths.config_file(),
        &ctx.paths.credentials_file(),
    ) {
        ctx.out.warn(&warning);
    }
    let names: Vec<String> = if args.services.is_empty() {
        config.services.keys().cloned().collect()
    } else {
        args.services.clone()
    };
    let (credentials, client, cred_error) = check_credentials(ctx, &config).await?;
    let client = client.filter(|_| credentials == Credentials::Valid);
    let rows = if args.all_identities {
        identity_rows(ctx, &config, &names, client, credentials).await
    } else {
        service_rows(
            ctx,
            &config,
            &names,
            args.identifier.as_deref(),
            client,
            credentials,
        )
        .await
    };

    // An account seen not ACTIVE: a running agent forgets its token (cli.md `agent`).
    let inactive: Vec<(&str, Option<&str>)> = rows
        .iter()
        .filter(|r| match &r.status {
            RowStatus::Account(status) => *status != AccountStatus::Active,
            RowStatus::NotFound => true,
            _ => false,
        })
        .filter_map(|r| {
            Some((
                r.connection_name.as_deref()?,
                Some(r.identifier.as_deref()?),
            ))
        })
        .collect();
    crate::agent::forget_all(&ctx.env, &inactive).await;
    let exit = exit_status(credentials, &rows);
    let resolved = ctx.scalekit(&config).ok();
    let env_url = resolved
        .as_ref()
        .and_then(|r| r.env_url.as_ref())
        .map(|u| cfg::env_url_string(&u.value));
    let client_id = resolved.and_then(|r| r.client_id).map(|id| id.value);
    if args.json {
        print::json(ctx, client_id, env_url, credentials, &rows)?;
    } else {
        print::table(
            ctx,
            env_url.as_deref(),
            client_id.as_deref(),
            credentials,
            &rows,
        )?;
    }
    let errors: Vec<CliError> = cred_error
        .into_iter()
        .chain(rows.iter().filter_map(|row| row.error.clone()))
        .collect();
    let mut hint = None;
    if exit == ExitStatus::AuthorizationRequired
        && let Some(row) = rows
            .iter()
            .find(|r| r.status != RowStatus::Account(AccountStatus::Active))
    {
        // Name the identifier when it is not (necessarily) the configured one.
        let identifier = match &row.identifier {
            Some(id) if args.all_identities || args.identifier.is_some() => {
                format!(" --identifier {id}")
            }
            _ => String::new(),
        };
        hint = Some(format!(
            "scalekit-auth authorize {}{identifier}",
            row.service
        ));
    }
    if errors.is_empty() && hint.is_none() && exit == ExitStatus::Success {
        return Ok(exit);
    }
    // The table (or document) is on stdout; main prints the errors and the hint after it.
    Err(Partial {
        status: exit,
        errors,
        hint,
    }
    .into())
}

/// One row per service: its (configured, or `--identifier`) account's state, looked up
/// concurrently with `/details`.
async fn service_rows(
    ctx: &Context,
    config: &Config,
    names: &[String],
    identifier: Option<&str>,
    client: Option<Client>,
    credentials: Credentials,
) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut targets: Vec<(usize, Target)> = Vec::new();
    for name in names {
        match ctx.target(config, name, identifier) {
            Ok(target) => {
                targets.push((rows.len(), target.clone()));
                rows.push(Row {
                    service: target.service,
                    connection_name: Some(target.connection_name),
                    identifier: Some(target.identifier),
                    status: RowStatus::Unknown,
                    account: None,
                    error: None,
                    selected: None,
                });
            }
            Err(err) => rows.push(unresolved_row(config, name, err)),
        }
    }
    if let Some(client) = client {
        let lookups = targets.iter().map(|(index, target)| {
            let client = &client;
            async move {
                let result = client
                    .account_details(&target.connection_name, &target.identifier)
                    .await;
                (*index, result)
            }
        });
        for (index, result) in join_all(lookups).await {
            let row = &mut rows[index];
            match result {
                Ok(Some(account)) => {
                    row.status = RowStatus::Account(account.status.clone());
                    row.account = Some(account);
                }
                Ok(None) => row.status = RowStatus::NotFound,
                Err(err) => row.fail(&err.into()),
            }
        }
    } else if credentials == Credentials::Unreachable {
        for (index, _) in &targets {
            rows[*index].status = RowStatus::Unreachable;
        }
    }
    rows
}

/// `--all-identities`: every connected account of each service's connection (the list,
/// filtered by `connector`, every page), one row per identifier; `NOT_FOUND` when the
/// connection has none. Rows of one service stay together, in the list's order.
async fn identity_rows(
    ctx: &Context,
    config: &Config,
    names: &[String],
    client: Option<Client>,
    credentials: Credentials,
) -> Vec<Row> {
    let mut groups: Vec<Vec<Row>> = Vec::new();
    let mut lookups: Vec<(usize, String, String, Option<String>)> = Vec::new();
    for name in names {
        match ctx.service(config, name) {
            Ok((service, mapping)) => {
                let selected = resolve::identifier(&service, None, Some(mapping), &ctx.env, config)
                    .ok()
                    .map(|id| id.value);
                let connection = mapping.connection_name.clone();
                lookups.push((groups.len(), service.clone(), connection.clone(), selected));
                let status = if credentials == Credentials::Unreachable {
                    RowStatus::Unreachable
                } else {
                    RowStatus::Unknown
                };
                groups.push(vec![Row {
                    service,
                    connection_name: Some(connection),
                    identifier: None,
                    status,
                    account: None,
                    error: None,
                    selected: None,
                }]);
            }
            Err(err) => groups.push(vec![unresolved_row(config, name, err)]),
        }
    }
    let Some(client) = client else {
        return groups.into_iter().flatten().collect();
    };
    let lists = lookups
        .into_iter()
        .map(|(index, service, connection, selected)| {
            let client = &client;
            async move {
                let result = client.list_accounts(Some(&connection), None).await;
                (index, service, connection, selected, result)
            }
        });
    for (index, service, connection, selected, result) in join_all(lists).await {
        let group = &mut groups[index];
        match result {
            Ok(accounts) if accounts.is_empty() => group[0].status = RowStatus::NotFound,
            Ok(accounts) => {
                *group = accounts
                    .into_iter()
                    .map(|account| Row {
                        service: service.clone(),
                        connection_name: Some(connection.clone()),
                        identifier: Some(account.identifier.clone()),
                        status: RowStatus::Account(account.status.clone()),
                        selected: Some(selected.as_deref() == Some(account.identifier.as_str())),
                        account: Some(account),
                        error: None,
                    })
                    .collect();
            }
            Err(err) => group[0].fail(&err.into()),
        }
    }
    groups.into_iter().flatten().collect()
}

/// The row of a name that does not resolve (unknown service, bad name, no identifier).
fn unresolved_row(config: &Config, name: &str, err: CliError) -> Row {
    let mapping = cfg::validate_service(name)
        .ok()
        .and_then(|s| config.services.get(&s));
    Row {
        service: name.to_lowercase(),
        connection_name: mapping.map(|m| m.connection_name.clone()),
        identifier: None,
        status: if err.kind == ErrorKind::Usage {
            RowStatus::Error
        } else {
            RowStatus::NotConfigured
        },
        account: None,
        error: Some(err),
        selected: None,
    }
}

impl Row {
    /// A lookup that failed: `UNREACHABLE` after retries, else `ERROR`.
    fn fail(&mut self, err: &anyhow::Error) {
        let err = error::classify(err);
        self.status = if err.kind == ErrorKind::Unreachable {
            RowStatus::Unreachable
        } else {
            RowStatus::Error
        };
        self.error = Some(err);
    }
}

/// `POST /oauth/token` with the resolved credentials.
async fn check_credentials(
    ctx: &Context,
    config: &Config,
) -> anyhow::Result<(Credentials, Option<Client>, Option<CliError>)> {
    // Missing credentials are a state to report; a refused URL (exit 2) or a client that
    // cannot be set up (exit 1) is not about the credentials and ends the command.
    let client = match ctx.client(config) {
        Ok(client) => client,
        Err(err) => {
            let cli = error::classify(&err);
            if cli.kind != ErrorKind::NotConfigured {
                return Err(err);
            }
            return Ok((Credentials::Missing, None, Some(cli)));
        }
    };
    match client.verify_credentials().await {
        Ok(()) => Ok((Credentials::Valid, Some(client), None)),
        Err(err) => {
            let err = anyhow::Error::from(err);
            let cli = error::classify(&err);
            match cli.kind {
                ErrorKind::NotConfigured => Ok((Credentials::Rejected, None, Some(cli))),
                ErrorKind::Unreachable => Ok((Credentials::Unreachable, None, Some(cli))),
                // An answer we cannot read: neither valid nor rejected.
                _ => Err(err),
            }
        }
    }
}

/// 0 all valid and ACTIVE; 3 credentials missing/rejected (or a service not configured);
/// 4 a service needs authorization; 5 unreachable (unless another needs authorization).
fn exit_status(credentials: Credentials, rows: &[Row]) -> ExitStatus {
    match credentials {
        Credentials::Missing | Credentials::Rejected => return ExitStatus::NotConfigured,
        Credentials::Unreachable => return ExitStatus::Unreachable,
        Credentials::Valid => {}
    }
    let any = |status: RowStatus| rows.iter().any(|r| r.status == status);
    if rows.iter().any(|r| r.status.needs_authorization()) {
        ExitStatus::AuthorizationRequired
    } else if any(RowStatus::Unreachable) {
        ExitStatus::Unreachable
    } else if any(RowStatus::NotConfigured) {
        ExitStatus::NotConfigured
    } else if any(RowStatus::Error) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

//! How `status` prints: the table, or the `--json` document.

use serde::Serialize;

use super::{Context, Credentials, Row, RowStatus};
use crate::output::{format_table, safe};
use crate::scalekit::types::format_timestamp;

/// `status --json`: one document on stdout.
pub(super) fn json(
    ctx: &Context,
    client_id: Option<String>,
    env_url: Option<String>,
    credentials: Credentials,
    rows: &[Row],
) -> std::io::Result<()> {
    ctx.out.json(&StatusDoc {
        client_id,
        config_dir: ctx.paths.dir.display().to_string(),
        credentials: credentials.as_str(),
        env_url,
        services: rows.iter().map(RowDoc::new).collect(),
    })
}

impl Serialize for RowStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// `status --json`. Fields in alphabetical order, the order the keys have always had.
#[derive(Serialize)]
struct StatusDoc<'a> {
    client_id: Option<String>,
    config_dir: String,
    credentials: &'static str,
    env_url: Option<String>,
    services: Vec<RowDoc<'a>>,
}

/// One service (or, with `--all-identities`, one account) of `status --json`.
#[derive(Serialize)]
struct RowDoc<'a> {
    authorization_type: Option<&'a str>,
    connection_name: Option<&'a str>,
    identifier: Option<&'a str>,
    last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selected: Option<bool>,
    service: &'a str,
    status: &'a RowStatus,
    token_expires_at: Option<String>,
}

impl<'a> RowDoc<'a> {
    fn new(row: &'a Row) -> Self {
        let account = row.account.as_ref();
        Self {
            authorization_type: account
                .map(|a| a.authorization_type.as_str())
                .filter(|t| !t.is_empty()),
            connection_name: row.connection_name.as_deref(),
            identifier: row.identifier.as_deref(),
            last_used_at: account.and_then(|a| a.last_used_at).map(format_timestamp),
            selected: row.selected,
            service: &row.service,
            status: &row.status,
            token_expires_at: account
                .and_then(|a| a.token_expires_at)
                .map(format_timestamp),
        }
    }
}

pub(super) fn table(
    ctx: &Context,
    env_url: Option<&str>,
    client_id: Option<&str>,
    credentials: Credentials,
    rows: &[Row],
) -> std::io::Result<()> {
    let mut text = format!(
        "Scalekit:    {}\nClient ID:   {}\nCredentials: {}\nConfig:      {}\n",
        safe::line(env_url.unwrap_or("(not set)")),
        safe::line(client_id.unwrap_or("(not set)")),
        credentials.as_str(),
        ctx.paths.dir.display()
    );
    if rows.is_empty() {
        text.push_str("\nNo services configured.\n");
        // Without credentials, the error below sends the user to `init` first.
        if !ctx.out.is_quiet() && credentials != Credentials::Missing {
            ctx.out.hint("scalekit-auth config SERVICE CONNECTION_NAME");
        }
        return ctx.out.data(&text);
    }
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.service.clone(),
                r.connection_name.clone().unwrap_or_else(|| "-".into()),
                r.identifier.clone().unwrap_or_else(|| "-".into()),
                r.status.as_str().to_owned(),
                r.account
                    .as_ref()
                    .and_then(|a| a.token_expires_at)
                    .map_or_else(|| "-".into(), format_timestamp),
            ]
        })
        .collect();
    text.push('\n');
    text.push_str(&format_table(
        &[
            "SERVICE",
            "CONNECTION",
            "IDENTIFIER",
            "STATUS",
            "TOKEN EXPIRES",
        ],
        &table,
    ));
    ctx.out.data(&text)
}

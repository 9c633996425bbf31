//! The environment's connections as `connections --json` (and the MCP server's
//! `list_connections`) show them: each with the services mapped to it.

use serde::Serialize;

use crate::config::Config;
use crate::scalekit::Client;
use crate::scalekit::tools::Connection;

/// The connections of the environment (`--provider` filters server-side; the comparison here
/// only guards against an API that ignores the filter: provider keys compare
/// case-insensitively).
pub(crate) async fn list(
    client: &Client,
    provider: Option<&str>,
) -> Result<Vec<Connection>, crate::scalekit::ApiError> {
    let connections = client.list_connections(provider).await?;
    Ok(connections
        .into_iter()
        .filter(|c| provider.is_none_or(|p| c.provider.eq_ignore_ascii_case(p)))
        .collect())
}

/// `connections --json` (and the MCP server's `list_connections`): each connection with the
/// services mapped to it.
pub(crate) fn docs<'a>(config: &Config, connections: &'a [Connection]) -> Vec<ConnectionDoc<'a>> {
    connections
        .iter()
        .map(|c| {
            let services = services_of(config, &c.key_id);
            ConnectionDoc {
                connection_name: &c.key_id,
                enabled: c.enabled,
                provider: &c.provider,
                service: services.first().cloned(),
                services,
                status: &c.status,
                kind: &c.kind,
            }
        })
        .collect()
}

/// One connection of `connections --json`. Fields in alphabetical order (by key), the order
/// the keys have always had.
#[derive(Serialize)]
pub(crate) struct ConnectionDoc<'a> {
    connection_name: &'a str,
    enabled: bool,
    provider: &'a str,
    /// The first service mapped to it, for scripts that expect one.
    service: Option<String>,
    services: Vec<String>,
    status: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// The services mapped to a connection, in name order.
pub(crate) fn services_of(config: &Config, connection_name: &str) -> Vec<String> {
    let mut services: Vec<String> = config
        .services
        .iter()
        .filter(|(_, m)| m.connection_name == connection_name)
        .map(|(name, _)| name.clone())
        .collect();
    services.sort();
    services
}

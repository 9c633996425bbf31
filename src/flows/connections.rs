//! The environment's connections as `connections --json` (and the MCP server's
//! `list_connections`) show them: each with the services mapped to it.

use serde_json::{Value, json};

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

/// `connections --json`: `{"connection_name","provider","type","status","enabled","service",
/// "services"}` for each.
pub(crate) fn to_json(config: &Config, connections: &[Connection]) -> Value {
    Value::Array(
        connections
            .iter()
            .map(|c| {
                let services = services_of(config, &c.key_id);
                json!({
                    "connection_name": c.key_id,
                    "provider": c.provider,
                    "type": c.kind,
                    "status": c.status,
                    "enabled": c.enabled,
                    "service": services.first(),
                    "services": services,
                })
            })
            .collect(),
    )
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

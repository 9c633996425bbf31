//! `mcp`: serve the connected accounts to MCP clients on stdio (the server is in `crate::mcp`).

use super::Context;
use crate::cli::McpArgs;
use crate::config as cfg;
use crate::error::ExitStatus;
use crate::mcp::{self, Limits};

pub(crate) async fn run(ctx: Context, args: &McpArgs) -> anyhow::Result<ExitStatus> {
    // Bad names are a usage error before the server starts; unknown services are not (the
    // config may gain them while the server runs).
    let mut services = Vec::new();
    for name in &args.services {
        let name = cfg::validate_service(name)?;
        if !services.contains(&name) {
            services.push(name);
        }
    }
    mcp::serve(
        ctx,
        Limits {
            services,
            read_only: args.read_only,
        },
    )
    .await
}

//! `GET /api/v1/connections/app`: the environment's connections, in pages of at
//! most 30.
#![allow(clippy::result_large_err)]

use serde::Serialize;

use super::request::{Params, check_max_len, invalid, paging, window};
use crate::ctx::{Ctx, Req};
use crate::wire::{self, ConnectionWire, Resp};

#[derive(Serialize)]
struct ConnectionsResponse {
    connections: Vec<ConnectionWire>,
    next_page_token: String,
    prev_page_token: String,
    total_size: usize,
}

/// `GET /api/v1/connections/app`; `provider` matches `provider_key`, any case.
pub(super) fn list(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let params = Params::parse(req, &["page_size", "page_token", "provider"])?;
    let provider = params.one("provider")?.filter(|v| !v.is_empty());
    check_max_len("provider", provider, 100)?;
    let mut state = ctx.shared.state();
    let (size, offset) = paging(&state, &params, |size| {
        if size > 30 {
            Err(invalid(
                "page_size",
                "value must be less than or equal to 30",
            ))
        } else {
            Ok(())
        }
    })?;
    let matching: Vec<usize> = state
        .connections
        .iter()
        .enumerate()
        .filter(|(_, c)| provider.is_none_or(|p| c.provider_key.eq_ignore_ascii_case(p)))
        .map(|(index, _)| index)
        .collect();
    let page = window(&mut state, matching.len(), size, offset);
    let connections = matching[page.range]
        .iter()
        .map(|&index| wire::connection(&state.connections[index]))
        .collect();
    Ok(wire::api_ok(
        200,
        &ConnectionsResponse {
            connections,
            next_page_token: page.next_page_token,
            prev_page_token: page.prev_page_token,
            total_size: matching.len(),
        },
    ))
}

//! `GET /api/v1/connected_accounts` and `…:search`: filters and pages.
#![allow(clippy::result_large_err)]

use serde::Serialize;

use super::request::{Params, check_connector, check_max_len, invalid, paging, parse_bool};
use crate::ctx::{Ctx, Req};
use crate::state::State;
use crate::wire::{self, AccountWire, Resp, View};

#[derive(Serialize)]
pub(super) struct ListResponse {
    connected_accounts: Vec<AccountWire>,
    total_size: usize,
    next_page_token: String,
    prev_page_token: String,
}

/// One page of the matching accounts, with page tokens.
pub(super) fn page(
    state: &mut State,
    matching: &[usize],
    size: usize,
    offset: usize,
) -> ListResponse {
    let total = matching.len();
    let connected_accounts = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|&index| wire::account(&state.accounts[index], View::List))
        .collect();
    let next_page_token = if offset + size < total {
        state.page_token(offset + size)
    } else {
        String::new()
    };
    let prev_page_token = if offset > 0 {
        state.page_token(offset.saturating_sub(size))
    } else {
        String::new()
    };
    ListResponse {
        connected_accounts,
        total_size: total,
        next_page_token,
        prev_page_token,
    }
}

/// `GET /api/v1/connected_accounts`.
pub(super) fn list(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let params = Params::parse(
        req,
        &[
            "organization_id",
            "user_id",
            "connector",
            "identifier",
            "provider",
            "page_size",
            "page_token",
            "query",
            "connection_names",
            "is_org_wide_credential",
        ],
    )?;
    let organization_id = params.one("organization_id")?.filter(|v| !v.is_empty());
    let user_id = params.one("user_id")?.filter(|v| !v.is_empty());
    let connector = params.one("connector")?.filter(|v| !v.is_empty());
    let identifier = params.one("identifier")?.filter(|v| !v.is_empty());
    let provider = params.one("provider")?.filter(|v| !v.is_empty());
    let query = params.one("query")?.filter(|v| !v.is_empty());
    let connection_names = params.all("connection_names");
    let org_wide = match params.one("is_org_wide_credential")? {
        None | Some("") => false,
        Some(text) => parse_bool("is_org_wide_credential", text)?,
    };
    check_max_len("organization_id", organization_id, 32)?;
    check_max_len("user_id", user_id, 32)?;
    check_connector("connector", connector)?;
    check_max_len("identifier", identifier, 100)?;
    check_max_len("query", query, 100)?;
    if connection_names.len() > 20 {
        return Err(invalid(
            "connection_names",
            "value must contain no more than 20 item(s)",
        ));
    }
    for name in &connection_names {
        if name.is_empty() {
            return Err(invalid(
                "connection_names",
                "value length must be at least 1 characters",
            ));
        }
        check_connector("connection_names", Some(name))?;
    }
    if connector.is_some() && !connection_names.is_empty() {
        return Err(wire::bad_request(
            "connector and connection_names are mutually exclusive — provide only one",
        ));
    }
    let mut state = ctx.shared.state();
    let (size, offset) = paging(&state, &params, |size| {
        if size >= 100 {
            Err(invalid("page_size", "value must be less than 100"))
        } else {
            Ok(())
        }
    })?;
    let query = query.map(str::to_lowercase);
    let matching: Vec<usize> = state
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            !org_wide
                && organization_id.is_none_or(|v| a.organization_id.as_deref() == Some(v))
                && user_id.is_none_or(|v| a.user_id.as_deref() == Some(v))
                && connector.is_none_or(|v| a.connector == v)
                && identifier.is_none_or(|v| a.identifier == v)
                && provider.is_none_or(|v| a.provider.eq_ignore_ascii_case(v))
                && (connection_names.is_empty() || connection_names.contains(&a.connector.as_str()))
                && query.as_deref().is_none_or(|q| {
                    a.identifier.to_lowercase().contains(q)
                        || a.connector.to_lowercase().contains(q)
                })
        })
        .map(|(index, _)| index)
        .collect();
    let body = page(&mut state, &matching, size, offset);
    Ok(wire::api_ok(200, &body))
}

/// `GET /api/v1/connected_accounts:search`.
pub(super) fn search(ctx: &Ctx, req: &Req) -> Result<Resp, Resp> {
    let params = Params::parse(req, &["query", "page_size", "page_token", "connection_id"])?;
    let query = params.one("query")?.unwrap_or_default();
    if query.chars().count() < 3 {
        return Err(invalid(
            "query",
            "value length must be at least 3 characters",
        ));
    }
    check_max_len("query", Some(query), 100)?;
    let connection_id = params.one("connection_id")?.filter(|v| !v.is_empty());
    let mut state = ctx.shared.state();
    let (size, offset) = paging(&state, &params, |size| {
        if size > 30 {
            Err(invalid(
                "page_size",
                "value must be greater than or equal to 1 and less than or equal to 30",
            ))
        } else {
            Ok(())
        }
    })?;
    let query = query.to_lowercase();
    let matching: Vec<usize> = state
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            connection_id.is_none_or(|id| wire::connection_id(&a.connector) == id)
                && [&a.identifier, &a.provider, &a.connector]
                    .iter()
                    .any(|field| field.to_lowercase().contains(&query))
        })
        .map(|(index, _)| index)
        .collect();
    let body = page(&mut state, &matching, size, offset);
    Ok(wire::api_ok(200, &body))
}

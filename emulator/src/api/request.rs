//! Reading requests strictly: JSON bodies, query parameters, field rules and paging.
//!
//! Helpers return `Result<_, Resp>`: the error is the finished error response.
#![allow(clippy::result_large_err)]

use hyper::HeaderMap;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;

use crate::ctx::{Ctx, Req};
use crate::state::{Lookup, State, TokenCheck};
use crate::wire::{self, Resp};

/// `page_size` when the request gives none (or 0).
pub(super) const DEFAULT_PAGE_SIZE: usize = 10;

/// Checks `Authorization: Bearer <token>` against the tokens this emulator issued.
pub(crate) fn authenticate(ctx: &Ctx, headers: &HeaderMap) -> Result<(), Resp> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(wire::unauthenticated("Token empty"));
    };
    let value = value
        .to_str()
        .map_err(|_| wire::unauthenticated("invalid token"))?
        .trim();
    // `Bearer ` arrives as `Bearer`: header values lose trailing whitespace.
    if value.is_empty() || value.eq_ignore_ascii_case("bearer") {
        return Err(wire::unauthenticated("Token empty"));
    }
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(wire::unauthenticated("invalid token")),
    };
    if token.is_empty() {
        return Err(wire::unauthenticated("Token empty"));
    }
    match ctx.shared.state().check_api_token(token) {
        TokenCheck::Valid => Ok(()),
        TokenCheck::Invalid => Err(wire::unauthenticated("invalid token")),
        TokenCheck::Expired => Err(wire::unauthenticated("token expired")),
    }
}

/// Whether the `Content-Type` header names this media type (parameters ignored).
pub(super) fn has_media_type(headers: &HeaderMap, wanted: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted))
}

/// Parses a JSON body strictly. An empty body without a content type counts as `{}`
/// (as the gateway does); anything else must be `application/json`.
pub(super) fn json_body<T: DeserializeOwned>(req: &Req) -> Result<T, Resp> {
    let empty = req.body.iter().all(u8::is_ascii_whitespace);
    if (req.headers.contains_key(CONTENT_TYPE) || !empty)
        && !has_media_type(&req.headers, "application/json")
    {
        return Err(wire::parse_error(
            "the request body must be JSON with Content-Type: application/json",
        ));
    }
    let body: &[u8] = if empty { b"{}" } else { &req.body };
    serde_json::from_slice(body)
        .map_err(|err| wire::parse_error(&format!("invalid request body: {err}")))
}

/// Query parameters, checked against the names a route accepts.
pub(super) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub(super) fn parse(req: &Req, allowed: &[&str]) -> Result<Self, Resp> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(req.query.as_deref().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, _)| !allowed.contains(&name.as_str()))
        {
            return Err(wire::parse_error(&format!(
                "unknown query parameter {name:?}; this route accepts {}",
                allowed.join(", ")
            )));
        }
        Ok(Self { pairs })
    }

    /// A single-valued parameter.
    pub(super) fn one(&self, name: &str) -> Result<Option<&str>, Resp> {
        let mut values = self.all(name).into_iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(wire::parse_error(&format!(
                "query parameter {name:?} is given more than once"
            )));
        }
        Ok(first)
    }

    /// Every value of a repeated parameter.
    pub(super) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub(super) fn invalid(field: &str, problem: &str) -> Resp {
    wire::bad_request(&format!("validation error: {field}: {problem}"))
}

pub(super) fn check_max_len(field: &str, value: Option<&str>, max: usize) -> Result<(), Resp> {
    match value {
        Some(v) if v.chars().count() > max => Err(invalid(
            field,
            &format!("value length must be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

pub(super) fn check_connector(field: &str, value: Option<&str>) -> Result<(), Resp> {
    check_max_len(field, value, 400)?;
    match value {
        Some(v) if !wire::is_valid_connector(v) => Err(invalid(
            field,
            "value does not match regex pattern `^[a-zA-Z0-9_: -]*$`",
        )),
        _ => Ok(()),
    }
}

pub(super) fn non_empty(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// The field rules shared by every request that names one account.
pub(super) fn check_lookup(lookup: &Lookup<'_>) -> Result<(), Resp> {
    check_connector("connector", lookup.connector)?;
    check_max_len("identifier", lookup.identifier, 100)?;
    check_max_len("organization_id", lookup.organization_id, 32)?;
    check_max_len("user_id", lookup.user_id, 32)?;
    if let Some(id) = lookup.id.filter(|id| !id.is_empty()) {
        if !id.starts_with("ca_") {
            return Err(invalid("id", "value does not have prefix `ca_`"));
        }
        check_max_len("id", Some(id), 32)?;
    }
    let by_key = non_empty(lookup.connector) && non_empty(lookup.identifier);
    if !(non_empty(lookup.id) || by_key) {
        return Err(wire::bad_request(
            "either id, or connector and identifier, must be provided",
        ));
    }
    Ok(())
}

/// Go's `strconv.ParseBool`, which the gateway uses for query booleans.
pub(super) fn parse_bool(name: &str, text: &str) -> Result<bool, Resp> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(wire::parse_error(&format!(
            "type mismatch, parameter: {name}, error: strconv.ParseBool: parsing {text:?}: invalid syntax"
        ))),
    }
}

/// Parses `page_size` (a uint32) and `page_token` into a size and an offset.
pub(super) fn paging(
    state: &State,
    params: &Params,
    valid_size: impl Fn(usize) -> Result<(), Resp>,
) -> Result<(usize, usize), Resp> {
    let size = match params.one("page_size")? {
        None | Some("") => 0,
        Some(text) => text.parse::<u32>().map_err(|err| {
            wire::parse_error(&format!(
                "type mismatch, parameter: page_size, error: {err}"
            ))
        })?,
    };
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    valid_size(size)?;
    let token = params.one("page_token")?.unwrap_or_default();
    check_max_len("page_token", Some(token), 100)?;
    let offset = if token.is_empty() {
        0
    } else {
        state
            .page_offset(token)
            .ok_or_else(|| invalid("page_token", "not a page token this server issued"))?
    };
    Ok((if size == 0 { DEFAULT_PAGE_SIZE } else { size }, offset))
}

/// One page of `total` items: the index range to show and the page tokens.
pub(super) struct Window {
    pub(super) range: std::ops::Range<usize>,
    pub(super) next_page_token: String,
    pub(super) prev_page_token: String,
}

/// The page at `offset` of `size` items out of `total`; `next_page_token` is `""`
/// on the last page.
pub(super) fn window(state: &mut State, total: usize, size: usize, offset: usize) -> Window {
    let start = offset.min(total);
    let end = offset.saturating_add(size).min(total);
    Window {
        range: start..end,
        next_page_token: if end < total {
            state.page_token(end)
        } else {
            String::new()
        },
        prev_page_token: if offset > 0 {
            state.page_token(offset.saturating_sub(size))
        } else {
            String::new()
        },
    }
}

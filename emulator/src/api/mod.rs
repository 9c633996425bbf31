//! The Scalekit routes: `POST /oauth/token`, `/api/v1/connected_accounts…`,
//! `/api/v1/connections/app`, `/api/v1/tools`, `/api/v1/execute_tool` and the proxy. Validation is strict on purpose: unknown body fields and query parameters,
//! camelCase names and non-JSON bodies are rejected with 400 (code 3).
//!
//! Handlers return `Result<Resp, Resp>`: the error is the finished error response,
//! returned at once, so its size does not matter.
#![allow(clippy::result_large_err)]

mod accounts;
mod connections;
mod list;
mod proxy;
mod request;
mod token;
mod tools;

use hyper::Method;

pub(crate) use proxy::proxy;
pub(crate) use token::token;

use request::authenticate;

use crate::ctx::{Ctx, Req};
use crate::wire::{self, Resp, View};

/// The routes under `/api/v1`.
#[derive(Clone, Copy, Debug)]
enum Route {
    List,
    Create,
    Update,
    Auth,
    Details,
    MagicLink,
    Delete,
    Search,
    Verify,
    Connections,
    Tools,
    ExecuteTool,
}

/// Everything under `/api/`: route, authenticate, then answer.
pub(crate) fn v1(ctx: &Ctx, req: &Req) -> Resp {
    let method = &req.method;
    let route = match req.path.as_str() {
        "/api/v1/connected_accounts" => match *method {
            Method::GET => Some(Route::List),
            Method::POST => Some(Route::Create),
            Method::PUT => Some(Route::Update),
            _ => None,
        },
        "/api/v1/connected_accounts/auth" => only(method, &Method::GET, Route::Auth),
        "/api/v1/connected_accounts/details" => only(method, &Method::GET, Route::Details),
        "/api/v1/connected_accounts/magic_link" => only(method, &Method::POST, Route::MagicLink),
        "/api/v1/connected_accounts:delete" => only(method, &Method::POST, Route::Delete),
        "/api/v1/connected_accounts:search" => only(method, &Method::GET, Route::Search),
        "/api/v1/connected_accounts/user/verify" => only(method, &Method::POST, Route::Verify),
        "/api/v1/connections/app" => only(method, &Method::GET, Route::Connections),
        "/api/v1/tools" => only(method, &Method::GET, Route::Tools),
        "/api/v1/execute_tool" => only(method, &Method::POST, Route::ExecuteTool),
        _ => return wire::route_not_found(),
    };
    let Some(route) = route else {
        return wire::method_not_allowed();
    };
    if let Err(resp) = authenticate(ctx, &req.headers) {
        return resp;
    }
    let now = crate::types::now();
    let result = match route {
        Route::List => list::list(ctx, req),
        Route::Create => accounts::create(ctx, req, now),
        Route::Update => accounts::update(ctx, req, now),
        Route::Auth => accounts::get_account(ctx, req, View::Auth, now),
        Route::Details => accounts::get_account(ctx, req, View::Details, now),
        Route::MagicLink => accounts::magic_link(ctx, req, now),
        Route::Delete => accounts::delete(ctx, req),
        Route::Search => list::search(ctx, req),
        Route::Verify => accounts::verify(ctx, req, now),
        Route::Connections => connections::list(ctx, req),
        Route::Tools => tools::list(ctx, req),
        Route::ExecuteTool => tools::execute(ctx, req, now),
    };
    result.unwrap_or_else(|resp| resp)
}

fn only(method: &Method, allowed: &Method, route: Route) -> Option<Route> {
    (method == allowed).then_some(route)
}

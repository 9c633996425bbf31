//! What every route handler gets: the request with its body read, and the context.

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{HeaderMap, Method};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::shared::Shared;

/// A request with its body read.
#[derive(Debug)]
pub(crate) struct Req {
    pub(crate) method: Method,
    /// Path without the query string.
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// What every route can reach.
pub(crate) struct Ctx {
    pub(crate) shared: Arc<Shared>,
    /// Pooled plain-HTTP client for the proxy.
    pub(crate) client: Client<HttpConnector, Full<Bytes>>,
}

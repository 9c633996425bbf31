//! Calls through Scalekit's proxy: the provider's API, with the connected account's
//! credentials added by Scalekit.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::Client;
use super::decode::unexpected;
use super::error::ApiError;
use super::transport::{Answer, MAX_PROXY_BODY_BYTES, Retries};
use super::types::GrpcError;
use crate::secret::Secret;

/// One HTTP call through Scalekit's proxy (docs/scalekit-wire.md §13): Scalekit adds the
/// connected account's credentials and forwards it to the provider's API, so the token
/// never reaches this machine.
pub(crate) struct ProxyRequest<'a> {
    pub(crate) method: Method,
    /// The provider API's path and query, starting with `/`.
    pub(crate) path_and_query: &'a str,
    pub(crate) connection_name: &'a str,
    pub(crate) identifier: &'a str,
    /// Headers for the provider. Never `Authorization`: Scalekit sets the account's.
    pub(crate) headers: &'a [(HeaderName, HeaderValue)],
    pub(crate) body: Option<&'a [u8]>,
    /// Stream the answer's body to this file instead of memory (no size limit then).
    pub(crate) spill: Option<&'a std::fs::File>,
}

/// What came back through the proxy.
pub(crate) struct ProxyAnswer {
    pub(crate) status: StatusCode,
    /// The body as the provider sent it (or Scalekit's error body); when it was streamed to
    /// a file, only its first bytes.
    pub(crate) body: Vec<u8>,
    /// The body's full length in bytes.
    pub(crate) size: u64,
    pub(crate) headers: HeaderMap,
    /// The HTTP version of Scalekit's answer (what `request -i` shows).
    pub(crate) version: reqwest::Version,
    /// Set when Scalekit itself refused the call instead of relaying the provider's answer.
    pub(crate) refusal: Option<ProxyRefusal>,
}

/// Why Scalekit did not forward a proxy call.
#[derive(Debug)]
pub(crate) enum ProxyRefusal {
    /// No connected account for the connection and identifier (404).
    AccountNotFound,
    /// The account exists but is not `ACTIVE` (gRPC `FAILED_PRECONDITION`).
    AccountNotActive,
    /// Anything else Scalekit said, as an error.
    Other(ApiError),
}

impl Client {
    /// One call through Scalekit's proxy: `{env_url}/proxy{path}` with the `connection_name`
    /// and `identifier` headers and the API token. Idempotent methods (GET, HEAD, OPTIONS,
    /// PUT) are retried like every request; any other method is sent again only when no byte
    /// of it left ([`ApiError::Lost`] once it may have been received).
    /// A 401 re-authenticates only when it is Scalekit's own; the provider's 401 is relayed.
    pub(crate) async fn proxy(&self, req: &ProxyRequest<'_>) -> Result<ProxyAnswer, ApiError> {
        let url = self.proxy_url(req.path_and_query)?;
        for (name, value) in [
            ("connection_name", req.connection_name),
            ("identifier", req.identifier),
        ] {
            if HeaderValue::from_str(value).is_err() {
                return Err(ApiError::InvalidRequest {
                    detail: format!(
                        "the {name} {value:?} cannot be sent in the proxy's {name} header \
                         (it takes printable ASCII only)"
                    ),
                });
            }
        }
        // The -v line and errors name the proxy path without the query string.
        let prefix_len = self.url("/proxy").path().len();
        let log_path = format!("/proxy{}", &url.path()[prefix_len..]);
        let retries = if is_idempotent(&req.method) {
            Retries::Relay
        } else {
            Retries::Unsent
        };
        let build = |token: &Secret| {
            let mut builder = self
                .http
                .request(req.method.clone(), url.clone())
                .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
                // The SDKs' header names, underscores and all (docs/scalekit-wire.md §13).
                .header("connection_name", req.connection_name)
                .header("identifier", req.identifier);
            for (name, value) in req.headers {
                builder = builder.header(name, value);
            }
            if let Some(body) = req.body {
                builder = builder.body(body.to_vec());
            }
            builder
        };
        let is_scalekits = |answer: &Answer| GrpcError::scalekit_error(&answer.body).is_some();
        let answer = self
            .authenticated_to(
                &req.method,
                &log_path,
                retries,
                MAX_PROXY_BODY_BYTES,
                req.spill,
                build,
                is_scalekits,
            )
            .await?;
        let refusal = GrpcError::scalekit_error(&answer.body).map(|err| {
            let code = err.error_code().unwrap_or_default();
            if answer.status == StatusCode::NOT_FOUND
                && (err.code == Some(5) || code == "NOT_FOUND")
            {
                ProxyRefusal::AccountNotFound
            } else if err.code == Some(9) || code.contains("NOT_ACTIVE") {
                ProxyRefusal::AccountNotActive
            } else {
                ProxyRefusal::Other(unexpected(&req.method, &log_path, &answer))
            }
        });
        Ok(ProxyAnswer {
            status: answer.status,
            body: answer.body,
            size: answer.size,
            headers: answer.headers,
            version: answer.version,
            refusal,
        })
    }

    /// `{env_url}/proxy{path_and_query}`, refusing anything that would not stay under
    /// `/proxy/` once parsed (dot segments are resolved by URL parsing).
    fn proxy_url(&self, path_and_query: &str) -> Result<Url, ApiError> {
        let base = self.url("/proxy");
        let invalid = |why: &str| ApiError::InvalidRequest {
            detail: format!("cannot send {path_and_query:?} through the proxy: {why}"),
        };
        if !path_and_query.starts_with('/') {
            return Err(invalid("the path must start with /"));
        }
        let url =
            Url::parse(&format!("{base}{path_and_query}")).map_err(|e| invalid(&e.to_string()))?;
        if url.origin() != base.origin()
            || !url.path().starts_with(&format!("{}/", base.path()))
            || url.fragment().is_some()
        {
            return Err(invalid("it would leave the proxy's path"));
        }
        Ok(url)
    }
}

/// Methods that may be sent twice with the same effect: the only proxy calls that are
/// retried once they may have been received. DELETE is left out although RFC 9110 §9.2.2
/// counts it: a provider's second DELETE can answer differently (404) or remove something
/// else (`DELETE /messages/oldest`), so it is treated like POST and PATCH.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::TRACE,
    ]
    .contains(method)
}

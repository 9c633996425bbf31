//! The Scalekit REST client (scalekit-api.md): client-credentials auth, connected accounts,
//! retries and timeouts. No printing, no prompting: callers observe requests through
//! [`RequestEvent`]s and get typed [`ApiError`]s.

pub(crate) mod error;
mod roots;
pub(crate) mod types;

#[cfg(test)]
mod proptests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

pub(crate) use self::error::ApiError;
use self::error::sanitize_message;
use self::types::{
    AccountEnvelope, ConnectedAccount, GrpcError, ListPage, MagicLink, OAuthError, TokenResponse,
};
use crate::secret::Secret;

/// Sent on every request (scalekit-api.md §5 allows any user agent).
pub(crate) const USER_AGENT: &str = concat!("scalekit-auth/", env!("CARGO_PKG_VERSION"));
/// At most this many attempts per request (cli.md "Retries").
pub(crate) const MAX_ATTEMPTS: u32 = 4;
/// All attempts of one request, waits included, end within this time.
pub(crate) const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(30);
/// First backoff step; doubled per attempt, with jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// No single backoff wait is longer than this.
const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// Answers larger than this are refused rather than buffered, and not retried (a retry would
/// get the same answer).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The same for answers relayed through the proxy: provider APIs send attachments and exports.
const MAX_PROXY_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Page size for listing connected accounts (Scalekit validates `< 100`).
const LIST_PAGE_SIZE: u32 = 50;
/// A list that claims more pages than this is looping; stop with an error.
const MAX_LIST_PAGES: usize = 1000;

/// One finished HTTP attempt, for `--verbose`. Carries no query string, body or header.
#[derive(Debug, Clone)]
pub(crate) struct RequestEvent {
    pub(crate) method: Method,
    /// The URL path only: the query string can carry identifiers, never needed in a log.
    pub(crate) path: String,
    /// `None` when no answer came (connection error, timeout).
    pub(crate) status: Option<u16>,
    pub(crate) elapsed: Duration,
    /// Why there was no answer, when there was none.
    pub(crate) error: Option<String>,
}

/// Receives every [`RequestEvent`].
pub(crate) type Observer = Arc<dyn Fn(&RequestEvent) + Send + Sync>;

/// Everything needed to talk to one Scalekit environment. `Debug` shows the secret redacted.
#[derive(Clone)]
pub(crate) struct ClientOptions {
    /// Already validated: `https://`, or `http://` to loopback.
    pub(crate) env_url: Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    /// Per-attempt timeout (`--http-timeout`).
    pub(crate) http_timeout: Duration,
    /// Total time for all attempts of one request.
    pub(crate) retry_budget: Duration,
    pub(crate) observer: Option<Observer>,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("env_url", &self.env_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("http_timeout", &self.http_timeout)
            .field("retry_budget", &self.retry_budget)
            .field(
                "observer",
                &self.observer.as_ref().map(|_| "Fn(&RequestEvent)"),
            )
            .finish()
    }
}

/// A Scalekit client: one connection pool and one API token per run, shared by concurrent
/// requests. Nothing is cached between runs.
pub(crate) struct Client {
    http: reqwest::Client,
    base: Url,
    client_id: String,
    client_secret: Secret,
    retry_budget: Duration,
    observer: Option<Observer>,
    /// The API token and how many times it was fetched; the generation lets concurrent
    /// requests that all saw a 401 re-authenticate only once.
    token: tokio::sync::Mutex<(Option<Secret>, u64)>,
}

/// The answer to one request, read in full.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    /// The `content-type` header, when it was readable text.
    content_type: Option<String>,
}

/// Why an attempt brought back no answer.
enum AttemptError {
    /// No (complete) answer: connection error, timeout, a body that broke off. Retryable.
    Transport(String),
    /// The answer is larger than the request's limit. A retry would get the same.
    TooLarge(StatusCode),
}

/// Whether and how [`Client::send`] tries a request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retries {
    /// Scalekit's own API: retry connection errors and busy answers; when the retries run out
    /// on a busy answer, fail with [`ApiError::Busy`].
    Api,
    /// An idempotent call through the proxy: retry likewise, but when the retries run out,
    /// hand back the provider's last answer. Only Scalekit's own busy answer is an error.
    Relay,
    /// A call through the proxy that is not idempotent (POST, PATCH): one attempt, never
    /// resent, since the provider may have acted on it whatever came back.
    Never,
}

/// One HTTP call through Scalekit's proxy (scalekit-api.md §4.8): Scalekit adds the
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
}

/// What came back through the proxy.
pub(crate) struct ProxyAnswer {
    pub(crate) status: StatusCode,
    /// The body as the provider sent it (or Scalekit's error body).
    pub(crate) body: Vec<u8>,
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
    /// Builds the client. Installs the TLS crypto provider on first use.
    pub(crate) fn new(options: ClientOptions) -> anyhow::Result<Self> {
        // reqwest is built without a default crypto provider (smaller binary); ring it is.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = || {
            reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .timeout(options.http_timeout)
                .connect_timeout(options.http_timeout.min(Duration::from_secs(10)))
                .pool_idle_timeout(Duration::from_secs(30))
                // Never follow a redirect: it could carry the bearer token to another host.
                .redirect(reqwest::redirect::Policy::none())
        };
        let https = options.env_url.scheme() == "https";
        let http = if https {
            roots::build(builder)
        } else {
            // Plain http is only ever allowed to a loopback host (`validate_env_url`), i.e. a
            // local emulator. Security: no proxy from HTTP_PROXY/ALL_PROXY, which would get the
            // client secret and the tokens in clear text. And no TLS trust roots: no request of
            // this client is https (redirects are off), so reading the system's CA store would
            // only cost start-up time, and fail on a machine that has none.
            builder()
                .no_proxy()
                .tls_certs_only(std::iter::empty())
                .build()
        };
        let http = http.map_err(|e| client_setup_error(&e, https))?;
        let mut base = options.env_url;
        base.set_query(None);
        base.set_fragment(None);
        Ok(Self {
            http,
            base,
            client_id: options.client_id,
            client_secret: options.client_secret,
            retry_budget: options.retry_budget,
            observer: options.observer,
            token: tokio::sync::Mutex::new((None, 0)),
        })
    }

    /// The environment URL, client ID and secret this client uses: for the agent, which
    /// keys its cache by them and fetches with them (src/agent/mod.rs).
    pub(crate) fn credentials(&self) -> (&str, &str, &Secret) {
        (self.base.as_str(), &self.client_id, &self.client_secret)
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    /// Checks the client credentials: `POST /oauth/token`. Also caches the API token for the
    /// rest of this run, so a following API call costs no second token request.
    pub(crate) async fn verify_credentials(&self) -> Result<(), ApiError> {
        self.api_token(None).await.map(|_| ())
    }

    /// Starts with an API token obtained elsewhere (a running agent's), unless this client
    /// has one already. A 401 still fetches a new one, as for any token.
    pub(crate) async fn adopt_api_token(&self, token: Secret) {
        let mut guard = self.token.lock().await;
        if guard.0.is_none() && !token.is_empty() {
            guard.0 = Some(token);
            guard.1 += 1;
        }
    }

    /// The API token, fetched if this client has none yet: what the agent lends to commands
    /// that call Scalekit's API themselves (`request`).
    pub(crate) async fn lendable_api_token(&self) -> Result<Secret, ApiError> {
        self.api_token(None).await.map(|(token, _)| token)
    }

    /// The API token, fetched once per run. `stale` is the generation that got a 401: a new
    /// token is fetched only if nobody has done so since.
    async fn api_token(&self, stale: Option<u64>) -> Result<(Secret, u64), ApiError> {
        let mut guard = self.token.lock().await;
        if let (Some(token), generation) = &*guard
            && stale != Some(*generation)
        {
            return Ok((token.clone(), *generation));
        }
        let token = self.fetch_api_token().await?;
        guard.0 = Some(token.clone());
        guard.1 += 1;
        Ok((token, guard.1))
    }

    async fn fetch_api_token(&self) -> Result<Secret, ApiError> {
        let path = "/oauth/token";
        let url = self.url(path);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        let answer = self
            .send(&Method::POST, path, Retries::Api, MAX_BODY_BYTES, || {
                self.http
                    .post(url.clone())
                    .header(ACCEPT, "application/json")
                    .form(&form)
            })
            .await?;
        if answer.status.is_success() {
            let token: TokenResponse = decode_answer(&Method::POST, path, &answer)?;
            if token.access_token.is_empty() {
                return Err(ApiError::Decode {
                    method: "POST".into(),
                    path: path.into(),
                    detail: "the answer has no access_token".into(),
                });
            }
            return Ok(token.access_token);
        }
        match answer.status.as_u16() {
            400 | 401 | 403 => {
                let err: OAuthError = serde_json::from_slice(&answer.body).unwrap_or_default();
                Err(ApiError::CredentialsRejected {
                    status: answer.status.as_u16(),
                    error: err.error.as_deref().map(sanitize_message),
                    description: err.error_description.as_deref().map(sanitize_message),
                })
            }
            _ => Err(unexpected(&Method::POST, path, &answer)),
        }
    }

    /// An authenticated `/api/v1` call with one re-authentication on 401.
    async fn api(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, ApiError> {
        let url = self.url(path);
        let build = |token: &Secret| {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, "application/json")
                .header(AUTHORIZATION, format!("Bearer {}", token.expose()));
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            req
        };
        self.authenticated(method, path, Retries::Api, MAX_BODY_BYTES, build, |_| true)
            .await
    }

    /// Sends with the API token; on a 401 that `ours` says came from Scalekit, fetches a new
    /// API token once and sends once more.
    async fn authenticated(
        &self,
        method: &Method,
        path: &str,
        retries: Retries,
        limit: usize,
        build: impl Fn(&Secret) -> reqwest::RequestBuilder,
        ours: impl Fn(&Answer) -> bool,
    ) -> Result<Answer, ApiError> {
        let (token, generation) = self.api_token(None).await?;
        let answer = self
            .send(method, path, retries, limit, || build(&token))
            .await?;
        if answer.status != StatusCode::UNAUTHORIZED || !ours(&answer) {
            return Ok(answer);
        }
        // The API token expired or was revoked: fetch a new one once and retry once. Safe for
        // a POST through the proxy too: Scalekit refused it before forwarding it.
        let (token, _) = self.api_token(Some(generation)).await?;
        let answer = self
            .send(method, path, retries, limit, || build(&token))
            .await?;
        if answer.status == StatusCode::UNAUTHORIZED && ours(&answer) {
            let err: GrpcError = serde_json::from_slice(&answer.body).unwrap_or_default();
            return Err(ApiError::TokenRejected {
                method: method.to_string(),
                path: path.to_owned(),
                message: err
                    .message
                    .as_deref()
                    .map_or_else(|| "401".to_owned(), sanitize_message),
            });
        }
        Ok(answer)
    }

    /// Sends a request with retries on connection errors, timeouts, 429, 502, 503 and 504:
    /// jittered exponential backoff, `Retry-After` honoured, at most [`MAX_ATTEMPTS`] attempts
    /// within the retry budget (one with [`Retries::Never`]). Any other status is returned as
    /// it is; answers longer than `limit` bytes are refused.
    async fn send(
        &self,
        method: &Method,
        path: &str,
        retries: Retries,
        limit: usize,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, ApiError> {
        let max_attempts = if retries == Retries::Never {
            1
        } else {
            MAX_ATTEMPTS
        };
        let deadline = Instant::now() + self.retry_budget;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = self.attempt(build(), limit).await;
            let elapsed = started.elapsed();
            // What to say if we give up now, how long the server asked us to wait, and the
            // busy answer itself (the proxy may relay it).
            let (failure, wait, busy_answer) = match result {
                Ok((answer, headers)) => {
                    let status = answer.status.as_u16();
                    self.observe(method, path, Some(status), elapsed, None);
                    if !is_retryable_status(answer.status) {
                        return Ok(answer);
                    }
                    let wait = retry_after(&headers);
                    let busy = ApiError::Busy {
                        method: method.to_string(),
                        path: path.to_owned(),
                        status,
                        attempts: attempt,
                        retry_after: wait,
                    };
                    (busy, wait, Some(answer))
                }
                Err(AttemptError::TooLarge(status)) => {
                    let detail = format!("the answer is larger than {} MiB", limit >> 20);
                    self.observe(method, path, Some(status.as_u16()), elapsed, None);
                    return Err(ApiError::Decode {
                        method: method.to_string(),
                        path: path.to_owned(),
                        detail,
                    });
                }
                Err(AttemptError::Transport(detail)) => {
                    self.observe(method, path, None, elapsed, Some(detail.clone()));
                    (
                        ApiError::Unreachable {
                            host: self.host(),
                            detail,
                            attempts: attempt,
                        },
                        None,
                        None,
                    )
                }
            };
            let delay = wait.unwrap_or_else(|| backoff(attempt));
            if attempt >= max_attempts || Instant::now() + delay >= deadline {
                // A busy answer from the provider (not from Scalekit, and with a body to
                // show) is the proxy call's answer.
                if retries != Retries::Api
                    && let Some(answer) = busy_answer
                    && !answer.body.is_empty()
                    && GrpcError::scalekit_error(&answer.body).is_none()
                {
                    return Ok(answer);
                }
                return Err(failure);
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: send, then read the whole body, refusing one larger than `limit` bytes
    /// (by its `content-length` before reading, else while reading).
    async fn attempt(
        &self,
        req: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<(Answer, HeaderMap), AttemptError> {
        let transport = |e: reqwest::Error| AttemptError::Transport(describe_transport_error(&e));
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(AttemptError::TooLarge(status));
        }
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(AttemptError::TooLarge(status));
            }
            body.extend_from_slice(&chunk);
        }
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((
            Answer {
                status,
                body,
                content_type,
            },
            headers,
        ))
    }

    fn observe(
        &self,
        method: &Method,
        path: &str,
        status: Option<u16>,
        elapsed: Duration,
        error: Option<String>,
    ) {
        if let Some(observer) = &self.observer {
            observer(&RequestEvent {
                method: method.clone(),
                path: path.to_owned(),
                status,
                elapsed,
                error,
            });
        }
    }

    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or("?");
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// `GET /api/v1/connected_accounts/auth`: the account with its credentials.
    /// `Ok(None)` when Scalekit has no such account (404).
    pub(crate) async fn account_auth(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<Option<ConnectedAccount>, ApiError> {
        self.get_account("/api/v1/connected_accounts/auth", connector, identifier)
            .await
    }

    /// `GET /api/v1/connected_accounts/details`: the account without credentials.
    /// `Ok(None)` when Scalekit has no such account (404).
    pub(crate) async fn account_details(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<Option<ConnectedAccount>, ApiError> {
        self.get_account("/api/v1/connected_accounts/details", connector, identifier)
            .await
    }

    async fn get_account(
        &self,
        path: &str,
        connector: &str,
        identifier: &str,
    ) -> Result<Option<ConnectedAccount>, ApiError> {
        let query = [("connector", connector), ("identifier", identifier)];
        let answer = self.api(&Method::GET, path, &query, None).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        expect_success(&Method::GET, path, &answer)?;
        account_from(&Method::GET, path, &answer).map(Some)
    }

    /// `POST /api/v1/connected_accounts`: creates a pending account (the Node SDK's
    /// get-or-create body). Any 2xx is success; a 409 (it appeared meanwhile) is answered
    /// with the existing account's details.
    pub(crate) async fn create_account(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<ConnectedAccount, ApiError> {
        let path = "/api/v1/connected_accounts";
        let body = serde_json::json!({
            "connector": connector,
            "identifier": identifier,
            "connected_account": {"authorization_details": {"oauth_token": {}}},
        });
        let answer = self.api(&Method::POST, path, &[], Some(&body)).await?;
        if answer.status == StatusCode::CONFLICT
            && let Some(account) = self.account_details(connector, identifier).await?
        {
            return Ok(account);
        }
        expect_success(&Method::POST, path, &answer)?;
        account_from(&Method::POST, path, &answer)
    }

    /// `POST /api/v1/connected_accounts/magic_link`. `Ok(None)` when the account is gone (404).
    pub(crate) async fn magic_link(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<Option<MagicLink>, ApiError> {
        let path = "/api/v1/connected_accounts/magic_link";
        let body = serde_json::json!({"connector": connector, "identifier": identifier});
        let answer = self.api(&Method::POST, path, &[], Some(&body)).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        expect_success(&Method::POST, path, &answer)?;
        let link: MagicLink = decode_answer(&Method::POST, path, &answer)?;
        if link.link.is_empty() {
            return Err(ApiError::Decode {
                method: "POST".into(),
                path: path.into(),
                detail: "the answer has no link".into(),
            });
        }
        Ok(Some(link))
    }

    /// `GET /api/v1/connected_accounts`, following `next_page_token` to the last page;
    /// optionally only one connection's (`connector`) or one identifier's accounts.
    pub(crate) async fn list_accounts(
        &self,
        connector: Option<&str>,
        identifier: Option<&str>,
    ) -> Result<Vec<ConnectedAccount>, ApiError> {
        let path = "/api/v1/connected_accounts";
        let page_size = LIST_PAGE_SIZE.to_string();
        let mut accounts = Vec::new();
        let mut page_token = String::new();
        for _ in 0..MAX_LIST_PAGES {
            let mut query = vec![("page_size", page_size.as_str())];
            if let Some(connector) = connector {
                query.push(("connector", connector));
            }
            if let Some(identifier) = identifier {
                query.push(("identifier", identifier));
            }
            if !page_token.is_empty() {
                query.push(("page_token", page_token.as_str()));
            }
            let answer = self.api(&Method::GET, path, &query, None).await?;
            expect_success(&Method::GET, path, &answer)?;
            let page: ListPage = decode_answer(&Method::GET, path, &answer)?;
            accounts.extend(page.connected_accounts);
            if page.next_page_token.is_empty() || page.next_page_token == page_token {
                return Ok(accounts);
            }
            page_token = page.next_page_token;
        }
        Err(ApiError::Decode {
            method: "GET".into(),
            path: path.into(),
            detail: format!("more than {MAX_LIST_PAGES} pages; the page tokens seem to loop"),
        })
    }

    /// `POST /api/v1/connected_accounts:delete` (the colon unescaped, scalekit-api.md §4.6).
    /// `Ok(true)` when Scalekit deleted the account, `Ok(false)` when it had none (404).
    pub(crate) async fn delete_account(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<bool, ApiError> {
        let path = "/api/v1/connected_accounts:delete";
        let body = serde_json::json!({"connector": connector, "identifier": identifier});
        let answer = self.api(&Method::POST, path, &[], Some(&body)).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        expect_success(&Method::POST, path, &answer)?;
        Ok(true)
    }

    /// One call through Scalekit's proxy: `{env_url}/proxy{path}` with the `connection_name`
    /// and `identifier` headers and the API token. Idempotent methods (GET, HEAD, OPTIONS,
    /// PUT, DELETE) are retried like every request; any other method is sent exactly once.
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
            Retries::Never
        };
        let build = |token: &Secret| {
            let mut builder = self
                .http
                .request(req.method.clone(), url.clone())
                .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
                // The SDKs' header names, underscores and all (scalekit-api.md §4.8).
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
            .authenticated(
                &req.method,
                &log_path,
                retries,
                MAX_PROXY_BODY_BYTES,
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

/// Methods that may be sent twice with the same effect (RFC 9110 §9.2.2): the only proxy
/// calls that are retried.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::DELETE,
        Method::TRACE,
    ]
    .contains(method)
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let secs = (when - time::OffsetDateTime::now_utc())
        .whole_milliseconds()
        .max(0);
    Some(Duration::from_millis(u64::try_from(secs).unwrap_or(0)))
}

/// Exponential backoff with jitter: 50–100 % of `BACKOFF_BASE * 2^(attempt-1)`, capped.
fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(BACKOFF_CAP);
    full.mul_f64(0.5 + fastrand::f64() / 2.0)
}

fn describe_transport_error(err: &reqwest::Error) -> String {
    // reqwest's Display includes the URL (with the query); keep the kind and the root cause.
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    let root = source.to_string();
    if root.is_empty() || root == err.to_string() || err.is_timeout() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", sanitize_message(&root))
    }
}

/// Why the HTTP client could not be built. With https that is in practice the system's CA
/// store (the platform verifier loads it up front): say so, and how to point at one.
fn client_setup_error(err: &reqwest::Error, https: bool) -> crate::error::CliError {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    let root = sanitize_message(&source.to_string());
    let what = if https { "TLS" } else { "the HTTP client" };
    let err = crate::error::CliError::failed(format!("cannot set up {what}: {root}"));
    if https && root.contains("CA certificates") {
        err.with_hint(
            "install the system's CA certificates (Debian: apt-get install ca-certificates), \
             or set SSL_CERT_FILE to a PEM bundle",
        )
    } else {
        err
    }
}

fn expect_success(method: &Method, path: &str, answer: &Answer) -> Result<(), ApiError> {
    if answer.status.is_success() {
        Ok(())
    } else {
        Err(unexpected(method, path, answer))
    }
}

fn unexpected(method: &Method, path: &str, answer: &Answer) -> ApiError {
    let err: GrpcError = serde_json::from_slice(&answer.body).unwrap_or_default();
    ApiError::Unexpected {
        method: method.to_string(),
        path: path.to_owned(),
        status: answer.status.as_u16(),
        grpc_code: err.code,
        error_code: err.error_code().as_deref().map(sanitize_message),
        message: err
            .message
            .as_deref()
            .map(sanitize_message)
            .filter(|m| !m.is_empty()),
    }
}

fn account_from(
    method: &Method,
    path: &str,
    answer: &Answer,
) -> Result<ConnectedAccount, ApiError> {
    let envelope: AccountEnvelope = decode_answer(method, path, answer)?;
    envelope.connected_account.ok_or_else(|| ApiError::Decode {
        method: method.to_string(),
        path: path.to_owned(),
        detail: "the answer has no connected_account".into(),
    })
}

/// [`decode`], and when that fails on an answer that does not even claim to be JSON (an
/// HTML error page from a proxy, say), the error names its content type.
fn decode_answer<T: DeserializeOwned>(
    method: &Method,
    path: &str,
    answer: &Answer,
) -> Result<T, ApiError> {
    decode(method, path, &answer.body).map_err(|err| match (err, &answer.content_type) {
        (
            ApiError::Decode {
                method,
                path,
                detail,
            },
            Some(ct),
        ) if !is_json_type(ct) => ApiError::Decode {
            method,
            path,
            detail: format!("{detail} (content-type: {})", sanitize_message(ct)),
        },
        (err, _) => err,
    })
}

/// `application/json`, `application/problem+json`, … (parameters ignored).
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// Parses a JSON object without ever quoting the body: a decode error names only what and
/// where. Every Scalekit answer is an object; serde would read a struct from an array too.
fn decode<T: DeserializeOwned>(method: &Method, path: &str, body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
    {
        let what = match value {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::Object(_) => "an object",
        };
        return Err(ApiError::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            detail: format!("unexpected JSON types: {what} where an object belongs"),
        });
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "not valid JSON",
            serde_json::error::Category::Data => "unexpected JSON types or values",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        let detail = if body.is_empty() {
            "empty body".to_owned()
        } else if std::str::from_utf8(body).is_err() {
            "not UTF-8 text".to_owned()
        } else {
            format!("{what} at line {} column {}", e.line(), e.column())
        };
        ApiError::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            detail,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..=12 {
            let d = backoff(attempt);
            assert!(d <= BACKOFF_CAP, "{attempt}: {d:?}");
            assert!(d >= BACKOFF_BASE / 2, "{attempt}: {d:?}");
        }
        assert!(backoff(3) >= BACKOFF_BASE * 2);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn only_objects_decode_and_json_types_are_recognised() {
        let err = decode::<AccountEnvelope>(&Method::GET, "/x", b" [] ")
            .unwrap_err()
            .to_string();
        assert!(err.contains("an array where an object belongs"), "{err}");
        let err = decode::<ListPage>(&Method::GET, "/x", b"null")
            .unwrap_err()
            .to_string();
        assert!(err.contains("null where an object belongs"), "{err}");
        assert!(decode::<ListPage>(&Method::GET, "/x", b" {}").is_ok());
        assert!(is_json_type("application/json; charset=utf-8"));
        assert!(is_json_type("Application/Problem+JSON"));
        assert!(!is_json_type("text/html; charset=utf-8"));
    }

    #[test]
    fn decode_errors_never_quote_the_body() {
        let body = br#"{"connected_account":{"status":"tok-SECRET-123", "id": 5}}"#;
        let err = decode::<AccountEnvelope>(&Method::GET, "/x", body)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRET"), "{err}");
        let err = decode::<AccountEnvelope>(&Method::GET, "/x", b"\xff\xfe")
            .unwrap_err()
            .to_string();
        assert!(err.contains("UTF-8"), "{err}");
    }
}

//! The Scalekit REST client (docs/scalekit-wire.md): client-credentials auth, connected accounts,
//! retries and timeouts. No printing, no prompting: callers observe requests through
//! [`RequestEvent`]s and get typed [`ApiError`]s.

mod accounts;
mod decode;
pub(crate) mod error;
pub(crate) mod execute;
mod expiry;
mod http;
mod proxy;
mod roots;
pub(crate) mod tools;
mod transport;
pub(crate) mod types;

#[cfg(test)]
mod proptests;

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION};
use reqwest::{Method, StatusCode, Url};

use self::decode::{decode_answer, unexpected};
use self::error::sanitize_message;
pub(crate) use self::error::{ApiError, SetupError};
pub(crate) use self::proxy::{ProxyAnswer, ProxyRefusal, ProxyRequest, is_idempotent};
use self::transport::{Answer, MAX_BODY_BYTES, Retries};
pub(crate) use self::transport::{DEFAULT_RETRY_BUDGET, Observer, RequestEvent, USER_AGENT};
use self::types::{GrpcError, OAuthError, TokenResponse};
use crate::secret::Secret;

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
    http: http::Http,
    base: Url,
    client_id: String,
    client_secret: Secret,
    http_timeout: Duration,
    retry_budget: Duration,
    observer: Option<Observer>,
    /// The API token, its generation and when it is due for renewal.
    token: tokio::sync::Mutex<expiry::Slot>,
}

impl Client {
    /// Builds the client. Installs the TLS crypto provider on first use.
    pub(crate) fn new(options: ClientOptions) -> Result<Self, SetupError> {
        // reqwest is built without a default crypto provider (smaller binary); ring it is.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let https = options.env_url.scheme() == "https";
        let localhost = if options
            .env_url
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case("localhost"))
        {
            // `localhost` is trusted as loopback only when it resolves to loopback addresses
            // alone, and the connection goes to those addresses, whatever a later lookup or
            // a hosts file would say (SECURITY.md, "Loopback").
            let port = options.env_url.port_or_known_default().unwrap_or(80);
            Some(resolve_localhost(port)?)
        } else {
            None
        };
        let timeout = options.http_timeout;
        let builder = move || {
            let builder = reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .pool_idle_timeout(Duration::from_secs(30))
                // Never follow a redirect: it could carry the bearer token to another host.
                .redirect(reqwest::redirect::Policy::none());
            match &localhost {
                Some(addrs) => builder.resolve_to_addrs("localhost", addrs),
                None => builder,
            }
        };
        let setup = |e: reqwest::Error| client_setup_error(&e, https);
        // Plain http is only ever allowed to a loopback host (`validate_env_url`), i.e. a local
        // emulator. Security: no proxy from HTTP_PROXY/ALL_PROXY, which would get the client
        // secret and the tokens in clear text. And no TLS trust roots: no request of this
        // client is https (redirects are off), so reading the system's CA store would only
        // cost start-up time, and fail on a machine that has none.
        let no_roots = || builder().tls_certs_only(std::iter::empty());
        let http = if !https {
            http::Http::ready(no_roots().no_proxy().build().map_err(setup)?)
        } else if let Some(roots) = roots::system_bundle() {
            // The system's roots from one bundle file (scalekit/roots.rs), parsed into a root
            // store when the first request goes out (scalekit/http.rs).
            let build = builder.clone();
            http::Http::deferred(no_roots().build().map_err(setup)?, move || {
                roots::with_roots(&build, Some(roots.clone())).ok()
            })
        } else {
            // The platform verifier: it reads the store now, and says so if there is none.
            http::Http::ready(builder().build().map_err(setup)?)
        };
        let mut base = options.env_url;
        base.set_query(None);
        base.set_fragment(None);
        Ok(Self {
            http,
            base,
            client_id: options.client_id,
            client_secret: options.client_secret,
            http_timeout: options.http_timeout,
            retry_budget: options.retry_budget,
            observer: options.observer,
            token: tokio::sync::Mutex::new(expiry::Slot::default()),
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
    /// has one already. Its expiry is unknown: it is used until a 401 fetches a new one.
    pub(crate) async fn adopt_api_token(&self, token: Secret) {
        let mut guard = self.token.lock().await;
        if guard.token.is_none() && !token.is_empty() {
            guard.store(token, Instant::now(), None);
        }
    }

    /// The API token, fetched if this client has none yet: what the agent lends to commands
    /// that call Scalekit's API themselves (`request`).
    pub(crate) async fn lendable_api_token(&self) -> Result<Secret, ApiError> {
        self.api_token(None).await.map(|(token, _)| token)
    }

    /// The API token, fetched once per run, and again shortly before it expires when
    /// Scalekit said when that is (scalekit/expiry.rs). `stale` is the generation that got a
    /// 401: a new token is fetched only if nobody has done so since.
    async fn api_token(&self, stale: Option<u64>) -> Result<(Secret, u64), ApiError> {
        let mut guard = self.token.lock().await;
        if let Some(usable) = guard.usable(stale, Instant::now()) {
            return Ok(usable);
        }
        let sent = Instant::now();
        let (token, expires_in) = self.fetch_api_token().await?;
        let generation = guard.store(token.clone(), sent, expires_in);
        Ok((token, generation))
    }

    /// A new API token and its `expires_in`, when Scalekit gave a usable one.
    async fn fetch_api_token(&self) -> Result<(Secret, Option<u64>), ApiError> {
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
            return Ok((token.access_token, token.expires_in));
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
        self.authenticated_to(method, path, retries, limit, None, build, ours)
            .await
    }

    /// [`Client::authenticated`], the body streamed to `spill` when given (see
    /// [`Client::send_to`]).
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's parts, as `authenticated` takes them, plus the file"
    )]
    async fn authenticated_to(
        &self,
        method: &Method,
        path: &str,
        retries: Retries,
        limit: usize,
        spill: Option<&std::fs::File>,
        build: impl Fn(&Secret) -> reqwest::RequestBuilder,
        ours: impl Fn(&Answer) -> bool,
    ) -> Result<Answer, ApiError> {
        let (token, generation) = self.api_token(None).await?;
        let answer = self
            .send_to(method, path, retries, limit, spill, || build(&token))
            .await?;
        if answer.status != StatusCode::UNAUTHORIZED || !ours(&answer) {
            return Ok(answer);
        }
        // The API token expired or was revoked: fetch a new one once and retry once. Safe for
        // a POST through the proxy too: Scalekit refused it before forwarding it.
        let (token, _) = self.api_token(Some(generation)).await?;
        let answer = self
            .send_to(method, path, retries, limit, spill, || build(&token))
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
}

/// `localhost`'s addresses, refused unless every one is a loopback address.
fn resolve_localhost(port: u16) -> Result<Vec<SocketAddr>, SetupError> {
    let addrs: Vec<SocketAddr> = ("localhost", port)
        .to_socket_addrs()
        .map(Iterator::collect)
        .unwrap_or_default();
    loopback_only(&addrs).map_err(|why| SetupError {
        message: format!("refusing http://localhost: {why}"),
        hint: Some(
            "use http://127.0.0.1 or http://[::1] for a local emulator, or fix the hosts file"
                .into(),
        ),
        usage: true,
    })?;
    Ok(addrs)
}

/// `Ok` when there is at least one address and all are loopback.
fn loopback_only(addrs: &[SocketAddr]) -> Result<(), String> {
    if addrs.is_empty() {
        return Err("the name localhost does not resolve".into());
    }
    let elsewhere: Vec<String> = addrs
        .iter()
        .filter(|a| !a.ip().is_loopback())
        .map(|a| a.ip().to_string())
        .collect();
    if elsewhere.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the name localhost resolves to {}, which is not a loopback address; the client \
             secret would cross the network in clear text",
            elsewhere.join(", ")
        ))
    }
}

/// Why the HTTP client could not be built. With https that is in practice the system's CA
/// store (the platform verifier loads it up front): say so, and how to point at one.
fn client_setup_error(err: &reqwest::Error, https: bool) -> SetupError {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    let root = sanitize_message(&source.to_string());
    let what = if https { "TLS" } else { "the HTTP client" };
    let hint = (https && root.contains("CA certificates")).then(|| {
        "install the system's CA certificates (Debian: apt-get install ca-certificates), \
         or set SSL_CERT_FILE to a PEM bundle"
            .to_owned()
    });
    SetupError {
        message: format!("cannot set up {what}: {root}"),
        hint,
        usage: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adopted_token_has_no_known_expiry() {
        let client = Client::new(ClientOptions {
            env_url: "http://127.0.0.1:9".parse().unwrap(),
            client_id: "skc_1".into(),
            client_secret: Secret::new("s"),
            http_timeout: Duration::from_secs(1),
            retry_budget: Duration::from_secs(1),
            observer: None,
        })
        .unwrap();
        crate::runtime::block_on(async {
            client.adopt_api_token(Secret::new("lent")).await;
            let slot = client.token.lock().await;
            assert!(slot.expiry.is_none());
            assert_eq!(slot.generation, 1);
            // Used however late, until a 401.
            let later = Instant::now() + Duration::from_secs(10 * 86_400);
            assert_eq!(slot.usable(None, later).map(|(_, g)| g), Some(1));
        });
    }

    #[test]
    fn localhost_counts_as_loopback_only_when_every_address_is() {
        let addr = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert!(loopback_only(&[addr("127.0.0.1:80"), addr("[::1]:80")]).is_ok());
        assert!(loopback_only(&[addr("127.3.4.5:80")]).is_ok());
        assert!(loopback_only(&[]).is_err());
        let err = loopback_only(&[addr("127.0.0.1:80"), addr("10.0.0.8:80")]).unwrap_err();
        assert!(err.contains("10.0.0.8"), "{err}");
        assert!(loopback_only(&[addr("[::ffff:10.0.0.8]:80")]).is_err());
        // This machine's own resolver: localhost is loopback here.
        assert!(resolve_localhost(8080).is_ok_and(|a| a.iter().all(|a| a.ip().is_loopback())));
    }
}

//! Shared helpers: an emulator with a client and an API token, and assertions on
//! the wire format.

use std::time::Duration;

use reqwest::Client;
use reqwest::header::HeaderMap;
use scalekit_emulator::{Emulator, Options, SeedAccount};
use serde_json::Value;

/// `@type` of the `ErrorInfo` detail.
pub(crate) const ERROR_INFO: &str = "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo";

/// A client builder that never goes through a proxy from the environment. Installs the
/// rustls crypto provider first: in a workspace build reqwest is compiled with the CLI's
/// `rustls-no-provider` feature and refuses to build a client without one.
pub(crate) fn builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().no_proxy()
}

/// A plain-HTTP client.
pub(crate) fn client() -> Client {
    builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// A running emulator, a client, and an API token from `/oauth/token`.
pub(crate) struct Env {
    pub(crate) emu: Emulator,
    pub(crate) http: Client,
    pub(crate) token: String,
}

/// A finished response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Reply {
    pub(crate) async fn from(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("response body");
        Self {
            status,
            headers,
            text,
        }
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Env {
    pub(crate) async fn start() -> Self {
        Self::with(Options::default()).await
    }

    pub(crate) async fn with(opts: Options) -> Self {
        let emu = Emulator::start(opts).expect("emulator starts");
        let http = client();
        let token = api_token(&http, &emu.url()).await;
        emu.clear_requests();
        Self { emu, http, token }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.url())
    }

    /// An authenticated GET.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET");
        Reply::from(resp).await
    }

    /// An authenticated JSON POST.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("POST");
        Reply::from(resp).await
    }

    /// An unauthenticated GET (control API, pages).
    pub(crate) async fn get_plain(&self, path: &str) -> Reply {
        let resp = self.http.get(self.url(path)).send().await.expect("GET");
        Reply::from(resp).await
    }

    /// An unauthenticated JSON POST (control API).
    pub(crate) async fn post_plain(&self, path: &str, body: &Value) -> Reply {
        let resp = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        Reply::from(resp).await
    }

    /// `GET …/auth` by connector and identifier.
    pub(crate) async fn auth(&self, connector: &str, identifier: &str) -> Reply {
        self.get(&format!(
            "/api/v1/connected_accounts/auth?{}",
            query(&[("connector", connector), ("identifier", identifier)])
        ))
        .await
    }

    /// `POST …/magic_link`; returns the link.
    pub(crate) async fn magic_link(&self, connector: &str, identifier: &str) -> String {
        let reply = self
            .post(
                "/api/v1/connected_accounts/magic_link",
                &serde_json::json!({"connector": connector, "identifier": identifier}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["link"].as_str().expect("link").to_owned()
    }
}

/// A fresh API token from `POST /oauth/token`.
pub(crate) async fn api_token(http: &Client, base: &str) -> String {
    let resp = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", scalekit_emulator::DEFAULT_CLIENT_ID),
            ("client_secret", scalekit_emulator::DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A URL query string.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        out.append_pair(name, value);
    }
    out.finish()
}

/// A seed with defaults (`ACTIVE` OAuth).
pub(crate) fn seed(connector: &str, identifier: &str) -> SeedAccount {
    SeedAccount {
        connector: connector.to_owned(),
        identifier: identifier.to_owned(),
        ..SeedAccount::default()
    }
}

/// A seed in a given status.
pub(crate) fn seed_with_status(connector: &str, identifier: &str, status: &str) -> SeedAccount {
    SeedAccount {
        status: Some(status.to_owned()),
        ..seed(connector, identifier)
    }
}

/// Asserts a gRPC-gateway error body.
pub(crate) fn assert_grpc_error(reply: &Reply, status: u16, code: i64, error_code: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let details = body["details"].as_array().expect("details array");
    match error_code {
        Some(error_code) => {
            assert_eq!(details.len(), 1, "{body}");
            assert_eq!(details[0]["@type"], ERROR_INFO);
            assert_eq!(details[0]["error_code"], error_code);
        }
        None => assert!(details.is_empty(), "{body}"),
    }
    assert_eq!(
        body.as_object().map(serde_json::Map::len),
        Some(3),
        "{body}"
    );
}

/// A 400 with gRPC code 3 (with or without `ErrorInfo`).
pub(crate) fn assert_bad_request(reply: &Reply) {
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.json()["code"], 3, "{}", reply.text);
}

/// RFC 3339 UTC with `Z` and exactly six fraction digits.
pub(crate) fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| range.into_iter().all(|i| bytes[i].is_ascii_digit());
    bytes.len() == 27
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && bytes[19] == b'.'
        && digits(20..26)
        && bytes[26] == b'Z'
}

/// Parses an API timestamp.
pub(crate) fn parse_time(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|err| panic!("{text}: {err}"))
}

/// Asserts that the keys appear in this order in the raw JSON text.
pub(crate) fn assert_key_order(text: &str, keys: &[&str]) {
    let mut last = 0;
    for key in keys {
        let needle = format!("\"{key}\":");
        let at = text[last..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{key} missing or out of order in {text}"));
        last += at + needle.len();
    }
}

//! The HTTP client of a [`super::Client`], built when the first request goes out where
//! building it is costly: the root store of an https client takes about a millisecond to
//! parse from the system bundle, and a `token` served by the agent sends no request at all
//! (README "agent": a warm hit within 3 ms).

use std::sync::OnceLock;

use reqwest::{IntoUrl, Method, RequestBuilder};

type Build = Box<dyn Fn() -> Option<reqwest::Client> + Send + Sync>;

pub(super) struct Http {
    client: OnceLock<reqwest::Client>,
    build: Option<Build>,
    /// What a failed `build` leaves: a client that trusts no root, so every https request
    /// fails as untrusted ("TLS certificate not trusted"), never as something else.
    fallback: reqwest::Client,
}

impl Http {
    /// A client built already.
    pub(super) fn ready(client: reqwest::Client) -> Self {
        Self {
            client: OnceLock::from(client.clone()),
            build: None,
            fallback: client,
        }
    }

    /// A client `build` makes on first use (`None`: `fallback`).
    pub(super) fn deferred(
        fallback: reqwest::Client,
        build: impl Fn() -> Option<reqwest::Client> + Send + Sync + 'static,
    ) -> Self {
        Self {
            client: OnceLock::new(),
            build: Some(Box::new(build)),
            fallback,
        }
    }

    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            self.build
                .as_ref()
                .and_then(|build| build())
                .unwrap_or_else(|| self.fallback.clone())
        })
    }

    pub(super) fn post<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.client().post(url)
    }

    pub(super) fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        self.client().request(method, url)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn built_once_on_first_use_and_a_failed_build_falls_back() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let plain = || reqwest::Client::builder().tls_certs_only(std::iter::empty());
        let builds = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&builds);
        let http = Http::deferred(plain().build().unwrap(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            plain().build().ok()
        });
        assert_eq!(
            builds.load(Ordering::SeqCst),
            0,
            "nothing built before a request"
        );
        let _ = http.post("http://127.0.0.1:9/");
        let _ = http.request(Method::GET, "http://127.0.0.1:9/");
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        let failed = Http::deferred(plain().build().unwrap(), || None);
        let _ = failed.post("http://127.0.0.1:9/");
    }
}

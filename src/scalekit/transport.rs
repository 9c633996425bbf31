//! Sending one request: retries with jittered backoff within a budget, `Retry-After`,
//! bounded answers, and the [`RequestEvent`]s that `--verbose` shows.

use std::fs::File;
use std::io::{Seek as _, SeekFrom, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};

use super::Client;
use super::error::{ApiError, sanitize_message};
use super::types::GrpcError;

/// Sent on every request (docs/scalekit-wire.md §5 allows any user agent).
pub(crate) const USER_AGENT: &str = concat!("scalekit-auth/", env!("CARGO_PKG_VERSION"));
/// At most this many attempts per request (docs/cli.md, "Retries").
pub(crate) const MAX_ATTEMPTS: u32 = 4;
/// All attempts of one request, waits included, end within this time.
pub(crate) const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(30);
/// First backoff step; doubled per attempt, with jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// No single backoff wait is longer than this.
const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// Answers larger than this are refused rather than buffered, and not retried (a retry would
/// get the same answer).
pub(super) const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The same for answers relayed through the proxy: provider APIs send attachments and exports.
pub(super) const MAX_PROXY_BODY_BYTES: usize = 64 * 1024 * 1024;
/// An answer streamed to a file keeps this much of its start in memory as well: enough to
/// recognise Scalekit's own (small) error bodies.
const SPILL_PREFIX_BYTES: usize = 64 * 1024;

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

/// The answer to one request, read in full.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    /// The whole body; when it was streamed to a file, only its first bytes.
    pub(super) body: Vec<u8>,
    /// The `content-type` header, when it was readable text.
    pub(super) content_type: Option<String>,
    pub(super) headers: HeaderMap,
    pub(super) version: reqwest::Version,
    /// The body's full length in bytes.
    pub(super) size: u64,
}

/// Why an attempt brought back no answer.
pub(super) enum AttemptError {
    /// No (complete) answer: connection error, timeout, a body that broke off. Retryable.
    /// `unsent` when the connection was never made, so no byte of the request left.
    Transport { detail: String, unsent: bool },
    /// The answer is larger than the request's limit. A retry would get the same.
    TooLarge(StatusCode),
    /// The server's TLS certificate is not trusted. A retry would get the same.
    UntrustedCertificate(String),
    /// The answer could not be written to its file.
    Write(std::io::Error),
}

/// Whether and how [`Client::send`] tries a request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retries {
    /// Scalekit's own API: retry connection errors and busy answers; when the retries run out
    /// on a busy answer, fail with [`ApiError::Busy`].
    Api,
    /// An idempotent call through the proxy: retry likewise, but when the retries run out,
    /// hand back the provider's last answer. Only Scalekit's own busy answer is an error.
    Relay,
    /// A call that is not idempotent, resent only when no byte of it was sent (the connection
    /// could not be made); any answer, a busy one included, or a failure after connecting
    /// ([`ApiError::Lost`]), ends it. For a POST through the proxy, where a second send is
    /// worse than an error.
    Unsent,
}

impl Client {
    /// Sends a request with retries on connection errors, timeouts, 429, 502, 503 and 504:
    /// jittered exponential backoff, `Retry-After` honoured, at most [`MAX_ATTEMPTS`] attempts
    /// within the retry budget. Any other status is returned as it is; answers longer than
    /// `limit` bytes are refused.
    pub(super) async fn send(
        &self,
        method: &Method,
        path: &str,
        retries: Retries,
        limit: usize,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, ApiError> {
        self.send_to(method, path, retries, limit, None, build)
            .await
    }

    /// [`Client::send`], with the body streamed to `spill` when given (emptied before each
    /// attempt; no size limit then, and [`Answer::body`] holds only the body's start).
    pub(super) async fn send_to(
        &self,
        method: &Method,
        path: &str,
        retries: Retries,
        limit: usize,
        spill: Option<&File>,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, ApiError> {
        let max_attempts = MAX_ATTEMPTS;
        // Every attempt, and every wait between two, ends within the budget (SECURITY.md:
        // numbers from outside are bounded), whatever a `Retry-After` asks for.
        let started_all = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut never_sent = false;
            let remaining = self.retry_budget.saturating_sub(started_all.elapsed());
            let started = Instant::now();
            let request = build().timeout(self.http_timeout.min(remaining));
            let result = self.attempt(request, limit, spill).await;
            let elapsed = started.elapsed();
            // What to say if we give up now, how long the server asked us to wait, and the
            // busy answer itself (the proxy may relay it).
            let (failure, wait, busy_answer) = match result {
                Ok(answer) => {
                    let status = answer.status.as_u16();
                    self.observe(method, path, Some(status), elapsed, None);
                    if !is_retryable_status(answer.status) {
                        return Ok(answer);
                    }
                    let wait = retry_after(&answer.headers);
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
                Err(AttemptError::UntrustedCertificate(detail)) => {
                    // Not a passing fault: a retry would meet the same certificate.
                    self.observe(method, path, None, elapsed, Some(detail.clone()));
                    return Err(ApiError::UntrustedCertificate {
                        host: self.host(),
                        detail,
                    });
                }
                Err(AttemptError::Write(err)) => {
                    self.observe(method, path, None, elapsed, Some("not written".into()));
                    return Err(ApiError::Write {
                        detail: err.to_string(),
                    });
                }
                Err(AttemptError::Transport { detail, unsent }) => {
                    self.observe(method, path, None, elapsed, Some(detail.clone()));
                    if retries == Retries::Unsent && !unsent {
                        // It may have been received: never sent again, and not "unreachable".
                        return Err(ApiError::Lost {
                            method: method.to_string(),
                            path: path.to_owned(),
                            detail,
                        });
                    }
                    never_sent = unsent;
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
            let remaining = self.retry_budget.saturating_sub(started_all.elapsed());
            let resendable = retries != Retries::Unsent || never_sent;
            if attempt >= max_attempts || delay >= remaining || !resendable {
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
    /// (by its `content-length` before reading, else while reading), or stream it to `spill`.
    async fn attempt(
        &self,
        req: reqwest::RequestBuilder,
        limit: usize,
        mut spill: Option<&File>,
    ) -> Result<Answer, AttemptError> {
        let transport = |e: reqwest::Error| match untrusted_certificate(&e) {
            Some(detail) => AttemptError::UntrustedCertificate(detail),
            None => AttemptError::Transport {
                detail: describe_transport_error(&e),
                unsent: e.is_connect(),
            },
        };
        if let Some(file) = spill.as_mut() {
            // A retry starts the file over.
            file.set_len(0).map_err(AttemptError::Write)?;
            file.seek(SeekFrom::Start(0)).map_err(AttemptError::Write)?;
        }
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        if spill.is_none() && resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(AttemptError::TooLarge(status));
        }
        let headers = resp.headers().clone();
        let version = resp.version();
        let mut body = Vec::new();
        let mut size: u64 = 0;
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            size = size.saturating_add(chunk.len() as u64);
            if let Some(file) = spill.as_mut() {
                file.write_all(&chunk).map_err(AttemptError::Write)?;
                let room = SPILL_PREFIX_BYTES.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..room.min(chunk.len())]);
                continue;
            }
            if body.len() + chunk.len() > limit {
                return Err(AttemptError::TooLarge(status));
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(file) = spill.as_mut() {
            file.flush().map_err(AttemptError::Write)?;
        }
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Answer {
            status,
            body,
            content_type,
            headers,
            version,
            size,
        })
    }

    pub(super) fn observe(
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

    pub(super) fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or("?");
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` as seconds or an HTTP date. Any value, however large, is a valid
/// `Duration` (saturating); whether to wait that long is the caller's budget's call.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is "longer than any budget", not "no value".
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let when =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let millis = (when - time::OffsetDateTime::now_utc())
        .whole_milliseconds()
        .max(0);
    Some(Duration::from_millis(
        u64::try_from(millis).unwrap_or(u64::MAX),
    ))
}

/// When the error is a TLS certificate the system does not trust (unknown issuer, expired,
/// wrong name…), what rustls said about it.
fn untrusted_certificate(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        // rustls's error reaches reqwest wrapped in io::Errors, whose `source()` skips
        // the error they wrap: unwrap those by hand.
        let mut candidate = cause;
        loop {
            if let Some(rustls::Error::InvalidCertificate(why)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(sanitize_message(&format!("{why:?}")));
            }
            match candidate
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
            {
                Some(inner) => candidate = inner,
                None => break,
            }
        }
        source = cause.source();
    }
    None
}

/// Exponential backoff with jitter: 50–100 % of `BACKOFF_BASE * 2^(attempt-1)`, capped.
pub(super) fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(BACKOFF_CAP);
    full.mul_f64(0.5 + fastrand::f64() / 2.0)
}

pub(super) fn describe_transport_error(err: &reqwest::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::scalekit::ClientOptions;
    use crate::secret::Secret;

    /// A client for `url` and the number of attempts it makes.
    fn counting_client(url: &str) -> (Client, Arc<AtomicUsize>) {
        let attempts = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&attempts);
        let client = Client::new(ClientOptions {
            env_url: url.parse().unwrap(),
            client_id: "skc_1".into(),
            client_secret: Secret::new("s"),
            http_timeout: Duration::from_secs(5),
            retry_budget: Duration::from_secs(10),
            observer: Some(Arc::new(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            })),
        })
        .unwrap();
        (client, attempts)
    }

    fn post_unsent(client: &Client, url: &str) -> Result<Answer, ApiError> {
        crate::runtime::block_on(client.send(&Method::POST, "/x", Retries::Unsent, 1024, || {
            client.http.post(url)
        }))
    }

    #[test]
    fn unsent_retries_only_what_never_left() {
        // Nobody listens: the connection fails, nothing was sent, so it is tried again.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/x");
        let (client, attempts) = counting_client(&format!("http://127.0.0.1:{port}"));
        assert!(matches!(
            post_unsent(&client, &url),
            Err(ApiError::Unreachable { attempts: 4, .. })
        ));
        assert_eq!(attempts.load(Ordering::SeqCst), MAX_ATTEMPTS as usize);
        // A server that read the request and answered 503: never sent again.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        let (client, attempts) = counting_client(&format!("http://{addr}"));
        let result = post_unsent(&client, &format!("http://{addr}/x"));
        assert!(matches!(result, Err(ApiError::Busy { attempts: 1, .. })));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
        // A server that read the request and closed the connection without answering: it may
        // have acted, so the call is lost, not unreachable, and never sent again.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
            }
        });
        let (client, attempts) = counting_client(&format!("http://{addr}"));
        let result = post_unsent(&client, &format!("http://{addr}/x"));
        assert!(
            matches!(&result, Err(ApiError::Lost { method, .. }) if method == "POST"),
            "{:?}",
            result.err()
        );
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

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
        // Absurd values are long waits (the budget refuses them), never a panic or zero.
        for (value, at_least) in [
            ("9223372036854775808", u64::MAX / 4),
            ("18446744073709551615", u64::MAX / 4),
            ("99999999999999999999999999", u64::MAX / 4),
            ("Fri, 31 Dec 9999 23:59:59 GMT", 200_000_000_000),
        ] {
            h.insert(RETRY_AFTER, value.parse().unwrap());
            let wait = retry_after(&h).unwrap();
            assert!(
                wait >= Duration::from_secs(at_least) / 1000,
                "{value}: {wait:?}"
            );
        }
        for value in ["Mon, 01 Jan 0001 00:00:00 GMT", "-5", "1e9"] {
            h.insert(RETRY_AFTER, value.parse().unwrap());
            assert!(retry_after(&h).is_none_or(|d| d.is_zero()), "{value}");
        }
    }
}

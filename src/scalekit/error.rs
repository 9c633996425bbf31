//! What Scalekit answered when it did not answer what we wanted.

use std::time::Duration;

/// A failed Scalekit call. Messages never contain the client secret or a token: request
/// bodies are never echoed, server messages are shortened, and decode errors carry only
/// the position and category of the problem.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No answer: connection refused, DNS failure, reset, or a timeout, after every attempt.
    #[error("cannot reach Scalekit at {host}: {detail} ({attempts} attempt{s})", s = plural(*attempts))]
    Unreachable {
        host: String,
        detail: String,
        attempts: u32,
    },

    /// The server's TLS certificate is not trusted: a hard failure, never retried.
    #[error("TLS certificate not trusted for {host}: {detail}")]
    UntrustedCertificate { host: String, detail: String },

    /// Scalekit kept answering 429/502/503/504 until the retry budget ran out.
    #[error(
        "Scalekit answered {status} to {method} {path} ({attempts} attempt{s}){retry}",
        s = plural(*attempts),
        retry = retry_note(*retry_after)
    )]
    Busy {
        method: String,
        path: String,
        status: u16,
        attempts: u32,
        retry_after: Option<Duration>,
    },

    /// `POST /oauth/token` refused the client ID and secret.
    #[error("Scalekit rejected the client credentials ({status}{detail})", detail = oauth_detail(error.as_deref(), description.as_deref()))]
    CredentialsRejected {
        status: u16,
        error: Option<String>,
        description: Option<String>,
    },

    /// `/api/v1` kept answering 401 after a fresh API token.
    #[error("Scalekit rejected a fresh API token for {method} {path}: {message}")]
    TokenRejected {
        method: String,
        path: String,
        message: String,
    },

    /// Any other non-success answer.
    #[error("Scalekit answered {status} to {method} {path}{detail}", detail = grpc_detail(error_code.as_deref(), message.as_deref()))]
    Unexpected {
        method: String,
        path: String,
        status: u16,
        grpc_code: Option<i64>,
        error_code: Option<String>,
        message: Option<String>,
    },

    /// A request that is not idempotent may have reached the server, and no answer came back
    /// (a timeout, a dropped connection): it was not sent again, and is not safe to retry.
    #[error("no answer to {method} {path} ({detail}); it was sent once and may have been received")]
    Lost {
        method: String,
        path: String,
        detail: String,
    },

    /// The answer could not be written where it was asked to go.
    #[error("cannot write the answer: {detail}")]
    Write { detail: String },

    /// A request that cannot be sent as asked (e.g. a header value that is not ASCII).
    #[error("{detail}")]
    InvalidRequest { detail: String },

    /// A success status with a body we cannot read.
    #[error("unreadable answer from Scalekit to {method} {path}: {detail}")]
    Decode {
        method: String,
        path: String,
        detail: String,
    },
}

/// The HTTP client could not be set up (no usable TLS trust store, say).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(crate) struct SetupError {
    pub(crate) message: String,
    /// What to do about it, when known.
    pub(crate) hint: Option<String>,
    /// The environment URL is refused (exit 2) rather than the machine unfit (exit 1).
    pub(crate) usage: bool,
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn retry_note(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; it asked to retry after {}s", d.as_secs()),
        None => String::new(),
    }
}

fn oauth_detail(error: Option<&str>, description: Option<&str>) -> String {
    match (error, description) {
        (Some(e), Some(d)) => format!(": {e}: {d}"),
        (Some(e), None) => format!(": {e}"),
        (None, Some(d)) => format!(": {d}"),
        (None, None) => String::new(),
    }
}

fn grpc_detail(error_code: Option<&str>, message: Option<&str>) -> String {
    match (error_code, message) {
        (Some(c), Some(m)) => format!(": {c}: {m}"),
        (Some(c), None) => format!(": {c}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

/// Keep a server-provided message printable and short: it goes to a terminal. Secrets this
/// run has seen are redacted first, so that shortening cannot leave half of one behind.
pub(crate) fn sanitize_message(message: &str) -> String {
    const MAX: usize = 300;
    let message = crate::secret::redact(message);
    let mut out: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX)
        .collect();
    if message.chars().count() > MAX {
        out.push('…');
    }
    out.trim().to_owned()
}

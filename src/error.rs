//! Exit codes and the mapping from errors to them.
//!
//! Commands return `anyhow::Result<ExitStatus>` and never print their failures: `main.rs`
//! prints an error once and maps it to a code, by finding a [`Partial`] (data already on
//! stdout, errors still to print), a [`CliError`], or a `scalekit::ApiError` or
//! `scalekit::SetupError` in the error's chain.

use std::fmt;
use std::sync::Mutex;

/// The environment URL this run talks to and where it came from, e.g.
/// `http://127.0.0.1:9 (from env_url in config.toml)`, so that a network hint names the
/// setting to check instead of a variable that may not be set.
static ENV_URL_ORIGIN: Mutex<Option<String>> = Mutex::new(None);

/// Records the environment URL in use and its source, for the hints of [`classify`]. The
/// latest call wins: `init` asks again after a typo, and the MCP server follows config.toml.
pub(crate) fn note_env_url(url: &str, source: &str) {
    *ENV_URL_ORIGIN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) =
        Some(format!("{url} (from {source})"));
}

/// The environment URL in use and its source, as [`note_env_url`] last recorded them.
fn env_url_origin() -> Option<String> {
    ENV_URL_ORIGIN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// The process exit codes of docs/cli.md's table ("Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ExitStatus {
    /// 0: success.
    Success,
    /// 1: any other failure (an unexpected Scalekit answer, I/O).
    Failure,
    /// 2: usage: bad flags, arguments or names; a prompt needed without a terminal.
    Usage,
    /// 3: not configured: no credentials, rejected credentials, unknown service, malformed config.
    NotConfigured,
    /// 4: authorization required: the account is not `ACTIVE`, or the wait timed out.
    AuthorizationRequired,
    /// 5: Scalekit unreachable; safe to retry.
    Unreachable,
    /// 130: interrupted (Ctrl-C).
    Interrupted,
    /// Any other code: `exec` passes its command's exit code through (126/127 when the
    /// command cannot be started, 128+N when it dies of signal N).
    Code(u8),
}

impl ExitStatus {
    /// The numeric process exit code.
    pub(crate) fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::NotConfigured => 3,
            Self::AuthorizationRequired => 4,
            Self::Unreachable => 5,
            Self::Interrupted => 130,
            Self::Code(code) => i32::from(code),
        }
    }
}

/// What kind of failure a [`CliError`] is; decides the exit code and the `--json` error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Usage,
    NotConfigured,
    AuthorizationRequired,
    Unreachable,
    Failed,
    /// A tool that Scalekit ran (or may have run) failed: exit 1, `--json` code `tool_failed`.
    ToolFailed,
    Interrupted,
}

impl ErrorKind {
    /// The exit status for this kind.
    pub(crate) fn exit_status(self) -> ExitStatus {
        match self {
            Self::Usage => ExitStatus::Usage,
            Self::NotConfigured => ExitStatus::NotConfigured,
            Self::AuthorizationRequired => ExitStatus::AuthorizationRequired,
            Self::Unreachable => ExitStatus::Unreachable,
            Self::Failed | Self::ToolFailed => ExitStatus::Failure,
            Self::Interrupted => ExitStatus::Interrupted,
        }
    }

    /// The stable `error.code` of `--json` error documents.
    pub(crate) fn json_code(self) -> &'static str {
        match self {
            Self::Usage => "usage",
            Self::NotConfigured => "not_configured",
            Self::AuthorizationRequired => "authorization_required",
            Self::Unreachable => "unreachable",
            Self::ToolFailed => "tool_failed",
            // docs/cli.md's list of codes has no "interrupted"; the exit code (130) tells.
            Self::Failed | Self::Interrupted => "failed",
        }
    }
}

/// A magic link attached to an "authorization required" error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingLink {
    pub(crate) link: String,
    /// RFC 3339 UTC, or `None` when Scalekit gave no usable expiry.
    pub(crate) expires_at: Option<String>,
}

/// An error with a known exit code, a message and an optional hint (the command to run).
#[derive(Debug, Clone)]
pub(crate) struct CliError {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// Boxed, like `execution_id`: keeps `Result<_, CliError>` small.
    pub(crate) link: Option<Box<PendingLink>>,
    /// The tool execution this error is about (`tool_failed`), when Scalekit named it.
    /// Boxed: errors travel in `Result`s, and this one is rare.
    pub(crate) execution_id: Option<Box<str>>,
    /// Lines shown under the `error:` line, one problem each (never in `--json`, whose
    /// message carries them).
    pub(crate) details: Vec<String>,
}

impl CliError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            link: None,
            execution_id: None,
            details: Vec::new(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    pub(crate) fn not_configured(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotConfigured, message)
    }

    pub(crate) fn unreachable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unreachable, message)
    }

    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    pub(crate) fn interrupted() -> Self {
        Self::new(ErrorKind::Interrupted, "interrupted")
    }

    #[must_use]
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub(crate) fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    #[must_use]
    pub(crate) fn with_link(mut self, link: PendingLink) -> Self {
        self.link = Some(Box::new(link));
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// A run that failed after its data, or part of it, went to stdout: `token a b` with a
/// service failing, `status` with a problem row, `tools run --dry-run` with problems. The
/// command returns it as its error; `main.rs` prints `errors` on stderr in order, then
/// `hint`, and exits with `status`. No `--json` error document follows: the command's own
/// document is already on stdout, and stdout holds exactly one.
#[derive(Debug)]
pub(crate) struct Partial {
    pub(crate) status: ExitStatus,
    pub(crate) errors: Vec<CliError>,
    pub(crate) hint: Option<String>,
}

impl Partial {
    /// Every error in `errors`, exiting with the most severe of their codes.
    pub(crate) fn of(errors: Vec<CliError>) -> Self {
        Self {
            status: most_severe(errors.iter().map(|e| e.kind)),
            errors,
            hint: None,
        }
    }
}

impl fmt::Display for Partial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.first() {
            Some(err) => f.write_str(&err.message),
            None => write!(f, "failed (exit {})", self.status.code()),
        }
    }
}

impl std::error::Error for Partial {}

/// Finds what an error means for the user: its kind (exit code), message and hint.
/// A [`CliError`] anywhere in the chain wins; Scalekit errors map by what Scalekit said;
/// anything else is a plain failure (exit 1) with the whole chain as its message.
pub(crate) fn classify(err: &anyhow::Error) -> CliError {
    let mut outer = Vec::new();
    for cause in err.chain() {
        if let Some(cli) = cause.downcast_ref::<CliError>() {
            let mut cli = cli.clone();
            if !outer.is_empty() {
                // Keep the context the command added in front of the message.
                cli.message = format!("{}: {}", outer.join(": "), cli.message);
            }
            return cli;
        }
        if let Some(setup) = cause.downcast_ref::<crate::scalekit::SetupError>() {
            let cli = if setup.usage {
                CliError::usage(format!("{err:#}"))
            } else {
                CliError::failed(format!("{err:#}"))
            };
            return match &setup.hint {
                Some(hint) => cli.with_hint(hint.clone()),
                None => cli,
            };
        }
        if let Some(api) = cause.downcast_ref::<crate::scalekit::ApiError>() {
            return from_api_error(api, &format!("{err:#}"));
        }
        outer.push(cause.to_string());
    }
    CliError::failed(format!("{err:#}"))
}

fn from_api_error(api: &crate::scalekit::ApiError, message: &str) -> CliError {
    use crate::scalekit::ApiError;
    match api {
        ApiError::Unreachable { .. } | ApiError::Busy { .. } => CliError::unreachable(message)
            .with_hint(match env_url_origin() {
                Some(origin) => {
                    format!(
                        "check the network and the environment URL {origin}; this is safe to retry"
                    )
                }
                None => "check the network and SCALEKIT_ENV_URL; this is safe to retry".to_owned(),
            }),
        ApiError::CredentialsRejected { .. } | ApiError::TokenRejected { .. } => {
            CliError::not_configured(message).with_hint(
                "check SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET, or run `scalekit-auth init`",
            )
        }
        ApiError::InvalidRequest { .. } => CliError::usage(message),
        // The first request of a run is the token: an odd answer there usually means the
        // URL is not a Scalekit environment, so name the URL and where it came from.
        ApiError::Unexpected { path, .. } | ApiError::Decode { path, .. }
            if path == "/oauth/token" =>
        {
            match env_url_origin() {
                Some(origin) => CliError::failed(message).with_hint(format!(
                    "is {origin} a Scalekit environment URL? It should be the one shown in the \
                     Scalekit dashboard"
                )),
                None => CliError::failed(message),
            }
        }
        ApiError::UntrustedCertificate { .. } => CliError::failed(message).with_hint(
            "if a proxy or a local server uses its own CA, point SSL_CERT_FILE or SSL_CERT_DIR \
             at it; otherwise do not retry: the connection may be intercepted",
        ),
        ApiError::Unexpected { .. }
        | ApiError::Decode { .. }
        | ApiError::Lost { .. }
        | ApiError::Write { .. } => CliError::failed(message),
    }
}

/// The exit code for a set of failures: 4 over 5 over 1 (docs/cli.md, "Exit codes"), then 3 and 2.
pub(crate) fn most_severe(kinds: impl Iterator<Item = ErrorKind>) -> ExitStatus {
    let rank = |k: ErrorKind| match k {
        ErrorKind::Interrupted => 7,
        ErrorKind::AuthorizationRequired => 6,
        ErrorKind::Unreachable => 5,
        ErrorKind::Failed | ErrorKind::ToolFailed => 4,
        ErrorKind::NotConfigured => 3,
        ErrorKind::Usage => 2,
    };
    kinds
        .max_by_key(|k| rank(*k))
        .map_or(ExitStatus::Success, ErrorKind::exit_status)
}

/// Whether the error is a closed stdout pipe (`| head`): the run ends quietly.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order() {
        use ErrorKind::*;
        assert_eq!(
            most_severe([Failed, Unreachable].into_iter()),
            ExitStatus::Unreachable
        );
        assert_eq!(
            most_severe([Unreachable, AuthorizationRequired, Failed].into_iter()),
            ExitStatus::AuthorizationRequired
        );
        assert_eq!(most_severe(std::iter::empty()), ExitStatus::Success);
    }
}

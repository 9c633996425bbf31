//! Exit codes and the mapping from errors to them.
//!
//! Commands return `anyhow::Result<ExitStatus>`; `main.rs` maps an error to a code once,
//! by finding a [`CliError`] (or a `scalekit::ApiError`) in the error's chain.

use std::fmt;

/// The process exit codes of cli.md's table.
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
            Self::Failed => ExitStatus::Failure,
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
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
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
    pub(crate) link: Option<PendingLink>,
}

impl CliError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), hint: None, link: None }
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
    pub(crate) fn with_link(mut self, link: PendingLink) -> Self {
        self.link = Some(link);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

//! Host patterns (`[*.]host[/path]`) and the API URLs they are matched against.

use std::fmt;

use reqwest::Url;

use crate::error::CliError;

/// A host a service's token may be sent to: `api.example.com` or `*.example.com` (any
/// subdomain, not the domain itself), optionally followed by a path prefix that the URL's
/// path must start with, segment by segment (`slack.com/api` matches `/api/chat.postMessage`,
/// not `/apis`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPattern {
    wildcard: bool,
    /// Lower-case, without the `*.`.
    host: String,
    /// `""`, or a prefix starting with `/` and not ending with one.
    path: String,
}

/// How closely a pattern matched: an exact host beats a wildcard, then a longer path prefix
/// beats a shorter one.
pub(super) type Specificity = (bool, usize);

impl HostPattern {
    /// Parses `[*.]host[/path]`; a leading `https://` or `http://` is ignored. The error says
    /// what is wrong, without the value.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let text = ["https://", "http://"]
            .iter()
            .find_map(|scheme| {
                text.get(..scheme.len())
                    .filter(|head| head.eq_ignore_ascii_case(scheme))
                    .map(|_| &text[scheme.len()..])
            })
            .unwrap_or(text);
        let (host, path) = text.split_at(text.find('/').unwrap_or(text.len()));
        let host = host.to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host),
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        if host.contains(':') {
            return Err("a port is not allowed (hosts match any port)".into());
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if !host.split('.').all(label_ok) {
            return Err("a host is letters, digits, dots and dashes, optionally after *.".into());
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control())
            || path.contains(['?', '#', '*'])
        {
            return Err("the path prefix cannot hold spaces, ?, # or *".into());
        }
        Ok(Self {
            wildcard,
            host: host.to_owned(),
            path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// How well the URL matches, or `None`.
    pub(super) fn matches(&self, url: &ApiUrl) -> Option<Specificity> {
        let host_ok = if self.wildcard {
            url.host
                .strip_suffix(&self.host)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        } else {
            url.host == self.host
        };
        let path_ok = self.path.is_empty()
            || url.path == self.path
            || url
                .path
                .strip_prefix(&self.path)
                .is_some_and(|rest| rest.starts_with('/'));
        (host_ok && path_ok).then_some((!self.wildcard, self.path.len()))
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let star = if self.wildcard { "*." } else { "" };
        write!(f, "{star}{}{}", self.host, self.path)
    }
}

/// An `http(s)://` URL given for an API call: its host, for matching, and the path and query
/// that the proxy forwards.
#[derive(Debug, Clone)]
pub(crate) struct ApiUrl {
    /// Lower-case, without a trailing dot.
    pub(crate) host: String,
    /// Percent-encoded path, starting with `/`.
    pub(crate) path: String,
    /// `path` plus `?query` when there is one; the fragment is dropped.
    pub(crate) path_and_query: String,
}

impl ApiUrl {
    /// Whether the text is a full URL (`scheme://…`) rather than a path.
    pub(crate) fn is_url(text: &str) -> bool {
        text.trim_start()
            .split_once("://")
            .is_some_and(|(scheme, _)| {
                !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            })
    }

    /// Parses an `http://` or `https://` URL; anything else, or one with a user name or
    /// password in it, is a usage error quoting it.
    pub(crate) fn parse(text: &str) -> Result<Self, CliError> {
        let url = Url::parse(text.trim())
            .map_err(|e| CliError::usage(format!("{text:?} is not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CliError::usage(format!(
                "{text:?} is not an http:// or https:// URL"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(CliError::usage(
                "the URL holds a user name or password; leave credentials out of it",
            ));
        }
        let Some(host) = url.host_str() else {
            return Err(CliError::usage(format!("{text:?} has no host")));
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let path = url.path().to_owned();
        let path_and_query = match url.query() {
            Some(query) => format!("{path}?{query}"),
            None => path.clone(),
        };
        Ok(Self {
            host,
            path,
            path_and_query,
        })
    }
}

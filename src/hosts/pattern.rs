//! Host patterns (`[*.]host[/path]`) and the API URLs they are matched against.

use std::fmt;

use url::Url;

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
        if let Some(why) = forbidden_character(text) {
            return Err(why.into());
        }
        if text.contains('@') {
            return Err("a user name (user@) is not allowed".into());
        }
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
        if wildcard && host.split('.').count() < 2 {
            return Err(
                "a wildcard must keep at least two labels after it (*.example.com, not *.com)"
                    .into(),
            );
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

    /// Parses an `https://` URL under the strict rules for URLs an agent passes in
    /// (docs: SECURITY.md, "URLs from agents"): no backslash, whitespace or control
    /// character anywhere, no user name or password, and the host a browser reads (the
    /// WHATWG parser of the `url` crate) must be the host curl reads ([`curl_host`]). Anything
    /// else is a usage error quoting the text (escaped).
    pub(crate) fn parse(text: &str) -> Result<Self, CliError> {
        let refuse = |why: &str| CliError::usage(format!("refusing the URL {text:?}: {why}"));
        if let Some(why) = forbidden_character(text) {
            return Err(refuse(why));
        }
        let url = Url::parse(text).map_err(|e| refuse(&format!("not a valid URL: {e}")))?;
        if url.scheme() != "https" {
            return Err(refuse(
                "only https:// URLs are accepted (a token is never handed out for a clear-text \
                 or non-web URL)",
            ));
        }
        let Some(curl) = curl_authority(text) else {
            return Err(refuse("it does not start with https:// and a host"));
        };
        if curl.userinfo || !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(
                "it holds a user name or password (user@); leave credentials out of it",
            ));
        }
        let Some(host) = url.host_str() else {
            return Err(refuse("it has no host"));
        };
        if normal_host(host) != normal_host(&curl.host) {
            return Err(refuse(&format!(
                "its host reads as {:?} to a browser but {:?} to curl",
                normal_host(host),
                normal_host(&curl.host)
            )));
        }
        let host = normal_host(host);
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

/// Why a URL or host pattern from outside is refused outright, if it is: a backslash (a
/// browser reads it as `/`, curl as part of the name), whitespace or a control character.
pub(crate) fn forbidden_character(text: &str) -> Option<&'static str> {
    if text.contains('\\') {
        Some("it holds a backslash")
    } else if text.chars().any(char::is_control) {
        Some("it holds a control character")
    } else if text.chars().any(char::is_whitespace) {
        Some("it holds whitespace")
    } else {
        None
    }
}

/// A host for comparison: lower-case, without one trailing dot.
fn normal_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    host.strip_suffix('.').map(str::to_owned).unwrap_or(host)
}

/// The authority of a URL as curl reads it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CurlAuthority {
    /// Whether there is a `user@` part.
    pub(crate) userinfo: bool,
    /// The host as written (IPv6 literals keep their brackets).
    pub(crate) host: String,
}

/// Reads the authority the way curl's URL parser does: after `scheme://`, up to the first
/// `/`, `?` or `#`; the user part ends at the *first* `@` (a browser takes the last); the
/// port starts at the last `:` outside brackets. No percent-decoding, no IDNA, no number
/// folding, no `\` as `/`: a host that any of those would change reads differently here
/// than in the `url` crate, and the URL is refused. `None` when there is no `scheme://`.
pub(crate) fn curl_authority(text: &str) -> Option<CurlAuthority> {
    let (scheme, rest) = text.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, host_port) = match authority.split_once('@') {
        Some((_, host_port)) => (true, host_port),
        None => (false, authority),
    };
    let host = if host_port.starts_with('[') {
        host_port
            .find(']')
            .map_or(host_port, |end| &host_port[..=end])
    } else {
        host_port
            .rsplit_once(':')
            .map_or(host_port, |(host, _)| host)
    };
    Some(CurlAuthority {
        userinfo,
        host: host.to_owned(),
    })
}

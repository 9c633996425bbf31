//! What a call through Scalekit's proxy needs checked before it is sent: the method, the
//! headers (none of the reserved ones), the API path (no step out of the proxy) and query
//! parameters. `request` and the MCP server's `http_request` share them.

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

use crate::error::CliError;

/// The methods `request` sends.
pub(crate) const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Headers the user may not set: Scalekit sets `Authorization` (the account's credentials)
/// and reads `connection_name` and `identifier`; the rest belong to the HTTP client.
pub(crate) const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "connection_name",
    "identifier",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
];
/// The body's content type when a body is given without a `Content-Type` header.
pub(crate) const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// A known method, upper-cased; anything else is a usage error listing them.
pub(crate) fn parse_method(word: &str) -> Result<Method, CliError> {
    let upper = word.to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(CliError::usage(format!(
            "{word:?} is not an HTTP method ({})",
            METHODS.join(", ")
        )));
    }
    Method::from_bytes(upper.as_bytes()).map_err(|_| CliError::usage("invalid method"))
}

/// `-H 'Name: value'` headers, checked: a valid name and value, and none of the reserved
/// ones. Errors quote the header's name, never its value (it may hold a key).
pub(crate) fn parse_headers(raw: &[String]) -> Result<Vec<(HeaderName, HeaderValue)>, CliError> {
    raw.iter()
        .map(|text| {
            let Some((name, value)) = text.split_once(':') else {
                return Err(CliError::usage(
                    "a header is 'Name: value' (-H 'Accept: application/json')",
                ));
            };
            let name = name.trim();
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| CliError::usage(format!("{name:?} is not a header name")))?;
            if RESERVED_HEADERS.contains(&header.as_str()) {
                let why = if header == reqwest::header::AUTHORIZATION {
                    "Scalekit's proxy adds the account's credentials itself"
                } else {
                    "it is set by scalekit-auth"
                };
                return Err(CliError::usage(format!(
                    "cannot set the {name} header: {why}"
                )));
            }
            let value = HeaderValue::from_bytes(value.trim().as_bytes())
                .map_err(|_| CliError::usage(format!("the {name} header's value is invalid")))?;
            Ok((header, value))
        })
        .collect()
}

/// An API path as given (a missing leading `/` is added), refused when it has spaces,
/// control characters, a backslash, a fragment, `.`/`..` segments (which would step out of
/// the proxy's path), or starts with `//` (which reads as another host).
pub(crate) fn api_path(text: &str) -> Result<String, CliError> {
    let invalid = |why: &str| CliError::usage(format!("invalid API path {text:?}: {why}"));
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "it holds spaces or control characters (percent-encode them)",
        ));
    }
    if text.contains('\\') {
        return Err(invalid("it holds a backslash"));
    }
    if text.starts_with("//") {
        return Err(invalid(
            "it starts with // (read as another host); a path starts with a single /",
        ));
    }
    if text.contains('#') {
        return Err(invalid("a fragment (#) is never sent"));
    }
    let path = if text.starts_with('/') {
        text.to_owned()
    } else {
        format!("/{text}")
    };
    let path_only = path.split_once('?').map_or(path.as_str(), |(p, _)| p);
    let dot_segment = path_only.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    });
    if dot_segment {
        return Err(invalid("it has . or .. segments"));
    }
    Ok(path)
}

/// `path` with `--query NAME=VALUE` parameters appended, each name and value
/// percent-encoded (everything but RFC 3986's unreserved characters; a space is `%20`), after
/// the query the path already has. A parameter without `=` is a usage error; an empty value
/// (`name=`) is kept.
pub(crate) fn with_query(path: &str, params: &[String]) -> Result<String, CliError> {
    if params.is_empty() {
        return Ok(path.to_owned());
    }
    let mut out = path.to_owned();
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            return Err(CliError::usage(format!(
                "a query parameter is NAME=VALUE (--query 'q=from:me'), not {:?}",
                crate::output::safe::line(param)
            )));
        };
        if name.is_empty() {
            return Err(CliError::usage(
                "a query parameter needs a name (--query NAME=VALUE)",
            ));
        }
        match out.split_once('?') {
            None => out.push('?'),
            Some((_, query)) if query.is_empty() || query.ends_with('&') => {}
            Some(_) => out.push('&'),
        }
        out.push_str(&percent_encode(name));
        out.push('=');
        out.push_str(&percent_encode(value));
    }
    Ok(out)
}

/// Every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::scalekit::is_idempotent;

    #[test]
    fn methods_are_known_and_upper_cased() {
        assert_eq!(parse_method("get").unwrap(), Method::GET);
        assert_eq!(parse_method("PATCH").unwrap(), Method::PATCH);
        for bad in ["gmail", "FETCH", ""] {
            assert_eq!(parse_method(bad).unwrap_err().kind, ErrorKind::Usage);
        }
        assert!(is_idempotent(&Method::PUT) && !is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH) && !is_idempotent(&Method::DELETE));
    }

    #[test]
    fn headers_are_checked_and_reserved_ones_refused() {
        let parsed = parse_headers(&["Accept: application/json".into(), "X-A:b".into()]).unwrap();
        assert_eq!(parsed[0].0, reqwest::header::ACCEPT);
        assert_eq!(parsed[1].1, "b");
        for bad in [
            "Authorization: Bearer x",
            "identifier: me",
            "Host: x",
            "no colon",
            "bad name: x",
        ] {
            let err = parse_headers(&[bad.into()]).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage, "{bad}");
            assert!(!err.message.contains("Bearer x"), "{err:?}");
        }
    }

    #[test]
    fn paths_get_a_slash_and_lose_no_query() {
        assert_eq!(
            api_path("gmail/v1/x?q=a%20b").unwrap(),
            "/gmail/v1/x?q=a%20b"
        );
        assert_eq!(api_path("/v1/users").unwrap(), "/v1/users");
        // Dots inside a query or a name are fine; dot segments are not.
        assert!(api_path("/v1/a.b?next=../x").is_ok());
        for bad in [
            "/../api/v1/connected_accounts",
            "/a/./b",
            "/a/%2E%2e/b",
            "/a b",
            "/a#b",
            "//evil.com/x",
            "/a\\b",
        ] {
            assert!(api_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_parameters_are_encoded_and_merged() {
        assert_eq!(with_query("/a", &[]).unwrap(), "/a");
        assert_eq!(
            with_query("/a", &["q=from:me is:unread".into(), "n=5".into()]).unwrap(),
            "/a?q=from%3Ame%20is%3Aunread&n=5"
        );
        assert_eq!(
            with_query("/a?x=1", &["a&b=c=d".into()]).unwrap(),
            "/a?x=1&a%26b=c%3Dd"
        );
        assert_eq!(with_query("/a?", &["e=".into()]).unwrap(), "/a?e=");
        assert_eq!(
            with_query("/a?x=1&", &["é=ü+/".into()]).unwrap(),
            "/a?x=1&%C3%A9=%C3%BC%2B%2F"
        );
        for bad in ["novalue", "=v"] {
            assert_eq!(
                with_query("/a", &[bad.into()]).unwrap_err().kind,
                ErrorKind::Usage
            );
        }
    }
}

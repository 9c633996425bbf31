//! Validation of service names, connection names, identifiers and environment URLs.

use std::net::IpAddr;

use url::Url;

use crate::error::CliError;

/// The service name, lower-cased, when it matches `[a-z0-9][a-z0-9_-]{0,62}` (docs/cli.md
/// "Names"); otherwise a usage error quoting the input.
pub(crate) fn validate_service(name: &str) -> Result<String, CliError> {
    let lower = name.to_lowercase();
    let mut chars = lower.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && lower.len() <= 63;
    if valid {
        Ok(lower)
    } else {
        Err(CliError::usage(format!(
            "invalid service name {name:?}: use 1 to 63 letters, digits, '-' or '_', \
             starting with a letter or digit"
        )))
    }
}

/// Checks a connection name against Scalekit's `^[a-zA-Z0-9_: -]{1,400}$`, so a typo fails
/// here rather than as a confusing API error.
pub(crate) fn validate_connection_name(name: &str) -> Result<(), CliError> {
    let valid = (1..=400).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | ' ' | '-'));
    if valid {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "invalid connection name {name:?}: use 1 to 400 letters, digits, spaces, '_', ':' or '-'"
        )))
    }
}

/// Checks an identifier: 1 to 100 characters (not bytes).
pub(crate) fn validate_identifier(id: &str) -> Result<(), CliError> {
    if (1..=100).contains(&id.chars().count()) {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "invalid identifier {id:?}: use 1 to 100 characters"
        )))
    }
}

/// Parses an environment URL and refuses any that would send the client secret in clear
/// text: it must be `https://`, or `http://` to a loopback host (`localhost`, `127.0.0.0/8`,
/// `[::1]`). A bare host (`acme.scalekit.dev`) means `https://acme.scalekit.dev`. No user
/// info, path (other than `/`), query or fragment: the API lives at the environment's root,
/// and a URL with a path would only fail later with a 404.
pub(crate) fn validate_env_url(url: &str) -> Result<Url, CliError> {
    let input = url.trim();
    let with_scheme = if input.contains("://") || input.is_empty() {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let mut parsed = Url::parse(&with_scheme).map_err(|e| {
        CliError::usage(format!(
            "invalid environment URL {input:?}: {e}; expected e.g. https://acme.scalekit.dev"
        ))
    })?;
    match parsed.scheme() {
        "https" if parsed.host().is_some() => {}
        "http" if is_loopback(&parsed) => {}
        "http" => {
            return Err(CliError::usage(format!(
                "refusing environment URL {input:?}: plain http:// is allowed only to localhost, \
                 127.0.0.0/8 or [::1]; elsewhere the client secret would cross the network in \
                 clear text. Use https://"
            )));
        }
        _ => {
            return Err(CliError::usage(format!(
                "refusing environment URL {input:?}: it must start with https:// (or http:// to \
                 a loopback emulator), or the client secret would cross the network in clear text"
            )));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(CliError::usage(format!(
            "invalid environment URL {input:?}: it must not contain a user name or password"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(CliError::usage(format!(
            "invalid environment URL {input:?}: it must not have a query or fragment"
        )));
    }
    if parsed.path() != "/" {
        return Err(CliError::usage(format!(
            "invalid environment URL {input:?}: it must not have a path; use the environment's \
             address alone, e.g. https://acme.scalekit.dev"
        )));
    }
    parsed.set_path("");
    Ok(parsed)
}

/// The canonical text of a validated environment URL: no trailing slash, as it is stored in
/// `config.toml` and shown by `status`.
pub(crate) fn env_url_string(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// `localhost`, `127.0.0.0/8` or `[::1]` (the `url` crate has already normalised the host:
/// lower-cased, IPv4 in dotted decimal, IPv6 in brackets).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    // --- Names -----------------------------------------------------------------------------

    #[test]
    fn service_names() {
        assert_eq!(validate_service("Gmail").expect("ok"), "gmail");
        assert_eq!(validate_service("a").expect("ok"), "a");
        assert_eq!(validate_service("0_x-y").expect("ok"), "0_x-y");
        assert!(validate_service(&"a".repeat(63)).is_ok());
        for bad in ["", "-a", "_a", "Gm@il", "a b", "é", &"a".repeat(64)] {
            let err = validate_service(bad).expect_err(bad);
            assert_eq!(err.kind, ErrorKind::Usage);
            assert!(err.message.contains(&format!("{bad:?}")), "{}", err.message);
        }
    }

    #[test]
    fn connection_names() {
        assert!(validate_connection_name("gmail_u3134a").is_ok());
        assert!(validate_connection_name("My Conn: v-2").is_ok());
        assert!(validate_connection_name(&"a".repeat(400)).is_ok());
        for bad in ["", "a/b", "é", &"a".repeat(401)] {
            let err = validate_connection_name(bad).expect_err(bad);
            assert_eq!(err.kind, ErrorKind::Usage);
            assert!(err.message.contains(&format!("{bad:?}")));
        }
    }

    #[test]
    fn identifiers_count_characters() {
        assert!(validate_identifier("mess").is_ok());
        assert!(validate_identifier(&"é".repeat(100)).is_ok());
        assert!(validate_identifier(&"é".repeat(101)).is_err());
        let err = validate_identifier("").expect_err("empty");
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(err.message.contains("\"\""));
    }

    #[test]
    fn env_urls() {
        for ok in [
            "https://acme.scalekit.dev",
            "https://acme.scalekit.dev/",
            "http://localhost:8787",
            "http://LOCALHOST:8787/",
            "http://127.0.0.1",
            "http://127.1.2.3",
            "http://[::1]:9",
        ] {
            let url = validate_env_url(ok).unwrap_or_else(|e| panic!("{ok}: {}", e.message));
            assert!(!env_url_string(&url).ends_with('/'), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "http://[::ffff:10.0.0.1]",
            "ftp://acme.scalekit.dev",
            "example.com:80:80",
            "https://acme.scalekit.dev/api",
            "https://acme.scalekit.dev/base//",
            "https://user:pw@acme.scalekit.dev",
            "https://acme.scalekit.dev/?x=1",
        ] {
            let err = validate_env_url(bad).expect_err(bad);
            assert_eq!(err.kind, ErrorKind::Usage, "{bad}");
            assert!(err.message.contains(&format!("{bad:?}")), "{}", err.message);
        }
        let err = validate_env_url("http://example.com").expect_err("clear text");
        assert!(err.message.contains("clear text"), "{}", err.message);
    }

    #[test]
    fn env_url_bare_host_means_https_and_a_path_is_refused() {
        let url = validate_env_url(" acme.scalekit.dev ").expect("bare host");
        assert_eq!(env_url_string(&url), "https://acme.scalekit.dev");
        let url = validate_env_url("acme.scalekit.dev:8443/").expect("bare host and port");
        assert_eq!(env_url_string(&url), "https://acme.scalekit.dev:8443");
        let url = validate_env_url("https://acme.scalekit.dev/").expect("ok");
        assert_eq!(env_url_string(&url), "https://acme.scalekit.dev");
        for bad in ["https://acme.scalekit.dev/base", "http://127.0.0.1:9/x/"] {
            let err = validate_env_url(bad).expect_err(bad);
            assert_eq!(err.kind, ErrorKind::Usage);
            assert!(err.message.contains("path"), "{}", err.message);
        }
    }
}

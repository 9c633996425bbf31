//! Which configured service an API URL belongs to. A built-in table knows the API hosts of
//! well-known providers and matches them to services by service or connection name (`gmail`,
//! `gmail_u3134a` → Google's hosts); a service's own `hosts = [...]` in config.toml replaces
//! the table for that service and wins over every built-in match.
//!
//! This decides whether a token-bearing call may go to a URL: `request SERVICE URL` and
//! `token SERVICE --for-url URL` refuse a host that is not the service's, and the same
//! commands without a service pick the one service that serves the host.

mod pattern;
mod providers;

use self::pattern::Specificity;
pub(crate) use self::pattern::{ApiUrl, HostPattern};
use self::providers::{PROVIDERS, name_matches};
use crate::config::{Config, ServiceConfig};
use crate::error::CliError;

/// Where a service's hosts come from.
#[derive(Debug, Clone)]
pub(crate) enum Hosts {
    /// `hosts = [...]` in config.toml: exactly these.
    Configured(Vec<HostPattern>),
    /// The built-in table, for the providers the service or connection name identifies.
    BuiltIn {
        providers: Vec<&'static str>,
        patterns: Vec<HostPattern>,
    },
    /// Neither: the service's hosts are unknown.
    Unknown,
}

impl Hosts {
    fn patterns(&self) -> &[HostPattern] {
        match self {
            Self::Configured(p) | Self::BuiltIn { patterns: p, .. } => p,
            Self::Unknown => &[],
        }
    }

    fn best_match(&self, url: &ApiUrl) -> Option<Specificity> {
        self.patterns().iter().filter_map(|p| p.matches(url)).max()
    }

    fn describe(&self) -> String {
        let list = || {
            self.patterns()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Self::Configured(_) => format!("its hosts in config.toml: {}", list()),
            Self::BuiltIn { providers, .. } => {
                format!("built-in hosts for {}: {}", providers.join(", "), list())
            }
            Self::Unknown => "no known hosts".to_owned(),
        }
    }
}

/// The hosts a configured service may be called with. Bad patterns in config.toml are a
/// "malformed config" error (exit 3).
pub(crate) fn service_hosts(service: &str, mapping: &ServiceConfig) -> Result<Hosts, CliError> {
    if !mapping.hosts.is_empty() {
        let patterns = mapping
            .hosts
            .iter()
            .map(|text| {
                HostPattern::parse(text).map_err(|why| {
                    CliError::not_configured(format!(
                        "malformed config: services.{service}.hosts: {text:?}: {why}"
                    ))
                    .with_hint(format!(
                        "fix it with: scalekit-auth config {service} {} --host HOST",
                        mapping.connection_name
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Hosts::Configured(patterns));
    }
    let mut providers = Vec::new();
    let mut patterns: Vec<HostPattern> = Vec::new();
    for provider in PROVIDERS {
        let identified = provider.aliases.iter().any(|alias| {
            name_matches(service, alias) || name_matches(&mapping.connection_name, alias)
        });
        if !identified {
            continue;
        }
        providers.push(provider.name);
        for host in provider.hosts {
            let pattern = HostPattern::parse(host).expect("the built-in table is valid");
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
    }
    if providers.is_empty() {
        Ok(Hosts::Unknown)
    } else {
        Ok(Hosts::BuiltIn {
            providers,
            patterns,
        })
    }
}

/// Checks that `url` belongs to the named service before its token goes there: a host
/// outside the service's hosts, or a service whose hosts are unknown, is a usage error
/// (exit 2) that says how to add the host.
pub(crate) fn check(url: &ApiUrl, service: &str, mapping: &ServiceConfig) -> Result<(), CliError> {
    let hosts = service_hosts(service, mapping)?;
    if hosts.best_match(url).is_some() {
        return Ok(());
    }
    let conn = &mapping.connection_name;
    let target = format!("{}{}", url.host, url.path);
    let host = &url.host;
    match &hosts {
        Hosts::Unknown => Err(CliError::usage(format!(
            "refusing to send {service}'s token to {host}: scalekit-auth does not know which \
             hosts {service} serves (connection {conn} is no built-in provider)"
        ))
        .with_hint(format!(
            "if {host} is {service}'s API, say so: scalekit-auth config {service} {conn} --host {host}"
        ))),
        Hosts::Configured(patterns) => {
            let mut flags: Vec<String> = patterns.iter().map(|p| format!("--host {p}")).collect();
            flags.push(format!("--host {host}"));
            Err(CliError::usage(format!(
                "refusing to send {service}'s token to {target}: not one of {service}'s hosts ({})",
                hosts.describe()
            ))
            .with_hint(format!(
                "if {host} is {service}'s API too: scalekit-auth config {service} {conn} {}",
                flags.join(" ")
            )))
        }
        Hosts::BuiltIn { .. } => Err(CliError::usage(format!(
            "refusing to send {service}'s token to {target}: not one of {service}'s hosts ({})",
            hosts.describe()
        ))
        .with_hint(format!(
            "if {host} is {service}'s API: scalekit-auth config {service} {conn} --host {host} \
             (configured hosts replace the built-in ones; list them all)"
        ))),
    }
}

/// The one configured service that serves `url`. Services with `hosts` in config.toml are
/// asked first; then the built-in table. Within each, the most specific match wins. No match,
/// or several equally good ones, is a "not configured" error (exit 3) listing the candidates;
/// `name_it(service)` shows the command that names a service explicitly.
pub(crate) fn pick(
    config: &Config,
    url: &ApiUrl,
    name_it: impl Fn(&str) -> String,
) -> Result<String, CliError> {
    let mut configured = Vec::new();
    let mut built_in = Vec::new();
    for (service, mapping) in &config.services {
        let hosts = service_hosts(service, mapping)?;
        if let Some(score) = hosts.best_match(url) {
            let tier = if matches!(hosts, Hosts::Configured(_)) {
                &mut configured
            } else {
                &mut built_in
            };
            tier.push((score, service.as_str(), mapping, hosts));
        }
    }
    let tier = if configured.is_empty() {
        built_in
    } else {
        configured
    };
    let Some(best) = tier.iter().map(|m| m.0).max() else {
        let names: Vec<&str> = config.services.keys().map(String::as_str).collect();
        let known = if names.is_empty() {
            "no services are configured".to_owned()
        } else {
            format!("configured: {}", names.join(", "))
        };
        return Err(CliError::not_configured(format!(
            "no configured service serves {} ({known})",
            url.host
        ))
        .with_hint(format!(
            "name the service: {}; or give it the host: scalekit-auth config SERVICE \
             CONNECTION_NAME --host {}",
            name_it("SERVICE"),
            url.host
        )));
    };
    let winners: Vec<_> = tier.iter().filter(|m| m.0 == best).collect();
    if let [only] = winners.as_slice() {
        return Ok(only.1.to_owned());
    }
    let candidates: Vec<String> = winners
        .iter()
        .map(|(_, service, mapping, hosts)| {
            format!(
                "{service} (connection {}; {})",
                mapping.connection_name,
                hosts.describe()
            )
        })
        .collect();
    let (_, first, mapping, _) = winners[0];
    Err(CliError::not_configured(format!(
        "{}{} matches several services: {}",
        url.host,
        url.path,
        candidates.join("; ")
    ))
    .with_hint(format!(
        "name one: {}; or set the hosts of the one that serves it: scalekit-auth config {first} \
         {} --host {}",
        name_it(first),
        mapping.connection_name,
        url.host
    )))
}

/// Normalizes a `--host` value for config.toml, or a usage error quoting it.
pub(crate) fn normalize(text: &str) -> Result<String, CliError> {
    HostPattern::parse(text)
        .map(|p| p.to_string())
        .map_err(|why| CliError::usage(format!("invalid host {text:?}: {why}")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn mapping(connection: &str, hosts: &[&str]) -> ServiceConfig {
        ServiceConfig {
            connection_name: connection.into(),
            identifier: None,
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    fn config(services: &[(&str, ServiceConfig)]) -> Config {
        Config {
            services: services
                .iter()
                .map(|(name, m)| ((*name).to_owned(), m.clone()))
                .collect::<BTreeMap<_, _>>(),
            ..Config::default()
        }
    }

    fn url(text: &str) -> ApiUrl {
        ApiUrl::parse(text).unwrap()
    }

    #[test]
    fn the_built_in_table_parses() {
        for provider in PROVIDERS {
            for host in provider.hosts {
                let pattern = HostPattern::parse(host).unwrap();
                assert_eq!(pattern.to_string(), *host);
            }
            for alias in provider.aliases {
                assert_eq!(alias.to_ascii_lowercase(), *alias);
            }
        }
    }

    #[test]
    fn patterns_match_hosts_wildcards_and_path_prefixes() {
        let p = |t: &str| HostPattern::parse(t).unwrap();
        assert!(
            p("api.github.com")
                .matches(&url("https://API.GitHub.com./user"))
                .is_some()
        );
        assert!(
            p("api.github.com")
                .matches(&url("https://github.com/user"))
                .is_none()
        );
        let sf = p("*.salesforce.com");
        assert!(
            sf.matches(&url("https://acme.my.salesforce.com/x"))
                .is_some()
        );
        assert!(sf.matches(&url("https://salesforce.com/x")).is_none());
        assert!(sf.matches(&url("https://evilsalesforce.com/x")).is_none());
        let slack = p("slack.com/api/");
        assert_eq!(slack.to_string(), "slack.com/api");
        assert!(
            slack
                .matches(&url("https://slack.com/api/chat.postMessage"))
                .is_some()
        );
        assert!(slack.matches(&url("https://slack.com/api")).is_some());
        assert!(slack.matches(&url("https://slack.com/apis")).is_none());
        assert!(slack.matches(&url("https://slack.com/")).is_none());
        assert_eq!(p("HTTPS://Api.Example.com").to_string(), "api.example.com");
        for bad in [
            "",
            "*.",
            "api.example.com:443",
            "a b.com",
            "x.com/a?b",
            "*.*.x.com",
            "*.com",
            "https://*.com/",
            " api.x.com",
            "api.x.com\\evil",
            "user@api.x.com",
            "api.x.com\u{1b}",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_reduce_to_path_and_query() {
        let u = url("https://gmail.googleapis.com/gmail/v1/users/me/messages?q=is%3Aunread#frag");
        assert_eq!(u.host, "gmail.googleapis.com");
        assert_eq!(
            u.path_and_query,
            "/gmail/v1/users/me/messages?q=is%3Aunread"
        );
        assert!(ApiUrl::parse("ftp://x.com/a").is_err());
        assert!(ApiUrl::parse("https://me:pw@x.com/a").is_err());
        for bad in [
            "http://gmail.googleapis.com/x",
            "https://gmail.googleapis.com\\@evil:443/x",
            "https://gmail.googleapis.com\\.evil.com/x",
            "https://evil.com@gmail.googleapis.com/x",
            "https://@gmail.googleapis.com/x",
            "https://gmail.googleapis.com /x",
            " https://gmail.googleapis.com/x",
            "https://gmail.googleapis.com/x\n",
            "https://gmail.googleapis.com/\u{7f}",
            "https://gmail%2egoogleapis.com/x",
            "https://0x7f.1/x",
            "https:///gmail.googleapis.com/x",
            "https:gmail.googleapis.com/x",
            "https://ＧＭＡＩＬ.googleapis.com/x",
            "https://gmail.googleapis.com\u{3000}/x",
        ] {
            let err = ApiUrl::parse(bad).unwrap_err();
            assert_eq!(err.kind, crate::error::ErrorKind::Usage, "{bad:?}");
        }
        assert_eq!(url("https://[::1]:8443/x").host, "[::1]");
        assert_eq!(
            url("https://Gmail.GoogleAPIs.com.:443/x").host,
            "gmail.googleapis.com"
        );
        assert!(ApiUrl::is_url("HTTPS://x") && ApiUrl::is_url("ftp://x"));
        assert!(!ApiUrl::is_url("/gmail/v1") && !ApiUrl::is_url("/a?next=https://x"));
    }

    #[test]
    fn curl_reads_the_authority_its_own_way() {
        use super::pattern::curl_authority;
        let a = curl_authority("https://gmail.googleapis.com\\@evil:443/x").unwrap();
        assert!(a.userinfo);
        assert_eq!(a.host, "evil");
        let a = curl_authority("https://a@b@c.com:1?x").unwrap();
        assert_eq!(a.host, "b@c.com");
        let a = curl_authority("https://[::1]:8443/x").unwrap();
        assert_eq!((a.userinfo, a.host.as_str()), (false, "[::1]"));
        assert_eq!(curl_authority("https://h.com#a/b").unwrap().host, "h.com");
        assert!(curl_authority("gmail.googleapis.com/x").is_none());
        assert!(curl_authority("1x://h/").is_none());
    }

    #[test]
    fn services_are_matched_by_service_or_connection_name() {
        let c = config(&[
            ("mail", mapping("gmail_u3134a", &[])),
            ("code", mapping("github-connect", &[])),
            ("chat", mapping("SLACK", &[])),
            ("crm", mapping("salesforce-1hpnGzcD", &[])),
        ]);
        let pick = |u: &str| super::pick(&c, &url(u), str::to_owned);
        assert_eq!(
            pick("https://gmail.googleapis.com/gmail/v1/users/me/profile").unwrap(),
            "mail"
        );
        assert_eq!(pick("https://api.github.com/user").unwrap(), "code");
        assert_eq!(pick("https://slack.com/api/auth.test").unwrap(), "chat");
        assert_eq!(
            pick("https://acme.my.salesforce.com/services/data").unwrap(),
            "crm"
        );
        let err = pick("https://api.notion.com/v1/users").unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::NotConfigured);
        assert!(
            err.message.contains("mail, code") || err.message.contains("chat"),
            "{err:?}"
        );
        // Prefix matches need a separator: "gmailer" is no Gmail.
        assert!(!name_matches("gmailer", "gmail"));
        assert!(name_matches("gmail2", "gmail") && name_matches("GMAIL", "gmail"));
    }

    #[test]
    fn the_most_specific_match_wins_and_ties_are_ambiguous() {
        let c = config(&[
            ("gmail", mapping("gmail_u3134a", &[])),
            ("gdrive", mapping("gdrive_1", &[])),
        ]);
        let pick = |u: &str| super::pick(&c, &url(u), |s| format!("token {s} --for-url URL"));
        assert_eq!(
            pick("https://www.googleapis.com/drive/v3/files").unwrap(),
            "gdrive"
        );
        assert_eq!(
            pick("https://gmail.googleapis.com/gmail/v1/x").unwrap(),
            "gmail"
        );
        let err = pick("https://www.googleapis.com/oauth2/v2/userinfo").unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::NotConfigured);
        assert!(
            err.message.contains("gdrive") && err.message.contains("gmail"),
            "{err:?}"
        );
        assert!(err.hint.unwrap().contains("token gdrive --for-url URL"));
    }

    #[test]
    fn configured_hosts_take_precedence() {
        let c = config(&[
            ("gmail", mapping("gmail_u3134a", &[])),
            ("proxy", mapping("internal", &["*.googleapis.com"])),
        ]);
        let picked = super::pick(&c, &url("https://gmail.googleapis.com/x"), str::to_owned);
        assert_eq!(picked.unwrap(), "proxy");
        // A service's own hosts replace its built-in ones.
        let narrowed = mapping("gmail_u3134a", &["gmail.googleapis.com"]);
        assert!(check(&url("https://gmail.googleapis.com/x"), "gmail", &narrowed).is_ok());
        assert!(check(&url("https://www.googleapis.com/x"), "gmail", &narrowed).is_err());
    }

    #[test]
    fn check_refuses_foreign_and_unknown_hosts_with_a_usage_error() {
        let gmail = mapping("gmail_u3134a", &[]);
        let err = check(&url("https://api.github.com/user"), "gmail", &gmail).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::Usage);
        assert!(err.message.contains("api.github.com"), "{err:?}");
        assert!(err.hint.unwrap().contains("--host api.github.com"));
        let unknown = mapping("acme_internal", &[]);
        let err = check(&url("https://api.acme.dev/x"), "acme", &unknown).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::Usage);
        let bad = mapping("x", &["not a host"]);
        let err = check(&url("https://a.b/x"), "x", &bad).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::NotConfigured);
    }
}

//! What to say when a name is not configured: `init` first on an empty machine, else the
//! close names ("did you mean gmail?") and the services that are configured.

use crate::config::Config;
use crate::error::CliError;
use crate::output::safe;

/// The error for any command run before anything is configured: `init` comes first.
pub(crate) fn init_first() -> CliError {
    CliError::not_configured("nothing is configured yet: no Scalekit credentials and no services")
        .with_hint("scalekit-auth init (then scalekit-auth config SERVICE CONNECTION_NAME)")
}

/// An unknown service: "did you mean …?" with the configured services. The command that
/// would configure the name is offered only when `offer_config` and nothing is close (a
/// typo is never told to configure itself).
pub(crate) fn unknown_service(service: &str, config: &Config, offer_config: bool) -> CliError {
    let names: Vec<&str> = config.services.keys().map(String::as_str).collect();
    let close = crate::tools::close_names(service, names.iter().copied(), 3);
    let mut message = format!("unknown service {service:?}");
    if !close.is_empty() {
        message.push_str(&format!("; did you mean {}?", or_list(&close)));
    }
    let configured = if names.is_empty() {
        "no services are configured yet".to_owned()
    } else {
        format!("configured services: {}", safe::line(&names.join(", ")))
    };
    let hint = match (close.is_empty(), offer_config) {
        (true, true) => format!(
            "{configured}; to add {service}: scalekit-auth config {service} CONNECTION_NAME"
        ),
        (true, false) if names.is_empty() => {
            format!("{configured}; scalekit-auth config SERVICE CONNECTION_NAME adds one")
        }
        _ => format!("{configured} (scalekit-auth list)"),
    };
    CliError::not_configured(message).with_hint(hint)
}

/// "a", "a or b", "a, b or c".
fn or_list(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| safe::line(n).into_owned()).collect();
    crate::tools::or_list(&names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceConfig;

    fn config(names: &[&str]) -> Config {
        let mut config = Config::default();
        for name in names {
            config.services.insert(
                (*name).to_owned(),
                ServiceConfig {
                    connection_name: format!("{name}_conn"),
                    identifier: None,
                    hosts: Vec::new(),
                },
            );
        }
        config
    }

    #[test]
    fn a_typo_gets_the_close_name_and_never_its_own_config_line() {
        let err = unknown_service("gmial", &config(&["gmail", "slack"]), true);
        assert_eq!(
            err.message,
            "unknown service \"gmial\"; did you mean gmail?"
        );
        let hint = err.hint.unwrap();
        assert!(hint.contains("configured services: gmail, slack"), "{hint}");
        assert!(!hint.contains("config gmial"), "{hint}");
    }

    #[test]
    fn a_new_name_is_offered_its_config_line_only_where_it_makes_sense() {
        let err = unknown_service("notion", &config(&["gmail"]), true);
        assert!(!err.message.contains("did you mean"), "{}", err.message);
        assert!(
            err.hint
                .unwrap()
                .contains("scalekit-auth config notion CONNECTION_NAME")
        );
        let err = unknown_service("nosuch", &config(&["gmail"]), false);
        assert!(!err.hint.unwrap().contains("config nosuch"));
    }

    #[test]
    fn several_close_names_read_as_a_list() {
        assert_eq!(or_list(&["a".into(), "b".into(), "c".into()]), "a, b or c");
        assert_eq!(or_list(&["a".into()]), "a");
    }
}

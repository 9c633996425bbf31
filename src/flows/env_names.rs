//! The environment variable that carries each service's token: one naming for `token --env`
//! and `exec` (README "Commands"), so that `eval "$(scalekit-auth token github --env)"`
//! and `scalekit-auth exec github -- gh …` set the same variable.

use crate::config as cfg;
use crate::error::CliError;

/// The variable for a service's token when `--env-name` gives none: `GITHUB_TOKEN` for
/// `github` (what `gh`, Octokit and GitHub Actions read), else `SERVICE_ACCESS_TOKEN`
/// (upper-cased, `-` → `_`).
pub(crate) fn default_variable(service: &str) -> String {
    if service == "github" {
        "GITHUB_TOKEN".to_owned()
    } else {
        format!("{}_ACCESS_TOKEN", service.to_uppercase().replace('-', "_"))
    }
}

/// One variable name per service, in order: the defaults, overridden by `--env-name
/// SERVICE=VAR`. `services` are validated, distinct service names. A malformed pair, a
/// service not being fetched, a name given twice or two services on one variable are usage
/// errors.
pub(crate) fn variable_names(
    services: &[String],
    overrides: &[String],
) -> Result<Vec<String>, CliError> {
    let mut names: Vec<String> = services.iter().map(|s| default_variable(s)).collect();
    let mut overridden = vec![false; services.len()];
    for pair in overrides {
        let Some((service, variable)) = pair.split_once('=') else {
            return Err(CliError::usage(format!(
                "--env-name {pair:?}: expected SERVICE=VAR, e.g. slack=SLACK_BOT_TOKEN"
            )));
        };
        let service = cfg::validate_service(service.trim())?;
        let variable = variable.trim();
        if !is_variable_name(variable) {
            return Err(CliError::usage(format!(
                "--env-name {pair:?}: {variable:?} is not a variable name (letters, digits \
                 and _, not starting with a digit)"
            )));
        }
        let Some(index) = services.iter().position(|s| *s == service) else {
            return Err(CliError::usage(format!(
                "--env-name {pair:?}: {service} is not one of the services to fetch"
            )));
        };
        if overridden[index] {
            return Err(CliError::usage(format!(
                "--env-name names a variable for {service} twice"
            )));
        }
        overridden[index] = true;
        variable.clone_into(&mut names[index]);
    }
    for (i, name) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|n| n == name) {
            return Err(CliError::usage(format!(
                "{} and {} would both set {name}; give one another name with --env-name",
                services[j], services[i]
            )));
        }
    }
    Ok(names)
}

/// A portable shell variable name: ASCII letters, digits and `_`, not starting with a digit.
fn is_variable_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME='value'` for a POSIX shell's `eval`: the value in single quotes, where nothing is
/// special, and each `'` in it written as `'\''` (close, escaped quote, reopen). `name` must
/// come from [`variable_names`]. Values with control characters are refused before this
/// (a NUL would cut the line short in a shell; CR/LF would end it).
pub(crate) fn shell_assignment(name: &str, value: &str) -> String {
    format!("{name}='{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn default_variables() {
        assert_eq!(default_variable("gmail"), "GMAIL_ACCESS_TOKEN");
        assert_eq!(default_variable("github"), "GITHUB_TOKEN");
        assert_eq!(
            default_variable("google-drive"),
            "GOOGLE_DRIVE_ACCESS_TOKEN"
        );
    }

    #[test]
    fn env_name_overrides_and_their_errors() {
        let services = ["gmail".to_owned(), "slack".to_owned()];
        let names = variable_names(&services, &["slack=SLACK_BOT_TOKEN".into()]).unwrap();
        assert_eq!(names, ["GMAIL_ACCESS_TOKEN", "SLACK_BOT_TOKEN"]);
        for bad in [
            "slack",
            "slack=1X",
            "slack=A-B",
            "slack=",
            "slack=A;touch X",
            "slack=$(x)",
            "notion=X",
            "Sl@ck=X",
        ] {
            let err = variable_names(&services, &[bad.into()]).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage, "{bad}");
        }
        let err = variable_names(&services, &["slack=GMAIL_ACCESS_TOKEN".into()]).unwrap_err();
        assert!(err.message.contains("both"), "{err:?}");
        let twice = ["slack=A".into(), "slack=B".into()];
        assert!(variable_names(&services, &twice).is_err());
    }

    #[test]
    fn assignments_are_single_quoted() {
        assert_eq!(shell_assignment("A", "plain"), "A='plain'");
        assert_eq!(shell_assignment("A", "it's"), r"A='it'\''s'");
        assert_eq!(
            shell_assignment("A", "pw;touch PWNED #$(x)`y`\"z\\"),
            "A='pw;touch PWNED #$(x)`y`\"z\\'"
        );
        assert_eq!(shell_assignment("A", ""), "A=''");
    }
}

//! Errors found while parsing the arguments, before any command runs: with `--json` among
//! the arguments they are a `usage` JSON document on stdout too (cli.md, "Output rules");
//! a flag that does not exist on purpose (`--client-secret`) says why.

use std::ffi::OsString;
use std::io::Write as _;

use crate::error::CliError;
use crate::output::ErrorDoc;

/// Reports a clap error; returns the process exit code (0 for `--help`/`--version`).
pub(crate) fn report(err: &clap::Error, args: &[OsString]) -> u8 {
    if !err.use_stderr() {
        // --help and --version: stdout, exit 0.
        let _ = err.print();
        return 0;
    }
    // Only what comes before `--` is ours (`exec`'s command follows it).
    let ours = args.iter().skip(1).take_while(|a| *a != "--");
    let mut json = false;
    let mut secret_flag = false;
    for arg in ours {
        let arg = arg.to_string_lossy();
        json |= arg == "--json";
        secret_flag |= arg == "--client-secret" || arg.starts_with("--client-secret=");
    }
    let cli_error = if secret_flag && err.kind() == clap::error::ErrorKind::UnknownArgument {
        // Never clap's text here: with `--client-secret=VALUE` it would quote the secret.
        let explained = no_secret_flag();
        let _ = writeln!(
            std::io::stderr().lock(),
            "error: {}\nhint: {}",
            explained.message,
            explained.hint.as_deref().unwrap_or_default()
        );
        explained
    } else {
        let _ = err.print();
        summarize(&err.render().to_string())
    };
    if json && let Ok(doc) = serde_json::to_string_pretty(&ErrorDoc::new(&cli_error)) {
        let _ = writeln!(std::io::stdout().lock(), "{doc}");
    }
    2
}

/// Why there is no `--client-secret VALUE`.
fn no_secret_flag() -> CliError {
    CliError::usage(
        "there is no --client-secret flag: a secret given as an argument shows in `ps` and in \
         the shell's history",
    )
    .with_hint(
        "pipe it in with --client-secret-stdin (printf '%s' \"$SECRET\" | scalekit-auth init \
         --client-secret-stdin), set SCALEKIT_CLIENT_SECRET, or let init prompt for it",
    )
}

/// clap's rendered error as one message (its first paragraph, without `error: `) and a hint
/// (its usage line).
fn summarize(rendered: &str) -> CliError {
    let mut paragraphs = rendered.split("\n\n");
    let message = paragraphs
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let usage = rendered
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .map(str::trim);
    let mut err = CliError::usage(message);
    if let Some(usage) = usage {
        err = err.with_hint(format!("usage: {usage} (more with --help)"));
    }
    err
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn clap_errors_read_as_one_message_and_a_usage_hint() {
        let err = summarize(
            "error: the following required arguments were not provided:\n  <SERVICE>...\n\n\
             Usage: scalekit-auth token --json <SERVICE>...\n\nFor more information, try '--help'.\n",
        );
        assert_eq!(
            err.message,
            "the following required arguments were not provided: <SERVICE>..."
        );
        assert_eq!(
            err.hint.as_deref(),
            Some("usage: scalekit-auth token --json <SERVICE>... (more with --help)")
        );
    }
}

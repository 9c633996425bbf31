//! Shell completion through `clap_complete`'s dynamic engine: the script a shell loads (what
//! `completions SHELL` prints) only registers a function that calls back into
//! `scalekit-auth` with `SCALEKIT_AUTH_COMPLETE=<shell>` set, and the binary answers with
//! the candidates. That is what lets SERVICE arguments complete from the user's
//! `config.toml`, which a static script could not know.

use clap::CommandFactory;
use clap_complete::env::{CompleteEnv, Shells};

use crate::cli::Cli;

/// The variable that turns a run into a completion request. Specific to this tool, so that a
/// `COMPLETE` set for some other program never changes what `scalekit-auth` does.
pub(crate) const COMPLETE_VAR: &str = "SCALEKIT_AUTH_COMPLETE";

/// The program the registration scripts complete and call back: looked up on `PATH`, so the
/// scripts hold no machine path and keep working when the binary moves.
const BIN: &str = "scalekit-auth";

/// Answers a completion request and exits when `SCALEKIT_AUTH_COMPLETE` is set (to a shell
/// name); returns at once otherwise. Runs before anything else touches stdout.
pub(crate) fn handle_request() {
    complete_env().complete();
}

fn complete_env() -> CompleteEnv<'static, fn() -> clap::Command> {
    CompleteEnv::with_factory(Cli::command as fn() -> clap::Command)
        .var(COMPLETE_VAR)
        .bin(BIN)
        .completer(BIN)
}

/// The registration script for `shell`: what `SCALEKIT_AUTH_COMPLETE=<shell> scalekit-auth`
/// prints, plus, for zsh, the lines that let the file work from `fpath` as well as sourced.
pub(crate) fn registration(shell: clap_complete::Shell) -> String {
    let shells = Shells::builtins();
    let completer = shells
        .completer(&shell.to_string())
        .expect("every clap_complete::Shell has a dynamic completer");
    let mut buf = Vec::new();
    completer
        .write_registration(COMPLETE_VAR, BIN, BIN, BIN, &mut buf)
        .expect("writing to a Vec cannot fail");
    let mut script = String::from_utf8(buf).expect("registration scripts are UTF-8");
    if shell == clap_complete::Shell::Zsh {
        // Autoloaded from fpath, the file's body is the completion function itself: the first
        // Tab only defines and registers the real function, so call it right away as well.
        script.push_str(ZSH_AUTOLOAD);
    }
    script
}

/// Appended to the zsh script (see `registration`).
const ZSH_AUTOLOAD: &str = r#"if [[ "${funcstack[1]}" == "_scalekit-auth" ]]; then
    _clap_dynamic_completer_scalekit_auth "$@"
fi
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_registers_a_callback_through_path() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
            clap_complete::Shell::Elvish,
        ] {
            let script = registration(shell);
            assert!(script.contains(COMPLETE_VAR), "{shell}: {script}");
            assert!(script.contains(BIN), "{shell}: {script}");
        }
    }
}

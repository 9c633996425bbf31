//! dialoguer wrappers. Callers prompt only when `Context::interactive` says a person is at
//! the terminal; every prompt has a flag that answers it instead. Prompts render on stderr.

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Password, Select};

use crate::error::CliError;
use crate::output::safe;
use crate::secret::Secret;

fn theme() -> Box<dyn Theme> {
    if console::colors_enabled_stderr() {
        Box::new(ColorfulTheme::default())
    } else {
        Box::new(SimpleTheme)
    }
}

/// Asks for a line of text; re-asks until `validate` accepts the answer (never exits on a
/// typo). Enter alone takes the default.
///
/// The line is read in the terminal's own (canonical) mode, not redrawn by dialoguer:
/// dialoguer counts rows by newlines, so an answer or an error that wraps at 80 columns left
/// a stale prompt row and lost the error's second row. Here nothing is erased: each attempt
/// stays on screen as typed, followed by its whole error, then the question again.
pub(crate) fn input(
    prompt: &str,
    default: Option<&str>,
    validate: impl Fn(&str) -> Result<(), String>,
) -> anyhow::Result<String> {
    // A suggestion read from a file (IDENTITY.md, an import) is shown as it is: one that holds
    // a control character is not offered at all, rather than drawn raw or changed.
    let default = default.filter(|d| !d.is_empty() && safe::line(d) == *d);
    let question = match default {
        Some(default) => format!("{prompt} [{default}]: "),
        None => format!("{prompt}: "),
    };
    let term = console::Term::stderr();
    let mut stdin = std::io::stdin().lock();
    loop {
        term.write_str(&console::style(&question).bold().for_stderr().to_string())?;
        term.flush()?;
        let mut line = Vec::new();
        if std::io::BufRead::read_until(&mut stdin, b'\n', &mut line)? == 0 {
            // End of input (Ctrl-D): the person left.
            term.write_line("")?;
            return Err(CliError::interrupted().into());
        }
        let problem = match std::str::from_utf8(&line) {
            Ok(text) => {
                let answer = match (text.trim(), default) {
                    ("", Some(default)) => default,
                    ("", None) => continue,
                    (answer, _) => answer,
                };
                match validate(answer) {
                    Ok(()) => return Ok(answer.to_owned()),
                    Err(problem) => problem,
                }
            }
            Err(_) => "the answer is not valid UTF-8".to_owned(),
        };
        let error = format!("error: {}", safe::line(&problem));
        term.write_line(&console::style(error).red().for_stderr().to_string())?;
    }
}

/// Asks for a secret with hidden input; re-asks on an empty answer.
pub(crate) fn password(prompt: &str) -> anyhow::Result<Secret> {
    let theme = theme();
    let answer = Password::with_theme(theme.as_ref())
        .with_prompt(prompt)
        .validate_with(|answer: &String| {
            if answer.trim().is_empty() {
                Err("the secret cannot be empty")
            } else {
                Ok(())
            }
        })
        .interact()?;
    Ok(Secret::new(answer.trim().to_owned()))
}

/// Asks for a secret with hidden input; with `keepable`, an empty answer keeps the previous
/// one (`None`), else it re-asks.
pub(crate) fn password_or_keep(prompt: &str, keepable: bool) -> anyhow::Result<Option<Secret>> {
    if !keepable {
        return password(prompt).map(Some);
    }
    let theme = theme();
    let answer = Password::with_theme(theme.as_ref())
        .with_prompt(prompt)
        .allow_empty_password(true)
        .interact()?;
    let answer = answer.trim();
    Ok((!answer.is_empty()).then(|| Secret::new(answer.to_owned())))
}

/// Asks a yes/no question.
pub(crate) fn confirm(prompt: &str, default: bool) -> anyhow::Result<bool> {
    let theme = theme();
    Ok(Confirm::with_theme(theme.as_ref())
        .with_prompt(prompt)
        .default(default)
        .interact()?)
}

/// Asks to choose one of `items` (already safe to show); returns its index.
pub(crate) fn select(prompt: &str, items: &[String]) -> anyhow::Result<usize> {
    let theme = theme();
    Ok(Select::with_theme(theme.as_ref())
        .with_prompt(prompt)
        .items(items)
        .default(0)
        .interact()?)
}

/// Makes Ctrl-C at a prompt end the run cleanly: exit 130 with the terminal as it was.
///
/// dialoguer turns echo off while the secret is typed; the default SIGINT would kill the
/// process right there and leave the user's shell without echo. From this call on, a watcher
/// thread takes SIGINT instead, puts the terminal settings saved here back, shows the cursor,
/// and ends the process with 130. That is the one place outside `main` that ends the process:
/// a blocked prompt cannot return an error.
pub(crate) fn restore_terminal_on_interrupt() {
    #[cfg(unix)]
    {
        let Ok(saved) = rustix::termios::tcgetattr(std::io::stdin()) else {
            return;
        };
        std::thread::spawn(move || {
            let Ok(runtime) = crate::runtime::new() else {
                return;
            };
            runtime.block_on(async {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = rustix::termios::tcsetattr(
                        std::io::stdin(),
                        rustix::termios::OptionalActions::Now,
                        &saved,
                    );
                    let _ = console::Term::stderr().show_cursor();
                    let _ = std::io::Write::write_all(&mut std::io::stderr(), b"\n");
                    std::process::exit(130);
                }
            });
        });
    }
}

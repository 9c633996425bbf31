//! dialoguer wrappers. Callers prompt only when `Context::interactive` says a person is at
//! the terminal; every prompt has a flag that answers it instead. Prompts render on stderr.

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, Password, Select};

use crate::output::safe;
use crate::secret::Secret;

fn theme() -> Box<dyn Theme> {
    if console::colors_enabled_stderr() {
        Box::new(ColorfulTheme::default())
    } else {
        Box::new(SimpleTheme)
    }
}

/// Asks for a line of text; re-asks until `validate` accepts the answer (never exits on a typo).
pub(crate) fn input(
    prompt: &str,
    default: Option<&str>,
    validate: impl Fn(&str) -> Result<(), String>,
) -> anyhow::Result<String> {
    let theme = theme();
    let mut input = Input::<String>::with_theme(theme.as_ref()).with_prompt(prompt);
    // A suggestion read from a file (IDENTITY.md, an import) is shown as it is: one that holds
    // a control character is not offered at all, rather than drawn raw or changed.
    if let Some(default) = default.filter(|d| !d.is_empty() && safe::line(d) == *d) {
        input = input.default(default.to_owned());
    }
    let answer = input
        .validate_with(|answer: &String| validate(answer.trim()))
        .interact_text()?;
    Ok(answer.trim().to_owned())
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

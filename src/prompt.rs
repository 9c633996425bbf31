//! dialoguer wrappers. Callers prompt only when `Context::interactive` says a person is at
//! the terminal; every prompt has a flag that answers it instead. Prompts render on stderr.

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, Password};

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
    if let Some(default) = default.filter(|d| !d.is_empty()) {
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

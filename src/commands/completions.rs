//! `completions`: the shell's registration script on stdout (see `crate::completion`).

use crate::cli::CompletionsArgs;
use clap::ValueEnum as _;

use crate::completion;
use crate::error::{CliError, ExitStatus};
use crate::output::Output;

pub(crate) fn run(out: &Output, args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let Some(shell) = args.shell else {
        // Without a shell, say which ones there are rather than only that one is missing.
        let shells: Vec<String> = clap_complete::Shell::value_variants()
            .iter()
            .map(ToString::to_string)
            .collect();
        return Err(CliError::usage(format!(
            "which shell? scalekit-auth completions SHELL, where SHELL is one of: {}",
            shells.join(", ")
        ))
        .with_hint("scalekit-auth completions bash > ~/.local/share/bash-completion/completions/scalekit-auth")
        .into());
    };
    out.data(&completion::registration(shell))?;
    Ok(ExitStatus::Success)
}

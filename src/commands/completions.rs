//! `completions`: the shell's registration script on stdout (see `crate::completion`).

use crate::cli::CompletionsArgs;
use crate::completion;
use crate::error::ExitStatus;
use crate::output::Output;

pub(crate) fn run(out: &Output, args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    out.data(&completion::registration(args.shell))?;
    Ok(ExitStatus::Success)
}

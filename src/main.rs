//! scalekit-auth: fresh OAuth access tokens for AI agents and shell scripts, through
//! Scalekit connected accounts. `main` parses, runs, and decides the exit code once.

// `print!`/`eprint!` panic when the stream is closed; output goes through `output::Output`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod agent;
mod cli;
mod commands;
mod completion;
mod config;
mod error;
mod flows;
#[cfg(test)]
mod generate;
mod hosts;
mod mcp;
mod output;
mod permissions;
mod prompt;
mod runtime;
mod scalekit;
mod secret;
mod tools;
mod usage;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, ColorChoice, Command};
use crate::error::{ExitStatus, Partial};
use crate::output::{ErrorDoc, Output};

fn main() -> ExitCode {
    // Before anything reads a secret: no core file, no ptrace by other users (SECURITY.md,
    // "Memory"). Best effort: a kernel that refuses leaves the process as it was.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    // SCALEKIT_AUTH_COMPLETE=<shell>: a shell asking for completions; answers and exits.
    completion::handle_request();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // --help and --version print to stdout and exit 0; usage errors exit 2.
        Err(err) => return ExitCode::from(usage::report(&err, &args)),
    };
    let json = wants_json(&cli.command);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match cli.global.color {
        ColorChoice::Always => Some(true),
        ColorChoice::Never => Some(false),
        ColorChoice::Auto => None,
    };
    let out = Output::new(cli.global.quiet, cli.global.verbose, color, no_color);
    let status = match commands::run(cli, out.clone()) {
        Ok(status) => status,
        Err(err) => report(&out, json, &err),
    };
    ExitCode::from(u8::try_from(status.code()).unwrap_or(1))
}

/// The one printer of failures: prints `err` on stderr (and, with `--json`, as the JSON
/// document on stdout) and returns the exit status it means.
fn report(out: &Output, json: bool, err: &anyhow::Error) -> ExitStatus {
    if error::is_broken_pipe(err) {
        return ExitStatus::Success;
    }
    // Data already went to stdout: print the errors that go with it, and no second document.
    if let Some(partial) = err.chain().find_map(|c| c.downcast_ref::<Partial>()) {
        for err in &partial.errors {
            out.error(err);
        }
        if let Some(hint) = &partial.hint {
            out.hint(hint);
        }
        return partial.status;
    }
    let err = error::classify(err);
    if json {
        // With --json, stdout is exactly one JSON document, failures included.
        let _ = out.json(&ErrorDoc::new(&err));
    }
    out.error(&err);
    err.kind.exit_status()
}

/// Whether the command promised one JSON document on stdout.
fn wants_json(command: &Command) -> bool {
    match command {
        Command::Config(a) => a.json,
        Command::Authorize(a) => a.json,
        Command::Token(a) => a.format.json,
        Command::Status(a) => a.json,
        Command::List(a) => a.json,
        Command::Agent(a) => matches!(a.action, Some(cli::AgentAction::Status { json: true })),
        Command::Connections(a) => a.json,
        Command::Tools(a) => a.command.json(),
        Command::Request(a) => a.json,
        Command::Init(_)
        | Command::Completions(_)
        | Command::Exec(_)
        | Command::Mcp(_)
        | Command::Remove(_) => false,
    }
}

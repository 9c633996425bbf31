//! `exec`: fetch the services' tokens like `token` does (one API token, one lookup per
//! service, concurrently), then run a command with them in its environment. The tokens go
//! into the child's environment only: never into an argv, stdout or stderr. The child's exit
//! code (or 128+N for signal N) becomes ours.

use std::time::Duration;

use super::{Context, Target};
use crate::cli::ExecArgs;
use crate::error::{self, CliError, ErrorKind, ExitStatus, Partial};
use crate::flows::authorization::FlowOptions;
use crate::flows::credentials::{self as token, FetchOptions};
use crate::flows::env_names;
use crate::secret::Secret;

/// Exit code of a command that is not found, as a shell says it.
const NOT_FOUND: u8 = 127;
/// Exit code of a command that is found but cannot be run.
const NOT_EXECUTABLE: u8 = 126;

pub(crate) async fn run(ctx: &Context, args: &ExecArgs) -> anyhow::Result<ExitStatus> {
    let Some((program, program_args)) = args.command.split_first() else {
        return Err(CliError::usage("no command to run")
            .with_hint("give it after --: scalekit-auth exec SERVICE... -- CMD [ARGS]...")
            .into());
    };
    let config = ctx.config()?;
    // Resolve everything before any request: a typo costs nothing and runs nothing.
    let mut targets: Vec<Target> = Vec::new();
    for name in &args.services {
        let target = ctx.target(&config, name, args.identifier.as_deref())?;
        if !targets.iter().any(|t| t.service == target.service) {
            targets.push(target);
        }
    }
    let services: Vec<String> = targets.iter().map(|t| t.service.clone()).collect();
    let names = env_names::variable_names(&services, &args.env_names)?;
    let client = ctx.client(&config)?;
    let interactive = ctx.interactive(false);
    let options = FetchOptions {
        authorize: interactive || args.auth.wait,
        flow: FlowOptions {
            wait: true,
            timeout: Duration::from_secs(args.auth.timeout),
            qr: args.auth.qr.into(),
            open: false,
            force: false,
            interactive,
            account_missing: false,
        },
        min_ttl: Duration::from_secs(args.min_ttl),
        rerun_hint: |_| {
            "after approving, run the same command again (or add --wait to wait for the approval)"
                .to_owned()
        },
    };
    let resolved: Vec<Result<Target, CliError>> = targets.into_iter().map(Ok).collect();
    let outcomes = super::interruptible(async {
        Ok(token::credentials(ctx, &client, &resolved, options).await)
    })
    .await?;
    let failures: Vec<CliError> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .map(error::classify)
        .collect();
    if !failures.is_empty() {
        // The command runs with every token or not at all.
        return Err(Partial::of(failures).into());
    }
    let creds: Vec<token::Credential> = outcomes.into_iter().flatten().collect();
    // No environment variable can hold a NUL: say whose credential it is, rather than
    // failing to start the command as if it were the command's fault.
    if let Some(cred) = creds.iter().find(|c| c.value.expose().contains('\0')) {
        return Err(CliError::failed(format!(
            "{}'s credential contains a NUL byte, which no environment variable can hold",
            cred.target.service
        ))
        .with_hint(format!(
            "scalekit-auth token {} --json shows it",
            cred.target.service
        ))
        .into());
    }
    let env: Vec<(String, Secret)> = names
        .into_iter()
        .zip(creds)
        .map(|(name, cred)| (name, cred.value))
        .collect();
    run_child(program, program_args, &env).await
}

/// Runs the command with the tokens added to this process's environment, forwarding
/// signals while it runs, and turns how it ended into our exit code.
async fn run_child(
    program: &str,
    program_args: &[String],
    env: &[(String, Secret)],
) -> anyhow::Result<ExitStatus> {
    let mut command = tokio::process::Command::new(program);
    command.args(program_args);
    // The child gets the tokens it asked for, never this tool's own secrets (SECURITY.md,
    // "Children"), whether they came from the environment or a named env file.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_scalekit_secret) {
            command.env_remove(&name);
        }
    }
    for (name, value) in env {
        // The only place the token leaves this process: the child's environment.
        command.env(name, value.expose());
    }
    // Handlers go in before the child starts, so that no signal meant for it is lost (or
    // kills us and leaves it running unsupervised).
    #[cfg(unix)]
    let forwarder = signals::Forwarder::install()?;
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => return Err(cannot_start(program, &err).into()),
    };
    #[cfg(unix)]
    let status = forwarder.wait(&mut child).await?;
    #[cfg(not(unix))]
    let status = child.wait().await?;
    Ok(exit_status(status))
}

/// A `SCALEKIT_*` variable that holds a secret: the client secret, and any other
/// `SCALEKIT_*` secret, token, password or key.
fn is_scalekit_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("SCALEKIT_")
        && ["SECRET", "TOKEN", "PASSWORD", "KEY"]
            .iter()
            .any(|word| upper.contains(word))
}

/// 127 for a command that is not found, 126 for one that cannot be run, as a shell says.
fn cannot_start(program: &str, err: &std::io::Error) -> Partial {
    let (code, why, hint) = match err.kind() {
        std::io::ErrorKind::NotFound => (
            NOT_FOUND,
            "command not found".to_owned(),
            "check its name and PATH, or give its path",
        ),
        std::io::ErrorKind::PermissionDenied => (
            NOT_EXECUTABLE,
            "permission denied (not executable?)".to_owned(),
            "check that it is an executable file: chmod +x",
        ),
        _ => (
            NOT_EXECUTABLE,
            err.to_string(),
            "check that it is a program this system can run",
        ),
    };
    Partial {
        status: ExitStatus::Code(code),
        errors: vec![
            CliError::new(ErrorKind::Failed, format!("cannot run {program:?}: {why}"))
                .with_hint(hint),
        ],
        hint: None,
    }
}

/// The child's exit code as ours; 128+N when it died of signal N.
fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    if let Some(code) = status.code() {
        return match u8::try_from(code) {
            Ok(0) => ExitStatus::Success,
            Ok(code) => ExitStatus::Code(code),
            Err(_) => ExitStatus::Failure,
        };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return ExitStatus::Code(u8::try_from(128 + signal).unwrap_or(u8::MAX));
        }
    }
    ExitStatus::Failure
}

#[cfg(unix)]
mod signals {
    //! Forwarding SIGINT, SIGTERM and SIGHUP to the child while it runs.

    use std::io;

    use rustix::process::{Pid, Signal, getpgid, getpgrp, kill_process};
    use tokio::signal::unix::{SignalKind, signal};

    /// Signal handlers installed for the child's lifetime.
    pub(super) struct Forwarder {
        interrupt: tokio::signal::unix::Signal,
        terminate: tokio::signal::unix::Signal,
        hangup: tokio::signal::unix::Signal,
    }

    impl Forwarder {
        /// Installs the handlers: from now on these signals no longer end this process.
        pub(super) fn install() -> io::Result<Self> {
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                hangup: signal(SignalKind::hangup())?,
            })
        }

        /// Waits for the child, forwarding each signal we get to it.
        pub(super) async fn wait(
            mut self,
            child: &mut tokio::process::Child,
        ) -> io::Result<std::process::ExitStatus> {
            let mut interrupts = 0_u32;
            loop {
                let signal = tokio::select! {
                    status = child.wait() => return status,
                    _ = self.interrupt.recv() => {
                        interrupts += 1;
                        // Ctrl-C at a terminal reaches the whole foreground process group,
                        // the child included: forwarding it would deliver it twice, which
                        // some programs take as "quit now". The first one is left to the
                        // terminal; a second one, or one sent to us alone, is forwarded.
                        // (uv's `run` does the same.)
                        if interrupts == 1 && terminal_delivers_to(child) {
                            continue;
                        }
                        Signal::INT
                    }
                    _ = self.terminate.recv() => Signal::TERM,
                    _ = self.hangup.recv() => Signal::HUP,
                };
                if let Some(pid) = child_pid(child) {
                    // The child may have just exited: nothing to do then.
                    let _ = kill_process(pid, signal);
                }
            }
        }
    }

    fn child_pid(child: &tokio::process::Child) -> Option<Pid> {
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw)
    }

    /// Whether a Ctrl-C typed at our controlling terminal reaches the child by itself: we
    /// are in the terminal's foreground process group and so is the child.
    fn terminal_delivers_to(child: &tokio::process::Child) -> bool {
        let Ok(tty) = std::fs::File::open("/dev/tty") else {
            return false;
        };
        let ours = getpgrp();
        let foreground = rustix::termios::tcgetpgrp(&tty).is_ok_and(|fg| fg == ours);
        foreground && child_pid(child).is_some_and(|pid| getpgid(Some(pid)).ok() == Some(ours))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn exit_codes_pass_through() {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(
            exit_status(std::process::ExitStatus::from_raw(0)),
            ExitStatus::Success
        );
        assert_eq!(
            exit_status(std::process::ExitStatus::from_raw(7 << 8)).code(),
            7
        );
        // Killed by SIGTERM (15): 143.
        assert_eq!(
            exit_status(std::process::ExitStatus::from_raw(15)).code(),
            143
        );
    }
}

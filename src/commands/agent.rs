//! `agent`: run the token agent (foreground or `--detach`), or ask a running one for its
//! status, to stop, or to flush (README "The agent").

use super::Context;
use crate::cli::AgentArgs;
use crate::error::{CliError, ExitStatus};

#[cfg(not(unix))]
pub(crate) fn run(_ctx: &Context, _args: &AgentArgs) -> anyhow::Result<ExitStatus> {
    Err(CliError::failed("the agent needs a Unix system (Linux, macOS, a BSD)").into())
}

#[cfg(unix)]
pub(crate) fn run(ctx: &Context, args: &AgentArgs) -> anyhow::Result<ExitStatus> {
    use crate::cli::AgentAction;
    let path = crate::agent::socket_path(&ctx.env);
    match &args.action {
        None if args.detach => crate::runtime::block_on(unix::detach(ctx, args, &path)),
        None => crate::runtime::block_on(unix::foreground(ctx, args, &path)),
        Some(AgentAction::Status { json }) => {
            crate::runtime::block_on(unix::status(ctx, &path, *json))
        }
        Some(AgentAction::Stop) => crate::runtime::block_on(unix::stop(ctx, &path)),
        Some(AgentAction::Flush) => crate::runtime::block_on(unix::flush(ctx, &path)),
    }
}

#[cfg(unix)]
mod unix {
    use std::path::Path;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::{AgentArgs, CliError, Context, ExitStatus};
    use crate::agent::client::{Connection, Unusable};
    use crate::agent::server::{self, BindError, Options};
    use crate::output::{format_table, shown};
    use crate::scalekit::types::format_timestamp;

    /// How long `--detach` waits for the new agent to answer.
    const START_WAIT: Duration = Duration::from_secs(5);
    /// How long `agent stop` waits for the socket to go.
    const STOP_WAIT: Duration = Duration::from_secs(3);

    /// Runs the agent in this process until it stops (exit 0).
    pub(super) async fn foreground(
        ctx: &Context,
        args: &AgentArgs,
        path: &Path,
    ) -> anyhow::Result<ExitStatus> {
        // Security: no core file and no ptrace by other processes of the user: the agent
        // holds tokens for hours. And no registry of every token seen (see secret.rs).
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ =
            rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
        crate::secret::stop_registering();
        let listener = server::bind(path).await.map_err(|err| match err {
            BindError::Running(_) => CliError::failed(err.to_string())
                .with_hint("scalekit-auth agent status, or scalekit-auth agent stop"),
            other => CliError::failed(other.to_string()),
        })?;
        ctx.out.info(&format!(
            "agent listening on {} (pid {})",
            shown(&path.display().to_string()),
            std::process::id()
        ));
        server::serve(
            listener,
            Options {
                socket: path.to_owned(),
                idle_timeout: args.idle_timeout,
                max_lifetime: args.max_lifetime,
                http_timeout: ctx.http_timeout(),
                observer: ctx.out.request_observer(),
            },
        )
        .await
        .map_err(|e| CliError::failed(format!("the agent stopped: {e}")))?;
        Ok(ExitStatus::Success)
    }

    /// Starts `scalekit-auth agent` in the background, in its own process group, and returns
    /// once it answers. An agent already running is fine.
    pub(super) async fn detach(
        ctx: &Context,
        args: &AgentArgs,
        path: &Path,
    ) -> anyhow::Result<ExitStatus> {
        if let Some(conn) = Connection::open(path).await {
            ctx.out.info(&format!(
                "an agent is already running on {} (pid {})",
                shown(&path.display().to_string()),
                conn.hello.pid
            ));
            return Ok(ExitStatus::Success);
        }
        // The child runs in `/`: a relative socket path is made absolute here.
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let path = absolute.as_path();
        let exe = std::env::current_exe()?;
        let mut command = std::process::Command::new(exe);
        command
            .arg("agent")
            .arg("--idle-timeout")
            .arg(format!("{}s", args.idle_timeout.as_secs()))
            .arg("--max-lifetime")
            .arg(format!("{}s", args.max_lifetime.as_secs()))
            .arg("--http-timeout")
            .arg(ctx.http_timeout().as_secs_f64().to_string())
            // The path as decided here, whatever env file named it.
            .env("SCALEKIT_AUTH_AGENT_SOCK", path)
            // Keeps no directory of the caller's busy (an unmount, a deleted checkout).
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| CliError::failed(format!("cannot start the agent: {e}")))?;
        let started = Instant::now();
        while started.elapsed() < START_WAIT {
            if let Some(conn) = Connection::open(path).await {
                ctx.out.success(&format!(
                    "agent started on {} (pid {})",
                    shown(&path.display().to_string()),
                    conn.hello.pid
                ));
                return Ok(ExitStatus::Success);
            }
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(CliError::failed("the agent did not start")
            .with_hint("run it in the foreground to see why: scalekit-auth agent")
            .into())
    }

    /// A connection to a running agent of this version, or the error that says why not.
    async fn connect(path: &Path) -> Result<Connection, CliError> {
        let conn = Connection::open_checked(path).await.map_err(|err| {
            let err = CliError::failed(shown(&err.to_string()));
            err.with_hint("start one: scalekit-auth agent --detach")
        })?;
        if !conn.speaks_our_version() {
            return Err(CliError::failed(format!(
                "the running agent speaks protocol version {}, this binary {}",
                conn.hello.v,
                crate::agent::protocol::VERSION
            ))
            .with_hint("restart it: scalekit-auth agent stop && scalekit-auth agent --detach"));
        }
        Ok(conn)
    }

    pub(super) async fn status(
        ctx: &Context,
        path: &Path,
        json: bool,
    ) -> anyhow::Result<ExitStatus> {
        let mut conn = connect(path).await?;
        let response = conn
            .quick("status", |_| {})
            .await
            .map_err(|e| CliError::failed(format!("the agent did not answer: {e}")))?;
        let when = |secs: i64| {
            time::OffsetDateTime::from_unix_timestamp(secs)
                .map_or_else(|_| "unknown".to_owned(), format_timestamp)
        };
        if json {
            let entries: Vec<_> = response
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "service": e.service,
                        "connection_name": e.connection,
                        "identifier": e.identifier,
                        "env_url": e.env_url,
                        "expires_at": when(e.expires_at),
                    })
                })
                .collect();
            ctx.out.json(&json!({
                "socket": path.display().to_string(),
                "pid": conn.hello.pid,
                "uptime_secs": response.uptime,
                "remaining_lifetime_secs": response.remaining_lifetime,
                "entries": entries,
            }))?;
            return Ok(ExitStatus::Success);
        }
        ctx.out.info(&format!(
            "agent pid {} on {}: up {}s, stops within {}s at the latest; {} cached",
            conn.hello.pid,
            shown(&path.display().to_string()),
            response.uptime,
            response.remaining_lifetime,
            response.entries.len()
        ));
        if !response.entries.is_empty() {
            let rows: Vec<[String; 3]> = response
                .entries
                .iter()
                .map(|e| [shown(&e.service), shown(&e.identifier), when(e.expires_at)])
                .collect();
            ctx.out
                .data(&format_table(&["SERVICE", "IDENTIFIER", "EXPIRES"], &rows))?;
        }
        Ok(ExitStatus::Success)
    }

    /// Stops the agent and waits for its socket to go. No agent: nothing to do (exit 0).
    pub(super) async fn stop(ctx: &Context, path: &Path) -> anyhow::Result<ExitStatus> {
        let mut conn = match Connection::open_checked(path).await {
            Ok(conn) => conn,
            Err(Unusable::Absent(_)) => {
                ctx.out.info("no agent is running");
                return Ok(ExitStatus::Success);
            }
            Err(err) => return Err(CliError::failed(shown(&err.to_string())).into()),
        };
        // `stop` is understood by every protocol version.
        conn.quick("stop", |_| {})
            .await
            .map_err(|e| CliError::failed(format!("the agent did not stop: {e}")))?;
        let asked = Instant::now();
        while asked.elapsed() < STOP_WAIT && std::fs::symlink_metadata(path).is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ctx.out.success("agent stopped");
        Ok(ExitStatus::Success)
    }

    /// Drops every cached token. No agent: nothing is cached (exit 0).
    pub(super) async fn flush(ctx: &Context, path: &Path) -> anyhow::Result<ExitStatus> {
        let mut conn = match Connection::open_checked(path).await {
            Ok(conn) => conn,
            Err(Unusable::Absent(_)) => {
                ctx.out.info("no agent is running; nothing is cached");
                return Ok(ExitStatus::Success);
            }
            Err(err) => return Err(CliError::failed(shown(&err.to_string())).into()),
        };
        if !conn.speaks_our_version() {
            return Err(connect(path)
                .await
                .err()
                .unwrap_or_else(|| {
                    CliError::failed("the running agent speaks another protocol version")
                })
                .into());
        }
        let response = conn
            .quick("flush", |_| {})
            .await
            .map_err(|e| CliError::failed(format!("the agent did not flush: {e}")))?;
        ctx.out
            .success(&format!("flushed {} cached token(s)", response.flushed));
        Ok(ExitStatus::Success)
    }
}

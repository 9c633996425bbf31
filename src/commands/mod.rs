//! One module per subcommand, each with one `run`. They decide; `flows` carry what several
//! share; `config` and `scalekit` do the work; `output` shows it.

pub(crate) mod agent;
pub(crate) mod authorize;
pub(crate) mod completions;
pub(crate) mod config;
pub(crate) mod connections;
pub(crate) mod exec;
pub(crate) mod init;
pub(crate) mod list;
pub(crate) mod mcp;
pub(crate) mod remove;
pub(crate) mod request;
pub(crate) mod status;
pub(crate) mod token;
pub(crate) mod tools;

use crate::cli::{Cli, Command, GlobalArgs, QrArgs};
use crate::error::{CliError, ExitStatus};
use crate::flows::authorization::QrChoice;
pub(crate) use crate::flows::context::{Context, Target};
use crate::output::Output;
use crate::runtime::block_on;

/// Runs the parsed command.
pub(crate) fn run(cli: Cli, out: Output) -> anyhow::Result<ExitStatus> {
    // Needs no configuration: a broken .env must not stop a shell from loading completions.
    if let Command::Completions(args) = &cli.command {
        return completions::run(&out, args);
    }
    let ctx = context(&cli.global, out)?;
    if let Command::Mcp(args) = &cli.command {
        // The server owns the context; it binds an old stored secret itself, after the call
        // that verified it.
        return block_on(interruptible(mcp::run(ctx, args)));
    }
    let result = match cli.command {
        Command::Init(args) => init::run(&ctx, &args),
        Command::Config(args) => config::run(&ctx, &args),
        Command::Authorize(args) => block_on(interruptible(authorize::run(&ctx, &args))),
        Command::Token(args) => block_on(interruptible(token::run(&ctx, &args))),
        Command::Status(args) => block_on(interruptible(status::run(&ctx, &args))),
        Command::List(args) => list::run(&ctx, &args),
        Command::Completions(_) | Command::Mcp(_) => unreachable!("handled above"),
        Command::Exec(args) => block_on(exec::run(&ctx, &args)),
        Command::Request(args) => block_on(interruptible(request::run(&ctx, &args))),
        // exec is interruptible until the child runs; then signals go to the child.
        // remove is not: its confirmation prompt blocks, and must keep Ctrl-C's default.
        Command::Remove(args) => block_on(remove::run(&ctx, &args)),
        Command::Connections(args) => block_on(interruptible(connections::run(&ctx, &args))),
        Command::Tools(args) => block_on(interruptible(tools::run(&ctx, args.command))),
        Command::Agent(args) => agent::run(&ctx, &args),
    };
    ctx.bind_if_verified();
    result
}

/// The context from the global options.
fn context(global: &GlobalArgs, out: Output) -> anyhow::Result<Context> {
    let mut ctx = Context::new(
        global.env_file.as_deref(),
        global.config_dir.clone(),
        global.no_input,
        global.http_timeout,
        out,
    )?;
    ctx.no_agent |= global.no_agent;
    Ok(ctx)
}

impl From<QrArgs> for QrChoice {
    fn from(args: QrArgs) -> Self {
        Self {
            always: args.qr,
            never: args.no_qr,
        }
    }
}

/// Ends the command with exit 130 on Ctrl-C, wherever it is: in a request, a retry's backoff,
/// between polls. Without this, a Ctrl-C outside `authorize`'s own wait loop was lost once
/// that loop had installed the SIGINT handler (the tokio handler stays for the whole run),
/// e.g. while `token --wait` fetched the token after the approval. Async commands write no
/// file, so dropping them midway leaves nothing behind. `biased`: a command that handles
/// Ctrl-C itself (the wait clears its spinner) gets to do so first.
pub(crate) async fn interruptible<T>(
    command: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::select! {
        biased;
        result = command => result,
        _ = tokio::signal::ctrl_c() => Err(CliError::interrupted().into()),
    }
}

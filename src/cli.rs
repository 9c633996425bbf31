//! The whole command-line surface: global options, the command enum, one `Args` per command.
//!
//! Doc comments are the help text. Every subcommand's help ends with real examples
//! (`after_help`), which the man pages carry too.

// Doc comments here are help text: Markdown backticks would show up in `--help`.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

/// The exit-code table (a macro so that `concat!` can use it in help texts).
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0    success
  1    any other failure (an unexpected Scalekit answer, I/O)
  2    usage: bad flags, arguments or names; a prompt needed without a terminal
  3    not configured: no credentials, credentials rejected, unknown service, malformed config
  4    authorization required: the account is not ACTIVE, or the wait timed out
  5    Scalekit unreachable: network error, timeout, 429/5xx after retries; safe to retry
  130  interrupted"
    };
}

const ROOT_AFTER_HELP: &str = concat!(
    "Examples:
  scalekit-auth init                          # once: Scalekit credentials
  scalekit-auth config gmail gmail_u3134a     # map a service to a Scalekit connection
  scalekit-auth authorize gmail               # link + QR code; waits for approval
  TOKEN=$(scalekit-auth token gmail)          # a fresh token on stdout, nothing else
  scalekit-auth status --json                 # what is authorized, for scripts

",
    exit_codes!()
);

/// Fresh OAuth access tokens for AI agents and shell scripts, through Scalekit.
///
/// Scalekit stores and refreshes the tokens of your users' Gmail, Slack, GitHub, Notion…
/// accounts; scalekit-auth asks it for the current one every time and never writes a token
/// to disk.
#[derive(Debug, Parser)]
#[command(
    name = "scalekit-auth",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = ROOT_AFTER_HELP,
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Where config.toml and credentials.toml live [default: ~/.config/scalekit-auth]
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "SCALEKIT_AUTH_CONFIG_DIR",
        value_hint = ValueHint::DirPath
    )]
    pub(crate) config_dir: Option<PathBuf>,

    /// A dotenv file to read SCALEKIT_* from [default: ./.env when it exists]; never overrides
    /// variables already set
    #[arg(long, global = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub(crate) env_file: Option<PathBuf>,

    /// Never prompt; a missing answer is an error naming the flag that gives it
    /// (also SCALEKIT_AUTH_NO_INPUT=1, or CI set)
    #[arg(long, global = true)]
    pub(crate) no_input: bool,

    /// One stderr line per HTTP request: method, path, status, milliseconds (never a secret)
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,

    /// No progress or hints on stderr (errors still print)
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,

    /// Colour on stderr: only on a terminal by default, never with NO_COLOR
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub(crate) color: ColorChoice,

    /// Per-request timeout in seconds
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        env = "SCALEKIT_AUTH_HTTP_TIMEOUT",
        default_value_t = 30.0,
        value_parser = parse_positive_secs
    )]
    pub(crate) http_timeout: f64,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Init(InitArgs),
    Config(ConfigArgs),
    Authorize(AuthorizeArgs),
    Token(TokenArgs),
    Status(StatusArgs),
    List(ListArgs),
    Exec(ExecArgs),
    Request(RequestArgs),
    Remove(RemoveArgs),
}

/// Save Scalekit credentials (once per machine)
///
/// Prompts for what no flag or environment variable gives when run at a terminal. The client
/// secret comes from a hidden prompt, --client-secret-stdin or SCALEKIT_CLIENT_SECRET, never
/// from a flag's value. The credentials are checked against Scalekit before anything is written.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth init
  scalekit-auth init --env-url https://acme.scalekit.dev --client-id skc_58327480066375686 \\
      --client-secret-stdin < secret.txt
  scalekit-auth init --import ~/.old-skill/connections.json --import ~/.old-skill/.env")]
pub(crate) struct InitArgs {
    /// Scalekit environment URL (https://, or http:// to a loopback host)
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url)]
    pub(crate) env_url: Option<String>,

    /// Scalekit client ID (skc_…)
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,

    /// Read the client secret from standard input
    #[arg(long)]
    pub(crate) client_secret_stdin: bool,

    /// Default identifier (your user's key in Scalekit) for every service
    #[arg(long, value_name = "ID")]
    pub(crate) identifier: Option<String>,

    /// Import the old helper's connections.json or .env; repeatable
    #[arg(long = "import", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub(crate) imports: Vec<PathBuf>,

    /// Save without checking the credentials against Scalekit
    #[arg(long)]
    pub(crate) no_verify: bool,
}

/// Map a service to a Scalekit connection, or show or remove the mapping
///
/// With a connection name: adds or replaces the mapping (no network). Without one: prints it.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth config gmail gmail_u3134a
  scalekit-auth config slack slack_x7y9z --identifier team-bot
  scalekit-auth config gmail --json
  scalekit-auth config internal internal_api --host api.internal.example.com")]
pub(crate) struct ConfigArgs {
    /// Your name for the service (gmail, slack, github…)
    #[arg(value_name = "SERVICE")]
    pub(crate) service: String,

    /// The connection's name in the Scalekit dashboard (sent to Scalekit as `connector`)
    #[arg(value_name = "CONNECTION_NAME", conflicts_with = "unset")]
    pub(crate) connection_name: Option<String>,

    /// Identifier for this service, overriding the default
    #[arg(long, value_name = "ID", conflicts_with = "unset")]
    pub(crate) identifier: Option<String>,

    /// An API host this service's token may be used for (request, token --for-url), like
    /// api.example.com, *.example.com or slack.com/api; repeatable. Replaces the service's
    /// hosts, and the built-in ones
    #[arg(long = "host", value_name = "HOST", conflicts_with = "unset")]
    pub(crate) hosts: Vec<String>,

    /// Remove the mapping
    #[arg(long)]
    pub(crate) unset: bool,

    /// Print the mapping as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// Authorize a service: print a link (and QR code) and wait until the user approves
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth authorize gmail
  scalekit-auth authorize slack --no-wait --json
  scalekit-auth authorize github --timeout 600 --open
  scalekit-auth authorize gmail --force          # re-authorize an ACTIVE account")]
pub(crate) struct AuthorizeArgs {
    /// The configured service
    #[arg(value_name = "SERVICE")]
    pub(crate) service: String,

    /// Identifier to authorize, overriding the configured one
    #[arg(long, value_name = "ID")]
    pub(crate) identifier: Option<String>,

    /// Print the link and exit 4 without waiting
    #[arg(long)]
    pub(crate) no_wait: bool,

    /// How long to wait for the approval, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,

    #[command(flatten)]
    pub(crate) qr: QrArgs,

    /// Open the link in a browser (only when interactive and not over SSH)
    #[arg(long)]
    pub(crate) open: bool,

    /// Mint a new link even when the account is already ACTIVE
    #[arg(long)]
    pub(crate) force: bool,

    /// One JSON document on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--qr` / `--no-qr`.
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct QrArgs {
    /// Draw the QR code even when stderr is not a terminal
    #[arg(long, conflicts_with = "no_qr")]
    pub(crate) qr: bool,

    /// Never draw the QR code
    #[arg(long)]
    pub(crate) no_qr: bool,
}

/// Print a fresh access token for each service
///
/// Asks Scalekit for the current token on every call; nothing is cached. When a service needs
/// authorization: at a terminal (or with --wait) runs the authorize flow first; otherwise exits
/// 4 at once with the link on stderr.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  TOKEN=$(scalekit-auth token gmail)
  curl -H \"$(scalekit-auth token --header --for-url https://api.github.com/user)\" \\
      https://api.github.com/user
  eval \"$(scalekit-auth token gmail slack --env)\"
  scalekit-auth token gmail --json || scalekit-auth authorize gmail --no-wait --json")]
pub(crate) struct TokenArgs {
    /// Configured services, printed in this order
    #[arg(value_name = "SERVICE", required_unless_present = "for_url")]
    pub(crate) services: Vec<String>,

    /// The token for this API URL: picks the configured service that serves its host (or
    /// checks that the one SERVICE given does)
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url)]
    pub(crate) for_url: Option<String>,

    /// Ask again (once, after a short pause) when a token expires within SECS; still too
    /// soon: exit 4. 0 refuses only an already expired token
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub(crate) min_ttl: u64,

    /// Identifier, overriding the configured one
    #[arg(long, value_name = "ID")]
    pub(crate) identifier: Option<String>,

    #[command(flatten)]
    pub(crate) format: TokenFormat,

    /// Run the authorize flow when a service needs it, even when not interactive
    #[arg(long)]
    pub(crate) wait: bool,

    /// How long --wait (or an interactive authorization) waits, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,

    #[command(flatten)]
    pub(crate) qr: QrArgs,
}

/// How `token` prints: raw (default), JSON, an HTTP header or an env assignment.
#[derive(Debug, Args, Clone, Copy)]
#[group(multiple = false)]
pub(crate) struct TokenFormat {
    /// One JSON object per service (an array for several)
    #[arg(long)]
    pub(crate) json: bool,

    /// Print `Authorization: Bearer <token>`
    #[arg(long)]
    pub(crate) header: bool,

    /// Print `SERVICE_ACCESS_TOKEN=<token>`
    #[arg(long)]
    pub(crate) env: bool,
}

/// Check the credentials and each service's authorization state
///
/// Never pulls a token. Exit 0 when the credentials are valid and every listed service is
/// ACTIVE; 4 when one needs authorization; 3 for missing or rejected credentials; 5 when
/// Scalekit cannot be reached.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth status
  scalekit-auth status gmail slack
  scalekit-auth status gmail --all-identities
  scalekit-auth status --json | jq '.services[] | select(.status != \"ACTIVE\")'")]
pub(crate) struct StatusArgs {
    /// Services to check [default: every configured one]
    #[arg(value_name = "SERVICE")]
    pub(crate) services: Vec<String>,

    /// Check this identifier's accounts instead of the configured ones
    #[arg(long, value_name = "ID")]
    pub(crate) identifier: Option<String>,

    /// Every connected account of each service's connection, one row per identifier
    /// (GET /api/v1/connected_accounts?connector=…, every page)
    #[arg(long, conflicts_with = "identifier")]
    pub(crate) all_identities: bool,

    /// One JSON document on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// List configured services, or the connected accounts in Scalekit
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth list
  scalekit-auth list --json
  scalekit-auth list --remote
  scalekit-auth list --remote --identifier mess --json")]
pub(crate) struct ListArgs {
    /// A JSON array on stdout
    #[arg(long)]
    pub(crate) json: bool,

    /// List the connected accounts in Scalekit (every page)
    #[arg(long)]
    pub(crate) remote: bool,

    /// With --remote: only this identifier's accounts
    #[arg(long, value_name = "ID", requires = "remote")]
    pub(crate) identifier: Option<String>,
}

/// Run a command with fresh tokens in its environment, never on its command line
///
/// Fetches each service's token (concurrently, like token) and runs CMD with it in the
/// environment: GMAIL_ACCESS_TOKEN for gmail (the service upper-cased, - as _, then
/// _ACCESS_TOKEN), GITHUB_TOKEN for github, or the name --env-name gives. Nothing is printed:
/// the token is on no command line, stdout or stderr. Exits with CMD's exit code: 128+N when
/// it dies of signal N, 127 when it is not found, 126 when it cannot be run. SIGINT, SIGTERM
/// and SIGHUP are forwarded to it. When a service needs authorization: at a terminal (or with
/// --wait) runs the authorize flow first; otherwise exits 4 with the link, and CMD never runs.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth exec github -- gh repo list
  scalekit-auth exec gmail -- python3 fetch_mail.py
  scalekit-auth exec gmail slack --env-name slack=SLACK_BOT_TOKEN -- ./digest.sh
  scalekit-auth exec gmail --min-ttl 600 -- ./long-job.sh   # a token good for 10 minutes")]
pub(crate) struct ExecArgs {
    /// Configured services whose tokens CMD gets
    #[arg(value_name = "SERVICE", required = true)]
    pub(crate) services: Vec<String>,

    /// The variable that holds a service's token, e.g. slack=SLACK_BOT_TOKEN; repeatable
    #[arg(long = "env-name", value_name = "SERVICE=VAR")]
    pub(crate) env_names: Vec<String>,

    /// Identifier, overriding the configured one
    #[arg(long, value_name = "ID")]
    pub(crate) identifier: Option<String>,

    /// Ask again (once, after a short pause) when a token expires within SECS; still too
    /// soon: exit 4 without running CMD
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub(crate) min_ttl: u64,

    #[command(flatten)]
    pub(crate) auth: WaitArgs,

    /// The command to run and its arguments, after --
    #[arg(last = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
}

/// Make one HTTP call with a service's token, through Scalekit's proxy
///
/// The token never reaches this machine: Scalekit adds the connected account's credentials and
/// forwards the call to the provider's API. PATH_OR_URL is the API's path
/// (/gmail/v1/users/me/profile?maxResults=5) or a full URL, whose host must be one of the
/// service's (built-in for well-known providers, or set with config --host); given a full URL,
/// SERVICE can be left out and is picked by the host. The answer's body goes to stdout as it
/// is. Exit 0 for a 2xx answer; 1 for any other, after printing its body (with --fail: nothing
/// on stdout). GET, HEAD, OPTIONS, PUT and DELETE are retried like every request; POST and
/// PATCH are sent exactly once.
#[derive(Debug, Args)]
#[command(
    override_usage = "scalekit-auth request [OPTIONS] [SERVICE] <METHOD> <PATH_OR_URL>",
    after_help = "\
Examples:
  scalekit-auth request gmail GET /gmail/v1/users/me/profile
  scalekit-auth request GET https://api.github.com/user
  scalekit-auth request slack POST /api/chat.postMessage -H 'Content-Type: application/json' \\
      --data '{\"channel\": \"C0123\", \"text\": \"hello\"}'
  scalekit-auth request notion PATCH /v1/pages/$PAGE_ID --data @page.json --fail"
)]
pub(crate) struct RequestArgs {
    /// The configured service; may be left out when PATH_OR_URL is a full URL (it is then
    /// picked by the URL's host)
    #[arg(value_name = "SERVICE")]
    pub(crate) service: Option<String>,

    /// GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS
    #[arg(value_name = "METHOD")]
    pub(crate) method: Option<String>,

    /// The API's path and query (/gmail/v1/users/me/profile?maxResults=5), or a full URL
    #[arg(value_name = "PATH_OR_URL")]
    pub(crate) location: Option<String>,

    /// A request header, 'Name: value'; repeatable. Not Authorization: Scalekit adds it
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub(crate) headers: Vec<String>,

    /// The request body: the text itself, @FILE, or @- for stdin. Sent as
    /// application/json unless a Content-Type header is given
    #[arg(short, long, value_name = "BODY")]
    pub(crate) data: Option<String>,

    /// On a non-2xx answer, print nothing on stdout (the error goes to stderr; exit 1)
    #[arg(short, long)]
    pub(crate) fail: bool,

    /// Identifier, overriding the configured one
    #[arg(long, value_name = "ID")]
    pub(crate) identifier: Option<String>,

    #[command(flatten)]
    pub(crate) auth: WaitArgs,
}

/// Forget a service's mapping; with --disconnect, also delete its connected account in Scalekit
///
/// --disconnect deletes the account in Scalekit first (after a confirmation at a terminal;
/// --yes skips it, and is required when not interactive), then forgets the mapping only if the
/// delete worked (an account that is already gone counts). With --identifier, only that
/// identity's account is deleted and the mapping stays.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  scalekit-auth remove slack
  scalekit-auth remove gmail --disconnect
  scalekit-auth remove gmail --disconnect --yes
  scalekit-auth remove gmail --disconnect --identifier alice@acme.dev --yes")]
pub(crate) struct RemoveArgs {
    /// The configured service
    #[arg(value_name = "SERVICE")]
    pub(crate) service: String,

    /// Also delete the connected account in Scalekit (the user must authorize again)
    #[arg(long)]
    pub(crate) disconnect: bool,

    /// With --disconnect: delete this identifier's account only, and keep the mapping
    #[arg(long, value_name = "ID", requires = "disconnect")]
    pub(crate) identifier: Option<String>,

    /// Do not ask for confirmation
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// `--wait`, `--timeout` and the QR code, for commands that may need an authorization first.
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct WaitArgs {
    /// Run the authorize flow when a service needs it, even when not interactive
    #[arg(long)]
    pub(crate) wait: bool,

    /// How long --wait (or an interactive authorization) waits, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,

    #[command(flatten)]
    pub(crate) qr: QrArgs,
}

fn parse_positive_secs(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => Ok(secs),
        _ => Err(format!(
            "expected a number of seconds between 0 and 86400, got {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

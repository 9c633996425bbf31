//! The `request` command's arguments (cli.rs holds the rest of the surface).

// Doc comments here are help text: Markdown backticks would show up in `--help`.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, ValueHint};
use clap_complete::engine::ArgValueCandidates;

use super::WaitArgs;

/// Make one HTTP call with a service's token, through Scalekit's proxy
///
/// The token never reaches this machine: Scalekit adds the connected account's credentials and
/// forwards the call to the provider's API. PATH_OR_URL is the API's path
/// (/gmail/v1/users/me/profile?maxResults=5) or a full https:// URL, whose host must be one of the
/// service's (built-in for well-known providers, or set with config --host); given a full URL,
/// SERVICE can be left out and is picked by the host. The answer's body goes to stdout as it
/// is. Exit 0 for a 2xx answer; 1 for any other, after printing its body (with --fail: nothing
/// on stdout). GET, HEAD, OPTIONS and PUT are retried like every request; POST, PATCH and DELETE
/// are sent once: when one may have been received and no answer came back, exit 1 (never 5, as
/// sending it again is not known to be safe).
#[derive(Debug, Args)]
#[command(
    override_usage = "scalekit-auth request [OPTIONS] [SERVICE] <METHOD> <PATH_OR_URL>",
    after_help = "\
Examples:
  scalekit-auth request gmail GET /gmail/v1/users/me/messages --query 'q=from:me is:unread'
  scalekit-auth request GET https://api.github.com/user --json
  scalekit-auth request notion PATCH /v1/pages/$PAGE_ID --data @page.json --fail
  scalekit-auth request slack POST /api/files.upload -F file=@report.pdf -o answer.json"
)]
pub(crate) struct RequestArgs {
    /// The configured service; may be left out when PATH_OR_URL is a full URL (it is then
    /// picked by the URL's host)
    #[arg(value_name = "SERVICE", add = ArgValueCandidates::new(super::candidates::service_candidates))]
    pub(crate) service: Option<String>,

    /// GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS
    #[arg(value_name = "METHOD")]
    pub(crate) method: Option<String>,

    /// The API's path and query (/gmail/v1/users/me/profile?maxResults=5), or a full https:// URL
    #[arg(value_name = "PATH_OR_URL")]
    pub(crate) location: Option<String>,

    /// A request header, 'Name: value'; repeatable. Not Authorization: Scalekit adds it
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub(crate) headers: Vec<String>,

    /// The request body: the text itself, @FILE, or @- for stdin. Sent as
    /// application/json unless a Content-Type header is given
    #[arg(short, long, value_name = "BODY")]
    pub(crate) data: Option<String>,

    /// A multipart form field, NAME=VALUE or NAME=@FILE[;type=MIME][;filename=NAME]; repeatable
    #[arg(
        short = 'F',
        long = "form",
        value_name = "FIELD",
        conflicts_with = "data"
    )]
    pub(crate) form: Vec<String>,

    /// A query parameter, NAME=VALUE, percent-encoded and added to the path's query; repeatable
    #[arg(short = 'G', long = "query", value_name = "PARAM")]
    pub(crate) query: Vec<String>,

    /// Write the answer's body to FILE (streamed, no size limit; FILE appears only when the
    /// answer arrived whole)
    #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub(crate) output: Option<PathBuf>,

    /// Show the status line and headers on stdout before the body
    #[arg(short, long, conflicts_with = "json")]
    pub(crate) include: bool,

    /// Print one JSON document: status, headers and body (base64 when it is not UTF-8)
    #[arg(long)]
    pub(crate) json: bool,

    /// On a non-2xx answer, print nothing on stdout (the error goes to stderr; exit 1)
    #[arg(short, long)]
    pub(crate) fail: bool,

    /// Identifier, overriding the configured one
    #[arg(long, value_name = "ID")]
    pub(crate) identifier: Option<String>,

    #[command(flatten)]
    pub(crate) auth: WaitArgs,
}

//! What `request` prints of the provider's answer: the body as it is, `-i`'s status line and
//! headers before it, `--json`'s document, or `-o`'s file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Version};
use serde::Serialize;

use super::Target;
use crate::cli::RequestArgs;
use crate::commands::Context;
use crate::error::{CliError, ExitStatus, Partial};
use crate::output::safe;
use crate::scalekit::ProxyAnswer;

/// `-o FILE`: a temporary file in FILE's directory that the answer streams into, renamed over
/// FILE only once the answer is whole. Dropped without that (an error, a refusal, `--fail`
/// on a non-2xx), it is removed and FILE is left as it was.
pub(super) struct Output {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl Output {
    pub(super) fn new(dest: &Path) -> Result<Self, CliError> {
        let shown = safe::line(&dest.display().to_string()).into_owned();
        let cannot = |why: String| CliError::usage(format!("cannot write {shown}: {why}"));
        if dest.is_dir() {
            return Err(cannot("it is a directory".into()));
        }
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".scalekit-auth-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| cannot(e.to_string()))?;
        Ok(Self {
            temp,
            dest: dest.to_owned(),
        })
    }

    pub(super) fn file(&self) -> &std::fs::File {
        self.temp.as_file()
    }

    /// FILE as given, made safe to show.
    pub(super) fn shown(&self) -> String {
        safe::line(&self.dest.display().to_string()).into_owned()
    }

    fn persist(self) -> Result<PathBuf, CliError> {
        let dest = self.dest;
        self.temp.persist(&dest).map_err(|e| {
            let shown = safe::line(&dest.display().to_string()).into_owned();
            CliError::failed(format!("cannot write {shown}: {}", e.error))
        })?;
        Ok(dest)
    }
}

/// Prints the provider's answer (not for a non-2xx with `--fail`), and for a non-2xx an error
/// on stderr; exit 0 for 2xx, else 1.
pub(super) fn relay(
    ctx: &Context,
    args: &RequestArgs,
    method: &Method,
    path: &str,
    target: &Target,
    answer: &ProxyAnswer,
    output: Option<Output>,
) -> anyhow::Result<ExitStatus> {
    let success = answer.status.is_success();
    if success || !args.fail {
        let written = output.map(Output::persist).transpose()?;
        if args.json {
            ctx.out.json(&document(answer, written.as_deref()))?;
        } else {
            if args.include {
                ctx.out.raw(head(answer).as_bytes())?;
            }
            if written.is_none() {
                ctx.out.raw(&answer.body)?;
            }
        }
    }
    if success {
        return Ok(ExitStatus::Success);
    }
    let mut err = CliError::failed(format!(
        "{method} {path} answered {} ({}'s API, through Scalekit's proxy)",
        answer.status, target.service
    ));
    if answer.status == StatusCode::UNAUTHORIZED {
        err = err.with_hint(format!(
            "the provider rejected the account's credentials; re-authorize: scalekit-auth \
             authorize {} --force",
            target.service
        ));
    }
    if args.fail {
        // Nothing on stdout: main prints the error (as a JSON error document with --json).
        return Err(err.into());
    }
    // The answer (or its --json document) is on stdout already: the error follows on stderr
    // only, and stdout keeps exactly one document.
    Err(Partial::of(vec![err]).into())
}

/// `-i`: the status line and headers as curl shows them, CRLF-terminated, ending with an
/// empty line. Header values come from outside: control characters are made visible.
fn head(answer: &ProxyAnswer) -> String {
    let version = match answer.version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    };
    let mut text = format!("{version} {}", answer.status.as_u16());
    if let Some(reason) = answer.status.canonical_reason() {
        text.push(' ');
        text.push_str(reason);
    }
    text.push_str("\r\n");
    for (name, value) in &answer.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        text.push_str(&format!("{name}: {}\r\n", safe::line(&value)));
    }
    text.push_str("\r\n");
    text
}

/// `--json`: `{"status","headers","body","body_base64"}`; the body as text, or base64 with
/// `body_base64: true` when it is not UTF-8. With `-o`, `body` is null and `output` and
/// `size` say where the body went. Fields in alphabetical order, the order the keys have
/// always had.
#[derive(Serialize)]
struct Document {
    body: Option<String>,
    body_base64: bool,
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    status: u16,
}

fn document(answer: &ProxyAnswer, written: Option<&Path>) -> Document {
    let mut doc = Document {
        body: None,
        body_base64: false,
        headers: headers_map(&answer.headers),
        output: None,
        size: None,
        status: answer.status.as_u16(),
    };
    if let Some(dest) = written {
        doc.output = Some(dest.to_string_lossy().into_owned());
        doc.size = Some(answer.size);
    } else if let Ok(text) = std::str::from_utf8(&answer.body) {
        doc.body = Some(text.to_owned());
    } else {
        doc.body = Some(base64::engine::general_purpose::STANDARD.encode(&answer.body));
        doc.body_base64 = true;
    }
    doc
}

/// Header names (lower-case) to values; a repeated header's values joined with `, `.
fn headers_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        map.entry(name.as_str().to_owned())
            .and_modify(|existing: &mut String| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert_with(|| value.clone().into_owned());
    }
    map
}

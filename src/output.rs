//! Where things are shown: data on stdout; prompts, links, QR codes, spinners, hints,
//! warnings and errors on stderr. Colour, `--quiet` and `--verbose` are decided here.
//!
//! Every message for people goes through [`shown`]: secrets this run has seen are redacted and
//! control characters made visible ([`safe`]), so no server text reaches the terminal raw.

mod qr;
pub(crate) mod safe;

pub(crate) use qr::render_qr;

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use console::style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::{CliError, ErrorKind};
use crate::scalekit::{Observer, RequestEvent};
use crate::secret;

/// How often the spinner redraws.
const SPINNER_TICK: Duration = Duration::from_millis(120);

/// The terminal side of a run.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    quiet: bool,
    verbose: bool,
    stderr_is_terminal: bool,
}

impl Output {
    /// Decides colour once for the process: `color` is `--color always` (`Some(true)`) or
    /// `never` (`Some(false)`), which beat `NO_COLOR`; `auto` (`None`) means "stderr is a
    /// terminal and `NO_COLOR` is unset or empty".
    pub(crate) fn new(quiet: bool, verbose: bool, color: Option<bool>, no_color_env: bool) -> Self {
        let stderr_is_terminal = io::stderr().is_terminal();
        let colour = color.unwrap_or(stderr_is_terminal && !no_color_env);
        console::set_colors_enabled_stderr(colour);
        console::set_colors_enabled(colour && io::stdout().is_terminal());
        Self {
            quiet,
            verbose,
            stderr_is_terminal,
        }
    }

    /// Whether stderr is a terminal (spinners, the default for QR codes).
    pub(crate) fn stderr_is_terminal(&self) -> bool {
        self.stderr_is_terminal
    }

    /// Whether progress and hints are suppressed.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Writes data lines to stdout. A closed pipe surfaces as `io::ErrorKind::BrokenPipe`,
    /// which `main` turns into a quiet exit.
    pub(crate) fn data(&self, text: &str) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            stdout.write_all(b"\n")?;
        }
        stdout.flush()
    }

    /// Writes bytes to stdout exactly as they are (an API's answer relayed by `request`).
    pub(crate) fn raw(&self, bytes: &[u8]) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    /// Writes one JSON document to stdout.
    pub(crate) fn json(&self, value: &impl serde::Serialize) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.data(&text)
    }

    /// A progress or result message for people (suppressed by `--quiet`).
    pub(crate) fn info(&self, message: &str) {
        if !self.quiet {
            to_stderr(&format!("{}\n", shown(message)));
        }
    }

    /// A success line, e.g. "gmail authorized".
    pub(crate) fn success(&self, message: &str) {
        if !self.quiet {
            to_stderr(&format!(
                "{} {}\n",
                style("✓").green().for_stderr(),
                shown(message)
            ));
        }
    }

    /// A warning (suppressed by `--quiet`).
    pub(crate) fn warn(&self, message: &str) {
        if !self.quiet {
            to_stderr(&format!(
                "{} {}\n",
                style("warning:").yellow().bold().for_stderr(),
                shown(message)
            ));
        }
    }

    /// A `hint: …` line (suppressed by `--quiet`).
    pub(crate) fn hint(&self, message: &str) {
        if !self.quiet {
            to_stderr(&format!(
                "{} {}\n",
                style("hint:").cyan().for_stderr(),
                shown(message)
            ));
        }
    }

    /// A block of lines that is the point of the command (the magic link, its QR code):
    /// printed even with `--quiet`, each line through [`shown`]. Callers pass outside values
    /// through [`safe::line`] first, so that a newline inside one cannot forge a line.
    pub(crate) fn notice(&self, text: &str) {
        let mut block = String::with_capacity(text.len());
        for line in text.lines() {
            block.push_str(&shown(line));
            block.push('\n');
        }
        to_stderr(&block);
    }

    /// A block that replaces the one shown before it (a re-minted link): on a terminal, the
    /// `previous` block's rows are erased first (cursor up, clear to the end of the screen),
    /// so the screen holds one link, not a stack of them. Returns the rows this block takes,
    /// to erase it in turn; `None` (nothing is ever erased) when stderr is not a terminal or
    /// with `--verbose`.
    /// The caller makes sure nothing else was printed below the previous block.
    pub(crate) fn replace_notice(&self, previous: Option<usize>, text: &str) -> Option<usize> {
        // `--verbose` prints a line per request between the blocks: nothing to erase safely.
        if !self.stderr_is_terminal || self.verbose {
            self.notice(text);
            return None;
        }
        let columns = console::Term::stderr()
            .size_checked()
            .map_or(80, |(_, cols)| usize::from(cols).max(1));
        let mut block = String::with_capacity(text.len() + 16);
        if let Some(rows) = previous.filter(|r| *r > 0) {
            block.push_str(&format!("\x1b[{rows}A\r\x1b[J"));
        }
        let mut rows = 0;
        for line in text.lines() {
            let line = shown(line);
            rows += console::measure_text_width(&line).div_ceil(columns).max(1);
            block.push_str(&line);
            block.push('\n');
        }
        to_stderr(&block);
        Some(rows)
    }

    /// An error: `error: …`, its detail lines (each indented by two spaces and through
    /// [`shown`] on its own, so a newline inside one cannot forge a line), the magic link
    /// when there is one, then `hint: …`. Always printed; every part through [`shown`].
    /// Only `main.rs` prints errors: commands return them.
    pub(crate) fn error(&self, err: &CliError) {
        let mut text = format!(
            "{} {}\n",
            style("error:").red().bold().for_stderr(),
            shown(&err.message)
        );
        for detail in &err.details {
            text.push_str(&format!("  {}\n", shown(detail)));
        }
        if let Some(link) = &err.link {
            let expiry = link
                .expires_at
                .as_deref()
                .map(|t| format!(" (expires {})", shown(t)))
                .unwrap_or_default();
            text.push_str(&format!(
                "  open this link to approve{expiry}:\n  {}\n",
                shown(&link.link)
            ));
        }
        if let Some(hint) = &err.hint {
            text.push_str(&format!(
                "{} {}\n",
                style("hint:").cyan().for_stderr(),
                shown(hint)
            ));
        }
        // One write, so that concurrent output cannot interleave inside an error.
        to_stderr(&text);
    }

    /// The `--verbose` observer: one stderr line per HTTP attempt, never a query or a body.
    pub(crate) fn request_observer(&self) -> Option<Observer> {
        if !self.verbose {
            return None;
        }
        Some(Arc::new(|event: &RequestEvent| {
            let status = match (event.status, &event.error) {
                (Some(status), _) => status.to_string(),
                (None, Some(error)) => format!("({error})"),
                (None, None) => "(no answer)".to_owned(),
            };
            let line = format!(
                "{} {} {} {}ms",
                event.method,
                event.path,
                status,
                event.elapsed.as_millis()
            );
            to_stderr(&format!(
                "{} {}\n",
                style("http:").dim().for_stderr(),
                shown(&line)
            ));
        }))
    }

    /// A spinner on stderr, or nothing when stderr is not a terminal or `--quiet` is set.
    pub(crate) fn spinner(&self) -> Option<ProgressBar> {
        if self.quiet || !self.stderr_is_terminal {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(SPINNER_TICK);
        Some(bar)
    }
}

/// Writes to stderr in one call. A closed or full stderr loses the message rather than
/// panicking as `eprintln!` would: the exit code still tells.
fn to_stderr(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// What people see of a message: secrets this run has seen redacted, then control characters
/// made visible, on one line.
pub(crate) fn shown(text: &str) -> String {
    safe::line(&secret::redact(text)).into_owned()
}

/// A plain aligned table: a header row, then the rows; columns separated by two spaces.
/// Every cell goes through [`safe::line`]: cells come from config.toml and Scalekit.
pub(crate) fn format_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| row.clone().map(|cell| safe::line(&cell).into_owned()))
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// Whether we run inside an SSH session (then a local browser is not the user's).
pub(crate) fn over_ssh(env: &crate::config::Env) -> bool {
    ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"]
        .iter()
        .any(|k| env.get(k).is_some())
}

/// Opens a URL in the user's browser. The opener runs in its own process group, so the
/// terminal's hangup when we exit does not kill it, and we give it a moment to hand the URL
/// over (`xdg-open` and `open` return once the browser has it). Failure is reported, never
/// fatal.
pub(crate) fn open_in_browser(url: &str) -> io::Result<()> {
    const HANDOVER: Duration = Duration::from_secs(2);
    let mut cmd = opener();
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let started = std::time::Instant::now();
    while started.elapsed() < HANDOVER {
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The platform's opener, to which the link is then given as one argument that no shell
/// parses (SECURITY.md, "Opening links"). On Windows that is `rundll32`'s URL handler, not
/// `cmd /C start`, where `&` in a link would run a command.
fn opener() -> std::process::Command {
    #[cfg(windows)]
    {
        let mut cmd = std::process::Command::new("rundll32.exe");
        cmd.arg("url.dll,FileProtocolHandler");
        cmd
    }
    #[cfg(target_os = "macos")]
    {
        std::process::Command::new("open")
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        std::process::Command::new("xdg-open")
    }
}

/// The `--json` error document: `{"error": {"code", "message", "hint"[, "link",
/// "link_expires_at"][, "execution_id"]}}`. Secrets this run has seen are redacted from the
/// message and hint; nothing else is changed (serde escapes control characters).
#[derive(Serialize)]
pub(crate) struct ErrorDoc<'a> {
    pub(crate) error: ErrorBody<'a>,
}

/// The inside of [`ErrorDoc`]. Fields in alphabetical order, the order the keys have always
/// had; a flattened `None` leaves its keys out.
#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    code: &'static str,
    /// `tool_failed` only.
    #[serde(flatten)]
    execution: Option<ExecutionDoc<'a>>,
    hint: Option<String>,
    /// `authorization_required` only.
    #[serde(flatten)]
    link: Option<LinkDoc<'a>>,
    message: String,
}

/// The tool execution a `tool_failed` error is about (`null` when Scalekit named none).
#[derive(Serialize)]
struct ExecutionDoc<'a> {
    execution_id: Option<&'a str>,
}

/// The magic link of an error or of `authorize --json` (`null`s when there is none).
#[derive(Serialize)]
pub(crate) struct LinkDoc<'a> {
    pub(crate) link: Option<&'a str>,
    pub(crate) link_expires_at: Option<String>,
}

impl<'a> ErrorDoc<'a> {
    /// The document for `err`, redacted.
    pub(crate) fn new(err: &'a CliError) -> Self {
        let auth = err.kind == ErrorKind::AuthorizationRequired;
        let link = err.link.as_deref();
        Self {
            error: ErrorBody {
                code: err.kind.json_code(),
                execution: (err.kind == ErrorKind::ToolFailed).then_some(ExecutionDoc {
                    execution_id: err.execution_id.as_deref(),
                }),
                hint: err.hint.as_deref().map(secret::redact),
                link: auth.then_some(LinkDoc {
                    link: link.map(|l| l.link.as_str()),
                    link_expires_at: link.and_then(|l| l.expires_at.clone()),
                }),
                message: secret::redact(&err.message),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{format_table, render_qr, shown};

    #[test]
    fn table_aligns_columns() {
        let t = format_table(
            &["A", "BB"],
            &[["xxx".into(), "y".into()], ["z".into(), String::new()]],
        );
        assert_eq!(t, "A    BB\nxxx  y\nz\n");
    }

    #[test]
    fn table_cells_and_messages_show_controls() {
        let t = format_table(
            &["A", "B"],
            &[["a\u{1b}]0;pwned\u{7}".into(), "b\nc".into()]],
        );
        assert_eq!(t, "A                B\na\\e]0;pwned\\x07  b\\nc\n");
        let _ = crate::secret::Secret::new("shown-HIDDEN-secret");
        assert_eq!(shown("x shown-HIDDEN-secret\r\n"), "x [redacted]\\r\\n");
    }

    #[test]
    fn the_opener_is_no_shell() {
        let cmd = super::opener();
        let program = cmd.get_program().to_string_lossy().to_ascii_lowercase();
        for shell in ["cmd", "cmd.exe", "sh", "bash", "powershell"] {
            assert_ne!(program, shell);
        }
        #[cfg(windows)]
        assert_eq!(program, "rundll32.exe");
    }

    #[test]
    fn qr_uses_half_blocks_and_a_quiet_zone() {
        let qr = render_qr("http://127.0.0.1:8787/magicLink/2cbe56de-eec4-41d2-abed-90a5b82286c4")
            .unwrap();
        let lines: Vec<&str> = qr.lines().collect();
        // The quiet zone is light, drawn as full blocks: the first row is all glyphs.
        assert!(lines[0].chars().all(|c| c == '█'), "{}", lines[0]);
        assert!(
            qr.chars()
                .all(|c| matches!(c, '█' | '▀' | '▄' | ' ' | '\n'))
        );
    }
}

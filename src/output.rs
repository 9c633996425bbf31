//! Where things are shown: data on stdout; prompts, links, QR codes, spinners, hints,
//! warnings and errors on stderr. Colour, `--quiet` and `--verbose` are decided here.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use console::style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use crate::cli::ColorChoice;
use crate::error::{CliError, ErrorKind};
use crate::scalekit::{Observer, RequestEvent};

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
    /// Decides colour once for the process: `--color always` beats `NO_COLOR`; `auto` means
    /// "stderr is a terminal and `NO_COLOR` is unset or empty".
    pub(crate) fn new(quiet: bool, verbose: bool, color: ColorChoice, no_color_env: bool) -> Self {
        let stderr_is_terminal = io::stderr().is_terminal();
        let colour = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stderr_is_terminal && !no_color_env,
        };
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
    pub(crate) fn json(&self, value: &serde_json::Value) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.data(&text)
    }

    /// A progress or result message for people (suppressed by `--quiet`).
    pub(crate) fn info(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// A success line, e.g. "gmail authorized".
    pub(crate) fn success(&self, message: &str) {
        if !self.quiet {
            eprintln!("{} {message}", style("✓").green().for_stderr());
        }
    }

    /// A warning (suppressed by `--quiet`).
    pub(crate) fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!(
                "{} {message}",
                style("warning:").yellow().bold().for_stderr()
            );
        }
    }

    /// A `hint: …` line (suppressed by `--quiet`).
    pub(crate) fn hint(&self, message: &str) {
        if !self.quiet {
            eprintln!("{} {message}", style("hint:").cyan().for_stderr());
        }
    }

    /// An error: `error: …`, the magic link when there is one, then `hint: …`. Always printed.
    pub(crate) fn error(&self, err: &CliError) {
        let mut text = format!(
            "{} {}\n",
            style("error:").red().bold().for_stderr(),
            err.message
        );
        if let Some(link) = &err.link {
            let expiry = link
                .expires_at
                .as_deref()
                .map(|t| format!(" (expires {t})"))
                .unwrap_or_default();
            text.push_str(&format!(
                "  open this link to approve{expiry}:\n  {}\n",
                link.link
            ));
        }
        if let Some(hint) = &err.hint {
            text.push_str(&format!("{} {hint}\n", style("hint:").cyan().for_stderr()));
        }
        // One write, so that concurrent output cannot interleave inside an error.
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }

    /// The `--json` error document: `{"error": {"code", "message", "hint"[, "link", "link_expires_at"]}}`.
    pub(crate) fn error_json(err: &CliError) -> serde_json::Value {
        let mut obj = serde_json::json!({
            "code": err.kind.json_code(),
            "message": err.message,
            "hint": err.hint,
        });
        if err.kind == ErrorKind::AuthorizationRequired {
            obj["link"] = err.link.as_ref().map(|l| l.link.clone()).into();
            obj["link_expires_at"] = err.link.as_ref().and_then(|l| l.expires_at.clone()).into();
        }
        if err.kind == ErrorKind::ToolFailed {
            obj["execution_id"] = err.execution_id.as_deref().into();
        }
        serde_json::json!({ "error": obj })
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
            eprintln!(
                "{} {} {} {} {}ms",
                style("http:").dim().for_stderr(),
                event.method,
                event.path,
                status,
                event.elapsed.as_millis()
            );
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

/// Renders `text` as a terminal QR code: Unicode half-blocks (two modules per character
/// cell) with a four-module quiet zone. Light modules are drawn as glyphs, as `qrencode -t
/// UTF8` does, so that the code reads as dark-on-light on the usual light-on-dark terminal.
pub(crate) fn render_qr(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
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
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
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

/// An outside string (a name, a status, a description Scalekit sent) as it may be shown on a
/// terminal: control characters made visible (`\e`, `\x07`, `\r`…), never sent raw.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{1b}' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) <= 0xff && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that reorder the text around them (Trojan Source).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::render_qr;

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

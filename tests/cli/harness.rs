//! The test harness: a clean environment per test (temp HOME and config dir, no `SCALEKIT_*`,
//! `NO_COLOR=1`), the real binary, and an emulator on `127.0.0.1:0`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use scalekit_emulator::{Emulator, LoggedRequest, Options, SeedAccount};
use tempfile::TempDir;

/// One test's world.
pub(crate) struct World {
    pub(crate) emu: Emulator,
    pub(crate) home: TempDir,
    /// The working directory of every run (holds no `.env` unless a test writes one).
    pub(crate) cwd: PathBuf,
    pub(crate) config_dir: PathBuf,
    /// Extra environment for every run.
    pub(crate) env: BTreeMap<String, String>,
}

/// What a run produced.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// stdout parsed as one JSON document.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// `SCALEKIT_AUTH_POLL_INTERVAL_MS` for every run: a wait for approval asks every 100 ms
/// instead of every 2 s (the testing knob of README's "Environment").
pub(crate) const POLL_INTERVAL_MS: &str = "100";

pub(crate) const SECRET: &str = "emulator-secret-Zq8Xw";
pub(crate) const CLIENT_ID: &str = "skc_58327480066375686";

impl World {
    /// A world with an emulator and nothing configured.
    pub(crate) fn new() -> Self {
        Self::with_options(Options::default())
    }

    pub(crate) fn with_options(mut options: Options) -> Self {
        options.client_id = CLIENT_ID.into();
        options.client_secret = SECRET.into();
        let emu = Emulator::start(options).expect("the emulator starts");
        let home = tempfile::tempdir().expect("tempdir");
        let cwd = home.path().join("work");
        std::fs::create_dir_all(&cwd).unwrap();
        let config_dir = home.path().join("config").join("scalekit-auth");
        Self {
            emu,
            home,
            cwd,
            config_dir,
            env: BTreeMap::new(),
        }
    }

    /// A world with credentials saved by `init` and the given service mappings; the
    /// emulator's request log is cleared afterwards.
    pub(crate) fn configured(services: &[(&str, &str)]) -> Self {
        let w = Self::new();
        w.init();
        for (service, connection) in services {
            w.run(&["config", service, connection]).assert_code(0);
        }
        w.emu.clear_requests();
        w
    }

    /// Runs `init` non-interactively with the emulator's credentials and identifier `mess`.
    pub(crate) fn init(&self) {
        self.run_stdin(
            &[
                "init",
                "--env-url",
                &self.emu.url(),
                "--client-id",
                CLIENT_ID,
                "--client-secret-stdin",
                "--identifier",
                "mess",
            ],
            SECRET,
        )
        .assert_code(0);
    }

    /// Points every run at `url` through the environment, with the client secret beside it:
    /// the secret saved by `init` is sent only to the URL it was saved with, so a test that
    /// talks to another server gives that server the secret the way a user would.
    pub(crate) fn redirect(&mut self, url: &str) {
        self.env.insert("SCALEKIT_ENV_URL".into(), url.into());
        self.env
            .insert("SCALEKIT_CLIENT_SECRET".into(), SECRET.into());
    }

    /// Seeds an ACTIVE OAuth account and returns its access token.
    pub(crate) fn seed_active(&self, connector: &str, identifier: &str) -> String {
        self.emu.seed(SeedAccount {
            connector: connector.into(),
            identifier: identifier.into(),
            ..SeedAccount::default()
        });
        self.access_token(connector, identifier)
    }

    /// The account's current access token, read from the emulator's state.
    pub(crate) fn access_token(&self, connector: &str, identifier: &str) -> String {
        let account = self
            .emu
            .account(connector, identifier)
            .expect("account exists");
        account["authorization_details"]["oauth_token"]["access_token"]
            .as_str()
            .expect("an oauth token")
            .to_owned()
    }

    /// The one clean environment of every run: nothing inherited but `PATH` (given), a temp
    /// `HOME` and config dir, `NO_COLOR=1`, a short poll interval for waits, the world's
    /// working directory, then the test's own variables (which may override any of these).
    fn clean_env(&self, cmd: &mut Command, path: &std::ffi::OsStr) {
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("NO_COLOR", "1")
            .env("SCALEKIT_AUTH_CONFIG_DIR", &self.config_dir)
            .env("SCALEKIT_AUTH_POLL_INTERVAL_MS", POLL_INTERVAL_MS)
            .current_dir(&self.cwd);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scalekit-auth"));
        cmd.args(args);
        self.clean_env(&mut cmd, &std::env::var_os("PATH").unwrap_or_default());
        cmd
    }

    /// `program` (a shell, say) in this world's clean environment, with the binary's
    /// directory first on `PATH`, so that scripts and completion functions find
    /// `scalekit-auth`. `extra_path` dirs come before it (stubs).
    pub(crate) fn program(&self, program: &str, extra_path: &[&Path]) -> Command {
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_scalekit-auth"))
            .parent()
            .expect("the binary has a directory");
        let mut dirs: Vec<PathBuf> = extra_path.iter().map(|p| p.to_path_buf()).collect();
        dirs.push(bin_dir.to_path_buf());
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let mut cmd = Command::new(program);
        self.clean_env(&mut cmd, &std::env::join_paths(dirs).expect("a valid PATH"));
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, "")
    }

    pub(crate) fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        run_command(self.command(args), stdin)
    }

    /// The requests the emulator logged, as `METHOD /path` strings.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.emu
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub(crate) fn logged(&self) -> Vec<LoggedRequest> {
        self.emu.requests()
    }

    pub(crate) fn config_toml(&self) -> String {
        std::fs::read_to_string(self.config_dir.join("config.toml")).unwrap_or_default()
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.config_dir.join(name)
    }
}

pub(crate) fn run_command(mut cmd: Command, stdin: &str) -> Run {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary starts");
    {
        let mut pipe = child.stdin.take().unwrap();
        let _ = pipe.write_all(stdin.as_bytes());
    }
    let out = wait_with_timeout(child, Duration::from_secs(90));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Waits for a child, killing it if it runs longer than `limit` (a hang must fail the
/// test, not the suite).
pub(crate) fn wait_with_timeout(
    child: std::process::Child,
    limit: Duration,
) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    if let Ok(out) = rx.recv_timeout(limit) {
        out.expect("wait for the binary")
    } else {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("the binary ran longer than {limit:?}");
    }
}

/// Sends SIGINT (a Ctrl-C) to a running binary and waits for it to end (10 s at most).
pub(crate) fn interrupt(child: std::process::Child) -> std::process::Output {
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    wait_with_timeout(child, Duration::from_secs(10))
}

/// Whether `tool` (zsh, fish, strace, script, groff…) works here. Missing under CI, the
/// test fails: CI installs every tool (.ci/run). Elsewhere it says "skipped: TOOL not
/// found" on the terminal (past the test's captured output) and the caller returns early.
#[track_caller]
pub(crate) fn require_tool(tool: &str) -> bool {
    // strace needs ptrace, which some sandboxes forbid: probe a real trace.
    let probe: &[&str] = match tool {
        "strace" => &["-f", "-e", "trace=none", "-o", "/dev/null", "true"],
        "script" => &["-qec", "true", "/dev/null"],
        // dash has no --version.
        "sh" => &["-c", "true"],
        _ => &["--version"],
    };
    let found = Command::new(tool)
        .args(probe)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} not found, and CI must provide it (.ci/run installs it)"
        );
        // Straight to the process's stderr: libtest captures eprintln! of a passing test.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr().lock(),
            format!("skipped: {tool} not found\n").as_bytes(),
        );
    }
    found
}

/// Fails when `text` contains any of the secrets.
#[track_caller]
pub(crate) fn assert_no_secret(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(
            !text.contains(secret),
            "a secret leaked: {secret:?} in\n{text}"
        );
    }
}

/// Writes a file, creating parent directories.
pub(crate) fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A run of the binary on a pseudo-terminal (through util-linux `script`), so that stdin,
/// stdout and stderr are all terminals: the interactive paths. Output is collected by a
/// reader thread; `expect` waits for text to appear.
pub(crate) struct Pty {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: std::sync::Arc<std::sync::Mutex<String>>,
}

impl World {
    /// Starts `scalekit-auth ARGS` on a 100×40 pseudo-terminal.
    pub(crate) fn pty(&self, args: &[&str]) -> Pty {
        self.pty_sized(100, 40, args)
    }

    /// Starts `scalekit-auth ARGS` on a COLS×ROWS pseudo-terminal.
    pub(crate) fn pty_sized(&self, cols: u16, rows: u16, args: &[&str]) -> Pty {
        let bin = env!("CARGO_BIN_EXE_scalekit-auth");
        let quoted: Vec<String> = std::iter::once(bin)
            .chain(args.iter().copied())
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect();
        self.pty_shell_sized(cols, rows, &format!("exec {}", quoted.join(" ")))
    }

    /// Runs a shell command line on a 100×40 pseudo-terminal (`$BIN` is the binary).
    pub(crate) fn pty_shell(&self, line: &str) -> Pty {
        self.pty_shell_sized(100, 40, line)
    }

    /// Runs a shell command line on a COLS×ROWS pseudo-terminal.
    pub(crate) fn pty_shell_sized(&self, cols: u16, rows: u16, line: &str) -> Pty {
        let script = format!(
            "BIN='{}'; stty cols {cols} rows {rows}; {line}",
            env!("CARGO_BIN_EXE_scalekit-auth")
        );
        // The same clean environment as `command`, around `script`.
        let plain = self.command(&[]);
        let mut cmd = Command::new("script");
        cmd.args(["-qfec", &script, "/dev/null"])
            .env_clear()
            .current_dir(&self.cwd);
        for (k, v) in plain.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        cmd.env("TERM", "xterm-256color").env("SHELL", "/bin/sh");
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("script(1) starts");
        let input = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = std::sync::Arc::clone(&output);
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Pty {
            child,
            input,
            output,
        }
    }
}

impl Pty {
    /// Waits until the output contains `needle` (10 s at most); returns the output so far.
    #[track_caller]
    pub(crate) fn expect(&self, needle: &str) -> String {
        for _ in 0..400 {
            let text = self.output();
            if text.contains(needle) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("{needle:?} never appeared in:\n{}", self.output());
    }

    /// Everything the terminal showed so far.
    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Types text (use `\r` for Enter).
    pub(crate) fn send(&mut self, text: &str) {
        use std::io::Write;
        self.input.write_all(text.as_bytes()).unwrap();
        self.input.flush().unwrap();
    }

    /// Sends a signal to the program running on the terminal.
    pub(crate) fn signal_program(&self, signal: &str) {
        let _ = Command::new("pkill")
            .args([&format!("-{signal}"), "-P", &self.child.id().to_string()])
            .status();
    }

    /// Waits for the end; returns the exit code and the whole output.
    pub(crate) fn finish(self) -> (i32, String) {
        let Pty {
            child,
            input,
            output,
        } = self;
        let out = wait_with_timeout(child, Duration::from_secs(60));
        drop(input);
        std::thread::sleep(Duration::from_millis(50));
        let text = output.lock().unwrap().clone();
        (out.status.code().unwrap_or(-1), text)
    }
}

/// What a COLS×ROWS terminal shows after `output`: the screen, and every line it ever
/// showed (scrollback, then the screen), each row with trailing blanks trimmed.
pub(crate) struct Screen {
    pub(crate) visible: String,
    pub(crate) everything: String,
}

pub(crate) fn screen(output: &str, cols: u16, rows: u16) -> Screen {
    let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
    let mut parser = vt100::Parser::new(size(rows), size(cols), 10_000);
    // `script` turns each \n into \r\n already.
    parser.process(output.as_bytes());
    let view = |parser: &vt100::Parser| -> Vec<String> {
        parser
            .screen()
            .rows(0, cols)
            .map(|r| r.trim_end().to_owned())
            .collect()
    };
    let visible = view(&parser);
    let scrolled = parser.screen().scrollback_len();
    let mut everything = Vec::new();
    // Scrolled back by `offset`, the view's first row is scrollback line `scrolled - offset`.
    let mut offset = scrolled;
    while offset > 0 {
        parser.screen_mut().set_scrollback(offset);
        let take = offset.min(usize::from(rows));
        everything.extend(view(&parser).into_iter().take(take));
        offset -= take;
    }
    everything.extend(visible.iter().cloned());
    Screen {
        visible: visible.join("\n"),
        everything: everything.join("\n"),
    }
}

//! `README.md`'s shell examples, run in order as a person pasting them top to bottom would,
//! so that the README cannot rot.
//!
//! Every ```` ```sh ```` (or `bash`, `shell`) block runs, with `bash -e`, unless the line right
//! before it (blank lines aside) says otherwise:
//!
//! - `<!-- not run: REASON -->`: skipped; the reason is required and shows in the README's
//!   source (real Scalekit, a pager, a person at a prompt, another shell's syntax…);
//! - `<!-- run: exit N -->`: run, and its last command is expected to exit N;
//! - `<!-- setup: COMMANDS -->`: COMMANDS (one shell line) run first, in the same shell, then
//!   the block, which must exit 0: the world a reference example assumes, e.g. services
//!   configured and authorized with `scripts/playground activate`, or a user clicking Allow
//!   (`scripts/playground approve &`).
//!
//! An unmarked block must exit 0. A malformed marker, or one that is not followed by a shell
//! block, fails the test. Blocks share what a terminal would: the working directory and the
//! exported variables (`eval "$(scripts/playground start)"` in one block holds for the next).
//! They run in a sandbox: a temporary HOME, a stand-in for the clone (links to this
//! checkout's files; what a block writes lands in the sandbox), the built binaries on PATH
//! (as `cargo install` would put them), and the playground in a temporary directory, using
//! the binaries `cargo test` built. A failure names the block's line and shows its output.

use std::path::{Path, PathBuf};

use crate::harness::{Run, run_command, write};

const README: &str = include_str!("../../README.md");

/// A block that runs longer (a command waiting for a person, say) fails with exit 124.
const BLOCK_TIMEOUT_SECS: u32 = 60;

/// What the test does with a block.
#[derive(Debug, PartialEq)]
enum Plan {
    Run { exit: i32, setup: Option<String> },
    NotRun { reason: String },
}

#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    code: String,
    plan: Plan,
}

/// A marker line's plan; `None` for a line that is not a marker at all.
fn marker(line: &str) -> Option<Result<Plan, String>> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    if let Some(reason) = inner.strip_prefix("not run:") {
        let reason = reason.trim();
        return Some(if reason.is_empty() {
            Err("`<!-- not run: REASON -->` needs a reason".to_owned())
        } else {
            Ok(Plan::NotRun {
                reason: reason.to_owned(),
            })
        });
    }
    if let Some(setup) = inner.strip_prefix("setup:") {
        let setup = setup.trim();
        return Some(if setup.is_empty() {
            Err("`<!-- setup: COMMANDS -->` needs the commands".to_owned())
        } else {
            Ok(Plan::Run {
                exit: 0,
                setup: Some(setup.to_owned()),
            })
        });
    }
    if let Some(rest) = inner.strip_prefix("run:") {
        return Some(
            rest.trim()
                .strip_prefix("exit ")
                .and_then(|n| n.trim().parse::<i32>().ok())
                .map(|exit| Plan::Run { exit, setup: None })
                .ok_or_else(|| format!("`{}`: write `<!-- run: exit N -->`", line.trim())),
        );
    }
    if inner.starts_with("not run") || inner.starts_with("run") || inner.starts_with("setup") {
        return Some(Err(format!(
            "`{}`: write `<!-- not run: REASON -->`, `<!-- run: exit N -->` or `<!-- setup: COMMANDS -->`",
            line.trim()
        )));
    }
    None
}

/// The shell blocks of a Markdown text, in order, with their plans.
fn blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, Plan)> = None;
    let mut lines = markdown.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        if let Some(fence) = line.strip_prefix("```") {
            let code: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| !l.starts_with("```"))
                .collect();
            let shell = matches!(fence.trim(), "sh" | "bash" | "shell" | "console");
            match (shell, pending.take()) {
                (true, Some((_, plan))) => out.push(Block {
                    line: i + 1,
                    code: code.join("\n") + "\n",
                    plan,
                }),
                (true, None) => out.push(Block {
                    line: i + 1,
                    code: code.join("\n") + "\n",
                    plan: Plan::Run {
                        exit: 0,
                        setup: None,
                    },
                }),
                (false, Some((at, _))) => {
                    return Err(format!(
                        "line {at}: the marker is not followed by a shell block"
                    ));
                }
                (false, None) => {}
            }
        } else if let Some(plan) = marker(line) {
            let plan = plan.map_err(|e| format!("line {}: {e}", i + 1))?;
            if let Some((at, _)) = pending {
                return Err(format!(
                    "line {at}: the marker is not followed by a shell block"
                ));
            }
            pending = Some((i + 1, plan));
        } else if !line.trim().is_empty()
            && let Some((at, _)) = pending.take()
        {
            return Err(format!(
                "line {at}: the marker is not followed by a shell block"
            ));
        }
    }
    if let Some((at, _)) = pending {
        return Err(format!(
            "line {at}: the marker is not followed by a shell block"
        ));
    }
    Ok(out)
}

#[test]
fn markers_are_read_strictly() {
    let plans = |md: &str| blocks(md).map(|b| b.into_iter().map(|b| b.plan).collect::<Vec<_>>());
    assert_eq!(
        plans(
            "```sh\ntrue\n```\n<!-- not run: a pager -->\n\n```bash\nman x\n```\n<!-- run: exit 4 -->\n```sh\nexit 4\n```\n```toml\nx = 1\n```\n"
        ),
        Ok(vec![
            Plan::Run {
                exit: 0,
                setup: None,
            },
            Plan::NotRun {
                reason: "a pager".into()
            },
            Plan::Run {
                exit: 4,
                setup: None,
            },
        ])
    );
    for bad in [
        "<!-- not run: -->\n```sh\nx\n```\n",
        "<!-- not run -->\n```sh\nx\n```\n",
        "<!-- run: exit four -->\n```sh\nx\n```\n",
        "<!-- run -->\n```sh\nx\n```\n",
        "<!-- setup: -->\n```sh\nx\n```\n",
        "<!-- setup -->\n```sh\nx\n```\n",
        "<!-- not run: stale -->\nsome text\n```sh\nx\n```\n",
        "<!-- not run: not a shell block -->\n```toml\nx = 1\n```\n",
        "<!-- not run: at the end -->\n",
    ] {
        assert!(plans(bad).is_err(), "accepted: {bad:?}");
    }
    // Other HTML comments are not markers.
    assert_eq!(
        plans("<!-- a note -->\n```sh\ntrue\n```\n"),
        Ok(vec![Plan::Run {
            exit: 0,
            setup: None,
        }])
    );
    assert_eq!(
        plans("<!-- setup: scripts/playground activate && x -->\n```sh\ntrue\n```\n"),
        Ok(vec![Plan::Run {
            exit: 0,
            setup: Some("scripts/playground activate && x".into()),
        }])
    );
}

/// Stops the sandbox's playground even when the test fails half-way.
struct Sandbox {
    home: tempfile::TempDir,
    clone: PathBuf,
    state: PathBuf,
    bin_dir: PathBuf,
    emulator: PathBuf,
}

impl Sandbox {
    fn playground_dir(&self) -> PathBuf {
        self.home.path().join("playground")
    }

    fn command(&self, program: &str) -> std::process::Command {
        let mut dirs = vec![self.bin_dir.clone()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let mut cmd = std::process::Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::join_paths(dirs).expect("a valid PATH"))
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env("SCALEKIT_AUTH_BIN", env!("CARGO_BIN_EXE_scalekit-auth"))
            .env("SCALEKIT_EMULATOR_BIN", &self.emulator)
            .env("SCALEKIT_PLAYGROUND_DIR", self.playground_dir())
            .current_dir(&self.clone);
        cmd
    }

    /// Runs one block in a fresh `bash -e` that takes over the previous block's working
    /// directory and exported variables, and hands its own on.
    fn run(&self, block: &Block, setup: Option<&str>) -> Run {
        let env = self.state.join("env");
        let cwd = self.state.join("cwd");
        let script = self.state.join(format!("block-{}.sh", block.line));
        write(
            &script,
            &format!(
                "[ -f '{env}' ] && . '{env}'\n[ -f '{cwd}' ] && cd \"$(cat '{cwd}')\"\n\
                 trap 'rc=$?; export -p > '\\''{env}'\\''; pwd > '\\''{cwd}'\\''; exit $rc' EXIT\n\
                 set -e\n{setup}\n{code}",
                env = env.display(),
                cwd = cwd.display(),
                setup = setup.unwrap_or(""),
                code = block.code
            ),
        );
        // `timeout` ends the block's whole process group, background jobs included.
        let mut cmd = self.command("timeout");
        cmd.args([
            "-k",
            "5",
            &BLOCK_TIMEOUT_SECS.to_string(),
            "bash",
            "--norc",
            "--noprofile",
        ])
        .arg(&script);
        run_command(cmd, "")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.playground_dir().exists() {
            let mut cmd = self.command("bash");
            cmd.arg(repo().join("scripts/playground")).arg("stop");
            let _ = run_command(cmd, "");
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sandbox, or `None` (after saying why) when the emulator's binary was not built.
fn sandbox() -> Option<Sandbox> {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_scalekit-auth"))
        .parent()
        .expect("the binary has a directory")
        .to_path_buf();
    let emulator = bin_dir.join("scalekit-emulator");
    if !emulator.exists() {
        let why = format!(
            "{} is not built (scripts/test builds it; or: cargo build -p scalekit-emulator)",
            emulator.display()
        );
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("note: skipped: {why}");
        return None;
    }
    let home = tempfile::tempdir().expect("tempdir");
    // The clone: this checkout's files, by link, so that `scripts/…` and `man/…` resolve,
    // while whatever a block writes stays in the sandbox.
    let clone = home.path().join("scalekit-auth");
    std::fs::create_dir_all(&clone).unwrap();
    for entry in std::fs::read_dir(repo()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name != "target" && name != ".git" {
            std::os::unix::fs::symlink(entry.path(), clone.join(&name)).unwrap();
        }
    }
    let state = home.path().join(".readme-test");
    std::fs::create_dir_all(&state).unwrap();
    Some(Sandbox {
        home,
        clone,
        state,
        bin_dir,
        emulator,
    })
}

#[test]
fn every_shell_example_in_the_readme_runs_in_order() {
    let blocks = blocks(README).unwrap_or_else(|e| panic!("README.md: {e}"));
    let Some(sandbox) = sandbox() else { return };
    let mut transcript = String::new();
    let mut ran = 0;
    for block in &blocks {
        let (exit, setup) = match &block.plan {
            Plan::NotRun { .. } => continue,
            Plan::Run { exit, setup } => (*exit, setup.as_deref()),
        };
        let run = sandbox.run(block, setup);
        let timed_out = if run.code == 124 {
            format!(" (124: it ran longer than {BLOCK_TIMEOUT_SECS} s)")
        } else {
            String::new()
        };
        assert_eq!(
            run.code, exit,
            "README.md line {}: the block exited {}{timed_out} (wanted {exit}). Make it run \
             offline, or say on the line before it `<!-- run: exit N -->` or \
             `<!-- not run: REASON -->` (see tests/cli/readme.rs)\n--- block\n{}--- stdout\n{}\n--- stderr\n{}",
            block.line, run.code, block.code, run.stdout, run.stderr
        );
        transcript.push_str(&run.stdout);
        ran += 1;
    }
    assert!(ran >= 5, "only {ran} README blocks ran");

    // What "Play by hand" promises: a token from the emulator, and the call echoed back by
    // its upstream, the token added by the proxy (never by this machine).
    assert!(transcript.contains("ya29.emu."), "{transcript}");
    assert!(
        transcript.contains(r#""path":"/gmail/v1/users/me/profile""#),
        "{transcript}"
    );
    // The completion scripts landed where the install lines say.
    let home = sandbox.home.path();
    for file in [
        ".local/share/bash-completion/completions/scalekit-auth",
        ".zfunc/_scalekit-auth",
        ".config/fish/completions/scalekit-auth.fish",
    ] {
        let text =
            std::fs::read_to_string(home.join(file)).unwrap_or_else(|e| panic!("~/{file}: {e}"));
        assert!(text.contains("SCALEKIT_AUTH_COMPLETE"), "~/{file}");
    }
    // The playground never touched the default config directory.
    assert!(
        !home.join(".config/scalekit-auth").exists(),
        "the examples wrote into ~/.config/scalekit-auth"
    );
}

//! A closed stdout (`| head`) ends quietly: exit 0, no "Broken pipe", no panic.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use scalekit_emulator::SeedAccount;

use crate::harness::{World, wait_with_timeout};

fn world() -> World {
    let w = World::configured(&[
        ("gmail", "gmail_u3134a"),
        ("slack", "slack_x7y9z"),
        ("github", "github_q1"),
    ]);
    for connection in ["gmail_u3134a", "slack_x7y9z", "github_q1"] {
        w.seed_active(connection, "mess");
    }
    w
}

#[track_caller]
fn assert_quiet(args: &[&str], code: Option<i32>, stderr: &str) {
    assert_eq!(code, Some(0), "{args:?} exit {code:?}: {stderr}");
    for bad in ["Broken pipe", "broken pipe", "panicked", "error"] {
        assert!(!stderr.contains(bad), "{args:?}: {stderr}");
    }
}

#[test]
fn a_stdout_closed_before_the_first_write_ends_quietly() {
    let w = world();
    // Slow the answers down so that the read end is surely closed before anything is written.
    w.emu.set_latency(Duration::from_millis(100));
    for args in [
        &["token", "gmail", "slack", "github"][..],
        &["token", "gmail", "slack", "--json"],
        &["token", "gmail", "--header"],
        &["token", "gmail", "slack", "--env"],
        &["status"],
        &["status", "--json"],
        &["list"],
        &["list", "--json"],
        &["list", "--remote", "--json"],
        &["config", "gmail"],
        &["config", "gmail", "--json"],
        &["--help"],
        &["token", "--help"],
        &["--version"],
    ] {
        let mut child = w
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before the binary writes
        let out = wait_with_timeout(child, Duration::from_secs(30));
        assert_quiet(
            args,
            out.status.code(),
            &String::from_utf8_lossy(&out.stderr),
        );
    }
}

#[test]
fn shell_pipelines_into_head_end_quietly() {
    let w = world();
    for (args, head) in [
        ("token gmail slack github", "head -n1"),
        ("list --json", "head -c1"),
        ("status --json", "head -c1"),
        ("token gmail slack --json", "head -c1"),
    ] {
        let script =
            format!("\"$0\" {args} 2>\"$1\" | {head} >/dev/null; echo \"${{PIPESTATUS[0]}}\"");
        let err_file = w.home.path().join("pipe.err");
        // The harness's clean environment, around a real shell pipeline.
        let cmd = w.command(&[]);
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .arg(cmd.get_program())
            .arg(&err_file)
            .env_clear()
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .current_dir(&w.cwd)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_with_timeout(out, Duration::from_secs(30));
        let status: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let mut stderr = String::new();
        std::fs::File::open(&err_file)
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_quiet(&[args, head], Some(status), &stderr);
    }
}

#[test]
fn a_big_list_into_head_ends_quietly() {
    // More output than a pipe buffer holds, so the write itself meets the closed pipe.
    let w = World::configured(&[]);
    for i in 0..400 {
        w.emu.seed(SeedAccount {
            connector: format!("connection_with_a_long_name_{i:04}"),
            identifier: format!("identifier-that-is-rather-long-{i:04}"),
            ..SeedAccount::default()
        });
    }
    let mut child = w
        .command(&["list", "--remote", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    assert_eq!(&first, b"[");
    drop(child.stdout.take());
    let out = wait_with_timeout(child, Duration::from_secs(60));
    assert_quiet(
        &["list", "--remote", "--json"],
        out.status.code(),
        &String::from_utf8_lossy(&out.stderr),
    );
}

/// A closed stderr (its reader gone, so every write fails with EPIPE) is no reason to
/// panic: each command still ends with its own exit code.
#[test]
fn a_closed_stderr_never_makes_a_command_panic() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let empty = tempfile::tempdir().unwrap();
    let empty_dir = empty.path().join("none");
    let empty_dir = empty_dir.to_str().unwrap();
    for (args, code) in [
        (vec!["list"], 0),
        (vec!["--config-dir", empty_dir, "list"], 0),
        (vec!["-v", "list", "--remote"], 0),
        (vec!["-v", "status"], 0),
        (vec!["config", "drive", "gdrive_1"], 0),
        (vec!["remove", "drive"], 0),
        (vec!["token", "nosuch"], 3),
        (vec!["authorize", "gmail", "--no-wait", "--force"], 4),
        (vec!["nosuchcommand"], 2),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = w
            .command(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(writer)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
    }
}

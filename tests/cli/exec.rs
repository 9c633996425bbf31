//! `exec`: tokens in the child's environment only, exit codes and signals passed through,
//! authorization before the command runs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use scalekit_emulator::SeedAccount;

use crate::harness::{World, assert_no_secret, require_tool, wait_with_timeout};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn tokens_go_into_the_environment_with_default_and_chosen_names() {
    let w = World::configured(&[
        ("gmail", "gmail_u3134a"),
        ("github", "gh_conn"),
        ("slack", "slack_x7y9z"),
    ]);
    let gmail = w.seed_active("gmail_u3134a", "mess");
    let github = w.seed_active("gh_conn", "mess");
    let slack = w.seed_active("slack_x7y9z", "mess");
    let env_file = w.home.path().join("env.txt");
    let run = w.run(&[
        "exec",
        "gmail",
        "github",
        "slack",
        "--env-name",
        "slack=SLACK_BOT_TOKEN",
        "--",
        "sh",
        "-c",
        r#"env > "$1"; printf '%s' "${GMAIL_ACCESS_TOKEN:+set}""#,
        "sh",
        env_file.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout, "set");
    assert_eq!(run.stderr, "", "exec prints nothing of its own");
    let env = read(&env_file);
    let lines: Vec<&str> = env.lines().collect();
    assert!(
        lines.contains(&format!("GMAIL_ACCESS_TOKEN={gmail}").as_str()),
        "{env}"
    );
    assert!(
        lines.contains(&format!("GITHUB_TOKEN={github}").as_str()),
        "{env}"
    );
    assert!(
        lines.contains(&format!("SLACK_BOT_TOKEN={slack}").as_str()),
        "{env}"
    );
    assert!(!env.contains("SLACK_ACCESS_TOKEN") && !env.contains("GITHUB_ACCESS_TOKEN"));
    // One API token and one lookup per service: 1 + N.
    let requests = w.requests();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert_eq!(requests[0], "POST /oauth/token");
    assert!(
        requests[1..]
            .iter()
            .all(|r| r == "GET /api/v1/connected_accounts/auth")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn the_token_is_in_no_argv_and_not_in_scalekit_auths_own_environment() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let dir = w.home.path();
    let (own, parent, parent_env) = (
        dir.join("own-cmdline"),
        dir.join("parent-cmdline"),
        dir.join("parent-environ"),
    );
    let run = w.run(&[
        "exec",
        "gmail",
        "--",
        "sh",
        "-c",
        r#"tr '\0' ' ' < /proc/$$/cmdline > "$1"; tr '\0' ' ' < /proc/$PPID/cmdline > "$2"; tr '\0' '\n' < /proc/$PPID/environ > "$3""#,
        "sh",
        own.to_str().unwrap(),
        parent.to_str().unwrap(),
        parent_env.to_str().unwrap(),
    ]);
    run.assert_code(0);
    let parent_cmdline = read(&parent);
    assert!(parent_cmdline.contains("exec gmail --"), "{parent_cmdline}");
    assert!(read(&own).contains("sh -c"), "{}", read(&own));
    assert_no_secret(&read(&own), &[&token]);
    assert_no_secret(&parent_cmdline, &[&token]);
    assert!(read(&parent_env).contains("SCALEKIT_AUTH_CONFIG_DIR="));
    assert_no_secret(&read(&parent_env), &[&token]);
    assert_no_secret(&(run.stdout + &run.stderr), &[&token]);
    // Not with -v either.
    let run = w.run(&["-v", "exec", "gmail", "--", "true"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("GET /api/v1/connected_accounts/auth 200"),
        "{}",
        run.stderr
    );
    assert_no_secret(&(run.stdout + &run.stderr), &[&token]);
}

#[test]
fn the_exit_code_and_death_by_signal_pass_through() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&[
        "exec",
        "gmail",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    run.assert_code(7);
    assert_eq!(run.stdout, "out\n");
    assert_eq!(run.stderr, "err\n");
    w.run(&["exec", "gmail", "--", "true"]).assert_code(0);
    // Killed by SIGTERM (15): 128 + 15.
    let run = w.run(&["exec", "gmail", "--", "sh", "-c", "kill -TERM $$"]);
    run.assert_code(143);
    let run = w.run(&["exec", "gmail", "--", "sh", "-c", "kill -KILL $$"]);
    run.assert_code(137);
}

/// Starts `exec gmail -- sh -c SCRIPT sh READY OUT` in its own process group, waits until
/// the script wrote READY, sends `signal` to scalekit-auth alone, and returns its exit code
/// and what the script wrote to OUT.
fn signal_exec(w: &World, script: &str, signal: &str) -> (i32, String) {
    use std::os::unix::process::CommandExt as _;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let ready = w.home.path().join(format!("ready-{n}"));
    let out = w.home.path().join(format!("out-{n}"));
    let mut cmd = w.command(&[
        "exec",
        "gmail",
        "--",
        "sh",
        "-c",
        script,
        "sh",
        ready.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    // Its own process group: no terminal's Ctrl-C reaches it; only what we send.
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    while !ready.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the child never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = wait_with_timeout(child, Duration::from_secs(30));
    (output.status.code().unwrap_or(-1), read(&out))
}

#[cfg(unix)]
#[test]
fn int_term_and_hup_are_forwarded_to_the_child() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    for signal in ["INT", "TERM", "HUP"] {
        let script = format!(
            r#"trap 'echo got-{signal} > "$2"; exit 3' {signal}; echo ready > "$1"; while :; do sleep 0.05; done"#
        );
        let (code, out) = signal_exec(&w, &script, signal);
        assert_eq!(code, 3, "{signal}");
        assert_eq!(out.trim(), format!("got-{signal}"));
    }
    // A child that does not handle it dies of it: 128 + N.
    let (code, _) = signal_exec(&w, r#"echo ready > "$1"; exec sleep 30"#, "TERM");
    assert_eq!(code, 143);
    let (code, _) = signal_exec(&w, r#"echo ready > "$1"; exec sleep 30"#, "HUP");
    assert_eq!(code, 129);
}

#[test]
fn a_missing_or_unrunnable_command() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    // No command (or one given without --): usage, before any request.
    for args in [vec!["exec", "gmail"], vec!["exec", "gmail", "printenv"]] {
        let run = w.run(&args);
        run.assert_code(2);
        assert!(run.stderr.contains("no command to run"), "{}", run.stderr);
        assert!(run.stderr.contains("-- CMD"), "{}", run.stderr);
    }
    assert!(w.requests().is_empty(), "{:?}", w.requests());

    let run = w.run(&["exec", "gmail", "--", "/nonexistent/scalekit-test-cmd", "x"]);
    run.assert_code(127);
    assert!(
        run.stderr.contains("/nonexistent/scalekit-test-cmd"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("command not found"), "{}", run.stderr);
    let run = w.run(&["exec", "gmail", "--", "scalekit-auth-no-such-command"]);
    run.assert_code(127);

    let script = w.home.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let run = w.run(&["exec", "gmail", "--", script.to_str().unwrap()]);
    run.assert_code(126);
    assert!(run.stderr.contains("permission denied"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[test]
fn authorization_is_required_before_the_command_runs() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.seed(SeedAccount {
        connector: "slack_x7y9z".into(),
        identifier: "mess".into(),
        status: Some("PENDING_AUTH".into()),
        ..SeedAccount::default()
    });
    let marker = w.home.path().join("ran");
    let script = format!("touch {}", marker.display());
    let run = w.run(&["exec", "gmail", "slack", "--", "sh", "-c", &script]);
    run.assert_code(4);
    assert!(!marker.exists(), "the command ran without every token");
    assert_eq!(run.stdout, "");
    let links = w.emu.magic_links();
    assert_eq!(links.len(), 1);
    assert!(run.stderr.contains(&links[0].link), "{}", run.stderr);
    assert!(
        run.stderr.contains("authorization needed for slack"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--wait"), "{}", run.stderr);

    // Unknown services and bad --env-name values cost no request and run nothing.
    w.emu.clear_requests();
    let run = w.run(&["exec", "notion", "--", "sh", "-c", &script]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("scalekit-auth config notion"),
        "{}",
        run.stderr
    );
    let run = w.run(&["exec", "gmail", "--env-name", "slack=X", "--", "true"]);
    run.assert_code(2);
    let run = w.run(&["exec", "gmail", "--env-name", "gmail=1BAD", "--", "true"]);
    run.assert_code(2);
    assert!(w.requests().is_empty(), "{:?}", w.requests());
    assert!(!marker.exists());
}

#[test]
fn wait_authorizes_first_then_runs() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let emu = &w.emu;
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..200 {
                if let Some(link) = emu.magic_links().first() {
                    assert!(emu.approve_link(&link.link));
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        w.run(&[
            "exec",
            "gmail",
            "--wait",
            "--timeout",
            "30",
            "--",
            "sh",
            "-c",
            r#"printf '%s' "${GMAIL_ACCESS_TOKEN:+set}""#,
        ])
    });
    run.assert_code(0);
    assert_eq!(run.stdout, "set");
    assert!(run.stderr.contains("gmail authorized"), "{}", run.stderr);
}

/// Ctrl-C while `exec --wait` waits for the approval: exit 130, and the command never runs.
#[test]
fn ctrl_c_while_waiting_for_approval_exits_130_without_running_the_command() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let ran = w.home.path().join("ran");
    let mut cmd = w.command(&[
        "exec",
        "gmail",
        "--wait",
        "--",
        "sh",
        "-c",
        "touch \"$1\"",
        "sh",
        ran.to_str().unwrap(),
    ]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    while w.emu.magic_links().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no link was minted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let out = crate::harness::interrupt(child);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ran.exists(), "the command ran after Ctrl-C");
}

#[test]
fn min_ttl_applies_before_the_command_runs() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let marker = w.home.path().join("ran");
    let script = format!("touch {}", marker.display());
    // The emulator's tokens live an hour.
    let run = w.run(&[
        "exec",
        "gmail",
        "--min-ttl",
        "7200",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    run.assert_code(4);
    assert!(!marker.exists());
    assert!(run.stderr.contains("7200s"), "{}", run.stderr);
    let run = w.run(&[
        "exec",
        "gmail",
        "--min-ttl",
        "600",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    run.assert_code(0);
    assert!(marker.exists());
}

#[test]
fn identifier_picks_another_identity() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let alice = w.seed_active("gmail_u3134a", "alice@acme.dev");
    let out = w.home.path().join("token");
    let run = w.run(&[
        "exec",
        "gmail",
        "--identifier",
        "alice@acme.dev",
        "--",
        "sh",
        "-c",
        r#"printf '%s' "$GMAIL_ACCESS_TOKEN" > "$1""#,
        "sh",
        out.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert_eq!(read(&out), alice);
}

/// Ctrl-C typed at a terminal reaches the whole foreground process group, the child
/// included: the child handles it and `exec` (which does not die of it) exits with the
/// child's code. Runs under `script`, which gives the run a real pseudo-terminal, and types
/// Ctrl-C into it. (That `exec` does not forward this first Ctrl-C a second time cannot be
/// seen from a shell: two SIGINTs that arrive together are delivered as one.)
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_at_a_terminal_is_handled_by_the_child() {
    if !require_tool("script") {
        return;
    }
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let ready = w.home.path().join("ready");
    let out = w.home.path().join("interrupts");
    let child_script = r#"trap 'echo int >> "$2"' INT; echo ready > "$1"; i=0; while [ $i -lt 30 ]; do sleep 0.05; i=$((i+1)); done"#;
    let mut pty = w.pty(&[
        "exec",
        "gmail",
        "--",
        "sh",
        "-c",
        child_script,
        "sh",
        ready.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let started = Instant::now();
    while !ready.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the child never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    pty.send("\x03");
    let (code, screen) = pty.finish();
    assert_eq!(
        read(&out),
        "int\n",
        "the child saw Ctrl-C this often; the terminal showed: {screen}"
    );
    assert_eq!(code, 0, "{screen}");
}

/// The child gets the tokens it asked for and never this tool's own secrets, whether they
/// came from the environment or a named env file (SECURITY.md, "Children").
#[test]
fn the_child_never_gets_the_client_secret_or_another_scalekit_secret() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let gmail = w.seed_active("gmail_u3134a", "mess");
    for (name, value) in [
        ("SCALEKIT_ENV_URL", w.emu.url()),
        ("SCALEKIT_CLIENT_ID", crate::harness::CLIENT_ID.to_owned()),
        ("SCALEKIT_CLIENT_SECRET", crate::harness::SECRET.to_owned()),
        ("SCALEKIT_API_TOKEN", "api-token-Vb3".to_owned()),
        ("scalekit_other_password", "pw-Qz5".to_owned()),
        ("UNRELATED_SECRET", "kept-Jt7".to_owned()),
    ] {
        w.env.insert(name.into(), value);
    }
    let env_file = w.home.path().join("env.txt");
    let run = w.run(&[
        "exec",
        "gmail",
        "--",
        "sh",
        "-c",
        r#"env > "$1""#,
        "sh",
        env_file.to_str().unwrap(),
    ]);
    run.assert_code(0);
    let env = read(&env_file);
    assert!(
        env.contains(&format!("GMAIL_ACCESS_TOKEN={gmail}")),
        "{env}"
    );
    assert_no_secret(&env, &[crate::harness::SECRET, "api-token-Vb3", "pw-Qz5"]);
    assert!(!env.contains("SCALEKIT_CLIENT_SECRET"), "{env}");
    assert!(env.contains("UNRELATED_SECRET=kept-Jt7"), "{env}");
    assert!(env.contains("SCALEKIT_CLIENT_ID="), "{env}");
    // The same through a named env file.
    w.env.remove("SCALEKIT_CLIENT_SECRET");
    let dotenv = w.home.path().join("creds.env");
    std::fs::write(
        &dotenv,
        format!("SCALEKIT_CLIENT_SECRET={}\n", crate::harness::SECRET),
    )
    .unwrap();
    let run = w.run(&[
        "--env-file",
        dotenv.to_str().unwrap(),
        "exec",
        "gmail",
        "--",
        "sh",
        "-c",
        r#"env > "$1""#,
        "sh",
        env_file.to_str().unwrap(),
    ]);
    run.assert_code(0);
    let env = read(&env_file);
    assert!(env.contains("GMAIL_ACCESS_TOKEN="), "{env}");
    assert_no_secret(&env, &[crate::harness::SECRET]);
}

//! `agent`: warm hits cost no request, concurrent misses one, the cache rules, and every
//! odd socket (dead, silent, garbled, another version) leaves commands working without it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use scalekit_emulator::{Fault, FaultBody};

use crate::harness::{World, wait_with_timeout};

const AUTH: &str = "GET /api/v1/connected_accounts/auth";
const TOKEN: &str = "POST /oauth/token";

/// A running agent; killed when dropped.
struct Agent {
    child: Option<Child>,
    sock: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Agent {
    /// Waits for the agent to end (it must, within `limit`) and returns its exit code.
    fn wait(mut self, limit: Duration) -> i32 {
        let child = self.child.take().expect("running");
        wait_with_timeout(child, limit).status.code().unwrap_or(-1)
    }

    fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

/// Creates the socket's directory the way the agent would: 0700.
fn private_dir(sock: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(sock.parent().unwrap())
        .unwrap();
}

/// Points every run of `w` at a socket in the test's temp dir.
fn use_socket(w: &mut World) -> PathBuf {
    let sock = w.home.path().join("run").join("agent.sock");
    w.env.insert(
        "SCALEKIT_AUTH_AGENT_SOCK".into(),
        sock.display().to_string(),
    );
    sock
}

/// Starts `scalekit-auth agent ARGS` in the foreground and waits until it greets.
fn start(w: &World, sock: &Path, args: &[&str]) -> Agent {
    let mut all = vec!["agent"];
    all.extend_from_slice(args);
    let child = w
        .command(&all)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the agent starts");
    let agent = Agent {
        child: Some(child),
        sock: sock.to_owned(),
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if greets(sock) {
            return agent;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the agent did not answer on {}", sock.display());
}

fn greets(sock: &Path) -> bool {
    let Ok(stream) = UnixStream::connect(sock) else {
        return false;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.contains("scalekit-auth-agent")
}

fn count(requests: &[String], what: &str) -> usize {
    requests.iter().filter(|r| *r == what).count()
}

#[test]
fn a_warm_hit_costs_no_request_and_no_agent_bypasses_it() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);

    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{token}\n"));
    assert_eq!(run.stderr, "");
    assert_eq!(w.requests(), [TOKEN, AUTH], "the agent's one fetch");
    w.emu.clear_requests();

    for format in [&[][..], &["--json"], &["--header"]] {
        let mut args = vec!["token", "gmail"];
        args.extend_from_slice(format);
        let run = w.run(&args);
        run.assert_code(0);
        assert!(run.stdout.contains(&token), "{}", run.stdout);
        assert_eq!(run.stderr, "");
    }
    let doc = w.run(&["token", "gmail", "--json"]).json();
    assert_eq!(doc["access_token"], token.as_str());
    assert!(doc["expires_at"].is_string(), "{doc}");
    // exec goes through the same flow.
    let run = w.run(&[
        "exec",
        "gmail",
        "--",
        "sh",
        "-c",
        "printf %s \"$GMAIL_ACCESS_TOKEN\"",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout, token);
    assert!(w.requests().is_empty(), "warm hits: {:?}", w.requests());

    // --no-agent and SCALEKIT_AUTH_NO_AGENT=1 ask Scalekit as without an agent.
    w.run(&["token", "gmail", "--no-agent"]).assert_code(0);
    assert_eq!(w.requests(), [TOKEN, AUTH]);
    w.emu.clear_requests();
    w.env.insert("SCALEKIT_AUTH_NO_AGENT".into(), "1".into());
    w.run(&["token", "gmail"]).assert_code(0);
    assert_eq!(w.requests(), [TOKEN, AUTH]);
}

#[test]
fn fifty_concurrent_calls_on_a_cold_agent_cost_one_fetch() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);
    // Slower than a quick agent request (1.5 s) in all: waiting callers still get the one fetch.
    w.emu.set_latency(Duration::from_millis(1500));
    let children: Vec<Child> = (0..50)
        .map(|_| {
            w.command(&["token", "gmail"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = wait_with_timeout(child, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{token}\n"));
    }
    let requests = w.requests();
    assert_eq!(count(&requests, AUTH), 1, "{requests:?}");
    assert_eq!(count(&requests, TOKEN), 1, "{requests:?}");
}

#[test]
fn a_changed_mapping_or_secret_is_never_served_the_old_token() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let old = w.seed_active("gmail_u3134a", "mess");
    let new = w.seed_active("gmail_other", "mess");
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);
    w.run(&["token", "gmail"]).assert_code(0);

    w.run(&["config", "gmail", "gmail_other"]).assert_code(0);
    w.emu.clear_requests();
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{new}\n"));
    assert_eq!(count(&w.requests(), AUTH), 1);
    // The config change flushed the old entry too.
    let status = w.run(&["agent", "status", "--json"]);
    status.assert_code(0);
    let entries = status.json()["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["connection_name"], "gmail_other");
    assert!(!status.stdout.contains(&new) && !status.stdout.contains(&old));

    // Another client secret for the same environment: not served the cached token; the
    // agent's fetch with that secret fails, and so does the command's own.
    w.emu.clear_requests();
    w.env
        .insert("SCALEKIT_CLIENT_SECRET".into(), "a-wrong-secret-999".into());
    let run = w.run(&["token", "gmail"]);
    run.assert_code(3);
    assert!(!run.stdout.contains(&new), "{}", run.stdout);
    assert!(count(&w.requests(), TOKEN) >= 1);
}

#[test]
fn an_expiring_token_is_never_served_from_the_cache() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(45);
    assert!(w.emu.set_token_expiry("gmail_u3134a", "mess", Some(soon)));
    // 45 s left: the agent does not serve it; the command asks Scalekit itself.
    for _ in 0..2 {
        w.emu.clear_requests();
        w.run(&["token", "gmail"]).assert_code(0);
        assert!(count(&w.requests(), AUTH) >= 2, "{:?}", w.requests());
    }
    assert_eq!(
        w.run(&["agent", "status", "--json"]).json()["entries"],
        serde_json::json!([])
    );

    // 10 minutes left: served while --min-ttl asks for less, fetched again when it asks more.
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
    assert!(w.emu.set_token_expiry("gmail_u3134a", "mess", Some(later)));
    w.run(&["token", "gmail"]).assert_code(0);
    w.emu.clear_requests();
    w.run(&["token", "gmail", "--min-ttl", "300"])
        .assert_code(0);
    assert!(w.requests().is_empty(), "{:?}", w.requests());
    w.run(&["token", "gmail", "--min-ttl", "900"]);
    assert!(count(&w.requests(), AUTH) >= 1, "{:?}", w.requests());
}

#[test]
fn a_disconnected_or_inactive_account_is_flushed() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_1")]);
    let gmail = w.seed_active("gmail_u3134a", "mess");
    w.seed_active("slack_1", "mess");
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);
    w.run(&["token", "gmail", "slack"]).assert_code(0);
    let entries = |w: &World| {
        w.run(&["agent", "status", "--json"]).json()["entries"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(entries(&w), 2);

    // `status` seeing a non-ACTIVE account flushes it.
    assert!(w.emu.set_status("slack_1", "mess", "EXPIRED"));
    w.run(&["status", "slack"]).assert_code(4);
    assert_eq!(entries(&w), 1);
    let run = w.run(&["token", "slack"]);
    run.assert_code(4);

    // `remove --disconnect` flushes before anything else.
    w.run(&["remove", "gmail", "--disconnect", "--yes"])
        .assert_code(0);
    assert_eq!(entries(&w), 0);
    w.run(&["config", "gmail", "gmail_u3134a"]).assert_code(0);
    let run = w.run(&["token", "gmail"]);
    run.assert_code(4);
    assert!(!run.stdout.contains(&gmail));
}

#[test]
fn killing_the_agent_mid_request_leaves_clients_working() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    let agent = start(&w, &sock, &[]);
    w.emu.set_latency(Duration::from_millis(800));
    let child = w
        .command(&["token", "gmail"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    agent.kill();
    let out = wait_with_timeout(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{token}\n"));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");

    // The killed agent's socket file is still there: commands ignore it at once, and a new
    // agent starts over it.
    assert!(sock.exists());
    w.emu.set_latency(Duration::ZERO);
    let started = Instant::now();
    w.run(&["token", "gmail"]).assert_code(0);
    assert!(started.elapsed() < Duration::from_secs(2));
    let _agent = start(&w, &sock, &[]);
    w.run(&["agent", "status"]).assert_code(0);
}

/// A listener on the agent's socket that greets every connection with `greeting` (or says
/// nothing) and never answers a request.
fn impostor(sock: &Path, greeting: Option<&'static str>) -> std::thread::JoinHandle<()> {
    std::fs::create_dir_all(sock.parent().unwrap()).unwrap();
    let listener = UnixListener::bind(sock).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            if let Some(greeting) = greeting {
                let _ = stream.write_all(greeting.as_bytes());
            }
            held.push(stream);
        }
    })
}

#[test]
fn a_garbled_silent_or_other_version_socket_is_ignored() {
    for greeting in [
        Some("\x1b]52;c;aGVsbG8=\x07 garbage\n"),
        None,
        Some("{\"agent\":\"scalekit-auth-agent\",\"v\":99,\"key\":\"00\",\"pid\":1}\n"),
        Some("{\"agent\":\"scalekit-auth-agent\",\"v\":1,\"key\":\"00\",\"pid\":1}\n"),
    ] {
        let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
        let token = w.seed_active("gmail_u3134a", "mess");
        let sock = use_socket(&mut w);
        let _listener = impostor(&sock, greeting);
        let started = Instant::now();
        let run = w.run(&["token", "gmail"]);
        run.assert_code(0);
        assert_eq!(run.stdout, format!("{token}\n"));
        assert_eq!(run.stderr, "");
        assert_eq!(w.requests(), [TOKEN, AUTH], "{greeting:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{greeting:?}: {:?}",
            started.elapsed()
        );
        // `agent status` says what is wrong, escaped, and exits 1.
        let run = w.run(&["agent", "status"]);
        run.assert_code(1);
        assert!(!run.stderr.contains('\x1b'), "{}", run.stderr);
        if greeting.is_some_and(|g| g.contains("99")) {
            assert!(run.stderr.contains("protocol version 99"), "{}", run.stderr);
        }
    }
}

#[test]
fn a_dead_socket_is_ignored_and_status_stop_flush_without_an_agent() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    private_dir(&sock);
    drop(UnixListener::bind(&sock).unwrap());
    let started = Instant::now();
    w.run(&["token", "gmail"]).assert_code(0);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(w.requests(), [TOKEN, AUTH]);

    let run = w.run(&["agent", "status"]);
    run.assert_code(1);
    assert!(run.stderr.contains("no agent is running"), "{}", run.stderr);
    assert!(
        run.stderr.contains("scalekit-auth agent --detach"),
        "{}",
        run.stderr
    );
    w.run(&["agent", "stop"]).assert_code(0);
    w.run(&["agent", "flush"]).assert_code(0);
    // A regular file where the socket belongs is left alone.
    std::fs::remove_file(&sock).unwrap();
    std::fs::write(&sock, "keep me").unwrap();
    let run = w.run(&["agent"]);
    run.assert_code(1);
    assert!(run.stderr.contains("not a socket"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&sock).unwrap(), "keep me");
}

#[test]
fn status_flush_and_stop() {
    use std::os::unix::fs::PermissionsExt;
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    let agent = start(&w, &sock, &[]);
    // The directory and the socket are private.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(sock.parent().unwrap()), 0o700);
    assert_eq!(mode(&sock), 0o600);

    w.run(&["token", "gmail"]).assert_code(0);
    let run = w.run(&["agent", "status"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("gmail") && run.stdout.contains("mess"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token));
    let doc = w.run(&["agent", "status", "--json"]).json();
    assert_eq!(doc["entries"][0]["service"], "gmail");
    assert_eq!(doc["entries"][0]["identifier"], "mess");
    assert!(doc["pid"].is_u64());

    let run = w.run(&["agent", "flush"]);
    run.assert_code(0);
    assert!(run.stderr.contains("flushed 1"), "{}", run.stderr);
    w.emu.clear_requests();
    w.run(&["token", "gmail"]).assert_code(0);
    assert_eq!(w.requests(), [AUTH], "the agent keeps its API token");

    // Starting a second agent on a live socket is refused; the first keeps running.
    let run = w.run(&["agent"]);
    run.assert_code(1);
    assert!(run.stderr.contains("already running"), "{}", run.stderr);

    w.run(&["agent", "stop"]).assert_code(0);
    assert!(!agent.sock.exists(), "the socket is removed");
    assert_eq!(agent.wait(Duration::from_secs(5)), 0);
}

#[test]
fn idle_timeout_and_lifetime_end_the_agent_cleanly() {
    for args in [["--idle-timeout", "1s"], ["--max-lifetime", "2s"]] {
        let mut w = World::configured(&[]);
        let sock = use_socket(&mut w);
        let agent = start(&w, &sock, &args);
        assert_eq!(agent.wait(Duration::from_secs(10)), 0, "{args:?}");
        assert!(!sock.exists(), "{args:?}");
    }
    let w = World::configured(&[]);
    let run = w.run(&["agent", "--idle-timeout", "soon"]);
    run.assert_code(2);
}

#[test]
fn detach_starts_it_in_the_background() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    let run = w.run(&["agent", "--detach", "--idle-timeout", "30s"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(greets(&sock));
    w.run(&["agent", "--detach"]).assert_code(0);
    w.run(&["token", "gmail"]).assert_code(0);
    w.emu.clear_requests();
    w.run(&["token", "gmail"]).assert_code(0);
    assert!(w.requests().is_empty());
    w.run(&["agent", "stop"]).assert_code(0);
    assert!(!sock.exists());
}

#[test]
fn a_providers_401_through_request_flushes_the_account() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.set_upstream(Some("/_emulator/echo".into()));
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);
    w.run(&["token", "gmail"]).assert_code(0);
    let entries = |w: &World| w.run(&["agent", "status", "--json"]).json()["entries"].clone();
    assert_eq!(entries(&w).as_array().unwrap().len(), 1);
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        status: Some(401),
        body: Some(FaultBody::Json(
            serde_json::json!({"error": "invalid_token"}),
        )),
        ..Fault::default()
    });
    w.run(&["request", "gmail", "GET", "/x"]).assert_code(1);
    assert_eq!(entries(&w), serde_json::json!([]));
}

#[test]
fn a_socket_directory_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mut w = World::configured(&[]);
    let sock = use_socket(&mut w);
    std::fs::create_dir(sock.parent().unwrap()).unwrap();
    std::fs::set_permissions(
        sock.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let run = w.run(&["agent"]);
    run.assert_code(1);
    assert!(run.stderr.contains("0700"), "{}", run.stderr);
    assert!(!sock.exists());
}

/// A non-dumpable process's /proc files belong to root (`proc(5)`, `PR_SET_DUMPABLE`).
#[cfg(target_os = "linux")]
#[test]
fn the_agent_is_not_dumpable() {
    use std::os::unix::fs::MetadataExt;
    let mut w = World::configured(&[]);
    let sock = use_socket(&mut w);
    let agent = start(&w, &sock, &[]);
    let pid = agent.child.as_ref().unwrap().id();
    let owner = std::fs::metadata(format!("/proc/{pid}/environ"))
        .unwrap()
        .uid();
    assert_eq!(owner, 0, "/proc/{pid}/environ belongs to root");
}

#[test]
fn authorize_force_flushes_the_account() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);
    w.run(&["token", "gmail"]).assert_code(0);
    let entries = |w: &World| w.run(&["agent", "status", "--json"]).json()["entries"].clone();
    assert_eq!(entries(&w).as_array().unwrap().len(), 1);
    w.run(&["authorize", "gmail", "--force", "--no-wait"]);
    assert_eq!(entries(&w), serde_json::json!([]));
}

#[test]
fn request_through_a_warm_agent_costs_only_the_proxy_call() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.set_upstream(Some("/_emulator/echo".into()));
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);
    // Cold: the agent fetches the API token once, for this and every later call.
    w.run(&["request", "gmail", "GET", "/x"]).assert_code(0);
    assert_eq!(count(&w.requests(), TOKEN), 1, "{:?}", w.requests());
    w.emu.clear_requests();
    let run = w.run(&["request", "gmail", "GET", "/x"]);
    run.assert_code(0);
    assert_eq!(w.requests(), ["GET /proxy/x"]);
    // An API token that expired meanwhile: one new one, as without an agent.
    w.emu.expire_api_tokens();
    w.emu.clear_requests();
    w.run(&["request", "gmail", "GET", "/x"]).assert_code(0);
    assert_eq!(count(&w.requests(), TOKEN), 1, "{:?}", w.requests());
}

/// Runs `script` with `/usr/bin/python3` as the user nobody, when this test runs as root with
/// `setpriv`; `None` otherwise (the uid checks are then unit-tested only).
fn as_nobody(script: &str) -> Option<Child> {
    let root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    let tools = Path::new("/usr/bin/setpriv").exists() && Path::new("/usr/bin/python3").exists();
    if !root || !tools {
        eprintln!("skipped: needs root, /usr/bin/setpriv and /usr/bin/python3 for a second user");
        return None;
    }
    let child = std::process::Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["/usr/bin/python3", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Some(child)
}

/// A temp dir any user may write in (for the second user's socket).
fn shared_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

#[test]
fn another_user_is_refused_by_the_agent_and_its_agent_by_clients() {
    use std::os::unix::fs::PermissionsExt;
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");

    // The agent: even with its socket opened up, another user gets no greeting.
    let private = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let sock = private.path().join("agent.sock");
    w.env.insert(
        "SCALEKIT_AUTH_AGENT_SOCK".into(),
        sock.display().to_string(),
    );
    let agent = start(&w, &sock, &[]);
    // Opened up behind the agent's back, as a careless admin might.
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let probe = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({:?})\ns.settimeout(5)\n\
         print(repr(s.recv(4096)))",
        sock.display().to_string()
    );
    let Some(child) = as_nobody(&probe) else {
        return;
    };
    let out = wait_with_timeout(child, Duration::from_secs(10));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "b''",
        "{out:?}"
    );
    drop(agent);

    // Another user's "agent" that would hand out its own token: never trusted.
    let evil = shared_dir();
    let sock = evil.path().join("agent.sock");
    w.env.insert(
        "SCALEKIT_AUTH_AGENT_SOCK".into(),
        sock.display().to_string(),
    );
    let impostor = format!(
        "import os, socket, sys\n\
         s = socket.socket(socket.AF_UNIX)\ns.bind({:?})\nos.chmod({:?}, 0o666)\ns.listen(8)\n\
         print('ready', flush=True)\n\
         hello = b'{{\"agent\":\"scalekit-auth-agent\",\"v\":1,\"key\":\"00\",\"pid\":1}}\\n'\n\
         token = b'{{\"v\":1,\"items\":[{{\"token\":{{\"access_token\":\"EVIL-TOKEN\",\
         \"expires_at\":9999999999,\"scopes\":[],\"authorization_type\":\"OAUTH\"}}}}]}}\\n'\n\
         while True:\n    c, _ = s.accept()\n    try:\n        c.sendall(hello)\n        \
         c.recv(65536)\n        c.sendall(token)\n    except OSError:\n        pass\n",
        sock.display().to_string(),
        sock.display().to_string()
    );
    let mut child = as_nobody(&impostor).expect("checked above");
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    w.emu.clear_requests();
    let run = w.run(&["token", "gmail"]);
    let status = w.run(&["agent", "status"]);
    let _ = child.kill();
    let _ = child.wait();
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{token}\n"));
    assert_eq!(w.requests(), [TOKEN, AUTH]);
    status.assert_code(1);
    assert!(status.stderr.contains("another user"), "{}", status.stderr);
}

#[test]
fn tools_run_through_a_warm_agent_costs_only_the_tool_call() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let sock = use_socket(&mut w);
    let _agent = start(&w, &sock, &[]);
    let args = [
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "--no-check",
        "--json",
    ];
    w.run(&args).assert_code(0);
    w.emu.clear_requests();
    w.run(&args).assert_code(0);
    assert_eq!(w.requests(), ["POST /api/v1/execute_tool"]);
    assert_eq!(w.emu.executions().len(), 2, "each run executes once");
}

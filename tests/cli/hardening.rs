//! Hardening: the client's environment (proxies, CA store), load with faults, crash safety of
//! the files, stale locks.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scalekit_emulator::Fault;

use crate::harness::{SECRET, World, wait_with_timeout};

/// A loopback listener that counts the connections it gets and answers each with a 502.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, hits)
}

#[test]
fn a_proxy_from_the_environment_never_sees_loopback_requests() {
    // Plain http is allowed only to loopback; a proxy would get the client secret and the
    // tokens in clear text (and could not reach our loopback anyway).
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let (proxy, hits) = counting_listener();
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        w.env.insert(var.into(), proxy.clone());
    }
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the proxy got a connection");
    assert_eq!(w.requests().len(), 2);
}

#[test]
fn a_machine_without_ca_certificates_still_reaches_a_loopback_emulator() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let nowhere = w.home.path().join("no-such-ca-store");
    w.env
        .insert("SSL_CERT_FILE".into(), nowhere.display().to_string());
    w.env
        .insert("SSL_CERT_DIR".into(), nowhere.display().to_string());
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);

    // With https the CA store is needed: a clear error (exit 1) that says what to do, and
    // no request.
    w.redirect("https://127.0.0.1:9");
    let run = w.run(&["token", "gmail"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("CA certificates") && run.stderr.contains("SSL_CERT_FILE"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("builder error"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

/// A small deterministic random source (xorshift), seeded from the clock; the seed is printed
/// so that a failing run can be replayed with `HARDENING_SEED`.
struct Rng(u64);

impl Rng {
    fn from_env_or_clock() -> Self {
        let seed = std::env::var("HARDENING_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    .wrapping_mul(1_000_000_007)
                    .wrapping_add(u64::from(std::process::id()))
            })
            | 1;
        eprintln!("HARDENING_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The mappings `list --json` reads back (which also proves the file parses: a malformed
/// config.toml is exit 3).
fn mappings(w: &World) -> BTreeMap<String, String> {
    let run = w.run(&["list", "--json"]);
    run.assert_code(0);
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["service"].as_str().unwrap().to_owned(),
                m["connection_name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Files in the config directory whose names end in `.tmp`.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
        .collect()
}

#[test]
fn a_config_write_killed_at_random_points_leaves_the_old_or_the_new_file() {
    let w = World::configured(&[]);
    // Some bulk, so that a write takes long enough to be killed in the middle of it.
    for i in 0..40 {
        w.run(&["config", &format!("base{i}"), &format!("base_conn_{i}")])
            .assert_code(0);
    }
    let mut confirmed = mappings(&w);
    let mut rng = Rng::from_env_or_clock();
    let mut strays = 0;
    for i in 0..60 {
        let service = format!("svc{i}");
        let connection = format!("conn_{i}");
        let mut child = w
            .command(&["config", &service, &connection])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        // The file parses (list exits 0) and is the old one or the new one.
        let now = mappings(&w);
        let mut with_new = confirmed.clone();
        with_new.insert(service.clone(), connection.clone());
        assert!(
            now == confirmed || now == with_new,
            "after a kill ({status}) in round {i}, config.toml is neither the old nor the new \
             file:\n{}",
            w.config_toml()
        );
        if status.success() {
            assert_eq!(now, with_new, "a write that reported success is there");
        }
        confirmed = now;
        strays += temp_files(&w.config_dir).len();
    }
    eprintln!("{strays} stray temporary files seen over the rounds");
    // Whatever a killed writer left behind, later writes work and clean it up.
    w.run(&["config", "after", "after_conn"]).assert_code(0);
    confirmed.insert("after".into(), "after_conn".into());
    assert_eq!(mappings(&w), confirmed);
    assert_eq!(temp_files(&w.config_dir), Vec::<String>::new());
}

#[test]
fn orphaned_temporary_files_are_removed_by_the_next_write_and_break_nothing() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    // What a writer killed between creating and renaming its temporary file leaves: a
    // half-written config and a complete credentials file holding the secret.
    crate::harness::write(
        &w.path(".config.toml.a1B2c3.tmp"),
        "[services.gmail]\nconnection_name = \"tor",
    );
    crate::harness::write(
        &w.path(".credentials.toml.Zz9Yy8.tmp"),
        &format!("client_secret = \"{SECRET}\"\n"),
    );
    crate::harness::write(&w.path("notes.tmp"), "the user's own file");
    // Readers do not care.
    assert_eq!(mappings(&w).len(), 1);
    // The next writer removes the orphans (only its own kind of file).
    w.run(&["config", "slack", "slack_x7y9z"]).assert_code(0);
    assert_eq!(temp_files(&w.config_dir), ["notes.tmp"]);
    assert_eq!(mappings(&w).len(), 2);
}

/// Whether some process holds the config directory's write lock (probed with a
/// non-blocking `flock` on our own open file description, released at once).
fn lock_is_held(lock: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(lock)
    else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            file.unlock().unwrap();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(e)) => panic!("flock: {e}"),
    }
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

#[test]
fn a_killed_lock_holder_does_not_block_the_next_writer() {
    let w = World::configured(&[]);
    // A large config.toml makes the read-edit-write under the lock long enough to catch.
    let mut big = String::from("[scalekit]\nidentifier = \"mess\"\n");
    for i in 0..3000 {
        big.push_str(&format!("\n[services.s{i}]\nconnection_name = \"c{i}\"\n"));
    }
    crate::harness::write(&w.path("config.toml"), &big);
    let lock = w.path(".lock");
    w.run(&["config", "warmup", "warmup_conn"]).assert_code(0);

    // Stop a real `config` while it holds the lock (mid-write).
    let mut holder = None;
    for _ in 0..50 {
        let mut child = w
            .command(&["config", "holder", "holder_conn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(10) {
            if lock_is_held(&lock) {
                signal(&child, "-STOP");
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        if child.try_wait().unwrap().is_none() && lock_is_held(&lock) {
            holder = Some(child);
            break;
        }
        // It finished (or released the lock) before we caught it: try again.
        signal(&child, "-CONT");
        let _ = child.wait();
    }
    let mut holder = holder.expect("caught a config process holding the lock");

    // The next writer waits for the lock…
    let waiter = w
        .command(&["config", "waiter", "waiter_conn"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(lock_is_held(&lock));
    // …and gets it as soon as the holder dies without unlocking.
    holder.kill().unwrap(); // SIGKILL, delivered to a stopped process too
    holder.wait().unwrap();
    let out = wait_with_timeout(waiter, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = mappings(&w);
    assert_eq!(now["waiter"], "waiter_conn");
    assert_eq!(now["s2999"], "c2999");
    assert!(!now.contains_key("holder"), "the killed write never landed");
    assert_eq!(temp_files(&w.config_dir), Vec::<String>::new());
}

#[test]
fn fifty_concurrent_tokens_under_random_429_and_503() {
    const PROCESSES: usize = 50;
    const SERVICES: [(&str, &str); 5] = [
        ("gmail", "gmail_u3134a"),
        ("slack", "slack_x7y9z"),
        ("github", "github_q1"),
        ("notion", "notion_w2"),
        ("drive", "gdrive_e3"),
    ];
    let w = World::configured(&SERVICES);
    let tokens: BTreeMap<&str, String> = SERVICES
        .iter()
        .map(|(service, connection)| (*service, w.seed_active(connection, "mess")))
        .collect();
    let snapshot = |w: &World| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&w.config_dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().into_string().unwrap();
                (name, std::fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(&w);

    // Random faults, consumed in order by whichever requests come first: about three per
    // request, so that some processes get through and some run out of attempts.
    let mut rng = Rng::from_env_or_clock();
    for path in ["/oauth/token", "/api/v1/connected_accounts/auth"] {
        for _ in 0..150 {
            let status = if rng.below(2) == 0 { 429 } else { 503 };
            w.emu.queue_fault(Fault {
                path: path.into(),
                count: 1,
                status: Some(status),
                retry_after: (rng.below(5) == 0).then_some(1),
                no_body: rng.below(4) == 0,
                ..Fault::default()
            });
        }
    }

    let w = Arc::new(w);
    let started = Instant::now();
    let runs: Vec<_> = (0..PROCESSES)
        .map(|i| {
            let w = Arc::clone(&w);
            // One to three services per process, in varying order.
            let wanted: Vec<&str> = (0..=(i % 3))
                .map(|k| SERVICES[(i + k * 2) % SERVICES.len()].0)
                .collect();
            std::thread::spawn(move || {
                let mut args = vec!["token"];
                args.extend(&wanted);
                let t = Instant::now();
                let run = w.run(&args);
                (wanted, run, t.elapsed())
            })
        })
        .collect();
    let (mut ok, mut unreachable) = (0, 0);
    for handle in runs {
        let (wanted, run, elapsed) = handle.join().unwrap();
        // Two requests per process, each with a 30 s retry budget: a generous bound.
        assert!(
            elapsed < Duration::from_secs(65),
            "{wanted:?} took {elapsed:?}"
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        match run.code {
            0 => {
                let expected: Vec<&str> = wanted.iter().map(|s| tokens[s].as_str()).collect();
                assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
                ok += 1;
            }
            5 => {
                assert_eq!(run.stdout, "", "exit 5 prints no token");
                assert!(run.stderr.contains("error: "), "{}", run.stderr);
                unreachable += 1;
            }
            _ => panic!("{wanted:?}: {run:?}"),
        }
    }
    eprintln!(
        "{ok} succeeded, {unreachable} exited 5, in {:?}",
        started.elapsed()
    );
    assert!(ok > 0, "the faults run out, so some must succeed");
    // Nothing in the config directory changed, and it still reads.
    assert_eq!(snapshot(&w), before, "token writes nothing");
    assert_eq!(mappings(&w).len(), SERVICES.len());
}

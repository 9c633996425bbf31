//! `authorize`: get-or-create, the link, the QR code, waiting, re-minting, verification.

use std::time::Duration;

use scalekit_emulator::{Emulator, Options, SeedAccount};

use crate::harness::{Run, World};

/// Approves the `n`-th link (1-based) as soon as it exists.
fn approve_nth(emu: &Emulator, n: usize) {
    for _ in 0..400 {
        let links = emu.magic_links();
        if links.len() >= n {
            assert!(emu.approve_link(&links[n - 1].link));
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no link number {n} appeared");
}

fn run_while(w: &World, args: &[&str], approve: impl FnOnce(&Emulator) + Send) -> Run {
    std::thread::scope(|scope| {
        scope.spawn(|| approve(&w.emu));
        w.run(args)
    })
}

#[test]
fn first_time_no_wait_costs_four_requests_and_prints_the_link() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["authorize", "gmail", "--no-wait", "--json"]);
    run.assert_code(4);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/connected_accounts/details",
            "POST /api/v1/connected_accounts",
            "POST /api/v1/connected_accounts/magic_link",
        ]
    );
    let doc = run.json();
    let link = w.emu.magic_links()[0].link.clone();
    assert_eq!(doc["service"], "gmail");
    assert_eq!(doc["connection_name"], "gmail_u3134a");
    assert_eq!(doc["identifier"], "mess");
    assert_eq!(doc["status"], "PENDING_AUTH");
    assert_eq!(doc["link"], link.as_str());
    assert!(doc["link_expires_at"].as_str().unwrap().ends_with('Z'));
    // stderr: service, connection, identifier, the link on its own line, the expiry.
    assert!(run.stderr.lines().any(|l| l == link), "{}", run.stderr);
    for needle in ["gmail", "gmail_u3134a", "mess", "expires"] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    // Not a terminal: no QR code unless asked for.
    assert!(!run.stderr.contains('█'));
}

#[test]
fn an_active_account_needs_nothing() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["authorize", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("already authorized"), "{}", run.stderr);
    assert!(w.emu.magic_links().is_empty());
    let run = w.run(&["authorize", "gmail", "--json"]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!({"service": "gmail", "connection_name": "gmail_u3134a", "identifier": "mess", "status": "ACTIVE"})
    );
}

#[test]
fn waits_for_approval_polling_details_never_auth() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = run_while(&w, &["authorize", "gmail", "--json"], |emu| {
        approve_nth(emu, 1);
    });
    run.assert_code(0);
    assert!(run.stderr.contains("gmail authorized"), "{}", run.stderr);
    assert_eq!(
        run.json(),
        serde_json::json!({"service": "gmail", "connection_name": "gmail_u3134a", "identifier": "mess", "status": "ACTIVE"})
    );
    assert!(
        w.requests().iter().all(|r| !r.ends_with("/auth")),
        "{:?}",
        w.requests()
    );
    assert_eq!(
        w.emu.account("gmail_u3134a", "mess").unwrap()["status"],
        "ACTIVE"
    );
}

#[test]
fn times_out_with_exit_4() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["authorize", "gmail", "--timeout", "1"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    let run = w.run(&["authorize", "gmail", "--timeout", "1", "--json"]);
    run.assert_code(4);
    assert_eq!(run.json()["error"]["code"], "authorization_required");
}

#[test]
fn the_poll_interval_knob_sets_the_pace_and_a_malformed_one_is_exit_2() {
    // 1 s of waiting at the harness's 100 ms: several polls (at the default 2 s: none).
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.run(&["authorize", "gmail", "--timeout", "1"])
        .assert_code(4);
    let polls = w
        .requests()
        .iter()
        .filter(|r| r.ends_with("/connected_accounts/details"))
        .count();
    assert!(polls >= 4, "{:?}", w.requests());

    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    for bad in ["2s", "0", "60001", " 5", "-1"] {
        w.env
            .insert("SCALEKIT_AUTH_POLL_INTERVAL_MS".into(), bad.into());
        let run = w.run(&["authorize", "gmail", "--timeout", "5", "--json"]);
        run.assert_code(2);
        assert_eq!(
            run.json()["error"]["message"],
            format!(
                "SCALEKIT_AUTH_POLL_INTERVAL_MS must be a whole number of milliseconds from 1 \
                 to 60000, not {bad:?}"
            ),
            "{bad}"
        );
    }
}

#[test]
fn an_expired_link_is_replaced_and_printed_again() {
    let w = World::with_options(Options {
        link_ttl: Duration::from_secs(1),
        ..Options::default()
    });
    w.init();
    w.run(&["config", "gmail", "gmail_u3134a"]).assert_code(0);
    let run = run_while(&w, &["authorize", "gmail", "--timeout", "30"], |emu| {
        approve_nth(emu, 2);
    });
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    let links = w.emu.magic_links();
    assert!(links.len() >= 2);
    assert!(
        run.stderr.contains(&links[0].link) && run.stderr.contains(&links[1].link),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
}

#[test]
fn pending_verification_keeps_waiting_and_says_why() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.set_verification_mode(true);
    let run = run_while(&w, &["authorize", "gmail", "--timeout", "30"], |emu| {
        approve_nth(emu, 1);
        assert_eq!(
            emu.account("gmail_u3134a", "mess").unwrap()["status"],
            "PENDING_VERIFICATION"
        );
        std::thread::sleep(Duration::from_millis(2500));
        emu.set_status("gmail_u3134a", "mess", "ACTIVE");
    });
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("PENDING_VERIFICATION"),
        "{}",
        run.stderr
    );

    // Already pending verification: no new link, just waiting.
    w.emu
        .set_status("gmail_u3134a", "mess", "PENDING_VERIFICATION");
    let links_before = w.emu.magic_links().len();
    let run = w.run(&["authorize", "gmail", "--force", "--timeout", "1"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    assert_eq!(w.emu.magic_links().len(), links_before);
}

#[test]
fn force_reauthorizes_an_active_account() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let before = w.seed_active("gmail_u3134a", "mess");
    let run = run_while(
        &w,
        &["authorize", "gmail", "--force", "--timeout", "30"],
        |emu| approve_nth(emu, 1),
    );
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert_ne!(w.access_token("gmail_u3134a", "mess"), before);
}

#[test]
fn the_qr_code_decodes_to_the_link() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["authorize", "gmail", "--no-wait", "--qr"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    let link = w.emu.magic_links()[0].link.clone();
    let qr: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| "█▀▄ ".contains(c)))
        .collect();
    assert!(qr.len() > 10, "{}", run.stderr);
    assert_eq!(decode_half_blocks(&qr), link);
    w.run(&["authorize", "gmail", "--no-wait", "--qr", "--no-qr"])
        .assert_code(2);
}

/// Turns a half-block rendering back into pixels and decodes it with rqrr. Glyph cells are
/// light modules (the renderer draws for dark terminals), blanks are dark.
fn decode_half_blocks(lines: &[&str]) -> String {
    const SCALE: usize = 6;
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap();
    let height = lines.len() * 2;
    let mut light = vec![vec![false; width]; height];
    for (row, line) in lines.iter().enumerate() {
        for (col, c) in line.chars().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            };
            light[row * 2][col] = top;
            light[row * 2 + 1][col] = bottom;
        }
    }
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width * SCALE, height * SCALE, |x, y| {
            if light[y / SCALE][x / SCALE] { 255 } else { 0 }
        });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("the QR code decodes").1
}

/// Every file in the config directory with its bytes and mode, sorted.
fn dir_snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let mode = e.metadata().unwrap().permissions().mode();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap_or_default(), mode)
        })
        .collect();
    files.sort();
    files
}

/// The pids whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                // "pid (comm) state ppid …"; comm may contain spaces, so split after ')'.
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

#[test]
fn ctrl_c_while_waiting_exits_130() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let before = dir_snapshot(&w.config_dir);
    let mut cmd = w.command(&["authorize", "gmail", "--timeout", "60"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    for _ in 0..100 {
        if !w.emu.magic_links().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // It waits without helpers: no child process to leave behind.
    assert_eq!(children_of(child.id()), Vec::<u32>::new());
    let out = crate::harness::interrupt(child);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing left behind: the config directory is exactly as it was (no temp file, no
    // changed mode).
    assert_eq!(dir_snapshot(&w.config_dir), before);
}

#[test]
fn pending_account_seeded_gets_a_link_without_create() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.seed(SeedAccount {
        connector: "gmail_u3134a".into(),
        identifier: "mess".into(),
        status: Some("EXPIRED".into()),
        ..SeedAccount::default()
    });
    w.run(&["authorize", "gmail", "--no-wait"]).assert_code(4);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/connected_accounts/details",
            "POST /api/v1/connected_accounts/magic_link"
        ]
    );
}

#[test]
fn ctrl_c_after_the_approval_while_the_token_is_fetched_exits_130() {
    use scalekit_emulator::Fault;
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let mut cmd = w.command(&["token", "gmail", "--wait", "--timeout", "60"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let link = loop {
        if let Some(link) = w.emu.magic_links().last() {
            break link.link.clone();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The fetch after the approval hangs (until --http-timeout, 30 s by default).
    w.emu.queue_fault(Fault {
        path: "/api/v1/connected_accounts/auth".into(),
        count: 1,
        hang: true,
        ..Fault::default()
    });
    assert!(w.emu.approve_link(&link));
    let hung = || {
        w.logged()
            .iter()
            .any(|r| r.path == "/api/v1/connected_accounts/auth" && r.status == 0)
    };
    let started = std::time::Instant::now();
    while !hung() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            w.requests()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = crate::harness::interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("error: interrupted"), "{stderr}");
}

#[test]
fn ctrl_c_during_a_request_exits_130() {
    use scalekit_emulator::Fault;
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(Fault {
        path: "/api/v1/connected_accounts/auth".into(),
        count: 1,
        hang: true,
        ..Fault::default()
    });
    let mut cmd = w.command(&["token", "gmail"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    while !w.logged().iter().any(|r| r.status == 0) {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = crate::harness::interrupt(child);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

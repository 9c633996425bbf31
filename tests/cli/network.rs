//! Network behaviour: retries, Retry-After, timeouts, 401 re-auth, 404, refused URLs, -v.

use std::time::Duration;

use scalekit_emulator::Fault;

use crate::harness::{SECRET, World, assert_no_secret};

const AUTH: &str = "/api/v1/connected_accounts/auth";

fn fault(path: &str, count: u32, status: u16) -> Fault {
    Fault {
        path: path.into(),
        count,
        status: Some(status),
        ..Fault::default()
    }
}

fn auth_attempts(w: &World) -> Vec<(u16, u64)> {
    w.logged()
        .iter()
        .filter(|r| r.path == AUTH)
        .map(|r| (r.status, r.at_ms))
        .collect()
}

#[test]
fn retries_503_then_succeeds() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(fault(AUTH, 2, 503));
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
    let statuses: Vec<u16> = auth_attempts(&w).iter().map(|a| a.0).collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[test]
fn honours_retry_after_on_429_even_without_a_body() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(Fault {
        retry_after: Some(2),
        no_body: true,
        ..fault(AUTH, 1, 429)
    });
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    let attempts = auth_attempts(&w);
    assert_eq!(attempts.len(), 2);
    let gap = attempts[1].1 - attempts[0].1;
    assert!(gap >= 1900, "waited only {gap} ms for Retry-After: 2");
}

#[test]
fn gives_up_after_four_attempts_with_exit_5() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(fault(AUTH, 10, 502));
    let run = w.run(&["token", "gmail"]);
    run.assert_code(5);
    assert_eq!(auth_attempts(&w).len(), 4);
    assert!(run.stderr.contains("502"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let run = w.run(&["token", "gmail", "--json"]);
    run.assert_code(5);
    assert_eq!(run.json()["error"]["code"], "unreachable");
}

#[test]
fn a_retry_after_beyond_the_budget_gives_up_at_once() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(Fault {
        retry_after: Some(3600),
        ..fault(AUTH, 1, 503)
    });
    let run = w.run(&["token", "gmail"]);
    run.assert_code(5);
    assert_eq!(auth_attempts(&w).len(), 1);
}

#[test]
fn a_hung_request_times_out_and_is_retried() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(Fault {
        path: AUTH.into(),
        count: 1,
        hang: true,
        ..Fault::default()
    });
    let run = w.run(&["token", "gmail", "--http-timeout", "1"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
    assert_eq!(auth_attempts(&w).len(), 2);
}

#[test]
fn hangs_on_every_attempt_end_in_exit_5_within_the_budget() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(Fault {
        path: AUTH.into(),
        count: 10,
        hang: true,
        ..Fault::default()
    });
    w.env
        .insert("SCALEKIT_AUTH_HTTP_TIMEOUT".into(), "0.5".into());
    let started = std::time::Instant::now();
    let run = w.run(&["token", "gmail"]);
    run.assert_code(5);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
}

#[test]
fn a_401_fetches_a_new_api_token_once() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(fault(AUTH, 1, 401));
    w.run(&["token", "gmail"]).assert_code(0);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            format!("GET {AUTH}").as_str(),
            "POST /oauth/token",
            format!("GET {AUTH}").as_str()
        ]
    );

    w.emu.clear_requests();
    w.emu.queue_fault(fault(AUTH, 2, 401));
    let run = w.run(&["token", "gmail"]);
    run.assert_code(3);
    assert_eq!(w.requests().len(), 4, "{:?}", w.requests());
}

#[test]
fn a_404_is_an_answer_never_retried() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.run(&["status", "gmail"]).assert_code(4);
    let details = w
        .requests()
        .iter()
        .filter(|r| r.ends_with("/details"))
        .count();
    assert_eq!(details, 1);
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.env.insert(
        "SCALEKIT_ENV_URL".into(),
        "http://scalekit.example.com".into(),
    );
    let run = w.run(&["token", "gmail"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("http://scalekit.example.com"),
        "{}",
        run.stderr
    );
    assert!(w.requests().is_empty());
    let run = w.run(&[
        "init",
        "--env-url",
        "http://10.0.0.8:8080",
        "--client-id",
        "x",
        "--no-verify",
    ]);
    run.assert_code(2);
}

#[test]
fn connection_refused_is_exit_5() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    w.redirect(&format!("http://127.0.0.1:{port}"));
    let run = w.run(&["token", "gmail"]);
    run.assert_code(5);
    assert!(
        run.stderr.contains("cannot reach Scalekit"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("safe to retry"), "{}", run.stderr);
}

#[test]
fn verbose_prints_one_line_per_request_without_secrets_or_queries() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["token", "gmail", "-v"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with("http: POST /oauth/token 200 ") && lines[0].ends_with("ms"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!("http: GET {AUTH} 200 ")),
        "{}",
        lines[1]
    );
    assert!(
        !run.stderr.contains('?') && !run.stderr.contains("mess"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run.stderr, &[SECRET, &token]);
}

#[test]
fn an_api_token_expired_mid_run_is_replaced_once() {
    // The lookup is held for a moment; meanwhile Scalekit (the emulator) expires every API
    // token it issued, so the lookup is answered 401 and the CLI re-authenticates once.
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(Fault {
        path: AUTH.into(),
        count: 1,
        delay_ms: Some(1000),
        ..Fault::default()
    });
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..200 {
                if w.logged().iter().any(|r| r.path == AUTH) {
                    w.emu.expire_api_tokens();
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("the lookup never arrived");
        });
        w.run(&["token", "gmail"])
    });
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
    let statuses: Vec<(String, u16)> = w
        .logged()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("/oauth/token".to_owned(), 200),
            (AUTH.to_owned(), 401),
            ("/oauth/token".to_owned(), 200),
            (AUTH.to_owned(), 200),
        ]
    );
}

/// `http://localhost` is loopback only as this machine resolves it; the client connects to
/// the loopback addresses it resolved (a hosts file mapping elsewhere is refused: unit test
/// `localhost_counts_as_loopback_only_when_every_address_is`).
#[test]
fn http_localhost_reaches_the_local_emulator() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let port = w.emu.url().rsplit(':').next().unwrap().to_owned();
    for (name, value) in [
        ("SCALEKIT_ENV_URL", format!("http://localhost:{port}")),
        ("SCALEKIT_CLIENT_ID", crate::harness::CLIENT_ID.to_owned()),
        ("SCALEKIT_CLIENT_SECRET", crate::harness::SECRET.to_owned()),
    ] {
        w.env.insert(name.into(), value);
    }
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "GET /api/v1/connected_accounts/auth"]
    );
}

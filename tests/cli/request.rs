//! `request`: one call through Scalekit's proxy (the echo upstream shows what the provider
//! got), the body on stdout, the status in the exit code, retries only when idempotent.

use scalekit_emulator::{Fault, SeedAccount};

use crate::harness::{World, assert_no_secret};

/// A world whose proxy forwards to the emulator's echo upstream.
fn echo_world(services: &[(&str, &str)]) -> World {
    let w = World::configured(services);
    w.emu.set_upstream(Some("/_emulator/echo".into()));
    w
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn get_goes_through_the_proxy_with_only_the_api_token() {
    let w = echo_world(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&[
        "request",
        "gmail",
        "GET",
        "/gmail/v1/users/me/profile?fields=emailAddress",
    ]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    // What the provider got: the account's token, the path and the query.
    let echo = run.json();
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/gmail/v1/users/me/profile");
    assert_eq!(echo["query"], "fields=emailAddress");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {token}"));
    // What the CLI sent: the API token and the account's coordinates, never the token.
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "GET /proxy/gmail/v1/users/me/profile"]
    );
    let proxy = &w.logged()[1];
    assert_eq!(proxy.query.as_deref(), Some("fields=emailAddress"));
    assert_eq!(proxy.body, "");
    let authorization = header(&proxy.headers, "authorization").unwrap();
    assert!(
        authorization.starts_with("Bearer skemu_"),
        "{authorization}"
    );
    assert_eq!(
        header(&proxy.headers, "connection_name"),
        Some("gmail_u3134a")
    );
    assert_eq!(header(&proxy.headers, "identifier"), Some("mess"));
    assert!(header(&proxy.headers, "content-type").is_none());
    for (name, value) in &proxy.headers {
        assert_no_secret(&format!("{name}: {value}"), &[&token]);
    }
    assert_eq!(proxy.connection, w.logged()[0].connection, "one connection");
}

#[test]
fn the_body_comes_from_data_a_file_or_stdin_and_headers_pass() {
    let w = echo_world(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let body = r#"{"raw":"SGVsbG8="}"#;
    let run = w.run_stdin(
        &[
            "request",
            "gmail",
            "post",
            "gmail/v1/users/me/messages/send",
            "--data",
            "@-",
            "-H",
            "X-Trace: abc 1",
        ],
        body,
    );
    run.assert_code(0);
    let echo = run.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/gmail/v1/users/me/messages/send");
    assert_eq!(echo["body"], body);
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["headers"]["x-trace"], "abc 1");
    let proxy = w.logged().pop().unwrap();
    assert_eq!(proxy.method, "POST");
    assert_eq!(proxy.body, body);

    let file = w.home.path().join("form.txt");
    std::fs::write(&file, "a=1&b=2").unwrap();
    let data = format!("@{}", file.display());
    let run = w.run(&[
        "request",
        "gmail",
        "PUT",
        "/x",
        "-d",
        &data,
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
    ]);
    run.assert_code(0);
    let echo = run.json();
    assert_eq!(echo["body"], "a=1&b=2");
    assert_eq!(
        echo["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    let run = w.run(&["request", "gmail", "POST", "/x", "--data", "literal text"]);
    run.assert_code(0);
    assert_eq!(run.json()["body"], "literal text");
}

#[test]
fn post_is_sent_once_get_is_retried() {
    let w = echo_world(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let path = "/proxy/gmail/v1/users/me/messages/send";
    w.emu.queue_fault(Fault {
        path: path.into(),
        count: 1,
        status: Some(503),
        ..Fault::default()
    });
    let run = w.run(&[
        "request",
        "gmail",
        "POST",
        "/gmail/v1/users/me/messages/send",
        "--data",
        "{}",
    ]);
    // Scalekit read it: never 5 ("safe to retry" would be false).
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    let posts = w.logged().iter().filter(|r| r.path == path).count();
    assert_eq!(
        posts,
        1,
        "a POST must never be sent twice: {:?}",
        w.requests()
    );
    assert!(run.stderr.contains("not retried"), "{}", run.stderr);

    w.emu.clear_requests();
    w.emu.queue_fault(Fault {
        path: path.into(),
        count: 2,
        status: Some(503),
        ..Fault::default()
    });
    let run = w.run(&[
        "request",
        "gmail",
        "GET",
        "/gmail/v1/users/me/messages/send",
    ]);
    run.assert_code(0);
    let statuses: Vec<u16> = w
        .logged()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(run.json()["method"], "GET");

    // A connection error on a POST is not retried either.
    w.emu.clear_requests();
    w.emu.queue_fault(Fault {
        path: path.into(),
        count: 1,
        hang: true,
        ..Fault::default()
    });
    let run = w.run(&[
        "--http-timeout",
        "1",
        "request",
        "gmail",
        "PATCH",
        "/gmail/v1/users/me/messages/send",
        "--data",
        "{}",
    ]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("may have been received"),
        "{}",
        run.stderr
    );
    assert_eq!(w.logged().iter().filter(|r| r.path == path).count(), 1);
}

#[test]
fn a_full_url_is_reduced_to_its_path_after_checking_its_host() {
    let w = echo_world(&[("gmail", "gmail_u3134a"), ("github", "gh_conn")]);
    w.seed_active("gmail_u3134a", "mess");
    let github = w.seed_active("gh_conn", "mess");
    // The service is picked by the host.
    let run = w.run(&[
        "request",
        "GET",
        "https://api.github.com/user/repos?per_page=5#x",
    ]);
    run.assert_code(0);
    let echo = run.json();
    assert_eq!(echo["path"], "/user/repos");
    assert_eq!(echo["query"], "per_page=5");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {github}"));
    let proxy = w.logged().pop().unwrap();
    assert_eq!(header(&proxy.headers, "connection_name"), Some("gh_conn"));

    // Named and matching.
    let run = w.run(&[
        "request",
        "gmail",
        "GET",
        "https://gmail.googleapis.com/gmail/v1/users/me/profile",
    ]);
    run.assert_code(0);
    assert_eq!(run.json()["path"], "/gmail/v1/users/me/profile");

    // Named and foreign: refused before any request.
    w.emu.clear_requests();
    let run = w.run(&["request", "gmail", "GET", "https://api.github.com/user"]);
    run.assert_code(2);
    assert!(run.stderr.contains("api.github.com"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("scalekit-auth config gmail gmail_u3134a --host api.github.com"),
        "{}",
        run.stderr
    );
    // Nobody serves it: exit 3.
    let run = w.run(&["request", "GET", "https://api.notion.com/v1/users/me"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("no configured service serves api.notion.com"),
        "{}",
        run.stderr
    );
    // A path needs a service.
    let run = w.run(&["request", "GET", "/user"]);
    run.assert_code(2);
    assert!(w.requests().is_empty(), "{:?}", w.requests());
}

#[test]
fn a_non_2xx_answer_is_printed_and_exits_1_or_with_fail_only_reported() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    // The control API as the "provider": it answers 404 with its own JSON error.
    w.emu.set_upstream(Some("/_emulator".into()));
    let run = w.run(&["request", "gmail", "GET", "/no/such/thing?x=1"]);
    run.assert_code(1);
    assert!(run.json()["error"].is_string(), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("GET /no/such/thing answered 404 Not Found"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("x=1"), "no query string in messages");
    let run = w.run(&["request", "gmail", "GET", "/no/such/thing", "--fail"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("404"), "{}", run.stderr);
    // A relayed 404 is the provider's answer, not a missing account: nothing else was asked.
    assert!(
        !w.requests()
            .iter()
            .any(|r| r.contains("details") || r.contains("magic_link")),
        "{:?}",
        w.requests()
    );
}

#[test]
fn an_account_that_needs_authorization_is_exit_4_with_a_link() {
    let w = echo_world(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    w.emu.seed(SeedAccount {
        connector: "gmail_u3134a".into(),
        identifier: "mess".into(),
        status: Some("PENDING_AUTH".into()),
        ..SeedAccount::default()
    });
    let run = w.run(&["request", "gmail", "POST", "/gmail/v1/x", "--data", "{}"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    let links = w.emu.magic_links();
    assert_eq!(links.len(), 1);
    assert!(run.stderr.contains(&links[0].link), "{}", run.stderr);
    assert!(
        run.stderr.contains("authorization needed for gmail"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "POST /proxy/gmail/v1/x",
            "GET /api/v1/connected_accounts/details",
            "POST /api/v1/connected_accounts/magic_link",
        ]
    );
    // No account at all: looked up once (a 404 is an answer), created, then linked.
    w.emu.clear_requests();
    let run = w.run(&["request", "slack", "GET", "/api/auth.test"]);
    run.assert_code(4);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /proxy/api/auth.test",
            "GET /api/v1/connected_accounts/details",
            "POST /api/v1/connected_accounts",
            "POST /api/v1/connected_accounts/magic_link",
        ]
    );
}

#[test]
fn verbose_shows_the_proxy_line_and_no_secret() {
    let w = echo_world(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["-v", "request", "gmail", "DELETE", "/gmail/v1/x/1?secret=q"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("DELETE /proxy/gmail/v1/x/1 200"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("secret=q"), "{}", run.stderr);
    assert_no_secret(&run.stderr, &[&token, crate::harness::SECRET]);
}

#[test]
fn bad_methods_headers_and_paths_are_usage_errors_before_any_request() {
    let w = echo_world(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    for args in [
        vec!["request", "gmail", "FETCH", "/x"],
        vec!["request", "gmail", "/x"],
        vec![
            "request",
            "gmail",
            "GET",
            "/x",
            "-H",
            "Authorization: Bearer mine",
        ],
        vec!["request", "gmail", "GET", "/x", "-H", "identifier: other"],
        vec!["request", "gmail", "GET", "/x", "-H", "no-colon"],
        vec!["request", "gmail", "GET", "/../api/v1/connected_accounts"],
        vec!["request", "gmail", "GET", "/a/%2e%2e/b"],
        vec![
            "request",
            "gmail",
            "GET",
            "/x",
            "--data",
            "@/nonexistent/body.json",
        ],
        vec!["request", "gmail", "GET", "ftp://example.com/x"],
    ] {
        let run = w.run(&args);
        run.assert_code(2);
        assert!(!run.stderr.contains("Bearer mine"), "{}", run.stderr);
    }
    let run = w.run(&["request", "notion", "GET", "/v1/users"]);
    run.assert_code(3);
    assert!(w.requests().is_empty(), "{:?}", w.requests());
}

#[test]
fn identifier_selects_the_account() {
    let w = echo_world(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let alice = w.seed_active("gmail_u3134a", "alice@acme.dev");
    let run = w.run(&[
        "request",
        "gmail",
        "GET",
        "/gmail/v1/users/me/profile",
        "--identifier",
        "alice@acme.dev",
    ]);
    run.assert_code(0);
    assert_eq!(
        run.json()["headers"]["authorization"],
        format!("Bearer {alice}")
    );
    let proxy = w.logged().pop().unwrap();
    assert_eq!(header(&proxy.headers, "identifier"), Some("alice@acme.dev"));
}

#[test]
fn wait_authorizes_then_sends_once() {
    let w = echo_world(&[("gmail", "gmail_u3134a")]);
    let emu = &w.emu;
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..200 {
                if let Some(link) = emu.magic_links().first() {
                    assert!(emu.approve_link(&link.link));
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        w.run(&[
            "request",
            "gmail",
            "POST",
            "/gmail/v1/x",
            "--data",
            "{}",
            "--wait",
            "--timeout",
            "30",
        ])
    });
    run.assert_code(0);
    assert_eq!(run.json()["method"], "POST");
    // Refused once by Scalekit (never forwarded), then forwarded once.
    let forwarded: Vec<u16> = w
        .logged()
        .iter()
        .filter(|r| r.path == "/proxy/gmail/v1/x")
        .map(|r| r.status)
        .collect();
    assert_eq!(forwarded, [404, 200]);
    // Before the wait: one lookup after the proxy's 404, then create and link at once.
    assert_eq!(
        w.requests()[..5],
        [
            "POST /oauth/token",
            "POST /proxy/gmail/v1/x",
            "GET /api/v1/connected_accounts/details",
            "POST /api/v1/connected_accounts",
            "POST /api/v1/connected_accounts/magic_link",
        ]
    );
}

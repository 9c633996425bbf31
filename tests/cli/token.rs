//! `token`: formats, request counts, concurrency, authorization required, static credentials.

use std::time::{Duration, Instant};

use scalekit_emulator::{Fault, SeedAccount};

use crate::harness::{World, assert_no_secret};

#[test]
fn active_account_costs_exactly_two_requests_on_one_connection() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{token}\n"));
    assert_eq!(run.stderr, "", "stderr must be quiet on success");
    let log = w.logged();
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "GET /api/v1/connected_accounts/auth"]
    );
    assert_eq!(
        log[0].connection, log[1].connection,
        "one connection for both requests"
    );
    let query = log[1].query.clone().unwrap_or_default();
    assert!(
        query.contains("connector=gmail_u3134a") && query.contains("identifier=mess"),
        "{query}"
    );
    // Client credentials are form-encoded in the body, never in the URL.
    assert!(log[0].body.contains("grant_type=client_credentials"));
    assert!(log[0].query.as_deref().unwrap_or("").is_empty());
}

#[test]
fn header_env_and_json_formats() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("google-drive", "gdrive_1")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let drive = w.seed_active("gdrive_1", "mess");

    let run = w.run(&["token", "gmail", "--header"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("Authorization: Bearer {token}\n"));

    let run = w.run(&["token", "google-drive", "gmail", "--env"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!("GOOGLE_DRIVE_ACCESS_TOKEN='{drive}'\nGMAIL_ACCESS_TOKEN='{token}'\n")
    );

    let run = w.run(&["token", "gmail", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["service"], "gmail");
    assert_eq!(doc["connection_name"], "gmail_u3134a");
    assert_eq!(doc["identifier"], "mess");
    assert_eq!(doc["access_token"], token.as_str());
    assert_eq!(doc["token_type"], "Bearer");
    assert!(doc["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(doc["scopes"].is_array());

    let run = w.run(&["token", "gmail", "google-drive", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc.as_array().unwrap().len(), 2);
    assert_eq!(doc[1]["access_token"], drive.as_str());

    let run = w.run(&["token", "gmail", "--header", "--env"]);
    run.assert_code(2);
}

#[test]
fn several_services_are_fetched_concurrently_on_one_token() {
    let w = World::configured(&[
        ("gmail", "gmail_u3134a"),
        ("slack", "slack_x7y9z"),
        ("github", "gh"),
    ]);
    let tokens: Vec<String> = [("gmail_u3134a"), ("slack_x7y9z"), ("gh")]
        .iter()
        .map(|c| w.seed_active(c, "mess"))
        .collect();
    let latency = Duration::from_millis(400);
    w.emu.set_latency(latency);
    let started = Instant::now();
    let run = w.run(&["token", "slack", "gmail", "github"]);
    let elapsed = started.elapsed();
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!("{}\n{}\n{}\n", tokens[1], tokens[0], tokens[2])
    );
    let log = w.logged();
    assert_eq!(log.len(), 4, "1 + N requests: {:?}", w.requests());
    assert_eq!(log.iter().filter(|r| r.path == "/oauth/token").count(), 1);
    // The three lookups were in flight together: all received before the first could finish.
    let lookups: Vec<u64> = log
        .iter()
        .filter(|r| r.path.ends_with("/auth"))
        .map(|r| r.at_ms)
        .collect();
    let spread = lookups.iter().max().unwrap() - lookups.iter().min().unwrap();
    assert!(
        spread < 300,
        "lookups were not concurrent: received at {lookups:?}"
    );
    // Loosely: sequential would be 4 × 400 ms.
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
}

#[test]
fn a_rotated_token_is_seen_at_once() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let first = w.seed_active("gmail_u3134a", "mess");
    assert_eq!(w.run(&["token", "gmail"]).stdout.trim(), first);
    let second = w.emu.rotate_token("gmail_u3134a", "mess").unwrap();
    assert_ne!(first, second);
    assert_eq!(w.run(&["token", "gmail"]).stdout.trim(), second);
    // Nothing is cached on disk: the config dir holds only the two files (and the lock).
    for entry in std::fs::read_dir(&w.config_dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert_no_secret(&text, &[&first, &second]);
    }
}

#[test]
fn pending_account_fails_fast_with_the_link_when_not_interactive() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.seed(SeedAccount {
        connector: "gmail_u3134a".into(),
        identifier: "mess".into(),
        status: Some("PENDING_AUTH".into()),
        ..SeedAccount::default()
    });
    let run = w.run(&["token", "gmail"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    let links = w.emu.magic_links();
    assert_eq!(links.len(), 1);
    assert!(
        run.stderr.contains("authorization needed for gmail"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&links[0].link), "{}", run.stderr);
    assert!(run.stderr.contains("expires"), "{}", run.stderr);
    assert!(
        run.stderr.contains("scalekit-auth token gmail"),
        "{}",
        run.stderr
    );

    let run = w.run(&["token", "gmail", "--json"]);
    run.assert_code(4);
    let doc = run.json();
    assert_eq!(doc["error"]["code"], "authorization_required");
    let link = doc["error"]["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/magicLink/", w.emu.url())),
        "{link}"
    );
    assert!(
        doc["error"]["link_expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(doc["error"]["message"].as_str().unwrap().contains("gmail"));
}

#[test]
fn absent_account_is_created_and_linked() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["token", "gmail"]);
    run.assert_code(4);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/connected_accounts/auth",
            "POST /api/v1/connected_accounts",
            "POST /api/v1/connected_accounts/magic_link",
        ]
    );
    assert_eq!(
        w.emu.account("gmail_u3134a", "mess").unwrap()["status"],
        "PENDING_AUTH"
    );
}

#[test]
fn every_inactive_state_is_exit_4() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    for status in ["EXPIRED", "DISCONNECTED", "PENDING_VERIFICATION"] {
        w.emu.set_status("gmail_u3134a", "mess", status);
        let run = w.run(&["token", "gmail"]);
        run.assert_code(4);
        assert!(run.stderr.contains(status), "{status}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn wait_runs_the_authorize_flow_then_prints_the_token() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let emu_links = {
        let emu = &w.emu;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                // Approve the first link that appears, as the user would.
                for _ in 0..200 {
                    if let Some(link) = emu.magic_links().first() {
                        assert!(emu.approve_link(&link.link));
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
            let run = w.run(&["token", "gmail", "--wait", "--timeout", "30"]);
            run.assert_code(0);
            run
        })
    };
    let token = w.access_token("gmail_u3134a", "mess");
    assert_eq!(emu_links.stdout, format!("{token}\n"));
    assert!(
        emu_links.stderr.contains("/magicLink/"),
        "{}",
        emu_links.stderr
    );
    assert!(
        emu_links.stderr.contains("gmail authorized"),
        "{}",
        emu_links.stderr
    );
}

#[test]
fn unknown_service_and_missing_credentials_are_exit_3() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["token", "notion"]);
    run.assert_code(3);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("scalekit-auth config notion CONNECTION_NAME"),
        "{}",
        run.stderr
    );
    assert!(w.requests().is_empty(), "a typo costs no request");

    let bare = World::new();
    bare.run(&["config", "gmail", "gmail_u3134a", "--identifier", "mess"])
        .assert_code(0);
    let run = bare.run(&["token", "gmail"]);
    run.assert_code(3);
    assert_eq!(run.stdout, "");
    for needle in [
        "scalekit-auth init",
        "SCALEKIT_ENV_URL",
        "SCALEKIT_CLIENT_ID",
        "SCALEKIT_CLIENT_SECRET",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    let run = bare.run(&["token", "gmail", "--json"]);
    run.assert_code(3);
    assert_eq!(run.json()["error"]["code"], "not_configured");
}

#[test]
fn bad_service_name_is_a_usage_error_quoting_it() {
    let w = World::configured(&[]);
    let run = w.run(&["token", "Gm@il"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("gm@il") || run.stderr.contains("Gm@il"),
        "{}",
        run.stderr
    );
}

#[test]
fn static_credentials_print_what_a_request_needs() {
    let w = World::configured(&[("openai", "openai_key"), ("jira", "jira_basic")]);
    w.emu.seed(SeedAccount {
        connector: "openai_key".into(),
        identifier: "mess".into(),
        authorization_type: Some("API_KEY".into()),
        static_auth: Some(serde_json::json!({"api_key": "sk-live-123"})),
        ..SeedAccount::default()
    });
    w.emu.seed(SeedAccount {
        connector: "jira_basic".into(),
        identifier: "mess".into(),
        authorization_type: Some("BASIC_AUTH".into()),
        static_auth: Some(serde_json::json!({"username": "bot@acme.dev", "password": "pw-1"})),
        ..SeedAccount::default()
    });
    let run = w.run(&["token", "openai", "jira"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "sk-live-123\nbot@acme.dev:pw-1\n");
    let run = w.run(&["token", "jira", "--header"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "Authorization: Basic Ym90QGFjbWUuZGV2OnB3LTE=\n"
    );
    let run = w.run(&["token", "openai", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["authorization_type"], "API_KEY");
    assert_eq!(doc["credentials"]["api_key"], "sk-live-123");
    assert_eq!(doc["access_token"], "sk-live-123");
}

#[test]
fn json_array_mixes_successes_and_errors_with_the_most_severe_exit() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["token", "gmail", "slack", "notion", "--json"]);
    run.assert_code(4);
    let doc = run.json();
    let items = doc.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["access_token"], token.as_str());
    assert_eq!(items[1]["service"], "slack");
    assert_eq!(items[1]["error"]["code"], "authorization_required");
    assert_eq!(items[2]["error"]["code"], "not_configured");
    // Nothing resolvable: still one array, and no request.
    w.emu.clear_requests();
    let run = w.run(&["token", "notion", "jira", "--json"]);
    run.assert_code(3);
    assert_eq!(run.json().as_array().unwrap().len(), 2);
    assert!(w.requests().is_empty());
    // Plain output is all or nothing: no partial lines on stdout.
    let run = w.run(&["token", "gmail", "slack"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
}

#[test]
fn identifier_flag_overrides_the_configured_one() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let other = w.seed_active("gmail_u3134a", "alice@acme.dev");
    let run = w.run(&["token", "gmail", "--identifier", "alice@acme.dev"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{other}\n"));
    assert_eq!(run.stderr, "");
}

#[test]
fn an_already_expired_token_is_asked_for_once_more_then_exit_4() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    w.emu.set_token_expiry("gmail_u3134a", "mess", Some(past));
    let run = w.run(&["token", "gmail"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    let lookups = w.requests().iter().filter(|r| r.ends_with("/auth")).count();
    assert_eq!(lookups, 2, "{:?}", w.requests());
}

#[test]
fn min_ttl_asks_once_more_then_says_how_long_is_left() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(90);
    w.emu.set_token_expiry("gmail_u3134a", "mess", Some(soon));
    // Long enough: one lookup.
    let run = w.run(&["token", "gmail", "--min-ttl", "60"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{token}\n"));
    assert_eq!(run.stderr, "");
    assert_eq!(w.requests().len(), 2);
    // Too short, and still too short when asked again: exit 4 saying what is left and what
    // was asked, with no link (the account is ACTIVE).
    w.emu.clear_requests();
    let run = w.run(&["token", "gmail", "--min-ttl", "600"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    let lookups = w.requests().iter().filter(|r| r.ends_with("/auth")).count();
    assert_eq!(lookups, 2, "{:?}", w.requests());
    assert!(
        run.stderr.contains("gmail's token expires in 1m"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("600s --min-ttl"), "{}", run.stderr);
    assert!(
        run.stderr.contains("authorize gmail --force"),
        "{}",
        run.stderr
    );
    assert!(w.emu.magic_links().is_empty());
    let run = w.run(&["token", "gmail", "--min-ttl", "600", "--json"]);
    run.assert_code(4);
    assert_eq!(run.json()["error"]["code"], "authorization_required");
    assert!(run.json()["error"]["link"].is_null());
}

#[test]
fn min_ttl_takes_the_fresher_token_scalekit_gives_when_asked_again() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(30);
    w.emu.set_token_expiry("gmail_u3134a", "mess", Some(soon));
    let emu = &w.emu;
    let run = std::thread::scope(|scope| {
        // Scalekit refreshes in the background: rotate after the first lookup.
        scope.spawn(|| {
            for _ in 0..400 {
                if emu.requests().iter().any(|r| r.path.ends_with("/auth")) {
                    emu.rotate_token("gmail_u3134a", "mess");
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        w.run(&["token", "gmail", "--min-ttl", "300", "--json"])
    });
    run.assert_code(0);
    let fresh = w.access_token("gmail_u3134a", "mess");
    assert_eq!(run.json()["access_token"], fresh.as_str());
    let lookups = w.requests().iter().filter(|r| r.ends_with("/auth")).count();
    assert_eq!(lookups, 2);
}

/// `token --wait` for an account that does not exist yet: token, `/auth` (404), create and
/// link (four requests, SECURITY.md), and only then the polls of the wait.
#[test]
fn wait_for_an_absent_account_costs_four_requests_before_the_wait() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
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
        w.run(&["token", "gmail", "--wait", "--no-qr", "--timeout", "30"])
    });
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!("{}\n", w.access_token("gmail_u3134a", "mess"))
    );
    let requests = w.requests();
    assert_eq!(
        requests[..4],
        [
            "POST /oauth/token",
            "GET /api/v1/connected_accounts/auth",
            "POST /api/v1/connected_accounts",
            "POST /api/v1/connected_accounts/magic_link",
        ]
    );
    // After that: only polls and the final `/auth`.
    assert!(
        requests[4..].iter().all(|r| r.starts_with("GET ")),
        "{requests:?}"
    );
}

/// The race a skipped `/details` leaves open: the account appears between the `/auth` 404
/// and the create. The create's 409 covers it: the existing account gets the link.
#[test]
fn an_account_that_appears_after_the_404_is_linked_after_the_409() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.seed(SeedAccount {
        connector: "gmail_u3134a".into(),
        identifier: "mess".into(),
        status: Some("PENDING_AUTH".into()),
        ..SeedAccount::default()
    });
    w.emu.queue_fault(Fault {
        path: "/api/v1/connected_accounts/auth".into(),
        status: Some(404),
        ..Fault::default()
    });
    let run = w.run(&["token", "gmail"]);
    run.assert_code(4);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/connected_accounts/auth",
            "POST /api/v1/connected_accounts",
            "GET /api/v1/connected_accounts/details",
            "POST /api/v1/connected_accounts/magic_link",
        ]
    );
    let links = w.emu.magic_links();
    assert_eq!(links.len(), 1);
    assert!(run.stderr.contains(&links[0].link), "{}", run.stderr);
}

//! `connections` and `config SERVICE --provider P`: the dashboard's connections, every page,
//! and mapping a service to the one usable connection of a provider.

use scalekit_emulator::{Fault, FaultBody, SeedConnection};
use serde_json::json;

use crate::harness::{World, require_tool};

fn query(w: &World, index: usize) -> String {
    w.logged()[index].query.clone().unwrap_or_default()
}

#[test]
fn connections_reads_every_page_and_marks_what_cannot_be_authorized() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("mail2", "gmail_u3134a")]);
    // 6 default connections + 30 more: two pages of at most 30.
    for i in 0..30 {
        w.emu.seed_connection(SeedConnection::new(
            &format!("zoom_{i:02}"),
            "ZOOM",
            "OAUTH",
        ));
    }
    let run = w.run(&["connections"]);
    run.assert_code(0);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/connections/app",
            "GET /api/v1/connections/app"
        ]
    );
    assert_eq!(query(&w, 1), "page_size=30");
    assert!(
        query(&w, 2).starts_with("page_size=30&page_token="),
        "{}",
        query(&w, 2)
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 36, "{}", run.stdout);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "CONNECTION",
            "PROVIDER",
            "TYPE",
            "STATUS",
            "ENABLED",
            "SERVICE"
        ]
    );
    let row = |name: &str| -> Vec<&str> {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", run.stdout))
            .split_whitespace()
            .collect()
    };
    assert_eq!(
        row("gmail_u3134a"),
        [
            "gmail_u3134a",
            "GMAIL",
            "OAUTH",
            "COMPLETED",
            "yes",
            "gmail,",
            "mail2"
        ]
    );
    assert_eq!(
        row("salesforce-1hpnGzcD"),
        [
            "salesforce-1hpnGzcD",
            "SALESFORCE",
            "OAUTH",
            "DRAFT",
            "(not",
            "usable)",
            "no"
        ]
    );
    assert_eq!(row("zoom_29")[..2], ["zoom_29", "ZOOM"]);
    assert!(
        run.stderr
            .starts_with("hint: only COMPLETED, enabled connections can be authorized"),
        "{}",
        run.stderr
    );
}

#[test]
fn connections_json_names_the_mapped_services() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("mail2", "gmail_u3134a")]);
    let run = w.run(&["connections", "--json"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    let doc = run.json();
    let all = doc.as_array().unwrap();
    assert_eq!(all.len(), 6);
    let gmail = all
        .iter()
        .find(|c| c["connection_name"] == "gmail_u3134a")
        .unwrap();
    assert_eq!(
        *gmail,
        json!({"connection_name": "gmail_u3134a", "provider": "GMAIL", "type": "OAUTH",
               "status": "COMPLETED", "enabled": true, "service": "gmail",
               "services": ["gmail", "mail2"]})
    );
    let slack = all
        .iter()
        .find(|c| c["connection_name"] == "slack_x7y9z")
        .unwrap();
    assert_eq!(slack["service"], json!(null));
    assert_eq!(slack["services"], json!([]));
}

#[test]
fn the_provider_filter_is_sent_as_given_and_compared_in_any_case() {
    let w = World::configured(&[]);
    let run = w.run(&["connections", "--provider", "gmail", "--json"]);
    run.assert_code(0);
    assert_eq!(query(&w, 1), "page_size=30&provider=gmail");
    let doc = run.json();
    let names: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["connection_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gmail_u3134a"]);
    // None of that provider: an empty table is no error.
    let run = w.run(&["connections", "--provider", "ZOOM"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("no connections for provider ZOOM"),
        "{}",
        run.stderr
    );
}

#[test]
fn connections_without_credentials_is_exit_3_without_a_request() {
    let w = World::new();
    let run = w.run(&["connections"]);
    run.assert_code(3);
    assert!(run.stderr.contains("scalekit-auth init"), "{}", run.stderr);
    assert!(w.requests().is_empty());
}

#[test]
fn outside_strings_in_connections_reach_the_terminal_escaped() {
    let w = World::configured(&[]);
    w.emu.queue_fault(Fault {
        path: "/api/v1/connections/app".into(),
        status: Some(200),
        body: Some(FaultBody::Json(json!({
            "connections": [{"key_id": "evil\u{1b}]0;pwned\u{7}", "provider_key": "X\u{1b}[2J",
                             "type": "OAUTH\r", "status": "COMPLETED", "enabled": true},
                            {"key_id": 42, "enabled": "yes"}],
            "next_page_token": ""
        }))),
        ..Fault::default()
    });
    let run = w.run(&["connections"]);
    run.assert_code(0);
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\r'),
        "{:?}",
        run.stdout
    );
    assert!(run.stdout.contains(r"evil\e]0;pwned\x07"), "{}", run.stdout);
    assert!(run.stdout.contains(r"X\e[2J"), "{}", run.stdout);
}

#[test]
fn config_provider_maps_the_one_usable_connection() {
    let w = World::configured(&[]);
    let run = w.run(&[
        "config",
        "mail",
        "--provider",
        "gmail",
        "--identifier",
        "alice",
    ]);
    run.assert_code(0);
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "GET /api/v1/connections/app"]
    );
    assert_eq!(query(&w, 1), "page_size=30&provider=gmail");
    let config = w.config_toml();
    assert!(config.contains("[services.mail]"), "{config}");
    assert!(
        config.contains("connection_name = \"gmail_u3134a\""),
        "{config}"
    );
    assert!(config.contains("identifier = \"alice\""), "{config}");
    assert!(
        run.stderr.contains("mail → connection gmail_u3134a"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_provider_with_several_usable_connections_lists_them_without_a_terminal() {
    let w = World::configured(&[]);
    w.emu
        .seed_connection(SeedConnection::new("gmail_team", "GMAIL", "OAUTH"));
    let run = w.run(&["config", "mail", "--provider", "GMAIL"]);
    run.assert_code(2);
    // In the order Scalekit lists them.
    assert!(
        run.stderr
            .contains("2 connections of provider GMAIL can be used: gmail_u3134a, gmail_team"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: scalekit-auth config mail gmail_"),
        "{}",
        run.stderr
    );
    assert!(!w.config_toml().contains("[services.mail]"));
    // --json: the same as a usage document.
    let run = w.run(&["config", "mail", "--provider", "GMAIL", "--json"]);
    run.assert_code(2);
    assert_eq!(run.json()["error"]["code"], "usage");
}

#[test]
fn config_provider_with_no_usable_connection_says_what_exists() {
    let w = World::configured(&[]);
    // A draft, disabled connection of the provider.
    let run = w.run(&["config", "crm", "--provider", "SALESFORCE"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains(
            "no usable connection of provider SALESFORCE: salesforce-1hpnGzcD (DRAFT, disabled)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: finish or enable it in the Scalekit dashboard"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "GET /api/v1/connections/app"]
    );
    // No connection of the provider at all: the other providers are named.
    w.emu.clear_requests();
    let run = w.run(&["config", "meet", "--provider", "ZOOM"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("no connection of provider ZOOM"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("other providers here: FRESHDESK, GITHUB, GMAIL, NOTION, SALESFORCE, SLACK"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/connections/app",
            "GET /api/v1/connections/app"
        ]
    );
    assert_eq!(query(&w, 2), "page_size=30");
    assert!(!w.config_toml().contains("[services.meet]"));
}

#[test]
fn config_provider_with_a_connection_name_is_a_usage_error() {
    let w = World::configured(&[]);
    let run = w.run(&["config", "mail", "gmail_u3134a", "--provider", "GMAIL"]);
    run.assert_code(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    assert!(w.requests().is_empty());
}

#[test]
fn config_provider_at_a_terminal_offers_a_choice() {
    if !require_tool("script") {
        return;
    }
    let w = World::configured(&[]);
    w.emu
        .seed_connection(SeedConnection::new("gmail_team", "GMAIL", "OAUTH"));
    let mut pty = w.pty(&["config", "mail", "--provider", "GMAIL"]);
    pty.expect("mail: which GMAIL connection?");
    pty.expect("gmail_team");
    // Down once, then Enter: the second in the list.
    pty.send("\u{1b}[B");
    pty.send("\r");
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    let listed: Vec<&str> = ["gmail_u3134a", "gmail_team"]
        .into_iter()
        .filter(|n| output.contains(n))
        .collect();
    assert_eq!(listed.len(), 2, "{output}");
    let config = w.config_toml();
    assert!(config.contains("[services.mail]"), "{config}");
    // Which one is second depends on the emulator's order: the default connections first.
    assert!(
        config.contains("connection_name = \"gmail_team\""),
        "{config}"
    );
}

//! `list` and `list --remote`.

use scalekit_emulator::SeedAccount;

use crate::harness::World;

#[test]
fn lists_configured_services_without_network() {
    let w = World::configured(&[("slack", "slack_x7y9z"), ("gmail", "gmail_u3134a")]);
    w.run(&["config", "github", "gh_1", "--identifier", "bot"])
        .assert_code(0);
    let run = w.run(&["list"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("SERVICE"));
    assert!(
        lines[1].starts_with("github") && lines[1].contains("gh_1") && lines[1].ends_with("bot"),
        "{}",
        run.stdout
    );
    let doc = w.run(&["list", "--json"]).json();
    assert_eq!(
        doc[0],
        serde_json::json!({"service": "github", "connection_name": "gh_1", "identifier": "bot"})
    );
    assert_eq!(doc[1]["identifier"], "mess");
    assert!(w.requests().is_empty());
}

#[test]
fn remote_follows_every_page() {
    let w = World::configured(&[]);
    for i in 0..120 {
        w.emu.seed(SeedAccount {
            connector: format!("conn_{}", i % 3),
            identifier: format!("user{i}"),
            status: Some(if i % 2 == 0 { "ACTIVE" } else { "PENDING_AUTH" }.into()),
            ..SeedAccount::default()
        });
    }
    let run = w.run(&["list", "--remote", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    let items = doc.as_array().unwrap();
    assert_eq!(items.len(), 120);
    let first = &items[0];
    for key in [
        "id",
        "connection_name",
        "identifier",
        "provider",
        "status",
        "token_expires_at",
    ] {
        assert!(
            first.as_object().unwrap().contains_key(key),
            "{key}: {first}"
        );
    }
    assert!(first["id"].as_str().unwrap().starts_with("ca_"));
    let pages = w
        .requests()
        .iter()
        .filter(|r| *r == "GET /api/v1/connected_accounts")
        .count();
    assert_eq!(pages, 3, "{:?}", w.requests());

    w.emu.clear_requests();
    let run = w.run(&["list", "--remote", "--identifier", "user7"]);
    run.assert_code(0);
    let rows: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(rows[1].contains("user7") && rows[1].contains("PENDING_AUTH"));
    let query = w.logged()[1].query.clone().unwrap();
    assert!(query.contains("identifier=user7"), "{query}");

    w.run(&["list", "--identifier", "x"]).assert_code(2);
}

#[test]
fn json_identifier_is_null_when_none_resolves() {
    let w = World::new();
    w.run(&["config", "gmail", "gmail_u3134a"]).assert_code(0);
    let doc = w.run(&["list", "--json"]).json();
    assert_eq!(
        doc,
        serde_json::json!([{"service": "gmail", "connection_name": "gmail_u3134a", "identifier": null}])
    );
}

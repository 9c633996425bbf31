//! Several identities per service: `status --identifier`, `status --all-identities`.

use scalekit_emulator::SeedAccount;

use crate::harness::World;

fn seed(w: &World, connector: &str, identifier: &str, status: &str) {
    w.emu.seed(SeedAccount {
        connector: connector.into(),
        identifier: identifier.into(),
        status: Some(status.into()),
        ..SeedAccount::default()
    });
}

#[test]
fn all_identities_lists_every_account_of_the_connection() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    seed(&w, "gmail_u3134a", "mess", "ACTIVE");
    seed(&w, "gmail_u3134a", "alice@acme.dev", "PENDING_AUTH");
    seed(&w, "slack_x7y9z", "mess", "ACTIVE");
    seed(&w, "other_conn", "bob", "ACTIVE");
    let run = w.run(&["status", "gmail", "--all-identities", "--json"]);
    run.assert_code(4);
    let doc = run.json();
    let rows = doc["services"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{doc}");
    assert!(rows.iter().all(|r| r["service"] == "gmail"));
    assert!(rows.iter().all(|r| r["connection_name"] == "gmail_u3134a"));
    let find = |id: &str| rows.iter().find(|r| r["identifier"] == id).unwrap();
    assert_eq!(find("mess")["status"], "ACTIVE");
    assert_eq!(find("mess")["selected"], true);
    assert_eq!(find("alice@acme.dev")["status"], "PENDING_AUTH");
    assert_eq!(find("alice@acme.dev")["selected"], false);
    assert!(
        run.stderr
            .contains("scalekit-auth authorize gmail --identifier alice@acme.dev"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "GET /api/v1/connected_accounts"]
    );
    let query = w.logged()[1].query.clone().unwrap_or_default();
    assert!(query.contains("connector=gmail_u3134a"), "{query}");
    assert!(!query.contains("identifier="), "{query}");

    // Every configured service, and the human table.
    w.emu.set_status("gmail_u3134a", "alice@acme.dev", "ACTIVE");
    let run = w.run(&["status", "--all-identities"]);
    run.assert_code(0);
    for needle in ["alice@acme.dev", "mess", "slack_x7y9z"] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("bob"), "{}", run.stdout);
}

#[test]
fn all_identities_follows_every_page_and_reports_a_connection_without_accounts() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("notion", "notion_1")]);
    for i in 0..57 {
        seed(&w, "gmail_u3134a", &format!("user{i:02}"), "ACTIVE");
    }
    let run = w.run(&["status", "--all-identities", "--json"]);
    run.assert_code(4);
    let doc = run.json();
    let rows = doc["services"].as_array().unwrap();
    let gmail = rows.iter().filter(|r| r["service"] == "gmail").count();
    assert_eq!(gmail, 57);
    let notion: Vec<_> = rows.iter().filter(|r| r["service"] == "notion").collect();
    assert_eq!(notion.len(), 1);
    assert_eq!(notion[0]["status"], "NOT_FOUND");
    assert!(notion[0]["identifier"].is_null());
    let lists = w
        .requests()
        .iter()
        .filter(|r| *r == "GET /api/v1/connected_accounts")
        .count();
    assert_eq!(
        lists,
        3,
        "two pages for gmail, one for notion: {:?}",
        w.requests()
    );
}

#[test]
fn status_identifier_checks_another_identity() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    seed(&w, "gmail_u3134a", "mess", "PENDING_AUTH");
    seed(&w, "gmail_u3134a", "alice@acme.dev", "ACTIVE");
    let run = w.run(&[
        "status",
        "gmail",
        "--identifier",
        "alice@acme.dev",
        "--json",
    ]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["services"][0]["identifier"], "alice@acme.dev");
    assert_eq!(doc["services"][0]["status"], "ACTIVE");
    assert!(doc["services"][0].get("selected").is_none());
    w.run(&["status", "gmail"]).assert_code(4);
    // Not both.
    w.run(&["status", "--identifier", "x", "--all-identities"])
        .assert_code(2);
}

#[test]
fn every_command_takes_identifier() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    for command in [
        "token",
        "authorize",
        "status",
        "exec",
        "request",
        "remove",
        "list",
    ] {
        let run = w.run(&[command, "--help"]);
        run.assert_code(0);
        assert!(run.stdout.contains("--identifier"), "{command}");
    }
}

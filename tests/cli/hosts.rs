//! Picking the service for an API URL: `token --for-url`, `config --host`.

use crate::harness::World;

#[test]
fn for_url_picks_the_service_by_host_or_connection_name() {
    let w = World::configured(&[
        ("mail", "gmail_u3134a"),
        ("github", "gh_conn"),
        ("crm", "salesforce-1hpnGzcD"),
    ]);
    let gmail = w.seed_active("gmail_u3134a", "mess");
    let github = w.seed_active("gh_conn", "mess");
    let crm = w.seed_active("salesforce-1hpnGzcD", "mess");
    for (url, token) in [
        (
            "https://gmail.googleapis.com/gmail/v1/users/me/profile",
            &gmail,
        ),
        (
            "https://www.googleapis.com/gmail/v1/users/me/labels",
            &gmail,
        ),
        ("https://api.github.com/user", &github),
        ("https://acme.my.salesforce.com/services/data/v60.0", &crm),
    ] {
        let run = w.run(&["token", "--for-url", url]);
        run.assert_code(0);
        assert_eq!(run.stdout.trim(), token.as_str(), "{url}");
    }
    // The usual formats work with it, and it costs the usual two requests.
    w.emu.clear_requests();
    let run = w.run(&[
        "token",
        "--for-url",
        "https://api.github.com/user",
        "--json",
    ]);
    run.assert_code(0);
    assert_eq!(run.json()["service"], "github");
    assert_eq!(w.requests().len(), 2);
}

#[test]
fn for_url_with_no_match_or_several_is_exit_3_naming_the_candidates() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("gdrive", "gdrive_1")]);
    let run = w.run(&["token", "--for-url", "https://api.notion.com/v1/users/me"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("no configured service serves api.notion.com"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--host api.notion.com"),
        "{}",
        run.stderr
    );
    let run = w.run(&[
        "token",
        "--for-url",
        "https://www.googleapis.com/oauth2/v2/userinfo",
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("matches several services"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("gmail (connection gmail_u3134a"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("gdrive (connection gdrive_1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("scalekit-auth token gdrive --for-url URL"),
        "{}",
        run.stderr
    );
    let run = w.run(&["token", "--json", "--for-url", "https://api.notion.com/v1"]);
    run.assert_code(3);
    assert_eq!(run.json()["error"]["code"], "not_configured");
    // The more specific host still decides.
    let drive = w.seed_active("gdrive_1", "mess");
    let run = w.run(&[
        "token",
        "--for-url",
        "https://www.googleapis.com/drive/v3/files",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), drive);
    assert!(w.requests().iter().filter(|r| r.ends_with("/auth")).count() == 1);
}

#[test]
fn for_url_with_a_named_service_checks_the_host() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("github", "gh_conn")]);
    let gmail = w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&[
        "token",
        "gmail",
        "--for-url",
        "https://gmail.googleapis.com/x",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), gmail);
    w.emu.clear_requests();
    let run = w.run(&["token", "gmail", "--for-url", "https://api.github.com/user"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("refusing to send gmail's token"),
        "{}",
        run.stderr
    );
    assert!(w.requests().is_empty());
    w.run(&[
        "token",
        "gmail",
        "github",
        "--for-url",
        "https://api.github.com/",
    ])
    .assert_code(2);
    w.run(&["token", "--for-url", "not a url"]).assert_code(2);
    w.run(&["token"]).assert_code(2);
}

#[test]
fn configured_hosts_replace_the_built_in_ones_and_win() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&[
        "config",
        "internal",
        "internal_api",
        "--host",
        "https://API.internal.example.com/",
        "--host",
        "*.gmail.googleapis.com",
    ]);
    run.assert_code(0);
    let toml = w.config_toml();
    assert!(
        toml.contains(r#"hosts = ["api.internal.example.com", "*.gmail.googleapis.com"]"#),
        "{toml}"
    );
    let run = w.run(&["config", "internal", "--json"]);
    assert_eq!(
        run.json()["hosts"],
        serde_json::json!(["api.internal.example.com", "*.gmail.googleapis.com"])
    );
    let run = w.run(&["config", "internal"]);
    assert!(
        run.stdout
            .contains("hosts            api.internal.example.com, *.gmail.googleapis.com"),
        "{}",
        run.stdout
    );
    let internal = w.seed_active("internal_api", "mess");
    let run = w.run(&[
        "token",
        "--for-url",
        "https://api.internal.example.com/v1/me",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), internal);
    // A configured wildcard beats gmail's built-in exact host... only where it matches.
    let run = w.run(&["token", "--for-url", "https://eu.gmail.googleapis.com/x"]);
    assert_eq!(run.stdout.trim(), internal);
    let gmail = w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["token", "--for-url", "https://gmail.googleapis.com/x"]);
    assert_eq!(run.stdout.trim(), gmail);

    // --host alone changes the hosts of an existing mapping, keeping the rest.
    w.run(&["config", "gmail", "--host", "gmail.googleapis.com"])
        .assert_code(0);
    let toml = w.config_toml();
    assert!(
        toml.contains(r#"hosts = ["gmail.googleapis.com"]"#),
        "{toml}"
    );
    assert!(
        toml.contains(r#"connection_name = "gmail_u3134a""#),
        "{toml}"
    );
    let run = w.run(&[
        "token",
        "gmail",
        "--for-url",
        "https://www.googleapis.com/gmail/v1/x",
    ]);
    run.assert_code(2);
    // Replacing the connection keeps the hosts; bad hosts are usage errors.
    w.run(&["config", "gmail", "gmail_new"]).assert_code(0);
    assert!(
        w.config_toml()
            .contains(r#"hosts = ["gmail.googleapis.com"]"#)
    );
    for bad in ["api.example.com:8443", "a b", "*."] {
        let run = w.run(&["config", "gmail", "gmail_new", "--host", bad]);
        run.assert_code(2);
        assert!(run.stderr.contains("invalid host"), "{}", run.stderr);
    }
    w.run(&["config", "nope", "--host", "api.x.com"])
        .assert_code(3);
}

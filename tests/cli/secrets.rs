//! The client secret and tokens appear only where cli.md allows: tokens on `token`'s stdout.

use scalekit_emulator::SeedAccount;

use crate::harness::{SECRET, World, assert_no_secret};

#[test]
fn no_command_leaks_the_secret_or_a_token() {
    let w = World::configured(&[
        ("gmail", "gmail_u3134a"),
        ("slack", "slack_x7y9z"),
        ("openai", "openai_k"),
    ]);
    let token = w.seed_active("gmail_u3134a", "mess");
    w.emu.seed(SeedAccount {
        connector: "openai_k".into(),
        identifier: "mess".into(),
        authorization_type: Some("API_KEY".into()),
        static_auth: Some(serde_json::json!({"api_key": "sk-static-SECRET"})),
        ..SeedAccount::default()
    });
    let refresh = w.emu.account("gmail_u3134a", "mess").unwrap()["authorization_details"]["oauth_token"]
        ["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let everything = [SECRET, token.as_str(), refresh.as_str(), "sk-static-SECRET"];
    let runs: Vec<Vec<&str>> = vec![
        vec!["-v", "status"],
        vec!["-v", "status", "--json"],
        vec!["-v", "list"],
        vec!["-v", "list", "--json"],
        vec!["-v", "list", "--remote"],
        vec!["-v", "list", "--remote", "--json"],
        vec!["-v", "config", "gmail"],
        vec!["-v", "config", "gmail", "--json"],
        vec!["-v", "authorize", "gmail"],
        vec!["-v", "authorize", "slack", "--no-wait", "--json"],
        vec!["-v", "token", "slack"],
        vec!["-v", "token", "slack", "--json"],
        vec!["-v", "token", "nope"],
    ];
    for args in runs {
        let run = w.run(&args);
        assert_no_secret(&run.stdout, &everything);
        assert_no_secret(&run.stderr, &everything);
    }
    // token: the token on stdout only, never on stderr, even with -v.
    for args in [
        vec!["-v", "token", "gmail"],
        vec!["-v", "token", "gmail", "--json"],
        vec!["-v", "token", "openai", "--header"],
    ] {
        let run = w.run(&args);
        run.assert_code(0);
        assert_no_secret(&run.stderr, &everything);
        assert_no_secret(&run.stdout, &[SECRET, refresh.as_str()]);
    }
    // A rejected secret is not echoed either.
    let mut bad = World::configured(&[("gmail", "gmail_u3134a")]);
    bad.env
        .insert("SCALEKIT_CLIENT_SECRET".into(), "bad-SECRET-value".into());
    let run = bad.run(&["-v", "token", "gmail"]);
    run.assert_code(3);
    assert_no_secret(&(run.stdout + &run.stderr), &["bad-SECRET-value"]);
}

#[test]
fn exec_request_remove_and_status_all_identities_leak_nothing() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    w.emu.set_upstream(Some("/_emulator".into()));
    let token = w.seed_active("gmail_u3134a", "mess");
    let everything = [SECRET, token.as_str()];
    let runs: Vec<Vec<&str>> = vec![
        vec!["-v", "exec", "gmail", "--", "true"],
        vec!["-v", "exec", "gmail", "--", "/nonexistent/x"],
        vec!["-v", "exec", "slack", "--", "true"],
        vec!["-v", "exec", "gmail", "--min-ttl", "86400", "--", "true"],
        // The control API answers 404 for this path: a relayed failure.
        vec!["-v", "request", "gmail", "GET", "/nope"],
        vec!["-v", "request", "slack", "POST", "/x", "--data", "{}"],
        vec!["-v", "status", "--all-identities"],
        vec!["-v", "status", "--all-identities", "--json"],
        vec!["-v", "remove", "slack", "--disconnect", "--yes"],
    ];
    for args in runs {
        let run = w.run(&args);
        assert_no_secret(&run.stdout, &everything);
        assert_no_secret(&run.stderr, &everything);
    }
}

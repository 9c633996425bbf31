//! The client secret and tokens appear only where docs/cli.md allows: tokens on `token`'s stdout.

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

/// (command line, stdout, stderr, whether it is a `token` run for its own services)
type Outputs = Vec<(String, String, String, bool)>;

/// Every flag combination of init, config, authorize, token, status and list, with and
/// without `-v`/`-q`/`--color always`, on success and on failure (rejected secret, unreachable,
/// 500 answers): the client secret, the API tokens Scalekit issued, refresh tokens and static
/// keys appear nowhere; an access token appears only on `token`'s stdout for its own service.
#[test]
fn every_flag_combination_keeps_the_secrets_out_of_the_output() {
    use scalekit_emulator::Fault;

    let mut w = World::configured(&[
        ("gmail", "gmail_u3134a"),
        ("slack", "slack_x7y9z"),
        ("openai", "openai_k"),
        ("jira", "jira_b"),
    ]);
    w.env
        .insert("OPENCLAW_WORKSPACE".into(), "/nonexistent".into());
    let gmail = w.seed_active("gmail_u3134a", "mess");
    w.emu.seed(SeedAccount {
        connector: "openai_k".into(),
        identifier: "mess".into(),
        authorization_type: Some("API_KEY".into()),
        static_auth: Some(serde_json::json!({"api_key": "sk-static-SECRET"})),
        ..SeedAccount::default()
    });
    w.emu.seed(SeedAccount {
        connector: "jira_b".into(),
        identifier: "mess".into(),
        static_auth: Some(serde_json::json!({"username": "bob", "password": "pw-SECRET"})),
        ..SeedAccount::default()
    });
    let refresh = w.emu.account("gmail_u3134a", "mess").unwrap()["authorization_details"]["oauth_token"]
        ["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let env_file = w.home.path().join("old.env");
    crate::harness::write(
        &env_file,
        &format!(
            "SCALEKIT_ENV_URL={}\nSCALEKIT_CLIENT_ID={}\nSCALEKIT_CLIENT_SECRET={SECRET}\n",
            w.emu.url(),
            crate::harness::CLIENT_ID
        ),
    );
    let env_file = env_file.display().to_string();
    let url = w.emu.url();
    let id = crate::harness::CLIENT_ID;

    // (arguments, stdin)
    let mut commands: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "init",
                "--env-url",
                &url,
                "--client-id",
                id,
                "--client-secret-stdin",
                "--identifier",
                "mess",
            ],
            SECRET,
        ),
        (
            vec![
                "init",
                "--env-url",
                &url,
                "--client-id",
                id,
                "--client-secret-stdin",
                "--no-verify",
            ],
            SECRET,
        ),
        (
            vec![
                "init",
                "--env-url",
                &url,
                "--client-id",
                id,
                "--client-secret-stdin",
            ],
            "wrong-SECRET-typed",
        ),
        (vec!["init", "--import", &env_file, "--no-verify"], ""),
        (vec!["init", "--import", &env_file], ""),
        (vec!["init", "--no-input"], ""),
        (vec!["config", "gmail"], ""),
        (vec!["config", "gmail", "--json"], ""),
        (
            vec!["config", "extra", "extra_c", "--identifier", "someone"],
            "",
        ),
        (vec!["config", "extra", "--unset"], ""),
        (vec!["config", "nope"], ""),
        (vec!["config", "nope", "--json"], ""),
        (vec!["authorize", "gmail"], ""),
        (vec!["authorize", "gmail", "--json"], ""),
        (vec!["authorize", "slack", "--no-wait"], ""),
        (vec!["authorize", "slack", "--no-wait", "--json"], ""),
        (vec!["authorize", "slack", "--no-wait", "--qr"], ""),
        (
            vec!["authorize", "slack", "--no-wait", "--no-qr", "--open"],
            "",
        ),
        (
            vec!["authorize", "gmail", "--force", "--no-wait", "--json"],
            "",
        ),
        (
            vec!["authorize", "slack", "--identifier", "other", "--no-wait"],
            "",
        ),
        (vec!["authorize", "slack", "--timeout", "1", "--json"], ""),
        (vec!["token", "slack"], ""),
        (vec!["token", "slack", "--json"], ""),
        (vec!["token", "slack", "--wait", "--timeout", "1"], ""),
        (vec!["token", "nope", "--json"], ""),
        (vec!["status"], ""),
        (vec!["status", "--json"], ""),
        (vec!["status", "gmail", "slack", "nope", "--json"], ""),
        (vec!["list"], ""),
        (vec!["list", "--json"], ""),
        (vec!["list", "--remote"], ""),
        (vec!["list", "--remote", "--json"], ""),
        (
            vec!["list", "--remote", "--identifier", "mess", "--json"],
            "",
        ),
    ];
    // token for its own services: the credential may be on stdout, and only there.
    let token_commands: Vec<Vec<&str>> = vec![
        vec!["token", "gmail"],
        vec!["token", "gmail", "--json"],
        vec!["token", "gmail", "--header"],
        vec!["token", "gmail", "--env"],
        vec!["token", "gmail", "openai", "jira"],
        vec!["token", "gmail", "openai", "jira", "--json"],
        vec!["token", "openai", "jira", "--header"],
        vec!["token", "gmail", "slack", "--json"],
        vec!["token", "gmail", "--identifier", "mess", "--wait"],
    ];
    let prefixes: [&[&str]; 4] = [&[], &["-v"], &["-v", "-q"], &["-v", "--color", "always"]];

    let run_all = |w: &World,
                   prefixes: &[&[&str]],
                   commands: &[(Vec<&str>, &str)],
                   token_commands: &[Vec<&str>],
                   outputs: &mut Outputs| {
        for prefix in prefixes {
            for (args, stdin) in commands {
                let all: Vec<&str> = prefix.iter().chain(args.iter()).copied().collect();
                let run = w.run_stdin(&all, stdin);
                assert!(!run.stderr.contains("panicked"), "{all:?}: {}", run.stderr);
                outputs.push((all.join(" "), run.stdout, run.stderr, false));
            }
            for args in token_commands {
                let all: Vec<&str> = prefix.iter().chain(args.iter()).copied().collect();
                let run = w.run(&all);
                assert!(!run.stderr.contains("panicked"), "{all:?}: {}", run.stderr);
                outputs.push((all.join(" "), run.stdout, run.stderr, true));
            }
        }
    };
    let mut outputs = Outputs::new();
    run_all(&w, &prefixes, &commands, &token_commands, &mut outputs);

    // The same again, with -v, while Scalekit fails: 500s with a body (not retried), then
    // nobody listening (retried: a few commands only, to keep the test fast).
    commands.retain(|(args, _)| {
        (args[0] != "init" || args.contains(&"--no-verify")) && !args.contains(&"--timeout")
    });
    let fail = |path: &str| {
        w.emu.queue_fault(Fault {
            path: path.into(),
            count: 1000,
            status: Some(500),
            ..Fault::default()
        });
    };
    for path in [
        "/api/v1/connected_accounts/auth",
        "/api/v1/connected_accounts/details",
        "/api/v1/connected_accounts",
        "/api/v1/connected_accounts/magic_link",
    ] {
        fail(path);
    }
    run_all(&w, &[&["-v"]], &commands, &token_commands, &mut outputs);
    fail("/oauth/token");
    run_all(&w, &[&["-v"]], &commands, &token_commands, &mut outputs);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    w.redirect(&format!("http://127.0.0.1:{port}"));
    let unreachable: Vec<(Vec<&str>, &str)> = vec![
        (vec!["status", "--json"], ""),
        (vec!["authorize", "slack", "--no-wait"], ""),
        (vec!["list", "--remote", "--json"], ""),
    ];
    run_all(
        &w,
        &[&["-v"]],
        &unreachable,
        &token_commands[..1],
        &mut outputs,
    );

    // Every API token the emulator issued, read from the Authorization headers it saw.
    let api_tokens: Vec<String> = w
        .logged()
        .iter()
        .flat_map(|r| r.headers.clone())
        .filter(|(name, _)| name == "authorization")
        .filter_map(|(_, value)| value.strip_prefix("Bearer ").map(str::to_owned))
        .collect();
    assert!(!api_tokens.is_empty());
    let mut never: Vec<&str> = vec![SECRET, "wrong-SECRET-typed", refresh.as_str()];
    never.extend(api_tokens.iter().map(String::as_str));
    let credentials = [gmail.as_str(), "sk-static-SECRET", "pw-SECRET"];
    for (args, stdout, stderr, is_token) in &outputs {
        let context = format!("`{args}`");
        assert_no_secret(&format!("{context}\n{stderr}"), &never);
        assert_no_secret(&format!("{context}\n{stderr}"), &credentials);
        assert_no_secret(&format!("{context}\n{stdout}"), &never);
        if !is_token {
            assert_no_secret(&format!("{context}\n{stdout}"), &credentials);
        }
    }
    assert!(outputs.len() >= 240, "{} runs", outputs.len());
    // Not vacuous: the credentials were really fetched (on token's stdout).
    assert!(outputs.iter().any(|o| o.3 && o.1.contains(gmail.as_str())));
    assert!(
        outputs
            .iter()
            .any(|o| o.3 && o.1.contains("sk-static-SECRET"))
    );
}

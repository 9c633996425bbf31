//! `init`: flags, stdin, environment, env file, imports, verification, nothing written on failure.

use crate::harness::{CLIENT_ID, SECRET, World, write};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn non_interactive_init_verifies_then_writes_both_files() {
    let w = World::new();
    let url = w.emu.url();
    let run = w.run_stdin(
        &[
            "init",
            "--env-url",
            &url,
            "--client-id",
            CLIENT_ID,
            "--client-secret-stdin",
            "--identifier",
            "mess",
        ],
        &format!("{SECRET}\n"),
    );
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains(&w.path("config.toml").display().to_string()),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("scalekit-auth config SERVICE CONNECTION_NAME"),
        "{}",
        run.stderr
    );
    assert_eq!(w.requests(), ["POST /oauth/token"]);
    let toml = w.config_toml();
    assert!(
        toml.contains(&url) && toml.contains(CLIENT_ID) && toml.contains("identifier = \"mess\""),
        "{toml}"
    );
    let creds = std::fs::read_to_string(w.path("credentials.toml")).unwrap();
    assert!(creds.contains(SECRET));
}

#[test]
fn rejected_credentials_exit_3_and_write_nothing() {
    let w = World::new();
    let run = w.run_stdin(
        &[
            "init",
            "--env-url",
            &w.emu.url(),
            "--client-id",
            CLIENT_ID,
            "--client-secret-stdin",
        ],
        "wrong-secret",
    );
    run.assert_code(3);
    assert!(run.stderr.contains("rejected"), "{}", run.stderr);
    assert!(!run.stderr.contains("wrong-secret"), "{}", run.stderr);
    assert!(!w.config_dir.join("config.toml").exists());
    assert!(!w.config_dir.join("credentials.toml").exists());
}

#[test]
fn unreachable_scalekit_exits_5_and_writes_nothing() {
    let w = World::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = w.run_stdin(
        &[
            "init",
            "--env-url",
            &format!("http://127.0.0.1:{port}"),
            "--client-id",
            CLIENT_ID,
            "--client-secret-stdin",
        ],
        SECRET,
    );
    run.assert_code(5);
    assert!(!w.config_dir.join("config.toml").exists());
}

#[test]
fn missing_values_name_the_flag_that_gives_them() {
    let w = World::new();
    let run = w.run(&["init", "--client-id", CLIENT_ID]);
    run.assert_code(2);
    assert!(run.stderr.contains("--env-url"), "{}", run.stderr);
    let run = w.run(&["init", "--env-url", &w.emu.url()]);
    run.assert_code(2);
    assert!(run.stderr.contains("--client-id"), "{}", run.stderr);
    let run = w.run(&["init", "--env-url", &w.emu.url(), "--client-id", CLIENT_ID]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("--client-secret-stdin"),
        "{}",
        run.stderr
    );
    assert!(!w.config_dir.exists() || !w.config_dir.join("config.toml").exists());
    // The secret is never accepted as a flag value.
    let run = w.run(&["init", "--client-secret", SECRET]);
    run.assert_code(2);
}

#[test]
fn environment_and_env_file_supply_the_values() {
    let mut w = World::new();
    write(
        &w.cwd.join("dev.env"),
        &format!(
            "SCALEKIT_ENVIRONMENT_URL={}\nSCALEKIT_CLIENT_ID={CLIENT_ID}\n",
            w.emu.url()
        ),
    );
    w.env.insert("SCALEKIT_CLIENT_SECRET".into(), SECRET.into());
    let run = w.run(&["init", "--env-file", "dev.env"]);
    run.assert_code(0);
    assert!(w.config_toml().contains(CLIENT_ID));
    // init says where each value came from.
    for line in [
        "SCALEKIT_ENVIRONMENT_URL from --env-file dev.env".to_owned(),
        format!("{CLIENT_ID} (from SCALEKIT_CLIENT_ID from --env-file dev.env)"),
    ] {
        assert!(run.stderr.contains(&line), "{line}: {}", run.stderr);
    }
    // SCALEKIT_AUTH_ENV_FILE names the file too, and a variable already set wins over it.
    w.env
        .insert("SCALEKIT_AUTH_ENV_FILE".into(), "dev.env".into());
    w.env
        .insert("SCALEKIT_CLIENT_ID".into(), "skc_from_env".into());
    let run = w.run(&["init", "--no-verify"]);
    run.assert_code(0);
    assert!(w.config_toml().contains("skc_from_env"));
    assert!(
        run.stderr
            .contains("skc_from_env (from SCALEKIT_CLIENT_ID)")
            && run
                .stderr
                .contains("SCALEKIT_ENVIRONMENT_URL from SCALEKIT_AUTH_ENV_FILE dev.env"),
        "{}",
        run.stderr
    );
    w.env.remove("SCALEKIT_AUTH_ENV_FILE");
    // An explicit env file that does not exist is a usage error.
    let run = w.run(&["--env-file", "/nonexistent/.env", "list"]);
    run.assert_code(2);
}

#[test]
fn imports_the_old_helpers_files() {
    let w = World::new();
    // The sample .env points at the real Scalekit; skip verification and check what is stored.
    let run = w.run(&[
        "init",
        "--import",
        &fixture("seed.env"),
        "--import",
        &fixture("connections.json"),
        "--no-verify",
    ]);
    run.assert_code(0);
    let toml = w.config_toml();
    assert!(
        toml.contains("https://acme.scalekit.dev") && toml.contains("skc_58327480066375686"),
        "{toml}"
    );
    let list = w.run(&["list", "--json"]).json();
    assert_eq!(
        list,
        serde_json::json!([
            {"service": "gmail", "connection_name": "gmail_u3134a", "identifier": "mess"},
            {"service": "slack", "connection_name": "slack_x7y9z", "identifier": "mess"},
        ])
    );
    let creds = std::fs::read_to_string(w.path("credentials.toml")).unwrap();
    assert!(creds.contains("test_secret_do_not_use"));
}

#[test]
fn init_never_removes_existing_mappings() {
    let w = World::configured(&[("notion", "notion_1")]);
    w.init();
    w.run(&[
        "init",
        "--import",
        &fixture("connections.json"),
        "--no-verify",
    ])
    .assert_code(0);
    let list = w.run(&["list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
}

#[test]
fn a_malformed_import_is_a_usage_error_naming_the_file() {
    let w = World::new();
    let bad = w.home.path().join("connections.json");
    write(&bad, "{\"gmail\": {\"connection_name\": }\n");
    let run = w.run(&[
        "init",
        "--import",
        bad.to_str().unwrap(),
        "--no-verify",
        "--env-url",
        "https://a.scalekit.dev",
        "--client-id",
        "x",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains(bad.to_str().unwrap()), "{}", run.stderr);
    assert!(!w.config_dir.join("config.toml").exists());
}

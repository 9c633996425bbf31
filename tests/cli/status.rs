//! `status`: credentials and account states, concurrently, never pulling a token.

use std::os::unix::fs::PermissionsExt;

use scalekit_emulator::SeedAccount;

use crate::harness::{SECRET, World, assert_no_secret};

#[test]
fn all_active_is_exit_0_with_the_documented_json() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    let t1 = w.seed_active("gmail_u3134a", "mess");
    let t2 = w.seed_active("slack_x7y9z", "mess");
    let run = w.run(&["status", "--json"]);
    run.assert_code(0);
    assert_no_secret(&run.stdout, &[&t1, &t2, SECRET]);
    let doc = run.json();
    assert_eq!(doc["env_url"], w.emu.url().as_str());
    assert_eq!(doc["client_id"], crate::harness::CLIENT_ID);
    assert_eq!(doc["credentials"], "valid");
    assert_eq!(
        doc["config_dir"],
        w.config_dir.display().to_string().as_str()
    );
    let services = doc["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    assert_eq!(services[0]["service"], "gmail");
    assert_eq!(services[0]["connection_name"], "gmail_u3134a");
    assert_eq!(services[0]["identifier"], "mess");
    assert_eq!(services[0]["status"], "ACTIVE");
    assert_eq!(services[0]["authorization_type"], "OAUTH");
    assert!(
        services[0]["token_expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        services[0]
            .as_object()
            .unwrap()
            .contains_key("last_used_at")
    );
    let requests = w.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests.iter().all(|r| !r.ends_with("/auth")),
        "status never pulls tokens: {requests:?}"
    );
}

#[test]
fn table_output_and_exit_4_when_one_needs_authorization() {
    let w = World::configured(&[
        ("gmail", "gmail_u3134a"),
        ("slack", "slack_x7y9z"),
        ("github", "gh_1"),
    ]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.seed(SeedAccount {
        connector: "slack_x7y9z".into(),
        identifier: "mess".into(),
        status: Some("EXPIRED".into()),
        ..SeedAccount::default()
    });
    let run = w.run(&["status"]);
    run.assert_code(4);
    assert!(
        run.stdout.contains("SERVICE") && run.stdout.contains("STATUS"),
        "{}",
        run.stdout
    );
    let line = |svc: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(svc))
            .unwrap()
            .to_owned()
    };
    assert!(line("gmail").contains("ACTIVE"));
    assert!(line("slack").contains("EXPIRED"));
    assert!(line("github").contains("NOT_FOUND"));
    assert!(
        run.stderr.contains("scalekit-auth authorize"),
        "{}",
        run.stderr
    );
    // Named services only.
    let run = w.run(&["status", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout.lines().any(|l| l.starts_with("gmail"))
            && !run.stdout.contains("slack")
            && !run.stdout.contains("github"),
        "{}",
        run.stdout
    );
}

#[test]
fn credentials_missing_rejected_and_unreachable() {
    let w = World::new();
    w.run(&["config", "gmail", "g", "--identifier", "x"])
        .assert_code(0);
    let run = w.run(&["status", "--json"]);
    run.assert_code(3);
    assert_eq!(run.json()["credentials"], "missing");

    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.env
        .insert("SCALEKIT_CLIENT_SECRET".into(), "not-the-secret".into());
    let run = w.run(&["status", "--json"]);
    run.assert_code(3);
    assert_eq!(run.json()["credentials"], "rejected");
    assert_no_secret(&(run.stdout.clone() + &run.stderr), &["not-the-secret"]);

    // A refused URL is a usage error, not a verdict on the credentials.
    w.env.insert(
        "SCALEKIT_ENV_URL".into(),
        "http://scalekit.example.com".into(),
    );
    let run = w.run(&["status", "--json"]);
    run.assert_code(2);
    assert_eq!(run.json()["error"]["code"], "usage");
    w.env.remove("SCALEKIT_ENV_URL");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    w.redirect(&format!("http://127.0.0.1:{port}"));
    let run = w.run(&["status", "--json", "--http-timeout", "1"]);
    run.assert_code(5);
    let doc = run.json();
    assert_eq!(doc["credentials"], "unreachable");
    assert_eq!(doc["services"][0]["status"], "UNREACHABLE");
}

#[test]
fn a_service_lookup_failing_after_retries_is_unreachable_exit_5() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    w.seed_active("gmail_u3134a", "mess");
    w.seed_active("slack_x7y9z", "mess");
    w.emu.queue_fault(scalekit_emulator::Fault {
        path: "/api/v1/connected_accounts/details".into(),
        // Four attempts for each of the two lookups.
        count: 8,
        status: Some(503),
        ..Default::default()
    });
    let run = w.run(&["status", "--json"]);
    run.assert_code(5);
    let doc = run.json();
    let statuses: Vec<&str> = doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"UNREACHABLE"), "{statuses:?}");
}

#[test]
fn warns_about_a_readable_credentials_file() {
    let w = World::configured(&[]);
    let path = w.path("credentials.toml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = w.run(&["status"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("chmod 600"),
        "{}",
        run.stderr
    );
}

/// Every case of SECURITY.md "Files": credentials.toml writable by group or others,
/// config.toml or the directory writable by group or others, a file owned by another user.
#[test]
fn warns_about_every_open_or_foreign_configuration_file() {
    let w = World::configured(&[]);
    let set = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let creds = w.path("credentials.toml");
    let config = w.path("config.toml");
    let run = w.run(&["status"]);
    run.assert_code(0);
    assert!(!run.stderr.contains("warning:"), "{}", run.stderr);
    for (path, mode, fix) in [
        (creds.clone(), 0o620, "chmod 600"),
        (creds.clone(), 0o602, "chmod 600"),
        (creds.clone(), 0o640, "chmod 600"),
        (config.clone(), 0o664, "chmod go-w"),
        (config.clone(), 0o646, "chmod go-w"),
        (w.config_dir.clone(), 0o770, "chmod go-w"),
        (w.config_dir.clone(), 0o707, "chmod go-w"),
    ] {
        let before = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        set(&path, mode);
        let run = w.run(&["status"]);
        set(&path, before);
        run.assert_code(0);
        let warning = format!("{} is ", path.display());
        assert!(
            run.stderr.contains("warning:") && run.stderr.contains(&warning),
            "{path:?} {mode:o}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("{fix} {}", path.display())),
            "{}",
            run.stderr
        );
    }
    // Owned by another user: only root can set that up.
    if is_root() {
        let chown = |path: &std::path::Path, uid: &str| {
            let ok = std::process::Command::new("chown")
                .args([uid, path.to_str().unwrap()])
                .status()
                .unwrap()
                .success();
            assert!(ok);
        };
        chown(&config, "12345");
        let run = w.run(&["status"]);
        chown(&config, "0");
        run.assert_code(0);
        assert!(
            run.stderr.contains(&format!(
                "{} is owned by another user (uid 12345)",
                config.display()
            )),
            "{}",
            run.stderr
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the owner check needs root"
        );
        eprintln!("skipped: the owner check needs root");
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

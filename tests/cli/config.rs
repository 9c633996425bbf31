//! `config` and the files: mappings, names, concurrency, comments, malformed files, modes.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{World, write};

#[test]
fn set_show_json_and_unset() {
    let w = World::configured(&[]);
    let run = w.run(&["config", "gmail", "gmail_u3134a"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "", "a change prints its confirmation on stderr");
    assert!(run.stderr.contains("gmail"), "{}", run.stderr);

    let run = w.run(&["config", "gmail"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("gmail_u3134a") && run.stdout.contains("mess"),
        "{}",
        run.stdout
    );

    let run = w.run(&["config", "gmail", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["service"], "gmail");
    assert_eq!(doc["connection_name"], "gmail_u3134a");
    assert_eq!(doc["identifier"], "mess");

    w.run(&["config", "gmail", "--unset"]).assert_code(0);
    let run = w.run(&["config", "gmail"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("scalekit-auth config gmail CONNECTION_NAME"),
        "{}",
        run.stderr
    );
    w.run(&["config", "gmail", "--unset"]).assert_code(3);
    assert!(w.requests().is_empty(), "config never touches the network");
}

#[test]
fn service_names_are_lower_cased_and_identifiers_kept() {
    let w = World::configured(&[]);
    w.run(&[
        "config",
        "Gmail",
        "gmail_u3134a",
        "--identifier",
        "Alice@Acme.dev",
    ])
    .assert_code(0);
    // Replacing the connection without --identifier keeps the identifier.
    w.run(&["config", "gmail", "gmail_v2"]).assert_code(0);
    let doc = w.run(&["config", "gmail", "--json"]).json();
    assert_eq!(doc["connection_name"], "gmail_v2");
    assert_eq!(doc["identifier"], "Alice@Acme.dev");
}

#[test]
fn invalid_names_are_usage_errors_quoting_the_value() {
    let w = World::configured(&[]);
    for (args, bad) in [
        (vec!["config", "gm@il", "c"], "gm@il"),
        (vec!["config", "_gmail", "c"], "_gmail"),
        (vec!["config", "gmail", "bad/name"], "bad/name"),
    ] {
        let run = w.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(bad), "{args:?}: {}", run.stderr);
    }
    let long = "x".repeat(101);
    let run = w.run(&["config", "gmail", "c", "--identifier", &long]);
    run.assert_code(2);
    assert!(run.stderr.contains(&long), "{}", run.stderr);
    assert!(!w.config_toml().contains("[services"));
}

#[test]
fn twenty_concurrent_config_processes_lose_nothing() {
    let w = World::configured(&[]);
    let children: Vec<_> = (0..20)
        .map(|i| {
            let mut cmd = w.command(&["config", &format!("svc{i}"), &format!("conn_{i}")]);
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let doc = w.run(&["list", "--json"]).json();
    let services: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(services.len(), 20, "{services:?}");
    let toml = w.config_toml();
    for i in 0..20 {
        assert!(toml.contains(&format!("conn_{i}")), "svc{i} lost:\n{toml}");
    }
    // Nothing but the two files and the lock is left in the directory.
    let names: Vec<String> = std::fs::read_dir(&w.config_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".lock"))
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["config.toml", "credentials.toml"]);
}

#[test]
fn comments_and_unknown_keys_survive_a_rewrite() {
    let w = World::configured(&[]);
    let mut toml = w.config_toml();
    toml.push_str("\n# my own note\n[extras]\ncolour = \"teal\"\n\n[services.gmail]\n# which inbox\nconnection_name = \"gmail_u3134a\"\nlabel = \"work\"\n");
    write(&w.path("config.toml"), &toml);
    w.run(&["config", "slack", "slack_x7y9z"]).assert_code(0);
    w.run(&["config", "gmail", "gmail_v2"]).assert_code(0);
    let after = w.config_toml();
    for needle in [
        "# my own note",
        "colour = \"teal\"",
        "# which inbox",
        "label = \"work\"",
        "slack_x7y9z",
        "gmail_v2",
    ] {
        assert!(after.contains(needle), "{needle} lost:\n{after}");
    }
}

#[test]
fn a_malformed_config_is_reported_with_position_and_never_overwritten() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let broken = "[scalekit]\nenv_url = \"https://acme.scalekit.dev\"\nclient_id = \n";
    write(&w.path("config.toml"), broken);
    for args in [
        vec!["config", "slack", "slack_x7y9z"],
        vec!["token", "gmail"],
        vec!["list"],
        vec!["status"],
    ] {
        let run = w.run(&args);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        let path = w.path("config.toml");
        assert!(
            run.stderr.contains(&format!("{}:3:", path.display())),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            broken,
            "{args:?} touched the file"
        );
    }
    let run = w.run(&["config", "slack", "slack_x7y9z", "--json"]);
    assert_eq!(run.json()["error"]["code"], "not_configured");
}

#[test]
fn secrets_file_is_0600_in_a_0700_directory() {
    let w = World::configured(&[]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&w.path("credentials.toml")), 0o600);
    assert_eq!(mode(&w.config_dir), 0o700);
    let creds = std::fs::read_to_string(w.path("credentials.toml")).unwrap();
    assert!(creds.contains("client_secret"));
    assert!(
        !w.config_toml().contains(crate::harness::SECRET),
        "config.toml holds no secret"
    );
}

#[test]
fn config_dir_flag_beats_the_environment() {
    let w = World::configured(&[]);
    let other = w.home.path().join("elsewhere");
    w.run(&[
        "--config-dir",
        other.to_str().unwrap(),
        "config",
        "gmail",
        "g1",
        "--identifier",
        "x",
    ])
    .assert_code(0);
    assert!(other.join("config.toml").exists());
    assert!(!w.config_toml().contains("g1"));
}

#[test]
fn identifier_defaults_come_from_openclaw_identity() {
    let mut w = World::new();
    let workspace = w.home.path().join("ws");
    w.env
        .insert("OPENCLAW_WORKSPACE".into(), workspace.display().to_string());
    w.run(&["config", "gmail", "gmail_u3134a"]).assert_code(0);
    for (text, expected) in [
        (
            include_str!("../fixtures/samples/IDENTITY-inline.md"),
            Some("mess"),
        ),
        (
            include_str!("../fixtures/samples/IDENTITY-nextline.md"),
            Some("clawdia"),
        ),
        (
            include_str!("../fixtures/samples/IDENTITY-template.md"),
            None,
        ),
    ] {
        write(&workspace.join("IDENTITY.md"), text);
        let doc = w.run(&["config", "gmail", "--json"]).json();
        assert_eq!(doc["identifier"].as_str(), expected, "{text}");
    }
    // No identifier anywhere: token says how to set one (exit 3).
    let run = w.run(&["token", "gmail"]);
    run.assert_code(3);
    assert!(run.stderr.contains("--identifier"), "{}", run.stderr);
    // The environment variable beats IDENTITY.md but not the service's own identifier.
    w.env
        .insert("SCALEKIT_AUTH_IDENTIFIER".into(), "from-env".into());
    assert_eq!(
        w.run(&["config", "gmail", "--json"]).json()["identifier"],
        "from-env"
    );
}

#[test]
fn quiet_silences_progress_and_hints_but_not_errors() {
    let w = World::configured(&[]);
    let run = w.run(&["-q", "config", "gmail", "gmail_u3134a"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    // A service that needs authorization: status prints its table, but no hint.
    let run = w.run(&["-q", "status"]);
    run.assert_code(4);
    assert!(run.stdout.contains("NOT_FOUND"), "{}", run.stdout);
    assert!(!run.stderr.contains("hint:"), "{}", run.stderr);
    let run = w.run(&["status"]);
    assert!(
        run.stderr.contains("hint: scalekit-auth authorize gmail"),
        "{}",
        run.stderr
    );
    // Errors still print.
    let run = w.run(&["-q", "config", "nope"]);
    run.assert_code(3);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

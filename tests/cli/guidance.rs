//! A person's mistakes are guided: typo'd services, an empty machine, names in messages,
//! confirmations with the next step.

use crate::harness::{CLIENT_ID, SECRET, World};

/// Every command that takes a service, with the service in place of `{}`.
const SERVICE_COMMANDS: &[&[&str]] = &[
    &["token", "{}"],
    &["authorize", "{}", "--no-wait"],
    &["remove", "{}"],
    &["status", "{}"],
    &["exec", "{}", "--", "true"],
    &["request", "{}", "GET", "/x"],
    &["tools", "run", "{}", "gmail_fetch_mails"],
    &["tools", "list", "--service", "{}"],
    &["config", "{}"],
];

fn with(service: &str, template: &[&str]) -> Vec<String> {
    template
        .iter()
        .map(|a| {
            if *a == "{}" {
                service.to_owned()
            } else {
                (*a).to_owned()
            }
        })
        .collect()
}

#[test]
fn a_typo_gets_did_you_mean_and_the_configured_services_everywhere() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x")]);
    for template in SERVICE_COMMANDS {
        let args = with("gmial", template);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = w.run(&args);
        run.assert_code(3);
        assert!(
            run.stderr.contains("did you mean gmail?"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("configured services: gmail, slack"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("config gmial"),
            "a typo is never told to configure itself: {args:?}: {}",
            run.stderr
        );
    }
    assert!(
        w.requests().iter().all(|r| r == "POST /oauth/token"),
        "a typo costs no account request: {:?}",
        w.requests()
    );
    // --json carries the same guidance.
    let run = w.run(&["token", "gmial", "--json"]);
    run.assert_code(3);
    let doc = run.json();
    assert_eq!(doc["error"]["code"], "not_configured");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean gmail?"),
        "{doc}"
    );
}

#[test]
fn remove_of_an_unknown_name_never_hints_configuring_it() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["remove", "nosuch"]);
    run.assert_code(3);
    assert!(!run.stderr.contains("config nosuch"), "{}", run.stderr);
    assert!(
        run.stderr.contains("configured services: gmail"),
        "{}",
        run.stderr
    );
    // A name that is new (not a typo) to a command that uses it: the config line is offered.
    let run = w.run(&["token", "notion"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("scalekit-auth config notion CONNECTION_NAME"),
        "{}",
        run.stderr
    );
}

#[test]
fn nothing_configured_sends_every_command_to_init_first() {
    let w = World::new();
    for template in SERVICE_COMMANDS {
        let args = with("gmail", template);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = w.run(&args);
        run.assert_code(3);
        let hint = run
            .stderr
            .lines()
            .find(|l| l.starts_with("hint: "))
            .unwrap_or_else(|| panic!("{args:?}: no hint in {}", run.stderr));
        assert!(
            hint.contains("scalekit-auth init") && !hint.contains("config gmail"),
            "{args:?}: init comes first: {}",
            run.stderr
        );
    }
    // A URL whose service is picked by its host: init first too.
    for args in [
        &[
            "request",
            "GET",
            "https://gmail.googleapis.com/gmail/v1/users/me/profile",
        ][..],
        &["token", "--for-url", "https://gmail.googleapis.com/x"],
    ] {
        let run = w.run(args);
        run.assert_code(3);
        assert!(
            run.stderr.contains("hint: scalekit-auth init"),
            "{args:?}: {}",
            run.stderr
        );
    }
    // status and list: the init hint, never the config one first.
    for args in [&["status"][..], &["list"]] {
        let run = w.run(args);
        let first_hint = run.stderr.lines().find(|l| l.starts_with("hint: "));
        assert!(
            first_hint.is_some_and(|h| h.contains("scalekit-auth init")),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(w.requests().is_empty());
}

#[test]
fn an_account_that_is_not_connected_says_so_in_text_and_json() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["token", "gmail"]);
    run.assert_code(4);
    assert!(
        run.stderr.contains("the account is not connected yet"),
        "{}",
        run.stderr
    );
    // Another identity: its account does not exist yet either.
    let run = w.run(&["token", "gmail", "--json", "--identifier", "other"]);
    run.assert_code(4);
    let doc = run.json();
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the account is not connected yet"),
        "{doc}"
    );
}

#[test]
fn no_identifier_names_the_service() {
    let w = World::new();
    w.run_stdin(
        &[
            "init",
            "--env-url",
            &w.emu.url(),
            "--client-id",
            CLIENT_ID,
            "--client-secret-stdin",
        ],
        SECRET,
    )
    .assert_code(0);
    w.run(&["config", "slack", "slack_x"]).assert_code(0);
    let run = w.run(&["token", "slack"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("no identifier for slack"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("scalekit-auth config slack --identifier ID"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_dir_errors_name_the_directory_and_the_flag_never_the_lock() {
    let w = World::new();
    let file = w.home.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    for dir in [file.clone(), file.join("sub")] {
        let run = w.run(&[
            "--config-dir",
            dir.to_str().unwrap(),
            "config",
            "gmail",
            "gmail_u3134a",
        ]);
        run.assert_code(1);
        assert!(!run.stderr.contains(".lock"), "{}", run.stderr);
        assert!(run.stderr.contains("is a file"), "{}", run.stderr);
        assert!(run.stderr.contains("--config-dir DIR"), "{}", run.stderr);
    }
    // The lock file itself in the way (a directory where it should be).
    std::fs::create_dir_all(w.config_dir.join(".lock")).unwrap();
    let run = w.run(&["config", "gmail", "gmail_u3134a"]);
    run.assert_code(1);
    assert!(!run.stderr.contains(".lock"), "{}", run.stderr);
    assert!(run.stderr.contains("--config-dir DIR"), "{}", run.stderr);
}

#[test]
fn config_identifier_confirms_and_says_the_next_step() {
    let w = World::configured(&[("github", "github_x")]);
    let run = w.run(&["config", "github", "--identifier", "me"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("github: identifier me"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("next: scalekit-auth authorize github"),
        "{}",
        run.stderr
    );
    assert!(w.config_toml().contains("identifier = \"me\""));
    // Without a mapping: the command that makes one.
    let run = w.run(&["config", "notion", "--identifier", "me"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("scalekit-auth config notion CONNECTION_NAME --identifier me"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_argument_errors_are_a_usage_document() {
    let w = World::new();
    for args in [
        &["token", "--json"][..],
        &["token", "gmail", "--bogus", "--json"],
        &["status", "--json", "--timeout", "3"],
        &["authorize", "--json"],
    ] {
        let run = w.run(args);
        run.assert_code(2);
        let doc = run.json();
        assert_eq!(doc["error"]["code"], "usage", "{args:?}: {doc}");
        assert!(
            !doc["error"]["message"].as_str().unwrap().is_empty(),
            "{doc}"
        );
        assert!(
            doc["error"]["hint"]
                .as_str()
                .unwrap()
                .starts_with("usage: scalekit-auth"),
            "{doc}"
        );
        // The person still reads clap's own text on stderr.
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }
    // Without --json, stdout stays empty; after `--`, --json is the command's.
    let run = w.run(&["token", "--bogus"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    let run = w.run(&["exec", "--", "cmd", "--json"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    // --help and --version are not errors.
    let run = w.run(&["token", "--json", "--help"]);
    run.assert_code(0);
    assert!(run.stdout.starts_with("Print"), "{}", run.stdout);
}

#[test]
fn client_secret_flag_explains_why_it_does_not_exist() {
    let w = World::new();
    for args in [
        &["init", "--client-secret", "s3cr3t-value"][..],
        &["init", "--client-secret=s3cr3t-value"],
    ] {
        let run = w.run(args);
        run.assert_code(2);
        assert!(run.stderr.contains("`ps`"), "{}", run.stderr);
        assert!(run.stderr.contains("history"), "{}", run.stderr);
        assert!(
            run.stderr.contains("--client-secret-stdin"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("SCALEKIT_CLIENT_SECRET"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("s3cr3t-value"), "{}", run.stderr);
    }
    assert!(!w.config_dir.exists());
}

#[test]
fn the_usage_line_shows_the_config_dir_only_when_given_as_a_flag() {
    // The harness sets SCALEKIT_AUTH_CONFIG_DIR for every run: the usage line stays short.
    let w = World::new();
    let run = w.run(&["token"]);
    run.assert_code(2);
    let usage = run
        .stderr
        .lines()
        .find(|l| l.starts_with("Usage: "))
        .unwrap();
    assert_eq!(
        usage, "Usage: scalekit-auth token <SERVICE>...",
        "{}",
        run.stderr
    );
}

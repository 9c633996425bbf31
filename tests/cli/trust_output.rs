//! Trust rules for output (SECURITY.md "Terminal output", "Credential values in line
//! formats", "Server text is not a channel for secrets"): each test plays a hostile server,
//! config file or credential value and checks that nothing gets through.

use std::process::Command;

use scalekit_emulator::{Fault, FaultBody, SeedAccount};
use serde_json::{Value, json};

use crate::harness::{CLIENT_ID, SECRET, World, require_tool, run_command, write};

const AUTH: &str = "/api/v1/connected_accounts/auth";
const DETAILS: &str = "/api/v1/connected_accounts/details";
const LIST: &str = "/api/v1/connected_accounts";
const MAGIC_LINK: &str = "/api/v1/connected_accounts/magic_link";

/// Fails when `text` holds a raw control character (other than the newlines that end lines)
/// or a bidi override: what reaches a terminal must show, not act.
#[track_caller]
fn assert_no_raw_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what} holds raw {bad:?}:\n{}",
        text.escape_debug()
    );
}

/// A fault that answers `path`'s next request with `body` (and `status`).
fn body_fault(path: &str, status: u16, body: &Value) -> Fault {
    Fault {
        path: path.into(),
        status: Some(status),
        body: Some(FaultBody::Json(body.clone())),
        ..Fault::default()
    }
}

fn rfc3339_in(secs: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

// ---- magic links ----------------------------------------------------------------------

#[test]
fn a_magic_link_that_is_not_a_clean_https_url_is_never_shown_opened_or_drawn() {
    let hostile = [
        "https://acme.example/x\u{1b}]8;;https://evil.example/\u{7}click\u{1b}]8;;\u{7}",
        "https://acme.example/x\u{1b}]52;c;ZXZpbA==\u{7}",
        "https://acme.example/x\r\nhttps://evil.example/",
        "https://acme.example/ https://evil.example/",
        "https://acme.example/\u{202e}lpmaxe.live",
        "https://acme.example\\@evil.example/",
        "https://user@evil.example/",
        "http://evil.example/magicLink/1",
        "javascript:alert(document.cookie)",
        "file:///etc/passwd",
    ];
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    for link in hostile {
        for args in [
            &["authorize", "gmail", "--no-wait", "--qr"][..],
            &["authorize", "gmail", "--no-wait", "--json"][..],
            // The exit-4 path of `token` mints a link for the error too.
            &["token", "gmail", "--qr"][..],
        ] {
            w.emu.queue_fault(body_fault(
                MAGIC_LINK,
                200,
                &json!({"link": link, "expiry": rfc3339_in(300)}),
            ));
            let run = w.run(args);
            run.assert_code(1);
            assert_no_raw_controls("stderr", &run.stderr);
            assert!(
                run.stderr.contains("not a clean https:// URL"),
                "{link:?} {args:?}: {}",
                run.stderr
            );
            for shown in [&run.stderr, &run.stdout] {
                assert!(!shown.contains("evil"), "{link:?} {args:?}: {shown}");
                assert!(
                    !shown.contains("acme.example"),
                    "{link:?} {args:?}: {shown}"
                );
                assert!(!shown.contains('█'), "a QR code was drawn for {link:?}");
            }
            if args.contains(&"--json") {
                let doc = run.json();
                assert_eq!(doc["error"]["code"], "failed", "{doc}");
                assert!(doc["error"].get("link").is_none_or(Value::is_null), "{doc}");
            } else {
                assert_eq!(run.stdout, "");
            }
        }
    }
}

#[test]
fn a_clean_emulator_link_is_still_shown() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["authorize", "gmail", "--no-wait"]);
    run.assert_code(4);
    let link = w.emu.magic_links().last().unwrap().link.clone();
    assert!(
        run.stderr.lines().any(|l| l == link),
        "{link}\n{}",
        run.stderr
    );
}

// ---- server text and config names in tables and messages -------------------------------

#[test]
fn list_remote_shows_hostile_fields_escaped_and_json_keeps_them_exact() {
    let w = World::configured(&[]);
    let account = json!({
        "id": "ca_1\u{1b}]0;pwned\u{7}",
        "connector": "gmail\u{1b}[2J",
        "identifier": "me\u{202e}live",
        "provider": "GM\u{9b}31m",
        "status": "ACTIVE\r\nFAKE ROW",
        "token_expires_at": "2030-01-01T00:00:00Z",
    });
    let page = json!({"connected_accounts": [account], "next_page_token": "", "total_size": 1});
    w.emu.queue_fault(body_fault(LIST, 200, &page));
    let run = w.run(&["list", "--remote"]);
    run.assert_code(0);
    assert_no_raw_controls("stdout", &run.stdout);
    for shown in [
        r"ca_1\e]0;pwned\x07",
        r"gmail\e[2J",
        r"me\u{202e}live",
        r"GM\u{9b}31m",
        r"ACTIVE\r\nFAKE ROW",
    ] {
        assert!(run.stdout.contains(shown), "{shown}: {}", run.stdout);
    }
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    assert_eq!(run.stderr, "");

    w.emu.queue_fault(body_fault(LIST, 200, &page));
    let run = w.run(&["list", "--remote", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc[0]["id"], account["id"]);
    assert_eq!(doc[0]["connection_name"], account["connector"]);
    assert_eq!(doc[0]["identifier"], account["identifier"]);
    assert_eq!(doc[0]["provider"], account["provider"]);
    assert_eq!(doc[0]["status"], account["status"]);
}

#[test]
fn status_shows_a_hostile_account_state_escaped() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let status = "\u{1b}]52;c;cHduZWQ=\u{7}PENDING\u{1b}[5m";
    w.emu.queue_fault(body_fault(
        DETAILS,
        200,
        &json!({"connected_account": {
            "identifier": "mess", "connector": "gmail_u3134a", "status": status,
            "authorization_type": "OAUTH\u{1b}[8m",
        }}),
    ));
    let run = w.run(&["status"]);
    run.assert_code(4);
    assert_no_raw_controls("stdout", &run.stdout);
    assert_no_raw_controls("stderr", &run.stderr);
    assert!(
        run.stdout.contains(r"\e]52;c;cHduZWQ=\x07PENDING\e[5m"),
        "{}",
        run.stdout
    );

    w.emu.queue_fault(body_fault(
        DETAILS,
        200,
        &json!({"connected_account": {"identifier": "mess", "connector": "gmail_u3134a", "status": status}}),
    ));
    let run = w.run(&["status", "--json"]);
    run.assert_code(4);
    assert_eq!(run.json()["services"][0]["status"], status);
}

#[test]
fn config_toml_names_are_escaped_in_list_config_and_completions() {
    let w = World::configured(&[]);
    write(
        &w.path("config.toml"),
        "[services.gmail]\nconnection_name = \"c\\u001b]0;pwned\\u0007x\"\n\
         identifier = \"me\\u001b[2J\\u202e\"\n\
         [services.\"bad\\u001b]8;;https://evil\\u0007name\"]\nconnection_name = \"d\"\n",
    );
    let run = w.run(&["list"]);
    run.assert_code(0);
    assert_no_raw_controls("stdout", &run.stdout);
    assert!(
        run.stdout.contains(r"bad\e]8;;https://evil\x07name"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(r"c\e]0;pwned\x07x"), "{}", run.stdout);
    assert!(run.stdout.contains(r"me\e[2J\u{202e}"), "{}", run.stdout);

    let run = w.run(&["list", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    let gmail = doc
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "gmail")
        .unwrap();
    assert_eq!(gmail["connection_name"], "c\u{1b}]0;pwned\u{7}x");

    let run = w.run(&["config", "gmail"]);
    run.assert_code(0);
    assert_no_raw_controls("stdout", &run.stdout);
    assert!(run.stdout.contains(r"c\e]0;pwned\x07x"), "{}", run.stdout);

    // What a shell's completion function reads: the candidates and their descriptions.
    let mut cmd = w.command(&["--", "scalekit-auth", "token", ""]);
    cmd.env("SCALEKIT_AUTH_COMPLETE", "fish");
    let run = run_command(cmd, "");
    run.assert_code(0);
    assert_no_raw_controls("completions", &run.stdout.replace('\t', " "));
    assert!(
        run.stdout.contains("gmail\tc\\e]0;pwned\\x07x"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("bad"), "{}", run.stdout);
}

#[test]
fn a_server_error_message_reaches_stderr_with_its_controls_visible_or_removed() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let message =
        "boom \u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{7} \u{202e}dlrow \u{9b}2J";
    for json_flag in [false, true] {
        w.emu.queue_fault(body_fault(
            AUTH,
            500,
            &json!({"code": 13, "message": message, "details": []}),
        ));
        let args: &[&str] = if json_flag {
            &["token", "gmail", "--json"]
        } else {
            &["token", "gmail"]
        };
        let run = w.run(args);
        run.assert_code(1);
        assert_no_raw_controls("stderr", &run.stderr);
        assert!(run.stderr.contains(r"\u{202e}dlrow"), "{}", run.stderr);
        if json_flag {
            // JSON is not a terminal: serde escapes, the message is otherwise kept.
            let doc = run.json();
            assert!(
                doc["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("\u{202e}dlrow"),
                "{doc}"
            );
        } else {
            assert_eq!(run.stdout, "");
        }
    }
}

// ---- redaction --------------------------------------------------------------------------

#[test]
fn the_client_secret_echoed_by_the_server_is_redacted() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    for args in [
        &["token", "gmail"][..],
        &["token", "gmail", "--json"][..],
        &["status"][..],
    ] {
        w.emu.queue_fault(body_fault(
            "/oauth/token",
            401,
            &json!({"error": "invalid_client",
                    "error_description": format!("client {CLIENT_ID} with secret {SECRET} is unknown")}),
        ));
        let run = w.run(args);
        run.assert_code(3);
        assert!(
            run.stderr.contains("[redacted]"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(CLIENT_ID), "{}", run.stderr);
        for shown in [&run.stdout, &run.stderr] {
            assert!(
                !shown.contains(SECRET),
                "{args:?} shows the secret: {shown}"
            );
        }
    }
}

#[test]
fn the_api_token_echoed_by_the_server_is_redacted() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let api_token = "skemu_ECHOED-api-token-7f3a9c";
    for json_flag in [false, true] {
        w.emu.queue_fault(body_fault(
            "/oauth/token",
            200,
            &json!({"access_token": api_token, "token_type": "Bearer", "expires_in": 86399}),
        ));
        w.emu.queue_fault(body_fault(
            AUTH,
            500,
            &json!({"code": 13, "message": format!("bearer {api_token} failed"), "details": []}),
        ));
        let run = w.run(if json_flag {
            &["token", "gmail", "--json"]
        } else {
            &["token", "gmail"]
        });
        run.assert_code(1);
        assert!(
            run.stderr.contains("bearer [redacted] failed"),
            "{}",
            run.stderr
        );
        for shown in [&run.stdout, &run.stderr] {
            assert!(!shown.contains("ECHOED"), "the API token leaked: {shown}");
        }
    }
}

#[test]
fn access_tokens_and_static_credentials_seen_earlier_are_redacted() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let oauth = json!({"oauth_token": {"access_token": "ya29.SEEN-access-token-1", "refresh_token": "rt-SEEN-2"}});
    let basic =
        json!({"static_auth": {"details": {"username": "bot", "password": "pw-SEEN-3-long"}}});
    for (details, leaked) in [
        (oauth, "ya29.SEEN-access-token-1 rt-SEEN-2"),
        (basic, "pw-SEEN-3-long bot:pw-SEEN-3-long"),
    ] {
        for json_flag in [false, true] {
            // The first lookup answers with a credential that expires too soon for
            // --min-ttl; the lookup asked again fails with a message that quotes it.
            w.emu.queue_fault(body_fault(
                AUTH,
                200,
                &json!({"connected_account": {
                    "identifier": "mess", "connector": "gmail_u3134a", "status": "ACTIVE",
                    "authorization_details": details, "token_expires_at": rfc3339_in(30),
                }}),
            ));
            w.emu.queue_fault(body_fault(
                AUTH,
                500,
                &json!({"code": 13, "message": format!("cannot refresh: {leaked}"), "details": []}),
            ));
            let mut args = vec!["token", "gmail", "--min-ttl", "3600"];
            if json_flag {
                args.push("--json");
            }
            let run = w.run(&args);
            run.assert_code(1);
            assert!(
                run.stderr.contains("cannot refresh: [redacted] "),
                "{}",
                run.stderr
            );
            for shown in [&run.stdout, &run.stderr] {
                assert!(!shown.contains("SEEN"), "a credential leaked: {shown}");
            }
        }
    }
}

// ---- credential values in line formats --------------------------------------------------

/// A world whose services hold static API keys with the given values.
fn static_world(values: &[(&str, &str)]) -> World {
    let services: Vec<(String, String)> = values
        .iter()
        .map(|(service, _)| ((*service).to_owned(), format!("{service}_conn")))
        .collect();
    let pairs: Vec<(&str, &str)> = services
        .iter()
        .map(|(s, c)| (s.as_str(), c.as_str()))
        .collect();
    let w = World::configured(&pairs);
    for (service, value) in values {
        w.emu.seed(SeedAccount {
            connector: format!("{service}_conn"),
            identifier: "mess".into(),
            static_auth: Some(json!({ "api_key": value })),
            ..SeedAccount::default()
        });
    }
    w
}

/// `sh`, or `None` (and a visible "skipped") when it is missing outside CI.
fn shell() -> Option<Command> {
    require_tool("sh").then(|| Command::new("sh"))
}

#[test]
fn env_output_evaluated_by_a_real_shell_only_assigns() {
    let values = [
        ("semi", "pw;touch PWNED #"),
        ("subst", "$(touch SUBST)"),
        ("tick", "`touch TICK`"),
        ("quote", "it's a \"quoted\" 'value'\\"),
        ("close", "x'; touch CLOSED; echo '"),
        ("dollar", "$HOME ${PATH} $1 *"),
    ];
    let w = static_world(&values);
    let mut args = vec!["token"];
    args.extend(values.iter().map(|(s, _)| *s));
    args.push("--env");
    let run = w.run(&args);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout.lines().count(), values.len(), "{}", run.stdout);

    let Some(mut sh) = shell() else { return };
    let dir = w.home.path().join("eval");
    std::fs::create_dir_all(&dir).unwrap();
    let mut script = String::from("eval \"$1\"\n");
    for (service, _) in &values {
        let var = format!("{}_ACCESS_TOKEN", service.to_uppercase());
        script.push_str(&format!("printf '%s\\0' \"${var}\"\n"));
    }
    sh.arg("-c")
        .arg(&script)
        .arg("sh")
        .arg(&run.stdout)
        .current_dir(&dir);
    let out = sh.output().expect("sh runs");
    assert!(out.status.success(), "{out:?}");
    let got: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .split_terminator('\0')
        .collect();
    let wanted: Vec<&str> = values.iter().map(|(_, v)| *v).collect();
    assert_eq!(got, wanted);
    let created: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(created.is_empty(), "eval ran a command: {created:?}");
}

#[test]
fn env_names_are_execs() {
    let w = static_world(&[("github", "ghp_1234"), ("slack", "xoxb-1234")]);
    let run = w.run(&["token", "github", "slack", "--env"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "GITHUB_TOKEN='ghp_1234'\nSLACK_ACCESS_TOKEN='xoxb-1234'\n"
    );
    let run = w.run(&[
        "token",
        "github",
        "slack",
        "--env",
        "--env-name",
        "slack=SLACK_BOT_TOKEN",
    ]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "GITHUB_TOKEN='ghp_1234'\nSLACK_BOT_TOKEN='xoxb-1234'\n"
    );
    w.emu.clear_requests();
    for bad in [
        &["token", "slack", "--env", "--env-name", "slack=X;touch Y"][..],
        &["token", "slack", "--env", "--env-name", "github=GH"][..],
        &["token", "slack", "--env-name", "slack=X"][..],
    ] {
        let run = w.run(bad);
        run.assert_code(2);
        assert_eq!(run.stdout, "", "{bad:?}");
    }
    assert!(w.requests().is_empty(), "{:?}", w.requests());
}

#[test]
fn a_credential_with_a_control_character_is_refused_for_line_formats() {
    let values = [
        ("crlf", "tok\r\nX-Injected: 1"),
        ("nul", "tok\u{0}tail"),
        ("esc", "tok\u{1b}]52;c;ZXZpbA==\u{7}"),
        ("lf", "tok\nsecond-line"),
    ];
    let w = static_world(&[
        values[0],
        values[1],
        values[2],
        values[3],
        ("good", "fine-token"),
    ]);
    for (service, value) in values {
        for format in [None, Some("--header"), Some("--env")] {
            let mut args = vec!["token", "good", service];
            args.extend(format);
            let run = w.run(&args);
            run.assert_code(1);
            // Every line or none: not even the good service's.
            assert_eq!(run.stdout, "", "{service} {format:?}");
            assert!(
                run.stderr.contains(&format!(
                    "{service}'s credential contains a control character"
                )),
                "{service} {format:?}: {}",
                run.stderr
            );
            assert!(!run.stderr.contains("tok"), "{}", run.stderr);
            assert_no_raw_controls("stderr", &run.stderr);
        }
        let run = w.run(&["token", service, "--json"]);
        run.assert_code(0);
        let doc = run.json();
        assert_eq!(doc["access_token"], value);
        assert_eq!(doc["credentials"]["api_key"], value);
    }
}

#[test]
fn a_hostile_identity_md_name_is_not_offered_at_the_prompt() {
    if !require_tool("script") {
        return;
    }
    let mut w = World::new();
    let workspace = w.home.path().join("openclaw");
    write(
        &workspace.join("IDENTITY.md"),
        "# IDENTITY.md\n\n- **Name:** Me\u{1b}]0;pwned\u{7}ss\n",
    );
    w.env
        .insert("OPENCLAW_WORKSPACE".into(), workspace.display().to_string());
    let mut pty = w.pty(&["init", "--no-verify"]);
    pty.expect("Scalekit environment URL");
    pty.send(&format!("{}\r", w.emu.url()));
    pty.expect("Client ID");
    pty.send(&format!("{CLIENT_ID}\r"));
    pty.expect("Client secret");
    pty.send(&format!("{SECRET}\r"));
    pty.expect("Default identifier");
    pty.send("typed\r");
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(
        !output.contains("\u{1b}]0;pwned"),
        "{}",
        output.escape_debug()
    );
    assert!(w.config_toml().contains("identifier = \"typed\""));
}

#[test]
fn exec_names_the_service_whose_credential_holds_a_nul() {
    let w = static_world(&[("nul", "tok\u{0}tail"), ("good", "fine-token")]);
    let marker = w.home.path().join("ran");
    let script = format!("touch '{}'", marker.display());
    let run = w.run(&["exec", "good", "nul", "--", "sh", "-c", &script]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("nul's credential contains a NUL byte"),
        "{}",
        run.stderr
    );
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn a_stderr_nobody_reads_loses_messages_without_a_panic() {
    let w = World::configured(&[]);
    for args in [
        &["list"][..],
        &["token", "nothing"][..],
        &["-v", "status"][..],
    ] {
        // A pipe whose reading end is gone: every write to stderr fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = w.command(args);
        cmd.stderr(writer).stdout(std::process::Stdio::piped());
        let out = cmd.output().expect("the binary runs");
        let code = out.status.code();
        assert!(
            matches!(code, Some(0..=5)),
            "{args:?}: {code:?} {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

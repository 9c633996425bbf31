//! `tools search|list|schema|run`: the catalog, the schema check before anything is sent, and
//! every outcome of `execute_tool`, proven by the requests the emulator saw and by its record
//! of executions (a tool never runs twice).

use std::time::Duration;

use scalekit_emulator::{Fault, FaultBody};
use serde_json::{Value, json};

use crate::harness::{World, assert_no_secret, require_tool};

/// gmail configured and authorized for `mess`.
fn gmail() -> World {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.clear_requests();
    w
}

fn query(w: &World, index: usize) -> String {
    w.logged()[index].query.clone().unwrap_or_default()
}

fn body(w: &World, index: usize) -> Value {
    serde_json::from_str(&w.logged()[index].body).expect("a JSON body")
}

const RUN: &[&str] = &[
    "POST /oauth/token",
    "GET /api/v1/tools",
    "POST /api/v1/execute_tool",
];

#[test]
fn search_reads_one_page_with_dotted_filter_keys() {
    let w = gmail();
    let run = w.run(&[
        "tools",
        "search",
        "fetch mails",
        "--provider",
        "GMAIL",
        "--limit",
        "5",
    ]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(w.requests(), ["POST /oauth/token", "GET /api/v1/tools"]);
    assert_eq!(
        query(&w, 1),
        "filter.query=fetch+mails&filter.provider=GMAIL&page_size=5"
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "PROVIDER", "DESCRIPTION"]
    );
    // The first line of the description only.
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>().join(" "),
        "gmail_fetch_mails GMAIL Fetch emails from the connected Gmail inbox."
    );
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    // --json: the full description.
    let run = w.run(&["tools", "search", "fetch mails", "--json"]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        json!([{"name": "gmail_fetch_mails", "provider": "GMAIL",
                "description": "Fetch emails from the connected Gmail inbox.\nSupports Gmail search syntax in query."}])
    );
    // Without --limit, the page asked for is 20 (the emulator's own default is 10).
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/tools",
            "POST /oauth/token",
            "GET /api/v1/tools"
        ]
    );
    assert_eq!(query(&w, 3), "filter.query=fetch+mails&page_size=20");
}

#[test]
fn a_short_query_is_a_usage_error_and_sends_nothing() {
    let w = gmail();
    for query in ["ab", "  x  ", ""] {
        let run = w.run(&["tools", "search", query, "--json"]);
        run.assert_code(2);
        assert_eq!(run.json()["error"]["code"], "usage");
        assert!(
            run.stderr.contains("at least 3 characters"),
            "{}",
            run.stderr
        );
    }
    assert!(w.requests().is_empty());
}

#[test]
fn list_reads_every_page_of_a_service_or_provider() {
    let w = gmail();
    let run = w.run(&["tools", "list", "--service", "gmail", "--json"]);
    run.assert_code(0);
    assert_eq!(w.requests(), ["POST /oauth/token", "GET /api/v1/tools"]);
    assert_eq!(query(&w, 1), "filter.connector=gmail_u3134a&page_size=100");
    let names: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["gmail_fetch_mails", "gmail_get_message", "gmail_send_email"]
    );
    // Every page: the whole catalog in pages of 100 is one page; the table has every tool.
    w.emu.clear_requests();
    let run = w.run(&["tools", "list"]);
    run.assert_code(0);
    assert_eq!(run.stdout.lines().count(), 1 + 10, "{}", run.stdout);
    let run = w.run(&["tools", "list", "--provider", "slack", "--json"]);
    run.assert_code(0);
    assert_eq!(run.json().as_array().unwrap().len(), 2);
    // Not both; and an unknown service is exit 3 without a request.
    w.emu.clear_requests();
    w.run(&["tools", "list", "--provider", "SLACK", "--service", "gmail"])
        .assert_code(2);
    let run = w.run(&["tools", "list", "--service", "nope"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("scalekit-auth config nope CONNECTION_NAME"),
        "{}",
        run.stderr
    );
    assert!(w.requests().is_empty());
}

#[test]
fn schema_shows_parameters_or_the_definition_as_returned() {
    let w = gmail();
    let run = w.run(&["tools", "schema", "gmail_send_email"]);
    run.assert_code(0);
    assert_eq!(w.requests(), ["POST /oauth/token", "GET /api/v1/tools"]);
    assert_eq!(
        query(&w, 1),
        "filter.tool_name=gmail_send_email&page_size=10"
    );
    let text = &run.stdout;
    assert!(
        text.starts_with("gmail_send_email (GMAIL)\n  Send an email"),
        "{text}"
    );
    assert!(
        text.contains("\nParameters:\n  to  array of string, required\n      Recipients\n"),
        "{text}"
    );
    assert!(
        text.contains("  content_type  string, one of: text/plain, text/html\n"),
        "{text}"
    );
    // Required parameters come first.
    let to = text.find("  to  ").unwrap();
    let cc = text.find("  cc  ").unwrap();
    assert!(to < cc, "{text}");
    let run = w.run(&["tools", "schema", "gmail_send_email", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["name"], "gmail_send_email");
    assert_eq!(
        doc["input_schema"]["required"],
        json!(["to", "subject", "body"])
    );
}

#[test]
fn an_unknown_tool_is_exit_3_with_close_names() {
    let w = gmail();
    let run = w.run(&["tools", "schema", "gmail_fetch_mail"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains(r#"Scalekit has no tool named "gmail_fetch_mail""#),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: did you mean gmail_fetch_mails?"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/tools",
            "GET /api/v1/tools"
        ]
    );
    let run = w.run(&["tools", "schema", "nothing_like_it", "--json"]);
    run.assert_code(3);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "not_configured");
    assert!(
        error["hint"].as_str().unwrap().contains("tools search"),
        "{error}"
    );
}

#[test]
fn run_costs_three_requests_and_prints_the_data() {
    let w = gmail();
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "-d",
        r#"{"max_results": 2, "query": "is:unread"}"#,
    ]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(w.requests(), RUN);
    assert_eq!(
        query(&w, 1),
        "filter.tool_name=gmail_fetch_mails&page_size=10"
    );
    assert_eq!(
        body(&w, 2),
        json!({"tool_name": "gmail_fetch_mails", "connector": "gmail_u3134a", "identifier": "mess",
               "params": {"max_results": 2, "query": "is:unread"}})
    );
    let executions = w.emu.executions();
    assert_eq!(executions.len(), 1);
    // Compact JSON on a pipe: one line, the tool's data as it ran.
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_eq!(run.json(), executions[0].data);
    assert_eq!(executions[0].data["messages"].as_array().unwrap().len(), 2);
}

#[test]
fn run_without_the_check_costs_two_requests() {
    let w = gmail();
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "--no-check",
        "--json",
        "--run-id",
        "run-7",
    ]);
    run.assert_code(0);
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "POST /api/v1/execute_tool"]
    );
    assert_eq!(body(&w, 1)["params"], json!({}));
    assert_eq!(body(&w, 1)["agent_run_id"], "run-7");
    let executions = w.emu.executions();
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].agent_run_id.as_deref(), Some("run-7"));
    let doc = run.json();
    assert_eq!(doc["tool"], "gmail_fetch_mails");
    assert_eq!(doc["service"], "gmail");
    assert_eq!(doc["execution_id"], executions[0].execution_id.as_str());
    assert_eq!(doc["data"], executions[0].data);
}

#[test]
fn the_run_id_comes_from_the_environment_and_params_from_a_file_or_stdin() {
    let mut w = gmail();
    w.env
        .insert("SCALEKIT_AUTH_RUN_ID".into(), "agent-run-42".into());
    let file = w.cwd.join("params.json");
    std::fs::write(&file, r#"{"message_id": "m1"}"#).unwrap();
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_get_message",
        "-d",
        &format!("@{}", file.display()),
    ]);
    run.assert_code(0);
    assert_eq!(body(&w, 2)["agent_run_id"], "agent-run-42");
    assert_eq!(body(&w, 2)["params"], json!({"message_id": "m1"}));
    let run = w.run_stdin(
        &[
            "tools",
            "run",
            "gmail",
            "gmail_get_message",
            "-d",
            "-",
            "--no-check",
        ],
        r#"{"message_id": "m2", "format": "minimal"}"#,
    );
    run.assert_code(0);
    assert_eq!(
        w.emu.executions()[1].params,
        json!({"message_id": "m2", "format": "minimal"})
    );
}

#[test]
fn params_that_are_not_a_json_object_send_nothing() {
    let w = gmail();
    let cases = [
        (
            r#"{"max_results": 5"#,
            "not valid JSON: it ends too soon at line 1 column 17",
        ),
        (
            "{\n  \"a\": 1,\n  oops\n}",
            "not valid JSON: unexpected input at line 3 column 3",
        ),
        ("[1, 2]", "the params must be a JSON object, got an array"),
        ("null", "the params must be a JSON object, got null"),
    ];
    for (data, message) in cases {
        let run = w.run(&["tools", "run", "gmail", "gmail_fetch_mails", "-d", data]);
        run.assert_code(2);
        assert!(run.stderr.contains(message), "{data}: {}", run.stderr);
    }
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "-d",
        "@missing.json",
    ]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("cannot read the params file \"missing.json\""),
        "{}",
        run.stderr
    );
    assert!(w.requests().is_empty());
    assert!(w.emu.executions().is_empty());
}

#[test]
fn dry_run_checks_every_problem_and_runs_nothing() {
    let w = gmail();
    let params = r#"{"to": "bob@example.com", "content_type": "text/markdown", "attachments": [{"filename": "a.txt"}], "importance": "high"}"#;
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_send_email",
        "-d",
        params,
        "--dry-run",
    ]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: the params do not match gmail_send_email's input schema (6 problems):\n  \
         $.subject: is required but missing\n  \
         $.body: is required but missing\n  \
         $.attachments[0].content_base64: is required but missing\n  \
         $.content_type: must be one of \"text/plain\", \"text/html\"; got \"text/markdown\"\n  \
         $.importance: is not a field of the schema (known: attachments, bcc, body, cc, content_type, subject, to)\n  \
         $.to: expected array, got string \"bob@example.com\"\n\
         hint: scalekit-auth tools schema gmail_send_email\n"
    );
    assert_eq!(w.requests(), ["POST /oauth/token", "GET /api/v1/tools"]);
    // --json: the verdict on stdout.
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_send_email",
        "-d",
        params,
        "--dry-run",
        "--json",
    ]);
    run.assert_code(2);
    let doc = run.json();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["problems"].as_array().unwrap().len(), 6);
    assert_eq!(
        doc["problems"][0],
        json!({"path": "$.subject", "message": "is required but missing"})
    );
    // Valid params: "valid", exit 0, still nothing run.
    let good = r#"{"to": ["bob@example.com"], "subject": "hi", "body": "hello"}"#;
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_send_email",
        "-d",
        good,
        "--dry-run",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("valid"), "{}", run.stderr);
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_send_email",
        "-d",
        good,
        "--dry-run",
        "--json",
    ]);
    assert_eq!(run.json(), json!({"valid": true, "problems": []}));
    assert!(!w.requests().iter().any(|r| r.contains("execute_tool")));
    assert!(w.emu.executions().is_empty());
    // --dry-run needs the schema.
    w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_send_email",
        "--dry-run",
        "--no-check",
    ])
    .assert_code(2);
}

#[test]
fn a_real_run_never_sends_params_it_knows_are_wrong() {
    let w = gmail();
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "-d",
        r#"{"max_results": "5"}"#,
        "--json",
    ]);
    run.assert_code(2);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "usage");
    assert_eq!(
        error["problems"],
        json!([{"path": "$.max_results", "message": "expected integer, got string \"5\""}])
    );
    assert_eq!(w.requests(), ["POST /oauth/token", "GET /api/v1/tools"]);
    assert!(w.emu.executions().is_empty());
}

#[test]
fn params_scalekit_refuses_are_exit_2_naming_them() {
    // Without the check, Scalekit's own validation answers: 400 naming the parameter.
    let w = gmail();
    let run = w.run(&["tools", "run", "gmail", "gmail_get_message", "--no-check"]);
    run.assert_code(2);
    assert!(run.stderr.contains("(params.message_id)"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "hint: see the tool's parameters: scalekit-auth tools schema gmail_get_message"
        ),
        "{}",
        run.stderr
    );
    assert!(w.emu.executions().is_empty());
}

#[test]
fn an_unknown_tool_at_run_time_is_exit_3() {
    let w = gmail();
    let run = w.run(&["tools", "run", "gmail", "gmail_fetch_mail"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("did you mean gmail_fetch_mails?"),
        "{}",
        run.stderr
    );
    assert!(!w.requests().iter().any(|r| r.contains("execute_tool")));
    // Without the check, Scalekit's 404 is told apart from a missing account by looking it up.
    w.emu.clear_requests();
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mail",
        "--no-check",
        "--json",
    ]);
    run.assert_code(3);
    assert_eq!(run.json()["error"]["code"], "not_configured");
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "POST /api/v1/execute_tool",
            "GET /api/v1/connected_accounts/details",
            "GET /api/v1/tools"
        ]
    );
}

#[test]
fn authorization_needed_is_exit_4_with_a_fresh_link_like_token() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["tools", "run", "gmail", "gmail_fetch_mails", "--json"]);
    run.assert_code(4);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "authorization_required");
    let link = error["link"].as_str().unwrap();
    assert_eq!(w.emu.magic_links()[0].link, link);
    assert!(error["link_expires_at"].is_string());
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains("scalekit-auth tools run gmail gmail_fetch_mails --wait")
    );
    assert!(
        run.stderr.contains("authorization needed for gmail"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(link), "{}", run.stderr);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "GET /api/v1/tools",
            "POST /api/v1/execute_tool",
            "GET /api/v1/connected_accounts/details",
            "POST /api/v1/connected_accounts",
            "POST /api/v1/connected_accounts/magic_link"
        ]
    );
    assert!(w.emu.executions().is_empty());
    // An account that exists but is not ACTIVE: no create, the link is minted.
    w.emu.clear_requests();
    assert!(w.emu.set_status("gmail_u3134a", "mess", "EXPIRED"));
    let run = w.run(&["tools", "run", "gmail", "gmail_fetch_mails", "--no-check"]);
    run.assert_code(4);
    assert!(
        run.stderr.contains("the account is EXPIRED"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "POST /api/v1/execute_tool",
            "GET /api/v1/connected_accounts/details",
            "POST /api/v1/connected_accounts/magic_link"
        ]
    );
}

#[test]
fn wait_runs_the_tool_once_the_user_approves() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..400 {
                if let Some(link) = w.emu.magic_links().first() {
                    assert!(w.emu.approve_link(&link.link));
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("no link was minted");
        });
        w.run(&[
            "tools",
            "run",
            "gmail",
            "gmail_fetch_mails",
            "--wait",
            "--timeout",
            "60",
            "--no-qr",
        ])
    });
    run.assert_code(0);
    let executions = w.emu.executions();
    assert_eq!(executions.len(), 1);
    assert_eq!(run.json(), executions[0].data);
    assert!(run.stderr.contains("gmail authorized"), "{}", run.stderr);
}

#[test]
fn a_failed_tool_is_exit_1_with_its_execution_id_and_is_not_resent() {
    let w = gmail();
    w.emu.queue_fault(Fault {
        path: "/api/v1/execute_tool".into(),
        status: Some(500),
        ..Fault::default()
    });
    let run = w.run(&["tools", "run", "gmail", "gmail_fetch_mails", "--json"]);
    run.assert_code(1);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "tool_failed");
    let execution_id = error["execution_id"].as_str().unwrap();
    assert!(execution_id.starts_with("exec_fault_"), "{execution_id}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("gmail_fetch_mails ran and failed (Scalekit answered 500"),
        "{message}"
    );
    assert!(
        message.contains("the provider failed (injected fault)"),
        "{message}"
    );
    assert_eq!(w.requests(), RUN);
}

#[test]
fn busy_or_lost_answers_are_exit_1_saying_it_may_have_run_never_5() {
    for fault in [
        // Scalekit's busy answers are retried for every other call; never for this one.
        Fault {
            status: Some(503),
            retry_after: Some(0),
            body: Some(FaultBody::Json(
                json!({"code": 14, "message": "unavailable"}),
            )),
            ..Fault::default()
        },
        Fault {
            status: Some(429),
            body: Some(FaultBody::Text(String::new())),
            ..Fault::default()
        },
        // The tool ran, then the connection dropped before the answer.
        Fault {
            handle_first: true,
            drop: true,
            ..Fault::default()
        },
    ] {
        let w = gmail();
        let ran = fault.handle_first;
        w.emu.queue_fault(Fault {
            path: "/api/v1/execute_tool".into(),
            ..fault
        });
        let run = w.run(&[
            "tools",
            "run",
            "gmail",
            "gmail_fetch_mails",
            "--no-check",
            "--json",
        ]);
        run.assert_code(1);
        let error = &run.json()["error"];
        assert_eq!(error["code"], "tool_failed", "{error}");
        assert!(
            error["message"].as_str().unwrap().contains("may have run"),
            "{error}"
        );
        assert!(
            error["hint"]
                .as_str()
                .unwrap()
                .contains("check whether it took effect"),
            "{error}"
        );
        assert_eq!(
            w.requests(),
            ["POST /oauth/token", "POST /api/v1/execute_tool"]
        );
        assert_eq!(w.emu.executions().len(), usize::from(ran));
    }
}

#[test]
fn a_timeout_after_sending_is_exit_1_and_the_run_has_its_own_timeout() {
    let w = gmail();
    w.emu.queue_fault(Fault {
        path: "/api/v1/execute_tool".into(),
        hang: true,
        ..Fault::default()
    });
    let started = std::time::Instant::now();
    let run = w.run(&[
        "--http-timeout",
        "1",
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "--no-check",
    ]);
    run.assert_code(1);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        run.stderr.contains("timed out") && run.stderr.contains("may have run"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "POST /api/v1/execute_tool"]
    );
    // SCALEKIT_AUTH_HTTP_TIMEOUT counts as given too; without either, a slow tool is waited for.
    let mut w = w;
    for (timeout, code) in [(Some("1"), 1), (None, 0)] {
        w.emu.clear_requests();
        w.emu.queue_fault(Fault {
            path: "/api/v1/execute_tool".into(),
            delay_ms: Some(1_500),
            ..Fault::default()
        });
        match timeout {
            Some(t) => w.env.insert("SCALEKIT_AUTH_HTTP_TIMEOUT".into(), t.into()),
            None => w.env.remove("SCALEKIT_AUTH_HTTP_TIMEOUT"),
        };
        let run = w.run(&["tools", "run", "gmail", "gmail_fetch_mails", "--no-check"]);
        run.assert_code(code);
        assert_eq!(
            w.requests(),
            ["POST /oauth/token", "POST /api/v1/execute_tool"]
        );
    }
}

#[test]
fn an_expired_api_token_gets_one_new_token_and_one_more_attempt() {
    let w = gmail();
    // Scalekit's own 401 (no tool error in it): it ran nothing.
    w.emu.queue_fault(Fault {
        path: "/api/v1/execute_tool".into(),
        status: Some(401),
        body: Some(FaultBody::Json(json!({"code": 16, "message": "token expired", "details": [
            {"@type": "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo", "error_code": "UNAUTHENTICATED"}]}))),
        ..Fault::default()
    });
    let run = w.run(&["tools", "run", "gmail", "gmail_fetch_mails", "--no-check"]);
    run.assert_code(0);
    assert_eq!(
        w.requests(),
        [
            "POST /oauth/token",
            "POST /api/v1/execute_tool",
            "POST /oauth/token",
            "POST /api/v1/execute_tool"
        ]
    );
    assert_eq!(w.logged()[1].status, 401);
    assert_eq!(w.emu.executions().len(), 1);
}

#[test]
fn nothing_sent_is_exit_5_safe_to_retry() {
    let w = World::new();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    w.run_stdin(
        &[
            "init",
            "--env-url",
            &url,
            "--client-id",
            crate::harness::CLIENT_ID,
            "--client-secret-stdin",
            "--identifier",
            "mess",
            "--no-verify",
        ],
        crate::harness::SECRET,
    )
    .assert_code(0);
    w.run(&["config", "gmail", "gmail_u3134a"]).assert_code(0);
    let run = w.run(&[
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "--no-check",
        "--json",
    ]);
    run.assert_code(5);
    assert_eq!(run.json()["error"]["code"], "unreachable");
}

#[test]
fn outside_text_in_the_catalog_and_tool_errors_reaches_the_terminal_escaped() {
    let w = gmail();
    w.emu.queue_fault(Fault {
        path: "/api/v1/tools".into(),
        status: Some(200),
        body: Some(FaultBody::Json(json!({"tools": [
            {"provider": "EVIL\u{1b}[2J", "definition": {"name": "evil\u{7}tool", "description": "first\u{1b}]8;;http://x\u{7}\nsecond"}},
            {"provider": "GMAIL", "definition": {"description": "no name"}},
            {"definition": "not an object"}
        ], "next_page_token": ""}))),
        ..Fault::default()
    });
    let run = w.run(&["tools", "search", "anything"]);
    run.assert_code(0);
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'),
        "{:?}",
        run.stdout
    );
    assert!(run.stdout.contains(r"evil\x07tool"), "{}", run.stdout);
    assert!(run.stdout.contains(r"EVIL\e[2J"), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    // A tool's error text, shown on stderr.
    w.emu.queue_fault(Fault {
        path: "/api/v1/execute_tool".into(),
        status: Some(500),
        body: Some(FaultBody::Json(json!({"code": 13, "message": "boom\u{1b}[31m\r\nerror: fake", "details": [
            {"@type": "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo", "error_code": "TOOL_ERROR",
             "tool_error_info": {"execution_id": "exec_\u{1b}x", "tool_error_message": "bad\u{7}"}}]}))),
        ..Fault::default()
    });
    let run = w.run(&["tools", "run", "gmail", "gmail_fetch_mails", "--no-check"]);
    run.assert_code(1);
    assert!(
        !run.stderr.contains('\u{1b}')
            && !run.stderr.contains('\u{7}')
            && !run.stderr.contains('\r'),
        "{:?}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(w.emu.executions().len(), 0);
}

#[test]
fn tools_and_connections_leak_no_secret_even_verbose() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let refresh = w.emu.account("gmail_u3134a", "mess").unwrap()["authorization_details"]
        ["oauth_token"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let everything = [
        crate::harness::SECRET,
        token.as_str(),
        refresh.as_str(),
        "skemu_",
    ];
    let runs: Vec<Vec<&str>> = vec![
        vec!["-v", "connections"],
        vec!["-v", "connections", "--json"],
        vec!["-v", "config", "mail", "--provider", "GMAIL"],
        vec!["-v", "config", "crm", "--provider", "SALESFORCE", "--json"],
        vec!["-v", "tools", "search", "send"],
        vec!["-v", "tools", "list", "--service", "gmail", "--json"],
        vec!["-v", "tools", "schema", "gmail_send_email"],
        vec!["-v", "tools", "schema", "nope_nope"],
        vec!["-v", "tools", "run", "gmail", "gmail_fetch_mails"],
        vec!["-v", "tools", "run", "gmail", "gmail_fetch_mails", "--json"],
        vec![
            "-v",
            "tools",
            "run",
            "gmail",
            "gmail_send_email",
            "-d",
            "{}",
            "--dry-run",
        ],
        vec![
            "-v",
            "tools",
            "run",
            "slack",
            "slack_list_channels",
            "--json",
        ],
        vec![
            "-v",
            "tools",
            "run",
            "gmail",
            "slack_list_channels",
            "--no-check",
        ],
    ];
    for args in runs {
        let run = w.run(&args);
        assert_no_secret(&run.stdout, &everything);
        assert_no_secret(&run.stderr, &everything);
        assert!(run.stderr.contains("http: "), "{args:?}: {}", run.stderr);
    }
    let run = w.run(&[
        "-v",
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "--no-check",
    ]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[1].starts_with("http: POST /api/v1/execute_tool 200 "),
        "{}",
        lines[1]
    );
}

#[test]
fn data_is_pretty_printed_on_a_terminal() {
    if !require_tool("script") {
        return;
    }
    let w = gmail();
    let pty = w.pty(&[
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "-d",
        r#"{"max_results": 1}"#,
    ]);
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("{\r\n  \"messages\": [\r\n"), "{output:?}");
    assert_eq!(w.emu.executions().len(), 1);
}

#[test]
fn at_a_terminal_the_authorize_flow_runs_then_the_tool() {
    if !require_tool("script") {
        return;
    }
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let pty = w.pty(&["tools", "run", "gmail", "gmail_fetch_mails", "--no-qr"]);
    pty.expect("Authorize gmail");
    let link = w.emu.magic_links()[0].link.clone();
    pty.expect(&link);
    assert!(
        w.emu.executions().is_empty(),
        "nothing runs before the approval"
    );
    assert!(w.emu.approve_link(&link));
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("gmail authorized"), "{output}");
    assert!(output.contains("\"messages\": ["), "{output}");
    let executions = w.emu.executions();
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].tool_name, "gmail_fetch_mails");
    // The first execute_tool was refused (no account), the second ran.
    let runs = w
        .requests()
        .iter()
        .filter(|r| *r == "POST /api/v1/execute_tool")
        .count();
    assert_eq!(runs, 2);
}

#[test]
fn ctrl_c_while_a_tool_runs_exits_130_and_it_is_not_sent_again() {
    let w = gmail();
    w.emu.queue_fault(Fault {
        path: "/api/v1/execute_tool".into(),
        hang: true,
        ..Fault::default()
    });
    let mut cmd = w.command(&["tools", "run", "gmail", "gmail_fetch_mails", "--no-check"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    for _ in 0..200 {
        if w.requests()
            .iter()
            .any(|r| r == "POST /api/v1/execute_tool")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let out = crate::harness::interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("error: interrupted"), "{stderr}");
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", "POST /api/v1/execute_tool"]
    );
}

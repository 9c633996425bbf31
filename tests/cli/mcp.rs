//! `mcp`: the real binary as an MCP server on stdio, driven by rmcp's client against the
//! emulator: the handshake, the tool list, every tool, authorization without waiting, the
//! limits, malformed messages, stdin closing, and proof that no result carries a secret.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, Tool,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::harness::{SECRET, World, assert_no_secret};

/// The tools, in the order `tools/list` gives them.
const ALL_TOOLS: [&str; 7] = [
    "list_services",
    "list_connections",
    "search_tools",
    "get_tool_schema",
    "execute_tool",
    "http_request",
    "authorize",
];

/// The test's MCP client: declares URL elicitation when asked to, and records the URLs it
/// was asked to open (and accepts them).
struct TestClient {
    config: ClientConfig,
    opened: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        self.config.clone()
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::UrlElicitationParams { url, .. } = request {
            self.opened.lock().unwrap().push(url);
            return Ok(ElicitResult::new(ElicitationAction::Accept));
        }
        Ok(ElicitResult::new(ElicitationAction::Decline))
    }
}

/// A running `scalekit-auth mcp` with a connected client.
struct Mcp {
    rt: tokio::runtime::Runtime,
    client: RunningService<RoleClient, TestClient>,
    opened: Arc<Mutex<Vec<String>>>,
    /// Every text any result carried, for the no-secret checks.
    texts: Mutex<Vec<String>>,
}

impl Mcp {
    fn start(w: &World, flags: &[&str]) -> Self {
        Self::start_with(w, flags, false)
    }

    fn start_with(w: &World, flags: &[&str], url_elicitation: bool) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut args = vec!["mcp"];
        args.extend_from_slice(flags);
        let command = tokio::process::Command::from(w.command(&args));
        let capabilities = if url_elicitation {
            json!({"elicitation": {"url": {}}})
        } else {
            json!({})
        };
        let config: ClientConfig = serde_json::from_value(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": capabilities,
            "clientInfo": {"name": "scalekit-auth-tests", "version": "1"}
        }))
        .unwrap();
        let opened = Arc::new(Mutex::new(Vec::new()));
        let handler = TestClient {
            config,
            opened: opened.clone(),
        };
        let client = rt.block_on(async {
            let (transport, _) = TokioChildProcess::builder(command)
                .stderr(Stdio::null())
                .spawn()
                .expect("the server starts");
            handler.serve(transport).await.expect("the handshake")
        });
        Self {
            rt,
            client,
            opened,
            texts: Mutex::new(Vec::new()),
        }
    }

    fn tools(&self) -> Vec<Tool> {
        self.rt
            .block_on(self.client.list_all_tools())
            .expect("tools/list")
    }

    fn call_raw(&self, name: &str, args: Value) -> Result<CallToolResult, rmcp::ServiceError> {
        let Value::Object(args) = args else {
            panic!("arguments are an object")
        };
        let params = CallToolRequestParams::new(name.to_owned()).with_arguments(args);
        let result = self.rt.block_on(self.client.call_tool(params));
        if let Ok(result) = &result {
            self.texts.lock().unwrap().push(text(result));
        }
        result
    }

    /// A successful call's JSON.
    #[track_caller]
    fn ok(&self, name: &str, args: Value) -> Value {
        let result = self.call_raw(name, args).expect("a tool result");
        let text = text(&result);
        assert_eq!(result.is_error, Some(false), "{name}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {text}"))
    }

    /// A failed call's text.
    #[track_caller]
    fn err(&self, name: &str, args: Value) -> String {
        let result = self.call_raw(name, args).expect("a tool result");
        let text = text(&result);
        assert_eq!(result.is_error, Some(true), "{name}: {text}");
        assert!(text.starts_with("error: "), "{text}");
        text
    }

    fn all_texts(&self) -> String {
        self.texts.lock().unwrap().join("\n")
    }
}

/// The one text content of a result.
fn text(result: &CallToolResult) -> String {
    assert_eq!(result.content.len(), 1, "{result:?}");
    result.content[0]
        .as_text()
        .expect("a text content")
        .text
        .clone()
}

/// gmail and slack configured; gmail authorized for `mess`; the proxy echoes.
fn world() -> World {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.set_upstream(Some("/_emulator/echo".into()));
    w.emu.clear_requests();
    w
}

fn count(w: &World, request: &str) -> usize {
    w.requests().iter().filter(|r| *r == request).count()
}

#[test]
fn the_handshake_names_the_server_and_lists_the_seven_tools_truthfully() {
    let w = world();
    let mcp = Mcp::start(&w, &[]);
    let info = mcp.client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().unwrap().name, "scalekit-auth");
    let tools = mcp.tools();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ALL_TOOLS);
    for tool in &tools {
        let schema = Value::Object((*tool.input_schema).clone());
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
        assert!(
            tool.description.as_ref().unwrap().len() > 100,
            "{}",
            tool.name
        );
        let a = tool.annotations.as_ref().expect("annotations");
        let hints = (
            a.read_only_hint,
            a.destructive_hint,
            a.idempotent_hint,
            a.open_world_hint,
        );
        let expected = match tool.name.as_ref() {
            "execute_tool" | "http_request" => (Some(false), Some(true), Some(false), Some(true)),
            "authorize" => (Some(false), Some(false), Some(true), Some(true)),
            _ => (Some(true), Some(false), Some(true), Some(false)),
        };
        assert_eq!(hints, expected, "{}", tool.name);
    }
    let required = |name: &str| {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        tool.input_schema["required"].clone()
    };
    assert_eq!(required("execute_tool"), json!(["service", "tool_name"]));
    assert_eq!(
        required("http_request"),
        json!(["service", "method", "path"])
    );
    assert_eq!(required("search_tools"), json!(["query"]));
    assert_eq!(required("get_tool_schema"), json!(["tool_name"]));
    assert_eq!(required("authorize"), json!(["service"]));
    // Listing tools costs nothing upstream.
    assert_eq!(w.requests(), Vec::<String>::new());
}

#[test]
fn each_tool_answers_what_the_cli_json_prints_on_one_api_token() {
    let w = world();
    let mcp = Mcp::start(&w, &[]);

    let services = mcp.ok("list_services", json!({}));
    assert_eq!(services[0]["service"], "gmail");
    assert_eq!(services[0]["connection_name"], "gmail_u3134a");
    assert_eq!(services[0]["identifier"], "mess");
    assert_eq!(services[0]["status"], "ACTIVE");
    assert_eq!(services[0]["authorization_type"], "OAUTH");
    assert_eq!(services[1]["service"], "slack");
    assert_eq!(services[1]["status"], "NOT_FOUND");

    let connections = mcp.ok("list_connections", json!({"provider": "gmail"}));
    let schema = mcp.ok("get_tool_schema", json!({"tool_name": "gmail_fetch_mails"}));
    let found = mcp.ok("search_tools", json!({"query": "fetch mails", "limit": 5}));
    let ran = mcp.ok(
        "execute_tool",
        json!({"service": "gmail", "tool_name": "gmail_fetch_mails", "params": {"max_results": 2}}),
    );
    let called = mcp.ok(
        "http_request",
        json!({"service": "gmail", "method": "POST", "path": "/gmail/v1/users/me/drafts?x=1",
               "headers": {"X-Trace": "t1"}, "body": "{\"raw\":\"aGk=\"}"}),
    );
    let active = mcp.ok("authorize", json!({"service": "gmail"}));
    let log = w.requests();
    // One API token for the whole session, the rest as the commands cost.
    assert_eq!(count(&w, "POST /oauth/token"), 1, "{log:?}");
    assert_eq!(count(&w, "POST /api/v1/execute_tool"), 1, "{log:?}");
    assert_eq!(
        count(&w, "POST /proxy/gmail/v1/users/me/drafts"),
        1,
        "{log:?}"
    );

    // The same answers the CLI's --json gives.
    let cli = |args: &[&str]| w.run(args).assert_code(0).json();
    assert_eq!(
        connections,
        cli(&["connections", "--provider", "gmail", "--json"])
    );
    assert_eq!(connections[0]["service"], "gmail");
    assert_eq!(
        schema,
        cli(&["tools", "schema", "gmail_fetch_mails", "--json"])
    );
    assert_eq!(
        found,
        cli(&["tools", "search", "fetch mails", "--limit", "5", "--json"])
    );
    let run = cli(&[
        "tools",
        "run",
        "gmail",
        "gmail_fetch_mails",
        "-d",
        r#"{"max_results": 2}"#,
        "--json",
    ]);
    assert_eq!(ran["tool"], "gmail_fetch_mails");
    assert_eq!(ran["service"], "gmail");
    assert_eq!(ran["data"], run["data"]);
    assert!(ran["execution_id"].is_string(), "{ran}");

    // http_request: {status, headers, body}; what the proxy sent, method and all.
    assert_eq!(called["status"], 200);
    assert!(called["headers"]["content-type"].is_string(), "{called}");
    let echoed: Value = serde_json::from_str(called["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/gmail/v1/users/me/drafts");
    assert_eq!(echoed["headers"]["x-trace"], "t1");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert_eq!(echoed["body"], "{\"raw\":\"aGk=\"}");

    // authorize on an ACTIVE account says so, with no link.
    assert_eq!(active["status"], "ACTIVE");
    assert!(active.get("link").is_none(), "{active}");
}

#[test]
fn a_provider_error_is_a_result_and_a_binary_body_is_base64() {
    let w = world();
    w.emu.queue_fault(scalekit_emulator::Fault {
        path: "/proxy/*".into(),
        status: Some(404),
        body: Some(scalekit_emulator::FaultBody::Bytes(vec![0xff, 0x00, 0x41])),
        ..Default::default()
    });
    let mcp = Mcp::start(&w, &[]);
    let answer = mcp.ok(
        "http_request",
        json!({"service": "gmail", "method": "GET", "path": "gmail/v1/nothing"}),
    );
    assert_eq!(answer["status"], 404);
    assert_eq!(answer["body"], "/wBB");
    assert_eq!(answer["body_base64"], true);
}

#[test]
fn authorization_needed_is_a_tool_error_with_a_link_and_never_a_wait() {
    let w = world();
    let mcp = Mcp::start(&w, &[]);
    let started = Instant::now();
    let text = mcp.err(
        "execute_tool",
        json!({"service": "slack", "tool_name": "slack_list_channels"}),
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(text.contains("authorization needed for slack"), "{text}");
    assert!(text.contains("call execute_tool again"), "{text}");
    let link = w
        .emu
        .magic_links()
        .last()
        .expect("a link was minted")
        .link
        .clone();
    assert!(text.contains(&format!("link: {link}")), "{text}");
    assert!(text.contains("link expires at: "), "{text}");
    // Nothing ran; once the user approves, the same call works.
    assert_eq!(count(&w, "POST /api/v1/execute_tool"), 1);
    assert!(w.emu.approve_link(&link));
    let ran = mcp.ok(
        "execute_tool",
        json!({"service": "slack", "tool_name": "slack_list_channels"}),
    );
    assert_eq!(ran["service"], "slack");

    // http_request likewise, for an account that is not ACTIVE.
    w.emu.set_status("gmail_u3134a", "mess", "EXPIRED");
    let text = mcp.err(
        "http_request",
        json!({"service": "gmail", "method": "GET", "path": "/gmail/v1/users/me/profile"}),
    );
    assert!(text.contains("the account is EXPIRED"), "{text}");
    assert!(text.contains("call http_request again"), "{text}");
    assert!(text.contains("link: http://127.0.0.1:"), "{text}");
}

#[test]
fn authorize_returns_the_link_and_offers_it_by_url_elicitation() {
    let w = world();
    // A client without URL elicitation gets the link as text only.
    let mcp = Mcp::start(&w, &[]);
    let doc = mcp.ok("authorize", json!({"service": "slack"}));
    assert_eq!(doc["service"], "slack");
    assert_eq!(doc["connection_name"], "slack_x7y9z");
    assert_eq!(doc["identifier"], "mess");
    assert_eq!(doc["status"], "PENDING_AUTH");
    let link = w.emu.magic_links().last().unwrap().link.clone();
    assert_eq!(doc["link"], link.as_str());
    assert!(
        doc["link_expires_at"].as_str().unwrap().ends_with('Z'),
        "{doc}"
    );
    assert_eq!(doc["elicitation"], "unsupported");
    assert!(mcp.opened.lock().unwrap().is_empty());
    drop(mcp);

    // A client that declares it is asked to open the link; the call did not wait for that.
    let mcp = Mcp::start_with(&w, &[], true);
    let doc = mcp.ok(
        "authorize",
        json!({"service": "slack", "identifier": "other"}),
    );
    assert_eq!(doc["identifier"], "other");
    assert_eq!(doc["elicitation"], "offered");
    let link = doc["link"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while mcp.opened.lock().unwrap().is_empty() && Instant::now() < deadline {
        // The server sends the request after answering; let the client take it.
        mcp.rt
            .block_on(async { tokio::time::sleep(Duration::from_millis(20)).await });
    }
    assert_eq!(*mcp.opened.lock().unwrap(), [link]);
}

#[test]
fn service_and_read_only_limit_what_the_server_does() {
    let w = world();
    let mcp = Mcp::start(&w, &["--service", "gmail", "--read-only"]);
    let names: Vec<String> = mcp.tools().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "list_services",
            "list_connections",
            "search_tools",
            "get_tool_schema",
            "http_request",
            "authorize"
        ]
    );
    let http = mcp
        .tools()
        .into_iter()
        .find(|t| t.name == "http_request")
        .unwrap();
    assert_eq!(
        http.input_schema["properties"]["method"]["enum"],
        json!(["GET", "HEAD"])
    );
    assert_eq!(
        http.annotations.as_ref().unwrap().read_only_hint,
        Some(true)
    );

    // Only gmail is listed; slack is refused.
    let services = mcp.ok("list_services", json!({}));
    assert_eq!(services.as_array().unwrap().len(), 1, "{services}");
    assert_eq!(services[0]["service"], "gmail");
    let text = mcp.err("authorize", json!({"service": "slack"}));
    assert!(text.contains("serves only gmail"), "{text}");
    // A hidden tool is the protocol's invalid-params error, and so is an unknown one.
    for name in ["execute_tool", "no_such_tool"] {
        match mcp.call_raw(
            name,
            json!({"service": "gmail", "tool_name": "gmail_fetch_mails"}),
        ) {
            Err(rmcp::ServiceError::McpError(e)) => assert_eq!(e.code.0, -32602, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    // Read-only: GET goes through, POST does not leave the machine.
    mcp.ok(
        "http_request",
        json!({"service": "gmail", "method": "GET", "path": "/a"}),
    );
    let text = mcp.err(
        "http_request",
        json!({"service": "gmail", "method": "POST", "path": "/a"}),
    );
    assert!(text.contains("read-only"), "{text}");
    assert_eq!(count(&w, "GET /proxy/a"), 1);
    assert!(!w.requests().iter().any(|r| r.starts_with("POST /proxy")));
}

#[test]
fn bad_arguments_are_tool_errors_and_nothing_is_sent() {
    let w = world();
    let mcp = Mcp::start(&w, &[]);
    for (tool, args, says) in [
        (
            "search_tools",
            json!({"query": "ab"}),
            "at least 3 characters",
        ),
        (
            "search_tools",
            json!({"query": "mail", "limit": 0}),
            "limit must be",
        ),
        (
            "get_tool_schema",
            json!({}),
            "tool_name argument is required",
        ),
        (
            "list_services",
            json!({"verbose": true}),
            "unknown argument verbose",
        ),
        (
            "execute_tool",
            json!({"service": "gmail", "tool_name": "gmail_fetch_mails", "params": [1]}),
            "params must be a JSON object",
        ),
        (
            "execute_tool",
            json!({"service": "Bad Name!", "tool_name": "x"}),
            "Bad Name!",
        ),
        (
            "http_request",
            json!({"service": "gmail", "method": "FETCH", "path": "/a"}),
            "not an HTTP method",
        ),
        (
            "http_request",
            json!({"service": "gmail", "method": "GET", "path": "/../api/v1/connected_accounts"}),
            ". or .. segments",
        ),
        (
            "http_request",
            json!({"service": "gmail", "method": "GET", "path": "/a", "headers": {"Authorization": "Bearer mine"}}),
            "cannot set the Authorization header",
        ),
        (
            "http_request",
            json!({"service": "gmail", "method": "GET", "path": "https://evil.example/x"}),
            "not a full URL",
        ),
        // The checks `request` makes (one copy, in flows/proxy.rs): `//` reads as another
        // host, a backslash may be read as a slash, a fragment is never sent.
        (
            "http_request",
            json!({"service": "gmail", "method": "GET", "path": "//evil.example/x"}),
            "starts with //",
        ),
        (
            "http_request",
            json!({"service": "gmail", "method": "GET", "path": "/a\\..\\api"}),
            "holds a backslash",
        ),
        (
            "http_request",
            json!({"service": "gmail", "method": "GET", "path": "/a/%2E%2e/b"}),
            ". or .. segments",
        ),
        (
            "http_request",
            json!({"service": "gmail", "method": "GET", "path": "/a#b"}),
            "a fragment (#) is never sent",
        ),
        (
            "authorize",
            json!({"service": "notion"}),
            "unknown service \"notion\"",
        ),
    ] {
        let text = mcp.err(tool, args);
        assert!(text.contains(says), "{tool}: {text}");
    }
    assert_eq!(w.requests(), Vec::<String>::new());
    // Params the schema refuses are found before execute_tool is sent.
    let text = mcp.err(
        "execute_tool",
        json!({"service": "gmail", "tool_name": "gmail_fetch_mails", "params": {"max_results": "2", "colour": 1}}),
    );
    assert!(
        text.contains("$.max_results") && text.contains("$.colour"),
        "{text}"
    );
    assert_eq!(count(&w, "POST /api/v1/execute_tool"), 0);
    let text = mcp.err("get_tool_schema", json!({"tool_name": "gmail_fetch_mail"}));
    assert!(text.contains("did you mean gmail_fetch_mails"), "{text}");
}

#[test]
fn without_credentials_it_starts_and_every_tool_names_init() {
    let w = World::new();
    let mcp = Mcp::start(&w, &[]);
    assert_eq!(mcp.tools().len(), 7);
    for (tool, args) in [
        ("list_services", json!({})),
        ("list_connections", json!({})),
        ("search_tools", json!({"query": "mail"})),
        ("get_tool_schema", json!({"tool_name": "gmail_fetch_mails"})),
    ] {
        let text = mcp.err(tool, args);
        assert!(text.contains("scalekit-auth init"), "{tool}: {text}");
    }
    assert_eq!(w.requests(), Vec::<String>::new());
}

#[test]
fn concurrent_calls_share_one_token_and_a_401_gets_a_new_one() {
    let w = world();
    let mcp = Mcp::start(&w, &[]);
    let peer = mcp.client.peer().clone();
    let results = mcp.rt.block_on(async {
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..8 {
            let peer = peer.clone();
            calls.spawn(async move {
                let (name, args) = if i % 2 == 0 {
                    ("list_services", json!({}))
                } else {
                    (
                        "execute_tool",
                        json!({"service": "gmail", "tool_name": "gmail_fetch_mails"}),
                    )
                };
                let Value::Object(args) = args else {
                    unreachable!()
                };
                peer.call_tool(CallToolRequestParams::new(name).with_arguments(args))
                    .await
            });
        }
        calls.join_all().await
    });
    for result in results {
        let result = result.expect("a tool result");
        assert_eq!(result.is_error, Some(false), "{}", text(&result));
    }
    assert_eq!(count(&w, "POST /oauth/token"), 1, "{:?}", w.requests());
    assert_eq!(count(&w, "POST /api/v1/execute_tool"), 4);

    // The API token expires: Scalekit's 401 gets a new one, once, and the call goes through.
    w.emu.expire_api_tokens();
    w.emu.clear_requests();
    mcp.ok(
        "execute_tool",
        json!({"service": "gmail", "tool_name": "gmail_fetch_mails"}),
    );
    assert_eq!(
        w.requests(),
        [
            "GET /api/v1/tools",
            "POST /oauth/token",
            "GET /api/v1/tools",
            "POST /api/v1/execute_tool"
        ]
    );
}

/// Each request of the log with its status.
fn answered(w: &World) -> Vec<(String, u16)> {
    w.logged()
        .iter()
        .map(|r| (format!("{} {}", r.method, r.path), r.status))
        .collect()
}

#[test]
fn a_long_session_renews_its_api_token_before_it_expires() {
    let w = world();
    // Two-second API tokens: renewed once less than a second (half the lifetime) is left.
    w.emu.set_api_token_lifetime(Duration::from_secs(2));
    let mcp = Mcp::start(&w, &[]);
    let search = || mcp.ok("search_tools", json!({"query": "fetch mails", "limit": 5}));
    let renewed_then_listed = || {
        vec![
            ("POST /oauth/token".to_owned(), 200),
            ("GET /api/v1/tools".to_owned(), 200),
        ]
    };
    let first = search();
    assert_eq!(answered(&w), renewed_then_listed());

    // Within the margin, before the token expires: a new one first, so no 401.
    w.emu.clear_requests();
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(search(), first);
    assert_eq!(answered(&w), renewed_then_listed());

    // Past the expiry too: renewed before the call, never after a 401.
    w.emu.clear_requests();
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(search(), first);
    assert_eq!(answered(&w), renewed_then_listed());
}

#[test]
fn no_result_carries_an_access_token_a_static_credential_or_the_client_secret() {
    let w = world();
    let token = w.access_token("gmail_u3134a", "mess");
    w.run(&["config", "notion", "notion_k1"]).assert_code(0);
    w.emu.seed(scalekit_emulator::SeedAccount {
        connector: "notion_k1".into(),
        identifier: "mess".into(),
        authorization_type: Some("API_KEY".into()),
        static_auth: Some(json!({"api_key": "secret_notion_key_9f8e7d6c"})),
        ..Default::default()
    });
    let mcp = Mcp::start(&w, &[]);
    mcp.ok("list_services", json!({}));
    mcp.ok("list_connections", json!({}));
    mcp.ok("authorize", json!({"service": "gmail"}));
    mcp.ok(
        "execute_tool",
        json!({"service": "gmail", "tool_name": "gmail_fetch_mails"}),
    );
    // The echo upstream hands back the Authorization header the proxy added.
    for service in ["gmail", "notion"] {
        let answer = mcp.ok(
            "http_request",
            json!({"service": service, "method": "GET", "path": "/echo/headers"}),
        );
        let echoed: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            echoed["headers"]["authorization"], "Bearer [redacted]",
            "{answer}"
        );
    }
    let all = mcp.all_texts();
    assert_no_secret(&all, &[&token, "secret_notion_key_9f8e7d6c", SECRET]);
}

/// A raw stdio session: lines in, lines out, stderr apart.
#[test]
fn malformed_lines_get_protocol_errors_and_stdin_closing_ends_with_exit_0() {
    let w = world();
    let mut child = w
        .command(&["mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut read = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line)
            .unwrap_or_else(|e| panic!("not JSON-RPC ({e}): {line:?}"))
    };
    send(
        &mut stdin,
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#,
    );
    assert_eq!(read()["result"]["serverInfo"]["name"], "scalekit-auth");
    send(
        &mut stdin,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    send(&mut stdin, "this is not json {");
    let answer = read();
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    assert_eq!(answer["id"], Value::Null);
    send(&mut stdin, r#"{"jsonrpc":"2.0","id":7,"params":{}}"#);
    let answer = read();
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    assert_eq!(answer["id"], 7);
    send(
        &mut stdin,
        r#"{"jsonrpc":"2.0","id":8,"method":"no/such/method"}"#,
    );
    let answer = read();
    assert_eq!(answer["id"], 8);
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
    // Still serving.
    send(
        &mut stdin,
        r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"list_services","arguments":{}}}"#,
    );
    let answer = read();
    assert_eq!(answer["id"], 9);
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "nothing but answers on stdout");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("parse error"), "{stderr}");
    assert!(stderr.contains("stdin closed"), "{stderr}");
}

#[test]
fn stdin_closing_before_the_handshake_is_exit_0() {
    let w = World::new();
    let run = w.run(&["mcp"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("scalekit-auth mcp: "), "{}", run.stderr);
    // -q: no log lines.
    let run = w.run(&["-q", "mcp"]);
    run.assert_code(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    let run = w.run(&["mcp", "--service", "Not A Name"]);
    run.assert_code(2);
}

fn send(stdin: &mut std::process::ChildStdin, line: &str) {
    stdin.write_all(line.as_bytes()).unwrap();
    stdin.write_all(b"\n").unwrap();
}

#[test]
fn a_failed_tool_is_an_error_with_its_execution_id_sent_once_with_the_run_id() {
    let mut w = world();
    w.env
        .insert("SCALEKIT_AUTH_RUN_ID".into(), "agent-run-42".into());
    w.emu.queue_fault(scalekit_emulator::Fault {
        path: "/api/v1/execute_tool".into(),
        status: Some(500),
        ..Default::default()
    });
    let mcp = Mcp::start(&w, &[]);
    let text = mcp.err(
        "execute_tool",
        json!({"service": "gmail", "tool_name": "gmail_fetch_mails"}),
    );
    assert!(
        text.contains("gmail_fetch_mails ran and failed (Scalekit answered 500"),
        "{text}"
    );
    assert!(text.contains("\nexecution_id: exec_fault_"), "{text}");
    assert_eq!(count(&w, "POST /api/v1/execute_tool"), 1);
    let sent = w
        .logged()
        .into_iter()
        .find(|r| r.path == "/api/v1/execute_tool")
        .unwrap();
    let body: Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["agent_run_id"], "agent-run-42");
    assert_eq!(body["connector"], "gmail_u3134a");
    assert_eq!(body["identifier"], "mess");
}

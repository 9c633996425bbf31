//! `GET /api/v1/tools` and `POST /api/v1/execute_tool` over real HTTP: the catalog,
//! filters and paging, strict validation, schema checks, executions and faults.

use scalekit_emulator::{Fault, FaultBody};
use serde_json::{Value, json};

use crate::common::{
    ERROR_INFO, Env, assert_bad_request, assert_grpc_error, client, query, seed, seed_with_status,
};

const TOOLS: &str = "/api/v1/tools";
const EXECUTE: &str = "/api/v1/execute_tool";

fn names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .expect("tools array")
        .iter()
        .map(|t| t["definition"]["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn the_catalog_in_wire_form() {
    let env = Env::start().await;
    let reply = env.get(&format!("{TOOLS}?page_size=100")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.header("x-trace-id").is_some());
    let body = reply.json();
    let all = names(&body);
    for tool in [
        "gmail_fetch_mails",
        "gmail_send_email",
        "gmail_get_message",
        "slack_send_message",
        "slack_list_channels",
        "github_create_issue",
        "github_list_repos",
        "notion_page_get",
        "notion_search",
        "notion_page_create",
    ] {
        assert!(all.iter().any(|n| n == tool), "{tool} missing from {all:?}");
    }
    assert_eq!(body["total_size"], all.len());
    assert_eq!(body["next_page_token"], "");
    assert_eq!(body["tool_names"], json!(all));
    let send = body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["definition"]["name"] == "gmail_send_email")
        .expect("gmail_send_email");
    assert_eq!(send["provider"], "GMAIL");
    assert!(send["id"].as_str().expect("id").starts_with("tool_"));
    assert_eq!(send["is_default"], true);
    assert!(send["tags"].is_array());
    assert!(send["metadata"].is_object());
    assert!(
        crate::common::is_timestamp(send["updated_at"].as_str().expect("updated_at")),
        "{send}"
    );
    let schema = &send["definition"]["input_schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["to", "subject", "body"]));
    assert_eq!(schema["properties"]["to"]["type"], "array");
    assert_eq!(
        schema["properties"]["content_type"]["enum"],
        json!(["text/plain", "text/html"])
    );
    assert_eq!(
        schema["properties"]["attachments"]["items"]["required"],
        json!(["filename", "content_base64"])
    );
    assert!(send["definition"]["description"].is_string());
}

#[tokio::test]
async fn filters_and_paging() {
    let env = Env::start().await;
    let get = |q: String| {
        let env = &env;
        async move { env.get(&format!("{TOOLS}?{q}")).await }
    };
    // Provider, any case.
    let body = get(query(&[("filter.provider", "slack")])).await.json();
    assert_eq!(names(&body), ["slack_list_channels", "slack_send_message"]);
    // Query: every term, in name, description, provider or tags.
    let body = get(query(&[("filter.query", "send email")])).await.json();
    assert_eq!(names(&body), ["gmail_send_email"]);
    let body = get(query(&[("filter.query", "zzzz")])).await.json();
    assert_eq!(body["tools"], json!([]));
    assert_eq!(body["total_size"], 0);
    assert_eq!(body["tool_names"], json!([]));
    // Repeated tool names.
    let body = get(
        "filter.tool_name=notion_search&filter.tool_name=github_list_repos&filter.tool_name=nope"
            .to_owned(),
    )
    .await
    .json();
    assert_eq!(names(&body), ["github_list_repos", "notion_search"]);
    // A connector selects its connection's provider (configured or derived).
    let body = get(query(&[("filter.connector", "github-connect")]))
        .await
        .json();
    assert_eq!(names(&body), ["github_create_issue", "github_list_repos"]);
    let body = get(query(&[
        ("filter.connector", "notion_w2"),
        ("filter.identifier", "me"),
    ]))
    .await
    .json();
    assert_eq!(names(&body).len(), 3);
    // Summary: no schemas.
    let body = get(query(&[
        ("filter.tool_name", "gmail_send_email"),
        ("filter.summary", "true"),
    ]))
    .await
    .json();
    let definition = &body["tools"][0]["definition"];
    assert_eq!(definition["name"], "gmail_send_email");
    assert!(definition.get("input_schema").is_none());

    // Paging: 4 pages of 3, next_page_token "" on the last.
    let mut seen = Vec::new();
    let mut token = String::new();
    for page in 0..10 {
        let body = get(query(&[("page_size", "3"), ("page_token", &token)]))
            .await
            .json();
        seen.extend(names(&body));
        token = body["next_page_token"].as_str().expect("token").to_owned();
        if token.is_empty() {
            assert_eq!(page, 3);
            break;
        }
    }
    assert_eq!(seen.len(), 10);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 10, "no tool twice: {seen:?}");
}

#[tokio::test]
async fn list_validation_is_strict() {
    let env = Env::start().await;
    for bad in [
        "filter.unknown=1",
        "query=gmail",
        "filter.providers=GMAIL",
        "filterQuery=x",
        "page_size=101",
        "page_size=-1",
        "page_size=x",
        "page_token=forged",
        "filter.summary=yes",
        "filter.connector=bad%2Fname",
        "filter.tool_name=",
        "filter.query=a&filter.query=b",
    ] {
        let reply = env.get(&format!("{TOOLS}?{bad}")).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text);
        assert_eq!(reply.json()["code"], 3, "{bad}");
    }
    let long = "q".repeat(201);
    assert_bad_request(&env.get(&format!("{TOOLS}?filter.query={long}")).await);
    let many: Vec<String> = (0..51).map(|i| format!("filter.tool_name=t{i}")).collect();
    assert_bad_request(&env.get(&format!("{TOOLS}?{}", many.join("&"))).await);
    // Authentication and method.
    let resp = client().get(env.url(TOOLS)).send().await.expect("send");
    assert_eq!(resp.status().as_u16(), 401);
    let reply = env.post(TOOLS, &json!({})).await;
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn execute_returns_deterministic_data_and_records_it() {
    let env = Env::start().await;
    let id = env.emu.seed(seed("gmail_u3134a", "mess"));
    let body = json!({
        "tool_name": "gmail_send_email",
        "connector": "gmail_u3134a",
        "identifier": "mess",
        "params": {"to": ["a@example.com"], "subject": "Hi", "body": "Hello"},
        "agent_run_id": "run-7",
    });
    let first = env.post(EXECUTE, &body).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let first = first.json();
    assert_eq!(first["data"]["to"], json!(["a@example.com"]));
    assert_eq!(first["data"]["label_ids"], json!(["SENT"]));
    assert_eq!(first["data"]["from"], "mess");
    let exec_id = first["execution_id"].as_str().expect("execution_id");
    assert!(exec_id.starts_with("exec_"));
    let second = env.post(EXECUTE, &body).await.json();
    assert_eq!(
        second["data"], first["data"],
        "same account and params, same data"
    );
    assert_ne!(second["execution_id"], first["execution_id"]);

    let runs = env.emu.executions();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].execution_id, exec_id);
    assert_eq!(runs[0].tool_name, "gmail_send_email");
    assert_eq!(runs[0].connector, "gmail_u3134a");
    assert_eq!(runs[0].identifier, "mess");
    assert_eq!(runs[0].connected_account_id, id);
    assert_eq!(runs[0].agent_run_id.as_deref(), Some("run-7"));
    assert_eq!(runs[0].params, body["params"]);
    assert_eq!(runs[0].data, first["data"]);
    // The control surface lists them too, and can clear them.
    let listed = env.get_plain("/_emulator/executions").await.json();
    assert_eq!(listed["executions"].as_array().map(Vec::len), Some(2));
    assert_eq!(listed["executions"][0]["execution_id"], exec_id);
    let resp = client()
        .delete(env.url("/_emulator/executions"))
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(env.emu.executions().is_empty());

    // By connected_account_id, without params: {}.
    let reply = env
        .post(
            EXECUTE,
            &json!({"tool_name": "gmail_fetch_mails", "connected_account_id": id, "params": null}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let data = reply.json()["data"].clone();
    assert_eq!(data["messages"].as_array().map(Vec::len), Some(3));
    assert_eq!(data["messages"][0]["to"], "mess");
    assert_eq!(env.emu.executions()[0].params, json!({}));
    // The account was used.
    let account = env.emu.account("gmail_u3134a", "mess").expect("account");
    assert!(account["last_used_at"].is_string());
    // Another identifier, other data.
    env.emu.seed(seed("gmail_u3134a", "other"));
    let other = env
        .post(
            EXECUTE,
            &json!({"tool_name": "gmail_fetch_mails", "connector": "gmail_u3134a", "identifier": "other"}),
        )
        .await
        .json();
    assert_ne!(
        other["data"]["messages"][0]["id"],
        data["messages"][0]["id"]
    );
}

#[tokio::test]
async fn every_tool_runs() {
    let env = Env::start().await;
    for connector in ["gmail_u3134a", "slack_x7y9z", "github-connect", "notion_1"] {
        env.emu.seed(seed(connector, "mess"));
    }
    let page_id = "0123456789abcdef0123456789abcdef";
    for (tool, connector, params, check) in [
        (
            "gmail_get_message",
            "gmail_u3134a",
            json!({"message_id": "m1"}),
            "/id",
        ),
        (
            "slack_send_message",
            "slack_x7y9z",
            json!({"channel": "#general", "text": "hi", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]}),
            "/ts",
        ),
        (
            "slack_list_channels",
            "slack_x7y9z",
            json!({"types": ["public_channel"], "limit": 2}),
            "/channels/1/id",
        ),
        (
            "github_create_issue",
            "github-connect",
            json!({"owner": "acme", "repo": "app", "title": "Bug", "labels": ["bug"]}),
            "/html_url",
        ),
        (
            "github_list_repos",
            "github-connect",
            json!({"visibility": "private"}),
            "/repositories/0/full_name",
        ),
        (
            "notion_page_get",
            "notion_1",
            json!({"page_id": page_id}),
            "/url",
        ),
        (
            "notion_page_create",
            "notion_1",
            json!({"parent": {"type": "page_id", "id": page_id}, "title": "T"}),
            "/id",
        ),
        (
            "notion_search",
            "notion_1",
            json!({"query": "plan", "filter": {"property": "object", "value": "database"}}),
            "/results/1/id",
        ),
    ] {
        let reply = env
            .post(
                EXECUTE,
                &json!({"tool_name": tool, "connector": connector, "identifier": "mess", "params": params}),
            )
            .await;
        assert_eq!(reply.status, 200, "{tool}: {}", reply.text);
        let data = reply.json()["data"].clone();
        assert!(
            data.pointer(check).is_some_and(|v| !v.is_null()),
            "{tool}: {data}"
        );
    }
    assert_eq!(env.emu.executions().len(), 8);
}

#[tokio::test]
async fn execute_validation_and_account_errors() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_u3134a", "mess"));
    env.emu
        .seed(seed_with_status("gmail_u3134a", "pending", "PENDING_AUTH"));
    env.emu.seed(seed("slack_x7y9z", "mess"));
    let ok_params = json!({"to": ["a@example.com"], "subject": "s", "body": "b"});
    let call = |extra: Value| {
        let mut body = json!({
            "tool_name": "gmail_send_email",
            "connector": "gmail_u3134a",
            "identifier": "mess",
            "params": ok_params,
        });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                body.as_object_mut().expect("object").remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    // Params must be an object.
    for params in [json!([]), json!("x"), json!(3), json!(true)] {
        let reply = env.post(EXECUTE, &call(json!({"params": params}))).await;
        assert_grpc_error(&reply, 400, 3, None);
        assert!(reply.text.contains("params"), "{}", reply.text);
    }
    // Unknown and camelCase fields, required fields, formats.
    for (extra, field) in [
        (json!({"toolName": "x"}), "toolName"),
        (json!({"extra": 1}), "extra"),
        (json!({"tool_name": null}), "tool_name"),
        (json!({"tool_name": ""}), "tool_name"),
        (json!({"identifier": null}), "connected_account_id"),
        (json!({"connector": "bad/name"}), "connector"),
        (json!({"identifier": "i".repeat(101)}), "identifier"),
        (
            json!({"connected_account_id": "acct_1"}),
            "connected_account_id",
        ),
        (json!({"agent_run_id": "r".repeat(101)}), "agent_run_id"),
    ] {
        let reply = env.post(EXECUTE, &call(extra.clone())).await;
        assert_eq!(reply.status, 400, "{extra}: {}", reply.text);
        assert!(reply.text.contains(field), "{extra}: {}", reply.text);
    }
    // Not JSON.
    let resp = env
        .http
        .post(env.url(EXECUTE))
        .bearer_auth(&env.token)
        .header("content-type", "text/plain")
        .body("tool_name=x")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);

    // Unknown tool, missing account: 404 NOT_FOUND.
    let reply = env
        .post(EXECUTE, &call(json!({"tool_name": "gmail_nope"})))
        .await;
    assert_grpc_error(&reply, 404, 5, Some("NOT_FOUND"));
    assert!(reply.text.contains("gmail_nope"));
    let reply = env
        .post(EXECUTE, &call(json!({"identifier": "nobody"})))
        .await;
    assert_grpc_error(&reply, 404, 5, Some("NOT_FOUND"));
    let reply = env
        .post(
            EXECUTE,
            &call(json!({"connected_account_id": "ca_1", "connector": null, "identifier": null})),
        )
        .await;
    assert_grpc_error(&reply, 404, 5, Some("NOT_FOUND"));
    // Not ACTIVE, or another provider's account: 400 FAILED_PRECONDITION.
    let reply = env
        .post(EXECUTE, &call(json!({"identifier": "pending"})))
        .await;
    assert_grpc_error(&reply, 400, 9, Some("CONNECTED_ACCOUNT_NOT_ACTIVE"));
    assert!(reply.text.contains("PENDING_AUTH"));
    let reply = env
        .post(EXECUTE, &call(json!({"connector": "slack_x7y9z"})))
        .await;
    assert_grpc_error(&reply, 400, 9, Some("FAILED_PRECONDITION"));

    // Params against the schema: 400 naming each parameter.
    let reply = env
        .post(
            EXECUTE,
            &call(json!({"params": {
                "to": [],
                "subject": 5,
                "content_type": "text/rtf",
                "attachments": [{"filename": ""}],
                "priority": "high"
            }})),
        )
        .await;
    assert_grpc_error(&reply, 400, 3, Some("BAD_REQUEST"));
    let body = reply.json();
    let message = body["message"].as_str().expect("message");
    for part in [
        "attachments[0].content_base64: is required",
        "attachments[0].filename: must be at least 1 character(s)",
        "body: is required",
        "content_type: must be one of",
        "priority: is not a parameter of this tool",
        "subject: must be of type string, not integer",
        "to: must have at least 1 item(s)",
    ] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    let violations = &body["details"][0]["validation_error_info"]["field_violations"];
    assert_eq!(body["details"][0]["@type"], ERROR_INFO);
    let fields: Vec<&str> = violations
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| v["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        [
            "params.attachments[0].content_base64",
            "params.attachments[0].filename",
            "params.body",
            "params.content_type",
            "params.priority",
            "params.subject",
            "params.to",
        ]
    );
    assert_eq!(violations[2]["constraint"], "required");
    // Nothing ran.
    assert!(env.emu.executions().is_empty());
    // Wrong method, no token.
    assert_eq!(env.get(EXECUTE).await.status, 405);
    let resp = client()
        .post(env.url(EXECUTE))
        .json(&call(json!({})))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 401);
    assert!(env.emu.executions().is_empty());
}

#[tokio::test]
async fn faults_make_executions_fail() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_u3134a", "mess"));
    let body = json!({
        "tool_name": "gmail_fetch_mails",
        "connector": "gmail_u3134a",
        "identifier": "mess",
        "params": {},
    });
    let fault = |f: Fault| {
        env.emu.queue_fault(Fault {
            path: EXECUTE.to_owned(),
            ..f
        });
    };
    // A bare 500: the tool error body; the tool did not run.
    fault(Fault {
        status: Some(500),
        ..Fault::default()
    });
    let reply = env.post(EXECUTE, &body).await;
    assert_grpc_error(&reply, 500, 13, Some("TOOL_ERROR"));
    let info = &reply.json()["details"][0]["tool_error_info"];
    assert!(info["execution_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(info["tool_error_message"].is_string());
    assert!(info["tool_error_code"].is_string());
    assert!(env.emu.executions().is_empty());
    // A provider's own error text, as JSON.
    fault(Fault {
        status: Some(502),
        body: Some(FaultBody::Json(json!({
            "code": 14,
            "message": "gmail said: \u{1b}[31mquota exceeded",
            "details": [],
        }))),
        ..Fault::default()
    });
    assert_eq!(env.post(EXECUTE, &body).await.status, 502);
    // The tool runs, then the connection drops: recorded once, no answer.
    fault(Fault {
        handle_first: true,
        drop: true,
        ..Fault::default()
    });
    let sent = env
        .http
        .post(env.url(EXECUTE))
        .bearer_auth(&env.token)
        .json(&body)
        .send()
        .await;
    assert!(sent.is_err());
    assert_eq!(env.emu.executions().len(), 1);
    // A slow provider: the client times out; the tool ran once it was handled.
    fault(Fault {
        handle_first: true,
        delay_ms: Some(5_000),
        ..Fault::default()
    });
    let sent = env
        .http
        .post(env.url(EXECUTE))
        .bearer_auth(&env.token)
        .json(&body)
        .timeout(std::time::Duration::from_millis(200))
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()));
    assert_eq!(env.emu.executions().len(), 2);
    // Only the second of the next calls fails.
    fault(Fault {
        nth: 2,
        status: Some(504),
        ..Fault::default()
    });
    assert_eq!(env.post(EXECUTE, &body).await.status, 200);
    assert_grpc_error(&env.post(EXECUTE, &body).await, 504, 4, Some("TOOL_ERROR"));
    assert_eq!(env.post(EXECUTE, &body).await.status, 200);
    assert_eq!(env.emu.executions().len(), 4);
}

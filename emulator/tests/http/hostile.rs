//! Arbitrary fault answers: any status, headers and body (JSON, text or raw bytes),
//! by method and path (exact or prefix), the Nth matching request, dropped
//! connections, and handling the request before answering with the fault.

use std::time::Duration;

use scalekit_emulator::{Fault, FaultBody};
use serde_json::json;

use crate::common::{Env, seed};

const AUTH: &str = "/api/v1/connected_accounts/auth";
const CREATE: &str = "/api/v1/connected_accounts";

fn fault(path: &str) -> Fault {
    Fault {
        path: path.to_owned(),
        ..Fault::default()
    }
}

#[tokio::test]
async fn any_status_headers_and_json_body() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    env.emu.queue_fault(Fault {
        status: Some(418),
        headers: vec![
            ("x-one".to_owned(), "1".to_owned()),
            ("x-one".to_owned(), "2".to_owned()),
            ("retry-after".to_owned(), "9223372036854775808".to_owned()),
        ],
        body: Some(FaultBody::Json(
            json!({"connected_account": {"status": "\u{1b}]52;c;AAAA\u{7}"}}),
        )),
        ..fault(AUTH)
    });
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.status, 418);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let values: Vec<&str> = reply
        .headers
        .get_all("x-one")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert_eq!(values, ["1", "2"]);
    assert_eq!(reply.header("retry-after"), Some("9223372036854775808"));
    assert_eq!(
        reply.json(),
        json!({"connected_account": {"status": "\u{1b}]52;c;AAAA\u{7}"}})
    );
    // A body without a status answers 200.
    env.emu.queue_fault(Fault {
        body: Some(FaultBody::Json(json!({"connected_account": null}))),
        ..fault(AUTH)
    });
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"connected_account": null}));
    // Used up: the real answer again.
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.json()["connected_account"]["status"], "ACTIVE");
}

#[tokio::test]
async fn text_and_raw_bytes_with_a_chosen_content_type() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    env.emu.queue_fault(Fault {
        status: Some(502),
        body: Some(FaultBody::Text("<html>bad gateway</html>".to_owned())),
        headers: vec![("content-type".to_owned(), "text/html".to_owned())],
        ..fault(AUTH)
    });
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert_eq!(reply.text, "<html>bad gateway</html>");

    // Invalid UTF-8 under a JSON content type; no content type unless asked for.
    let bytes = vec![b'{', 0xff, 0xfe, b'}'];
    env.emu.queue_fault(Fault {
        body: Some(FaultBody::Bytes(bytes.clone())),
        ..fault(AUTH)
    });
    let resp = env
        .http
        .get(env.url(&format!("{AUTH}?connector=gmail_x&identifier=me")))
        .bearer_auth(&env.token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().get("content-type").is_none());
    assert_eq!(resp.bytes().await.expect("body").as_ref(), bytes.as_slice());

    // Headers alone decorate the real answer; a header HTTP cannot carry is skipped.
    env.emu.queue_fault(Fault {
        headers: vec![
            ("x-extra".to_owned(), "yes".to_owned()),
            ("bad name".to_owned(), "x".to_owned()),
            ("x-bad-value".to_owned(), "a\r\nb".to_owned()),
        ],
        ..fault(AUTH)
    });
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-extra"), Some("yes"));
    assert!(reply.header("x-bad-value").is_none());
    assert_eq!(reply.json()["connected_account"]["identifier"], "me");
}

#[tokio::test]
async fn method_filter_prefix_paths_and_the_nth_request() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    // Only POSTs to the collection; a GET (list) passes.
    env.emu.queue_fault(Fault {
        method: Some("post".to_owned()),
        status: Some(500),
        ..fault(CREATE)
    });
    assert_eq!(env.get(CREATE).await.status, 200);
    let created = env
        .post(
            CREATE,
            &json!({"connector": "gmail_y", "identifier": "me", "connected_account": {}}),
        )
        .await;
    assert_eq!(created.status, 500);

    // The third matching request, twice; a prefix pattern.
    env.emu.queue_fault(Fault {
        nth: 3,
        count: 2,
        status: Some(429),
        ..fault("/api/v1/connected_accounts/*")
    });
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(env.auth("gmail_x", "me").await.status);
    }
    assert_eq!(statuses, [200, 200, 429, 429, 200]);
}

#[tokio::test]
async fn drop_the_connection_after_reading_the_request() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    env.emu.queue_fault(Fault {
        drop: true,
        ..fault(AUTH)
    });
    let err = env
        .http
        .get(env.url(&format!("{AUTH}?connector=gmail_x&identifier=me")))
        .bearer_auth(&env.token)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect_err("dropped");
    assert!(!err.is_timeout(), "closed, not hung: {err}");
    let log = env.emu.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].status, 0,
        "a dropped request is logged with status 0"
    );
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
}

#[tokio::test]
async fn handle_first_then_lose_the_answer() {
    let env = Env::start().await;
    env.emu.queue_fault(Fault {
        handle_first: true,
        drop: true,
        ..fault(CREATE)
    });
    let body = json!({"connector": "gmail_y", "identifier": "me", "connected_account": {}});
    let sent = env
        .http
        .post(env.url(CREATE))
        .bearer_auth(&env.token)
        .json(&body)
        .send()
        .await;
    assert!(sent.is_err(), "the answer is lost");
    // ...but the account was created.
    assert!(env.emu.account("gmail_y", "me").is_some());
    assert_eq!(env.post(CREATE, &body).await.status, 409);

    // handle_first with a status: the real work happens, the answer is the fault's.
    env.emu.queue_fault(Fault {
        handle_first: true,
        status: Some(503),
        ..fault("/api/v1/connected_accounts:delete")
    });
    let reply = env
        .post(
            "/api/v1/connected_accounts:delete",
            &json!({"connector": "gmail_y", "identifier": "me"}),
        )
        .await;
    assert_eq!(reply.status, 503);
    assert!(env.emu.account("gmail_y", "me").is_none());
}

#[tokio::test]
async fn faults_through_the_json_control_api() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    let queued = env
        .post_plain(
            "/_emulator/faults",
            &json!({
                "path": AUTH,
                "method": "GET",
                "status": 200,
                "headers": [["content-type", "application/json; charset=utf-8"]],
                "body": {"base64": "eyJhIjoxfQ=="},
            }),
        )
        .await;
    assert_eq!(queued.status, 200, "{}", queued.text);
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.text, r#"{"a":1}"#);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let queued = env
        .post_plain(
            "/_emulator/faults",
            &json!({"path": AUTH, "status": 500, "body": {"json": [1, 2]}}),
        )
        .await;
    assert_eq!(queued.status, 200);
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!((reply.status, reply.json()), (500, json!([1, 2])));
    let queued = env
        .post_plain("/_emulator/faults", &json!({"path": AUTH, "drop": true}))
        .await;
    assert_eq!(queued.status, 200);
    assert!(
        env.http
            .get(env.url(&format!("{AUTH}?connector=gmail_x&identifier=me")))
            .bearer_auth(&env.token)
            .send()
            .await
            .is_err()
    );

    for (bad, why) in [
        (json!({"path": AUTH, "method": "G T"}), "method"),
        (
            json!({"path": AUTH, "headers": [["bad name", "x"]]}),
            "header name",
        ),
        (json!({"path": AUTH, "headers": [["x-a", "a\nb"]]}), "value"),
        (
            json!({"path": AUTH, "headers": [["content-length", "1"]]}),
            "set by the server",
        ),
        (
            json!({"path": AUTH, "no_body": true, "body": {"text": ""}}),
            "not both",
        ),
        (
            json!({"path": AUTH, "hang": true, "drop": true}),
            "not both",
        ),
        (
            json!({"path": AUTH, "body": {"base64": "!!"}}),
            "invalid body",
        ),
        (json!({"path": AUTH, "body": {"yaml": "x"}}), "invalid body"),
        (json!({"path": AUTH, "status": 600}), "status"),
    ] {
        let reply = env.post_plain("/_emulator/faults", &bad).await;
        assert_eq!(reply.status, 400, "{bad}");
        let message = reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(why), "{bad}: {message}");
    }
    // None of the refused faults was queued.
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
}

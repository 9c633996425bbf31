//! `ANY /proxy/{rest}` and the echo upstream.

use base64::Engine as _;
use scalekit_emulator::{Options, SeedAccount};
use serde_json::json;

use crate::common::{Env, Reply, assert_grpc_error, seed, seed_with_status};

async fn proxy(
    env: &Env,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request = env
        .http
        .request(method, env.url(path))
        .bearer_auth(&env.token)
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::from(request.send().await.expect("proxy request")).await
}

fn echo_env() -> Options {
    Options {
        upstream: Some("/_emulator/echo".into()),
        ..Options::default()
    }
}

#[tokio::test]
async fn echo_describes_the_request() {
    let env = Env::start().await;
    let resp = env
        .http
        .put(env.url("/_emulator/echo/a/b?x=1&y=2"))
        .header("x-thing", "1")
        .body("hello")
        .send()
        .await
        .expect("send");
    let body = Reply::from(resp).await.json();
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["path"], "/a/b");
    assert_eq!(body["query"], "x=1&y=2");
    assert_eq!(body["headers"]["x-thing"], "1");
    assert_eq!(body["body"], "hello");
    assert!(
        env.emu.requests().is_empty(),
        "the echo upstream is not logged"
    );
}

#[tokio::test]
async fn forwards_with_the_account_token() {
    let env = Env::with(echo_env()).await;
    env.emu.seed(seed("gmail_u3134a", "mess"));
    let access = env.emu.account("gmail_u3134a", "mess").expect("account")["authorization_details"]
        ["oauth_token"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let reply = proxy(
        &env,
        reqwest::Method::POST,
        "/proxy/gmail/v1/users/me/messages?q=is%3Aunread&max=5",
        &[
            ("connection_name", "gmail_u3134a"),
            ("identifier", "mess"),
            ("x-custom", "kept"),
            ("content-type", "application/json"),
        ],
        r#"{"raw":"x"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let echo = reply.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/gmail/v1/users/me/messages");
    assert_eq!(echo["query"], "q=is%3Aunread&max=5");
    assert_eq!(echo["body"], r#"{"raw":"x"}"#);
    let headers = &echo["headers"];
    assert_eq!(headers["authorization"], format!("Bearer {access}"));
    assert_eq!(headers["x-custom"], "kept");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.get("connection_name").is_none());
    assert!(headers.get("identifier").is_none());
    // The proxy marks the account used and is logged once.
    assert!(env.emu.account("gmail_u3134a", "mess").expect("account")["last_used_at"].is_string());
    let log = env.emu.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].path, "/proxy/gmail/v1/users/me/messages");
    assert_eq!(log[0].status, 200);
}

#[tokio::test]
async fn static_credentials_upstream() {
    let env = Env::with(echo_env()).await;
    env.emu.seed(SeedAccount {
        static_auth: Some(json!({"api_key": "sk_1"})),
        ..seed("freshdesk-8", "me")
    });
    env.emu.seed(SeedAccount {
        static_auth: Some(json!({"username": "ann", "password": "pw"})),
        ..seed("jira", "me")
    });
    let authorization = |connector: &'static str| {
        let env = &env;
        async move {
            let reply = proxy(
                env,
                reqwest::Method::GET,
                "/proxy/",
                &[("connection_name", connector), ("identifier", "me")],
                "",
            )
            .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            assert_eq!(reply.json()["path"], "/");
            reply.json()["headers"]["authorization"].clone()
        }
    };
    assert_eq!(authorization("freshdesk-8").await, "Bearer sk_1");
    let basic = base64::engine::general_purpose::STANDARD.encode("ann:pw");
    assert_eq!(authorization("jira").await, format!("Basic {basic}"));
}

#[tokio::test]
async fn proxy_errors() {
    let env = Env::with(echo_env()).await;
    env.emu
        .seed(seed_with_status("gmail_x", "pending", "PENDING_AUTH"));
    env.emu.seed(seed("gmail_x", "me"));
    let get = |headers: &'static [(&'static str, &'static str)]| {
        let env = &env;
        async move { proxy(env, reqwest::Method::GET, "/proxy/v1/x", headers, "").await }
    };
    assert_grpc_error(
        &get(&[("connection_name", "gmail_x"), ("identifier", "nobody")]).await,
        404,
        5,
        Some("NOT_FOUND"),
    );
    assert_grpc_error(
        &get(&[("connection_name", "gmail_x"), ("identifier", "pending")]).await,
        400,
        9,
        Some("CONNECTED_ACCOUNT_NOT_ACTIVE"),
    );
    assert_grpc_error(
        &get(&[("identifier", "me")]).await,
        400,
        3,
        Some("BAD_REQUEST"),
    );
    let unauthenticated = env
        .http
        .get(env.url("/proxy/v1/x"))
        .header("connection_name", "gmail_x")
        .header("identifier", "me")
        .send()
        .await
        .expect("send");
    assert_grpc_error(
        &Reply::from(unauthenticated).await,
        401,
        16,
        Some("UNAUTHENTICATED"),
    );

    // Upstream answers are relayed as they are (here: the control API's 404).
    env.emu.set_upstream(Some("/_emulator".into()));
    let reply = get(&[("connection_name", "gmail_x"), ("identifier", "me")]).await;
    assert_eq!(reply.status, 404);
    assert!(reply.json()["error"].is_string());

    // Unreachable upstream: 502.
    env.emu.set_upstream(Some("http://127.0.0.1:1".into()));
    let reply = get(&[("connection_name", "gmail_x"), ("identifier", "me")]).await;
    assert_grpc_error(&reply, 502, 14, Some("UPSTREAM_ERROR"));

    // No upstream: 501.
    env.emu.set_upstream(None);
    let reply = get(&[("connection_name", "gmail_x"), ("identifier", "me")]).await;
    assert_grpc_error(&reply, 501, 12, Some("UNIMPLEMENTED"));
}

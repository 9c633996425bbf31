//! `POST /oauth/token` and bearer-token checks on `/api/v1`.

use scalekit_emulator::{Emulator, Options};
use serde_json::json;

use crate::common::{Env, Reply, api_token, assert_grpc_error, client, seed};

async fn token_request(base: &str, form: &[(&str, &str)]) -> Reply {
    let resp = client()
        .post(format!("{base}/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("token request");
    Reply::from(resp).await
}

#[tokio::test]
async fn issues_opaque_bearer_tokens() {
    let emu = Emulator::start(Options::default()).expect("start");
    // Field order does not matter.
    let reply = token_request(
        &emu.url(),
        &[
            ("client_secret", "emulator-secret"),
            ("client_id", "skc_emulator"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.header("cache-control"),
        Some("no-cache, no-store, must-revalidate")
    );
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86399);
    let token = body["access_token"].as_str().expect("token");
    assert!(token.len() >= 32);
    assert_eq!(body.as_object().map(serde_json::Map::len), Some(3));
    // Every call issues a new token.
    assert_ne!(api_token(&client(), &emu.url()).await, token);
}

#[tokio::test]
async fn custom_credentials_from_options() {
    let emu = Emulator::start(Options {
        client_id: "skc_custom".into(),
        client_secret: "s3cret".into(),
        ..Options::default()
    })
    .expect("start");
    assert_eq!(emu.client_id(), "skc_custom");
    assert_eq!(emu.client_secret(), "s3cret");
    let ok = [
        ("grant_type", "client_credentials"),
        ("client_id", "skc_custom"),
        ("client_secret", "s3cret"),
    ];
    assert_eq!(token_request(&emu.url(), &ok).await.status, 200);
    let default = [
        ("grant_type", "client_credentials"),
        ("client_id", "skc_emulator"),
        ("client_secret", "emulator-secret"),
    ];
    assert_eq!(token_request(&emu.url(), &default).await.status, 401);
}

#[tokio::test]
async fn rejects_bad_credentials_and_requests() {
    let emu = Emulator::start(Options::default()).expect("start");
    let base = emu.url();
    for (form, status, error) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "skc_emulator"),
                ("client_secret", "wrong"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "skc_other"),
                ("client_secret", "emulator-secret"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", "skc_emulator"),
                ("client_secret", "emulator-secret"),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "skc_emulator"),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("client_id", "skc_emulator"),
                ("client_secret", "emulator-secret"),
            ],
            400,
            "invalid_request",
        ),
    ] {
        let reply = token_request(&base, &form).await;
        assert_eq!(reply.status, status, "{form:?}: {}", reply.text);
        let body = reply.json();
        assert_eq!(body["error"], error, "{form:?}");
        assert!(body["error_description"].is_string());
    }
    // Not a form.
    let resp = client()
        .post(format!("{base}/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": "skc_emulator", "client_secret": "emulator-secret"}))
        .send()
        .await
        .expect("send");
    let reply = Reply::from(resp).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_request");
    // Wrong method.
    let resp = client()
        .get(format!("{base}/oauth/token"))
        .send()
        .await
        .expect("send");
    assert_grpc_error(&Reply::from(resp).await, 405, 12, None);
}

#[tokio::test]
async fn api_requires_an_issued_unexpired_token() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    let path = "/api/v1/connected_accounts/auth?connector=gmail_x&identifier=me";
    let send = |auth: Option<&'static str>| {
        let mut request = env.http.get(env.url(path));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        async move { Reply::from(request.send().await.expect("send")).await }
    };
    for (auth, message) in [
        (None, "Token empty"),
        (Some("Bearer "), "Token empty"),
        (Some("Bearer not-a-token"), "invalid token"),
        (Some("Basic c2tjOnNlY3JldA=="), "invalid token"),
    ] {
        let reply = send(auth).await;
        assert_grpc_error(&reply, 401, 16, Some("UNAUTHENTICATED"));
        assert_eq!(reply.json()["message"], message, "{auth:?}");
    }
    assert_eq!(env.get(path).await.status, 200);

    env.emu.expire_api_tokens();
    let reply = env.get(path).await;
    assert_grpc_error(&reply, 401, 16, Some("UNAUTHENTICATED"));
    assert_eq!(reply.json()["message"], "token expired");
    // A token issued afterwards works.
    let fresh = api_token(&env.http, &env.emu.url()).await;
    let resp = env
        .http
        .get(env.url(path))
        .bearer_auth(fresh)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
}

/// `expires_in` and the 401 after it for a short `api_token_lifetime`, set at start-up, by
/// the Rust method and through `/_emulator/settings`; absurd lifetimes never panic.
#[tokio::test]
async fn short_lived_api_tokens() {
    let env = Env::with(Options {
        api_token_lifetime: std::time::Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let path = "/api/v1/connected_accounts";
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "skc_emulator"),
        ("client_secret", "emulator-secret"),
    ];
    let reply = token_request(&env.emu.url(), &form).await;
    assert_eq!(reply.json()["expires_in"], 1);
    assert_eq!(env.get(path).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let reply = env.get(path).await;
    assert_grpc_error(&reply, 401, 16, Some("UNAUTHENTICATED"));
    assert_eq!(reply.json()["message"], "token expired");

    // Changed at run time: only tokens issued afterwards get the new lifetime.
    env.emu
        .set_api_token_lifetime(std::time::Duration::from_secs(30));
    assert_eq!(
        token_request(&env.emu.url(), &form).await.json()["expires_in"],
        30
    );
    let changed = env
        .post_plain(
            "/_emulator/settings",
            &json!({"api_token_lifetime_secs": 0}),
        )
        .await;
    assert_eq!(changed.json()["api_token_lifetime_secs"], 0);
    let reply = token_request(&env.emu.url(), &form).await;
    assert_eq!(reply.json()["expires_in"], 0);
    let dead = reply.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let resp = env
        .http
        .get(env.url(path))
        .bearer_auth(&dead)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 401);

    // A lifetime too long for the clock: a token that never expires, no panic.
    let changed = env
        .post_plain(
            "/_emulator/settings",
            &json!({"api_token_lifetime_secs": u64::MAX}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let reply = token_request(&env.emu.url(), &form).await;
    assert_eq!(reply.json()["expires_in"], u64::MAX);
    let token = reply.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let resp = env
        .http
        .get(env.url(path))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);

    // A reset brings back the start-up lifetime.
    env.emu.reset();
    assert_eq!(
        token_request(&env.emu.url(), &form).await.json()["expires_in"],
        1
    );
}

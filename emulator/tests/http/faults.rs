//! Faults, latency, the request log and connection ids.

use std::time::{Duration, Instant};

use scalekit_emulator::{Fault, FaultBody, Options};
use serde_json::json;

use crate::common::{Env, Reply, assert_grpc_error, client, seed};

const AUTH: &str = "/api/v1/connected_accounts/auth";

fn fault(path: &str) -> Fault {
    Fault {
        path: path.to_owned(),
        ..Fault::default()
    }
}

#[tokio::test]
async fn status_faults_with_retry_after_and_count() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    env.emu.queue_fault(Fault {
        status: Some(429),
        retry_after: Some(2),
        count: 2,
        ..fault(AUTH)
    });
    for _ in 0..2 {
        let reply = env.auth("gmail_x", "me").await;
        assert_grpc_error(&reply, 429, 8, Some("RATE_LIMITED"));
        assert_eq!(reply.header("retry-after"), Some("2"));
    }
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.status, 200);
    assert!(reply.header("retry-after").is_none());

    // Faults match the exact path only.
    env.emu.queue_fault(Fault {
        status: Some(500),
        ..fault("/api/v1/connected_accounts/details")
    });
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
    let statuses: Vec<u16> = env.emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200, 200]);

    // Other statuses get their gRPC bodies; /oauth/token can be faulted too.
    env.emu.queue_fault(Fault {
        status: Some(503),
        ..fault("/oauth/token")
    });
    let resp = client()
        .post(env.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "skc_emulator"),
            ("client_secret", "emulator-secret"),
        ])
        .send()
        .await
        .expect("send");
    assert_grpc_error(&Reply::from(resp).await, 503, 14, Some("UNAVAILABLE"));
}

#[tokio::test]
async fn no_body_faults() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    env.emu.queue_fault(Fault {
        status: Some(429),
        no_body: true,
        ..fault(AUTH)
    });
    env.emu.queue_fault(Fault {
        no_body: true,
        ..fault(AUTH)
    });
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.status, 429);
    assert!(reply.text.is_empty());
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.status, 503);
    assert!(reply.text.is_empty());
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
}

#[tokio::test]
async fn hang_until_the_client_gives_up() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    env.emu.queue_fault(Fault {
        hang: true,
        ..fault(AUTH)
    });
    let started = Instant::now();
    let err = env
        .http
        .get(env.url(&format!("{AUTH}?connector=gmail_x&identifier=me")))
        .bearer_auth(&env.token)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("hangs");
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let log = env.emu.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, 0, "a hung request is logged with status 0");
    // The next request is answered.
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
}

#[tokio::test]
async fn delay_then_answer() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    env.emu.queue_fault(Fault {
        delay_ms: Some(200),
        ..fault(AUTH)
    });
    let started = Instant::now();
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    // With a status: delay, then the error.
    env.emu.queue_fault(Fault {
        delay_ms: Some(50),
        status: Some(504),
        ..fault(AUTH)
    });
    let started = Instant::now();
    assert_grpc_error(
        &env.auth("gmail_x", "me").await,
        504,
        4,
        Some("DEADLINE_EXCEEDED"),
    );
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[tokio::test]
async fn latency_applies_to_api_requests_only() {
    let env = Env::with(Options {
        latency: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    env.emu.seed(seed("gmail_x", "me"));
    let started = Instant::now();
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(env.get_plain("/_emulator/health").await.status, 200);
    assert!(started.elapsed() < Duration::from_millis(300));
    env.emu.set_latency(Duration::ZERO);
    let started = Instant::now();
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn request_log_and_connection_ids() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    // One keep-alive client: one connection for both requests.
    env.auth("gmail_x", "me").await;
    env.post(
        "/api/v1/connected_accounts/magic_link",
        &json!({"connector": "gmail_x", "identifier": "me"}),
    )
    .await;
    // A second client: another connection.
    let other = client();
    let resp = other
        .get(env.url(&format!("{AUTH}?connector=gmail_x&identifier=me&bad=1")))
        .bearer_auth(&env.token)
        .header("x-custom", "yes")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);

    let log = env.emu.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, AUTH);
    assert_eq!(
        log[0].query.as_deref(),
        Some("connector=gmail_x&identifier=me")
    );
    assert_eq!(log[0].status, 200);
    assert!(
        log[0]
            .headers
            .iter()
            .any(|(n, v)| n == "authorization" && v == &format!("Bearer {}", env.token))
    );
    assert_eq!(log[1].method, "POST");
    assert_eq!(log[1].body, r#"{"connector":"gmail_x","identifier":"me"}"#);
    assert!(log[1].query.is_none());
    assert_eq!(log[0].connection, log[1].connection);
    assert_ne!(log[1].connection, log[2].connection);
    assert!(
        log[2]
            .headers
            .contains(&("x-custom".to_owned(), "yes".to_owned()))
    );
    assert_eq!(log[2].status, 400);
    assert!(log[0].at_ms <= log[1].at_ms && log[1].at_ms <= log[2].at_ms);
    assert!(log.iter().all(|r| r.connection >= 1));
}

#[tokio::test]
async fn body_faults_answer_exactly_the_given_text() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    let hostile = r#"{"link":"https://x.example/\u001b]8;;https://evil\u0007","expiry":"x"}"#;
    env.emu.queue_fault(Fault {
        body: Some(FaultBody::Text(hostile.to_owned())),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        ..fault(AUTH)
    });
    env.emu.queue_fault(Fault {
        body: Some(FaultBody::Text("not json".to_owned())),
        status: Some(418),
        retry_after: Some(3),
        ..fault(AUTH)
    });
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.text, hostile);
    let reply = env.auth("gmail_x", "me").await;
    assert_eq!((reply.status, reply.text.as_str()), (418, "not json"));
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(env.auth("gmail_x", "me").await.status, 200);
}

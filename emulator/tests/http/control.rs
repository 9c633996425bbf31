//! The control surface: the Rust methods and the JSON API under `/_emulator/`.

use std::time::Duration;

use scalekit_emulator::{Emulator, Fault, Options, SeedAccount};
use serde_json::json;

use crate::common::{Env, api_token, client, parse_time, seed, seed_with_status};

#[tokio::test]
async fn rust_operations() {
    let env = Env::with(Options {
        seed: vec![seed("gmail_seeded", "me")],
        ..Options::default()
    })
    .await;
    let emu = &env.emu;
    assert_eq!(emu.url(), format!("http://127.0.0.1:{}", emu.port()));
    assert!(emu.account("gmail_seeded", "me").is_some());

    // seed replaces and keeps the id.
    let id = emu.seed(seed_with_status("gmail_x", "me", "PENDING_AUTH"));
    assert_eq!(emu.seed(seed("gmail_x", "me")), id);
    assert_eq!(
        emu.account("gmail_x", "me").expect("account")["status"],
        "ACTIVE"
    );

    // Explicit seed values.
    emu.seed(SeedAccount {
        access_token: Some("ya29.given".into()),
        refresh_token: Some("1//given".into()),
        scopes: vec!["a".into(), "b".into()],
        token_expires_in_secs: Some(-10),
        provider: Some("google".into()),
        ..seed("gmail_y", "me")
    });
    let y = emu.account("gmail_y", "me").expect("account");
    assert_eq!(y["provider"], "google");
    assert_eq!(
        y["authorization_details"]["oauth_token"]["access_token"],
        "ya29.given"
    );
    assert_eq!(
        y["authorization_details"]["oauth_token"]["scopes"],
        json!(["a", "b"])
    );
    assert!(
        parse_time(y["token_expires_at"].as_str().expect("expiry"))
            < time::OffsetDateTime::now_utc()
    );

    // activate, set_status, rotate_token, set_token_expiry.
    emu.seed(seed_with_status("gmail_z", "me", "PENDING_AUTH"));
    assert!(emu.activate("gmail_z", "me"));
    assert!(!emu.activate("gmail_z", "nobody"));
    let first = emu.account("gmail_z", "me").expect("account")["authorization_details"]["oauth_token"]
        ["access_token"]
        .clone();
    assert!(emu.set_status("gmail_z", "me", "EXPIRED"));
    assert_eq!(
        env.auth("gmail_z", "me").await.json()["connected_account"]["status"],
        "EXPIRED"
    );
    assert!(!emu.set_status("gmail_z", "nobody", "ACTIVE"));
    let rotated = emu.rotate_token("gmail_z", "me").expect("rotated");
    assert_ne!(json!(rotated), first);
    assert_eq!(
        env.auth("gmail_z", "me").await.json()["connected_account"]["authorization_details"]["oauth_token"]
            ["access_token"],
        rotated.as_str()
    );
    assert!(emu.rotate_token("gmail_z", "nobody").is_none());
    let at = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    assert!(emu.set_token_expiry("gmail_z", "me", Some(at)));
    let shown = parse_time(
        emu.account("gmail_z", "me").expect("account")["token_expires_at"]
            .as_str()
            .expect("expiry"),
    );
    assert!((shown - at).abs() < time::Duration::milliseconds(1));
    assert!(emu.set_token_expiry("gmail_z", "me", None));
    assert!(
        emu.account("gmail_z", "me")
            .expect("account")
            .get("token_expires_at")
            .is_none()
    );

    // A pending OAuth account set to ACTIVE gets a token.
    emu.seed(seed_with_status("gmail_w", "me", "PENDING_AUTH"));
    assert!(emu.set_status("gmail_w", "me", "ACTIVE"));
    assert!(emu.account("gmail_w", "me").expect("account")["authorization_details"]["oauth_token"]
        ["access_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));

    // Static credentials cannot be rotated.
    emu.seed(SeedAccount {
        static_auth: Some(json!({"api_key": "k"})),
        ..seed("freshdesk-8", "me")
    });
    assert!(emu.rotate_token("freshdesk-8", "me").is_none());

    // The log and reset.
    assert!(!emu.requests().is_empty());
    emu.clear_requests();
    assert!(emu.requests().is_empty());
    emu.set_create_status(201);
    emu.set_verification_mode(true);
    emu.queue_fault(Fault {
        path: "/api/v1/connected_accounts/auth".into(),
        status: Some(500),
        ..Fault::default()
    });
    let link = env.magic_link("gmail_z", "me").await;
    emu.reset();
    assert!(emu.magic_links().is_empty());
    assert!(emu.requests().is_empty());
    assert!(emu.account("gmail_z", "me").is_none());
    assert!(emu.account("gmail_seeded", "me").is_some());
    assert!(!emu.approve_link(&link));
    // Tokens issued before the reset are gone.
    assert_eq!(env.auth("gmail_seeded", "me").await.status, 401);
    let token = api_token(&env.http, &emu.url()).await;
    let resp = env
        .http
        .get(env.url("/api/v1/connected_accounts/auth?connector=gmail_seeded&identifier=me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    // The queued fault is gone too.
    assert_eq!(resp.status().as_u16(), 200);
    let resp = env
        .http
        .post(env.url("/api/v1/connected_accounts"))
        .bearer_auth(&token)
        .json(&json!({"connector": "c", "identifier": "i", "connected_account": {}}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200, "create status back to 200");
}

#[tokio::test]
async fn json_control_api() {
    let env = Env::start().await;
    let health = env.get_plain("/_emulator/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["client_id"], "skc_emulator");

    // Accounts.
    let created = env
        .post_plain(
            "/_emulator/accounts",
            &json!({"connector": "gmail_x", "identifier": "me", "status": "PENDING_AUTH", "scopes": ["email"]}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let listed = env.get_plain("/_emulator/accounts").await.json();
    assert_eq!(listed["accounts"][0]["id"], id.as_str());
    for bad in [
        json!({"connector": "gmail_x", "identifier": "me", "status": "WRONG"}),
        json!({"connector": "bad/name", "identifier": "me"}),
        json!({"connector": "gmail_x", "identifier": ""}),
        json!({"connector": "gmail_x", "identifier": "me", "colour": "red"}),
        json!({"connector": "gmail_x", "identifier": "me", "static_auth": "key"}),
    ] {
        let reply = env.post_plain("/_emulator/accounts", &bad).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert!(reply.json()["error"].is_string());
    }

    let target = json!({"connector": "gmail_x", "identifier": "me"});
    let nobody = json!({"connector": "gmail_x", "identifier": "nobody"});
    assert_eq!(
        env.post_plain("/_emulator/accounts/activate", &target)
            .await
            .status,
        200
    );
    assert_eq!(
        env.emu.account("gmail_x", "me").expect("account")["status"],
        "ACTIVE"
    );
    assert_eq!(
        env.post_plain("/_emulator/accounts/activate", &nobody)
            .await
            .status,
        404
    );

    let status = json!({"connector": "gmail_x", "identifier": "me", "status": "DISCONNECTED"});
    assert_eq!(
        env.post_plain("/_emulator/accounts/status", &status)
            .await
            .status,
        200
    );
    assert_eq!(
        env.emu.account("gmail_x", "me").expect("account")["status"],
        "DISCONNECTED"
    );
    let bad_status = json!({"connector": "gmail_x", "identifier": "me", "status": "GONE"});
    assert_eq!(
        env.post_plain("/_emulator/accounts/status", &bad_status)
            .await
            .status,
        400
    );

    let rotated = env.post_plain("/_emulator/accounts/rotate", &target).await;
    assert_eq!(rotated.status, 200);
    let token = rotated.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        env.emu.account("gmail_x", "me").expect("account")["authorization_details"]["oauth_token"]
            ["access_token"],
        token.as_str()
    );
    assert_eq!(
        env.post_plain("/_emulator/accounts/rotate", &nobody)
            .await
            .status,
        404
    );

    let expiry =
        json!({"connector": "gmail_x", "identifier": "me", "expires_at": "2030-01-02T03:04:05Z"});
    assert_eq!(
        env.post_plain("/_emulator/accounts/expiry", &expiry)
            .await
            .status,
        200
    );
    assert_eq!(
        env.emu.account("gmail_x", "me").expect("account")["token_expires_at"],
        "2030-01-02T03:04:05.000000Z"
    );
    let relative = json!({"connector": "gmail_x", "identifier": "me", "expires_in_secs": -60});
    assert_eq!(
        env.post_plain("/_emulator/accounts/expiry", &relative)
            .await
            .status,
        200
    );
    let past = parse_time(
        env.emu.account("gmail_x", "me").expect("account")["token_expires_at"]
            .as_str()
            .expect("expiry"),
    );
    assert!(past < time::OffsetDateTime::now_utc());
    assert_eq!(
        env.post_plain("/_emulator/accounts/expiry", &target)
            .await
            .status,
        200
    );
    assert!(
        env.emu
            .account("gmail_x", "me")
            .expect("account")
            .get("token_expires_at")
            .is_none()
    );
    let bad_time = json!({"connector": "gmail_x", "identifier": "me", "expires_at": "tomorrow"});
    assert_eq!(
        env.post_plain("/_emulator/accounts/expiry", &bad_time)
            .await
            .status,
        400
    );

    // Settings.
    let settings = env
        .post_plain(
            "/_emulator/settings",
            &json!({"link_ttl_secs": 5, "api_token_lifetime_secs": 7, "latency_ms": 0, "verification_mode": false, "create_status": 201, "upstream": "/_emulator/echo"}),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.text);
    assert_eq!(
        env.get_plain("/_emulator/settings").await.json(),
        json!({"link_ttl_secs": 5, "api_token_lifetime_secs": 7, "latency_ms": 0, "verification_mode": false, "create_status": 201, "upstream": "/_emulator/echo"})
    );
    assert_eq!(
        env.post_plain("/_emulator/settings", &json!({"create_status": 202}))
            .await
            .status,
        400
    );
    assert_eq!(
        env.post_plain("/_emulator/settings", &json!({"latency": 5}))
            .await
            .status,
        400
    );
    let created = env
        .post(
            "/api/v1/connected_accounts",
            &json!({"connector": "c", "identifier": "i", "connected_account": {}}),
        )
        .await;
    assert_eq!(created.status, 201);
    let link = env.magic_link("c", "i").await;
    let links = env.get_plain("/_emulator/links").await.json();
    let expiry = parse_time(links["links"][0]["expiry"].as_str().expect("expiry"));
    assert!((expiry - time::OffsetDateTime::now_utc()).whole_seconds() <= 5);
    assert_eq!(links["links"][0]["link"], link.as_str());
    assert_eq!(links["links"][0]["used"], false);

    // Links.
    let approved = env
        .post_plain("/_emulator/links/approve", &json!({"link": link}))
        .await;
    assert_eq!(approved.json(), json!({"approved": true}));
    assert_eq!(
        env.emu.account("c", "i").expect("account")["status"],
        "ACTIVE"
    );
    let again = env
        .post_plain("/_emulator/links/approve", &json!({"link": link}))
        .await;
    assert_eq!(again.status, 410);
    assert_eq!(again.json()["approved"], false);
    let unknown = env
        .post_plain("/_emulator/links/approve", &json!({"link": "nope"}))
        .await;
    assert_eq!(unknown.status, 404);

    // Faults.
    let fault = env
        .post_plain(
            "/_emulator/faults",
            &json!({"path": "/api/v1/connected_accounts/auth", "status": 503}),
        )
        .await;
    assert_eq!(fault.status, 200);
    assert_eq!(env.auth("c", "i").await.status, 503);
    assert_eq!(env.auth("c", "i").await.status, 200);
    assert_eq!(
        env.post_plain("/_emulator/faults", &json!({"path": "no-slash"}))
            .await
            .status,
        400
    );
    assert_eq!(
        env.post_plain("/_emulator/faults", &json!({"path": "/x", "status": 42}))
            .await
            .status,
        400
    );

    // Requests: control calls are not logged.
    let log = env.get_plain("/_emulator/requests").await.json();
    let paths: Vec<&str> = log["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    assert!(
        paths.iter().all(|p| !p.starts_with("/_emulator")),
        "{paths:?}"
    );
    assert_eq!(paths.last(), Some(&"/api/v1/connected_accounts/auth"));
    assert_eq!(log["requests"][paths.len() - 2]["status"], 503);
    let resp = env
        .http
        .delete(env.url("/_emulator/requests"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(env.emu.requests().is_empty());

    // Expire API tokens.
    assert_eq!(
        env.post_plain("/_emulator/expire_api_tokens", &json!({}))
            .await
            .status,
        200
    );
    assert_eq!(env.auth("c", "i").await.status, 401);

    // Reset.
    assert_eq!(
        env.post_plain("/_emulator/reset", &json!({})).await.status,
        200
    );
    assert!(env.emu.account("c", "i").is_none());
    assert_eq!(
        env.get_plain("/_emulator/settings").await.json()["create_status"],
        200
    );

    // Unknown endpoints and methods.
    assert_eq!(env.get_plain("/_emulator/nope").await.status, 404);
    assert_eq!(env.get_plain("/_emulator/reset").await.status, 405);
}

#[tokio::test]
async fn emulator_inside_and_outside_a_runtime() {
    // From synchronous code (a plain thread) ...
    let emu = std::thread::spawn(|| Emulator::start(Options::default()))
        .join()
        .expect("thread")
        .expect("start");
    // ... used and dropped from async code.
    assert_eq!(
        client()
            .get(format!("{}/_emulator/health", emu.url()))
            .send()
            .await
            .expect("send")
            .status()
            .as_u16(),
        200
    );
    let url = emu.url();
    drop(emu);
    let gone = client()
        .get(format!("{url}/_emulator/health"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(gone.is_err(), "stopped when dropped");
}

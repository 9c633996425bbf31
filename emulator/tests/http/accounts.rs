//! `…/auth`, `…/details`, create, update, delete, and the strict validation.

use scalekit_emulator::SeedAccount;
use serde_json::{Value, json};

use crate::common::{
    Env, assert_bad_request, assert_grpc_error, assert_key_order, is_timestamp, parse_time, query,
    seed, seed_with_status,
};

const ACCOUNTS: &str = "/api/v1/connected_accounts";
const DELETE: &str = "/api/v1/connected_accounts:delete";

#[tokio::test]
async fn auth_renders_an_active_account_in_proto_order() {
    let env = Env::start().await;
    let id = env.emu.seed(SeedAccount {
        scopes: vec!["email".into()],
        ..seed("gmail_u3134a", "mess")
    });
    let reply = env.auth("gmail_u3134a", "mess").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.header("grpc-metadata-content-type"),
        Some("application/grpc")
    );
    let trace = reply.header("x-trace-id").expect("x-trace-id");
    assert_eq!(trace.len(), 32);
    assert!(trace.chars().all(|c| c.is_ascii_hexdigit()));
    assert_key_order(
        &reply.text,
        &[
            "connected_account",
            "identifier",
            "provider",
            "status",
            "authorization_type",
            "authorization_details",
            "oauth_token",
            "access_token",
            "refresh_token",
            "scopes",
            "domain",
            "token_expires_at",
            "updated_at",
            "connector",
            "last_used_at",
            "id",
            "connection_id",
            "is_org_wide_credential",
        ],
    );
    let account = &reply.json()["connected_account"];
    assert_eq!(account["identifier"], "mess");
    assert_eq!(account["provider"], "GMAIL");
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(account["authorization_type"], "OAUTH");
    assert_eq!(account["connector"], "gmail_u3134a");
    assert_eq!(account["id"], id.as_str());
    assert_eq!(account["is_org_wide_credential"], false);
    let token = &account["authorization_details"]["oauth_token"];
    assert!(
        token["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("ya29.emu."))
    );
    assert!(
        token["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(token["scopes"], json!(["email"]));
    assert_eq!(token["domain"], "");
    for field in ["token_expires_at", "updated_at", "last_used_at"] {
        let text = account[field].as_str().expect(field);
        assert!(is_timestamp(text), "{field}: {text}");
    }
    let expires_in = parse_time(account["token_expires_at"].as_str().expect("expiry"))
        - time::OffsetDateTime::now_utc();
    assert!(
        (3590..=3600).contains(&expires_in.whole_seconds()),
        "{expires_in}"
    );
    assert!(id.starts_with("ca_") && id.len() == 21 && id[3..].chars().all(|c| c.is_ascii_digit()));
    assert!(!reply.text.contains("null"));
}

#[tokio::test]
async fn last_used_at_is_set_by_auth_only() {
    let env = Env::start().await;
    env.emu.seed(seed("slack_x7y9z", "mess"));
    let details_path = format!(
        "/api/v1/connected_accounts/details?{}",
        query(&[("connector", "slack_x7y9z"), ("identifier", "mess")])
    );
    let details = env.get(&details_path).await;
    assert_eq!(details.status, 200);
    let account = &details.json()["connected_account"];
    assert!(account.get("authorization_details").is_none());
    assert!(account.get("last_used_at").is_none());
    assert!(account.get("token_expires_at").is_some());
    assert!(!details.text.contains("ya29"));
    assert_eq!(
        env.emu
            .account("slack_x7y9z", "mess")
            .expect("account")
            .get("last_used_at"),
        None
    );

    let auth = env.auth("slack_x7y9z", "mess").await;
    assert!(auth.json()["connected_account"]["last_used_at"].is_string());
    let details = env.get(&details_path).await;
    assert!(details.json()["connected_account"]["last_used_at"].is_string());
}

#[tokio::test]
async fn lookup_by_id_and_connection_ids() {
    let env = Env::start().await;
    let a = env.emu.seed(seed("gmail_a", "one"));
    env.emu.seed(seed("gmail_a", "two"));
    env.emu.seed(seed("github-connect", "one"));
    let reply = env
        .get(&format!("/api/v1/connected_accounts/auth?id={a}"))
        .await;
    assert_eq!(reply.status, 200);
    let by_id = reply.json()["connected_account"].clone();
    assert_eq!(by_id["identifier"], "one");
    assert_eq!(by_id["connector"], "gmail_a");
    // With id, connector and identifier are ignored.
    let reply = env
        .get(&format!(
            "/api/v1/connected_accounts/details?id={a}&connector=other&identifier=x"
        ))
        .await;
    assert_eq!(reply.json()["connected_account"]["id"], a.as_str());

    let conn = |connector: &str, identifier: &str| {
        env.emu.account(connector, identifier).expect("account")["connection_id"]
            .as_str()
            .expect("connection_id")
            .to_owned()
    };
    assert_eq!(conn("gmail_a", "one"), conn("gmail_a", "two"));
    assert_ne!(conn("gmail_a", "one"), conn("github-connect", "one"));
    let id = conn("gmail_a", "one");
    assert!(id.starts_with("conn_") && id[5..].chars().all(|c| c.is_ascii_digit()));
    assert_eq!(
        env.emu.account("github-connect", "one").expect("account")["provider"],
        "GITHUB"
    );
}

#[tokio::test]
async fn missing_accounts_and_bad_lookups() {
    let env = Env::start().await;
    for path in [
        "/api/v1/connected_accounts/auth?connector=gmail_x&identifier=nobody",
        "/api/v1/connected_accounts/details?connector=gmail_x&identifier=nobody",
        "/api/v1/connected_accounts/auth?id=ca_123456789012345678",
    ] {
        let reply = env.get(path).await;
        assert_grpc_error(&reply, 404, 5, Some("NOT_FOUND"));
        assert_eq!(reply.json()["message"], "connected account not found");
    }
    let long = "x".repeat(101);
    let long_org = "o".repeat(33);
    for path in [
        "/api/v1/connected_accounts/auth".to_owned(),
        "/api/v1/connected_accounts/auth?connector=gmail_x".to_owned(),
        "/api/v1/connected_accounts/details?identifier=me".to_owned(),
        "/api/v1/connected_accounts/auth?id=acct_1".to_owned(),
        format!("/api/v1/connected_accounts/auth?id=ca_{}", "1".repeat(30)),
        format!("/api/v1/connected_accounts/auth?connector=gmail_x&identifier={long}"),
        "/api/v1/connected_accounts/auth?connector=gmail%2Fx&identifier=me".to_owned(),
        format!(
            "/api/v1/connected_accounts/auth?connector=g&identifier=me&organization_id={long_org}"
        ),
    ] {
        let reply = env.get(&path).await;
        assert_grpc_error(&reply, 400, 3, Some("BAD_REQUEST"));
    }
    // Gateway-level parse errors: unknown / camelCase / repeated query parameters.
    for path in [
        "/api/v1/connected_accounts/auth?connector=g&identifier=me&extra=1",
        "/api/v1/connected_accounts/auth?connectionName=g&identifier=me",
        "/api/v1/connected_accounts/details?connector=g&identifier=me&organizationId=o",
        "/api/v1/connected_accounts/auth?connector=g&connector=h&identifier=me",
    ] {
        assert_grpc_error(&env.get(path).await, 400, 3, None);
    }
}

#[tokio::test]
async fn pending_accounts_show_empty_credentials() {
    let env = Env::start().await;
    env.emu
        .seed(seed_with_status("gmail_x", "me", "PENDING_AUTH"));
    let reply = env.auth("gmail_x", "me").await;
    let account = &reply.json()["connected_account"];
    assert_eq!(account["status"], "PENDING_AUTH");
    assert_eq!(
        account["authorization_details"],
        json!({"oauth_token": {"access_token": "", "refresh_token": "", "scopes": [], "domain": ""}})
    );
    assert!(account.get("token_expires_at").is_none());
}

#[tokio::test]
async fn static_auth_accounts() {
    let env = Env::start().await;
    env.emu.seed(SeedAccount {
        static_auth: Some(json!({"api_key": "sk_live_1"})),
        ..seed("freshdesk-8", "me")
    });
    env.emu.seed(SeedAccount {
        static_auth: Some(json!({"username": "u", "password": "p"})),
        ..seed("jira_basic", "me")
    });
    env.emu.seed(SeedAccount {
        static_auth: Some(json!({"token": "t"})),
        ..seed("notion_b", "me")
    });
    let reply = env.auth("freshdesk-8", "me").await;
    let account = &reply.json()["connected_account"];
    assert_eq!(account["authorization_type"], "API_KEY");
    assert_eq!(account["provider"], "FRESHDESK");
    assert_eq!(
        account["authorization_details"],
        json!({"static_auth": {"details": {"api_key": "sk_live_1"}}})
    );
    assert!(account.get("token_expires_at").is_none());
    let kind = |connector: &str| {
        env.emu.account(connector, "me").expect("account")["authorization_type"].clone()
    };
    assert_eq!(kind("jira_basic"), "BASIC_AUTH");
    assert_eq!(kind("notion_b"), "BEARER_TOKEN");
}

#[tokio::test]
async fn create_pending_and_bring_your_own_token() {
    let env = Env::start().await;
    let reply = env
        .post(
            ACCOUNTS,
            &json!({"connector": "gmail_u3134a", "identifier": "mess",
                    "connected_account": {"authorization_details": {"oauth_token": {}}}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("grpc-metadata-content-type"),
        Some("application/grpc")
    );
    let account = &reply.json()["connected_account"];
    assert_eq!(account["status"], "PENDING_AUTH");
    assert_eq!(account["authorization_type"], "OAUTH");
    assert_eq!(account["provider"], "GMAIL");
    assert_eq!(
        account["authorization_details"]["oauth_token"]["access_token"],
        ""
    );
    assert!(
        account["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("ca_"))
    );

    // The Python SDK's form: an empty connected_account.
    let reply = env
        .post(
            ACCOUNTS,
            &json!({"connector": "slack_x", "identifier": "mess", "connected_account": {},
                    "organization_id": "org_1", "user_id": "usr_1"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["connected_account"]["status"], "PENDING_AUTH");

    let reply = env
        .post(
            ACCOUNTS,
            &json!({"connector": "gmail_u3134a", "identifier": "byo",
                    "connected_account": {"authorization_details": {"oauth_token": {
                        "access_token": "ya29.mine", "refresh_token": "1//r", "scopes": ["email", "profile"]}},
                        "api_config": {"base_url": "https://x"}}}),
        )
        .await;
    let account = &reply.json()["connected_account"];
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(
        account["authorization_details"]["oauth_token"]["access_token"],
        "ya29.mine"
    );
    assert_eq!(account["api_config"], json!({"base_url": "https://x"}));

    let reply = env
        .post(
            ACCOUNTS,
            &json!({"connector": "freshdesk-8", "identifier": "me",
                    "connected_account": {"authorization_details": {"static_auth": {"details": {"api_key": "k"}}}}}),
        )
        .await;
    let account = &reply.json()["connected_account"];
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(account["authorization_type"], "API_KEY");

    // Duplicate.
    let reply = env
        .post(
            ACCOUNTS,
            &json!({"connector": "gmail_u3134a", "identifier": "mess", "connected_account": {}}),
        )
        .await;
    assert_grpc_error(&reply, 409, 6, Some("ALREADY_EXISTS"));

    // Configurable 201.
    env.emu.set_create_status(201);
    let reply = env
        .post(
            ACCOUNTS,
            &json!({"connector": "gmail_u3134a", "identifier": "new", "connected_account": {}}),
        )
        .await;
    assert_eq!(reply.status, 201);
}

#[tokio::test]
async fn create_validation_is_strict() {
    let env = Env::start().await;
    let ok = json!({"connector": "gmail_x", "identifier": "me", "connected_account": {}});
    let with = |key: &str, value: Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            json!({"connector": "gmail_x", "identifier": "me"}),
            Some("BAD_REQUEST"),
        ),
        (
            json!({"identifier": "me", "connected_account": {}}),
            Some("BAD_REQUEST"),
        ),
        (
            json!({"connector": "gmail_x", "connected_account": {}}),
            Some("BAD_REQUEST"),
        ),
        (with("connector", json!("gmail/x")), Some("BAD_REQUEST")),
        (
            with("connector", json!("g".repeat(401))),
            Some("BAD_REQUEST"),
        ),
        (
            with("identifier", json!("i".repeat(101))),
            Some("BAD_REQUEST"),
        ),
        (
            with("organization_id", json!("o".repeat(33))),
            Some("BAD_REQUEST"),
        ),
        (with("user_id", json!("u".repeat(33))), Some("BAD_REQUEST")),
        (with("extra", json!(1)), None),
        (
            json!({"connector": "gmail_x", "identifier": "me", "connectedAccount": {}}),
            None,
        ),
        (
            with("connected_account", json!({"authorizationDetails": {}})),
            None,
        ),
        (
            with(
                "connected_account",
                json!({"authorization_details": {"oauth_token": {"accessToken": "x"}}}),
            ),
            None,
        ),
        (
            with(
                "connected_account",
                json!({"authorization_details": {"oauth_token": {}, "static_auth": {}}}),
            ),
            None,
        ),
        (with("connector", json!(5)), None),
        (json!([1, 2]), None),
    ];
    for (body, error_code) in cases {
        let reply = env.post(ACCOUNTS, &body).await;
        assert_grpc_error(&reply, 400, 3, error_code);
    }
    // Malformed JSON and non-JSON bodies.
    for (content_type, body) in [
        ("application/json", "{\"connector\":"),
        ("text/plain", "{}"),
        ("application/x-www-form-urlencoded", "connector=gmail_x"),
    ] {
        let resp = env
            .http
            .post(env.url(ACCOUNTS))
            .bearer_auth(&env.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("send");
        let reply = crate::common::Reply::from(resp).await;
        assert_grpc_error(&reply, 400, 3, None);
    }
    assert!(env.emu.account("gmail_x", "me").is_none());
}

#[tokio::test]
async fn update_replaces_credentials() {
    let env = Env::start().await;
    env.emu
        .seed(seed_with_status("gmail_x", "me", "PENDING_AUTH"));
    let resp = env
        .http
        .put(env.url(ACCOUNTS))
        .bearer_auth(&env.token)
        .json(&json!({"connector": "gmail_x", "identifier": "me",
                      "connected_account": {"authorization_details": {"oauth_token": {"access_token": "ya29.new"}}}}))
        .send()
        .await
        .expect("send");
    let reply = crate::common::Reply::from(resp).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let account = &reply.json()["connected_account"];
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(
        account["authorization_details"]["oauth_token"]["access_token"],
        "ya29.new"
    );
}

#[tokio::test]
async fn delete_by_key_and_by_id() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_x", "me"));
    let id = env.emu.seed(seed("gmail_x", "you"));
    let reply = env
        .post(DELETE, &json!({"connector": "gmail_x", "identifier": "me"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json(), json!({}));
    assert_eq!(env.auth("gmail_x", "me").await.status, 404);
    assert_eq!(env.post(DELETE, &json!({"id": id})).await.status, 200);
    assert!(env.emu.account("gmail_x", "you").is_none());

    let reply = env
        .post(DELETE, &json!({"connector": "gmail_x", "identifier": "me"}))
        .await;
    assert_grpc_error(&reply, 404, 5, Some("NOT_FOUND"));
    assert_grpc_error(
        &env.post(DELETE, &json!({})).await,
        400,
        3,
        Some("BAD_REQUEST"),
    );
    assert_grpc_error(
        &env.post(
            DELETE,
            &json!({"connector": "gmail_x", "identifier": "me", "force": true}),
        )
        .await,
        400,
        3,
        None,
    );
    assert_bad_request(&env.post(DELETE, &json!({"id": "123"})).await);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let env = Env::start().await;
    for path in [
        "/",
        "/api/v1/nope",
        "/api/v1/connected_accounts/",
        "/oauth/tokens",
    ] {
        let reply = env.get(path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(
            reply.json(),
            json!({"code": 5, "message": "Not Found", "details": []})
        );
    }
    let reply = env
        .post("/api/v1/connected_accounts/auth", &json!({}))
        .await;
    assert_grpc_error(&reply, 405, 12, None);
    let reply = env.get("/api/v1/connected_accounts:delete").await;
    assert_grpc_error(&reply, 405, 12, None);
    let resp = env
        .http
        .delete(env.url(ACCOUNTS))
        .bearer_auth(&env.token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 405);
}

//! `GET /api/v1/connections/app` over real HTTP: the default set, seeding through
//! `Options`, the Rust API and the control surface, paging (at most 30) and filters.

use scalekit_emulator::{Options, SeedConnection, default_connections};
use serde_json::{Value, json};

use crate::common::{Env, assert_bad_request, assert_key_order, client, is_timestamp};

const APP: &str = "/api/v1/connections/app";

fn key_ids(body: &Value) -> Vec<String> {
    body["connections"]
        .as_array()
        .expect("connections array")
        .iter()
        .map(|c| c["key_id"].as_str().expect("key_id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_default_connections_in_wire_form() {
    let env = Env::start().await;
    let reply = env.get(APP).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.header("x-trace-id").is_some());
    let body = reply.json();
    assert_eq!(
        key_ids(&body),
        [
            "gmail_u3134a",
            "slack_x7y9z",
            "github-connect",
            "notion_1",
            "freshdesk-8",
            "salesforce-1hpnGzcD"
        ]
    );
    assert_eq!(body["total_size"], 6);
    assert_eq!(body["next_page_token"], "");
    assert_eq!(body["prev_page_token"], "");
    let gmail = &body["connections"][0];
    assert!(gmail["id"].as_str().expect("id").starts_with("conn_"));
    assert_eq!(gmail["provider_key"], "GMAIL");
    assert_eq!(gmail["provider"], "GMAIL");
    assert_eq!(gmail["type"], "OAUTH");
    assert_eq!(gmail["status"], "COMPLETED");
    assert_eq!(gmail["enabled"], true);
    assert!(is_timestamp(
        gmail["created_at"].as_str().expect("created_at")
    ));
    assert_key_order(
        &reply.text,
        &[
            "id",
            "provider",
            "type",
            "status",
            "enabled",
            "provider_key",
            "key_id",
            "created_at",
        ],
    );
    // The id matches the connection_id of accounts on that connection.
    env.emu.seed(crate::common::seed("gmail_u3134a", "me"));
    let account = env.emu.account("gmail_u3134a", "me").expect("account");
    assert_eq!(account["connection_id"], gmail["id"]);
    let draft = &body["connections"][5];
    assert_eq!(
        (draft["status"].as_str(), draft["enabled"].as_bool()),
        (Some("DRAFT"), Some(false))
    );
    assert_eq!(body["connections"][4]["type"], "API_KEY");
    assert_eq!(env.emu.connections().len(), 6);
}

#[tokio::test]
async fn seeded_through_options_rust_and_control() {
    let env = Env::with(Options {
        connections: vec![SeedConnection {
            key_id: "gmail_a".to_owned(),
            ..SeedConnection::default()
        }],
        ..Options::default()
    })
    .await;
    let body = env.get(APP).await.json();
    assert_eq!(key_ids(&body), ["gmail_a"]);
    assert_eq!(body["connections"][0]["provider_key"], "GMAIL", "derived");
    env.emu.seed_connection(SeedConnection {
        status: Some("IN_PROGRESS".to_owned()),
        ..SeedConnection::new("jira_b", "JIRA", "BASIC")
    });
    let reply = env
        .post_plain(
            "/_emulator/connections",
            &json!({"key_id": "gmail_a", "type": "BEARER", "enabled": false}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = env.get(APP).await.json();
    assert_eq!(key_ids(&body), ["gmail_a", "jira_b"], "replaced in place");
    assert_eq!(body["connections"][0]["type"], "BEARER");
    assert_eq!(body["connections"][0]["enabled"], false);
    assert_eq!(body["connections"][1]["status"], "IN_PROGRESS");
    let listed = env.get_plain("/_emulator/connections").await.json();
    assert_eq!(listed["connections"], body["connections"]);
    for bad in [
        json!({"key_id": ""}),
        json!({"key_id": "a/b"}),
        json!({"key_id": "x", "type": "SAML"}),
        json!({"key_id": "x", "status": "ACTIVE"}),
        json!({"key_id": "x", "provider_key": "G MAIL"}),
        json!({"key_id": "x", "extra": 1}),
    ] {
        let reply = env.post_plain("/_emulator/connections", &bad).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text);
    }
    assert_eq!(
        env.post_plain(
            "/_emulator/connections/remove",
            &json!({"key_id": "jira_b"})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        env.post_plain(
            "/_emulator/connections/remove",
            &json!({"key_id": "jira_b"})
        )
        .await
        .status,
        404
    );
    assert!(env.emu.remove_connection("gmail_a"));
    let body = env.get(APP).await.json();
    assert_eq!(body["connections"], json!([]));
    assert_eq!(body["total_size"], 0);
    // A reset brings back the start-up set.
    env.emu.reset();
    let token = crate::common::api_token(&env.http, &env.emu.url()).await;
    let resp = env
        .http
        .get(env.url(APP))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(key_ids(&body), ["gmail_a"]);
    assert_eq!(default_connections().len(), 6);
}

#[tokio::test]
async fn paging_filters_and_validation() {
    let env = Env::with(Options {
        connections: (0..35)
            .map(|i| {
                let provider = if i % 5 == 0 { "SLACK" } else { "GMAIL" };
                SeedConnection::new(&format!("c{i:02}"), provider, "OAUTH")
            })
            .collect(),
        ..Options::default()
    })
    .await;
    let first = env.get(&format!("{APP}?page_size=30")).await.json();
    assert_eq!(key_ids(&first).len(), 30);
    assert_eq!(first["total_size"], 35);
    let token = first["next_page_token"].as_str().expect("token");
    assert!(!token.is_empty());
    let second = env
        .get(&format!("{APP}?page_size=30&page_token={token}"))
        .await
        .json();
    assert_eq!(key_ids(&second), ["c30", "c31", "c32", "c33", "c34"]);
    assert_eq!(second["next_page_token"], "");
    assert!(!second["prev_page_token"].as_str().expect("prev").is_empty());
    // Default page size 10.
    assert_eq!(key_ids(&env.get(APP).await.json()).len(), 10);
    // provider: the provider key, any case.
    let slack = env
        .get(&format!("{APP}?provider=slack&page_size=30"))
        .await
        .json();
    assert_eq!(
        key_ids(&slack),
        ["c00", "c05", "c10", "c15", "c20", "c25", "c30"]
    );
    assert_eq!(slack["total_size"], 7);
    let none = env.get(&format!("{APP}?provider=NOTION")).await.json();
    assert_eq!(none["connections"], json!([]));
    for bad in [
        "page_size=31",
        "page_size=-1",
        "page_size=abc",
        "page_token=forged",
        "pageSize=5",
        "connector=gmail",
        "provider=a&provider=b",
    ] {
        assert_bad_request(&env.get(&format!("{APP}?{bad}")).await);
    }
    assert_bad_request(
        &env.get(&format!("{APP}?provider={}", "p".repeat(101)))
            .await,
    );
    let resp = client().get(env.url(APP)).send().await.expect("send");
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(env.post(APP, &json!({})).await.status, 405);
}

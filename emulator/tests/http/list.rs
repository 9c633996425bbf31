//! `GET /api/v1/connected_accounts` (filters, pagination) and `:search`.

use scalekit_emulator::SeedAccount;
use serde_json::Value;

use crate::common::{Env, assert_grpc_error, assert_key_order, query, seed};

const LIST: &str = "/api/v1/connected_accounts";

fn identifiers(body: &Value) -> Vec<String> {
    body["connected_accounts"]
        .as_array()
        .expect("connected_accounts")
        .iter()
        .map(|a| a["identifier"].as_str().expect("identifier").to_owned())
        .collect()
}

#[tokio::test]
async fn pages_through_every_account_in_creation_order() {
    let env = Env::start().await;
    let seeded: Vec<String> = (0..25).map(|i| format!("user_{i:02}")).collect();
    for (i, identifier) in seeded.iter().enumerate() {
        let connector = if i % 2 == 0 { "gmail_a" } else { "slack_b" };
        env.emu.seed(seed(connector, identifier));
    }
    let first = env.get(&format!("{LIST}?page_size=10")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_key_order(
        &first.text,
        &[
            "connected_accounts",
            "total_size",
            "next_page_token",
            "prev_page_token",
        ],
    );
    let body = first.json();
    assert_eq!(body["total_size"], 25);
    assert_eq!(body["prev_page_token"], "");
    let item = &body["connected_accounts"][0];
    assert!(item.get("authorization_details").is_none());
    assert!(item.get("api_config").is_none());
    assert!(!first.text.contains("ya29"));

    let mut seen = identifiers(&body);
    let mut token = body["next_page_token"].as_str().expect("token").to_owned();
    let mut pages = 1;
    while !token.is_empty() {
        let reply = env
            .get(&format!(
                "{LIST}?{}",
                query(&[("page_size", "10"), ("page_token", &token)])
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["total_size"], 25);
        assert_ne!(body["prev_page_token"], "");
        seen.extend(identifiers(&body));
        token = body["next_page_token"].as_str().expect("token").to_owned();
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, seeded);

    // Default page size is 10, for absent and 0 alike.
    for path in [LIST.to_owned(), format!("{LIST}?page_size=0")] {
        let body = env.get(&path).await.json();
        assert_eq!(identifiers(&body).len(), 10);
    }
    // prev_page_token leads back.
    let second_token = env.get(&format!("{LIST}?page_size=10")).await.json()["next_page_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let second = env
        .get(&format!(
            "{LIST}?{}",
            query(&[("page_size", "10"), ("page_token", &second_token)])
        ))
        .await
        .json();
    let prev = second["prev_page_token"].as_str().expect("prev");
    let back = env
        .get(&format!(
            "{LIST}?{}",
            query(&[("page_size", "10"), ("page_token", prev)])
        ))
        .await
        .json();
    assert_eq!(identifiers(&back), seeded[..10]);
}

#[tokio::test]
async fn filters() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_a", "alice"));
    env.emu.seed(seed("gmail_a", "bob"));
    env.emu.seed(seed("slack_b", "alice"));
    env.emu.seed(SeedAccount {
        provider: Some("NOTION".into()),
        ..seed("wiki", "carol")
    });
    let ids = |path: String| {
        let env = &env;
        async move {
            let reply = env.get(&path).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
            let body = reply.json();
            assert_eq!(
                body["total_size"].as_u64().map(usize::try_from),
                Some(Ok(identifiers(&body).len()))
            );
            identifiers(&body)
        }
    };
    assert_eq!(
        ids(format!("{LIST}?connector=gmail_a")).await,
        ["alice", "bob"]
    );
    assert_eq!(
        ids(format!("{LIST}?identifier=alice")).await,
        ["alice", "alice"]
    );
    assert_eq!(ids(format!("{LIST}?provider=notion")).await, ["carol"]);
    // Case-insensitive substring of the connector (slack_b) or the identifier.
    assert_eq!(ids(format!("{LIST}?query=LAC")).await, ["alice"]);
    assert_eq!(ids(format!("{LIST}?query=bo")).await, ["bob"]);
    assert_eq!(
        ids(format!(
            "{LIST}?connection_names=slack_b&connection_names=wiki"
        ))
        .await,
        ["alice", "carol"]
    );
    assert!(
        ids(format!("{LIST}?is_org_wide_credential=true"))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(format!("{LIST}?is_org_wide_credential=false"))
            .await
            .len(),
        4
    );
    assert!(
        ids(format!("{LIST}?organization_id=org_1"))
            .await
            .is_empty()
    );
    assert!(ids(format!("{LIST}?connector=none")).await.is_empty());
    let empty = env.get(&format!("{LIST}?connector=none")).await.json();
    assert_eq!(
        empty,
        serde_json::json!({"connected_accounts": [], "total_size": 0, "next_page_token": "", "prev_page_token": ""})
    );
}

#[tokio::test]
async fn list_validation() {
    let env = Env::start().await;
    let reply = env
        .get(&format!(
            "{LIST}?connector=gmail_a&connection_names=slack_b"
        ))
        .await;
    assert_grpc_error(&reply, 400, 3, Some("BAD_REQUEST"));
    assert_eq!(
        reply.json()["message"],
        "connector and connection_names are mutually exclusive — provide only one"
    );
    let too_many: String = (0..21)
        .map(|i| format!("connection_names=c{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let long_token = "t".repeat(101);
    for path in [
        format!("{LIST}?page_size=100"),
        format!("{LIST}?page_token=not-issued"),
        format!("{LIST}?page_token={long_token}"),
        format!("{LIST}?{too_many}"),
        format!("{LIST}?connection_names="),
        format!("{LIST}?connection_names=bad%2Fname"),
        format!("{LIST}?query={}", "q".repeat(101)),
        format!("{LIST}?connector=bad%21"),
    ] {
        assert_grpc_error(&env.get(&path).await, 400, 3, Some("BAD_REQUEST"));
    }
    assert_eq!(env.get(&format!("{LIST}?page_size=99")).await.status, 200);
    for path in [
        format!("{LIST}?page_size=ten"),
        format!("{LIST}?page_size=-1"),
        format!("{LIST}?pageSize=5"),
        format!("{LIST}?connectionNames=x"),
        format!("{LIST}?is_org_wide_credential=maybe"),
        format!("{LIST}?page_size=1&page_size=2"),
    ] {
        assert_grpc_error(&env.get(&path).await, 400, 3, None);
    }
}

#[tokio::test]
async fn search() {
    let env = Env::start().await;
    env.emu.seed(seed("gmail_a", "alice"));
    env.emu.seed(seed("slack_b", "bob"));
    let reply = env
        .get("/api/v1/connected_accounts:search?query=GMAIL")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(identifiers(&reply.json()), ["alice"]);
    let conn = env.emu.account("slack_b", "bob").expect("account")["connection_id"]
        .as_str()
        .expect("connection_id")
        .to_owned();
    let reply = env
        .get(&format!(
            "/api/v1/connected_accounts:search?query=bob&connection_id={conn}"
        ))
        .await;
    assert_eq!(identifiers(&reply.json()), ["bob"]);
    for path in [
        "/api/v1/connected_accounts:search?query=ab",
        "/api/v1/connected_accounts:search?query=alice&page_size=31",
    ] {
        assert_grpc_error(&env.get(path).await, 400, 3, Some("BAD_REQUEST"));
    }
}

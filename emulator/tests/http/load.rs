//! Many parallel requests on many connections.

use tokio::task::JoinSet;

use crate::common::{Env, api_token, client, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_requests() {
    let env = Env::start().await;
    for i in 0..25 {
        env.emu.seed(seed("gmail_load", &format!("user_{i}")));
    }
    let base = env.emu.url();
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let base = base.clone();
        let token = env.token.clone();
        tasks.spawn(async move {
            // A client per task: up to 50 connections at once.
            let http = client();
            if i % 2 == 0 {
                let fresh = api_token(&http, &base).await;
                assert!(!fresh.is_empty());
                None
            } else {
                let identifier = format!("user_{}", i / 2);
                let resp = http
                    .get(format!(
                        "{base}/api/v1/connected_accounts/auth?connector=gmail_load&identifier={identifier}"
                    ))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(resp.status().as_u16(), 200);
                let body: serde_json::Value = resp.json().await.expect("json");
                assert_eq!(body["connected_account"]["identifier"], identifier.as_str());
                Some(identifier)
            }
        });
    }
    let mut answered = 0;
    while let Some(result) = tasks.join_next().await {
        result.expect("task");
        answered += 1;
    }
    assert_eq!(answered, 50);
    let log = env.emu.requests();
    assert_eq!(log.len(), 50);
    assert!(log.iter().all(|r| r.status == 200));
    let mut connections: Vec<u64> = log.iter().map(|r| r.connection).collect();
    connections.sort_unstable();
    connections.dedup();
    assert_eq!(connections.len(), 50);
}

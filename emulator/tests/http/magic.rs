//! Magic links: minting, the consent page, Allow/Deny, expiry, reuse, verification.

use std::time::Duration;

use serde_json::json;

use crate::common::{
    Env, Reply, assert_grpc_error, is_timestamp, parse_time, seed, seed_with_status,
};

const MAGIC: &str = "/api/v1/connected_accounts/magic_link";

async fn decide(env: &Env, link: &str, decision: &str) -> Reply {
    let resp = env
        .http
        .post(link)
        .form(&[("decision", decision)])
        .send()
        .await
        .expect("POST page");
    Reply::from(resp).await
}

async fn open(env: &Env, link: &str) -> Reply {
    Reply::from(env.http.get(link).send().await.expect("GET page")).await
}

#[tokio::test]
async fn mints_links() {
    let env = Env::start().await;
    let id = env
        .emu
        .seed(seed_with_status("gmail_u3134a", "mess", "PENDING_AUTH"));
    let reply = env
        .post(
            MAGIC,
            &json!({"connector": "gmail_u3134a", "identifier": "mess"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("grpc-metadata-content-type"),
        Some("application/grpc")
    );
    let body = reply.json();
    let link = body["link"].as_str().expect("link");
    let uuid = link
        .strip_prefix(&format!("{}/magicLink/", env.emu.url()))
        .expect("link under /magicLink/");
    let parsed = uuid::Uuid::parse_str(uuid).expect("uuid");
    assert_eq!(parsed.get_version_num(), 4);
    let expiry = body["expiry"].as_str().expect("expiry");
    assert!(is_timestamp(expiry));
    let lifetime = parse_time(expiry) - time::OffsetDateTime::now_utc();
    assert!((55..=60).contains(&lifetime.whole_seconds()), "{lifetime}");

    // By id, with the optional fields.
    let reply = env
        .post(
            MAGIC,
            &json!({"id": id, "state": "s", "user_verify_url": "https://app.example/verify",
                    "organization_id": "", "user_id": ""}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let links = env.emu.magic_links();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].link, link);
    assert_eq!(links[0].connector, "gmail_u3134a");
    assert_eq!(links[0].identifier, "mess");
    assert!(!links[0].used);

    // Errors.
    let missing = env
        .post(
            MAGIC,
            &json!({"connector": "gmail_u3134a", "identifier": "nobody"}),
        )
        .await;
    assert_grpc_error(&missing, 404, 5, Some("NOT_FOUND"));
    for body in [
        json!({"connector": "gmail_u3134a"}),
        json!({"connector": "gmail_u3134a", "identifier": "mess", "state": "s".repeat(513)}),
        json!({"connector": "gmail_u3134a", "identifier": "mess", "user_verify_url": "ftp://x"}),
        json!({"connector": "gmail_u3134a", "identifier": "mess", "user_verify_url": format!("https://{}", "x".repeat(2048))}),
    ] {
        assert_grpc_error(&env.post(MAGIC, &body).await, 400, 3, Some("BAD_REQUEST"));
    }
    let unknown = env
        .post(
            MAGIC,
            &json!({"connector": "gmail_u3134a", "identifier": "mess", "redirect": "x"}),
        )
        .await;
    assert_grpc_error(&unknown, 400, 3, None);
}

#[tokio::test]
async fn consent_page_allow_activates_once() {
    let env = Env::start().await;
    env.emu.seed(seed_with_status(
        "gmail_u3134a",
        "<b>mess</b>",
        "PENDING_AUTH",
    ));
    let link = env.magic_link("gmail_u3134a", "<b>mess</b>").await;

    let page = open(&env, &link).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.text.contains("gmail_u3134a"));
    assert!(page.text.contains("&lt;b&gt;mess&lt;/b&gt;"));
    assert!(!page.text.contains("<b>mess</b>"));
    assert!(page.text.contains("name=\"decision\" value=\"allow\""));
    assert!(page.text.contains("name=\"decision\" value=\"deny\""));
    let path = link.trim_start_matches(&env.emu.url());
    assert!(page.text.contains(&format!("action=\"{path}\"")));
    // Opening the page is not logged and does not use the link.
    assert!(
        env.emu
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/magicLink/"))
    );
    assert!(!env.emu.magic_links()[0].used);

    let done = decide(&env, &link, "allow").await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("you can close this window"));
    let account = env
        .emu
        .account("gmail_u3134a", "<b>mess</b>")
        .expect("account");
    assert_eq!(account["status"], "ACTIVE");
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
    assert!(!token["scopes"].as_array().expect("scopes").is_empty());
    let expires = parse_time(account["token_expires_at"].as_str().expect("expiry"))
        - time::OffsetDateTime::now_utc();
    assert!((3590..=3600).contains(&expires.whole_seconds()));
    assert!(env.emu.magic_links()[0].used);

    // Single use.
    assert_eq!(open(&env, &link).await.status, 410);
    assert_eq!(decide(&env, &link, "allow").await.status, 410);
    assert!(!env.emu.approve_link(&link));
}

#[tokio::test]
async fn deny_leaves_the_account_alone() {
    let env = Env::start().await;
    env.emu
        .seed(seed_with_status("gmail_x", "me", "PENDING_AUTH"));
    let link = env.magic_link("gmail_x", "me").await;
    let before = env.emu.account("gmail_x", "me").expect("account");
    let page = decide(&env, &link, "deny").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("denied"));
    let after = env.emu.account("gmail_x", "me").expect("account");
    assert_eq!(after["status"], "PENDING_AUTH");
    assert_eq!(
        after["authorization_details"], before["authorization_details"],
        "credentials unchanged"
    );
    // The attempt is recorded: updated_at moves, so a client can tell the link was used.
    assert_ne!(after["updated_at"], before["updated_at"]);
    // The Rust API's Deny does the same.
    let second = env.magic_link("gmail_x", "me").await;
    assert!(env.emu.deny_link(&second));
    assert!(!env.emu.deny_link(&second), "a used link");
    assert_eq!(
        env.emu.account("gmail_x", "me").expect("account")["status"],
        "PENDING_AUTH"
    );
    assert_eq!(open(&env, &link).await.status, 410);
    // A decision other than allow/deny is refused without using the link.
    let other = env.magic_link("gmail_x", "me").await;
    assert_eq!(decide(&env, &other, "maybe").await.status, 400);
    assert_eq!(open(&env, &other).await.status, 200);
}

#[tokio::test]
async fn expired_unknown_and_orphaned_links() {
    let env = Env::start().await;
    env.emu
        .seed(seed_with_status("gmail_x", "me", "PENDING_AUTH"));
    env.emu.set_link_ttl(Duration::from_millis(1));
    let link = env.magic_link("gmail_x", "me").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let page = open(&env, &link).await;
    assert_eq!(page.status, 410);
    assert!(page.text.contains("expired"));
    assert_eq!(decide(&env, &link, "allow").await.status, 410);
    assert!(!env.emu.approve_link(&link));

    let unknown = open(
        &env,
        &format!("{}/magicLink/{}", env.emu.url(), uuid::Uuid::new_v4()),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.header("content-type"),
        Some("text/html; charset=utf-8")
    );

    env.emu.set_link_ttl(Duration::from_secs(60));
    let link = env.magic_link("gmail_x", "me").await;
    env.emu.seed(seed("gmail_x", "me")); // replacing keeps the id: link still valid
    assert_eq!(open(&env, &link).await.status, 200);
    let deleted = env
        .post(
            "/api/v1/connected_accounts:delete",
            &json!({"connector": "gmail_x", "identifier": "me"}),
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(open(&env, &link).await.status, 404);
}

#[tokio::test]
async fn verification_mode() {
    let env = Env::start().await;
    env.emu
        .seed(seed_with_status("gmail_x", "me", "PENDING_AUTH"));
    env.emu.set_verification_mode(true);

    // Without user_verify_url: the page says so and shows the auth_request_id.
    let link = env.magic_link("gmail_x", "me").await;
    let page = decide(&env, &link, "allow").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("PENDING_VERIFICATION"));
    let account = env.auth("gmail_x", "me").await.json()["connected_account"].clone();
    assert_eq!(account["status"], "PENDING_VERIFICATION");
    assert_eq!(
        account["authorization_details"]["oauth_token"]["access_token"],
        ""
    );

    // With user_verify_url: a redirect carrying auth_request_id and state.
    let reply = env
        .post(
            MAGIC,
            &json!({"connector": "gmail_x", "identifier": "me", "state": "st 1",
                    "user_verify_url": "https://app.example/verify?x=1"}),
        )
        .await;
    let link = reply.json()["link"].as_str().expect("link").to_owned();
    let no_redirects = crate::common::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirects
        .post(&link)
        .form(&[("decision", "allow")])
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    assert!(location.starts_with("https://app.example/verify?x=1&auth_request_id="));
    assert!(location.ends_with("&state=st+1"));
    let auth_request_id = location
        .split("auth_request_id=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("auth_request_id");

    let verify = "/api/v1/connected_accounts/user/verify";
    let wrong = env
        .post(
            verify,
            &json!({"auth_request_id": auth_request_id, "identifier": "other"}),
        )
        .await;
    assert_grpc_error(&wrong, 403, 7, Some("PERMISSION_DENIED"));
    let unknown = env
        .post(
            verify,
            &json!({"auth_request_id": "nope", "identifier": "me"}),
        )
        .await;
    assert_grpc_error(&unknown, 404, 5, Some("NOT_FOUND"));
    let ok = env
        .post(
            verify,
            &json!({"auth_request_id": auth_request_id, "identifier": "me"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.json()["post_user_verify_redirect_url"].is_string());
    let account = env.emu.account("gmail_x", "me").expect("account");
    assert_eq!(account["status"], "ACTIVE");
    assert!(
        account["authorization_details"]["oauth_token"]["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("ya29.emu."))
    );

    // approve_link goes through verification mode too; activate() bypasses it.
    env.emu.set_status("gmail_x", "me", "PENDING_AUTH");
    let link = env.magic_link("gmail_x", "me").await;
    assert!(env.emu.approve_link(&link));
    assert_eq!(
        env.emu.account("gmail_x", "me").expect("account")["status"],
        "PENDING_VERIFICATION"
    );
    assert!(env.emu.activate("gmail_x", "me"));
    assert_eq!(
        env.emu.account("gmail_x", "me").expect("account")["status"],
        "ACTIVE"
    );
}

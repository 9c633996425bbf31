//! Property tests of the decoding of Scalekit's answers: arbitrary bytes and arbitrary JSON
//! (built around the real field names) never panic, neither in decoding nor in what the
//! commands do with a decoded account; decode errors never quote the body; `Debug` of a
//! decoded answer never shows a credential.
//!
//! CI runs a few cases per property; `PROPTEST_CASES=100000 cargo test --bin scalekit-auth
//! proptests` runs a long session (see SECURITY.md).

use proptest::prelude::*;
use reqwest::Method;
use serde_json::Value;

use super::decode::decode;
use super::types::{
    AccountEnvelope, GrpcError, ListPage, MagicLink, OAuthError, TokenResponse, format_timestamp,
    parse_timestamp,
};
use crate::flows::authorization::{human_duration, until};
use crate::flows::context::Target;
use crate::flows::credentials::credential;

/// `PROPTEST_CASES` when set, else a count small enough for every CI run.
fn cases() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 128;
    }
    config
}

/// Every field name of the answers, plus some strangers.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "connected_account", "connected_accounts", "next_page_token", "prev_page_token",
            "total_size", "identifier", "provider", "status", "authorization_type",
            "authorization_details", "oauth_token", "static_auth", "details", "access_token",
            "refresh_token", "scopes", "domain", "token_expires_at", "updated_at", "last_used_at",
            "connector", "id", "connection_id", "is_org_wide_credential", "api_config", "link",
            "expiry", "code", "message", "error", "error_code", "error_description",
            "expires_in", "token_type", "api_key", "token", "username", "password",
        ]).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// Strings a server might send: enum names, timestamps at and past the edges, and anything.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "", "ACTIVE", "PENDING_AUTH", "PENDING_VERIFICATION", "EXPIRED", "DISCONNECTED",
            "CONNECTION_STATUS_UNSPECIFIED", "OAUTH", "API_KEY", "BASIC_AUTH",
            "2026-03-01T11:59:57.237447Z", "2024-06-19T11:11:58.823707848Z",
            "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z",
            "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59.999999999-01:00",
            "0000-01-01T00:00:00+23:59", "2024-02-30T00:00:00Z", "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:60Z", "yesterday", "https://x.scalekit.dev/magicLink/1",
        ]).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A top-level answer: mostly an object shaped like one of Scalekit's.
fn answer() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => json(),
        3 => prop::collection::btree_map(key(), json(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        3 => prop::collection::btree_map(key(), json(), 0..10).prop_map(|m| {
            serde_json::json!({"connected_account": Value::Object(m.into_iter().collect())})
        }),
        1 => prop::collection::vec(
            prop::collection::btree_map(key(), json(), 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            0..4,
        )
        .prop_map(|accounts| serde_json::json!({"connected_accounts": accounts})),
    ]
}

/// Body bytes: the JSON as sent, cut short, with a byte changed, or arbitrary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => answer().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => (answer(), any::<prop::sample::Index>()).prop_map(|(v, at)| {
            let bytes = serde_json::to_vec(&v).unwrap();
            let cut = at.index(bytes.len() + 1);
            bytes[..cut].to_vec()
        }),
        1 => (answer(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, at, b)| {
            let mut bytes = serde_json::to_vec(&v).unwrap();
            let i = at.index(bytes.len());
            bytes[i] = b;
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..128),
    ]
}

/// Decodes into `T`; an error must be short and must not quote the body.
fn check<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    match decode::<T>(&Method::GET, "/p", body) {
        Ok(value) => Some(value),
        Err(err) => {
            let text = err.to_string();
            assert!(text.len() < 200, "{text}");
            // Every message is ours: the category and the position, never the content.
            let detail = text.rsplit_once("/p: ").map_or("", |(_, d)| d);
            assert!(
                detail == "empty body"
                    || detail == "not UTF-8 text"
                    || detail.starts_with("unexpected JSON types")
                    || detail.starts_with("not valid JSON at line ")
                    || detail.starts_with("truncated JSON at line "),
                "{text}"
            );
            None
        }
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn answers_never_panic_and_errors_never_quote_them(body in body()) {
        if let Some(envelope) = check::<AccountEnvelope>(&body) {
            let _ = format!("{envelope:?}");
            if let Some(account) = envelope.connected_account {
                // What `token`, `status` and `list` do with an account.
                let target = Target {
                    service: "s".into(),
                    connection_name: "c".into(),
                    identifier: "i".into(),
                };
                let _ = credential(target, &account);
                for t in [account.token_expires_at, account.updated_at, account.last_used_at]
                    .into_iter()
                    .flatten()
                {
                    let _ = format_timestamp(t);
                    let _ = human_duration(until(t));
                }
            }
        }
        if let Some(page) = check::<ListPage>(&body) {
            for account in &page.connected_accounts {
                let _ = account.token_expires_at.map(format_timestamp);
            }
        }
        if let Some(expiry) = check::<MagicLink>(&body).and_then(|link| link.expiry) {
            let _ = format_timestamp(expiry);
            let _ = human_duration(until(expiry));
        }
        let _ = check::<TokenResponse>(&body);
        // The lenient error bodies are read with plain serde: they must not panic either.
        let _ = serde_json::from_slice::<GrpcError>(&body).map(|e| e.error_code());
        let _ = serde_json::from_slice::<OAuthError>(&body);
    }

    #[test]
    fn timestamps_never_panic(s in text()) {
        if let Some(t) = parse_timestamp(&s) {
            let formatted = format_timestamp(t);
            prop_assert!(formatted.ends_with('Z') || formatted.is_empty(), "{}", formatted);
            let _ = human_duration(until(t));
        }
    }

    #[test]
    fn debug_never_shows_a_credential(
        access in "[a-z]{4}", refresh in "[a-z]{4}", key in "[a-z]{4}", status in text(),
    ) {
        let (access, refresh, key) =
            (format!("AT{access}SECRET"), format!("RT{refresh}SECRET"), format!("K{key}SECRET"));
        let body = serde_json::json!({"connected_account": {
            "status": status,
            "authorization_details": {
                "oauth_token": {"access_token": access, "refresh_token": refresh, "scopes": ["a"]},
                "static_auth": {"details": {"api_key": key, "password": key, "nested": {"k": key}}},
            },
        }});
        let envelope: AccountEnvelope = serde_json::from_value(body).unwrap();
        let shown = format!("{envelope:?} {envelope:#?}");
        prop_assert!(!shown.contains("SECRET"), "{}", shown);
        let token: TokenResponse =
            serde_json::from_value(serde_json::json!({"access_token": access})).unwrap();
        let shown = format!("{token:?}");
        prop_assert!(!shown.contains("SECRET"), "{}", shown);
    }
}

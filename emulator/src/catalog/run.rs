//! What each tool returns: deterministic data made from the connected account
//! (connection name, identifier) and the params, so a test can predict it.

use serde_json::{Map, Value, json};

use super::Caller;
use crate::rules::stable_hash;

/// A param as text, or `default`.
fn text<'a>(params: &'a Map<String, Value>, key: &str, default: &'a str) -> &'a str {
    params.get(key).and_then(Value::as_str).unwrap_or(default)
}

/// A param as a count in `1..=max`, or `default`.
fn count(params: &Map<String, Value>, key: &str, default: u64, max: u64) -> u64 {
    params
        .get(key)
        .and_then(Value::as_u64)
        .map_or(default, |n| n.clamp(1, max))
}

/// A short stable hex id from the caller and some text.
fn short_id(caller: &Caller<'_>, salt: &str) -> String {
    format!(
        "{:016x}",
        stable_hash(&[caller.connector, caller.identifier, salt])
    )
}

/// The canonical JSON text of the params (object keys sorted), for hashing.
fn params_key(params: &Map<String, Value>) -> String {
    Value::Object(params.clone()).to_string()
}

/// Runs a tool by name. The params were already checked against its schema.
pub(super) fn run(name: &str, caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    match name {
        "gmail_fetch_mails" => gmail_fetch_mails(caller, params),
        "gmail_get_message" => gmail_get_message(caller, params),
        "gmail_send_email" => gmail_send_email(caller, params),
        "slack_send_message" => slack_send_message(caller, params),
        "slack_list_channels" => slack_list_channels(caller, params),
        "github_create_issue" => github_create_issue(caller, params),
        "github_list_repos" => github_list_repos(caller, params),
        "notion_page_get" => notion_page_get(caller, params),
        "notion_page_create" => notion_page_create(caller, params),
        "notion_search" => notion_search(caller, params),
        _ => json!({}),
    }
}

const SUBJECTS: &[&str] = &[
    "Weekly report",
    "Invoice due",
    "Lunch on Friday?",
    "Your build passed",
    "Meeting notes",
];

fn gmail_fetch_mails(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let query = text(params, "query", "");
    let n = count(params, "max_results", 10, 100).min(3);
    let messages: Vec<Value> = (0..n)
        .map(|i| {
            let id = short_id(caller, &format!("mail:{query}:{i}"));
            let pick = usize::from(stable_hash(&[&id]).to_le_bytes()[0]) % SUBJECTS.len();
            let subject = SUBJECTS[pick];
            json!({
                "id": id,
                "thread_id": format!("t{}", &id[..12]),
                "from": format!("sender{i}@example.com"),
                "to": caller.identifier,
                "subject": format!("{subject} #{}", i + 1),
                "snippet": format!("Message {} for {} matching {query:?}", i + 1, caller.identifier),
                "label_ids": ["INBOX", "UNREAD"],
                "internal_date": format!("{}", 1_764_547_200_000_u64 + i * 60_000),
            })
        })
        .collect();
    json!({"messages": messages, "result_size_estimate": n, "next_page_token": ""})
}

fn gmail_get_message(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let id = text(params, "message_id", "");
    json!({
        "id": id,
        "thread_id": format!("t{}", short_id(caller, id)),
        "from": "sender0@example.com",
        "to": caller.identifier,
        "subject": "Weekly report #1",
        "body": format!("Hello {}, this is message {id}.", caller.identifier),
        "label_ids": ["INBOX"],
        "format": text(params, "format", "full"),
    })
}

fn gmail_send_email(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let id = short_id(caller, &params_key(params));
    json!({
        "id": id,
        "thread_id": format!("t{}", &id[..12]),
        "label_ids": ["SENT"],
        "from": caller.identifier,
        "to": params.get("to").cloned().unwrap_or(Value::Array(Vec::new())),
        "subject": text(params, "subject", ""),
    })
}

fn slack_user(caller: &Caller<'_>) -> String {
    format!("U{}", &short_id(caller, "user")[..10]).to_uppercase()
}

fn slack_send_message(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let hash = stable_hash(&[caller.connector, caller.identifier, &params_key(params)]);
    let ts = format!("{}.{:06}", 1_764_547_200 + hash % 86_400, hash % 1_000_000);
    json!({
        "ok": true,
        "channel": text(params, "channel", ""),
        "ts": ts,
        "message": {
            "type": "message",
            "user": slack_user(caller),
            "text": text(params, "text", ""),
            "thread_ts": params.get("thread_ts").cloned().unwrap_or(Value::Null),
        },
    })
}

fn slack_list_channels(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let limit = count(params, "limit", 100, 1000);
    let channels: Vec<Value> = ["general", "random", "engineering"]
        .iter()
        .take(usize::try_from(limit).unwrap_or(3))
        .enumerate()
        .map(|(i, name)| {
            json!({
                "id": format!("C{}", &short_id(caller, name)[..10]).to_uppercase(),
                "name": name,
                "is_private": false,
                "is_archived": false,
                "num_members": 3 + i * 4,
            })
        })
        .collect();
    json!({"ok": true, "channels": channels, "response_metadata": {"next_cursor": ""}})
}

fn github_create_issue(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let owner = text(params, "owner", "");
    let repo = text(params, "repo", "");
    let number = 1 + stable_hash(&[caller.connector, caller.identifier, &params_key(params)]) % 999;
    json!({
        "number": number,
        "title": text(params, "title", ""),
        "state": "open",
        "html_url": format!("https://github.com/{owner}/{repo}/issues/{number}"),
        "user": {"login": caller.identifier},
        "labels": params.get("labels").cloned().unwrap_or(Value::Array(Vec::new())),
    })
}

fn github_list_repos(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let visibility = text(params, "visibility", "all");
    let n = count(params, "per_page", 30, 100).min(3);
    let repos: Vec<Value> = (0..n)
        .map(|i| {
            let private = visibility == "private" || (visibility == "all" && i == 2);
            json!({
                "id": stable_hash(&[caller.identifier, &i.to_string()]) % 1_000_000_000,
                "full_name": format!("{}/project-{}", caller.identifier, i + 1),
                "private": private,
                "default_branch": "main",
            })
        })
        .collect();
    json!({"repositories": repos, "total_count": n})
}

fn notion_page_get(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let id = text(params, "page_id", "");
    json!({
        "object": "page",
        "id": id,
        "url": format!("https://www.notion.so/{}", id.replace('-', "")),
        "properties": {"title": {"type": "title", "title": [{"plain_text": format!("Page {}", &short_id(caller, id)[..6])}]}},
        "content": format!("Notes kept by {}.", caller.identifier),
    })
}

fn notion_page_create(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let raw = short_id(caller, &params_key(params));
    let id = format!("{raw}{}", &raw[..16]);
    json!({
        "object": "page",
        "id": id,
        "url": format!("https://www.notion.so/{id}"),
        "parent": params.get("parent").cloned().unwrap_or(Value::Null),
        "title": text(params, "title", ""),
    })
}

fn notion_search(caller: &Caller<'_>, params: &Map<String, Value>) -> Value {
    let query = text(params, "query", "");
    let kind = params
        .get("filter")
        .and_then(|f| f.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("page");
    let results: Vec<Value> = (0..2)
        .map(|i| {
            let raw = short_id(caller, &format!("search:{query}:{kind}:{i}"));
            json!({
                "object": kind,
                "id": format!("{raw}{}", &raw[..16]),
                "title": format!("{} {}", if query.is_empty() { "Untitled" } else { query }, i + 1),
            })
        })
        .collect();
    json!({"object": "list", "results": results, "has_more": false, "next_cursor": null})
}

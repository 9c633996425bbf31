//! The `scalekit-emulator` binary: first stdout line, `--seed`, `--verbose`, signals.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::common::{api_token, client};

const BIN: &str = env!("CARGO_BIN_EXE_scalekit-emulator");

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("write temp file");
    path
}

/// Starts the binary and reads its first stdout line; returns the child and URL.
fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("SCALEKIT_EMULATOR_CLIENT_SECRET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the emulator binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the first line");
    let url = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("listening on "))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));
    (child, url)
}

/// Sends SIGTERM to the child (our own process, by its id) and returns its stderr.
fn terminate(mut child: Child) -> (std::process::ExitStatus, String) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).expect("read stderr");
    }
    (status, stderr)
}

#[tokio::test]
async fn serves_seeded_accounts_and_stops_on_sigterm() {
    let seed = temp_file(
        "seed.json",
        r#"{"accounts": [{"connector": "gmail_u3134a", "identifier": "mess"},
                         {"connector": "slack_x7y9z", "identifier": "mess", "status": "PENDING_AUTH"}]}"#,
    );
    let (child, url) = spawn(&[
        "--port",
        "0",
        "--seed",
        seed.to_str().expect("utf-8"),
        "--verbose",
    ]);
    let http = client();
    let token = api_token(&http, &url).await;
    let account = |connector: &'static str| {
        let http = &http;
        let url = &url;
        let token = &token;
        async move {
            let resp = http
                .get(format!(
                    "{url}/api/v1/connected_accounts/auth?connector={connector}&identifier=mess"
                ))
                .bearer_auth(token)
                .send()
                .await
                .expect("send");
            assert_eq!(resp.status().as_u16(), 200);
            let body: serde_json::Value = resp.json().await.expect("json");
            body["connected_account"].clone()
        }
    };
    let gmail = account("gmail_u3134a").await;
    assert_eq!(gmail["status"], "ACTIVE");
    let access = gmail["authorization_details"]["oauth_token"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(account("slack_x7y9z").await["status"], "PENDING_AUTH");

    let (status, stderr) = terminate(child);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("client id skc_emulator"), "{stderr}");
    assert!(stderr.contains("POST /oauth/token 200 "), "{stderr}");
    assert!(
        stderr.contains("GET /api/v1/connected_accounts/auth 200 "),
        "{stderr}"
    );
    assert!(!stderr.contains(&token), "no API token in verbose lines");
    assert!(
        !stderr.contains(&access),
        "no access token in verbose lines"
    );
    assert!(!stderr.contains("emulator-secret\n") && !stderr.contains("identifier=mess"));
    let _ = std::fs::remove_file(seed);
}

#[tokio::test]
async fn array_seed_and_custom_credentials() {
    let seed = temp_file(
        "array.json",
        r#"[{"connector": "notion_a", "identifier": "me", "static_auth": {"token": "secret_1"}}]"#,
    );
    let mut child = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--client-id",
            "skc_mine",
            "--seed",
            seed.to_str().expect("utf-8"),
        ])
        .env("SCALEKIT_EMULATOR_CLIENT_SECRET", "from-env")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("first line")
        .to_owned();
    let resp = client()
        .post(format!("{url}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "skc_mine"),
            ("client_secret", "from-env"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let accounts: serde_json::Value = client()
        .get(format!("{url}/_emulator/accounts"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        accounts["accounts"][0]["authorization_type"],
        "BEARER_TOKEN"
    );
    let (status, _) = terminate(child);
    assert!(status.success());
    let _ = std::fs::remove_file(seed);
}

#[test]
fn bad_seed_files_exit_2() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-seed.json");
    let not_json = temp_file("bad.json", "{nope");
    let wrong_shape = temp_file("shape.json", r#"{"seeds": []}"#);
    let bad_connection = temp_file(
        "connection.json",
        r#"{"connections": [{"key_id": "gmail_a"}, {"key_id": "x", "status": "LIVE"}]}"#,
    );
    let bad_account = temp_file(
        "account.json",
        r#"[{"connector": "ok", "identifier": "me", "status": "LIVE"}]"#,
    );
    for (path, expected) in [
        (&missing, "cannot read seed file"),
        (&not_json, "not valid JSON"),
        (&wrong_shape, "must hold a JSON array"),
        (&bad_account, "account 1: status \"LIVE\""),
        (&bad_connection, "connection 2: status \"LIVE\""),
    ] {
        let output = Command::new(BIN)
            .args(["--port", "0", "--seed", path.to_str().expect("utf-8")])
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2), "{path:?}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "{stderr}"
        );
    }
    for path in [not_json, wrong_shape, bad_account, bad_connection] {
        let _ = std::fs::remove_file(path);
    }
}

#[tokio::test]
async fn example_seed_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/seed.example.json");
    let (child, url) = spawn(&["--port", "0", "--seed", path]);
    let accounts: serde_json::Value = client()
        .get(format!("{url}/_emulator/accounts"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let statuses: Vec<&str> = accounts["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["ACTIVE", "PENDING_AUTH", "EXPIRED", "ACTIVE"]);
    let (status, _) = terminate(child);
    assert!(status.success());
}

#[tokio::test]
async fn seed_file_with_connections() {
    let seed = temp_file(
        "connections.json",
        r#"{"connections": [{"key_id": "gmail_mine", "provider_key": "GMAIL"},
                            {"key_id": "jira_b", "type": "BASIC", "status": "IN_PROGRESS"}]}"#,
    );
    let (child, url) = spawn(&["--port", "0", "--seed", seed.to_str().expect("utf-8")]);
    let http = client();
    let token = api_token(&http, &url).await;
    let body: serde_json::Value = http
        .get(format!("{url}/api/v1/connections/app"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = body["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| c["key_id"].as_str().expect("key_id"))
        .collect();
    assert_eq!(names, ["gmail_mine", "jira_b"]);
    assert_eq!(body["connections"][1]["provider_key"], "JIRA");
    let (status, _) = terminate(child);
    assert!(status.success());
    let _ = std::fs::remove_file(seed);

    // Without "connections", the default set.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/seed.example.json");
    let (child, url) = spawn(&["--port", "0", "--seed", path]);
    let listed: serde_json::Value = http
        .get(format!("{url}/_emulator/connections"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["connections"].as_array().map(Vec::len), Some(6));
    let (status, _) = terminate(child);
    assert!(status.success());
}

#[test]
fn sigterm_right_after_the_listening_line_exits_cleanly() {
    for _ in 0..5 {
        let (child, _) = spawn(&["--port", "0"]);
        let (status, stderr) = terminate(child);
        assert!(status.success(), "{status:?}: {stderr}");
    }
}

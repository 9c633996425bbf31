//! `SKILL.md`, the file an AI agent loads: its front matter (`OpenClaw` format), its exit-code table, and
//! every `sh` code block run with `bash -e` against the emulator, asserting what the text
//! around it promises. Each example is preceded by `<!-- skill-test: NAME -->`, and each NAME
//! has a test here that sets up the world the example needs. `curl` is a silent stub that
//! records its arguments: the examples call real APIs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{Run, World, assert_no_secret, run_command, write};

const SKILL: &str = include_str!("../../SKILL.md");
const MARKER: &str = "<!-- skill-test: ";

/// The named `sh` code blocks, in order. Panics on an example without a marker.
fn examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    let mut lines = SKILL.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix(MARKER) {
            marker = Some(rest.trim_end_matches("-->").trim().to_owned());
        } else if line == "```sh" {
            let name = marker
                .take()
                .unwrap_or_else(|| panic!("a ```sh block in SKILL.md has no {MARKER}NAME -->"));
            let code: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            out.push((name, code.join("\n") + "\n"));
        } else if !line.trim().is_empty() {
            marker = None;
        }
    }
    out
}

fn example(name: &str) -> String {
    examples()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("SKILL.md has no example {name:?}"))
        .1
}

/// Runs `code` with `bash -e` in the world, `curl` stubbed; returns the run and the
/// arguments curl was called with (one per line).
fn run_example(w: &World, code: &str) -> (Run, String) {
    let stubs = w.home.path().join("stubs");
    let curl = stubs.join("curl");
    let log = w.home.path().join("curl.log");
    write(
        &curl,
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> '{}'\n",
            log.display()
        ),
    );
    make_executable(&curl);
    let script = w.home.path().join("example.sh");
    write(&script, code);
    let mut cmd = w.program("bash", &[stubs.as_path()]);
    cmd.args(["--norc", "--noprofile", "-e"]).arg(&script);
    let run = run_command(cmd, "");
    (run, std::fs::read_to_string(&log).unwrap_or_default())
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// gmail and github configured and authorized; returns their tokens.
fn authorized() -> (World, String, String) {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("github", "gh")]);
    let gmail = w.seed_active("gmail_u3134a", "mess");
    let github = w.seed_active("gh", "mess");
    (w, gmail, github)
}

#[test]
fn every_example_has_a_test() {
    let names: Vec<String> = examples().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "tools",
            "request",
            "token",
            "formats",
            "authorization-required",
            "wait",
            "status",
            "migrate"
        ],
        "a new example in SKILL.md needs a test in tests/cli/skill.rs"
    );
}

#[test]
fn front_matter_follows_the_openclaw_format() {
    let front = SKILL
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .expect("YAML front matter between --- lines")
        .0;
    let field = |key: &str| {
        front
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no {key} in the front matter"))
    };
    assert_eq!(field("name"), "scalekit-auth");
    let description = field("description");
    assert!(
        description.starts_with('"') && description.ends_with('"') && description.len() > 40,
        "a quoted one-line description: {description}"
    );
    // OpenClaw reads `metadata` as a single-line JSON object.
    let metadata: serde_json::Value =
        serde_json::from_str(field("metadata")).expect("metadata is one line of JSON");
    assert_eq!(
        metadata["openclaw"]["requires"]["bins"],
        serde_json::json!(["scalekit-auth"])
    );
}

#[test]
fn every_exit_code_says_what_to_do() {
    for code in ["0", "1", "2", "3", "4", "5", "130"] {
        let row = SKILL
            .lines()
            .find(|l| l.starts_with(&format!("| {code} |")))
            .unwrap_or_else(|| panic!("exit code {code} is missing from SKILL.md"));
        assert_eq!(row.matches('|').count(), 4, "{row}");
    }
    assert!(SKILL.contains("--wait"), "exit 4 says to wait");
    assert!(SKILL.contains("init --import connections.json --import .env"));
}

#[test]
fn example_tools_discovers_reads_the_schema_checks_and_runs_once() {
    let (w, gmail, github) = authorized();
    let (run, curl) = run_example(&w, &example("tools"));
    run.assert_code(0);
    assert_eq!(curl, "");
    // Three documents on stdout: the search, the schema, then the tool's data.
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&run.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}:\n{}", run.stdout));
    assert_eq!(docs.len(), 3, "{}", run.stdout);
    assert!(
        docs[0]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "gmail_fetch_mails"),
        "{}",
        docs[0]
    );
    assert_eq!(docs[1]["name"], "gmail_fetch_mails");
    assert!(docs[1]["input_schema"]["properties"]["max_results"].is_object());
    // --dry-run said "valid" and ran nothing: the one execution is the last command's.
    assert!(run.stderr.contains("valid"), "{}", run.stderr);
    let executions = w.emu.executions();
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].params, serde_json::json!({"max_results": 5}));
    assert_eq!(docs[2], executions[0].data);
    assert_no_secret(&format!("{}{}", run.stdout, run.stderr), &[&gmail, &github]);
}

#[test]
fn example_request_goes_through_the_proxy() {
    let (w, gmail, _) = authorized();
    w.emu.set_upstream(Some("/_emulator/echo".into()));
    let (run, curl) = run_example(&w, &example("request"));
    run.assert_code(0);
    assert_eq!(curl, "");
    let echo = run.json();
    assert_eq!(echo["path"], "/gmail/v1/users/me/profile");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {gmail}"));
    assert_eq!(
        w.requests().last().map(String::as_str),
        Some("GET /proxy/gmail/v1/users/me/profile")
    );
}

#[test]
fn the_migration_table_covers_every_mode_of_the_python_script() {
    for flag in [
        "--list-connections",
        "--search-tools",
        "--get-tool",
        "--execute-tool",
        "--tool-input",
        "--identifier",
        "--connection-name",
        "--generate-link",
        "--get-authorization",
        "--proxy-request",
    ] {
        let row = SKILL
            .lines()
            .find(|l| l.starts_with("| `") && l.contains(flag))
            .unwrap_or_else(|| panic!("{flag} is missing from SKILL.md's table"));
        assert_eq!(row.matches(" | ").count(), 1, "{row}");
    }
}

#[test]
fn example_token() {
    let (w, gmail, _) = authorized();
    let (run, curl) = run_example(&w, &example("token"));
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert!(
        curl.contains(&format!("Authorization: Bearer {gmail}\n")),
        "{curl}"
    );
}

#[test]
fn example_formats() {
    let (w, gmail, github) = authorized();
    // The `eval` line promises these two variables.
    let code = format!(
        "{}test \"$GMAIL_ACCESS_TOKEN\" = '{gmail}'\ntest \"$GITHUB_TOKEN\" = '{github}'\n",
        example("formats")
    );
    let (run, curl) = run_example(&w, &code);
    run.assert_code(0);
    assert!(
        curl.contains(&format!("Authorization: Bearer {github}\n")),
        "{curl}"
    );
    let doc = run.json();
    assert_eq!(doc["service"], "gmail");
    assert_eq!(doc["access_token"], gmail.as_str());
    assert!(doc["expires_at"].is_string() && doc["scopes"].is_array());
}

#[test]
fn example_authorization_required() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let (run, _) = run_example(&w, &example("authorization-required"));
    run.assert_code(4);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "authorization_required");
    let link = error["link"].as_str().unwrap();
    assert!(link.starts_with(&w.emu.url()), "{link}");
    assert!(error["link_expires_at"].is_string() && error["hint"].is_string());
    assert!(run.stderr.contains(link), "{}", run.stderr);
}

#[test]
fn example_wait_returns_once_the_user_approves_the_relayed_link() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    // The agent asked first and relayed this link (exit 4).
    w.run(&["token", "gmail", "--json"]).assert_code(4);
    let relayed = w.emu.magic_links()[0].link.clone();
    let (run, curl) = std::thread::scope(|scope| {
        scope.spawn(|| {
            // `--wait` mints its own link; the user opens the one they were sent.
            for _ in 0..400 {
                if w.emu.magic_links().len() >= 2 {
                    assert!(w.emu.approve_link(&relayed));
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("token --wait minted no link");
        });
        run_example(&w, &example("wait"))
    });
    run.assert_code(0);
    let token = w.access_token("gmail_u3134a", "mess");
    assert!(
        curl.contains(&format!("Authorization: Bearer {token}\n")),
        "{curl}"
    );
}

#[test]
fn example_status() {
    let (w, gmail, github) = authorized();
    let (run, _) = run_example(&w, &example("status"));
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["credentials"], "valid");
    let services = doc["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    assert!(services.iter().all(|s| s["status"] == "ACTIVE"), "{doc}");
    assert_no_secret(&run.stdout, &[&gmail, &github]);
}

#[test]
fn example_migrate_imports_the_old_helpers_files() {
    let w = World::new();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples");
    std::fs::copy(
        fixtures.join("connections.json"),
        w.cwd.join("connections.json"),
    )
    .unwrap();
    // The old helper's .env, pointing at the emulator instead of the sample's real Scalekit.
    write(
        &w.cwd.join(".env"),
        &format!(
            "SCALEKIT_CLIENT_ID={}\nSCALEKIT_CLIENT_SECRET={}\nSCALEKIT_ENV_URL={}\n",
            w.emu.client_id(),
            w.emu.client_secret(),
            w.emu.url()
        ),
    );
    let (run, _) = run_example(&w, &example("migrate"));
    run.assert_code(0);
    for expected in ["gmail", "gmail_u3134a", "slack", "slack_x7y9z", "mess"] {
        assert!(run.stdout.contains(expected), "{expected}:\n{}", run.stdout);
    }
    assert_no_secret(
        &format!("{}{}", run.stdout, run.stderr),
        &[&w.emu.client_secret()],
    );
    // The credentials were checked against Scalekit and stored.
    assert!(w.requests().contains(&"POST /oauth/token".to_owned()));
    assert!(w.config_toml().contains(&w.emu.url()));
}

//! `remove`: forget a mapping; `--disconnect` deletes the account in Scalekit first.

use scalekit_emulator::Fault;

use crate::harness::{World, require_tool};

const DELETE: &str = "/api/v1/connected_accounts:delete";

#[test]
fn remove_forgets_the_mapping_without_any_request() {
    let w = World::configured(&[("gmail", "gmail_u3134a"), ("slack", "slack_x7y9z")]);
    w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["remove", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("removed gmail"), "{}", run.stderr);
    assert!(run.stderr.contains("kept"), "{}", run.stderr);
    assert!(!w.config_toml().contains("[services.gmail]"));
    assert!(w.config_toml().contains("[services.slack]"));
    assert!(w.requests().is_empty());
    assert!(
        w.emu.account("gmail_u3134a", "mess").is_some(),
        "Scalekit untouched"
    );
    // Not configured (any more): exit 3.
    let run = w.run(&["remove", "gmail"]);
    run.assert_code(3);
    assert!(run.stderr.contains("unknown service"), "{}", run.stderr);
}

#[test]
fn disconnect_deletes_remotely_first_then_forgets() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["remove", "gmail", "--disconnect", "--yes"]);
    run.assert_code(0);
    assert_eq!(
        w.requests(),
        ["POST /oauth/token", &format!("POST {DELETE}")]
    );
    let body: serde_json::Value = serde_json::from_str(&w.logged()[1].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"connector": "gmail_u3134a", "identifier": "mess"})
    );
    assert!(w.emu.account("gmail_u3134a", "mess").is_none());
    assert!(!w.config_toml().contains("[services.gmail]"));
    assert!(
        run.stderr.contains("deleted gmail's connected account"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("removed gmail from"), "{}", run.stderr);
}

#[test]
fn an_account_already_gone_counts_as_deleted() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = w.run(&["remove", "gmail", "--disconnect", "--yes"]);
    run.assert_code(0);
    assert!(run.stderr.contains("already gone"), "{}", run.stderr);
    assert!(!w.config_toml().contains("[services.gmail]"));
}

#[test]
fn a_failed_delete_keeps_the_mapping() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.queue_fault(Fault {
        path: DELETE.into(),
        count: 1,
        status: Some(500),
        ..Fault::default()
    });
    let run = w.run(&["remove", "gmail", "--disconnect", "--yes"]);
    run.assert_code(1);
    assert!(run.stderr.contains("nothing was removed"), "{}", run.stderr);
    assert!(run.stderr.contains("500"), "{}", run.stderr);
    assert!(w.config_toml().contains("[services.gmail]"));
    assert!(w.emu.account("gmail_u3134a", "mess").is_some());
    w.emu.queue_fault(Fault {
        path: DELETE.into(),
        count: 10,
        status: Some(503),
        ..Fault::default()
    });
    let run = w.run(&["remove", "gmail", "--disconnect", "--yes"]);
    run.assert_code(5);
    assert!(w.config_toml().contains("[services.gmail]"));
}

#[test]
fn disconnect_without_a_terminal_needs_yes() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let run = w.run(&["remove", "gmail", "--disconnect"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(w.requests().is_empty());
    assert!(w.config_toml().contains("[services.gmail]"));
    assert!(w.emu.account("gmail_u3134a", "mess").is_some());
    let run = w.run(&["remove", "notion", "--disconnect", "--yes"]);
    run.assert_code(3);
    assert!(w.requests().is_empty());
}

#[test]
fn identifier_disconnects_one_identity_and_keeps_the_mapping() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.seed_active("gmail_u3134a", "alice@acme.dev");
    let run = w.run(&[
        "remove",
        "gmail",
        "--disconnect",
        "--identifier",
        "alice@acme.dev",
        "--yes",
    ]);
    run.assert_code(0);
    assert!(w.emu.account("gmail_u3134a", "alice@acme.dev").is_none());
    assert!(w.emu.account("gmail_u3134a", "mess").is_some());
    assert!(w.config_toml().contains("[services.gmail]"));
    assert!(run.stderr.contains("kept"), "{}", run.stderr);
    // --identifier only makes sense with --disconnect.
    w.run(&["remove", "gmail", "--identifier", "x"])
        .assert_code(2);
}

#[cfg(target_os = "linux")]
#[test]
fn at_a_terminal_disconnect_asks_first() {
    if !require_tool("script") {
        return;
    }
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    for (key, code) in [(b"n", 1), (b"y", 0)] {
        let mut pty = w.pty(&["remove", "gmail", "--disconnect"]);
        pty.expect("Delete gmail's connected account");
        pty.send(std::str::from_utf8(key).unwrap());
        let (status, screen) = pty.finish();
        assert_eq!(status, code, "{screen}");
        let gone = w.emu.account("gmail_u3134a", "mess").is_none();
        assert_eq!(gone, code == 0, "{screen}");
        assert_eq!(!w.config_toml().contains("[services.gmail]"), code == 0);
    }
}

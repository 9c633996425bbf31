//! The link block while `authorize` waits: on an 80×24 terminal the link and its expiry stay
//! visible after the QR code; a re-minted link replaces the previous block in place (only on
//! a terminal); a link known to be used (Deny) or expired is never offered again.

use std::time::{Duration, Instant};

use scalekit_emulator::Emulator;

use crate::harness::{World, screen};

/// Waits until the emulator has minted `n` links; returns them.
fn links(emu: &Emulator, n: usize) -> Vec<String> {
    for _ in 0..400 {
        let links = emu.magic_links();
        if links.len() >= n {
            return links.into_iter().map(|l| l.link).collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no link number {n} appeared");
}

#[test]
fn at_80x24_the_link_and_its_expiry_stay_visible_under_the_qr_code() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let pty = w.pty_sized(80, 24, &["authorize", "gmail", "--timeout", "60"]);
    pty.expect("left, Ctrl-C to stop");
    let link = links(&w.emu, 1).remove(0);
    let shown = screen(&pty.output(), 80, 24);
    let visible = &shown.visible;
    assert!(visible.contains(&link), "the link is on screen:\n{visible}");
    assert!(visible.contains("The link expires at"), "{visible}");
    // The whole QR code is on screen too: from the line above it to the link below it.
    assert!(visible.contains("Authorize gmail"), "{visible}");
    let qr_rows = visible
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| "█▀▄ ".contains(c)))
        .count();
    assert!(qr_rows >= 15, "{visible}");
    let rows: Vec<&str> = visible.lines().collect();
    let link_row = rows.iter().position(|l| l.contains(&link)).unwrap();
    let last_qr_row = rows
        .iter()
        .rposition(|l| !l.is_empty() && l.chars().all(|c| "█▀▄ ".contains(c)))
        .unwrap();
    assert!(
        link_row > last_qr_row,
        "the link comes after the QR code:\n{visible}"
    );
    assert!(w.emu.approve_link(&link));
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
}

#[test]
fn a_re_minted_link_replaces_the_previous_block_on_a_terminal() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.set_link_ttl(Duration::from_secs(3));
    let pty = w.pty_sized(80, 24, &["authorize", "gmail", "--timeout", "60"]);
    let all = links(&w.emu, 2);
    pty.expect(&all[1]);
    pty.expect("left, Ctrl-C to stop");
    std::thread::sleep(Duration::from_millis(300));
    let shown = screen(&pty.output(), 80, 24);
    assert!(shown.visible.contains(&all[1]), "{}", shown.visible);
    assert!(
        shown
            .visible
            .contains("The link expired before it was used"),
        "{}",
        shown.visible
    );
    // The first block is gone: not on screen, not in the scrollback, one block in all.
    assert!(
        !shown.everything.contains(&all[0]),
        "the expired link is still shown:\n{}",
        shown.everything
    );
    assert_eq!(
        shown.everything.matches("Authorize gmail").count(),
        1,
        "{}",
        shown.everything
    );
    assert!(w.emu.approve_link(&all[1]));
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
}

#[test]
fn in_a_pipe_a_re_minted_link_is_appended_without_escape_sequences() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.set_link_ttl(Duration::from_secs(2));
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            let all = links(&w.emu, 2);
            assert!(w.emu.approve_link(&all[1]));
        });
        w.run(&["authorize", "gmail", "--timeout", "60"])
    });
    run.assert_code(0);
    let all = links(&w.emu, 2);
    assert!(run.stderr.contains(&all[0]) && run.stderr.contains(&all[1]));
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}

#[test]
fn after_deny_a_fresh_link_is_offered_at_once_and_the_used_one_never_again() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let started = Instant::now();
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            let first = links(&w.emu, 1).remove(0);
            assert!(w.emu.deny_link(&first));
            // A new link comes without waiting for the timeout; approving it ends the wait.
            let second = links(&w.emu, 2).remove(1);
            assert!(w.emu.approve_link(&second));
        });
        w.run(&["authorize", "gmail", "--timeout", "60"])
    });
    run.assert_code(0);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        run.stderr
            .contains("That link was used, but gmail is not authorized"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("gmail authorized"), "{}", run.stderr);
    assert_eq!(w.emu.magic_links().len(), 2);
}

#[test]
fn a_timeout_never_offers_a_used_link() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            let first = links(&w.emu, 1).remove(0);
            assert!(w.emu.deny_link(&first));
        });
        w.run(&["authorize", "gmail", "--timeout", "6", "--json"])
    });
    run.assert_code(4);
    let doc = run.json();
    let all = w.emu.magic_links();
    assert_eq!(all.len(), 2, "the denied link was replaced once");
    assert!(all[0].used && !all[1].used);
    assert_eq!(doc["error"]["link"], all[1].link.as_str(), "{doc}");
}

#[test]
fn force_with_deny_on_an_active_account_is_not_taken_for_approval() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let before = w.seed_active("gmail_u3134a", "mess");
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            let first = links(&w.emu, 1).remove(0);
            assert!(w.emu.deny_link(&first));
            let second = links(&w.emu, 2).remove(1);
            assert!(w.emu.approve_link(&second));
        });
        w.run(&["authorize", "gmail", "--force", "--timeout", "60"])
    });
    run.assert_code(0);
    assert!(run.stderr.contains("That link was used"), "{}", run.stderr);
    assert_ne!(w.access_token("gmail_u3134a", "mess"), before);
}

#[test]
fn with_verbose_request_lines_nothing_is_erased() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.set_link_ttl(Duration::from_secs(2));
    let pty = w.pty_sized(80, 24, &["-v", "authorize", "gmail", "--timeout", "60"]);
    let all = links(&w.emu, 2);
    pty.expect(&all[1]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(w.emu.approve_link(&all[1]));
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(!output.contains("\u{1b}[J"), "no block was erased");
    let shown = screen(&output, 80, 24);
    assert!(shown.everything.contains(&all[0]), "{}", shown.everything);
    assert!(
        shown
            .everything
            .contains("GET /api/v1/connected_accounts/details")
    );
}

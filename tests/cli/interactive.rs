//! Interactive paths, on a pseudo-terminal: prompts, the QR code and spinner on a terminal,
//! inline authorization in `token`, `--open`, and what turns interactivity off.

use std::time::Duration;

use scalekit_emulator::SeedAccount;

use crate::harness::{CLIENT_ID, SECRET, World, require_tool, write};

fn identity(w: &mut World, text: &str) {
    let workspace = w.home.path().join("openclaw");
    write(&workspace.join("IDENTITY.md"), text);
    w.env
        .insert("OPENCLAW_WORKSPACE".into(), workspace.display().to_string());
}

#[test]
fn init_prompts_for_everything_reprompts_on_typos_and_hides_the_secret() {
    if !require_tool("script") {
        return;
    }
    let mut w = World::new();
    identity(
        &mut w,
        include_str!("../fixtures/samples/IDENTITY-inline.md"),
    );
    let mut pty = w.pty(&["init"]);
    pty.expect("Scalekit environment URL");
    // A remote http:// URL is refused; the prompt asks again instead of exiting.
    pty.send("http://scalekit.example.com\r");
    pty.expect("clear text");
    pty.send(&format!("{}\r", w.emu.url()));
    pty.expect("Client ID");
    pty.send(&format!("{CLIENT_ID}\r"));
    pty.expect("Client secret");
    pty.send(&format!("{SECRET}\r"));
    // The default identifier is suggested from IDENTITY.md; Enter accepts it.
    pty.expect("Default identifier");
    pty.expect("mess");
    pty.send("\r");
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("saved"), "{output}");
    assert!(!output.contains(SECRET), "the secret was echoed:\n{output}");
    let toml = w.config_toml();
    assert!(
        toml.contains(&w.emu.url())
            && toml.contains(CLIENT_ID)
            && toml.contains("identifier = \"mess\""),
        "{toml}"
    );
    assert!(
        std::fs::read_to_string(w.path("credentials.toml"))
            .unwrap()
            .contains(SECRET)
    );
}

#[test]
fn ctrl_c_at_the_secret_prompt_exits_130_with_echo_restored() {
    if !require_tool("script") {
        return;
    }
    let w = World::new();
    // The shell survives the Ctrl-C (its trap) to report the exit code and the settings.
    let mut pty = w.pty_shell(r#"trap true INT; stty echo; "$BIN" init; echo "exit=$?"; stty -a"#);
    pty.expect("Scalekit environment URL");
    pty.send(&format!("{}\r", w.emu.url()));
    pty.expect("Client ID");
    pty.send(&format!("{CLIENT_ID}\r"));
    pty.expect("Client secret");
    std::thread::sleep(std::time::Duration::from_millis(200));
    pty.send("\x03");
    let (_, output) = pty.finish();
    assert!(output.contains("exit=130"), "{output}");
    // `stty -a` after the run: echo is on again (" echo", not "-echo").
    let settings = output.split("exit=130").nth(1).unwrap();
    assert!(
        settings.contains(" echo ") && !settings.contains("-echo "),
        "{settings}"
    );
    assert!(!w.config_dir.join("config.toml").exists());
}

#[test]
fn ci_and_no_input_turn_prompts_off_but_false_values_do_not() {
    if !require_tool("script") {
        return;
    }
    let mut w = World::new();
    for (var, value) in [
        ("CI", "true"),
        ("SCALEKIT_AUTH_NO_INPUT", "1"),
        ("CI", "yes"),
    ] {
        w.env.clear();
        w.env.insert(var.into(), value.into());
        let (code, output) = w.pty(&["init"]).finish();
        assert_eq!(code, 2, "{var}={value}: {output}");
        assert!(output.contains("--env-url"), "{var}={value}: {output}");
    }
    let (code, output) = w.pty(&["--no-input", "init"]).finish();
    assert_eq!(code, 2, "{output}");
    for (var, value) in [("CI", "false"), ("CI", "0"), ("SCALEKIT_AUTH_NO_INPUT", "")] {
        w.env.clear();
        w.env.insert(var.into(), value.into());
        let pty = w.pty(&["init"]);
        pty.expect("Scalekit environment URL");
        pty.signal_program("INT");
        let _ = pty.finish();
    }
}

#[test]
fn interactive_token_authorizes_inline_with_qr_and_spinner() {
    if !require_tool("script") {
        return;
    }
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.seed(SeedAccount {
        connector: "gmail_u3134a".into(),
        identifier: "mess".into(),
        status: Some("PENDING_AUTH".into()),
        ..SeedAccount::default()
    });
    let pty = w.pty(&["token", "gmail"]);
    pty.expect("/magicLink/");
    // On a terminal the QR code is drawn by default, and a spinner counts down.
    pty.expect("Scan the QR code with a phone");
    pty.expect("left");
    let output = pty.output();
    assert!(output.contains("████"), "{output}");
    let link = w.emu.magic_links()[0].link.clone();
    assert!(w.emu.approve_link(&link));
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    let token = w.access_token("gmail_u3134a", "mess");
    assert!(output.contains(&token), "{output}");
    assert!(output.contains("gmail authorized"), "{output}");
}

#[test]
fn open_uses_the_browser_only_when_interactive_and_not_over_ssh() {
    if !require_tool("script") {
        return;
    }
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    // A fake xdg-open that records what it was asked to open.
    let bin = w.home.path().join("bin");
    let record = w.home.path().join("opened.txt");
    write(
        &bin.join("xdg-open"),
        &format!("#!/bin/sh\necho \"$1\" >> '{}'\n", record.display()),
    );
    std::process::Command::new("chmod")
        .args(["+x", bin.join("xdg-open").to_str().unwrap()])
        .status()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    w.env.insert("PATH".into(), path);

    // Not interactive: never opens.
    w.run(&["authorize", "gmail", "--no-wait", "--open"])
        .assert_code(4);
    assert!(!record.exists());

    // Interactive: opens the link.
    let (code, output) = w
        .pty(&["authorize", "gmail", "--no-wait", "--open", "--no-qr"])
        .finish();
    assert_eq!(code, 4, "{output}");
    std::thread::sleep(Duration::from_millis(200));
    let opened = std::fs::read_to_string(&record).unwrap_or_default();
    let last = w.emu.magic_links().last().unwrap().link.clone();
    assert_eq!(opened.trim(), last, "{output}");

    // Over SSH: says so instead.
    std::fs::remove_file(&record).unwrap();
    w.env
        .insert("SSH_CONNECTION".into(), "10.0.0.1 5000 10.0.0.2 22".into());
    let (code, output) = w
        .pty(&["authorize", "gmail", "--no-wait", "--open", "--no-qr"])
        .finish();
    assert_eq!(code, 4, "{output}");
    assert!(output.contains("SSH"), "{output}");
    assert!(!record.exists());
}

#[test]
fn color_follows_the_terminal_no_color_and_the_flag() {
    if !require_tool("script") {
        return;
    }
    let mut w = World::configured(&[]);
    // Not a terminal: no escape codes.
    let run = w.run(&["config", "nope"]);
    run.assert_code(3);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    // --color always beats NO_COLOR (set by the harness).
    let run = w.run(&["--color", "always", "config", "nope"]);
    assert!(run.stderr.contains("\u{1b}["), "{:?}", run.stderr);
    // A terminal with NO_COLOR: none; without NO_COLOR: colour.
    let (_, output) = w.pty(&["config", "nope"]).finish();
    assert!(!output.contains("\u{1b}[31"), "{output:?}");
    w.env.insert("NO_COLOR".into(), String::new());
    let (_, output) = w.pty(&["config", "nope"]).finish();
    assert!(output.contains("\u{1b}["), "{output:?}");
}

#[test]
fn ctrl_c_at_the_remove_confirmation_exits_130_and_deletes_nothing() {
    if !require_tool("script") {
        return;
    }
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    let mut pty =
        w.pty_shell(r#"trap true INT; "$BIN" remove gmail --disconnect; echo "exit=$?"; stty -a"#);
    pty.expect("Delete gmail's connected account");
    std::thread::sleep(std::time::Duration::from_millis(200));
    pty.send("\x03");
    let (_, output) = pty.finish();
    assert!(output.contains("exit=130"), "{output}");
    let settings = output.split("exit=130").nth(1).unwrap();
    assert!(
        settings.contains(" echo ") && settings.contains(" icanon"),
        "{settings}"
    );
    assert!(w.emu.account("gmail_u3134a", "mess").is_some());
    assert!(w.config_toml().contains("gmail_u3134a"));
}

#[test]
fn init_suggests_user_as_identifier_without_an_identity_file() {
    if !require_tool("script") {
        return;
    }
    let mut w = World::new();
    w.env
        .insert("OPENCLAW_WORKSPACE".into(), "/nonexistent-workspace".into());
    w.env.insert("USER".into(), "alice".into());
    let mut pty = w.pty(&["init"]);
    pty.expect("Scalekit environment URL");
    pty.send(&format!("{}\r", w.emu.url()));
    pty.expect("Client ID");
    pty.send(&format!("{CLIENT_ID}\r"));
    pty.expect("Client secret");
    pty.send(&format!("{SECRET}\r"));
    pty.expect("[alice]");
    pty.send("\r");
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(
        w.config_toml().contains("identifier = \"alice\""),
        "{}",
        w.config_toml()
    );
}

#[test]
fn init_asks_again_after_a_rejected_secret_keeping_the_answers() {
    let w = World::new();
    let mut pty = w.pty(&["init"]);
    pty.expect("Scalekit environment URL");
    pty.send(&format!("{}\r", w.emu.url()));
    pty.expect("Client ID");
    pty.send(&format!("{CLIENT_ID}\r"));
    pty.expect("Client secret");
    pty.send("not-the-secret\r");
    pty.expect("Default identifier");
    pty.send("mess\r");
    // Rejected: said, nothing saved, and the questions come again with the answers as
    // defaults (Enter keeps them).
    let seen = pty.expect(&format!("[{}]", w.emu.url()));
    assert!(seen.contains("rejected"), "{seen}");
    assert!(seen.contains("nothing was saved"), "{seen}");
    assert!(!w.config_dir.join("config.toml").exists());
    pty.send("\r");
    pty.expect(&format!("[{CLIENT_ID}]"));
    pty.send("\r");
    pty.expect("Enter keeps the last one");
    pty.send(&format!("{SECRET}\r"));
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(
        !output.contains("SCALEKIT_ENV_URL"),
        "no variable the user never set: {output}"
    );
    assert!(
        !output.contains(SECRET) && !output.contains("not-the-secret"),
        "{output}"
    );
    // The summary of what was saved and where it came from.
    assert!(output.contains("environment URL:"), "{output}");
    assert!(
        output.contains("(from prompt)") || output.contains("from the prompt"),
        "{output}"
    );
    let toml = w.config_toml();
    assert!(
        toml.contains(&w.emu.url()) && toml.contains(CLIENT_ID),
        "{toml}"
    );
    assert!(
        std::fs::read_to_string(w.path("credentials.toml"))
            .unwrap()
            .contains(SECRET)
    );
    // Two checks: the rejected secret, then the right one.
    let tokens = w
        .requests()
        .iter()
        .filter(|r| *r == "POST /oauth/token")
        .count();
    assert_eq!(tokens, 2);
}

#[test]
fn init_asks_again_after_an_unreachable_url() {
    let w = World::new();
    // A closed port on loopback: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut pty = w.pty(&["--http-timeout", "2", "init", "--identifier", "mess"]);
    pty.expect("Scalekit environment URL");
    pty.send(&format!("{dead}\r"));
    pty.expect("Client ID");
    pty.send(&format!("{CLIENT_ID}\r"));
    pty.expect("Client secret");
    pty.send(&format!("{SECRET}\r"));
    let seen = pty.expect(&format!("[{dead}]"));
    assert!(seen.contains("cannot reach Scalekit"), "{seen}");
    assert!(seen.contains("nothing was saved"), "{seen}");
    // A new URL instead of the default; the ID and the secret kept with Enter.
    pty.send(&format!("{}\r", w.emu.url()));
    pty.expect(&format!("[{CLIENT_ID}]"));
    pty.send("\r");
    pty.expect("Enter keeps the last one");
    pty.send("\r");
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(w.config_toml().contains(&w.emu.url()));
}

#[test]
fn at_80_columns_wrapped_answers_and_errors_stay_whole_and_nothing_is_stale() {
    let w = World::new();
    let mut pty = w.pty_sized(80, 24, &["init", "--identifier", "mess"]);
    let long = "http://scalekit.example.com/a-rather-long-path/that/goes/on";
    pty.expect("Scalekit environment URL");
    pty.send(&format!("{long}\r"));
    pty.expect("Use https://");
    pty.send("http://scalekit.example.com\r");
    pty.expect("http://scalekit.example.com\"");
    pty.send(&format!("{}\r", w.emu.url()));
    pty.expect("Client ID");
    pty.send(&format!("{CLIENT_ID}\r"));
    pty.expect("Client secret");
    pty.send(&format!("{SECRET}\r"));
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    let shown = crate::harness::screen(&output, 80, 24);
    // Rows joined back into the lines they wrap: every error is there in full, every
    // attempt is there with its answer, and no prompt row was left half-erased.
    let text = shown.everything.replace('\n', "");
    for (url, error) in [
        (
            long,
            format!("error: refusing environment URL \"{long}\": plain http://"),
        ),
        (
            "http://scalekit.example.com",
            "error: refusing environment URL \"http://scalekit.example.com\": plain http://"
                .to_owned(),
        ),
    ] {
        let attempt = format!("Scalekit environment URL (e.g. https://acme.scalekit.dev): {url}");
        assert!(
            text.contains(&format!("{attempt}{error}")),
            "{}",
            shown.everything
        );
    }
    assert_eq!(
        text.matches("in clear text. Use https://").count(),
        2,
        "{}",
        shown.everything
    );
    assert_eq!(
        shown.everything.matches("Scalekit environment URL").count(),
        3,
        "three attempts, no stale copy: {}",
        shown.everything
    );
    assert_eq!(
        shown.everything.matches("Client secret").count(),
        1,
        "{}",
        shown.everything
    );
    assert!(w.config_toml().contains(&w.emu.url()));
}

//! Configuration as an attacker would try it: a hostile `./.env`, a variable, a named env
//! file or an edited config.toml pointing the saved client secret at another server, an
//! `init` killed between its two renames, an old credentials.toml, a secret left in a
//! temporary file. The "other server" is a second emulator that logs whatever reaches it.

use std::fs;
use std::time::Duration;

use crate::harness::{
    CLIENT_ID, SECRET, World, assert_no_secret, require_tool, run_command, write,
};

/// A world with gmail mapped and ACTIVE for `mess`, and a second, hostile emulator.
fn configured_with_evil() -> (World, World, String) {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let evil = World::new();
    (w, evil, token)
}

/// The common promises of a refused binding: exit 3, nothing on stdout, both URLs and the
/// effective one's source on stderr, no secret, and no request anywhere.
#[track_caller]
fn assert_binding_refused(w: &World, evil: &World, args: &[&str], source: &str) {
    let run = w.run(args);
    run.assert_code(3);
    assert_eq!(run.stdout, "");
    for part in [w.emu.url(), evil.emu.url(), source.to_owned()] {
        assert!(run.stderr.contains(&part), "{part}: {}", run.stderr);
    }
    assert_no_secret(&run.stderr, &[SECRET]);
    assert!(evil.requests().is_empty(), "{:?}", evil.requests());
    assert!(w.requests().is_empty(), "{:?}", w.requests());
}

#[test]
fn a_hostile_dotenv_in_the_working_directory_changes_nothing() {
    let (w, evil, token) = configured_with_evil();
    write(
        &w.cwd.join(".env"),
        &format!(
            "SCALEKIT_ENV_URL={}\nSCALEKIT_CLIENT_ID=skc_evil\nSCALEKIT_AUTH_IDENTIFIER=victim\n\
             SCALEKIT_AUTH_CONFIG_DIR={}\n",
            evil.emu.url(),
            evil.config_dir.display()
        ),
    );
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
    assert_eq!(run.stderr, "");
    // init run there keeps the saved URL and client ID; it reads nothing from ./.env.
    let run = w.run(&["init"]);
    run.assert_code(0);
    let toml = w.config_toml();
    assert!(
        toml.contains(&w.emu.url()) && !toml.contains(&evil.emu.url()),
        "{toml}"
    );
    assert!(
        !toml.contains("skc_evil") && !toml.contains("victim"),
        "{toml}"
    );
    assert!(evil.requests().is_empty(), "{:?}", evil.requests());
    assert!(!evil.config_dir.exists());
}

#[test]
fn a_variable_cannot_send_the_saved_secret_elsewhere() {
    let (mut w, evil, _) = configured_with_evil();
    w.env.insert("SCALEKIT_ENV_URL".into(), evil.emu.url());
    assert_binding_refused(&w, &evil, &["token", "gmail"], "(from SCALEKIT_ENV_URL)");
    w.env.remove("SCALEKIT_ENV_URL");
    w.env
        .insert("SCALEKIT_ENVIRONMENT_URL".into(), evil.emu.url());
    assert_binding_refused(
        &w,
        &evil,
        &["authorize", "gmail", "--no-wait"],
        "(from SCALEKIT_ENVIRONMENT_URL)",
    );
    // status reports it as a state of the credentials, and sends nothing either.
    let run = w.run(&["status", "--json"]);
    run.assert_code(3);
    assert_eq!(run.json()["credentials"], "missing");
    assert!(
        run.stderr.contains(&w.emu.url()) && run.stderr.contains(&evil.emu.url()),
        "{}",
        run.stderr
    );
    assert!(evil.requests().is_empty() && w.requests().is_empty());
}

#[test]
fn a_named_env_file_cannot_send_the_saved_secret_elsewhere() {
    let (mut w, evil, _) = configured_with_evil();
    write(
        &w.cwd.join("project.env"),
        &format!("SCALEKIT_ENV_URL={}\n", evil.emu.url()),
    );
    assert_binding_refused(
        &w,
        &evil,
        &["--env-file", "project.env", "token", "gmail"],
        "SCALEKIT_ENV_URL from --env-file project.env",
    );
    w.env
        .insert("SCALEKIT_AUTH_ENV_FILE".into(), "project.env".into());
    assert_binding_refused(
        &w,
        &evil,
        &["token", "gmail"],
        "SCALEKIT_ENV_URL from SCALEKIT_AUTH_ENV_FILE project.env",
    );
}

#[test]
fn an_edited_config_toml_cannot_send_the_saved_secret_elsewhere() {
    let (w, evil, _) = configured_with_evil();
    let edited = w.config_toml().replace(&w.emu.url(), &evil.emu.url());
    fs::write(w.path("config.toml"), edited).unwrap();
    assert_binding_refused(&w, &evil, &["token", "gmail"], "env_url in config.toml");
}

#[test]
fn an_init_killed_between_its_renames_sends_the_secret_nowhere() {
    // init renames credentials.toml first: killed before config.toml, the new secret is
    // bound to the new URL while config.toml still names the old one.
    let (w, evil, _) = configured_with_evil();
    fs::write(
        w.path("credentials.toml"),
        format!(
            "env_url = \"{}\"\nclient_secret = \"new-secret-for-evil\"\n",
            evil.emu.url()
        ),
    )
    .unwrap();
    let run = w.run(&["token", "gmail"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains(&evil.emu.url())
            && run.stderr.contains(&w.emu.url())
            && run.stderr.contains("env_url in config.toml"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run.stderr, &["new-secret-for-evil"]);
    assert!(w.requests().is_empty() && evil.requests().is_empty());
}

#[test]
fn a_secret_from_the_environment_goes_to_the_url_resolved_with_it() {
    let (mut w, evil, _) = configured_with_evil();
    evil.seed_active("gmail_u3134a", "mess");
    w.env.insert("SCALEKIT_ENV_URL".into(), evil.emu.url());
    w.env.insert("SCALEKIT_CLIENT_SECRET".into(), SECRET.into());
    w.run(&["token", "gmail"]).assert_code(0);
    assert_eq!(evil.requests()[0], "POST /oauth/token");
    assert!(w.requests().is_empty(), "{:?}", w.requests());
}

#[test]
fn init_never_checks_the_saved_secret_against_another_url() {
    let (w, evil, _) = configured_with_evil();
    let before = fs::read(w.path("credentials.toml")).unwrap();
    let run = w.run(&[
        "init",
        "--env-url",
        &evil.emu.url(),
        "--client-id",
        CLIENT_ID,
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.contains(&evil.emu.url()) && run.stderr.contains("--env-url"),
        "{}",
        run.stderr
    );
    assert!(evil.requests().is_empty() && w.requests().is_empty());
    assert_eq!(fs::read(w.path("credentials.toml")).unwrap(), before);
    assert!(w.config_toml().contains(&w.emu.url()));
}

#[test]
fn an_old_credentials_file_binds_on_the_first_verified_run() {
    let (w, evil, token) = configured_with_evil();
    // As written before the binding rule: no env_url.
    fs::write(
        w.path("credentials.toml"),
        format!("client_secret = \"{SECRET}\"\n"),
    )
    .unwrap();
    let run = run_command(
        {
            let mut cmd = w.command(&["token", "gmail"]);
            cmd.env("SCALEKIT_ENV_URL", evil.emu.url());
            cmd
        },
        "",
    );
    run.assert_code(3);
    assert!(evil.requests().is_empty());
    let credentials = fs::read_to_string(w.path("credentials.toml")).unwrap();
    assert!(!credentials.contains("env_url"), "{credentials}");

    // With config.toml's URL it works, and the file is bound to that URL.
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
    let credentials = fs::read_to_string(w.path("credentials.toml")).unwrap();
    assert!(
        credentials.contains(&format!("env_url = \"{}\"", w.emu.url())),
        "{credentials}"
    );
    // A rejected secret binds nothing.
    fs::write(w.path("credentials.toml"), "client_secret = \"wrong\"\n").unwrap();
    w.run(&["token", "gmail"]).assert_code(3);
    let credentials = fs::read_to_string(w.path("credentials.toml")).unwrap();
    assert!(!credentials.contains("env_url"), "{credentials}");
}

#[test]
fn init_binds_the_secret_and_says_where_each_value_came_from() {
    let w = World::new();
    let run = w.run_stdin(
        &[
            "init",
            "--env-url",
            &w.emu.url(),
            "--client-id",
            CLIENT_ID,
            "--client-secret-stdin",
            "--identifier",
            "mess",
        ],
        SECRET,
    );
    run.assert_code(0);
    for line in [
        format!("{} (from --env-url)", w.emu.url()),
        format!("{CLIENT_ID} (from --client-id)"),
        "mess (from --identifier)".to_owned(),
        format!("{} (from SCALEKIT_AUTH_CONFIG_DIR)", w.config_dir.display()),
    ] {
        assert!(run.stderr.contains(&line), "{line}: {}", run.stderr);
    }
    assert_no_secret(&run.stderr, &[SECRET]);
    let credentials = fs::read_to_string(w.path("credentials.toml")).unwrap();
    assert!(
        credentials.contains(&format!("env_url = \"{}\"", w.emu.url())),
        "{credentials}"
    );
}

#[test]
fn env_urls_a_bare_host_means_https_and_a_path_is_refused_naming_its_source() {
    let w = World::new();
    let run = w.run(&[
        "init",
        "--env-url",
        "acme.scalekit.dev",
        "--client-id",
        CLIENT_ID,
        "--no-verify",
    ]);
    // No secret anywhere: the URL was accepted, the secret is what is missing.
    run.assert_code(2);
    assert!(
        run.stderr.contains("--client-secret-stdin"),
        "{}",
        run.stderr
    );
    let run = w.run_stdin(
        &[
            "init",
            "--env-url",
            "acme.scalekit.dev",
            "--client-id",
            CLIENT_ID,
            "--client-secret-stdin",
            "--no-verify",
        ],
        SECRET,
    );
    run.assert_code(0);
    assert!(
        w.config_toml()
            .contains("env_url = \"https://acme.scalekit.dev\""),
        "{}",
        w.config_toml()
    );

    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let with_path = format!("{}/api/v1", w.emu.url());
    w.env.insert("SCALEKIT_ENV_URL".into(), with_path.clone());
    let run = w.run(&["token", "gmail"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(&format!("{with_path:?}"))
            && run.stderr.contains("path")
            && run.stderr.contains("SCALEKIT_ENV_URL"),
        "{}",
        run.stderr
    );
    assert!(w.requests().is_empty());
}

#[test]
fn unreachable_hints_name_where_the_url_came_from() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let edited = w.config_toml().replace(&w.emu.url(), &dead);
    fs::write(w.path("config.toml"), edited).unwrap();
    // An edited config.toml: refused by the binding rule, naming config.toml.
    let run = w.run(&["token", "gmail"]);
    run.assert_code(3);
    // Given the secret for that URL, the hint names config.toml, not a variable.
    let run = run_command(
        {
            let mut cmd = w.command(&["token", "gmail"]);
            cmd.env("SCALEKIT_CLIENT_SECRET", SECRET);
            cmd
        },
        "",
    );
    run.assert_code(5);
    assert!(
        run.stderr.contains(&dead) && run.stderr.contains("env_url in config.toml"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_secret_left_in_a_temporary_file_beside_a_symlink_target_is_removed() {
    let w = World::configured(&[]);
    let elsewhere = w.home.path().join("dotfiles");
    fs::create_dir_all(&elsewhere).unwrap();
    let target = elsewhere.join("scalekit-credentials.toml");
    fs::rename(w.path("credentials.toml"), &target).unwrap();
    std::os::unix::fs::symlink(&target, w.path("credentials.toml")).unwrap();
    // What a writer killed between staging and renaming leaves behind.
    let orphan = elsewhere.join(".scalekit-credentials.toml.Ab12Cd.tmp");
    write(&orphan, &format!("client_secret = \"{SECRET}\"\n"));
    let unrelated = elsewhere.join(".other.toml.Ab12Cd.tmp");
    write(&unrelated, "kept");
    w.run(&["config", "gmail", "gmail_u3134a"]).assert_code(0);
    assert!(!orphan.exists(), "the orphan with the secret survived");
    assert!(
        unrelated.exists(),
        "only our own temporary files are removed"
    );
    // The link still points at the same file, which still holds the secret.
    assert!(
        fs::symlink_metadata(w.path("credentials.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(fs::read_to_string(&target).unwrap().contains(SECRET));
}

#[cfg(unix)]
#[test]
fn a_writer_waiting_for_the_lock_says_so() {
    let w = World::configured(&[]);
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(w.path(".lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut cmd = w.command(&["config", "gmail", "gmail_u3134a"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1800));
    lock.unlock().unwrap();
    let out = crate::harness::wait_with_timeout(child, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("waiting for another scalekit-auth process"),
        "{stderr}"
    );
    assert!(w.config_toml().contains("gmail_u3134a"));
    // Without contention, nothing is said.
    let run = w.run(&["config", "slack", "slack_x7y9z"]);
    run.assert_code(0);
    assert!(!run.stderr.contains("waiting"), "{}", run.stderr);
}

#[test]
fn interactive_init_offers_the_saved_secret_only_for_its_own_url() {
    if !require_tool("script") {
        return;
    }
    let (w, evil, _) = configured_with_evil();
    // The same URL (Enter keeps it): the saved secret may be kept.
    let mut pty = w.pty(&["init"]);
    pty.expect("Scalekit environment URL");
    pty.send("\r");
    pty.expect("Client ID");
    pty.send("\r");
    pty.expect("Keep the client secret already saved?");
    pty.send("\r");
    pty.expect("Default identifier");
    pty.send("\r");
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("(from env_url in config.toml)"), "{output}");
    // Another URL: no offer; the secret for that environment is asked for.
    let mut pty = w.pty(&["init"]);
    pty.expect("Scalekit environment URL");
    pty.send(&format!("{}\r", evil.emu.url()));
    pty.expect("Client ID");
    pty.send("\r");
    pty.expect("Client secret");
    pty.send(&format!("{SECRET}\r"));
    pty.expect("Default identifier");
    pty.send("\r");
    let (code, output) = pty.finish();
    assert_eq!(code, 0, "{output}");
    assert!(!output.contains("Keep the client secret"), "{output}");
    assert!(
        output.contains(&format!("{} (from prompt)", evil.emu.url())),
        "{output}"
    );
    assert!(evil.requests().iter().all(|r| r == "POST /oauth/token"));
    let credentials = fs::read_to_string(w.path("credentials.toml")).unwrap();
    assert!(
        credentials.contains(&format!("env_url = \"{}\"", evil.emu.url())),
        "{credentials}"
    );
}

#[test]
fn an_odd_token_answer_names_the_url_and_where_it_came_from() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.queue_fault(scalekit_emulator::Fault {
        path: "/oauth/token".into(),
        status: Some(501),
        ..scalekit_emulator::Fault::default()
    });
    let run = w.run(&["token", "gmail"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("501")
            && run
                .stderr
                .contains(&format!("is {} (from env_url in config.toml)", w.emu.url())),
        "{}",
        run.stderr
    );
}

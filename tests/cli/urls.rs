//! URLs from agents are parsed strictly (SECURITY.md, "URLs from agents"): every attack is
//! a usage error (exit 2) before any request, and no token is printed.

use crate::harness::World;

/// URLs whose host a browser and curl read differently, or that carry what a URL from an
/// agent never may: each would hand Gmail's token to a URL that could reach another host.
const ATTACKS: &[&str] = &[
    // A browser reads the backslash as `/` and `evil` as the user part's end; curl reads
    // the user part up to the first `@` and connects to `evil:443`.
    "https://gmail.googleapis.com\\@evil:443/x",
    "https://gmail.googleapis.com\\.evil.com/x",
    "https://evil.com@gmail.googleapis.com/x",
    "https://user:pw@gmail.googleapis.com/x",
    "https://@gmail.googleapis.com/x",
    "http://gmail.googleapis.com/gmail/v1/users/me/profile",
    "https://gmail.googleapis.com /x",
    " https://gmail.googleapis.com/x",
    "https://gmail.googleapis.com/x\r\nX-Evil: 1",
    "https://gmail.googleapis.com/x\u{1b}]52;c;Zm9v\u{7}",
    "https://gmail.googleapis.com\t/x",
    "https://gmail%2egoogleapis.com/x",
    "https:///gmail.googleapis.com/x",
    "https://ＧＭＡＩＬ.googleapis.com/x",
    "https://gmail.googleapis.com\u{a0}/x",
];

#[test]
fn for_url_refuses_every_url_attack_before_any_request() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    w.emu.clear_requests();
    for url in ATTACKS {
        for args in [
            vec!["token", "--for-url", url],
            vec!["token", "gmail", "--for-url", url],
        ] {
            let run = w.run(&args);
            run.assert_code(2);
            assert_eq!(run.stdout, "", "{url:?}");
            assert!(
                run.stderr.contains("refusing the URL"),
                "{url:?}: {}",
                run.stderr
            );
            assert!(!run.stderr.contains(&token), "{url:?}");
            // Control characters are shown escaped, never raw.
            assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\r'));
        }
    }
    assert_eq!(w.requests(), Vec::<String>::new());
    // The same host, written plainly, works.
    let run = w.run(&["token", "--for-url", "https://gmail.googleapis.com/x"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
}

#[test]
fn request_refuses_every_url_attack_and_double_slash_paths_before_any_request() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    w.emu.clear_requests();
    for url in ATTACKS.iter().filter(|u| !u.starts_with(' ')) {
        let run = w.run(&["request", "GET", url]);
        run.assert_code(2);
        assert!(
            run.stderr.contains("refusing the URL"),
            "{url:?}: {}",
            run.stderr
        );
        let run = w.run(&["request", "gmail", "GET", url]);
        run.assert_code(2);
        assert_eq!(run.stdout, "", "{url:?}");
    }
    for path in [
        "//evil.com/x",
        "//gmail.googleapis.com/x",
        "/a\\b",
        "\\\\evil.com/x",
    ] {
        let run = w.run(&["request", "gmail", "GET", path]);
        run.assert_code(2);
        assert!(
            run.stderr.contains("invalid API path"),
            "{path:?}: {}",
            run.stderr
        );
    }
    assert_eq!(w.requests(), Vec::<String>::new());
}

#[test]
fn host_patterns_refuse_bare_suffix_wildcards_and_url_tricks() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    let before = w.config_toml();
    for bad in [
        "*.com",
        "https://*.com",
        "*.co/",
        "api.x.com\\evil",
        "user@api.x.com",
        " api.x.com",
        "api.x.com\u{1b}[2J",
    ] {
        let run = w.run(&["config", "gmail", "gmail_u3134a", "--host", bad]);
        run.assert_code(2);
        assert!(
            run.stderr.contains("invalid host"),
            "{bad:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains('\u{1b}'));
    }
    assert_eq!(w.config_toml(), before);
    w.run(&[
        "config",
        "gmail",
        "gmail_u3134a",
        "--host",
        "*.googleapis.com",
    ])
    .assert_code(0);
    // A bad pattern already in config.toml is malformed config (exit 3), not a match.
    let toml = w.config_toml().replace("*.googleapis.com", "*.com");
    std::fs::write(w.path("config.toml"), toml).unwrap();
    w.emu.clear_requests();
    let run = w.run(&["token", "--for-url", "https://evil.com/x"]);
    run.assert_code(3);
    assert!(run.stderr.contains("malformed config"), "{}", run.stderr);
    assert_eq!(w.requests(), Vec::<String>::new());
}

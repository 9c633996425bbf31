//! The trust store is read from one bundle file, not the certificate directory file by file
//! (src/scalekit/roots.rs), proven from the system calls.

use std::process::{Command, Stdio};

use crate::harness::World;

/// The bundles src/scalekit/roots.rs looks for first.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

fn strace_works() -> bool {
    Command::new("strace")
        .args(["-f", "-e", "trace=none", "-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn https_reads_one_bundle_not_the_certificate_directory() {
    if !strace_works() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide strace (.ci/run installs it)"
        );
        eprintln!("skipped: strace is not available (apt-get install strace)");
        return;
    }
    let Some(bundle) = BUNDLES.iter().find(|b| std::path::Path::new(b).is_file()) else {
        eprintln!("skipped: no CA bundle on this machine");
        return;
    };
    let dir = std::path::Path::new(bundle).parent().unwrap();
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    // Nothing listens on port 9: the roots are loaded, then the connection fails (exit 5).
    w.redirect("https://127.0.0.1:9");
    for cert_dir in [None, Some(dir)] {
        let trace = w.home.path().join("tls.strace");
        let cmd = w.command(&[]);
        let program = cmd.get_program().to_owned();
        let mut strace = Command::new("strace");
        strace
            .args(["-f", "-e", "trace=open,openat,statx,newfstatat,stat", "-o"])
            .arg(&trace)
            .arg(program)
            .args(["token", "gmail", "--no-agent", "--http-timeout", "2"]);
        strace
            .env_clear()
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
        strace.current_dir(cmd.get_current_dir().unwrap());
        if let Some(cert_dir) = cert_dir {
            strace.env("SSL_CERT_DIR", cert_dir);
        }
        let out = strace.stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(5), "{out:?}");
        let text = std::fs::read_to_string(&trace).unwrap();
        let touched: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(&format!("{}/", dir.display())) && !l.contains(bundle))
            .collect();
        assert!(
            touched.is_empty(),
            "{cert_dir:?}: {} calls on the directory's files, e.g. {:?}",
            touched.len(),
            touched.first()
        );
        assert!(text.contains(bundle), "the bundle is read");
    }
}

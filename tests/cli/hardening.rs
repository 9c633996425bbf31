//! Hardening: the client's environment (proxies, CA store), load with faults, crash safety of
//! the files, stale locks.

use std::io::Read as _;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::World;

/// A loopback listener that counts the connections it gets and answers each with a 502.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, hits)
}

#[test]
fn a_proxy_from_the_environment_never_sees_loopback_requests() {
    // Plain http is allowed only to loopback; a proxy would get the client secret and the
    // tokens in clear text (and could not reach our loopback anyway).
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let (proxy, hits) = counting_listener();
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        w.env.insert(var.into(), proxy.clone());
    }
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the proxy got a connection");
    assert_eq!(w.requests().len(), 2);
}

#[test]
fn a_machine_without_ca_certificates_still_reaches_a_loopback_emulator() {
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    let token = w.seed_active("gmail_u3134a", "mess");
    let nowhere = w.home.path().join("no-such-ca-store");
    w.env
        .insert("SSL_CERT_FILE".into(), nowhere.display().to_string());
    w.env
        .insert("SSL_CERT_DIR".into(), nowhere.display().to_string());
    let run = w.run(&["token", "gmail"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), token);

    // With https the CA store is needed: a clear error (exit 1) that says what to do, and
    // no request.
    w.env
        .insert("SCALEKIT_ENV_URL".into(), "https://127.0.0.1:9".into());
    let run = w.run(&["token", "gmail"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("CA certificates") && run.stderr.contains("SSL_CERT_FILE"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("builder error"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

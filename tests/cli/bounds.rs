//! Numbers from outside are bounded and nothing panics (SECURITY.md): `Retry-After` of any
//! size, a late busy answer, huge `--timeout` values, an untrusted TLS certificate.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scalekit_emulator::Fault;

use crate::harness::{CLIENT_ID, SECRET, World};

const AUTH: &str = "/api/v1/connected_accounts/auth";

#[test]
fn a_retry_after_of_any_size_gives_up_at_once_without_a_panic() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    for secs in [1u64 << 63, u64::MAX, 31] {
        w.emu.clear_requests();
        w.emu.queue_fault(Fault {
            path: AUTH.into(),
            count: 4,
            status: Some(503),
            retry_after: Some(secs),
            ..Fault::default()
        });
        let started = Instant::now();
        let run = w.run(&["token", "gmail"]);
        run.assert_code(5);
        assert!(started.elapsed() < Duration::from_secs(10), "{secs}");
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(run.stderr.contains("answered 503"), "{}", run.stderr);
        assert_eq!(run.stdout, "");
        // One attempt: waiting as asked would overrun the budget.
        assert_eq!(
            w.requests(),
            ["POST /oauth/token", &format!("GET {AUTH}")],
            "{secs}"
        );
    }
}

#[test]
fn a_late_busy_answer_never_takes_the_request_past_its_30_second_budget() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    // Each answer comes after 20 s: a second full attempt would end at 40 s or later.
    w.emu.queue_fault(Fault {
        path: AUTH.into(),
        count: 4,
        status: Some(503),
        delay_ms: Some(20_000),
        ..Fault::default()
    });
    let started = Instant::now();
    let run = w.run(&["token", "gmail"]);
    let took = started.elapsed();
    run.assert_code(5);
    // Without the cut, the second attempt alone would end at 40 s.
    assert!(took < Duration::from_secs(36), "took {took:?}");
    assert!(took >= Duration::from_secs(29), "gave up early: {took:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn timeouts_above_a_day_or_not_a_number_are_usage_errors() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.seed_active("gmail_u3134a", "mess");
    for (flag, value) in [
        ("--timeout", "18446744073709551615"),
        ("--timeout", "86401"),
        ("--timeout", "-1"),
        ("--timeout", "0"),
        ("--timeout", "NaN"),
        ("--http-timeout", "86401"),
        ("--http-timeout", "1e300"),
        ("--http-timeout", "NaN"),
        ("--http-timeout", "inf"),
        ("--http-timeout", "-3"),
    ] {
        for command in [["token", "gmail"], ["authorize", "gmail"]] {
            let mut args = command.to_vec();
            args.extend([flag, value]);
            if flag == "--timeout" && command[0] == "token" {
                args.push("--wait");
            }
            let run = w.run(&args);
            run.assert_code(2);
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            assert_eq!(run.stdout, "");
        }
    }
    let mut w = w;
    w.env
        .insert("SCALEKIT_AUTH_HTTP_TIMEOUT".into(), "1e19".into());
    w.run(&["token", "gmail"]).assert_code(2);
    assert_eq!(w.requests(), Vec::<String>::new());
    w.env.remove("SCALEKIT_AUTH_HTTP_TIMEOUT");
    // A --min-ttl beyond any token's life is "too short" (exit 4), never an overflow.
    for value in ["18446744073709551615", "9223372036854775807"] {
        let run = w.run(&["token", "gmail", "--min-ttl", value]);
        run.assert_code(4);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    w.run(&[
        "token",
        "gmail",
        "--timeout",
        "86400",
        "--http-timeout",
        "86400",
    ])
    .assert_code(0);
}

/// A TLS server on 127.0.0.1 with a self-signed certificate; counts its connections.
fn untrusted_tls_server() -> (String, Arc<AtomicUsize>) {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let certs = vec![CertificateDer::from_pem_file(fixtures.join("untrusted.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(fixtures.join("untrusted.key")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                // The client refuses the certificate and hangs up; that ends the handshake.
                while conn.is_handshaking() {
                    if conn.complete_io(&mut stream).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, hits)
}

#[test]
fn an_untrusted_certificate_is_a_hard_failure_never_retried() {
    let (url, hits) = untrusted_tls_server();
    let mut w = World::new();
    w.run(&["config", "gmail", "gmail_u3134a", "--identifier", "mess"])
        .assert_code(0);
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/other-root.pem");
    for (name, value) in [
        ("SCALEKIT_ENV_URL", url.as_str()),
        ("SCALEKIT_CLIENT_ID", CLIENT_ID),
        ("SCALEKIT_CLIENT_SECRET", SECRET),
        ("SSL_CERT_FILE", root.to_str().unwrap()),
    ] {
        w.env.insert(name.into(), value.into());
    }
    let host = url.trim_start_matches("https://");
    let run = w.run(&["token", "gmail"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains(&format!("error: TLS certificate not trusted for {host}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("safe to retry"), "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the handshake was retried");
    let run = w.run(&["token", "gmail", "--json"]);
    run.assert_code(1);
    assert_eq!(run.json()["error"]["code"], "failed");
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers `/oauth/token` with an API token and
/// every other request with `page(n)` (n counting those requests from 1), one request per
/// connection. Returns the URL and the count.
fn paging_server(page: fn(usize) -> String) -> (String, Arc<AtomicUsize>) {
    scripted_server(move |n| ("200 OK", String::new(), page(n)))
}

/// Like [`paging_server`], with the status line and extra header lines (each ending in
/// `\r\n`) given too.
fn scripted_server(
    answer: impl Fn(usize) -> (&'static str, String, String) + Send + 'static,
) -> (String, Arc<AtomicUsize>) {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let pages = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pages);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            let (status, headers, body) = if request_line.contains(" /oauth/token ") {
                (
                    "200 OK",
                    String::new(),
                    r#"{"access_token":"paging-api-token","token_type":"Bearer","expires_in":3600}"#
                        .to_owned(),
                )
            } else {
                answer(counter.fetch_add(1, Ordering::SeqCst) + 1)
            };
            let mut out = stream;
            let _ = write!(
                out,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 {headers}connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, pages)
}

/// Pages of three accounts with 1 MiB identifiers each, and always a next page: held in
/// full, 150 of them took 1.8 GB. The list stops at its cap and says so.
#[test]
fn list_remote_stops_at_its_memory_cap_and_says_so() {
    let (url, pages) = paging_server(|n| {
        let big = "a".repeat(1 << 20);
        let account = format!(
            r#"{{"id":"ca_{n}","identifier":"{big}","provider":"gmail","status":"ACTIVE","connector":"gmail_x"}}"#
        );
        format!(
            r#"{{"connected_accounts":[{account},{account},{account}],"next_page_token":"p{n}"}}"#
        )
    });
    let mut w = World::new();
    for (name, value) in [
        ("SCALEKIT_ENV_URL", url.as_str()),
        ("SCALEKIT_CLIENT_ID", CLIENT_ID),
        ("SCALEKIT_CLIENT_SECRET", SECRET),
    ] {
        w.env.insert(name.into(), value.into());
    }
    let run = w.run(&["list", "--remote"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("the list is longer than this tool holds"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--identifier"), "{}", run.stderr);
    let served = pages.load(Ordering::SeqCst);
    assert!((10..=12).contains(&served), "{served} pages");
}

/// `Retry-After` as an HTTP date: one far in the future gives up at once (one attempt), one
/// in the past or unreadable is a normal backoff; none overflows or panics.
#[test]
fn a_retry_after_date_of_any_kind_is_bounded() {
    let mut w = World::new();
    w.run(&["config", "gmail", "gmail_u3134a", "--identifier", "mess"])
        .assert_code(0);
    for (answer, attempts) in [
        (
            (|_| {
                (
                    "503 Service Unavailable",
                    "retry-after: Fri, 31 Dec 9999 23:59:59 GMT\r\n".to_owned(),
                    r#"{"code":14,"message":"busy"}"#.to_owned(),
                )
            }) as fn(usize) -> (&'static str, String, String),
            1,
        ),
        (
            |_| {
                (
                    "503 Service Unavailable",
                    "retry-after: Mon, 01 Jan 1900 00:00:00 GMT\r\n".to_owned(),
                    r#"{"code":14,"message":"busy"}"#.to_owned(),
                )
            },
            4,
        ),
        (
            |_| {
                (
                    "429 Too Many Requests",
                    "retry-after: 99999999999999999999999999999\r\n".to_owned(),
                    r#"{"code":8,"message":"slow down"}"#.to_owned(),
                )
            },
            1,
        ),
    ] {
        let (url, hits) = scripted_server(answer);
        for (name, value) in [
            ("SCALEKIT_ENV_URL", url.as_str()),
            ("SCALEKIT_CLIENT_ID", CLIENT_ID),
            ("SCALEKIT_CLIENT_SECRET", SECRET),
        ] {
            w.env.insert(name.into(), value.into());
        }
        let started = Instant::now();
        let run = w.run(&["token", "gmail"]);
        run.assert_code(5);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert_eq!(hits.load(Ordering::SeqCst), attempts, "{}", run.stderr);
    }
}

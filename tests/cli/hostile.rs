//! Hostile answers from the server: oversized, truncated, non-UTF-8, wrong-typed or non-JSON
//! bodies give exit 1 with an `error:` line naming the problem; never a panic, never a
//! pointless retry, nothing on stdout.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::harness::{SECRET, World, assert_no_secret};

const AUTH: &str = "/api/v1/connected_accounts/auth";
const TOKEN: &str = "/oauth/token";
/// The access token every hostile server hands out.
const API_TOKEN: &str = "hostile-api-token-Kq2";

/// One canned answer: status line, headers and body bytes.
#[derive(Clone)]
struct Answer {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    /// Send no `content-length`; the body ends when the connection closes.
    close_delimited: bool,
}

impl Answer {
    fn json(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: "200 OK",
            content_type: "application/json",
            body: body.into(),
            close_delimited: false,
        }
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1: `/oauth/token` answers normally unless `hostile_path`
/// is `/oauth/token`; `hostile_path` gets `answer`. Every request's path is logged.
struct Hostile {
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Hostile {
    fn start(hostile_path: &'static str, answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let seen = Arc::clone(&seen);
                let answer = answer.clone();
                std::thread::spawn(move || serve(stream, hostile_path, &answer, &seen));
            }
        });
        Self { url, log }
    }

    fn hits(&self, path: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

/// Answers every request on one connection (keep-alive), until it closes.
fn serve(stream: TcpStream, hostile_path: &str, answer: &Answer, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .split('?')
            .next()
            .unwrap_or("")
            .to_owned();
        log.lock().unwrap().push(path.clone());
        let reply = if path == hostile_path {
            answer.clone()
        } else if path == TOKEN {
            Answer::json(format!(
                r#"{{"access_token":"{API_TOKEN}","token_type":"Bearer","expires_in":86399}}"#
            ))
        } else {
            Answer {
                status: "404 Not Found",
                ..Answer::json(r#"{"code":5,"message":"Not Found","details":[]}"#)
            }
        };
        let mut head = format!(
            "HTTP/1.1 {}\r\ncontent-type: {}\r\n",
            reply.status, reply.content_type
        );
        if reply.close_delimited {
            head.push_str("connection: close\r\n\r\n");
        } else {
            head.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
        }
        // The client may hang up mid-body (that is the point of the big ones).
        if out.write_all(head.as_bytes()).is_err() || out.write_all(&reply.body).is_err() {
            return;
        }
        if reply.close_delimited {
            return;
        }
    }
}

/// Runs `token gmail` against a hostile server and checks the common promises: exit 1, an
/// `error:` line containing `expect`, no panic, nothing on stdout, no secret, and exactly one
/// request to the hostile path (a bad answer is not retried).
#[track_caller]
fn assert_rejected(hostile_path: &'static str, answer: Answer, expect: &str) {
    let server = Hostile::start(hostile_path, answer);
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.redirect(&server.url);
    let run = w.run(&["token", "gmail"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "", "nothing on stdout");
    let error_line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line:\n{}", run.stderr));
    assert!(
        error_line.contains(expect) && error_line.contains(hostile_path),
        "{error_line:?} should name {expect:?} and {hostile_path}"
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(error_line.len() < 300, "a short message: {error_line:?}");
    assert_no_secret(&run.stderr, &[SECRET, API_TOKEN]);
    assert_eq!(server.hits(hostile_path), 1, "a bad answer is not retried");

    // --json: one JSON document on stdout, code "failed".
    let run = w.run(&["token", "gmail", "--json"]);
    run.assert_code(1);
    assert_eq!(run.json()["error"]["code"], "failed");
}

#[test]
fn a_ten_megabyte_body_is_refused_at_the_cap() {
    let mut big = br#"{"connected_account":{"identifier":""#.to_vec();
    big.resize(10 * 1024 * 1024, b'a');
    big.extend_from_slice(br#""}}"#);
    assert_rejected(AUTH, Answer::json(big.clone()), "larger than 4 MiB");
    // Without a content-length the cap is found while reading.
    assert_rejected(
        AUTH,
        Answer {
            close_delimited: true,
            ..Answer::json(big)
        },
        "larger than 4 MiB",
    );
}

#[test]
fn truncated_json() {
    assert_rejected(
        AUTH,
        Answer::json(r#"{"connected_account":{"status":"ACT"#),
        "truncated JSON",
    );
}

#[test]
fn invalid_utf8() {
    assert_rejected(
        AUTH,
        Answer::json(b"{\"connected_account\":{\"identifier\":\"\xff\xfe\xfd\"}}".to_vec()),
        "not UTF-8",
    );
}

#[test]
fn wrong_types() {
    assert_rejected(
        AUTH,
        Answer::json(r#"{"connected_account":{"status":5}}"#),
        "unexpected JSON types",
    );
    assert_rejected(AUTH, Answer::json("[]"), "an array where an object belongs");
    assert_rejected(
        TOKEN,
        Answer::json(r#"{"access_token":5}"#),
        "unexpected JSON types",
    );
}

#[test]
fn empty_body() {
    assert_rejected(AUTH, Answer::json(""), "empty body");
    assert_rejected(TOKEN, Answer::json(""), "empty body");
}

#[test]
fn html_instead_of_json() {
    let page = "<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>";
    assert_rejected(
        AUTH,
        Answer {
            content_type: "text/html; charset=utf-8",
            ..Answer::json(page)
        },
        "text/html",
    );
}

#[test]
fn an_answer_without_an_account() {
    assert_rejected(AUTH, Answer::json("{}"), "no connected_account");
    assert_rejected(
        AUTH,
        Answer::json(r#"{"connected_account":null}"#),
        "no connected_account",
    );
}

#[test]
fn timestamps_at_the_edge_of_the_calendar_are_unknown_not_a_crash() {
    // 9999-12-31T23:59:59-23:59 is a valid RFC 3339 time whose UTC form is in year 10000.
    let body = r#"{"connected_account":{"status":"ACTIVE","authorization_type":"OAUTH",
        "token_expires_at":"9999-12-31T23:59:59-23:59","last_used_at":"9999-12-31T23:59:59-01:00",
        "authorization_details":{"oauth_token":{"access_token":"tok-edge","scopes":[]}}}}"#;
    let server = Hostile::start(AUTH, Answer::json(body));
    let mut w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.redirect(&server.url);
    let run = w.run(&["token", "gmail", "--json"]);
    run.assert_code(0);
    assert_eq!(run.json()["access_token"], "tok-edge");
    assert!(run.json()["expires_at"].is_null(), "{}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

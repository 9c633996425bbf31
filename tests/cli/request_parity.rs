//! `request` as curl users expect it: `-F` multipart uploads, `--query` parameters, `-i`,
//! `--json`, `-o` streamed to a file, and exit 1 (never 5) for a POST, PATCH or DELETE that may
//! have been received. The echo upstream shows what the provider got.

use scalekit_emulator::{Fault, FaultBody};

use crate::harness::World;

fn echo_world() -> World {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    w.emu.set_upstream(Some("/_emulator/echo".into()));
    w.seed_active("gmail_u3134a", "mess");
    w
}

const PROXY_PATH: &str = "/proxy/upload/v1/files";

fn proxied(w: &World) -> Vec<scalekit_emulator::LoggedRequest> {
    w.logged()
        .into_iter()
        .filter(|r| r.path.starts_with("/proxy/"))
        .collect()
}

#[test]
fn form_fields_and_files_arrive_as_one_multipart_body() {
    let w = echo_world();
    let file = w.cwd.join("report.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    let run = w.run(&[
        "request",
        "gmail",
        "POST",
        "/upload/v1/files",
        "-F",
        "title=Q3 \"final\"",
        "-F",
        "doc=@report.csv;type=text/csv",
    ]);
    run.assert_code(0);
    let echo = run.json();
    let content_type = echo["headers"]["content-type"].as_str().unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("{content_type}"));
    assert_eq!(
        echo["body"],
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nQ3 \"final\"\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"report.csv\"\r\n\
             Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--{boundary}--\r\n"
        )
    );
    // Sent once, on the proxy, with the body Scalekit relayed as it was.
    let sent = proxied(&w);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, PROXY_PATH);
    assert_eq!(sent[0].body, echo["body"].as_str().unwrap());

    // An unreadable file, -F with --data, or -F with a Content-Type: usage, nothing sent.
    w.emu.clear_requests();
    for args in [
        &["-F", "doc=@missing.csv"][..],
        &["-F", "a=b", "--data", "{}"],
        &["-F", "a=b", "-H", "Content-Type: text/plain"],
        &["-F", "novalue"],
    ] {
        let mut all = vec!["request", "gmail", "POST", "/upload/v1/files"];
        all.extend_from_slice(args);
        let run = w.run(&all);
        run.assert_code(2);
        assert_eq!(run.stdout, "");
    }
    assert_eq!(w.requests(), Vec::<String>::new());
}

#[test]
fn query_parameters_are_encoded_and_merged_with_the_paths() {
    let w = echo_world();
    let run = w.run(&[
        "request",
        "gmail",
        "GET",
        "/gmail/v1/users/me/messages?maxResults=5",
        "--query",
        "q=from:me is:unread",
        "-G",
        "labelIds=INBOX&SPAM",
        "--query",
        "é=",
    ]);
    run.assert_code(0);
    let want = "maxResults=5&q=from%3Ame%20is%3Aunread&labelIds=INBOX%26SPAM&%C3%A9=";
    assert_eq!(run.json()["query"], want);
    assert_eq!(proxied(&w)[0].query.as_deref(), Some(want));
    // A full URL's query is kept too.
    w.emu.clear_requests();
    let run = w.run(&[
        "request",
        "GET",
        "https://gmail.googleapis.com/gmail/v1/users/me/profile?fields=a",
        "--query",
        "x=1 2",
    ]);
    run.assert_code(0);
    assert_eq!(run.json()["query"], "fields=a&x=1%202");
    // A parameter without '=' is a usage error before any request.
    w.emu.clear_requests();
    let run = w.run(&["request", "gmail", "GET", "/a", "--query", "novalue"]);
    run.assert_code(2);
    assert!(run.stderr.contains("NAME=VALUE"), "{}", run.stderr);
    assert_eq!(w.requests(), Vec::<String>::new());
}

#[test]
fn include_shows_status_and_safe_headers_before_the_body() {
    let w = echo_world();
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        status: Some(201),
        body: Some(FaultBody::Text("made".into())),
        headers: vec![
            // HTTP carries no escape character in a header; a tab is the control it allows.
            ("x-odd".into(), "a\tb".into()),
            ("content-type".into(), "text/plain".into()),
        ],
        ..Fault::default()
    });
    let run = w.run(&["request", "gmail", "POST", "/v1/things", "-i"]);
    run.assert_code(0);
    let (head, body) = run.stdout.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "made");
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some("HTTP/1.1 201 Created"));
    let lines: Vec<&str> = lines.collect();
    assert!(lines.contains(&"content-type: text/plain"), "{head}");
    // Control characters are made visible, never printed raw.
    assert!(lines.contains(&"x-odd: a\\tb"), "{head}");
    assert!(!head.contains('\t'));
}

#[test]
fn json_wraps_status_headers_and_a_text_or_base64_body() {
    let w = echo_world();
    let run = w.run(&["request", "gmail", "GET", "/v1/me", "--json"]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["status"], 200);
    assert_eq!(doc["body_base64"], false);
    assert_eq!(doc["headers"]["content-type"], "application/json");
    let echoed: serde_json::Value = serde_json::from_str(doc["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["path"], "/v1/me");

    // Bytes that are not UTF-8 come back as base64; a 404 is a document too, and exit 1.
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        status: Some(404),
        body: Some(FaultBody::Bytes(b"\xff\x00raw".to_vec())),
        ..Fault::default()
    });
    let run = w.run(&["request", "gmail", "GET", "/v1/blob", "--json"]);
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["status"], 404);
    assert_eq!(doc["body"], "/wByYXc=");
    assert_eq!(doc["body_base64"], true);
    assert!(run.stderr.contains("answered 404"), "{}", run.stderr);

    // --fail --json: the error document instead.
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        status: Some(404),
        body: Some(FaultBody::Text("gone".into())),
        ..Fault::default()
    });
    let run = w.run(&["request", "gmail", "GET", "/v1/blob", "--json", "--fail"]);
    run.assert_code(1);
    assert_eq!(run.json()["error"]["code"], "failed");
    assert!(!run.stdout.contains("gone"));

    // -i and --json conflict: usage, as a JSON document.
    let run = w.run(&["request", "gmail", "GET", "/v1/me", "--json", "-i"]);
    run.assert_code(2);
}

#[test]
fn output_streams_past_the_memory_cap_and_a_failure_leaves_no_file() {
    let w = echo_world();
    // Larger than the 64 MiB an answer may take in memory.
    let size = (64 << 20) + 123;
    let mut big = vec![b'x'; size];
    big[size - 1] = b'!';
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        status: Some(200),
        body: Some(FaultBody::Bytes(big)),
        ..Fault::default()
    });
    let dest = w.cwd.join("export.bin");
    let run = w.run(&["request", "gmail", "GET", "/v1/export", "-o", "export.bin"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    let written = std::fs::read(&dest).unwrap();
    assert_eq!(written.len(), size);
    assert_eq!(written[size - 1], b'!');
    drop(written);
    std::fs::remove_file(&dest).unwrap();

    // -o with --json: where the body went, and its size.
    let run = w.run(&[
        "request", "gmail", "GET", "/v1/me", "-o", "me.json", "--json",
    ]);
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["output"], "me.json");
    assert_eq!(doc["body"], serde_json::Value::Null);
    let on_disk = std::fs::read_to_string(w.cwd.join("me.json")).unwrap();
    assert_eq!(doc["size"], on_disk.len());
    assert!(on_disk.contains("\"path\":\"/v1/me\""), "{on_disk}");

    // An answer that breaks off (retried, then given up): no FILE, no temporary file left,
    // and an existing FILE is untouched.
    std::fs::write(w.cwd.join("keep.bin"), "old").unwrap();
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        count: 4,
        drop: true,
        ..Fault::default()
    });
    let run = w.run(&["request", "gmail", "GET", "/v1/export", "-o", "keep.bin"]);
    run.assert_code(5);
    assert_eq!(
        std::fs::read_to_string(w.cwd.join("keep.bin")).unwrap(),
        "old"
    );
    // --fail on a 404: nothing written either.
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        status: Some(404),
        body: Some(FaultBody::Text("not here".into())),
        ..Fault::default()
    });
    let run = w.run(&[
        "request", "gmail", "GET", "/v1/x", "-o", "new.bin", "--fail",
    ]);
    run.assert_code(1);
    assert!(!w.cwd.join("new.bin").exists());
    let mut left: Vec<String> = std::fs::read_dir(&w.cwd)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["keep.bin", "me.json"]);

    // A directory, or one that does not exist: usage, before any request.
    w.emu.clear_requests();
    for dest in [".", "no/such/dir/x.bin"] {
        let run = w.run(&["request", "gmail", "GET", "/v1/x", "-o", dest]);
        run.assert_code(2);
    }
    assert_eq!(w.requests(), Vec::<String>::new());
}

#[test]
fn a_post_patch_or_delete_that_may_have_been_received_is_exit_1_never_5() {
    let w = echo_world();
    for (method, fault) in [
        // Scalekit read it, forwarded it, then the connection dropped.
        (
            "POST",
            Fault {
                path: "/proxy/*".into(),
                drop: true,
                handle_first: true,
                ..Fault::default()
            },
        ),
        (
            "DELETE",
            Fault {
                path: "/proxy/*".into(),
                drop: true,
                handle_first: true,
                ..Fault::default()
            },
        ),
        // No answer in time.
        (
            "PATCH",
            Fault {
                path: "/proxy/*".into(),
                hang: true,
                ..Fault::default()
            },
        ),
    ] {
        w.emu.clear_requests();
        w.emu.queue_fault(fault);
        let run = w.run(&[
            "--http-timeout",
            "1",
            "request",
            "gmail",
            method,
            "/v1/things",
            "--data",
            "{}",
        ]);
        run.assert_code(1);
        assert_eq!(run.stdout, "", "{method}");
        assert!(
            run.stderr.contains("may have been received"),
            "{method}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("safe to retry"), "{}", run.stderr);
        assert!(
            run.stderr.contains("hint: check whether it took effect"),
            "{}",
            run.stderr
        );
        let sent: Vec<String> = proxied(&w).iter().map(|r| r.method.clone()).collect();
        assert_eq!(sent, [method], "sent exactly once");
    }
    // The same drop on a GET is retried, and answered.
    w.emu.clear_requests();
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        drop: true,
        handle_first: true,
        ..Fault::default()
    });
    let run = w.run(&["request", "gmail", "GET", "/v1/things"]);
    run.assert_code(0);
    assert_eq!(proxied(&w).len(), 2);
}

#[test]
fn authorization_needed_is_a_json_document_and_leaves_no_output_file() {
    let w = World::configured(&[("slack", "slack_x7y9z")]);
    w.emu.set_upstream(Some("/_emulator/echo".into()));
    let run = w.run(&[
        "request",
        "slack",
        "GET",
        "/api/auth.test",
        "--json",
        "-o",
        "out.json",
    ]);
    run.assert_code(4);
    let doc = run.json();
    assert_eq!(doc["error"]["code"], "authorization_required");
    let links = w.emu.magic_links();
    assert_eq!(links.len(), 1);
    assert_eq!(doc["error"]["link"], links[0].link.as_str());
    // Scalekit's refusal went nowhere near the file, and no temporary file is left.
    assert_eq!(std::fs::read_dir(&w.cwd).unwrap().count(), 0);
}

#[test]
fn include_with_output_puts_the_head_on_stdout_and_the_body_in_the_file() {
    let w = echo_world();
    let run = w.run(&["request", "gmail", "GET", "/v1/me", "-i", "-o", "me.json"]);
    run.assert_code(0);
    assert!(
        run.stdout.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with("\r\n\r\n"), "{}", run.stdout);
    let body = std::fs::read_to_string(w.cwd.join("me.json")).unwrap();
    assert!(!run.stdout.contains(&body));
    let echoed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(echoed["path"], "/v1/me");
}

#[test]
fn a_file_the_disk_refuses_is_exit_1_and_leaves_nothing() {
    let w = echo_world();
    w.emu.queue_fault(Fault {
        path: "/proxy/*".into(),
        status: Some(200),
        body: Some(FaultBody::Bytes(vec![b'x'; 256 * 1024])),
        ..Fault::default()
    });
    // A file size limit of 1 block, with SIGXFSZ ignored: the write fails with EFBIG.
    let mut cmd = w.program("sh", &[]);
    cmd.args([
        "-c",
        "trap '' XFSZ; ulimit -f 1 && exec scalekit-auth request gmail GET /v1/export -o big.bin",
    ]);
    let run = crate::harness::run_command(cmd, "");
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "GET /v1/export was answered, but the answer could not be written to big.bin"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_dir(&w.cwd).unwrap().count(), 0);
    // Answered once: a write failure is not retried.
    assert_eq!(proxied(&w).len(), 1);
}

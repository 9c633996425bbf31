//! The process is not dumpable (SECURITY.md, "Memory"): killed by a core-dumping signal while
//! it holds the client secret and an API token, it leaves no core file.

use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{World, wait_with_timeout};

/// Runs `program args…` under `sh` with core files allowed, kills it with SIGQUIT after
/// `after`, and says whether the kernel dumped its core (and leaves `core*` files in `dir`).
fn dumps_core(w: &World, dir: &std::path::Path, program: &str, args: &[&str]) -> bool {
    let mut cmd = w.program("sh", &[]);
    cmd.arg("-c")
        .arg("ulimit -c unlimited && exec \"$0\" \"$@\"")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("sh runs");
    // Give it time to start, read the secret and reach its wait.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let out = wait_with_timeout(child, Duration::from_secs(20));
    assert_eq!(out.status.signal(), Some(3), "{out:?}");
    out.status.core_dumped()
}

fn core_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("core"))
        .collect()
}

#[test]
fn a_core_dumping_signal_leaves_no_core_file() {
    let w = World::configured(&[("gmail", "gmail_u3134a")]);
    // The control: a plain process under the same limits does dump, else this kernel writes
    // no core files here at all and the test proves nothing.
    let control = tempfile::tempdir().unwrap();
    if !dumps_core(&w, control.path(), "sleep", &["30"]) {
        assert!(
            std::env::var_os("CI").is_none(),
            "this kernel writes no core file here (see /proc/sys/kernel/core_pattern)"
        );
        eprintln!("skipped: this kernel writes no core file here");
        return;
    }
    // The binary waits for an authorization with the secret and an API token in memory.
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_scalekit-auth");
    let dumped = dumps_core(
        &w,
        dir.path(),
        bin,
        &["authorize", "gmail", "--no-qr", "--timeout", "60"],
    );
    assert!(!dumped, "the binary dumped its core");
    assert_eq!(core_files(dir.path()), Vec::<String>::new());
}

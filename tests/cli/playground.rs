//! `scripts/playground`: start prints exports for `eval` (again, unchanged, on a second
//! start), stop kills the emulator and removes the directory (and is fine to repeat), a taken
//! port and an interrupted start leave nothing behind, and stdout only ever carries shell code.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{Run, run_command, write};

struct Playground {
    home: tempfile::TempDir,
    emulator: PathBuf,
}

impl Playground {
    /// `None` (after saying why) when the emulator's binary was not built.
    fn new() -> Option<Self> {
        let emulator =
            Path::new(env!("CARGO_BIN_EXE_scalekit-auth")).with_file_name("scalekit-emulator");
        if !emulator.exists() {
            let why = format!(
                "{} is not built (scripts/test builds it)",
                emulator.display()
            );
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("note: skipped: {why}");
            return None;
        }
        Some(Self {
            home: tempfile::tempdir().unwrap(),
            emulator,
        })
    }

    fn dir(&self) -> PathBuf {
        self.home.path().join("playground")
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/playground");
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(script)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("SCALEKIT_AUTH_BIN", env!("CARGO_BIN_EXE_scalekit-auth"))
            .env("SCALEKIT_EMULATOR_BIN", &self.emulator)
            .env("SCALEKIT_PLAYGROUND_DIR", self.dir())
            .current_dir(self.home.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        run_command(self.command(args), "")
    }

    /// The exports of a start, evaluated by bash and read back.
    fn exported(&self, exports: &str, name: &str) -> String {
        let mut cmd = std::process::Command::new("bash");
        cmd.args(["--norc", "--noprofile", "-c"])
            .arg(format!("{exports}\nprintf %s \"${name}\""))
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        run_command(cmd, "").stdout
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        if self.dir().exists() {
            let _ = self.run(&["stop"]);
        }
    }
}

/// Whether the process runs (a zombie waiting to be reaped does not count).
fn alive(pid: &str) -> bool {
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "PID (COMM) STATE …": the state follows the last ')'.
        return stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'));
    }
    if Path::new("/proc/self/stat").exists() {
        return false;
    }
    std::process::Command::new("ps")
        .args(["-o", "stat=", "-p", pid])
        .output()
        .is_ok_and(|out| {
            let stat = String::from_utf8_lossy(&out.stdout);
            !stat.trim().is_empty() && !stat.trim_start().starts_with('Z')
        })
}

#[test]
fn start_twice_then_stop_twice() {
    let Some(p) = Playground::new() else { return };
    let first = p.run(&["start"]);
    first.assert_code(0);
    let url = p.exported(&first.stdout, "SCALEKIT_ENV_URL");
    assert!(url.starts_with("http://127.0.0.1:"), "{}", first.stdout);
    assert_eq!(
        p.exported(&first.stdout, "SCALEKIT_CLIENT_ID"),
        "skc_emulator"
    );
    assert_eq!(
        p.exported(&first.stdout, "SCALEKIT_AUTH_CONFIG_DIR"),
        p.dir().join("config").display().to_string()
    );
    let path = p.exported(&first.stdout, "PATH");
    assert!(
        path.starts_with(&format!("{}:", p.dir().join("bin").display())),
        "{path}"
    );
    // Every stdout line is shell code for eval; messages are on stderr.
    for line in first.stdout.lines() {
        assert!(
            line.starts_with("export ") || line.starts_with("unset "),
            "{line}"
        );
    }
    assert!(first.stderr.contains(&url), "{}", first.stderr);
    let pid = std::fs::read_to_string(p.dir().join("pid")).unwrap();
    let pid = pid.trim();
    assert!(alive(pid));

    // A second start finds it running and prints the same exports.
    let second = p.run(&["start"]);
    second.assert_code(0);
    assert_eq!(second.stdout, first.stdout);
    assert!(
        second.stderr.contains("already running"),
        "{}",
        second.stderr
    );

    // approve with no link waiting gives up after its timeout.
    let approve = p.run(&["approve", "--timeout", "0"]);
    approve.assert_code(1);
    assert!(
        approve.stderr.contains("no consent link"),
        "{}",
        approve.stderr
    );

    // activate with nothing configured names what it could not find.
    let activate = p.run(&["activate", "nosuch"]);
    activate.assert_code(1);
    assert!(
        activate
            .stderr
            .contains("no such configured service: nosuch"),
        "{}",
        activate.stderr
    );

    let stop = p.run(&["stop"]);
    stop.assert_code(0);
    assert!(
        stop.stdout.starts_with("unset SCALEKIT_ENV_URL "),
        "{}",
        stop.stdout
    );
    assert!(!p.dir().exists());
    for _ in 0..50 {
        if !alive(pid) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(pid), "the emulator survived stop");

    let again = p.run(&["stop"]);
    again.assert_code(0);
    assert!(again.stderr.contains("nothing to stop"), "{}", again.stderr);
    let env = p.run(&["env"]);
    env.assert_code(1);
    assert_eq!(env.stdout, "false\n");
}

#[test]
fn a_taken_port_is_named_and_leaves_nothing_behind() {
    let Some(p) = Playground::new() else { return };
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = p.run(&["start", "--port", &port]);
    run.assert_code(1);
    // `eval` of the output fails too.
    assert_eq!(run.stdout, "false\n");
    assert!(
        run.stderr.contains(&format!("port {port}")),
        "{}",
        run.stderr
    );
    assert!(!p.dir().exists());

    let run = p.run(&["start", "--port", "99999"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "false\n");
}

#[test]
fn an_interrupted_start_kills_the_emulator_and_removes_the_directory() {
    let Some(mut p) = Playground::new() else {
        return;
    };
    // An "emulator" that never says it is listening, and records its pid.
    let fake = p.home.path().join("slow-emulator");
    let pid_file = p.home.path().join("fake.pid");
    write(
        &fake,
        &format!(
            "#!/bin/sh\necho $$ > '{}'\nexec sleep 30\n",
            pid_file.display()
        ),
    );
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.emulator = fake;

    let child = p
        .command(&["start"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut fake_pid = String::new();
    for _ in 0..100 {
        fake_pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
        if !fake_pid.trim().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let fake_pid = fake_pid.trim().to_owned();
    assert!(alive(&fake_pid), "the fake emulator did not start");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = crate::harness::wait_with_timeout(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "false\n");
    assert!(!p.dir().exists(), "the directory was left behind");
    for _ in 0..50 {
        if !alive(&fake_pid) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(&fake_pid), "the emulator was left running");
}

#[test]
fn a_dead_playground_is_cleared_by_start_and_by_stop() {
    let Some(p) = Playground::new() else { return };
    p.run(&["start"]).assert_code(0);
    let pid = std::fs::read_to_string(p.dir().join("pid")).unwrap();
    let kill = |pid: &str| {
        std::process::Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap();
        for _ in 0..50 {
            if !alive(pid.trim()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{pid} survived kill -9");
    };
    kill(&pid);
    // A new start notices, clears the dead one away and starts afresh.
    let again = p.run(&["start"]);
    again.assert_code(0);
    assert!(
        !again.stderr.contains("already running"),
        "{}",
        again.stderr
    );
    let new_pid = std::fs::read_to_string(p.dir().join("pid")).unwrap();
    assert_ne!(new_pid, pid);
    assert!(alive(new_pid.trim()));
    kill(&new_pid);
    let stop = p.run(&["stop"]);
    stop.assert_code(0);
    assert!(stop.stderr.contains("not answering"), "{}", stop.stderr);
    assert!(!p.dir().exists());
}

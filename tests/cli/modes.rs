//! File modes: `credentials.toml` is created 0600 from the start (never a wider file narrowed
//! afterwards) in a 0700 directory, proven from the system calls; `status` warns about a
//! credentials file that group or others can read.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use crate::harness::{CLIENT_ID, SECRET, World, require_tool, run_command};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// One traced system call: `name(args) = result`, with the pid strace printed.
#[derive(Debug)]
struct Call {
    pid: String,
    name: String,
    args: String,
    result: String,
}

fn parse_trace(text: &str) -> Vec<Call> {
    text.lines()
        .filter_map(|line| {
            let (pid, rest) = line.split_once(' ')?;
            let rest = rest.trim_start();
            let (name, rest) = rest.split_once('(')?;
            // strace pads before " = RESULT".
            let (args, result) = rest.rsplit_once(" = ")?;
            let args = args.trim_end().strip_suffix(')')?;
            Some(Call {
                pid: pid.to_owned(),
                name: name.to_owned(),
                args: args.to_owned(),
                result: result.split_whitespace().next().unwrap_or("").to_owned(),
            })
        })
        .collect()
}

/// The octal mode strace prints as the last argument (`0600`), if any.
fn last_octal(args: &str) -> Option<u32> {
    let last = args.rsplit(", ").next()?.trim();
    u32::from_str_radix(last.strip_prefix('0')?, 8).ok()
}

#[test]
fn credentials_are_created_0600_in_a_0700_directory_and_never_chmodded() {
    if !require_tool("strace") {
        return;
    }
    let w = World::new();
    let trace = w.home.path().join("init.strace");
    // Run `init` as a user would, under strace, with a permissive umask: the modes must come
    // from the open/mkdir calls themselves.
    let mut cmd = w.command(&[]);
    let init_args = [
        "init",
        "--env-url",
        &w.emu.url(),
        "--client-id",
        CLIENT_ID,
        "--client-secret-stdin",
        "--identifier",
        "mess",
    ];
    let program = cmd.get_program().to_owned();
    let mut traced = Command::new("sh");
    traced
        .arg("-c")
        .arg("umask 000; exec strace -f -qq -e 'trace=/^(open|openat|creat|mkdir|mkdirat|close|rename|renameat2?|.*chmod.*)$' -o \"$0\" \"$@\"")
        .arg(&trace)
        .arg(program)
        .args(init_args);
    // Same clean environment as the harness gives.
    traced.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            traced.env(k, v);
        }
    }
    traced.current_dir(&w.cwd);
    cmd = traced;
    run_command(cmd, SECRET).assert_code(0);

    let text = std::fs::read_to_string(&trace).unwrap();
    let calls = parse_trace(&text);
    let dir = w.config_dir.display().to_string();
    let credentials = w.path("credentials.toml");

    // The config directory is made 0700 by mkdir itself.
    let mkdir = calls
        .iter()
        .find(|c| c.name.starts_with("mkdir") && c.args.contains(&format!("\"{dir}\"")))
        .unwrap_or_else(|| panic!("no mkdir of {dir}:\n{text}"));
    assert_eq!(last_octal(&mkdir.args), Some(0o700), "{mkdir:?}");

    // The secret's temporary file is opened O_CREAT|O_EXCL with mode 0600…
    let temp_prefix = format!("\"{dir}/.credentials.toml.");
    let open = calls
        .iter()
        .find(|c| c.name.starts_with("open") && c.args.contains(&temp_prefix))
        .unwrap_or_else(|| panic!("no open of the credentials temp file:\n{text}"));
    assert!(
        open.args.contains("O_CREAT") && open.args.contains("O_EXCL"),
        "{open:?}"
    );
    assert_eq!(last_octal(&open.args), Some(0o600), "{open:?}");
    let temp_path = open.args.split('"').nth(1).unwrap().to_owned();

    // …and neither it nor credentials.toml is ever chmod-ed: follow the file descriptors.
    let mut fds: HashMap<(String, String), String> = HashMap::new();
    for call in &calls {
        match call.name.as_str() {
            n if n.starts_with("open") || n == "creat" => {
                if let Some(path) = call.args.split('"').nth(1) {
                    fds.insert((call.pid.clone(), call.result.clone()), path.to_owned());
                }
            }
            "close" => {
                fds.remove(&(call.pid.clone(), call.args.trim().to_owned()));
            }
            "fchmod" => {
                let fd = call.args.split(',').next().unwrap().trim().to_owned();
                let path = fds
                    .get(&(call.pid.clone(), fd))
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    path != temp_path && !path.ends_with("credentials.toml"),
                    "fchmod on {path}: {call:?}"
                );
            }
            n if n.contains("chmod") => {
                assert!(
                    !call.args.contains("credentials.toml"),
                    "{n} on the credentials file: {call:?}"
                );
            }
            _ => {}
        }
    }
    // It was renamed into place, and has the mode it was created with.
    assert!(
        calls
            .iter()
            .any(|c| c.name.starts_with("rename") && c.args.contains(&temp_path)),
        "{text}"
    );
    assert_eq!(mode(&credentials), 0o600);
    assert_eq!(mode(&w.config_dir), 0o700);
    // config.toml holds no secret: 0644 is what a new one gets.
    assert_eq!(mode(&w.path("config.toml")), 0o644);
}

#[test]
fn status_warns_about_credentials_readable_by_group_or_others_only() {
    let w = World::configured(&[]);
    let path = w.path("credentials.toml");
    assert_eq!(mode(&path), 0o600);
    let run = w.run(&["status"]);
    run.assert_code(0);
    assert!(!run.stderr.contains("warning:"), "{}", run.stderr);
    for bad in [0o640, 0o604, 0o644, 0o666] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
        let run = w.run(&["status", "--json"]);
        run.assert_code(0);
        run.json();
        assert!(
            run.stderr.contains("warning:")
                && run.stderr.contains(&format!("{bad:03o}"))
                && run.stderr.contains("chmod 600"),
            "{bad:o}: {}",
            run.stderr
        );
    }
    // `init` rewrites the file 0600 again (a new file, renamed over the old one).
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    w.init();
    assert_eq!(mode(&path), 0o600);
}

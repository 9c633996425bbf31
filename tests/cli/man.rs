//! The committed man pages: one per command, each rendering without a warning and carrying
//! EXIT STATUS and EXAMPLES. (That they match the clap definition is a unit test in
//! `src/generate.rs`.) A formatter that is not installed is skipped with a note.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::World;

fn pages() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("man/ exists")
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    pages
}

/// Runs a formatter; `None` when it is not installed.
fn format(program: &str, args: &[&str], page: &Path) -> Option<(bool, String, String)> {
    let out = Command::new(program)
        .args(args)
        .arg(page)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn there_is_a_page_for_every_command() {
    let w = World::new();
    // The commands a `--help` lists in its Commands section.
    let commands_of = |args: &[&str]| -> Vec<String> {
        let help = w.run(args);
        help.assert_code(0);
        help.stdout
            .split("Commands:\n")
            .nth(1)
            .map(|section| {
                section
                    .lines()
                    .take_while(|l| l.starts_with("  "))
                    // A wrapped description continues on a deeper-indented line.
                    .filter(|l| !l.starts_with("   "))
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|c| *c != "help")
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let commands = commands_of(&["--help"]);
    assert!(commands.contains(&"completions".to_owned()), "{commands:?}");
    let mut want: Vec<String> = Vec::new();
    for c in &commands {
        want.push(format!("scalekit-auth-{c}.1"));
        // Commands with commands of their own (`tools run`) get a page for each.
        for nested in commands_of(&[c.as_str(), "--help"]) {
            want.push(format!("scalekit-auth-{c}-{nested}.1"));
        }
    }
    assert!(
        want.contains(&"scalekit-auth-tools-run.1".to_owned()),
        "{want:?}"
    );
    want.push("scalekit-auth.1".into());
    want.sort();
    let have: Vec<String> = pages()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(have, want);
}

#[test]
fn every_page_renders_without_warnings() {
    let pages = pages();
    let mut checked = 0;
    for page in &pages {
        let name = page.display();
        if let Some((ok, _, stderr)) = format("groff", &["-ww", "-man", "-z"], page) {
            assert!(ok && stderr.is_empty(), "groff on {name}:\n{stderr}");
            checked += 1;
        }
        if let Some((_, stdout, stderr)) = format("mandoc", &["-T", "lint", "-W", "warning"], page)
        {
            // The date is left empty on purpose: the pages must not change from day to day.
            let lint: Vec<&str> = stdout
                .lines()
                .chain(stderr.lines())
                .filter(|l| !l.contains("missing date"))
                .collect();
            assert!(lint.is_empty(), "mandoc on {name}:\n{}", lint.join("\n"));
            checked += 1;
        }
        if let Some((ok, stdout, stderr)) = format("man", &["-l"], page) {
            assert!(ok && stderr.is_empty(), "man -l {name}:\n{stderr}");
            for section in ["NAME", "SYNOPSIS", "OPTIONS", "EXIT STATUS", "EXAMPLES"] {
                assert!(
                    stdout.contains(&format!("\n{section}\n")),
                    "{name}: no {section}:\n{stdout}"
                );
            }
            assert!(stdout.contains("authorization required"), "{name}");
            checked += 1;
        }
    }
    if checked == 0 {
        eprintln!("note: none of groff, mandoc, man is installed; the man pages were not rendered");
    }
}

#[test]
fn repeatable_arguments_say_so_as_help_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    for (page, argument) in [
        ("scalekit-auth-token.1", r"[\fISERVICE\fR]..."),
        ("scalekit-auth-status.1", r"[\fISERVICE\fR]..."),
        ("scalekit-auth-exec.1", r"<\fISERVICE\fR>..."),
    ] {
        let text = read(page);
        let synopsis = text
            .lines()
            .skip_while(|l| *l != ".SH SYNOPSIS")
            .nth(1)
            .unwrap();
        assert!(synopsis.contains(argument), "{page}: {synopsis}");
    }
    // A single argument stays single.
    assert!(!read("scalekit-auth-authorize.1").contains(r"\fISERVICE\fR>..."));
}

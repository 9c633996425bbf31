//! The committed generated files, built from the clap definition: `completions/` (each
//! shell's registration script, exactly what `completions SHELL` prints) and `man/` (one page
//! per command, with the examples and the exit-code table). The test below fails with a diff
//! when they are stale; `SCALEKIT_AUTH_UPDATE_GENERATED=1` rewrites them. Nothing in them
//! depends on the machine or the day: no date, no path.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::{Generator, Shell};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::{Cli, EXIT_CODES};
use crate::completion;

/// Where the completion scripts live, relative to the repository root.
const COMPLETIONS_DIR: &str = "completions";
/// Where the man pages live, relative to the repository root.
const MAN_DIR: &str = "man";
/// The program's name, as the man pages and scripts use it.
const BIN: &str = "scalekit-auth";

/// Every generated file: its path relative to the repository root, and its content.
pub(crate) fn files() -> Vec<(PathBuf, String)> {
    let mut files = completion_files();
    files.extend(man_pages());
    files
}

/// One registration script per shell, named as each shell's completion directory expects
/// (`scalekit-auth.bash`, `_scalekit-auth`, `scalekit-auth.fish`, `_scalekit-auth.ps1`,
/// `scalekit-auth.elv`).
fn completion_files() -> Vec<(PathBuf, String)> {
    [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ]
    .into_iter()
    .map(|shell| {
        (
            PathBuf::from(COMPLETIONS_DIR).join(shell.file_name(BIN)),
            completion::registration(shell),
        )
    })
    .collect()
}

/// `scalekit-auth.1` and `scalekit-auth-<command>.1` for every visible subcommand, and
/// `scalekit-auth-<command>-<subcommand>.1` for theirs (`tools run`).
fn man_pages() -> Vec<(PathBuf, String)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let subcommands: Vec<clap::Command> = root
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .cloned()
        .collect();
    let see_also: Vec<String> = subcommands.iter().map(display_name).collect();
    let mut pages = vec![man_page(root, &see_also)];
    for sub in subcommands {
        let parent = display_name(&sub);
        let nested: Vec<clap::Command> = sub
            .get_subcommands()
            .filter(|c| !c.is_hide_set() && c.get_name() != "help")
            .cloned()
            .collect();
        pages.push(man_page(sub, &[BIN.to_owned()]));
        for nested in nested {
            pages.push(man_page(nested, &[BIN.to_owned(), parent.clone()]));
        }
    }
    pages
}

fn display_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned()
}

/// One page: `clap_mangen`'s NAME, SYNOPSIS, DESCRIPTION, OPTIONS and SUBCOMMANDS, then our
/// EXIT STATUS, EXAMPLES (from the help's "Examples:" block, kept as written) and SEE ALSO.
fn man_page(cmd: clap::Command, see_also: &[String]) -> (PathBuf, String) {
    let name = display_name(&cmd);
    let examples = examples(&cmd);
    // clap_mangen writes a repeatable positional as `[SERVICE]`; the synopsis and the
    // argument's heading should say `[SERVICE]...`, as `--help` does.
    let repeatable: Vec<String> = cmd
        .get_positionals()
        .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
        .filter_map(|a| {
            a.get_value_names()
                .and_then(|v| v.first())
                .map(ToString::to_string)
        })
        .collect();
    // The after-help text becomes our own sections; clap_mangen would fill it as one
    // paragraph. The version is in the page's header line instead of a VERSION section.
    let cmd = cmd.after_help(None::<&str>).after_long_help(None::<&str>);
    let cmd = cmd.version(None::<&str>).long_version(None::<&str>);
    let mut page = Vec::new();
    Man::new(cmd)
        .render(&mut page)
        .expect("rendering to a Vec cannot fail");
    let page = String::from_utf8(page).expect("man pages are UTF-8");
    // Our own header line: clap_mangen writes an empty date as nothing at all, which shifts
    // the source into the date field. The date stays empty: the pages must not change daily.
    let title = format!(
        ".TH {} 1 \"\" \"{BIN} {}\" \"User Commands\"",
        name.to_uppercase(),
        env!("CARGO_PKG_VERSION")
    );
    let mut page: String = page
        .lines()
        .map(|line| {
            if line.starts_with(".TH ") {
                title.as_str()
            } else {
                line
            }
        })
        .flat_map(|line| [line, "\n"])
        .collect();
    // clap_mangen separates "Possible values" with a line break, a blank line and another
    // break; one `.sp` says the same without a lint warning.
    page = page.replace(".br\n\n.br\n", ".sp\n");
    for value in &repeatable {
        for (open, close) in [("[", "]"), ("<", ">")] {
            let single = format!("{open}\\fI{value}\\fR{close}");
            page = page.replace(&single, &format!("{single}..."));
        }
    }

    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for line in EXIT_CODES.lines().skip(1) {
        let (code, meaning) = line
            .trim()
            .split_once(char::is_whitespace)
            .expect("an exit-code line is `CODE  MEANING`");
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning.trim())]);
    }
    roff.control("SH", ["EXAMPLES"]);
    roff.control("nf", []);
    roff.control("RS", ["4"]);
    for line in &examples {
        roff.text([roman(line.as_str())]);
    }
    roff.control("RE", []);
    roff.control("fi", []);
    roff.control("SH", ["SEE ALSO"]);
    let refs: Vec<String> = see_also.iter().map(|page| format!("{page}(1)")).collect();
    roff.text([roman(refs.join(", "))]);
    // Every `Roff` render starts with the same apostrophe-handling preamble; the page has it.
    let preamble = Roff::new().render();
    let sections = roff.render();
    page.push_str(sections.strip_prefix(&preamble).unwrap_or(&sections));

    (
        PathBuf::from(MAN_DIR).join(format!("{name}.1")),
        ascii_roff(&page),
    )
}

/// Writes every non-ASCII character as a roff Unicode escape (`…` becomes `\[u2026]`), so the
/// pages render the same whatever encoding the formatter assumes.
fn ascii_roff(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                format!("\\[u{:04X}]", u32::from(c))
            }
        })
        .collect()
}

/// The lines of the help's "Examples:" block, without the two-space indent.
fn examples(cmd: &clap::Command) -> Vec<String> {
    let help = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(ToString::to_string)
        .unwrap_or_default();
    help.lines()
        .skip_while(|line| *line != "Examples:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .map(|line| line.strip_prefix("  ").unwrap_or(line).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Compares every generated file with the committed one; with
    /// `SCALEKIT_AUTH_UPDATE_GENERATED=1`, rewrites them (and removes stale man pages).
    #[test]
    fn generated_files_are_up_to_date() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let update = std::env::var_os("SCALEKIT_AUTH_UPDATE_GENERATED").is_some_and(|v| v == "1");
        let files = files();
        let mut stale = Vec::new();
        for (rel, want) in &files {
            let path = root.join(rel);
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            if have == *want {
                continue;
            }
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, want).unwrap();
            } else {
                stale.push(format!(
                    "{} is stale:\n{}",
                    rel.display(),
                    diff(&path, &have, want)
                ));
            }
        }
        // A page or script for a command or shell that no longer exists is stale too.
        let wanted: BTreeSet<&PathBuf> = files.iter().map(|(rel, _)| rel).collect();
        for dir in [COMPLETIONS_DIR, MAN_DIR] {
            for entry in std::fs::read_dir(root.join(dir)).into_iter().flatten() {
                let rel = PathBuf::from(dir).join(entry.unwrap().file_name());
                if !wanted.contains(&rel) {
                    if update {
                        std::fs::remove_file(root.join(&rel)).unwrap();
                    } else {
                        stale.push(format!("{} is no longer generated", rel.display()));
                    }
                }
            }
        }
        assert!(
            stale.is_empty(),
            "{}\n\nRegenerate with: SCALEKIT_AUTH_UPDATE_GENERATED=1 cargo test -p scalekit-auth --bin scalekit-auth generate",
            stale.join("\n\n")
        );
    }

    /// `diff -u` of the committed file against the generated text (or the first differing
    /// line where `diff` is missing).
    fn diff(path: &Path, have: &str, want: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let generated = dir.path().join("generated");
        std::fs::write(&generated, want).unwrap();
        let target = if path.exists() {
            path
        } else {
            Path::new("/dev/null")
        };
        if let Ok(out) = std::process::Command::new("diff")
            .arg("-u")
            .arg(target)
            .arg(&generated)
            .output()
        {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        format!("first difference at line {}", line + 1)
    }

    #[test]
    fn nothing_generated_depends_on_the_machine() {
        let machine = [
            env!("CARGO_MANIFEST_DIR").to_owned(),
            std::env::var("HOME").unwrap_or_else(|_| "/nonexistent-home".into()),
        ];
        for (rel, text) in files() {
            for path in &machine {
                assert!(
                    !text.contains(path.as_str()),
                    "{} contains {path}",
                    rel.display()
                );
            }
            assert!(
                !text.contains(env!("CARGO_PKG_VERSION")) || rel.starts_with(MAN_DIR),
                "{}: only the man pages carry the version",
                rel.display()
            );
        }
    }

    #[test]
    fn every_page_has_examples_and_the_exit_status_table() {
        let pages = man_pages();
        let names: Vec<String> = pages
            .iter()
            .map(|(rel, _)| rel.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for name in [
            "scalekit-auth.1",
            "scalekit-auth-init.1",
            "scalekit-auth-token.1",
            "scalekit-auth-completions.1",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("-help")), "{names:?}");
        for (rel, page) in pages {
            assert!(page.contains(".SH \"EXIT STATUS\""), "{}", rel.display());
            assert!(page.contains("\\fB4\\fR"), "{}", rel.display());
            let examples = page.split(".SH EXAMPLES").nth(1).unwrap_or_default();
            assert!(
                examples.matches("scalekit\\-auth").count() >= 2,
                "{}: {examples}",
                rel.display()
            );
        }
    }
}

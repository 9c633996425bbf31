//! `completions`: the committed scripts, and real shells loading them and completing
//! subcommands, options and the service names configured in `config.toml`. A shell that is
//! not installed fails the test under CI (`.ci/run` installs zsh and fish) and is skipped
//! with a visible note elsewhere (`require_tool`).

use std::path::{Path, PathBuf};

use scalekit_emulator::Fault;

use crate::harness::{World, require_tool, run_command, write};

/// Each shell and the committed script `completions SHELL` prints.
const SCRIPTS: [(&str, &str); 5] = [
    ("bash", "scalekit-auth.bash"),
    ("zsh", "_scalekit-auth"),
    ("fish", "scalekit-auth.fish"),
    ("powershell", "_scalekit-auth.ps1"),
    ("elvish", "scalekit-auth.elv"),
];

fn script(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(file)
}

/// A world with two services, so that `g` is ambiguous and `gm` is not.
fn world() -> World {
    World::configured(&[("gmail", "gmail_u3134a"), ("github", "gh")])
}

#[test]
fn completions_prints_the_committed_script_for_each_shell() {
    let w = World::new();
    // Needs no configuration: even a broken .env does not stop a shell loading completions.
    write(&w.cwd.join(".env"), "this is not dotenv\n");
    for (shell, file) in SCRIPTS {
        let run = w.run(&["completions", shell]);
        run.assert_code(0);
        assert_eq!(run.stderr, "", "{shell}");
        let committed = std::fs::read_to_string(script(file)).unwrap();
        assert_eq!(
            run.stdout, committed,
            "{shell}: completions/{file} is stale"
        );
        // Registration only: the shell calls back into scalekit-auth found on PATH.
        assert!(run.stdout.contains("SCALEKIT_AUTH_COMPLETE"), "{shell}");
    }
    let run = w.run(&["completions", "tcsh"]);
    run.assert_code(2);
    assert!(run.stderr.contains("tcsh"), "{}", run.stderr);
}

#[test]
fn completions_without_a_shell_lists_the_shells() {
    let w = World::new();
    let run = w.run(&["completions"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    for (shell, _) in SCRIPTS {
        assert!(run.stderr.contains(shell), "{shell}: {}", run.stderr);
    }
    assert!(
        run.stderr.starts_with("error: which shell?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: scalekit-auth completions bash"),
        "{}",
        run.stderr
    );
}

/// Loads the committed bash script in a bare bash, sets `COMP_*` as readline would for
/// `words` (the last one is being completed) and calls the registered function.
fn bash_complete(w: &World, words: &[&str]) -> Vec<String> {
    const DRIVER: &str = r#"
source "$1"; shift
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
spec=$(complete -p scalekit-auth)
fn=${spec##* -F }; fn=${fn%% *}
"$fn" scalekit-auth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let mut cmd = w.program("bash", &[]);
    cmd.args(["--norc", "--noprofile", "-c", DRIVER, "bash"])
        .arg(script("scalekit-auth.bash"))
        .args(words);
    let run = run_command(cmd, "");
    run.assert_code(0);
    assert_eq!(run.stderr, "", "completion must not write to the terminal");
    run.stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_options_and_configured_services() {
    let w = world();
    assert_eq!(
        bash_complete(&w, &["scalekit-auth", "to"]),
        ["token", "tools"]
    );
    assert_eq!(bash_complete(&w, &["scalekit-auth", "tok"]), ["token"]);
    assert_eq!(
        bash_complete(&w, &["scalekit-auth", "token", "--j"]),
        ["--json"]
    );
    assert_eq!(
        bash_complete(&w, &["scalekit-auth", "token", "gm"]),
        ["gmail"]
    );
    let both = bash_complete(&w, &["scalekit-auth", "token", "g"]);
    assert!(
        both.contains(&"gmail".to_owned()) && both.contains(&"github".to_owned()),
        "{both:?}"
    );
    for command in ["authorize", "status", "config"] {
        assert_eq!(
            bash_complete(&w, &["scalekit-auth", command, "gi"]),
            ["github"],
            "{command}"
        );
    }
    assert_eq!(
        bash_complete(&w, &["scalekit-auth", "completions", "fi"]),
        ["fish"]
    );
}

#[test]
fn bash_offers_no_services_from_a_malformed_config_and_stays_quiet() {
    let w = world();
    write(&w.path("config.toml"), "[services\n");
    assert!(bash_complete(&w, &["scalekit-auth", "token", "gm"]).is_empty());
    // Subcommands still complete.
    assert_eq!(bash_complete(&w, &["scalekit-auth", "sta"]), ["status"]);
}

#[test]
fn bash_completes_tool_names_from_the_catalog_within_the_budget() {
    let w = world();
    // `tools run SERVICE`: that service's connection's tools.
    let names = bash_complete(&w, &["scalekit-auth", "tools", "run", "gmail", "gmail_"]);
    assert_eq!(
        names,
        ["gmail_fetch_mails", "gmail_get_message", "gmail_send_email"]
    );
    let listed: Vec<String> = w
        .logged()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.method,
                r.path,
                r.query.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            "POST /oauth/token ",
            "GET /api/v1/tools filter.connector=gmail_u3134a&page_size=100"
        ]
    );
    // `tools schema`: the whole catalog.
    let names = bash_complete(&w, &["scalekit-auth", "tools", "schema", "slack_s"]);
    assert_eq!(names, ["slack_send_message"]);
    // SERVICE itself still completes from config.toml, without a request.
    w.emu.clear_requests();
    assert_eq!(
        bash_complete(&w, &["scalekit-auth", "tools", "run", "gm"]),
        ["gmail"]
    );
    assert_eq!(w.requests(), Vec::<String>::new());

    // A hung catalog: the shell gets its answer within the budget (plus the time a bash and
    // two processes take to start), with no tool names and nothing on the terminal.
    for path in ["/api/v1/tools", "/oauth/token"] {
        w.emu.queue_fault(Fault {
            path: path.into(),
            hang: true,
            ..Fault::default()
        });
        let started = std::time::Instant::now();
        let names = bash_complete(&w, &["scalekit-auth", "tools", "schema", "g"]);
        let took = started.elapsed();
        assert!(names.is_empty(), "{path}: {names:?}");
        assert!(
            took < std::time::Duration::from_millis(1500),
            "{path}: {took:?}"
        );
    }
}

#[test]
fn tool_names_need_credentials_and_never_prompt() {
    // No credentials: nothing, quietly, and no request.
    let w = World::new();
    assert!(bash_complete(&w, &["scalekit-auth", "tools", "schema", "g"]).is_empty());
    assert_eq!(w.requests(), Vec::<String>::new());
}

/// How zsh finds the committed script.
#[derive(Clone, Copy, Debug)]
enum ZshLoad {
    /// `source _scalekit-auth` after `compinit`.
    Sourced,
    /// The script's directory on `fpath` before `compinit` (autoloaded on the first Tab).
    Fpath,
}

/// Types `line` and a Tab into an interactive zsh (in a `zpty` pseudo-terminal, with
/// `compinit` and the committed script loaded) and returns the edit buffer afterwards.
fn zsh_complete(w: &World, load: ZshLoad, line: &str) -> String {
    const DRIVER: &str = r#"
zmodload zsh/zpty
out=$1 script=$2 line=$3 load=$4
zpty -b z zsh -f -i
if [[ $load == fpath ]]; then
  zpty -w z "PS1=''; fpath=(${(q)script:h} \$fpath); autoload -Uz compinit; compinit -u -D"
else
  zpty -w z "PS1=''; autoload -Uz compinit; compinit -u -D; source ${(q)script}"
fi
zpty -w z "zle-dump() { print -r -- \"<\$BUFFER>\" > ${(q)out}; }; zle -N zle-dump; bindkey '^Xd' zle-dump"
zpty -w -n z "$line"$'\t'$'\C-Xd'
for i in {1..200}; do [[ -s $out ]] && break; sleep 0.05; done
zpty -d z
cat $out
"#;
    let out = w.home.path().join("zsh-buffer");
    let _ = std::fs::remove_file(&out);
    let mut cmd = w.program("zsh", &[]);
    cmd.args(["-f", "-c", DRIVER, "zsh"])
        .arg(&out)
        .arg(script("_scalekit-auth"))
        .arg(line)
        .arg(match load {
            ZshLoad::Sourced => "sourced",
            ZshLoad::Fpath => "fpath",
        });
    let run = run_command(cmd, "");
    run.assert_code(0);
    run.stdout.trim_end().to_owned()
}

#[test]
fn zsh_completes_commands_options_and_configured_services() {
    if !require_tool("zsh") {
        return;
    }
    let w = world();
    for load in [ZshLoad::Sourced, ZshLoad::Fpath] {
        assert_eq!(
            zsh_complete(&w, load, "scalekit-auth tok"),
            "<scalekit-auth token >",
            "{load:?}"
        );
        assert_eq!(
            zsh_complete(&w, load, "scalekit-auth token --j"),
            "<scalekit-auth token --json >",
            "{load:?}"
        );
        assert_eq!(
            zsh_complete(&w, load, "scalekit-auth token gm"),
            "<scalekit-auth token gmail >",
            "{load:?}"
        );
    }
}

/// Asks fish what it would offer for `line` (`complete -C`), with the committed script
/// loaded; returns the candidates without their descriptions.
fn fish_complete(w: &World, line: &str) -> Vec<String> {
    let mut cmd = w.program("fish", &[]);
    cmd.args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
        .arg(script("scalekit-auth.fish"))
        .arg(line);
    let run = run_command(cmd, "");
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    run.stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn fish_completes_commands_options_and_configured_services() {
    if !require_tool("fish") {
        return;
    }
    let w = world();
    // `to` is both `token` and `tools`.
    assert_eq!(fish_complete(&w, "scalekit-auth to"), ["token", "tools"]);
    assert_eq!(fish_complete(&w, "scalekit-auth tok"), ["token"]);
    assert_eq!(fish_complete(&w, "scalekit-auth mc"), ["mcp"]);
    assert_eq!(
        fish_complete(&w, "scalekit-auth mcp --service gm"),
        ["gmail"]
    );
    assert_eq!(fish_complete(&w, "scalekit-auth token --j"), ["--json"]);
    assert_eq!(fish_complete(&w, "scalekit-auth token gm"), ["gmail"]);
    assert_eq!(
        fish_complete(&w, "scalekit-auth tools run gmail gmail_s"),
        ["gmail_send_email"]
    );
}

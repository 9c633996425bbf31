//! The locked, atomic writes of `config.toml` and `credentials.toml`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use toml_edit::DocumentMut;

use super::ConfigEdit;
use super::Paths;
use super::edit::set_string;
use super::file::parse_config;
use super::file::parse_document;
use super::file::parse_stored_credentials;
use super::file::read_existing;
use crate::error::CliError;
use crate::secret::Secret;

/// The first line of a `config.toml` this tool creates.
const CONFIG_HEADER: &str = "# scalekit-auth configuration (no secrets; safe to share)\n\n";
/// The first line of a `credentials.toml` this tool creates.
const CREDENTIALS_HEADER: &str = "# scalekit-auth client secret (keep private)\n";
/// The suffix of a staged file: `.<name>.XXXXXX.tmp` beside its target.
const TEMP_SUFFIX: &str = ".tmp";
/// Mode of a new `config.toml` (an existing file keeps its own).
#[cfg(unix)]
const CONFIG_FILE_MODE: u32 = 0o644;
/// How long a writer waits for another writer's lock before saying so on stderr.
const LOCK_NOTICE_AFTER: Duration = Duration::from_secs(1);
/// How often a waiting writer tries the lock before that notice.
const LOCK_POLL: Duration = Duration::from_millis(20);
/// Mode of a config directory this tool creates.
#[cfg(unix)]
const CONFIG_DIR_MODE: u32 = 0o700;

/// Edits `config.toml` under the cross-process lock: re-reads the file inside the lock, lets
/// `edit` change it, and writes it atomically (temporary file in the same directory, then
/// rename), keeping unknown keys, tables and comments. Writes nothing when the existing file
/// is malformed (that error is returned), when `edit` fails, or when nothing changed.
/// Creates the directory (mode 0700) if missing. Do not call `update` from inside `edit`:
/// the lock is not re-entrant.
pub(crate) fn update<T>(
    paths: &Paths,
    edit: impl FnOnce(&mut ConfigEdit) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let _lock = lock(paths)?;
    let (value, staged) = stage_config(paths, edit)?;
    if let Some(staged) = staged {
        staged.commit()?;
    }
    Ok(value)
}

/// Writes `client_secret` to `credentials.toml` atomically under the same lock. The file is
/// created 0600 from the start (never a wider file narrowed afterwards) in a 0700 directory;
/// other keys and comments are kept. A malformed existing file is an error and nothing is
/// written. (`init` writes the secret through [`save_init`]; this is the same staging alone.)
#[cfg(test)]
pub(crate) fn write_client_secret(paths: &Paths, secret: &Secret) -> anyhow::Result<()> {
    let _lock = lock(paths)?;
    stage_credentials(paths, "https://acme.scalekit.dev", secret)?.commit()
}

/// `init`'s write: the config edit and, with `Some((env_url, secret))`, the client secret
/// bound to its environment URL, both prepared and checked before either file is replaced,
/// so a failed init writes neither. `None` leaves `credentials.toml` alone.
///
/// `credentials.toml` is renamed first. A kill between the two renames then leaves the new
/// secret bound to the new URL beside the old config.toml: the URLs differ, so the binding
/// rule refuses to send it anywhere until `init` runs again. (The other order would leave an
/// old, unbound secret beside a config.toml naming the new URL.)
pub(crate) fn save_init<T>(
    paths: &Paths,
    credentials: Option<(&str, &Secret)>,
    edit: impl FnOnce(&mut ConfigEdit) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let _lock = lock(paths)?;
    let credentials = credentials
        .map(|(url, secret)| stage_credentials(paths, url, secret))
        .transpose()?;
    let (value, config) = stage_config(paths, edit)?;
    if let Some(staged) = credentials {
        staged.commit()?;
    }
    if let Some(staged) = config {
        staged.commit()?;
    }
    Ok(value)
}

/// Binds a `credentials.toml` written before the binding rule (no `env_url`) to `env_url`,
/// the URL Scalekit just accepted its secret for. Does nothing when the file changed in the
/// meantime (another secret, or already bound).
pub(crate) fn bind_stored_secret(
    paths: &Paths,
    env_url: &str,
    secret: &Secret,
) -> anyhow::Result<()> {
    let _lock = lock(paths)?;
    let stored = super::load_credentials(paths)?;
    if stored.env_url.is_none() && stored.client_secret.as_ref() == Some(secret) {
        stage_credentials(paths, env_url, secret)?.commit()?;
    }
    Ok(())
}

/// The hint of every error about the config directory itself.
const CONFIG_DIR_HINT: &str =
    "pass --config-dir DIR or set SCALEKIT_AUTH_CONFIG_DIR to a writable directory";

/// Creates the directory when missing (mode 0700 for the directory itself; missing parents
/// get the usual mode), then takes the exclusive lock. The lock lasts as long as the file.
fn lock(paths: &Paths) -> anyhow::Result<File> {
    ensure_dir(&paths.dir)?;
    let path = paths.lock_file();
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let fail = |e: io::Error| {
        CliError::failed(format!(
            "cannot write to the config directory {}: {e}",
            paths.dir.display()
        ))
        .with_hint(CONFIG_DIR_HINT)
    };
    let file = options.open(&path).map_err(fail)?;
    wait_for_lock(&file, &paths.dir).map_err(fail)?;
    remove_orphaned_temp_files(paths);
    Ok(file)
}

/// Takes the exclusive lock; if another writer holds it for more than [`LOCK_NOTICE_AFTER`],
/// says so on stderr once and keeps waiting (the kernel releases it when that writer exits).
fn wait_for_lock(file: &File, dir: &Path) -> io::Result<()> {
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        if start.elapsed() >= LOCK_NOTICE_AFTER {
            // A closed stderr is ignored: nothing may make the process panic.
            let _ = writeln!(
                io::stderr().lock(),
                "waiting for another scalekit-auth process to finish writing to {}",
                dir.display()
            );
            return file.lock();
        }
        std::thread::sleep(LOCK_POLL);
    }
}

/// Removes the temporary files (`.config.toml.XXXXXX.tmp`, `.credentials.toml.XXXXXX.tmp`)
/// that a writer killed between staging and renaming left behind. They sit beside the file
/// they were to replace, which for a symlinked `credentials.toml` is the link's target, so
/// that directory is cleaned too. Writers create them only while holding the lock, so to the
/// lock's holder every such file is an orphan. They never confuse a reader (the names are
/// random), but they pile up, and the credentials one holds the client secret. Best effort:
/// a file that cannot be removed is left alone.
fn remove_orphaned_temp_files(paths: &Paths) {
    for target in [paths.config_file(), paths.credentials_file()] {
        let target = write_target(&target);
        let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
            continue;
        };
        let Some(prefix) = name.to_str().map(|n| format!(".{n}.")) else {
            continue;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let orphan = name.ends_with(TEMP_SUFFIX) && name.starts_with(&prefix);
            if orphan && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn ensure_dir(dir: &Path) -> Result<(), CliError> {
    if dir.is_dir() {
        return Ok(());
    }
    let fail = |e: io::Error| {
        // A file where the directory (or one of its parents) should be: say that, not
        // "File exists".
        let why = match dir.ancestors().find(|a| a.exists()) {
            Some(found) if !found.is_dir() => format!("{} is a file", found.display()),
            _ => e.to_string(),
        };
        CliError::failed(format!(
            "cannot create the config directory {}: {why}",
            dir.display()
        ))
        .with_hint(CONFIG_DIR_HINT)
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(CONFIG_DIR_MODE);
    }
    match builder.create(dir) {
        // Another process may have created it in the meantime.
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists || !dir.is_dir() => Err(fail(e)),
        _ => Ok(()),
    }
}

/// Reads, validates and edits `config.toml`; the new content staged in a temporary file, or
/// `None` when the edit changed nothing. Must run under the lock.
fn stage_config<T>(
    paths: &Paths,
    edit: impl FnOnce(&mut ConfigEdit) -> anyhow::Result<T>,
) -> anyhow::Result<(T, Option<Staged>)> {
    let path = paths.config_file();
    let doc = if let Some(text) = read_existing(&path)? {
        parse_config(&path, &text)?;
        parse_document(&path, &text)?
    } else {
        let mut doc = DocumentMut::new();
        doc.decor_mut().set_prefix(CONFIG_HEADER);
        doc
    };
    let before = doc.to_string();
    let mut editing = ConfigEdit { doc, path };
    let value = edit(&mut editing)?;
    let after = editing.doc.to_string();
    if after == before {
        return Ok((value, None));
    }
    // A document we cannot read back must never replace a good file.
    parse_config(&editing.path, &after).map_err(|e| {
        anyhow::anyhow!("internal error: the edited configuration does not parse ({e})")
    })?;
    let target = write_target(&editing.path);
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(&target).map_or(CONFIG_FILE_MODE, |m| m.permissions().mode() & 0o777)
    };
    #[cfg(not(unix))]
    let mode = 0;
    let staged = Staged::new(target, &after, Some(mode))?;
    Ok((value, Some(staged)))
}

/// Reads and validates `credentials.toml`, sets the secret, and stages the result with mode
/// 0600. Must run under the lock.
fn stage_credentials(paths: &Paths, env_url: &str, secret: &Secret) -> anyhow::Result<Staged> {
    let path = paths.credentials_file();
    let mut doc = if let Some(text) = read_existing(&path)? {
        parse_stored_credentials(&path, &text)?;
        parse_document(&path, &text)?
    } else {
        let mut doc = DocumentMut::new();
        doc.decor_mut().set_prefix(CREDENTIALS_HEADER);
        doc
    };
    set_string(doc.as_table_mut(), "env_url", env_url.trim_end_matches('/'));
    set_string(doc.as_table_mut(), "client_secret", secret.expose());
    let text = doc.to_string();
    let back = parse_stored_credentials(&path, &text).unwrap_or_default();
    if back.client_secret.as_ref() != Some(secret) || back.env_url.is_none() {
        anyhow::bail!("internal error: the edited credentials do not read back");
    }
    // No mode change: tempfile creates the file 0600, which is what we want.
    Staged::new(write_target(&path), &text, None)
}

/// The file to replace: the target of a symlink (dotfile managers link config files), so the
/// rename updates the linked file instead of replacing the link.
fn write_target(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// New file content in a temporary file beside its target, written and synced, waiting to
/// be renamed over the target. Dropping it removes the temporary file.
struct Staged {
    file: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Staged {
    /// `mode: None` keeps tempfile's 0600.
    fn new(target: PathBuf, contents: &str, mode: Option<u32>) -> anyhow::Result<Staged> {
        let fail =
            |e: io::Error| CliError::failed(format!("cannot write {}: {e}", target.display()));
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)
            .map_err(fail)?;
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt as _;
            file.as_file()
                .set_permissions(fs::Permissions::from_mode(mode))
                .map_err(fail)?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        file.write_all(contents.as_bytes()).map_err(fail)?;
        file.as_file().sync_all().map_err(fail)?;
        Ok(Staged { file, target })
    }

    /// Renames the temporary file over the target.
    fn commit(self) -> anyhow::Result<()> {
        let target = self.target;
        self.file.persist(&target).map_err(|e| {
            CliError::failed(format!("cannot write {}: {}", target.display(), e.error))
        })?;
        // Make the rename itself durable; failure here loses nothing already written.
        #[cfg(unix)]
        if let Some(dir) = target.parent() {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::credentials_too_open;
    use crate::config::load;
    use crate::config::load_client_secret;
    use crate::config::test_support::*;
    use crate::error::ErrorKind;
    use std::sync::Arc;

    // --- Writing ---------------------------------------------------------------------------

    #[test]
    fn fresh_config_looks_like_the_documented_example() {
        let (_tmp, paths) = temp_paths();
        add(&paths, "gmail", "gmail_u3134a", Some("mess"));
        update(&paths, |c| {
            c.set_env_url("https://acme.scalekit.dev/");
            c.set_client_id("skc_1");
            c.set_default_identifier(Some("mess"));
            Ok(())
        })
        .expect("update");
        let text = fs::read_to_string(paths.config_file()).expect("read");
        assert_eq!(
            text,
            "# scalekit-auth configuration (no secrets; safe to share)\n\n\
             [scalekit]\nenv_url = \"https://acme.scalekit.dev\"\nclient_id = \"skc_1\"\n\
             identifier = \"mess\"\n\n\
             [services.gmail]\nconnection_name = \"gmail_u3134a\"\nidentifier = \"mess\"\n"
        );
        // Removing the only service keeps the header on top.
        update(&paths, |c| {
            c.set_default_identifier(None);
            assert!(c.remove_service("gmail"));
            Ok(())
        })
        .expect("update");
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            "# scalekit-auth configuration (no secrets; safe to share)\n\n\
             [scalekit]\nenv_url = \"https://acme.scalekit.dev\"\nclient_id = \"skc_1\"\n"
        );
    }

    #[test]
    fn header_stays_on_top_when_scalekit_is_added_later() {
        let (_tmp, paths) = temp_paths();
        add(&paths, "gmail", "g1", None);
        update(&paths, |c| {
            c.set_client_id("skc_1");
            Ok(())
        })
        .expect("update");
        let text = fs::read_to_string(paths.config_file()).expect("read");
        assert_eq!(
            text,
            "# scalekit-auth configuration (no secrets; safe to share)\n\n\
             [scalekit]\nclient_id = \"skc_1\"\n\n[services.gmail]\nconnection_name = \"g1\"\n"
        );
    }

    #[test]
    fn header_stays_on_top_when_the_first_table_is_removed() {
        let (_tmp, paths) = temp_paths();
        add(&paths, "gmail", "g1", None);
        add(&paths, "slack", "s1", None);
        assert!(update(&paths, |c| Ok(c.remove_service("gmail"))).expect("update"));
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            "# scalekit-auth configuration (no secrets; safe to share)\n\n\
             [services.slack]\nconnection_name = \"s1\"\n"
        );
        // A comment of the removed table alone goes with it.
        write(
            &paths.config_file(),
            "# gmail\n[services.gmail]\nconnection_name = \"g\"\n",
        );
        add(&paths, "slack", "s1", None);
        assert!(update(&paths, |c| Ok(c.remove_service("gmail"))).expect("update"));
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            "[services.slack]\nconnection_name = \"s1\"\n"
        );
    }

    #[test]
    fn comments_and_unknown_keys_survive_edits() {
        let (_tmp, paths) = temp_paths();
        write(&paths.config_file(), HAND_WRITTEN);
        update(&paths, |c| {
            c.set_service("gmail", "gmail_new", None);
            c.set_service("notion", "notion_1", Some("bot"));
            assert!(c.remove_service("slack"));
            assert!(!c.remove_service("absent"));
            Ok(())
        })
        .expect("update");
        let text = fs::read_to_string(paths.config_file()).expect("read");
        for kept in [
            "# my scalekit setup",
            "future_key = true",
            "# mail",
            "identifier = \"mess\"              # optional; overrides the default",
            "hosts = [\"gmail.googleapis.com\"]",
            "[extras]\nnote = \"kept\"",
            "connection_name = \"gmail_new\"",
        ] {
            assert!(text.contains(kept), "lost {kept:?} in:\n{text}");
        }
        assert!(!text.contains("slack"), "{text}");
        let config = load(&paths).expect("load");
        assert_eq!(config.services["gmail"].identifier.as_deref(), Some("mess"));
        assert_eq!(config.services["notion"].identifier.as_deref(), Some("bot"));
        assert_eq!(config.services["notion"].connection_name, "notion_1");

        // With an identifier, set_service replaces it and keeps its comment.
        update(&paths, |c| {
            c.set_service("gmail", "gmail_new", Some("other"));
            Ok(())
        })
        .expect("update");
        let text = fs::read_to_string(paths.config_file()).expect("read");
        assert!(
            text.contains("identifier = \"other\"              # optional"),
            "{text}"
        );
    }

    #[test]
    fn unusual_but_valid_layouts_are_edited_in_their_own_style() {
        let (_tmp, paths) = temp_paths();
        write(
            &paths.config_file(),
            "services = { gmail = { connection_name = \"g\" } }\n",
        );
        add(&paths, "slack", "s", Some("me"));
        assert_eq!(load(&paths).expect("load").services.len(), 2);

        write(
            &paths.config_file(),
            "services.gmail.connection_name = \"g\"\n",
        );
        add(&paths, "slack", "s", None);
        let config = load(&paths).expect("load");
        assert_eq!(config.services["slack"].connection_name, "s");
        assert_eq!(config.services["gmail"].connection_name, "g");
    }

    #[test]
    fn edit_sees_the_current_config() {
        let (_tmp, paths) = temp_paths();
        add(&paths, "gmail", "g1", None);
        let seen = update(&paths, |c| {
            c.set_service("slack", "s1", None);
            Ok(c.config()?.services.keys().cloned().collect::<Vec<_>>())
        })
        .expect("update");
        assert_eq!(seen, ["gmail", "slack"]);
    }

    #[test]
    fn twenty_concurrent_updates_lose_nothing() {
        let (_tmp, paths) = temp_paths();
        let paths = Arc::new(paths);
        let start = Arc::new(std::sync::Barrier::new(20));
        let threads: Vec<_> = (0..20)
            .map(|i| {
                let paths = Arc::clone(&paths);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    add(&paths, &format!("svc{i}"), &format!("conn{i}"), None);
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        let config = load(&paths).expect("load");
        assert_eq!(config.services.len(), 20, "{:?}", config.services.keys());
        assert_eq!(config.services["svc7"].connection_name, "conn7");
        assert_eq!(dir_names(&paths.dir), [".lock", "config.toml"]);
    }

    #[test]
    fn malformed_files_are_never_overwritten() {
        let (_tmp, paths) = temp_paths();
        let bad_config = "[services.gmail]\nconnection_name = 5 # keep me\n";
        write(&paths.config_file(), bad_config);
        let mut called = false;
        let err = update(&paths, |c| {
            called = true;
            c.set_service("x", "y", None);
            Ok(())
        })
        .expect_err("malformed");
        assert!(!called);
        assert_eq!(cli_error(&err).kind, ErrorKind::NotConfigured);
        assert!(
            cli_error(&err).message.contains(":2:19:"),
            "{}",
            cli_error(&err).message
        );
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            bad_config
        );
        assert!(
            save_init(
                &paths,
                Some(("https://a.example", &Secret::new("s"))),
                |_| Ok(())
            )
            .is_err()
        );
        assert_eq!(
            fs::read_to_string(paths.config_file()).expect("read"),
            bad_config
        );
        assert!(!paths.credentials_file().exists());

        let bad_credentials = "client_secret = \"unterminated\n";
        write(&paths.credentials_file(), bad_credentials);
        let err = write_client_secret(&paths, &Secret::new("new")).expect_err("malformed");
        assert!(
            cli_error(&err).message.contains("credentials.toml:1:"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(paths.credentials_file()).expect("read"),
            bad_credentials
        );
        assert_eq!(
            dir_names(&paths.dir),
            [".lock", "config.toml", "credentials.toml"]
        );
    }

    #[test]
    fn a_failed_edit_writes_nothing() {
        let (_tmp, paths) = temp_paths();
        let err = update(&paths, |c| -> anyhow::Result<()> {
            c.set_service("gmail", "g", None);
            anyhow::bail!("no")
        })
        .expect_err("edit fails");
        assert_eq!(err.to_string(), "no");
        assert!(!paths.config_file().exists());

        add(&paths, "gmail", "g", None);
        let before = fs::read(paths.config_file()).expect("read");
        let _ = update(&paths, |c| -> anyhow::Result<()> {
            c.remove_service("gmail");
            anyhow::bail!("no")
        });
        assert_eq!(fs::read(paths.config_file()).expect("read"), before);
        assert_eq!(dir_names(&paths.dir), [".lock", "config.toml"]);
    }

    #[test]
    fn a_no_op_edit_creates_no_file() {
        let (_tmp, paths) = temp_paths();
        let removed = update(&paths, |c| Ok(c.remove_service("gmail"))).expect("update");
        assert!(!removed);
        assert!(!paths.config_file().exists());
    }

    #[test]
    fn save_init_writes_both_or_nothing() {
        let (_tmp, paths) = temp_paths();
        let secret = Secret::new("s3cr3t");
        let err = save_init(
            &paths,
            Some(("https://a.example", &secret)),
            |c| -> anyhow::Result<()> {
                c.set_client_id("skc_1");
                anyhow::bail!("verification failed")
            },
        )
        .expect_err("fails");
        assert_eq!(err.to_string(), "verification failed");
        assert_eq!(dir_names(&paths.dir), [".lock"]);

        save_init(&paths, Some(("https://a.example", &secret)), |c| {
            c.set_env_url("https://acme.scalekit.dev");
            c.set_client_id("skc_1");
            Ok(())
        })
        .expect("save");
        assert_eq!(
            load(&paths).expect("load").client_id.as_deref(),
            Some("skc_1")
        );
        assert_eq!(load_client_secret(&paths).expect("secret"), Some(secret));
        assert_eq!(
            fs::read_to_string(paths.credentials_file()).expect("read"),
            "# scalekit-auth client secret (keep private)\nenv_url = \"https://a.example\"\nclient_secret = \"s3cr3t\"\n"
        );

        // None leaves credentials.toml alone.
        let before = fs::read(paths.credentials_file()).expect("read");
        save_init(&paths, None, |c| {
            c.set_client_id("skc_2");
            Ok(())
        })
        .expect("save");
        assert_eq!(fs::read(paths.credentials_file()).expect("read"), before);
        assert_eq!(
            dir_names(&paths.dir),
            [".lock", "config.toml", "credentials.toml"]
        );
    }

    #[test]
    fn client_secret_rewrite_keeps_other_keys_and_comments() {
        let (_tmp, paths) = temp_paths();
        write(
            &paths.credentials_file(),
            "# my note\nclient_secret = \"old\" # rotated monthly\nextra = \"x\"\n",
        );
        write_client_secret(&paths, &Secret::new("new")).expect("write");
        assert_eq!(
            fs::read_to_string(paths.credentials_file()).expect("read"),
            "# my note\nclient_secret = \"new\" # rotated monthly\nextra = \"x\"\nenv_url = \"https://acme.scalekit.dev\"\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn file_and_directory_modes() {
        use std::os::unix::fs::PermissionsExt as _;
        let (_tmp, paths) = temp_paths();
        write_client_secret(&paths, &Secret::new("s")).expect("write");
        assert_eq!(mode(&paths.dir), 0o700);
        assert_eq!(mode(&paths.credentials_file()), 0o600);
        assert_eq!(credentials_too_open(&paths), None);

        add(&paths, "gmail", "g", None);
        assert_eq!(mode(&paths.config_file()), 0o644);

        fs::set_permissions(paths.config_file(), fs::Permissions::from_mode(0o640)).expect("chmod");
        add(&paths, "slack", "s", None);
        assert_eq!(mode(&paths.config_file()), 0o640);

        // A too-open credentials file is reported, and a rewrite makes it 0600 again.
        fs::set_permissions(paths.credentials_file(), fs::Permissions::from_mode(0o644))
            .expect("chmod");
        assert_eq!(credentials_too_open(&paths), Some(0o644));
        write_client_secret(&paths, &Secret::new("t")).expect("write");
        assert_eq!(mode(&paths.credentials_file()), 0o600);

        // An existing directory keeps its mode (it may be the user's own, e.g. `.`).
        let (_tmp2, other) = temp_paths();
        fs::create_dir_all(&other.dir).expect("mkdir");
        fs::set_permissions(&other.dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        write_client_secret(&other, &Secret::new("s")).expect("write");
        assert_eq!(mode(&other.dir), 0o755);
        assert_eq!(mode(&other.credentials_file()), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_config_stays_a_symlink() {
        let (tmp, paths) = temp_paths();
        let real = tmp.path().join("dotfiles").join("config.toml");
        write(
            &real,
            "# linked\n[services.gmail]\nconnection_name = \"g\"\n",
        );
        fs::create_dir_all(&paths.dir).expect("mkdir");
        std::os::unix::fs::symlink(&real, paths.config_file()).expect("symlink");
        add(&paths, "slack", "s", None);
        assert!(
            fs::symlink_metadata(paths.config_file())
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::read_to_string(&real)
                .expect("read")
                .contains("[services.slack]")
        );
        assert_eq!(dir_names(real.parent().expect("parent")), ["config.toml"]);
    }
}

//! The configuration files' permissions and owners, for `status`'s warnings (SECURITY.md,
//! "Files"): `credentials.toml` writable by group or others, `config.toml` or the directory
//! writable by group or others, any of them owned by another user. (A `credentials.toml`
//! readable by group or others is `config::credentials_too_open`'s warning.)

use std::path::Path;

/// One warning per problem found, each with the command that fixes it. Missing files are
/// no problem here; on non-Unix systems nothing is checked.
pub(crate) fn warnings(dir: &Path, config_file: &Path, credentials_file: &Path) -> Vec<String> {
    #[cfg(unix)]
    {
        let me = rustix::process::geteuid().as_raw();
        let mut out = Vec::new();
        for (path, mask, what, fix) in [
            (
                credentials_file,
                0o022,
                "writable by group or others",
                "chmod 600",
            ),
            (
                config_file,
                0o022,
                "writable by group or others",
                "chmod go-w",
            ),
            (dir, 0o022, "writable by group or others", "chmod go-w"),
        ] {
            out.extend(check(path, mask, what, fix, me));
        }
        out
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, config_file, credentials_file);
        Vec::new()
    }
}

/// The warnings for one path: its mode against `mask`, and its owner against `me`.
#[cfg(unix)]
fn check(path: &Path, mask: u32, what: &str, fix: &str, me: u32) -> Vec<String> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    // The link itself would tell nothing: follow it, as every read and write does.
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    let shown = path.display();
    let mut out = Vec::new();
    let mode = meta.permissions().mode() & 0o777;
    // A credentials file readable by others has its own warning, which says `chmod 600` too.
    let said_already = fix == "chmod 600" && mode & 0o044 != 0;
    if mode & mask != 0 && !said_already {
        out.push(format!(
            "{shown} is {what} (mode {mode:03o}); run: {fix} {shown}"
        ));
    }
    if meta.uid() != me {
        out.push(format!(
            "{shown} is owned by another user (uid {}), who can change it; run: chown {me} {shown}",
            meta.uid()
        ));
    }
    out
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn every_open_mode_is_named_and_safe_modes_are_quiet() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cfg");
        std::fs::create_dir(&dir).unwrap();
        let config = dir.join("config.toml");
        let creds = dir.join("credentials.toml");
        std::fs::write(&config, "").unwrap();
        std::fs::write(&creds, "").unwrap();
        let set = |p: &Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        set(&dir, 0o700);
        set(&config, 0o644);
        set(&creds, 0o600);
        assert_eq!(warnings(&dir, &config, &creds), Vec::<String>::new());
        for (path, mode) in [
            (&creds, 0o620),
            (&creds, 0o602),
            (&config, 0o664),
            (&config, 0o646),
            (&dir, 0o770),
            (&dir, 0o707),
        ] {
            let before = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            set(path, mode);
            let found = warnings(&dir, &config, &creds);
            assert_eq!(found.len(), 1, "{path:?} {mode:o}: {found:?}");
            assert!(found[0].contains(&format!("mode {mode:03o}")), "{found:?}");
            set(path, before);
        }
        // Readable is config::credentials_too_open's warning, not a second one here.
        set(&creds, 0o666);
        assert_eq!(warnings(&dir, &config, &creds), Vec::<String>::new());
        set(&creds, 0o600);
        // Missing files are no problem.
        std::fs::remove_file(&creds).unwrap();
        assert_eq!(warnings(&dir, &config, &creds), Vec::<String>::new());
    }
}

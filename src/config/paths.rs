//! Where the configuration lives.

use std::path::PathBuf;

use crate::error::CliError;

/// The lock file, in the config directory, that serializes writers across processes.
const LOCK_FILE: &str = ".lock";

/// Where `config.toml` and `credentials.toml` live (`--config-dir`, else the platform's
/// config directory), so that tests and users can point the tool anywhere.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) dir: PathBuf,
}

impl Paths {
    /// `dir`, or the `directories` crate's config dir for `scalekit-auth` when `dir` is
    /// `None` or empty (Linux: `$XDG_CONFIG_HOME/scalekit-auth` or
    /// `~/.config/scalekit-auth`).
    pub(crate) fn new(dir: Option<PathBuf>) -> anyhow::Result<Paths> {
        if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) {
            return Ok(Paths { dir });
        }
        let dirs = directories::ProjectDirs::from("", "", "scalekit-auth").ok_or_else(|| {
            CliError::usage("cannot find the home directory to put the configuration in")
                .with_hint("pass --config-dir DIR or set SCALEKIT_AUTH_CONFIG_DIR")
        })?;
        Ok(Paths {
            dir: dirs.config_dir().to_path_buf(),
        })
    }

    /// `<dir>/config.toml`: service mappings and non-secret credentials.
    pub(crate) fn config_file(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    /// `<dir>/credentials.toml`: the client secret, mode 0600.
    pub(crate) fn credentials_file(&self) -> PathBuf {
        self.dir.join("credentials.toml")
    }

    pub(super) fn lock_file(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    // --- Paths -----------------------------------------------------------------------------

    #[test]
    fn paths_name_the_two_files() {
        let paths = Paths::new(Some(PathBuf::from("/x/y"))).expect("paths");
        assert_eq!(paths.config_file(), Path::new("/x/y/config.toml"));
        assert_eq!(paths.credentials_file(), Path::new("/x/y/credentials.toml"));
        // Empty counts as unset: the platform default.
        let default = Paths::new(Some(PathBuf::new()));
        if let Ok(default) = default {
            assert!(default.dir.ends_with("scalekit-auth"), "{:?}", default.dir);
        }
    }
}

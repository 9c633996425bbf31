//! Where the agent's socket lives, and who may use it (cli.md `agent`): a 0700 directory
//! owned by the user, a 0600 socket, and the peer's uid checked on every connection.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixStream;

/// The socket's file name inside the agent's directory.
const SOCKET_NAME: &str = "agent.sock";

/// This process's real uid.
pub(crate) fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// `$SCALEKIT_AUTH_AGENT_SOCK`, else `$XDG_RUNTIME_DIR/scalekit-auth/agent.sock`, else
/// `scalekit-auth-<uid>/agent.sock` under the temp dir. Empty values count as unset.
pub(crate) fn path(explicit: Option<&str>, runtime_dir: Option<&str>) -> PathBuf {
    if let Some(path) = explicit.filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    match runtime_dir.filter(|d| !d.is_empty()) {
        Some(dir) => Path::new(dir).join("scalekit-auth").join(SOCKET_NAME),
        None => std::env::temp_dir()
            .join(format!("scalekit-auth-{}", own_uid()))
            .join(SOCKET_NAME),
    }
}

/// Creates the socket's directory 0700 if it is missing, and checks an existing one: a real
/// directory (not a symlink), owned by this user, closed to group and others. In a shared
/// temp dir another user could have made it first, to listen in or to serve false tokens.
pub(crate) fn prepare_dir(socket: &Path) -> io::Result<()> {
    let dir = parent(socket);
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            return Ok(());
        }
        Err(err) => return Err(err),
    }
    check_dir(dir)
}

/// An existing socket directory is usable: a directory we own, mode without group/other bits.
pub(crate) fn check_dir(dir: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: {why}", dir.display()),
        ))
    };
    if !meta.is_dir() {
        return refuse("not a directory");
    }
    if meta.uid() != own_uid() {
        return refuse("owned by another user");
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return refuse("open to other users (it must be mode 0700)");
    }
    Ok(())
}

/// The socket file's mode: only its owner may connect.
pub(crate) fn restrict(socket: &Path) -> io::Result<()> {
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
}

/// The directory a socket path lives in (`.` for a bare file name).
pub(crate) fn parent(socket: &Path) -> &Path {
    match socket.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Whether the process at the other end runs as `uid` (`SO_PEERCRED` / `getpeereid`).
/// Both sides check: the agent serves only its own user, and a client trusts only an agent
/// of its own user.
pub(crate) fn peer_is(stream: &UnixStream, uid: u32) -> bool {
    stream.peer_cred().is_ok_and(|cred| cred.uid() == uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_path_follows_the_contract() {
        assert_eq!(
            path(Some("/x/s.sock"), Some("/run/user/1")),
            PathBuf::from("/x/s.sock")
        );
        assert_eq!(
            path(Some(""), Some("/run/user/1")),
            PathBuf::from("/run/user/1/scalekit-auth/agent.sock")
        );
        let fallback = path(None, Some(""));
        assert!(fallback.starts_with(std::env::temp_dir()));
        assert!(fallback.ends_with(format!("scalekit-auth-{}/agent.sock", own_uid())));
    }

    #[test]
    fn directories_open_to_others_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("d").join("agent.sock");
        prepare_dir(&sock).unwrap();
        let dir = tmp.path().join("d");
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        prepare_dir(&sock).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = prepare_dir(&sock).unwrap_err();
        assert!(err.to_string().contains("0700"), "{err}");
        // A symlink to a private directory is refused too: it could be swapped.
        let link = tmp.path().join("l");
        std::os::unix::fs::symlink(tmp.path().join("d"), &link).unwrap();
        assert!(check_dir(&link).is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_peer_of_another_uid_is_refused() {
        let (a, b) = UnixStream::pair().unwrap();
        assert!(peer_is(&a, own_uid()));
        assert!(peer_is(&b, own_uid()));
        assert!(!peer_is(&a, own_uid().wrapping_add(1)));
    }
}

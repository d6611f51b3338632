//! Creating the socket file: directory, stale file, permissions.

use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use super::SocketError;

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SocketError + 'a {
    move |source| SocketError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Binds the control socket at `path`: creates the parent directory (0755) if missing,
/// removes a stale socket nobody listens on, and sets the file's mode to 0600, or to 0660
/// with `group` as its group. The listener is non-blocking, ready for tokio.
///
/// Between `bind` and `chmod` the file briefly has the umask's mode; connections accepted
/// then are still subject to the credential check of every connection.
pub fn bind(path: &Path, group: Option<u32>) -> Result<UnixListener, SocketError> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(io_err("cannot create the directory of", path))?;
    }
    remove_stale(path)?;
    let listener = UnixListener::bind(path).map_err(io_err("cannot bind", path))?;
    listener
        .set_nonblocking(true)
        .map_err(io_err("cannot set non-blocking mode on", path))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid))
            .map_err(io_err("cannot change the group of", path))?;
    }
    let mode = if group.is_some() { 0o660 } else { 0o600 };
    fs::set_permissions(path, Permissions::from_mode(mode))
        .map_err(io_err("cannot set the mode of", path))?;
    Ok(listener)
}

/// Removes a socket file left by a daemon that is gone; refuses to touch a live socket or
/// anything that is not a socket.
pub fn remove_stale(path: &Path) -> Result<(), SocketError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("cannot inspect", path)(e)),
    };
    if !meta.file_type().is_socket() {
        return Err(SocketError::NotASocket(path.to_path_buf()));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(SocketError::InUse(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            log::info!("removing stale control socket {}", path.display());
            fs::remove_file(path).map_err(io_err("cannot remove the stale socket", path))
        }
        Err(e) => Err(io_err("cannot probe", path)(e)),
    }
}

//! Small file helpers for the key directory. Every write goes to a temporary file first, so a crash
//! never leaves a half-written key behind for the next start to choke on.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use crate::ReceiptError;

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ReceiptError {
    let path = path.to_path_buf();
    move |source| ReceiptError::Io {
        action,
        path,
        source,
    }
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), ReceiptError> {
    fs::create_dir_all(dir).map_err(io_error("create directory", dir))
}

/// The file's text, or `None` if it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<String>, ReceiptError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error("read", path)(error)),
    }
}

/// Creates `path` with `text`, readable by the owner only, unless it already exists.
///
/// Returns `false`, writing nothing, when `path` already exists. The text is written and synced
/// to a temporary file that is then hard-linked into place: linking fails rather than overwrites,
/// so two processes starting at once cannot end up with different keys.
pub(crate) fn create_private(path: &Path, text: &str) -> Result<bool, ReceiptError> {
    let temporary = temporary_sibling(path);
    write_synced(&temporary, text, Permissions::OwnerOnly)?;
    let linked = fs::hard_link(&temporary, path);
    let _ = fs::remove_file(&temporary); // Best effort: the key is safe at `path` either way.
    match linked {
        Ok(()) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(io_error("create", path)(error)),
    }
}

/// Atomically replaces `path` with `text` (default permissions). Leaves an identical file alone,
/// so a read-only key directory that is already up to date still works.
pub(crate) fn replace_public(path: &Path, text: &str) -> Result<(), ReceiptError> {
    if read_if_exists(path)?.as_deref() == Some(text) {
        return Ok(());
    }
    let temporary = temporary_sibling(path);
    write_synced(&temporary, text, Permissions::Default)?;
    fs::rename(&temporary, path).map_err(|error| {
        let _ = fs::remove_file(&temporary);
        io_error("replace", path)(error)
    })?;
    sync_parent(path)
}

enum Permissions {
    OwnerOnly,
    Default,
}

fn write_synced(path: &Path, text: &str, permissions: Permissions) -> Result<(), ReceiptError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if let Permissions::OwnerOnly = permissions {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = permissions;
    let mut file = options.open(path).map_err(io_error("create", path))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| {
            let _ = fs::remove_file(path);
            io_error("write", path)(error)
        })
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{:016x}", rand::random::<u64>()));
    path.with_file_name(name)
}

/// Makes a new directory entry durable; only meaningful (and only possible) on unix.
fn sync_parent(path: &Path) -> Result<(), ReceiptError> {
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error("sync directory", parent))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

//! Durable writes: a temporary file beside the target, written, synced and renamed
//! over it, so a reader or a crash sees the old file or the whole new one; space
//! reserved before the bytes are written, so a full disk fails early.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Reserves the blocks of a temporary file about to receive `len` bytes, as
/// `np.save` does before writing its data: on ext4 the write is then about twice as
/// fast and no block allocation is left for the close. A full disk is reported here,
/// before anything is written; a filesystem that cannot reserve is not an error.
pub(crate) fn reserve_space(file: &File, len: u64, path: &Path) -> Result<()> {
    match super::os::reserve_blocks(file, len) {
        Err(e) if e.kind() != std::io::ErrorKind::Unsupported => {
            Err(Error::io(path, "reserve disk space", e))
        }
        _ => Ok(()),
    }
}

/// Whether [`atomic_write`] waits for the bytes to reach the disk before renaming.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Sync the file before the rename and the directory after: after a crash,
    /// `path` holds the old bytes or all of the new ones.
    Synced,
    /// Rename without syncing: atomic for other processes and against a crash of
    /// this one (and a fresh file of zeros has nothing worth syncing; syncing would
    /// make creating a huge sparse file cost milliseconds).
    Unsynced,
}

/// Runs `write` on a fresh temporary file next to `path`, syncs it (as asked) and
/// renames it to `path`; on any failure the temporary file is removed and `path` is
/// untouched.
pub(crate) fn atomic_write(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&File) -> Result<()>,
) -> Result<()> {
    let (temp_path, file) = create_temp_beside(path)?;
    let synced = durability == Durability::Synced;
    let result = write(&file)
        .and_then(|()| match synced {
            true => file
                .sync_all()
                .map_err(|e| Error::io(&temp_path, "sync", e)),
            false => Ok(()),
        })
        .and_then(|()| {
            std::fs::rename(&temp_path, path)
                .map_err(|e| Error::io(path, "rename temporary file", e))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp_path);
        return result;
    }
    if synced {
        sync_parent_dir(path);
    }
    Ok(())
}

pub(crate) fn create_temp_beside(path: &Path) -> Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&temp, "create temporary file", e)),
        }
    }
}

/// Makes the rename durable where the platform allows it; best effort.
pub(crate) fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

//! Durable directories: a store of many files (a Dask npy-stack, a Zarr store) is
//! written into a temporary directory beside its target, synced, and only then given
//! the target's name, so a reader or a crash sees the old store or the whole new one.
//!
//! The temporary directory is `.NAME.npmap-K.tmpdir` (K = 0, 1, ...: the first free
//! one). Its writer holds an exclusive `flock` on it until it is published, so one
//! whose lock is free was left by a writer that died: the next writer to the same
//! target removes it. An existing store is replaced by exchanging the two names
//! (`renameat2(RENAME_EXCHANGE)` on Linux) and removing the old one afterwards; where
//! names cannot be exchanged, the old store is renamed aside first, which leaves a
//! moment without a store at the target (never a partial one).

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::durable::sync_parent_dir;
use super::os;
use crate::error::{Error, Result};

/// A temporary directory beside a target, removed when dropped unless published.
pub(crate) struct TempDir {
    path: PathBuf,
    /// Holds the directory's `flock` while it is written.
    lock: Option<File>,
    published: bool,
}

impl TempDir {
    /// Creates and locks the first free temporary name beside `target`; removes the
    /// temporary directories of dead writers to the same target.
    pub(crate) fn beside(target: &Path) -> Result<TempDir> {
        let (dir, name) = split(target);
        let mut k = 0u32;
        loop {
            let path = slot(&dir, &name, k);
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    let lock = os::open_to_lock(&path)
                        .map_err(|e| Error::io(&path, "open temporary directory", e))?;
                    match os::try_lock(&lock) {
                        // A writer sweeping dead writers' directories got it first.
                        Ok(false) => {}
                        Ok(true) => {
                            sweep(&dir, &name, k + 1);
                            return Ok(TempDir {
                                path,
                                lock: Some(lock),
                                published: false,
                            });
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                            return Ok(TempDir {
                                path,
                                lock: None,
                                published: false,
                            });
                        }
                        Err(e) => return Err(Error::io(&path, "lock temporary directory", e)),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if remove_if_abandoned(&path) {
                        continue;
                    }
                }
                Err(e) => return Err(Error::io(&path, "create temporary directory", e)),
            }
            k += 1;
        }
    }

    /// Where the files go.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs the directory (its files must be synced already) and gives it the name
    /// `target`. An existing non-empty `target` is replaced only after
    /// `check_replaceable` accepts it (its error is returned otherwise, with nothing
    /// changed).
    pub(crate) fn publish(
        mut self,
        target: &Path,
        check_replaceable: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(&self.path, "sync temporary directory", e))?;
        match std::fs::rename(&self.path, target) {
            Ok(()) => {}
            // A non-empty directory (ENOTEMPTY / EEXIST) or a file (ENOTDIR) is there.
            Err(e) if target.exists() => {
                check_replaceable(target)?;
                if !std::fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
                    return Err(Error::io(target, "replace (it is not a directory)", e));
                }
                self.replace(target)?;
            }
            Err(e) => return Err(Error::io(target, "rename temporary directory", e)),
        }
        self.published = true;
        drop(self.lock.take());
        sync_parent_dir(target);
        Ok(())
    }

    /// Puts the new directory at `target` and removes the old one.
    fn replace(&mut self, target: &Path) -> Result<()> {
        match os::exchange(&self.path, target) {
            Ok(()) => {
                // The old store now has the temporary name; its removal can fail
                // without harm to the new one (the next writer sweeps it).
                drop(self.lock.take());
                let _ = std::fs::remove_dir_all(&self.path);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                let (dir, name) = split(target);
                let mut aside = OsString::from(".");
                aside.push(&name);
                aside.push(".npmap-old.tmpdir");
                let aside = dir.join(aside);
                let _ = std::fs::remove_dir_all(&aside);
                std::fs::rename(target, &aside)
                    .map_err(|e| Error::io(target, "move the old store aside", e))?;
                if let Err(e) = std::fs::rename(&self.path, target) {
                    let _ = std::fs::rename(&aside, target);
                    return Err(Error::io(target, "rename temporary directory", e));
                }
                let _ = std::fs::remove_dir_all(&aside);
                Ok(())
            }
            Err(e) => Err(Error::io(target, "exchange with temporary directory", e)),
        }
    }
}

/// Syncs every file under `dir`, then every directory (deepest first), then `dir`:
/// after this a crash keeps the whole tree.
#[cfg(feature = "zarr")]
pub(crate) fn sync_tree(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list directory", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "list directory", e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, "stat", e))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(&path, "sync file", e))?;
        }
    }
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, "sync directory", e))?;
    Ok(())
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn split(target: &Path) -> (PathBuf, OsString) {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    (dir, target.file_name().unwrap_or_default().to_os_string())
}

fn slot(dir: &Path, name: &OsString, k: u32) -> PathBuf {
    let mut slot = OsString::from(".");
    slot.push(name);
    slot.push(format!(".npmap-{k}.tmpdir"));
    dir.join(slot)
}

/// Removes the abandoned temporary directories from `from` on, up to the first free
/// name.
fn sweep(dir: &Path, name: &OsString, from: u32) {
    for k in from.. {
        let path = slot(dir, name, k);
        if std::fs::symlink_metadata(&path).is_err() {
            return;
        }
        remove_if_abandoned(&path);
    }
}

/// Removes the temporary directory `path` if no writer holds its lock. True when the
/// name is free afterwards.
fn remove_if_abandoned(path: &Path) -> bool {
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if !is_dir {
        return false;
    }
    let Ok(lock) = os::open_to_lock(path) else {
        return false;
    };
    if !matches!(os::try_lock(&lock), Ok(true)) {
        return false;
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

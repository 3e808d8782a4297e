//! Durable writes: a temporary file beside the target, written, synced and renamed
//! over it, so a reader or a crash sees the old file or the whole new one; space
//! reserved before the bytes are written, so a full disk fails early.
//!
//! The temporary file has no name while it is written where the OS allows it
//! (`O_TMPFILE` on Linux): a writer killed then leaves nothing behind. Once written,
//! it is linked to a name of the pattern `.NAME.npmap-K.tmp` (K = 0, 1, ...: the
//! first free one) and renamed over the target. Where there are no unnamed files, it
//! has that name from the start. Each writer holds an exclusive `flock` on its
//! temporary file for as long as the file has a name, so a name whose file nobody
//! holds was left by a writer that died (between the link and the rename, or during a
//! named write): the next writer to the same target removes it.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::os;
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

/// What the finished temporary file may take the place of.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replace {
    /// Whatever `path` names (a rename).
    Any,
    /// Nothing: the file takes the name only if it is free (a link, which never
    /// replaces), so that two writers creating one path cannot both succeed.
    Nothing,
}

/// Runs `write` on a fresh temporary file next to `path`, syncs it (as asked) and
/// renames it to `path`; on any failure the temporary file is removed and `path` is
/// untouched.
pub(crate) fn atomic_write(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&File) -> Result<()>,
) -> Result<()> {
    let temp = write_and_persist(path, durability, Replace::Any, write)?;
    if let Some(temp) = temp {
        // A clone `write` kept (a mapping of the new file) must not keep the lock.
        let _ = os::unlock(&temp);
    }
    Ok(())
}

/// [`atomic_write`], synced, with the file's exclusive `flock` kept: on the open file
/// description that clones of the `File` handed to `write` share, so a clone taken in
/// `write` holds it on the file at `path`. With [`Replace::Nothing`], returns `false`
/// (having written nothing at `path`) when `path` already exists.
pub(crate) fn atomic_write_locked(
    path: &Path,
    replace: Replace,
    write: impl FnOnce(&File) -> Result<()>,
) -> Result<bool> {
    write_and_persist(path, Durability::Synced, replace, write).map(|temp| temp.is_some())
}

/// The temporary file's `File` once it is at `path`; `None` when `replace` is
/// [`Replace::Nothing`] and `path` exists.
fn write_and_persist(
    path: &Path,
    durability: Durability,
    replace: Replace,
    write: impl FnOnce(&File) -> Result<()>,
) -> Result<Option<File>> {
    let mut temp = TempFile::beside(path)?;
    // What `write` reports without a path (a writer's errors) is about `path`.
    write(&temp.file).map_err(|e| e.in_file(path))?;
    if durability == Durability::Synced {
        temp.file
            .sync_all()
            .map_err(|e| Error::io(temp.name_for_errors(path), "sync", e))?;
    }
    if !temp.persist(path, replace)? {
        return Ok(None);
    }
    if durability == Durability::Synced {
        sync_parent_dir(path);
    }
    Ok(Some(temp.file))
}

/// A named temporary file beside `path`, locked, for writers that rename it
/// themselves (and remove it on failure).
pub(crate) fn create_temp_beside(path: &Path) -> Result<(PathBuf, File)> {
    let slots = Slots::beside(path);
    let (name, file, k) = slots.create_named()?;
    slots.sweep(k + 1);
    Ok((name, file))
}

/// The temporary names of one target: `.NAME.npmap-K.tmp` in its directory.
struct Slots {
    dir: PathBuf,
    name: OsString,
}

impl Slots {
    fn beside(path: &Path) -> Slots {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Slots {
            dir: dir.to_path_buf(),
            name: path.file_name().unwrap_or_default().to_os_string(),
        }
    }

    fn slot(&self, k: u32) -> PathBuf {
        let mut name = OsString::from(".");
        name.push(&self.name);
        name.push(format!(".npmap-{k}.tmp"));
        self.dir.join(name)
    }

    /// Creates the first free name, locked; a dead writer's name is taken over.
    fn create_named(&self) -> Result<(PathBuf, File, u32)> {
        self.claim(|p| {
            let file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(p)?;
            match os::try_lock(&file) {
                // A writer that found the name before the lock takes it is removing it.
                Ok(false) => Ok(None),
                Ok(true) => Ok(Some(file)),
                Err(e) if e.kind() == std::io::ErrorKind::Unsupported => Ok(Some(file)),
                Err(e) => Err(e),
            }
        })
        .map_err(|(p, e)| Error::io(&p, "create temporary file", e))
    }

    /// Links the unnamed `file` to the first free name.
    fn link(&self, file: &File) -> Result<(PathBuf, u32)> {
        self.claim(|p| os::link_unnamed(file, p).map(Some))
            .map(|(p, (), k)| (p, k))
            .map_err(|(p, e)| Error::io(&p, "name temporary file", e))
    }

    /// Runs `take` on the names in order until it takes one (`Some`). A name that
    /// exists is removed and tried again if its writer is dead, skipped otherwise;
    /// `take` answering `None` skips the name too.
    fn claim<T>(
        &self,
        mut take: impl FnMut(&Path) -> std::io::Result<Option<T>>,
    ) -> std::result::Result<(PathBuf, T, u32), (PathBuf, std::io::Error)> {
        let mut k = 0;
        let mut retried = false;
        loop {
            let p = self.slot(k);
            match take(&p) {
                Ok(Some(t)) => return Ok((p, t, k)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && !retried => {
                    if remove_if_abandoned(&p) {
                        retried = true;
                        continue;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Ok(None) => {}
                Err(e) => return Err((p, e)),
            }
            k += 1;
            retried = false;
        }
    }

    /// Removes the abandoned names from `from` on, up to the first free one.
    fn sweep(&self, from: u32) {
        for k in from.. {
            let p = self.slot(k);
            if std::fs::symlink_metadata(&p).is_err() {
                return;
            }
            remove_if_abandoned(&p);
        }
    }
}

/// Removes the temporary file `path` if no writer holds it: its lock is free, so its
/// writer died. True when the name is free afterwards.
fn remove_if_abandoned(path: &Path) -> bool {
    let file = match os::open_to_lock(path) {
        Ok(file) => file,
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    let regular = file.metadata().is_ok_and(|m| m.is_file());
    // Holding its lock, nobody else takes it over while it is checked and removed.
    if !regular || !matches!(os::try_lock(&file), Ok(true)) {
        return false;
    }
    if !matches!(os::same_file(&file, path, false), Ok(true)) {
        return false;
    }
    match std::fs::remove_file(path) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// A temporary file being written: unnamed, or named and removed when dropped
/// before it is persisted.
struct TempFile {
    file: File,
    name: NameGuard,
    slot: Option<u32>,
    slots: Slots,
}

/// The temporary file's name while it has one that is not the target's; removed
/// when dropped.
struct NameGuard(Option<PathBuf>);

impl Drop for NameGuard {
    fn drop(&mut self) {
        if let Some(name) = self.0.take() {
            let _ = std::fs::remove_file(name);
        }
    }
}

impl TempFile {
    fn beside(path: &Path) -> Result<TempFile> {
        let slots = Slots::beside(path);
        let unnamed = os::open_unnamed(&slots.dir)
            .map_err(|e| Error::io(path, "create temporary file", e))?;
        if let Some(file) = unnamed {
            // Fresh, it cannot be held by anyone else; unsupported locks are no error.
            let _ = os::try_lock(&file);
            return Ok(TempFile {
                file,
                name: NameGuard(None),
                slot: None,
                slots,
            });
        }
        TempFile::named(slots)
    }

    /// The fallback: a temporary file named from the start.
    fn named(slots: Slots) -> Result<TempFile> {
        let (name, file, k) = slots.create_named()?;
        Ok(TempFile {
            file,
            name: NameGuard(Some(name)),
            slot: Some(k),
            slots,
        })
    }

    fn name_for_errors<'a>(&'a self, path: &'a Path) -> &'a Path {
        self.name.0.as_deref().unwrap_or(path)
    }

    /// Gives the file the name `path`; false when `replace` is `Nothing` and `path`
    /// exists. Abandoned temporary files of `path` are removed after a rename.
    fn persist(&mut self, path: &Path, replace: Replace) -> Result<bool> {
        if replace == Replace::Nothing {
            return self.persist_new(path);
        }
        let name = match self.name.0.take() {
            Some(name) => name,
            None => {
                let (name, k) = self.slots.link(&self.file)?;
                self.slot = Some(k);
                name
            }
        };
        let renamed = std::fs::rename(&name, path);
        if let Err(e) = renamed {
            self.name.0 = Some(name);
            return Err(Error::io(path, "rename temporary file", e));
        }
        if let Some(k) = self.slot {
            self.slots.sweep(k + 1);
        }
        Ok(true)
    }

    fn persist_new(&mut self, path: &Path) -> Result<bool> {
        let linked = match &self.name.0 {
            None => os::link_unnamed(&self.file, path),
            Some(name) => std::fs::hard_link(name, path),
        };
        match linked {
            Ok(()) => {
                // Dropping the guard removes the temporary name.
                self.name = NameGuard(None);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            // A named file on a filesystem without hard links: rename, which cannot
            // refuse to replace a file created meanwhile.
            Err(_) if self.name.0.is_some() => self.persist(path, Replace::Any),
            Err(e) => Err(Error::io(path, "link temporary file", e)),
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::error::ErrorKind;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// What a filesystem without unnamed files gets.
    #[test]
    fn named_temporary_files_take_the_first_free_name_and_are_never_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npy");
        std::fs::write(&path, b"old").unwrap();
        let mut temp = TempFile::named(Slots::beside(&path)).unwrap();
        assert_eq!(names(dir.path()), [".t.npy.npmap-0.tmp", "t.npy"]);
        // A second writer meanwhile: the next name.
        let (second, second_file) = create_temp_beside(&path).unwrap();
        assert_eq!(second, dir.path().join(".t.npy.npmap-1.tmp"));
        (&temp.file).write_all(b"new").unwrap();
        assert!(temp.persist(&path, Replace::Any).unwrap());
        drop(temp);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), [".t.npy.npmap-1.tmp", "t.npy"]);
        // Not replacing an existing file: refused, and the name is removed with it.
        let mut temp = TempFile::named(Slots::beside(&path)).unwrap();
        (&temp.file).write_all(b"newer").unwrap();
        assert!(!temp.persist(&path, Replace::Nothing).unwrap());
        drop(temp);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), [".t.npy.npmap-1.tmp", "t.npy"]);
        // Nothing there: linked, and the temporary name gone.
        let fresh = dir.path().join("u.npy");
        let mut temp = TempFile::named(Slots::beside(&fresh)).unwrap();
        (&temp.file).write_all(b"u").unwrap();
        assert!(temp.persist(&fresh, Replace::Nothing).unwrap());
        drop(temp);
        assert_eq!(std::fs::read(&fresh).unwrap(), b"u");
        assert_eq!(names(dir.path()), [".t.npy.npmap-1.tmp", "t.npy", "u.npy"]);
        // The second writer's file, once it is closed, is a dead writer's: removed.
        drop(second_file);
        let mut temp = TempFile::named(Slots::beside(&path)).unwrap();
        (&temp.file).write_all(b"last").unwrap();
        assert!(temp.persist(&path, Replace::Any).unwrap());
        drop(temp);
        assert_eq!(names(dir.path()), ["t.npy", "u.npy"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"last");
    }

    #[test]
    fn a_failed_write_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npy");
        std::fs::write(&path, b"old").unwrap();
        let failed = atomic_write(&path, Durability::Synced, |file| {
            let mut file = file;
            file.write_all(b"partial").unwrap();
            Err(Error::io(
                &path,
                "write",
                std::io::ErrorKind::StorageFull.into(),
            ))
        });
        assert!(matches!(
            failed.as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::Io {
                action: "write",
                ..
            })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["t.npy"]);
    }

    #[test]
    fn creating_without_replacing_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npy");
        let write = |bytes: &'static [u8]| {
            move |file: &File| {
                let mut file = file;
                file.write_all(bytes)
                    .map_err(|e| Error::io(Path::new("t"), "write", e))
            }
        };
        assert!(atomic_write_locked(&path, Replace::Nothing, write(b"first")).unwrap());
        assert!(!atomic_write_locked(&path, Replace::Nothing, write(b"second")).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert!(atomic_write_locked(&path, Replace::Any, write(b"third")).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"third");
        assert_eq!(names(dir.path()), ["t.npy"]);
    }
}

//! Directories written whole and moved into place (Zarr stores): a temporary directory
//! beside the target, every file in it synced, then one rename (`RENAME_NOREPLACE`, or
//! `RENAME_EXCHANGE` over an old store) so a reader sees the old tree or the whole new
//! one. Only built with the `zarr` feature.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::durable::sync_parent_dir;
use super::os;
use crate::error::{Error, Result};

/// A new, empty directory beside `path` for a store to be built in and then moved
/// onto `path` with [`publish_dir`]: `.NAME.npmap-PID-K.tmp`, K the first free number.
/// A writer that dies leaves it behind (the name says which process made it).
pub(crate) fn create_temp_dir_beside(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| {
            Error::io(
                path,
                "create temporary directory",
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "expected a path that ends in a name",
                ),
            )
        })?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let pid = std::process::id();
    for k in 0u32.. {
        let temp = dir.join(format!(".{name}.npmap-{pid}-{k}.tmp"));
        match std::fs::create_dir(&temp) {
            Ok(()) => return Ok(temp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&temp, "create temporary directory", e)),
        }
    }
    unreachable!("u32 temporary names run out only after 4 billion live writers")
}

/// Syncs every file under `dir`, then every directory (deepest first), then `dir`:
/// after this a crash keeps the whole tree.
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

/// Whether `path` names an existing directory that holds Zarr metadata
/// (`zarr.json`, `.zarray` or `.zgroup`): what [`publish_dir`] may replace.
fn is_zarr_store(path: &Path) -> bool {
    ["zarr.json", ".zarray", ".zgroup"]
        .iter()
        .any(|m| path.join(m).is_file())
}

/// Moves the finished directory `temp` (from [`create_temp_dir_beside`], synced) onto
/// `path`, then syncs `path`'s parent. Without `overwrite`, an existing `path` is an
/// `AlreadyExists` error (checked by the rename itself where Linux allows). With it,
/// an existing Zarr store at `path` is replaced in one step where Linux allows
/// (`RENAME_EXCHANGE`, then the old store is removed), so a reader sees the old store
/// or the new one, never a mix; elsewhere the old store is first renamed aside. Any
/// other existing entry at `path` is never replaced. On failure `temp` is removed.
pub(crate) fn publish_dir(temp: &Path, path: &Path, overwrite: bool) -> Result<()> {
    let result = publish(temp, path, overwrite);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(temp);
    }
    result
}

fn publish(temp: &Path, path: &Path, overwrite: bool) -> Result<()> {
    let exists = || path.symlink_metadata().is_ok();
    let refuse = |what: String| {
        Err(Error::io(
            path,
            "create Zarr store",
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, what),
        ))
    };
    if exists() {
        if !overwrite {
            return refuse(
                "expected no file or directory there, found one; set overwrite to replace a store"
                    .into(),
            );
        }
        if !is_zarr_store(path) {
            return refuse("expected nothing or a Zarr store (zarr.json, .zarray or .zgroup) to replace, found something else; npmap replaces only stores".into());
        }
        match os::rename_dir(temp, path, os::RenameMode::Exchange) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                // Not atomic: the old store goes aside, then the new one takes its name.
                let aside = create_temp_dir_beside(path)?;
                std::fs::remove_dir(&aside).map_err(|e| Error::io(&aside, "remove", e))?;
                std::fs::rename(path, &aside)
                    .map_err(|e| Error::io(path, "move old store aside", e))?;
                if let Err(e) = std::fs::rename(temp, path) {
                    let _ = std::fs::rename(&aside, path);
                    return Err(Error::io(path, "rename store into place", e));
                }
                sync_parent_dir(path);
                return std::fs::remove_dir_all(&aside)
                    .map_err(|e| Error::io(&aside, "remove old store", e));
            }
            Err(e) => return Err(Error::io(path, "exchange store", e)),
        }
        sync_parent_dir(path);
        // `temp` now names the old store.
        return std::fs::remove_dir_all(temp).map_err(|e| Error::io(temp, "remove old store", e));
    }
    match os::rename_dir(temp, path, os::RenameMode::NoReplace) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return refuse(
                "expected no file or directory there, found one created meanwhile".into(),
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => std::fs::rename(temp, path)
            .map_err(|e| Error::io(path, "rename store into place", e))?,
        Err(e) => return Err(Error::io(path, "rename store into place", e)),
    }
    sync_parent_dir(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path, name: &str, marker: &str) -> PathBuf {
        let temp = create_temp_dir_beside(&dir.join(name)).unwrap();
        std::fs::write(temp.join("zarr.json"), marker).unwrap();
        sync_tree(&temp).unwrap();
        temp
    }

    #[test]
    fn a_store_takes_a_free_name_replaces_only_a_store_and_leaves_no_temporary_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zarr");
        let temp = store(dir.path(), "a.zarr", "one");
        assert!(
            temp.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".a.zarr.npmap-")
        );
        publish_dir(&temp, &path, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(path.join("zarr.json")).unwrap(),
            "one"
        );
        // Without overwrite: refused, the temporary directory removed.
        let temp = store(dir.path(), "a.zarr", "two");
        let e = publish_dir(&temp, &path, false).unwrap_err();
        assert!(e.to_string().contains("set overwrite"), "{e}");
        assert!(!temp.exists());
        // With it: exchanged.
        let temp = store(dir.path(), "a.zarr", "three");
        publish_dir(&temp, &path, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(path.join("zarr.json")).unwrap(),
            "three"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.zarr"]);
        // A file is not a store.
        let file = dir.path().join("f.zarr");
        std::fs::write(&file, b"not a store").unwrap();
        let temp = store(dir.path(), "f.zarr", "four");
        assert!(publish_dir(&temp, &file, true).is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"not a store");
    }
}

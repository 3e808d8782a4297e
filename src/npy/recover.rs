//! The append lock of `.npy` files grown by [`NpyAppender`](crate::NpyAppender), and
//! [`recover`]: repairing a file an appending process left behind.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::format::header::{Header, HeaderOptions};
use crate::fs::os;

/// Repairs a file an appending process left behind: cuts off bytes after the data
/// the header describes (rows appended after the last flush, possibly partial).
/// Returns the number of rows the file holds. Refused with [`ErrorKind::AppendLocked`]
/// while an appender holds the file.
/// A file with nothing to cut is left untouched.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("log.npy");
/// npmap::save_npy(&path, &npmap::ndarray::arr2(&[[1u8, 2], [3, 4]]))?;
/// let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
/// std::io::Write::write_all(&mut f, &[5]).unwrap(); // half a row, as after a crash
/// assert_eq!(npmap::recover(&path)?, 2);
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), 128 + 4);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`ErrorKind::Io`] when the file cannot be opened for writing, read, truncated
/// (`"truncate"`) or synced (`"sync"`), and the errors of
/// [`Header::read_from`](crate::Header::read_from) for a file that is not a well-formed
/// `.npy` or is shorter than its header says.
///
/// [`ErrorKind::AppendLocked`] while an appender, in this process or another, holds the file.
pub fn recover(path: impl AsRef<Path>) -> Result<usize> {
    let path = path.as_ref();
    let (file, len, header) = open_header_locked(path)?;
    let end = header.data_offset + header.data_len();
    if len > end {
        file.set_len(end)
            .map_err(|e| Error::io(path, "truncate", e))?;
        file.sync_all().map_err(|e| Error::io(path, "sync", e))?;
    }
    Ok(header.shape.first().copied().unwrap_or(1))
}

/// Opens `path` (for writing too when `write`) with its append lock taken, and
/// checked to be still the file `path` names once locked (`create` renames a new file
/// over the old one). `None` when nothing is at `path`.
pub(crate) fn open_locked(path: &Path, write: bool) -> Result<Option<File>> {
    loop {
        let file = match File::options().read(true).write(write).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, "open", e)),
        };
        match try_lock_patiently(&file) {
            Ok(true) => {}
            Ok(false) => return Err(Error::at(path, ErrorKind::AppendLocked)),
            // Filesystems without locks (some network and FUSE ones): no guard there.
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {}
            Err(e) => return Err(Error::io(path, "lock", e)),
        }
        match os::same_file(&file, path, true) {
            Ok(true) => return Ok(Some(file)),
            Ok(false) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path, "stat", e)),
        }
    }
}

/// Takes the file's append lock, waiting up to about 100 ms for it: a lock held only
/// because another thread of this process is between `fork` and `exec` (the child
/// holds a copy of every descriptor, locks included, until it execs) is let go within
/// that time; an appender's lock is held far longer, and then this returns `false`.
fn try_lock_patiently(file: &File) -> std::io::Result<bool> {
    let mut wait = std::time::Duration::from_millis(1);
    let mut waited = std::time::Duration::ZERO;
    loop {
        if os::try_lock(file)? {
            return Ok(true);
        }
        if waited >= std::time::Duration::from_millis(100) {
            return Ok(false);
        }
        std::thread::sleep(wait);
        waited += wait;
        wait = (wait * 2).min(std::time::Duration::from_millis(20));
    }
}

/// [`open_locked`] for writing, with the header read once the lock is held.
pub(crate) fn open_header_locked(path: &Path) -> Result<(File, u64, Header)> {
    let mut file = open_locked(path, true)?
        .ok_or_else(|| Error::io(path, "open", std::io::ErrorKind::NotFound.into()))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    let header = Header::read_from(&mut file, Some(len), &HeaderOptions::default())
        .map_err(|e| e.in_file(path))?;
    Ok((file, len, header))
}

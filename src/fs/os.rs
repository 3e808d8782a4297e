//! Every call into the operating system that std does not wrap: block reservation
//! (`fallocate`), page residency (`mincore`), positional reads and writes, advisory
//! locks (`flock`), unnamed temporary files (`O_TMPFILE`, `linkat`) and file
//! identities. The only place with `libc` and platform `#[cfg]`s.

use std::fs::File;
use std::io;
use std::path::Path;

/// Reserves the blocks of the first `len` bytes of `file`.
pub(crate) fn preallocate(file: &File, len: u64) -> std::io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let len = libc::off_t::try_from(len).map_err(std::io::Error::other)?;
        // SAFETY: the descriptor is open for writing for the duration of the call;
        // posix_fallocate reads no memory of ours.
        let code = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
        if code != 0 {
            return Err(std::io::Error::from_raw_os_error(code));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, len);
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "preallocation is only implemented on Linux",
        ))
    }
}

/// Reserves the blocks of the first `len` bytes of a file about to be written in
/// full, without changing its size (`fallocate` with `FALLOC_FL_KEEP_SIZE`, as
/// `ndarray.tofile` does before a large write). On ext4 this spares the write from
/// allocating blocks page by page, and the close after it from flushing them. Errors
/// with `Unsupported` where the platform or the filesystem cannot do it.
pub(crate) fn reserve_blocks(file: &File, len: u64) -> std::io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let len = libc::off_t::try_from(len).map_err(std::io::Error::other)?;
        // SAFETY: the descriptor is open for writing for the duration of the call;
        // fallocate reads no memory of ours.
        let code = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, len) };
        if code == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EOPNOTSUPP | libc::ENOSYS) => {
                Err(std::io::Error::new(std::io::ErrorKind::Unsupported, error))
            }
            _ => Err(error),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "reserving blocks is only implemented on Linux",
        ))
    }
}

#[cfg(unix)]
pub(crate) fn write_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, offset)
}

#[cfg(not(unix))]
pub(crate) fn write_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = file;
    let position = f.stream_position()?;
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(bytes)?;
    f.seek(SeekFrom::Start(position))?;
    Ok(())
}

#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, pos)
}

#[cfg(not(any(unix, windows)))]
pub(crate) fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    use std::io::{Read, Seek};
    let mut file = file;
    file.seek(io::SeekFrom::Start(pos))?;
    file.read(buf)
}

/// Asks the kernel to back the unused capacity of `buf` with transparent huge pages
/// (as NumPy does for large arrays), so that filling a fresh buffer of gigabytes takes
/// hundreds of page faults instead of hundreds of thousands. Advice only: without
/// huge pages, or off Linux, nothing changes.
pub(crate) fn advise_huge_pages<T>(buf: &mut Vec<T>) {
    let spare = buf.spare_capacity_mut();
    advise_huge_range(spare.as_mut_ptr() as usize, std::mem::size_of_val(spare));
}

/// As [`advise_huge_pages`], for a buffer not yet touched (a fresh zeroed allocation,
/// whose pages the kernel has not backed yet).
pub(crate) fn advise_huge_pages_untouched<T>(buf: &mut [T]) {
    advise_huge_range(buf.as_mut_ptr() as usize, std::mem::size_of_val(buf));
}

/// MADV_HUGEPAGE over the whole pages of `len` bytes at address `at`, which the caller
/// owns (through a `&mut` borrow).
#[cfg(target_os = "linux")]
fn advise_huge_range(at: usize, len: usize) {
    const PAGE: usize = 4096;
    const HUGE: usize = 2 << 20;
    let start = at.next_multiple_of(PAGE);
    let end = (at + len) / PAGE * PAGE;
    if end >= start + HUGE {
        // SAFETY: [start, end) is page-aligned and lies inside memory the caller holds
        // a `&mut` borrow of; MADV_HUGEPAGE changes only how the kernel backs those
        // pages, never their contents or their validity.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_range(_at: usize, _len: usize) {}

/// Starts writing the file's dirty pages to disk, in file order, without waiting
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)` on Linux; elsewhere nothing: the
/// kernel's own write-back remains).
pub(crate) fn start_writeback(file: &File) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range only reads the descriptor, which `file` keeps open.
        let code =
            unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
        if code != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    Ok(())
}

/// Asks the kernel to drop `len` bytes of `file` from `offset` from the page cache
/// (`posix_fadvise(POSIX_FADV_DONTNEED)`): clean pages that no process maps are freed,
/// dirty ones are written back first. Best effort; elsewhere nothing happens.
pub(crate) fn drop_cached(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: posix_fadvise only reads the descriptor, which `file` keeps open.
        let _ = unsafe {
            libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED)
        };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Releases the pages under `bytes` (part of a file mapping) from memory now:
/// `madvise(MADV_PAGEOUT)` (Linux 5.4+) reclaims them, writing dirty shared pages back
/// first; a later access reads them in again. Best effort: elsewhere, or on older
/// kernels, nothing happens.
pub(crate) fn release_pages(bytes: &[u8]) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = bytes.as_ptr() as usize / PAGE * PAGE;
        let end = (bytes.as_ptr() as usize + bytes.len()).next_multiple_of(PAGE);
        // SAFETY: [start, end) covers the pages of `bytes`, which lie in one live
        // mapping (mappings are page-aligned, so the rounded range stays inside it);
        // MADV_PAGEOUT only reclaims pages, whose contents stay what they were (they
        // are read back from the file, or swap, on the next access).
        let _ =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
}

#[cfg(unix)]
pub(crate) fn resident_pages(bytes: &[u8]) -> std::io::Result<(usize, usize)> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .map_err(std::io::Error::other)?;
    let start = bytes.as_ptr() as usize;
    let aligned = start - start % page;
    let len = start + bytes.len() - aligned;
    let pages = len.div_ceil(page);
    let mut vec = vec![0u8; pages];
    // SAFETY: [aligned, aligned + len) lies within the pages of one live mapping
    // (the mapping starts on a page boundary at or before `bytes`), and `vec` has
    // one byte per page of that range, as mincore requires.
    let code = unsafe { libc::mincore(aligned as *mut libc::c_void, len, vec.as_mut_ptr().cast()) };
    if code != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((vec.iter().filter(|&&v| v & 1 == 1).count(), pages))
}

#[cfg(not(unix))]
pub(crate) fn resident_pages(_bytes: &[u8]) -> std::io::Result<(usize, usize)> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "mincore is not available",
    ))
}

/// Takes an exclusive advisory lock on `file` without waiting (`flock(LOCK_EX |
/// LOCK_NB)`): `Ok(true)` when taken, `Ok(false)` when another open file description
/// (of this process or another) holds one. The lock belongs to the open file
/// description: it lasts until [`unlock`] or until every descriptor of it is closed,
/// which a process's death does. Errors with `Unsupported` where the platform or the
/// filesystem has no such locks.
#[cfg(all(unix, not(target_os = "solaris")))]
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock takes a descriptor that is open for the duration of the call
        // and reads no memory of ours.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL) => {
                return Err(io::Error::new(io::ErrorKind::Unsupported, error));
            }
            _ => return Err(error),
        }
    }
}

#[cfg(not(all(unix, not(target_os = "solaris"))))]
pub(crate) fn try_lock(_file: &File) -> io::Result<bool> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "advisory locks are only implemented with flock",
    ))
}

/// Releases the lock [`try_lock`] took, for every descriptor of the open file description.
#[cfg(all(unix, not(target_os = "solaris")))]
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: as in `try_lock`.
    match unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(not(all(unix, not(target_os = "solaris"))))]
pub(crate) fn unlock(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Whether `file` is the file that `path` names now (same device and inode), the
/// path's last component followed if it is a symbolic link and `follow`. Always true
/// where the platform has no inode numbers.
pub(crate) fn same_file(file: &File, path: &Path, follow: bool) -> io::Result<bool> {
    let named = match follow {
        true => std::fs::metadata(path)?,
        false => std::fs::symlink_metadata(path)?,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata()?;
        Ok((open.dev(), open.ino()) == (named.dev(), named.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, named);
        Ok(true)
    }
}

/// Opens `path` read-only to test its lock: not through a symbolic link, and without
/// blocking on a FIFO.
pub(crate) fn open_to_lock(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

/// A new file without a name in directory `dir` (`O_TMPFILE`), open for reading and
/// writing, to be named with [`link_unnamed`] once written. `None` where the platform
/// or the filesystem has no unnamed files, or `/proc/self/fd` (through which they are
/// linked) is missing.
#[cfg(target_os = "linux")]
pub(crate) fn open_unnamed(dir: &Path) -> io::Result<Option<File>> {
    use std::os::unix::fs::OpenOptionsExt;
    if !Path::new("/proc/self/fd").is_dir() {
        return Ok(None);
    }
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o666)
        .custom_flags(libc::O_TMPFILE)
        .open(dir);
    match opened {
        Ok(file) => Ok(Some(file)),
        // EOPNOTSUPP: the filesystem has none; EISDIR: a kernel older than 3.11 took
        // the flags for a directory opened for writing; EINVAL: other refusals.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn open_unnamed(_dir: &Path) -> io::Result<Option<File>> {
    Ok(None)
}

/// Gives the unnamed file `file` (from [`open_unnamed`]) the name `dest`, on the same
/// filesystem; fails with `AlreadyExists` if `dest` exists (a link never replaces).
#[cfg(target_os = "linux")]
pub(crate) fn link_unnamed(file: &File, dest: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let source =
        CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(io::Error::other)?;
    let dest = CString::new(dest.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both are NUL-terminated strings that outlive the call; linkat reads
    // them and no other memory of ours.
    let code = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            source.as_ptr(),
            libc::AT_FDCWD,
            dest.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    match code {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn link_unnamed(_file: &File, _dest: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "unnamed files are only implemented on Linux",
    ))
}

/// Swaps the names `a` and `b` atomically (`renameat2(RENAME_EXCHANGE)`): both must
/// exist, on one filesystem. `Unsupported` where the platform or the filesystem
/// cannot.
#[cfg(target_os = "linux")]
pub(crate) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let b = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both are NUL-terminated strings that outlive the call; the system call
    // reads them and no other memory of ours.
    let code = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    match code {
        0 => Ok(()),
        _ => {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOSYS | libc::EINVAL) => Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the filesystem cannot exchange names",
                )),
                _ => Err(e),
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "exchanging names is only implemented on Linux",
    ))
}

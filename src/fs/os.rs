//! Every call into the operating system that std does not wrap: block reservation
//! (`fallocate`), page residency (`mincore`), positional reads and writes. The only
//! place with `libc` and platform `#[cfg]`s.

use std::fs::File;
use std::io;

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

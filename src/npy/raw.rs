//! Headerless files, as `numpy.memmap(path, dtype, mode, offset, shape, order)` maps them.

use std::path::Path;

use ndarray::{Dimension, Ix1, ShapeBuilder};

use crate::error::{Error, ErrorKind, Result};
use crate::format::element::Element;
use crate::format::header::{Header, truncated};
use crate::npy::create::shape_and_order;
use crate::npy::{MmapMode, NpyArray, NpyFile, open_file};

/// Maps a file without a header: `shape` elements of `A` starting at byte `offset`.
///
/// A shape built with `.f()` reads the data in Fortran order, like `order='F'`.
/// The file must be long enough (it is never grown), and `offset` must be aligned
/// for `A`. The bytes are taken in native byte order. The returned array's header
/// has version `(0, 0)`.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("memmapped.dat");
/// use npmap::{ErrorKind, MmapMode};
/// let values: Vec<u8> = (0..16u32).flat_map(|v| (v as f32).to_ne_bytes()).collect();
/// std::fs::write(&path, [&[0u8; 8][..], &values].concat()).unwrap();
/// // SAFETY: nothing truncates the file while it is mapped.
/// let r = unsafe { npmap::load_raw::<f32, _>(&path, MmapMode::ReadOnly, 8, (4, 4))? };
/// assert_eq!(r.view()[[1, 2]], 6.0);
///
/// // SAFETY: as above.
/// let short = unsafe { npmap::load_raw::<f32, _>(&path, MmapMode::ReadOnly, 8, (5, 4)) };
/// assert!(matches!(short.as_ref().map_err(|e| e.kind()), Err(ErrorKind::Truncated { expected: 80, found: 64, .. })));
/// // SAFETY: as above.
/// let odd = unsafe { npmap::load_raw::<f32, _>(&path, MmapMode::ReadOnly, 6, 4) };
/// assert!(matches!(odd.as_ref().map_err(|e| e.kind()), Err(ErrorKind::Misaligned { offset: 6, align: 4, .. })));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::Io`] when the file cannot be opened (for writing too with
///   [`MmapMode::ReadWrite`]), its size read or the data mapped.
/// - [`ErrorKind::Truncated`] when the file holds fewer than `offset` plus the shape's
///   bytes.
/// - [`ErrorKind::Misaligned`] when `offset` is not a multiple of `A`'s alignment.
/// - [`ErrorKind::InvalidBool`] for `bool` data holding a byte other than 0 or 1.
/// - [`ErrorKind::ShapeOverflow`] when the shape's byte size does not fit in memory
///   addresses.
///
/// # Safety
/// See the [contract on `NpyFile`](NpyFile#safety).
pub unsafe fn load_raw<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    mode: MmapMode,
    offset: u64,
    shape: impl ShapeBuilder<Dim = D>,
) -> Result<NpyArray<A, D>> {
    let path = path.as_ref();
    let (dim, fortran) =
        shape_and_order(shape, std::mem::size_of::<A>()).map_err(|e| e.in_file(path))?;
    let header = Header::new((0, 0), A::dtype(), fortran, dim.slice().to_vec(), offset)
        .map_err(|e| e.in_file(path))?;
    let (file, len) = open_file(path, mode == MmapMode::ReadWrite)?;
    let available = len.saturating_sub(offset);
    if available < header.data_len() {
        return Err(truncated("array data", offset, header.data_len(), available).in_file(path));
    }
    // SAFETY: the length was checked above; the caller keeps the contract.
    unsafe { NpyFile::map_file(&file, path, header, mode) }?.into_array()
}

/// Maps a headerless file as a 1-D array of `A` from byte `offset` to the end; the
/// length is inferred, as `numpy.memmap` does without a shape. A remainder that is
/// not a whole item is refused.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("ids.raw");
/// use npmap::{ErrorKind, MmapMode};
/// std::fs::write(&path, [1u8, 0, 2, 0, 3, 0]).unwrap();
/// // SAFETY: nothing truncates the file while it is mapped.
/// let r = unsafe { npmap::load_raw_1d::<u16>(&path, MmapMode::ReadOnly, 0)? };
/// assert_eq!(r.view().to_vec(), if cfg!(target_endian = "little") { [1, 2, 3] } else { [256, 512, 768] });
/// // SAFETY: as above.
/// let e = unsafe { npmap::load_raw_1d::<u32>(&path, MmapMode::ReadOnly, 0) }.unwrap_err();
/// assert!(matches!(e.kind(), ErrorKind::Truncated { expected: 8, found: 6, .. }));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::Truncated`] when `offset` is past the end of the file, or the bytes
///   after it are not a whole number of items.
/// - The errors of [`load_raw`].
///
/// # Safety
/// See the [contract on `NpyFile`](NpyFile#safety).
pub unsafe fn load_raw_1d<A: Element>(
    path: impl AsRef<Path>,
    mode: MmapMode,
    offset: u64,
) -> Result<NpyArray<A, Ix1>> {
    let path = path.as_ref();
    let (_, len) = open_file(path, mode == MmapMode::ReadWrite)?;
    let available = len
        .checked_sub(offset)
        .ok_or_else(|| truncated("array data", offset, 0, 0).in_file(path))?;
    let size = std::mem::size_of::<A>() as u64;
    if available % size != 0 {
        return Err(Error::at(
            path,
            ErrorKind::Truncated {
                what: "array data (a whole number of items)",
                offset,
                expected: available.next_multiple_of(size),
                found: available,
            },
        ));
    }
    let count = usize::try_from(available / size).map_err(|_| {
        Error::at(
            path,
            ErrorKind::ShapeOverflow {
                shape: vec![available / size],
                itemsize: size as usize,
            },
        )
    })?;
    // SAFETY: forwarded to the caller.
    unsafe { load_raw(path, mode, offset, count) }
}

//! Creating new files and mapping them writable: `.npy` (NumPy's `'w+'`) and raw.

use std::fs::File;
use std::path::Path;

use ndarray::{Array, Dimension, ShapeBuilder};

use crate::error::{Error, ErrorKind, Result};
use crate::format::element::Element;
use crate::format::header::Header;
use crate::fs::durable::{Durability, atomic_write};
use crate::fs::os::preallocate;
use crate::npy::{MmapMode, NpyArray, NpyFile};

/// Options for [`create_npy_with`] and [`create_raw_with`].
///
/// The default creates a sparse file (`preallocate: false`), as NumPy does.
///
/// ```
/// use npmap::CreateOptions;
/// assert!(!CreateOptions::default().preallocate);
/// let reserve = CreateOptions::new().preallocate(true);
/// assert!(reserve.preallocate);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateOptions {
    /// Reserve the file's blocks at creation (`posix_fallocate`), so that a full disk
    /// is an error now rather than a `SIGBUS` when a page is first written. Without
    /// it the file is sparse and creation is O(1) whatever its size.
    pub preallocate: bool,
}

impl CreateOptions {
    /// A sparse file, as NumPy makes.
    ///
    /// ```
    /// assert_eq!(npmap::CreateOptions::new(), npmap::CreateOptions::default());
    /// ```
    pub fn new() -> CreateOptions {
        CreateOptions::default()
    }

    /// Sets whether the file's blocks are reserved at creation.
    ///
    /// ```
    /// assert!(npmap::CreateOptions::new().preallocate(true).preallocate);
    /// ```
    pub fn preallocate(mut self, preallocate: bool) -> CreateOptions {
        self.preallocate = preallocate;
        self
    }
}

/// Splits a shape argument (`(rows, cols)`, `(rows, cols).f()`, `IxDyn(..)`) into
/// the dimension and whether it asks for Fortran order, after checking that its
/// items of `itemsize` bytes fit in memory addresses.
pub(crate) fn shape_and_order<D: Dimension>(
    shape: impl ShapeBuilder<Dim = D>,
    itemsize: usize,
) -> Result<(D, bool)> {
    let shape = shape.into_shape_with_order();
    let dim = shape.raw_dim().clone();
    let fits = dim
        .slice()
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(itemsize.max(1), |acc, &d| acc.checked_mul(d))
        .is_some_and(|n| n <= isize::MAX as usize);
    if !fits {
        return Err(Error::from(ErrorKind::ShapeOverflow {
            shape: dim.slice().iter().map(|&d| d as u64).collect(),
            itemsize,
        }));
    }
    // ndarray keeps the order flag private; an array of zero-sized elements (which
    // allocates nothing and touches no memory) reveals it.
    let probe = Array::<(), D>::uninit(shape);
    Ok((dim, !probe.is_standard_layout()))
}

/// Creates a new `.npy` file of the given shape, filled with zeros, and maps it
/// [`MmapMode::ReadWrite`] — NumPy's `np.lib.format.open_memmap(mode='w+')`.
///
/// The header is the one `np.save` writes; a shape built with `.f()` makes a
/// Fortran-order file. The file is sparse, so creation costs the same for any size;
/// it is made under a temporary name and renamed into place (replacing any file at
/// `path`), so `path` never holds a half-made file.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("big.npy");
/// use npmap::ndarray::{Array2, ShapeBuilder};
/// // SAFETY: nothing else truncates the new file while it is mapped.
/// let mut m = unsafe { npmap::create_npy::<f32, _>(&path, (1000, 100))? };
/// m.view_mut()?.column_mut(3).fill(1.5);
/// m.flush()?;
/// let back: Array2<f32> = npmap::read_npy(&path)?;
/// assert_eq!(back[[999, 3]], 1.5);
/// // SAFETY: as above.
/// let f = unsafe { npmap::create_npy::<f64, _>(dir.path().join("f.npy"), (3, 4).f())? };
/// assert!(f.header().fortran_order);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::ShapeOverflow`] when the shape's byte size does not fit in memory
///   addresses.
/// - [`ErrorKind::Io`] when the temporary file cannot be created, written, sized or renamed
///   over `path` (`action` `"create temporary file"`, `"write header"`, `"size file"`,
///   `"rename temporary file"`), or mapped (`"map"`).
///
/// # Safety
/// See the [contract on `NpyFile`](NpyFile#safety).
pub unsafe fn create_npy<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    shape: impl ShapeBuilder<Dim = D>,
) -> Result<NpyArray<A, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { create_npy_with(path, shape, &CreateOptions::default()) }
}

/// [`create_npy`] with options: [`CreateOptions::preallocate`] reserves the file's
/// blocks now, so that a full disk is an error here rather than a `SIGBUS` when a
/// page is first written. Preallocation is implemented on Linux only.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("reserved.npy");
/// use npmap::CreateOptions;
/// # if cfg!(target_os = "linux") {
/// let options = CreateOptions::new().preallocate(true);
/// // SAFETY: nothing else truncates the new file while it is mapped.
/// let m = unsafe { npmap::create_npy_with::<f64, _>(&path, (1000, 10), &options)? };
/// assert_eq!(m.header().data_len(), 80_000);
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), 128 + 80_000);
/// # }
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::ShapeOverflow`] when the shape's byte size does not fit in memory
///   addresses.
/// - [`ErrorKind::Io`] when the temporary file cannot be created, written, sized or renamed
///   over `path` (`action` `"create temporary file"`, `"write header"`, `"size file"`,
///   `"rename temporary file"`), or mapped (`"map"`).
/// - With `preallocate`, [`ErrorKind::Io`] (`"preallocate"`) when the blocks cannot be
///   reserved: a full disk, or a platform other than Linux.
///
/// # Safety
/// See the [contract on `NpyFile`](NpyFile#safety).
pub unsafe fn create_npy_with<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    shape: impl ShapeBuilder<Dim = D>,
    options: &CreateOptions,
) -> Result<NpyArray<A, D>> {
    let path = path.as_ref();
    let (dim, fortran) =
        shape_and_order(shape, std::mem::size_of::<A>()).map_err(|e| e.in_file(path))?;
    let prefix = Header::encode(&A::dtype(), fortran, dim.slice());
    let header = Header::new(
        (prefix[6], prefix[7]),
        A::dtype(),
        fortran,
        dim.slice().to_vec(),
        prefix.len() as u64,
    )
    .map_err(|e| e.in_file(path))?;
    let file = create_sized(path, &prefix, &header, options)?;
    // SAFETY: `create_sized` made the file exactly header + data long; the caller
    // keeps the contract of `NpyFile`.
    unsafe { NpyFile::map_file(&file, path, header, MmapMode::ReadWrite) }?.into_array()
}

/// Creates a headerless file of `shape` elements of `A` (zeros) and maps it
/// read-write — `numpy.memmap(path, dtype, mode='w+', shape=shape)`.
///
/// As with [`create_npy`], the file is sparse and renamed into place. The bytes are
/// in native byte order; the returned array's header has version `(0, 0)` and data
/// offset 0.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("data.raw");
/// // SAFETY: nothing else truncates the new file while it is mapped.
/// let mut r = unsafe { npmap::create_raw::<u16, _>(&path, (2, 3))? };
/// r.view_mut()?.fill(7);
/// r.flush()?;
/// let bytes = std::fs::read(&path).unwrap();
/// assert_eq!(bytes.len(), 12);
/// assert_eq!(u16::from_ne_bytes([bytes[10], bytes[11]]), 7);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::ShapeOverflow`] when the shape's byte size does not fit in memory
///   addresses.
/// - [`ErrorKind::Io`] when the temporary file cannot be created, sized or renamed
///   over `path` (`action` `"create temporary file"`, `"size file"`,
///   `"rename temporary file"`), or mapped (`"map"`).
///
/// # Safety
/// See the [contract on `NpyFile`](NpyFile#safety).
pub unsafe fn create_raw<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    shape: impl ShapeBuilder<Dim = D>,
) -> Result<NpyArray<A, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { create_raw_with(path, shape, &CreateOptions::default()) }
}

/// [`create_raw`] with options (preallocation, Linux only).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("data.raw");
/// # if cfg!(target_os = "linux") {
/// let options = npmap::CreateOptions::new().preallocate(true);
/// // SAFETY: nothing else truncates the new file while it is mapped.
/// let r = unsafe { npmap::create_raw_with::<f32, _>(&path, 256, &options)? };
/// assert_eq!(r.view().len(), 256);
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), 1024);
/// # }
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::ShapeOverflow`] when the shape's byte size does not fit in memory
///   addresses.
/// - [`ErrorKind::Io`] when the temporary file cannot be created, sized or renamed
///   over `path` (`action` `"create temporary file"`, `"size file"`,
///   `"rename temporary file"`), or mapped (`"map"`).
/// - With `preallocate`, [`ErrorKind::Io`] (`"preallocate"`) when the blocks cannot be
///   reserved: a full disk, or a platform other than Linux.
///
/// # Safety
/// See the [contract on `NpyFile`](NpyFile#safety).
pub unsafe fn create_raw_with<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    shape: impl ShapeBuilder<Dim = D>,
    options: &CreateOptions,
) -> Result<NpyArray<A, D>> {
    let path = path.as_ref();
    let (dim, fortran) =
        shape_and_order(shape, std::mem::size_of::<A>()).map_err(|e| e.in_file(path))?;
    let header = Header::new((0, 0), A::dtype(), fortran, dim.slice().to_vec(), 0)
        .map_err(|e| e.in_file(path))?;
    let file = create_sized(path, &[], &header, options)?;
    // SAFETY: as in `create_npy_with`.
    unsafe { NpyFile::map_file(&file, path, header, MmapMode::ReadWrite) }?.into_array()
}

/// Writes `prefix`, sizes the file to hold the data, and renames it into place.
fn create_sized(
    path: &Path,
    prefix: &[u8],
    header: &Header,
    options: &CreateOptions,
) -> Result<File> {
    let total = header.data_offset + header.data_len();
    let mut created = None;
    atomic_write(path, Durability::Unsynced, |file| {
        use std::io::Write;
        let mut writer = file;
        writer
            .write_all(prefix)
            .map_err(|e| Error::io(path, "write header", e))?;
        file.set_len(total)
            .map_err(|e| Error::io(path, "size file", e))?;
        if options.preallocate {
            preallocate(file, total).map_err(|e| Error::io(path, "preallocate", e))?;
        }
        created = Some(file.try_clone().map_err(|e| Error::io(path, "open", e))?);
        Ok(())
    })?;
    created.ok_or_else(|| {
        Error::io(
            path,
            "create",
            std::io::Error::other("file was not created"),
        )
    })
}

//! Memory-mapped `.npy` files: [`NpyFile`] (untyped) and [`NpyArray`] (typed) own the
//! mapping and lend `ndarray` views of it; [`read_npy`] is the copying read. The
//! submodules write (`save`, `create`, `append`), map headerless files (`raw`) and
//! read structured (`fields`) and string (`strings`) arrays.
//!
//! May import: crate::error, crate::format, crate::fs, crate::cast.

pub(crate) mod append;
pub(crate) mod bytes;
pub(crate) mod create;
pub(crate) mod fields;
pub(crate) mod raw;
pub(crate) mod records;
pub(crate) mod save;
pub(crate) mod strings;

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use memmap2::{Mmap, MmapMut, MmapOptions};
use ndarray::{Array, ArrayView, ArrayViewMut, CowArray, Dimension, IxDyn, ShapeBuilder};

use crate::cast::{self, Origin};
use crate::error::{Error, Result, STREAM_PATH};
use crate::format::dtype::DType;
use crate::format::element::{Element, ElementMatch, match_element};
use crate::format::header::{Header, HeaderOptions};

/// How a file is mapped, as NumPy's `mmap_mode`.
///
/// | mode | NumPy | file opened | writes through a view |
/// |---|---|---|---|
/// | [`ReadOnly`](MmapMode::ReadOnly) | `'r'` | for reading | refused ([`Error::ReadOnly`]) |
/// | [`ReadWrite`](MmapMode::ReadWrite) | `'r+'` | for reading and writing | reach the file, seen by every mapping of it |
/// | [`CopyOnWrite`](MmapMode::CopyOnWrite) | `'c'` | for reading | stay in this mapping's private pages |
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("x.npy");
/// use npmap::ndarray::{Array1, Ix1};
/// use npmap::{Error, MmapMode, NpyFile};
/// npmap::save_npy(&path, &Array1::<i32>::zeros(3))?;
///
/// // SAFETY: nothing truncates the file or writes invalid values to it while it is mapped.
/// let mut r = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
/// assert!(matches!(r.view_mut::<i32, Ix1>(), Err(Error::ReadOnly { .. })));
///
/// // SAFETY: as above.
/// let mut c = unsafe { NpyFile::open(&path, MmapMode::CopyOnWrite)? };
/// c.view_mut::<i32, Ix1>()?[0] = 5; // private to `c`
/// assert_eq!(c.view::<i32, Ix1>()?.to_vec(), [5, 0, 0]);
/// assert_eq!(npmap::read_npy::<i32, Ix1>(&path)?.to_vec(), [0, 0, 0]);
///
/// // SAFETY: as above.
/// let mut w = unsafe { NpyFile::open(&path, MmapMode::ReadWrite)? };
/// w.view_mut::<i32, Ix1>()?[1] = 7; // reaches the file
/// w.flush()?;
/// assert_eq!(npmap::read_npy::<i32, Ix1>(&path)?.to_vec(), [0, 7, 0]);
/// assert_eq!(r.view::<i32, Ix1>()?.to_vec(), [0, 7, 0]); // other shared mappings see it
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MmapMode {
    /// `'r'`: read-only; writing is refused.
    ReadOnly,
    /// `'r+'`: writes go through to the file and are seen by every other mapping of it.
    ReadWrite,
    /// `'c'`: copy-on-write; writes stay in this process's memory, the file never changes.
    CopyOnWrite,
}

/// The mapped data region of a file.
enum Mapping {
    /// No data bytes (an empty array): nothing to map.
    Empty,
    ReadOnly(Mmap),
    Writable(MmapMut),
}

impl Mapping {
    fn bytes(&self) -> &[u8] {
        match self {
            Mapping::Empty => &[],
            Mapping::ReadOnly(m) => m,
            Mapping::Writable(m) => m,
        }
    }
}

/// An open, memory-mapped `.npy` file whose element type is chosen at run time.
///
/// # Safety
///
/// Every function that maps a file is `unsafe` for one reason: the views it lends
/// point into the file's pages. While the mapping lives, the file must not be
/// truncated (reading past its new end raises `SIGBUS`), and no other process or
/// mapping may write bytes that are invalid for the element type (a `bool` other
/// than 0 or 1). Writes by others through [`MmapMode::ReadWrite`] mappings of valid
/// values are fine: that is how processes share an array, as with NumPy's `'r+'`.
/// Callers who cannot promise this use [`read_npy`], which copies.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("y.npy");
/// # npmap::save_npy(&path, &npmap::ndarray::arr1(&[1i64, 2, 3]))?;
/// use npmap::ndarray::IxDyn;
/// use npmap::{MmapMode, NpyFile};
/// // SAFETY: nothing else touches the file while it is mapped.
/// let mut f = unsafe { NpyFile::open(&path, MmapMode::ReadWrite)? };
/// assert_eq!(f.header().dtype.descr(), "<i8");
/// assert_eq!(f.header().shape, [3]);
/// f.view_mut::<i64, IxDyn>()?[[0]] = 7;
/// f.flush()?;
/// assert_eq!(npmap::read_npy::<i64, IxDyn>(&path)?[[0]], 7);
/// # Ok(()) }
/// ```
pub struct NpyFile {
    path: PathBuf,
    header: Header,
    mode: MmapMode,
    map: Mapping,
}

impl std::fmt::Debug for NpyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyFile")
            .field("path", &self.path)
            .field("header", &self.header)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl NpyFile {
    /// Opens and maps `path`, checking the header and that the file holds all its data.
    ///
    /// The element type is not checked here: read it from [`NpyFile::header`], then ask
    /// for a view with [`NpyFile::view`] (or a copy with [`NpyFile::cow`]), which check it.
    /// [`MmapMode::ReadWrite`] opens the file for writing, so it needs write permission; the
    /// other modes only read it. Opening costs a few system calls whatever the file size.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("X.npy");
    /// use npmap::ndarray::{Array2, Ix2};
    /// use npmap::{DType, Error, MmapMode, NpyFile};
    /// npmap::save_npy(&path, &Array2::<f32>::from_elem((2, 3), 0.5))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// assert_eq!(f.header().shape, [2, 3]);
    /// let total = match f.header().dtype {
    ///     DType::Float { size: 4, .. } => f.view::<f32, Ix2>()?.sum() as f64,
    ///     DType::Float { size: 8, .. } => f.view::<f64, Ix2>()?.sum(),
    ///     ref other => panic!("unexpected dtype {other}"),
    /// };
    /// assert_eq!(total, 3.0);
    ///
    /// # let text = dir.path().join("notes.txt");
    /// std::fs::write(&text, "hello").unwrap();
    /// // SAFETY: the file is never mapped: opening it fails.
    /// let e = unsafe { NpyFile::open(&text, MmapMode::ReadOnly) }.unwrap_err();
    /// assert!(matches!(e, Error::BadMagic { ref found, .. } if found == b"hello"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Io`] when the file cannot be opened (`action` `"open"`: missing, or not
    ///   writable for [`MmapMode::ReadWrite`]), its size or header cannot be read
    ///   (`"stat"`, `"read header"`), or it cannot be mapped (`"map"`).
    /// - The errors of [`Header::read_from`] for a file that is not a well-formed `.npy`:
    ///   [`Error::BadMagic`] for another kind of file, [`Error::Truncated`] when the file
    ///   ends before its header or its data does, [`Error::HeaderTooLarge`] for a header
    ///   longer than [`HeaderOptions::default`] accepts, and the others listed there.
    ///
    /// # Safety
    /// See the [type-level contract](NpyFile#safety).
    pub unsafe fn open(path: impl AsRef<Path>, mode: MmapMode) -> Result<NpyFile> {
        // SAFETY: the caller keeps the contract of `NpyFile`.
        unsafe { NpyFile::open_with(path, mode, &HeaderOptions::default()) }
    }

    /// [`NpyFile::open`] with explicit header limits.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// use npmap::{Error, HeaderOptions, MmapMode, NpyFile};
    /// npmap::save_npy(&path, &npmap::ndarray::arr1(&[1u8, 2]))?; // a 118-byte header
    /// let strict = HeaderOptions::new().max_header_size(100);
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let e = unsafe { NpyFile::open_with(&path, MmapMode::ReadOnly, &strict) }.unwrap_err();
    /// assert!(matches!(e, Error::HeaderTooLarge { found: 118, limit: 100, .. }));
    ///
    /// let roomy = HeaderOptions::new().max_header_size(1 << 20);
    /// // SAFETY: as above.
    /// let f = unsafe { NpyFile::open_with(&path, MmapMode::ReadOnly, &roomy)? };
    /// assert_eq!(f.data(), [1, 2]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpyFile::open`], with `options` deciding when a header is
    /// [`Error::HeaderTooLarge`] or nests too deep ([`Error::HeaderNesting`]).
    ///
    /// # Safety
    /// See the [type-level contract](NpyFile#safety).
    pub unsafe fn open_with(
        path: impl AsRef<Path>,
        mode: MmapMode,
        options: &HeaderOptions,
    ) -> Result<NpyFile> {
        let path = path.as_ref();
        let (file, _, header) = open_npy(path, mode == MmapMode::ReadWrite, options)?;
        // SAFETY: `read_from` checked that the file holds the whole data region; the
        // caller promises not to truncate it while mapped.
        let map = unsafe { map_region(&file, &header, 0, mode) }
            .map_err(|e| Error::io(path, "map", e))?;
        Ok(NpyFile {
            path: path.to_path_buf(),
            header,
            mode,
            map,
        })
    }

    /// Maps the data region that `header` describes in an already-open `file`.
    ///
    /// # Safety
    /// The file must hold `header.data_offset + header.data_len()` bytes, and the
    /// caller keeps the [contract of `NpyFile`](NpyFile#safety).
    pub(crate) unsafe fn map_file(
        file: &File,
        path: &Path,
        header: Header,
        mode: MmapMode,
    ) -> Result<NpyFile> {
        // SAFETY: forwarded from the caller.
        let map =
            unsafe { map_region(file, &header, 0, mode) }.map_err(|e| Error::io(path, "map", e))?;
        Ok(NpyFile {
            path: path.to_path_buf(),
            header,
            mode,
            map,
        })
    }

    /// The parsed header: dtype, memory order, shape, data offset.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("t.npy");
    /// let a = npmap::ndarray::arr2(&[[1u8, 2, 3], [4, 5, 6]]);
    /// npmap::save_npy(&path, &a.t())?; // a transposed view is saved in Fortran order
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let h = f.header();
    /// assert_eq!((h.dtype.descr(), h.fortran_order), ("|u1".to_string(), true));
    /// assert_eq!((h.shape.clone(), h.data_offset, h.data_len()), (vec![3, 2], 128, 6));
    /// # Ok(()) }
    /// ```
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file's path, as given to [`NpyFile::open`].
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::arr1(&[1.0f32]))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(f.path(), path);
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mode the file was mapped with.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::arr1(&[1.0f32]))?;
    /// use npmap::MmapMode;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, MmapMode::CopyOnWrite)? };
    /// assert_eq!(f.mode(), MmapMode::CopyOnWrite);
    /// # Ok(()) }
    /// ```
    pub fn mode(&self) -> MmapMode {
        self.mode
    }

    /// The raw bytes of the array data, [`Header::data_len`] of them, as they lie in the
    /// file (its byte order, its memory order); empty for an array without elements.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("be.npy");
    /// use npmap::DType;
    /// // Two big-endian u16s, as `np.array([1, 2], dtype='>u2')` holds them.
    /// npmap::save_npy_raw(&path, &DType::parse(">u2")?, &[2], false, &[0, 1, 0, 2])?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(f.data(), [0, 1, 0, 2]);
    /// assert_eq!(f.data().len() as u64, f.header().data_len());
    /// # Ok(()) }
    /// ```
    pub fn data(&self) -> &[u8] {
        self.map.bytes()
    }

    /// The raw bytes of the array data, mutably; refused for [`MmapMode::ReadOnly`].
    pub(crate) fn data_mut(&mut self) -> Result<&mut [u8]> {
        match &mut self.map {
            Mapping::Empty => Ok(&mut []),
            Mapping::Writable(m) => Ok(m),
            Mapping::ReadOnly(_) => Err(Error::ReadOnly {
                path: self.path.clone(),
            }),
        }
    }

    fn origin(&self) -> Origin<'_> {
        Origin {
            path: &self.path,
            data_offset: self.header.data_offset,
        }
    }

    /// Checks that the file's data can be viewed in place as `A` with `D` dimensions.
    /// A zero-copy view of the data as `A` with `D` dimensions (`IxDyn` for any).
    ///
    /// The view follows the file's memory order: a Fortran-order file gives an F-layout
    /// view. Each call checks the dtype, dimensions, byte order and alignment again (a few
    /// comparisons; for `bool`, a pass over the bytes); [`NpyFile::into_array`] checks once.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// use npmap::ndarray::{arr2, Ix1, Ix2, IxDyn};
    /// use npmap::{Error, MmapMode, NpyFile};
    /// npmap::save_npy(&path, &arr2(&[[1i16, 2, 3], [4, 5, 6]]))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// assert_eq!(f.view::<i16, Ix2>()?[[1, 2]], 6);
    /// assert_eq!(f.view::<i16, IxDyn>()?.shape(), [2, 3]);
    /// let e = f.view::<i16, Ix1>().unwrap_err();
    /// assert!(matches!(e, Error::NdimMismatch { found: 2, expected: 1, .. }));
    /// assert!(matches!(f.view::<u16, Ix2>(), Err(Error::DTypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::DTypeMismatch`] when the file's dtype is not `A`'s.
    /// - [`Error::NdimMismatch`] when `D` has a fixed number of dimensions and the file
    ///   has another.
    /// - [`Error::NonNativeByteOrder`] when the data is in the other byte order.
    /// - [`Error::Misaligned`] when the data does not start at an address aligned for `A`
    ///   (never for files that NumPy or npmap wrote: their data starts on a 64-byte
    ///   boundary).
    /// - [`Error::InvalidBool`] for a `bool` array holding a byte other than 0 or 1.
    ///
    /// [`NpyFile::cow`] copies in the byte-order and alignment cases.
    pub fn view<A: Element, D: Dimension>(&self) -> Result<ArrayView<'_, A, D>> {
        bytes::view(&self.header, self.map.bytes(), self.origin())
    }

    /// A mutable zero-copy view; refused for [`MmapMode::ReadOnly`].
    ///
    /// With [`MmapMode::ReadWrite`] writes reach the file (call [`NpyFile::flush`] to
    /// make them durable); with [`MmapMode::CopyOnWrite`] they stay in memory.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// use npmap::ndarray::{Array1, Ix1};
    /// use npmap::{MmapMode, NpyFile};
    /// npmap::save_npy(&path, &Array1::<f64>::zeros(4))?;
    /// // SAFETY: nothing else truncates or writes the file while it is mapped.
    /// let mut f = unsafe { NpyFile::open(&path, MmapMode::ReadWrite)? };
    /// f.view_mut::<f64, Ix1>()?.fill(2.5);
    /// f.flush()?;
    /// assert_eq!(npmap::read_npy::<f64, Ix1>(&path)?.to_vec(), [2.5; 4]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`] for a [`MmapMode::ReadOnly`] mapping, and the errors of
    /// [`NpyFile::view`].
    pub fn view_mut<A: Element, D: Dimension>(&mut self) -> Result<ArrayViewMut<'_, A, D>> {
        let origin = Origin {
            path: &self.path,
            data_offset: self.header.data_offset,
        };
        let data: &mut [u8] = match &mut self.map {
            Mapping::Empty => &mut [],
            Mapping::Writable(m) => m,
            Mapping::ReadOnly(_) => {
                return Err(Error::ReadOnly {
                    path: self.path.clone(),
                });
            }
        };
        bytes::view_mut(&self.header, data, origin)
    }

    /// The data as `A`: borrowed when a zero-copy view is possible, otherwise a copy
    /// converted to native byte order (and alignment). The element type must match.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("be.npy");
    /// use npmap::ndarray::Ix1;
    /// use npmap::{Error, MmapMode, NpyFile};
    /// // A big-endian file, as written by `np.save(path, a.astype('>f8'))`.
    /// let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    /// let dict = "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }";
    /// bytes.extend(format!("{dict:<117}\n").as_bytes());
    /// bytes.extend(1.5f64.to_be_bytes());
    /// bytes.extend((-2.0f64).to_be_bytes());
    /// std::fs::write(&path, bytes).unwrap();
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// # if cfg!(target_endian = "little") {
    /// assert!(matches!(f.view::<f64, Ix1>(), Err(Error::NonNativeByteOrder { .. })));
    /// let c = f.cow::<f64, Ix1>()?;
    /// assert!(c.is_owned());
    /// assert_eq!(c.to_vec(), [1.5, -2.0]);
    /// # }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::DTypeMismatch`] when the file's dtype is not `A`'s (in either byte order).
    /// - [`Error::NdimMismatch`] when `D` has a fixed number of dimensions and the file
    ///   has another.
    /// - [`Error::InvalidBool`] for a `bool` array holding a byte other than 0 or 1.
    pub fn cow<A: Element, D: Dimension>(&self) -> Result<CowArray<'_, A, D>> {
        bytes::cow(&self.header, self.map.bytes(), self.origin())
    }

    /// Turns the file into a typed array after checking dtype, dimensions, byte order,
    /// alignment and (for `bool`) every byte, once.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("mask.npy");
    /// use npmap::ndarray::{arr1, Ix1};
    /// use npmap::{DType, MmapMode, NpyFile};
    /// npmap::save_npy(&path, &arr1(&[true, false, true]))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// assert_eq!(f.header().dtype, DType::Bool);
    /// let mask = f.into_array::<bool, Ix1>()?;
    /// assert_eq!(mask.view().iter().filter(|&&b| b).count(), 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`NpyFile::view`]; the file is dropped (and unmapped) with the error.
    pub fn into_array<A: Element, D: Dimension>(self) -> Result<NpyArray<A, D>> {
        self.view::<A, D>()?;
        let dim = dimension::<D>(&self.path, &self.header.shape)?;
        Ok(NpyArray {
            file: self,
            dim,
            _element: PhantomData,
        })
    }

    /// Writes changes of a [`MmapMode::ReadWrite`] mapping to the file and waits until
    /// they are on disk. A no-op for the other modes.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// use npmap::{MmapMode, NpyFile};
    /// npmap::save_npy(&path, &npmap::ndarray::arr1(&[1u8, 2, 3]))?;
    /// // SAFETY: nothing else truncates or writes the file while it is mapped.
    /// let mut f = unsafe { NpyFile::open(&path, MmapMode::ReadWrite)? };
    /// f.view_mut::<u8, npmap::ndarray::Ix1>()?[0] = 9;
    /// f.flush()?;
    /// let bytes = std::fs::read(&path).unwrap();
    /// assert_eq!(bytes[128..], [9, 2, 3]); // the data starts at byte 128
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] (`action` `"flush"`) when the operating system fails to write the
    /// pages back (`msync`), for instance on a full disk or a failing device.
    pub fn flush(&self) -> Result<()> {
        match (&self.map, self.mode) {
            (Mapping::Writable(m), MmapMode::ReadWrite) => {
                m.flush().map_err(|e| Error::io(&self.path, "flush", e))
            }
            _ => Ok(()),
        }
    }

    /// Tells the kernel the data will be read sequentially (read-ahead), or not.
    ///
    /// Best effort: the advice only tunes read-ahead, so a kernel that refuses it
    /// changes nothing observable and no error is reported.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::Array1::<f32>::ones(1000))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// f.advise_sequential();
    /// assert_eq!(f.view::<f32, npmap::ndarray::Ix1>()?.sum(), 1000.0);
    /// # Ok(()) }
    /// ```
    pub fn advise_sequential(&self) {
        let advice = memmap2::Advice::Sequential;
        // Advice only tunes read-ahead; a failure changes nothing observable.
        let _ = match &self.map {
            Mapping::Empty => Ok(()),
            Mapping::ReadOnly(m) => m.advise(advice),
            Mapping::Writable(m) => m.advise(advice),
        };
    }

    /// Maps every page of the file into the process now, on all threads, instead of
    /// one fault at a time during the first scan (`madvise(MADV_POPULATE_READ)` in
    /// 64 MiB pieces, Linux 5.14+; elsewhere it reads one byte per page). Pages that
    /// are not in the page cache are read from disk. Worth it before a scan of a large
    /// cached file; it changes no data.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::Array1::<f32>::ones(100_000)).unwrap();
    /// // SAFETY: nothing modifies the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly) }.unwrap();
    /// f.prefault();
    /// let (resident, total) = f.residency().unwrap();
    /// assert_eq!(resident, total);
    /// ```
    pub fn prefault(&self) {
        use rayon::prelude::*;
        const PIECE: usize = 64 << 20;
        let len = self.map.bytes().len();
        let populate = |offset: usize| {
            let piece = PIECE.min(len - offset);
            let advice = memmap2::Advice::PopulateRead;
            let done = match &self.map {
                Mapping::Empty => Ok(()),
                Mapping::ReadOnly(m) => m.advise_range(advice, offset, piece),
                Mapping::Writable(m) => m.advise_range(advice, offset, piece),
            };
            if done.is_err() {
                // Older kernels: a read per page faults it in.
                let bytes = &self.map.bytes()[offset..offset + piece];
                let sum = bytes.iter().step_by(4096).fold(0u8, |a, &b| a ^ b);
                std::hint::black_box(sum);
            }
        };
        (0..len.div_ceil(PIECE))
            .into_par_iter()
            .for_each(|piece| populate(piece * PIECE));
    }

    /// How much of the data is in the page cache: `(resident pages, total pages)`,
    /// from `mincore(2)`. Reading it does not fault any page in. An array without
    /// elements has `(0, 0)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let (path, empty) = (dir.path().join("x.npy"), dir.path().join("e.npy"));
    /// use npmap::ndarray::Array1;
    /// npmap::save_npy(&path, &Array1::<f32>::ones(100_000)).unwrap();
    /// npmap::save_npy(&empty, &Array1::<f32>::ones(0)).unwrap();
    /// // SAFETY: nothing truncates or rewrites the files while they are mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly) }.unwrap();
    /// // SAFETY: as above.
    /// let e = unsafe { npmap::NpyFile::open(&empty, npmap::MmapMode::ReadOnly) }.unwrap();
    /// let (resident, total) = f.residency()?;
    /// assert!(total >= 400_000 / 65_536 && resident <= total);
    /// assert_eq!(e.residency()?, (0, 0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The operating system's error when `mincore(2)` or the page-size query fails; on
    /// platforms other than Unix always an error of kind
    /// [`Unsupported`](std::io::ErrorKind::Unsupported).
    pub fn residency(&self) -> std::io::Result<(usize, usize)> {
        let bytes = self.map.bytes();
        if bytes.is_empty() {
            return Ok((0, 0));
        }
        crate::fs::os::resident_pages(bytes)
    }
}

impl NpyFile {
    /// Maps the data of an `.npy` stream embedded at byte `base` of an already open
    /// `file` (a stored member of an archive). `header` is the embedded stream's, with
    /// offsets relative to `base`; `path` names the member in errors.
    ///
    /// # Safety
    /// `file` must hold `base + header.data_offset + header.data_len()` bytes and must
    /// not be truncated while mapped (the contract of [`NpyFile`]).
    pub(crate) unsafe fn map_embedded(
        file: &File,
        path: PathBuf,
        header: Header,
        base: u64,
        mode: MmapMode,
    ) -> Result<NpyFile> {
        // SAFETY: forwarded from the caller.
        let map = unsafe { map_region(file, &header, base, mode) }
            .map_err(|e| Error::io(&path, "map", e))?;
        Ok(NpyFile {
            path,
            header,
            mode,
            map,
        })
    }
}

/// Maps the data region that `header` describes, for an `.npy` stream starting at
/// byte `base` of `file` (0 for a plain file; a member's offset inside an archive).
///
/// # Safety
/// The file must hold the whole data region and must not be truncated while mapped.
unsafe fn map_region(
    file: &File,
    header: &Header,
    base: u64,
    mode: MmapMode,
) -> std::io::Result<Mapping> {
    let len = header.data_len();
    if len == 0 {
        return Ok(Mapping::Empty);
    }
    let len = usize::try_from(len).map_err(std::io::Error::other)?;
    let offset = base
        .checked_add(header.data_offset)
        .ok_or_else(|| std::io::Error::other("data offset overflows"))?;
    let mut options = MmapOptions::new();
    options.offset(offset).len(len);
    // SAFETY: the caller guarantees the region exists and stays; memmap2 aligns the
    // offset to a page and adjusts the pointer.
    unsafe {
        Ok(match mode {
            MmapMode::ReadOnly => Mapping::ReadOnly(options.map(file)?),
            MmapMode::ReadWrite => Mapping::Writable(options.map_mut(file)?),
            MmapMode::CopyOnWrite => Mapping::Writable(options.map_copy(file)?),
        })
    }
}

/// A read-only mapping of all of `file` (an archive whose members are read in place).
///
/// # Safety
/// `file` must not be truncated while the mapping lives (the contract of [`NpyFile`]).
pub(crate) unsafe fn map_whole_read_only(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: the caller keeps the file from being truncated while it is mapped.
    unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, "map", e))
}

pub(crate) fn dtype_mismatch<A: Element>(path: &Path, found: &DType) -> Error {
    Error::DTypeMismatch {
        path: path.to_path_buf(),
        found: found.descr(),
        found_name: found.name(),
        expected: A::NAME,
    }
}

/// The shape as the dimension type `D`, or an error naming both.
pub(crate) fn dimension<D: Dimension>(path: &Path, shape: &[usize]) -> Result<D> {
    D::from_dimension(&IxDyn(shape)).ok_or_else(|| Error::NdimMismatch {
        path: path.to_path_buf(),
        found: shape.len(),
        expected: D::NDIM.unwrap_or(shape.len()),
        shape: shape.to_vec(),
    })
}

/// A memory-mapped `.npy` file checked once, at open, to hold `A` elements in `D`
/// dimensions, so that taking a view cannot fail.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("X.npy");
/// # npmap::save_npy(&path, &npmap::ndarray::Array2::<f32>::ones((4, 3)))?;
/// use npmap::ndarray::Ix2;
/// use npmap::MmapMode;
/// // SAFETY: nothing truncates X.npy while it is mapped.
/// let x = unsafe { npmap::load_npy::<f32, Ix2>(&path, MmapMode::ReadOnly)? };
/// let v = x.view();
/// assert_eq!(v.dim(), (4, 3));
/// assert_eq!(v.sum(), 12.0);
/// # Ok(()) }
/// ```
pub struct NpyArray<A: Element, D: Dimension> {
    file: NpyFile,
    dim: D,
    _element: PhantomData<A>,
}

impl<A: Element, D: Dimension> std::fmt::Debug for NpyArray<A, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyArray")
            .field("file", &self.file)
            .field("element", &A::NAME)
            .finish()
    }
}

impl<A: Element, D: Dimension> NpyArray<A, D> {
    /// The zero-copy view of the whole array. It cannot fail: everything was checked
    /// when the array was made.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("X.npy");
    /// use npmap::ndarray::{arr2, Ix2};
    /// npmap::save_npy(&path, &arr2(&[[1.0f32, 2.0], [3.0, 4.0]]))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let x = unsafe { npmap::load_npy::<f32, Ix2>(&path, npmap::MmapMode::ReadOnly)? };
    /// let v = x.view();
    /// assert_eq!(v.row(1).to_vec(), [3.0, 4.0]);
    /// assert_eq!(v.t()[[0, 1]], 3.0);
    /// # Ok(()) }
    /// ```
    pub fn view(&self) -> ArrayView<'_, A, D> {
        let shape = self.dim.clone().set_f(self.file.header.fortran_order);
        let ptr = match &self.file.map {
            Mapping::Empty => NonNull::<A>::dangling().as_ptr().cast_const(),
            mapping => mapping.bytes().as_ptr().cast::<A>(),
        };
        // SAFETY: `into_array` checked, through the same mapping, that the bytes are
        // aligned for `A`, hold exactly `dim`'s elements and are valid `A` values; the
        // mapping lives as long as `self` and, by `NpyFile`'s contract, keeps them so.
        unsafe { ArrayView::from_shape_ptr(shape, ptr) }
    }

    /// A mutable zero-copy view; refused for [`MmapMode::ReadOnly`].
    ///
    /// With [`MmapMode::ReadWrite`] writes reach the file (call [`NpyArray::flush`] to
    /// make them durable); with [`MmapMode::CopyOnWrite`] they stay in memory.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("counts.npy");
    /// use npmap::ndarray::{Array1, Ix1};
    /// use npmap::{Error, MmapMode};
    /// npmap::save_npy(&path, &Array1::<u32>::zeros(3))?;
    /// // SAFETY: nothing else truncates or writes the file while it is mapped.
    /// let mut c = unsafe { npmap::load_npy::<u32, Ix1>(&path, MmapMode::ReadWrite)? };
    /// c.view_mut()?[2] += 5;
    /// c.flush()?;
    /// assert_eq!(npmap::read_npy::<u32, Ix1>(&path)?.to_vec(), [0, 0, 5]);
    ///
    /// // SAFETY: as above.
    /// let mut r = unsafe { npmap::load_npy::<u32, Ix1>(&path, MmapMode::ReadOnly)? };
    /// assert!(matches!(r.view_mut(), Err(Error::ReadOnly { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`] when the array was mapped with [`MmapMode::ReadOnly`].
    pub fn view_mut(&mut self) -> Result<ArrayViewMut<'_, A, D>> {
        let shape = self.dim.clone().set_f(self.file.header.fortran_order);
        let ptr = match &mut self.file.map {
            Mapping::Empty => NonNull::<A>::dangling().as_ptr(),
            Mapping::Writable(m) => m.as_mut_ptr().cast::<A>(),
            Mapping::ReadOnly(_) => {
                return Err(Error::ReadOnly {
                    path: self.file.path.clone(),
                });
            }
        };
        // SAFETY: as in `view`; the mapping is writable and borrowed mutably through
        // `&mut self`, so this is the only view of it.
        Ok(unsafe { ArrayViewMut::from_shape_ptr(shape, ptr) })
    }

    /// Writes changes to the file (ReadWrite mode) and waits until they are on disk; a
    /// no-op for the other modes. As [`NpyFile::flush`].
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("y.npy");
    /// use npmap::ndarray::Ix1;
    /// npmap::save_npy(&path, &npmap::ndarray::arr1(&[1i64, 2]))?;
    /// // SAFETY: nothing else truncates or writes the file while it is mapped.
    /// let mut y = unsafe { npmap::load_npy::<i64, Ix1>(&path, npmap::MmapMode::ReadWrite)? };
    /// y.view_mut()?.mapv_inplace(|v| -v);
    /// y.flush()?;
    /// assert_eq!(npmap::read_npy::<i64, Ix1>(&path)?.to_vec(), [-1, -2]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] (`action` `"flush"`) when the operating system fails to write the
    /// pages back.
    pub fn flush(&self) -> Result<()> {
        self.file.flush()
    }

    /// The parsed header.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("X.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::Array2::<f64>::zeros((5, 2)))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let x = unsafe { npmap::load_npy::<f64, npmap::ndarray::Ix2>(&path, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!((x.header().shape.clone(), x.header().len()), (vec![5, 2], 10));
    /// # Ok(()) }
    /// ```
    pub fn header(&self) -> &Header {
        self.file.header()
    }

    /// The untyped file, for its path, mode and raw bytes or for views of other types.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::arr1(&[1u16, 2, 3]))?;
    /// use npmap::MmapMode;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let x = unsafe { npmap::load_npy::<u16, npmap::ndarray::Ix1>(&path, MmapMode::ReadOnly)? };
    /// assert_eq!(x.file().mode(), MmapMode::ReadOnly);
    /// assert_eq!(x.file().data().len(), 6);
    /// # Ok(()) }
    /// ```
    pub fn file(&self) -> &NpyFile {
        &self.file
    }

    /// Gives back the untyped file, keeping the mapping.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::arr2(&[[1u8, 2], [3, 4]]))?;
    /// use npmap::ndarray::{Ix2, IxDyn};
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let x = unsafe { npmap::load_npy::<u8, Ix2>(&path, npmap::MmapMode::ReadOnly)? };
    /// let f = x.into_file();
    /// assert_eq!(f.view::<u8, IxDyn>()?[[1, 0]], 3);
    /// # Ok(()) }
    /// ```
    pub fn into_file(self) -> NpyFile {
        self.file
    }
}

/// Maps a `.npy` file as an array of `A` with `D` dimensions (`IxDyn` for any).
///
/// All checks (dtype, dimensions, native byte order, alignment, length, `bool`
/// bytes) happen here, once; opening costs a few system calls whatever the file
/// size, plus one pass over the bytes for `bool` arrays.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("eye.npy");
/// use npmap::ndarray::{Array2, Ix2};
/// use npmap::{Error, MmapMode};
/// npmap::save_npy(&path, &Array2::<f64>::eye(3))?;
/// // SAFETY: nothing truncates or rewrites the file while it is mapped.
/// let x = unsafe { npmap::load_npy::<f64, Ix2>(&path, MmapMode::ReadOnly)? };
/// assert_eq!(x.view().diag().sum(), 3.0);
///
/// // SAFETY: as above.
/// let wrong = unsafe { npmap::load_npy::<f32, Ix2>(&path, MmapMode::ReadOnly) };
/// assert!(matches!(wrong, Err(Error::DTypeMismatch { expected: "f32", .. })));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The errors of [`NpyFile::open`] (I/O, a malformed or truncated file) and of
/// [`NpyFile::view`]: [`Error::DTypeMismatch`], [`Error::NdimMismatch`],
/// [`Error::NonNativeByteOrder`], [`Error::Misaligned`], [`Error::InvalidBool`].
///
/// # Safety
/// See the [contract on `NpyFile`](NpyFile#safety).
pub unsafe fn load_npy<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    mode: MmapMode,
) -> Result<NpyArray<A, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { NpyFile::open(path, mode) }?.into_array()
}

/// [`load_npy`] with explicit header limits, for trusted files whose header is
/// longer than NumPy's default cap (large structured dtypes).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("x.npy");
/// # npmap::save_npy(&path, &npmap::ndarray::arr1(&[0.5f32, 1.5]))?;
/// use npmap::{HeaderOptions, MmapMode};
/// let trusted = HeaderOptions::new().max_header_size(1 << 20);
/// // SAFETY: nothing truncates or rewrites the file while it is mapped.
/// let x = unsafe {
///     npmap::load_npy_with::<f32, npmap::ndarray::Ix1>(&path, MmapMode::ReadOnly, &trusted)?
/// };
/// assert_eq!(x.view().sum(), 2.0);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`load_npy`], with `options` deciding when a header is
/// [`Error::HeaderTooLarge`] or nests too deep ([`Error::HeaderNesting`]).
///
/// # Safety
/// See the [contract on `NpyFile`](NpyFile#safety).
pub unsafe fn load_npy_with<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    mode: MmapMode,
    options: &HeaderOptions,
) -> Result<NpyArray<A, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { NpyFile::open_with(path, mode, options) }?.into_array()
}

/// Reads only the header of a `.npy` file (and checks that the file holds its data).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("X.npy");
/// npmap::save_npy(&path, &npmap::ndarray::Array2::<f32>::zeros((3, 4))).unwrap();
/// let h = npmap::read_npy_header(&path).unwrap();
/// assert_eq!((h.dtype.name(), h.shape.clone(), h.data_offset), ("float32".to_string(), vec![3, 4], 128));
/// ```
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be opened, its size read (`"stat"`) or its
/// header read (`"read header"`), and the errors of [`Header::read_from`] for a file
/// that is not a well-formed `.npy`, among them [`Error::Truncated`] when the file is
/// shorter than its header says.
pub fn read_npy_header(path: impl AsRef<Path>) -> Result<Header> {
    open_npy(path.as_ref(), false, &HeaderOptions::default()).map(|(_, _, header)| header)
}

/// Opens `path` (for writing too when `writable`) and returns it with its length.
pub(crate) fn open_file(path: &Path, writable: bool) -> Result<(File, u64)> {
    let file = OpenOptions::new()
        .read(true)
        .write(writable)
        .open(path)
        .map_err(|e| Error::io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    Ok((file, len))
}

/// Opens a `.npy` file and reads its header, checked against the file's length
/// (returned too); the file is left positioned at the data.
pub(crate) fn open_npy(
    path: &Path,
    writable: bool,
    options: &HeaderOptions,
) -> Result<(File, u64, Header)> {
    let (mut file, len) = open_file(path, writable)?;
    let header = Header::read_from(&mut file, path, Some(len), options)?;
    Ok((file, len, header))
}

/// Reads a whole `.npy` file into memory: any byte order, any alignment, and the
/// file's memory order kept (a Fortran-order file gives an F-layout array).
///
/// No mapping is made, so there is no contract to keep: the function is safe.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("X.npy");
/// let a = npmap::ndarray::arr2(&[[1.0f64, 2.0], [3.0, 4.0]]);
/// npmap::save_npy(&path, &a)?;
/// let b: npmap::ndarray::Array2<f64> = npmap::read_npy(&path)?;
/// assert_eq!(a, b);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`Error::Io`] when the file cannot be opened or read.
/// - The errors of [`Header::read_from`] for a file that is not a well-formed `.npy`,
///   among them [`Error::Truncated`] when the file is shorter than its header says.
/// - [`Error::DTypeMismatch`] when the file's dtype is not `A`'s (in either byte order).
/// - [`Error::NdimMismatch`] when `D` has a fixed number of dimensions and the file
///   has another.
/// - [`Error::InvalidBool`] for a `bool` array holding a byte other than 0 or 1.
pub fn read_npy<A: Element, D: Dimension>(path: impl AsRef<Path>) -> Result<Array<A, D>> {
    read_npy_with(path, &HeaderOptions::default())
}

/// [`read_npy`] with explicit header limits.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("x.npy");
/// use npmap::ndarray::Ix1;
/// use npmap::{Error, HeaderOptions};
/// npmap::save_npy(&path, &npmap::ndarray::arr1(&[7u8]))?; // a 118-byte header
/// let tight = HeaderOptions::new().max_header_size(64);
/// let e = npmap::read_npy_with::<u8, Ix1>(&path, &tight).unwrap_err();
/// assert!(matches!(e, Error::HeaderTooLarge { found: 118, limit: 64, .. }));
/// let a = npmap::read_npy_with::<u8, Ix1>(&path, &HeaderOptions::default())?;
/// assert_eq!(a.to_vec(), [7]);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`read_npy`], with `options` deciding when a header is
/// [`Error::HeaderTooLarge`] or nests too deep ([`Error::HeaderNesting`]).
pub fn read_npy_with<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    options: &HeaderOptions,
) -> Result<Array<A, D>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    read_array(&mut reader, path, Some(len), options)
}

/// Reads a `.npy` stream (for instance a member of an archive) into memory.
///
/// The data is read in bounded steps, so a stream that declares more data than it
/// holds is refused without allocating the declared size. Errors name the source
/// `<stream>`.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// use npmap::ndarray::{arr1, Array1};
/// use npmap::Error;
/// let mut bytes = Vec::new();
/// npmap::write_npy(&mut bytes, &arr1(&[1.5f32, 2.5, 3.5]))?;
/// let a: Array1<f32> = npmap::read_npy_from(bytes.as_slice())?;
/// assert_eq!(a.to_vec(), [1.5, 2.5, 3.5]);
///
/// let cut = &bytes[..bytes.len() - 2]; // the last element is incomplete
/// let e = npmap::read_npy_from::<f32, npmap::ndarray::Ix1>(cut).unwrap_err();
/// assert!(matches!(e, Error::Truncated { what: "array data", expected: 12, found: 10, .. }));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`Error::Io`] when reading from `reader` fails.
/// - The errors of [`Header::read_from`] for a stream that is not a well-formed `.npy`,
///   and [`Error::Truncated`] when the stream ends before the data does.
/// - [`Error::DTypeMismatch`], [`Error::NdimMismatch`] and [`Error::InvalidBool`], as
///   for [`read_npy`].
pub fn read_npy_from<A: Element, D: Dimension>(reader: impl Read) -> Result<Array<A, D>> {
    let mut reader = reader;
    read_array(
        &mut reader,
        Path::new(STREAM_PATH),
        None,
        &HeaderOptions::default(),
    )
}

/// Reads header and data; `file_len`, when known, was checked against the header.
pub(crate) fn read_array<A: Element, D: Dimension>(
    reader: &mut impl Read,
    path: &Path,
    file_len: Option<u64>,
    options: &HeaderOptions,
) -> Result<Array<A, D>> {
    let header = Header::read_from(reader, path, file_len, options)?;
    let swap = match match_element::<A>(&header.dtype) {
        ElementMatch::Native => false,
        ElementMatch::Swapped => true,
        ElementMatch::Different => return Err(dtype_mismatch::<A>(path, &header.dtype)),
    };
    let dim = dimension::<D>(path, &header.shape)?;
    let count = header.len();
    // With the length checked, read in one step; from a stream, grow as data arrives.
    let step = match file_len {
        Some(_) => None,
        None => Some((16 << 20) / std::mem::size_of::<A>().max(1)),
    };
    let origin = Origin {
        path,
        data_offset: header.data_offset,
    };
    let elements = cast::read_elements::<A>(reader, count, step, swap, origin)?;
    Array::from_shape_vec(dim.set_f(header.fortran_order), elements).map_err(|_| {
        Error::ShapeOverflow {
            path: path.to_path_buf(),
            shape: header.shape.iter().map(|&d| d as u64).collect(),
            itemsize: header.dtype.itemsize(),
        }
    })
}

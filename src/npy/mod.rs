//! Memory-mapped `.npy` files: [`NpyFile`] (untyped) and [`NpyArray`] (typed) own the
//! mapping and lend `ndarray` views of it; [`read_npy`] is the copying read. The
//! submodules write (`save`, `create`, `append`), map headerless files (`raw`) and
//! read structured (`fields`) and string (`strings`) arrays.
//!
//! May import: crate::error, crate::format, crate::fs, crate::cast, crate::compute.
//!
//! (`compute` for its `Progress`, the hook of scans that release what they read.)

pub(crate) mod advice;
pub(crate) mod append;
pub(crate) mod array;
pub(crate) mod bytes;
pub(crate) mod create;
pub(crate) mod field_records;
pub(crate) mod fields;
pub(crate) mod raw;
pub(crate) mod read;
pub(crate) mod records;
pub(crate) mod recover;
pub(crate) mod save;
pub(crate) mod save_strings;
pub(crate) mod slab;
pub(crate) mod strings;
pub(crate) mod write_behind;

pub use array::{NpyArray, load_npy, load_npy_with};
pub(crate) use read::{open_file, open_npy, read_array};
pub use read::{read_npy, read_npy_from, read_npy_header, read_npy_with};

use std::fs::File;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapMut, MmapOptions};
use ndarray::{ArrayView, ArrayViewMut, CowArray, Dimension, IxDyn};

use crate::cast::Origin;
use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::DType;
use crate::format::element::Element;
use crate::format::header::{Header, HeaderOptions};

/// How a file is mapped, as NumPy's `mmap_mode`.
///
/// | mode | NumPy | file opened | writes through a view |
/// |---|---|---|---|
/// | [`ReadOnly`](MmapMode::ReadOnly) | `'r'` | for reading | refused ([`ErrorKind::ReadOnly`]) |
/// | [`ReadWrite`](MmapMode::ReadWrite) | `'r+'` | for reading and writing | reach the file, seen by every mapping of it |
/// | [`CopyOnWrite`](MmapMode::CopyOnWrite) | `'c'` | for reading | stay in this mapping's private pages |
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("x.npy");
/// use npmap::ndarray::{Array1, Ix1};
/// use npmap::{ErrorKind, MmapMode, NpyFile};
/// npmap::save_npy(&path, &Array1::<i32>::zeros(3))?;
///
/// // SAFETY: nothing truncates the file or writes invalid values to it while it is mapped.
/// let mut r = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
/// assert!(matches!(r.view_mut::<i32, Ix1>().as_ref().map_err(|e| e.kind()), Err(ErrorKind::ReadOnly { .. })));
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

impl NpyFile {
    /// Drops the data bytes `range` from this process's page tables and, through
    /// `file` (this file, open again), from the page cache, so they cost no memory
    /// until read again. A copy-on-write mapping is left alone: dropping its pages
    /// would lose the changes held only in them. Best effort.
    pub(crate) fn forget(&self, range: std::ops::Range<usize>, file: &File) {
        let len = range.end.saturating_sub(range.start);
        let advice = memmap2::UncheckedAdvice::DontNeed;
        let dropped = match (&self.map, self.mode) {
            (Mapping::Empty, _) | (_, MmapMode::CopyOnWrite) => return,
            // SAFETY: a shared mapping (read-only, or ReadWrite: MAP_SHARED) keeps no
            // data of its own: after MADV_DONTNEED its pages are the file's pages again,
            // read back from the page cache (or disk) on the next access, so every view
            // still sees the file's bytes.
            (Mapping::ReadOnly(m), _) => unsafe {
                m.unchecked_advise_range(advice, range.start, len)
            },
            // SAFETY: as above (a Writable mapping in ReadWrite mode is MAP_SHARED).
            (Mapping::Writable(m), _) => unsafe {
                m.unchecked_advise_range(advice, range.start, len)
            },
        };
        if dropped.is_ok() {
            let offset = self.header.data_offset + range.start as u64;
            crate::fs::os::drop_cached(file, offset, len as u64);
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
    /// use npmap::{DType, ErrorKind, MmapMode, NpyFile};
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
    /// assert!(matches!(e.kind(), ErrorKind::BadMagic { found, .. } if found == b"hello"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Io`] when the file cannot be opened (`action` `"open"`: missing, or not
    ///   writable for [`MmapMode::ReadWrite`]), its size or header cannot be read
    ///   (`"stat"`, `"read header"`), or it cannot be mapped (`"map"`).
    /// - The errors of [`Header::read_from`] for a file that is not a well-formed `.npy`:
    ///   [`ErrorKind::BadMagic`] for another kind of file, [`ErrorKind::Truncated`] when the file
    ///   ends before its header or its data does, [`ErrorKind::HeaderTooLarge`] for a header
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
    /// use npmap::{ErrorKind, HeaderOptions, MmapMode, NpyFile};
    /// npmap::save_npy(&path, &npmap::ndarray::arr1(&[1u8, 2]))?; // a 118-byte header
    /// let strict = HeaderOptions::new().max_header_size(100);
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let e = unsafe { NpyFile::open_with(&path, MmapMode::ReadOnly, &strict) }.unwrap_err();
    /// assert!(matches!(e.kind(), ErrorKind::HeaderTooLarge { found: 118, limit: 100, .. }));
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
    /// [`ErrorKind::HeaderTooLarge`] or nests too deep ([`ErrorKind::HeaderNesting`]).
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
            Mapping::ReadOnly(_) => Err(Error::at(self.path.clone(), ErrorKind::ReadOnly)),
        }
    }

    fn origin(&self) -> Origin {
        Origin {
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
    /// use npmap::{ErrorKind, MmapMode, NpyFile};
    /// npmap::save_npy(&path, &arr2(&[[1i16, 2, 3], [4, 5, 6]]))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// assert_eq!(f.view::<i16, Ix2>()?[[1, 2]], 6);
    /// assert_eq!(f.view::<i16, IxDyn>()?.shape(), [2, 3]);
    /// let e = f.view::<i16, Ix1>().unwrap_err();
    /// assert!(matches!(e.kind(), ErrorKind::NdimMismatch { found: 2, expected: 1, .. }));
    /// assert!(matches!(f.view::<u16, Ix2>().as_ref().map_err(|e| e.kind()), Err(ErrorKind::DTypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the file's dtype is not `A`'s.
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the file
    ///   has another.
    /// - [`ErrorKind::NonNativeByteOrder`] when the data is in the other byte order.
    /// - [`ErrorKind::Misaligned`] when the data does not start at an address aligned for `A`
    ///   (never for files that NumPy or npmap wrote: their data starts on a 64-byte
    ///   boundary).
    /// - [`ErrorKind::InvalidBool`] for a `bool` array holding a byte other than 0 or 1.
    ///
    /// [`NpyFile::cow`] copies in the byte-order and alignment cases.
    pub fn view<A: Element, D: Dimension>(&self) -> Result<ArrayView<'_, A, D>> {
        bytes::view(&self.header, self.map.bytes(), self.origin())
            .map_err(|e| e.in_file(&self.path))
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
    /// [`ErrorKind::ReadOnly`] for a [`MmapMode::ReadOnly`] mapping, and the errors of
    /// [`NpyFile::view`].
    pub fn view_mut<A: Element, D: Dimension>(&mut self) -> Result<ArrayViewMut<'_, A, D>> {
        let origin = self.origin();
        let data: &mut [u8] = match &mut self.map {
            Mapping::Empty => &mut [],
            Mapping::Writable(m) => m,
            Mapping::ReadOnly(_) => {
                return Err(Error::at(self.path.clone(), ErrorKind::ReadOnly));
            }
        };
        bytes::view_mut(&self.header, data, origin).map_err(|e| e.in_file(&self.path))
    }

    /// The data as `A`: borrowed when a zero-copy view is possible, otherwise a copy
    /// converted to native byte order (and alignment). The element type must match.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("be.npy");
    /// use npmap::ndarray::Ix1;
    /// use npmap::{ErrorKind, MmapMode, NpyFile};
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
    /// assert!(matches!(f.view::<f64, Ix1>().as_ref().map_err(|e| e.kind()), Err(ErrorKind::NonNativeByteOrder { .. })));
    /// let c = f.cow::<f64, Ix1>()?;
    /// assert!(c.is_owned());
    /// assert_eq!(c.to_vec(), [1.5, -2.0]);
    /// # }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the file's dtype is not `A`'s (in either byte order).
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the file
    ///   has another.
    /// - [`ErrorKind::InvalidBool`] for a `bool` array holding a byte other than 0 or 1.
    pub fn cow<A: Element, D: Dimension>(&self) -> Result<CowArray<'_, A, D>> {
        bytes::cow(&self.header, self.map.bytes(), self.origin()).map_err(|e| e.in_file(&self.path))
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
        let dim = dimension::<D>(&self.header.shape).map_err(|e| e.in_file(&self.path))?;
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
    /// [`ErrorKind::Io`] (`action` `"flush"`) when the operating system fails to write the
    /// pages back (`msync`), for instance on a full disk or a failing device.
    pub fn flush(&self) -> Result<()> {
        match (&self.map, self.mode) {
            (Mapping::Writable(m), MmapMode::ReadWrite) => {
                m.flush().map_err(|e| Error::io(&self.path, "flush", e))
            }
            _ => Ok(()),
        }
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

/// A writable mapping of bytes `offset..offset + len` of `file` (`len` > 0): shared
/// for [`MmapMode::ReadWrite`] (`file` open for writing; writes reach it), private for
/// [`MmapMode::CopyOnWrite`]. `None` for [`MmapMode::ReadOnly`], which has no writable
/// mapping. The arrays of a joblib dump loaded `'r+'` or `'c'` are mapped this way.
///
/// # Safety
/// `file` must hold the whole range and must not be truncated while the mapping
/// lives (the contract of [`NpyFile`]).
pub(crate) unsafe fn map_range_writable(
    file: &File,
    path: &Path,
    offset: u64,
    len: usize,
    mode: MmapMode,
) -> Result<Option<MmapMut>> {
    let mut options = MmapOptions::new();
    options.offset(offset).len(len);
    // SAFETY: the caller guarantees the range exists and stays; memmap2 aligns the
    // offset to a page and adjusts the pointer.
    let map = unsafe {
        match mode {
            MmapMode::ReadOnly => return Ok(None),
            MmapMode::ReadWrite => options.map_mut(file),
            MmapMode::CopyOnWrite => options.map_copy(file),
        }
    };
    map.map(Some).map_err(|e| Error::io(path, "map", e))
}

pub(crate) fn dtype_mismatch<A: Element>(found: &DType) -> Error {
    Error::from(ErrorKind::DTypeMismatch {
        found: found.descr(),
        found_name: found.name(),
        expected: A::NAME,
    })
}

/// The shape as the dimension type `D`, or an error naming both.
pub(crate) fn dimension<D: Dimension>(shape: &[usize]) -> Result<D> {
    D::from_dimension(&IxDyn(shape)).ok_or_else(|| {
        Error::from(ErrorKind::NdimMismatch {
            found: shape.len(),
            expected: D::NDIM.unwrap_or(shape.len()),
            shape: shape.to_vec(),
        })
    })
}

//! [`NpyArray`]: a mapped file checked once for one element type and dimension, and
//! [`load_npy`], which opens one.

use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;

use ndarray::{ArrayView, ArrayViewMut, Dimension, ShapeBuilder};

use crate::error::{Error, ErrorKind, Result};
use crate::format::element::Element;
use crate::format::header::{Header, HeaderOptions};

use super::*;

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
    pub(super) file: NpyFile,
    pub(super) dim: D,
    pub(super) _element: PhantomData<A>,
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
    /// use npmap::{ErrorKind, MmapMode};
    /// npmap::save_npy(&path, &Array1::<u32>::zeros(3))?;
    /// // SAFETY: nothing else truncates or writes the file while it is mapped.
    /// let mut c = unsafe { npmap::load_npy::<u32, Ix1>(&path, MmapMode::ReadWrite)? };
    /// c.view_mut()?[2] += 5;
    /// c.flush()?;
    /// assert_eq!(npmap::read_npy::<u32, Ix1>(&path)?.to_vec(), [0, 0, 5]);
    ///
    /// // SAFETY: as above.
    /// let mut r = unsafe { npmap::load_npy::<u32, Ix1>(&path, MmapMode::ReadOnly)? };
    /// assert!(matches!(r.view_mut().as_ref().map_err(|e| e.kind()), Err(ErrorKind::ReadOnly { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ReadOnly`] when the array was mapped with [`MmapMode::ReadOnly`].
    pub fn view_mut(&mut self) -> Result<ArrayViewMut<'_, A, D>> {
        let shape = self.dim.clone().set_f(self.file.header.fortran_order);
        let ptr = match &mut self.file.map {
            Mapping::Empty => NonNull::<A>::dangling().as_ptr(),
            Mapping::Writable(m) => m.as_mut_ptr().cast::<A>(),
            Mapping::ReadOnly(_) => {
                return Err(Error::at(self.file.path.clone(), ErrorKind::ReadOnly));
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
    /// [`ErrorKind::Io`] (`action` `"flush"`) when the operating system fails to write the
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

    /// Advises the kernel how the data will be used: [`NpyFile::advise`].
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::arr1(&[1.5f64, 2.5]))?;
    /// use npmap::{Access, MmapMode};
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let x = unsafe { npmap::load_npy::<f64, npmap::ndarray::Ix1>(&path, MmapMode::ReadOnly)? };
    /// x.advise(Access::Random);
    /// assert_eq!(x.view()[1], 2.5);
    /// # Ok(()) }
    /// ```
    pub fn advise(&self, access: crate::npy::advice::Access) {
        self.file.advise(access);
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
/// use npmap::{ErrorKind, MmapMode};
/// npmap::save_npy(&path, &Array2::<f64>::eye(3))?;
/// // SAFETY: nothing truncates or rewrites the file while it is mapped.
/// let x = unsafe { npmap::load_npy::<f64, Ix2>(&path, MmapMode::ReadOnly)? };
/// assert_eq!(x.view().diag().sum(), 3.0);
///
/// // SAFETY: as above.
/// let wrong = unsafe { npmap::load_npy::<f32, Ix2>(&path, MmapMode::ReadOnly) };
/// assert!(matches!(wrong.as_ref().map_err(|e| e.kind()), Err(ErrorKind::DTypeMismatch { expected: "f32", .. })));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The errors of [`NpyFile::open`] (I/O, a malformed or truncated file) and of
/// [`NpyFile::view`]: [`ErrorKind::DTypeMismatch`], [`ErrorKind::NdimMismatch`],
/// [`ErrorKind::NonNativeByteOrder`], [`ErrorKind::Misaligned`], [`ErrorKind::InvalidBool`].
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
/// [`ErrorKind::HeaderTooLarge`] or nests too deep ([`ErrorKind::HeaderNesting`]).
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

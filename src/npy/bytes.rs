//! `.npy` bytes already in memory: [`NpyBytes`] checks a header once and lends typed
//! views of any buffer (a `Vec<u8>`, an HTTP body, a mapping the caller made). The
//! checks a view needs (dtype, byte order, dimensions, alignment, length) are the
//! functions here; [`crate::NpyFile`] and `.npz` members use the same ones.

use ndarray::{Array, ArrayView, ArrayViewMut, CowArray, Dimension, ShapeBuilder};

use crate::cast::{self, Origin};
use crate::error::{Error, ErrorKind, Result};
use crate::format::element::{Element, ElementMatch, match_element};
use crate::format::header::{Header, HeaderOptions};
use crate::npy::{dimension, dtype_mismatch};

/// A `.npy` image in a borrowed buffer: its header, parsed and checked against the
/// buffer's length, and its data bytes. Views borrow the buffer: nothing is copied
/// unless the bytes cannot be viewed as asked (another byte order, or misaligned),
/// and then only by [`NpyBytes::cow`].
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// use npmap::NpyBytes;
/// use npmap::ndarray::{Ix2, arr2};
/// let mut buffer = Vec::new();
/// npmap::write_npy_to(&mut buffer, &arr2(&[[1i32, 2], [3, 4]]))?;
/// let npy = NpyBytes::parse(&buffer)?;
/// assert_eq!(npy.header().shape, [2, 2]);
/// assert_eq!(npy.cow::<i32, Ix2>()?, arr2(&[[1, 2], [3, 4]]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct NpyBytes<'a> {
    header: Header,
    data: &'a [u8],
}

impl<'a> NpyBytes<'a> {
    /// Parses the header at the start of `bytes` (NumPy's default header limits) and
    /// checks that the buffer holds all the data it describes; bytes after the data
    /// are ignored, as NumPy ignores them.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// let mut buffer = Vec::new();
    /// npmap::write_npy_to(&mut buffer, &npmap::ndarray::arr1(&[1.5f64, 2.5]))?;
    /// let npy = npmap::NpyBytes::parse(&buffer)?;
    /// assert_eq!(npy.header().dtype.descr(), "<f8");
    /// assert_eq!(npy.data().len(), 16);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`Header::read_from`] for bytes that are not a well-formed
    /// `.npy` image, among them [`ErrorKind::Truncated`] when the buffer is shorter than
    /// its header says.
    pub fn parse(bytes: &'a [u8]) -> Result<NpyBytes<'a>> {
        NpyBytes::parse_with(bytes, &HeaderOptions::default())
    }

    /// [`NpyBytes::parse`] with explicit header limits.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// let mut buffer = Vec::new();
    /// npmap::write_npy_to(&mut buffer, &npmap::ndarray::arr1(&[7u8]))?;
    /// let options = npmap::HeaderOptions::default();
    /// assert_eq!(npmap::NpyBytes::parse_with(&buffer, &options)?.data(), [7]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpyBytes::parse`]; [`ErrorKind::HeaderTooLarge`] and [`ErrorKind::HeaderNesting`]
    /// follow `options`.
    pub fn parse_with(bytes: &'a [u8], options: &HeaderOptions) -> Result<NpyBytes<'a>> {
        let len = bytes.len() as u64;
        let header = Header::read_from(&mut &bytes[..], Some(len), options)?;
        let data = data_at(bytes, header.data_offset, &header)?;
        Ok(NpyBytes { header, data })
    }

    /// The parsed header.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// let mut buffer = Vec::new();
    /// npmap::write_npy_to(&mut buffer, &npmap::ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert_eq!(npmap::NpyBytes::parse(&buffer)?.header().data_offset, 128);
    /// # Ok(()) }
    /// ```
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The data bytes, exactly as many as the header describes.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// let mut buffer = Vec::new();
    /// npmap::write_npy_to(&mut buffer, &npmap::ndarray::arr1(&[1u16, 2]))?;
    /// let npy = npmap::NpyBytes::parse(&buffer)?;
    /// assert_eq!(npy.data(), &buffer[128..]);
    /// # Ok(()) }
    /// ```
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// A zero-copy view of the data as `A` with dimension `D`.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// use npmap::ndarray::{Ix1, arr1};
    /// let mut buffer = Vec::new();
    /// npmap::write_npy_to(&mut buffer, &arr1(&[1.0f32, 2.0]))?;
    /// let npy = npmap::NpyBytes::parse(&buffer)?;
    /// # if buffer.as_ptr() as usize % 4 == 0 {
    /// assert_eq!(npy.view::<f32, Ix1>()?, arr1(&[1.0, 2.0]));
    /// # }
    /// assert!(npy.view::<f64, Ix1>().is_err()); // the data is float32
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the dtype is not `A`'s, [`ErrorKind::NonNativeByteOrder`]
    ///   when it is `A` in the other byte order (use [`NpyBytes::cow`]).
    /// - [`ErrorKind::NdimMismatch`] when `D` has another number of dimensions.
    /// - [`ErrorKind::Misaligned`] when the data does not start at a multiple of `A`'s
    ///   alignment in memory (use [`NpyBytes::cow`]).
    /// - [`ErrorKind::InvalidBool`] for `bool` data holding a byte other than 0 or 1.
    pub fn view<A: Element, D: Dimension>(&self) -> Result<ArrayView<'a, A, D>> {
        view(&self.header, self.data, origin(&self.header))
    }

    /// The data as `A`: a view when the bytes allow it, else a converted copy (the other
    /// byte order, or misaligned bytes).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// use npmap::ndarray::{Ix1, arr1};
    /// let mut buffer = vec![0u8]; // one byte in front: the data is misaligned
    /// npmap::write_npy_to(&mut buffer, &arr1(&[1.0f64, 2.0]))?;
    /// let npy = npmap::NpyBytes::parse(&buffer[1..])?;
    /// assert_eq!(npy.cow::<f64, Ix1>()?, arr1(&[1.0, 2.0]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpyBytes::view`], except that another byte order and misalignment are
    /// not errors.
    pub fn cow<A: Element, D: Dimension>(&self) -> Result<CowArray<'a, A, D>> {
        cow(&self.header, self.data, origin(&self.header))
    }
}

/// The `header.data_len()` bytes of array data at byte `offset` of `buffer`, or
/// [`ErrorKind::Truncated`] when the buffer ends before them.
pub(crate) fn data_at<'a>(buffer: &'a [u8], offset: u64, header: &Header) -> Result<&'a [u8]> {
    let range = usize::try_from(offset).ok().and_then(|start| {
        let len = usize::try_from(header.data_len()).ok()?;
        Some(start..start.checked_add(len)?)
    });
    range.and_then(|r| buffer.get(r)).ok_or_else(|| {
        Error::from(ErrorKind::Truncated {
            what: "array data",
            offset,
            expected: header.data_len(),
            found: (buffer.len() as u64).saturating_sub(offset),
        })
    })
}

pub(crate) fn origin(header: &Header) -> Origin {
    Origin {
        data_offset: header.data_offset,
    }
}

/// The dimension of a view of `A`, after checking that the data is `A` in native order.
pub(crate) fn check_native<A: Element, D: Dimension>(header: &Header) -> Result<D> {
    match match_element::<A>(&header.dtype) {
        ElementMatch::Native => {}
        ElementMatch::Swapped => {
            return Err(Error::from(ErrorKind::NonNativeByteOrder {
                descr: header.dtype.descr(),
            }));
        }
        ElementMatch::Different => return Err(dtype_mismatch::<A>(&header.dtype)),
    }
    dimension::<D>(&header.shape)
}

fn overflow(header: &Header) -> Error {
    Error::from(ErrorKind::ShapeOverflow {
        shape: header.shape.iter().map(|&d| d as u64).collect(),
        itemsize: header.dtype.itemsize(),
    })
}

/// The one checked view: `data` is exactly the array's bytes, described by `header`.
pub(crate) fn view<'a, A: Element, D: Dimension>(
    header: &Header,
    data: &'a [u8],
    origin: Origin,
) -> Result<ArrayView<'a, A, D>> {
    let dim = check_native::<A, D>(header)?;
    let elements = cast::as_elements::<A>(data, origin)?;
    ArrayView::from_shape(dim.set_f(header.fortran_order), elements).map_err(|_| overflow(header))
}

/// The one checked mutable view (see [`view`]).
pub(crate) fn view_mut<'a, A: Element, D: Dimension>(
    header: &Header,
    data: &'a mut [u8],
    origin: Origin,
) -> Result<ArrayViewMut<'a, A, D>> {
    let dim = check_native::<A, D>(header)?;
    let elements = cast::as_elements_mut::<A>(data, origin)?;
    ArrayViewMut::from_shape(dim.set_f(header.fortran_order), elements)
        .map_err(|_| overflow(header))
}

/// A view when the bytes are `A` in native order and aligned, else a converted copy.
pub(crate) fn cow<'a, A: Element, D: Dimension>(
    header: &Header,
    data: &'a [u8],
    origin: Origin,
) -> Result<CowArray<'a, A, D>> {
    let swap = match match_element::<A>(&header.dtype) {
        ElementMatch::Native => false,
        ElementMatch::Swapped => true,
        ElementMatch::Different => return Err(dtype_mismatch::<A>(&header.dtype)),
    };
    if !swap && cast::is_aligned_for::<A>(data) {
        return view::<A, D>(header, data, origin).map(CowArray::from);
    }
    let dim = dimension::<D>(&header.shape)?;
    let elements = cast::copy_elements::<A>(data, swap, origin)?;
    Array::from_shape_vec(dim.set_f(header.fortran_order), elements)
        .map(CowArray::from)
        .map_err(|_| overflow(header))
}

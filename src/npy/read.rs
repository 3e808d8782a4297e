//! Copying reads: [`read_npy`] and friends read a whole `.npy` into memory, in any
//! byte order; [`read_npy_header`] reads only the header.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use ndarray::{Array, Dimension, ShapeBuilder};

use crate::cast::{self, Origin};
use crate::error::{Error, ErrorKind, Result};
use crate::format::element::{Element, ElementMatch, match_element};
use crate::format::header::{Header, HeaderOptions};

use super::*;

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
/// [`ErrorKind::Io`] when the file cannot be opened, its size read (`"stat"`) or its
/// header read (`"read header"`), and the errors of [`Header::read_from`] for a file
/// that is not a well-formed `.npy`, among them [`ErrorKind::Truncated`] when the file is
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
    match Header::read_from(&mut file, Some(len), options) {
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Truncated {
                    what: "array data",
                    ..
                }
            ) =>
        {
            reread_grown(path, file, options)
        }
        r => Ok((file, len, r.map_err(|e| e.in_file(path))?)),
    }
}

/// The second look at a file whose header claimed more data than the file held when
/// measured: an appender ([`crate::NpyAppender`]) writes rows, then rewrites the
/// header's shape, so a reader that measured before it read the header sees a newer
/// header than length. Read the header again, then measure: the rows the header
/// counts were written before it, and only a file that really ends early is
/// [`ErrorKind::Truncated`].
fn reread_grown(
    path: &Path,
    mut file: File,
    options: &HeaderOptions,
) -> Result<(File, u64, Header)> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, "read header", e))?;
    let header = Header::read_from(&mut file, None, options).map_err(|e| e.in_file(path))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    header.check_file_len(len).map_err(|e| e.in_file(path))?;
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
/// - [`ErrorKind::Io`] when the file cannot be opened or read.
/// - The errors of [`Header::read_from`] for a file that is not a well-formed `.npy`,
///   among them [`ErrorKind::Truncated`] when the file is shorter than its header says.
/// - [`ErrorKind::DTypeMismatch`] when the file's dtype is not `A`'s (in either byte order).
/// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the file
///   has another.
/// - [`ErrorKind::InvalidBool`] for a `bool` array holding a byte other than 0 or 1.
/// - [`ErrorKind::OutOfMemory`] when the copy cannot be allocated (where NumPy raises
///   `MemoryError`), instead of an abort.
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
/// use npmap::{ErrorKind, HeaderOptions};
/// npmap::save_npy(&path, &npmap::ndarray::arr1(&[7u8]))?; // a 118-byte header
/// let tight = HeaderOptions::new().max_header_size(64);
/// let e = npmap::read_npy_with::<u8, Ix1>(&path, &tight).unwrap_err();
/// assert!(matches!(e.kind(), ErrorKind::HeaderTooLarge { found: 118, limit: 64, .. }));
/// let a = npmap::read_npy_with::<u8, Ix1>(&path, &HeaderOptions::default())?;
/// assert_eq!(a.to_vec(), [7]);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`read_npy`], with `options` deciding when a header is
/// [`ErrorKind::HeaderTooLarge`] or nests too deep ([`ErrorKind::HeaderNesting`]).
pub fn read_npy_with<A: Element, D: Dimension>(
    path: impl AsRef<Path>,
    options: &HeaderOptions,
) -> Result<Array<A, D>> {
    let path = path.as_ref();
    let (file, _, header) = open_npy(path, false, options)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    read_data(&mut reader, &header, true).map_err(|e| e.in_file(path))
}

/// Reads a `.npy` stream (for instance a member of an archive) into memory.
///
/// The data is read in bounded steps, so a stream that declares more data than it
/// holds is refused without allocating the declared size. Errors carry no path
/// ([`Error::path`] is `None`).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// use npmap::ndarray::{arr1, Array1};
/// use npmap::ErrorKind;
/// let mut bytes = Vec::new();
/// npmap::write_npy_to(&mut bytes, &arr1(&[1.5f32, 2.5, 3.5]))?;
/// let a: Array1<f32> = npmap::read_npy_from(bytes.as_slice())?;
/// assert_eq!(a.to_vec(), [1.5, 2.5, 3.5]);
///
/// let cut = &bytes[..bytes.len() - 2]; // the last element is incomplete
/// let e = npmap::read_npy_from::<f32, npmap::ndarray::Ix1>(cut).unwrap_err();
/// assert!(matches!(e.kind(), ErrorKind::Truncated { what: "array data", expected: 12, found: 10, .. }));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::Io`] when reading from `reader` fails.
/// - The errors of [`Header::read_from`] for a stream that is not a well-formed `.npy`,
///   and [`ErrorKind::Truncated`] when the stream ends before the data does.
/// - [`ErrorKind::DTypeMismatch`], [`ErrorKind::NdimMismatch`], [`ErrorKind::InvalidBool`] and
///   [`ErrorKind::OutOfMemory`] (when the data that arrives no longer fits), as for
///   [`read_npy`].
pub fn read_npy_from<A: Element, D: Dimension>(reader: impl Read) -> Result<Array<A, D>> {
    let mut reader = reader;
    read_array(&mut reader, None, &HeaderOptions::default())
}

/// Reads header and data; `file_len`, when known, was checked against the header.
pub(crate) fn read_array<A: Element, D: Dimension>(
    reader: &mut impl Read,
    file_len: Option<u64>,
    options: &HeaderOptions,
) -> Result<Array<A, D>> {
    let header = Header::read_from(reader, file_len, options)?;
    read_data(reader, &header, file_len.is_some())
}

/// Reads the data `header` describes from `reader`, positioned at it; `checked` when
/// the length of the source was checked against the header.
fn read_data<A: Element, D: Dimension>(
    reader: &mut impl Read,
    header: &Header,
    checked: bool,
) -> Result<Array<A, D>> {
    let (swap, dim) = raw_layout::<A, D>(header)?;
    let count = header.len();
    // With the length checked, read in one step; from a stream, grow as data arrives.
    let step = match checked {
        true => None,
        false => Some((16 << 20) / std::mem::size_of::<A>().max(1)),
    };
    let origin = Origin {
        data_offset: header.data_offset,
    };
    let elements = cast::read_elements::<A>(reader, count, step, swap, origin)?;
    Array::from_shape_vec(dim.set_f(header.fortran_order), elements).map_err(|_| {
        Error::from(ErrorKind::ShapeOverflow {
            shape: header.shape.iter().map(|&d| d as u64).collect(),
            itemsize: header.dtype.itemsize(),
        })
    })
}

/// Whether `A` reads `header`'s data swapped, and its shape as `D`: the checks to make
/// before allocating for the data.
pub(crate) fn raw_layout<A: Element, D: Dimension>(header: &Header) -> Result<(bool, D)> {
    let swap = match match_element::<A>(&header.dtype) {
        ElementMatch::Native => false,
        ElementMatch::Swapped => true,
        ElementMatch::Different => return Err(dtype_mismatch::<A>(&header.dtype)),
    };
    Ok((swap, dimension::<D>(&header.shape)?))
}

/// The array of `header` from its data's raw items, as read from the file.
pub(crate) fn array_from_raw<A: Element, D: Dimension>(
    header: &Header,
    bits: Vec<A::Raw>,
    swap: bool,
) -> Result<Array<A, D>> {
    let dim = dimension::<D>(&header.shape)?;
    let origin = Origin {
        data_offset: header.data_offset,
    };
    let elements = cast::finish::<A>(bits, swap, origin)?;
    Array::from_shape_vec(dim.set_f(header.fortran_order), elements).map_err(|_| {
        Error::from(ErrorKind::ShapeOverflow {
            shape: header.shape.iter().map(|&d| d as u64).collect(),
            itemsize: header.dtype.itemsize(),
        })
    })
}

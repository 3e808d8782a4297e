//! Writing string arrays as `np.save` writes them: `U<n>` (UCS-4) and `S<n>`
//! (NUL-padded bytes), the width taken from the longest value or given.

use std::io::Write;
use std::path::Path;

use ndarray::{ArrayRef, Dimension};

use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::{ByteOrder, DType};
use crate::npy::save::{save_npy_raw, write_npy_raw_to};

/// The elements of `array` in its memory order when it is F-contiguous (and not C),
/// else in logical order; with the `fortran_order` flag to write.
fn in_write_order<T, D>(array: &ArrayRef<T, D>) -> (bool, Vec<&T>)
where
    D: Dimension,
{
    let fortran = !array.is_standard_layout() && array.t().is_standard_layout();
    let items = match fortran {
        true => array.view().reversed_axes().into_iter().collect(),
        false => array.iter().collect(),
    };
    (fortran, items)
}

fn too_long(index: usize, width: usize, found: usize, unit: &'static str) -> Error {
    Error::from(ErrorKind::StringTooLong {
        index,
        width,
        found,
        unit,
    })
}

/// The `U<width>` dtype and data for `array`, as NumPy stores it.
fn encode_strings<T, D>(
    array: &ArrayRef<T, D>,
    width: Option<usize>,
) -> Result<(DType, bool, Vec<u8>)>
where
    T: AsRef<str>,
    D: Dimension,
{
    let longest = array
        .iter()
        .map(|s| s.as_ref().chars().count())
        .max()
        .unwrap_or(0);
    let width = width.unwrap_or(longest.max(1));
    if let Some((index, s)) = array
        .iter()
        .enumerate()
        .find(|(_, s)| s.as_ref().chars().count() > width)
    {
        return Err(too_long(
            index,
            width,
            s.as_ref().chars().count(),
            "characters",
        ));
    }
    let (fortran, items) = in_write_order(array);
    let mut data = Vec::with_capacity(items.len() * width * 4);
    for s in items {
        let mut n = 0;
        for c in s.as_ref().chars() {
            data.extend((c as u32).to_ne_bytes());
            n += 1;
        }
        data.resize(data.len() + (width - n) * 4, 0);
    }
    let dtype = DType::Unicode {
        chars: width,
        order: ByteOrder::NATIVE,
    };
    Ok((dtype, fortran, data))
}

/// The `S<width>` dtype and data for `array`.
fn encode_bytes_strings<T, D>(
    array: &ArrayRef<T, D>,
    width: Option<usize>,
) -> Result<(DType, bool, Vec<u8>)>
where
    T: AsRef<[u8]>,
    D: Dimension,
{
    let longest = array.iter().map(|s| s.as_ref().len()).max().unwrap_or(0);
    let width = width.unwrap_or(longest.max(1));
    if let Some((index, s)) = array
        .iter()
        .enumerate()
        .find(|(_, s)| s.as_ref().len() > width)
    {
        return Err(too_long(index, width, s.as_ref().len(), "bytes"));
    }
    let (fortran, items) = in_write_order(array);
    let mut data = Vec::with_capacity(items.len() * width);
    for s in items {
        data.extend_from_slice(s.as_ref());
        data.resize(data.len() + width - s.as_ref().len(), 0);
    }
    Ok((DType::Bytes { len: width }, fortran, data))
}

/// Saves text as a `U<width>` array, atomically and byte for byte as `np.save` saves
/// `np.array(values, dtype=f'U{width}')`. `width` is in characters; `None` takes the
/// longest value (at least 1, as NumPy). A value longer than `width` is an
/// [`ErrorKind::StringTooLong`] (NumPy would silently truncate it).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("u.npy");
/// let words = npmap::ndarray::arr1(&["Alice".to_string(), "Bob".to_string()]);
/// npmap::save_strings(&path, &words, Some(10))?;
/// assert_eq!(npmap::read_npy_header(&path)?.dtype.name(), "str320");
/// assert!(npmap::save_strings(&path, &words, Some(4)).is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::StringTooLong`] when a value has more than `width` characters.
/// - [`ErrorKind::Io`] when the temporary file beside `path` cannot be created, its space
///   reserved, written, synced or renamed over `path`; `path` is then left as it was.
pub fn save_strings<T, D>(
    path: impl AsRef<Path>,
    array: &ArrayRef<T, D>,
    width: Option<usize>,
) -> Result<()>
where
    T: AsRef<str>,
    D: Dimension,
{
    let path = path.as_ref();
    let (dtype, fortran, data) = encode_strings(array, width).map_err(|e| e.in_file(path))?;
    save_npy_raw(path, &dtype, array.shape(), fortran, &data)
}

/// [`save_strings`] to a writer.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// use npmap::ndarray::arr1;
/// use npmap::{ErrorKind, Header};
/// let mut out = Vec::new();
/// npmap::write_strings_to(&mut out, &arr1(&["x", "yz"]), None)?; // 'U2'
/// let h = Header::read_from(&mut out.as_slice(), None, &Default::default())?;
/// assert_eq!((h.dtype.name(), h.shape), ("str64".to_string(), vec![2]));
/// assert_eq!(out.len(), 128 + 2 * 2 * 4);
/// let e = npmap::write_strings_to(&mut Vec::new(), &arr1(&["abc"]), Some(2)).unwrap_err();
/// assert!(matches!(e.kind(), ErrorKind::StringTooLong { index: 0, width: 2, found: 3, .. }));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::StringTooLong`] when a value has more than `width` characters (nothing
///   is written then).
/// - [`ErrorKind::Io`] (`action` `"write"`, no path) when `writer` fails.
pub fn write_strings_to<T, D>(
    writer: impl Write,
    array: &ArrayRef<T, D>,
    width: Option<usize>,
) -> Result<()>
where
    T: AsRef<str>,
    D: Dimension,
{
    let (dtype, fortran, data) = encode_strings(array, width)?;
    write_npy_raw_to(writer, &dtype, array.shape(), fortran, &data)
}

/// Saves byte strings as an `S<width>` array (NUL-padded), atomically and byte for
/// byte as `np.save` does. `None` takes the longest value (at least 1).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("s.npy");
/// npmap::save_bytes_strings(&path, &npmap::ndarray::arr1(&[b"ab".to_vec(), b"c".to_vec()]), None)?;
/// assert_eq!(npmap::read_npy_header(&path)?.dtype.descr(), "|S2");
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::StringTooLong`] when a value has more than `width` bytes.
/// - [`ErrorKind::Io`] when the temporary file beside `path` cannot be created, its space
///   reserved, written, synced or renamed over `path`; `path` is then left as it was.
pub fn save_bytes_strings<T, D>(
    path: impl AsRef<Path>,
    array: &ArrayRef<T, D>,
    width: Option<usize>,
) -> Result<()>
where
    T: AsRef<[u8]>,
    D: Dimension,
{
    let path = path.as_ref();
    let (dtype, fortran, data) = encode_bytes_strings(array, width).map_err(|e| e.in_file(path))?;
    save_npy_raw(path, &dtype, array.shape(), fortran, &data)
}

/// [`save_bytes_strings`] to a writer.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// use npmap::ndarray::arr1;
/// let mut out = Vec::new();
/// npmap::write_bytes_strings_to(&mut out, &arr1(&[b"ab".as_slice(), b"c"]), Some(3))?;
/// assert!(out.starts_with(b"\x93NUMPY\x01\x00v\x00{'descr': '|S3'"));
/// assert_eq!(out[128..], *b"ab\0c\0\0");
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::StringTooLong`] when a value has more than `width` bytes (nothing is
///   written then).
/// - [`ErrorKind::Io`] (`action` `"write"`, no path) when `writer` fails.
pub fn write_bytes_strings_to<T, D>(
    writer: impl Write,
    array: &ArrayRef<T, D>,
    width: Option<usize>,
) -> Result<()>
where
    T: AsRef<[u8]>,
    D: Dimension,
{
    let (dtype, fortran, data) = encode_bytes_strings(array, width)?;
    write_npy_raw_to(writer, &dtype, array.shape(), fortran, &data)
}

/// Renamed to [`write_strings_to`] (writer functions end in `_to`, reader functions in `_from`).
#[deprecated(since = "0.2.0", note = "renamed to `write_strings_to`")]
#[doc(hidden)]
pub fn write_strings<T, D>(
    writer: impl Write,
    array: &ArrayRef<T, D>,
    width: Option<usize>,
) -> Result<()>
where
    T: AsRef<str>,
    D: Dimension,
{
    write_strings_to(writer, array, width)
}

/// Renamed to [`write_bytes_strings_to`] (writer functions end in `_to`, reader functions in `_from`).
#[deprecated(since = "0.2.0", note = "renamed to `write_bytes_strings_to`")]
#[doc(hidden)]
pub fn write_bytes_strings<T, D>(
    writer: impl Write,
    array: &ArrayRef<T, D>,
    width: Option<usize>,
) -> Result<()>
where
    T: AsRef<[u8]>,
    D: Dimension,
{
    write_bytes_strings_to(writer, array, width)
}

//! Arrays and scalars printed exactly as NumPy prints them.
//!
//! May import: `crate::error`, `crate::format`, `crate::npy`. Imported by: the CLI.
//!
//! [`array_text`] is `str(a)` — what `print(a)` writes — for the array a `.npy`
//! header and its data bytes describe, under NumPy 2's default print options
//! (`precision=8, threshold=1000, edgeitems=3, linewidth=75, floatmode='maxprec',
//! suppress=False, sign='-'`); with `rows`, it is `str(a[:rows])`. Floats get the
//! shortest digits that identify them *as their own type* (`float32` `0.1` prints
//! as `0.1`), one notation for the whole array (scientific when the largest and
//! smallest non-zero magnitudes call for it), decimal points aligned; long rows wrap
//! at 75 characters; arrays of more than 1000 elements show 3 items at each edge of
//! every axis around `...`. Only the elements shown are read: printing the first
//! row of a 400 MB file reads that row, whatever its byte order or memory order.
//!
//! Strings are escaped as Python's `repr` escapes them. Which characters count as
//! printable follows this Rust toolchain's Unicode tables (17.0 for Rust 1.95);
//! characters assigned after the Unicode version of the Python running NumPy (14.0
//! for Python 3.11) print as themselves here where that Python escapes them.
//!
//! | to print | call |
//! |---|---|
//! | the array of a header and its data (`np.load(f)[:rows]`) | [`array_text`] |
//! | an open `.npy` file, errors naming it | [`npy_text`] |
//! | one element on its own (`str(a[()])`, `print` of a 0-d array) | [`scalar_text`] |

mod digits;
mod float;
mod layout;
mod scalar;
mod time;

use crate::{ByteOrder, DType, Error, ErrorKind, Field, Header, NpyFile, Result};

use float::{ComplexFormat, FloatFormat, complex_str, float_str};
use layout::{Grid, subarray_text};
use scalar::{
    bytes_repr, code_points, complex, float, signed, str_repr, str_text, trimmed_bytes, unsigned,
    void_str,
};
use time::{NAT, datetime_text, timedelta_str};

/// NumPy's default `threshold`: larger arrays are summarised.
const THRESHOLD: usize = 1000;

/// NumPy's default `edgeitems`: items shown at each end of a summarised axis.
const EDGE_ITEMS: usize = 3;

/// The text `print(a)` writes for the array that `header` and `data` describe
/// (without the final newline); with `rows: Some(n)`, that of `a[:n]`, the first `n`
/// rows along axis 0. A 0-d array prints its one value as `print` does (`rows` is
/// ignored: a 0-d array has no axis to slice).
///
/// `data` is the array's data in the file's layout: `header.dtype` in its byte
/// order, C or Fortran order as `header.fortran_order` says
/// ([`NpyFile::data`], or the bytes after `header.data_offset`). Only the elements
/// printed are read.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// use npmap::ndarray::array;
/// use npmap::{Header, HeaderOptions};
/// let mut file = Vec::new();
/// npmap::write_npy_to(&mut file, &array![[1.5f32, -2.0], [0.1, 1e-5]])?;
/// let header = Header::read_from(&mut file.as_slice(), None, &HeaderOptions::default())?;
/// let data = &file[header.data_offset as usize..];
/// // print(np.array([[1.5, -2.0], [0.1, 1e-5]], dtype=np.float32))
/// let text = npmap::display::array_text(&header, data, None)?;
/// assert_eq!(text, "[[ 1.5e+00 -2.0e+00]\n [ 1.0e-01  1.0e-05]]");
/// // print(a[:0])
/// assert_eq!(npmap::display::array_text(&header, data, Some(0))?, "[]");
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::DataLength`] when `data` is not exactly the bytes the dtype and shape
///   need (expected and found lengths in the message);
/// - [`ErrorKind::ShapeOverflow`] when the shape's byte size does not fit in memory;
/// - [`ErrorKind::InvalidString`] for a 0-d `U` array whose text holds a code unit that is
///   not a Unicode scalar value (a surrogate or a value above U+10FFFF: NumPy's
///   `print` fails on those too; inside arrays they are escaped, as NumPy does);
/// - [`ErrorKind::UnsupportedDType`] for a generic-unit `datetime64` holding anything but
///   NaT (it has no calendar meaning; NumPy refuses it too);
/// - [`ErrorKind::BadDescr`] when a record field lies outside its record.
///
/// Errors carry no path; those of [`npy_text`] name the file.
pub fn array_text(header: &Header, data: &[u8], rows: Option<usize>) -> Result<String> {
    let origin = Origin { data, base: 0 };
    render(header, origin, rows)
}

/// [`array_text`] for an open `.npy` file: `str(np.load(path)[:rows])`, with errors
/// naming the file and giving offsets in it.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("y.npy");
/// use npmap::{MmapMode, NpyFile};
/// npmap::save_npy(&path, &npmap::ndarray::Array1::from_iter(0i64..2000))?;
/// // SAFETY: nothing truncates the file while it is mapped.
/// let file = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
/// assert_eq!(npmap::display::npy_text(&file, Some(3))?, "[0 1 2]");
/// assert_eq!(npmap::display::npy_text(&file, None)?, "[   0    1    2 ... 1997 1998 1999]");
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`array_text`].
pub fn npy_text(file: &NpyFile, rows: Option<usize>) -> Result<String> {
    let header = file.header();
    let origin = Origin {
        data: file.data(),
        base: header.data_offset,
    };
    render(header, origin, rows).map_err(|e| e.in_file(file.path()))
}

/// The text `print` writes for one element of `dtype` on its own (a 0-d array, or
/// `str(a[i])` of a scalar): `0.1` for a `float32` 0.1, `(1+2j)`, `True`, the
/// string itself for `U`, `np.bytes_(b'ab')` for `S`, `2024-01-31`, `5 days`,
/// `(1, 2.5)` for a record.
///
/// ```
/// use npmap::DType;
/// let f4 = DType::parse("<f4").unwrap();
/// assert_eq!(npmap::display::scalar_text(&f4, &0.1f32.to_le_bytes()).unwrap(), "0.1");
/// let td = DType::parse(">m8[D]").unwrap();
/// assert_eq!(npmap::display::scalar_text(&td, &5i64.to_be_bytes()).unwrap(), "5 days");
/// ```
///
/// # Errors
///
/// [`ErrorKind::DataLength`] when `bytes` is not one item of `dtype`; otherwise as
/// [`array_text`] for a 0-d array.
pub fn scalar_text(dtype: &DType, bytes: &[u8]) -> Result<String> {
    let origin = Origin {
        data: bytes,
        base: 0,
    };
    origin.check_len(dtype, &[], dtype.itemsize() as u64)?;
    scalar_str(dtype, bytes, origin)
}

/// Where the bytes come from, for error messages.
#[derive(Clone, Copy)]
struct Origin<'a> {
    /// All of the array's data (items are slices of it).
    data: &'a [u8],
    /// Offset of `data` in the file.
    base: u64,
}

impl<'a> Origin<'a> {
    /// The file offset of `item`, a slice of `data`.
    fn offset_of(&self, item: &[u8]) -> u64 {
        let at = (item.as_ptr() as usize).wrapping_sub(self.data.as_ptr() as usize);
        self.base.saturating_add(at as u64)
    }

    /// The `len` bytes at `start` of the data.
    fn item(&self, start: usize, len: usize) -> Result<&'a [u8]> {
        let end = start.checked_add(len);
        end.and_then(|end| self.data.get(start..end))
            .ok_or_else(|| {
                Error::from(ErrorKind::Truncated {
                    what: "array data",
                    offset: self.base.saturating_add(start as u64),
                    expected: len as u64,
                    found: self.data.len().saturating_sub(start) as u64,
                })
            })
    }

    fn check_len(&self, dtype: &DType, shape: &[usize], expected: u64) -> Result<()> {
        if self.data.len() as u64 == expected {
            return Ok(());
        }
        Err(Error::from(ErrorKind::DataLength {
            descr: dtype.descr(),
            shape: shape.to_vec(),
            expected,
            found: self.data.len() as u64,
        }))
    }

    fn overflow(&self, dtype: &DType, shape: &[usize]) -> Error {
        Error::from(ErrorKind::ShapeOverflow {
            shape: shape.iter().map(|&d| d as u64).collect(),
            itemsize: dtype.itemsize(),
        })
    }
}

/// How the elements of a column are formatted, beyond their dtype.
#[derive(Clone, Copy)]
struct Context<'a> {
    /// The data the format is computed from is 0-d (NumPy's `BoolFormat` then drops
    /// the space before `True`).
    zero_d: bool,
    /// Floats are written with `str()` (the fields of a 0-d record).
    floats_as_str: bool,
    origin: Origin<'a>,
}

fn render(header: &Header, origin: Origin<'_>, rows: Option<usize>) -> Result<String> {
    let dtype = &header.dtype;
    let full = &header.shape;
    let itemsize = dtype.itemsize();
    let bytes = full
        .iter()
        .try_fold(itemsize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| origin.overflow(dtype, full))?;
    origin.check_len(dtype, full, bytes as u64)?;
    if full.is_empty() {
        return scalar_str(dtype, origin.data, origin);
    }
    let mut shape = full.clone();
    if let Some(n) = rows {
        shape[0] = shape[0].min(n);
    }
    if shape.contains(&0) {
        return Ok("[]".into());
    }
    let strides = byte_strides(full, itemsize, header.fortran_order)
        .ok_or_else(|| origin.overflow(dtype, full))?;
    let size = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| origin.overflow(dtype, full))?;
    let summarised = size > THRESHOLD;
    let indices: Vec<Vec<usize>> = shape
        .iter()
        .map(|&d| shown_indices(d, summarised))
        .collect();
    let items = gather(&indices, &strides, itemsize, origin)?;
    let context = Context {
        zero_d: false,
        floats_as_str: false,
        origin,
    };
    let words = column(dtype, &items, context)?;
    let shown: Vec<usize> = indices.iter().map(Vec::len).collect();
    let grid = Grid {
        shape: &shape,
        shown: &shown,
        summarised,
        words: &words,
    };
    Ok(grid.text())
}

/// Bytes between neighbours along each axis, in C or Fortran order.
fn byte_strides(shape: &[usize], itemsize: usize, fortran: bool) -> Option<Vec<usize>> {
    let mut strides = vec![0; shape.len()];
    let mut step = itemsize;
    let axes: Vec<usize> = match fortran {
        true => (0..shape.len()).collect(),
        false => (0..shape.len()).rev().collect(),
    };
    for axis in axes {
        strides[axis] = step;
        step = step.checked_mul(shape[axis])?;
    }
    Some(strides)
}

/// The indices of an axis that are printed: all, or the edges when summarised.
fn shown_indices(len: usize, summarised: bool) -> Vec<usize> {
    if summarised && len > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS).chain(len - EDGE_ITEMS..len).collect()
    } else {
        (0..len).collect()
    }
}

/// The bytes of every printed element, in C order of the printed indices.
fn gather<'a>(
    indices: &[Vec<usize>],
    strides: &[usize],
    itemsize: usize,
    origin: Origin<'a>,
) -> Result<Vec<&'a [u8]>> {
    let count = indices.iter().map(Vec::len).product();
    let mut items = Vec::with_capacity(count);
    let mut position = vec![0usize; indices.len()];
    for _ in 0..count {
        let start = position
            .iter()
            .zip(indices)
            .zip(strides)
            .try_fold(0usize, |acc, ((&p, axis), &stride)| {
                acc.checked_add(axis[p].checked_mul(stride)?)
            })
            .ok_or_else(|| {
                Error::from(ErrorKind::ShapeOverflow {
                    shape: indices.iter().map(|a| a.len() as u64).collect(),
                    itemsize,
                })
            })?;
        items.push(origin.item(start, itemsize)?);
        for (p, axis) in position.iter_mut().zip(indices).rev() {
            *p += 1;
            if *p < axis.len() {
                break;
            }
            *p = 0;
        }
    }
    Ok(items)
}

/// Every item of one dtype formatted as NumPy's format function for that data
/// writes it (widths and notation chosen from all of them).
fn column(dtype: &DType, items: &[&[u8]], cx: Context<'_>) -> Result<Vec<String>> {
    let order = dtype.byte_order();
    let words = match dtype {
        DType::Bool => {
            // NumPy pads True to the width of False, except in 0-d data.
            let yes = if cx.zero_d { "True" } else { " True" };
            let word = |b: &[u8]| {
                if b.iter().any(|&v| v != 0) {
                    yes
                } else {
                    "False"
                }
            };
            items.iter().map(|b| word(b).to_string()).collect()
        }
        DType::Int { .. } => integers(items.iter().map(|b| i128::from(signed(b, order)))),
        DType::UInt { .. } => integers(items.iter().map(|b| i128::from(unsigned(b, order)))),
        DType::Float { .. } => {
            let values: Vec<_> = items.iter().map(|b| float(b, order)).collect();
            if cx.floats_as_str {
                values.into_iter().map(float_str).collect()
            } else {
                let format = FloatFormat::new(&values, false);
                values.into_iter().map(|x| format.text(x)).collect()
            }
        }
        DType::Complex { .. } => {
            let values: Vec<_> = items.iter().map(|b| complex(b, order)).collect();
            let format = ComplexFormat::new(&values);
            values.into_iter().map(|z| format.text(z)).collect()
        }
        DType::Unicode { .. } => items
            .iter()
            .map(|b| str_repr(&code_points(b, order)))
            .collect(),
        DType::Bytes { .. } => items.iter().map(|b| bytes_repr(trimmed_bytes(b))).collect(),
        // A sub-array type is only a field's element type, printed through
        // `field_words`; an array of it cannot be opened.
        DType::Void { .. } | DType::SubArray { .. } => items.iter().map(|b| void_str(b)).collect(),
        DType::DateTime { unit, .. } => {
            let text = |v| datetime_text(v, unit).map(|t| format!("'{t}'"));
            timelike(items, order, text).ok_or_else(|| generic_datetime(dtype))?
        }
        DType::TimeDelta { .. } => {
            timelike(items, order, |v| Some(v.to_string())).unwrap_or_default()
        }
        DType::Record { fields, .. } => records(fields, items, cx)?,
    };
    Ok(words)
}

/// NumPy's `IntegerFormat`: right-aligned to the longer of the largest and smallest.
fn integers(values: impl Iterator<Item = i128>) -> Vec<String> {
    let values: Vec<i128> = values.collect();
    let len = |v: Option<&i128>| v.map_or(0, |v| v.to_string().len());
    let width = len(values.iter().max()).max(len(values.iter().min()));
    values.iter().map(|v| format!("{v:>width$}")).collect()
}

/// NumPy's `_TimelikeFormat`: each value (`text`), or `'NaT'`, right-aligned to the
/// longer text of the largest and smallest value (at least 5 with a NaT). `None`
/// when `text` has none for a value.
fn timelike(
    items: &[&[u8]],
    order: ByteOrder,
    text: impl Fn(i64) -> Option<String>,
) -> Option<Vec<String>> {
    let values: Vec<i64> = items.iter().map(|b| signed(b, order)).collect();
    let real = || values.iter().copied().filter(|&v| v != NAT);
    let mut width = 0;
    for v in [real().max(), real().min()].into_iter().flatten() {
        width = width.max(text(v)?.chars().count());
    }
    if real().count() < values.len() {
        width = width.max(5);
    }
    values
        .iter()
        .map(|&v| {
            let word = if v == NAT {
                "'NaT'".to_string()
            } else {
                text(v)?
            };
            Some(format!("{word:>width$}"))
        })
        .collect()
}

/// NumPy's `StructuredVoidFormat`: each field formatted as a column of its own,
/// `(a, b)`, or `(a,)` for a single field.
fn records(fields: &[Field], items: &[&[u8]], cx: Context<'_>) -> Result<Vec<String>> {
    let columns = fields
        .iter()
        .map(|f| field_words(f, items, cx))
        .collect::<Result<Vec<_>>>()?;
    Ok((0..items.len())
        .map(|i| match columns.as_slice() {
            [only] => format!("({},)", only[i]),
            _ => {
                let parts: Vec<&str> = columns.iter().map(|c| c[i].as_str()).collect();
                format!("({})", parts.join(", "))
            }
        })
        .collect())
}

/// Most elements a sub-array field of zero-sized elements may print (it would
/// otherwise print without end while reading nothing).
const MAX_EMPTY_ELEMENTS: usize = 1 << 24;

/// One field of every record: its values (sub-arrays in brackets), formatted with
/// the format NumPy computes from all of them. A sub-array of a sub-array prints as
/// one sub-array of the whole shape, as NumPy prints `a['c']`.
fn field_words(field: &Field, items: &[&[u8]], cx: Context<'_>) -> Result<Vec<String>> {
    if let DType::SubArray { .. } = field.dtype {
        let (elem, inner) = field.dtype.flat_subarray();
        let flat = Field {
            dtype: elem.clone(),
            shape: field.shape.iter().chain(&inner).copied().collect(),
            ..field.clone()
        };
        return flat_field_words(&flat, items, cx);
    }
    flat_field_words(field, items, cx)
}

fn flat_field_words(field: &Field, items: &[&[u8]], cx: Context<'_>) -> Result<Vec<String>> {
    let width = field.dtype.itemsize();
    let overflow = || cx.origin.overflow(&field.dtype, &field.shape);
    let count = field
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    let total = count.checked_mul(items.len()).ok_or_else(overflow)?;
    // The whole field must lie in the record before anything is allocated for it.
    let end = count
        .checked_mul(width)
        .and_then(|bytes| bytes.checked_add(field.offset));
    let record = items.first().map_or(0, |item| item.len());
    if end.is_none_or(|end| end > record) {
        return Err(outside_record(field, record));
    }
    if width == 0 && total > MAX_EMPTY_ELEMENTS {
        return Err(overflow());
    }
    let mut parts = Vec::with_capacity(total);
    for item in items {
        for k in 0..count {
            let start = k
                .checked_mul(width)
                .and_then(|s| s.checked_add(field.offset));
            let part = start.and_then(|s| item.get(s..s.checked_add(width)?));
            parts.push(part.ok_or_else(|| outside_record(field, item.len()))?);
        }
    }
    let sub = Context {
        zero_d: cx.zero_d && field.shape.is_empty(),
        ..cx
    };
    let words = column(&field.dtype, &parts, sub)?;
    if field.shape.is_empty() {
        return Ok(words);
    }
    let summarised = count > THRESHOLD;
    Ok((0..items.len())
        .map(|i| subarray_text(&words[i * count..(i + 1) * count], &field.shape, summarised))
        .collect())
}

/// What `print` writes for one item on its own (the `str` of the scalar).
fn scalar_str(dtype: &DType, bytes: &[u8], origin: Origin<'_>) -> Result<String> {
    let order = dtype.byte_order();
    let cx = Context {
        zero_d: true,
        floats_as_str: true,
        origin,
    };
    let text = match dtype {
        DType::Bool => if bytes.iter().any(|&b| b != 0) {
            "True"
        } else {
            "False"
        }
        .into(),
        DType::Int { .. } => signed(bytes, order).to_string(),
        DType::UInt { .. } => unsigned(bytes, order).to_string(),
        DType::Float { .. } => float_str(float(bytes, order)),
        DType::Complex { .. } => {
            let (re, im) = complex(bytes, order);
            complex_str(re, im)
        }
        DType::Unicode { .. } => {
            str_text(&code_points(bytes, order)).map_err(|p| bad_char(cx, bytes, p))?
        }
        DType::Bytes { .. } => format!("np.bytes_({})", bytes_repr(trimmed_bytes(bytes))),
        DType::Void { .. } | DType::SubArray { .. } => void_str(bytes),
        DType::DateTime { unit, .. } => match signed(bytes, order) {
            NAT => "NaT".into(),
            v => datetime_text(v, unit).ok_or_else(|| generic_datetime(dtype))?,
        },
        DType::TimeDelta { unit, .. } => timedelta_str(signed(bytes, order), unit),
        DType::Record { .. } => column(dtype, &[bytes], cx)?.pop().unwrap_or_default(),
    };
    Ok(text)
}

/// A `U` code unit that cannot be printed: `index` within `item`.
fn bad_char(cx: Context<'_>, item: &[u8], (index, value): (usize, u32)) -> Error {
    Error::from(ErrorKind::InvalidString {
        offset: cx.origin.offset_of(item).saturating_add(4 * index as u64),
        value,
    })
}

fn generic_datetime(dtype: &DType) -> Error {
    Error::from(ErrorKind::UnsupportedDType {
        descr: dtype.descr(),
        reason: "a datetime64 of generic unit holds a value other than NaT, which has no \
                 calendar meaning (NumPy cannot print it either)",
    })
}

fn outside_record(field: &Field, record: usize) -> Error {
    Error::from(ErrorKind::BadDescr {
        reason: format!(
            "field '{}' ({} at byte {}, shape {:?}) lies outside the {record}-byte record",
            field.name,
            field.dtype.descr(),
            field.offset,
            field.shape
        ),
        found: field.dtype.descr(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderOptions;

    fn header(dict: &str) -> Header {
        let mut text = dict.to_string();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((text.len() as u16).to_le_bytes());
        bytes.extend(text.as_bytes());
        let options = HeaderOptions::default();
        Header::read_from(&mut bytes.as_slice(), None, &options).unwrap()
    }

    #[test]
    fn a_0d_array_prints_its_value_whatever_the_rows() {
        // print(np.array(1.5)); print(np.array(0.1, dtype=">f4"))
        let h = header("{'descr': '<f8', 'fortran_order': False, 'shape': (), }");
        assert_eq!(
            array_text(&h, &1.5f64.to_le_bytes(), Some(0)).unwrap(),
            "1.5"
        );
        let h = header("{'descr': '>f4', 'fortran_order': False, 'shape': (), }");
        assert_eq!(array_text(&h, &0.1f32.to_be_bytes(), None).unwrap(), "0.1");
    }

    #[test]
    fn fortran_order_is_read_column_by_column() {
        // np.array([[1, 2, 3], [4, 5, 6]], dtype='>i2', order='F'): memory 1 4 2 5 3 6.
        let h = header("{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }");
        let data: Vec<u8> = [1i16, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        assert_eq!(array_text(&h, &data, None).unwrap(), "[[1 2 3]\n [4 5 6]]");
        assert_eq!(array_text(&h, &data, Some(1)).unwrap(), "[[1 2 3]]");
    }

    #[test]
    fn errors_say_expected_and_found() {
        let f4 = DType::parse("<f4").unwrap();
        let err = scalar_text(&f4, &[0, 0, 0]).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::DataLength {
                    expected: 4,
                    found: 3,
                    ..
                }
            ),
            "{err}"
        );
        // A generic-unit datetime64 other than NaT: NumPy raises too.
        let m8 = DType::parse("<M8").unwrap();
        let err = scalar_text(&m8, &0i64.to_le_bytes()).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::UnsupportedDType { .. }),
            "{err}"
        );
        assert_eq!(scalar_text(&m8, &i64::MIN.to_le_bytes()).unwrap(), "NaT");
        // A lone surrogate cannot be written as text.
        let u1 = DType::parse("<U1").unwrap();
        let err = scalar_text(&u1, &0xd800u32.to_le_bytes()).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::InvalidString {
                    offset: 0,
                    value: 0xd800,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn empty_arrays_print_brackets_only() {
        // print(np.empty((0, 2**62), dtype='u1')), print(np.zeros((5, 3))[:0])
        let h =
            header("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 4611686018427387904), }");
        assert_eq!(array_text(&h, &[], Some(4)).unwrap(), "[]");
        let h = header("{'descr': '<f8', 'fortran_order': False, 'shape': (5, 3), }");
        assert_eq!(array_text(&h, &[0; 120], Some(0)).unwrap(), "[]");
    }
}

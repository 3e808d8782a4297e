//! Writing `.npy` files byte for byte as `np.save` does, atomically.

use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{ArrayRef, Dimension};

use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::DType;
use crate::format::element::Element;
use crate::format::header::Header;
use crate::fs::durable::{Durability, atomic_write, reserve_space};

/// Elements per write when an array must be streamed in logical order.
const STREAM_CHUNK: usize = 1 << 16;

/// Writes `array` as a `.npy` stream: the header `np.save` would write, then the data.
///
/// C-contiguous arrays are written as they lie in memory; F-contiguous ones (that are
/// not also C-contiguous) with `fortran_order: True`; any other layout in C order,
/// streamed in bounded chunks without copying the array. The writer is flushed at the
/// end; wrap an unbuffered one (a `File`) in a `BufWriter`.
///
/// ```
/// let mut out = Vec::new();
/// npmap::write_npy_to(&mut out, &npmap::ndarray::arr1(&[1u8, 2, 3])).unwrap();
/// assert_eq!(out.len(), 128 + 3);
/// assert!(out.starts_with(b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }"));
/// ```
///
/// # Errors
///
/// [`ErrorKind::Io`] (`action` `"write"`, no path) when `writer` fails.
pub fn write_npy_to<A, D>(writer: impl Write, array: &ArrayRef<A, D>) -> Result<()>
where
    A: Element,
    D: Dimension,
{
    write_items_as(writer, array, &A::dtype())
}

/// The one writer of an in-memory array: the header `np.save` writes for `dtype`
/// (the items' dtype: a number type, or a user's record type), then the items in
/// write order — memory order for an F-contiguous array (`fortran_order: True`),
/// logical (C) order otherwise.
pub(crate) fn write_items_as<T, D>(
    mut writer: impl Write,
    array: &ArrayRef<T, D>,
    dtype: &DType,
) -> Result<()>
where
    T: bytemuck::NoUninit,
    D: Dimension,
{
    let io = |e| Error::stream_io("write", e);
    let fortran = written_in_fortran_order(array);
    writer
        .write_all(&Header::encode(dtype, fortran, array.shape()))
        .map_err(io)?;
    match array.as_slice_memory_order() {
        Some(slice) if fortran => writer.write_all(bytemuck::cast_slice(slice)).map_err(io)?,
        _ => write_c_order(&mut writer, array).map_err(io)?,
    }
    writer.flush().map_err(io)
}

/// The one atomic save of an in-memory array (see [`write_items_as`]): a temporary
/// file beside `path`, its space reserved first, renamed over `path`.
pub(crate) fn save_items_as<T, D>(
    path: &Path,
    array: &ArrayRef<T, D>,
    dtype: &DType,
    durability: Durability,
) -> Result<()>
where
    T: bytemuck::NoUninit,
    D: Dimension,
{
    let fortran = written_in_fortran_order(array);
    let header_len = Header::encode(dtype, fortran, array.shape()).len();
    let data_len = array.len() * std::mem::size_of::<T>();
    atomic_write(path, durability, |file| {
        reserve_space(file, (header_len + data_len) as u64, path)?;
        write_items_as(BufWriter::with_capacity(1 << 20, file), array, dtype)
    })
}

/// Whether `array` is written with `fortran_order: True`: F-contiguous and not C.
pub(crate) fn written_in_fortran_order<A, D: Dimension>(array: &ArrayRef<A, D>) -> bool {
    !array.is_standard_layout() && array.t().is_standard_layout()
}

/// Writes the elements of `array` in logical (C) order: in one piece when the array
/// is C-contiguous, otherwise through a bounded buffer.
pub(crate) fn write_c_order<A, D>(
    writer: &mut impl Write,
    array: &ArrayRef<A, D>,
) -> std::io::Result<()>
where
    A: bytemuck::NoUninit,
    D: Dimension,
{
    if let Some(slice) = array.as_slice() {
        return writer.write_all(bytemuck::cast_slice(slice));
    }
    let mut chunk: Vec<A> = Vec::with_capacity(STREAM_CHUNK.min(array.len()));
    for &value in array.iter() {
        chunk.push(value);
        if chunk.len() == STREAM_CHUNK {
            writer.write_all(bytemuck::cast_slice(&chunk))?;
            chunk.clear();
        }
    }
    writer.write_all(bytemuck::cast_slice(&chunk))
}

/// Writes raw array bytes under the header `np.save` would write for `dtype`, `shape`
/// and order: the way to write structured, string, datetime or non-native dtypes.
///
/// `data` must hold exactly the elements of `shape` in the given memory order.
///
/// ```
/// use npmap::{DType, ErrorKind};
/// let dtype = DType::parse("[('id', '<u2'), ('score', '<f4')]").unwrap();
/// let mut record = 7u16.to_le_bytes().to_vec();
/// record.extend(0.5f32.to_le_bytes());
/// let mut out = Vec::new();
/// npmap::write_npy_raw_to(&mut out, &dtype, &[1], false, &record).unwrap();
/// assert_eq!(&out[out.len() - 6..], &record[..]);
/// let e = npmap::write_npy_raw_to(&mut Vec::new(), &dtype, &[2], false, &record).unwrap_err();
/// assert!(matches!(e.kind(), ErrorKind::DataLength { expected: 12, found: 6, .. }));
/// ```
///
/// # Errors
///
/// - [`ErrorKind::DataLength`] when `data` is not `dtype.itemsize()` times the number of
///   elements of `shape` bytes long; nothing is written then.
/// - [`ErrorKind::ShapeOverflow`] when the shape's byte size does not fit in memory
///   addresses.
/// - [`ErrorKind::Io`] (`action` `"write"`, no path) when `writer` fails.
pub fn write_npy_raw_to(
    writer: impl Write,
    dtype: &DType,
    shape: &[usize],
    fortran_order: bool,
    data: &[u8],
) -> Result<()> {
    write_raw_to(writer, dtype, shape, fortran_order, data)
}

/// [`write_npy_raw_to`] to a file, atomically as [`save_npy`].
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("t.npy");
/// use npmap::DType;
/// // np.array([0, 86_400], dtype='<M8[s]'): the epoch and one day later.
/// let data: Vec<u8> = [0i64, 86_400].iter().flat_map(|s| s.to_le_bytes()).collect();
/// npmap::save_npy_raw(&path, &DType::parse("<M8[s]")?, &[2], false, &data)?;
/// let h = npmap::read_npy_header(&path)?;
/// assert_eq!((h.dtype.name(), h.shape), ("datetime64[s]".to_string(), vec![2]));
/// assert_eq!(std::fs::read(&path).unwrap()[128..], data[..]);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::DataLength`] and [`ErrorKind::ShapeOverflow`], as for [`write_npy_raw_to`].
/// - [`ErrorKind::Io`] when the temporary file beside `path` cannot be created
///   (`action` `"create temporary file"`), its space reserved (`"reserve disk space"`,
///   e.g. a full disk), written (`"write"`), synced (`"sync"`) or renamed over `path`
///   (`"rename temporary file"`). `path` is then left as it was and the temporary
///   file is removed.
pub fn save_npy_raw(
    path: impl AsRef<Path>,
    dtype: &DType,
    shape: &[usize],
    fortran_order: bool,
    data: &[u8],
) -> Result<()> {
    let path = path.as_ref();
    let len = Header::encode(dtype, fortran_order, shape).len() + data.len();
    atomic_write(path, Durability::Synced, |file| {
        reserve_space(file, len as u64, path)?;
        write_raw_to(
            BufWriter::with_capacity(1 << 20, file),
            dtype,
            shape,
            fortran_order,
            data,
        )
    })
}

fn write_raw_to(
    mut writer: impl Write,
    dtype: &DType,
    shape: &[usize],
    fortran_order: bool,
    data: &[u8],
) -> Result<()> {
    let header = Header::new((1, 0), dtype.clone(), fortran_order, shape.to_vec(), 0)?;
    if header.data_len() != data.len() as u64 {
        return Err(Error::from(ErrorKind::DataLength {
            descr: dtype.descr(),
            shape: shape.to_vec(),
            expected: header.data_len(),
            found: data.len() as u64,
        }));
    }
    let io = |e| Error::stream_io("write", e);
    writer
        .write_all(&Header::encode(dtype, fortran_order, shape))
        .map_err(io)?;
    writer.write_all(data).map_err(io)?;
    writer.flush().map_err(io)
}

/// Saves `array` to `path` as `np.save` would, atomically: the bytes go to a temporary
/// file in the same directory, which is synced and then renamed over `path`. A crash
/// leaves the old file or the new one, and processes that have the old file mapped
/// keep seeing it unchanged.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("y.npy");
/// use npmap::ndarray::{arr1, Array1};
/// npmap::save_npy(&path, &arr1(&[1i64, 2, 3])).unwrap();
/// let y: Array1<i64> = npmap::read_npy(&path).unwrap();
/// assert_eq!(y.to_vec(), [1, 2, 3]);
/// ```
///
/// # Errors
///
/// [`ErrorKind::Io`] when the temporary file beside `path` cannot be created
/// (`action` `"create temporary file"`), its space reserved (`"reserve disk space"`,
/// e.g. a full disk), written (`"write"`), synced (`"sync"`) or renamed over `path`
/// (`"rename temporary file"`). `path` is then left as it was and the temporary
/// file is removed.
pub fn save_npy<A, D>(path: impl AsRef<Path>, array: &ArrayRef<A, D>) -> Result<()>
where
    A: Element,
    D: Dimension,
{
    save_npy_with(path, array, &SaveOptions::default())
}

/// How [`save_npy_with`] makes the new file safe.
///
/// The default, `sync: true`, is what [`save_npy`] does.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("y.npy");
/// use npmap::SaveOptions;
/// assert!(SaveOptions::default().sync);
/// // Atomic for other processes and against a crash of this one, without waiting
/// // for the disk: as fast as `np.save`, which never syncs either.
/// let quick = SaveOptions::new().sync(false);
/// npmap::save_npy_with(&path, &npmap::ndarray::arr1(&[1u8]), &quick).unwrap();
/// assert_eq!(npmap::read_npy_header(&path).unwrap().shape, [1]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaveOptions {
    /// Sync the temporary file before renaming it over the target, and the directory
    /// after (the default). The rename alone already leaves other processes, and a
    /// crash of this one, with the old file or the new one; the sync extends that to
    /// a crash of the machine, at the cost of waiting for the disk to take every byte.
    pub sync: bool,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions { sync: true }
    }
}

impl SaveOptions {
    /// What [`save_npy`] does: sync before and after the rename.
    ///
    /// ```
    /// assert_eq!(npmap::SaveOptions::new(), npmap::SaveOptions::default());
    /// ```
    pub fn new() -> SaveOptions {
        SaveOptions::default()
    }

    /// Sets whether the new file (and its directory) is synced to the disk.
    ///
    /// ```
    /// assert!(!npmap::SaveOptions::new().sync(false).sync);
    /// ```
    pub fn sync(mut self, sync: bool) -> SaveOptions {
        self.sync = sync;
        self
    }
}

/// [`save_npy`] with options: `SaveOptions::new().sync(false)` skips waiting for the
/// disk, and is then as fast as `np.save`, which does not sync either.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("y.npy");
/// use npmap::ndarray::{arr1, Array1};
/// let quick = npmap::SaveOptions::new().sync(false);
/// npmap::save_npy_with(&path, &arr1(&[1.5f32, 2.5]), &quick).unwrap();
/// let y: Array1<f32> = npmap::read_npy(&path).unwrap();
/// assert_eq!(y.to_vec(), [1.5, 2.5]);
/// ```
///
/// # Errors
///
/// As [`save_npy`]; with `sync: false` there is no `"sync"` step to fail.
pub fn save_npy_with<A, D>(
    path: impl AsRef<Path>,
    array: &ArrayRef<A, D>,
    options: &SaveOptions,
) -> Result<()>
where
    A: Element,
    D: Dimension,
{
    let path = path.as_ref();
    let durability = match options.sync {
        true => Durability::Synced,
        false => Durability::Unsynced,
    };
    save_items_as(path, array, &A::dtype(), durability)
}

/// Renamed to [`write_npy_to`] (writer functions end in `_to`, reader functions in `_from`).
#[deprecated(since = "0.2.0", note = "renamed to `write_npy_to`")]
#[doc(hidden)]
pub fn write_npy<A, D>(writer: impl Write, array: &ArrayRef<A, D>) -> Result<()>
where
    A: Element,
    D: Dimension,
{
    write_npy_to(writer, array)
}

/// Renamed to [`write_npy_raw_to`] (writer functions end in `_to`, reader functions in `_from`).
#[deprecated(since = "0.2.0", note = "renamed to `write_npy_raw_to`")]
#[doc(hidden)]
pub fn write_npy_raw(
    writer: impl Write,
    dtype: &DType,
    shape: &[usize],
    fortran_order: bool,
    data: &[u8],
) -> Result<()> {
    write_npy_raw_to(writer, dtype, shape, fortran_order, data)
}

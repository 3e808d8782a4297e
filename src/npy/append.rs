//! Growing a C-order `.npy` file along its first axis, crash-safe.
//!
//! Rows are appended after the data; [`NpyAppender::flush`] makes them durable and
//! only then rewrites the header's shape in place (the header keeps its length:
//! NumPy leaves spare spaces for exactly this). A process killed at any moment
//! leaves a file that `np.load` reads with every row of the last completed flush;
//! bytes of later rows, if any, trail the data and are ignored by NumPy and cut off
//! by [`recover`] or [`NpyAppender::open`].

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use ndarray::{ArrayRef, Dimension};

use crate::error::{Error, Result};
use crate::format::element::{Element, ElementMatch, match_element};
use crate::format::header::{Header, HeaderOptions};
use crate::fs::os::write_at;
use crate::npy::open_npy;
use crate::npy::save::write_c_order;

/// Appends rows to a C-order `.npy` file of `A`.
///
/// Rows are buffered, then written after the data; [`flush`](NpyAppender::flush) makes
/// them durable and only then records them in the header, so the file always reads as
/// the rows of the last flush. Dropping the appender flushes too, but cannot report an
/// error: call [`finish`](NpyAppender::finish).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("log.npy");
/// use npmap::ndarray::{arr1, arr2, Array2, Axis, Ix2};
/// use npmap::NpyAppender;
/// let mut log = NpyAppender::<f32>::create(&path, &[3])?;
/// log.append(&arr2(&[[1.0, 2.0, 3.0]]))?;
/// log.append(&arr2(&[[4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]))?;
/// assert_eq!(log.finish()?, 3);
/// let back: Array2<f32> = npmap::read_npy(&path)?;
/// assert_eq!(back.row(2).to_vec(), [7.0, 8.0, 9.0]);
///
/// let mut more = NpyAppender::<f32>::open(&path)?;
/// more.append(&arr1(&[0.0, 0.0, 1.0]).insert_axis(Axis(0)))?;
/// more.finish()?;
/// assert_eq!(npmap::read_npy::<f32, Ix2>(&path)?.nrows(), 4);
/// # Ok(()) }
/// ```
pub struct NpyAppender<A: Element> {
    path: PathBuf,
    writer: BufWriter<File>,
    version: (u8, u8),
    data_offset: u64,
    row_shape: Vec<usize>,
    row_bytes: u64,
    /// Rows in the header (durable).
    flushed_rows: usize,
    /// Rows written to the file, flushed or not.
    rows: usize,
    finished: bool,
    _element: PhantomData<A>,
}

impl<A: Element> NpyAppender<A> {
    /// Creates (or replaces) `path` with an empty array of shape `(0, *row_shape)`.
    ///
    /// The header is the one `np.save` writes, with room for the first axis to grow to
    /// any length; it is synced to disk before this returns. An empty `row_shape` makes a
    /// 1-D file whose rows are single elements.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("frames.npy");
    /// use npmap::NpyAppender;
    /// let log = NpyAppender::<u8>::create(&path, &[480, 640])?;
    /// assert_eq!((log.row_shape(), log.rows()), (&[480, 640][..], 0));
    /// log.finish()?;
    /// assert_eq!(npmap::read_npy_header(&path)?.shape, [0, 480, 640]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Io`] when the file cannot be created, written or synced (`action`
    ///   `"create"`, `"write header"`, `"sync"`, `"seek"`).
    /// - [`Error::ShapeOverflow`] when a row's byte size does not fit in memory addresses.
    pub fn create(path: impl AsRef<Path>, row_shape: &[usize]) -> Result<Self> {
        let path = path.as_ref();
        let mut shape = vec![0];
        shape.extend_from_slice(row_shape);
        let header_bytes = Header::encode(&A::dtype(), false, &shape);
        let header = Header::new(
            (header_bytes[6], header_bytes[7]),
            A::dtype(),
            false,
            shape,
            header_bytes.len() as u64,
            path,
        )?;
        let mut file = File::create(path).map_err(|e| Error::io(path, "create", e))?;
        file.write_all(&header_bytes)
            .map_err(|e| Error::io(path, "write header", e))?;
        file.sync_all().map_err(|e| Error::io(path, "sync", e))?;
        Self::from_file(path, file, &header)
    }

    /// Opens an existing C-order file of `A` with at least one dimension to append
    /// to it. Bytes after the data its header describes (left by a crash) are cut off.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("ids.npy");
    /// use npmap::ndarray::{arr1, Ix1};
    /// use npmap::{Error, NpyAppender};
    /// npmap::save_npy(&path, &arr1(&[1i64, 2]))?; // a file np.save wrote works too
    /// let mut ids = NpyAppender::<i64>::open(&path)?;
    /// assert_eq!((ids.rows(), ids.row_shape()), (2, &[][..]));
    /// ids.append(&arr1(&[3, 4]))?;
    /// ids.finish()?;
    /// assert_eq!(npmap::read_npy::<i64, Ix1>(&path)?.to_vec(), [1, 2, 3, 4]);
    ///
    /// let wrong = NpyAppender::<f64>::open(&path);
    /// assert!(matches!(wrong, Err(Error::DTypeMismatch { expected: "f64", .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Io`] when the file cannot be opened for writing, read, cut back to its
    ///   data (`"truncate"`) or positioned (`"seek"`); the errors of
    ///   [`Header::read_from`](crate::Header::read_from) for a malformed or truncated file.
    /// - [`Error::DTypeMismatch`] when the file's dtype is not `A` in native byte order.
    /// - [`Error::Unappendable`] for a 0-d array, or for Fortran-order data with more than
    ///   one dimension longer than 1.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let (file, len, header) = open_npy(path, true, &HeaderOptions::default())?;
        if match_element::<A>(&header.dtype) != ElementMatch::Native {
            return Err(Error::DTypeMismatch {
                path: path.into(),
                found: header.dtype.descr(),
                found_name: header.dtype.name(),
                expected: A::NAME,
            });
        }
        if header.fortran_order && header.shape.iter().filter(|&&d| d > 1).count() > 1 {
            return Err(Error::Unappendable {
                path: path.into(),
                reason: "the file is in Fortran order; rows can only be appended to C-order data",
            });
        }
        if header.shape.is_empty() {
            return Err(Error::Unappendable {
                path: path.into(),
                reason: "a 0-d array has no first axis to grow",
            });
        }
        let end = header.data_offset + header.data_len();
        if len > end {
            file.set_len(end)
                .map_err(|e| Error::io(path, "truncate", e))?;
        }
        Self::from_file(path, file, &header)
    }

    fn from_file(path: &Path, mut file: File, header: &Header) -> Result<Self> {
        let row_shape = header.shape[1..].to_vec();
        let row_elements: usize = row_shape.iter().product();
        let row_bytes = (row_elements * header.dtype.itemsize()) as u64;
        let rows = header.shape[0];
        file.seek(SeekFrom::Start(header.data_offset + header.data_len()))
            .map_err(|e| Error::io(path, "seek", e))?;
        Ok(NpyAppender {
            path: path.to_path_buf(),
            writer: BufWriter::with_capacity(1 << 20, file),
            version: header.version,
            data_offset: header.data_offset,
            row_shape,
            row_bytes,
            flushed_rows: rows,
            rows,
            finished: false,
            _element: PhantomData,
        })
    }

    /// The shape of one row: the file's shape without its first axis.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// let log = npmap::NpyAppender::<f32>::create(&path, &[2, 3])?;
    /// assert_eq!(log.row_shape(), [2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn row_shape(&self) -> &[usize] {
        &self.row_shape
    }

    /// Rows appended so far, flushed or not (with the rows the file held when opened).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// let mut log = npmap::NpyAppender::<f32>::create(&path, &[2])?;
    /// log.append(&npmap::ndarray::Array2::<f32>::zeros((5, 2)))?;
    /// assert_eq!((log.rows(), log.flushed_rows()), (5, 0));
    /// # Ok(()) }
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rows that the header on disk already holds: what a reader, or a crash, would
    /// see now.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// let mut log = npmap::NpyAppender::<u16>::create(&path, &[])?;
    /// log.append(&npmap::ndarray::arr1(&[1, 2, 3]))?;
    /// assert_eq!(log.flushed_rows(), 0);
    /// log.flush()?;
    /// assert_eq!(log.flushed_rows(), 3);
    /// # Ok(()) }
    /// ```
    pub fn flushed_rows(&self) -> usize {
        self.flushed_rows
    }

    /// Appends `rows`, an array whose first axis counts rows and whose other axes are
    /// the row shape. Any memory layout; the bytes are written in C order.
    ///
    /// The rows are buffered: they reach the file when the buffer fills or at
    /// [`NpyAppender::flush`], and the header counts them only after a flush.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// use npmap::ndarray::{arr2, Array2};
    /// use npmap::{Error, NpyAppender};
    /// let mut log = NpyAppender::<i32>::create(&path, &[2])?;
    /// let block = arr2(&[[1, 2], [3, 4], [5, 6]]);
    /// log.append(&block.slice(npmap::ndarray::s![..;2, ..]))?; // rows 0 and 2
    /// let e = log.append(&arr2(&[[1, 2, 3]])).unwrap_err();
    /// assert!(matches!(e, Error::RowShape { ref expected, ref found, .. }
    ///     if expected == &[2] && found == &[1, 3]));
    /// log.finish()?;
    /// assert_eq!(npmap::read_npy::<i32, _>(&path)?, Array2::from(vec![[1, 2], [5, 6]]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::RowShape`] when `rows` does not have one more dimension than a row, or
    ///   its other axes are not the row shape.
    /// - [`Error::ShapeOverflow`] when the file's size would no longer fit in memory
    ///   addresses.
    /// - [`Error::Io`] (`action` `"append"`) when writing to the file fails; as writes are
    ///   buffered, such an error may also surface at the next flush.
    pub fn append<D>(&mut self, rows: &ArrayRef<A, D>) -> Result<()>
    where
        D: Dimension,
    {
        if rows.ndim() != self.row_shape.len() + 1 || rows.shape()[1..] != self.row_shape[..] {
            return Err(Error::RowShape {
                path: self.path.clone(),
                expected: self.row_shape.clone(),
                found: rows.shape().to_vec(),
            });
        }
        let added = rows.shape()[0];
        let new_rows = self
            .rows
            .checked_add(added)
            .ok_or_else(|| self.overflow())?;
        self.check_size(new_rows)?;
        write_c_order(&mut self.writer, rows).map_err(|e| Error::io(&self.path, "append", e))?;
        self.rows = new_rows;
        Ok(())
    }

    /// Makes every appended row durable, then records them in the header. After it
    /// returns, a crash cannot lose them.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// use npmap::ndarray::{arr1, Ix1};
    /// let mut log = npmap::NpyAppender::<f64>::create(&path, &[])?;
    /// log.append(&arr1(&[0.5, 1.5]))?;
    /// assert_eq!(npmap::read_npy::<f64, Ix1>(&path)?.len(), 0); // not yet in the header
    /// log.flush()?;
    /// assert_eq!(npmap::read_npy::<f64, Ix1>(&path)?.to_vec(), [0.5, 1.5]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Io`] when writing the buffered rows (`"write"`), syncing them
    ///   (`"sync data"`), rewriting the header (`"rewrite header"`) or syncing it
    ///   (`"sync header"`) fails.
    /// - [`Error::Unappendable`] when the header has no room left for the new shape, as
    ///   with files whose header another writer padded less than NumPy does (re-save
    ///   the file with [`save_npy`](crate::save_npy)). The rows stay in the file, after the
    ///   data the header describes.
    pub fn flush(&mut self) -> Result<()> {
        let path = self.path.clone();
        self.writer
            .flush()
            .map_err(|e| Error::io(&path, "write", e))?;
        if self.rows == self.flushed_rows {
            return Ok(());
        }
        let file = self.writer.get_mut();
        file.sync_data()
            .map_err(|e| Error::io(&path, "sync data", e))?;
        let mut shape = vec![self.rows];
        shape.extend_from_slice(&self.row_shape);
        let header = Header::encode_in_place(
            self.version,
            &A::dtype(),
            false,
            &shape,
            self.data_offset,
        )
        .ok_or_else(|| Error::Unappendable {
            path: path.clone(),
            reason: "the header has no room left for the new shape; re-save the file with save_npy",
        })?;
        write_at(file, &header, 0).map_err(|e| Error::io(&path, "rewrite header", e))?;
        file.sync_data()
            .map_err(|e| Error::io(&path, "sync header", e))?;
        self.flushed_rows = self.rows;
        Ok(())
    }

    /// Flushes and closes; returns the number of rows in the file.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// let mut log = npmap::NpyAppender::<u8>::create(&path, &[4])?;
    /// log.append(&npmap::ndarray::Array2::<u8>::ones((3, 4)))?;
    /// assert_eq!(log.finish()?, 3);
    /// assert_eq!(npmap::read_npy_header(&path)?.shape, [3, 4]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`NpyAppender::flush`].
    pub fn finish(mut self) -> Result<usize> {
        self.flush()?;
        self.finished = true;
        Ok(self.rows)
    }

    fn check_size(&self, rows: usize) -> Result<()> {
        let mut shape = vec![rows];
        shape.extend_from_slice(&self.row_shape);
        Header::new(
            self.version,
            A::dtype(),
            false,
            shape,
            self.data_offset,
            &self.path,
        )
        .map(drop)
    }

    fn overflow(&self) -> Error {
        Error::ShapeOverflow {
            path: self.path.clone(),
            shape: vec![u64::MAX],
            itemsize: self.row_bytes as usize,
        }
    }
}

impl<A: Element> Drop for NpyAppender<A> {
    /// Flushes what was appended, as a convenience; errors cannot be reported here,
    /// so call [`NpyAppender::finish`] to see them.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.flush();
        }
    }
}

impl<A: Element> std::fmt::Debug for NpyAppender<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyAppender")
            .field("path", &self.path)
            .field("row_shape", &self.row_shape)
            .field("rows", &self.rows)
            .field("flushed_rows", &self.flushed_rows)
            .finish()
    }
}

/// Repairs a file an appending process left behind: cuts off bytes after the data
/// the header describes (rows appended after the last flush, possibly partial).
/// Returns the number of rows the file holds (1 for a 0-d array). A file with
/// nothing to cut is left untouched.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("log.npy");
/// npmap::save_npy(&path, &npmap::ndarray::arr2(&[[1u8, 2], [3, 4]]))?;
/// let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
/// std::io::Write::write_all(&mut f, &[5]).unwrap(); // half a row, as after a crash
/// assert_eq!(npmap::recover(&path)?, 2);
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), 128 + 4);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be opened for writing, read, truncated
/// (`"truncate"`) or synced (`"sync"`), and the errors of
/// [`Header::read_from`](crate::Header::read_from) for a file that is not a well-formed
/// `.npy` or is shorter than its header says.
pub fn recover(path: impl AsRef<Path>) -> Result<usize> {
    let path = path.as_ref();
    let (file, len, header) = open_npy(path, true, &HeaderOptions::default())?;
    let end = header.data_offset + header.data_len();
    if len > end {
        file.set_len(end)
            .map_err(|e| Error::io(path, "truncate", e))?;
        file.sync_all().map_err(|e| Error::io(path, "sync", e))?;
    }
    Ok(header.shape.first().copied().unwrap_or(1))
}

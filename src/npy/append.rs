//! Growing a C-order `.npy` file along its first axis, crash-safe.
//!
//! Rows are appended after the data; [`NpyAppender::flush`] makes them durable and
//! only then rewrites the header's shape in place (the header keeps its length:
//! NumPy leaves spare spaces for exactly this). A process killed at any moment
//! leaves a file that `np.load` reads with every row of the last completed flush;
//! bytes of later rows, if any, trail the data and are ignored by NumPy and cut off
//! by [`recover`](crate::recover) or [`NpyAppender::open`].
//!
//! Every write goes to an explicit offset (the end of the rows appended so far), and
//! a failed one is undone: see [`NpyAppender`] on errors.

use std::fs::File;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use ndarray::{ArrayRef, Dimension};

use crate::error::{Error, ErrorKind, Result};
use crate::format::element::{Element, ElementMatch, match_element};
use crate::format::header::Header;
use crate::fs::durable::{Replace, atomic_write_locked};
use crate::fs::os::write_at;
use crate::npy::recover::{open_header_locked, open_locked};
use crate::npy::save::write_c_order;

/// Bytes of appended rows kept in memory before they are written to the file.
const BUFFER: usize = 1 << 20;

/// Appends rows to a C-order `.npy` file of `A`.
///
/// Rows are buffered, then written after the data; [`flush`](NpyAppender::flush) makes
/// them durable and only then records them in the header, so the file always reads as
/// the rows of the last flush. Dropping the appender flushes too, but cannot report an
/// error: call [`finish`](NpyAppender::finish).
///
/// **Errors.** A failed [`append`](Self::append) appends nothing: the appender goes
/// back to the end of the rows appended before the call, cuts any part of the failed
/// rows that reached the file, and can be used again, for instance with the same rows
/// once the disk has room. A failed [`flush`](Self::flush) keeps every appended row
/// (those not written stay in memory) and can be retried. So the rows that calls
/// returning `Ok` appended are exactly the rows in the file after a successful
/// [`finish`](Self::finish). The one exception is a failed sync (`fsync`): what
/// reached the disk is then unknown, and the appender refuses further use with
/// [`ErrorKind::Unappendable`]; drop it and [`open`](Self::open) the file again, which
/// keeps the rows of the last successful flush. If `finish` fails, the file holds
/// exactly the rows of the last successful flush.
///
/// **One writer at a time.** An appender holds an exclusive advisory lock
/// (`flock`) on its file from [`create`](Self::create) or [`open`](Self::open) until
/// it is finished or dropped (or its process dies). A second appender on the same
/// file, or [`recover`](crate::recover), in this process or another, is refused with
/// [`ErrorKind::AppendLocked`]. The lock is advisory: only appenders and `recover` take
/// it. A [`MmapMode::ReadWrite`](crate::MmapMode::ReadWrite) mapping, `save_npy` or
/// another program can still write or replace the file while an appender holds it,
/// and nothing stops them: rows written through a mapping may be overwritten by the
/// appender, and a file replaced by a rename leaves the appender writing to the old
/// one. Readers (`np.load`, [`read_npy`](crate::read_npy), read-only mappings) are
/// not affected and see the rows of the last flush. On filesystems without `flock`
/// (and on platforms other than Unix) there is no lock.
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
/// // One writer at a time:
/// let second = NpyAppender::<f32>::open(&path).unwrap_err();
/// assert_eq!(second.kind(), &npmap::ErrorKind::AppendLocked);
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
    /// The file, with its append lock held.
    file: File,
    /// Bytes of appended rows not yet written; they go at `end`.
    buffer: Vec<u8>,
    /// Where the file's good bytes end: `end + buffer.len()` is the end of `rows`.
    end: u64,
    /// Bytes past `end` may be in the file (a failed write whose cut failed too).
    ragged: bool,
    /// The action whose failure left the disk's contents unknown.
    broken: Option<&'static str>,
    version: (u8, u8),
    data_offset: u64,
    row_shape: Vec<usize>,
    row_bytes: u64,
    /// Rows in the header (durable).
    flushed_rows: usize,
    /// Rows appended, flushed or not.
    rows: usize,
    finished: bool,
    _element: PhantomData<A>,
}

impl<A: Element> NpyAppender<A> {
    /// Creates (or replaces) `path` with an empty array of shape `(0, *row_shape)`.
    ///
    /// The new file is written under a temporary name beside `path`, synced and then
    /// renamed over it, so a crash at any moment leaves the old file or a valid new
    /// one. As with [`save_npy`](crate::save_npy), `path` then names a new file:
    /// mappings of the old one keep seeing the old one, a symbolic link at `path` is
    /// itself replaced, and the old file's permissions are not kept. Refused with
    /// [`ErrorKind::AppendLocked`] while another appender holds the old file.
    ///
    /// The header is the one `np.save` writes, with room for the first axis to grow to
    /// any length. An empty `row_shape` makes a 1-D file whose rows are single elements.
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
    /// - [`ErrorKind::Io`] when the file cannot be created, written or synced (`action`
    ///   `"create"`, `"write header"`, `"sync"`, `"seek"`).
    /// - [`ErrorKind::ShapeOverflow`] when a row's byte size does not fit in memory addresses.
    /// - [`ErrorKind::AppendLocked`] while another appender, in this process or another,
    ///   holds the file.
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
        )
        .map_err(|e| e.in_file(path))?;
        loop {
            // The old file stays locked until the new one has replaced it, so that no
            // appender starts on it meanwhile; with none, the new file must not
            // replace one that another process creates meanwhile.
            let old = open_locked(path, false)?;
            let replace = match old.is_some() || std::fs::symlink_metadata(path).is_ok() {
                true => Replace::Any,
                false => Replace::Nothing,
            };
            let mut created = None;
            let persisted = atomic_write_locked(path, replace, |file| {
                write_at(file, &header_bytes, 0).map_err(|e| Error::io(path, "write header", e))?;
                created = Some(file.try_clone().map_err(|e| Error::io(path, "open", e))?);
                Ok(())
            })?;
            drop(old);
            if let (true, Some(file)) = (persisted, created) {
                return Self::from_file(path, file, &header);
            }
        }
    }

    /// Opens an existing C-order file of `A` with at least one dimension to append
    /// to it. Bytes after the data its header describes (left by a crash) are cut off.
    /// Refused with [`ErrorKind::AppendLocked`] while another appender holds the file.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("ids.npy");
    /// use npmap::ndarray::{arr1, Ix1};
    /// use npmap::{ErrorKind, NpyAppender};
    /// npmap::save_npy(&path, &arr1(&[1i64, 2]))?; // a file np.save wrote works too
    /// let mut ids = NpyAppender::<i64>::open(&path)?;
    /// assert_eq!((ids.rows(), ids.row_shape()), (2, &[][..]));
    /// ids.append(&arr1(&[3, 4]))?;
    /// ids.finish()?;
    /// assert_eq!(npmap::read_npy::<i64, Ix1>(&path)?.to_vec(), [1, 2, 3, 4]);
    ///
    /// let wrong = NpyAppender::<f64>::open(&path);
    /// assert!(matches!(wrong.as_ref().map_err(|e| e.kind()), Err(ErrorKind::DTypeMismatch { expected: "f64", .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Io`] when the file cannot be opened for writing, read, cut back to its
    ///   data (`"truncate"`) or positioned (`"seek"`); the errors of
    ///   [`Header::read_from`](crate::Header::read_from) for a malformed or truncated file.
    /// - [`ErrorKind::DTypeMismatch`] when the file's dtype is not `A` in native byte order.
    /// - [`ErrorKind::Unappendable`] for a 0-d array, or for Fortran-order data with more than
    ///   one dimension longer than 1.
    /// - [`ErrorKind::AppendLocked`] while another appender, in this process or another,
    ///   holds the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let (file, len, header) = open_header_locked(path)?;
        if match_element::<A>(&header.dtype) != ElementMatch::Native {
            return Err(Error::at(
                path,
                ErrorKind::DTypeMismatch {
                    found: header.dtype.descr(),
                    found_name: header.dtype.name(),
                    expected: A::NAME,
                },
            ));
        }
        if header.fortran_order && header.shape.iter().filter(|&&d| d > 1).count() > 1 {
            return Err(Error::at(
                path,
                ErrorKind::Unappendable {
                    reason: "the file is in Fortran order; rows can only be appended to C-order data",
                },
            ));
        }
        if header.shape.is_empty() {
            return Err(Error::at(
                path,
                ErrorKind::Unappendable {
                    reason: "a 0-d array has no first axis to grow",
                },
            ));
        }
        let end = header.data_offset + header.data_len();
        if len > end {
            file.set_len(end)
                .map_err(|e| Error::io(path, "truncate", e))?;
        }
        Self::from_file(path, file, &header)
    }

    fn from_file(path: &Path, file: File, header: &Header) -> Result<Self> {
        let row_shape = header.shape[1..].to_vec();
        let row_elements: usize = row_shape.iter().product();
        let row_bytes = (row_elements * header.dtype.itemsize()) as u64;
        let rows = header.shape[0];
        Ok(NpyAppender {
            path: path.to_path_buf(),
            file,
            buffer: Vec::new(),
            end: header.data_offset + header.data_len(),
            ragged: false,
            broken: None,
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

    /// The shape of one row.
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

    /// Rows appended so far by calls that returned `Ok`, flushed or not (with the rows
    /// the file held when opened).
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

    /// Rows that the header on disk already holds.
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
    /// All or nothing: on an error (a full disk, say) none of `rows` is appended,
    /// any of their bytes already in the file are cut off, and the appender can be
    /// used again.
    ///
    /// The rows are buffered: they reach the file when the buffer fills or at
    /// [`NpyAppender::flush`], and the header counts them only after a flush.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// use npmap::ndarray::{arr2, Array2};
    /// use npmap::{ErrorKind, NpyAppender};
    /// let mut log = NpyAppender::<i32>::create(&path, &[2])?;
    /// let block = arr2(&[[1, 2], [3, 4], [5, 6]]);
    /// log.append(&block.slice(npmap::ndarray::s![..;2, ..]))?; // rows 0 and 2
    /// let e = log.append(&arr2(&[[1, 2, 3]])).unwrap_err();
    /// assert!(matches!(e.kind(), ErrorKind::RowShape { expected, found, .. }
    ///     if expected == &[2] && found == &[1, 3]));
    /// log.finish()?;
    /// assert_eq!(npmap::read_npy::<i32, _>(&path)?, Array2::from(vec![[1, 2], [5, 6]]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::RowShape`] when `rows` does not have one more dimension than a row, or
    ///   its other axes are not the row shape.
    /// - [`ErrorKind::ShapeOverflow`] when the file's size would no longer fit in memory
    ///   addresses.
    /// - [`ErrorKind::Io`] (`action` `"append"`) when writing to the file fails; as writes are
    ///   buffered, such an error may also surface at the next flush.
    pub fn append<D>(&mut self, rows: &ArrayRef<A, D>) -> Result<()>
    where
        D: Dimension,
    {
        self.check_usable()?;
        if rows.ndim() != self.row_shape.len() + 1 || rows.shape()[1..] != self.row_shape[..] {
            return Err(Error::at(
                self.path.clone(),
                ErrorKind::RowShape {
                    expected: self.row_shape.clone(),
                    found: rows.shape().to_vec(),
                },
            ));
        }
        let added = rows.shape()[0];
        let new_rows = self
            .rows
            .checked_add(added)
            .ok_or_else(|| self.overflow())?;
        self.check_size(new_rows)?;
        let before = self.end + self.buffer.len() as u64;
        match write_c_order(&mut self.sink(), rows) {
            Ok(()) => {
                self.rows = new_rows;
                Ok(())
            }
            Err(e) => {
                self.roll_back(before);
                Err(Error::io(&self.path, "append", e))
            }
        }
    }

    /// Makes every appended row durable, then records them in the header. After it
    /// returns, a crash cannot lose them. On an error the rows stay appended, and the
    /// flush can be retried (unless a sync failed: see [`NpyAppender`]).
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
    /// - [`ErrorKind::Io`] when writing the buffered rows (`"write"`), syncing them
    ///   (`"sync data"`), rewriting the header (`"rewrite header"`) or syncing it
    ///   (`"sync header"`) fails.
    /// - [`ErrorKind::Unappendable`] when the header has no room left for the new shape, as
    ///   with files whose header another writer padded less than NumPy does (re-save
    ///   the file with [`save_npy`](crate::save_npy)). The rows stay in the file, after the
    ///   data the header describes.
    pub fn flush(&mut self) -> Result<()> {
        self.check_usable()?;
        if let Err(e) = self.sink().spill() {
            self.cut_tail();
            return Err(Error::io(&self.path, "write", e));
        }
        if self.ragged {
            self.file
                .set_len(self.end)
                .map_err(|e| Error::io(&self.path, "truncate", e))?;
            self.ragged = false;
        }
        if self.rows == self.flushed_rows {
            return Ok(());
        }
        self.sync("sync data")?;
        let mut shape = vec![self.rows];
        shape.extend_from_slice(&self.row_shape);
        let header = Header::encode_in_place(
            self.version,
            &A::dtype(),
            false,
            &shape,
            self.data_offset,
        )
        .ok_or_else(|| Error::at(self.path.clone(), ErrorKind::Unappendable {
            reason: "the header has no room left for the new shape; re-save the file with save_npy",}))?;
        write_at(&self.file, &header, 0).map_err(|e| Error::io(&self.path, "rewrite header", e))?;
        self.sync("sync header")?;
        self.flushed_rows = self.rows;
        Ok(())
    }

    /// Flushes and closes; returns the number of rows in the file. On an error, the
    /// file holds exactly the rows of the last successful flush.
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
        self.finished = true;
        match self.flush() {
            Ok(()) => Ok(self.rows),
            Err(e) => {
                self.cut_to_flushed();
                Err(e)
            }
        }
    }

    fn sink(&mut self) -> Sink<'_> {
        Sink {
            file: &self.file,
            buffer: &mut self.buffer,
            end: &mut self.end,
        }
    }

    /// After a failed append: forgets the bytes past `keep` (where the rows appended
    /// before the call end) and cuts from the file what of them reached it.
    fn roll_back(&mut self, keep: u64) {
        if self.end >= keep {
            self.buffer.clear();
            self.end = keep;
        } else {
            self.buffer.truncate((keep - self.end) as usize);
        }
        self.cut_tail();
    }

    /// Cuts the file at `end`, past which a failed write may have left bytes; if that
    /// fails too, the next flush tries again (and later writes overwrite them anyway).
    fn cut_tail(&mut self) {
        self.ragged = self.file.set_len(self.end).is_err();
    }

    /// Best effort, after a failed `finish` or drop: the file ends where the header's
    /// rows do.
    fn cut_to_flushed(&mut self) {
        let end = self.data_offset + self.flushed_rows as u64 * self.row_bytes;
        let _ = self.file.set_len(end);
    }

    /// Syncs the file's data; a failure breaks the appender.
    fn sync(&mut self, action: &'static str) -> Result<()> {
        self.file.sync_data().map_err(|e| {
            self.broken = Some(action);
            Error::io(&self.path, action, e)
        })
    }

    fn check_usable(&self) -> Result<()> {
        match self.broken {
            None => Ok(()),
            Some(_) => Err(Error::at(
                self.path.clone(),
                ErrorKind::Unappendable {
                    reason: "an earlier sync failed, so what reached the disk is unknown; \
                         drop this appender and open the file again (it keeps the rows of \
                         the last successful flush)",
                },
            )),
        }
    }

    fn check_size(&self, rows: usize) -> Result<()> {
        let mut shape = vec![rows];
        shape.extend_from_slice(&self.row_shape);
        Header::new(self.version, A::dtype(), false, shape, self.data_offset)
            .map_err(|e| e.in_file(&self.path))
            .map(drop)
    }

    fn overflow(&self) -> Error {
        Error::at(
            self.path.clone(),
            ErrorKind::ShapeOverflow {
                shape: vec![u64::MAX],
                itemsize: self.row_bytes as usize,
            },
        )
    }
}

impl<A: Element> Drop for NpyAppender<A> {
    /// Flushes what was appended, as a convenience; errors cannot be reported here,
    /// so call [`NpyAppender::finish`] to see them. The lock is released.
    fn drop(&mut self) {
        if !self.finished && self.flush().is_err() {
            self.cut_to_flushed();
        }
    }
}

/// The writer rows are serialized into: bytes gather in `buffer` and are written at
/// `end` (never at the file's position), whole or not at all as far as `end` and
/// `buffer` tell; a failed write leaves both as they were.
struct Sink<'a> {
    file: &'a File,
    buffer: &'a mut Vec<u8>,
    end: &'a mut u64,
}

impl Sink<'_> {
    fn spill(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            write_at(self.file, self.buffer, *self.end)?;
            *self.end += self.buffer.len() as u64;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.buffer.len() + bytes.len() > BUFFER {
            self.spill()?;
        }
        if bytes.len() >= BUFFER {
            write_at(self.file, bytes, *self.end)?;
            *self.end += bytes.len() as u64;
        } else {
            self.buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.spill()
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

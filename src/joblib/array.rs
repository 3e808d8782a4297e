//! An array of a dump: its header (dtype, shape, order) and where its bytes are —
//! in the dump's buffer (a mapping of the file, or the file read into memory), or
//! decoded from the pickle (protocol 2's latin-1 text).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::{Mmap, MmapMut};
use ndarray::{Array, ArrayView, ArrayViewMut, CowArray, Dimension};

use crate::error::{Error, ErrorKind, Result};
use crate::format::element::Element;
use crate::format::header::Header;
use crate::npy::{MmapMode, bytes};

/// The bytes a dump was parsed from.
pub(crate) enum Buffer {
    /// A read-only mapping of all of the file at `path`.
    Mapped {
        map: Mmap,
        path: PathBuf,
    },
    Owned(Vec<u8>),
}

impl Buffer {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Buffer::Mapped { map, .. } => map,
            Buffer::Owned(v) => v,
        }
    }
}

#[derive(Clone)]
enum Data {
    /// `range` of the dump's buffer.
    InBuffer {
        buffer: Arc<Buffer>,
        range: Range<usize>,
    },
    /// Bytes in memory of this array's own: decoded, or copied for a mutable view.
    Owned(Arc<Vec<u8>>),
    /// A writable mapping of this array's bytes alone (a dump loaded
    /// [`ReadWrite`](MmapMode::ReadWrite) or [`CopyOnWrite`](MmapMode::CopyOnWrite)).
    Writable { map: Arc<MmapMut>, mode: MmapMode },
}

/// Where an array's bytes are in a file mapped read-only, to map them again writable.
pub(crate) struct MappedRange<'a> {
    pub path: &'a Path,
    pub range: Range<usize>,
}

/// A NumPy array of a joblib dump: mapped in place when the dump was loaded with
/// [`load`](crate::joblib::load) and its bytes are aligned and native, else copied.
///
/// Cloning is cheap: a clone shares the bytes (the mapping, or the dump's bytes in
/// memory). A mutable view ([`view_mut`](Self::view_mut)) of an array mapped
/// [`ReadWrite`](MmapMode::ReadWrite) or [`CopyOnWrite`](MmapMode::CopyOnWrite) needs
/// the array to be the only handle to its mapping; an array in memory is copied
/// first when shared, so its clones keep their values.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("d.joblib");
/// use npmap::ndarray::{Ix1, arr1};
/// // joblib.dump(np.array([1.5, 2.5]), path)
/// # let mut b = b"\x80\x04\x95\xc1\x00\x00\x00\x00\x00\x00\x00\x8c\x13joblib.numpy_pickle\x94\x8c\x11NumpyArrayWrapper\x94\x93\x94)\x81\x94}\x94(\x8c\x08subclass\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94\x8c\x05shape\x94K\x02\x85\x94\x8c\x05order\x94\x8c\x01C\x94\x8c\x05dtype\x94h\x06\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x8c\nallow_mmap\x94\x88\x8c\x1bnumpy_array_alignment_bytes\x94K\x10ub".to_vec();
/// # let pad = 16 - (b.len() + 1) % 16; b.push(pad as u8); b.extend(vec![0xff; pad]);
/// # b.extend(1.5f64.to_le_bytes()); b.extend(2.5f64.to_le_bytes()); b.push(b'.');
/// # std::fs::write(&path, &b).unwrap();
/// let d = npmap::joblib::read(&path)?;
/// let a = d.root().array()?;
/// assert_eq!((a.header().dtype.descr(), a.header().shape.clone()), ("<f8".to_string(), vec![2]));
/// assert_eq!(a.cow::<f64, Ix1>()?, arr1(&[1.5, 2.5]));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JoblibArray {
    header: Header,
    data: Data,
    subclass: String,
    mapped: bool,
}

impl PartialEq for JoblibArray {
    fn eq(&self, other: &Self) -> bool {
        self.header == other.header && self.data() == other.data()
    }
}

impl fmt::Debug for JoblibArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoblibArray")
            .field("dtype", &self.header.dtype.descr())
            .field("shape", &self.header.shape)
            .field("fortran_order", &self.header.fortran_order)
            .field("data_offset", &self.header.data_offset)
            .field("mapped", &self.mapped)
            .finish()
    }
}

impl JoblibArray {
    /// An array whose bytes are `range` of `buffer` (`header.data_offset` is
    /// `range.start`, for messages).
    pub(crate) fn in_buffer(
        header: Header,
        buffer: Arc<Buffer>,
        range: Range<usize>,
        subclass: String,
    ) -> JoblibArray {
        let mapped = matches!(*buffer, Buffer::Mapped { .. });
        JoblibArray {
            header,
            data: Data::InBuffer { buffer, range },
            subclass,
            mapped,
        }
    }

    /// An array of decoded bytes.
    pub(crate) fn owned(header: Header, bytes: Vec<u8>, subclass: String) -> JoblibArray {
        JoblibArray {
            header,
            data: Data::Owned(Arc::new(bytes)),
            subclass,
            mapped: false,
        }
    }

    /// The dtype, shape and order; `data_offset` is where the bytes start in the
    /// dump (0 for bytes decoded from the pickle).
    ///
    /// See [`JoblibArray`] for an example.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The class joblib recorded (`numpy.ndarray`, `numpy.matrix`, `numpy.memmap`).
    ///
    /// See [`JoblibArray`] for an example.
    pub fn subclass(&self) -> &str {
        &self.subclass
    }

    /// Whether the bytes are in a mapping of the file (so [`view`](Self::view) is
    /// zero-copy), rather than in memory.
    ///
    /// See [`load`](crate::joblib::load) for an example.
    pub fn is_mapped(&self) -> bool {
        self.mapped
    }

    /// The raw bytes, in the file's byte order and the header's memory order.
    ///
    /// See [`JoblibArray`] for an example.
    pub fn data(&self) -> &[u8] {
        match &self.data {
            Data::InBuffer { buffer, range } => &buffer.bytes()[range.clone()],
            Data::Owned(v) => v,
            Data::Writable { map, .. } => map,
        }
    }

    /// How the bytes are mapped: `None` when they are in memory ([`read`](crate::joblib::read),
    /// a compressed dump, bytes decoded from the pickle, an empty array loaded
    /// [`ReadWrite`](MmapMode::ReadWrite) or [`CopyOnWrite`](MmapMode::CopyOnWrite),
    /// which has no bytes to map).
    ///
    /// See [`view_mut`](Self::view_mut) for an example.
    pub fn mmap_mode(&self) -> Option<MmapMode> {
        match &self.data {
            Data::InBuffer { buffer, .. } if matches!(**buffer, Buffer::Mapped { .. }) => {
                Some(MmapMode::ReadOnly)
            }
            Data::InBuffer { .. } | Data::Owned(_) => None,
            Data::Writable { mode, .. } => Some(*mode),
        }
    }

    /// The file and range of bytes this array is mapped from, when it is in a
    /// read-only mapping (to map it again in another mode).
    pub(crate) fn mapped_range(&self) -> Option<MappedRange<'_>> {
        match &self.data {
            Data::InBuffer { buffer, range } => match &**buffer {
                Buffer::Mapped { path, .. } => Some(MappedRange {
                    path,
                    range: range.clone(),
                }),
                Buffer::Owned(_) => None,
            },
            _ => None,
        }
    }

    /// Writes the changes of an array mapped [`ReadWrite`](MmapMode::ReadWrite) to
    /// the file and waits for them to be on disk; nothing for the others.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        match &self.data {
            Data::Writable {
                map,
                mode: MmapMode::ReadWrite,
            } => map.flush(),
            _ => Ok(()),
        }
    }

    /// Puts the array's bytes in `map`, a writable mapping of the same bytes of the
    /// file (`None`: an empty array, which has no bytes to map).
    pub(crate) fn remap(&mut self, map: Option<MmapMut>, mode: MmapMode) {
        self.data = match map {
            Some(map) => Data::Writable {
                map: Arc::new(map),
                mode,
            },
            None => Data::Owned(Arc::new(Vec::new())),
        };
        self.mapped = matches!(self.data, Data::Writable { .. });
    }

    /// The raw bytes, to write: in the file for an array mapped
    /// [`ReadWrite`](MmapMode::ReadWrite), in private pages for
    /// [`CopyOnWrite`](MmapMode::CopyOnWrite), and in this array's own memory for an
    /// array in memory (copied first when the dump's bytes, or a clone, hold it too).
    /// Any dtype, byte order and alignment: the bytes as the file has them.
    ///
    /// See [`view_mut`](Self::view_mut) for an example.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::ReadOnly`] for an array of a dump loaded
    ///   [`ReadOnly`](MmapMode::ReadOnly) (as NumPy's read-only memmap refuses writes).
    /// - [`ErrorKind::ArrayShared`] for a mapped array with live clones.
    /// - [`ErrorKind::OutOfMemory`] when the copy of an array in memory cannot be
    ///   allocated.
    pub fn data_mut(&mut self) -> Result<&mut [u8]> {
        let copy = match &self.data {
            Data::InBuffer { buffer, .. } if matches!(**buffer, Buffer::Mapped { .. }) => {
                return Err(Error::from(ErrorKind::ReadOnly));
            }
            // The dump's bytes in memory, or shared with a clone: copied first.
            Data::InBuffer { .. } => true,
            Data::Owned(v) => Arc::strong_count(v) > 1,
            Data::Writable { .. } => false,
        };
        if copy {
            let data = self.data();
            let mut own = crate::cast::try_with_capacity::<u8>(data.len(), "array data")?;
            own.extend_from_slice(data);
            self.data = Data::Owned(Arc::new(own));
        }
        let shared = |clones| Error::from(ErrorKind::ArrayShared { clones });
        match &mut self.data {
            Data::Owned(v) => {
                let clones = Arc::strong_count(v) - 1;
                Arc::get_mut(v)
                    .map(|v| v.as_mut_slice())
                    .ok_or_else(|| shared(clones))
            }
            Data::Writable { map, .. } => {
                let clones = Arc::strong_count(map) - 1;
                Arc::get_mut(map)
                    .map(|m| &mut m[..])
                    .ok_or_else(|| shared(clones))
            }
            Data::InBuffer { .. } => Err(Error::from(ErrorKind::ReadOnly)),
        }
    }

    /// A zero-copy view as `A` with dimension `D`.
    ///
    /// See [`load`](crate::joblib::load) for an example.
    ///
    /// # Errors
    ///
    /// As [`NpyFile::view`](crate::NpyFile::view): [`DTypeMismatch`](crate::ErrorKind::DTypeMismatch),
    /// [`NonNativeByteOrder`](crate::ErrorKind::NonNativeByteOrder),
    /// [`NdimMismatch`](crate::ErrorKind::NdimMismatch),
    /// [`Misaligned`](crate::ErrorKind::Misaligned) (dumps of joblib 1.1 and
    /// earlier do not align arrays; use [`cow`](Self::cow)) and
    /// [`InvalidBool`](crate::ErrorKind::InvalidBool).
    pub fn view<A: Element, D: Dimension>(&self) -> Result<ArrayView<'_, A, D>> {
        bytes::view(&self.header, self.data(), bytes::origin(&self.header))
    }

    /// A mutable zero-copy view as `A` with dimension `D`, as the arrays of
    /// `joblib.load(path, mmap_mode=...)` are writable NumPy arrays:
    ///
    /// | the dump | writes go to |
    /// |---|---|
    /// | [`load`](crate::joblib::load)ed [`ReadWrite`](MmapMode::ReadWrite) (`'r+'`) | the file, seen by every mapping of it ([`Dump::flush`](crate::joblib::Dump::flush) makes them durable) |
    /// | [`load`](crate::joblib::load)ed [`CopyOnWrite`](MmapMode::CopyOnWrite) (`'c'`) | private pages; the file never changes |
    /// | [`load`](crate::joblib::load)ed [`ReadOnly`](MmapMode::ReadOnly) (`'r'`) | refused, as NumPy's read-only memmap does |
    /// | [`read`](crate::joblib::read), or compressed (joblib ignores `mmap_mode` for those and loads them in memory), or an array decoded from the pickle | this array's own copy in memory |
    ///
    /// Get the array with [`Dump::array_mut`](crate::joblib::Dump::array_mut).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// use npmap::MmapMode;
    /// use npmap::joblib::JoblibWriter;
    /// use npmap::ndarray::{Ix1, arr1};
    /// let mut w = JoblibWriter::create(&path)?;
    /// w.add("y", &arr1(&[1.5f64, 2.5]))?;
    /// w.finish()?;
    ///
    /// // SAFETY: nothing else truncates or writes the dump while it is mapped.
    /// let mut c = unsafe { npmap::joblib::load(&path, MmapMode::CopyOnWrite)? };
    /// c.array_mut("y")?.view_mut::<f64, Ix1>()?[0] = -1.0; // private to `c`
    /// assert_eq!(c["y"].array()?.view::<f64, Ix1>()?, arr1(&[-1.0, 2.5]));
    ///
    /// // SAFETY: as above.
    /// let mut d = unsafe { npmap::joblib::load(&path, MmapMode::ReadWrite)? };
    /// let y = d.array_mut("y")?;
    /// assert_eq!(y.mmap_mode(), Some(MmapMode::ReadWrite));
    /// y.view_mut::<f64, Ix1>()?[1] = 7.0; // reaches the file
    /// d.flush()?;
    /// drop(d);
    /// let again = npmap::joblib::read(&path)?;
    /// assert_eq!(again["y"].array()?.to_owned::<f64, Ix1>()?, arr1(&[1.5, 7.0]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`data_mut`](Self::data_mut) ([`ReadOnly`](crate::ErrorKind::ReadOnly),
    /// [`ArrayShared`](crate::ErrorKind::ArrayShared), [`OutOfMemory`](crate::ErrorKind::OutOfMemory))
    /// and of [`view`](Self::view): an array in the other byte order, or misaligned (dumps
    /// of joblib 1.1 and earlier), has no typed view; [`data_mut`](Self::data_mut) writes
    /// its bytes.
    pub fn view_mut<A: Element, D: Dimension>(&mut self) -> Result<ArrayViewMut<'_, A, D>> {
        // Checked before the bytes are taken, so that a refused view copies nothing.
        bytes::check_native::<A, D>(&self.header)?;
        let origin = bytes::origin(&self.header);
        let header = self.header.clone();
        bytes::view_mut(&header, self.data_mut()?, origin)
    }

    /// A view when the bytes allow it, else a converted copy (the other byte order,
    /// misaligned bytes).
    ///
    /// See [`JoblibArray`] for an example.
    ///
    /// # Errors
    ///
    /// As [`view`](Self::view), except that another byte order and misalignment are
    /// not errors.
    pub fn cow<A: Element, D: Dimension>(&self) -> Result<CowArray<'_, A, D>> {
        bytes::cow(&self.header, self.data(), bytes::origin(&self.header))
    }

    /// A copy as `A` in native byte order.
    ///
    /// See [`read`](crate::joblib::read) for an example.
    ///
    /// # Errors
    ///
    /// As [`cow`](Self::cow).
    pub fn to_owned<A: Element, D: Dimension>(&self) -> Result<Array<A, D>> {
        self.cow::<A, D>().map(CowArray::into_owned)
    }
}

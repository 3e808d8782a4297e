//! An array of a dump: its header (dtype, shape, order) and where its bytes are —
//! in the dump's buffer (a mapping of the file, or the file read into memory), or
//! decoded from the pickle (protocol 2's latin-1 text).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use memmap2::Mmap;
use ndarray::{Array, ArrayView, CowArray, Dimension};

use crate::error::Result;
use crate::format::element::Element;
use crate::format::header::Header;
use crate::npy::bytes;

/// The bytes a dump was parsed from.
pub(crate) enum Buffer {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Buffer {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Buffer::Mapped(m) => m,
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
    /// Decoded bytes.
    Owned(Arc<Vec<u8>>),
}

/// A NumPy array of a joblib dump: mapped in place when the dump was loaded with
/// [`load`](crate::joblib::load) and its bytes are aligned and native, else copied.
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
        let mapped = matches!(*buffer, Buffer::Mapped(_));
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

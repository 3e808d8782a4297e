//! The crate's one error type.
//!
//! May import: nothing else of the crate.
//!
//! Every variant names the file it is about (`path`; `<stream>` for readers that
//! are not files) and, where it is about bytes in the file, the byte `offset` at
//! which the problem was found. Messages say what was expected and what was found.

use std::fmt;
use std::path::{Path, PathBuf};

/// A `Result` whose error is [`Error`].
///
/// The error type is a defaulted parameter, so `npmap::Result<T>` is
/// `std::result::Result<T, npmap::Error>` and `?` passes npmap's errors on from a
/// function of your own.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("X.npy");
/// use npmap::ndarray::Array2;
///
/// fn row_count(path: &std::path::Path) -> npmap::Result<usize> {
///     let header = npmap::read_npy_header(path)?;
///     Ok(header.shape[0])
/// }
///
/// npmap::save_npy(&path, &Array2::<f32>::zeros((5, 2)))?;
/// assert_eq!(row_count(&path)?, 5);
/// # Ok(()) }
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong opening, mapping, reading or writing a NumPy file.
///
/// Each variant carries the file it is about ([`Error::path`]) and the facts needed
/// to act on it; the `Display` message states what was expected and what was found.
/// The enum is `#[non_exhaustive]`: a `match` needs a catch-all arm.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("x.npy");
/// use npmap::ndarray::{Array1, Ix1};
/// use npmap::Error;
///
/// npmap::save_npy(&path, &Array1::<f64>::zeros(3))?;
/// match npmap::read_npy::<f32, Ix1>(&path) {
///     Err(Error::DTypeMismatch { found_name, expected, .. }) => {
///         assert_eq!((found_name.as_str(), expected), ("float64", "f32"));
///     }
///     other => panic!("expected a dtype mismatch, got {other:?}"),
/// }
///
/// // I/O errors keep the OS error as their `source`.
/// let e = npmap::read_npy_header(dir.path().join("missing.npy")).unwrap_err();
/// let Error::Io { action, source, .. } = &e else { panic!("{e}") };
/// assert_eq!((*action, source.kind()), ("open", std::io::ErrorKind::NotFound));
/// assert!(e.to_string().contains("missing.npy: open: "));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error (open, read, write, map, rename, ...).
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done, e.g. "open", "map", "read data".
        action: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The file does not start with `\x93NUMPY`.
    #[error("{}: not a NumPy .npy file: expected magic b'\\x93NUMPY' at byte 0, found {}{}", path.display(), ByteString(found), pickle_hint(found))]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first bytes actually found (at most 6).
        found: Vec<u8>,
    },

    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("{}: unsupported .npy format version {major}.{minor} at byte 6: expected 1.0, 2.0 or 3.0", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },

    /// The header is longer than the configured cap ([`crate::HeaderOptions::max_header_size`]).
    #[error("{}: header of {found} bytes (length field at byte 8) exceeds the limit of {limit}; raise HeaderOptions::max_header_size if the file is trusted", path.display())]
    HeaderTooLarge {
        /// The file.
        path: PathBuf,
        /// The header length the file declares.
        found: u64,
        /// The limit in force.
        limit: usize,
    },

    /// The file ends before the part named by `what` does.
    #[error("{}: file is truncated: {what} needs {expected} bytes from byte {offset}, found {found}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part: "magic string", "header length", "header", "array data".
        what: &'static str,
        /// Where that part starts.
        offset: u64,
        /// Bytes that part needs.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },

    /// The header bytes are not valid text in the version's encoding
    /// (latin-1 for 1.0/2.0 cannot fail; utf-8 for 3.0 can).
    #[error("{}: header is not valid {encoding} at byte {offset}", path.display())]
    HeaderEncoding {
        /// The file.
        path: PathBuf,
        /// "utf-8".
        encoding: &'static str,
        /// File offset of the first invalid byte.
        offset: u64,
    },

    /// The header text is not a Python literal of the form NumPy writes.
    #[error("{}: cannot parse header at byte {offset}: expected {expected}, found {found}", path.display())]
    HeaderSyntax {
        /// The file.
        path: PathBuf,
        /// File offset of the offending character.
        offset: u64,
        /// What the parser expected there.
        expected: String,
        /// What it found (a short excerpt).
        found: String,
    },

    /// The header nests brackets deeper than the configured limit.
    #[error("{}: header nests deeper than {limit} levels at byte {offset}", path.display())]
    HeaderNesting {
        /// The file.
        path: PathBuf,
        /// File offset of the bracket that went too deep.
        offset: u64,
        /// The limit in force.
        limit: usize,
    },

    /// The header is a literal but not a dict with exactly `descr`, `fortran_order`, `shape`.
    #[error("{}: header dict is wrong: expected keys 'descr', 'fortran_order', 'shape', found {found}", path.display())]
    HeaderKeys {
        /// The file.
        path: PathBuf,
        /// What was found instead, e.g. "keys ['descr', 'shape']" or "a list".
        found: String,
    },

    /// `shape` is not a tuple of non-negative integers.
    #[error("{}: shape is not valid: expected a tuple of non-negative ints, found {found}", path.display())]
    BadShape {
        /// The file.
        path: PathBuf,
        /// The value found, as text.
        found: String,
    },

    /// `fortran_order` is not `True` or `False`.
    #[error("{}: fortran_order is not valid: expected True or False, found {found}", path.display())]
    BadFortranOrder {
        /// The file.
        path: PathBuf,
        /// The value found, as text.
        found: String,
    },

    /// `descr` is not a dtype description NumPy understands.
    #[error("{}: descr is not a valid dtype descriptor: {reason}; found {found}", path.display())]
    BadDescr {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The descr (or the part of it) as text.
        found: String,
    },

    /// A dtype NumPy writes but npmap cannot represent (object arrays, long doubles).
    #[error("{}: dtype '{descr}' is not supported: {reason}", path.display())]
    UnsupportedDType {
        /// The file.
        path: PathBuf,
        /// The descr.
        descr: String,
        /// Why.
        reason: &'static str,
    },

    /// The product of the shape and the item size does not fit in memory addresses.
    #[error("{}: shape {shape:?} with item size {itemsize} overflows the address space", path.display())]
    ShapeOverflow {
        /// The file.
        path: PathBuf,
        /// The declared shape.
        shape: Vec<u64>,
        /// The dtype's item size in bytes.
        itemsize: usize,
    },

    /// The file's dtype is not the element type asked for.
    #[error("{}: dtype mismatch: file has '{found}' ({found_name}), asked for {expected}", path.display())]
    DTypeMismatch {
        /// The file.
        path: PathBuf,
        /// The file's descr, e.g. "<f8".
        found: String,
        /// NumPy's name for it, e.g. "float64".
        found_name: String,
        /// The Rust type asked for, e.g. "f32".
        expected: &'static str,
    },

    /// The file's number of dimensions is not the one asked for.
    #[error("{}: dimension mismatch: file has {found} dimensions (shape {shape:?}), asked for {expected}", path.display())]
    NdimMismatch {
        /// The file.
        path: PathBuf,
        /// The file's ndim.
        found: usize,
        /// The requested ndim.
        expected: usize,
        /// The file's shape.
        shape: Vec<usize>,
    },

    /// The data is in the other byte order and cannot be viewed in place.
    #[error("{}: byte order: file has '{descr}' (non-native byte order), a zero-copy view needs native order; use read_npy or cow() for a converted copy", path.display())]
    NonNativeByteOrder {
        /// The file.
        path: PathBuf,
        /// The file's descr.
        descr: String,
    },

    /// The data does not start at an address aligned for the element type.
    #[error("{}: data at byte {offset} is not aligned to {align} bytes for {type_name}; use cow() or read_npy for a copy", path.display())]
    Misaligned {
        /// The file.
        path: PathBuf,
        /// The data offset in the file.
        offset: u64,
        /// The alignment the element type needs.
        align: usize,
        /// The element type.
        type_name: &'static str,
    },

    /// A bool array holds a byte that is neither 0 nor 1.
    #[error("{}: invalid bool at byte {offset}: expected 0 or 1, found {value}", path.display())]
    InvalidBool {
        /// The file.
        path: PathBuf,
        /// File offset of the byte.
        offset: u64,
        /// The byte.
        value: u8,
    },

    /// Raw bytes handed to a writer do not match the dtype and shape they describe.
    #[error("{}: data length mismatch: dtype '{descr}' with shape {shape:?} needs {expected} bytes, found {found}", path.display())]
    DataLength {
        /// The file being written.
        path: PathBuf,
        /// The dtype's descr.
        descr: String,
        /// The shape.
        shape: Vec<usize>,
        /// Bytes the dtype and shape need.
        expected: u64,
        /// Bytes given.
        found: u64,
    },

    /// Rows handed to an appender do not have the file's row shape.
    #[error("{}: row shape mismatch: the file's rows have shape {expected:?}, found an array of shape {found:?}", path.display())]
    RowShape {
        /// The file.
        path: PathBuf,
        /// The shape of one row in the file.
        expected: Vec<usize>,
        /// The shape of the array given.
        found: Vec<usize>,
    },

    /// The file cannot be appended to.
    #[error("{}: cannot append: {reason}", path.display())]
    Unappendable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },

    /// Another [`crate::NpyAppender`] (in this process or another) holds the file's
    /// append lock: one appender at a time.
    #[error("{}: the file is being appended by another writer: expected to take its append lock, found it held (by an NpyAppender in this or another process); finish that appender first", path.display())]
    AppendLocked {
        /// The file.
        path: PathBuf,
    },

    /// A mutable view was asked of a read-only mapping.
    #[error("{}: the file is mapped read-only; open it with MmapMode::ReadWrite or CopyOnWrite for a mutable view", path.display())]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },

    /// The archive is not a zip file npmap can read, or a member's entry is unusable
    /// (encrypted, an unsupported compression method, sizes that contradict each other).
    #[error("{}: not a readable .npz (zip) archive: {reason}", path.display())]
    Zip {
        /// The archive (`archive.npz`) or the member (`archive.npz:name`).
        path: PathBuf,
        /// What is wrong: expected vs found.
        reason: String,
    },

    /// No member of the archive has the name asked for.
    #[error("{}: no member '{name}' (looked for '{name}.npy' and '{name}'); members are {available:?}", path.display())]
    MemberNotFound {
        /// The archive.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The names the archive holds, as [`crate::NpzReader::names`] lists them.
        available: Vec<String>,
    },

    /// A compressed member was asked to be mapped.
    #[error("{}: member is compressed ({method}, data at byte {offset} of the archive): only stored members can be mapped; use read() or cow() for a copy, or rewrite the archive with realign_npz", path.display())]
    MemberCompressed {
        /// `archive.npz:name`.
        path: PathBuf,
        /// The compression method, e.g. "deflate".
        method: String,
        /// Where the member's compressed data starts in the archive.
        offset: u64,
    },

    /// A stored member's array data is not at an offset aligned for the element type.
    #[error("{}: array data at byte {offset} of the archive is not aligned to {align} bytes for {type_name}; use read() or cow() for a copy, or rewrite the archive with realign_npz", path.display())]
    MemberMisaligned {
        /// `archive.npz:name`.
        path: PathBuf,
        /// Where the array data starts in the archive.
        offset: u64,
        /// The alignment the element type needs.
        align: usize,
        /// The element type.
        type_name: &'static str,
    },

    /// A member's size in the archive does not match what its `.npy` header needs.
    #[error("{}: the archive declares {declared} bytes for the member, its .npy header needs {expected} (header + data)", path.display())]
    MemberSize {
        /// `archive.npz:name`.
        path: PathBuf,
        /// Uncompressed size the archive declares.
        declared: u64,
        /// Size the member's `.npy` header implies.
        expected: u64,
    },

    /// A compressed member inflates to more bytes than the archive declares (a zip bomb,
    /// or a corrupt entry). Reading stopped one byte past the declared size.
    #[error("{}: member inflates past the {declared} bytes the archive declares; stopped reading (corrupt entry or zip bomb)", path.display())]
    MemberTooLarge {
        /// `archive.npz:name`.
        path: PathBuf,
        /// Uncompressed size the archive declares.
        declared: u64,
    },

    /// A member's CRC-32 does not match the one the archive declares.
    #[error("{}: CRC-32 mismatch: the archive declares {expected:#010x}, the member's {len} bytes give {found:#010x}", path.display())]
    Crc {
        /// `archive.npz:name`.
        path: PathBuf,
        /// The CRC-32 the archive declares.
        expected: u32,
        /// The CRC-32 of the data read.
        found: u32,
        /// Bytes checked.
        len: u64,
    },

    /// A field was asked of an array whose dtype is not a structured record.
    #[error("{}: dtype '{descr}' has no fields (not a structured array); asked for field '{field}'", path.display())]
    NotStructured {
        /// The file.
        path: PathBuf,
        /// The file's descr.
        descr: String,
        /// The field asked for.
        field: String,
    },

    /// No field of the record has the name (or dotted path) asked for.
    #[error("{}: no field '{field}' in the record; fields are {available:?}", path.display())]
    FieldNotFound {
        /// The file.
        path: PathBuf,
        /// The name or dotted path asked for, e.g. "inner.y".
        field: String,
        /// The names available at the level where the lookup failed.
        available: Vec<String>,
    },

    /// A field cannot be viewed in place as a strided array of the element type: its
    /// first element is not aligned, or the record size is not a multiple of the
    /// element size.
    #[error("{}: field '{field}' at byte {offset} with records of {record_size} bytes cannot be viewed as {type_name} (needs {align}-byte alignment and a record size that is a multiple of {size}); use read_field for a copy", path.display())]
    FieldMisaligned {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// File offset of the field in the first record.
        offset: u64,
        /// Bytes per record.
        record_size: usize,
        /// The alignment the element type needs.
        align: usize,
        /// The size of the element type.
        size: usize,
        /// The element type.
        type_name: &'static str,
    },

    /// The file's record dtype is not the one a [`crate::Record`] type describes.
    #[error("{}: record mismatch: file has '{found}', {type_name} describes '{expected}'", path.display())]
    RecordMismatch {
        /// The file.
        path: PathBuf,
        /// The Rust record type.
        type_name: &'static str,
        /// The descr the Rust type describes.
        expected: String,
        /// The file's descr.
        found: String,
    },

    /// A [`crate::Record`] type's field list does not describe its layout.
    #[error("{}: record type {type_name} is not a valid NumPy record: {reason}", path.display())]
    BadRecordType {
        /// The file being read or written.
        path: PathBuf,
        /// The Rust record type.
        type_name: &'static str,
        /// What is wrong (expected vs found).
        reason: String,
    },

    /// A `U` string holds a value that is not a Unicode scalar value.
    #[error("{}: invalid string at byte {offset}: expected a Unicode code point, found {value:#x}", path.display())]
    InvalidString {
        /// The file.
        path: PathBuf,
        /// File offset of the code unit.
        offset: u64,
        /// The code unit found.
        value: u32,
    },

    /// A string to be written does not fit the width asked for.
    #[error("{}: string at index {index} is {found} {unit} long, the width is {width}", path.display())]
    StringTooLong {
        /// The file being written.
        path: PathBuf,
        /// Index (in logical order) of the value.
        index: usize,
        /// The width asked for.
        width: usize,
        /// The value's length.
        found: usize,
        /// "characters" or "bytes".
        unit: &'static str,
    },
}

impl Error {
    /// The file this error is about: the path given to the call, `archive.npz:name`
    /// for a member of an archive, `<stream>` for data read from or written to a
    /// reader or writer, `<descr>` for [`DType::parse`](crate::DType::parse), and
    /// `<shape>` when [`load_raw`](crate::load_raw) is given a shape whose size
    /// overflows.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("missing.npy");
    /// let e = npmap::read_npy_header(&path).unwrap_err();
    /// assert_eq!(e.path(), path);
    /// let e = npmap::read_npy_from::<f32, npmap::ndarray::Ix1>(&b"not npy"[..]).unwrap_err();
    /// assert_eq!(e.path(), std::path::Path::new("<stream>"));
    /// ```
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::BadMagic { path, .. }
            | Error::UnsupportedVersion { path, .. }
            | Error::HeaderTooLarge { path, .. }
            | Error::Truncated { path, .. }
            | Error::HeaderEncoding { path, .. }
            | Error::HeaderSyntax { path, .. }
            | Error::HeaderNesting { path, .. }
            | Error::HeaderKeys { path, .. }
            | Error::BadShape { path, .. }
            | Error::BadFortranOrder { path, .. }
            | Error::BadDescr { path, .. }
            | Error::UnsupportedDType { path, .. }
            | Error::ShapeOverflow { path, .. }
            | Error::DTypeMismatch { path, .. }
            | Error::NdimMismatch { path, .. }
            | Error::NonNativeByteOrder { path, .. }
            | Error::Misaligned { path, .. }
            | Error::InvalidBool { path, .. }
            | Error::DataLength { path, .. }
            | Error::RowShape { path, .. }
            | Error::Unappendable { path, .. }
            | Error::AppendLocked { path }
            | Error::ReadOnly { path }
            | Error::Zip { path, .. }
            | Error::MemberNotFound { path, .. }
            | Error::MemberCompressed { path, .. }
            | Error::MemberMisaligned { path, .. }
            | Error::MemberSize { path, .. }
            | Error::MemberTooLarge { path, .. }
            | Error::Crc { path, .. }
            | Error::NotStructured { path, .. }
            | Error::FieldNotFound { path, .. }
            | Error::FieldMisaligned { path, .. }
            | Error::RecordMismatch { path, .. }
            | Error::BadRecordType { path, .. }
            | Error::InvalidString { path, .. }
            | Error::StringTooLong { path, .. } => path,
        }
    }

    /// Shorthand for an [`Error::Io`].
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

/// Renders bytes the way Python renders a `bytes` literal, for messages.
/// What a file that is not `.npy` probably is, when its first bytes say so: a Python
/// pickle (protocol 2 or later starts with `\x80`), as `joblib.dump` and
/// `np.save(allow_pickle=True)` of objects write.
fn pickle_hint(found: &[u8]) -> &'static str {
    match found.first() {
        Some(0x80) => " (this is a Python pickle, e.g. a joblib.dump file, not .npy)",
        _ => "",
    }
}

struct ByteString<'a>(&'a [u8]);

impl fmt::Display for ByteString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("b'")?;
        for &b in self.0 {
            match b {
                b'\\' => f.write_str("\\\\")?,
                b'\'' => f.write_str("\\'")?,
                0x20..=0x7e => write!(f, "{}", b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("'")
    }
}

/// The name used in errors for data that does not come from a named file.
pub(crate) const STREAM_PATH: &str = "<stream>";

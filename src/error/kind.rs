//! [`ErrorKind`]: what went wrong, apart from which file it is about; and
//! [`IoError`], the operating-system error inside [`ErrorKind::Io`].

use std::fmt;
use std::sync::Arc;

/// What went wrong: the part of an [`Error`](super::Error) that does not depend on which file it
/// is about, so tests and callers can compare it with `==`.
///
/// The enum is `#[non_exhaustive]`: a `match` needs a catch-all arm.
///
/// ```
/// use npmap::ErrorKind;
/// let e = npmap::DType::parse("<f16").unwrap_err();
/// assert!(matches!(e.kind(), ErrorKind::UnsupportedDType { .. }));
/// assert_eq!(e.path(), None);
/// ```
#[derive(Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An operating-system I/O error (open, read, write, map, rename, ...).
    #[error("{action}: {source}")]
    Io {
        /// What was being done, e.g. "open", "map", "read data".
        action: &'static str,
        /// The OS error.
        #[source]
        source: IoError,
    },

    /// The file does not start with `\x93NUMPY`.
    #[error(
        "not a NumPy .npy file: expected magic b'\\x93NUMPY' at byte 0, found {}{}",
        ByteString(found),
        pickle_hint(found)
    )]
    BadMagic {
        /// The first bytes actually found (at most 6).
        found: Vec<u8>,
    },

    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("unsupported .npy format version {major}.{minor} at byte 6: expected 1.0, 2.0 or 3.0")]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },

    /// The header is longer than the configured cap ([`crate::HeaderOptions::max_header_size`]).
    #[error(
        "header of {found} bytes (length field at byte 8) exceeds the limit of {limit}; raise HeaderOptions::max_header_size if the file is trusted"
    )]
    HeaderTooLarge {
        /// The header length the file declares.
        found: u64,
        /// The limit in force.
        limit: usize,
    },

    /// The file ends before the part named by `what` does.
    #[error("file is truncated: {what} needs {expected} bytes from byte {offset}, found {found}")]
    Truncated {
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
    #[error("header is not valid {encoding} at byte {offset}")]
    HeaderEncoding {
        /// "utf-8".
        encoding: &'static str,
        /// File offset of the first invalid byte.
        offset: u64,
    },

    /// The header text is not a Python literal of the form NumPy writes.
    #[error("cannot parse header at byte {offset}: expected {expected}, found {found}")]
    HeaderSyntax {
        /// File offset of the offending character.
        offset: u64,
        /// What the parser expected there.
        expected: String,
        /// What it found (a short excerpt).
        found: String,
    },

    /// The header nests brackets deeper than the configured limit.
    #[error("header nests deeper than {limit} levels at byte {offset}")]
    HeaderNesting {
        /// File offset of the bracket that went too deep.
        offset: u64,
        /// The limit in force.
        limit: usize,
    },

    /// The header is a literal but not a dict with exactly `descr`, `fortran_order`, `shape`.
    #[error("header dict is wrong: expected keys 'descr', 'fortran_order', 'shape', found {found}")]
    HeaderKeys {
        /// What was found instead, e.g. "keys ['descr', 'shape']" or "a list".
        found: String,
    },

    /// `shape` is not a tuple of non-negative integers.
    #[error("shape is not valid: expected a tuple of non-negative ints, found {found}")]
    BadShape {
        /// The value found, as text.
        found: String,
    },

    /// `fortran_order` is not `True` or `False`.
    #[error("fortran_order is not valid: expected True or False, found {found}")]
    BadFortranOrder {
        /// The value found, as text.
        found: String,
    },

    /// `descr` is not a dtype description NumPy understands.
    #[error("descr is not a valid dtype descriptor: {reason}; found {found}")]
    BadDescr {
        /// What is wrong.
        reason: String,
        /// The descr (or the part of it) as text.
        found: String,
    },

    /// A dtype NumPy writes but npmap cannot represent (object arrays, long doubles).
    #[error("dtype '{descr}' is not supported: {reason}")]
    UnsupportedDType {
        /// The descr.
        descr: String,
        /// Why.
        reason: &'static str,
    },

    /// The product of the shape and the item size does not fit in memory addresses.
    #[error("shape {shape:?} with item size {itemsize} overflows the address space")]
    ShapeOverflow {
        /// The declared shape.
        shape: Vec<u64>,
        /// The dtype's item size in bytes.
        itemsize: usize,
    },

    /// The file's dtype is not the element type asked for.
    #[error("dtype mismatch: file has '{found}' ({found_name}), asked for {expected}")]
    DTypeMismatch {
        /// The file's descr, e.g. "<f8".
        found: String,
        /// NumPy's name for it, e.g. "float64".
        found_name: String,
        /// The Rust type asked for, e.g. "f32".
        expected: &'static str,
    },

    /// The file's number of dimensions is not the one asked for.
    #[error(
        "dimension mismatch: file has {found} dimensions (shape {shape:?}), asked for {expected}"
    )]
    NdimMismatch {
        /// The file's ndim.
        found: usize,
        /// The requested ndim.
        expected: usize,
        /// The file's shape.
        shape: Vec<usize>,
    },

    /// The data is in the other byte order and cannot be viewed in place.
    #[error(
        "byte order: file has '{descr}' (non-native byte order), a zero-copy view needs native order; use read_npy or cow() for a converted copy"
    )]
    NonNativeByteOrder {
        /// The file's descr.
        descr: String,
    },

    /// The data does not start at an address aligned for the element type.
    #[error(
        "data at byte {offset} is not aligned to {align} bytes for {type_name}; use cow() or read_npy for a copy"
    )]
    Misaligned {
        /// The data offset in the file.
        offset: u64,
        /// The alignment the element type needs.
        align: usize,
        /// The element type.
        type_name: &'static str,
    },

    /// A bool array holds a byte that is neither 0 nor 1.
    #[error("invalid bool at byte {offset}: expected 0 or 1, found {value}")]
    InvalidBool {
        /// File offset of the byte.
        offset: u64,
        /// The byte.
        value: u8,
    },

    /// Raw bytes handed to a writer do not match the dtype and shape they describe.
    #[error(
        "data length mismatch: dtype '{descr}' with shape {shape:?} needs {expected} bytes, found {found}"
    )]
    DataLength {
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
    #[error(
        "row shape mismatch: the file's rows have shape {expected:?}, found an array of shape {found:?}"
    )]
    RowShape {
        /// The shape of one row in the file.
        expected: Vec<usize>,
        /// The shape of the array given.
        found: Vec<usize>,
    },

    /// The file cannot be appended to.
    #[error("cannot append: {reason}")]
    Unappendable {
        /// Why.
        reason: &'static str,
    },

    /// Another [`crate::NpyAppender`] (in this process or another) holds the file's
    /// append lock: one appender at a time.
    #[error(
        "the file is being appended by another writer: expected to take its append lock, found it held (by an NpyAppender in this or another process); finish that appender first"
    )]
    AppendLocked,

    /// A mutable view was asked of a read-only mapping.
    #[error(
        "the file is mapped read-only; open it with MmapMode::ReadWrite or CopyOnWrite for a mutable view"
    )]
    ReadOnly,

    /// The archive is not a zip file npmap can read, or a member's entry is unusable
    /// (encrypted, an unsupported compression method, sizes that contradict each other).
    #[error("not a readable .npz (zip) archive: {reason}")]
    Zip {
        /// What is wrong: expected vs found.
        reason: String,
    },

    /// No member of the archive has the name asked for.
    #[error("no member '{name}' (looked for '{name}.npy' and '{name}'); members are {available:?}")]
    MemberNotFound {
        /// The name asked for.
        name: String,
        /// The names the archive holds, as [`crate::NpzReader::names`] lists them.
        available: Vec<String>,
    },

    /// A compressed member was asked to be mapped.
    #[error(
        "member is compressed ({method}, data at byte {offset} of the archive): only stored members can be mapped; use read() or cow() for a copy, or rewrite the archive with realign_npz"
    )]
    MemberCompressed {
        /// The compression method, e.g. "deflate".
        method: String,
        /// Where the member's compressed data starts in the archive.
        offset: u64,
    },

    /// A stored member's array data is not at an offset aligned for the element type.
    #[error(
        "array data at byte {offset} of the archive is not aligned to {align} bytes for {type_name}; use read() or cow() for a copy, or rewrite the archive with realign_npz"
    )]
    MemberMisaligned {
        /// Where the array data starts in the archive.
        offset: u64,
        /// The alignment the element type needs.
        align: usize,
        /// The element type.
        type_name: &'static str,
    },

    /// A member's size in the archive does not match what its `.npy` header needs.
    #[error(
        "the archive declares {declared} bytes for the member, its .npy header needs {expected} (header + data)"
    )]
    MemberSize {
        /// Uncompressed size the archive declares.
        declared: u64,
        /// Size the member's `.npy` header implies.
        expected: u64,
    },

    /// A compressed member inflates to more bytes than the archive declares (a zip bomb,
    /// or a corrupt entry). Reading stopped one byte past the declared size.
    #[error(
        "member inflates past the {declared} bytes the archive declares; stopped reading (corrupt entry or zip bomb)"
    )]
    MemberTooLarge {
        /// Uncompressed size the archive declares.
        declared: u64,
    },

    /// A member's CRC-32 does not match the one the archive declares.
    #[error(
        "CRC-32 mismatch: the archive declares {expected:#010x}, the member's {len} bytes give {found:#010x}"
    )]
    Crc {
        /// The CRC-32 the archive declares.
        expected: u32,
        /// The CRC-32 of the data read.
        found: u32,
        /// Bytes checked.
        len: u64,
    },

    /// A field was asked of an array whose dtype is not a structured record.
    #[error("dtype '{descr}' has no fields (not a structured array); asked for field '{field}'")]
    NotStructured {
        /// The file's descr.
        descr: String,
        /// The field asked for.
        field: String,
    },

    /// No field of the record has the name (or dotted path) asked for.
    #[error("no field '{field}' in the record; fields are {available:?}")]
    FieldNotFound {
        /// The name or dotted path asked for, e.g. "inner.y".
        field: String,
        /// The names available at the level where the lookup failed.
        available: Vec<String>,
    },

    /// A field cannot be viewed in place as a strided array of the element type: its
    /// first element is not aligned, or the record size is not a multiple of the
    /// element size.
    #[error(
        "field '{field}' at byte {offset} with records of {record_size} bytes cannot be viewed as {type_name} (needs {align}-byte alignment and a record size that is a multiple of {size}); use read_field for a copy"
    )]
    FieldMisaligned {
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
    #[error("record mismatch: file has '{found}', {type_name} describes '{expected}'")]
    RecordMismatch {
        /// The Rust record type.
        type_name: &'static str,
        /// The descr the Rust type describes.
        expected: String,
        /// The file's descr.
        found: String,
    },

    /// A [`crate::Record`] type's field list does not describe its layout.
    #[error("record type {type_name} is not a valid NumPy record: {reason}")]
    BadRecordType {
        /// The Rust record type.
        type_name: &'static str,
        /// What is wrong (expected vs found).
        reason: String,
    },

    /// A `U` string holds a value that is not a Unicode scalar value.
    #[error("invalid string at byte {offset}: expected a Unicode code point, found {value:#x}")]
    InvalidString {
        /// File offset of the code unit.
        offset: u64,
        /// The code unit found.
        value: u32,
    },

    /// Memory for a copy could not be allocated: the allocator refused (an
    /// address-space or memory limit), or the size does not fit in memory addresses.
    /// NumPy raises `MemoryError` here; npmap returns this instead of aborting.
    #[error(
        "out of memory: cannot allocate {bytes} bytes for {what}; expected the allocation to succeed, found the allocator refused it"
    )]
    OutOfMemory {
        /// Bytes asked for (`u64::MAX` when the size itself overflows).
        bytes: u64,
        /// What the memory was for, e.g. "array data", "strings".
        what: &'static str,
    },

    /// Two members of a zip archive claim overlapping byte ranges of the file: a
    /// crafted archive (one compressed member read many times, a "zip bomb" by
    /// overlap). Zip writers, NumPy's included, never write one.
    #[error(
        "overlapping members: '{second}' starts at byte {offset}, inside the data of '{first}'; expected each member's data to end before the next one starts"
    )]
    OverlappingMembers {
        /// The member whose data range contains the start of `second`.
        first: String,
        /// The member that starts inside `first`.
        second: String,
        /// Where `second`'s entry starts in the archive.
        offset: u64,
    },

    /// A string to be written does not fit the width asked for.
    #[error("string at index {index} is {found} {unit} long, the width is {width}")]
    StringTooLong {
        /// Index (in logical order) of the value.
        index: usize,
        /// The width asked for.
        width: usize,
        /// The value's length.
        found: usize,
        /// "characters" or "bytes".
        unit: &'static str,
    },

    /// A joblib dump's pickle is malformed, or uses an opcode a dump does not need
    /// (the unpickler refuses it rather than run it).
    #[error("cannot read the pickle at byte {offset}: {reason}")]
    Pickle {
        /// File offset of the opcode (or length) at fault.
        offset: u64,
        /// What was expected and what was found.
        reason: String,
    },

    /// A file that npmap's joblib reader does not read (yet): compressed, not a
    /// pickle, or asked to be mapped in a mode that is not supported.
    #[error("not a joblib dump npmap can read: {reason}")]
    UnsupportedDump {
        /// What the file is, and what to do.
        reason: String,
    },

    /// No key (or attribute) of a dump's value has the name asked for.
    #[error("no key '{key}'; keys are {available:?}")]
    KeyNotFound {
        /// The key or dotted path asked for.
        key: String,
        /// The keys there are where the lookup failed.
        available: Vec<String>,
    },

    /// A Zarr store (or the options for writing one) that npmap cannot use: metadata
    /// zarrs rejects, a data type or chunk grid npmap does not handle, a chunk that does
    /// not decode, or a chunk shape that does not fit the array. Only with the `zarr`
    /// feature do these arise.
    #[error("Zarr: {reason}")]
    Zarr {
        /// What was expected and what was found (zarrs' own message where it has one).
        reason: String,
    },

    /// A mutable view was asked of an array of a joblib dump mapped
    /// [`ReadWrite`](crate::MmapMode::ReadWrite) or
    /// [`CopyOnWrite`](crate::MmapMode::CopyOnWrite) while clones of it
    /// ([`JoblibArray::clone`](crate::joblib::JoblibArray)) are alive: they read the
    /// same mapped bytes, so writing under them is refused.
    #[error(
        "the mapped array has {clones} live clone(s): expected it to be the only handle to its mapping for a mutable view; drop the clones first"
    )]
    ArrayShared {
        /// How many other handles share the mapping.
        clones: usize,
    },

    /// A value of a dump that is not an array was asked for as one.
    #[error("expected an array, found a {found}")]
    NotAnArray {
        /// What the value is (`int`, `dict`, `object`, ...).
        found: String,
    },

    /// A directory that is not a Dask npy-stack npmap reads: its `info` pickle is
    /// missing or malformed, or a block's shape or dtype disagrees with it.
    #[error("not a Dask npy-stack: {reason}")]
    BadStack {
        /// What was expected and what was found.
        reason: String,
    },
}

impl ErrorKind {
    /// Shorthand for an [`ErrorKind::Io`].
    pub(crate) fn io(action: &'static str, source: std::io::Error) -> Self {
        ErrorKind::Io {
            action,
            source: IoError(Arc::new(source)),
        }
    }
}

/// The operating-system error inside an [`ErrorKind::Io`]: a [`std::io::Error`]
/// (dereference it for [`kind`](std::io::Error::kind) and
/// [`raw_os_error`](std::io::Error::raw_os_error)) that compares equal to another
/// of the same kind, OS code and message, so [`ErrorKind`] can be `PartialEq`.
///
/// ```
/// use npmap::ErrorKind;
/// let e = npmap::read_npy_header("/no/such/dir/x.npy").unwrap_err();
/// let ErrorKind::Io { source, .. } = e.kind() else { unreachable!() };
/// assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
/// assert_eq!(source.raw_os_error(), Some(2));
/// ```
#[derive(Clone, Debug)]
pub struct IoError(Arc<std::io::Error>);

impl std::ops::Deref for IoError {
    type Target = std::io::Error;
    fn deref(&self) -> &std::io::Error {
        &self.0
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind()
            && self.0.raw_os_error() == other.0.raw_os_error()
            && self.0.to_string() == other.0.to_string()
    }
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Renders bytes the way Python renders a `bytes` literal, for messages.
/// What a file that is not `.npy` probably is, when its first bytes say so: a Python
/// pickle (protocol 2 or later starts with `\x80`), as `joblib.dump` and
/// `np.save(allow_pickle=True)` of objects write.
fn pickle_hint(found: &[u8]) -> &'static str {
    match found.first() {
        Some(0x80) => {
            " (this is a Python pickle, e.g. a joblib.dump file, not .npy: open it with npmap::joblib::load or read, or on the command line as FILE.joblib)"
        }
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

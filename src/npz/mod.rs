//! `.npz` archives: [`NpzReader`] reads (and, for stored members, maps) the arrays of
//! a zip archive as `np.savez` / `np.savez_compressed` write it; [`NpzWriter`] writes
//! one, each member byte-identical to `np.save`'s output; [`realign`] rewrites an
//! archive so that every member can be mapped.
//!
//! Errors about a member name it as `archive.npz:name`; byte offsets in `.npy` header
//! errors count from the start of the member's `.npy` bytes, offsets in the
//! `Member*` errors from the start of the archive.
//!
//! The submodules: `reader` ([`NpzReader`]), `member` (streams over a member's bytes,
//! stored or inflated, CRC-checked), `writer` ([`NpzWriter`]), `deflated` (compressed
//! archives deflated in blocks on all cores, and their zip container), `inflate` (the
//! parallel read of those blocks, and of single streams through `split_inflate`: one
//! deflate stream cut where its blocks start) and `realign`.
//!
//! May import: crate::error, crate::format, crate::fs, crate::cast, crate::npy.
//!
//! ```
//! # fn main() -> npmap::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("train.npz");
//! use npmap::ndarray::{Array1, Array2, Ix2};
//! use npmap::{NpzReader, NpzWriter};
//! let mut w = NpzWriter::create(&path)?;
//! w.add("X_train", &Array2::<f32>::ones((100, 8)))?;
//! w.add("y_train", &Array1::<i64>::from_iter(0..100))?;
//! w.finish()?;
//!
//! let z = NpzReader::open(&path)?;
//! assert_eq!(z.names(), ["X_train", "y_train"]);
//! let y: Array1<i64> = z.read("y_train")?;
//! assert_eq!(y[99], 99);
//! // SAFETY: nothing truncates or rewrites the archive while it is mapped.
//! let x = unsafe { z.map::<f32, Ix2>("X_train")? };
//! assert_eq!(x.view().sum(), 800.0);
//! # Ok(()) }
//! ```

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use memmap2::Mmap;
use ndarray::{Array, ArrayRef, CowArray, Dimension};
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::{Error, ErrorKind, Result};
use crate::format::element::{Element, ElementMatch, match_element};
use crate::format::header::{ARRAY_ALIGN, Header, HeaderOptions};
use crate::fs::durable::{Durability, atomic_write, create_temp_beside, sync_parent_dir};
use crate::fs::os::read_at;
use crate::npy::save::write_items_as;
use crate::npy::{MmapMode, NpyArray, NpyFile, read_array};

mod deflated;
mod inflate;
mod member;
mod reader;
mod realign;
mod sink;
mod split_inflate;
mod writer;

use member::{Inner, MemberStream, Recorder, Span};
pub use reader::NpzReader;
pub use realign::realign;
use sink::ArchiveSink;
pub use writer::NpzWriter;

/// The suffix `np.savez` gives every array member.
pub(super) const NPY_SUFFIX: &str = ".npy";

/// Bytes per step when members are copied or drained.
pub(super) const COPY_BUFFER: usize = 1 << 20;

/// Bytes of read-ahead over the compressed data of a deflated member.
pub(super) const INFLATE_BUFFER: usize = 1 << 18;

/// Room for the `.npy` header when deciding whether a member needs zip64 sizes.
pub(super) const HEADER_ROOM: u64 = 1 << 16;

/// How a member's bytes are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Method {
    Stored,
    Deflated,
    Other(String),
}

/// One entry of the archive's central directory, checked against the file length.
#[derive(Clone, Debug)]
pub(super) struct Member {
    /// The name in the archive, e.g. `X_train.npy`.
    pub(super) name: String,
    /// The name users see: without the `.npy` suffix when it has one.
    pub(super) display: String,
    pub(super) method: Method,
    pub(super) encrypted: bool,
    pub(super) compressed_size: u64,
    /// The uncompressed size the archive declares.
    pub(super) size: u64,
    pub(super) crc32: u32,
    /// Where the member's (compressed) bytes start in the archive.
    pub(super) data_start: u64,
    /// Where the member's local header starts in the archive.
    pub(super) header_start: u64,
    /// The block index npmap's compressed writer records, when there is one.
    pub(super) blocks: Option<inflate::BlockIndex>,
}

/// What [`NpzReader::member_info`] tells about one member.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// use npmap::ndarray::Array1;
/// use npmap::{MemberInfo, NpzReader, NpzWriter};
/// let mut w = NpzWriter::compressed(&path)?;
/// w.add("zeros", &Array1::<f64>::zeros(1000))?;
/// w.finish()?;
/// let info: MemberInfo = NpzReader::open(&path)?.member_info("zeros")?;
/// assert_eq!(info.name, "zeros");
/// assert!(info.compressed);
/// assert_eq!(info.size, 128 + 8000); // the member's .npy bytes
/// assert!(info.stored_size < 1000); // deflated
/// assert_eq!(info.header.shape, [1000]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberInfo {
    /// The member's name, without `.npy`.
    pub name: String,
    /// True when the member is compressed (it can be read, not mapped).
    pub compressed: bool,
    /// Bytes the member takes in the archive.
    pub stored_size: u64,
    /// Bytes of the member's `.npy` stream (header and data).
    pub size: u64,
    /// Where the array data starts in the archive file (meaningful when stored).
    pub data_offset: u64,
    /// The member's `.npy` header.
    pub header: Header,
}

/// True when a member of `data_len` bytes (plus header, plus what deflate may add to
/// incompressible data) could reach the 4 GiB limit of plain zip sizes.
pub(super) fn needs_zip64(data_len: u64) -> bool {
    data_len
        .saturating_add(data_len / 256)
        .saturating_add(HEADER_ROOM)
        >= zip::ZIP64_BYTES_THR
}

/// The name a member has in errors: `archive.npz:name`.
pub(super) fn member_path(archive: &Path, name: &str) -> PathBuf {
    PathBuf::from(format!("{}:{name}", archive.display()))
}

pub(super) fn method_name(method: &Method) -> String {
    match method {
        Method::Stored => "stored".into(),
        Method::Deflated => "deflate".into(),
        Method::Other(name) => name.clone(),
    }
}

/// A zip crate error while reading an archive.
pub(super) fn zip_error(path: &Path, e: ZipError) -> Error {
    zip_error_in(path, "read archive", e)
}

/// A zip crate error while writing an archive: an I/O error is `write archive`.
pub(super) fn zip_write_error(path: &Path, e: ZipError) -> Error {
    zip_error_in(path, "write archive", e)
}

fn zip_error_in(path: &Path, action: &'static str, e: ZipError) -> Error {
    match e {
        ZipError::Io(source) => Error::io(path, action, source),
        other => Error::at(
            path,
            ErrorKind::Zip {
                reason: other.to_string(),
            },
        ),
    }
}

//! `.npz` archives: [`NpzReader`] reads (and, for stored members, maps) the arrays of
//! a zip archive as `np.savez` / `np.savez_compressed` write it; [`NpzWriter`] writes
//! one, each member byte-identical to `np.save`'s output; [`realign`] rewrites an
//! archive so that every member can be mapped.
//!
//! Errors about a member name it as `archive.npz:name`; byte offsets in `.npy` header
//! errors count from the start of the member's `.npy` bytes, offsets in the
//! `Member*` errors from the start of the archive.
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

use crate::error::{Error, Result};
use crate::format::element::{Element, ElementMatch, match_element};
use crate::format::header::{ARRAY_ALIGN, Header, HeaderOptions};
use crate::fs::durable::{Durability, atomic_write, create_temp_beside, sync_parent_dir};
use crate::fs::os::read_at;
use crate::npy::save::write_to;
use crate::npy::{MmapMode, NpyArray, NpyFile, dimension, dtype_mismatch, read_array};

/// The suffix `np.savez` gives every array member.
const NPY_SUFFIX: &str = ".npy";

/// Bytes per step when members are copied or drained.
const COPY_BUFFER: usize = 1 << 20;

/// Bytes of read-ahead over the compressed data of a deflated member.
const INFLATE_BUFFER: usize = 1 << 18;

/// Room for the `.npy` header when deciding whether a member needs zip64 sizes.
const HEADER_ROOM: u64 = 1 << 16;

/// How a member's bytes are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Method {
    Stored,
    Deflated,
    Other(String),
}

/// One entry of the archive's central directory, checked against the file length.
#[derive(Clone, Debug)]
struct Member {
    /// The name in the archive, e.g. `X_train.npy`.
    name: String,
    /// The name users see: without the `.npy` suffix when it has one.
    display: String,
    method: Method,
    encrypted: bool,
    compressed_size: u64,
    /// The uncompressed size the archive declares.
    size: u64,
    crc32: u32,
    /// Where the member's (compressed) bytes start in the archive.
    data_start: u64,
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

/// A `.npz` archive opened for reading.
///
/// Opening reads the zip central directory only; each member is read, mapped or
/// borrowed on demand. [`read`](NpzReader::read) copies any member (stored or
/// deflated, any byte order) and checks its CRC-32; [`map`](NpzReader::map) maps a
/// stored, aligned member without copying, as `np.load(path, mmap_mode='r')` cannot.
/// Archives that NumPy wrote are seldom aligned: [`realign`] fixes that in one pass.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # let mut w = npmap::NpzWriter::compressed(&path)?;
/// # w.add("a", &npmap::ndarray::arr1(&[1.5f64, 2.5]))?;
/// # w.finish()?;
/// let z = npmap::NpzReader::open(&path)?;
/// let a: npmap::ndarray::Array1<f64> = z.read("a")?;
/// assert_eq!(a.to_vec(), [1.5, 2.5]);
/// # Ok(()) }
/// ```
pub struct NpzReader {
    path: PathBuf,
    file: File,
    members: Vec<Member>,
    options: HeaderOptions,
    /// A read-only mapping of the whole archive, made by the first borrowing `cow`.
    whole: OnceLock<Mmap>,
}

impl std::fmt::Debug for NpzReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzReader")
            .field("path", &self.path)
            .field("members", &self.names())
            .finish_non_exhaustive()
    }
}

impl NpzReader {
    /// Opens `path` and reads its central directory, checking that every member's
    /// bytes lie inside the file.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let e = npmap::NpzReader::open(dir.path().join("missing.npz")).unwrap_err();
    /// assert!(matches!(e, npmap::Error::Io { action: "open", .. }));
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Io`] when the file cannot be opened, its size read (`action` `"stat"`)
    ///   or its central directory read (`"read archive"`).
    /// - [`Error::Zip`] when the file is not a zip archive npmap can read.
    /// - [`Error::Truncated`] (`what` `"archive member data"`, path `archive.npz:name`)
    ///   when a member's bytes run past the end of the file.
    pub fn open(path: impl AsRef<Path>) -> Result<NpzReader> {
        NpzReader::open_with(path, &HeaderOptions::default())
    }

    /// [`NpzReader::open`] with explicit limits for the members' `.npy` headers.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut w = npmap::NpzWriter::create(&path)?;
    /// # w.add("a", &npmap::ndarray::arr1(&[1u8]))?;
    /// # w.finish()?;
    /// let options = npmap::HeaderOptions::new().max_header_size(100_000);
    /// let z = npmap::NpzReader::open_with(&path, &options)?;
    /// assert_eq!(z.header("a")?.shape, [1]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpzReader::open`]; `options` are applied later, when a member's header is
    /// read (a header over the limit is then an [`Error::HeaderTooLarge`]).
    pub fn open_with(path: impl AsRef<Path>, options: &HeaderOptions) -> Result<NpzReader> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
        let file_len = file
            .metadata()
            .map_err(|e| Error::io(path, "stat", e))?
            .len();
        let mut archive = ZipArchive::new(&file).map_err(|e| zip_error(path, e))?;
        let mut members = Vec::with_capacity(archive.len());
        for index in 0..archive.len() {
            let entry = archive
                .by_index_raw(index)
                .map_err(|e| zip_error(path, e))?;
            let name = entry.name().map_err(|e| zip_error(path, e))?.into_owned();
            let display = name.strip_suffix(NPY_SUFFIX).unwrap_or(&name).to_string();
            let method = match entry.compression() {
                CompressionMethod::Stored => Method::Stored,
                CompressionMethod::Deflated => Method::Deflated,
                other => Method::Other(other.to_string()),
            };
            let member = Member {
                method,
                encrypted: entry.encrypted(),
                compressed_size: entry.compressed_size(),
                size: entry.size(),
                crc32: entry.crc32(),
                data_start: entry.data_start().ok_or_else(|| Error::Zip {
                    path: path.to_path_buf(),
                    reason: format!("member {name:?}: the start of its data is unknown"),
                })?,
                name,
                display,
            };
            let available = file_len.saturating_sub(member.data_start);
            if available < member.compressed_size {
                return Err(Error::Truncated {
                    path: member_path(path, &member.display),
                    what: "archive member data",
                    offset: member.data_start,
                    expected: member.compressed_size,
                    found: available,
                });
            }
            members.push(member);
        }
        Ok(NpzReader {
            path: path.to_path_buf(),
            file,
            members,
            options: options.clone(),
            whole: OnceLock::new(),
        })
    }

    /// The archive's path.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npmap::NpzWriter::create(&path)?.finish()?;
    /// assert_eq!(npmap::NpzReader::open(&path)?.path(), path);
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The members' names in archive order: without the `.npy` suffix for array
    /// members (as `np.load(path).files`), in full for any other member.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("b", &npmap::ndarray::arr1(&[1u8]))?;
    /// w.add("a", &npmap::ndarray::arr1(&[2u8]))?;
    /// w.finish()?;
    /// assert_eq!(npmap::NpzReader::open(&path)?.names(), ["b", "a"]);
    /// # Ok(()) }
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.display.clone()).collect()
    }

    /// The `.npy` header of member `name`, read without reading its data. Also checks
    /// that the size the archive declares for the member is what the header needs.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut w = npmap::NpzWriter::compressed(&path)?;
    /// # w.add("X", &npmap::ndarray::Array2::<f32>::zeros((3, 4)))?;
    /// # w.finish()?;
    /// let h = npmap::NpzReader::open(&path)?.header("X")?;
    /// assert_eq!((h.dtype.descr(), h.shape), ("<f4".to_string(), vec![3, 4]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::MemberNotFound`] when the archive has neither `name.npy` nor `name`.
    /// - [`Error::Zip`] when the member is encrypted, uses a compression method other
    ///   than stored or deflate, or is stored with contradicting sizes.
    /// - The errors of [`Header::read_from`] for a member that is not a well-formed
    ///   `.npy` (offsets count from the start of the member), and [`Error::Io`] when
    ///   reading the archive fails.
    /// - [`Error::MemberSize`] when the size the archive declares for the member is not
    ///   what its header needs, and [`Error::MemberTooLarge`] when a compressed header
    ///   inflates past that size.
    pub fn header(&self, name: &str) -> Result<Header> {
        let member = self.member(name)?;
        self.member_header(member, &member_path(&self.path, &member.display))
    }

    /// Reads member `name` into memory: stored or deflated, any byte order, the
    /// member's memory order kept. The whole member is checked against its CRC-32 and
    /// the sizes the archive declares; a member that inflates past them is refused
    /// after reading one byte too many, so memory stays bounded.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let a = npmap::ndarray::arr2(&[[1i32, 2], [3, 4]]);
    /// let mut w = npmap::NpzWriter::compressed(&path)?;
    /// w.add("a", &a)?;
    /// w.finish()?;
    /// let z = npmap::NpzReader::open(&path)?;
    /// assert_eq!(z.read::<i32, npmap::ndarray::Ix2>("a")?, a);
    /// assert!(matches!(z.read::<f32, npmap::ndarray::Ix2>("a"), Err(npmap::Error::DTypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::MemberNotFound`] when the archive has neither `name.npy` nor `name`.
    /// - [`Error::Zip`] when the member is encrypted, uses a compression method other
    ///   than stored or deflate, or is stored with contradicting sizes.
    /// - The errors of [`Header::read_from`] for a member that is not a well-formed
    ///   `.npy` (offsets count from the start of the member), and [`Error::Io`] when
    ///   reading the archive fails.
    /// - [`Error::MemberSize`] when the size the archive declares for the member is not
    ///   what its header needs, and [`Error::MemberTooLarge`] when a compressed header
    ///   inflates past that size.
    /// - [`Error::DTypeMismatch`] when the member's dtype is not `A`'s (in either byte
    ///   order), [`Error::NdimMismatch`] when `D` has a fixed number of dimensions and
    ///   the member has another, [`Error::InvalidBool`] for a `bool` byte other than 0
    ///   or 1.
    /// - [`Error::Truncated`] when the member ends before its data does,
    ///   [`Error::MemberTooLarge`] when it inflates past its declared size, and
    ///   [`Error::Crc`] when its CRC-32 is not the one the archive declares.
    pub fn read<A: Element, D: Dimension>(&self, name: &str) -> Result<Array<A, D>> {
        let member = self.member(name)?;
        self.read_member(member)
    }

    /// Maps stored member `name` as an array of `A` with `D` dimensions, without
    /// copying. The member must be stored (not compressed), in native byte order, and
    /// its data must start at an offset aligned for `A` (archives from
    /// [`NpzWriter::create`] and [`realign`] always are). The CRC-32 is not checked:
    /// that would read every byte.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("X", &npmap::ndarray::Array2::<f64>::from_elem((1000, 10), 0.25))?;
    /// w.finish()?;
    /// let z = npmap::NpzReader::open(&path)?;
    /// // SAFETY: nothing truncates or rewrites the archive while it is mapped.
    /// let x = unsafe { z.map::<f64, npmap::ndarray::Ix2>("X")? };
    /// assert_eq!(x.view().sum(), 2500.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// The archive must not be truncated or rewritten in place while the array lives:
    /// see the [contract on `NpyFile`](NpyFile#safety).
    ///
    /// # Errors
    ///
    /// - The errors of [`NpzReader::header`] for a missing or malformed member.
    /// - [`Error::MemberCompressed`] when the member is deflated: use
    ///   [`read`](NpzReader::read) or [`cow`](NpzReader::cow), or rewrite the archive
    ///   with [`realign`].
    /// - [`Error::DTypeMismatch`] when the member's dtype is not `A`'s,
    ///   [`Error::NonNativeByteOrder`] when it is in the other byte order,
    ///   [`Error::NdimMismatch`] when `D` has a fixed number of dimensions and the
    ///   member has another.
    /// - [`Error::MemberMisaligned`] when the array data does not start at an offset
    ///   of the archive aligned for `A`.
    /// - [`Error::InvalidBool`] for a `bool` byte other than 0 or 1, and [`Error::Io`]
    ///   (`action` `"map"`) when the mapping fails.
    pub unsafe fn map<A: Element, D: Dimension>(&self, name: &str) -> Result<NpyArray<A, D>> {
        let member = self.member(name)?;
        let path = member_path(&self.path, &member.display);
        let header = self.member_header(member, &path)?;
        self.check_mappable::<A, D>(member, &path, &header)?;
        // SAFETY: `open` checked that the archive holds `compressed_size` bytes from
        // `data_start`; `check_mappable` that the member is stored, so that size is the
        // declared size, which `member_header` checked is header plus data. The caller
        // keeps the archive from being truncated while mapped.
        let file = unsafe {
            NpyFile::map_embedded(
                &self.file,
                path,
                header,
                member.data_start,
                MmapMode::ReadOnly,
            )
        }?;
        file.into_array()
    }

    /// Member `name` as `A`: borrowed from a read-only mapping of the archive when the
    /// member is stored, aligned and in native byte order (no CRC check, O(1) apart
    /// from validating `bool` bytes), otherwise read and checked as [`read`](Self::read) does.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let (stored, packed) = (dir.path().join("s.npz"), dir.path().join("c.npz"));
    /// use npmap::ndarray::{arr1, Ix1};
    /// use npmap::{NpzReader, NpzWriter};
    /// let a = arr1(&[1u16, 2, 3]);
    /// for mut w in [NpzWriter::create(&stored)?, NpzWriter::compressed(&packed)?] {
    ///     w.add("a", &a)?;
    ///     w.finish()?;
    /// }
    /// let (s, c) = (NpzReader::open(&stored)?, NpzReader::open(&packed)?);
    /// // SAFETY: nothing truncates or rewrites the archives while they are mapped.
    /// let (vs, vc) = unsafe { (s.cow::<u16, Ix1>("a")?, c.cow::<u16, Ix1>("a")?) };
    /// assert!(vs.is_view() && vc.is_owned());
    /// assert_eq!((vs.to_vec(), vc.to_vec()), (vec![1, 2, 3], vec![1, 2, 3]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// A borrowed result points into the archive's pages: the archive must not be
    /// truncated or rewritten in place while it lives (the
    /// [contract on `NpyFile`](NpyFile#safety)).
    ///
    /// # Errors
    ///
    /// The errors of [`NpzReader::read`] (a copied member is checked as `read` checks
    /// it; a borrowed one has no CRC check and so no [`Error::Crc`]), and
    /// [`Error::Io`] (`action` `"map"`) when mapping the archive fails.
    pub unsafe fn cow<A: Element, D: Dimension>(&self, name: &str) -> Result<CowArray<'_, A, D>> {
        let member = self.member(name)?;
        let path = member_path(&self.path, &member.display);
        let header = self.member_header(member, &path)?;
        let offset = member.data_start.saturating_add(header.data_offset);
        let in_place = member.method == Method::Stored
            && match_element::<A>(&header.dtype) == ElementMatch::Native
            && offset % std::mem::align_of::<A>() as u64 == 0;
        if !in_place {
            return self.read_member(member).map(CowArray::from);
        }
        // SAFETY: forwarded to the caller.
        let whole = unsafe { self.whole_archive() }?;
        let range = usize::try_from(offset).ok().and_then(|start| {
            Some(start..start.checked_add(usize::try_from(header.data_len()).ok()?)?)
        });
        let bytes = range
            .and_then(|r| whole.get(r))
            .ok_or_else(|| Error::Truncated {
                path: path.clone(),
                what: "array data",
                offset,
                expected: header.data_len(),
                found: (whole.len() as u64).saturating_sub(offset),
            })?;
        crate::npy::bytes::cow(&header, bytes, crate::npy::bytes::origin(&header, &path))
    }

    /// How member `name` is stored: compression, sizes, and where its array data
    /// starts in the archive (which decides whether [`map`](NpzReader::map) can
    /// view it in place). As in every method taking a member name, `name` designates
    /// the member `name.npy` first, then `name` itself.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("x", &npmap::ndarray::arr1(&[1.0f64, 2.0]))?;
    /// w.finish()?;
    /// let info = npmap::NpzReader::open(&path)?.member_info("x")?;
    /// assert!(!info.compressed);
    /// assert_eq!(info.data_offset % 64, 0);
    /// assert_eq!(info.header.shape, [2]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`NpzReader::header`].
    pub fn member_info(&self, name: &str) -> Result<MemberInfo> {
        let member = self.member(name)?;
        let header = self.member_header(member, &member_path(&self.path, &member.display))?;
        Ok(MemberInfo {
            name: member.display.clone(),
            compressed: member.method != Method::Stored,
            stored_size: member.compressed_size,
            size: member.size,
            data_offset: member.data_start + header.data_offset,
            header,
        })
    }

    /// The member that `name` designates: `name.npy` first, then `name` itself.
    fn member(&self, name: &str) -> Result<&Member> {
        let with_suffix = format!("{name}{NPY_SUFFIX}");
        self.members
            .iter()
            .find(|m| m.name == with_suffix)
            .or_else(|| self.members.iter().find(|m| m.name == name))
            .ok_or_else(|| Error::MemberNotFound {
                path: self.path.clone(),
                name: name.to_string(),
                available: self.names(),
            })
    }

    /// Parses the member's `.npy` header and checks it against the declared size.
    fn member_header(&self, member: &Member, path: &Path) -> Result<Header> {
        let mut stream = self.stream(member, path)?;
        let header = Header::read_from(&mut stream, path, None, &self.options)
            .map_err(|e| stream.overrun(member, path).unwrap_or(e))?;
        let expected = header.data_offset + header.data_len();
        if expected != member.size {
            return Err(Error::MemberSize {
                path: path.to_path_buf(),
                declared: member.size,
                expected,
            });
        }
        Ok(header)
    }

    fn read_member<A: Element, D: Dimension>(&self, member: &Member) -> Result<Array<A, D>> {
        let path = member_path(&self.path, &member.display);
        // The sizes agree before anything is allocated.
        self.member_header(member, &path)?;
        let mut stream = self.stream(member, &path)?;
        // A stored member's declared size is backed by bytes of the file (checked at
        // open), so it can be allocated at once; a deflated member's is only a claim,
        // so its data is read in bounded steps and memory follows what inflates.
        let known_len = (member.method == Method::Stored).then_some(member.size);
        match read_array::<A, D>(&mut stream, &path, known_len, &self.options) {
            Ok(array) => {
                stream.finish(member, &path)?;
                Ok(array)
            }
            Err(e) => Err(stream.overrun(member, &path).unwrap_or(e)),
        }
    }

    /// Refuses members that cannot be viewed in place as `A` with `D` dimensions.
    fn check_mappable<A: Element, D: Dimension>(
        &self,
        member: &Member,
        path: &Path,
        header: &Header,
    ) -> Result<()> {
        if member.method != Method::Stored {
            return Err(Error::MemberCompressed {
                path: path.to_path_buf(),
                method: method_name(&member.method),
                offset: member.data_start,
            });
        }
        match match_element::<A>(&header.dtype) {
            ElementMatch::Native => {}
            ElementMatch::Swapped => {
                return Err(Error::NonNativeByteOrder {
                    path: path.to_path_buf(),
                    descr: header.dtype.descr(),
                });
            }
            ElementMatch::Different => return Err(dtype_mismatch::<A>(path, &header.dtype)),
        }
        dimension::<D>(path, &header.shape)?;
        let offset = member.data_start + header.data_offset;
        let align = std::mem::align_of::<A>();
        if header.data_len() > 0 && !offset.is_multiple_of(align as u64) {
            return Err(Error::MemberMisaligned {
                path: path.to_path_buf(),
                offset,
                align,
                type_name: A::NAME,
            });
        }
        Ok(())
    }

    /// The read-only mapping of the whole archive, made once.
    ///
    /// # Safety
    /// The archive must not be truncated while `self` lives.
    unsafe fn whole_archive(&self) -> Result<&Mmap> {
        if let Some(map) = self.whole.get() {
            return Ok(map);
        }
        // SAFETY: the caller keeps the archive from being truncated while mapped.
        let map = unsafe { crate::npy::map_whole_read_only(&self.file, &self.path) }?;
        Ok(self.whole.get_or_init(|| map))
    }

    /// The member's uncompressed bytes, at most one past the declared size, with their
    /// count and CRC-32 kept.
    fn stream(&self, member: &Member, path: &Path) -> Result<MemberStream<'_>> {
        if member.encrypted {
            return Err(Error::Zip {
                path: path.to_path_buf(),
                reason: "member is encrypted: expected a plain member".into(),
            });
        }
        let raw = Span {
            file: &self.file,
            pos: member.data_start,
            end: member.data_start + member.compressed_size,
        };
        let inner = match &member.method {
            Method::Stored if member.compressed_size != member.size => {
                return Err(Error::Zip {
                    path: path.to_path_buf(),
                    reason: format!(
                        "stored member declares {} bytes uncompressed but {} stored",
                        member.size, member.compressed_size
                    ),
                });
            }
            Method::Stored => Inner::Stored(raw),
            Method::Deflated => Inner::Deflated(Box::new(flate2::bufread::DeflateDecoder::new(
                BufReader::with_capacity(INFLATE_BUFFER, raw),
            ))),
            Method::Other(method) => {
                return Err(Error::Zip {
                    path: path.to_path_buf(),
                    reason: format!(
                        "compression method {method} is not supported: expected stored or deflated"
                    ),
                });
            }
        };
        Ok(MemberStream {
            inner: inner.take(member.size.saturating_add(1)),
            crc: crc32fast::Hasher::new(),
            count: 0,
        })
    }

    /// Copies one member into `zip` stored and with its array data 64-byte aligned.
    fn copy_aligned<W: Write + io::Seek>(
        &self,
        member: &Member,
        zip: &mut ZipWriter<W>,
        dst: &Path,
    ) -> Result<()> {
        let path = member_path(&self.path, &member.display);
        let out_path = member_path(dst, &member.display);
        let mut stream = self.stream(member, &path)?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .unix_permissions(0o644)
            .with_alignment(ARRAY_ALIGN as u16)
            .large_file(needs_zip64(member.size));
        let mut buffer = vec![0u8; COPY_BUFFER];
        let data_len = if member.name.ends_with(NPY_SUFFIX) {
            let mut recorder = Recorder {
                inner: &mut stream,
                bytes: Vec::new(),
            };
            let header = Header::read_from(&mut recorder, &path, None, &self.options);
            let recorded = recorder.bytes;
            let header = header.map_err(|e| stream.overrun(member, &path).unwrap_or(e))?;
            let expected = header.data_offset + header.data_len();
            if expected != member.size {
                return Err(Error::MemberSize {
                    path,
                    declared: member.size,
                    expected,
                });
            }
            // NumPy pads headers to 64 bytes; older writers used 16: re-encode those.
            let head = if header.data_offset % ARRAY_ALIGN as u64 == 0 {
                recorded
            } else {
                Header::encode(&header.dtype, header.fortran_order, &header.shape)
            };
            zip.start_file(&member.name, options)
                .map_err(|e| zip_error(&out_path, e))?;
            zip.write_all(&head)
                .map_err(|e| Error::io(&out_path, "write", e))?;
            header.data_len()
        } else {
            zip.start_file(&member.name, options)
                .map_err(|e| zip_error(&out_path, e))?;
            member.size
        };
        let mut left = data_len;
        while left > 0 {
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let got = match stream.read(&mut buffer[..want]) {
                Ok(0) => {
                    return Err(Error::Truncated {
                        path,
                        what: "archive member data",
                        offset: member.data_start,
                        expected: member.size,
                        found: stream.count,
                    });
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(&path, "read member", e)),
            };
            zip.write_all(&buffer[..got])
                .map_err(|e| Error::io(&out_path, "write", e))?;
            left -= got as u64;
        }
        stream.finish(member, &path)
    }
}

/// True when a member of `data_len` bytes (plus header, plus what deflate may add to
/// incompressible data) could reach the 4 GiB limit of plain zip sizes.
fn needs_zip64(data_len: u64) -> bool {
    data_len
        .saturating_add(data_len / 256)
        .saturating_add(HEADER_ROOM)
        >= zip::ZIP64_BYTES_THR
}

/// The name a member has in errors: `archive.npz:name`.
fn member_path(archive: &Path, name: &str) -> PathBuf {
    PathBuf::from(format!("{}:{name}", archive.display()))
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Stored => "stored".into(),
        Method::Deflated => "deflate".into(),
        Method::Other(name) => name.clone(),
    }
}

fn zip_error(path: &Path, e: ZipError) -> Error {
    match e {
        ZipError::Io(source) => Error::io(path, "read archive", source),
        other => Error::Zip {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

/// A byte range of a file, read with positional reads so that `&NpzReader` can serve
/// several readers (and threads) at once.
struct Span<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Span<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let len = buf.len().min(left);
        if len == 0 {
            return Ok(0);
        }
        let got = read_at(self.file, &mut buf[..len], self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

/// A member's bytes as stored, or inflated.
enum Inner<'a> {
    Stored(Span<'a>),
    Deflated(Box<flate2::bufread::DeflateDecoder<BufReader<Span<'a>>>>),
}

impl Read for Inner<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Inner::Stored(span) => span.read(buf),
            Inner::Deflated(decoder) => decoder.read(buf),
        }
    }
}

/// A member's uncompressed bytes, limited to one byte past the declared size, with a
/// running count and CRC-32.
struct MemberStream<'a> {
    inner: io::Take<Inner<'a>>,
    crc: crc32fast::Hasher,
    count: u64,
}

impl Read for MemberStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

impl MemberStream<'_> {
    /// The zip-bomb error, when more bytes came out than the archive declares.
    fn overrun(&self, member: &Member, path: &Path) -> Option<Error> {
        (self.count > member.size).then(|| Error::MemberTooLarge {
            path: path.to_path_buf(),
            declared: member.size,
        })
    }

    /// Reads what is left (at most one byte past the declared size) and checks the
    /// member's size and CRC-32.
    fn finish(mut self, member: &Member, path: &Path) -> Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            match self.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(path, "read member", e)),
            }
        }
        if let Some(e) = self.overrun(member, path) {
            return Err(e);
        }
        if self.count < member.size {
            return Err(Error::Truncated {
                path: path.to_path_buf(),
                what: "archive member data",
                offset: member.data_start,
                expected: member.size,
                found: self.count,
            });
        }
        let found = self.crc.finalize();
        if found != member.crc32 {
            return Err(Error::Crc {
                path: path.to_path_buf(),
                expected: member.crc32,
                found,
                len: self.count,
            });
        }
        Ok(())
    }
}

/// Keeps a copy of the bytes read through it (a member's `.npy` header, bounded by
/// the header size cap).
struct Recorder<'a, R> {
    inner: &'a mut R,
    bytes: Vec<u8>,
}

impl<R: Read> Read for Recorder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Writes a `.npz` archive, atomically: members go to a temporary file beside the
/// target, which [`finish`](NpzWriter::finish) syncs and renames into place. Dropping
/// the writer without finishing removes the temporary file and leaves the target alone.
///
/// Each member is `name.npy`, byte-identical to what `np.save` writes for the array.
/// [`create`](NpzWriter::create) stores members uncompressed with their array data on
/// a 64-byte boundary of the archive (padding goes in the zip local header's extra
/// field), so [`NpzReader::map`] maps every member without copying and NumPy reads the
/// archive as usual; [`compressed`](NpzWriter::compressed) deflates them as
/// `np.savez_compressed` does.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("train.npz");
/// let mut w = npmap::NpzWriter::create(&path)?;
/// w.add("X_train", &npmap::ndarray::Array2::<f32>::zeros((10, 3)))?;
/// w.finish()?;
/// assert_eq!(npmap::NpzReader::open(&path)?.names(), ["X_train"]);
/// # Ok(()) }
/// ```
pub struct NpzWriter {
    path: PathBuf,
    temp_path: PathBuf,
    /// `None` once finished.
    zip: Option<ZipWriter<BufWriter<File>>>,
    method: CompressionMethod,
}

impl std::fmt::Debug for NpzWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzWriter")
            .field("path", &self.path)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl NpzWriter {
    /// Starts an archive of stored (uncompressed), 64-byte-aligned members, as
    /// `np.savez` but mappable.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("a", &npmap::ndarray::arr1(&[1.0f64]))?;
    /// w.finish()?;
    /// let z = npmap::NpzReader::open(&path)?;
    /// // SAFETY: nothing truncates or rewrites the archive while it is mapped.
    /// assert_eq!(unsafe { z.map::<f64, npmap::ndarray::Ix1>("a")? }.view()[0], 1.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] (`action` `"create temporary file"`) when the temporary file beside
    /// `path` cannot be created (a missing or read-only directory).
    pub fn create(path: impl AsRef<Path>) -> Result<NpzWriter> {
        NpzWriter::start(path.as_ref(), CompressionMethod::Stored)
    }

    /// Starts an archive of deflated members, as `np.savez_compressed`.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::compressed(&path)?;
    /// w.add("zeros", &npmap::ndarray::Array1::<f64>::zeros(100_000))?;
    /// w.finish()?;
    /// assert!(std::fs::metadata(&path).unwrap().len() < 10_000);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpzWriter::create`].
    pub fn compressed(path: impl AsRef<Path>) -> Result<NpzWriter> {
        NpzWriter::start(path.as_ref(), CompressionMethod::Deflated)
    }

    fn start(path: &Path, method: CompressionMethod) -> Result<NpzWriter> {
        let (temp_path, file) = create_temp_beside(path)?;
        Ok(NpzWriter {
            path: path.to_path_buf(),
            temp_path,
            zip: Some(ZipWriter::new(BufWriter::with_capacity(COPY_BUFFER, file))),
            method,
        })
    }

    /// Adds `array` as member `name.npy` (read back as `name`). Any layout: C- and
    /// F-contiguous arrays are written as they lie, others streamed in C order.
    /// A name used twice is refused.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let a = npmap::ndarray::arr2(&[[1u8, 2], [3, 4]]);
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("a", &a)?;
    /// w.add("a_t", &a.t())?;
    /// assert!(matches!(w.add("a", &a), Err(npmap::Error::Zip { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Zip`] when the archive already has a member `name.npy`.
    /// - [`Error::Io`] when writing the member to the temporary file fails.
    pub fn add<A, D>(&mut self, name: &str, array: &ArrayRef<A, D>) -> Result<()>
    where
        A: Element,
        D: Dimension,
    {
        let path = member_path(&self.path, name);
        let Some(zip) = self.zip.as_mut() else {
            unreachable!("only `finish` and `drop` take the zip writer");
        };
        let data_len = (array.len() as u64).saturating_mul(std::mem::size_of::<A>() as u64);
        let alignment = if self.method == CompressionMethod::Stored {
            ARRAY_ALIGN as u16
        } else {
            1
        };
        let options = SimpleFileOptions::default()
            .compression_method(self.method)
            .unix_permissions(0o644)
            .with_alignment(alignment)
            .large_file(needs_zip64(data_len));
        zip.start_file(format!("{name}{NPY_SUFFIX}"), options)
            .map_err(|e| zip_error(&path, e))?;
        write_to(zip, array, &path)
    }

    /// Writes the central directory, syncs the file and renames it into place.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("a", &npmap::ndarray::arr1(&[1i8]))?;
    /// assert!(!path.exists());
    /// w.finish()?;
    /// assert!(path.exists());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Zip`] when the central directory cannot be written, and
    /// [`Error::Io`] when the file cannot be synced (`action` `"sync"`) or renamed over
    /// the target (`"rename temporary file"`). The temporary file is then removed and the
    /// target is left as it was.
    pub fn finish(mut self) -> Result<()> {
        let Some(zip) = self.zip.take() else {
            unreachable!("only `finish` and `drop` take the zip writer");
        };
        let temp = self.temp_path.clone();
        let result = zip
            .finish()
            .map_err(|e| zip_error(&temp, e))
            .and_then(|buffered| {
                buffered
                    .into_inner()
                    .map_err(|e| Error::io(&temp, "write", e.into_error()))
            })
            .and_then(|file| file.sync_all().map_err(|e| Error::io(&temp, "sync", e)))
            .and_then(|()| {
                std::fs::rename(&temp, &self.path)
                    .map_err(|e| Error::io(&self.path, "rename temporary file", e))
            });
        match result {
            Ok(()) => {
                sync_parent_dir(&self.path);
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                Err(e)
            }
        }
    }
}

impl Drop for NpzWriter {
    fn drop(&mut self) {
        if let Some(zip) = self.zip.take() {
            drop(zip);
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// Rewrites archive `src` (as NumPy writes it, stored or deflated) to `dst` with every
/// member stored and its array data on a 64-byte boundary, so that
/// [`NpzReader::map`] maps each one. Members are streamed through a bounded buffer,
/// CRC-checked on the way; array members keep their bytes (a header padded to fewer
/// than 64 bytes is re-encoded as `np.save` writes it today), other members are copied
/// as they are. `dst` is written atomically and may be `src`.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let (src, dst) = (dir.path().join("c.npz"), dir.path().join("a.npz"));
/// use npmap::ndarray::{Array2, Ix2};
/// use npmap::{Error, NpzReader, NpzWriter};
/// let mut w = NpzWriter::compressed(&src)?;
/// w.add("X", &Array2::<f64>::eye(3))?;
/// w.finish()?;
/// let packed = NpzReader::open(&src)?;
/// // SAFETY: nothing is mapped: a deflated member is refused.
/// let refused = unsafe { packed.map::<f64, Ix2>("X") };
/// assert!(matches!(refused, Err(Error::MemberCompressed { .. })));
///
/// npmap::npz::realign(&src, &dst)?;
/// let z = NpzReader::open(&dst)?;
/// // SAFETY: nothing truncates or rewrites the archive while it is mapped.
/// let x = unsafe { z.map::<f64, Ix2>("X")? };
/// assert_eq!(x.view().diag().sum(), 3.0);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - The errors of [`NpzReader::open`] for `src`.
/// - For each member, the errors of reading it: [`Error::Zip`] (encrypted, unsupported
///   compression), the [`Header::read_from`] errors and [`Error::MemberSize`] for an
///   array member with a bad header, [`Error::Truncated`], [`Error::MemberTooLarge`]
///   and [`Error::Crc`] for bytes that are not what the archive declares.
/// - [`Error::Io`] or [`Error::Zip`] when writing `dst` fails (its temporary file
///   cannot be created, written, synced or renamed into place); `dst` is then left as
///   it was.
pub fn realign(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<()> {
    let reader = NpzReader::open(src)?;
    let dst = dst.as_ref();
    atomic_write(dst, Durability::Synced, |file| {
        let mut zip = ZipWriter::new(BufWriter::with_capacity(COPY_BUFFER, file));
        for member in &reader.members {
            reader.copy_aligned(member, &mut zip, dst)?;
        }
        let buffered = zip.finish().map_err(|e| zip_error(dst, e))?;
        buffered
            .into_inner()
            .map_err(|e| Error::io(dst, "write", e.into_error()))?;
        Ok(())
    })
}

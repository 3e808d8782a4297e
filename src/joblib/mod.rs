//! joblib dumps: the arrays (and the plain values around them) of files written by
//! `joblib.dump`, read without running pickle.
//!
//! A dump is a pickle in which every NumPy array is replaced by joblib's
//! `NumpyArrayWrapper`, with the array's raw bytes written right after it, outside
//! the pickle. [`load`] maps the file, so those arrays are zero-copy views, as
//! `joblib.load(path, mmap_mode='r')` gives — or, with [`MmapMode::ReadWrite`]
//! (`'r+'`) and [`MmapMode::CopyOnWrite`] (`'c'`), writable through
//! [`Dump::array_mut`] and [`JoblibArray::view_mut`]; [`read`] reads the file into
//! memory.
//! Either way the pickle is interpreted by a restricted unpickler: NumPy dtypes and
//! arrays, joblib's wrapper and plain Python values are understood, every other class
//! is kept as an opaque [`Value::Object`] (its class name, arguments and state) that
//! is never constructed, so a hostile file cannot run code.
//!
//! [`JoblibWriter`] writes a dict of arrays and plain values that joblib maps.
//!
//! Compressed dumps — zlib (joblib's default), gzip, bz2, xz, lzma (the legacy
//! "alone" format) and lz4 (frame format), and joblib 0.9's `ZF` files — are
//! decompressed into memory whatever the mode, as joblib does: nothing of them is
//! mapped ([`Dump::compression`] names the compressor). Decompression is bounded
//! against bombs: memory is taken in steps, fallibly ([`ErrorKind::OutOfMemory`]),
//! and a deflate or lz4 stream that expands past what its format can is refused. The
//! bz2, xz/lzma and lz4 decoders (pure Rust) are behind the default cargo features
//! `joblib-bz2`, `joblib-xz` and `joblib-lz4`; a dump whose decoder is left out is
//! refused with the feature's name. The dumps of joblib before 0.10, whose arrays are
//! `.npy` files beside the pickle, read (and map, in every mode) those files; a `ZF`
//! dump's arrays are `ZF` files beside it, read into memory.
//!
//! May import: crate::error, crate::format, crate::fs, crate::cast, crate::npy.
//!
//! ```
//! # fn main() -> npmap::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("d.joblib");
//! // joblib.dump({'n': 3, 'name': 'run'}, path)
//! # std::fs::write(&path, b"\x80\x04}\x94(\x8c\x01n\x94K\x03\x8c\x04name\x94\x8c\x03run\x94u.").unwrap();
//! use npmap::joblib::Value;
//! let d = npmap::joblib::read(&path)?;
//! assert_eq!(d.root().keys(), ["n", "name"]);
//! assert_eq!(d["n"], Value::Int(3));
//! assert_eq!(d.get("name")?.as_str(), Some("run"));
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::ops::Index;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::fs::os::advise_huge_pages;
use crate::npy::{MmapMode, map_range_writable, map_whole_read_only};

mod array;
mod compressed;
mod machine;
mod numpy;
mod pickle;
mod value;
mod wrapper;
mod writer;

pub use array::JoblibArray;
pub use value::{Node, NodeId, Value};
pub use writer::JoblibWriter;
pub(crate) use writer::Ops;

use array::Buffer;

/// A joblib dump, parsed: a tree of [`Value`]s whose arrays are views into the file
/// (after [`load`]) or into memory (after [`read`]).
///
/// See the [module](self) for an example.
pub struct Dump {
    /// `None` for a dump parsed from bytes.
    path: Option<PathBuf>,
    /// The compressor's name, for a compressed dump.
    compression: Option<&'static str>,
    values: Vec<Value>,
    root: NodeId,
}

impl std::fmt::Debug for Dump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dump")
            .field("path", &self.path)
            .field("compression", &self.compression)
            .field("root", &self.root())
            .finish()
    }
}

/// Maps the dump at `path` and reads its pickle: arrays stored in the file are
/// zero-copy views of the mapping (when aligned: joblib 1.2 and later align them to
/// 16 bytes), as `joblib.load(path, mmap_mode=mode)` gives.
///
/// | `mode` | joblib | arrays | writes through [`JoblibArray::view_mut`] |
/// |---|---|---|---|
/// | [`ReadOnly`](MmapMode::ReadOnly) | `'r'` | views of one read-only mapping of the file | refused ([`ErrorKind::ReadOnly`]) |
/// | [`ReadWrite`](MmapMode::ReadWrite) | `'r+'` | each array its own shared mapping; the file is opened for writing | reach the file, seen by every other mapping of it ([`Dump::flush`] makes them durable) |
/// | [`CopyOnWrite`](MmapMode::CopyOnWrite) | `'c'` | each array its own private mapping | stay in this process; the file never changes |
///
/// A compressed dump is decompressed into memory whatever the mode, as joblib does
/// (it ignores `mmap_mode` for them): its arrays are in memory, and writable there.
/// So are arrays the pickle holds itself (protocol 2's text).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("d.joblib");
/// use npmap::MmapMode;
/// use npmap::ndarray::{Ix1, arr1};
/// // joblib.dump({'y': np.array([1.5, 2.5])}, path)
/// # let mut b = b"\x80\x04}\x94\x8c\x01y\x94\x8c\x13joblib.numpy_pickle\x94\x8c\x11NumpyArrayWrapper\x94\x93\x94)\x81\x94}\x94(\x8c\x08subclass\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94\x8c\x05shape\x94K\x02\x85\x94\x8c\x05order\x94\x8c\x01C\x94\x8c\x05dtype\x94h\x08\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x8c\nallow_mmap\x94\x88\x8c\x1bnumpy_array_alignment_bytes\x94K\x10ub".to_vec();
/// # let pad = 16 - (b.len() + 1) % 16; b.push(pad as u8); b.extend(vec![0xff; pad]);
/// # b.extend(1.5f64.to_le_bytes()); b.extend(2.5f64.to_le_bytes()); b.extend(b"s.");
/// # std::fs::write(&path, &b).unwrap();
/// // SAFETY: nothing truncates or rewrites the dump while it is mapped.
/// let d = unsafe { npmap::joblib::load(&path, MmapMode::ReadOnly)? };
/// let y = d["y"].array()?;
/// assert!(y.is_mapped());
/// assert_eq!(y.view::<f64, Ix1>()?, arr1(&[1.5, 2.5]));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::Io`] when the file cannot be opened (for writing too, with
///   [`MmapMode::ReadWrite`]) or mapped.
/// - [`ErrorKind::UnsupportedDump`] for a dump that is not a pickle, or whose
///   compressed stream is corrupt or needs a decoder left out of this build (the
///   message names the cargo feature).
/// - [`ErrorKind::Pickle`] (with the byte offset) when the pickle is malformed or
///   uses an opcode a dump does not need; the errors of [`crate::Header`] checks
///   ([`ErrorKind::BadDescr`], [`ErrorKind::ShapeOverflow`], ...) for an array the
///   dump describes.
/// - [`ErrorKind::OutOfMemory`] when a compressed dump's decompressed bytes cannot be
///   allocated (a bomb stops here).
///
/// # Safety
/// See the [contract on `NpyFile`](crate::NpyFile#safety): the views are valid while
/// no process truncates or rewrites the file (with [`MmapMode::ReadWrite`], no
/// other writer changes the arrays' bytes under a view either).
pub unsafe fn load(path: impl AsRef<Path>, mode: MmapMode) -> Result<Dump> {
    // SAFETY: forwarded from the caller.
    unsafe { load_with(path, mode, &ReadOptions::new()) }
}

/// [`load`] with options: a limit on what a compressed dump may decompress to.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("d.joblib");
/// # std::fs::write(&path, b"x^k`\xf1f\xd7\x03\x00\x03\xb2\x01\x05").unwrap();
/// use npmap::MmapMode;
/// use npmap::joblib::ReadOptions;
/// let options = ReadOptions::new().max_decompressed(1 << 30);
/// // SAFETY: nothing truncates or rewrites the dump while it is mapped.
/// let d = unsafe { npmap::joblib::load_with(&path, MmapMode::ReadOnly, &options)? };
/// assert_eq!(d.root().value(), &npmap::joblib::Value::Int(7));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`load`], and [`ErrorKind::UnsupportedDump`] when a compressed dump decompresses
/// past [`ReadOptions::max_decompressed`].
///
/// # Safety
/// As [`load`].
pub unsafe fn load_with(
    path: impl AsRef<Path>,
    mode: MmapMode,
    options: &ReadOptions,
) -> Result<Dump> {
    let path = path.as_ref();
    let mut dump = Dump::parse(Some(path), map_sibling(path)?, map_sibling, options)?;
    if mode != MmapMode::ReadOnly {
        // SAFETY: forwarded from `load_with`, whose contract covers every file of the dump.
        unsafe { dump.remap(mode) }?;
    }
    Ok(dump)
}

/// Reads the dump at `path` into memory and reads its pickle: arrays are copies, as
/// plain `joblib.load(path)` gives. No mapping, so no contract to keep.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("d.joblib");
/// // joblib.dump(np.float32(0.5), path): a NumPy scalar is a 0-d array.
/// # std::fs::write(&path, b"\x80\x04\x8c\x16numpy._core.multiarray\x8c\x06scalar\x93\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02f4\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x04\x00\x00\x00?\x86R.").unwrap();
/// let d = npmap::joblib::read(&path)?;
/// let x = d.root().array()?.to_owned::<f32, npmap::ndarray::Ix0>()?;
/// assert_eq!(x.into_scalar(), 0.5);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`load`], with [`ErrorKind::Io`] for a failed read and [`ErrorKind::OutOfMemory`]
/// when the copy (or a compressed dump's decompressed bytes) cannot be allocated.
pub fn read(path: impl AsRef<Path>) -> Result<Dump> {
    read_with(path, &ReadOptions::new())
}

/// [`read`] with options: a limit on what a compressed dump may decompress to.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("d.joblib");
/// // joblib.dump(7, path, compress=('zlib', 3))
/// # std::fs::write(&path, b"x^k`\xf1f\xd7\x03\x00\x03\xb2\x01\x05").unwrap();
/// use npmap::joblib::ReadOptions;
/// let d = npmap::joblib::read_with(&path, &ReadOptions::new().max_decompressed(1 << 20))?;
/// assert_eq!(d.root().value(), &npmap::joblib::Value::Int(7));
/// let e = npmap::joblib::read_with(&path, &ReadOptions::new().max_decompressed(4)).unwrap_err();
/// assert!(e.to_string().contains("decompresses past 4 bytes"));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`read`], and [`ErrorKind::UnsupportedDump`] when a compressed dump decompresses
/// past [`ReadOptions::max_decompressed`].
pub fn read_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Dump> {
    let path = path.as_ref();
    Dump::parse(Some(path), read_sibling(path)?, read_sibling, options)
}

/// Parses a dump already in memory (an HTTP body, a blob from a database): as
/// [`read`], with errors that carry no path. A dump of joblib before 0.10, whose arrays
/// are files beside it, cannot be read this way.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// let d = npmap::joblib::from_bytes(b"\x80\x04K\x07.".to_vec())?; // joblib.dump(7, f)
/// assert_eq!(d.root().value(), &npmap::joblib::Value::Int(7));
/// assert_eq!(d.path(), None);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`read`].
pub fn from_bytes(bytes: Vec<u8>) -> Result<Dump> {
    from_bytes_with(bytes, &ReadOptions::new())
}

/// [`from_bytes`] with options: for bytes from an untrusted source, a limit on what a
/// compressed dump may decompress to.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// use npmap::joblib::ReadOptions;
/// let options = ReadOptions::new().max_decompressed(64 << 20);
/// let d = npmap::joblib::from_bytes_with(b"\x80\x04K\x07.".to_vec(), &options)?;
/// assert_eq!(d.root().value(), &npmap::joblib::Value::Int(7));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`read_with`].
pub fn from_bytes_with(bytes: Vec<u8>, options: &ReadOptions) -> Result<Dump> {
    Dump::parse(None, Buffer::Owned(bytes), no_siblings, options)
}

/// Options of [`read_with`], [`load_with`] and [`from_bytes_with`].
///
/// ```
/// let options = npmap::joblib::ReadOptions::new().max_decompressed(1 << 30);
/// assert_eq!(options.max_decompressed_bytes(), Some(1 << 30));
/// assert_eq!(npmap::joblib::ReadOptions::new().max_decompressed_bytes(), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    max_decompressed: Option<u64>,
}

impl ReadOptions {
    /// No limit but memory, as joblib.
    ///
    /// See [`ReadOptions`] for an example.
    pub fn new() -> ReadOptions {
        ReadOptions::default()
    }

    /// The most bytes a compressed dump (or a compressed file beside one) may
    /// decompress to; past it the read stops with [`ErrorKind::UnsupportedDump`].
    /// Without it only memory bounds a stream (bz2, xz and lzma can expand a
    /// thousandfold and more; deflate and lz4 are bounded by their formats).
    ///
    /// See [`ReadOptions`] for an example.
    pub fn max_decompressed(mut self, bytes: u64) -> ReadOptions {
        self.max_decompressed = Some(bytes);
        self
    }

    /// The limit set by [`max_decompressed`](Self::max_decompressed), if any.
    ///
    /// See [`ReadOptions`] for an example.
    pub fn max_decompressed_bytes(&self) -> Option<u64> {
        self.max_decompressed
    }
}

fn no_siblings(path: &Path) -> Result<Buffer> {
    Err(Error::from(ErrorKind::UnsupportedDump {
        reason: format!(
            "a dump read from bytes names the file {} beside it (a dump of joblib before 0.10); read it from its file",
            path.display()
        ),
    }))
}

/// The file at `path`, mapped read-only: only [`load`] opens files this way, whose
/// caller keeps them from being truncated while mapped (the dump and, for a dump of
/// joblib before 0.10, the `.npy` files beside it).
fn map_sibling(path: &Path) -> Result<Buffer> {
    let file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
    // SAFETY: forwarded from `load`, the only caller (directly or through the
    // dump's `Siblings`), whose contract covers every file of the dump.
    let map = unsafe { map_whole_read_only(&file, path) }?;
    Ok(Buffer::Mapped {
        map,
        path: path.to_path_buf(),
    })
}

/// The file at `path`, read into memory.
pub(crate) fn read_sibling(path: &Path) -> Result<Buffer> {
    let mut file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    let mut bytes = Vec::new();
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    bytes
        .try_reserve_exact(len)
        .map_err(|_| crate::cast::out_of_memory::<u8>(len, "dump").in_file(path))?;
    advise_huge_pages(&mut bytes);
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, "read", e))?;
    Ok(Buffer::Owned(bytes))
}

/// `error`, about the file at `path` when there is one.
fn label(path: Option<&Path>, error: Error) -> Error {
    match path {
        Some(path) => error.in_file(path),
        None => error,
    }
}

/// Parses a dump's bytes (decompressing them first when compressed); errors carry no
/// path. `dir` is where the sibling files of old dumps are.
fn parse_buffer(
    buffer: Buffer,
    dir: Option<PathBuf>,
    open: fn(&Path) -> Result<Buffer>,
    options: &ReadOptions,
) -> Result<(Vec<Value>, NodeId, Option<&'static str>)> {
    // Decompressed once, as joblib does: what a stream inflates to is read as a
    // pickle, never decompressed again (a stream that inflates to itself stops here).
    // The files beside a compressed dump are read, not mapped (and a dump from bytes
    // still has none).
    let kind = compressed::Compressor::detect(buffer.bytes());
    let (buffer, open) = match kind {
        Some(kind) => {
            let decompressed =
                compressed::decompress(buffer.bytes(), kind, options.max_decompressed)?;
            let open = match dir {
                Some(_) => read_sibling as fn(&Path) -> Result<Buffer>,
                None => open,
            };
            (Buffer::Owned(decompressed), open)
        }
        None => (buffer, open),
    };
    let bytes = buffer.bytes();
    // Protocol 2+ starts with PROTO (0x80); the text protocols of old dumps with one of
    // the opcodes a pickled value can start with.
    let pickle_start = |b: &u8| *b == 0x80 || b"(}])clNIJKLFGSTUVX".contains(b);
    if !bytes.first().is_some_and(pickle_start) {
        let what = if bytes.starts_with(b"\x93NUMPY") {
            "a .npy file, not a joblib dump: open it with NpyFile::open or read_npy"
        } else {
            "not a pickle: a joblib dump starts with byte 0x80 (pickle protocol 2 or later)"
        };
        return Err(Error::from(ErrorKind::UnsupportedDump {
            reason: what.into(),
        }));
    }
    let siblings = machine::Siblings {
        dir,
        open,
        max_decompressed: options.max_decompressed,
    };
    let parsed = pickle::parse(&Arc::new(buffer), 0, siblings)?;
    Ok((
        parsed.values,
        parsed.root,
        kind.map(compressed::Compressor::name),
    ))
}

impl Dump {
    fn parse(
        path: Option<&Path>,
        buffer: Buffer,
        open: fn(&Path) -> Result<Buffer>,
        options: &ReadOptions,
    ) -> Result<Dump> {
        let dir = path.and_then(Path::parent).map(Path::to_path_buf);
        let (values, root, compression) =
            parse_buffer(buffer, dir, open, options).map_err(|e| label(path, e))?;
        Ok(Dump {
            path: path.map(Path::to_path_buf),
            compression,
            values,
            root,
        })
    }

    /// The file; `None` for a dump parsed from bytes ([`from_bytes`]).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04K\x07.").unwrap();
    /// assert_eq!(npmap::joblib::read(&path)?.path(), Some(path.as_path()));
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The array at the dotted path `path`, to write through
    /// [`JoblibArray::view_mut`] (see there for where the writes go, and an example).
    /// The borrow of the dump keeps every other view of it from living meanwhile.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// use npmap::ndarray::{Ix1, arr1};
    /// use npmap::{ErrorKind, MmapMode};
    /// let mut w = npmap::joblib::JoblibWriter::create(&path)?;
    /// w.add("counts", &arr1(&[1u32, 2, 3]))?;
    /// w.add_value("epochs", &npmap::joblib::Value::Int(3))?;
    /// w.finish()?;
    /// // SAFETY: nothing else truncates or writes the dump while it is mapped.
    /// let mut d = unsafe { npmap::joblib::load(&path, MmapMode::ReadWrite)? };
    /// d.array_mut("counts")?.view_mut::<u32, Ix1>()?.map_inplace(|c| *c *= 10);
    /// assert!(matches!(d.array_mut("epochs").unwrap_err().kind(), ErrorKind::NotAnArray { .. }));
    /// drop(d);
    /// let d = npmap::joblib::read(&path)?;
    /// assert_eq!(d["counts"].array()?.view::<u32, Ix1>()?, arr1(&[10, 20, 30]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Dump::get`], and [`ErrorKind::NotAnArray`] when the value there is not an
    /// array.
    pub fn array_mut(&mut self, path: &str) -> Result<&mut JoblibArray> {
        let node = self.get(path)?;
        node.array()?;
        let id = node.id();
        let found = self.values[id.0].kind_name();
        match &mut self.values[id.0] {
            Value::Array(a) => Ok(a),
            _ => Err(label(
                self.path.as_deref(),
                Error::from(ErrorKind::NotAnArray {
                    found: found.to_string(),
                }),
            )),
        }
    }

    /// Writes the changes made to arrays mapped [`MmapMode::ReadWrite`] to the file
    /// and waits until they are on disk (`msync`); nothing for the other modes. The
    /// changes reach the file (and every other mapping of it) without it: this makes
    /// them survive a crash of the machine.
    ///
    /// See [`JoblibArray::view_mut`] for an example.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (`action` `"flush"`) when the operating system fails to write
    /// the pages back.
    pub fn flush(&self) -> Result<()> {
        for value in &self.values {
            if let Value::Array(a) = value {
                a.flush().map_err(|e| {
                    let path = self.path.clone().unwrap_or_default();
                    Error::io(path, "flush", e)
                })?;
            }
        }
        Ok(())
    }

    /// Maps every array of a read-only mapping again, alone, in `mode`
    /// (`ReadWrite` or `CopyOnWrite`), from its file (the dump, or for a dump of
    /// joblib before 0.10 the `.npy` beside it).
    ///
    /// # Safety
    /// The contract of [`load`]: no file of the dump is truncated while mapped.
    unsafe fn remap(&mut self, mode: MmapMode) -> Result<()> {
        let mut files: HashMap<PathBuf, File> = HashMap::new();
        for value in &mut self.values {
            let Value::Array(a) = value else { continue };
            let Some(at) = a.mapped_range() else { continue };
            let path = at.path.to_path_buf();
            let len = at.range.len();
            let offset = at.range.start as u64;
            if len == 0 {
                a.remap(None, mode);
                continue;
            }
            if !files.contains_key(&path) {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(mode == MmapMode::ReadWrite)
                    .open(&path)
                    .map_err(|e| Error::io(&path, "open for writing", e))?;
                files.insert(path.clone(), file);
            }
            let file = &files[&path];
            // SAFETY: forwarded from the caller; the range is where the array's
            // bytes were found in a mapping of the same file.
            let map = unsafe { map_range_writable(file, &path, offset, len, mode) }?;
            a.remap(map, mode);
        }
        Ok(())
    }

    /// The compressor of a compressed dump, as joblib names it (`"zlib"`, `"gzip"`,
    /// `"bz2"`, `"xz"`, `"lzma"`, `"lz4"`, or `"zlib (joblib 0.9 and earlier)"`);
    /// `None` for an uncompressed dump. A compressed dump is read into memory
    /// whatever the mode it is loaded in, so none of its arrays is mapped.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// // joblib.dump(7, f, compress=('zlib', 3))
    /// let d = npmap::joblib::from_bytes(b"x^k`\xf1f\xd7\x03\x00\x03\xb2\x01\x05".to_vec())?;
    /// assert_eq!(d.compression(), Some("zlib"));
    /// assert_eq!(d.root().value(), &npmap::joblib::Value::Int(7));
    /// # Ok(()) }
    /// ```
    pub fn compression(&self) -> Option<&'static str> {
        self.compression
    }

    /// `error`, about this dump's file when it has one.
    pub(crate) fn label(&self, error: Error) -> Error {
        label(self.path(), error)
    }

    /// The object that was dumped.
    ///
    /// See the [module](self) for an example.
    pub fn root(&self) -> Node<'_> {
        self.node(self.root)
    }

    /// The value with id `id`.
    ///
    /// See [`Node::id`] for an example.
    ///
    /// # Panics
    ///
    /// When `id` is not of this dump.
    pub fn node(&self, id: NodeId) -> Node<'_> {
        assert!(id.0 < self.values.len(), "node {id:?} is not in this dump");
        Node { dump: self, id }
    }

    pub(crate) fn value(&self, id: NodeId) -> &Value {
        &self.values[id.0]
    }

    /// The value at a dotted path of keys, attributes and list indices from the root:
    /// `"X_train"`, `"model.coef_"`, `"folds.0"`.
    ///
    /// See the [module](self) for an example.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyNotFound`] at the first step that is not there, naming the keys
    /// there are.
    pub fn get(&self, path: &str) -> Result<Node<'_>> {
        self.root().path(path)
    }

    /// Every array reachable from the root, with its dotted path, in the order the
    /// dump holds them (each shared array once).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04K\x07.").unwrap();
    /// assert!(npmap::joblib::read(&path)?.arrays().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn arrays(&self) -> Vec<(String, &JoblibArray)> {
        let mut seen = vec![false; self.values.len()];
        let mut out = Vec::new();
        let mut todo = vec![(String::new(), self.root)];
        while let Some((path, id)) = todo.pop() {
            if std::mem::replace(&mut seen[id.0], true) {
                continue;
            }
            let join = |k: &str| {
                if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                }
            };
            let node = self.node(id);
            let mut children: Vec<(String, NodeId)> = match node.value() {
                Value::Array(a) => {
                    out.push((path.clone(), a));
                    Vec::new()
                }
                Value::Dict(_) => node
                    .entries()
                    .iter()
                    .filter_map(|(k, v)| Some((join(k.as_str()?), v.id())))
                    .collect(),
                // As `Node::attr` does: a state that is itself an object is not
                // looked into.
                Value::Object { state: Some(s), .. }
                    if !matches!(self.value(*s), Value::Object { .. }) =>
                {
                    vec![(path.clone(), *s)]
                }
                Value::List(_) | Value::Tuple(_) => node
                    .items()
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (join(&i.to_string()), n.id()))
                    .collect(),
                _ => Vec::new(),
            };
            children.reverse();
            todo.extend(children);
        }
        out
    }
}

impl Index<&str> for Dump {
    type Output = Value;

    /// The value at the dotted path `key` ([`Dump::get`]).
    ///
    /// # Panics
    ///
    /// When there is none, with the message of [`Dump::get`]'s error.
    fn index(&self, key: &str) -> &Value {
        match self.get(key) {
            Ok(node) => node.value(),
            Err(e) => panic!("{e}"),
        }
    }
}

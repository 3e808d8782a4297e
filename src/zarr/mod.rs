//! Zarr v2 and v3 arrays (the `zarr` feature): [`save`] writes an array as a Zarr
//! store that zarr-python, Dask and xarray read; [`open`] reads a store (npmap's or
//! zarr-python's) as a [`ZarrArray`], whole ([`ZarrArray::read`],
//! [`ZarrArray::read_into`]), to a `.npy` a row of chunks at a time
//! ([`ZarrArray::save_npy`]), or chunk by chunk into statistics
//! ([`ZarrArray::par_moments`], [`ZarrArray::par_moments_axis`]) that agree with the
//! same statistics over the `.npy`. [`open_mapped`] maps uncompressed chunk files
//! instead of reading them.
//!
//! Metadata, chunk keys and codecs are the [`zarrs`](https://docs.rs/zarrs) crate's
//! (0.23, which needs Rust 1.91); npmap adds the atomic store write, the mapping to its
//! dtypes and the chunk-parallel, deterministic reductions.
//!
//! What is supported: one array per store (at the store's root), regular chunk grids,
//! C order, the numeric dtypes (`bool`, `i1`-`i8`, `u1`-`u8`, `f2`, `f4`, `f8`, `c8`,
//! `c16`), missing chunks (they read as the fill value), and the codecs zarrs
//! decodes with npmap's feature set: v3 `bytes` (either endianness), `zstd`, `gzip`,
//! `crc32c`; v2 compressors `zstd` and `gzip`, no filters. zarr-python's default
//! arrays (v3: `bytes` + `zstd` level 0; v2: compressor `zstd` level 0, `.` separator)
//! read. Sharded arrays, Fortran-order v2 arrays, groups and string dtypes are not
//! handled here yet.
//!
//! May import: crate::error, crate::format, crate::fs, crate::cast, crate::npy, crate::compute.
//!
//! ```
//! # fn main() -> npmap::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("X.zarr");
//! use npmap::ndarray::{Array2, Axis};
//! use npmap::zarr::{Compression, ZarrOptions};
//! use npmap::ParStats;
//!
//! let x = Array2::from_shape_fn((1000, 10), |(i, j)| (i * 10 + j) as f64);
//! let options = ZarrOptions::new()
//!     .compression(Compression::Zstd(0))
//!     .dimension_names(["sample", "feature"]);
//! npmap::zarr::save(&path, &x, &[300, 10], &options)?;
//!
//! let z = npmap::zarr::open(&path)?;
//! assert_eq!((z.shape(), z.chunk_shape()), (&[1000, 10][..], &[300, 10][..]));
//! let back: Array2<f64> = z.read()?;
//! assert_eq!(back, x);
//! let cols = z.par_moments_axis(Axis(0))?;
//! let expected = x.par_moments_axis(Axis(0));
//! assert!((cols[[3]].mean() - expected[3].mean()).abs() < 1e-12 * expected[3].mean());
//! # Ok(()) }
//! ```

use std::path::Path;

use ndarray::{ArrayRef, Dimension};

use crate::error::Result;

mod read;
mod types;
mod write;

pub use read::ZarrArray;
pub use types::ZarrElement;

/// Which Zarr format [`save`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZarrFormat {
    /// Zarr v2: `.zarray` + `.zattrs`, chunk keys `0.0` (the `.` separator, as
    /// zarr-python writes v2).
    V2,
    /// Zarr v3: `zarr.json`, chunk keys `c/0/0` (zarr-python's default).
    V3,
}

impl ZarrFormat {
    /// The format's number: 2 or 3.
    ///
    /// ```
    /// assert_eq!(npmap::zarr::ZarrFormat::V3.number(), 3);
    /// ```
    pub fn number(self) -> u8 {
        match self {
            ZarrFormat::V2 => 2,
            ZarrFormat::V3 => 3,
        }
    }
}

/// How [`save`] compresses each chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Raw chunks: each chunk file is the chunk's elements, little-endian, C order
    /// (fastest to write and read; the default).
    None,
    /// Zstandard at this level (0 is zstd's default level, 3, as zarr-python's default
    /// `level 0`), no checksum.
    Zstd(i32),
    /// gzip at this level (0-9).
    Gzip(u32),
}

/// Options for [`save`]. The default: Zarr v3, uncompressed, no dimension names,
/// an existing store is refused.
///
/// ```
/// use npmap::zarr::{Compression, ZarrFormat, ZarrOptions};
/// let o = ZarrOptions::new().format(ZarrFormat::V2).compression(Compression::Gzip(5));
/// assert_eq!((o.format, o.compression, o.overwrite), (ZarrFormat::V2, Compression::Gzip(5), false));
/// assert_eq!(ZarrOptions::default().format, ZarrFormat::V3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZarrOptions {
    /// Zarr v3 (the default) or v2.
    pub format: ZarrFormat,
    /// How chunks are compressed ([`Compression::None`] by default).
    pub compression: Compression,
    /// One name per axis, so that xarray names the dimensions: v3's
    /// `dimension_names`, v2's `_ARRAY_DIMENSIONS` attribute (xarray's convention).
    pub dimension_names: Option<Vec<String>>,
    /// Replace a Zarr store already at the path (atomically where Linux allows).
    /// Off by default: an existing path is an error.
    pub overwrite: bool,
}

impl Default for ZarrOptions {
    fn default() -> Self {
        ZarrOptions {
            format: ZarrFormat::V3,
            compression: Compression::None,
            dimension_names: None,
            overwrite: false,
        }
    }
}

impl ZarrOptions {
    /// The default options.
    ///
    /// ```
    /// assert_eq!(npmap::zarr::ZarrOptions::new(), Default::default());
    /// ```
    pub fn new() -> ZarrOptions {
        ZarrOptions::default()
    }

    /// Sets the Zarr format.
    ///
    /// ```
    /// use npmap::zarr::{ZarrFormat, ZarrOptions};
    /// assert_eq!(ZarrOptions::new().format(ZarrFormat::V2).format, ZarrFormat::V2);
    /// ```
    pub fn format(mut self, format: ZarrFormat) -> ZarrOptions {
        self.format = format;
        self
    }

    /// Sets the chunk compression.
    ///
    /// ```
    /// use npmap::zarr::{Compression, ZarrOptions};
    /// assert_eq!(ZarrOptions::new().compression(Compression::Zstd(3)).compression, Compression::Zstd(3));
    /// ```
    pub fn compression(mut self, compression: Compression) -> ZarrOptions {
        self.compression = compression;
        self
    }

    /// Names the axes (one name per axis of the array saved).
    ///
    /// ```
    /// let o = npmap::zarr::ZarrOptions::new().dimension_names(["time", "x"]);
    /// assert_eq!(o.dimension_names, Some(vec!["time".to_string(), "x".to_string()]));
    /// ```
    pub fn dimension_names<I, S>(mut self, names: I) -> ZarrOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dimension_names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Sets whether an existing store at the path is replaced.
    ///
    /// ```
    /// assert!(npmap::zarr::ZarrOptions::new().overwrite(true).overwrite);
    /// ```
    pub fn overwrite(mut self, overwrite: bool) -> ZarrOptions {
        self.overwrite = overwrite;
        self
    }
}

/// Writes `array` as a Zarr store at `path` with chunks of `chunk_shape` (one length
/// per axis, each at least 1; edge chunks are padded with the fill value, 0, as Zarr
/// requires; a 0-d array has `chunk_shape` `&[]`).
///
/// The store is built in a temporary directory beside `path` — chunks encoded and
/// written in parallel on rayon's pool, every file synced, the metadata (`zarr.json`,
/// or `.zarray` and `.zattrs`) written last — and then renamed onto `path`, so no
/// reader ever finds a half-written store. Chunks that hold only the fill value are
/// not written (as zarr-python does by default): they read back as the fill value.
/// The temporary directory is `.NAME.npmap-K.tmpdir`; one left by a killed save is
/// removed by the next save to the same path.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("y.zarr");
/// use npmap::ndarray::Array1;
/// use npmap::zarr::{ZarrFormat, ZarrOptions};
/// let y = Array1::from_iter(0..10i64);
/// npmap::zarr::save(&path, &y, &[4], &ZarrOptions::new().format(ZarrFormat::V2))?;
/// assert!(path.join(".zarray").is_file() && path.join("2").is_file());
/// // Saving again needs `overwrite`.
/// assert!(npmap::zarr::save(&path, &y, &[4], &ZarrOptions::new()).is_err());
/// npmap::zarr::save(&path, &y, &[5], &ZarrOptions::new().overwrite(true))?;
/// assert!(path.join("zarr.json").is_file() && !path.join(".zarray").exists());
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::Zarr`](crate::ErrorKind::Zarr) when `chunk_shape` does not have one
///   length of at least 1 per axis, the dimension names are not one per axis, the
///   array's dtype is not one Zarr arrays of npmap's hold, or zarrs refuses the
///   metadata or a chunk.
/// - [`ErrorKind::Io`](crate::ErrorKind::Io) when `path` exists (without `overwrite`,
///   or when it is not a Zarr store), or a directory or file cannot be created,
///   written, synced or renamed; the error names the path and the operation.
pub fn save<A, D>(
    path: impl AsRef<Path>,
    array: &ArrayRef<A, D>,
    chunk_shape: &[usize],
    options: &ZarrOptions,
) -> Result<()>
where
    A: ZarrElement,
    D: Dimension,
{
    write::save(path.as_ref(), array, chunk_shape, options)
}

/// Opens the Zarr array (v2 or v3) at `path`: reads and checks its metadata; chunks
/// are read when asked for.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("m.zarr");
/// use npmap::ndarray::array;
/// use npmap::zarr::ZarrFormat;
/// npmap::zarr::save(&path, &array![[1u8, 2], [3, 4]], &[1, 2], &Default::default())?;
/// let z = npmap::zarr::open(&path)?;
/// assert_eq!((z.format(), z.dtype().descr()), (ZarrFormat::V3, "|u1".to_string()));
/// assert_eq!(z.par_moments()?.sum(), 10.0);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::Zarr`](crate::ErrorKind::Zarr) when there is no array metadata at
///   `path`, zarrs rejects it, or the array uses what npmap does not handle (a data
///   type other than the numeric ones, a chunk grid that is not regular, a shape whose
///   byte size overflows).
/// - [`ErrorKind::Io`](crate::ErrorKind::Io) when `path` cannot be read.
pub fn open(path: impl AsRef<Path>) -> Result<ZarrArray> {
    ZarrArray::open(path.as_ref())
}

/// [`open`], with uncompressed chunks mapped zero-copy: when every chunk file is the
/// chunk's raw elements in this machine's byte order ([`ZarrArray::is_raw`]), chunks
/// are memory-mapped (as [`load_raw`](crate::load_raw) maps a headerless file) instead
/// of read, so [`ZarrArray::par_moments`] and friends run over the page cache without
/// a copy. Compressed stores are decoded as [`open`] decodes them.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("raw.zarr");
/// use npmap::ndarray::Array1;
/// npmap::zarr::save(&path, &Array1::from_iter(0..100u32), &[30], &Default::default())?;
/// // SAFETY: nothing truncates or rewrites the store's chunk files while it is open.
/// let z = unsafe { npmap::zarr::open_mapped(&path)? };
/// assert!(z.is_mapped());
/// assert_eq!(z.par_moments()?.sum(), 4950.0);
/// # Ok(()) }
/// ```
///
/// # Safety
/// No chunk file of the store may be truncated or rewritten in place while the
/// [`ZarrArray`] (or a result borrowed from it) is used: the [contract on
/// `NpyFile`](crate::NpyFile#safety), for every chunk file. (npmap's [`save`] never
/// changes a chunk file of an existing store: it builds a new store and renames it
/// into place.)
///
/// # Errors
///
/// The errors of [`open`]; reads also fail with [`ErrorKind::Zarr`](crate::ErrorKind::Zarr)
/// when a raw chunk file does not hold exactly one chunk's bytes.
pub unsafe fn open_mapped(path: impl AsRef<Path>) -> Result<ZarrArray> {
    // SAFETY: the caller keeps the contract above, which is `open_mapped`'s own.
    unsafe { ZarrArray::open_mapped(path.as_ref()) }
}

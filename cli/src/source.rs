//! The one way every command names an array: a [`SourceSpec`] parsed once from the
//! command line, opened once into a [`Source`], read through one set of accessors.
//!
//! | on the command line                         | kind                       |
//! |---------------------------------------------|----------------------------|
//! | `FILE.npy`                                  | [`SourceSpec::Npy`]        |
//! | `ARCHIVE.npz:MEMBER`                        | [`SourceSpec::NpzMember`]  |
//! | `ARCHIVE.npz` (a container, not one array)  | [`SourceSpec::Npz`]        |
//! | `FILE --dtype DT [--offset N] [--order C\|F] [--shape a,b]` | [`SourceSpec::Raw`] |
//! | `DUMP.joblib:KEY` (a dotted path: `model.coef_`)  | [`SourceSpec::JoblibKey`]  |
//! | `DUMP.joblib` (or `.pkl`; a container)      | [`SourceSpec::Joblib`]     |
//! | `STORE.zarr`, or a directory with `zarr.json` / `.zarray` | [`SourceSpec::Zarr`] |
//! | a directory with `info` and `0.npy` (Dask's `to_npy_stack`) | [`SourceSpec::NpyStack`] |
//!
//! A new kind of source (a joblib dump's `data.joblib:KEY`, a Zarr array `X.zarr`) is
//! one more variant here, parsed in [`SourceSpec::parse`] and opened in
//! [`SourceSpec::open`]; the commands only call [`Source`]'s accessors and so need no
//! change. A container given where one array is needed ([`SourceSpec::Npz`], later a
//! bare `.joblib`) opens as an error that lists what it holds.

use std::path::{Path, PathBuf};

use npmap::joblib::Dump;
use npmap::ndarray::{ArrayD, Axis, CowArray, IxDyn, ShapeBuilder, Slice};
use npmap::npy_stack::NpyStack;
use npmap::zarr::ZarrArray;
use npmap::{DType, Element, Header, MmapMode, NpyBytes, NpyFile, NpzReader};

use crate::{CliError, CliResult, fail};

/// How to read a headerless file, as `numpy.memmap(FILE, dtype, mode='r', offset,
/// shape, order)` does. Shared by every command that takes a source.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct RawArgs {
    /// Read the file as headerless raw data of this dtype, as np.memmap(FILE, dtype=DT,
    /// mode='r') does (e.g. f4, <i8, uint16, float64; native byte order only).
    #[arg(long, value_name = "DT")]
    dtype: Option<String>,
    /// Raw data: byte offset where the data starts (np.memmap's offset).
    #[arg(long, value_name = "N", requires = "dtype")]
    offset: Option<u64>,
    /// Raw data: memory order of --shape (np.memmap's order).
    #[arg(long, value_parser = ["C", "F"], requires = "dtype")]
    order: Option<String>,
    /// Raw data: shape, e.g. 1000,100. Without it the data is 1-D and runs from
    /// --offset to the end of the file, as np.memmap does without a shape.
    #[arg(long, value_delimiter = ',', requires = "dtype")]
    shape: Option<Vec<usize>>,
}

/// The layout of a headerless file.
#[derive(Clone, Debug)]
pub(crate) struct RawLayout {
    pub(crate) dtype: DType,
    pub(crate) offset: u64,
    pub(crate) fortran: bool,
    /// `None`: 1-D, the length inferred from the file size.
    pub(crate) shape: Option<Vec<usize>>,
}

/// A source as named on the command line, before anything is opened.
#[derive(Clone, Debug)]
pub(crate) enum SourceSpec {
    Npy(PathBuf),
    NpzMember {
        archive: PathBuf,
        member: String,
    },
    /// A whole archive: a container of arrays, not one array.
    Npz(PathBuf),
    Raw {
        path: PathBuf,
        layout: RawLayout,
    },
    /// An array of a joblib dump, by dotted path.
    JoblibKey {
        dump: PathBuf,
        key: String,
    },
    /// A whole joblib dump: a container of values, not one array.
    Joblib(PathBuf),
    /// A Zarr array (v2 or v3): a store whose root is an array.
    Zarr(PathBuf),
    /// A Dask npy-stack: a directory of `0.npy, 1.npy, ...` and the `info` pickle.
    NpyStack(PathBuf),
}

/// Whether `path` names a Dask npy-stack: a directory holding `info` and `0.npy`.
pub(crate) fn is_npy_stack(path: &Path) -> bool {
    path.is_dir() && path.join("info").is_file() && path.join("0.npy").is_file()
}

/// Whether `path` names a Zarr store: a name ending in `.zarr` (also `X.zarr/`), or a
/// directory holding `zarr.json` or `.zarray`.
pub(crate) fn is_zarr(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zarr")
        || (path.is_dir() && (path.join("zarr.json").is_file() || path.join(".zarray").is_file()))
}

/// Whether `path` names a joblib dump: `*.joblib` (also `x.joblib.gz`), `*.pkl`,
/// `*.pickle`.
fn is_joblib(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.contains(".joblib") || name.ends_with(".pkl") || name.ends_with(".pickle")
}

/// Splits `DUMP.joblib:KEY` (or `.pkl:`, `.pickle:`) unless `spec` names an existing
/// file as it is.
fn split_key(spec: &str) -> Option<(PathBuf, String)> {
    if Path::new(spec).exists() {
        return None;
    }
    let at = spec.rfind(':')?;
    let dump = PathBuf::from(&spec[..at]);
    is_joblib(&dump).then(|| (dump, spec[at + 1..].to_string()))
}

/// Splits `ARCHIVE.npz:MEMBER` unless `spec` names an existing file as it is.
fn split_member(spec: &str) -> Option<(PathBuf, String)> {
    if Path::new(spec).exists() {
        return None;
    }
    let at = spec.rfind(".npz:")?;
    Some((PathBuf::from(&spec[..at + 4]), spec[at + 5..].to_string()))
}

impl SourceSpec {
    /// Parses one source argument; `raw` (`--dtype` and friends) makes it a raw file.
    pub(crate) fn parse(spec: &str, raw: &RawArgs) -> CliResult<SourceSpec> {
        if let Some(dtype) = &raw.dtype {
            let layout = RawLayout {
                dtype: DType::parse(dtype).map_err(|e| {
                    CliError::Usage(format!("--dtype {dtype}: not a NumPy dtype: {e}"))
                })?,
                offset: raw.offset.unwrap_or(0),
                fortran: raw.order.as_deref() == Some("F"),
                shape: raw.shape.clone(),
            };
            return Ok(SourceSpec::Raw {
                path: spec.into(),
                layout,
            });
        }
        if let Some((archive, member)) = split_member(spec) {
            return Ok(SourceSpec::NpzMember { archive, member });
        }
        if let Some((dump, key)) = split_key(spec) {
            return Ok(SourceSpec::JoblibKey { dump, key });
        }
        let path = PathBuf::from(spec);
        Ok(if is_zarr(&path) {
            SourceSpec::Zarr(path)
        } else if is_npy_stack(&path) {
            SourceSpec::NpyStack(path)
        } else if path.extension().is_some_and(|e| e == "npz") {
            SourceSpec::Npz(path)
        } else if is_joblib(&path) {
            SourceSpec::Joblib(path)
        } else {
            SourceSpec::Npy(path)
        })
    }

    /// True for a plain `.npy` file: what `convert` can only rewrite (every other
    /// source becomes a `.npy` by being written out).
    pub(crate) fn is_npy_file(&self) -> bool {
        matches!(self, SourceSpec::Npy(_))
    }

    /// The member name this source would have in a `.npz`: the archive member's own
    /// name, or the file name without its extension.
    pub(crate) fn stem(&self) -> String {
        let path = match self {
            SourceSpec::NpzMember { member, .. } => return member.clone(),
            SourceSpec::JoblibKey { key, .. } => return key.clone(),
            SourceSpec::Npy(path)
            | SourceSpec::Npz(path)
            | SourceSpec::Raw { path, .. }
            | SourceSpec::Joblib(path)
            | SourceSpec::Zarr(path)
            | SourceSpec::NpyStack(path) => path,
        };
        path.file_stem()
            .map_or_else(|| "arr_0".to_string(), |s| s.to_string_lossy().into_owned())
    }

    /// Opens the one array this source names. A container (a bare `.npz`) is an
    /// error listing its members.
    pub(crate) fn open(&self) -> CliResult<Source> {
        let opened = match self {
            SourceSpec::Npy(path) => {
                // SAFETY: the mapping is read-only and lives only while the command runs.
                let file = unsafe { NpyFile::open(path, MmapMode::ReadOnly) }?;
                Opened::Mapped(file)
            }
            SourceSpec::NpzMember { archive, member } => {
                let archive = NpzReader::open(archive)?;
                let header = archive.header(member)?;
                Opened::Member {
                    archive,
                    name: member.clone(),
                    header,
                }
            }
            SourceSpec::Npz(path) => return which_member(path),
            SourceSpec::Raw { path, layout } => Opened::Mapped(open_raw(path, layout)?),
            SourceSpec::JoblibKey { dump, key } => {
                // SAFETY: the mapping is read-only and lives only while the command runs.
                let dump = unsafe { npmap::joblib::load(dump, MmapMode::ReadOnly) }?;
                let header = dump.get(key)?.array()?.header().clone();
                Opened::Joblib {
                    dump,
                    key: key.clone(),
                    header,
                }
            }
            SourceSpec::Joblib(path) => return which_key(path),
            SourceSpec::Zarr(path) => {
                // Raw (uncompressed) chunks are mapped, compressed ones decoded.
                // SAFETY: the mappings are read-only and live only while the command runs.
                Opened::Zarr(Box::new(unsafe { npmap::zarr::open_mapped(path) }?))
            }
            SourceSpec::NpyStack(path) => {
                // SAFETY: the mappings are read-only and live only while the command runs.
                let stack = unsafe { npmap::npy_stack::open(path, MmapMode::ReadOnly) }?;
                Opened::Stack(stack)
            }
        };
        // No access advice: the kernel's default read-ahead scans a cold file faster
        // than with `MADV_SEQUENTIAL` (benches/README.md, "A cold scan larger than RAM").
        Ok(Source {
            spec: self.clone(),
            opened,
        })
    }
}

/// The error for a bare archive where one array is needed: which member?
fn which_member<T>(path: &Path) -> CliResult<T> {
    let archive = NpzReader::open(path)?;
    let names = archive.names();
    match names.first() {
        None => fail(format!("{}: the archive holds no arrays", path.display())),
        Some(first) => fail(format!(
            "{}: which member? the archive holds {}; name one as {}:{first}",
            path.display(),
            names.join(", "),
            path.display()
        )),
    }
}

/// The error for a bare joblib dump where one array is needed: which key?
fn which_key<T>(path: &Path) -> CliResult<T> {
    // Mapped, not read: listing the arrays touches only the pickle.
    // SAFETY: the mapping is read-only and lives only while the command runs.
    let dump = unsafe { npmap::joblib::load(path, MmapMode::ReadOnly) }?;
    let keys: Vec<String> = dump.arrays().into_iter().map(|(k, _)| k).collect();
    match keys.first() {
        None => fail(format!("{}: the dump holds no arrays", path.display())),
        Some(first) if first.is_empty() => fail(format!(
            "{}: the dump is one array; name it as {}: (an empty key)",
            path.display(),
            path.display()
        )),
        Some(first) => fail(format!(
            "{}: which array? the dump holds {}; name one as {}:{first}",
            path.display(),
            keys.join(", "),
            path.display()
        )),
    }
}

/// Maps a raw file through the library's `load_raw` / `load_raw_1d`.
fn open_raw(path: &Path, layout: &RawLayout) -> CliResult<NpyFile> {
    let dtype = &layout.dtype;
    if !dtype.is_native_order() {
        return fail(format!(
            "{}: raw data in non-native byte order ('{}') cannot be mapped yet; the library's \
             load_raw reads this machine's order ('{}')",
            path.display(),
            dtype.descr(),
            dtype.to_native().descr()
        ));
    }
    if layout.shape.is_none() {
        check_whole_items(path, layout)?;
    }
    npmap::with_element_type!(dtype, T => {
        let file = match &layout.shape {
            // SAFETY: the mapping is read-only and lives only while the command runs.
            None => unsafe { npmap::load_raw_1d::<T>(path, MmapMode::ReadOnly, layout.offset) }?
                .into_file(),
            Some(shape) => {
                let dim = IxDyn(shape).set_f(layout.fortran);
                // SAFETY: as above.
                unsafe { npmap::load_raw::<T, IxDyn>(path, MmapMode::ReadOnly, layout.offset, dim) }?
                    .into_file()
            }
        };
        Ok(file)
    }, else fail(format!(
        "{}: raw files of dtype '{}' ({}) are not supported; numeric dtypes are",
        path.display(), dtype.descr(), dtype.name()
    )))
}

/// Without a shape, the bytes after the offset must be a whole number of items (as
/// np.memmap requires); says so in the user's terms before the library refuses.
fn check_whole_items(path: &Path, layout: &RawLayout) -> CliResult {
    let size = std::fs::metadata(path)
        .map_err(|e| CliError::Message(format!("{}: cannot read its size: {e}", path.display())))?
        .len();
    let itemsize = layout.dtype.itemsize() as u64;
    let Some(available) = size.checked_sub(layout.offset) else {
        return fail(format!(
            "{}: offset {} is past the end of the file ({size} bytes)",
            path.display(),
            layout.offset
        ));
    };
    if itemsize != 0 && !available.is_multiple_of(itemsize) {
        return fail(format!(
            "{}: size {size} bytes minus offset {} leaves {available} bytes, not a whole number \
             of {itemsize}-byte '{}' items ({} left over); give --shape, or another --offset",
            path.display(),
            layout.offset,
            layout.dtype.descr(),
            available % itemsize
        ));
    }
    Ok(())
}

/// The whole Zarr array as `T` (decoded chunk-parallel into memory). The library
/// reads its element types (`ZarrElement`); `T` is one of them exactly when it is the
/// array's dtype, which the dispatch on the dtype finds.
fn read_zarr<T: Element>(z: &ZarrArray) -> CliResult<ArrayD<T>> {
    let dtype = z.dtype().clone();
    if T::dtype() != dtype {
        return fail(format!(
            "{}: dtype mismatch: the store has '{}' ({}), asked for {}",
            z.path().display(),
            dtype.descr(),
            dtype.name(),
            T::NAME
        ));
    }
    npmap::with_element_type!(dtype, U => {
        let any: Box<dyn std::any::Any> = Box::new(z.read::<U, IxDyn>()?);
        any.downcast::<ArrayD<T>>()
            .map(|array| *array)
            .or_else(|_| fail("the dtype dispatch found another type"))
    }, else fail(format!(
        "{}: Zarr arrays of dtype '{}' are not supported", z.path().display(), dtype.descr()
    )))
}

/// An opened array source.
pub(crate) struct Source {
    spec: SourceSpec,
    opened: Opened,
}

enum Opened {
    /// A `.npy` file or a raw file, mapped.
    Mapped(NpyFile),
    Member {
        archive: NpzReader,
        name: String,
        header: Header,
    },
    /// An array of a joblib dump (mapped, or a copy for a compressed dump).
    Joblib {
        dump: Dump,
        key: String,
        header: Header,
    },
    /// A Zarr array: chunks read when asked for (boxed: it is the largest variant).
    Zarr(Box<ZarrArray>),
    /// A Dask npy-stack, its blocks mapped.
    Stack(NpyStack),
}

impl Source {
    pub(crate) fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    pub(crate) fn header(&self) -> &Header {
        match &self.opened {
            Opened::Mapped(f) => f.header(),
            Opened::Member { header, .. } | Opened::Joblib { header, .. } => header,
            Opened::Zarr(z) => z.header(),
            Opened::Stack(s) => s.header(),
        }
    }

    /// The npy-stack, for a Dask npy-stack directory.
    pub(crate) fn stack(&self) -> Option<&NpyStack> {
        match &self.opened {
            Opened::Stack(s) => Some(s),
            _ => None,
        }
    }

    /// The Zarr array, for a store.
    pub(crate) fn zarr(&self) -> Option<&ZarrArray> {
        match &self.opened {
            Opened::Zarr(z) => Some(z),
            _ => None,
        }
    }

    /// The mapped file, for what only a file has (fields, page-cache residency).
    pub(crate) fn file(&self) -> Option<&NpyFile> {
        match &self.opened {
            Opened::Mapped(f) => Some(f),
            Opened::Member { .. } | Opened::Joblib { .. } | Opened::Zarr(_) | Opened::Stack(_) => {
                None
            }
        }
    }

    /// The archive and member name, for a member of a `.npz`.
    pub(crate) fn member(&self) -> Option<(&NpzReader, &str)> {
        match &self.opened {
            Opened::Mapped(_) | Opened::Joblib { .. } | Opened::Zarr(_) | Opened::Stack(_) => None,
            Opened::Member { archive, name, .. } => Some((archive, name)),
        }
    }

    /// The joblib array, for an array of a dump.
    pub(crate) fn joblib_array(&self) -> Option<&npmap::joblib::JoblibArray> {
        match &self.opened {
            Opened::Joblib { dump, key, .. } => dump.get(key).ok()?.array().ok(),
            _ => None,
        }
    }

    /// The data as `T`: borrowed from a mapping when possible, else a copy.
    pub(crate) fn cow<T: Element>(&self) -> CliResult<CowArray<'_, T, IxDyn>> {
        match &self.opened {
            Opened::Mapped(f) => Ok(f.cow::<T, IxDyn>()?),
            // SAFETY: the archive is only read, while the command runs.
            Opened::Member { archive, name, .. } => Ok(unsafe { archive.cow::<T, IxDyn>(name) }?),
            Opened::Joblib { dump, key, .. } => Ok(dump.get(key)?.array()?.cow::<T, IxDyn>()?),
            Opened::Zarr(z) => Ok(CowArray::from(read_zarr::<T>(z)?)),
            Opened::Stack(s) => Ok(CowArray::from(s.read::<T, IxDyn>()?)),
        }
    }

    /// What NumPy's `print(a[:rows])` writes (`print(a)` with `None`).
    pub(crate) fn text(&self, rows: Option<usize>) -> CliResult<String> {
        if let Opened::Mapped(file) = &self.opened {
            return Ok(npmap::display::npy_text(file, rows)?);
        }
        if let Some(array) = self.joblib_array() {
            return Ok(npmap::display::array_text(
                array.header(),
                array.data(),
                rows,
            )?);
        }
        let dtype = self.header().dtype.clone();
        if let (Some(z), Some(n)) = (self.zarr(), rows)
            && !z.shape().is_empty()
        {
            // Only the rows shown are decoded: a store may be larger than memory.
            return npmap::with_element_type!(dtype, T => {
                let head = z.read_rows::<T, IxDyn>(0..n)?;
                let mut image = Vec::new();
                npmap::write_npy_to(&mut image, &head)?;
                let npy = NpyBytes::parse(&image)?;
                Ok(npmap::display::array_text(npy.header(), npy.data(), None)?)
            }, else fail(format!("{self}: dtype '{}' cannot be printed", dtype.descr())));
        }
        if let (Some(stack), Some(n)) = (self.stack(), rows)
            && stack.axis() == Axis(0)
            && n <= stack.block_lens()[0]
        {
            // The rows shown are the first block's: only that block is read.
            let first = &stack.blocks()[0];
            return npmap::with_element_type!(dtype, T => {
                let block = first.cow::<T, IxDyn>()?;
                let head = block.slice_axis(Axis(0), Slice::from(..n));
                let mut image = Vec::new();
                npmap::write_npy_to(&mut image, &head)?;
                let npy = NpyBytes::parse(&image)?;
                Ok(npmap::display::array_text(npy.header(), npy.data(), None)?)
            }, else fail(format!("{self}: dtype '{}' cannot be printed", dtype.descr())));
        }
        npmap::with_element_type!(dtype, T => self.copied_text::<T>(rows), else fail(format!(
            "{self}: printing archive members of dtype '{}' ({}) is not supported yet \
             (numeric members are; a .npy file of any dtype is)",
            dtype.descr(), dtype.name()
        )))
    }

    /// [`Source::text`] through a copy of the rows shown: the library prints `.npy`
    /// images, so the rows are written as one in memory.
    fn copied_text<T: Element>(&self, rows: Option<usize>) -> CliResult<String> {
        let data = self.cow::<T>()?;
        let shown = match (rows, data.ndim()) {
            (Some(n), 1..) => data.slice_axis(Axis(0), Slice::from(..n.min(data.len_of(Axis(0))))),
            _ => data.view(),
        };
        let mut image = Vec::new();
        npmap::write_npy_to(&mut image, &shown)?;
        let npy = NpyBytes::parse(&image)?;
        Ok(npmap::display::array_text(npy.header(), npy.data(), None)?)
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Npy(path) | SourceSpec::Npz(path) | SourceSpec::Raw { path, .. } => {
                write!(f, "{}", path.display())
            }
            SourceSpec::NpzMember { archive, member } => {
                write!(f, "{}:{member}", archive.display())
            }
            SourceSpec::JoblibKey { dump, key } => write!(f, "{}:{key}", dump.display()),
            SourceSpec::Joblib(path) | SourceSpec::Zarr(path) | SourceSpec::NpyStack(path) => {
                write!(f, "{}", path.display())
            }
        }
    }
}

/// A source prints as it was named on the command line.
impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.spec.fmt(f)
    }
}

/// Whether the file's data is larger than the machine's physical memory (`false` where
/// that is unknown).
pub(crate) fn larger_than_memory(file: &npmap::NpyFile) -> bool {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kib.checked_mul(1024)
        });
    total.is_some_and(|total| file.header().data_len() > total)
}

/// Bytes converted per slab when a mapped file cannot be viewed in place: a bound on
/// the memory a pass over it takes, whatever the file's size.
const SLAB_BYTES: usize = 8 << 20;

/// Whether a pass over `file` as `T` goes slab by slab ([`for_each_slab`]): its data
/// cannot be viewed in place (non-native byte order, misaligned) and is over a slab.
pub(crate) fn needs_slabs<T: Element>(file: &NpyFile) -> bool {
    file.header().data_len() > SLAB_BYTES as u64 && file.view::<T, IxDyn>().is_err()
}

/// Calls `each` with every slab of about `SLAB_BYTES` of `file`'s outer axis, in file
/// order: its range and its data as `T` (a converted copy,
/// [`NpyFile::cow_slab`]). A file larger than memory has each slab's pages released
/// once `each` is done with it.
pub(crate) fn for_each_slab<T: Element>(
    file: &NpyFile,
    mut each: impl FnMut(std::ops::Range<usize>, CowArray<'_, T, IxDyn>) -> CliResult,
) -> CliResult {
    let outer = file.outer_axis().map_or(0, |a| a.index());
    let slices = file.header().shape.get(outer).copied().unwrap_or(1);
    let step = (SLAB_BYTES / file.slab_bytes(0..1).len().max(1)).max(1);
    let release = larger_than_memory(file);
    for start in (0..slices).step_by(step) {
        let slab = start..(start + step).min(slices);
        each(slab.clone(), file.cow_slab::<T>(slab.clone())?)?;
        if release {
            file.advise_bytes(npmap::Access::DontNeed, file.slab_bytes(slab));
        }
    }
    Ok(())
}

//! [`ZarrArray`]: an opened Zarr array, read whole or chunk by chunk.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{
    Array, ArrayD, ArrayView, ArrayViewD, ArrayViewMut, ArrayViewMutD, Axis, Dimension, IxDyn,
    SliceInfoElem,
};
use rayon::prelude::*;
use zarrs::array::{Array as ZArray, ArrayMetadata};
use zarrs::filesystem::FilesystemStore;

use super::ZarrFormat;
use super::types::{ZarrElement, npmap_dtype};
use super::write::{chunk_elements, unravel, zarr_error};
use crate::cast::try_with_capacity;
use crate::compute::kernels::StatElement;
use crate::compute::moments::Moments;
use crate::compute::par_stats::ParStats;
use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::DType;
use crate::format::element::Element;
use crate::format::header::Header;
use crate::fs::durable::{Durability, atomic_write, reserve_space};
use crate::npy::raw::load_raw;
use crate::npy::{MmapMode, NpyArray};

/// Chunks reduced per parallel round: bounds the partial results held at once. The
/// results merge in chunk order whatever this is, so it does not change them.
const CHUNKS_PER_ROUND: usize = 4096;

/// The largest metadata file read (`zarr.json`, `.zarray`, `.zattrs`): far more than
/// any array's metadata, far less than memory.
const MAX_METADATA_BYTES: u64 = 64 << 20;

/// A Zarr array (v2 or v3) opened with [`open`](super::open): its metadata checked,
/// its chunks read when asked for. Reads are copies (compressed chunks are decoded,
/// raw ones read); they run chunk-parallel on rayon's pool.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("X.zarr");
/// use npmap::ndarray::{Array2, Axis};
/// use npmap::zarr::{ZarrFormat, ZarrOptions};
/// let x = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f32);
/// let options = ZarrOptions::new().format(ZarrFormat::V2).dimension_names(["row", "col"]);
/// npmap::zarr::save(&path, &x, &[2, 2], &options)?;
/// let z = npmap::zarr::open(&path)?;
/// assert_eq!(z.chunk_grid_shape(), [3, 2]);
/// assert_eq!(z.dimension_names(), Some(&[Some("row".to_string()), Some("col".to_string())][..]));
/// assert_eq!((z.header().dtype.descr(), z.header().fortran_order), ("<f4".to_string(), false));
/// let rows = z.par_moments_axis(Axis(1))?;
/// assert_eq!(rows[[4]].mean(), 13.0);
/// # Ok(()) }
/// ```
pub struct ZarrArray {
    path: PathBuf,
    array: ZArray<FilesystemStore>,
    header: Header,
    format: ZarrFormat,
    chunk_shape: Vec<usize>,
    grid: Vec<usize>,
    codecs: Vec<String>,
    dimension_names: Option<Vec<Option<String>>>,
    /// Chunk files are the chunk's elements as they are in memory here (no codec but
    /// `bytes` in this machine's order): they can be mapped.
    raw: bool,
    /// Map raw chunk files instead of reading them ([`open_mapped`](super::open_mapped)).
    mapped: bool,
}

/// A decoded chunk: read into memory, or a mapping of its raw file (the whole padded
/// chunk), with the shape of its in-bounds part.
enum Chunk<A: Element> {
    Owned(Vec<A>, Vec<usize>),
    Mapped(NpyArray<A, IxDyn>, Vec<usize>),
}

impl<A: Element> Chunk<A> {
    /// The in-bounds part of the chunk.
    fn view(&self) -> ArrayViewD<'_, A> {
        match self {
            Chunk::Owned(values, shape) => ArrayView::from_shape(IxDyn(shape), values)
                .expect("zarrs decodes the chunk's elements"),
            Chunk::Mapped(array, shape) => {
                let region: Vec<SliceInfoElem> =
                    shape.iter().map(|&n| SliceInfoElem::from(0..n)).collect();
                array.view().slice_move(region.as_slice())
            }
        }
    }
}

impl std::fmt::Debug for ZarrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrArray")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("dtype", &self.header.dtype)
            .field("shape", &self.header.shape)
            .field("chunk_shape", &self.chunk_shape)
            .field("codecs", &self.codecs)
            .field("mapped", &(self.mapped && self.raw))
            .finish()
    }
}

/// A JSON array of non-negative integers as `usize`s.
fn lengths(value: &serde_json::Value) -> Option<Vec<usize>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_u64().and_then(|n| usize::try_from(n).ok()))
        .collect()
}

impl ZarrArray {
    pub(super) fn open(path: &Path) -> Result<ZarrArray> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "open Zarr store", e))?;
        if !meta.is_dir() {
            return Err(zarr_error(
                path,
                "expected a Zarr store (a directory with zarr.json or .zarray), found a file",
            ));
        }
        // zarrs reads metadata files whole: absurd sizes are refused first.
        for name in ["zarr.json", ".zarray", ".zattrs"] {
            if let Ok(m) = std::fs::metadata(path.join(name))
                && m.len() > MAX_METADATA_BYTES
            {
                return Err(zarr_error(
                    path,
                    format!(
                        "{name} is {} bytes; expected metadata of at most {MAX_METADATA_BYTES} bytes",
                        m.len()
                    ),
                ));
            }
        }
        let store = Arc::new(
            FilesystemStore::new(path)
                .map_err(|e| zarr_error(path, format!("cannot open the store: {e}")))?,
        );
        let array = ZArray::open(store, "/").map_err(|e| {
            zarr_error(
                path,
                format!(
                    "expected an array's metadata (zarr.json or .zarray) that zarrs accepts: {e}"
                ),
            )
        })?;
        let json = serde_json::to_value(array.metadata())
            .map_err(|e| zarr_error(path, format!("cannot render the metadata: {e}")))?;
        let (format, chunk_shape, codecs, dimension_names) = match array.metadata() {
            ArrayMetadata::V3(_) => {
                let grid = &json["chunk_grid"];
                if grid["name"] != "regular" {
                    return Err(zarr_error(
                        path,
                        format!("expected a regular chunk grid, found {grid}"),
                    ));
                }
                let chunks = lengths(&grid["configuration"]["chunk_shape"]).ok_or_else(|| {
                    zarr_error(
                        path,
                        format!("chunk shape is not a list of lengths: {grid}"),
                    )
                })?;
                let codecs = json["codecs"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .map(|c| c["name"].as_str().unwrap_or("?").to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let names = array.dimension_names().clone();
                (ZarrFormat::V3, chunks, codecs, names)
            }
            ArrayMetadata::V2(v2) => {
                let chunks = lengths(&json["chunks"]).ok_or_else(|| {
                    zarr_error(
                        path,
                        format!("chunks is not a list of lengths: {}", json["chunks"]),
                    )
                })?;
                let mut codecs: Vec<String> = json["filters"]
                    .as_array()
                    .map(|fs| {
                        fs.iter()
                            .map(|f| f["id"].as_str().unwrap_or("?").to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(id) = json["compressor"]["id"].as_str() {
                    codecs.push(id.to_string());
                }
                let names = v2
                    .attributes
                    .get("_ARRAY_DIMENSIONS")
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().map(|n| n.as_str().map(str::to_string)).collect());
                (ZarrFormat::V2, chunks, codecs, names)
            }
        };
        let dtype = npmap_dtype(array.data_type()).ok_or_else(|| {
            let found = match format {
                ZarrFormat::V3 => json["data_type"].to_string(),
                _ => json["dtype"].to_string(),
            };
            zarr_error(
                path,
                format!(
                    "data type {found} is not one npmap reads; expected bool, an integer, \
                     float16/32/64 or complex64/128"
                ),
            )
        })?;
        let shape: Vec<usize> = array
            .shape()
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| zarr_error(path, "shape does not fit this machine's addresses"))?;
        if chunk_shape.len() != shape.len() || chunk_shape.contains(&0) {
            return Err(zarr_error(
                path,
                format!(
                    "chunk shape {chunk_shape:?} does not fit shape {shape:?}: expected {} \
                     lengths of at least 1",
                    shape.len()
                ),
            ));
        }
        let header = Header::of_array(&dtype, false, &shape).map_err(|e| e.in_file(path))?;
        // A chunk is decoded into memory whole: its size must be one that can exist.
        let chunk_len = chunk_elements(path, &chunk_shape, dtype.itemsize())?;
        if !header.is_empty() {
            try_with_capacity::<u8>(chunk_len * dtype.itemsize(), "a Zarr chunk")
                .map_err(|e| e.in_file(path))?;
        }
        let grid = shape
            .iter()
            .zip(&chunk_shape)
            .map(|(&d, &c)| d.div_ceil(c))
            .collect();
        let native = |order: &str| {
            order == "little" && cfg!(target_endian = "little")
                || order == "big" && cfg!(target_endian = "big")
        };
        let raw = match format {
            ZarrFormat::V3 => {
                let codecs = json["codecs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                let no_transformers = json["storage_transformers"]
                    .as_array()
                    .is_none_or(Vec::is_empty);
                no_transformers
                    && matches!(codecs, [only] if only["name"] == "bytes"
                        && (dtype.itemsize() == 1
                            || only["configuration"]["endian"].as_str().is_some_and(native)))
            }
            ZarrFormat::V2 => {
                let text = json["dtype"].as_str().unwrap_or("");
                json["compressor"].is_null()
                    && json["filters"].as_array().is_none_or(Vec::is_empty)
                    && json["order"] == "C"
                    && (text.starts_with('|')
                        || native(if text.starts_with('<') {
                            "little"
                        } else {
                            "big"
                        }))
            }
        };
        Ok(ZarrArray {
            path: path.to_path_buf(),
            array,
            header,
            format,
            chunk_shape,
            grid,
            codecs,
            dimension_names,
            raw,
            mapped: false,
        })
    }

    /// [`ZarrArray::open`], with raw chunk files mapped instead of read.
    ///
    /// # Safety
    /// See [`open_mapped`](super::open_mapped).
    pub(super) unsafe fn open_mapped(path: &Path) -> Result<ZarrArray> {
        let mut z = ZarrArray::open(path)?;
        z.mapped = true;
        Ok(z)
    }

    /// True when every chunk file is the chunk's elements exactly as they lie in
    /// memory on this machine (uncompressed: v3 codecs `[bytes]` in this byte order,
    /// v2 no compressor, no filters, C order): such chunks are mapped zero-copy by a
    /// store opened with [`open_mapped`](super::open_mapped).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// use npmap::zarr::{Compression, ZarrOptions};
    /// npmap::zarr::save(&path, &npmap::ndarray::arr1(&[1u16]), &[1], &Default::default()).unwrap();
    /// assert!(npmap::zarr::open(&path).unwrap().is_raw());
    /// let zstd = ZarrOptions::new().compression(Compression::Zstd(0)).overwrite(true);
    /// npmap::zarr::save(&path, &npmap::ndarray::arr1(&[1u16]), &[1], &zstd).unwrap();
    /// assert!(!npmap::zarr::open(&path).unwrap().is_raw());
    /// ```
    pub fn is_raw(&self) -> bool {
        self.raw
    }

    /// True when chunks are mapped, not read: opened with
    /// [`open_mapped`](super::open_mapped) and [raw](ZarrArray::is_raw).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::arr1(&[1u16]), &[1], &Default::default()).unwrap();
    /// assert!(!npmap::zarr::open(&path).unwrap().is_mapped());
    /// // SAFETY: nothing rewrites or truncates the store's chunk files while it is open.
    /// assert!(unsafe { npmap::zarr::open_mapped(&path) }.unwrap().is_mapped());
    /// ```
    pub fn is_mapped(&self) -> bool {
        self.mapped && self.raw
    }

    /// The store's path, as given to [`open`](super::open).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::arr1(&[1u8]), &[1], &Default::default()).unwrap();
    /// assert_eq!(npmap::zarr::open(&path).unwrap().path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Zarr v2 or v3.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::arr1(&[1u8]), &[1], &Default::default()).unwrap();
    /// assert_eq!(npmap::zarr::open(&path).unwrap().format(), npmap::zarr::ZarrFormat::V3);
    /// ```
    pub fn format(&self) -> ZarrFormat {
        self.format
    }

    /// The array's dtype, in this machine's byte order (chunks are decoded to it).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::arr1(&[1.0f32]), &[1], &Default::default()).unwrap();
    /// assert_eq!(npmap::zarr::open(&path).unwrap().dtype(), &<f32 as npmap::Element>::dtype());
    /// ```
    pub fn dtype(&self) -> &DType {
        &self.header.dtype
    }

    /// The array's shape.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::Array2::<u8>::zeros((4, 2)), &[3, 2], &Default::default()).unwrap();
    /// assert_eq!(npmap::zarr::open(&path).unwrap().shape(), [4, 2]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.header.shape
    }

    /// The header `np.save` would write for this array (dtype, C order, shape): what
    /// converting the store to a `.npy` produces.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::Array2::<u8>::zeros((4, 2)), &[3, 2], &Default::default()).unwrap();
    /// let h = npmap::zarr::open(&path).unwrap().header().clone();
    /// assert_eq!((h.version, h.fortran_order, h.data_offset), ((1, 0), false, 128));
    /// ```
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The shape of every chunk (edge chunks are cut at the array's end).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::Array2::<u8>::zeros((4, 2)), &[3, 2], &Default::default()).unwrap();
    /// assert_eq!(npmap::zarr::open(&path).unwrap().chunk_shape(), [3, 2]);
    /// ```
    pub fn chunk_shape(&self) -> &[usize] {
        &self.chunk_shape
    }

    /// How many chunks there are along each axis.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::Array2::<u8>::zeros((4, 2)), &[3, 2], &Default::default()).unwrap();
    /// assert_eq!(npmap::zarr::open(&path).unwrap().chunk_grid_shape(), [2, 1]);
    /// ```
    pub fn chunk_grid_shape(&self) -> &[usize] {
        &self.grid
    }

    /// The codecs a chunk goes through, in order, by name: v3's `codecs` (`bytes`,
    /// `zstd`, ...); v2's filters and compressor (`zstd`, `gzip`; empty for raw chunks).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// use npmap::zarr::{Compression, ZarrOptions};
    /// let o = ZarrOptions::new().compression(Compression::Zstd(0));
    /// npmap::zarr::save(&path, &npmap::ndarray::arr1(&[1u8]), &[1], &o).unwrap();
    /// assert_eq!(npmap::zarr::open(&path).unwrap().codecs(), ["bytes", "zstd"]);
    /// ```
    pub fn codecs(&self) -> &[String] {
        &self.codecs
    }

    /// The axes' names, when the store has them: v3's `dimension_names`, or v2's
    /// `_ARRAY_DIMENSIONS` attribute (xarray's convention). A name may be missing.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.zarr");
    /// # npmap::zarr::save(&path, &npmap::ndarray::arr1(&[1u8]), &[1], &Default::default()).unwrap();
    /// assert_eq!(npmap::zarr::open(&path).unwrap().dimension_names(), None);
    /// ```
    pub fn dimension_names(&self) -> Option<&[Option<String>]> {
        self.dimension_names.as_deref()
    }

    /// Checks that `A` is the array's element type.
    fn check_type<A: Element>(&self) -> Result<()> {
        if A::dtype() != *self.dtype() {
            return Err(Error::at(
                &self.path,
                ErrorKind::DTypeMismatch {
                    found: self.dtype().descr(),
                    found_name: self.dtype().name(),
                    expected: A::NAME,
                },
            ));
        }
        Ok(())
    }

    /// The region of the array chunk `index` covers, and its shape.
    fn region(&self, index: &[usize]) -> (Vec<SliceInfoElem>, Vec<usize>) {
        index
            .iter()
            .zip(&self.chunk_shape)
            .zip(self.shape())
            .map(|((&i, &c), &d)| {
                let start = i * c;
                let end = (start + c).min(d);
                (SliceInfoElem::from(start..end), end - start)
            })
            .unzip()
    }

    /// The in-bounds part of chunk `index`: mapped when the store is, else decoded
    /// (the fill value where the chunk is missing).
    fn chunk<A: ZarrElement>(&self, index: &[usize]) -> Result<Chunk<A>> {
        let indices: Vec<u64> = index.iter().map(|&i| i as u64).collect();
        let (_, shape) = self.region(index);
        let file = self
            .array
            .storage()
            .key_to_fspath(&self.array.chunk_key(&indices));
        let chunk_bytes =
            self.chunk_shape.iter().product::<usize>() as u64 * std::mem::size_of::<A>() as u64;
        // zarrs reads a chunk file whole: one larger than any encoding of the chunk
        // (raw, zstd, gzip: at most 1/64 more, plus headers) is refused before it is read.
        if let Ok(meta) = std::fs::metadata(&file)
            && meta.len() > chunk_bytes + chunk_bytes / 64 + (64 << 10)
        {
            return Err(zarr_error(
                &self.path,
                format!(
                    "chunk {indices:?} ({}): expected at most {} bytes for a chunk of {chunk_bytes} \
                     bytes, found {}",
                    file.display(),
                    chunk_bytes + chunk_bytes / 64 + (64 << 10),
                    meta.len()
                ),
            ));
        }
        if self.is_mapped() {
            match std::fs::metadata(&file) {
                // Missing: the fill value, from zarrs below.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&file, "open Zarr chunk", e)),
                Ok(meta) => {
                    let expected = chunk_bytes;
                    if meta.len() != expected {
                        return Err(zarr_error(
                            &self.path,
                            format!(
                                "chunk {indices:?} ({}): expected {expected} bytes of raw \
                                 elements, found {}",
                                file.display(),
                                meta.len()
                            ),
                        ));
                    }
                    // SAFETY: the caller of `open_mapped` promised that no chunk file is
                    // truncated or rewritten while the store is open (NpyFile's contract).
                    let mapped = unsafe {
                        load_raw::<A, IxDyn>(&file, MmapMode::ReadOnly, 0, IxDyn(&self.chunk_shape))
                    }?;
                    return Ok(Chunk::Mapped(mapped, shape));
                }
            }
        }
        let subset = self
            .array
            .chunk_subset_bounded(&indices)
            .map_err(|e| zarr_error(&self.path, format!("chunk {indices:?}: {e}")))?;
        let elements: Vec<A> = self
            .array
            .retrieve_array_subset::<Vec<A>>(&subset)
            .map_err(|e| zarr_error(&self.path, format!("cannot read chunk {indices:?}: {e}")))?;
        Ok(Chunk::Owned(elements, shape))
    }

    /// The whole array, chunks decoded in parallel (missing chunks are the fill
    /// value).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("r.zarr");
    /// use npmap::ndarray::{array, Ix2};
    /// npmap::zarr::save(&path, &array![[1i16, 2, 3], [4, 5, 6]], &[1, 2], &Default::default())?;
    /// let z = npmap::zarr::open(&path)?;
    /// assert_eq!(z.read::<i16, Ix2>()?, array![[1, 2, 3], [4, 5, 6]]);
    /// assert!(z.read::<f32, Ix2>().is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when `A` is not the array's element type;
    ///   [`ErrorKind::NdimMismatch`] when `D` has another number of axes.
    /// - [`ErrorKind::OutOfMemory`] when the array does not fit in memory.
    /// - [`ErrorKind::Zarr`] when a chunk cannot be read or decoded (a codec error,
    ///   a chunk of the wrong size).
    pub fn read<A: ZarrElement, D: Dimension>(&self) -> Result<Array<A, D>> {
        self.check_type::<A>()?;
        let shape = self.shape().to_vec();
        crate::npy::dimension::<D>(&shape).map_err(|e| e.in_file(&self.path))?;
        let len = self.header.len();
        let mut data =
            try_with_capacity::<A>(len, "array data").map_err(|e| e.in_file(&self.path))?;
        data.resize(len, self.fill::<A>()?);
        let mut out = ArrayD::from_shape_vec(IxDyn(&shape), data)
            .expect("the vector holds the array's elements");
        self.read_into(out.view_mut())?;
        Ok(out
            .into_dimensionality::<D>()
            .expect("the number of axes was checked"))
    }

    /// The fill value as an `A`.
    fn fill<A: ZarrElement>(&self) -> Result<A> {
        bytemuck::checked::try_pod_read_unaligned(self.array.fill_value().as_ne_bytes()).map_err(
            |e| {
                zarr_error(
                    &self.path,
                    format!("the fill value is not a valid {}: {e}", A::NAME),
                )
            },
        )
    }

    /// Decodes the whole array into `out` (of the array's shape, any layout): a
    /// `.npy` created and mapped with [`create_npy`](crate::create_npy) takes a store
    /// without a copy of it in memory. Chunks are decoded in parallel, a row of
    /// chunks along axis 0 at a time per thread.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("i.zarr");
    /// use npmap::ndarray::{Array1, array};
    /// npmap::zarr::save(&path, &array![1u32, 2, 3, 4, 5], &[2], &Default::default())?;
    /// let mut out = Array1::<u32>::zeros(5);
    /// npmap::zarr::open(&path)?.read_into(out.view_mut())?;
    /// assert_eq!(out, array![1, 2, 3, 4, 5]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DTypeMismatch`] when `A` is not the array's element type,
    /// [`ErrorKind::Zarr`] when `out` has another shape or a chunk cannot be read.
    pub fn read_into<A: ZarrElement, D: Dimension>(
        &self,
        out: ArrayViewMut<'_, A, D>,
    ) -> Result<()> {
        self.check_type::<A>()?;
        let mut out: ArrayViewMutD<'_, A> = out.into_dyn();
        if out.shape() != self.shape() {
            return Err(zarr_error(
                &self.path,
                format!(
                    "cannot read into an array of shape {:?}: expected the store's shape {:?}",
                    out.shape(),
                    self.shape()
                ),
            ));
        }
        if out.is_empty() {
            return Ok(());
        }
        if out.ndim() == 0 {
            out.assign(&self.chunk::<A>(&[])?.view());
            return Ok(());
        }
        out.axis_chunks_iter_mut(Axis(0), self.chunk_shape[0])
            .into_par_iter()
            .enumerate()
            .try_for_each(|(row, slab)| self.read_row(row, slab))
    }

    /// Rows `rows` along axis 0 (whole along the other axes), decoding only the rows of
    /// chunks they touch: the first rows of a store larger than memory, for example.
    /// `rows` is cut at the array's end.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("rows.zarr");
    /// use npmap::ndarray::{Array2, Ix2, s};
    /// let x = Array2::from_shape_fn((10, 3), |(i, j)| (i * 3 + j) as u16);
    /// npmap::zarr::save(&path, &x, &[4, 2], &Default::default())?;
    /// let z = npmap::zarr::open(&path)?;
    /// assert_eq!(z.read_rows::<u16, Ix2>(3..6)?, x.slice(s![3..6, ..]));
    /// assert_eq!(z.read_rows::<u16, Ix2>(8..100)?, x.slice(s![8.., ..]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ZarrArray::read`]; also [`ErrorKind::Zarr`] for a 0-d array (it has no rows).
    pub fn read_rows<A: ZarrElement, D: Dimension>(
        &self,
        rows: std::ops::Range<usize>,
    ) -> Result<Array<A, D>> {
        self.check_type::<A>()?;
        let shape = self.shape().to_vec();
        if shape.is_empty() {
            return Err(zarr_error(&self.path, "a 0-d array has no rows to read"));
        }
        crate::npy::dimension::<D>(&shape).map_err(|e| e.in_file(&self.path))?;
        let end = rows.end.min(shape[0]);
        let start = rows.start.min(end);
        let row_len: usize = shape[1..].iter().product();
        let mut out_shape = shape.clone();
        out_shape[0] = end - start;
        let fill = self.fill::<A>()?;
        let len = (end - start) * row_len;
        let mut data =
            try_with_capacity::<A>(len, "array rows").map_err(|e| e.in_file(&self.path))?;
        data.resize(len, fill);
        let mut out = ArrayD::from_shape_vec(IxDyn(&out_shape), data)
            .expect("the vector holds the rows' elements");
        if len > 0 {
            let c0 = self.chunk_shape[0];
            for row in start / c0..end.div_ceil(c0) {
                let first = row * c0;
                let count = c0.min(shape[0] - first);
                let mut slab_shape = shape.clone();
                slab_shape[0] = count;
                let mut slab = try_with_capacity::<A>(count * row_len, "a row of Zarr chunks")
                    .map_err(|e| e.in_file(&self.path))?;
                slab.resize(count * row_len, fill);
                let mut slab = ArrayD::from_shape_vec(IxDyn(&slab_shape), slab)
                    .expect("the vector holds the slab's elements");
                self.read_row(row, slab.view_mut())?;
                let (from, to) = (first.max(start), (first + count).min(end));
                out.slice_axis_mut(Axis(0), ndarray::Slice::from(from - start..to - start))
                    .assign(
                        &slab.slice_axis(Axis(0), ndarray::Slice::from(from - first..to - first)),
                    );
            }
        }
        Ok(out
            .into_dimensionality::<D>()
            .expect("the number of axes was checked"))
    }

    /// Decodes the chunks of row `row` of the chunk grid (along axis 0; in parallel)
    /// into `slab`, that row's part of the array.
    fn read_row<A: ZarrElement>(&self, row: usize, mut slab: ArrayViewMutD<'_, A>) -> Result<()> {
        let rest: Vec<usize> = self.grid[1..].to_vec();
        let per_row: usize = rest.iter().product();
        let decoded: Vec<(Vec<usize>, Chunk<A>)> = (0..per_row)
            .into_par_iter()
            .map(|j| {
                let mut index = vec![row];
                index.extend(unravel(j, &rest));
                let chunk = self.chunk::<A>(&index)?;
                Ok((index, chunk))
            })
            .collect::<Result<_>>()?;
        for (index, chunk) in decoded {
            let view = chunk.view();
            let (mut region, _) = self.region(&index);
            region[0] = SliceInfoElem::from(0..view.shape()[0]);
            slab.slice_mut(region.as_slice()).assign(&view);
        }
        Ok(())
    }

    /// Writes the array as a `.npy` at `path`, byte for byte what `np.save` writes for
    /// it, without holding the whole array in memory: one row of chunks (along axis 0)
    /// at a time is decoded (its chunks in parallel) and written, into a temporary file
    /// beside `path` that is synced and then renamed over it, as
    /// [`save_npy`](crate::save_npy) does.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// use npmap::ndarray::Array2;
    /// let x = Array2::from_shape_fn((7, 3), |(i, j)| (i * 3 + j) as i32);
    /// npmap::save_npy(dir.path().join("x.npy"), &x)?;
    /// npmap::zarr::save(dir.path().join("x.zarr"), &x, &[2, 2], &Default::default())?;
    /// npmap::zarr::open(dir.path().join("x.zarr"))?.save_npy(dir.path().join("back.npy"))?;
    /// assert_eq!(std::fs::read(dir.path().join("back.npy")).unwrap(),
    ///            std::fs::read(dir.path().join("x.npy")).unwrap());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Zarr`] when a chunk cannot be read, [`ErrorKind::OutOfMemory`] when
    /// a row of chunks does not fit in memory, [`ErrorKind::Io`] (naming `path`) when
    /// the file cannot be written, synced or renamed; `path` is then untouched.
    pub fn save_npy(&self, path: impl AsRef<Path>) -> Result<()> {
        let dtype = self.dtype().clone();
        crate::with_element_type!(dtype, T => self.save_npy_as::<T>(path.as_ref()), else Err(zarr_error(
            &self.path,
            format!("dtype '{}' cannot be written", dtype.descr()),
        )))
    }

    fn save_npy_as<A: ZarrElement>(&self, path: &Path) -> Result<()> {
        let shape = self.shape().to_vec();
        let header = Header::encode(self.dtype(), false, &shape);
        let io = |e| Error::io(path, "write", e);
        atomic_write(path, Durability::Synced, |file| {
            reserve_space(file, header.len() as u64 + self.header.data_len(), path)?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            out.write_all(&header).map_err(io)?;
            if self.header.is_empty() {
                return out.flush().map_err(io);
            }
            if shape.is_empty() {
                let chunk = self.chunk::<A>(&[])?;
                let value = chunk.view()[[]];
                out.write_all(bytemuck::bytes_of(&value)).map_err(io)?;
                return out.flush().map_err(io);
            }
            let fill = self.fill::<A>()?;
            let row_len: usize = shape[1..].iter().product();
            for row in 0..self.grid[0] {
                let start = row * self.chunk_shape[0];
                let rows = self.chunk_shape[0].min(shape[0] - start);
                let mut slab_shape = shape.clone();
                slab_shape[0] = rows;
                let mut data = try_with_capacity::<A>(rows * row_len, "a row of Zarr chunks")
                    .map_err(|e| e.in_file(&self.path))?;
                data.resize(rows * row_len, fill);
                let mut slab = ArrayD::from_shape_vec(IxDyn(&slab_shape), data)
                    .expect("the vector holds the slab's elements");
                self.read_row(row, slab.view_mut())?;
                let data = slab.into_raw_vec_and_offset().0;
                out.write_all(bytemuck::cast_slice(&data)).map_err(io)?;
            }
            out.flush().map_err(io)
        })
    }

    /// The moments of every element (missing chunks count as fill-value elements):
    /// each chunk reduced with [`ParStats::par_moments`], in parallel, and the chunks'
    /// moments merged in C order of the chunk grid, so the result does not depend on
    /// the number of threads. It agrees with `par_moments` over the same array in
    /// memory to rounding (the merge tree differs): 1e-12 relative in tests.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("m.zarr");
    /// use npmap::ndarray::Array1;
    /// let x = Array1::from_iter((0..1000).map(f64::from));
    /// npmap::zarr::save(&path, &x, &[64], &Default::default())?;
    /// let m = npmap::zarr::open(&path)?.par_moments()?;
    /// assert_eq!((m.count(), m.sum(), m.min(), m.max()), (1000, 499_500.0, 0.0, 999.0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Zarr`] when the dtype is complex (no moments) or a chunk cannot be
    /// read.
    pub fn par_moments(&self) -> Result<Moments> {
        let dtype = self.dtype().clone();
        crate::with_element_type!(real dtype, T => self.moments::<T, false>(), else Err(self.not_real()))
    }

    /// [`ZarrArray::par_moments`] of the non-NaN elements (NumPy's `nanmean`, `nanstd`,
    /// ...), chunk by chunk as `par_moments`.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("n.zarr");
    /// use npmap::ndarray::array;
    /// npmap::zarr::save(&path, &array![1.0f64, f64::NAN, 3.0], &[2], &Default::default())?;
    /// let m = npmap::zarr::open(&path)?.par_nan_moments()?;
    /// assert_eq!((m.count(), m.mean()), (2, 2.0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ZarrArray::par_moments`].
    pub fn par_nan_moments(&self) -> Result<Moments> {
        let dtype = self.dtype().clone();
        crate::with_element_type!(real dtype, T => self.moments::<T, true>(), else Err(self.not_real()))
    }

    /// Moments along `axis`, one per lane, as [`ParStats::par_moments_axis`] over the
    /// array in memory (to rounding): each chunk reduced along `axis`, and the chunks'
    /// results merged in C order of the chunk grid (so in the order of `axis` within
    /// each lane), independent of the number of threads.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.zarr");
    /// use npmap::ndarray::{array, Axis};
    /// npmap::zarr::save(&path, &array![[1.0f32, 10.0], [3.0, 30.0], [5.0, 50.0]], &[2, 1], &Default::default())?;
    /// let cols = npmap::zarr::open(&path)?.par_moments_axis(Axis(0))?;
    /// assert_eq!((cols[[0]].mean(), cols[[1]].mean(), cols[[1]].max()), (3.0, 30.0, 50.0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Zarr`] when `axis` is out of bounds, the dtype is complex or a
    /// chunk cannot be read.
    pub fn par_moments_axis(&self, axis: Axis) -> Result<ArrayD<Moments>> {
        self.check_axis(axis)?;
        let dtype = self.dtype().clone();
        crate::with_element_type!(real dtype, T => self.moments_axis::<T, false>(axis), else Err(self.not_real()))
    }

    /// [`ZarrArray::par_moments_axis`] of the non-NaN elements of each lane.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("na.zarr");
    /// use npmap::ndarray::{array, Axis};
    /// npmap::zarr::save(&path, &array![[1.0f32, f32::NAN], [3.0, 5.0]], &[1, 2], &Default::default())?;
    /// let cols = npmap::zarr::open(&path)?.par_nan_moments_axis(Axis(0))?;
    /// assert_eq!((cols[[0]].mean(), cols[[1]].mean(), cols[[1]].count()), (2.0, 5.0, 1));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ZarrArray::par_moments_axis`].
    pub fn par_nan_moments_axis(&self, axis: Axis) -> Result<ArrayD<Moments>> {
        self.check_axis(axis)?;
        let dtype = self.dtype().clone();
        crate::with_element_type!(real dtype, T => self.moments_axis::<T, true>(axis), else Err(self.not_real()))
    }

    fn check_axis(&self, axis: Axis) -> Result<()> {
        if axis.index() >= self.shape().len() {
            return Err(zarr_error(
                &self.path,
                format!(
                    "axis {} is out of bounds for an array of dimension {}",
                    axis.index(),
                    self.shape().len()
                ),
            ));
        }
        Ok(())
    }

    fn not_real(&self) -> Error {
        zarr_error(
            &self.path,
            format!(
                "statistics need a real dtype; the array's is '{}' ({})",
                self.dtype().descr(),
                self.dtype().name()
            ),
        )
    }

    /// The number of chunks.
    fn chunk_count(&self) -> usize {
        if self.header.is_empty() {
            0
        } else {
            self.grid.iter().product()
        }
    }

    fn moments<A: ZarrElement + StatElement, const SKIP_NAN: bool>(&self) -> Result<Moments> {
        let mut total = Moments::new();
        let count = self.chunk_count();
        for start in (0..count).step_by(CHUNKS_PER_ROUND) {
            let round: Vec<Moments> = (start..(start + CHUNKS_PER_ROUND).min(count))
                .into_par_iter()
                .map(|k| {
                    let chunk = self.chunk::<A>(&unravel(k, &self.grid))?;
                    Ok(match SKIP_NAN {
                        true => chunk.view().par_nan_moments(),
                        false => chunk.view().par_moments(),
                    })
                })
                .collect::<Result<_>>()?;
            total = round.iter().fold(total, |acc, m| acc.merge(m));
        }
        Ok(total)
    }

    fn moments_axis<A: ZarrElement + StatElement, const SKIP_NAN: bool>(
        &self,
        axis: Axis,
    ) -> Result<ArrayD<Moments>> {
        let mut lanes = self.shape().to_vec();
        lanes.remove(axis.index());
        let lane_count: usize = lanes.iter().product();
        let mut acc = try_with_capacity::<Moments>(lane_count, "moments")
            .map_err(|e| e.in_file(&self.path))?;
        acc.resize(lane_count, Moments::new());
        let mut acc = ArrayD::from_shape_vec(IxDyn(&lanes), acc).expect("one moments per lane");
        let count = self.chunk_count();
        for start in (0..count).step_by(CHUNKS_PER_ROUND) {
            let round: Vec<(Vec<usize>, ArrayD<Moments>)> = (start
                ..(start + CHUNKS_PER_ROUND).min(count))
                .into_par_iter()
                .map(|k| {
                    let index = unravel(k, &self.grid);
                    let chunk = self.chunk::<A>(&index)?;
                    let moments = match SKIP_NAN {
                        true => chunk.view().par_nan_moments_axis(axis),
                        false => chunk.view().par_moments_axis(axis),
                    };
                    Ok((index, moments))
                })
                .collect::<Result<_>>()?;
            for (index, moments) in round {
                let (mut region, _) = self.region(&index);
                region.remove(axis.index());
                acc.slice_mut(region.as_slice())
                    .zip_mut_with(&moments, |a, m| *a = a.merge(m));
            }
        }
        Ok(acc)
    }
}

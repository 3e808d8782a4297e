//! Dask's npy-stack: one logical array kept as a directory of `.npy` blocks along
//! one axis (`0.npy`, `1.npy`, ...) and an `info` pickle naming the blocks' lengths
//! (`chunks`), the `dtype` and the `axis`. `dask.array.to_npy_stack` writes this
//! layout and `dask.array.from_npy_stack` maps it; [`save`] and [`open`] are their
//! counterparts, so an array moves between Rust and a Dask cluster on shared storage
//! without a copy in either direction.
//!
//! The `info` pickle is read by the restricted unpickler of [`crate::joblib`] (nothing
//! in it is run) and written in the protocol-4 form Python's `pickle.dump` gives.
//!
//! May import: crate::error, crate::format, crate::fs, crate::cast, crate::npy, crate::compute, crate::joblib.
//!
//! ```
//! # fn main() -> npmap::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let stack_dir = dir.path().join("x.npys");
//! use npmap::MmapMode;
//! use npmap::ndarray::{Array2, Axis, Ix2};
//! let x = Array2::<f64>::from_shape_fn((10, 3), |(i, j)| (i * 3 + j) as f64);
//! // Blocks of 4 rows: 0.npy (4, 3), 1.npy (4, 3), 2.npy (2, 3), as
//! // dask.array.to_npy_stack(dir, da.from_array(x, chunks=(4, 3)), axis=0) writes.
//! npmap::npy_stack::save(&stack_dir, &x, Axis(0), 4)?;
//! // SAFETY: nothing truncates or rewrites the blocks while they are mapped.
//! let s = unsafe { npmap::npy_stack::open(&stack_dir, MmapMode::ReadOnly)? };
//! assert_eq!((s.shape(), s.axis(), s.block_lens()), (&[10, 3][..], Axis(0), &[4, 4, 2][..]));
//! assert_eq!(s.read::<f64, Ix2>()?, x);
//! assert_eq!(s.par_moments::<f64>()?.mean(), 14.5);
//! # Ok(()) }
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::{Array, ArrayRef, ArrayView, Axis, Dimension, IxDyn, Slice};
use rayon::prelude::*;

use crate::compute::kernels::StatElement;
use crate::compute::moments::Moments;
use crate::compute::par_stats::ParStats;
use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::DType;
use crate::format::element::Element;
use crate::format::header::Header;
use crate::fs::durable_dir::TempDir;
use crate::npy::save::save_npy;
use crate::npy::{MmapMode, NpyFile};

mod info;

use info::StackInfo;

/// The most bytes an `info` pickle may take: a few hundred bytes for any array Dask
/// writes, a few MB for one of a million blocks.
const MAX_INFO_BYTES: u64 = 64 << 20;

/// Writes `array` as a Dask npy-stack in the directory `dir`: blocks of `block_len`
/// along `axis` (the last one shorter when the length does not divide), each a
/// `.npy` file as `np.save` writes it, and the `info` pickle, as
/// `dask.array.to_npy_stack(dir, x.rechunk({axis: block_len}), axis)` writes them.
///
/// The blocks are written in parallel into a temporary directory beside `dir`, each
/// synced, `info` last; the directory is then renamed to `dir`, so a reader (or a
/// crash) sees no stack or the whole one. An existing npy-stack (a directory holding
/// `info`) or an empty directory at `dir` is replaced; any other directory or file is
/// left alone and refused.
///
/// See the [module](self) for an example.
///
/// # Errors
///
/// - [`ErrorKind::BadStack`] when `block_len` is 0, `axis` is not an axis of `array`
///   (a 0-d array has none), or `dir` holds something other than an npy-stack.
/// - [`ErrorKind::Io`] when a block, `info` or the directory cannot be written,
///   synced or renamed (nothing is left at `dir` but what was there).
pub fn save<A: Element, D: Dimension>(
    dir: impl AsRef<Path>,
    array: &ArrayRef<A, D>,
    axis: Axis,
    block_len: usize,
) -> Result<()> {
    let dir = dir.as_ref();
    let bad = |reason: String| Error::at(dir, ErrorKind::BadStack { reason });
    if axis.index() >= array.ndim() {
        return Err(bad(format!(
            "axis {} of an array of {} dimensions",
            axis.index(),
            array.ndim()
        )));
    }
    if block_len == 0 {
        return Err(bad("a block length of 0".into()));
    }
    let len = array.len_of(axis);
    // Dask keeps one (empty) block for an axis of length 0.
    let block_lens: Vec<usize> = if len == 0 {
        vec![0]
    } else {
        (0..len.div_ceil(block_len))
            .map(|i| block_len.min(len - i * block_len))
            .collect()
    };
    let info = StackInfo {
        shape: array.shape().to_vec(),
        axis: axis.index(),
        block_lens,
        dtype: A::dtype(),
    };
    let temp = TempDir::beside(dir)?;
    let starts: Vec<usize> = info
        .block_lens
        .iter()
        .scan(0, |at, &n| {
            let start = *at;
            *at += n;
            Some(start)
        })
        .collect();
    starts
        .par_iter()
        .zip(&info.block_lens)
        .enumerate()
        .try_for_each(|(i, (&start, &n))| {
            let block = array.slice_axis(axis, Slice::from(start..start + n));
            save_npy(temp.path().join(format!("{i}.npy")), &block)
        })?;
    let info_path = temp.path().join("info");
    crate::fs::durable::atomic_write(&info_path, crate::fs::durable::Durability::Synced, |file| {
        use std::io::Write;
        let mut out = file;
        out.write_all(&info.to_pickle())
            .map_err(|e| Error::io(&info_path, "write", e))
    })?;
    temp.publish(dir, |existing| {
        if existing.join("info").is_file() {
            Ok(())
        } else {
            Err(bad(
                "the directory exists and is not an npy-stack (it has no info file); remove it or choose another".into(),
            ))
        }
    })
}

/// Opens the npy-stack in the directory `dir` and maps its blocks in `mode`, as
/// `dask.array.from_npy_stack(dir, mmap_mode)` does: one logical array whose blocks
/// are zero-copy views (see the [module](self) for an example).
///
/// # Errors
///
/// - [`ErrorKind::Io`] when `info` or a block cannot be opened or read.
/// - [`ErrorKind::BadStack`] when `info` is not the dict Dask writes (`chunks`, a
///   tuple of tuples of lengths, one per dimension, all but the stacking axis with a
///   single length; `dtype`; `axis`), or a block's shape or dtype is not the one
///   `info` gives it; [`ErrorKind::Pickle`] when `info` is not a pickle the restricted
///   unpickler reads.
/// - The errors of [`NpyFile::open`] for a block that is not a valid `.npy` file.
///
/// # Safety
///
/// The blocks are mapped: see the [contract on `NpyFile`](crate::NpyFile#safety),
/// which covers every block file.
pub unsafe fn open(dir: impl AsRef<Path>, mode: MmapMode) -> Result<NpyStack> {
    let dir = dir.as_ref();
    let info_path = dir.join("info");
    let info =
        StackInfo::from_pickle(&read_info(&info_path)?).map_err(|e| e.in_file(&info_path))?;
    let mut blocks = Vec::new();
    blocks
        .try_reserve_exact(info.block_lens.len())
        .map_err(|_| crate::cast::out_of_memory::<NpyFile>(info.block_lens.len(), "blocks"))?;
    for (i, &n) in info.block_lens.iter().enumerate() {
        let path = dir.join(format!("{i}.npy"));
        // SAFETY: forwarded from the caller, whose contract covers every block.
        let block = unsafe { NpyFile::open(&path, mode) }?;
        let mut expected = info.shape.clone();
        expected[info.axis] = n;
        let header = block.header();
        if header.shape != expected {
            return Err(Error::at(
                &path,
                ErrorKind::BadStack {
                    reason: format!(
                        "block {i} should have shape {expected:?} (info's chunks), found {:?}",
                        header.shape
                    ),
                },
            ));
        }
        if header.dtype != info.dtype {
            return Err(Error::at(
                &path,
                ErrorKind::BadStack {
                    reason: format!(
                        "block {i} should hold '{}' (info's dtype), found '{}'",
                        info.dtype.descr(),
                        header.dtype.descr()
                    ),
                },
            ));
        }
        blocks.push(block);
    }
    let header = Header::of_array(&info.dtype, false, &info.shape).map_err(|e| e.in_file(dir))?;
    Ok(NpyStack {
        dir: dir.to_path_buf(),
        info,
        header,
        blocks,
    })
}

fn read_info(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    if len > MAX_INFO_BYTES {
        return Err(Error::at(
            path,
            ErrorKind::BadStack {
                reason: format!(
                    "info takes {len} bytes; an npy-stack's takes at most {MAX_INFO_BYTES}"
                ),
            },
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_INFO_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, "read", e))?;
    Ok(bytes)
}

/// An open npy-stack: its blocks, mapped, and what `info` says of them.
///
/// See the [module](self) for an example.
#[derive(Debug)]
pub struct NpyStack {
    dir: PathBuf,
    info: StackInfo,
    /// The header `np.save` would write for the logical array.
    header: Header,
    blocks: Vec<NpyFile>,
}

impl NpyStack {
    /// The directory.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// # npmap::npy_stack::save(&d, &npmap::ndarray::arr1(&[1u8, 2]), npmap::ndarray::Axis(0), 1)?;
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(s.dir(), d);
    /// # Ok(()) }
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The logical array's shape: the blocks' shape with their lengths along
    /// [`axis`](NpyStack::axis) added up.
    ///
    /// See the [module](crate::npy_stack) for an example.
    pub fn shape(&self) -> &[usize] {
        &self.info.shape
    }

    /// The header `np.save` would write for the logical array (C order): its dtype,
    /// shape and size, and what converting the stack to one `.npy` produces.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// # npmap::npy_stack::save(&d, &npmap::ndarray::Array2::<f64>::zeros((5, 3)), npmap::ndarray::Axis(0), 2)?;
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// let h = s.header();
    /// assert_eq!((h.shape.as_slice(), h.data_len(), h.fortran_order), (&[5, 3][..], 120, false));
    /// # Ok(()) }
    /// ```
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The axis the blocks are stacked along.
    ///
    /// See the [module](crate::npy_stack) for an example.
    pub fn axis(&self) -> Axis {
        Axis(self.info.axis)
    }

    /// The dtype of every block.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// # npmap::npy_stack::save(&d, &npmap::ndarray::arr1(&[1.5f32]), npmap::ndarray::Axis(0), 1)?;
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(s.dtype().descr(), "<f4");
    /// # Ok(()) }
    /// ```
    pub fn dtype(&self) -> &DType {
        &self.info.dtype
    }

    /// The blocks' lengths along the axis (`info['chunks'][axis]`).
    ///
    /// See the [module](crate::npy_stack) for an example.
    pub fn block_lens(&self) -> &[usize] {
        &self.info.block_lens
    }

    /// The blocks, `0.npy` first, as mapped files: for headers, advice, or
    /// `view_mut` through [`blocks_mut`](NpyStack::blocks_mut).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// # npmap::npy_stack::save(&d, &npmap::ndarray::arr1(&[1u8, 2, 3]), npmap::ndarray::Axis(0), 2)?;
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(s.blocks()[1].path(), d.join("1.npy"));
    /// assert_eq!(s.blocks()[1].header().shape, [1]);
    /// # Ok(()) }
    /// ```
    pub fn blocks(&self) -> &[NpyFile] {
        &self.blocks
    }

    /// The blocks, mutable: with [`MmapMode::ReadWrite`], a block's `view_mut`
    /// writes through to its file, as `from_npy_stack(dir, mmap_mode='r+')` does.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// use npmap::ndarray::{Axis, Ix1, arr1};
    /// npmap::npy_stack::save(&d, &arr1(&[1u8, 2, 3]), Axis(0), 2)?;
    /// let mut s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadWrite)? };
    /// s.blocks_mut()[1].view_mut::<u8, Ix1>()?[0] = 9;
    /// drop(s);
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(s.read::<u8, Ix1>()?, arr1(&[1, 2, 9]));
    /// # Ok(()) }
    /// ```
    pub fn blocks_mut(&mut self) -> &mut [NpyFile] {
        &mut self.blocks
    }

    /// Each block as a zero-copy view (native byte order and alignment needed, as
    /// for [`NpyFile::view`]).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// use npmap::ndarray::{Axis, Ix1, arr1};
    /// npmap::npy_stack::save(&d, &arr1(&[1u8, 2, 3]), Axis(0), 2)?;
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// let views = s.views::<u8, Ix1>()?;
    /// assert_eq!((views[0].to_vec(), views[1].to_vec()), (vec![1, 2], vec![3]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpyFile::view`], for the first block that cannot be viewed as `A`, `D`.
    pub fn views<A: Element, D: Dimension>(&self) -> Result<Vec<ArrayView<'_, A, D>>> {
        self.blocks.iter().map(|b| b.view::<A, D>()).collect()
    }

    /// The logical array, copied into memory (blocks converted from another byte
    /// order as [`NpyFile::cow`] does).
    ///
    /// See the [module](crate::npy_stack) for an example.
    ///
    /// # Errors
    ///
    /// As [`NpyFile::cow`]; [`ErrorKind::OutOfMemory`] when the array cannot be
    /// allocated.
    pub fn read<A: Element, D: Dimension>(&self) -> Result<Array<A, D>> {
        let shape = &self.info.shape;
        crate::npy::dimension::<D>(shape).map_err(|e| e.in_file(&self.dir))?;
        let blocks = self
            .blocks
            .iter()
            .map(|b| b.cow::<A, IxDyn>())
            .collect::<Result<Vec<_>>>()?;
        // Every element is assigned below; the first one fills the array until then.
        let first = blocks.iter().find_map(|b| b.iter().next().copied());
        let data = match first {
            None => Vec::new(),
            Some(first) => {
                let len = shape
                    .iter()
                    .try_fold(1usize, |n, &d| n.checked_mul(d))
                    .ok_or_else(|| crate::cast::out_of_memory::<A>(usize::MAX, "npy-stack"))
                    .map_err(|e| e.in_file(&self.dir))?;
                crate::cast::try_filled(len, first, "npy-stack")
                    .map_err(|e| e.in_file(&self.dir))?
            }
        };
        let mut out = Array::from_shape_vec(IxDyn(shape), data)
            .expect("the blocks' lengths add up to the shape, checked on open");
        let mut start = 0;
        for (block, &n) in blocks.iter().zip(&self.info.block_lens) {
            out.slice_axis_mut(self.axis(), Slice::from(start..start + n))
                .assign(block);
            start += n;
        }
        Ok(out
            .into_dimensionality::<D>()
            .expect("the number of dimensions was checked"))
    }

    /// Count, sum, mean, M2, min and max of every element, one pass: each block's
    /// [`par_moments`](ParStats::par_moments), merged in block order, so the result
    /// is the same whatever the number of threads. Against the same statistics over
    /// one `.npy` file of the whole array it differs by rounding only: about 1e-15
    /// relative for `f64` data; for `f32` and `f16` data, whose kernels sum in `f32`
    /// over groups of 8 values that start where a block starts, about 1e-9 of the
    /// values' magnitude.
    ///
    /// See the [module](crate::npy_stack) for an example.
    ///
    /// # Errors
    ///
    /// As [`NpyFile::cow`] when a block does not hold `A`.
    pub fn par_moments<A: Element + StatElement>(&self) -> Result<Moments> {
        self.merged(|block: &ArrayView<'_, A, IxDyn>| block.par_moments())
    }

    /// [`par_moments`](NpyStack::par_moments) of the values that are not NaN, as
    /// [`ParStats::par_nan_moments`] (NumPy's `nanmean`, `nanstd`, ...).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// use npmap::ndarray::{Axis, arr1};
    /// npmap::npy_stack::save(&d, &arr1(&[1.0f64, f64::NAN, 3.0]), Axis(0), 2)?;
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// assert!(s.par_moments::<f64>()?.mean().is_nan());
    /// assert_eq!(s.par_nan_moments::<f64>()?.mean(), 2.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`par_moments`](NpyStack::par_moments).
    pub fn par_nan_moments<A: Element + StatElement>(&self) -> Result<Moments> {
        self.merged(|block: &ArrayView<'_, A, IxDyn>| block.par_nan_moments())
    }

    /// Each block's `reduce`, merged in block order.
    fn merged<A: Element>(
        &self,
        reduce: impl Fn(&ArrayView<'_, A, IxDyn>) -> Moments,
    ) -> Result<Moments> {
        let mut all = Moments::new();
        for block in &self.blocks {
            all = all.merge(&reduce(&block.cow::<A, IxDyn>()?.view()));
        }
        Ok(all)
    }

    /// The moments along `axis` (as [`ParStats::par_moments_axis`]): one per lane,
    /// in an array of the logical shape without `axis`. Along the stacking axis the
    /// blocks' results merge lane by lane in block order; along another axis each
    /// block gives the lanes it holds.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// use npmap::ndarray::{Array2, Axis};
    /// let x = Array2::<f32>::from_shape_fn((5, 2), |(i, j)| (i * 2 + j) as f32);
    /// npmap::npy_stack::save(&d, &x, Axis(0), 2)?;
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// let columns = s.par_moments_axis::<f32>(Axis(0))?;
    /// assert_eq!((columns[[0]].mean(), columns[[1]].max()), (4.0, 9.0));
    /// let rows = s.par_moments_axis::<f32>(Axis(1))?;
    /// assert_eq!(rows.shape(), &[5]);
    /// assert_eq!(rows[[4]].sum(), 17.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::BadStack`] when `axis` is not an axis of the array; as
    /// [`NpyFile::cow`] when a block does not hold `A`.
    pub fn par_moments_axis<A: Element + StatElement>(
        &self,
        axis: Axis,
    ) -> Result<Array<Moments, IxDyn>> {
        self.merged_axis(axis, |block: &ArrayView<'_, A, IxDyn>, axis| {
            block.par_moments_axis(axis)
        })
    }

    /// [`par_moments_axis`](NpyStack::par_moments_axis) of the values that are not
    /// NaN, as [`ParStats::par_nan_moments_axis`].
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let d = dir.path().join("s");
    /// use npmap::ndarray::{Axis, arr2};
    /// npmap::npy_stack::save(&d, &arr2(&[[1.0f32, f32::NAN], [3.0, 4.0]]), Axis(0), 1)?;
    /// let s = unsafe { npmap::npy_stack::open(&d, npmap::MmapMode::ReadOnly)? };
    /// let columns = s.par_nan_moments_axis::<f32>(Axis(0))?;
    /// assert_eq!((columns[[0]].mean(), columns[[1]].mean()), (2.0, 4.0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`par_moments_axis`](NpyStack::par_moments_axis).
    pub fn par_nan_moments_axis<A: Element + StatElement>(
        &self,
        axis: Axis,
    ) -> Result<Array<Moments, IxDyn>> {
        self.merged_axis(axis, |block: &ArrayView<'_, A, IxDyn>, axis| {
            block.par_nan_moments_axis(axis)
        })
    }

    /// Each block's `reduce` along `axis`: merged lane by lane in block order along
    /// the stacking axis, else the blocks' lanes side by side.
    fn merged_axis<A: Element>(
        &self,
        axis: Axis,
        reduce: impl Fn(&ArrayView<'_, A, IxDyn>, Axis) -> Array<Moments, IxDyn>,
    ) -> Result<Array<Moments, IxDyn>> {
        let ndim = self.info.shape.len();
        if axis.index() >= ndim {
            return Err(Error::at(
                &self.dir,
                ErrorKind::BadStack {
                    reason: format!("axis {} of an array of {ndim} dimensions", axis.index()),
                },
            ));
        }
        let mut parts = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            parts.push(reduce(&block.cow::<A, IxDyn>()?.view(), axis));
        }
        if axis == self.axis() {
            // `info` names at least one block.
            let mut parts = parts.into_iter();
            let mut merged = parts.next().expect("an npy-stack has a block");
            for part in parts {
                merged.zip_mut_with(&part, |m, p| *m = m.merge(p));
            }
            return Ok(merged);
        }
        let stacked = if self.info.axis > axis.index() {
            self.info.axis - 1
        } else {
            self.info.axis
        };
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        Ok(ndarray::concatenate(Axis(stacked), &views)
            .expect("the blocks' lanes have the shape info gives them"))
    }
}

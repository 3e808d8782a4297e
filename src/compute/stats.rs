//! Parallel one-pass statistics: [`Moments`] and the [`ParStats`] extension trait.
//!
//! # How the kernels work
//!
//! Data is cut into fixed-size blocks (4096 elements of the memory-order slice, or
//! tiles of up to 8192 elements — 262 144 for `f32` — rows × columns, for per-column
//! reductions). Each
//! block is reduced while it is hot in cache: vectorisable passes with 16 independent
//! `f64` accumulators give its sum, min and max, then the sum of squared deviations
//! from the block mean, so every block yields an accurate `(count, mean, M2)` — the
//! variance never comes from `E[x²] − E[x]²`.
//!
//! `f32` data (the common case, and the one that must run at memory speed) has its
//! own kernels that read each value once, from the deviations `d = x − shift` from a
//! shift taken from the data itself (the mean of 16 values spread over a task's slice
//! for whole-array reductions, a tile's first row per column): `d` and `d²` are
//! summed in `f32` over groups of 8 values of a lane (float32 summed in short blocks),
//! folded into `f64`, min and max kept in `f32`, and `(count, mean, M2)` follow
//! (`M2 = Σd² − (Σd)²/n`; a whole-array slice whose shift lies more than a standard
//! deviation from its mean is summed again around that mean). Doing the arithmetic in
//! `f32` is what lets one core keep up with memory; its cost is the `f32` rounding of
//! `d²` and of the 8-value sums, a few hundredths of an `f32` ulp of the variance:
//! relative errors of `f32` variances are about 1e-8 to 1e-9 at 10⁴ values and 1e-10
//! at 10⁸ (NumPy's `float32` `std()` is off by 4e-9 on 4·10⁸ values, its per-column
//! `std(axis=0)` by a factor of 20), against about 1e-15 for the other types.
//! Per-column reductions of rows 16 to 112 values wide hold every accumulator in
//! registers so that the rows stream at memory speed (relative error of a column's
//! variance about 1e-7 at 10⁴ rows, 3e-10 at 4·10⁶). Blocks holding NaN or
//! infinities go to the generic kernel. These inner loops are compiled for AVX-512
//! and AVX2 besides the baseline and chosen at run time (the `multiversion` crate);
//! every version performs the same operations in the same order, without fused
//! multiply-adds, so results do not depend on the CPU either.
//!
//! Blocks are merged with Chan et al.'s formula in a binary tree whose shape depends
//! only on the array's shape and memory layout, never on the number of threads:
//! results are bit-identical whatever the rayon pool size.
//!
//! Layouts: whole-array reductions read the memory-order slice of any contiguous
//! array and split other views along their outermost axis. Reductions along an axis
//! of a C- or F-contiguous array (or a 2-D view whose rows are contiguous) stream
//! through memory in order: tasks own bands of rows and keep per-column accumulators,
//! so memory use is O(threads × columns) plus the output, never proportional to the
//! input. Other strided views fall back to reducing each lane on its own.
//!
//! Accuracy: relative errors are of order `eps × |mean| / std` (per-block means are
//! stored in `f64`; `f32` variances as above), far below what naive `f32`
//! accumulation gives (NumPy's `float32` `std(axis=0)` can be off by a factor of 20). `i64`/`u64`
//! values beyond 2^53 are rounded to `f64`.
//!
//! # NaN and empty inputs
//!
//! The plain reductions propagate NaN like NumPy: one NaN makes mean, variance, min
//! and max NaN. The `nan` variants skip NaNs like `np.nanmean`. An empty input (or an
//! all-NaN one for the `nan` variants) has count 0, sum 0, and NaN mean, variance, min
//! and max (NumPy warns and returns NaN for the mean, and raises for min/max).

use std::ops::Range;

use std::sync::atomic::{AtomicU64, Ordering};

use multiversion::multiversion;
use ndarray::{
    Array, ArrayRef, ArrayView1, ArrayView2, ArrayViewD, Axis, Dimension, Ix2, ShapeBuilder, Zip,
};

/// Elements per block of the whole-array kernel.
const BLOCK: usize = 4096;
/// Blocks a single task reduces sequentially before the tree splits work.
const LEAF_BLOCKS: usize = 64;
/// Elements a single task reduces sequentially.
const LEAF_ELEMS: usize = BLOCK * LEAF_BLOCKS;
/// Independent accumulators in the first pass (lets the compiler vectorise).
const LANES: usize = 16;
/// Widest column tile of the per-column kernel.
const COL_TILE: usize = 1024;
/// Target elements per tile of the per-column kernel (fits in L2 for both passes).
const TILE_ELEMS: usize = 8192;
/// Target elements per tile of the one-pass `f32` per-column kernel (the tile is read
/// once, so it need not stay in cache; bigger tiles make the per-tile merges rare).
const F32_TILE_ELEMS: usize = 1 << 18;
/// Fewest rows per tile, so the per-tile merge cost stays small.
const MIN_TILE_ROWS: usize = 16;
/// Widest band of columns one per-column reduction handles; wider matrices are cut
/// into bands reduced in parallel.
const COLUMN_BAND: usize = 4 * COL_TILE;

mod sealed {
    use super::Moments;

    pub trait Sealed {
        /// A type-specific kernel for the moments of contiguous values (a block or a
        /// task's whole slice; NaN propagating), or `None` to use the generic one.
        fn fast_block_moments(_block: &[Self]) -> Option<Moments>
        where
            Self: Sized,
        {
            None
        }

        /// The values as `f32`s when the type is `f32` (for the per-column `f32` kernel).
        fn as_f32(_values: &[Self]) -> Option<&[f32]>
        where
            Self: Sized,
        {
            None
        }
    }
}

/// An element type the statistics kernels accept: `bool` (as 0/1), the integers
/// `i8`..`i64`, `u8`..`u64`, [`half::f16`], `f32` and `f64`.
///
/// The trait is sealed: it cannot be implemented outside this crate.
///
/// ```
/// use npmap::StatElement;
/// assert_eq!(true.to_f64(), 1.0);
/// assert_eq!((-3i8).to_f64(), -3.0);
/// assert!(!u8::CAN_BE_NAN && f32::CAN_BE_NAN);
/// ```
pub trait StatElement: Copy + Send + Sync + sealed::Sealed {
    /// Whether the type has NaN values (true for the float types only). When it is
    /// false, the `nan` reductions of [`ParStats`] run the plain kernels.
    ///
    /// ```
    /// use npmap::StatElement;
    /// assert!(f64::CAN_BE_NAN && npmap::half::f16::CAN_BE_NAN);
    /// assert!(!i64::CAN_BE_NAN && !bool::CAN_BE_NAN);
    /// ```
    const CAN_BE_NAN: bool;

    /// The value as `f64`: exact for every type except `i64`/`u64` beyond 2^53,
    /// which round to the nearest `f64`.
    ///
    /// ```
    /// use npmap::StatElement;
    /// assert_eq!(false.to_f64(), 0.0);
    /// assert_eq!(u64::MAX.to_f64(), 18_446_744_073_709_551_616.0); // 2^64, rounded
    /// assert_eq!(npmap::half::f16::from_f32(0.5).to_f64(), 0.5);
    /// ```
    fn to_f64(self) -> f64;
}

macro_rules! stat_element {
    ($($t:ty => $nan:expr, |$x:ident| $conv:expr;)*) => {$(
        impl StatElement for $t {
            const CAN_BE_NAN: bool = $nan;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                let $x = self;
                $conv
            }
        }
    )*};
}

macro_rules! generic_kernels {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
    )*};
}

generic_kernels!(bool, i8, i16, i32, i64, u8, u16, u32, u64, half::f16, f64);

impl sealed::Sealed for f32 {
    fn fast_block_moments(block: &[f32]) -> Option<Moments> {
        f32_block_moments(block)
    }

    fn as_f32(values: &[f32]) -> Option<&[f32]> {
        Some(values)
    }
}

stat_element! {
    bool => false, |x| u8::from(x) as f64;
    i8 => false, |x| x as f64;
    i16 => false, |x| x as f64;
    i32 => false, |x| x as f64;
    i64 => false, |x| x as f64;
    u8 => false, |x| x as f64;
    u16 => false, |x| x as f64;
    u32 => false, |x| x as f64;
    u64 => false, |x| x as f64;
    half::f16 => true, |x| x.to_f64();
    f32 => true, |x| x as f64;
    f64 => true, |x| x;
}

/// Count, sum, mean, sum of squared deviations (M2), min and max of a set of values:
/// everything a one-pass reduction needs for mean, variance and standard deviation.
///
/// Two `Moments` [`merge`](Moments::merge) exactly (Chan et al.), so partial results
/// from blocks or threads combine without a second pass.
///
/// Empty moments (count 0) report sum 0 and NaN for mean, variance, min and max.
/// Equality compares the stored fields, so moments holding NaN are never equal.
///
/// ```
/// use npmap::Moments;
/// let m = Moments::from_slice(&[1.0f64, 2.0, 3.0, 4.0]);
/// assert_eq!((m.count(), m.sum(), m.mean()), (4, 10.0, 2.5));
/// assert_eq!(m.var(0), 1.25);
/// assert_eq!((m.min(), m.max()), (1.0, 4.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for Moments {
    /// The empty moments, as [`Moments::new`].
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::default(), Moments::new());
    /// ```
    fn default() -> Self {
        Moments::new()
    }
}

impl Moments {
    /// The moments of no values: count 0, sum 0, mean/var/min/max NaN.
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::new();
    /// assert_eq!((m.count(), m.sum()), (0, 0.0));
    /// assert!(m.mean().is_nan() && m.min().is_nan() && m.var(0).is_nan());
    /// ```
    pub const fn new() -> Self {
        Moments {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// The moments of one value. A NaN or infinite value has NaN M2, as NumPy's
    /// variance of `[inf]` is NaN.
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::single(2.5);
    /// assert_eq!((m.count(), m.mean(), m.var(0), m.min()), (1, 2.5, 0.0, 2.5));
    /// ```
    pub fn single(x: f64) -> Self {
        Moments {
            count: 1,
            mean: x,
            m2: if x.is_finite() { 0.0 } else { f64::NAN },
            sum: x,
            min: x,
            max: x,
        }
    }

    /// The moments of a slice, sequentially, with the same block kernel the parallel
    /// reductions use (NaN propagates).
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::from_slice(&[1u8, 2, 3]);
    /// assert_eq!((m.mean(), m.var(1)), (2.0, 1.0));
    /// ```
    pub fn from_slice<A: StatElement>(values: &[A]) -> Self {
        sequential_slice_moments::<A, false>(values)
    }

    /// Adds one value (Welford's update, as a merge with [`Moments::single`]).
    ///
    /// ```
    /// use npmap::Moments;
    /// let mut m = Moments::new();
    /// for x in [2.0, 4.0, 6.0] {
    ///     m.push(x);
    /// }
    /// assert_eq!((m.count(), m.mean(), m.var(1)), (3, 4.0, 4.0));
    /// ```
    pub fn push(&mut self, x: f64) {
        *self = self.merge(&Moments::single(x));
    }

    /// The moments of the union of both sets of values (Chan et al.'s parallel formula).
    ///
    /// ```
    /// use npmap::Moments;
    /// let a = Moments::from_slice(&[1.0f64, 2.0]);
    /// let b = Moments::from_slice(&[3.0f64, 4.0, 5.0]);
    /// let all = a.merge(&b);
    /// assert_eq!((all.count(), all.mean(), all.var(0)), (5, 3.0, 2.0));
    /// assert_eq!((all.min(), all.max(), all.sum()), (1.0, 5.0, 15.0));
    /// ```
    pub fn merge(&self, other: &Moments) -> Moments {
        if other.count == 0 {
            return *self;
        }
        if self.count == 0 {
            return *other;
        }
        let count = self.count + other.count;
        let (na, nb, n) = (self.count as f64, other.count as f64, count as f64);
        let (mean, m2) = if self.mean == other.mean {
            (self.mean, self.m2 + other.m2)
        } else if !(self.mean.is_finite() && other.mean.is_finite()) {
            // Infinities (or NaN): the weighted mean follows IEEE arithmetic as NumPy's
            // `sum / n` does (inf with finite values stays inf, +inf with -inf is NaN);
            // the variance of values that include an infinity is NaN.
            (self.mean * (na / n) + other.mean * (nb / n), f64::NAN)
        } else {
            let delta = other.mean - self.mean;
            (
                self.mean + delta * (nb / n),
                self.m2 + other.m2 + delta * delta * (na * nb / n),
            )
        };
        Moments {
            count,
            mean,
            m2,
            sum: self.sum + other.sum,
            min: nan_propagating_min(self.min, other.min),
            max: nan_propagating_max(self.max, other.max),
        }
    }

    /// Number of values (for the `nan` reductions: of non-NaN values).
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[1.0f32, 2.0]).count(), 2);
    /// ```
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the values; 0 when empty (as `np.sum`).
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[true, true, false]).sum(), 2.0);
    /// ```
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Arithmetic mean; NaN when empty.
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[1i32, 2]).mean(), 1.5);
    /// ```
    pub fn mean(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.mean }
    }

    /// Sum of squared deviations from the mean (M2); NaN when empty.
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[1.0f64, 3.0]).m2(), 2.0);
    /// ```
    pub fn m2(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.m2 }
    }

    /// Variance `M2 / (count - ddof)`, `ddof` as in NumPy (0: population, 1: sample).
    ///
    /// When `ddof >= count` this returns NaN (NumPy warns and returns NaN or inf).
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::from_slice(&[1.0f64, 2.0, 3.0, 4.0]);
    /// assert_eq!((m.var(0), m.var(1)), (1.25, 5.0 / 3.0));
    /// assert!(m.var(4).is_nan());
    /// ```
    pub fn var(&self, ddof: usize) -> f64 {
        let ddof = ddof as u64;
        if ddof >= self.count {
            f64::NAN
        } else {
            self.m2 / (self.count - ddof) as f64
        }
    }

    /// Standard deviation, the square root of [`Moments::var`].
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[2.0f64, 4.0]).std(0), 1.0);
    /// ```
    pub fn std(&self, ddof: usize) -> f64 {
        self.var(ddof).sqrt()
    }

    /// Smallest value; NaN when empty or (plain reductions) when any value is NaN.
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[3i64, -7, 5]).min(), -7.0);
    /// ```
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// Largest value; NaN when empty or (plain reductions) when any value is NaN.
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[3i64, -7, 5]).max(), 5.0);
    /// ```
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }
}

fn nan_propagating_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b < a {
        b
    } else {
        a
    }
}

fn nan_propagating_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b > a {
        b
    } else {
        a
    }
}

/// How many elements a running reduction has finished: the `*_with_progress`
/// methods of [`ParStats`] advance it as they go, and another thread reads it (for a
/// progress bar) with [`Progress::done`]. Counting costs one atomic add per leaf of
/// the reduction (about a megabyte of data), so it does not slow the scan.
///
/// ```
/// use npmap::ndarray::Array2;
/// use npmap::{ParStats, Progress};
/// let x = Array2::<f32>::ones((4096, 256));
/// let progress = Progress::new();
/// std::thread::scope(|s| {
///     let scan = s.spawn(|| x.par_moments_with_progress(&progress));
///     let seen = progress.done(); // anywhere from 0 to x.len() while it runs
///     assert!(seen <= x.len() as u64);
///     assert_eq!(scan.join().unwrap().count(), x.len() as u64);
/// });
/// assert_eq!(progress.done(), x.len() as u64);
/// ```
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
}

impl Progress {
    /// A counter at zero.
    ///
    /// ```
    /// assert_eq!(npmap::Progress::new().done(), 0);
    /// ```
    pub fn new() -> Progress {
        Progress::default()
    }

    /// The number of elements reduced so far (the array's length once done; NaNs a
    /// `nan_` reduction skips count as reduced).
    ///
    /// ```
    /// use npmap::{ParStats, Progress};
    /// let progress = Progress::new();
    /// npmap::ndarray::arr1(&[1u8, 2, 3]).par_moments_with_progress(&progress);
    /// assert_eq!(progress.done(), 3);
    /// ```
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    fn add(&self, elements: usize) {
        self.done.fetch_add(elements as u64, Ordering::Relaxed);
    }
}

/// Parallel one-pass statistics on any `ndarray` array or view of [`StatElement`]s,
/// of any dimension and memory layout (C, F, strided, negative strides).
///
/// Methods ending in `_axis` reduce along one axis, as NumPy's `axis=` argument: the
/// result has the array's shape without that axis. They panic if the axis is out of
/// bounds. `ddof` is NumPy's "delta degrees of freedom".
///
/// ```
/// use npmap::ndarray::{array, Axis};
/// use npmap::ParStats;
/// let x = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 9.0]];
/// assert_eq!(x.par_mean(), 4.0);
/// let cols = x.par_moments_axis(Axis(0));
/// assert_eq!((cols[0].mean(), cols[1].max()), (3.0, 9.0));
/// assert_eq!(x.par_sum_axis(Axis(1)), array![3.0, 7.0, 14.0]);
/// ```
pub trait ParStats<D: Dimension> {
    /// All moments of all elements in one pass (NaN propagates).
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// let m = array![[1u16, 2], [3, 4]].par_moments();
    /// assert_eq!((m.count(), m.mean(), m.var(0)), (4, 2.5, 1.25));
    /// ```
    fn par_moments(&self) -> Moments {
        self.par_moments_with_progress(&Progress::new())
    }

    /// Moments along `axis`: one [`Moments`] per lane (NaN propagates).
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let m = array![[1.0f64, 10.0], [3.0, 30.0]].par_moments_axis(Axis(0));
    /// assert_eq!((m[0].mean(), m[1].mean(), m[1].var(0)), (2.0, 20.0, 100.0));
    /// ```
    fn par_moments_axis(&self, axis: Axis) -> Array<Moments, D::Smaller> {
        self.par_moments_axis_with_progress(axis, &Progress::new())
    }

    /// All moments of the non-NaN elements in one pass.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// let m = array![1.0f32, f32::NAN, 3.0].par_nan_moments();
    /// assert_eq!((m.count(), m.mean(), m.max()), (2, 2.0, 3.0));
    /// ```
    fn par_nan_moments(&self) -> Moments {
        self.par_nan_moments_with_progress(&Progress::new())
    }

    /// Moments of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let m = array![[1.0f64, f64::NAN], [3.0, 5.0]].par_nan_moments_axis(Axis(0));
    /// assert_eq!((m[0].mean(), m[1].mean(), m[1].count()), (2.0, 5.0, 1));
    /// ```
    fn par_nan_moments_axis(&self, axis: Axis) -> Array<Moments, D::Smaller> {
        self.par_nan_moments_axis_with_progress(axis, &Progress::new())
    }

    /// [`ParStats::par_moments`], advancing `progress` by the number of elements
    /// reduced as it goes, so another thread can show how far a long scan is. The
    /// reduction is the same, so the result is bit-identical to `par_moments`.
    ///
    /// ```
    /// use npmap::ndarray::Array1;
    /// use npmap::{ParStats, Progress};
    /// let x = Array1::from_iter((0..1_000_000).map(|i| i as f64));
    /// let progress = Progress::new();
    /// let m = x.par_moments_with_progress(&progress);
    /// assert_eq!(progress.done(), 1_000_000);
    /// assert_eq!(m, x.par_moments());
    /// ```
    fn par_moments_with_progress(&self, progress: &Progress) -> Moments;

    /// [`ParStats::par_moments_axis`], advancing `progress` as it goes (same bits).
    ///
    /// ```
    /// use npmap::ndarray::{Array2, Axis};
    /// use npmap::{ParStats, Progress};
    /// let x = Array2::from_shape_fn((1000, 30), |(i, j)| (i * j) as f32);
    /// let progress = Progress::new();
    /// let cols = x.par_moments_axis_with_progress(Axis(0), &progress);
    /// assert_eq!(progress.done(), 30_000);
    /// assert_eq!(cols, x.par_moments_axis(Axis(0)));
    /// ```
    fn par_moments_axis_with_progress(
        &self,
        axis: Axis,
        progress: &Progress,
    ) -> Array<Moments, D::Smaller>;

    /// [`ParStats::par_nan_moments`], advancing `progress` as it goes (same bits).
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::{ParStats, Progress};
    /// let progress = Progress::new();
    /// let m = array![1.0f32, f32::NAN, 3.0].par_nan_moments_with_progress(&progress);
    /// assert_eq!((m.count(), progress.done()), (2, 3));
    /// ```
    fn par_nan_moments_with_progress(&self, progress: &Progress) -> Moments;

    /// [`ParStats::par_nan_moments_axis`], advancing `progress` as it goes (same bits).
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::{ParStats, Progress};
    /// let progress = Progress::new();
    /// let m = array![[1.0f64, f64::NAN], [3.0, 5.0]]
    ///     .par_nan_moments_axis_with_progress(Axis(0), &progress);
    /// assert_eq!((m[1].count(), progress.done()), (1, 4));
    /// ```
    fn par_nan_moments_axis_with_progress(
        &self,
        axis: Axis,
        progress: &Progress,
    ) -> Array<Moments, D::Smaller>;

    /// Sum of all elements (0 when empty), as `np.sum` in `f64`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1i8, -2, 4].par_sum(), 3.0);
    /// ```
    fn par_sum(&self) -> f64 {
        self.par_moments().sum()
    }

    /// Mean of all elements, as `np.mean`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f32, 2.0, 6.0].par_mean(), 3.0);
    /// ```
    fn par_mean(&self) -> f64 {
        self.par_moments().mean()
    }

    /// Variance of all elements, as `np.var(ddof=ddof)`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f64, 3.0].par_var(0), 1.0);
    /// ```
    fn par_var(&self, ddof: usize) -> f64 {
        self.par_moments().var(ddof)
    }

    /// Standard deviation of all elements, as `np.std(ddof=ddof)`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f64, 3.0].par_std(1), 2f64.sqrt());
    /// ```
    fn par_std(&self, ddof: usize) -> f64 {
        self.par_moments().std(ddof)
    }

    /// Smallest element (NaN if empty or any element is NaN).
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![4u32, 2, 9].par_min(), 2.0);
    /// ```
    fn par_min(&self) -> f64 {
        self.par_moments().min()
    }

    /// Largest element (NaN if empty or any element is NaN).
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![4u32, 2, 9].par_max(), 9.0);
    /// ```
    fn par_max(&self) -> f64 {
        self.par_moments().max()
    }

    /// Sums along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1, 2], [3, 4]].par_sum_axis(Axis(0)), array![4.0, 6.0]);
    /// ```
    fn par_sum_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(Moments::sum)
    }

    /// Means along `axis`, as NumPy's `x.mean(axis)`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1, 2], [3, 4]].par_mean_axis(Axis(1)), array![1.5, 3.5]);
    /// ```
    fn par_mean_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(Moments::mean)
    }

    /// Variances along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1.0, 2.0], [3.0, 6.0]].par_var_axis(Axis(0), 0), array![1.0, 4.0]);
    /// ```
    fn par_var_axis(&self, axis: Axis, ddof: usize) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(|m| m.var(ddof))
    }

    /// Standard deviations along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1.0, 2.0], [3.0, 6.0]].par_std_axis(Axis(0), 0), array![1.0, 2.0]);
    /// ```
    fn par_std_axis(&self, axis: Axis, ddof: usize) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(|m| m.std(ddof))
    }

    /// Minima along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1, 8], [3, 4]].par_min_axis(Axis(0)), array![1.0, 4.0]);
    /// ```
    fn par_min_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(Moments::min)
    }

    /// Maxima along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1, 8], [3, 4]].par_max_axis(Axis(0)), array![3.0, 8.0]);
    /// ```
    fn par_max_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(Moments::max)
    }

    /// Sum of the non-NaN elements (0 if none), as `np.nansum`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f32, f32::NAN, 2.0].par_nansum(), 3.0);
    /// ```
    fn par_nansum(&self) -> f64 {
        self.par_nan_moments().sum()
    }

    /// Mean of the non-NaN elements, as `np.nanmean`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f32, f32::NAN, 2.0].par_nanmean(), 1.5);
    /// ```
    fn par_nanmean(&self) -> f64 {
        self.par_nan_moments().mean()
    }

    /// Variance of the non-NaN elements, as `np.nanvar(ddof=ddof)`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f64, f64::NAN, 3.0].par_nanvar(0), 1.0);
    /// ```
    fn par_nanvar(&self, ddof: usize) -> f64 {
        self.par_nan_moments().var(ddof)
    }

    /// Standard deviation of the non-NaN elements, as `np.nanstd(ddof=ddof)`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f64, f64::NAN, 3.0].par_nanstd(0), 1.0);
    /// ```
    fn par_nanstd(&self, ddof: usize) -> f64 {
        self.par_nan_moments().std(ddof)
    }

    /// Smallest non-NaN element (NaN if there is none), as `np.nanmin`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![f64::NAN, 3.0, 1.0].par_nanmin(), 1.0);
    /// ```
    fn par_nanmin(&self) -> f64 {
        self.par_nan_moments().min()
    }

    /// Largest non-NaN element (NaN if there is none), as `np.nanmax`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![f64::NAN, 3.0, 1.0].par_nanmax(), 3.0);
    /// ```
    fn par_nanmax(&self) -> f64 {
        self.par_nan_moments().max()
    }

    /// Sums of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nansum_axis(Axis(0)), array![4.0, 4.0]);
    /// ```
    fn par_nansum_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(Moments::sum)
    }

    /// Means of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanmean_axis(Axis(0)), array![2.0, 4.0]);
    /// ```
    fn par_nanmean_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(Moments::mean)
    }

    /// Variances of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanvar_axis(Axis(0), 0), array![1.0, 0.0]);
    /// ```
    fn par_nanvar_axis(&self, axis: Axis, ddof: usize) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(|m| m.var(ddof))
    }

    /// Standard deviations of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanstd_axis(Axis(0), 0), array![1.0, 0.0]);
    /// ```
    fn par_nanstd_axis(&self, axis: Axis, ddof: usize) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(|m| m.std(ddof))
    }

    /// Minima of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanmin_axis(Axis(0)), array![1.0, 4.0]);
    /// ```
    fn par_nanmin_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(Moments::min)
    }

    /// Maxima of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanmax_axis(Axis(0)), array![3.0, 4.0]);
    /// ```
    fn par_nanmax_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(Moments::max)
    }
}

impl<A, D> ParStats<D> for ArrayRef<A, D>
where
    A: StatElement,
    D: Dimension,
{
    fn par_moments_with_progress(&self, progress: &Progress) -> Moments {
        whole_array_moments::<A, D, false>(self, progress)
    }

    fn par_moments_axis_with_progress(
        &self,
        axis: Axis,
        progress: &Progress,
    ) -> Array<Moments, D::Smaller> {
        axis_moments::<A, D, false>(self, axis, progress)
    }

    fn par_nan_moments_with_progress(&self, progress: &Progress) -> Moments {
        whole_array_moments::<A, D, true>(self, progress)
    }

    fn par_nan_moments_axis_with_progress(
        &self,
        axis: Axis,
        progress: &Progress,
    ) -> Array<Moments, D::Smaller> {
        axis_moments::<A, D, true>(self, axis, progress)
    }
}

// ---------------------------------------------------------------------------------
// Block kernel: exact moments of one short contiguous block.
// ---------------------------------------------------------------------------------

/// Whether `x` is a value the reduction counts (`SKIP_NAN` drops NaNs).
#[inline(always)]
fn counts<const SKIP_NAN: bool>(x: f64) -> bool {
    !SKIP_NAN || !x.is_nan()
}

/// Count, sum, min and max of a block (NaNs are skipped by min/max here; NaN
/// propagation is restored by [`block_moments`]). Each statistic is its own pass over
/// the cache-resident block with `LANES` independent accumulators, so no loop is
/// bound by the latency of one accumulator and none runs out of registers.
fn first_pass<A: StatElement, const SKIP_NAN: bool>(block: &[A]) -> (f64, f64, f64, f64) {
    let sum = lane_fold(block, 0.0, |s, v| {
        *s += if counts::<SKIP_NAN>(v) { v } else { 0.0 }
    });
    let lo = lane_fold(block, f64::INFINITY, |lo, v| {
        *lo = if v < *lo { v } else { *lo }
    });
    let hi = lane_fold(block, f64::NEG_INFINITY, |hi, v| {
        *hi = if v > *hi { v } else { *hi }
    });
    let count = if SKIP_NAN {
        pairwise_sum(&lane_fold(block, 0.0, |c, v| {
            *c += if v.is_nan() { 0.0 } else { 1.0 }
        }))
    } else {
        block.len() as f64
    };
    let min = lo.iter().fold(f64::INFINITY, |a, &b| a.min(b));
    let max = hi.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    (count, pairwise_sum(&sum), min, max)
}

/// Folds the block into `LANES` accumulators, value `i` into lane `i % LANES`.
#[inline(always)]
fn lane_fold<A: StatElement>(block: &[A], init: f64, step: impl Fn(&mut f64, f64)) -> [f64; LANES] {
    let mut lanes = [init; LANES];
    let chunks = block.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        let chunk: &[A; LANES] = chunk.try_into().expect("chunks_exact yields LANES values");
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            step(lane, x.to_f64());
        }
    }
    for (lane, &x) in lanes.iter_mut().zip(rest) {
        step(lane, x.to_f64());
    }
    lanes
}

/// One value into per-column first-pass accumulators (`count` only when skipping
/// NaNs: it is the row count otherwise).
#[inline(always)]
fn accumulate_first<const SKIP_NAN: bool>(
    v: f64,
    count: &mut f64,
    sum: &mut f64,
    lo: &mut f64,
    hi: &mut f64,
) {
    let keep = counts::<SKIP_NAN>(v);
    if SKIP_NAN {
        *count += if keep { 1.0 } else { 0.0 };
    }
    *sum += if keep { v } else { 0.0 };
    *lo = if v < *lo { v } else { *lo };
    *hi = if v > *hi { v } else { *hi };
}

/// Sum of the lanes' partial sums in a fixed pairwise order.
fn pairwise_sum(s: &[f64]) -> f64 {
    match s.len() {
        0 => 0.0,
        1 => s[0],
        n => pairwise_sum(&s[..n / 2]) + pairwise_sum(&s[n / 2..]),
    }
}

/// Sum of squared deviations from `mean`. The usual correction `(Σd)²/n` is left out:
/// with `mean` accurate to a few ulps it is below rounding level.
fn second_pass<A: StatElement, const SKIP_NAN: bool>(block: &[A], mean: f64) -> f64 {
    pairwise_sum(&lane_fold(block, 0.0, |sq, v| {
        accumulate_second::<SKIP_NAN>(v, mean, sq)
    }))
}

/// One value's deviation from `mean` into the second-pass accumulators.
#[inline(always)]
fn accumulate_second<const SKIP_NAN: bool>(v: f64, mean: f64, sq: &mut f64) {
    let d = if counts::<SKIP_NAN>(v) { v - mean } else { 0.0 };
    *sq += d * d;
}

/// Exact moments of one block, read twice while it is in cache.
fn block_moments<A: StatElement, const SKIP_NAN: bool>(block: &[A]) -> Moments {
    if let Some(moments) = type_kernel_moments::<A, SKIP_NAN>(block) {
        return moments;
    }
    let skip = SKIP_NAN && A::CAN_BE_NAN;
    let (count, sum, min, max) = if skip {
        first_pass::<A, true>(block)
    } else {
        first_pass::<A, false>(block)
    };
    if count == 0.0 {
        return Moments::new();
    }
    let mean = sum / count;
    let m2 = if skip {
        second_pass::<A, true>(block, mean)
    } else {
        second_pass::<A, false>(block, mean)
    };
    let has_nan = !skip && A::CAN_BE_NAN && sum.is_nan() && contains_nan(block.iter().copied());
    Moments {
        count: count as u64,
        mean,
        m2,
        sum,
        min: if has_nan { f64::NAN } else { min },
        max: if has_nan { f64::NAN } else { max },
    }
}

/// The instruction set the statistics and fill kernels use on this CPU, chosen once at
/// run time: `"avx512"` (AVX-512 F/BW/VL/DQ with AVX2 and FMA), `"avx2"` (AVX2 and FMA)
/// or `"baseline"` (the target's default instructions). Every choice gives the same
/// results, bit for bit; only the speed differs. Useful when comparing timings across
/// machines.
///
/// ```
/// let isa = npmap::kernel_instruction_set();
/// assert!(["avx512", "avx2", "baseline"].contains(&isa));
/// ```
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+fma",
    "x86_64+avx2+fma"
))]
pub fn kernel_instruction_set() -> &'static str {
    multiversion::target::match_target! {
        "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+fma" => "avx512",
        "x86_64+avx2+fma" => "avx2",
        _ => "baseline",
    }
}

/// Independent lanes of the `f32` block kernel: four AVX-512 registers of `f32`
/// per accumulator, so no addition waits on the previous one.
const F32_LANES: usize = 64;

/// Values of a block's lane that the `f32` block kernel sums in `f32` before adding
/// the sum to the lane's `f64` accumulator.
const F32_GROUP: usize = 8;

/// Values (spread over the block) whose mean is the shift of the `f32` block kernel.
const SHIFT_SAMPLE: usize = 16;

/// Moments of an `f32` block (a whole task's slice) in one pass over memory, from the
/// deviations `d = x − shift` from a shift near the mean (the mean of `SHIFT_SAMPLE`
/// values spread over the block, rounded to `f32`): `mean = shift + Σd/n` and
/// `M2 = Σd² − (Σd)²/n` (the shifted-data algorithm: the relative error of M2 is
/// `ε × (1 + (shift − mean)²/var)`, where `ε` is that of the sums). `d` and `d²` are
/// summed in `f32` over groups of `F32_GROUP` values of a lane, then in `f64` (see
/// [`f32_shifted_moments`]). When the shift turns out farther than a standard
/// deviation from the mean (a sample of outliers), the block is summed again around
/// the mean just found, so the `f32` rounding is never amplified. `None` (use the
/// generic kernel) when the block holds NaN or infinities, or squares too large for
/// `f32`.
fn f32_block_moments(block: &[f32]) -> Option<Moments> {
    if block.is_empty() {
        return Some(Moments::new());
    }
    let stride = block.len().div_ceil(SHIFT_SAMPLE);
    let sample = block.iter().step_by(stride);
    let shift = sample.clone().map(|&x| f64::from(x)).sum::<f64>() / sample.count() as f64;
    let moments = f32_moments_around(block, shift as f32)?;
    let offset = moments.mean - shift;
    if offset * offset * moments.count as f64 <= moments.m2 {
        return Some(moments);
    }
    f32_moments_around(block, moments.mean as f32)
}

/// [`f32_block_moments`] with a given shift.
fn f32_moments_around(block: &[f32], shift: f32) -> Option<Moments> {
    let (dev, sq, min, max) = f32_shifted_moments(block, shift);
    if !sq.is_finite() || !min.is_finite() || !max.is_finite() {
        return None;
    }
    let (n, shift) = (block.len() as f64, f64::from(shift));
    Some(Moments {
        count: block.len() as u64,
        mean: shift + dev / n,
        m2: (sq - dev * dev / n).max(0.0),
        sum: shift * n + dev,
        min: f64::from(min),
        max: f64::from(max),
    })
}

/// `Σd` and `Σd²` for `d = x − shift`, and the min and max, of a block; value `i`
/// goes to lane `i % F32_LANES`. Each lane sums `d` (computed in `f32`: exact when `x`
/// is within a factor of two of the shift) and `d²` in `f32` over `F32_GROUP` values
/// and adds each group's sums to its `f64` accumulators, so rounding errors never
/// build up beyond one group. They do not all cancel either: for quantised data (as
/// `f32` data is) the rounding of `d²` leans slightly one way, and the relative error
/// of `M2` is a few hundredths of an `f32` ulp (measured: 2e-8 at 4·10³ values, 2e-10
/// at 4·10⁸) rather than falling as `1/√n`. In exchange the kernel does a third of the
/// arithmetic of one in `f64`, which is what lets one core keep up with memory. A
/// last partial group is summed in `f64`. Compiled for several
/// instruction sets and picked at run time: every version performs the same
/// operations in the same order (no fused multiply-add: the compiler never contracts
/// `s + d * d` on its own), so results are identical whatever the CPU.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+fma",
    "x86_64+avx2+fma"
))]
fn f32_shifted_moments(block: &[f32], shift: f32) -> (f64, f64, f32, f32) {
    let mut dev = [0.0f64; F32_LANES];
    let mut sq = [0.0f64; F32_LANES];
    let mut lo = [f32::INFINITY; F32_LANES];
    let mut hi = [f32::NEG_INFINITY; F32_LANES];
    let groups = block.chunks_exact(F32_LANES * F32_GROUP);
    let rest = groups.remainder();
    for group in groups {
        let mut s = [0.0f32; F32_LANES];
        let mut q = [0.0f32; F32_LANES];
        for step in group.chunks_exact(F32_LANES) {
            let step: &[f32; F32_LANES] = step.try_into().expect("F32_LANES values");
            for k in 0..F32_LANES {
                let x = step[k];
                let d = x - shift;
                s[k] += d;
                q[k] += d * d;
                lo[k] = if x < lo[k] { x } else { lo[k] };
                hi[k] = if x > hi[k] { x } else { hi[k] };
            }
        }
        for k in 0..F32_LANES {
            dev[k] += f64::from(s[k]);
            sq[k] += f64::from(q[k]);
        }
    }
    let shift = f64::from(shift);
    for (k, &x) in rest.iter().enumerate() {
        let k = k % F32_LANES;
        shifted_step(x, shift, &mut dev[k], &mut sq[k], &mut lo[k], &mut hi[k]);
    }
    let min = lo.iter().fold(f32::INFINITY, |a, &b| a.min(b));
    let max = hi.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    (pairwise_sum(&dev), pairwise_sum(&sq), min, max)
}

/// One `f32` value into shifted-moment accumulators.
#[inline(always)]
fn shifted_step(x: f32, shift: f64, dev: &mut f64, sq: &mut f64, lo: &mut f32, hi: &mut f32) {
    let d = f64::from(x) - shift;
    *dev += d;
    *sq += d * d;
    *lo = if x < *lo { x } else { *lo };
    *hi = if x > *hi { x } else { *hi };
}

/// For each row of a tile and each column `j`: `d = x[j] − shift[j]` into `dev[j]`
/// and `d²` into `sq[j]` (in `f64`), `x[j]` into the `f32` min `lo[j]` and max `hi[j]`.
/// Rows are taken in order, so each column's sums are in row order whatever the CPU;
/// multiversioned like [`f32_shifted_moments`].
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+fma",
    "x86_64+avx2+fma"
))]
fn f32_tile_sums(
    rows: &[&[f32]],
    shift: &[f64],
    dev: &mut [f64],
    sq: &mut [f64],
    lo: &mut [f32],
    hi: &mut [f32],
) {
    let width = shift.len();
    let (dev, sq) = (&mut dev[..width], &mut sq[..width]);
    let (lo, hi) = (&mut lo[..width], &mut hi[..width]);
    // Two rows per sweep: each accumulator is loaded and stored once per two values,
    // which are still added in row order.
    let pairs = rows.chunks_exact(2);
    let last = pairs.remainder();
    for pair in pairs {
        let (a, b) = (&pair[0][..width], &pair[1][..width]);
        let acc = dev
            .iter_mut()
            .zip(sq.iter_mut())
            .zip(lo.iter_mut().zip(hi.iter_mut()));
        for (((dev, sq), (lo, hi)), ((&x, &y), &s)) in acc.zip(a.iter().zip(b).zip(shift)) {
            shifted_step(x, s, dev, sq, lo, hi);
            shifted_step(y, s, dev, sq, lo, hi);
        }
    }
    for values in last {
        let values = &values[..width];
        let acc = dev
            .iter_mut()
            .zip(sq.iter_mut())
            .zip(lo.iter_mut().zip(hi.iter_mut()));
        for (((dev, sq), (lo, hi)), (&x, &s)) in acc.zip(values.iter().zip(shift)) {
            shifted_step(x, s, dev, sq, lo, hi);
        }
    }
}

/// Columns in one register of [`f32_tile_sums_in_registers`] (16 `f32` in AVX-512).
const CHUNK: usize = 16;

/// The most chunks [`f32_tile_sums_in_registers`] holds: four sums per chunk (`Σd`,
/// `Σd²`, min, max) in 28 of the 32 AVX-512 registers, for rows up to 112 columns.
const MAX_CHUNKS: usize = 7;

/// Rows whose `f32` sums [`f32_tile_sums_in_registers`] adds up before folding them
/// into the `f64` accumulators.
const GROUP_ROWS: usize = 8;

/// [`f32_tile_sums`] for tiles of `CHUNK` to `MAX_CHUNKS × CHUNK` columns, with every
/// accumulator in a register so that the rows stream through at memory speed (the
/// accumulators in memory cost a store per value and halve the speed). Each row is
/// read as `chunks` registers of `CHUNK` columns; when the width is not a multiple of
/// `CHUNK`, the last register ends at the last column and overlaps the one before it,
/// and only its new columns are kept. `d = x − shift` and `d²` are summed in `f32`
/// over groups of `GROUP_ROWS` rows (from the tile's first row, so the groups do not
/// depend on threads), then added to the `f64` sums: a group's `Σd²` carries at most
/// `GROUP_ROWS` units of `f32` rounding (about 5e-7 of it), and these errors, of
/// either sign, do not compound over the groups. Same operations in the same order in
/// every instruction-set version.
fn f32_tile_sums_in_registers(
    rows: &[&[f32]],
    shift: &[f32],
    dev: &mut [f64],
    sq: &mut [f64],
    lo: &mut [f32],
    hi: &mut [f32],
) {
    let sums = TileSums { dev, sq, lo, hi };
    match shift.len().div_ceil(CHUNK) {
        1 => sums.add::<1>(rows, shift),
        2 => sums.add::<2>(rows, shift),
        3 => sums.add::<3>(rows, shift),
        4 => sums.add::<4>(rows, shift),
        5 => sums.add::<5>(rows, shift),
        6 => sums.add::<6>(rows, shift),
        7 => sums.add::<7>(rows, shift),
        n => unreachable!("{n} chunks: the caller checks the width"),
    }
}

/// The per-column accumulators [`f32_tile_sums_in_registers`] adds to.
struct TileSums<'s> {
    dev: &'s mut [f64],
    sq: &'s mut [f64],
    lo: &'s mut [f32],
    hi: &'s mut [f32],
}

impl TileSums<'_> {
    fn add<const CHUNKS: usize>(self, rows: &[&[f32]], shift: &[f32]) {
        let width = shift.len();
        assert!(width >= CHUNK && width.div_ceil(CHUNK) == CHUNKS);
        let offsets: [usize; CHUNKS] = std::array::from_fn(|c| (c * CHUNK).min(width - CHUNK));
        // Chunk `c` keeps its columns from `keep[c]` on (those no earlier chunk has).
        let keep: [usize; CHUNKS] = std::array::from_fn(|c| {
            if c == 0 {
                0
            } else {
                offsets[c - 1] + CHUNK - offsets[c]
            }
        });
        group_sums::<CHUNKS>(rows, shift, &offsets, &keep, self);
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+fma",
    "x86_64+avx2+fma"
))]
fn group_sums<const CHUNKS: usize>(
    rows: &[&[f32]],
    shift: &[f32],
    offsets: &[usize; CHUNKS],
    keep: &[usize; CHUNKS],
    sums: TileSums<'_>,
) {
    let window = |values: &[f32], c: usize| -> [f32; CHUNK] {
        values[offsets[c]..offsets[c] + CHUNK]
            .try_into()
            .expect("a chunk lies within the row")
    };
    let shift: [[f32; CHUNK]; CHUNKS] = std::array::from_fn(|c| window(shift, c));
    let mut lo = [[f32::INFINITY; CHUNK]; CHUNKS];
    let mut hi = [[f32::NEG_INFINITY; CHUNK]; CHUNKS];
    for group in rows.chunks(GROUP_ROWS) {
        let mut s = [[0.0f32; CHUNK]; CHUNKS];
        let mut q = [[0.0f32; CHUNK]; CHUNKS];
        for row in group {
            for c in 0..CHUNKS {
                let x = window(row, c);
                for k in 0..CHUNK {
                    let d = x[k] - shift[c][k];
                    s[c][k] += d;
                    q[c][k] += d * d;
                    lo[c][k] = if x[k] < lo[c][k] { x[k] } else { lo[c][k] };
                    hi[c][k] = if x[k] > hi[c][k] { x[k] } else { hi[c][k] };
                }
            }
        }
        for c in 0..CHUNKS {
            let columns = offsets[c] + keep[c]..offsets[c] + CHUNK;
            let acc = sums.dev[columns.clone()]
                .iter_mut()
                .zip(&mut sums.sq[columns]);
            for ((dev, sq), (&s, &q)) in acc.zip(s[c][keep[c]..].iter().zip(&q[c][keep[c]..])) {
                *dev += f64::from(s);
                *sq += f64::from(q);
            }
        }
    }
    for c in 0..CHUNKS {
        let columns = offsets[c] + keep[c]..offsets[c] + CHUNK;
        sums.lo[columns.clone()].copy_from_slice(&lo[c][keep[c]..]);
        sums.hi[columns].copy_from_slice(&hi[c][keep[c]..]);
    }
}

fn contains_nan<A: StatElement>(mut values: impl Iterator<Item = A>) -> bool {
    values.any(|x| x.to_f64().is_nan())
}

// ---------------------------------------------------------------------------------
// Whole-array reductions.
// ---------------------------------------------------------------------------------

fn whole_array_moments<A, D, const SKIP_NAN: bool>(
    a: &ArrayRef<A, D>,
    progress: &Progress,
) -> Moments
where
    A: StatElement,
    D: Dimension,
{
    match a.as_slice_memory_order() {
        Some(values) => parallel_slice_moments::<A, SKIP_NAN>(values, progress),
        None => view_moments::<A, SKIP_NAN>(a.view().into_dyn(), progress),
    }
}

/// Moments of a contiguous slice: fixed blocks merged in a fixed binary tree.
fn parallel_slice_moments<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
    progress: &Progress,
) -> Moments {
    block_tree::<A, SKIP_NAN>(values, 0..values.len().div_ceil(BLOCK), progress)
}

fn block_tree<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
    blocks: Range<usize>,
    progress: &Progress,
) -> Moments {
    if blocks.len() <= LEAF_BLOCKS {
        let start = blocks.start * BLOCK;
        let end = (blocks.end * BLOCK).min(values.len());
        let moments = sequential_slice_moments::<A, SKIP_NAN>(&values[start..end]);
        progress.add(end - start);
        return moments;
    }
    let mid = blocks.start + blocks.len() / 2;
    let (left, right) = rayon::join(
        || block_tree::<A, SKIP_NAN>(values, blocks.start..mid, progress),
        || block_tree::<A, SKIP_NAN>(values, mid..blocks.end, progress),
    );
    left.merge(&right)
}

/// The moments of contiguous values from the type's own kernel (`f32`), when it has
/// one and it applies: never when NaNs are to be skipped, and `None` when the values
/// hold NaN or infinities.
fn type_kernel_moments<A: StatElement, const SKIP_NAN: bool>(values: &[A]) -> Option<Moments> {
    match SKIP_NAN && A::CAN_BE_NAN {
        true => None,
        false => A::fast_block_moments(values),
    }
}

/// Moments of a slice, block after block on this thread; in one pass of the type's
/// own kernel when it has one (`f32`), which then needs no per-block merges. When that
/// kernel declines (NaN or infinities somewhere in the slice), each block tries it
/// again, so only the blocks holding such values take the generic kernel.
fn sequential_slice_moments<A: StatElement, const SKIP_NAN: bool>(values: &[A]) -> Moments {
    if let Some(moments) = type_kernel_moments::<A, SKIP_NAN>(values) {
        return moments;
    }
    values.chunks(BLOCK).fold(Moments::new(), |acc, block| {
        acc.merge(&block_moments::<A, SKIP_NAN>(block))
    })
}

/// Moments of values that are not contiguous in memory, gathered block by block.
fn gathered_moments<'a, A, const SKIP_NAN: bool>(values: impl Iterator<Item = &'a A>) -> Moments
where
    A: StatElement + 'a,
{
    let mut buffer = Vec::with_capacity(BLOCK);
    let mut acc = Moments::new();
    for &x in values {
        buffer.push(x.to_f64());
        if buffer.len() == BLOCK {
            acc = acc.merge(&block_moments::<f64, SKIP_NAN>(&buffer));
            buffer.clear();
        }
    }
    acc.merge(&block_moments::<f64, SKIP_NAN>(&buffer))
}

/// Moments of a non-contiguous view: split in halves along the outermost axis (largest
/// stride) in a tree fixed by shape and strides, down to leaves of `LEAF_ELEMS`.
fn view_moments<A: StatElement, const SKIP_NAN: bool>(
    view: ArrayViewD<'_, A>,
    progress: &Progress,
) -> Moments {
    if view.len() <= LEAF_ELEMS {
        let moments = match view.as_slice_memory_order() {
            Some(values) => sequential_slice_moments::<A, SKIP_NAN>(values),
            None => gathered_moments::<A, SKIP_NAN>(view.iter()),
        };
        progress.add(view.len());
        return moments;
    }
    let axis = outermost_splittable_axis(&view);
    let mid = view.len_of(axis) / 2;
    let (left, right) = view.split_at(axis, mid);
    let (left, right) = rayon::join(
        || view_moments::<A, SKIP_NAN>(left, progress),
        || view_moments::<A, SKIP_NAN>(right, progress),
    );
    left.merge(&right)
}

/// The axis of length > 1 with the largest absolute stride.
fn outermost_splittable_axis<A>(view: &ArrayViewD<'_, A>) -> Axis {
    let best = (0..view.ndim())
        .filter(|&i| view.len_of(Axis(i)) > 1)
        .max_by_key(|&i| (view.strides()[i].unsigned_abs(), std::cmp::Reverse(i)))
        .expect("a view longer than one leaf has an axis of length > 1");
    Axis(best)
}

// ---------------------------------------------------------------------------------
// Reductions along an axis.
// ---------------------------------------------------------------------------------

fn axis_moments<A, D, const SKIP_NAN: bool>(
    a: &ArrayRef<A, D>,
    axis: Axis,
    progress: &Progress,
) -> Array<Moments, D::Smaller>
where
    A: StatElement,
    D: Dimension,
{
    assert!(
        axis.index() < a.ndim(),
        "axis {} is out of bounds for an array of dimension {}",
        axis.index(),
        a.ndim()
    );
    let out_dim = a.raw_dim().try_remove_axis(axis);
    if let Some((values, fortran)) = contiguous_values(a) {
        let split = MemorySplit::around(a.shape(), axis.index(), fortran);
        let moments = contiguous_axis_moments::<A, SKIP_NAN>(values, split, progress);
        return Array::from_shape_vec(out_dim.set_f(fortran), moments)
            .expect("one result per lane of the reduced axis");
    }
    if let Some(moments) =
        rows_with_contiguous_columns::<A, SKIP_NAN>(a.view().into_dyn(), axis, progress)
    {
        return Array::from_shape_vec(out_dim, moments).expect("one result per column");
    }
    let mut out = Array::from_elem(out_dim, Moments::new());
    Zip::from(&mut out)
        .and(a.lanes(axis))
        .par_for_each(|m, lane| *m = lane_moments::<A, SKIP_NAN>(lane, progress));
    out
}

/// The array's elements as one slice when it is C-contiguous (`false`) or
/// F-contiguous (`true`).
fn contiguous_values<A, D>(a: &ArrayRef<A, D>) -> Option<(&[A], bool)>
where
    D: Dimension,
{
    if let Some(values) = a.as_slice() {
        return Some((values, false));
    }
    a.view()
        .reversed_axes()
        .to_slice()
        .map(|values| (values, true))
}

/// A contiguous array seen as `outer × len × inner` around the reduced axis, in
/// memory order: lane `(o, j)` holds `values[(o * len + r) * inner + j]` for `r < len`.
#[derive(Clone, Copy)]
struct MemorySplit {
    outer: usize,
    len: usize,
    inner: usize,
}

impl MemorySplit {
    fn around(shape: &[usize], axis: usize, fortran: bool) -> Self {
        let mut dims = shape.to_vec();
        let mut position = axis;
        if fortran {
            dims.reverse();
            position = shape.len() - 1 - axis;
        }
        MemorySplit {
            outer: dims[..position].iter().product(),
            len: dims[position],
            inner: dims[position + 1..].iter().product(),
        }
    }
}

/// Per-lane moments of a contiguous array, in the memory order of the lanes.
fn contiguous_axis_moments<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
    split: MemorySplit,
    progress: &Progress,
) -> Vec<Moments> {
    use rayon::prelude::*;
    let MemorySplit { outer, len, inner } = split;
    let mut out = vec![Moments::new(); outer * inner];
    if out.is_empty() || len == 0 {
        return out;
    }
    if inner == 1 {
        out.par_iter_mut()
            .zip(values.par_chunks(len))
            .for_each(|(m, lane)| *m = parallel_slice_moments::<A, SKIP_NAN>(lane, progress));
    } else {
        out.par_chunks_mut(inner)
            .zip(values.par_chunks(len * inner))
            .for_each(|(m, slab)| {
                let row = |r: usize| &slab[r * inner..(r + 1) * inner];
                m.copy_from_slice(&column_moments::<A, _, SKIP_NAN>(
                    &row, len, inner, progress,
                ));
            });
    }
    out
}

/// A 2-D view whose non-reduced axis is contiguous (e.g. a column range of a C-order
/// matrix): per-column moments reading whole row segments.
fn rows_with_contiguous_columns<A: StatElement, const SKIP_NAN: bool>(
    view: ArrayViewD<'_, A>,
    axis: Axis,
    progress: &Progress,
) -> Option<Vec<Moments>> {
    let view: ArrayView2<'_, A> = view.into_dimensionality::<Ix2>().ok()?;
    let across = Axis(1 - axis.index());
    if view.stride_of(across) != 1 && view.len_of(across) > 1 {
        return None;
    }
    let (nrows, ncols) = (view.len_of(axis), view.len_of(across));
    if nrows == 0 || ncols == 0 {
        return Some(vec![Moments::new(); ncols]);
    }
    let row = move |r: usize| {
        view.index_axis_move(axis, r)
            .to_slice()
            .expect("the across axis has unit stride")
    };
    Some(column_moments::<A, _, SKIP_NAN>(
        &row, nrows, ncols, progress,
    ))
}

/// Moments of one lane of any stride.
fn lane_moments<A: StatElement, const SKIP_NAN: bool>(
    lane: ArrayView1<'_, A>,
    progress: &Progress,
) -> Moments {
    match lane.as_slice_memory_order() {
        Some(values) => parallel_slice_moments::<A, SKIP_NAN>(values, progress),
        None => {
            let moments = gathered_moments::<A, SKIP_NAN>(lane.iter());
            progress.add(lane.len());
            moments
        }
    }
}

// ---------------------------------------------------------------------------------
// Per-column kernel: rows × columns, rows read as contiguous slices.
// ---------------------------------------------------------------------------------

/// How the per-column kernel cuts `nrows × ncols`: tiles of `block_rows` rows and at
/// most `COL_TILE` columns; each task reduces `leaf_blocks` row blocks sequentially.
struct ColumnPlan {
    nrows: usize,
    ncols: usize,
    block_rows: usize,
    leaf_blocks: usize,
}

impl ColumnPlan {
    /// The plan for `nrows × ncols`; `one_pass` when the one-pass `f32` tile kernel
    /// will reduce the tiles (it takes taller tiles).
    fn new(nrows: usize, ncols: usize, one_pass: bool) -> Self {
        let tile_cols = ncols.min(COL_TILE);
        let tile_elems = if one_pass { F32_TILE_ELEMS } else { TILE_ELEMS };
        let block_rows = (tile_elems / tile_cols).max(MIN_TILE_ROWS);
        let leaf_blocks = (LEAF_ELEMS / (block_rows * ncols)).max(1);
        ColumnPlan {
            nrows,
            ncols,
            block_rows,
            leaf_blocks,
        }
    }

    fn row_blocks(&self) -> usize {
        self.nrows.div_ceil(self.block_rows)
    }

    fn rows_of_block(&self, block: usize) -> Range<usize> {
        block * self.block_rows..((block + 1) * self.block_rows).min(self.nrows)
    }
}

/// Per-column moments of `nrows` rows of `ncols` values each; `row(r)` is row `r`.
/// Wide matrices are cut into bands of `COLUMN_BAND` columns reduced in parallel, so
/// a matrix with few rows and many columns still uses every thread.
fn column_moments<'a, A, F, const SKIP_NAN: bool>(
    row: &F,
    nrows: usize,
    ncols: usize,
    progress: &Progress,
) -> Vec<Moments>
where
    A: StatElement + 'a,
    F: Fn(usize) -> &'a [A] + Sync,
{
    use rayon::prelude::*;
    let mut out = vec![Moments::new(); ncols];
    out.par_chunks_mut(COLUMN_BAND)
        .enumerate()
        .for_each(|(band, out)| {
            let first = band * COLUMN_BAND;
            let end = first + out.len();
            let band_row = |r: usize| &row(r)[first..end];
            let one_pass = !SKIP_NAN && A::as_f32(&[]).is_some();
            let plan = ColumnPlan::new(nrows, out.len(), one_pass);
            let blocks = 0..plan.row_blocks();
            let moments = column_tree::<A, _, SKIP_NAN>(&band_row, &plan, blocks, progress);
            out.copy_from_slice(&moments);
        });
    out
}

fn column_tree<'a, A, F, const SKIP_NAN: bool>(
    row: &F,
    plan: &ColumnPlan,
    blocks: Range<usize>,
    progress: &Progress,
) -> Vec<Moments>
where
    A: StatElement + 'a,
    F: Fn(usize) -> &'a [A] + Sync,
{
    if blocks.len() <= plan.leaf_blocks {
        let rows = (blocks.end * plan.block_rows).min(plan.nrows) - blocks.start * plan.block_rows;
        let moments = column_leaf::<A, F, SKIP_NAN>(row, plan, blocks);
        progress.add(rows * plan.ncols);
        return moments;
    }
    let mid = blocks.start + blocks.len() / 2;
    let (mut left, right) = rayon::join(
        || column_tree::<A, F, SKIP_NAN>(row, plan, blocks.start..mid, progress),
        || column_tree::<A, F, SKIP_NAN>(row, plan, mid..blocks.end, progress),
    );
    for (l, r) in left.iter_mut().zip(&right) {
        *l = l.merge(r);
    }
    left
}

fn column_leaf<'a, A, F, const SKIP_NAN: bool>(
    row: &F,
    plan: &ColumnPlan,
    blocks: Range<usize>,
) -> Vec<Moments>
where
    A: StatElement + 'a,
    F: Fn(usize) -> &'a [A],
{
    let one_pass = !SKIP_NAN && A::as_f32(&[]).is_some();
    let mut acc = vec![Moments::new(); plan.ncols];
    let mut tile = TileScratch::new(plan.ncols.min(COL_TILE));
    let mut f32_rows: Vec<&'a [f32]> = Vec::new();
    for block in blocks {
        let rows = plan.rows_of_block(block);
        for start in (0..plan.ncols).step_by(COL_TILE) {
            let cols = start..(start + COL_TILE).min(plan.ncols);
            let mut done = false;
            if one_pass {
                f32_rows.clear();
                f32_rows.extend(
                    rows.clone()
                        .filter_map(|r| A::as_f32(&row(r)[cols.clone()])),
                );
                done = tile.reduce_f32(&f32_rows);
            }
            if !done {
                tile.reduce::<A, F, SKIP_NAN>(row, rows.clone(), cols.clone());
            }
            tile.merge_into(&mut acc[cols]);
        }
    }
    acc
}

/// Folds `LANES` adjacent columns from `first_col` down `rows`: lane `k` takes
/// column `first_col + k`; `step` also gets the lane index.
#[inline(always)]
fn column_fold<'a, A, F>(
    row: &F,
    rows: Range<usize>,
    first_col: usize,
    init: f64,
    step: impl Fn(&mut f64, f64, usize),
) -> [f64; LANES]
where
    A: StatElement + 'a,
    F: Fn(usize) -> &'a [A],
{
    let mut lanes = [init; LANES];
    for r in rows {
        let values: &[A; LANES] = row(r)[first_col..first_col + LANES]
            .try_into()
            .expect("a group spans LANES columns");
        for (k, (lane, &x)) in lanes.iter_mut().zip(values).enumerate() {
            step(lane, x.to_f64(), k);
        }
    }
    lanes
}

/// Per-column accumulators of one tile (structure of arrays, so loops vectorise).
struct TileScratch {
    count: Vec<f64>,
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    mean: Vec<f64>,
    sq: Vec<f64>,
    has_nan: Vec<bool>,
    /// `f32` minima and maxima of the one-pass `f32` kernel.
    lo32: Vec<f32>,
    hi32: Vec<f32>,
}

impl TileScratch {
    fn new(width: usize) -> Self {
        TileScratch {
            count: vec![0.0; width],
            sum: vec![0.0; width],
            min: vec![0.0; width],
            max: vec![0.0; width],
            mean: vec![0.0; width],
            sq: vec![0.0; width],
            has_nan: vec![false; width],
            lo32: vec![0.0; width],
            hi32: vec![0.0; width],
        }
    }

    /// Per-column moments of an `f32` tile (its rows, all of one width) in one pass:
    /// sums of deviations from the tile's first row and of their squares in `f64`
    /// (the shifted-data algorithm, as [`f32_block_moments`]; here `(shift −
    /// mean)²/var` is below the tile's row count), min and max in `f32`. Returns false,
    /// leaving the scratch to be overwritten, when a column holds NaN or infinities.
    fn reduce_f32(&mut self, rows: &[&[f32]]) -> bool {
        let Some(first) = rows.first() else {
            return false;
        };
        let width = first.len();
        self.reset(width);
        self.lo32.clear();
        self.lo32.resize(width, f32::INFINITY);
        self.hi32.clear();
        self.hi32.resize(width, f32::NEG_INFINITY);
        for (shift, &x) in self.mean.iter_mut().zip(first.iter()) {
            *shift = f64::from(x);
        }
        if (CHUNK..=MAX_CHUNKS * CHUNK).contains(&width) {
            f32_tile_sums_in_registers(
                rows,
                &first[..width],
                &mut self.sum,
                &mut self.sq,
                &mut self.lo32,
                &mut self.hi32,
            );
        } else {
            f32_tile_sums(
                rows,
                &self.mean,
                &mut self.sum,
                &mut self.sq,
                &mut self.lo32,
                &mut self.hi32,
            );
        }
        let n = rows.len() as f64;
        let columns = self
            .mean
            .iter_mut()
            .zip(self.sum.iter_mut())
            .zip(self.sq.iter_mut());
        let mut finite = true;
        for (((mean, sum), sq), (&lo, &hi)) in columns.zip(self.lo32.iter().zip(&self.hi32)) {
            let (shift, dev) = (*mean, *sum);
            finite &= sq.is_finite() && lo.is_finite() && hi.is_finite();
            *mean = shift + dev / n;
            *sum = shift * n + dev;
            *sq = (*sq - dev * dev / n).max(0.0);
        }
        for ((min, max), (&lo, &hi)) in self
            .min
            .iter_mut()
            .zip(self.max.iter_mut())
            .zip(self.lo32.iter().zip(&self.hi32))
        {
            *min = f64::from(lo);
            *max = f64::from(hi);
        }
        self.count.fill(n);
        finite
    }

    fn reset(&mut self, width: usize) {
        for v in [&mut self.count, &mut self.sum, &mut self.sq] {
            v.truncate(0);
            v.resize(width, 0.0);
        }
        self.min.clear();
        self.min.resize(width, f64::INFINITY);
        self.max.clear();
        self.max.resize(width, f64::NEG_INFINITY);
        self.mean.clear();
        self.mean.resize(width, 0.0);
        self.has_nan.clear();
        self.has_nan.resize(width, false);
    }

    /// Exact per-column moments of the tile `rows × cols`: groups of `LANES` columns
    /// are reduced with accumulators held in registers, the last few columns row by row.
    fn reduce<'a, A, F, const SKIP_NAN: bool>(
        &mut self,
        row: &F,
        rows: Range<usize>,
        cols: Range<usize>,
    ) where
        A: StatElement + 'a,
        F: Fn(usize) -> &'a [A],
    {
        let skip = SKIP_NAN && A::CAN_BE_NAN;
        self.reset(cols.len());
        let groups = cols.len() / LANES;
        let grouped = cols.start..cols.start + groups * LANES;
        if skip {
            self.sum_by_rows::<A, F, true>(row, rows.clone(), grouped);
        } else {
            self.sum_by_rows::<A, F, false>(row, rows.clone(), grouped);
        }
        for offset in (0..groups).map(|g| g * LANES) {
            let first_col = cols.start + offset;
            if skip {
                self.reduce_column_group::<A, F, true>(row, rows.clone(), first_col, offset);
            } else {
                self.reduce_column_group::<A, F, false>(row, rows.clone(), first_col, offset);
            }
        }
        let rest = cols.start + groups * LANES..cols.end;
        if skip {
            self.reduce_by_rows::<A, F, true>(row, rows.clone(), rest, groups * LANES);
        } else {
            self.reduce_by_rows::<A, F, false>(row, rows.clone(), rest, groups * LANES);
        }
        if !skip && A::CAN_BE_NAN {
            self.find_nan_columns(row, rows, cols);
        }
    }

    /// Column sums of the tile over `cols` (from scratch position 0), reading the rows
    /// in memory order: this first pass streams the tile into cache sequentially, and
    /// adds each column's values in row order, as a per-column fold would.
    fn sum_by_rows<'a, A, F, const SKIP_NAN: bool>(
        &mut self,
        row: &F,
        rows: Range<usize>,
        cols: Range<usize>,
    ) where
        A: StatElement + 'a,
        F: Fn(usize) -> &'a [A],
    {
        for r in rows {
            for (sum, &x) in self.sum.iter_mut().zip(&row(r)[cols.clone()]) {
                let v = x.to_f64();
                *sum += if counts::<SKIP_NAN>(v) { v } else { 0.0 };
            }
        }
    }

    /// Moments of the `LANES` columns from `first_col` (their sums already in scratch),
    /// one pass per statistic down the tile's rows; results go to scratch position
    /// `offset`.
    fn reduce_column_group<'a, A, F, const SKIP_NAN: bool>(
        &mut self,
        row: &F,
        rows: Range<usize>,
        first_col: usize,
        offset: usize,
    ) where
        A: StatElement + 'a,
        F: Fn(usize) -> &'a [A],
    {
        let sum: [f64; LANES] = self.sum[offset..offset + LANES]
            .try_into()
            .expect("a group spans LANES columns");
        let lo = column_fold(row, rows.clone(), first_col, f64::INFINITY, |lo, v, _| {
            *lo = if v < *lo { v } else { *lo }
        });
        let hi = column_fold(
            row,
            rows.clone(),
            first_col,
            f64::NEG_INFINITY,
            |hi, v, _| *hi = if v > *hi { v } else { *hi },
        );
        let count = if SKIP_NAN {
            column_fold(row, rows.clone(), first_col, 0.0, |c, v, _| {
                *c += if v.is_nan() { 0.0 } else { 1.0 }
            })
        } else {
            [rows.len() as f64; LANES]
        };
        let mut mean = [0.0; LANES];
        for (m, (&s, &c)) in mean.iter_mut().zip(sum.iter().zip(&count)) {
            *m = s / c;
        }
        let sq = column_fold(row, rows, first_col, 0.0, |sq, v, k| {
            accumulate_second::<SKIP_NAN>(v, mean[k], sq)
        });
        let span = offset..offset + LANES;
        self.count[span.clone()].copy_from_slice(&count);
        self.sum[span.clone()].copy_from_slice(&sum);
        self.min[span.clone()].copy_from_slice(&lo);
        self.max[span.clone()].copy_from_slice(&hi);
        self.mean[span.clone()].copy_from_slice(&mean);
        self.sq[span].copy_from_slice(&sq);
    }

    /// Moments of a few columns `cols`, row by row; results go to scratch position
    /// `offset` onwards.
    fn reduce_by_rows<'a, A, F, const SKIP_NAN: bool>(
        &mut self,
        row: &F,
        rows: Range<usize>,
        cols: Range<usize>,
        offset: usize,
    ) where
        A: StatElement + 'a,
        F: Fn(usize) -> &'a [A],
    {
        for r in rows.clone() {
            self.first_pass_row::<A, SKIP_NAN>(&row(r)[cols.clone()], offset);
        }
        if !SKIP_NAN {
            self.count[offset..].fill(rows.len() as f64);
        }
        let means = self.mean[offset..].iter_mut();
        for (mean, (&sum, &count)) in
            means.zip(self.sum[offset..].iter().zip(&self.count[offset..]))
        {
            *mean = sum / count;
        }
        for r in rows {
            self.second_pass_row::<A, SKIP_NAN>(&row(r)[cols.clone()], offset);
        }
    }

    fn first_pass_row<A: StatElement, const SKIP_NAN: bool>(
        &mut self,
        values: &[A],
        offset: usize,
    ) {
        let acc = self.count[offset..]
            .iter_mut()
            .zip(self.sum[offset..].iter_mut())
            .zip(
                self.min[offset..]
                    .iter_mut()
                    .zip(self.max[offset..].iter_mut()),
            );
        for (((count, sum), (lo, hi)), &x) in acc.zip(values) {
            accumulate_first::<SKIP_NAN>(x.to_f64(), count, sum, lo, hi);
        }
    }

    fn second_pass_row<A: StatElement, const SKIP_NAN: bool>(
        &mut self,
        values: &[A],
        offset: usize,
    ) {
        let acc = self.sq[offset..].iter_mut().zip(&self.mean[offset..]);
        for ((sq, &mean), &x) in acc.zip(values) {
            accumulate_second::<SKIP_NAN>(x.to_f64(), mean, sq);
        }
    }

    /// Marks the columns whose NaN sum comes from a NaN value (not from `inf - inf`).
    fn find_nan_columns<'a, A, F>(&mut self, row: &F, rows: Range<usize>, cols: Range<usize>)
    where
        A: StatElement + 'a,
        F: Fn(usize) -> &'a [A],
    {
        for (j, flag) in self.has_nan.iter_mut().enumerate() {
            if self.sum[j].is_nan() {
                let col = cols.start + j;
                *flag = contains_nan(rows.clone().map(|r| row(r)[col]));
            }
        }
    }

    /// Merges this tile's per-column moments into the running per-column moments.
    fn merge_into(&self, acc: &mut [Moments]) {
        for (j, total) in acc.iter_mut().enumerate() {
            let count = self.count[j];
            if count == 0.0 {
                continue;
            }
            let nan = self.has_nan[j];
            let block = Moments {
                count: count as u64,
                mean: self.mean[j],
                m2: self.sq[j],
                sum: self.sum[j],
                min: if nan { f64::NAN } else { self.min[j] },
                max: if nan { f64::NAN } else { self.max[j] },
            };
            *total = total.merge(&block);
        }
    }
}

//! The block kernels of the one-pass statistics: exact moments of short contiguous
//! blocks, the one-pass `f32` kernels, and the element types they accept.
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

use multiversion::multiversion;

use super::moments::*;

/// Elements per block of the whole-array kernel.
pub(super) const BLOCK: usize = 4096;
/// Blocks a single task reduces sequentially before the tree splits work.
pub(super) const LEAF_BLOCKS: usize = 64;
/// Elements a single task reduces sequentially.
pub(super) const LEAF_ELEMS: usize = BLOCK * LEAF_BLOCKS;
/// Independent accumulators in the first pass (lets the compiler vectorise).
pub(super) const LANES: usize = 16;
/// Widest column tile of the per-column kernel.
pub(super) const COL_TILE: usize = 1024;
/// Target elements per tile of the per-column kernel (fits in L2 for both passes).
pub(super) const TILE_ELEMS: usize = 8192;
/// Target elements per tile of the one-pass `f32` per-column kernel (the tile is read
/// once, so it need not stay in cache; bigger tiles make the per-tile merges rare).
pub(super) const F32_TILE_ELEMS: usize = 1 << 18;
/// Fewest rows per tile, so the per-tile merge cost stays small.
pub(super) const MIN_TILE_ROWS: usize = 16;
/// Widest band of columns one per-column reduction handles; wider matrices are cut
/// into bands reduced in parallel.
pub(super) const COLUMN_BAND: usize = 4 * COL_TILE;

pub(super) mod sealed {
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
    /// false, the `nan` reductions of [`ParStats`](crate::ParStats) run the plain kernels.
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

// ---------------------------------------------------------------------------------
// Block kernel: exact moments of one short contiguous block.
// ---------------------------------------------------------------------------------

/// Whether `x` is a value the reduction counts (`SKIP_NAN` drops NaNs).
#[inline(always)]
pub(super) fn counts<const SKIP_NAN: bool>(x: f64) -> bool {
    !SKIP_NAN || !x.is_nan()
}

/// Count, sum, min and max of a block (NaNs are skipped by min/max here; NaN
/// propagation is restored by [`block_moments`]). Each statistic is its own pass over
/// the cache-resident block with `LANES` independent accumulators, so no loop is
/// bound by the latency of one accumulator and none runs out of registers.
pub(super) fn first_pass<A: StatElement, const SKIP_NAN: bool>(
    block: &[A],
) -> (f64, f64, f64, f64) {
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
pub(super) fn lane_fold<A: StatElement>(
    block: &[A],
    init: f64,
    step: impl Fn(&mut f64, f64),
) -> [f64; LANES] {
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
pub(super) fn accumulate_first<const SKIP_NAN: bool>(
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

/// Sum of squared deviations from `mean`. The usual correction `(Σd)²/n` is left out:
/// with `mean` accurate to a few ulps it is below rounding level.
pub(super) fn second_pass<A: StatElement, const SKIP_NAN: bool>(block: &[A], mean: f64) -> f64 {
    pairwise_sum(&lane_fold(block, 0.0, |sq, v| {
        accumulate_second::<SKIP_NAN>(v, mean, sq)
    }))
}

/// One value's deviation from `mean` into the second-pass accumulators.
#[inline(always)]
pub(super) fn accumulate_second<const SKIP_NAN: bool>(v: f64, mean: f64, sq: &mut f64) {
    let d = if counts::<SKIP_NAN>(v) { v - mean } else { 0.0 };
    *sq += d * d;
}

/// Exact moments of one block, read twice while it is in cache.
pub(super) fn block_moments<A: StatElement, const SKIP_NAN: bool>(block: &[A]) -> Moments {
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

pub(super) use super::f32_kernels::*;

pub(super) fn contains_nan<A: StatElement>(mut values: impl Iterator<Item = A>) -> bool {
    values.any(|x| x.to_f64().is_nan())
}

/// The moments of contiguous values from the type's own kernel (`f32`), when it has
/// one and it applies: never when NaNs are to be skipped, and `None` when the values
/// hold NaN or infinities.
pub(super) fn type_kernel_moments<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
) -> Option<Moments> {
    match SKIP_NAN && A::CAN_BE_NAN {
        true => None,
        false => A::fast_block_moments(values),
    }
}

/// Moments of a slice, block after block on this thread; in one pass of the type's
/// own kernel when it has one (`f32`), which then needs no per-block merges. When that
/// kernel declines (NaN or infinities somewhere in the slice), each block tries it
/// again, so only the blocks holding such values take the generic kernel.
pub(super) fn sequential_slice_moments<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
) -> Moments {
    if let Some(moments) = type_kernel_moments::<A, SKIP_NAN>(values) {
        return moments;
    }
    values.chunks(BLOCK).fold(Moments::new(), |acc, block| {
        acc.merge(&block_moments::<A, SKIP_NAN>(block))
    })
}

impl Moments {
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
}

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

/// Sum of the lanes' partial sums in a fixed pairwise order.
pub(super) fn pairwise_sum(s: &[f64]) -> f64 {
    match s.len() {
        0 => 0.0,
        1 => s[0],
        n => pairwise_sum(&s[..n / 2]) + pairwise_sum(&s[n / 2..]),
    }
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

/// Independent lanes of the `f32` block kernel: four AVX-512 registers of `f32`
/// per accumulator, so no addition waits on the previous one.
pub(super) const F32_LANES: usize = 64;

/// Values of a block's lane that the `f32` block kernel sums in `f32` before adding
/// the sum to the lane's `f64` accumulator.
pub(super) const F32_GROUP: usize = 8;

/// Values (spread over the block) whose mean is the shift of the `f32` block kernel.
pub(super) const SHIFT_SAMPLE: usize = 16;

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
pub(super) fn f32_block_moments(block: &[f32]) -> Option<Moments> {
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
pub(super) fn f32_moments_around(block: &[f32], shift: f32) -> Option<Moments> {
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
pub(super) fn f32_shifted_moments(block: &[f32], shift: f32) -> (f64, f64, f32, f32) {
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
pub(super) fn shifted_step(
    x: f32,
    shift: f64,
    dev: &mut f64,
    sq: &mut f64,
    lo: &mut f32,
    hi: &mut f32,
) {
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
pub(super) fn f32_tile_sums(
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
pub(super) const CHUNK: usize = 16;

/// The most chunks [`f32_tile_sums_in_registers`] holds: four sums per chunk (`Σd`,
/// `Σd²`, min, max) in 28 of the 32 AVX-512 registers, for rows up to 112 columns.
pub(super) const MAX_CHUNKS: usize = 7;

/// Rows whose `f32` sums [`f32_tile_sums_in_registers`] adds up before folding them
/// into the `f64` accumulators.
pub(super) const GROUP_ROWS: usize = 8;

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
pub(super) fn f32_tile_sums_in_registers(
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
pub(super) struct TileSums<'s> {
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
pub(super) fn group_sums<const CHUNKS: usize>(
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

//! The one-pass `f32` kernels (see the [`kernels`](super::kernels) module's docs for
//! how they work): whole-block moments around a shift taken from the data, and the
//! per-column tile sums of rows held in registers. Summed in `f32` over short groups,
//! folded into `f64`; compiled for AVX-512 and AVX2 besides the baseline, with the same
//! operations in the same order in every version.

use multiversion::multiversion;

use super::moments::*;

/// Sum of the lanes' partial sums in a fixed pairwise order.
pub(super) fn pairwise_sum(s: &[f64]) -> f64 {
    match s.len() {
        0 => 0.0,
        1 => s[0],
        n => pairwise_sum(&s[..n / 2]) + pairwise_sum(&s[n / 2..]),
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
    if block.len() < F32_LANES * F32_GROUP {
        return short_shifted_moments(block, f64::from(shift));
    }
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

/// Independent `f64` lanes of [`short_shifted_moments`]: one AVX-512 register.
pub(super) const SHORT_LANES: usize = 8;

/// [`f32_shifted_moments`] of a block shorter than one group of every lane (a row of
/// a narrow matrix, reduced on its own): `d` and `d²` summed in `f64` in
/// `SHORT_LANES` lanes (value `i` to lane `i % SHORT_LANES`), so a short block costs
/// a few vector operations instead of setting up and folding 64 lanes. Inlined into
/// each of that function's versions, with the same operations in the same order.
#[inline(always)]
fn short_shifted_moments(block: &[f32], shift: f64) -> (f64, f64, f32, f32) {
    // Min and max are kept in `f64` too (exact for `f32` values), so every lane
    // works in registers of one width.
    let mut dev = [0.0f64; SHORT_LANES];
    let mut sq = [0.0f64; SHORT_LANES];
    let mut lo = [f64::INFINITY; SHORT_LANES];
    let mut hi = [f64::NEG_INFINITY; SHORT_LANES];
    let mut step = |k: usize, x: f32| {
        let x = f64::from(x);
        let d = x - shift;
        dev[k] += d;
        sq[k] += d * d;
        lo[k] = if x < lo[k] { x } else { lo[k] };
        hi[k] = if x > hi[k] { x } else { hi[k] };
    };
    let steps = block.chunks_exact(SHORT_LANES);
    let rest = steps.remainder();
    for values in steps {
        let values: &[f32; SHORT_LANES] = values.try_into().expect("SHORT_LANES values");
        for (k, &x) in values.iter().enumerate() {
            step(k, x);
        }
    }
    for (k, &x) in rest.iter().enumerate() {
        step(k, x);
    }
    let min = lo.iter().fold(f64::INFINITY, |a, &b| a.min(b));
    let max = hi.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    // Exact: both are `f32` values (or the infinities of an empty block).
    (
        pairwise_sum(&dev),
        pairwise_sum(&sq),
        min as f32,
        max as f32,
    )
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

//! Reductions along an axis: contiguous lanes, the per-column kernel, strided lanes.

use std::ops::Range;

use ndarray::{
    Array, ArrayRef, ArrayView1, ArrayView2, ArrayViewD, Axis, Dimension, Ix2, ShapeBuilder, Zip,
};

use super::kernels::*;
use super::moments::*;
use super::progress::Progress;
use super::whole::*;

// ---------------------------------------------------------------------------------
// Reductions along an axis.
// ---------------------------------------------------------------------------------

pub(super) fn axis_moments<A, D, const SKIP_NAN: bool>(
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
pub(super) fn contiguous_values<A, D>(a: &ArrayRef<A, D>) -> Option<(&[A], bool)>
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
pub(super) struct MemorySplit {
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
pub(super) fn contiguous_axis_moments<A: StatElement, const SKIP_NAN: bool>(
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
    if inner == 1 && len <= LEAF_ELEMS {
        // Short contiguous lanes (the rows of a C matrix): many lanes per task, each
        // reduced as one leaf, as `parallel_slice_moments` reduces a lane this short,
        // so the bits are the same; counted once per task, not once per lane.
        let lanes_per_task = (LEAF_ELEMS / len).max(1);
        out.par_chunks_mut(lanes_per_task)
            .zip(values.par_chunks(len * lanes_per_task))
            .for_each(|(out, lanes)| {
                for (m, lane) in out.iter_mut().zip(lanes.chunks(len)) {
                    *m = sequential_slice_moments::<A, SKIP_NAN>(lane);
                }
                progress.add(lanes.len());
            });
    } else if inner == 1 {
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
pub(super) fn rows_with_contiguous_columns<A: StatElement, const SKIP_NAN: bool>(
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
pub(super) fn lane_moments<A: StatElement, const SKIP_NAN: bool>(
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
pub(super) struct ColumnPlan {
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
pub(super) fn column_moments<'a, A, F, const SKIP_NAN: bool>(
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

pub(super) fn column_tree<'a, A, F, const SKIP_NAN: bool>(
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

pub(super) fn column_leaf<'a, A, F, const SKIP_NAN: bool>(
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
pub(super) fn column_fold<'a, A, F>(
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
pub(super) struct TileScratch {
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

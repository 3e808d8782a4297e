//! Whole-array reductions: fixed blocks merged in a fixed binary tree.

use std::ops::Range;

use ndarray::{ArrayRef, ArrayViewD, Axis, Dimension};

use super::kernels::*;
use super::moments::*;
use super::progress::Progress;

// ---------------------------------------------------------------------------------
// Whole-array reductions.
// ---------------------------------------------------------------------------------

pub(super) fn whole_array_moments<A, D, const SKIP_NAN: bool>(
    a: &ArrayRef<A, D>,
    progress: &Progress,
) -> Moments
where
    A: StatElement,
    D: Dimension,
{
    match a.as_slice_memory_order() {
        Some(values) => in_order_moments::<A, SKIP_NAN>(values, progress),
        None => view_moments::<A, SKIP_NAN>(a.view().into_dyn(), progress),
    }
}

/// [`block_tree`]'s result, with its leaves reduced in memory order: the threads take
/// the next leaf from one counter, so the data is read front to back as one stream
/// (what read-ahead of a file larger than memory needs: the halving tree would read it
/// as one stream per thread), and the leaves are then merged in `block_tree`'s tree,
/// so the bits are the same.
fn in_order_moments<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
    progress: &Progress,
) -> Moments {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let blocks = 0..values.len().div_ceil(BLOCK);
    let mut leaves = Vec::new();
    tree_leaves(blocks.clone(), &mut leaves);
    if leaves.len() <= 1 {
        return block_tree::<A, SKIP_NAN>(values, blocks, progress, true);
    }
    let results: Vec<OnceLock<Moments>> = leaves.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    let worker = || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(leaf) = leaves.get(index) else {
                return;
            };
            let _ = results[index].set(leaf_moments::<A, SKIP_NAN>(values, leaf, progress, true));
        }
    };
    rayon::scope(|s| {
        for _ in 0..rayon::current_num_threads().min(leaves.len()) {
            s.spawn(|_| worker());
        }
    });
    let mut done = results
        .into_iter()
        .map(|r| r.into_inner().unwrap_or_default());
    merge_like_tree(blocks, &mut done)
}

/// One leaf of the tree: the moments of `blocks` of `values`, on this thread, counted
/// in `progress` (and reported as a finished range when `whole`).
fn leaf_moments<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
    blocks: &Range<usize>,
    progress: &Progress,
    whole: bool,
) -> Moments {
    let start = blocks.start * BLOCK;
    let end = (blocks.end * BLOCK).min(values.len());
    let moments = sequential_slice_moments::<A, SKIP_NAN>(&values[start..end]);
    match whole {
        true => progress.finished(start..end),
        false => progress.add(end - start),
    }
    moments
}

/// The leaves of [`block_tree`]'s tree over `blocks`, in order.
fn tree_leaves(blocks: Range<usize>, out: &mut Vec<Range<usize>>) {
    if blocks.len() <= LEAF_BLOCKS {
        out.push(blocks);
        return;
    }
    let mid = blocks.start + blocks.len() / 2;
    tree_leaves(blocks.start..mid, out);
    tree_leaves(mid..blocks.end, out);
}

/// Merges the leaves' moments (in order) as [`block_tree`] merges them.
fn merge_like_tree(blocks: Range<usize>, leaves: &mut impl Iterator<Item = Moments>) -> Moments {
    if blocks.len() <= LEAF_BLOCKS {
        return leaves.next().unwrap_or_default();
    }
    let mid = blocks.start + blocks.len() / 2;
    let left = merge_like_tree(blocks.start..mid, leaves);
    let right = merge_like_tree(mid..blocks.end, leaves);
    left.merge(&right)
}

/// Moments of a contiguous slice: fixed blocks merged in a fixed binary tree.
pub(super) fn parallel_slice_moments<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
    progress: &Progress,
) -> Moments {
    block_tree::<A, SKIP_NAN>(values, 0..values.len().div_ceil(BLOCK), progress, false)
}

/// `whole`: `values` is a whole array's memory-order slice, so finished ranges are
/// reported to the progress hook (lanes of a per-axis reduction only count).
pub(super) fn block_tree<A: StatElement, const SKIP_NAN: bool>(
    values: &[A],
    blocks: Range<usize>,
    progress: &Progress,
    whole: bool,
) -> Moments {
    if blocks.len() <= LEAF_BLOCKS {
        return leaf_moments::<A, SKIP_NAN>(values, &blocks, progress, whole);
    }
    let mid = blocks.start + blocks.len() / 2;
    let (left, right) = rayon::join(
        || block_tree::<A, SKIP_NAN>(values, blocks.start..mid, progress, whole),
        || block_tree::<A, SKIP_NAN>(values, mid..blocks.end, progress, whole),
    );
    left.merge(&right)
}

/// Moments of values that are not contiguous in memory, gathered block by block.
pub(super) fn gathered_moments<'a, A, const SKIP_NAN: bool>(
    values: impl Iterator<Item = &'a A>,
) -> Moments
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
pub(super) fn view_moments<A: StatElement, const SKIP_NAN: bool>(
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
pub(super) fn outermost_splittable_axis<A>(view: &ArrayViewD<'_, A>) -> Axis {
    let best = (0..view.ndim())
        .filter(|&i| view.len_of(Axis(i)) > 1)
        .max_by_key(|&i| (view.strides()[i].unsigned_abs(), std::cmp::Reverse(i)))
        .expect("a view longer than one leaf has an axis of length > 1");
    Axis(best)
}

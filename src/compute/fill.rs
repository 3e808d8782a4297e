//! Parallel fills: a constant, a function of the index, column by column, and seeded
//! random values.
//!
//! Random values come from a counter-based generator: the value at logical (C-order)
//! index `i` is a pure function of `(seed, i)` (SplitMix64's output function applied to
//! a keyed counter), so a filled array is identical whatever the thread count and
//! whatever its memory layout, and does not depend on any external RNG's stream.

use multiversion::multiversion;
use ndarray::{ArrayRef, Axis, Dimension, Ix2, Zip};
use rayon::prelude::*;

/// Elements one task writes in the contiguous fast paths (even, so normal pairs align).
const FILL_CHUNK: usize = 1 << 16;

mod sealed {
    pub trait Sealed {
        /// Writes `from_uniform_bits(random_bits(seed, base + k))` into `out[k]`.
        fn fill_uniform_slice(seed: u64, base: u64, out: &mut [Self])
        where
            Self: super::FillFloat,
        {
            for (i, x) in (base..).zip(out.iter_mut()) {
                *x = Self::from_uniform_bits(super::random_bits(seed, i));
            }
        }
    }
}

/// A float type the random fills produce: `f32`, `f64` or [`half::f16`]. Sealed.
///
/// ```
/// use npmap::FillFloat;
/// assert_eq!(f32::from_f64(0.5), 0.5f32);
/// assert!(f64::from_uniform_bits(u64::MAX) < 1.0);
/// ```
pub trait FillFloat: Copy + Send + Sync + sealed::Sealed {
    /// A uniform value in `[0, 1)` from 64 random bits, using as many of the top bits
    /// as the type's precision holds (so the result is never rounded up to 1).
    ///
    /// ```
    /// use npmap::FillFloat;
    /// use npmap::half::f16;
    /// assert_eq!(f64::from_uniform_bits(0), 0.0);
    /// assert_eq!(f64::from_uniform_bits(1 << 63), 0.5);
    /// assert_eq!(f32::from_uniform_bits(u64::MAX), 1.0 - f32::EPSILON / 2.0);
    /// assert_eq!(f16::from_uniform_bits(u64::MAX), f16::from_f32(1.0 - 1.0 / 2048.0));
    /// ```
    fn from_uniform_bits(bits: u64) -> Self;

    /// The nearest value of this type.
    ///
    /// ```
    /// use npmap::FillFloat;
    /// use npmap::half::f16;
    /// assert_eq!(<f32 as FillFloat>::from_f64(0.1), 0.1f32);
    /// assert_eq!(<f16 as FillFloat>::from_f64(1.5), f16::from_f32(1.5));
    /// assert_eq!(<f64 as FillFloat>::from_f64(-2.25), -2.25);
    /// ```
    fn from_f64(x: f64) -> Self;
}

impl sealed::Sealed for f64 {
    fn fill_uniform_slice(seed: u64, base: u64, out: &mut [f64]) {
        f64_uniform_fill(stream_key(seed), base, out);
    }
}
impl FillFloat for f64 {
    #[inline(always)]
    fn from_uniform_bits(bits: u64) -> Self {
        (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn from_f64(x: f64) -> Self {
        x
    }
}

impl sealed::Sealed for f32 {
    fn fill_uniform_slice(seed: u64, base: u64, out: &mut [f32]) {
        f32_uniform_fill(stream_key(seed), base, out);
    }
}
impl FillFloat for f32 {
    #[inline(always)]
    fn from_uniform_bits(bits: u64) -> Self {
        (bits >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl sealed::Sealed for half::f16 {}
impl FillFloat for half::f16 {
    fn from_uniform_bits(bits: u64) -> Self {
        half::f16::from_f32((bits >> 53) as f32 * (1.0 / 2048.0))
    }

    fn from_f64(x: f64) -> Self {
        half::f16::from_f64(x)
    }
}

/// Sets every element to `value`, in parallel, for any layout.
///
/// ```
/// use npmap::ndarray::Array2;
/// use npmap::par_fill;
/// let mut a = Array2::<f32>::zeros((3, 4));
/// par_fill(&mut a, 1.5);
/// assert!(a.iter().all(|&x| x == 1.5));
/// ```
pub fn par_fill<A, D>(array: &mut ArrayRef<A, D>, value: A)
where
    A: Copy + Send + Sync,
    D: Dimension,
{
    match array.as_slice_memory_order_mut() {
        Some(values) => values
            .par_chunks_mut(FILL_CHUNK)
            .for_each(|chunk| chunk.fill(value)),
        None => Zip::from(array).par_for_each(|x| *x = value),
    }
}

/// Sets every element to `value_at(index)`, in parallel, for any layout. The index is
/// the dimension's pattern: `usize` for 1-D, `(usize, usize)` for 2-D, ..., `IxDyn` for
/// dynamic dimensions.
///
/// ```
/// use npmap::ndarray::{array, Array2};
/// use npmap::par_fill_with;
/// let mut a = Array2::<u32>::zeros((2, 3));
/// par_fill_with(&mut a, |(i, j)| (10 * i + j) as u32);
/// assert_eq!(a, array![[0, 1, 2], [10, 11, 12]]);
/// ```
pub fn par_fill_with<A, D, F>(array: &mut ArrayRef<A, D>, value_at: F)
where
    A: Send + Sync,
    D: Dimension,
    F: Fn(D::Pattern) -> A + Sync + Send,
{
    par_for_each_indexed(array, |index, x| {
        *x = value_at(index.clone().into_pattern())
    });
}

/// Visits every element with its multi-index, in parallel over the outermost axis in
/// memory (largest stride), so each task walks a compact region. Works for every
/// dimension type, `IxDyn` included.
fn par_for_each_indexed<A, D>(array: &mut ArrayRef<A, D>, visit: impl Fn(&D, &mut A) + Sync + Send)
where
    A: Send + Sync,
    D: Dimension,
{
    let ndim = array.ndim();
    if ndim == 0 {
        let origin = D::zeros(0);
        array.iter_mut().for_each(|x| visit(&origin, x));
        return;
    }
    let outer = outermost_axis(array);
    array
        .view_mut()
        .into_dyn()
        .axis_iter_mut(outer)
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut slab)| {
            let mut index = D::zeros(ndim);
            for (inner, x) in slab.indexed_iter_mut() {
                let (before, after) = inner.slice().split_at(outer.index());
                let full = index.slice_mut();
                full[..outer.index()].copy_from_slice(before);
                full[outer.index()] = i;
                full[outer.index() + 1..].copy_from_slice(after);
                visit(&index, x);
            }
        });
}

/// The axis of length > 1 with the largest absolute stride (axis 0 if none).
fn outermost_axis<A, D: Dimension>(array: &ArrayRef<A, D>) -> Axis {
    let strides = array.strides();
    let best = (0..array.ndim())
        .filter(|&k| array.len_of(Axis(k)) > 1)
        .max_by_key(|&k| (strides[k].unsigned_abs(), std::cmp::Reverse(k)))
        .unwrap_or(0);
    Axis(best)
}

/// Fills a matrix column by column while writing it in memory order, the Rust form of
/// NumPy's `for i in range(ncols): f[:, i] = generate(i)` on a C-order mapped file.
///
/// `generate(col, row_start, out)` must write into `out` the values of column `col` for
/// rows `row_start .. row_start + out.len()` (`out` holds unspecified values on entry).
/// Each rayon task owns a contiguous block of rows (or, for a column-contiguous layout
/// such as F order, a piece of one column), so the memory is written sequentially.
/// If the generated values depend only on `(col, row)` — as with [`uniform_at`] and
/// [`normal_at`] — the result is the same for every layout and thread count.
///
/// ```
/// use npmap::ndarray::Array2;
/// use npmap::{par_fill_columns, uniform_at};
/// let mut a = Array2::<f64>::zeros((1000, 3));
/// par_fill_columns(&mut a, |col, row_start, out| {
///     for (k, x) in out.iter_mut().enumerate() {
///         *x = col as f64 + uniform_at(42, (row_start + k) as u64);
///     }
/// });
/// assert_eq!(a[[7, 2]], 2.0 + uniform_at(42, 7));
/// ```
pub fn par_fill_columns<A, F>(array: &mut ArrayRef<A, Ix2>, generate: F)
where
    A: Copy + Send + Sync,
    F: Fn(usize, usize, &mut [A]) + Sync + Send,
{
    let (nrows, ncols) = array.dim();
    if nrows == 0 || ncols == 0 {
        return;
    }
    if array.stride_of(Axis(0)) == 1 || nrows == 1 {
        fill_contiguous_columns(array, &generate);
    } else {
        fill_by_row_blocks(array, &generate);
    }
}

/// Columns contiguous in memory: each task fills one piece of one column in place.
fn fill_contiguous_columns<A, F>(array: &mut ArrayRef<A, Ix2>, generate: &F)
where
    A: Copy + Send + Sync,
    F: Fn(usize, usize, &mut [A]) + Sync,
{
    array
        .axis_iter_mut(Axis(1))
        .into_par_iter()
        .enumerate()
        .for_each(|(col, column)| {
            let values = column.into_slice().expect("the column has unit stride");
            values
                .par_chunks_mut(FILL_CHUNK)
                .enumerate()
                .for_each(|(k, piece)| generate(col, k * FILL_CHUNK, piece));
        });
}

/// Rows in memory order: each task owns a block of rows (a cache-sized, contiguous
/// region for C order), generates each column's values for it into a scratch buffer
/// and scatters them into the block.
fn fill_by_row_blocks<A, F>(array: &mut ArrayRef<A, Ix2>, generate: &F)
where
    A: Copy + Send + Sync,
    F: Fn(usize, usize, &mut [A]) + Sync,
{
    let block_rows = (FILL_CHUNK / array.ncols()).max(1);
    array
        .axis_chunks_iter_mut(Axis(0), block_rows)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut block)| {
            let mut scratch = vec![block[[0, 0]]; block.nrows()];
            for (col, mut column) in block.columns_mut().into_iter().enumerate() {
                generate(col, b * block_rows, &mut scratch);
                column.iter_mut().zip(&scratch).for_each(|(x, &v)| *x = v);
            }
        });
}

/// Fills with uniform values in `[0, 1)`: the element at logical C-order index `i`
/// is `uniform_at(seed, i)` (at the type's precision), whatever the layout or thread
/// count.
///
/// ```
/// use npmap::ndarray::Array2;
/// use npmap::{par_fill_uniform, uniform_at};
/// let mut a = Array2::<f64>::zeros((4, 5));
/// par_fill_uniform(&mut a, 7);
/// assert_eq!(a[[1, 2]], uniform_at(7, 7));
/// assert!(a.iter().all(|&x| (0.0..1.0).contains(&x)));
/// ```
pub fn par_fill_uniform<A, D>(array: &mut ArrayRef<A, D>, seed: u64)
where
    A: FillFloat,
    D: Dimension,
{
    let fill_chunk = |base: u64, chunk: &mut [A]| A::fill_uniform_slice(seed, base, chunk);
    let value_at = |i: u64| A::from_uniform_bits(random_bits(seed, i));
    fill_by_c_index(array, fill_chunk, value_at);
}

/// Fills with standard normal values (Box–Muller): the element at logical C-order index
/// `i` is `normal_at(seed, i)` rounded to the element type, whatever the layout or
/// thread count.
///
/// ```
/// use npmap::ndarray::Array1;
/// use npmap::{normal_at, par_fill_normal};
/// let mut a = Array1::<f32>::zeros(10);
/// par_fill_normal(&mut a, 3);
/// assert_eq!(a[5], normal_at(3, 5) as f32);
/// ```
pub fn par_fill_normal<A, D>(array: &mut ArrayRef<A, D>, seed: u64)
where
    A: FillFloat,
    D: Dimension,
{
    let fill_chunk = |base: u64, chunk: &mut [A]| {
        debug_assert!(base.is_multiple_of(2), "chunks start at even indices");
        for (pair, xs) in (base / 2..).zip(chunk.chunks_mut(2)) {
            let (z0, z1) = normal_pair(seed, pair);
            xs[0] = A::from_f64(z0);
            if let Some(x) = xs.get_mut(1) {
                *x = A::from_f64(z1);
            }
        }
    };
    let value_at = |i: u64| A::from_f64(normal_at(seed, i));
    fill_by_c_index(array, fill_chunk, value_at);
}

/// Writes values that depend on the logical C-order index: by chunks of the memory
/// slice for C-contiguous arrays, element by element (with its index) otherwise.
fn fill_by_c_index<A, D>(
    array: &mut ArrayRef<A, D>,
    fill_chunk: impl Fn(u64, &mut [A]) + Sync + Send,
    value_at: impl Fn(u64) -> A + Sync + Send,
) where
    A: Copy + Send + Sync,
    D: Dimension,
{
    if let Some(values) = array.as_slice_mut() {
        values
            .par_chunks_mut(FILL_CHUNK)
            .enumerate()
            .for_each(|(k, chunk)| fill_chunk((k * FILL_CHUNK) as u64, chunk));
        return;
    }
    let dims = array.raw_dim();
    par_for_each_indexed(array, |index, x| {
        *x = value_at(c_order_index(index.slice(), dims.slice()));
    });
}

/// The position of a multi-index in C order.
fn c_order_index(index: &[usize], dims: &[usize]) -> u64 {
    index
        .iter()
        .zip(dims)
        .fold(0u64, |acc, (&i, &n)| acc * n as u64 + i as u64)
}

/// The uniform value in `[0, 1)` (53 random bits) at position `index` of the stream
/// `seed`: a pure function of its arguments.
///
/// ```
/// use npmap::uniform_at;
/// let x = uniform_at(1, 0);
/// assert!((0.0..1.0).contains(&x));
/// assert_eq!(x, uniform_at(1, 0));
/// assert_ne!(x, uniform_at(2, 0));
/// ```
pub fn uniform_at(seed: u64, index: u64) -> f64 {
    f64::from_uniform_bits(random_bits(seed, index))
}

/// The standard normal value at position `index` of the stream `seed` (Box–Muller on
/// the uniform pair `2⌊index/2⌋`, `2⌊index/2⌋ + 1`): a pure function of its arguments.
///
/// ```
/// use npmap::normal_at;
/// let z = normal_at(5, 11);
/// assert!(z.is_finite());
/// assert_eq!(z, normal_at(5, 11));
/// ```
pub fn normal_at(seed: u64, index: u64) -> f64 {
    let (z0, z1) = normal_pair(seed, index / 2);
    if index.is_multiple_of(2) { z0 } else { z1 }
}

/// Two independent standard normals from uniform draws `2 pair` and `2 pair + 1`.
fn normal_pair(seed: u64, pair: u64) -> (f64, f64) {
    let u1 = 1.0 - uniform_at(seed, 2 * pair); // in (0, 1], so ln is finite
    let u2 = uniform_at(seed, 2 * pair + 1);
    let radius = (-2.0 * u1.ln()).sqrt();
    let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
    (radius * cos, radius * sin)
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output at position `index` of the stream keyed by `seed`.
fn random_bits(seed: u64, index: u64) -> u64 {
    keyed_bits(stream_key(seed), index)
}

/// The key of the stream `seed`.
#[inline(always)]
fn stream_key(seed: u64) -> u64 {
    mix64(seed ^ 0x6A09_E667_F3BC_C909)
}

/// SplitMix64's output at position `index` of the stream with key `key`.
#[inline(always)]
fn keyed_bits(key: u64, index: u64) -> u64 {
    mix64(key.wrapping_add(index.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
}

/// [`par_fill_uniform`]'s values for `f32`, `out[k]` from index `base + k`: integer
/// mixing and an exact conversion, so every target gives the same bits. Compiled for
/// several instruction sets (AVX-512 has 64-bit vector multiplies) and picked at run
/// time.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+fma",
    "x86_64+avx2+fma"
))]
fn f32_uniform_fill(key: u64, base: u64, out: &mut [f32]) {
    for (i, x) in (base..).zip(out.iter_mut()) {
        *x = f32::from_uniform_bits(keyed_bits(key, i));
    }
}

/// [`par_fill_uniform`]'s values for `f64`, as [`f32_uniform_fill`].
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+fma",
    "x86_64+avx2+fma"
))]
fn f64_uniform_fill(key: u64, base: u64, out: &mut [f64]) {
    for (i, x) in (base..).zip(out.iter_mut()) {
        *x = f64::from_uniform_bits(keyed_bits(key, i));
    }
}

/// SplitMix64's finaliser (a bijective 64-bit mix).
#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

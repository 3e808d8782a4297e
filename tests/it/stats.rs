//! Statistics kernels against slow, obvious f64 references.

use ndarray::{
    Array, Array1, Array2, Array3, ArrayView1, Axis, Dimension, IxDyn, ShapeBuilder, arr0, s,
};
use npmap::{Moments, ParStats, StatElement};
use proptest::prelude::*;

/// A small deterministic generator for test data (SplitMix64).
struct TestRng(u64);

impl TestRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn random_f64(n: usize, seed: u64, offset: f64, scale: f64) -> Vec<f64> {
    let mut rng = TestRng(seed);
    (0..n).map(|_| offset + scale * rng.signed()).collect()
}

/// Neumaier-compensated sum: the reference's sums are exact to a few ulps.
fn compensated_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for x in values {
        let t = sum + x;
        comp += if sum.abs() >= x.abs() {
            (sum - t) + x
        } else {
            (x - t) + sum
        };
        sum = t;
    }
    sum + comp
}

/// The slow obvious statistics: two passes in f64.
#[derive(Debug)]
struct Reference {
    count: u64,
    sum: f64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Reference {
    fn of(values: &[f64]) -> Self {
        let count = values.len() as u64;
        let sum = compensated_sum(values.iter().copied());
        let mean = sum / count as f64;
        let m2 = compensated_sum(values.iter().map(|&x| (x - mean) * (x - mean)));
        let has_nan = values.iter().any(|x| x.is_nan());
        let min = if has_nan || count == 0 {
            f64::NAN
        } else {
            values.iter().copied().fold(f64::INFINITY, f64::min)
        };
        let max = if has_nan || count == 0 {
            f64::NAN
        } else {
            values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        };
        Reference {
            count,
            sum,
            mean,
            m2,
            min,
            max,
        }
    }

    fn of_non_nan(values: &[f64]) -> Self {
        let kept: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        Reference::of(&kept)
    }

    fn var(&self, ddof: u64) -> f64 {
        if ddof >= self.count {
            f64::NAN
        } else {
            self.m2 / (self.count - ddof) as f64
        }
    }
}

fn close(found: f64, expected: f64, rel: f64, scale: f64) -> bool {
    if expected.is_nan() {
        return found.is_nan();
    }
    if expected.is_infinite() {
        return found == expected;
    }
    (found - expected).abs() <= rel * expected.abs().max(scale)
}

/// Asserts every statistic within `rel` (relative to the value, or to `scale` for
/// values near zero, e.g. the mean of centred data).
fn assert_matches(m: &Moments, r: &Reference, rel: f64, what: &str) {
    let scale = r.mean.abs().max(r.var(0).sqrt()).max(f64::MIN_POSITIVE);
    assert_eq!(m.count(), r.count, "{what}: count");
    assert!(
        close(m.sum(), r.sum, rel, scale * r.count as f64),
        "{what}: sum {} vs {}",
        m.sum(),
        r.sum
    );
    assert!(
        close(m.mean(), r.mean, rel, scale),
        "{what}: mean {} vs {}",
        m.mean(),
        r.mean
    );
    for ddof in [0, 1] {
        assert!(
            close(m.var(ddof), r.var(ddof as u64), rel, 0.0),
            "{what}: var({ddof}) {} vs {}",
            m.var(ddof),
            r.var(ddof as u64)
        );
    }
    assert!(
        close(m.min(), r.min, 0.0, 0.0),
        "{what}: min {} vs {}",
        m.min(),
        r.min
    );
    assert!(
        close(m.max(), r.max, 0.0, 0.0),
        "{what}: max {} vs {}",
        m.max(),
        r.max
    );
}

fn as_f64<A: StatElement>(values: impl IntoIterator<Item = A>) -> Vec<f64> {
    values.into_iter().map(StatElement::to_f64).collect()
}

/// Checks `par_moments_axis` (plain and NaN-skipping) against per-lane references.
fn check_axis<A: StatElement, D: Dimension>(a: &ndarray::ArrayView<'_, A, D>, rel: f64, what: &str)
where
    D::Smaller: Dimension,
{
    for k in 0..a.ndim() {
        let axis = Axis(k);
        let found = a.par_moments_axis(axis);
        let found_nan = a.par_nan_moments_axis(axis);
        let mut expected_shape = a.shape().to_vec();
        expected_shape.remove(k);
        assert_eq!(
            found.shape(),
            &expected_shape[..],
            "{what}: shape along axis {k}"
        );
        for ((m, mn), lane) in found.iter().zip(found_nan.iter()).zip(a.lanes(axis)) {
            let values = as_f64(lane.iter().copied());
            assert_matches(m, &Reference::of(&values), rel, &format!("{what} axis {k}"));
            assert_matches(
                mn,
                &Reference::of_non_nan(&values),
                rel,
                &format!("{what} nan axis {k}"),
            );
        }
    }
}

fn check_whole<A: StatElement, D: Dimension>(
    a: &ndarray::ArrayView<'_, A, D>,
    rel: f64,
    what: &str,
) {
    let values = as_f64(a.iter().copied());
    assert_matches(&a.par_moments(), &Reference::of(&values), rel, what);
    assert_matches(
        &a.par_nan_moments(),
        &Reference::of_non_nan(&values),
        rel,
        &format!("{what} nan"),
    );
}

#[test]
fn whole_f64_matches_reference_at_block_boundaries() {
    for (i, n) in [1usize, 7, 8, 9, 4095, 4096, 4097, 300_001]
        .into_iter()
        .enumerate()
    {
        let a = Array1::from(random_f64(n, i as u64, 3.5, 2.0));
        let r = Reference::of(a.as_slice().unwrap());
        assert_matches(&a.par_moments(), &r, 1e-12, &format!("n={n}"));
        assert!(close(a.par_mean(), r.mean, 1e-12, 1.0));
        assert!(close(a.par_std(1), r.var(1).sqrt(), 1e-12, 0.0));
        assert_eq!((a.par_min(), a.par_max()), (r.min, r.max));
    }
}

#[test]
fn f32_with_large_offset_is_accurate_where_naive_f32_fails() {
    let n = 1_000_003;
    let mut rng = TestRng(99);
    let a: Array1<f32> = (0..n).map(|_| (1e6 + 0.5 * rng.signed()) as f32).collect();
    let values = as_f64(a.iter().copied());
    let r = Reference::of(&values);
    let m = a.par_moments();
    assert_matches(&m, &r, 1e-12, "offset f32");
    assert!(close(m.var(0), r.var(0), 1e-12, 0.0));
    // The trap this guards against: naive float32 accumulation is far off.
    let naive_mean = a.iter().fold(0.0f32, |s, &x| s + x) / n as f32;
    let naive_var = a.iter().fold(0.0f32, |s, &x| s + x * x) / n as f32 - naive_mean * naive_mean;
    assert!(
        (f64::from(naive_mean) - r.mean).abs() > 1.0,
        "naive f32 mean unexpectedly accurate"
    );
    assert!(
        (f64::from(naive_var) - r.var(0)).abs() > 1.0,
        "naive f32 var unexpectedly accurate"
    );
}

#[test]
fn f32_whole_array_moments_are_accurate() {
    // Values quantised as float32 data is (multiples of 2^-14 around 1000, of 2^-24
    // just below 1): the rounding of d² in f32 is then slightly biased (squares of
    // integers leave only some remainders), the worst case for the kernel's 8-value
    // f32 groups: a few percent of an f32 ulp of the variance. Sizes from one partial
    // group to many leaves, with the shift sample far from the mean in one of them.
    for (n, offset, spread) in [
        (5usize, 1000.0, 1.0),
        (4_099, 1.0, 1e-3),
        (300_007, 1000.0, 1.0),
        (2_000_003, -3e3, 10.0),
    ] {
        let noise = random_f64(n, n as u64, 0.0, 1.0);
        let mut a: Array1<f32> = noise
            .iter()
            .map(|&u| (offset + spread * u) as f32)
            .collect();
        if n == 300_007 {
            // The first values (the kernel's shift sample) far from the rest.
            a.slice_mut(s![..16]).fill((offset + 50.0 * spread) as f32);
        }
        let r = Reference::of(&as_f64(a.iter().copied()));
        let m = a.par_moments();
        assert_eq!((m.count(), m.min(), m.max()), (r.count, r.min, r.max));
        let rel = |found: f64, expected: f64| (found - expected).abs() / expected.abs();
        let errors = (rel(m.mean(), r.mean), rel(m.var(1), r.var(1)));
        assert!(errors.0 <= 1e-12 && errors.1 <= 5e-8, "n={n}: {errors:?}");
        assert!(rel(m.sum(), r.sum) <= 1e-12, "n={n}: sum");
    }
}

#[test]
fn integer_bool_and_f16_elements() {
    let mut rng = TestRng(5);
    let n = 10_007;
    let raw: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
    macro_rules! check_int {
        ($($t:ty),*) => {$(
            let a: Array1<$t> = raw.iter().map(|&x| x as $t).collect();
            check_whole(&a.view(), 1e-12, stringify!($t));
        )*};
    }
    check_int!(i8, i16, i32, u8, u16, u32);
    // 64-bit integers: exact in f64 when below 2^53.
    let a: Array1<i64> = raw.iter().map(|&x| (x >> 12) as i64 - (1 << 51)).collect();
    check_whole(&a.view(), 1e-12, "i64");
    let a: Array1<u64> = raw.iter().map(|&x| x >> 11).collect();
    check_whole(&a.view(), 1e-12, "u64");
    let a: Array1<bool> = raw.iter().map(|&x| x % 3 == 0).collect();
    let m = a.par_moments();
    let ones = a.iter().filter(|&&b| b).count() as f64;
    assert_eq!((m.sum(), m.min(), m.max()), (ones, 0.0, 1.0));
    check_whole(&a.view(), 1e-12, "bool");
    let a: Array1<half::f16> = raw
        .iter()
        .map(|&x| half::f16::from_f64((x >> 40) as f64 / 1e5 - 80.0))
        .collect();
    check_whole(&a.view(), 1e-12, "f16");
    let a = Array2::from_shape_vec(
        (101, 99),
        raw[..101 * 99].iter().map(|&x| x as i16).collect(),
    )
    .unwrap();
    check_axis(&a.view(), 1e-12, "i16 2-D");
}

#[test]
fn nan_propagates_and_nan_variants_skip() {
    let mut values = random_f64(20_000, 11, 0.0, 1.0);
    values[123] = f64::NAN;
    values[15_000] = f64::NAN;
    let a = Array1::from(values.clone());
    let m = a.par_moments();
    assert_eq!(m.count(), 20_000);
    assert!(
        m.mean().is_nan()
            && m.var(0).is_nan()
            && m.min().is_nan()
            && m.max().is_nan()
            && m.sum().is_nan()
    );
    let r = Reference::of_non_nan(&values);
    assert_matches(&a.par_nan_moments(), &r, 1e-12, "nan skip");
    assert!(close(a.par_nanmean(), r.mean, 1e-12, 1.0));
    assert!(close(a.par_nanstd(1), r.var(1).sqrt(), 1e-12, 0.0));
    assert!(close(a.par_nanvar(0), r.var(0), 1e-12, 0.0));
    assert!(close(a.par_nansum(), r.sum, 1e-12, 1.0));
    assert_eq!((a.par_nanmin(), a.par_nanmax()), (r.min, r.max));

    let all_nan = Array1::from_elem(10, f32::NAN);
    let m = all_nan.par_nan_moments();
    assert_eq!((m.count(), m.sum()), (0, 0.0));
    assert!(m.mean().is_nan() && m.min().is_nan() && m.var(0).is_nan());

    let mut grid = Array2::from_shape_vec((300, 50), random_f64(15_000, 12, 1.0, 1.0)).unwrap();
    grid[[10, 3]] = f64::NAN;
    grid[[299, 49]] = f64::NAN;
    grid.column_mut(7).fill(f64::NAN);
    check_axis(&grid.view(), 1e-12, "nan grid");
    let means = grid.par_mean_axis(Axis(0));
    assert!(means[3].is_nan() && means[7].is_nan() && !means[4].is_nan());
    let nanmeans = grid.par_nanmean_axis(Axis(0));
    assert!(!nanmeans[3].is_nan() && nanmeans[7].is_nan());
    assert_eq!(grid.par_nansum_axis(Axis(0))[7], 0.0);
}

#[test]
fn infinities_follow_numpy() {
    let m = ndarray::array![f64::INFINITY, 1.0].par_moments();
    assert_eq!(
        (m.mean(), m.min(), m.max()),
        (f64::INFINITY, 1.0, f64::INFINITY)
    );
    assert!(m.var(0).is_nan());
    let m = ndarray::array![f64::INFINITY, f64::NEG_INFINITY, 2.0].par_moments();
    assert!(m.mean().is_nan());
    assert_eq!((m.min(), m.max()), (f64::NEG_INFINITY, f64::INFINITY));
}

#[test]
fn f32_rows_of_every_short_length_match_the_reference_and_from_slice() {
    // Rows shorter than one group of every lane of the f32 kernel take its short
    // path: lengths around its 8 lanes and up to the 512 of the long path, values
    // quantised around an offset, and rows holding NaN, an infinity or zeros of both signs.
    for len in [
        1usize, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 255, 511, 512, 513,
    ] {
        let rows = 40;
        let noise = random_f64(rows * len, len as u64 + 7, 0.0, 1.0);
        let mut a =
            Array2::from_shape_fn((rows, len), |(r, c)| (1000.0 + noise[r * len + c]) as f32);
        a[[1, len / 2]] = f32::NAN;
        a[[2, len - 1]] = f32::INFINITY;
        a[[3, 0]] = f32::NEG_INFINITY;
        a.row_mut(4).fill(0.0);
        a[[4, len - 1]] = -0.0;
        let per_row = a.par_moments_axis(Axis(1));
        for (r, (m, row)) in per_row.iter().zip(a.rows()).enumerate() {
            let values = row.to_vec();
            assert_eq!(
                bits(m),
                bits(&Moments::from_slice(&values)),
                "len {len} row {r}"
            );
            let what = format!("len {len} row {r}");
            if let Some(&inf) = values.iter().find(|x| x.is_infinite()) {
                // One infinity (rows 2 and 3): the mean and the extreme are it.
                assert_eq!(m.mean(), f64::from(inf), "{what}: mean");
                let extreme = if inf > 0.0 { m.max() } else { m.min() };
                assert_eq!(extreme, f64::from(inf), "{what}: extreme");
                continue;
            }
            let reference = Reference::of(&as_f64(values.iter().copied()));
            assert_matches(m, &reference, 1e-7, &what);
            let rel = |found: f64, expected: f64| (found - expected).abs() / expected.abs();
            if r > 4 {
                assert!(rel(m.mean(), reference.mean) <= 1e-12, "{what}: mean");
            }
        }
    }
}

#[test]
fn f32_blocks_with_nan_inf_or_huge_values_fall_back_correctly() {
    let mut a: Array1<f32> = random_f64(10_000, 81, 5.0, 1.0)
        .into_iter()
        .map(|x| x as f32)
        .collect();
    a[9_000] = f32::NAN;
    let m = a.par_moments();
    assert!(m.mean().is_nan() && m.min().is_nan() && m.max().is_nan());
    a[9_000] = f32::INFINITY;
    let m = a.par_moments();
    assert_eq!((m.mean(), m.max()), (f64::INFINITY, f64::INFINITY));
    // An infinity in the first block, merged with finite blocks after it, and in f64
    // (regression: the merge gave NaN); +inf with -inf gives NaN, as np.mean does.
    a[17] = f32::INFINITY;
    let b = a.mapv(f64::from);
    for m in [a.par_moments(), b.par_moments()] {
        assert_eq!((m.mean(), m.max()), (f64::INFINITY, f64::INFINITY));
        assert!(m.var(0).is_nan());
    }
    a[17] = f32::NEG_INFINITY;
    assert!(a.par_moments().mean().is_nan());
    // Sums that overflow f32 but not f64.
    let big = Array1::from_elem(5_000, 3e38f32);
    let m = big.par_moments();
    assert_eq!(m.mean(), f64::from(3e38f32));
    assert_eq!(m.sum(), 5_000.0 * f64::from(3e38f32));
    assert_eq!(m.var(0), 0.0);
}

#[test]
fn empty_and_zero_dimensional_arrays() {
    let empty = Array1::<f64>::zeros(0);
    let m = empty.par_moments();
    assert_eq!((m.count(), m.sum()), (0, 0.0));
    assert!(m.mean().is_nan() && m.var(0).is_nan() && m.min().is_nan() && m.max().is_nan());
    assert_eq!(m, Moments::new());

    let rows0 = Array2::<f32>::zeros((0, 3));
    let cols = rows0.par_moments_axis(Axis(0));
    assert_eq!(cols.len(), 3);
    assert!(cols.iter().all(|m| m.count() == 0 && m.mean().is_nan()));
    assert_eq!(rows0.par_moments_axis(Axis(1)).len(), 0);
    let f_rows0 = Array2::<f32>::zeros((0, 3).f());
    assert_eq!(
        f_rows0.par_sum_axis(Axis(0)),
        ndarray::array![0.0, 0.0, 0.0]
    );

    let scalar = arr0(5.0f32);
    let m = scalar.par_moments();
    assert_eq!(
        (m.count(), m.mean(), m.var(0), m.min(), m.max()),
        (1, 5.0, 0.0, 5.0, 5.0)
    );
    let line = ndarray::array![1.0, 2.0, 6.0];
    let reduced = line.par_moments_axis(Axis(0));
    assert_eq!(reduced.ndim(), 0);
    assert_eq!(reduced[()].mean(), 3.0);
}

#[test]
fn var_with_ddof_at_least_count_is_nan() {
    let m = Moments::from_slice(&[1.0f64, 2.0]);
    assert_eq!(m.var(1), 0.5);
    assert!(m.var(2).is_nan() && m.var(3).is_nan() && m.std(2).is_nan());
}

fn random_3d(shape: (usize, usize, usize), seed: u64) -> Array3<f64> {
    let (a, b, c) = shape;
    Array3::from_shape_vec(shape, random_f64(a * b * c, seed, 100.0, 3.0)).unwrap()
}

#[test]
fn all_axes_of_3d_in_c_f_strided_and_permuted_layouts() {
    let c = random_3d((37, 53, 11), 21);
    let mut f = Array3::zeros((37, 53, 11).f());
    f.assign(&c);
    check_axis(&c.view(), 1e-12, "C");
    check_axis(&f.view(), 1e-12, "F");
    check_axis(&c.slice(s![..;2, 3..40;3, ..]), 1e-12, "strided");
    check_axis(&c.slice(s![..;-1, .., 1..]), 1e-12, "negative stride");
    check_axis(&c.view().permuted_axes([1, 2, 0]), 1e-12, "permuted");
    check_whole(&c.view(), 1e-12, "C whole");
    check_whole(&f.view(), 1e-12, "F whole");
    check_whole(&c.slice(s![..;2, 3..40;3, ..]), 1e-12, "strided whole");
    check_axis(&c.view().into_dyn(), 1e-12, "IxDyn");
    // Results do not depend on layout beyond rounding: C and F agree closely.
    let (mc, mf) = (c.par_moments_axis(Axis(1)), f.par_moments_axis(Axis(1)));
    for (x, y) in mc.iter().zip(&mf) {
        assert!(close(x.var(0), y.var(0), 1e-12, 0.0) && x.min() == y.min());
    }
}

#[test]
fn large_axis_reductions_cross_tiles_and_tree_leaves() {
    // Many rows (several leaves), few columns: the per-column kernel of a C matrix.
    let tall =
        Array2::from_shape_vec((20_011, 30), random_f64(20_011 * 30, 31, -5e3, 1.0)).unwrap();
    check_axis(&tall.view(), 1e-12, "tall");
    // More columns than one column tile.
    let wide = Array2::from_shape_vec((40, 2_500), random_f64(40 * 2_500, 32, 7.0, 1.0)).unwrap();
    check_axis(&wide.view(), 1e-12, "wide");
    // Few rows, more columns than one column band.
    let banded = Array2::from_shape_vec((3, 9_001), random_f64(3 * 9_001, 34, -1.0, 1.0)).unwrap();
    check_axis(&banded.view(), 1e-12, "banded");
    // Column ranges and row steps of a C matrix: rows are contiguous segments.
    check_axis(&tall.slice(s![..;3, 5..17]), 1e-12, "column range");
    check_axis(&tall.slice(s![..;-1, ..]), 1e-12, "reversed rows");
    // Long lanes along a contiguous axis and a big whole-array reduction.
    let long = Array2::from_shape_vec((2, 600_000), random_f64(1_200_000, 33, 1e3, 1.0)).unwrap();
    check_axis(&long.view(), 1e-12, "long lanes");
    check_whole(&long.slice(s![.., ..;2]), 1e-12, "big strided whole");
}

fn bits(m: &Moments) -> [u64; 6] {
    [
        m.count(),
        m.sum().to_bits(),
        m.mean().to_bits(),
        m.m2().to_bits(),
        m.min().to_bits(),
        m.max().to_bits(),
    ]
}

fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(work)
}

#[test]
fn results_are_bit_identical_for_1_2_and_4_threads() {
    let flat: Array1<f32> = random_f64(2_000_003, 41, 1e4, 1.0)
        .into_iter()
        .map(|x| x as f32)
        .collect();
    let grid = Array2::from_shape_vec((30_000, 50), random_f64(1_500_000, 42, 3.0, 1.0)).unwrap();
    // f32 tiles 20, 100 and 130 columns wide: the register kernel and the other one.
    let f32_grids: Vec<Array2<f32>> = [20, 100, 130]
        .into_iter()
        .map(|width| {
            grid.slice(s![.., ..20])
                .iter()
                .cycle()
                .take(width * 30_000)
                .map(|&x| x as f32)
                .collect::<Array1<f32>>()
                .into_shape_with_order((30_000, width))
                .unwrap()
        })
        .collect();
    let cube = random_3d((70, 80, 90), 43);
    let run = || {
        let mut out: Vec<[u64; 6]> = vec![bits(&flat.par_moments()), bits(&flat.par_nan_moments())];
        out.extend(grid.par_moments_axis(Axis(0)).iter().map(bits));
        out.extend(grid.par_moments_axis(Axis(1)).iter().map(bits));
        out.extend(grid.t().par_moments_axis(Axis(1)).iter().map(bits));
        for g in &f32_grids {
            out.extend(g.par_moments_axis(Axis(0)).iter().map(bits));
        }
        out.push(bits(&grid.slice(s![.., ..;2]).par_moments()));
        out.push(bits(&cube.view().permuted_axes([2, 0, 1]).par_moments()));
        for k in 0..3 {
            out.extend(cube.par_moments_axis(Axis(k)).iter().map(bits));
            out.extend(
                cube.slice(s![..;2, .., 1..])
                    .par_moments_axis(Axis(k))
                    .iter()
                    .map(bits),
            );
        }
        out
    };
    let one = in_pool(1, run);
    assert_eq!(one, in_pool(2, run));
    assert_eq!(one, in_pool(4, run));
}

#[test]
fn merge_is_exact_enough_associative_and_has_an_identity() {
    let values = random_f64(30_000, 51, 1e5, 10.0);
    let (a, rest) = values.split_at(7_000);
    let (b, c) = rest.split_at(12_345);
    let (ma, mb, mc) = (
        Moments::from_slice(a),
        Moments::from_slice(b),
        Moments::from_slice(c),
    );
    let left = ma.merge(&mb).merge(&mc);
    let right = ma.merge(&mb.merge(&mc));
    let r = Reference::of(&values);
    assert_matches(&left, &r, 1e-12, "left fold");
    assert_matches(&right, &r, 1e-12, "right fold");
    assert_eq!(ma.merge(&Moments::new()), ma);
    assert_eq!(Moments::new().merge(&ma), ma);
    assert_eq!(Moments::default(), Moments::new());
}

#[test]
fn push_matches_from_slice() {
    let values = random_f64(5_000, 61, -2e3, 4.0);
    let mut pushed = Moments::new();
    values.iter().for_each(|&x| pushed.push(x));
    assert_matches(&pushed, &Reference::of(&values), 1e-12, "push");
    let mut with_nan = pushed;
    with_nan.push(f64::NAN);
    assert!(with_nan.mean().is_nan() && with_nan.min().is_nan() && with_nan.var(0).is_nan());
}

#[test]
fn axis_shortcuts_agree_with_moments() {
    let grid = Array2::from_shape_vec((64, 9), random_f64(576, 71, 0.0, 1.0)).unwrap();
    let m = grid.par_moments_axis(Axis(0));
    assert_eq!(grid.par_sum_axis(Axis(0)), m.map(|m| m.sum()));
    assert_eq!(grid.par_mean_axis(Axis(0)), m.map(|m| m.mean()));
    assert_eq!(grid.par_var_axis(Axis(0), 1), m.map(|m| m.var(1)));
    assert_eq!(grid.par_std_axis(Axis(0), 1), m.map(|m| m.std(1)));
    assert_eq!(grid.par_min_axis(Axis(0)), m.map(|m| m.min()));
    assert_eq!(grid.par_max_axis(Axis(0)), m.map(|m| m.max()));
    assert_eq!(grid.par_nanvar_axis(Axis(0), 1), m.map(|m| m.var(1)));
    assert_eq!(grid.par_nanstd_axis(Axis(0), 0), m.map(|m| m.std(0)));
    assert_eq!(grid.par_nanmin_axis(Axis(0)), m.map(|m| m.min()));
    assert_eq!(grid.par_nanmax_axis(Axis(0)), m.map(|m| m.max()));
    let dynamic: Array<f64, IxDyn> = grid.clone().into_dyn();
    assert_eq!(
        dynamic
            .par_mean_axis(Axis(1))
            .into_dimensionality()
            .unwrap(),
        grid.par_mean_axis(Axis(1))
    );
}

#[test]
#[should_panic(expected = "out of bounds")]
fn axis_out_of_bounds_panics() {
    let _ = Array2::<f64>::zeros((2, 2)).par_moments_axis(Axis(2));
}

fn lane_view(values: &[f64]) -> ArrayView1<'_, f64> {
    ArrayView1::from(values)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_split_merges_to_the_reference(
        values in prop::collection::vec(-1e6f64..1e6, 0..20_000),
        cut in 0.0f64..1.0,
    ) {
        let at = (values.len() as f64 * cut) as usize;
        let (a, b) = values.split_at(at);
        let merged = Moments::from_slice(a).merge(&Moments::from_slice(b));
        let r = Reference::of(&values);
        assert_matches(&merged, &r, 1e-11, "split");
        assert_matches(&lane_view(&values).par_moments(), &r, 1e-11, "par");
    }

    #[test]
    fn any_matrix_any_axis_any_layout(
        rows in 0usize..200,
        cols in 0usize..40,
        fortran in any::<bool>(),
        seed in any::<u64>(),
        offset in -1e8f64..1e8,
    ) {
        // Per-block means are stored in f64, each rounded to about an ulp of |mean|;
        // the merged variance therefore carries a relative error of order
        // eps * |mean| / std. Allow exactly that on top of 1e-12.
        let std = (1.0f64 / 3.0).sqrt();
        let rel = 1e-12 + f64::EPSILON * offset.abs() / std;
        let data = random_f64(rows * cols, seed, offset, 1.0);
        let c = Array2::from_shape_vec((rows, cols), data).unwrap();
        let mut a = Array2::zeros((rows, cols).set_f(fortran));
        a.assign(&c);
        check_axis(&a.view(), rel, "prop matrix");
        check_whole(&a.view(), rel, "prop matrix whole");
    }
}

/// Largest relative errors of `par_moments_axis(Axis(0))` over the columns of an `f32`
/// matrix, against the float64 two-pass reference: (mean, var, std), with min, max and
/// count checked exactly.
fn f32_column_errors(a: &Array2<f32>) -> (f64, f64, f64) {
    let found = a.par_moments_axis(Axis(0));
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for (m, column) in found.iter().zip(a.columns()) {
        let r = Reference::of(&as_f64(column.iter().copied()));
        assert_eq!((m.count(), m.min(), m.max()), (r.count, r.min, r.max));
        let rel = |found: f64, expected: f64| (found - expected).abs() / expected.abs();
        worst.0 = worst.0.max(rel(m.mean(), r.mean));
        worst.1 = worst.1.max(rel(m.var(1), r.var(1)));
        worst.2 = worst.2.max(rel(m.std(1), r.var(1).sqrt()));
    }
    worst
}

#[test]
fn f32_columns_are_accurate_for_every_kernel_width() {
    // Widths on both sides of each kernel's range (1–15 and over 112 columns: the
    // memory-accumulator kernel; 16–112: the register kernel, whose last chunk
    // overlaps the one before it unless the width is a multiple of 16); rows span
    // several tiles and end in a partial group. Each column has its own offset and
    // spread, from 1e-3 around -3e3 to 1e2 around 1e6.
    for width in [1, 15, 16, 17, 31, 48, 100, 111, 112, 113, 300] {
        let rows = 10_007;
        let noise = random_f64(rows * width, width as u64, 0.0, 1.0);
        let a = Array2::from_shape_fn((rows, width), |(i, j)| {
            let offset = [1000.0, -3000.0, 1e6, 0.5, 42.0][j % 5];
            let spread = [1.0, 1e-3, 1e2, 0.25, 10.0][j % 5];
            (offset + spread * noise[i * width + j]) as f32
        });
        let (mean, var, std) = f32_column_errors(&a);
        let errors = format!("width {width}: mean {mean:.1e}, var {var:.1e}, std {std:.1e}");
        if width == 1 {
            // A single column is one contiguous lane: the whole-array f32 kernel, which
            // also sums in f32 over 8-value groups of a lane.
            assert!(mean <= 1e-12 && var <= 2e-8 && std <= 1e-8, "{errors}");
        } else if (16..=112).contains(&width) {
            // The register kernel sums in f32 over 8-row groups: about 1e-7 of the
            // variance at 10^4 rows (falling as 1/sqrt(rows)), far below float32's own
            // resolution of the data (6e-8 of each value).
            assert!(mean <= 1e-9 && var <= 1e-6 && std <= 5e-7, "{errors}");
        } else {
            assert!(mean <= 1e-15 && var <= 1e-10 && std <= 1e-10, "{errors}");
        }
    }
}

#[test]
fn f32_columns_with_nan_inf_or_huge_values_fall_back_per_tile() {
    let width = 100;
    let noise = random_f64(5_000 * width, 7, 0.0, 1.0);
    let mut a = Array2::from_shape_fn((5_000, width), |(i, j)| {
        (10.0 + noise[i * width + j]) as f32
    });
    a[[4_321, 3]] = f32::NAN;
    a[[17, 50]] = f32::INFINITY;
    // Squares that overflow f32 but not f64.
    a.column_mut(99).fill(3e38);
    a[[0, 99]] = -3e38;
    let found = a.par_moments_axis(Axis(0));
    for (j, (m, column)) in found.iter().zip(a.columns()).enumerate() {
        let r = Reference::of(&as_f64(column.iter().copied()));
        match j {
            3 => assert!(m.mean().is_nan() && m.var(0).is_nan() && m.min().is_nan()),
            50 => {
                assert_eq!((m.mean(), m.max()), (f64::INFINITY, f64::INFINITY));
                assert!(m.var(0).is_nan(), "NumPy's var of values with inf is nan");
            }
            _ => assert_matches(
                m,
                &r,
                if j == 99 { 1e-12 } else { 1e-6 },
                &format!("column {j}"),
            ),
        }
    }
}

/// The kernels dispatch to the widest instruction set the CPU has: on an AVX-512
/// machine the AVX-512 versions run (a dispatch regression would silently halve the
/// speed without changing a bit of the results).
#[test]
fn kernels_use_the_widest_instruction_set_the_cpu_has() {
    #[cfg(target_arch = "x86_64")]
    let expected = if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        "avx512"
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        "avx2"
    } else {
        "baseline"
    };
    #[cfg(not(target_arch = "x86_64"))]
    let expected = "baseline";
    assert_eq!(npmap::kernel_instruction_set(), expected);
}

/// The `_with_progress` reductions count every element exactly once, whatever path the
/// layout takes (contiguous slice, strided view, per-column kernel, lanes), and give
/// the same bits as the plain reductions.
#[test]
fn progress_counts_every_element_once_and_changes_no_bit() {
    use npmap::Progress;
    fn assert_same_bits(a: &Moments, b: &Moments, what: &str) {
        let bits = |m: &Moments| {
            let v = [m.sum(), m.mean(), m.var(0), m.min(), m.max()];
            (m.count(), v.map(f64::to_bits))
        };
        assert_eq!(bits(a), bits(b), "{what}: {a:?} vs {b:?}");
    }
    let c = Array2::from_shape_fn((3001, 37), |(i, j)| ((i * 31 + j * 7) % 101) as f32 * 0.37);
    let f = c.t().to_owned().reversed_axes(); // same values, Fortran order
    let strided = c.slice(ndarray::s![..;2, 3..30;3]);
    let mut with_nan = c.clone();
    with_nan[[5, 5]] = f32::NAN;
    let views = [c.view(), f.view(), strided, with_nan.view()];
    for (k, v) in views.iter().enumerate() {
        let p = Progress::new();
        assert_same_bits(&v.par_moments_with_progress(&p), &v.par_moments(), "whole");
        assert_eq!(p.done(), v.len() as u64, "view {k}: whole");
        let p = Progress::new();
        assert_same_bits(
            &v.par_nan_moments_with_progress(&p),
            &v.par_nan_moments(),
            "nan",
        );
        assert_eq!(p.done(), v.len() as u64, "view {k}: nan whole");
        for axis in [Axis(0), Axis(1)] {
            let p = Progress::new();
            let with = v.par_moments_axis_with_progress(axis, &p);
            let plain = v.par_moments_axis(axis);
            assert_eq!(with.len(), plain.len());
            for (a, b) in with.iter().zip(plain.iter()) {
                assert_same_bits(a, b, "axis");
            }
            assert_eq!(p.done(), v.len() as u64, "view {k}, axis {}", axis.index());
            let p = Progress::new();
            let _ = v.par_nan_moments_axis_with_progress(axis, &p);
            assert_eq!(
                p.done(),
                v.len() as u64,
                "view {k}, nan axis {}",
                axis.index()
            );
        }
    }
    let p = Progress::new();
    let wide = ndarray::Array3::<f64>::ones((7, 5, 3));
    let _ = wide.par_moments_axis_with_progress(Axis(1), &p);
    assert_eq!(p.done(), 105);
}

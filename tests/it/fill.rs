//! Parallel fills: values, layouts, thread-count independence and the statistics of
//! the seeded random fills.

use ndarray::{Array1, Array2, Array3, ArrayD, IxDyn, ShapeBuilder, s};
use npmap::{
    ParStats, normal_at, par_fill, par_fill_columns, par_fill_normal, par_fill_uniform,
    par_fill_with, uniform_at,
};

fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(work)
}

#[test]
fn par_fill_sets_exactly_the_view() {
    let mut c = Array2::<i32>::zeros((300, 500));
    par_fill(&mut c, 7);
    assert!(c.iter().all(|&x| x == 7));

    let mut f = Array2::<f32>::zeros((300, 500).f());
    par_fill(&mut f, 2.5);
    assert!(f.iter().all(|&x| x == 2.5));

    let mut base = Array2::<u8>::zeros((100, 80));
    par_fill(&mut base.slice_mut(s![10..90;3, 5..70;2]), 1);
    for ((i, j), &x) in base.indexed_iter() {
        let inside =
            (10..90).contains(&i) && (i - 10) % 3 == 0 && (5..70).contains(&j) && (j - 5) % 2 == 0;
        assert_eq!(x, u8::from(inside), "element ({i}, {j})");
    }
}

#[test]
fn par_fill_with_gives_each_element_its_index() {
    let mut c = Array3::<u64>::zeros((20, 30, 40));
    par_fill_with(&mut c, |(i, j, k)| (i * 10_000 + j * 100 + k) as u64);
    let mut f = Array3::<u64>::zeros((20, 30, 40).f());
    par_fill_with(&mut f, |(i, j, k)| (i * 10_000 + j * 100 + k) as u64);
    for ((i, j, k), &x) in c.indexed_iter() {
        assert_eq!(x, (i * 10_000 + j * 100 + k) as u64);
    }
    assert_eq!(c, f);

    let mut d = ArrayD::<usize>::zeros(IxDyn(&[3, 4, 5, 6]));
    par_fill_with(&mut d, |index: IxDyn| {
        index[0] * 1000 + index[1] * 100 + index[2] * 10 + index[3]
    });
    assert_eq!(d[[2, 3, 4, 5]], 2345);
    assert_eq!(d[[1, 0, 2, 0]], 1020);

    let mut zero_d = ndarray::arr0(0i8);
    par_fill_with(&mut zero_d, |()| 9);
    assert_eq!(zero_d[()], 9);
}

/// A generator whose values depend only on (column, row).
fn cell(col: usize, row: usize) -> f64 {
    col as f64 * 1e6 + row as f64
}

fn fill_by_cell(col: usize, row_start: usize, out: &mut [f64]) {
    for (k, x) in out.iter_mut().enumerate() {
        *x = cell(col, row_start + k);
    }
}

#[test]
fn par_fill_columns_writes_every_cell_for_every_layout() {
    let shape = (70_001, 13);
    let mut c = Array2::<f64>::zeros(shape);
    par_fill_columns(&mut c, fill_by_cell);
    for ((r, col), &x) in c.indexed_iter() {
        assert_eq!(x, cell(col, r));
    }
    let mut f = Array2::<f64>::zeros(shape.f());
    par_fill_columns(&mut f, fill_by_cell);
    assert_eq!(c, f);

    let mut wide = Array2::<f64>::zeros((5, 100_000));
    par_fill_columns(&mut wide, fill_by_cell);
    assert_eq!(wide[[4, 99_999]], cell(99_999, 4));

    let mut base = Array2::<f64>::from_elem((50, 40), -1.0);
    par_fill_columns(&mut base.slice_mut(s![1..;2, 10..20]), fill_by_cell);
    for ((r, col), &x) in base.indexed_iter() {
        let inside = r % 2 == 1 && (10..20).contains(&col);
        let expected = if inside { cell(col - 10, r / 2) } else { -1.0 };
        assert_eq!(x, expected, "element ({r}, {col})");
    }
}

#[test]
fn par_fill_columns_is_independent_of_thread_count() {
    let run = || {
        let mut a = Array2::<f32>::zeros((100_000, 7));
        par_fill_columns(&mut a, |col, row_start, out| {
            for (k, x) in out.iter_mut().enumerate() {
                *x = normal_at(col as u64, (row_start + k) as u64) as f32;
            }
        });
        a
    };
    let one = in_pool(1, run);
    assert_eq!(one, in_pool(2, run));
    assert_eq!(one, in_pool(4, run));
    assert_eq!(one[[12_345, 6]], normal_at(6, 12_345) as f32);
}

#[test]
fn random_values_are_pure_functions_of_seed_and_logical_index() {
    let mut c = Array2::<f64>::zeros((123, 457));
    par_fill_uniform(&mut c, 17);
    for ((i, j), &x) in c.indexed_iter() {
        assert_eq!(x, uniform_at(17, (i * 457 + j) as u64));
    }
    let mut n = Array2::<f64>::zeros((123, 457));
    par_fill_normal(&mut n, 17);
    for ((i, j), &x) in n.indexed_iter() {
        assert_eq!(x, normal_at(17, (i * 457 + j) as u64));
    }
    let mut other = Array2::<f64>::zeros((123, 457));
    par_fill_uniform(&mut other, 18);
    assert!(c.iter().zip(&other).filter(|(a, b)| a == b).count() < 5);
}

#[test]
fn random_fills_are_identical_in_c_f_and_strided_layouts() {
    let shape = (301, 97, 5);
    let mut c = Array3::<f32>::zeros(shape);
    let mut f = Array3::<f32>::zeros(shape.f());
    par_fill_normal(&mut c, 99);
    par_fill_normal(&mut f, 99);
    assert_eq!(c, f);
    par_fill_uniform(&mut c, 98);
    par_fill_uniform(&mut f, 98);
    assert_eq!(c, f);

    // A strided view is filled by its own logical index.
    let mut base = Array2::<f64>::zeros((40, 60));
    let mut view = base.slice_mut(s![..;2, 1..;3]);
    par_fill_uniform(&mut view, 5);
    let mut packed = Array2::<f64>::zeros(view.dim());
    par_fill_uniform(&mut packed, 5);
    assert_eq!(view, packed);
}

#[test]
fn random_fills_are_independent_of_thread_count() {
    let run = || {
        let mut u = Array2::<f32>::zeros((2_000, 600));
        let mut n = Array2::<f64>::zeros((2_000, 600).f());
        par_fill_uniform(&mut u, 1);
        par_fill_normal(&mut n, 2);
        (u, n)
    };
    let one = in_pool(1, run);
    assert_eq!(one, in_pool(2, run));
    assert_eq!(one, in_pool(4, run));
}

#[test]
fn uniform_fill_has_the_uniform_distribution() {
    let n = 1_000_000;
    for f32_data in [false, true] {
        let m = if f32_data {
            let mut a = Array1::<f32>::zeros(n);
            par_fill_uniform(&mut a, 123);
            a.par_moments()
        } else {
            let mut a = Array1::<f64>::zeros(n);
            par_fill_uniform(&mut a, 123);
            a.par_moments()
        };
        // Five standard errors: sd(mean) = sqrt(1/12 / n), sd(var) = sqrt((1/80 - 1/144) / n).
        assert!(
            (m.mean() - 0.5).abs() < 5.0 * (1.0 / 12.0 / n as f64).sqrt(),
            "mean {}",
            m.mean()
        );
        assert!(
            (m.var(0) - 1.0 / 12.0).abs() < 5.0 * ((1.0 / 80.0 - 1.0 / 144.0) / n as f64).sqrt(),
            "var {}",
            m.var(0)
        );
        assert!(m.min() >= 0.0 && m.min() < 1e-4 && m.max() < 1.0 && m.max() > 1.0 - 1e-4);
    }
}

#[test]
fn normal_fill_has_the_standard_normal_distribution() {
    let n = 1_000_000;
    let mut a = Array1::<f64>::zeros(n);
    par_fill_normal(&mut a, 321);
    let m = a.par_moments();
    // sd(mean) = 1/sqrt(n); sd(std) ≈ 1/sqrt(2n).
    assert!(
        m.mean().abs() < 5.0 / (n as f64).sqrt(),
        "mean {}",
        m.mean()
    );
    assert!(
        (m.std(0) - 1.0).abs() < 5.0 / (2.0 * n as f64).sqrt(),
        "std {}",
        m.std(0)
    );
    // P(|z| < 1) = 0.682689...; sd of the fraction ≈ sqrt(p (1 - p) / n).
    let within = a.iter().filter(|z| z.abs() < 1.0).count() as f64 / n as f64;
    assert!(
        (within - 0.682_689_5).abs() < 5.0 * (0.6827 * 0.3173 / n as f64).sqrt(),
        "P(|z|<1) {within}"
    );
    assert!(m.min() > -6.0 && m.max() < 6.0 && m.min() < -4.0 && m.max() > 4.0);
}

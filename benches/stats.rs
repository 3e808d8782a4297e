//! Throughput of the statistics and fill kernels on an in-RAM 1_000_000 × 100 f32
//! matrix (400 MB), against a plain parallel sum as the memory-bandwidth probe.
//!
//! Run: `cargo bench --bench stats -- --sample-size 10`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array2, Axis};
use npmap::{ParStats, par_fill_uniform};
use rayon::prelude::*;

const ROWS: usize = 1_000_000;
const COLS: usize = 100;

/// A vectorisable f32 sum over the buffer, in parallel: how fast memory can be read.
fn bandwidth_probe(values: &[f32]) -> f32 {
    values
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut lanes = [0.0f32; 16];
            let blocks = chunk.chunks_exact(16);
            let rest: f32 = blocks.remainder().iter().sum();
            for block in blocks {
                for (acc, &x) in lanes.iter_mut().zip(block) {
                    *acc += x;
                }
            }
            lanes.iter().sum::<f32>() + rest
        })
        .sum()
}

fn kernels(c: &mut Criterion) {
    let mut x = Array2::<f32>::zeros((ROWS, COLS));
    par_fill_uniform(&mut x, 1);
    let bytes = (ROWS * COLS * std::mem::size_of::<f32>()) as u64;

    let mut group = c.benchmark_group("f32_1e6x100");
    group.throughput(Throughput::Bytes(bytes));
    let values = x.as_slice().expect("C-contiguous");
    group.bench_function("sum_probe", |b| {
        b.iter(|| bandwidth_probe(black_box(values)))
    });
    group.bench_function("par_moments", |b| b.iter(|| black_box(&x).par_moments()));
    group.bench_function("par_moments_axis0", |b| {
        b.iter(|| black_box(&x).par_moments_axis(Axis(0)))
    });
    group.bench_function("par_moments_axis1", |b| {
        b.iter(|| black_box(&x).par_moments_axis(Axis(1)))
    });
    group.bench_function("par_fill_uniform", |b| {
        b.iter(|| par_fill_uniform(black_box(&mut x), 2))
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);

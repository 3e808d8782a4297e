//! `.npz` benches: read a deflated ~100 MB member, map a stored ~1 GB member (and, for
//! comparison with NumPy's `np.load(path)[name]`, read it too).
//!
//! The archives are created at start in a temporary directory, or in
//! `$NPMAP_BENCH_DIR` when set (kept there, and reused by `benches/npz_vs_numpy.py`):
//!
//! ```text
//! NPMAP_BENCH_DIR=/tmp/npz-bench cargo bench --bench npz
//! python3 benches/npz_vs_numpy.py /tmp/npz-bench
//! ```

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::{Array1, ArrayView1, Ix1};
use npmap::{NpzReader, NpzWriter};

/// 12.5 M f64 = 100 MB, deflated.
const PACKED_LEN: usize = 12_500_000;
/// 256 Mi f32 = 1 GiB, stored.
const BIG_LEN: usize = 1 << 28;

fn packed_values() -> Array1<f64> {
    // Compressible but not trivially so: small integers from a linear congruence.
    let mut state = 12345u64;
    Array1::from_shape_fn(PACKED_LEN, |_| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 58) as f64) * 0.25
    })
}

fn prepare(dir: &Path) -> (PathBuf, PathBuf) {
    let packed = dir.join("packed.npz");
    let stored = dir.join("stored.npz");
    if !packed.exists() {
        let mut w = NpzWriter::compressed(&packed).unwrap();
        w.add("a", &packed_values()).unwrap();
        w.finish().unwrap();
    }
    if !stored.exists() {
        // A broadcast view is streamed in bounded chunks: no 1 GiB buffer.
        let one = [1.5f32];
        let one = ArrayView1::from(&one);
        let big = one.broadcast(BIG_LEN).unwrap();
        let mut w = NpzWriter::create(&stored).unwrap();
        w.add("big", &big).unwrap();
        w.finish().unwrap();
    }
    (packed, stored)
}

fn bench(c: &mut Criterion) {
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("NPMAP_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let (packed, stored) = prepare(&dir);

    let mut group = c.benchmark_group("npz");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("read deflated 100 MB member", |b| {
        b.iter(|| {
            let z = NpzReader::open(&packed).unwrap();
            let a = z.read::<f64, Ix1>("a").unwrap();
            black_box(a[a.len() - 1])
        })
    });
    group.bench_function("map stored 1 GiB member", |b| {
        b.iter(|| {
            let z = NpzReader::open(&stored).unwrap();
            // SAFETY: the bench's archives are not modified while mapped.
            let a = unsafe { z.map::<f32, Ix1>("big") }.unwrap();
            let v = a.view();
            black_box(v[0] + v[v.len() - 1])
        })
    });
    group.bench_function("read stored 1 GiB member", |b| {
        b.iter(|| {
            let z = NpzReader::open(&stored).unwrap();
            let a = z.read::<f32, Ix1>("big").unwrap();
            black_box(a[a.len() - 1])
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Zarr stores (the `zarr` feature): npy -> zarr -> npy round trips, byte for byte, for
//! every numeric dtype, both formats and every codec; edge chunks, 0-d and empty
//! arrays; missing chunks; atomic replacement; statistics against the in-memory
//! reductions and across thread counts; and, with python3 + zarr-python + dask,
//! stores read both ways and a `dask.distributed` run over a store npmap wrote.

#![cfg(feature = "zarr")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use npmap::half::f16;
use npmap::ndarray::{Array, ArrayD, Axis, IxDyn, array};
use npmap::num_complex::Complex;
use npmap::zarr::{Compression, ZarrElement, ZarrFormat, ZarrOptions};
use npmap::{ErrorKind, Moments, ParStats};

use crate::numpy;

/// Deterministic, varied values of each element type.
trait Sample: ZarrElement + PartialEq + std::fmt::Debug {
    fn at(i: usize) -> Self;
}

macro_rules! sample_int {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn at(i: usize) -> Self {
                ((i * 37 + 11) % 251) as $t
            }
        }
    )*};
}
sample_int!(u8, u16, u32, u64);

macro_rules! sample_signed {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn at(i: usize) -> Self {
                (((i * 37 + 11) % 200) as i64 - 100) as $t
            }
        }
    )*};
}
sample_signed!(i8, i16, i32, i64);

impl Sample for bool {
    fn at(i: usize) -> Self {
        i.is_multiple_of(3)
    }
}
impl Sample for f16 {
    fn at(i: usize) -> Self {
        f16::from_f32((i % 500) as f32 * 0.25 - 17.0)
    }
}
impl Sample for f32 {
    fn at(i: usize) -> Self {
        (i as f32 * 0.37).sin() * 1000.0
    }
}
impl Sample for f64 {
    fn at(i: usize) -> Self {
        (i as f64 * 0.37).sin() * 1000.0 + 1.0 / (i as f64 + 1.0)
    }
}
impl Sample for Complex<f32> {
    fn at(i: usize) -> Self {
        Complex::new(i as f32 * 0.5, -(i as f32))
    }
}
impl Sample for Complex<f64> {
    fn at(i: usize) -> Self {
        Complex::new(i as f64 / 3.0, 1.0 - i as f64)
    }
}

fn sample<A: Sample>(shape: &[usize]) -> ArrayD<A> {
    let n: usize = shape.iter().product();
    Array::from_shape_vec(IxDyn(shape), (0..n).map(A::at).collect()).unwrap()
}

/// What the zarr-python and Dask parts need (CI installs them; with
/// `NPMAP_REQUIRE_NUMPY=1` they must import).
const ZARR_MODULES: &[&str] = &["zarr", "numcodecs", "dask.array", "distributed"];

const FORMATS: [ZarrFormat; 2] = [ZarrFormat::V2, ZarrFormat::V3];
const CODECS: [Compression; 3] = [
    Compression::None,
    Compression::Zstd(0),
    Compression::Gzip(1),
];

/// Saves `x` as .npy, converts it to a store and back, and checks the .npy bytes
/// are identical; returns the store's path.
fn round_trip<A: Sample>(
    dir: &Path,
    tag: &str,
    x: &ArrayD<A>,
    chunks: &[usize],
    options: &ZarrOptions,
) {
    let original = dir.join(format!("{tag}.npy"));
    let store = dir.join(format!("{tag}.zarr"));
    let back = dir.join(format!("{tag}.back.npy"));
    npmap::save_npy(&original, x).unwrap();
    npmap::zarr::save(&store, x, chunks, options).unwrap();
    let z = npmap::zarr::open(&store).unwrap();
    assert_eq!(z.format(), options.format, "{tag}");
    assert_eq!(z.shape(), x.shape(), "{tag}");
    assert_eq!(z.chunk_shape(), chunks, "{tag}");
    assert_eq!(z.dtype(), &A::dtype(), "{tag}");
    let read: ArrayD<A> = z.read().unwrap();
    assert_eq!(&read, x, "{tag}");
    npmap::save_npy(&back, &read).unwrap();
    assert_eq!(
        std::fs::read(&original).unwrap(),
        std::fs::read(&back).unwrap(),
        "{tag}: the .npy after the round trip differs"
    );
    let header = npmap::read_npy_header(&original).unwrap();
    assert_eq!(z.header(), &header, "{tag}");
    // Streamed row of chunks by row of chunks: the same bytes.
    let streamed = dir.join(format!("{tag}.streamed.npy"));
    z.save_npy(&streamed).unwrap();
    assert_eq!(
        std::fs::read(&original).unwrap(),
        std::fs::read(&streamed).unwrap(),
        "{tag}: ZarrArray::save_npy differs"
    );
}

fn every_format_and_codec<A: Sample>(dir: &Path, name: &str, shape: &[usize], chunks: &[usize]) {
    let x = sample::<A>(shape);
    for format in FORMATS {
        for codec in CODECS {
            let tag = format!("{name}-v{}-{codec:?}-{shape:?}", format.number());
            let options = ZarrOptions::new().format(format).compression(codec);
            round_trip(dir, &tag, &x, chunks, &options);
        }
    }
}

#[test]
fn zarr_every_dtype_round_trips_byte_identical_in_both_formats_and_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 7 x 5 in chunks of 3 x 2: edge chunks in both axes.
    let (shape, chunks) = ([7, 5], [3, 2]);
    every_format_and_codec::<bool>(d, "b1", &shape, &chunks);
    every_format_and_codec::<i8>(d, "i1", &shape, &chunks);
    every_format_and_codec::<i16>(d, "i2", &shape, &chunks);
    every_format_and_codec::<i32>(d, "i4", &shape, &chunks);
    every_format_and_codec::<i64>(d, "i8", &shape, &chunks);
    every_format_and_codec::<u8>(d, "u1", &shape, &chunks);
    every_format_and_codec::<u16>(d, "u2", &shape, &chunks);
    every_format_and_codec::<u32>(d, "u4", &shape, &chunks);
    every_format_and_codec::<u64>(d, "u8", &shape, &chunks);
    every_format_and_codec::<f16>(d, "f2", &shape, &chunks);
    every_format_and_codec::<f32>(d, "f4", &shape, &chunks);
    every_format_and_codec::<f64>(d, "f8", &shape, &chunks);
    every_format_and_codec::<Complex<f32>>(d, "c8", &shape, &chunks);
    every_format_and_codec::<Complex<f64>>(d, "c16", &shape, &chunks);
}

#[test]
fn zarr_odd_grids_0d_and_empty_shapes_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 3-d, no axis divided evenly; a chunk larger than the array; one-element chunks.
    every_format_and_codec::<f64>(d, "3d", &[5, 4, 3], &[2, 3, 2]);
    every_format_and_codec::<i32>(d, "big-chunk", &[10], &[100]);
    every_format_and_codec::<u16>(d, "unit-chunks", &[3, 4], &[1, 1]);
    // Zarr allows a 0-d array (shape [], one chunk of shape []) and zero-length axes
    // (no chunks at all); chunk lengths must be at least 1.
    every_format_and_codec::<f32>(d, "0d", &[], &[]);
    every_format_and_codec::<i64>(d, "empty", &[0], &[4]);
    every_format_and_codec::<f64>(d, "empty-rows", &[0, 3], &[2, 3]);
    every_format_and_codec::<u8>(d, "empty-cols", &[5, 0], &[2, 1]);
    let z = npmap::zarr::open(d.join("0d-v3-None-[].zarr")).unwrap();
    assert_eq!(
        z.read::<f32, npmap::ndarray::Ix0>().unwrap()[()],
        f32::at(0)
    );
    assert_eq!(z.par_moments().unwrap().sum(), f32::at(0) as f64);
    let z = npmap::zarr::open(d.join("empty-rows-v2-None-[0, 3].zarr")).unwrap();
    let cols = z.par_moments_axis(Axis(0)).unwrap();
    assert_eq!(cols.shape(), [3]);
    assert!(cols.iter().all(|m| m.count() == 0));
}

fn assert_close(a: &Moments, b: &Moments, what: &str) {
    assert_eq!(a.count(), b.count(), "{what}: count");
    assert_eq!((a.min(), a.max()), (b.min(), b.max()), "{what}: min/max");
    // A mean (or sum) near zero is compared on the scale of the spread.
    let spread = b.std(0);
    let n = b.count() as f64;
    for (name, x, y, floor) in [
        ("sum", a.sum(), b.sum(), spread * n),
        ("mean", a.mean(), b.mean(), spread),
        ("var", a.var(0), b.var(0), 0.0),
        ("std", a.std(1), b.std(1), 0.0),
    ] {
        let scale = x.abs().max(y.abs()).max(floor).max(f64::MIN_POSITIVE);
        assert!(
            (x - y).abs() <= 1e-12 * scale,
            "{what}: {name} {x} vs {y} (relative {})",
            (x - y).abs() / scale
        );
    }
}

/// Moments agree to `tolerance` relative (sum and mean relative to the sum of
/// magnitudes, so that cancellation does not inflate it).
fn assert_within(a: &Moments, b: &Moments, magnitude: f64, tolerance: f64, what: &str) {
    assert_eq!(a.count(), b.count(), "{what}: count");
    assert_eq!((a.min(), a.max()), (b.min(), b.max()), "{what}: min/max");
    let n = a.count() as f64;
    assert!(
        (a.sum() - b.sum()).abs() <= tolerance * magnitude,
        "{what}: sum {} vs {}",
        a.sum(),
        b.sum()
    );
    assert!(
        (a.mean() - b.mean()).abs() <= tolerance * magnitude / n,
        "{what}: mean"
    );
    assert!(
        (a.var(0) - b.var(0)).abs() <= tolerance * a.var(0).abs().max(b.var(0).abs()),
        "{what}: var"
    );
}

/// `f32` data: npmap's own `f32` kernel sums deviations in `f32` over short groups
/// (see compute/f32_kernels.rs), so where the blocks start (at chunk boundaries here,
/// at fixed offsets in memory there) moves the result by `f32` rounding: both are
/// compared with an `f64` reference at 1e-6 of the magnitudes.
#[test]
fn zarr_f32_stats_agree_with_an_f64_reference_to_f32_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let x = sample::<f32>(&[999, 5]);
    let reference = x.mapv(f64::from);
    let magnitude: f64 = reference.iter().map(|v| v.abs()).sum();
    let path = dir.path().join("f4.zarr");
    npmap::zarr::save(&path, &x, &[100, 2], &Default::default()).unwrap();
    let z = npmap::zarr::open(&path).unwrap();
    let exact = reference.par_moments();
    assert_within(&z.par_moments().unwrap(), &exact, magnitude, 1e-6, "zarr");
    assert_within(&x.par_moments(), &exact, magnitude, 1e-6, "in memory");
    let cols = z.par_moments_axis(Axis(0)).unwrap();
    for (j, m) in cols.iter().enumerate() {
        let lane = reference.index_axis(Axis(1), j);
        let magnitude: f64 = lane.iter().map(|v| v.abs()).sum();
        assert_within(
            m,
            &lane.par_moments(),
            magnitude,
            1e-6,
            &format!("column {j}"),
        );
    }
}

fn stats_agree<A: Sample + npmap::StatElement>(
    dir: &Path,
    name: &str,
    shape: &[usize],
    chunks: &[usize],
) {
    let x = sample::<A>(shape);
    for format in FORMATS {
        let path = dir.join(format!("{name}-{}.zarr", format.number()));
        let options = ZarrOptions::new()
            .format(format)
            .compression(Compression::Zstd(0));
        npmap::zarr::save(&path, &x, chunks, &options).unwrap();
        let z = npmap::zarr::open(&path).unwrap();
        assert_close(&z.par_moments().unwrap(), &x.par_moments(), name);
        for axis in 0..shape.len() {
            let got = z.par_moments_axis(Axis(axis)).unwrap();
            let expected = x.par_moments_axis(Axis(axis));
            assert_eq!(got.shape(), expected.shape());
            for (g, e) in got.iter().zip(expected.iter()) {
                assert_close(g, e, &format!("{name} axis {axis}"));
            }
        }
        // The same bits on one thread and on two.
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    (
                        z.par_moments().unwrap(),
                        z.par_moments_axis(Axis(0)).unwrap(),
                    )
                })
        };
        assert_eq!(on(1), on(2), "{name}: results depend on the thread count");
    }
}

#[test]
fn zarr_stats_match_the_in_memory_reductions_and_do_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stats_agree::<f64>(d, "f8", &[1000, 7], &[128, 3]);
    stats_agree::<i32>(d, "i4", &[50, 6, 4], &[7, 4, 3]);
    stats_agree::<u8>(d, "u1", &[300], &[64]);
    stats_agree::<bool>(d, "b1", &[40, 3], &[16, 2]);
    stats_agree::<f16>(d, "f2", &[200, 2], &[33, 1]);
    // A complex array has no moments.
    let path = d.join("c.zarr");
    npmap::zarr::save(
        &path,
        &sample::<Complex<f64>>(&[4]),
        &[2],
        &Default::default(),
    )
    .unwrap();
    let e = npmap::zarr::open(&path).unwrap().par_moments().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Zarr { reason } if reason.contains("complex128")),
        "{e}"
    );
}

#[test]
fn zarr_missing_chunks_read_as_the_fill_value_and_count_in_the_stats() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let path = dir.path().join(format!("m{}.zarr", format.number()));
        // Rows 2..4 are all zero: that chunk holds only the fill value and is not written.
        let x = array![
            [1.0f64, 2.0],
            [3.0, 4.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [5.0, 6.0]
        ];
        npmap::zarr::save(&path, &x, &[2, 2], &ZarrOptions::new().format(format)).unwrap();
        let key = |row: usize| match format {
            ZarrFormat::V2 => path.join(format!("{row}.0")),
            _ => path.join("c").join(row.to_string()).join("0"),
        };
        assert!(key(0).is_file() && !key(1).exists() && key(2).is_file());
        // Remove another chunk: it reads as zeros too.
        std::fs::remove_file(key(0)).unwrap();
        let z = npmap::zarr::open(&path).unwrap();
        let expected = array![
            [0.0f64, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [5.0, 6.0]
        ];
        assert_eq!(z.read::<f64, npmap::ndarray::Ix2>().unwrap(), expected);
        let m = z.par_moments().unwrap();
        assert_eq!((m.count(), m.sum(), m.min(), m.max()), (10, 11.0, 0.0, 6.0));
        let cols = z.par_moments_axis(Axis(0)).unwrap();
        assert_eq!(
            (cols[[0]].count(), cols[[0]].mean(), cols[[1]].sum()),
            (5, 1.0, 6.0)
        );
    }
}

#[test]
fn zarr_save_refuses_an_existing_path_and_overwrite_replaces_only_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.zarr");
    let leftovers = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    npmap::zarr::save(&path, &array![1u8, 2, 3], &[2], &Default::default()).unwrap();
    let e = npmap::zarr::save(&path, &array![9u8], &[1], &Default::default()).unwrap_err();
    assert_eq!(e.path(), Some(path.as_path()));
    assert!(
        matches!(e.kind(), ErrorKind::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists),
        "{e}"
    );
    // Replaced, v3 by v2: nothing of the old store is left, no temporary directory either.
    let options = ZarrOptions::new().format(ZarrFormat::V2).overwrite(true);
    npmap::zarr::save(&path, &array![7i32, 8], &[1], &options).unwrap();
    let z = npmap::zarr::open(&path).unwrap();
    assert_eq!(
        (z.format(), z.read::<i32, npmap::ndarray::Ix1>().unwrap()),
        (ZarrFormat::V2, array![7, 8])
    );
    assert!(!path.join("zarr.json").exists() && !path.join("c").exists());
    assert_eq!(leftovers(), ["s.zarr"]);
    // A directory that is not a store is never replaced.
    let other = dir.path().join("photos");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("cat.jpg"), b"meow").unwrap();
    let e = npmap::zarr::save(
        &other,
        &array![1u8],
        &[1],
        &ZarrOptions::new().overwrite(true),
    )
    .unwrap_err();
    assert!(e.to_string().contains("npmap replaces only stores"), "{e}");
    assert_eq!(std::fs::read(other.join("cat.jpg")).unwrap(), b"meow");
    assert_eq!(leftovers(), ["photos", "s.zarr"]);
}

#[test]
fn zarr_bad_arguments_and_stores_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.zarr");
    let x = array![[1.0f32, 2.0], [3.0, 4.0]];
    let e = npmap::zarr::save(&path, &x, &[2], &Default::default()).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Zarr {
            reason: "chunk shape [2] does not fit the array of shape [2, 2]: expected 2 lengths of at least 1".into()
        }
    );
    let e = npmap::zarr::save(&path, &x, &[0, 1], &Default::default()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Zarr { .. }), "{e}");
    let names = ZarrOptions::new().dimension_names(["only-one"]);
    let e = npmap::zarr::save(&path, &x, &[1, 1], &names).unwrap_err();
    assert!(e.to_string().contains("expected 2 dimension names"), "{e}");
    assert!(!path.exists());
    // Not a store.
    std::fs::create_dir(&path).unwrap();
    let e = npmap::zarr::open(&path).unwrap_err();
    assert_eq!(e.path(), Some(path.as_path()));
    assert!(
        matches!(e.kind(), ErrorKind::Zarr { reason } if reason.starts_with("expected an array's metadata")),
        "{e}"
    );
    let e = npmap::zarr::open(dir.path().join("missing.zarr")).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Io {
                action: "open Zarr store",
                ..
            }
        ),
        "{e}"
    );
    // Wrong element type or number of axes.
    std::fs::remove_dir(&path).unwrap();
    npmap::zarr::save(&path, &x, &[1, 2], &Default::default()).unwrap();
    let z = npmap::zarr::open(&path).unwrap();
    assert_eq!(
        z.read::<f64, npmap::ndarray::Ix2>().unwrap_err().kind(),
        &ErrorKind::DTypeMismatch {
            found: "<f4".into(),
            found_name: "float32".into(),
            expected: "f64"
        }
    );
    assert!(matches!(
        z.read::<f32, npmap::ndarray::Ix1>().unwrap_err().kind(),
        ErrorKind::NdimMismatch {
            found: 2,
            expected: 1,
            ..
        }
    ));
    assert!(z.par_moments_axis(Axis(2)).is_err());
    // A chunk that does not decode names the chunk.
    std::fs::write(path.join("c").join("1").join("0"), b"short").unwrap();
    let e = z.read::<f32, npmap::ndarray::Ix2>().unwrap_err();
    assert!(e.to_string().contains("chunk [1, 0]"), "{e}");
}

#[test]
fn zarr_dimension_names_are_stored_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let path = dir.path().join(format!("n{}.zarr", format.number()));
        let options = ZarrOptions::new()
            .format(format)
            .dimension_names(["time", "feature"]);
        npmap::zarr::save(&path, &array![[1u8, 2]], &[1, 1], &options).unwrap();
        let z = npmap::zarr::open(&path).unwrap();
        assert_eq!(
            z.dimension_names(),
            Some(&[Some("time".to_string()), Some("feature".to_string())][..])
        );
    }
    let v2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("n2.zarr/.zattrs")).unwrap())
            .unwrap();
    assert_eq!(
        v2,
        serde_json::json!({"_ARRAY_DIMENSIONS": ["time", "feature"]})
    );
}

// ---------------------------------------------------------------------------------
// With zarr-python and dask.
// ---------------------------------------------------------------------------------

/// zarr-python opens the store, checks its values against the .npy (exactly, dtype
/// and shape too), and prints the dimension names and format as JSON.
const ZARR_PYTHON_READS: &str = r#"
import sys, json, zarr, numpy as np
a = zarr.open_array(sys.argv[1], mode='r')
x = a[...]
ref = np.load(sys.argv[2])
assert x.dtype == ref.dtype, (x.dtype, ref.dtype)
assert x.shape == ref.shape, (x.shape, ref.shape)
assert np.array_equal(x, ref), (x, ref)
fmt = a.metadata.zarr_format
names = a.metadata.dimension_names if fmt == 3 else a.attrs.get('_ARRAY_DIMENSIONS')
print(json.dumps({'format': fmt, 'names': list(names) if names else None}))
"#;

fn zarr_python_reads<A: Sample>(dir: &Path, name: &str) {
    let x = sample::<A>(&[9, 4]);
    let npy = dir.join(format!("{name}.npy"));
    npmap::save_npy(&npy, &x).unwrap();
    for format in FORMATS {
        for codec in CODECS {
            let store = dir.join(format!("{name}-{}-{codec:?}.zarr", format.number()));
            let options = ZarrOptions::new()
                .format(format)
                .compression(codec)
                .dimension_names(["row", "col"]);
            npmap::zarr::save(&store, &x, &[4, 3], &options).unwrap();
            let out = numpy::run(ZARR_PYTHON_READS, &[&store, &npy]);
            let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
            assert_eq!(
                got,
                serde_json::json!({"format": format.number(), "names": ["row", "col"]}),
                "{name} {format:?} {codec:?}"
            );
        }
    }
}

#[test]
fn zarr_python_reads_npmap_stores_exactly_with_dimension_names() {
    if !numpy::modules_available(
        "zarr_python_reads_npmap_stores_exactly_with_dimension_names",
        ZARR_MODULES,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    zarr_python_reads::<bool>(d, "b1");
    zarr_python_reads::<i8>(d, "i1");
    zarr_python_reads::<u16>(d, "u2");
    zarr_python_reads::<i64>(d, "i8");
    zarr_python_reads::<f16>(d, "f2");
    zarr_python_reads::<f32>(d, "f4");
    zarr_python_reads::<f64>(d, "f8");
    zarr_python_reads::<Complex<f32>>(d, "c8");
    zarr_python_reads::<Complex<f64>>(d, "c16");
}

/// zarr-python writes stores with its defaults (v3: bytes + zstd; v2: zstd, `.`
/// keys), with gzip, with missing chunks and a fill value, and saves the same
/// arrays with np.save.
const ZARR_PYTHON_WRITES: &str = r#"
import sys, os, zarr, numcodecs, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
def both(name, a, **kw):
    z = zarr.create_array(os.path.join(d, name + '.zarr'), shape=a.shape, dtype=a.dtype, **kw)
    z[...] = a
    np.save(os.path.join(d, name + '.npy'), a)
x = rng.standard_normal((37, 11))
both('v3-default', x, chunks=(10, 4))
both('v2-default', x.astype('<f4'), chunks=(10, 4), zarr_format=2)
both('v3-gzip', (x * 100).astype('<i4'), chunks=(8, 11), compressors=zarr.codecs.GzipCodec(level=5))
both('v2-gzip', (x * 100).astype('<i2'), chunks=(8, 11), zarr_format=2, compressors=numcodecs.GZip(level=5))
both('v3-names', (x > 0), chunks=(5, 5), dimension_names=['sample', 'feature'])
both('v2-complex', (x + 1j * x).astype('<c16'), chunks=(16, 3), zarr_format=2)
both('v3-f2', x.astype('<f2'), chunks=(16, 16))
both('v2-be', x.astype('>f8'), chunks=(16, 16), zarr_format=2)
both('v3-raw', (x * 10).astype('<u2'), chunks=(9, 5), compressors=None)
both('v2-raw', x.astype('<f8'), chunks=(9, 5), zarr_format=2, compressors=None)
both('v2-be-raw', x.astype('>i4'), chunks=(9, 5), zarr_format=2, compressors=None)
# Only the first rows written: the other chunks are missing and read as fill_value.
p = zarr.create_array(os.path.join(d, 'v3-partial.zarr'), shape=(6, 4), chunks=(2, 4), dtype='<i8', fill_value=7)
p[:2] = np.arange(8).reshape(2, 4)
full = np.full((6, 4), 7, dtype='<i8'); full[:2] = np.arange(8).reshape(2, 4)
np.save(os.path.join(d, 'v3-partial.npy'), full)
q = zarr.create_array(os.path.join(d, 'v2-partial.zarr'), shape=(6, 4), chunks=(2, 4), dtype='<f8', fill_value=-1.5, zarr_format=2)
q[4:] = 2.0
full = np.full((6, 4), -1.5); full[4:] = 2.0
np.save(os.path.join(d, 'v2-partial.npy'), full)
"#;

fn npmap_reads_as_numpy_saved(dir: &Path, name: &str) -> npmap::zarr::ZarrArray {
    let z = npmap::zarr::open(dir.join(format!("{name}.zarr"))).unwrap();
    let npy = dir.join(format!("{name}.npy"));
    let back = dir.join(format!("{name}.back.npy"));
    let dtype = z.dtype().clone();
    npmap::with_element_type!(dtype, T => {
        let x = z.read::<T, IxDyn>().unwrap();
        npmap::save_npy(&back, &x).unwrap();
    }, else panic!("{name}: unexpected dtype {dtype:?}"));
    let theirs = std::fs::read(&npy).unwrap();
    if name == "v2-be" {
        // Big-endian in the store: npmap decodes to this machine's order.
        let x: ArrayD<f64> = npmap::read_npy(&npy).unwrap();
        assert_eq!(npmap::read_npy::<f64, IxDyn>(&back).unwrap(), x);
    } else if name == "v2-be-raw" {
        let x: ArrayD<i32> = npmap::read_npy(&npy).unwrap();
        assert_eq!(npmap::read_npy::<i32, IxDyn>(&back).unwrap(), x);
    } else {
        assert_eq!(
            std::fs::read(&back).unwrap(),
            theirs,
            "{name}: not np.save's bytes"
        );
    }
    z
}

#[test]
fn zarr_npmap_reads_what_zarr_python_writes_by_default() {
    if !numpy::modules_available(
        "zarr_npmap_reads_what_zarr_python_writes_by_default",
        ZARR_MODULES,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    numpy::run(ZARR_PYTHON_WRITES, &[d]);
    for name in [
        "v3-default",
        "v2-default",
        "v3-gzip",
        "v2-gzip",
        "v3-names",
        "v2-complex",
        "v3-f2",
        "v2-be",
        "v3-partial",
        "v2-partial",
        "v3-raw",
        "v2-raw",
        "v2-be-raw",
    ] {
        let z = npmap_reads_as_numpy_saved(d, name);
        match name {
            "v3-default" => {
                assert_eq!(
                    (z.format(), z.codecs()),
                    (
                        ZarrFormat::V3,
                        &["bytes".to_string(), "zstd".to_string()][..]
                    )
                );
                let x: ArrayD<f64> = npmap::read_npy(d.join("v3-default.npy")).unwrap();
                for (g, e) in z
                    .par_moments_axis(Axis(0))
                    .unwrap()
                    .iter()
                    .zip(x.par_moments_axis(Axis(0)).iter())
                {
                    assert_close(g, e, name);
                }
            }
            "v2-default" => assert_eq!(
                (z.format(), z.codecs()),
                (ZarrFormat::V2, &["zstd".to_string()][..])
            ),
            "v2-gzip" => assert_eq!(z.codecs(), ["gzip"]),
            // Uncompressed and in this machine's order: mappable (big-endian: decoded).
            "v3-raw" | "v2-raw" | "v2-be-raw" => {
                assert_eq!(
                    z.is_raw(),
                    name != "v2-be-raw" && cfg!(target_endian = "little")
                );
                // SAFETY: nothing rewrites the test's chunk files while they are mapped.
                let mapped = unsafe { npmap::zarr::open_mapped(z.path()) }.unwrap();
                assert_eq!(mapped.is_mapped(), z.is_raw());
                let m = mapped.par_moments().unwrap();
                assert_close(&m, &z.par_moments().unwrap(), name);
            }
            "v3-names" => assert_eq!(
                z.dimension_names(),
                Some(&[Some("sample".to_string()), Some("feature".to_string())][..])
            ),
            "v3-partial" => {
                let m = z.par_moments().unwrap();
                assert_eq!((m.count(), m.sum()), (24, 28.0 + 16.0 * 7.0));
            }
            _ => {}
        }
    }
}

/// Runs `script` (a file, so that dask's worker processes can start) with a time
/// limit; returns its standard output.
fn run_bounded(script: &str, dir: &Path, args: &[&Path], limit: Duration) -> String {
    let file = dir.join("script.py");
    std::fs::write(&file, script).unwrap();
    let mut child = Command::new("python3")
        .arg(&file)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "python ran longer than {limit:?} and was killed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A two-worker `dask.distributed` cluster (separate processes) computes mean(0) and
/// std(0) of the store with `da.from_zarr`.
const DASK_DISTRIBUTED: &str = r#"
import sys, json
import dask.array as da
from dask.distributed import Client, LocalCluster

if __name__ == '__main__':
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                           host='127.0.0.1', dashboard_address=None)
    try:
        client = Client(cluster)
        try:
            x = da.from_zarr(sys.argv[1])
            mean, std = da.compute(x.mean(axis=0), x.std(axis=0))
            workers = len(client.scheduler_info()['workers'])
            print(json.dumps({'workers': workers, 'chunks': x.numblocks,
                              'mean': mean.tolist(), 'std': std.tolist()}))
        finally:
            client.close()
    finally:
        cluster.close()
"#;

#[test]
fn zarr_dask_distributed_computes_npmaps_statistics_from_a_store_npmap_wrote() {
    if !numpy::modules_available(
        "zarr_dask_distributed_computes_npmaps_statistics_from_a_store_npmap_wrote",
        ZARR_MODULES,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let x = Array::from_shape_fn((20_000, 8), |(i, j)| {
        ((i * 8 + j) as f64 * 0.013).sin() * 50.0 + j as f64
    });
    for format in FORMATS {
        let store = dir.path().join(format!("X{}.zarr", format.number()));
        let options = ZarrOptions::new()
            .format(format)
            .compression(Compression::Zstd(0));
        npmap::zarr::save(&store, &x, &[3000, 8], &options).unwrap();
        let out = run_bounded(
            DASK_DISTRIBUTED,
            dir.path(),
            &[&store],
            Duration::from_secs(120),
        );
        let got: serde_json::Value =
            serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
        assert_eq!(got["workers"], 2);
        assert_eq!(got["chunks"], serde_json::json!([7, 1]));
        let cols = npmap::zarr::open(&store)
            .unwrap()
            .par_moments_axis(Axis(0))
            .unwrap();
        for (j, m) in cols.iter().enumerate() {
            let (mean, std) = (
                got["mean"][j].as_f64().unwrap(),
                got["std"][j].as_f64().unwrap(),
            );
            assert!(
                (m.mean() - mean).abs() <= 1e-12 * mean.abs(),
                "column {j}: mean {} vs dask {mean}",
                m.mean()
            );
            assert!(
                (m.std(0) - std).abs() <= 1e-12 * std,
                "column {j}: std {} vs dask {std}",
                m.std(0)
            );
        }
    }
}

#[test]
fn zarr_open_mapped_maps_raw_chunks_with_the_same_values_and_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let x = sample::<f64>(&[101, 7]);
    for format in FORMATS {
        for codec in CODECS {
            let path = dir
                .path()
                .join(format!("m{}-{codec:?}.zarr", format.number()));
            let options = ZarrOptions::new().format(format).compression(codec);
            npmap::zarr::save(&path, &x, &[20, 3], &options).unwrap();
            let copied = npmap::zarr::open(&path).unwrap();
            // SAFETY: nothing rewrites the test's chunk files while they are mapped.
            let mapped = unsafe { npmap::zarr::open_mapped(&path) }.unwrap();
            let raw = codec == Compression::None;
            assert_eq!(
                (copied.is_raw(), mapped.is_raw(), mapped.is_mapped()),
                (raw, raw, raw)
            );
            assert_eq!(mapped.read::<f64, IxDyn>().unwrap(), x);
            assert_close(
                &mapped.par_moments().unwrap(),
                &copied.par_moments().unwrap(),
                "mapped",
            );
            let (a, b) = (
                mapped.par_moments_axis(Axis(1)).unwrap(),
                copied.par_moments_axis(Axis(1)).unwrap(),
            );
            for (m, c) in a.iter().zip(b.iter()) {
                assert_close(m, c, "mapped rows");
            }
            let on = |threads: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| mapped.par_moments_axis(Axis(0)).unwrap())
            };
            assert_eq!(on(1), on(2));
        }
    }
    // Missing raw chunks are the fill value; a raw chunk of the wrong size is an error.
    let path = dir.path().join("m3-None.zarr");
    std::fs::remove_file(path.join("c/0/0")).unwrap();
    // SAFETY: as above.
    let mapped = unsafe { npmap::zarr::open_mapped(&path) }.unwrap();
    let back: ArrayD<f64> = mapped.read().unwrap();
    assert!(
        back.slice(npmap::ndarray::s![..20, ..3])
            .iter()
            .all(|&v| v == 0.0)
    );
    assert_eq!(
        back.slice(npmap::ndarray::s![20.., ..]),
        x.slice(npmap::ndarray::s![20.., ..])
    );
    std::fs::write(path.join("c/1/0"), [0u8; 16]).unwrap();
    let e = mapped.par_moments().unwrap_err();
    assert!(
        e.to_string().contains("chunk [1, 0]")
            && e.to_string()
                .contains("expected 480 bytes of raw elements, found 16"),
        "{e}"
    );
}

#[test]
fn zarr_hostile_metadata_is_an_error_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.zarr");
    npmap::zarr::save(&path, &array![[1.0f64, 2.0]], &[1, 2], &Default::default()).unwrap();
    let meta_path = path.join("zarr.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut meta = original.clone();
        edit(&mut meta);
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        npmap::zarr::open(&path)
    };
    // A shape whose bytes overflow the address space.
    let e = with(&|m| m["shape"] = serde_json::json!([1u64 << 62, 1u64 << 62])).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::ShapeOverflow { .. }), "{e}");
    assert_eq!(e.path(), Some(path.as_path()));
    // A chunk that could never be held in memory.
    let e = with(&|m| {
        m["chunk_grid"]["configuration"]["chunk_shape"] =
            serde_json::json!([1u64 << 40, 1u64 << 40])
    })
    .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Zarr { reason } if reason.contains("overflows the address space")),
        "{e}"
    );
    // A data type npmap does not read, and a chunk grid that is not regular.
    let e = with(&|m| m["data_type"] = serde_json::json!("string")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Zarr { .. }), "{e}");
    let e = with(&|m| {
        m["chunk_grid"] =
            serde_json::json!({"name": "rectangular", "configuration": {"chunk_shape": [[1], 2]}})
    })
    .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Zarr { .. }), "{e}");
    // A chunk file far larger than any encoding of its chunk is refused before it is read.
    std::fs::write(&meta_path, serde_json::to_vec(&original).unwrap()).unwrap();
    std::fs::write(path.join("c/0/0"), vec![7u8; 1 << 20]).unwrap();
    let e = npmap::zarr::open(&path).unwrap().par_moments().unwrap_err();
    assert!(
        e.to_string()
            .contains("expected at most 65552 bytes for a chunk of 16 bytes, found 1048576"),
        "{e}"
    );
    // Metadata far larger than any array's is refused before it is read.
    let big = std::fs::File::create(&meta_path).unwrap();
    big.set_len(65 << 20).unwrap();
    let e = npmap::zarr::open(&path).unwrap_err();
    assert!(
        e.to_string()
            .contains("zarr.json is 68157440 bytes; expected metadata of at most 67108864 bytes"),
        "{e}"
    );
    // Not JSON at all.
    std::fs::write(&meta_path, b"{not json").unwrap();
    let e = npmap::zarr::open(&path).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Zarr { reason } if reason.starts_with("expected an array's metadata")),
        "{e}"
    );
}

#[test]
fn zarr_any_layout_saves_in_c_order_and_bad_levels_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A transposed (Fortran-order) view and a strided one.
    let x = sample::<i32>(&[6, 5]);
    let t = x.t();
    let strided = x.slice(npmap::ndarray::s![..;2, ..;-1]);
    for (name, view) in [("t", t.view().into_dyn()), ("strided", strided.into_dyn())] {
        for format in FORMATS {
            let path = dir.path().join(format!("{name}{}.zarr", format.number()));
            npmap::zarr::save(&path, &view, &[4, 2], &ZarrOptions::new().format(format)).unwrap();
            let back: ArrayD<i32> = npmap::zarr::open(&path).unwrap().read().unwrap();
            assert_eq!(back, view, "{name}");
        }
    }
    for format in FORMATS {
        let path = dir.path().join(format!("gz{}.zarr", format.number()));
        let options = ZarrOptions::new()
            .format(format)
            .compression(Compression::Gzip(12));
        let e = npmap::zarr::save(&path, &x, &[3, 5], &options).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Zarr { .. }),
            "{format:?}: {e}"
        );
        assert!(
            !path.exists(),
            "{format:?}: a failed save left {}",
            path.display()
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmpdir"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn zarr_nan_moments_skip_nans_chunk_by_chunk_as_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = sample::<f64>(&[300, 6]);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 7 == 3 {
            *v = f64::NAN;
        }
    }
    // One column all NaN: count 0, mean NaN.
    x.index_axis_mut(Axis(1), 4).fill(f64::NAN);
    let path = dir.path().join("nan.zarr");
    npmap::zarr::save(
        &path,
        &x,
        &[64, 4],
        &ZarrOptions::new().compression(Compression::Zstd(0)),
    )
    .unwrap();
    let z = npmap::zarr::open(&path).unwrap();
    assert!(z.par_moments().unwrap().mean().is_nan());
    let skipped = z.par_nan_moments().unwrap();
    let expected = x.par_nan_moments();
    assert_close(&skipped, &expected, "nan whole");
    let cols = z.par_nan_moments_axis(Axis(0)).unwrap();
    let expected = x.par_nan_moments_axis(Axis(0));
    for (j, (g, e)) in cols.iter().zip(expected.iter()).enumerate() {
        if j == 4 {
            assert_eq!((g.count(), e.count()), (0, 0));
            assert!(g.mean().is_nan());
        } else {
            assert_close(g, e, &format!("nan column {j}"));
        }
    }
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| z.par_nan_moments().unwrap())
    };
    assert_eq!(on(1), on(2));
}

const KILL_ENV: &str = "NPMAP_ZARR_KILL_CHILD";

/// The arrays the killed child saves in turn: every element of store `k` is `k`
/// (and the shapes differ, so a mix of two would not read as either).
fn generation(k: usize) -> npmap::ndarray::Array2<f64> {
    npmap::ndarray::Array2::from_elem((20_000 + k * 1_000, 4), k as f64 + 1.0)
}

/// The child side of `zarr_a_killed_save_leaves_the_old_store_or_the_new_one`: saves
/// generations 1, 2, 1, 2, ... over the store until killed.
#[test]
#[ignore = "run by zarr_a_killed_save_leaves_the_old_store_or_the_new_one in a child process"]
fn zarr_kill_child() {
    let Ok(path) = std::env::var(KILL_ENV) else {
        return;
    };
    let arrays = [generation(1), generation(2)];
    for i in 0.. {
        let options = ZarrOptions::new()
            .format(FORMATS[i % 2])
            .compression(CODECS[i % 3])
            .overwrite(true);
        npmap::zarr::save(&path, &arrays[i % 2], &[3_000, 3], &options).unwrap();
        println!("@ saved {i}");
    }
}

#[test]
fn zarr_a_killed_save_leaves_the_old_store_or_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.zarr");
    npmap::zarr::save(&path, &generation(0), &[3_000, 3], &Default::default()).unwrap();
    let mut seen = [0usize; 3];
    let kills = 10;
    for k in 0..kills {
        let mut child = crate::faults::child("zarr::zarr_kill_child", (KILL_ENV, &path))
            .spawn()
            .unwrap();
        // Kill at a different moment of a save each time.
        std::thread::sleep(Duration::from_micros(150_000 + 79_193 * k));
        child.kill().unwrap();
        child.wait().unwrap();
        let z = npmap::zarr::open(&path).unwrap();
        let x = z.read::<f64, npmap::ndarray::Ix2>().unwrap();
        let g = x[[0, 0]] as usize - 1;
        assert_eq!(x, generation(g), "after kill {k}");
        seen[g] += 1;
    }
    eprintln!("kills {kills}: generations seen {seen:?}");
    // The next save removes what the killed ones left beside the store.
    npmap::zarr::save(
        &path,
        &generation(0),
        &[3_000, 3],
        &ZarrOptions::new().overwrite(true),
    )
    .unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        ["s.zarr"],
        "after {kills} kills (generations seen: {seen:?})"
    );
}

#[test]
fn zarr_read_rows_decodes_only_the_rows_of_chunks_asked_for() {
    use npmap::ndarray::{Slice, s};
    let dir = tempfile::tempdir().unwrap();
    let x = sample::<i16>(&[23, 4, 3]);
    for format in FORMATS {
        let path = dir.path().join(format!("r{}.zarr", format.number()));
        npmap::zarr::save(&path, &x, &[5, 3, 2], &ZarrOptions::new().format(format)).unwrap();
        let z = npmap::zarr::open(&path).unwrap();
        for (a, b) in [
            (0, 1),
            (0, 5),
            (3, 12),
            (5, 10),
            (20, 23),
            (22, 99),
            (30, 40),
            (7, 7),
        ] {
            let got: ArrayD<i16> = z.read_rows(a..b).unwrap();
            let (a, b) = (a.min(23), b.min(23));
            assert_eq!(
                got,
                x.slice_axis(Axis(0), Slice::from(a.min(b)..b)),
                "{a}..{b}"
            );
        }
        // Rows of a missing chunk are the fill value.
        let key = match format {
            ZarrFormat::V2 => path.join("1.0.0"),
            _ => path.join("c/1/0/0"),
        };
        std::fs::remove_file(key).unwrap();
        let z = npmap::zarr::open(&path).unwrap();
        let got: ArrayD<i16> = z.read_rows(4..7).unwrap();
        assert_eq!(got.slice(s![0, .., ..]), x.slice(s![4, .., ..]));
        assert!(got.slice(s![1.., ..3, ..2]).iter().all(|&v| v == 0));
    }
    let path = dir.path().join("0d.zarr");
    npmap::zarr::save(
        &path,
        &npmap::ndarray::arr0(1.5f64),
        &[],
        &Default::default(),
    )
    .unwrap();
    let e = npmap::zarr::open(&path)
        .unwrap()
        .read_rows::<f64, IxDyn>(0..1)
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Zarr { .. }), "{e}");
}

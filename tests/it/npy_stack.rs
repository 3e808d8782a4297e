//! Dask's npy-stack: stacks npmap writes are what `dask.array.to_npy_stack` writes
//! (blocks byte for byte, `info` equal once unpickled) and Dask reads them; stacks Dask
//! writes open with Dask's values; statistics match the whole array's.

use std::path::Path;

use ndarray::{Array, Array2, Array3, ArrayD, Axis, Ix2, Ix3, IxDyn};
use npmap::{ErrorKind, MmapMode, Moments, ParStats, npy_stack};

use crate::numpy;

fn open(dir: &Path) -> npmap::Result<npy_stack::NpyStack> {
    // SAFETY: the test's files are not modified while mapped.
    unsafe { npy_stack::open(dir, MmapMode::ReadOnly) }
}

fn x3() -> Array3<f64> {
    Array3::from_shape_fn((11, 3, 4), |(i, j, k)| {
        ((i * 12 + j * 4 + k) as f64 * 0.37).sin() * 1e3 + i as f64
    })
}

fn same(a: &Moments, b: &Moments, what: &str) {
    let close = |x: f64, y: f64| x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs());
    assert_eq!(a.count(), b.count(), "{what}");
    assert_eq!((a.min(), a.max()), (b.min(), b.max()), "{what}");
    assert!(
        close(a.sum(), b.sum()),
        "{what}: sum {} vs {}",
        a.sum(),
        b.sum()
    );
    assert!(close(a.mean(), b.mean()), "{what}: mean");
    assert!(close(a.m2(), b.m2()), "{what}: m2 {} vs {}", a.m2(), b.m2());
}

#[test]
fn a_stack_reads_back_along_every_axis_with_the_whole_arrays_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let x = x3();
    for axis in 0..3 {
        for block_len in [1, 2, 5, 100] {
            let d = dir.path().join(format!("s{axis}_{block_len}"));
            npy_stack::save(&d, &x, Axis(axis), block_len).unwrap();
            let s = open(&d).unwrap();
            let len = x.len_of(Axis(axis));
            let expected_lens: Vec<usize> = (0..len.div_ceil(block_len))
                .map(|i| block_len.min(len - i * block_len))
                .collect();
            assert_eq!(s.block_lens(), &expected_lens[..]);
            assert_eq!((s.shape(), s.axis()), (x.shape(), Axis(axis)));
            assert_eq!(s.read::<f64, Ix3>().unwrap(), x);
            let what = format!("axis {axis}, blocks of {block_len}");
            same(&s.par_moments::<f64>().unwrap(), &x.par_moments(), &what);
            for reduce in 0..3 {
                let found = s.par_moments_axis::<f64>(Axis(reduce)).unwrap();
                let expected = x.par_moments_axis(Axis(reduce)).into_dyn();
                assert_eq!(found.shape(), expected.shape(), "{what}, reduce {reduce}");
                for (f, e) in found.iter().zip(&expected) {
                    same(f, e, &format!("{what}, reduce {reduce}"));
                }
            }
        }
    }
}

#[test]
fn statistics_are_the_same_bits_on_one_thread_and_on_two() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("s");
    let x = Array2::<f32>::from_shape_fn((300_001, 3), |(i, j)| {
        (i as f32 * 0.001).cos() * 1e4 + j as f32
    });
    npy_stack::save(&d, &x, Axis(0), 65_536).unwrap();
    let s = open(&d).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let whole = s.par_moments::<f32>().unwrap().parts();
            let columns: Vec<_> = s
                .par_moments_axis::<f32>(Axis(0))
                .unwrap()
                .iter()
                .map(|m| m.parts())
                .collect();
            format!("{whole:?} {columns:?}")
        })
    };
    assert_eq!(run(1), run(2));
    // The f32 kernels sum deviations in f32 over groups of 8 values, whose boundaries
    // depend on where a block starts: blocks and whole array agree to about 1e-9 of
    // the sum of magnitudes (here 2e2 times the sum itself, which cancels), as each
    // does with an f64 sum.
    let exact: f64 = x.iter().map(|&v| f64::from(v)).sum();
    let magnitude: f64 = x.iter().map(|&v| f64::from(v).abs()).sum();
    for (what, m) in [
        ("stack", s.par_moments::<f32>().unwrap()),
        ("whole", x.par_moments()),
    ] {
        assert!(
            (m.sum() - exact).abs() <= 1e-8 * magnitude,
            "{what}: {} vs {exact}",
            m.sum()
        );
    }
}

/// A stack npmap writes, its axis, the NumPy expression of its array and the chunks
/// Dask is given.
type Case = (
    &'static str,
    Box<dyn Fn(&Path)>,
    usize,
    &'static str,
    &'static str,
);

#[test]
fn dask_reads_what_npmap_writes_and_npmap_writes_what_dask_writes() {
    if !numpy::modules_available("npy_stack dask round trip", &["dask.array"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<Case> = vec![
        (
            "f8_axis0",
            Box::new(|d: &Path| npy_stack::save(d, &x3(), Axis(0), 4).unwrap()),
            0,
            "np.fromfunction(lambda i, j, k: np.sin((i * 12 + j * 4 + k) * 0.37) * 1e3 + i, (11, 3, 4))",
            "chunks={axis: 4}",
        ),
        (
            "i8_axis1",
            Box::new(|d: &Path| {
                let x =
                    Array2::<i64>::from_shape_fn((3, 7), |(i, j)| (i as i64 - 1) * 1000 + j as i64);
                npy_stack::save(d, &x, Axis(1), 3).unwrap()
            }),
            1,
            "np.fromfunction(lambda i, j: (i - 1) * 1000 + j, (3, 7), dtype=np.int64)",
            "chunks={axis: 3}",
        ),
        (
            "u1_axis0_empty",
            Box::new(|d: &Path| {
                npy_stack::save(d, &Array2::<u8>::zeros((0, 5)), Axis(0), 2).unwrap()
            }),
            0,
            "np.zeros((0, 5), np.uint8)",
            "chunks={axis: 2}",
        ),
        (
            "bool_axis0",
            Box::new(|d: &Path| {
                let x = ndarray::Array1::from_shape_fn(9, |i| i % 3 == 0);
                npy_stack::save(d, &x, Axis(0), 4).unwrap()
            }),
            0,
            "np.arange(9) % 3 == 0",
            "chunks={axis: 4}",
        ),
    ];
    for (name, write, axis, expr, chunks) in &cases {
        let ours = dir.path().join(format!("{name}.npmap"));
        let theirs = dir.path().join(format!("{name}.dask"));
        write(&ours);
        let script = format!(
            r#"
import os, pickle, sys
import numpy as np, dask.array as da
ours, theirs = sys.argv[1], sys.argv[2]
axis = {axis}
x = {expr}
da.to_npy_stack(theirs, da.from_array(x, {chunks}), axis=axis)
with open(os.path.join(ours, 'info'), 'rb') as f:
    a = pickle.load(f)
with open(os.path.join(theirs, 'info'), 'rb') as f:
    b = pickle.load(f)
assert a == b, (a, b)
assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs)), (os.listdir(ours), os.listdir(theirs))
for name in os.listdir(theirs):
    if name.endswith('.npy'):
        with open(os.path.join(ours, name), 'rb') as f, open(os.path.join(theirs, name), 'rb') as g:
            assert f.read() == g.read(), name
y = da.from_npy_stack(ours)
assert y.chunks == da.from_npy_stack(theirs).chunks
z = y.compute()
assert z.dtype == x.dtype and z.shape == x.shape and (z == x).all()
print('ok', a['chunks'])
"#
        );
        let out = numpy::run(&script, &[&ours, &theirs]);
        assert!(out.starts_with("ok"), "{name}: {out}");
    }
}

#[test]
fn stacks_dask_writes_open_with_dasks_values() {
    if !numpy::modules_available("npy_stack from dask", &["dask.array"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import json, sys
import numpy as np, dask.array as da
root = sys.argv[1]
out = {}
rng = np.random.default_rng(7)
cases = {
    'f4': (rng.standard_normal((1000, 3)).astype(np.float32), 0, 300),
    'f8_be': (rng.standard_normal((40, 6)).astype('>f8'), 1, 4),
    'c16': ((rng.standard_normal(10) + 1j * rng.standard_normal(10)), 0, 3),
    'f2': (rng.standard_normal((7, 2)).astype(np.float16), 0, 2),
    'i2': (rng.integers(-3000, 3000, (5, 4, 3)).astype(np.int16), 2, 2),
}
for name, (x, axis, n) in cases.items():
    da.to_npy_stack(f'{root}/{name}', da.from_array(x, chunks={axis: n}), axis=axis)
    np.save(f'{root}/{name}.whole.npy', x)
    xs = x.astype(np.complex128).real if x.dtype.kind == 'c' else x.astype(np.float64)
    out[name] = {'mean': float(xs.mean()), 'std': float(xs.std()), 'min': float(xs.min()),
                 'max': float(xs.max()), 'chunks': [list(c) for c in da.from_npy_stack(f'{root}/{name}').chunks],
                 'descr': x.dtype.str}
print(json.dumps(out))
"#;
    let out = numpy::run(script, &[dir.path()]);
    let expected: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let whole = |name: &str| {
        // SAFETY: the test's files are not modified while mapped.
        unsafe {
            npmap::NpyFile::open(
                dir.path().join(format!("{name}.whole.npy")),
                MmapMode::ReadOnly,
            )
        }
        .unwrap()
    };
    for name in ["f4", "f8_be", "f2", "i2"] {
        let s = open(&dir.path().join(name)).unwrap();
        let e = &expected[name];
        assert_eq!(s.dtype().descr(), e["descr"].as_str().unwrap(), "{name}");
        let chunks: Vec<Vec<usize>> = serde_json::from_value(e["chunks"].clone()).unwrap();
        assert_eq!(s.block_lens(), &chunks[s.axis().index()][..], "{name}");
        let m = npmap::with_element_type!(real s.dtype(), T => s.par_moments::<T>(), else panic!("{name}"))
            .unwrap();
        // f64 data within 1e-12; f32 and f16 data within the f32 kernels' group
        // rounding (about 1e-9 of the values' magnitude, see above).
        let rel = if name.starts_with("f8") || name.starts_with('i') {
            1e-12
        } else {
            1e-8
        };
        let (mean, std) = (e["mean"].as_f64().unwrap(), e["std"].as_f64().unwrap());
        assert!(
            (m.mean() - mean).abs() <= rel * std.max(mean.abs()),
            "{name} mean {} vs {mean}",
            m.mean()
        );
        assert!(
            (m.std(0) - std).abs() <= rel * std,
            "{name} std {} vs {std}",
            m.std(0)
        );
        assert_eq!(
            (m.min(), m.max()),
            (e["min"].as_f64().unwrap(), e["max"].as_f64().unwrap())
        );
        // And the logical array is the whole array NumPy saved.
        let w = whole(name);
        npmap::with_element_type!(s.dtype(), T => {
            assert_eq!(s.read::<T, IxDyn>().unwrap(), w.cow::<T, IxDyn>().unwrap(), "{name}")
        }, else panic!("{name}"));
    }
    let s = open(&dir.path().join("c16")).unwrap();
    let read: ArrayD<npmap::num_complex::Complex<f64>> = s.read().unwrap();
    assert_eq!(
        read,
        whole("c16")
            .cow::<npmap::num_complex::Complex<f64>, IxDyn>()
            .unwrap()
    );
}

#[test]
fn broken_stacks_are_errors_that_say_what_disagrees() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("s");
    let x = Array2::<f64>::from_shape_fn((10, 2), |(i, j)| (i + j) as f64);
    npy_stack::save(&d, &x, Axis(0), 4).unwrap();
    let kind = |e: npmap::Error| match e.kind() {
        ErrorKind::BadStack { reason } => reason.clone(),
        other => panic!("expected BadStack, found {other:?}"),
    };

    // A block of the wrong length.
    npmap::save_npy(d.join("1.npy"), &Array2::<f64>::zeros((3, 2))).unwrap();
    let e = open(&d).unwrap_err();
    assert_eq!(e.path(), Some(d.join("1.npy").as_path()));
    assert_eq!(
        kind(e),
        "block 1 should have shape [4, 2] (info's chunks), found [3, 2]"
    );
    // A block of another dtype.
    npmap::save_npy(d.join("1.npy"), &Array2::<f32>::zeros((4, 2))).unwrap();
    assert_eq!(
        kind(open(&d).unwrap_err()),
        "block 1 should hold '<f8' (info's dtype), found '<f4'"
    );
    // A missing block.
    npmap::save_npy(d.join("1.npy"), &Array2::<f64>::zeros((4, 2))).unwrap();
    std::fs::remove_file(d.join("2.npy")).unwrap();
    let e = open(&d).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io { .. }), "{e}");
    assert_eq!(e.path(), Some(d.join("2.npy").as_path()));
    // No info at all.
    std::fs::remove_file(d.join("info")).unwrap();
    let e = open(&d).unwrap_err();
    assert_eq!(e.path(), Some(d.join("info").as_path()));
    // info that is a pickle of something else: a list, and a dict without 'axis'.
    std::fs::write(d.join("info"), b"\x80\x04]\x94.").unwrap();
    assert_eq!(
        kind(open(&d).unwrap_err()),
        "info should be a dict, found a list"
    );
    std::fs::write(
        d.join("info"),
        b"\x80\x04}\x94(\x8c\x06chunks\x94K\x04\x85\x94\x85\x94u.",
    )
    .unwrap();
    let reason = kind(open(&d).unwrap_err());
    assert_eq!(reason, "info has no 'axis' (keys: [\"chunks\"])");

    // Saving refuses what is not a stack, and bad arguments.
    let other = dir.path().join("not-a-stack");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), b"mine").unwrap();
    let reason = kind(npy_stack::save(&other, &x, Axis(0), 4).unwrap_err());
    assert!(reason.contains("not an npy-stack"), "{reason}");
    assert_eq!(std::fs::read(other.join("keep.txt")).unwrap(), b"mine");
    assert_eq!(
        kind(npy_stack::save(dir.path().join("t"), &x, Axis(2), 4).unwrap_err()),
        "axis 2 of an array of 2 dimensions"
    );
    assert_eq!(
        kind(npy_stack::save(dir.path().join("t"), &x, Axis(0), 0).unwrap_err()),
        "a block length of 0"
    );
    // Nothing but the stacks and the refused directory was left beside them.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["not-a-stack", "s"]);
}

#[test]
fn saving_over_a_stack_replaces_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("s");
    let a = Array::from_shape_fn((9, 2), |(i, j)| (i * 2 + j) as i32);
    npy_stack::save(&d, &a, Axis(0), 2).unwrap();
    assert_eq!(open(&d).unwrap().block_lens(), &[2, 2, 2, 2, 1]);
    let b = Array::from_shape_fn((3, 2), |(i, j)| -((i * 2 + j) as i32));
    npy_stack::save(&d, &b, Axis(0), 2).unwrap();
    let s = open(&d).unwrap();
    assert_eq!(s.block_lens(), &[2, 1]);
    assert_eq!(s.read::<i32, Ix2>().unwrap(), b);
    // The old blocks are gone with the old stack, and no temporary directory is left.
    let mut names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["0.npy", "1.npy", "info"]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

const KILL_ENV: &str = "NPMAP_NPY_STACK_KILL_CHILD";

/// The arrays the killed child saves in turn: every element of stack `k` is `k`.
fn generation(k: usize) -> Array2<f64> {
    Array2::from_elem((200_000 + k * 10_000, 4), k as f64)
}

/// The child side of `a_killed_save_leaves_the_old_stack_or_the_new_one`: saves
/// generations 1, 2, 1, 2, ... over the stack until killed.
#[test]
#[ignore = "run by a_killed_save_leaves_the_old_stack_or_the_new_one in a child process"]
fn npy_stack_kill_child() {
    let Ok(dir) = std::env::var(KILL_ENV) else {
        return;
    };
    let arrays = [generation(1), generation(2)];
    for i in 0.. {
        npy_stack::save(&dir, &arrays[i % 2], Axis(0), 50_000).unwrap();
        println!("@ saved {i}");
    }
}

#[test]
fn a_killed_save_leaves_the_old_stack_or_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("s");
    npy_stack::save(&d, &generation(0), Axis(0), 50_000).unwrap();
    let mut seen = [0usize; 3];
    let kills = 12;
    for k in 0..kills {
        let mut child = crate::faults::child("npy_stack::npy_stack_kill_child", (KILL_ENV, &d))
            .spawn()
            .unwrap();
        // Kill at a different moment of a save each time (a save takes a few ms).
        std::thread::sleep(std::time::Duration::from_micros(20_000 + 7_919 * k));
        child.kill().unwrap();
        child.wait().unwrap();
        let s = open(&d).unwrap();
        let x = s.read::<f64, Ix2>().unwrap();
        let g = x[[0, 0]] as usize;
        assert_eq!(x, generation(g), "after kill {k}");
        seen[g] += 1;
    }
    let left = std::fs::read_dir(dir.path()).unwrap().count() - 1;
    eprintln!("kills {kills}: generations seen {seen:?}, {left} temporary directories left");
    // The next save removes what the killed ones left beside the stack.
    npy_stack::save(&d, &generation(0), Axis(0), 50_000).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        ["s"],
        "after {kills} kills (generations seen: {seen:?})"
    );
}

/// A Dask cluster of two worker processes on the loopback interface reads a stack
/// npmap wrote: its `mean(0)` and `std(0)` are npmap's, and the blocks were read in
/// the workers, not in the client.
#[test]
fn a_dask_cluster_computes_npmaps_statistics_from_a_stack_npmap_wrote() {
    if !numpy::modules_available("npy_stack on a LocalCluster", &["dask.distributed"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("x.npys");
    let x = Array2::<f64>::from_shape_fn((20_011, 6), |(i, j)| {
        ((i * 6 + j) as f64 * 0.013).sin() * 10f64.powi(j as i32 - 2) + j as f64 * 1e3
    });
    npy_stack::save(&d, &x, Axis(0), 2_048).unwrap();
    let script = r#"
import json, os, sys
import numpy as np
import dask.array as da
from dask.distributed import Client, LocalCluster

if __name__ == '__main__':
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      host='127.0.0.1', dashboard_address=None) as cluster, \
         Client(cluster, timeout='60s') as client:
        x = da.from_npy_stack(sys.argv[1])
        mean, std = da.compute(x.mean(0), x.std(0))
        pids = set(x.map_blocks(lambda b: np.full((1,) * b.ndim, os.getpid()),
                                chunks=(1, 1)).compute().ravel().tolist())
        workers = len(client.scheduler_info()['workers'])
    print(json.dumps({'mean': mean.tolist(), 'std': std.tolist(), 'workers': workers,
                      'pids': sorted(pids), 'client': os.getpid(), 'blocks': x.numblocks[0]}))
"#;
    let out = std::process::Command::new("timeout")
        .args(["180", "python3", "-c", script])
        .arg(&d)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the cluster run failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let found: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert_eq!(found["workers"], 2);
    assert_eq!(found["blocks"], 10);
    let client = found["client"].as_u64().unwrap();
    let pids: Vec<u64> = serde_json::from_value(found["pids"].clone()).unwrap();
    assert!(
        !pids.is_empty() && !pids.contains(&client),
        "blocks read in {pids:?}, client {client}"
    );

    let s = open(&d).unwrap();
    let columns = s.par_moments_axis::<f64>(Axis(0)).unwrap();
    for (j, m) in columns.iter().enumerate() {
        let (mean, std) = (
            found["mean"][j].as_f64().unwrap(),
            found["std"][j].as_f64().unwrap(),
        );
        assert!(
            (m.mean() - mean).abs() <= 1e-12 * mean.abs().max(std),
            "column {j} mean {} vs {mean}",
            m.mean()
        );
        assert!(
            (m.std(0) - std).abs() <= 1e-12 * std,
            "column {j} std {} vs {std}",
            m.std(0)
        );
    }
}

//! `Moments` as serde data: partial statistics computed in other processes travel as
//! JSON and merge into what one process gets.

use std::process::Command;

use ndarray::{Array2, Axis, s};
use npmap::{MmapMode, Moments, NpyFile, ParStats};
use proptest::prelude::*;

const SHARD_ENV: &str = "NPMAP_TEST_MOMENTS_SHARD";

/// A 2-D array with values of very different sizes, so that the merge order shows.
fn data() -> Array2<f64> {
    Array2::from_shape_fn((10_007, 7), |(i, j)| {
        let x = (i * 7 + j) as f64;
        (x * 0.618_033_988_749_894_9).sin() * 10f64.powi((i % 9) as i32 - 4) + j as f64
    })
}

/// The child side of `moments_computed_in_other_processes_merge_as_in_one`: prints
/// the JSON of the whole-array and per-column moments of rows `start..end`.
#[test]
#[ignore = "run by moments_computed_in_other_processes_merge_as_in_one in a child process"]
fn moments_shard_child() {
    let Ok(spec) = std::env::var(SHARD_ENV) else {
        return;
    };
    let mut parts = spec.split(',');
    let path = parts.next().unwrap();
    let start: usize = parts.next().unwrap().parse().unwrap();
    let end: usize = parts.next().unwrap().parse().unwrap();
    // SAFETY: the parent wrote the file and does not touch it while children run.
    let f = unsafe { NpyFile::open(path, MmapMode::ReadOnly) }.unwrap();
    let x = f.view::<f64, ndarray::Ix2>().unwrap();
    let shard = x.slice(s![start..end, ..]);
    let whole = shard.par_moments();
    let columns = shard.par_moments_axis(Axis(0)).to_vec();
    println!(
        "@@{}",
        serde_json::to_string(&(whole, columns)).expect("moments serialise")
    );
}

fn shard_in_child(path: &std::path::Path, start: usize, end: usize) -> (Moments, Vec<Moments>) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "moments_wire::moments_shard_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SHARD_ENV, format!("{},{start},{end}", path.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("@@").map(|(_, json)| json))
        .unwrap_or_else(|| panic!("no moments in the child's output: {stdout}"));
    serde_json::from_str(line).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

fn assert_close(found: &Moments, expected: &Moments, what: &str) {
    assert_eq!(found.count(), expected.count(), "{what}: count");
    assert_eq!(
        found.min().to_bits(),
        expected.min().to_bits(),
        "{what}: min"
    );
    assert_eq!(
        found.max().to_bits(),
        expected.max().to_bits(),
        "{what}: max"
    );
    for (name, f, e) in [
        ("sum", found.sum(), expected.sum()),
        ("mean", found.mean(), expected.mean()),
        ("m2", found.m2(), expected.m2()),
    ] {
        assert!(close(f, e, 1e-12), "{what}: {name} {f} vs {e}");
    }
}

#[test]
fn moments_computed_in_other_processes_merge_as_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    let x = data();
    npmap::save_npy(&path, &x).unwrap();
    let bounds = [0, 1, 2_500, 2_501, 7_000, 10_007];
    let shards: Vec<_> = bounds
        .windows(2)
        .map(|w| shard_in_child(&path, w[0], w[1]))
        .collect();

    // Bit for bit what this process computes for the same shards, merged in order.
    let mut whole = Moments::new();
    let mut columns = vec![Moments::new(); 7];
    for (w, (found_whole, found_columns)) in bounds.windows(2).zip(&shards) {
        let shard = x.slice(s![w[0]..w[1], ..]);
        let here = shard.par_moments();
        assert_eq!(found_whole.parts(), here.parts(), "rows {w:?}");
        let here_columns = shard.par_moments_axis(Axis(0));
        for (j, (f, h)) in found_columns.iter().zip(&here_columns).enumerate() {
            assert_eq!(f.parts(), h.parts(), "rows {w:?}, column {j}");
        }
        whole = whole.merge(found_whole);
        for (c, f) in columns.iter_mut().zip(found_columns) {
            *c = c.merge(f);
        }
    }
    // And, merged, the statistics of the whole array (a slow f64 reference for the sums).
    assert_close(&whole, &x.par_moments(), "whole array");
    for (j, c) in columns.iter().enumerate() {
        let col = x.column(j);
        let n = col.len() as f64;
        let mean = col.iter().sum::<f64>() / n;
        let m2: f64 = col.iter().map(|v| (v - mean) * (v - mean)).sum();
        assert_eq!(c.count(), col.len() as u64);
        assert!(close(c.mean(), mean, 1e-12), "column {j} mean");
        assert!(close(c.m2(), m2, 1e-12), "column {j} m2");
        let min = col.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = col.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((c.min(), c.max()), (min, max), "column {j}");
    }
}

/// The parts' bits, every NaN as the one NaN JSON can carry.
fn bits(m: &Moments) -> (u64, [u64; 5]) {
    let (n, a, b, c, d, e) = m.parts();
    let canonical = |x: f64| if x.is_nan() { f64::NAN } else { x }.to_bits();
    (n, [a, b, c, d, e].map(canonical))
}

#[test]
fn non_finite_and_empty_moments_survive_json() {
    let cases = [
        Moments::new(),
        Moments::from_slice(&[f64::NAN, 1.0]),
        Moments::from_slice(&[f64::INFINITY, 1.0]),
        Moments::from_slice(&[f64::NEG_INFINITY, f64::INFINITY]),
        Moments::from_slice(&[-0.0f64]),
        Moments::from_slice(&[1e300f64, 1e300]),
        Moments::from_slice(&[f64::MIN_POSITIVE / 4.0]),
    ];
    let expected_text = [
        r#"{"count":0,"sum":0.0,"mean":"NaN","m2":"NaN","min":"NaN","max":"NaN"}"#,
        r#"{"count":2,"sum":"NaN","mean":"NaN","m2":"NaN","min":"NaN","max":"NaN"}"#,
        r#"{"count":2,"sum":"inf","mean":"inf","m2":"NaN","min":1.0,"max":"inf"}"#,
        r#"{"count":2,"sum":"NaN","mean":"NaN","m2":"NaN","min":"-inf","max":"inf"}"#,
        r#"{"count":1,"sum":0.0,"mean":0.0,"m2":0.0,"min":-0.0,"max":-0.0}"#,
        r#"{"count":2,"sum":2e+300,"mean":1e+300,"m2":0.0,"min":1e+300,"max":1e+300}"#,
        r#"{"count":1,"sum":5.562684646268003e-309,"mean":5.562684646268003e-309,"m2":0.0,"min":5.562684646268003e-309,"max":5.562684646268003e-309}"#,
    ];
    for (m, text) in cases.iter().zip(expected_text) {
        let json = serde_json::to_string(m).unwrap();
        assert_eq!(json, text);
        let back: Moments = serde_json::from_str(&json).unwrap();
        assert_eq!(bits(&back), bits(m), "{text}");
    }
}

#[test]
fn impossible_moments_are_refused_with_the_reason() {
    for (text, reason) in [
        (
            r#"{"count":2,"sum":3.0,"mean":1.5,"m2":-0.5,"min":1.0,"max":2.0}"#,
            "m2, a sum of squares, must not be negative",
        ),
        (
            r#"{"count":2,"sum":3.0,"mean":1.5,"m2":0.5,"min":2.0,"max":1.0}"#,
            "min must not exceed max",
        ),
        (
            r#"{"count":2,"sum":3.0,"mean":1.5,"m2":0.5,"min":"NaN","max":1.0}"#,
            "min and max must be both NaN or neither",
        ),
        (
            r#"{"count":0,"sum":1.0,"mean":"NaN","m2":"NaN","min":"NaN","max":"NaN"}"#,
            "empty moments (count 0) must have sum 0",
        ),
        (
            r#"{"count":0,"sum":0.0,"mean":1.0,"m2":"NaN","min":"NaN","max":"NaN"}"#,
            "empty moments (count 0) must have NaN mean, m2, min and max",
        ),
    ] {
        let e = serde_json::from_str::<Moments>(text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(reason), "{text}: {e}");
    }
    let e = serde_json::from_str::<Moments>(
        r#"{"count":1,"sum":1.0,"mean":1.0,"m2":0.0,"min":1.0,"max":1.0,"extra":1}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown field `extra`"), "{e}");
    let e = serde_json::from_str::<Moments>(
        r#"{"count":1,"sum":"one","mean":1.0,"m2":0.0,"min":1.0,"max":1.0}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(r#"expected a number, or one of "NaN", "inf", "-inf""#),
        "{e}"
    );
}

proptest! {
    /// Any moments of real data come back bit for bit, and merge afterwards as before.
    #[test]
    fn moments_round_trip_bit_for_bit(
        a in proptest::collection::vec(proptest::num::f64::ANY, 0..40),
        b in proptest::collection::vec(-1e300f64..1e300, 0..40),
    ) {
        let (ma, mb) = (Moments::from_slice(&a), Moments::from_slice(&b));
        let back = |m: &Moments| -> Moments {
            serde_json::from_str(&serde_json::to_string(m).unwrap()).unwrap()
        };
        prop_assert_eq!(bits(&back(&ma)), bits(&ma));
        prop_assert_eq!(bits(&back(&ma).merge(&back(&mb))), bits(&ma.merge(&mb)));
    }
}

//! `npmap convert/info/stats/head` on Dask npy-stacks: npy -> stack -> npy byte for
//! byte, the stack described, statistics block by block equal to the library's over
//! the .npy, and stacks Dask writes read (when python3 with dask is installed).

mod common;

use std::process::Command;

use common::{npmap, ok, sample};

use npmap::ParStats;
use npmap::ndarray::{Array2, Axis};

#[test]
fn npy_stack_convert_round_trips_and_stats_match_the_npy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = sample();
    npmap::save_npy(d.join("X.npy"), &x).unwrap();
    let out = ok(&npmap(
        d,
        &[
            "convert",
            "X.npy",
            "X.stack",
            "--npy-stack",
            "--block-rows",
            "300",
        ],
    ));
    assert_eq!(out, "wrote X.stack\n");
    let mut names: Vec<_> = std::fs::read_dir(d.join("X.stack"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["0.npy", "1.npy", "2.npy", "3.npy", "info"]);

    let info = ok(&npmap(d, &["info", "X.stack"]));
    for line in [
        "  format     Dask npy-stack (4 blocks of .npy along axis 0)",
        "  dtype      <f8 (float64)",
        "  shape      (1000, 7)",
        "  blocks     3 x 300, then 100",
        "  data       56000 bytes",
        "  zero-copy  yes (each block mapped)",
    ] {
        assert!(
            info.contains(&format!("{line}\n")),
            "{line:?} not in\n{info}"
        );
    }

    ok(&npmap(d, &["convert", "X.stack", "back.npy"]));
    assert_eq!(
        std::fs::read(d.join("X.npy")).unwrap(),
        std::fs::read(d.join("back.npy")).unwrap()
    );

    let report: serde_json::Value = serde_json::from_str(&ok(&npmap(
        d,
        &["stats", "X.stack", "--axis", "0", "--json"],
    )))
    .unwrap();
    for (j, m) in x.par_moments_axis(Axis(0)).iter().enumerate() {
        let got = &report["stats"][j];
        assert_eq!(got["count"], 1000);
        assert_eq!(
            (got["min"].as_f64().unwrap(), got["max"].as_f64().unwrap()),
            (m.min(), m.max())
        );
        for (key, want) in [("mean", m.mean()), ("std", m.std(0)), ("sum", m.sum())] {
            let v = got[key].as_f64().unwrap();
            assert!(
                (v - want).abs() <= 1e-12 * want.abs().max(1.0),
                "column {j} {key}: {v} vs {want}"
            );
        }
    }
    let whole: serde_json::Value =
        serde_json::from_str(&ok(&npmap(d, &["stats", "X.stack", "--json"]))).unwrap();
    let m = x.par_moments();
    assert_eq!(whole["stats"]["count"], 7000);
    assert!((whole["stats"]["mean"].as_f64().unwrap() - m.mean()).abs() <= 1e-12 * m.mean().abs());
    // head prints the first rows as NumPy prints them (from the first block only).
    assert_eq!(
        ok(&npmap(d, &["head", "X.stack", "-n", "2"])),
        ok(&npmap(d, &["head", "X.npy", "-n", "2"]))
    );
    assert_eq!(
        ok(&npmap(d, &["head", "X.stack", "-n", "400"])),
        ok(&npmap(d, &["head", "X.npy", "-n", "400"]))
    );
}

#[test]
fn npy_stack_nan_statistics_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = Array2::from_shape_fn((10, 2), |(i, j)| {
        if i == 3 && j == 1 {
            f32::NAN
        } else {
            (i + j) as f32
        }
    });
    npmap::save_npy(d.join("x.npy"), &x).unwrap();
    ok(&npmap(
        d,
        &["convert", "x.npy", "s", "--npy-stack", "--block-rows", "4"],
    ));
    let nan: serde_json::Value = serde_json::from_str(&ok(&npmap(
        d,
        &["stats", "s", "--axis", "0", "--skipna", "--json"],
    )))
    .unwrap();
    assert_eq!(nan["stats"][1]["count"], 9);
    assert_eq!(nan["stats"][1]["sum"].as_f64().unwrap(), 55.0 - 4.0);
    // A block whose shape disagrees with info: one line naming the block.
    npmap::save_npy(d.join("s/1.npy"), &Array2::<f32>::zeros((3, 2))).unwrap();
    let o = npmap(d, &["stats", "s"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1.npy: not a Dask npy-stack: block 1 should have shape [4, 2] (info's chunks), found [3, 2]"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // --block-rows needs --npy-stack.
    let o = npmap(d, &["convert", "x.npy", "y.npy", "--block-rows", "4"]);
    assert!(!o.status.success());
}

#[test]
fn npy_stacks_dask_writes_read_in_info_stats_and_convert() {
    let probe = Command::new("python3")
        .args(["-c", "import dask.array"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        let required = std::env::var("NPMAP_REQUIRE_NUMPY").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "dask is required (NPMAP_REQUIRE_NUMPY=1) but does not import"
        );
        eprintln!("npy_stacks_dask_writes: skipped (python3 cannot import dask.array)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = r#"
import json, numpy as np, dask.array as da
x = np.random.default_rng(3).standard_normal((500, 6))
np.save('x.npy', x)
da.to_npy_stack('dask_stack', da.from_array(x, chunks=(128, 6)), axis=0)
print(json.dumps({'mean': x.mean(0).tolist(), 'std': x.std(0).tolist()}))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let info = ok(&npmap(d, &["info", "dask_stack"]));
    assert!(info.contains("  blocks     3 x 128, then 116\n"), "{info}");
    let report: serde_json::Value = serde_json::from_str(&ok(&npmap(
        d,
        &["stats", "dask_stack", "--axis", "0", "--json"],
    )))
    .unwrap();
    for j in 0..6 {
        for key in ["mean", "std"] {
            let (v, want) = (
                report["stats"][j][key].as_f64().unwrap(),
                expected[key][j].as_f64().unwrap(),
            );
            assert!(
                (v - want).abs() <= 1e-12 * want.abs().max(1e-3),
                "{key}[{j}]: {v} vs {want}"
            );
        }
    }
    ok(&npmap(d, &["convert", "dask_stack", "back.npy"]));
    assert_eq!(
        std::fs::read(d.join("x.npy")).unwrap(),
        std::fs::read(d.join("back.npy")).unwrap()
    );
}

/// `.npy`, `.npz` member, joblib array, Zarr v2 and v3 stores and npy-stacks convert
/// into one another, and every chain back to `.npy` gives the original bytes.
#[test]
fn every_container_converts_to_every_other_and_back_byte_identically() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    npmap::save_npy(d.join("X.npy"), &sample()).unwrap();
    let original = std::fs::read(d.join("X.npy")).unwrap();
    ok(&npmap(d, &["convert", "X.npy", "X.npz"]));
    ok(&npmap(d, &["convert", "X.npy", "X.joblib"]));
    let sources = ["X.npz:X", "X.joblib:X"];
    for (i, source) in sources.iter().enumerate() {
        let v2 = format!("s{i}.zarr");
        ok(&npmap(
            d,
            &[
                "convert",
                source,
                &v2,
                "--zarr-format",
                "2",
                "--chunks",
                "333,7",
            ],
        ));
        let stack = format!("s{i}.stack");
        ok(&npmap(
            d,
            &["convert", &v2, &stack, "--npy-stack", "--block-rows", "250"],
        ));
        let v3 = format!("s{i}.v3.zarr");
        ok(&npmap(
            d,
            &["convert", &stack, &v3, "--compression", "zstd"],
        ));
        let back = format!("back{i}.npy");
        ok(&npmap(d, &["convert", &v3, &back]));
        assert_eq!(std::fs::read(d.join(&back)).unwrap(), original, "{source}");
        let back = format!("back{i}_stack.npy");
        ok(&npmap(d, &["convert", &stack, &back]));
        assert_eq!(std::fs::read(d.join(&back)).unwrap(), original, "{source}");
    }
}

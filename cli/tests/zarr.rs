//! `npmap convert/info/stats/head` on Zarr stores: npy -> zarr -> npy byte for byte,
//! the store described, statistics chunk by chunk equal to the library's over the .npy.

mod common;

use common::{npmap, ok, sample};

use npmap::ParStats;
use npmap::ndarray::{Array2, Axis};

#[test]
fn zarr_convert_round_trips_byte_identical_and_stats_match_the_npy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = sample();
    npmap::save_npy(d.join("X.npy"), &x).unwrap();
    for (store, extra) in [
        (
            "X3.zarr",
            vec![
                "--compression",
                "zstd",
                "--dimension-names",
                "sample,feature",
            ],
        ),
        (
            "X2.zarr",
            vec!["--zarr-format", "2", "--compression", "gzip"],
        ),
        ("Xraw.zarr", vec![]),
    ] {
        let mut args = vec!["convert", "X.npy", store, "--chunks", "300,4"];
        args.extend(extra.iter().copied());
        assert_eq!(ok(&npmap(d, &args)), format!("wrote {store}\n"));
        let info = ok(&npmap(d, &["info", store]));
        assert!(info.contains("dtype      <f8 (float64)"), "{info}");
        assert!(info.contains("shape      (1000, 7)"), "{info}");
        assert!(
            info.contains("chunks     (300, 4) (8 chunks: (4, 2))"),
            "{info}"
        );
        match store {
            "X3.zarr" => {
                assert!(info.contains("format     Zarr v3"), "{info}");
                assert!(info.contains("codecs     bytes, zstd"), "{info}");
                assert!(
                    info.contains("zero-copy  no: compressed chunks are decoded"),
                    "{info}"
                );
                assert!(info.contains("dims       sample, feature"), "{info}");
            }
            "X2.zarr" => {
                assert!(info.contains("format     Zarr v2"), "{info}");
                assert!(info.contains("codecs     gzip"), "{info}");
            }
            _ => {
                assert!(info.contains("codecs     bytes\n"), "{info}");
                assert!(
                    info.contains("zero-copy  yes (raw chunks, mapped)"),
                    "{info}"
                );
            }
        }
        // Back to .npy: the same bytes as the original.
        let back = format!("{store}.npy");
        ok(&npmap(d, &["convert", store, &back]));
        assert_eq!(
            std::fs::read(d.join("X.npy")).unwrap(),
            std::fs::read(d.join(&back)).unwrap(),
            "{store}"
        );
        // Per-column statistics, chunk by chunk, equal to the library's over the array.
        let report: serde_json::Value =
            serde_json::from_str(&ok(&npmap(d, &["stats", store, "--axis", "0", "--json"])))
                .unwrap();
        let expected = x.par_moments_axis(Axis(0));
        for (j, m) in expected.iter().enumerate() {
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
                    "{store} column {j} {key}: {v} vs {want}"
                );
            }
        }
        let whole: serde_json::Value =
            serde_json::from_str(&ok(&npmap(d, &["stats", store, "--json"]))).unwrap();
        let m = x.par_moments();
        assert_eq!(whole["stats"]["count"], 7000);
        assert!(
            (whole["stats"]["mean"].as_f64().unwrap() - m.mean()).abs() <= 1e-12 * m.mean().abs()
        );
    }
    // head prints the store as NumPy prints the array.
    let head = ok(&npmap(d, &["head", "X3.zarr", "-n", "1"]));
    assert_eq!(head, ok(&npmap(d, &["head", "X.npy", "-n", "1"])));
}

#[test]
fn zarr_default_chunks_are_about_32_mib_of_whole_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 600 000 rows of 8 float64: 38.4 MB; 32 MiB holds 524 288 of those rows.
    let x = Array2::from_shape_fn((600_000, 8), |(i, j)| (i + j) as f64);
    npmap::save_npy(d.join("big.npy"), &x).unwrap();
    ok(&npmap(d, &["convert", "big.npy", "big.zarr"]));
    let info = ok(&npmap(d, &["info", "big.zarr"]));
    assert!(
        info.contains("chunks     (524288, 8) (2 chunks: (2, 1))"),
        "{info}"
    );
    // A small array is one chunk.
    npmap::save_npy(d.join("small.npy"), &sample()).unwrap();
    ok(&npmap(d, &["convert", "small.npy", "small.zarr"]));
    let info = ok(&npmap(d, &["info", "small.zarr"]));
    assert!(
        info.contains("chunks     (1000, 7) (1 chunks: (1, 1))"),
        "{info}"
    );
    // Converting again replaces the store.
    ok(&npmap(
        d,
        &["convert", "big.npy", "small.zarr", "--chunks", "100000,8"],
    ));
    let info = ok(&npmap(d, &["info", "small.zarr"]));
    assert!(info.contains("shape      (600000, 8)"), "{info}");
}

#[test]
fn zarr_usage_and_store_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    npmap::save_npy(d.join("X.npy"), &sample()).unwrap();
    let o = npmap(d, &["convert", "X.npy", "Y.npz", "--chunks", "10,7"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("--chunks and --dimension-names are for a .zarr output")
    );
    let o = npmap(d, &["convert", "X.npy", "Y.zarr", "--chunks", "10"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains("Y.zarr: Zarr: chunk shape [10] does not fit the array of shape [1000, 7]"),
        "{err}"
    );
    std::fs::create_dir(d.join("empty.zarr")).unwrap();
    let o = npmap(d, &["stats", "empty.zarr"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.starts_with("npmap: empty.zarr: Zarr: expected an array's metadata"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn zarr_stats_skipna_reduces_the_store_as_the_npy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut x = sample();
    x[[3, 1]] = f64::NAN;
    x[[700, 1]] = f64::NAN;
    npmap::save_npy(d.join("N.npy"), &x).unwrap();
    ok(&npmap(
        d,
        &[
            "convert",
            "N.npy",
            "N.zarr",
            "--chunks",
            "128,7",
            "--compression",
            "gzip",
        ],
    ));
    let of = |source: &str| -> serde_json::Value {
        serde_json::from_str(&ok(&npmap(
            d,
            &["stats", source, "--axis", "0", "--skipna", "--json"],
        )))
        .unwrap()
    };
    let (store, npy) = (of("N.zarr"), of("N.npy"));
    assert_eq!(store["stats"][1]["count"], 998);
    for j in 0..7 {
        let (a, b) = (&store["stats"][j], &npy["stats"][j]);
        assert_eq!(a["count"], b["count"]);
        for key in ["mean", "std"] {
            let (a, b) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "column {j} {key}: {a} vs {b}"
            );
        }
    }
}

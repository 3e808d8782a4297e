//! The `npmap` binary on fixtures: output values and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use npmap::ndarray;

/// The repository root, where `fixtures/` lives: the binary runs there, so the
/// paths below are the ones a user types from a checkout.
fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn npmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npmap"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("the npmap binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn info_describes_header_layout_and_zero_copy() {
    let o = npmap(&[
        "info",
        "fixtures/npy/f4_le_c_2d.npy",
        "fixtures/npy/f8_be_f_3d.npy",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("dtype      <f4 (float32)"), "{text}");
    assert!(text.contains("shape      (3, 4)"), "{text}");
    assert!(text.contains("data       offset 128, 48 bytes"), "{text}");
    assert!(text.contains("zero-copy  yes"), "{text}");
    assert!(text.contains("dtype      >f8 (float64)"), "{text}");
    assert!(
        text.contains("zero-copy  no: non-native byte order"),
        "{text}"
    );
}

#[test]
fn info_lists_npz_members_and_their_mappability() {
    let o = npmap(&["info", "fixtures/npz/keywords.npz"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("format     .npz, 10 members"), "{text}");
    assert!(
        text.contains("X_train: <f4 (float32) (7, 5) C, stored"),
        "{text}"
    );
    assert!(
        text.contains("map: no (data at byte 189 is unaligned"),
        "{text}"
    );
    assert!(text.contains("fortran: <f8 (float64) (3, 4) F"), "{text}");
}

#[test]
fn head_prints_like_numpy() {
    // print(np.load(f)[:n]) in NumPy 2.4.
    let o = npmap(&["head", "fixtures/npy/f4_le_c_2d.npy", "-n", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "[[-4.  -2.5 -1.   0.5]\n [ 2.   3.5  5.   6.5]]\n"
    );
    let o = npmap(&["head", "fixtures/npy/i4_be_1d.npy", "-n", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "[-2147483648 -2147483647   -16909060]\n");
    let o = npmap(&["head", "fixtures/npy/f4_le_c_2d.npy", "-n", "0"]);
    assert_eq!(stdout(&o), "[]\n");
}

/// The corpus NumPy printed (fixtures/print/manifest.json, made by
/// fixtures/make_print_fixtures.py): `npmap head FILE -n N` writes that text and a newline.
#[test]
fn head_prints_corpus_arrays_exactly_as_numpy_does() {
    let manifest = repo_root().join("fixtures/print/manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("fixtures/print/manifest.json");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let wanted = [
        "f4_random_bits",
        "f2_random_bits",
        "f8_3d_be",
        "i2_4d_f",
        "f8_nonfinite",
        "c8_2d_be",
        "U_escapes_be",
        "S_escapes",
        "M8_ns_be",
        "m8_D_2d_be",
        "rec_2d_f",
        "rec_mixed_0d",
        "rec_big_subarray",
        "empty_rows_n0",
        "empty_huge_axis",
        "sum_f8_3d_be_f",
        "sum_U",
        "f8_0d_big",
        "c16_0d_negzero_re",
        "V_2d",
    ];
    let mut checked = 0;
    for entry in &entries {
        let file = entry["file"].as_str().unwrap();
        let stem = file.trim_start_matches("print/").trim_end_matches(".npy");
        if !wanted.contains(&stem) {
            continue;
        }
        let n = entry["n"].as_u64().unwrap().to_string();
        let o = npmap(&["head", &format!("fixtures/{file}"), "-n", &n]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let expected = format!("{}\n", entry["expected"].as_str().unwrap());
        assert_eq!(stdout(&o), expected, "npmap head {file} -n {n}");
        checked += 1;
    }
    assert_eq!(checked, wanted.len(), "every file named is in the corpus");
}

#[test]
fn stats_match_numpy_whole_and_per_column() {
    // fixtures/npy/f4_le_c_2d.npy is np.arange(-4, 13.9, 1.5).reshape(3, 4) as float32.
    let o = npmap(&["stats", "fixtures/npy/f4_le_c_2d.npy", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["stats"]["count"], 12);
    assert_eq!(v["stats"]["sum"], 51.0);
    assert_eq!(v["stats"]["mean"], 4.25);
    assert!((v["stats"]["std"].as_f64().unwrap() - 5.178_078_794_301_995).abs() < 1e-12);
    assert_eq!(v["stats"]["min"], -4.0);
    assert_eq!(v["stats"]["max"], 12.5);

    let o = npmap(&[
        "stats",
        "fixtures/npy/f4_le_c_2d.npy",
        "--axis",
        "0",
        "--ddof",
        "1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let means: Vec<f64> = v["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mean"].as_f64().unwrap())
        .collect();
    let stds: Vec<f64> = v["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["std"].as_f64().unwrap())
        .collect();
    assert_eq!(means, [2.0, 3.5, 5.0, 6.5]);
    assert_eq!(stds, [6.0, 6.0, 6.0, 6.0]);
}

#[test]
fn stats_read_npz_members() {
    let o = npmap(&["stats", "fixtures/npz/keywords.npz:y_train", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("fixtures/npz/manifest.json")).unwrap(),
    )
    .unwrap();
    let text = manifest.to_string();
    assert!(text.contains("y_train"), "manifest lists y_train");
    assert_eq!(v["dtype"], "<i8");
    assert_eq!(v["stats"]["count"], 7);
}

#[test]
fn create_then_convert_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.npy");
    let o = npmap(&[
        "create",
        f.to_str().unwrap(),
        "--dtype",
        "i2",
        "--shape",
        "3,4",
        "--order",
        "F",
        "--fill",
        "range",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a: ndarray::Array2<i16> = npmap::read_npy(&f).unwrap();
    assert_eq!(
        a,
        ndarray::Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as i16)
    );
    assert!(npmap::read_npy_header(&f).unwrap().fortran_order);
    let c: PathBuf = dir.path().join("c.npy");
    let o = npmap(&[
        "convert",
        f.to_str().unwrap(),
        c.to_str().unwrap(),
        "--c-order",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let h = npmap::read_npy_header(&c).unwrap();
    assert!(!h.fortran_order);
    assert_eq!(npmap::read_npy::<i16, ndarray::Ix2>(&c).unwrap(), a);
}

#[test]
fn errors_are_one_line_with_status_1_and_usage_errors_2() {
    let o = npmap(&["info", "fixtures/malformed/bad_magic_text_file.npy"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("npmap: ")
            && err.contains("bad_magic_text_file.npy: not a NumPy .npy file"),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    let o = npmap(&["stats", "fixtures/npy/S5_1d.npy"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("'|S5' (bytes40) is not one"),
        "{}",
        stderr(&o)
    );

    let o = npmap(&["head"]);
    assert_eq!(o.status.code(), Some(2));
    let o = npmap(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn demo_runs_end_to_end_on_a_small_array() {
    let dir = tempfile::tempdir().unwrap();
    let o = npmap(&[
        "demo",
        "--rows",
        "2000",
        "--cols",
        "7",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("last column equal after reopening: true"),
        "{text}"
    );
    assert!(text.contains("mapping B reads 123.5"), "{text}");
    assert!(
        text.contains("a second process (npmap peek) reads 123.5"),
        "{text}"
    );
    assert!(text.contains("equal to what was saved: true"), "{text}");
    assert!(text.contains("X_train mapped zero-copy"), "{text}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the demo cleans up"
    );
}

#[test]
fn demo_speaks_to_a_data_scientist() {
    let dir = tempfile::tempdir().unwrap();
    let o = npmap(&[
        "demo",
        "--rows",
        "2000",
        "--cols",
        "7",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    // Written for a data scientist: y is explained where it appears, the columns shown
    // are labelled, a max below 1 shows as such, page cache is not called heap, and the
    // end says how to keep the files.
    assert!(text.contains("y_train: one int64 label per row, 1 where the last column is above 0.5, else 0 (y = (seed[:, -1] > 0.5).astype(np.int64))"), "{text}");
    let labels = text
        .lines()
        .find(|l| l.starts_with("reloaded mapped: "))
        .unwrap();
    let ones: u64 = labels
        .split(" with ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        labels.contains(&format!(
            "with {ones} labels 1 and {} labels 0",
            2000 - ones
        )),
        "{labels}"
    );
    assert!(text.contains("per column: all 7 columns in "), "{text}");
    assert!(text.contains("; the first 3 of 7:\n  column 0: "), "{text}");
    for line in text.lines().filter(|l| l.starts_with("  column ")) {
        let max: f32 = line.rsplit("max ").next().unwrap().parse().unwrap();
        assert!(max < 1.0 && max.to_string() != "1", "{line}");
    }
    assert!(
        text.contains("\"mapped file pages\" are not heap: they are the OS page cache"),
        "{text}"
    );
    assert!(text.ends_with("== next\nthe files were deleted. To keep seed.npy, X_train.npy, y_train.npy, train.npz in the current folder, for the commands of the README (npmap info X_train.npy train.npz, ...), run:\n  npmap demo --keep --dir .        (in a checkout: cargo run --release -- demo --keep --dir .)\n"), "{text}");

    let o = npmap(&[
        "demo",
        "--rows",
        "100",
        "--cols",
        "3",
        "--dir",
        dir.path().to_str().unwrap(),
        "--keep",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).ends_with(&format!("kept seed.npy, X_train.npy, y_train.npy, train.npz in {}; try:\n  cd {}\n  npmap info X_train.npy train.npz\n  npmap head X_train.npy -n 3\n  npmap stats train.npz:y_train\n", dir.path().display(), dir.path().display())), "{}", stdout(&o));
    let mut kept: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        ["X_train.npy", "seed.npy", "train.npz", "y_train.npy"]
    );
}

#[test]
fn head_prints_structured_rows_like_numpy() {
    // print(np.load('fixtures/struct/people.npy')) in NumPy 2.4.
    let o = npmap(&["head", "fixtures/struct/people.npy"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "[('Alice', 25, 55.5) ('Bob', 30, 75. )]\n");
    let o = npmap(&["head", "fixtures/struct/scores.npy"]);
    assert_eq!(
        stdout(&o),
        "[(7,  0.5 , [1., 2.]) (8,  0.25, [3., 4.]) (9, -1.  , [5., 6.])]\n"
    );
    let o = npmap(&["head", "fixtures/struct/fortran_2d.npy"]);
    assert_eq!(
        stdout(&o),
        "[[(0, 0. ) (1, 0.5) (2, 1. )]\n [(3, 1.5) (4, 2. ) (5, 2.5)]]\n"
    );
    let o = npmap(&["head", "fixtures/struct/nested.npy", "-n", "2"]);
    assert_eq!(
        stdout(&o),
        "[(1, (0.5, [ 1, -1]), 10.) (2, (1.5, [ 2, -2]), 20.)]\n"
    );
}

#[test]
fn head_prints_strings_and_datetimes() {
    let o = npmap(&["head", "fixtures/struct/U_nonascii.npy", "-n", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "['héllo' '' '日本語']\n");
    let o = npmap(&["head", "fixtures/struct/S_1d.npy"]);
    assert_eq!(stdout(&o), "[b'' b'ab' b'\\x00x' b'max!!']\n");
    let o = npmap(&["head", "fixtures/struct/M8ns_be.npy", "-n", "2"]);
    assert_eq!(
        stdout(&o),
        "['2024-01-01T00:00:00.000000001'                           'NaT']\n"
    );
    let o = npmap(&["head", "fixtures/struct/events.npy", "-n", "1"]);
    assert_eq!(
        stdout(&o),
        "[('2000-01-01T00:00:00.000', b'abcd',  True)]\n"
    );
}

#[test]
fn stats_report_each_numeric_field_of_a_structured_array() {
    let o = npmap(&["stats", "fixtures/struct/people.npy", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let fields = v["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 2, "'name' is not numeric");
    assert_eq!(fields[0]["field"], "age");
    assert_eq!(fields[0]["mean"], 27.5);
    assert_eq!(fields[0]["std"], 2.5);
    assert_eq!(fields[1]["field"], "weight");
    assert_eq!(fields[1]["min"], 55.5);
    assert_eq!(fields[1]["max"], 75.0);

    let o = npmap(&["stats", "fixtures/struct/nested.npy"]);
    let text = stdout(&o);
    let row = text
        .lines()
        .find(|l| l.starts_with("inner.z"))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..4], ["inner.z", "int16", "6", "0"], "{text}");

    let o = npmap(&[
        "stats",
        "fixtures/struct/subarray.npy",
        "--field",
        "m",
        "--axis",
        "0",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["field"], "m");
    let means: Vec<f64> = v["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mean"].as_f64().unwrap())
        .collect();
    assert_eq!(means, [-2.0, -1.0, 0.0, 1.0]);

    let o = npmap(&["stats", "fixtures/struct/people.npy", "--field", "height"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no field 'height'; fields are name, age, weight"),
        "{}",
        stderr(&o)
    );
    let o = npmap(&["stats", "fixtures/npy/f4_le_1d.npy", "--field", "x"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn create_random_fills_are_seeded_and_floats_only() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("u.npy");
    let o = npmap(&[
        "create",
        f.to_str().unwrap(),
        "--dtype",
        "f8",
        "--shape",
        "50,3",
        "--fill",
        "random",
        "--seed",
        "9",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a: ndarray::Array2<f64> = npmap::read_npy(&f).unwrap();
    for ((i, j), &v) in a.indexed_iter() {
        assert_eq!(v, npmap::uniform_at(9, (i * 3 + j) as u64));
    }
    let n = dir.path().join("n.npy");
    let o = npmap(&[
        "create",
        n.to_str().unwrap(),
        "--dtype",
        "f8",
        "--shape",
        "4",
        "--fill",
        "normal",
        "--seed",
        "9",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let z: ndarray::Array1<f64> = npmap::read_npy(&n).unwrap();
    assert_eq!(
        z.to_vec(),
        (0..4).map(|i| npmap::normal_at(9, i)).collect::<Vec<_>>()
    );
    let bad = dir.path().join("i.npy");
    let o = npmap(&[
        "create",
        bad.to_str().unwrap(),
        "--dtype",
        "i4",
        "--shape",
        "4",
        "--fill",
        "random",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs a float dtype"), "{}", stderr(&o));
    assert!(!bad.exists(), "a refused create leaves no file");
}

/// `stats` is the library's reduction: the JSON numbers are `par_moments`'s, bit for
/// bit (shortest round-trip decimals parse back exactly), whole and per axis.
#[test]
fn stats_print_the_librarys_bits_with_numpys_axis_convention() {
    use npmap::ParStats;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.npy");
    let m = ndarray::Array2::from_shape_fn((257, 5), |(i, j)| {
        ((i * 37 + j * 11) % 97) as f32 * 0.013 + 1e4
    });
    npmap::save_npy(&f, &m).unwrap();
    let path = f.to_str().unwrap();

    let o = npmap(&["stats", path, "--json", "--ddof", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let whole = m.par_moments();
    assert_eq!(
        v["stats"]["mean"].as_f64().unwrap().to_bits(),
        whole.mean().to_bits()
    );
    assert_eq!(
        v["stats"]["std"].as_f64().unwrap().to_bits(),
        whole.std(1).to_bits()
    );
    assert_eq!(
        v["stats"]["sum"].as_f64().unwrap().to_bits(),
        whole.sum().to_bits()
    );

    // --axis -1 is the last axis, as NumPy's; the table has a sum column.
    let o = npmap(&["stats", path, "--json", "--axis", "-1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["axis"], 1);
    let rows = m.par_moments_axis(ndarray::Axis(1));
    let stats = v["stats"].as_array().unwrap();
    assert_eq!(stats.len(), 257);
    for (s, r) in stats.iter().zip(rows.iter()) {
        assert_eq!(s["mean"].as_f64().unwrap().to_bits(), r.mean().to_bits());
        assert_eq!(s["max"].as_f64().unwrap(), r.max());
    }
    let o = npmap(&["stats", path, "--axis", "0"]);
    let table = stdout(&o);
    let header = table.lines().nth(1).unwrap();
    assert!(
        header.split_whitespace().collect::<Vec<_>>()[..4] == ["index", "count", "sum", "mean"],
        "{header}"
    );

    let o = npmap(&["stats", path, "--axis", "-3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("axis -3 is out of bounds for an array of dimension 2"),
        "{}",
        stderr(&o)
    );
}

/// `--skipna` gives the library's NaN-skipping moments; JSON writes NaN as null.
#[test]
fn stats_skipna_and_nan_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("nan.npy");
    npmap::save_npy(&f, &ndarray::arr1(&[1.0f64, f64::NAN, 5.0, 6.0])).unwrap();
    let path = f.to_str().unwrap();
    let o = npmap(&["stats", path, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["stats"]["count"], 4);
    assert!(v["stats"]["mean"].is_null() && v["stats"]["max"].is_null());
    let o = npmap(&["stats", path, "--json", "--skipna"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["skipna"], true);
    assert_eq!(v["stats"]["count"], 3);
    assert_eq!(v["stats"]["mean"], 4.0);
    assert_eq!(v["stats"]["min"], 1.0);
    assert_eq!(v["stats"]["max"], 6.0);
}

/// `create --fill` on a full disk fails with a one-line error and leaves no file (it
/// used to die of SIGBUS half-way with a valid header at the path). Needs root for a
/// small tmpfs; elsewhere the test says it was skipped.
#[test]
fn create_with_a_fill_on_a_full_disk_is_an_error_not_a_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(dir.path())
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "full-disk create test skipped: cannot mount a tmpfs (not root?)"
        );
        return;
    }
    let target = dir.path().join("x.npy");
    let o = npmap(&[
        "create",
        target.to_str().unwrap(),
        "--dtype",
        "f8",
        "--shape",
        "1000,1000",
        "--fill",
        "range",
    ]);
    let leftover: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    let _ = Command::new("umount").arg(dir.path()).status();
    assert_eq!(
        o.status.code(),
        Some(1),
        "status {:?}, stderr {}",
        o.status,
        stderr(&o)
    );
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("npmap: {}: ", target.display())),
        "{err}"
    );
    assert!(!err.contains(".x.npy"), "names the temporary file: {err}");
    assert!(leftover.is_empty(), "left behind: {leftover:?}");
}

/// `info` on a raw file too short for its shape exits 1 naming the sizes; on a
/// pickle (a joblib dump) it says what the file is.
#[test]
fn info_fails_on_short_raw_files_and_names_pickles() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("short.dat");
    std::fs::write(&raw, [0u8; 10]).unwrap();
    let o = npmap(&[
        "info",
        raw.to_str().unwrap(),
        "--dtype",
        "<f4",
        "--shape",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "npmap: {}: file is truncated: array data needs 12 bytes from byte 0, found 10\n",
            raw.display()
        )
    );
    let o = npmap(&[
        "info",
        raw.to_str().unwrap(),
        "--dtype",
        "<f4",
        "--shape",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("format     raw (no header), as np.memmap(FILE, dtype='<f4', mode='r', offset=0, shape=(2,), order='C')"),
        "{}",
        stdout(&o)
    );

    // Protocol-4 pickle of a small dict, as Python writes it (the bytes of
    // pickle.dumps({'a': 1}, protocol=4)).
    let pickle = dir.path().join("model.joblib");
    std::fs::write(
        &pickle,
        b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.",
    )
    .unwrap();
    // Named as a joblib dump, it is read as one (never run).
    let o = npmap(&["info", pickle.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("  root       dict: a\n"),
        "{}",
        stdout(&o)
    );
    // Under another name it is taken for a .npy, and the error says what it is.
    let renamed = dir.path().join("model.bin");
    std::fs::rename(&pickle, &renamed).unwrap();
    let o = npmap(&["info", renamed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("this is a Python pickle, e.g. a joblib.dump file, not .npy"),
        "{}",
        stderr(&o)
    );
}

/// `convert` writes what the output's extension says, and a conversion with nothing to
/// do is a usage error (exit 2).
#[test]
fn convert_follows_the_output_extension_and_refuses_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x.npy");
    let a = ndarray::arr2(&[[1i32, 2, 3], [4, 5, 6]]);
    npmap::save_npy(&input, &a.t()).unwrap(); // Fortran order on disk
    let out = dir.path().join("out.npz");
    let o = npmap(&["convert", input.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let z = npmap::NpzReader::open(&out).unwrap();
    assert_eq!(z.names(), ["x"]);
    let back: ndarray::Array2<i32> = z.read("x").unwrap();
    assert_eq!(back, a.t());

    let o = npmap(&[
        "convert",
        input.to_str().unwrap(),
        dir.path().join("y.npy").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to do"), "{}", stderr(&o));
    assert!(!dir.path().join("y.npy").exists());
}

/// Every command takes `ARCHIVE.npz:MEMBER`; the text is NumPy's
/// (`print(np.load('keywords.npz')[name][:n])`, NumPy 2.4).
#[test]
fn every_command_takes_an_npz_member() {
    let o = npmap(&["head", "fixtures/npz/keywords.npz:X_train", "-n", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "[[ 0.6479062   0.4693208  -0.64302063 -1.1782587  -0.14469041]\n \
         [ 1.2034584   1.3335838   0.9083014   0.34656444  1.6000347 ]]\n"
    );
    // A big-endian member and a Fortran-order one print their values, as NumPy does.
    let o = npmap(&["head", "fixtures/npz/keywords.npz:big_endian", "-n", "2"]);
    assert_eq!(stdout(&o), "[[-3 -2 -1]\n [ 0  1  2]]\n", "{}", stderr(&o));
    let o = npmap(&["head", "fixtures/npz/keywords.npz:fortran", "-n", "2"]);
    assert_eq!(
        stdout(&o),
        "[[0.    0.125 0.25  0.375]\n [0.5   0.625 0.75  0.875]]\n",
        "{}",
        stderr(&o)
    );
    let o = npmap(&["info", "fixtures/npz/keywords.npz:fortran"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("fixtures/npz/keywords.npz:fortran\n  format     .npz member, .npy 1.0\n"),
        "{text}"
    );
    assert!(
        text.contains("  shape      (3, 4)\n  order      F (Fortran)\n"),
        "{text}"
    );
    assert!(
        text.contains("  zero-copy  yes (stored, aligned)"),
        "{text}"
    );
    let o = npmap(&["head", "fixtures/npz/keywords.npz:nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("keywords.npz"), "{}", stderr(&o));
}

/// A bare archive where one array is needed asks which member, naming them all;
/// `info` lists them.
#[test]
fn a_bare_npz_asks_which_member() {
    let members =
        "X_train, y_train, mask, fortran, big_endian, special, empty, scalar, complex, u8";
    for command in [
        &["head", "fixtures/npz/keywords.npz"][..],
        &["stats", "fixtures/npz/keywords.npz"],
        &[
            "convert",
            "fixtures/npz/keywords.npz",
            "never.npy",
            "--native",
        ],
    ] {
        let o = npmap(command);
        assert_eq!(o.status.code(), Some(1), "{command:?}");
        assert_eq!(
            stderr(&o),
            format!(
                "npmap: fixtures/npz/keywords.npz: which member? the archive holds {members}; \
                 name one as fixtures/npz/keywords.npz:X_train\n"
            ),
            "{command:?}"
        );
    }
    assert!(!repo_root().join("never.npy").exists());
    let o = npmap(&["info", "fixtures/npz/keywords.npz"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("format     .npz, 10 members"));
}

/// A raw file: 16 bytes of prefix, then 12 float32 values -1.5, -1.25, ..., 1.25.
fn raw_file(dir: &Path, tail: &[u8]) -> PathBuf {
    let path = dir.join("r.dat");
    let mut bytes = vec![0xffu8; 16];
    for k in 0..12 {
        bytes.extend((k as f32 * 0.25 - 1.5).to_ne_bytes());
    }
    bytes.extend(tail);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Raw files read as `np.memmap(FILE, dtype, mode='r', offset, shape, order)`: the
/// texts are NumPy's `print(m[:n])`, the length is inferred without a shape.
#[test]
fn raw_files_read_as_np_memmap_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_file(dir.path(), &[]);
    let r = raw.to_str().unwrap();
    let o = npmap(&[
        "head", r, "--dtype", "f4", "--offset", "16", "--shape", "3,4", "--order", "F", "-n", "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "[[-1.5  -0.75  0.    0.75]\n [-1.25 -0.5   0.25  1.  ]]\n"
    );
    let o = npmap(&["head", r, "--dtype", "float32", "--offset", "16"]);
    assert_eq!(
        stdout(&o),
        "[-1.5  -1.25 -1.   -0.75 -0.5 ]\n",
        "{}",
        stderr(&o)
    );
    let o = npmap(&["head", r, "--dtype", "<u2", "--offset", "16", "-n", "3"]);
    assert_eq!(stdout(&o), "[    0 49088     0]\n", "{}", stderr(&o));

    let o = npmap(&["info", r, "--dtype", "f4", "--offset", "16"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("shape      (12,)\n"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("data       offset 16, 48 bytes"),
        "{}",
        stdout(&o)
    );

    let o = npmap(&["stats", r, "--dtype", "f4", "--offset", "16", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["shape"], serde_json::json!([12]));
    assert_eq!(v["stats"]["count"], 12);
    assert_eq!(v["stats"]["sum"], -1.5); // float(m.sum())
    assert_eq!(v["stats"]["mean"], -0.125);

    let out = dir.path().join("r.npy");
    let o = npmap(&[
        "convert",
        r,
        out.to_str().unwrap(),
        "--dtype",
        "f4",
        "--offset",
        "16",
        "--shape",
        "3,4",
        "--order",
        "F",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let back: ndarray::Array2<f32> = npmap::read_npy(&out).unwrap();
    assert_eq!(back.row(0).to_vec(), [-1.5, -0.75, 0.0, 0.75]);
    assert!(npmap::read_npy_header(&out).unwrap().fortran_order);
}

/// Without a shape the size must divide into items; the error says file, size,
/// offset and item size. Non-native raw data is refused by name, not misread.
#[test]
fn raw_files_that_do_not_divide_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_file(dir.path(), &[1, 2]);
    let r = raw.to_str().unwrap();
    for command in ["head", "stats", "info"] {
        let o = npmap(&[command, r, "--dtype", "f4", "--offset", "16"]);
        assert_eq!(o.status.code(), Some(1), "{command}");
        assert_eq!(
            stderr(&o),
            format!(
                "npmap: {r}: size 66 bytes minus offset 16 leaves 50 bytes, not a whole number \
                 of 4-byte '<f4' items (2 left over); give --shape, or another --offset\n"
            ),
            "{command}"
        );
    }
    let o = npmap(&["head", r, "--dtype", "f4", "--offset", "100"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("offset 100 is past the end of the file (66 bytes)"),
        "{}",
        stderr(&o)
    );
    let o = npmap(&["head", r, "--dtype", "f4", "--shape", "2", "--offset", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(r), "{}", stderr(&o));
    let o = npmap(&["head", r, "--shape", "2"]);
    assert_eq!(o.status.code(), Some(2), "--shape needs --dtype");
}

/// `create --dtype '>f4'` writes big-endian data (what `np.save` writes for
/// `np.asfortranarray(np.arange(6, dtype='>f4').reshape(2, 3))`); NumPy names work.
#[test]
fn create_honours_the_byte_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("be.npy");
    let p = path.to_str().unwrap();
    let o = npmap(&[
        "create", p, "--dtype", ">f4", "--shape", "2,3", "--order", "F", "--fill", "range",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&format!("created {p} >f4 (2, 3) (152 bytes) in ")),
        "{}",
        stdout(&o)
    );
    let bytes = std::fs::read(&path).unwrap();
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(
        header.starts_with("{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }"),
        "{header}"
    );
    let data: Vec<u8> = [0f32, 3.0, 1.0, 4.0, 2.0, 5.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    assert_eq!(bytes[128..], data[..]);
    let back: ndarray::Array2<f32> = npmap::read_npy(&path).unwrap();
    assert_eq!(back, ndarray::arr2(&[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]));
    // Swapped in 2-, 8- and (complex: per component) 8-byte units.
    let be = |values: &[f64], descr: &str| -> Vec<u8> {
        values
            .iter()
            .flat_map(|&v| match descr {
                ">i2" => (v as i16).to_be_bytes().to_vec(),
                ">f8" => v.to_be_bytes().to_vec(),
                _ => [v.to_be_bytes(), 0f64.to_be_bytes()].concat(),
            })
            .collect()
    };
    for descr in [">i2", ">f8", ">c16"] {
        let o = npmap(&[
            "create", p, "--dtype", descr, "--shape", "3", "--fill", "range",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let bytes = std::fs::read(&path).unwrap();
        let header = String::from_utf8_lossy(&bytes[10..128]);
        assert!(
            header.starts_with(&format!("{{'descr': '{descr}', ")),
            "{header}"
        );
        assert_eq!(bytes[128..], be(&[0.0, 1.0, 2.0], descr)[..], "{descr}");
    }

    let o = npmap(&[
        "create", p, "--dtype", ">c8", "--shape", "2", "--fill", "range",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bytes = std::fs::read(&path).unwrap();
    let data: Vec<u8> = [0f32, 0.0, 1.0, 0.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    assert_eq!(bytes[128..], data[..], "each component swapped on its own");

    let o = npmap(&["create", p, "--dtype", "float32", "--shape", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(npmap::read_npy_header(&path).unwrap().dtype.descr(), "<f4");
}

/// A shape too big says so with the dtype's item size; an error names the file
/// asked for, never the temporary file beside it, and leaves nothing behind.
#[test]
fn create_errors_name_the_target_and_the_real_item_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("y.npy");
    let p = path.to_str().unwrap();
    let o = npmap(&[
        "create",
        p,
        "--dtype",
        ">f8",
        "--shape",
        "10000000000,10000000000",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "npmap: {p}: shape [10000000000, 10000000000] with item size 8 overflows the address space\n"
        )
    );
    // The target is a directory: the rename of the finished temporary file fails.
    let target = dir.path().join("d.npy");
    std::fs::create_dir_all(target.join("sub")).unwrap();
    for fill in ["zeros", "random"] {
        let o = npmap(&[
            "create",
            target.to_str().unwrap(),
            "--dtype",
            "f4",
            "--shape",
            "3",
            "--fill",
            fill,
        ]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert_eq!(
            err,
            format!(
                "npmap: {}: rename temporary file: Is a directory (os error 21)\n",
                target.display()
            )
        );
    }
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["d.npy"], "no temporary file left");
    let o = npmap(&["create", p, "--dtype", "U3", "--shape", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!("npmap: {p}: create makes numeric arrays; dtype '<U3' (str96) is not one\n")
    );
    let o = npmap(&["create", p, "--dtype", "zz", "--shape", "2"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a dtype NumPy does not know is a usage error"
    );
    assert!(
        stderr(&o).starts_with("npmap: --dtype zz: not a NumPy dtype"),
        "{}",
        stderr(&o)
    );
}

/// The command lines of the README's "Command line" section, in order, as a user
/// types them from a checkout: each `cargo run --release -- ARGS` runs as `npmap ARGS`
/// in a fresh folder that has the checkout's `fixtures/`. One change of scale keeps
/// the test quick: the demo gets `--rows 1000`, and the shape `1000000,100` becomes
/// `1000,100` (the seed array's, and `create`'s).
#[test]
fn readme_command_lines_work_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = run_readme_lines(dir.path());
    let out = |prefix: &str| -> &str {
        let found = outputs.iter().find(|(c, _)| c.starts_with(prefix));
        &found
            .unwrap_or_else(|| panic!("no README line `{prefix}`"))
            .1
    };
    let at = |name: &str| dir.path().join(name);
    assert!(
        out("demo").contains("kept seed.npy, X_train.npy, y_train.npy, train.npz in .; try:\n")
    );
    let info = out("info X_train.npy train.npz");
    assert!(info.starts_with("X_train.npy\n  format     .npy 1.0\n  dtype      <f4 (float32)\n  shape      (1000, 99)\n"), "{info}");
    assert!(
        info.contains("\ntrain.npz\n  format     .npz, 2 members\n"),
        "{info}"
    );
    // SAFETY: read-only, nothing truncates the test's files.
    let x = unsafe { npmap::NpyFile::open(at("X_train.npy"), npmap::MmapMode::ReadOnly) }.unwrap();
    assert_eq!(
        out("head X_train.npy -n 3"),
        npmap::display::npy_text(&x, Some(3)).unwrap() + "\n"
    );
    let y: ndarray::Array1<i64> = npmap::read_npy(at("y_train.npy")).unwrap();
    let first: Vec<String> = y.iter().take(8).map(i64::to_string).collect();
    assert_eq!(
        out("head train.npz:y_train"),
        format!("[{}]\n", first.join(" "))
    );
    let per_column = out("stats X_train.npy --axis 0");
    assert!(
        per_column.starts_with("X_train.npy: float32 (1000, 99) — along axis 0 in "),
        "{per_column}"
    );
    assert_eq!(per_column.lines().count(), 2 + 99, "{per_column}");
    let v: serde_json::Value = serde_json::from_str(out("stats train.npz:y_train")).unwrap();
    assert_eq!(v["stats"]["count"], 1000);
    assert_eq!(v["stats"]["sum"], y.sum() as f64);
    // SAFETY: as above.
    let seed = unsafe { npmap::NpyFile::open(at("seed.npy"), npmap::MmapMode::ReadOnly) }.unwrap();
    assert_eq!(
        out("head seed.npy --dtype f4"),
        npmap::display::npy_text(&seed, Some(2)).unwrap() + "\n"
    );
    assert!(out("info seed.npy").contains("  shape      (100000,)\n"));
    assert!(out("create big.npy").starts_with("created big.npy >f4 (1000, 100) "));
    let big: ndarray::Array2<f32> = npmap::read_npy(at("big.npy")).unwrap();
    let native: ndarray::Array2<f32> = npmap::read_npy(at("native.npy")).unwrap();
    assert_eq!(
        npmap::read_npy_header(at("native.npy"))
            .unwrap()
            .dtype
            .descr(),
        "<f4"
    );
    assert_eq!(big, native);
    assert!(big.iter().all(|v| (0.0..1.0).contains(v)));
    assert_eq!(
        out("convert fixtures/npz/keywords.npz"),
        "wrote aligned.npz (stored, every member aligned to 64 bytes)\n"
    );
    assert_eq!(
        std::fs::read(at("X.npy")).unwrap(),
        std::fs::read(at("X_train.npy")).unwrap()
    );
    assert_eq!(npmap::NpzReader::open(at("X.npz")).unwrap().names(), ["X"]);
}

/// Runs the README's command lines in `dir` (see below); (arguments, stdout) of each.
fn run_readme_lines(dir: &Path) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = &readme[readme.find("## Command line").unwrap()..];
    let block = &section[section.find("```sh\n").unwrap() + 6..];
    let block = &block[..block.find("```").unwrap()];
    std::os::unix::fs::symlink(repo_root().join("fixtures"), dir.join("fixtures")).unwrap();
    let mut outputs = Vec::new();
    for line in block.lines() {
        let command = line
            .strip_prefix("cargo run --release -- ")
            .unwrap_or_else(|| panic!("{line}"));
        let command = command.split("  #").next().unwrap();
        let mut args: Vec<String> = command
            .split_whitespace()
            .map(|a| a.trim_matches('\'').replace("1000000,100", "1000,100"))
            .collect();
        if args[0] == "demo" {
            args.extend(["--rows".into(), "1000".into()]);
        }
        let o = Command::new(env!("CARGO_BIN_EXE_npmap"))
            .args(&args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{line}\n{}", stderr(&o));
        outputs.push((args.join(" "), stdout(&o)));
    }
    outputs
}

/// joblib dumps (fixtures/make_joblib_fixtures.py) in every command: `DUMP:KEY` reads
/// like the `.npy` NumPy saved of the same array, a bare dump asks which array (and
/// `info` lists them), and `convert` writes a dump.
#[test]
fn every_command_takes_a_joblib_key() {
    let dump = "fixtures/joblib/all_p4.joblib";
    for (key, npy) in [
        ("X", "X"),
        ("y_big_endian", "y_big_endian"),
        ("model.coef_", "model.coef_"),
    ] {
        let expected = npmap(&[
            "head",
            &format!("fixtures/joblib/all_p4/{npy}.npy"),
            "-n",
            "3",
        ]);
        let o = npmap(&["head", &format!("{dump}:{key}"), "-n", "3"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stdout(&o), stdout(&expected), "{key}");
        let expected = npmap(&[
            "stats",
            &format!("fixtures/joblib/all_p4/{npy}.npy"),
            "--json",
        ]);
        let o = npmap(&["stats", &format!("{dump}:{key}"), "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let stats = |o: &Output| {
            let v: serde_json::Value = serde_json::from_str(&stdout(o)).unwrap();
            (v["stats"].clone(), v["shape"].clone(), v["dtype"].clone())
        };
        assert_eq!(stats(&o), stats(&expected), "{key}");
    }
    let o = npmap(&["info", dump]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("  format     joblib dump (pickle, read without running it), 20 arrays\n"),
        "{text}"
    );
    assert!(
        text.contains("  X: <f4 (float32) (5, 4) C, data at byte "),
        "{text}"
    );
    assert!(
        text.contains("map: yes (mapped, aligned, native order)"),
        "{text}"
    );
    assert!(
        text.contains("  y_big_endian: >i8 (int64) (6,) C"),
        "{text}"
    );
    assert!(
        text.contains("map: no (non-native byte order; read copies)"),
        "{text}"
    );
    let o = npmap(&["info", "fixtures/joblib/sklearn_linear_regression.joblib"]);
    assert!(
        stdout(&o).contains("  root       sklearn.linear_model._base.LinearRegression object: "),
        "{}",
        stdout(&o)
    );
    let o = npmap(&["head", dump]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("which array? the dump holds X, X_fortran, "),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("name one as fixtures/joblib/all_p4.joblib:X"),
        "{}",
        stderr(&o)
    );
    let o = npmap(&["head", &format!("{dump}:nope")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no key 'nope'"), "{}", stderr(&o));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("X.joblib");
    let o = npmap(&[
        "convert",
        "fixtures/joblib/all_p4/X.npy",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = npmap::joblib::read(&out).unwrap();
    let back = d
        .get("X")
        .unwrap()
        .array()
        .unwrap()
        .to_owned::<f32, ndarray::Ix2>()
        .unwrap();
    let expected: ndarray::Array2<f32> =
        npmap::read_npy(repo_root().join("fixtures/joblib/all_p4/X.npy")).unwrap();
    assert_eq!(back, expected);
    // And back to .npy from the dump.
    let npy = dir.path().join("X.npy");
    let o = npmap(&[
        "convert",
        &format!("{}:X", out.display()),
        npy.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        npmap::read_npy::<f32, ndarray::Ix2>(&npy).unwrap(),
        expected
    );
}

/// Compressed joblib dumps (every compressor joblib has; fixtures/make_joblib_fixtures.py)
/// in `info`, `stats` and `convert`: decompressed into memory, they read like the
/// `.npy` NumPy saved of the same arrays.
#[test]
fn compressed_joblib_dumps_in_info_stats_and_convert() {
    let dir = tempfile::tempdir().unwrap();
    for compressor in ["lz4", "bz2", "xz", "lzma", "gzip", "zlib"] {
        let dump = format!("fixtures/joblib/{compressor}_mixed.joblib");
        let o = npmap(&["info", &dump]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.contains(&format!(
                "  compressed {compressor} (decompressed into memory"
            )),
            "{text}"
        );
        assert!(
            text.contains("  X_fortran: <f8 (float64) (4, 3) F, data at byte "),
            "{text}"
        );
        assert!(text.contains("  tiled: <u2 (uint16) (40000,) C"), "{text}");
        for key in ["X", "tiled", "y_big_endian"] {
            let npy = format!("fixtures/joblib/{compressor}_mixed/{key}.npy");
            let expected = npmap(&["stats", &npy, "--json"]);
            let o = npmap(&["stats", &format!("{dump}:{key}"), "--json"]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            let stats = |o: &Output| {
                let v: serde_json::Value = serde_json::from_str(&stdout(o)).unwrap();
                (v["stats"].clone(), v["shape"].clone(), v["dtype"].clone())
            };
            assert_eq!(stats(&o), stats(&expected), "{compressor}:{key}");
        }
        let out = dir.path().join(format!("{compressor}_X_fortran.npy"));
        let o = npmap(&[
            "convert",
            &format!("{dump}:X_fortran"),
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let got: ndarray::Array2<f64> = npmap::read_npy(&out).unwrap();
        let expected: ndarray::Array2<f64> = npmap::read_npy(
            repo_root().join(format!("fixtures/joblib/{compressor}_mixed/X_fortran.npy")),
        )
        .unwrap();
        assert_eq!(got, expected, "{compressor}");
    }
    // A corrupt stream is an error naming the compressor, exit code 1.
    let mut bad = std::fs::read(repo_root().join("fixtures/joblib/bz2_mixed.joblib")).unwrap();
    bad[40] ^= 0xff;
    let path = dir.path().join("bad.joblib");
    std::fs::write(&path, &bad).unwrap();
    let o = npmap(&["info", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the bz2 stream is corrupt"),
        "{}",
        stderr(&o)
    );
}

/// A `.npy` of `x` in big-endian order: saved natively, then its descr and every
/// item's bytes flipped (the header's length does not change).
fn save_big_endian_f32<D: ndarray::Dimension>(path: &Path, x: &ndarray::Array<f32, D>) {
    npmap::save_npy(path, x).unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let text = String::from_utf8(bytes[10..10 + header_len].to_vec()).unwrap();
    assert!(text.contains("'<f4'"), "{text}");
    bytes[10..10 + header_len].copy_from_slice(text.replace("'<f4'", "'>f4'").as_bytes());
    for item in bytes[10 + header_len..].chunks_exact_mut(4) {
        item.reverse();
    }
    std::fs::write(path, bytes).unwrap();
}

/// `npmap args` with its data segment (heap and private writable mappings, not the
/// file mappings) limited to `bytes`.
fn npmap_with_data_limit(args: &[&str], bytes: u64) -> Output {
    use std::os::unix::process::CommandExt;
    let mut limited = Command::new(env!("CARGO_BIN_EXE_npmap"));
    limited.args(args).current_dir(repo_root());
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // setrlimit, which is async-signal-safe; the limit is the child's alone.
    unsafe {
        limited.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            match libc::setrlimit(libc::RLIMIT_DATA, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        })
    };
    limited.output().expect("the npmap binary runs")
}

/// `convert --native` of a big-endian file bigger than a slab (8 MiB), in C and
/// Fortran order, under a data limit below the file's size: written slab by slab, the
/// output is byte for byte what `save_npy` (NumPy's format) writes of the array.
#[test]
fn convert_native_of_a_large_big_endian_file_goes_slab_by_slab() {
    let dir = tempfile::tempdir().unwrap();
    let c = ndarray::Array2::from_shape_fn((20_001, 250), |(i, j)| (i * 250 + j) as f32 * 0.5);
    let f = c.t().as_standard_layout().into_owned().reversed_axes();
    for (name, x) in [("c", c), ("f", f)] {
        let input = dir.path().join(format!("{name}_be.npy"));
        save_big_endian_f32(&input, &x);
        let output = dir.path().join(format!("{name}_native.npy"));
        let o = npmap_with_data_limit(
            &[
                "convert",
                input.to_str().unwrap(),
                output.to_str().unwrap(),
                "--native",
            ],
            18 << 20,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let expected = dir.path().join(format!("{name}_expected.npy"));
        npmap::save_npy(&expected, &x).unwrap();
        assert!(
            std::fs::read(&output).unwrap() == std::fs::read(&expected).unwrap(),
            "{name}: the converted file differs from save_npy's"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// A big-endian file bigger than a slab (8 MiB) is converted a slab at a time, in C
/// and Fortran order (the whole-array run under a data limit below the file's size, so
/// a whole copy would fail): lanes that lie within a slab give the one-pass bits; whole-array
/// moments and those along the outer axis, merged over slabs, agree with one pass to
/// rounding (the f32 kernels sum groups of 8 in f32: about 1e-9 of the magnitude).
#[test]
fn stats_of_a_large_big_endian_file_go_slab_by_slab_and_match_one_pass() {
    use npmap::ParStats;
    let dir = tempfile::tempdir().unwrap();
    let c = ndarray::Array2::from_shape_fn((20_001, 250), |(i, j)| {
        ((i * 31 + j * 7) % 1013) as f32 * 0.25 - 100.0 + j as f32
    });
    // The same values in Fortran order.
    let f = c.t().as_standard_layout().into_owned().reversed_axes();
    for (name, x) in [("c", c.clone()), ("f", f)] {
        assert_eq!(x.is_standard_layout(), name == "c");
        let path = dir.path().join(format!("{name}.npy"));
        save_big_endian_f32(&path, &x);
        let path = path.to_str().unwrap();
        let close = |got: &serde_json::Value, want: f64, what: &str| {
            let got = got.as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-8 * want.abs().max(1.0),
                "{name} {what}: {got} vs {want}"
            );
        };

        let o = npmap_with_data_limit(&["stats", path, "--json"], 18 << 20);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let whole = x.par_moments();
        assert_eq!(v["stats"]["count"].as_u64().unwrap(), 5_000_250);
        assert_eq!(v["stats"]["min"].as_f64().unwrap(), whole.min());
        assert_eq!(v["stats"]["max"].as_f64().unwrap(), whole.max());
        close(&v["stats"]["mean"], whole.mean(), "mean");
        close(&v["stats"]["std"], whole.std(0), "std");

        for axis in [0usize, 1] {
            let o = npmap(&["stats", path, "--json", "--axis", &axis.to_string()]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
            let want = x.par_moments_axis(ndarray::Axis(axis));
            let got = v["stats"].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{name} axis {axis}");
            // The outer axis (0 in C order, 1 in Fortran order) is merged over slabs.
            let merged = (axis == 0) == (name == "c");
            for (g, w) in got.iter().zip(want.iter()) {
                assert_eq!(g["count"].as_u64().unwrap(), w.count());
                assert_eq!(
                    (g["min"].as_f64().unwrap(), g["max"].as_f64().unwrap()),
                    (w.min(), w.max())
                );
                match merged {
                    true => {
                        close(&g["mean"], w.mean(), "lane mean");
                        close(&g["std"], w.std(0), "lane std");
                    }
                    false => {
                        assert_eq!(g["mean"].as_f64().unwrap().to_bits(), w.mean().to_bits());
                        assert_eq!(g["std"].as_f64().unwrap().to_bits(), w.std(0).to_bits());
                    }
                }
            }
        }
    }
}

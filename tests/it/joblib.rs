//! joblib dumps made by joblib itself (fixtures/make_joblib_fixtures.py): every array
//! reads with the bytes, dtype, shape and order joblib loads, mapped or copied, and
//! every plain value with joblib's value.

use std::path::PathBuf;

use ndarray::{Ix1, Ix2, IxDyn};
use npmap::joblib::{Dump, Node, Value};
use npmap::{ErrorKind, MmapMode};
use serde_json::Value as Json;

fn dir() -> PathBuf {
    crate::fixtures::fixtures_dir().join("joblib")
}

fn manifest() -> serde_json::Map<String, Json> {
    let text = std::fs::read_to_string(dir().join("manifest.json")).unwrap();
    let Json::Object(mut m) = serde_json::from_str(&text).unwrap() else {
        panic!("manifest is not an object")
    };
    let Some(Json::Object(dumps)) = m.remove("dumps") else {
        panic!("manifest has no dumps")
    };
    dumps
}

/// Asserts that the array at `key` of `dump` is what joblib loaded: the `.npy` NumPy
/// saved of it has the same dtype, shape, order and data bytes.
fn assert_array(dump: &Dump, name: &str, key: &str, npy: &str, mapped: bool) {
    let node = dump.get(key).unwrap_or_else(|e| panic!("{name}: {e}"));
    let a = node.array().unwrap_or_else(|e| panic!("{name}:{key}: {e}"));
    let expected = std::fs::read(dir().join(name).join(npy)).unwrap();
    let npy = npmap::NpyBytes::parse(&expected).unwrap();
    let (h, e) = (a.header(), npy.header());
    assert_eq!(h.dtype.descr(), e.dtype.descr(), "{name}:{key}");
    assert_eq!(h.shape, e.shape, "{name}:{key}");
    let one_order = h.shape.iter().filter(|&&d| d > 1).count() <= 1;
    assert!(
        one_order || h.fortran_order == e.fortran_order,
        "{name}:{key}"
    );
    assert_eq!(a.data(), npy.data(), "{name}:{key}: data bytes differ");
    // An empty array has no bytes to map (under ReadWrite and CopyOnWrite none is
    // made for it).
    if !a.data().is_empty() {
        assert_eq!(
            a.is_mapped(),
            mapped && a.header().data_offset > 0,
            "{name}:{key}"
        );
    }
}

/// The JSON the generator wrote for a plain value, as npmap reads it.
fn as_json(node: Node<'_>) -> Json {
    let tagged = |tag: &str, v: Json| Json::Object([(tag.to_string(), v)].into_iter().collect());
    match node.value() {
        Value::None => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => tagged("int", Json::String(i.to_string())),
        Value::BigInt(bytes) => tagged("int", Json::String(big_int(bytes))),
        Value::Float(f) => tagged("float", Json::from(*f)),
        Value::Str(s) => Json::String(s.clone()),
        Value::Bytes(b) => tagged("bytes", b.iter().map(|&x| Json::from(x)).collect()),
        Value::List(_) => tagged("list", node.items().into_iter().map(as_json).collect()),
        Value::Tuple(_) => tagged("tuple", node.items().into_iter().map(as_json).collect()),
        other => panic!("no JSON for {other:?}"),
    }
}

/// A non-negative little-endian two's-complement int in decimal (the slow obvious way).
fn big_int(le: &[u8]) -> String {
    assert!(
        le.last().is_some_and(|&b| b < 0x80),
        "negative big ints are not in the corpus"
    );
    let mut digits = vec![0u8]; // little-endian base-10
    for &byte in le.iter().rev() {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

fn check_dump(name: &str, entry: &Json, dump: &Dump, mapped: bool) {
    let arrays = entry["arrays"].as_object().unwrap();
    let mut listed: Vec<String> = dump.arrays().into_iter().map(|(k, _)| k).collect();
    listed.sort();
    let mut expected: Vec<String> = arrays.keys().cloned().collect();
    expected.sort();
    assert_eq!(listed, expected, "{name}: the arrays found");
    for (key, npy) in arrays {
        assert_array(dump, name, key, npy.as_str().unwrap(), mapped);
    }
    for (key, value) in entry["values"].as_object().unwrap() {
        let node = dump.get(key).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&as_json(node), value, "{name}:{key}");
    }
}

/// The cargo feature that brings `compressor`'s decoder, when it is off in this build.
pub(crate) fn feature_off(compressor: &str) -> Option<&'static str> {
    match compressor {
        "bz2" if !cfg!(feature = "joblib-bz2") => Some("joblib-bz2"),
        "xz" | "lzma" if !cfg!(feature = "joblib-xz") => Some("joblib-xz"),
        "lz4" if !cfg!(feature = "joblib-lz4") => Some("joblib-lz4"),
        _ => None,
    }
}

/// Every compressed dump reads by copy, also through `load` (as joblib does: its
/// `mmap_mode` is ignored for compressed dumps), with joblib's values.
fn check_compressed(name: &str, compressor: &str, entry: &Json, path: &std::path::Path) {
    if let Some(feature) = feature_off(compressor) {
        // Built without the decoder: the error says which feature brings it.
        let e = npmap::joblib::read(path).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::UnsupportedDump { .. }), "{e}");
        let wanted = format!("enable the cargo feature '{feature}'");
        assert!(e.to_string().contains(&wanted), "{e}");
        return;
    }
    let copied = npmap::joblib::read(path).unwrap_or_else(|e| panic!("{e}"));
    check_dump(name, entry, &copied, false);
    for mode in [
        MmapMode::ReadOnly,
        MmapMode::ReadWrite,
        MmapMode::CopyOnWrite,
    ] {
        // SAFETY: the fixtures are not modified while the tests run (nothing of a
        // compressed dump is mapped).
        let loaded = unsafe { npmap::joblib::load(path, mode) }.unwrap_or_else(|e| panic!("{e}"));
        check_dump(name, entry, &loaded, false);
    }
}

#[test]
fn every_dump_joblib_wrote_reads_with_joblibs_values() {
    let dumps = manifest();
    let (mut checked, mut compressed) = (0, Vec::new());
    for (name, entry) in &dumps {
        let path = dir().join(format!("{name}.joblib"));
        if let Some(compressor) = entry.get("compressor").and_then(Json::as_str) {
            check_compressed(name, compressor, entry, &path);
            compressed.push(compressor.to_string());
            continue;
        }
        let copied = npmap::joblib::read(&path).unwrap_or_else(|e| panic!("{e}"));
        check_dump(name, entry, &copied, false);
        // SAFETY: the fixtures are not modified while the tests run.
        let mapped = unsafe { npmap::joblib::load(&path, MmapMode::ReadOnly) }
            .unwrap_or_else(|e| panic!("{e}"));
        check_dump(name, entry, &mapped, true);
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} dumps checked");
    // Each of joblib's compressors at levels 1, 3 and 9 and in a dump of many arrays,
    // and joblib 0.9's ZF file.
    for compressor in ["zlib", "gzip", "bz2", "xz", "lzma", "lz4"] {
        let n = compressed.iter().filter(|c| *c == compressor).count();
        assert_eq!(n, 4, "{compressor} dumps checked");
        assert!(dumps.contains_key(&format!("{compressor}_mixed")));
    }
    assert!(compressed.iter().any(|c| c == "zfile"));
}

/// The mixed dump of each compressor, value by value as joblib loaded it (the
/// manifest's check compares bytes; this one the values, the slow obvious way).
#[test]
fn compressed_dumps_of_many_arrays_hold_joblibs_values() {
    for compressor in ["zlib", "gzip", "bz2", "xz", "lzma", "lz4"] {
        if feature_off(compressor).is_some() {
            continue;
        }
        let path = dir().join(format!("{compressor}_mixed.joblib"));
        let d = npmap::joblib::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let tiled = d["tiled"].array().unwrap().to_owned::<u16, Ix1>().unwrap();
        assert_eq!(tiled.len(), 40_000, "{compressor}");
        assert!(
            tiled
                .iter()
                .enumerate()
                .all(|(i, &v)| usize::from(v) == i % 200),
            "{compressor}"
        );
        let y = d["y_big_endian"].array().unwrap();
        assert_eq!(y.header().dtype.descr(), ">i8", "{compressor}");
        assert_eq!(
            y.to_owned::<i64, Ix1>().unwrap().to_vec(),
            [-3, -2, -1, 0, 1, 2, 3]
        );
        let xf = d["X_fortran"].array().unwrap();
        assert!(xf.header().fortran_order, "{compressor}");
        let expected: ndarray::Array2<f64> =
            npmap::read_npy(dir().join(format!("{compressor}_mixed/X_fortran.npy"))).unwrap();
        assert_eq!(xf.to_owned::<f64, Ix2>().unwrap(), expected, "{compressor}");
        let mask = d["mask"].array().unwrap().to_owned::<bool, Ix1>().unwrap();
        assert_eq!(mask.to_vec(), [true, false, false, true], "{compressor}");
        let zero_d = d["zero_d"].array().unwrap().to_owned::<f64, ndarray::Ix0>();
        assert_eq!(zero_d.unwrap().into_scalar(), -1.25, "{compressor}");
        assert_eq!(d["epochs"], Value::Int(12), "{compressor}");
        assert_eq!(
            d.get("name").unwrap().as_str(),
            Some("mixed"),
            "{compressor}"
        );
        assert!(
            d.arrays().iter().all(|(_, a)| !a.is_mapped()),
            "{compressor}"
        );
    }
}

#[test]
fn arrays_are_zero_copy_views_of_the_mapped_file() {
    let path = dir().join("all_p4.joblib");
    // SAFETY: as above.
    let d = unsafe { npmap::joblib::load(&path, MmapMode::ReadOnly) }.unwrap();
    let x = d["X"].array().unwrap();
    let view = x.view::<f32, Ix2>().unwrap();
    let file = std::fs::read(&path).unwrap();
    let at = x.header().data_offset as usize;
    assert_eq!(at % 16, 0, "joblib 1.2+ aligns array data to 16 bytes");
    assert_eq!(view[[0, 0]].to_le_bytes(), file[at..at + 4]);
    assert_eq!(x.data().as_ptr(), view.as_ptr().cast::<u8>());
    // The big-endian array is viewed only through a copy.
    let y = d["y_big_endian"].array().unwrap();
    let e = y.view::<i64, Ix1>().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::NonNativeByteOrder { .. }),
        "{e}"
    );
    assert_eq!(y.cow::<i64, Ix1>().unwrap().to_vec(), [-3, -2, -1, 0, 1, 2]);
    // The Fortran-order array keeps its layout.
    let f = d["X_fortran"].array().unwrap().view::<f64, Ix2>().unwrap();
    assert_eq!(f.shape(), [3, 5]);
    assert!(f.t().is_standard_layout());
}

#[test]
fn a_dump_of_joblib_1_1_maps_only_where_aligned_and_copies_otherwise() {
    let path = dir().join("unaligned_joblib_1_1.joblib");
    // SAFETY: as above.
    let d = unsafe { npmap::joblib::load(&path, MmapMode::ReadOnly) }.unwrap();
    let x = d["X"].array().unwrap();
    assert_ne!(x.header().data_offset % 8, 0, "the old layout is unaligned");
    let e = x.view::<f64, Ix1>().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Misaligned { align: 8, .. }),
        "{e}"
    );
    let copy = x.cow::<f64, IxDyn>().unwrap();
    assert_eq!(
        copy.iter().copied().collect::<Vec<_>>(),
        (0..10).map(f64::from).collect::<Vec<_>>()
    );
    assert_eq!(d["k"], Value::Int(1));
}

#[test]
fn an_estimator_is_an_opaque_object_whose_arrays_are_found() {
    let path = dir().join("sklearn_linear_regression.joblib");
    if !path.exists() {
        return; // the generator ran without scikit-learn
    }
    let d = npmap::joblib::read(&path).unwrap();
    let (module, class) = d.root().class_name().unwrap();
    assert_eq!(class, "LinearRegression");
    assert!(module.starts_with("sklearn.linear_model"), "{module}");
    let coef = d.root().attr("coef_").unwrap().array().unwrap();
    let coef = coef.to_owned::<f64, Ix1>().unwrap();
    let expected: ndarray::Array1<f64> =
        npmap::read_npy(dir().join("sklearn_linear_regression/coef_.npy")).unwrap();
    assert_eq!(coef, expected);
    assert!(d.root().keys().contains(&"coef_"));
    let e = d.root().attr("no_such").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::KeyNotFound { .. }), "{e}");
    assert!(e.to_string().contains("coef_"), "{e}");
}

#[test]
fn object_arrays_stay_opaque_and_the_rest_of_the_dump_reads() {
    let d = npmap::joblib::read(dir().join("all_p5.joblib")).unwrap();
    let objects = d.get("objects").unwrap();
    let e = objects.array().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotAnArray { .. }), "{e}");
    assert_eq!(objects.class_name(), Some(("numpy", "ndarray")));
    assert_eq!(d["n"], Value::Int(42));
}

#[test]
fn hostile_dumps_give_errors_with_offsets_never_run_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.joblib");
    // pickle.dumps(os.system('touch pwned')) — a call of an unknown global.
    std::fs::write(
        &path,
        b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x0btouch pwned\x85R.",
    )
    .unwrap();
    let d = npmap::joblib::read(&path).unwrap();
    assert_eq!(d.root().class_name(), Some(("posix", "system")));
    assert!(!std::path::Path::new("pwned").exists());
    // A wrapper whose array runs past the end of the file.
    let good =
        std::fs::read(crate::fixtures::fixtures_dir().join("joblib/bare_array.joblib")).unwrap();
    std::fs::write(&path, &good[..good.len() - 10]).unwrap();
    let e = npmap::joblib::read(&path).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Pickle { .. }), "{e}");
    assert_eq!(e.path(), Some(path.as_path()));
    assert!(e.to_string().contains("the array's data"), "{e}");
    // A zlib dump cut short.
    let zlib = std::fs::read(crate::fixtures::fixtures_dir().join("joblib/zlib_compressed.joblib"))
        .unwrap();
    std::fs::write(&path, &zlib[..zlib.len() / 2]).unwrap();
    let e = npmap::joblib::read(&path).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::UnsupportedDump { .. } | ErrorKind::Pickle { .. }
        ),
        "{e}"
    );
    // An old-layout wrapper that names a file outside the dump's directory.
    std::fs::write(
        &path,
        b"\x80\x02}(X\x01\x00\x00\x00acjoblib.numpy_pickle\nNDArrayWrapper\n)\x81}X\x08\x00\x00\x00filenameX\r\x00\x00\x00../secret.npysbu.",
    )
    .unwrap();
    let e = npmap::joblib::read(&path).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Pickle { .. }), "{e}");
    assert!(e.to_string().contains("not a file beside the dump"), "{e}");
    std::fs::write(&path, b"not a pickle").unwrap();
    let e = npmap::joblib::read(&path).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::UnsupportedDump { .. }), "{e}");
}

#[test]
fn dumps_npmap_writes_load_in_joblib_mapped_and_copied() {
    use ndarray::{Array, Array2, ShapeBuilder, arr0, arr1};
    use npmap::half::f16;
    use npmap::joblib::JoblibWriter;
    use npmap::num_complex::Complex;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.joblib");
    let x = Array2::<f32>::from_shape_fn((7, 3), |(i, j)| i as f32 - 0.5 * j as f32);
    let xf = Array2::<f64>::from_shape_fn((4, 5).f(), |(i, j)| (i * 10 + j) as f64);
    let cube = Array::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as u16);
    let mut w = JoblibWriter::create(&path).unwrap();
    w.add("X", &x).unwrap();
    w.add("X_fortran", &xf).unwrap();
    w.add("cube", &cube).unwrap();
    w.add("mask", &arr1(&[true, false, true])).unwrap();
    w.add("small", &arr1(&[-1i8, 2])).unwrap();
    w.add("cplx", &arr1(&[Complex::new(1.0f64, -2.0)])).unwrap();
    w.add("half", &arr1(&[f16::from_f32(0.5)])).unwrap();
    w.add("zero_d", &arr0(2.5f64)).unwrap();
    w.add("empty", &Array2::<i64>::zeros((0, 3))).unwrap();
    w.add_value("name", &Value::Str("run ✓".into())).unwrap();
    w.add_value("epochs", &Value::Int(100_000)).unwrap();
    w.add_value("big", &Value::Int(-(1 << 40))).unwrap();
    w.add_value("lr", &Value::Float(0.125)).unwrap();
    w.add_value("none", &Value::None).unwrap();
    let e = w.add("X", &x).unwrap_err();
    assert!(e.to_string().contains("added twice"), "{e}");
    w.finish().unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    // npmap reads its own dump back, zero-copy where aligned.
    // SAFETY: the dump is private to this test.
    let d = unsafe { npmap::joblib::load(&path, MmapMode::ReadOnly) }.unwrap();
    assert_eq!(d["X"].array().unwrap().view::<f32, Ix2>().unwrap(), x);
    assert_eq!(
        d["X_fortran"].array().unwrap().view::<f64, Ix2>().unwrap(),
        xf
    );
    assert_eq!(
        d["cube"].array().unwrap().view::<u16, IxDyn>().unwrap(),
        cube.into_dyn()
    );
    for (_, a) in d.arrays() {
        assert_eq!(a.header().data_offset % 16, 0);
    }
    assert_eq!(d["epochs"], Value::Int(100_000));

    if !crate::numpy::joblib_available("dumps_npmap_writes_load_in_joblib_mapped_and_copied") {
        return;
    }
    let reference = dir.path().join("ref");
    std::fs::create_dir(&reference).unwrap();
    npmap::save_npy(reference.join("X.npy"), &x).unwrap();
    npmap::save_npy(reference.join("X_fortran.npy"), &xf).unwrap();
    let script = r#"
import sys, joblib, numpy as np
path, ref = sys.argv[1], sys.argv[2]
mapped = joblib.load(path, mmap_mode="r")
plain = joblib.load(path)
for k in ("X", "X_fortran"):
    expected = np.load(f"{ref}/{k}.npy")
    assert isinstance(mapped[k], np.memmap), (k, type(mapped[k]))
    assert mapped[k].dtype == expected.dtype and np.array_equal(mapped[k], expected), k
    assert np.array_equal(plain[k], expected), k
assert mapped["X_fortran"].flags.f_contiguous
assert mapped["cube"].shape == (2, 3, 4) and mapped["cube"][1, 2, 3] == 23
assert mapped["mask"].tolist() == [True, False, True] and mapped["mask"].dtype == bool
assert plain["small"].tolist() == [-1, 2] and plain["small"].dtype == np.int8
assert plain["cplx"].tolist() == [1 - 2j]
assert plain["half"].dtype == np.float16 and plain["half"][0] == 0.5
assert plain["zero_d"].shape == () and plain["zero_d"] == 2.5
assert plain["empty"].shape == (0, 3) and plain["empty"].dtype == np.int64
assert plain["name"] == "run \u2713" and plain["epochs"] == 100000 and plain["big"] == -(1 << 40)
assert plain["lr"] == 0.125 and plain["none"] is None
print(sorted(plain))
"#;
    let out = crate::numpy::run(script, &[&path, &reference]);
    assert!(out.contains("'X_fortran'"), "{out}");
}

/// A copy of the fixture `name` in a fresh directory, to map writable.
fn private_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(name);
    std::fs::copy(dir().join(name), &path).unwrap();
    (tmp, path)
}

#[test]
fn a_dump_loaded_read_write_writes_through_to_the_file() {
    let (_tmp, path) = private_copy("all_p4.joblib");
    let before = std::fs::read(&path).unwrap();
    let entry = &manifest()["all_p4"];
    // SAFETY: the copy is private to this test.
    let mut d = unsafe { npmap::joblib::load(&path, MmapMode::ReadWrite) }.unwrap();
    // The same values as joblib loads, each array mapped (an empty one has no bytes).
    check_dump("all_p4", entry, &d, true);
    for (key, a) in d.arrays() {
        // NumPy scalars are in the pickle itself, so in memory.
        let in_file = a.header().data_offset > 0 && !a.data().is_empty();
        let expected = in_file.then_some(MmapMode::ReadWrite);
        assert_eq!(a.mmap_mode(), expected, "{key}");
    }
    // SAFETY: as above; a second, read-only mapping of the same file.
    let other = unsafe { npmap::joblib::load(&path, MmapMode::ReadOnly) }.unwrap();
    let (x_at, y_at) = {
        let x = d.array_mut("X").unwrap();
        let mut v = x.view_mut::<f32, Ix2>().unwrap();
        v[[0, 0]] = 100.0;
        v[[4, 3]] = -0.25;
        (x.header().data_offset as usize, 0)
    };
    // The big-endian array has no typed view; its bytes are written as they are.
    let y = d.array_mut("y_big_endian").unwrap();
    let e = y.view_mut::<i64, Ix1>().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::NonNativeByteOrder { .. }),
        "{e}"
    );
    let y_offset = y.header().data_offset as usize;
    y.data_mut().unwrap()[y_at..y_at + 8].copy_from_slice(&42i64.to_be_bytes());
    // Other mappings of the file see the writes at once.
    let seen = other["X"].array().unwrap().view::<f32, Ix2>().unwrap();
    assert_eq!((seen[[0, 0]], seen[[4, 3]]), (100.0, -0.25));
    d.flush().unwrap();
    drop(d);
    drop(other);

    // The file changed at those bytes only.
    let after = std::fs::read(&path).unwrap();
    let mut expected = before.clone();
    expected[x_at..x_at + 4].copy_from_slice(&100f32.to_le_bytes());
    let last = x_at + 4 * (4 * 4 + 3);
    expected[last..last + 4].copy_from_slice(&(-0.25f32).to_le_bytes());
    expected[y_offset..y_offset + 8].copy_from_slice(&42i64.to_be_bytes());
    assert!(after == expected, "the file holds other changes");
    let again = npmap::joblib::read(&path).unwrap();
    let x = again["X"].array().unwrap().to_owned::<f32, Ix2>().unwrap();
    let original: ndarray::Array2<f32> = npmap::read_npy(dir().join("all_p4/X.npy")).unwrap();
    let mut want = original.clone();
    want[[0, 0]] = 100.0;
    want[[4, 3]] = -0.25;
    assert_eq!(x, want);
    let y = again["y_big_endian"].array().unwrap();
    assert_eq!(
        y.to_owned::<i64, Ix1>().unwrap().to_vec(),
        [42, -2, -1, 0, 1, 2]
    );

    if !crate::numpy::joblib_available("a_dump_loaded_read_write_writes_through_to_the_file") {
        return;
    }
    let script = r#"
import sys, joblib, numpy as np
path, ref = sys.argv[1], sys.argv[2]
for mode in (None, "r", "r+"):
    d = joblib.load(path, mmap_mode=mode)
    x = np.load(ref)
    x[0, 0], x[4, 3] = 100.0, -0.25
    assert np.array_equal(d["X"], x), (mode, d["X"])
    assert d["y_big_endian"].tolist() == [42, -2, -1, 0, 1, 2], d["y_big_endian"]
    assert d["n"] == 42
print("joblib sees the writes")
"#;
    let out = crate::numpy::run(script, &[&path, &dir().join("all_p4/X.npy")]);
    assert!(out.contains("joblib sees the writes"), "{out}");
}

#[test]
fn a_dump_loaded_copy_on_write_never_touches_the_file() {
    let (_tmp, path) = private_copy("all_p5.joblib");
    let before = std::fs::read(&path).unwrap();
    // SAFETY: the copy is private to this test.
    let mut c = unsafe { npmap::joblib::load(&path, MmapMode::CopyOnWrite) }.unwrap();
    check_dump("all_p5", &manifest()["all_p5"], &c, true);
    let coef = c.array_mut("model.coef_").unwrap();
    assert_eq!(coef.mmap_mode(), Some(MmapMode::CopyOnWrite));
    coef.view_mut::<f64, Ix1>().unwrap().fill(9.0);
    c.array_mut("mask")
        .unwrap()
        .view_mut::<bool, Ix1>()
        .unwrap()[1] = true;
    assert_eq!(
        c["model.coef_"]
            .array()
            .unwrap()
            .view::<f64, Ix1>()
            .unwrap()
            .to_vec(),
        [9.0; 7]
    );
    assert_eq!(
        c["mask"]
            .array()
            .unwrap()
            .view::<bool, Ix1>()
            .unwrap()
            .to_vec(),
        [true, true, true]
    );
    c.flush().unwrap(); // nothing to write back
    // SAFETY: as above. Another copy-on-write load sees the file's values.
    let fresh = unsafe { npmap::joblib::load(&path, MmapMode::CopyOnWrite) }.unwrap();
    assert_eq!(
        fresh["mask"]
            .array()
            .unwrap()
            .view::<bool, Ix1>()
            .unwrap()
            .to_vec(),
        [true, false, true]
    );
    drop(c);
    assert!(std::fs::read(&path).unwrap() == before, "the file changed");
}

#[test]
fn mutable_views_are_refused_read_only_and_while_a_mapping_is_shared() {
    let (_tmp, path) = private_copy("all_p4.joblib");
    // SAFETY: the copy is private to this test.
    let mut r = unsafe { npmap::joblib::load(&path, MmapMode::ReadOnly) }.unwrap();
    let e = r
        .array_mut("X")
        .unwrap()
        .view_mut::<f32, Ix2>()
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::ReadOnly);
    let e = r.array_mut("n").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotAnArray { .. }), "{e}");
    assert_eq!(e.path(), Some(path.as_path()));
    let e = r.array_mut("no_such").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::KeyNotFound { .. }), "{e}");

    // SAFETY: as above.
    let mut w = unsafe { npmap::joblib::load(&path, MmapMode::ReadWrite) }.unwrap();
    let clone = w["X"].array().unwrap().clone();
    let e = w
        .array_mut("X")
        .unwrap()
        .view_mut::<f32, Ix2>()
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::ArrayShared { clones: 1 });
    // A refused view wrote nothing and copied nothing.
    assert_eq!(
        w["X"].array().unwrap().mmap_mode(),
        Some(MmapMode::ReadWrite)
    );
    drop(clone);
    w.array_mut("X").unwrap().view_mut::<f32, Ix2>().unwrap()[[1, 1]] = 3.0;
    // A type the array is not, before anything else.
    let e = w
        .array_mut("X")
        .unwrap()
        .view_mut::<f64, Ix2>()
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::DTypeMismatch { .. }), "{e}");
}

#[test]
fn arrays_in_memory_are_writable_copies_of_their_own() {
    // read(), and a compressed dump whatever the mode (joblib ignores mmap_mode for
    // those): writes change this dump's copy, never the file nor a clone.
    let (_tmp, path) = private_copy("zlib_mixed.joblib");
    let before = std::fs::read(&path).unwrap();
    for mode in [None, Some(MmapMode::ReadWrite), Some(MmapMode::CopyOnWrite)] {
        let mut d = match mode {
            None => npmap::joblib::read(&path).unwrap(),
            // SAFETY: the copy is private to this test.
            Some(mode) => unsafe { npmap::joblib::load(&path, mode) }.unwrap(),
        };
        let clone = d["tiled"].array().unwrap().clone();
        let tiled = d.array_mut("tiled").unwrap();
        assert_eq!(tiled.mmap_mode(), None);
        tiled.view_mut::<u16, Ix1>().unwrap()[5] = 999;
        assert_eq!(
            d["tiled"].array().unwrap().view::<u16, Ix1>().unwrap()[5],
            999
        );
        assert_eq!(clone.view::<u16, Ix1>().unwrap()[5], 5, "{mode:?}");
        d.flush().unwrap();
    }
    assert!(std::fs::read(&path).unwrap() == before, "the file changed");
}

#[test]
fn unaligned_arrays_of_joblib_1_1_map_read_write_and_write_their_bytes() {
    // joblib maps them too (with a warning that they are not aligned).
    let (_tmp, path) = private_copy("unaligned_joblib_1_1.joblib");
    // SAFETY: the copy is private to this test.
    let mut d = unsafe { npmap::joblib::load(&path, MmapMode::ReadWrite) }.unwrap();
    let x = d.array_mut("X").unwrap();
    assert_eq!(x.mmap_mode(), Some(MmapMode::ReadWrite));
    let e = x.view_mut::<f64, Ix1>().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Misaligned { .. }), "{e}");
    x.data_mut().unwrap()[8..16].copy_from_slice(&(-7.5f64).to_le_bytes());
    drop(d);
    let x = npmap::joblib::read(&path).unwrap()["X"]
        .array()
        .unwrap()
        .to_owned::<f64, Ix1>()
        .unwrap();
    let mut expected: Vec<f64> = (0..10).map(f64::from).collect();
    expected[1] = -7.5;
    assert_eq!(x.to_vec(), expected);
}

#[test]
fn a_dump_of_joblib_0_9_maps_its_sibling_files_read_write() {
    let tmp = tempfile::tempdir().unwrap();
    for f in [
        "old_multifile.joblib",
        "old_multifile.joblib_01.npy",
        "old_multifile.joblib_02.npy",
    ] {
        std::fs::copy(dir().join(f), tmp.path().join(f)).unwrap();
    }
    let path = tmp.path().join("old_multifile.joblib");
    // SAFETY: the copies are private to this test.
    let mut d = unsafe { npmap::joblib::load(&path, MmapMode::ReadWrite) }.unwrap();
    d.array_mut("a").unwrap().view_mut::<f64, Ix1>().unwrap()[4] = 0.5;
    drop(d);
    let a: ndarray::Array1<f64> =
        npmap::read_npy(tmp.path().join("old_multifile.joblib_01.npy")).unwrap();
    assert_eq!(a.to_vec(), [0.0, 1.0, 2.0, 3.0, 0.5]);
}

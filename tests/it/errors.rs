//! Which file an error names: the path of the call, `archive.npz:member` for a member,
//! and none for data that is not a named file (never a placeholder such as `<stream>`).

use std::path::Path;

use ndarray::{Array1, Ix1, IxDyn, arr1};
use npmap::{DType, ErrorKind, MmapMode, NpyBytes, NpzReader, NpzWriter};

/// Asserts that `e` names `path` once, at the start of its message, and has `kind`.
fn assert_about(e: &npmap::Error, path: &Path, kind: &ErrorKind) {
    assert_eq!(e.path(), Some(path), "{e}");
    assert_eq!(e.kind(), kind, "{e}");
    let message = e.to_string();
    let prefix = format!("{}: ", path.display());
    assert!(message.starts_with(&prefix), "{message}");
    assert_eq!(message[prefix.len()..], kind.to_string(), "{message}");
}

/// Asserts that `e` names no file and its message is the kind's alone.
fn assert_unnamed(e: &npmap::Error, kind: &ErrorKind) {
    assert_eq!(e.path(), None, "{e}");
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), kind.to_string());
    assert!(!e.to_string().contains('<'), "placeholder in {e}");
}

#[test]
fn reads_of_a_file_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    std::fs::write(&path, b"hello world").unwrap();
    let bad_magic = ErrorKind::BadMagic {
        found: b"hello ".to_vec(),
    };
    let e = npmap::read_npy::<f32, Ix1>(&path).unwrap_err();
    assert_about(&e, &path, &bad_magic);
    // SAFETY: the file is private to this test.
    let e = unsafe { npmap::NpyFile::open(&path, MmapMode::ReadOnly) }.unwrap_err();
    assert_about(&e, &path, &bad_magic);

    npmap::save_npy(&path, &arr1(&[1.0f64, 2.0])).unwrap();
    let mismatch = ErrorKind::DTypeMismatch {
        found: "<f8".into(),
        found_name: "float64".into(),
        expected: "f32",
    };
    let e = npmap::read_npy::<f32, Ix1>(&path).unwrap_err();
    assert_about(&e, &path, &mismatch);
    // SAFETY: as above.
    let f = unsafe { npmap::NpyFile::open(&path, MmapMode::ReadOnly) }.unwrap();
    assert_about(&f.view::<f32, Ix1>().unwrap_err(), &path, &mismatch);
    assert_about(&f.cow::<f32, Ix1>().unwrap_err(), &path, &mismatch);
    let ndim = ErrorKind::NdimMismatch {
        found: 1,
        expected: 2,
        shape: vec![2],
    };
    assert_about(&f.view::<f64, ndarray::Ix2>().unwrap_err(), &path, &ndim);
}

#[test]
fn streams_buffers_and_descr_strings_name_no_file() {
    let e = npmap::read_npy_from::<f32, Ix1>(&b"\x93NUMPY\x09\x00"[..]).unwrap_err();
    assert_unnamed(&e, &ErrorKind::UnsupportedVersion { major: 9, minor: 0 });

    let mut buffer = Vec::new();
    npmap::write_npy_to(&mut buffer, &arr1(&[1u16, 2, 3])).unwrap();
    let cut = &buffer[..buffer.len() - 1];
    let e = NpyBytes::parse(cut).unwrap_err();
    let truncated = ErrorKind::Truncated {
        what: "array data",
        offset: 128,
        expected: 6,
        found: 5,
    };
    assert_unnamed(&e, &truncated);
    let e = npmap::read_npy_from::<u16, Ix1>(cut).unwrap_err();
    assert_unnamed(&e, &truncated);

    let e = DType::parse("<f3").unwrap_err();
    assert_eq!(e.path(), None);
    assert!(matches!(e.kind(), ErrorKind::BadDescr { .. }), "{e}");

    let too_long = ErrorKind::StringTooLong {
        index: 1,
        width: 2,
        found: 3,
        unit: "characters",
    };
    let words = arr1(&["ok", "abc"]);
    let e = npmap::write_strings_to(Vec::new(), &words, Some(2)).unwrap_err();
    assert_unnamed(&e, &too_long);
    // The same error from a save names the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.npy");
    let e = npmap::save_strings(&path, &words, Some(2)).unwrap_err();
    assert_about(&e, &path, &too_long);
    assert!(!path.exists());
}

#[test]
fn a_shape_that_overflows_names_the_file_it_was_meant_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.npy");
    let overflow = ErrorKind::ShapeOverflow {
        shape: vec![1 << 62, 4],
        itemsize: 8,
    };
    // SAFETY: the file would be private to this test.
    let e = unsafe { npmap::create_npy::<f64, _>(&path, (1usize << 62, 4)) }.unwrap_err();
    assert_about(&e, &path, &overflow);
    assert!(!path.exists());

    let raw = dir.path().join("x.raw");
    std::fs::write(&raw, [0u8; 16]).unwrap();
    // SAFETY: as above.
    let e = unsafe { npmap::load_raw::<f64, _>(&raw, MmapMode::ReadOnly, 0, (1usize << 62, 4)) }
        .unwrap_err();
    assert_about(&e, &raw, &overflow);
}

#[test]
fn members_of_an_archive_are_named_archive_colon_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    let mut w = NpzWriter::create(&path).unwrap();
    w.add("x", &Array1::<i32>::zeros(4)).unwrap();
    w.finish().unwrap();
    let z = NpzReader::open(&path).unwrap();
    let member = dir.path().join("a.npz:x");
    let mismatch = ErrorKind::DTypeMismatch {
        found: "<i4".into(),
        found_name: "int32".into(),
        expected: "f64",
    };
    assert_about(&z.read::<f64, Ix1>("x").unwrap_err(), &member, &mismatch);
    // SAFETY: the archive is private to this test.
    let e = unsafe { z.cow::<f64, IxDyn>("x") }.unwrap_err();
    assert_about(&e, &member, &mismatch);
    // SAFETY: as above.
    let e = unsafe { z.map::<f64, Ix1>("x") }.unwrap_err();
    assert_about(&e, &member, &mismatch);
}

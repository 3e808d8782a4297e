//! `.npz` archives: NumPy-made fixtures (fixtures/make_npz_fixtures.py), archives npmap
//! writes, realignment, hostile archives, and round trips through NumPy.

use npmap::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::{Array, Array1, Array2, ArrayD, Ix0, Ix1, Ix2, IxDyn, ShapeBuilder, s};
use npmap::{NpzReader, NpzWriter};
use num_complex::Complex;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/npz")
}

fn manifest() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(map) => map,
        other => panic!("manifest is not an object: {other}"),
    }
}

/// A manifest number: a JSON number, a bool, or "nan" / "inf" / "-inf".
fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => panic!("unexpected value {other}"),
        },
        other => panic!("unexpected value {other}"),
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a == b && a.is_sign_negative() == b.is_sign_negative())
}

/// Flattens an array in C order into manifest-comparable numbers (complex as re, im).
fn flat<A: Copy>(a: &ArrayD<A>, f: impl Fn(A) -> Vec<f64>) -> Vec<f64> {
    a.iter().flat_map(|&x| f(x)).collect()
}

/// Reads member `name` with the element type its descr names, as C-order numbers.
fn read_as_numbers(z: &NpzReader, name: &str, descr: &str) -> (Vec<usize>, bool, Vec<f64>) {
    fn go<A: npmap::Element>(
        z: &NpzReader,
        name: &str,
        f: impl Fn(A) -> Vec<f64>,
    ) -> (Vec<usize>, bool, Vec<f64>) {
        let a: ArrayD<A> = z.read(name).unwrap();
        let fortran = a.ndim() > 1 && !a.is_standard_layout() && a.t().is_standard_layout();
        (a.shape().to_vec(), fortran, flat(&a, f))
    }
    match &descr[1..] {
        "f4" => go::<f32>(z, name, |x| vec![f64::from(x)]),
        "f8" => go::<f64>(z, name, |x| vec![x]),
        "i2" => go::<i16>(z, name, |x| vec![f64::from(x)]),
        "i4" => go::<i32>(z, name, |x| vec![f64::from(x)]),
        "i8" => go::<i64>(z, name, |x| vec![x as f64]),
        "u1" => go::<u8>(z, name, |x| vec![f64::from(x)]),
        "u2" => go::<u16>(z, name, |x| vec![f64::from(x)]),
        "b1" => go::<bool>(z, name, |x| vec![f64::from(u8::from(x))]),
        "c8" => go::<Complex<f32>>(z, name, |x| vec![f64::from(x.re), f64::from(x.im)]),
        other => panic!("no test type for descr {other}"),
    }
}

fn check_against_manifest(z: &NpzReader, archive: &str, members: &serde_json::Map<String, Value>) {
    for (name, info) in members {
        let descr = info["descr"].as_str().unwrap();
        let header = z.header(name).unwrap();
        assert_eq!(header.dtype.descr(), descr, "{archive}:{name}");
        let (shape, fortran, got) = read_as_numbers(z, name, descr);
        let want_shape: Vec<usize> = info["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(shape, want_shape, "{archive}:{name}");
        assert_eq!(header.shape, want_shape, "{archive}:{name}");
        assert_eq!(
            fortran,
            info["fortran_order"].as_bool().unwrap(),
            "{archive}:{name}"
        );
        let want: Vec<f64> = info["values"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| match v {
                Value::Array(parts) => parts.iter().map(number).collect(),
                v => vec![number(v)],
            })
            .collect();
        assert_eq!(got.len(), want.len(), "{archive}:{name}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(same(*g, *w), "{archive}:{name}[{i}]: {g} != {w}");
        }
    }
}

const KEYWORD_NAMES: [&str; 10] = [
    "X_train",
    "y_train",
    "mask",
    "fortran",
    "big_endian",
    "special",
    "empty",
    "scalar",
    "complex",
    "u8",
];

#[test]
fn every_fixture_member_reads_back_with_numpys_values() {
    let manifest = manifest();
    assert_eq!(manifest.len(), 4);
    for (archive, members) in &manifest {
        let z = NpzReader::open(fixtures().join(archive)).unwrap();
        check_against_manifest(&z, archive, members.as_object().unwrap());
    }
}

#[test]
fn names_follow_archive_order_and_keep_non_npy_members() {
    let z = NpzReader::open(fixtures().join("keywords.npz")).unwrap();
    assert_eq!(z.names(), KEYWORD_NAMES);
    let z = NpzReader::open(fixtures().join("positional.npz")).unwrap();
    assert_eq!(z.names(), ["arr_0", "arr_1"]);
    let z = NpzReader::open(fixtures().join("with_readme.npz")).unwrap();
    assert_eq!(z.names(), ["a", "b", "readme.txt"]);
    let e = z.read::<u8, Ix1>("readme.txt").unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::BadMagic { found, .. } if found == b"not an"),
        "{e}"
    );
    assert!(e.to_string().contains("with_readme.npz:readme.txt"), "{e}");
    let a: Array1<i64> = z.read("a").unwrap();
    assert_eq!(a.to_vec(), [0, 1, 2, 3, 4]);
}

#[test]
fn cow_borrows_what_it_can_and_copies_the_rest() {
    let manifest = manifest();
    let dir = tempfile::tempdir().unwrap();
    let aligned = dir.path().join("aligned.npz");
    npmap::realign_npz(fixtures().join("keywords.npz"), &aligned).unwrap();
    let z = NpzReader::open(&aligned).unwrap();
    // SAFETY: the archives are private to this test.
    unsafe {
        let x = z.cow::<f32, Ix2>("X_train").unwrap();
        assert!(x.is_view());
        let want = &manifest["keywords.npz"]["X_train"]["values"];
        assert_eq!(f64::from(x[[0, 0]]), number(&want[0]));
        assert_eq!(f64::from(x[[6, 4]]), number(&want[34]));
        let b = z.cow::<i32, Ix2>("big_endian").unwrap();
        assert!(b.is_owned());
        assert_eq!(b.iter().copied().collect::<Vec<_>>(), [-3, -2, -1, 0, 1, 2]);
        let packed = NpzReader::open(fixtures().join("compressed.npz")).unwrap();
        let y = packed.cow::<i64, Ix1>("y_train").unwrap();
        assert!(y.is_owned());
        assert_eq!(y, z.cow::<i64, Ix1>("y_train").unwrap());
        assert!(matches!(
            packed
                .cow::<f64, Ix1>("y_train")
                .as_ref()
                .map_err(|e| e.kind()),
            Err(ErrorKind::DTypeMismatch { .. })
        ));
    }
}

#[test]
fn a_wrong_crc_is_refused_and_names_the_member() {
    let z = NpzReader::open(fixtures().join("bad_crc.npz")).unwrap();
    let a: Array1<i64> = z.read("a").unwrap();
    assert_eq!(a.to_vec(), [0, 1, 2, 3, 4]);
    let e = z.read::<f64, Ix1>("b").unwrap_err();
    match (e.path(), e.kind()) {
        (
            Some(path),
            ErrorKind::Crc {
                expected,
                found,
                len,
            },
        ) => {
            assert!(path.ends_with("bad_crc.npz:b"), "{e}");
            assert_eq!(expected ^ found, 0xDEAD_BEEF);
            assert_eq!(*len, 128 + 4 * 8);
        }
        _ => panic!("expected a CRC error, got {e}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npz");
    assert!(matches!(
        npmap::realign_npz(fixtures().join("bad_crc.npz"), &out)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::Crc { .. })
    ));
    assert!(!out.exists());
}

#[test]
fn a_truncated_archive_is_refused() {
    let e = NpzReader::open(fixtures().join("truncated.npz")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Zip { .. }), "{e}");
    assert!(e.to_string().contains("truncated.npz"), "{e}");
}

#[test]
fn a_member_cut_short_inside_the_file_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.npz");
    let mut bytes = std::fs::read(fixtures().join("positional.npz")).unwrap();
    // Point the central directory's offset of arr_1's local header past the data.
    let z = NpzReader::open(fixtures().join("positional.npz")).unwrap();
    assert_eq!(z.names().len(), 2);
    let eocd = bytes.len() - 22;
    assert_eq!(&bytes[eocd..eocd + 4], b"PK\x05\x06");
    // Cut the data of the last member and move the directory: simplest is to grow
    // the declared compressed size of the first member beyond the file.
    let cd = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    assert_eq!(&bytes[cd..cd + 4], b"PK\x01\x02");
    bytes[cd + 20..cd + 24].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let e = NpzReader::open(&path).unwrap_err();
    match (e.path(), e.kind()) {
        (Some(path), ErrorKind::Truncated { what, expected, .. }) => {
            assert!(path.ends_with("short.npz:arr_0"), "{e}");
            assert_eq!(
                (*what, *expected),
                ("archive member data", u64::from(u32::MAX))
            );
        }
        _ => panic!("expected Truncated, got {e}"),
    }
}

#[test]
fn a_zip_bomb_is_stopped_one_byte_past_its_declared_size() {
    let z = NpzReader::open(fixtures().join("bomb.npz")).unwrap();
    assert_eq!(z.names(), ["bomb"]);
    let h = z.header("bomb").unwrap();
    assert_eq!(h.shape, [10]);
    let e = z.read::<f64, Ix1>("bomb").unwrap_err();
    match (e.path(), e.kind()) {
        (Some(path), ErrorKind::MemberTooLarge { declared }) => {
            assert!(path.ends_with("bomb.npz:bomb"));
            assert_eq!(*declared, 128 + 80);
        }
        _ => panic!("expected MemberTooLarge, got {e}"),
    }
    // SAFETY: the fixture is not modified.
    let e = unsafe { z.cow::<f64, Ix1>("bomb") }.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MemberTooLarge { .. }), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = npmap::realign_npz(fixtures().join("bomb.npz"), dir.path().join("x.npz")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MemberTooLarge { .. }), "{e}");
}

#[test]
fn a_member_whose_header_disagrees_with_the_zip_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lying.npz");
    {
        let mut w = NpzWriter::create(&path).unwrap();
        w.add("a", &Array1::<f64>::zeros(4)).unwrap();
        w.finish().unwrap();
    }
    // Make the header claim 5 elements: "(4,)" -> "(5,)" in the one member.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == b"(4,)")
        .expect("shape in header");
    bytes[at + 1] = b'5';
    std::fs::write(&path, &bytes).unwrap();
    let z = NpzReader::open(&path).unwrap();
    match z.header("a").unwrap_err().kind() {
        ErrorKind::MemberSize {
            declared, expected, ..
        } => assert_eq!((*declared, *expected), (128 + 32, 128 + 40)),
        other => panic!("expected MemberSize, got {other}"),
    }
    assert!(matches!(
        z.read::<f64, Ix1>("a").as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::MemberSize { .. })
    ));
}

#[test]
fn unknown_members_list_what_there_is() {
    let z = NpzReader::open(fixtures().join("positional.npz")).unwrap();
    match z.read::<f64, Ix1>("arr_2").unwrap_err().kind() {
        ErrorKind::MemberNotFound {
            name, available, ..
        } => {
            assert_eq!(name, "arr_2");
            assert_eq!(*available, ["arr_0", "arr_1"]);
        }
        other => panic!("expected MemberNotFound, got {other}"),
    }
    // The full member name works too.
    let a: Array1<f64> = z.read("arr_0.npy").unwrap();
    assert_eq!(a.len(), 13);
}

fn sample_arrays() -> (Array2<f32>, Array2<f64>, Array1<i64>, Array1<bool>) {
    let x = Array2::from_shape_fn((50, 7), |(i, j)| (i * 7 + j) as f32 / 4.0);
    let f = Array2::from_shape_fn((5, 3).f(), |(i, j)| i as f64 - j as f64 / 2.0);
    let y = Array1::from_iter(-20i64..20);
    let m = Array1::from_shape_fn(9, |i| i % 3 == 0);
    (x, f, y, m)
}

#[test]
fn stored_archives_npmap_writes_map_every_member_zero_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.npz");
    let (x, f, y, m) = sample_arrays();
    let mut w = NpzWriter::create(&path).unwrap();
    w.add("X", &x).unwrap();
    w.add("F", &f).unwrap();
    w.add("y", &y).unwrap();
    w.add("mask", &m).unwrap();
    w.add("strided", &x.slice(s![..;3, 1..;2])).unwrap();
    w.add("empty", &Array2::<u16>::zeros((0, 4))).unwrap();
    w.add("scalar", &Array::from_elem((), 7u8)).unwrap();
    w.finish().unwrap();
    let z = NpzReader::open(&path).unwrap();
    assert_eq!(
        z.names(),
        ["X", "F", "y", "mask", "strided", "empty", "scalar"]
    );
    let len = std::fs::metadata(&path).unwrap().len();
    // SAFETY: the archive is private to this test.
    unsafe {
        let xm = z.map::<f32, Ix2>("X").unwrap();
        assert_eq!(xm.view(), x);
        // Mapping pointers keep the file offset modulo the page size.
        assert_eq!(xm.view().as_ptr() as usize % 64, 0);
        let fm = z.map::<f64, Ix2>("F").unwrap();
        assert_eq!(fm.view(), f);
        assert!(fm.header().fortran_order);
        assert_eq!(fm.view().as_ptr() as usize % 64, 0);
        let ym = z.map::<i64, Ix1>("y").unwrap();
        assert_eq!(ym.view(), y);
        assert_eq!(ym.view().as_ptr() as usize % 64, 0);
        assert_eq!(z.map::<bool, Ix1>("mask").unwrap().view(), m);
        assert_eq!(
            z.map::<f32, IxDyn>("strided").unwrap().view(),
            x.slice(s![..;3, 1..;2]).into_dyn()
        );
        assert_eq!(z.map::<u16, Ix2>("empty").unwrap().view().shape(), [0, 4]);
        assert_eq!(z.map::<u8, Ix0>("scalar").unwrap().view()[()], 7);
        assert!(matches!(
            z.map::<f32, Ix1>("X").as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::NdimMismatch { .. })
        ));
        assert!(matches!(
            z.map::<f64, Ix2>("X").as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::DTypeMismatch { .. })
        ));
        assert!(z.cow::<f32, Ix2>("X").unwrap().is_view());
    }
    // Copying reads agree, and check the CRC of each member.
    assert_eq!(z.read::<f32, Ix2>("X").unwrap(), x);
    assert_eq!(z.read::<f64, Ix2>("F").unwrap(), f);
    assert!(len > (x.len() * 4 + f.len() * 8) as u64);
}

#[test]
fn compressed_archives_read_back_and_refuse_to_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("packed.npz");
    let (x, f, y, m) = sample_arrays();
    let mut w = NpzWriter::compressed(&path).unwrap();
    w.add("X", &x).unwrap();
    w.add("F", &f).unwrap();
    w.add("y", &y).unwrap();
    w.add("mask", &m).unwrap();
    w.finish().unwrap();
    let z = NpzReader::open(&path).unwrap();
    assert_eq!(z.read::<f32, Ix2>("X").unwrap(), x);
    assert_eq!(z.read::<f64, Ix2>("F").unwrap(), f);
    assert_eq!(z.read::<i64, Ix1>("y").unwrap(), y);
    assert_eq!(z.read::<bool, Ix1>("mask").unwrap(), m);
    // SAFETY: the archive is private to this test.
    let e = unsafe { z.map::<f32, Ix2>("X") }.unwrap_err();
    match (e.path(), e.kind()) {
        (Some(path), ErrorKind::MemberCompressed { method, .. }) => {
            assert!(path.to_string_lossy().ends_with("packed.npz:X"));
            assert_eq!(method, "deflate");
        }
        _ => panic!("expected MemberCompressed, got {e}"),
    }
    assert!(e.to_string().contains("compressed"), "{e}");
}

#[test]
fn numpy_archives_are_not_all_aligned_until_realigned() {
    let manifest = manifest();
    let dir = tempfile::tempdir().unwrap();
    for archive in [
        "keywords.npz",
        "compressed.npz",
        "positional.npz",
        "with_readme.npz",
    ] {
        let src = NpzReader::open(fixtures().join(archive)).unwrap();
        let dst = dir.path().join(archive);
        npmap::realign_npz(fixtures().join(archive), &dst).unwrap();
        let z = NpzReader::open(&dst).unwrap();
        assert_eq!(z.names(), src.names(), "{archive}");
        check_against_manifest(&z, archive, manifest[archive].as_object().unwrap());
        for name in z.names() {
            if name.ends_with(".txt") {
                continue;
            }
            let h = z.header(&name).unwrap();
            // Members keep NumPy's bytes: same header as the source.
            assert_eq!(h, src.header(&name).unwrap(), "{archive}:{name}");
        }
    }
    // The NumPy-made stored archive has members whose data NumPy left misaligned.
    let numpy = NpzReader::open(fixtures().join("keywords.npz")).unwrap();
    let realigned = NpzReader::open(dir.path().join("keywords.npz")).unwrap();
    // SAFETY: the archives are private to this test or read-only fixtures.
    unsafe {
        // np.savez puts X_train's data at byte 30 + 11 + 20 + 128 = 189 of the archive.
        let e = numpy.map::<f32, Ix2>("X_train").unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::MemberMisaligned {
                offset: 189,
                align: 4,
                type_name: "f32",
            }
        );
        assert!(e.path().unwrap().ends_with("keywords.npz:X_train"));
        let e = numpy.map::<f64, Ix2>("fortran");
        let y = realigned.map::<i64, Ix1>("y_train").unwrap();
        assert_eq!(y.view(), numpy.read::<i64, Ix1>("y_train").unwrap());
        assert_eq!(y.view().as_ptr() as usize % 64, 0);
        let x = realigned.map::<f32, Ix2>("X_train").unwrap();
        assert_eq!(x.view(), numpy.read::<f32, Ix2>("X_train").unwrap());
        let c = realigned.map::<Complex<f32>, Ix1>("complex").unwrap();
        assert_eq!(c.view()[3], Complex::new(3.0, 0.0));
        let fo = realigned.map::<f64, Ix2>("fortran").unwrap();
        assert!(fo.header().fortran_order);
        assert_eq!(fo.view()[[2, 3]], 11.0 / 8.0);
        match e {
            Ok(a) => assert_eq!(a.view(), fo.view()),
            Err(e) => {
                let ErrorKind::MemberMisaligned {
                    offset,
                    align,
                    type_name,
                } = *e.kind()
                else {
                    panic!("unexpected error {e}")
                };
                assert!(e.path().unwrap().ends_with("keywords.npz:fortran"));
                assert_ne!(offset % 8, 0);
                assert_eq!((align, type_name), (8, "f64"));
            }
        }
        assert!(matches!(
            realigned
                .map::<i32, Ix2>("big_endian")
                .as_ref()
                .map_err(|e| e.kind()),
            Err(ErrorKind::NonNativeByteOrder { .. })
        ));
    }
    // The non-array member survives unchanged.
    let z = NpzReader::open(dir.path().join("with_readme.npz")).unwrap();
    assert!(matches!(
        z.read::<u8, Ix1>("readme.txt")
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::BadMagic { .. })
    ));
}

#[test]
fn a_numpy_member_at_an_odd_offset_gives_a_clear_misalignment_error() {
    // np.savez writes member "abc.npy" with a local header of 30 + 7 + 20 (zip64)
    // bytes, so its array data starts at byte 57 + 128 = 185.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.npz");
    if !crate::numpy::available("a_numpy_member_at_an_odd_offset_gives_a_clear_misalignment_error")
    {
        return;
    }
    crate::numpy::run(
        "import sys, numpy as np; np.savez(sys.argv[1], abc=np.arange(5, dtype=np.float64))",
        &[&path],
    );
    let z = NpzReader::open(&path).unwrap();
    // SAFETY: the archive is private to this test.
    let e = unsafe { z.map::<f64, Ix1>("abc") }.unwrap_err();
    match (e.path(), e.kind()) {
        (
            Some(path),
            ErrorKind::MemberMisaligned {
                offset,
                align,
                type_name,
            },
        ) => {
            assert!(path.ends_with("odd.npz:abc"));
            assert_eq!((*offset, *align, *type_name), (185, 8, "f64"));
        }
        _ => panic!("expected MemberMisaligned, got {e}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("odd.npz:abc") && text.contains("byte 185"),
        "{text}"
    );
    // SAFETY: as above.
    let c = unsafe { z.cow::<f64, Ix1>("abc") }.unwrap();
    assert!(c.is_owned());
    assert_eq!(c.to_vec(), [0.0, 1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn realign_may_overwrite_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.npz");
    std::fs::copy(fixtures().join("compressed.npz"), &path).unwrap();
    npmap::npz::realign(&path, &path).unwrap();
    let z = NpzReader::open(&path).unwrap();
    // SAFETY: the archive is private to this test.
    let y = unsafe { z.map::<i64, Ix1>("y_train") }.unwrap();
    assert_eq!(y.view().len(), 7);
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1);
}

#[test]
fn a_writer_dropped_before_finish_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.npz");
    {
        let mut w = NpzWriter::create(&path).unwrap();
        w.add("a", &Array1::<f64>::zeros(10)).unwrap();
        assert!(matches!(
            w.add("a", &Array1::<f64>::zeros(1))
                .as_ref()
                .map_err(|e| e.kind()),
            Err(ErrorKind::Zip { .. })
        ));
    }
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn readers_are_shared_across_threads() {
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<NpzReader>();
    let z = NpzReader::open(fixtures().join("compressed.npz")).unwrap();
    let sums: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| z.read::<i64, Ix1>("y_train").unwrap().sum()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(sums.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn numpy_reads_what_npmap_writes_byte_for_byte() {
    if !crate::numpy::available("numpy_reads_what_npmap_writes_byte_for_byte") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (x, f, y, m) = sample_arrays();
    for (file, compressed) in [("stored.npz", false), ("packed.npz", true)] {
        let path = dir.path().join(file);
        let mut w = if compressed {
            NpzWriter::compressed(&path).unwrap()
        } else {
            NpzWriter::create(&path).unwrap()
        };
        w.add("X", &x).unwrap();
        w.add("F", &f).unwrap();
        w.add("y", &y).unwrap();
        w.add("mask", &m).unwrap();
        w.add("strided", &x.slice(s![..;3, 1..;2])).unwrap();
        w.finish().unwrap();
        let script = r#"
import io, sys, zipfile
import numpy as np
path, compressed = sys.argv[1], sys.argv[2] == "1"
x = (np.arange(350, dtype=np.float32) / 4).reshape(50, 7)
i, j = np.meshgrid(np.arange(5), np.arange(3), indexing="ij")
f = np.asfortranarray(i - j / 2.0)
want = {"X": x, "F": f, "y": np.arange(-20, 20, dtype=np.int64),
        "mask": np.arange(9) % 3 == 0, "strided": np.ascontiguousarray(x[::3, 1::2])}
with np.load(path) as z:
    assert z.files == list(want), z.files
    for k, v in want.items():
        got = z[k]
        assert got.dtype == v.dtype and got.shape == v.shape, (k, got.dtype, got.shape)
        assert np.array_equal(got, v), k
        assert got.flags.f_contiguous == (k == "F") or got.ndim < 2, k
with zipfile.ZipFile(path) as zf:
    for info in zf.infolist():
        k = info.filename[:-4]
        buf = io.BytesIO()
        np.save(buf, want[k])
        assert zf.read(info) == buf.getvalue(), ("bytes differ", k)
        assert info.compress_type == (zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED)
print("ok", len(want))
"#;
        let out = Command::new("python3")
            .args([
                "-c",
                script,
                path.to_str().unwrap(),
                if compressed { "1" } else { "0" },
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok 5");
    }
}

#[test]
fn numpy_reads_realigned_archives() {
    if !crate::numpy::available("numpy_reads_realigned_archives") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("k.npz");
    npmap::realign_npz(fixtures().join("compressed.npz"), &dst).unwrap();
    let script = r#"
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.files == b.files
for k in a.files:
    assert np.array_equal(a[k], b[k], equal_nan=True) and a[k].dtype == b[k].dtype, k
print("ok")
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            fixtures().join("compressed.npz").to_str().unwrap(),
            dst.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes and maps a stored member past 4 GiB (zip64 sizes). Needs ~4.3 GB of disk:
/// `cargo test --release --test npz -- --ignored zip64`.
#[test]
#[ignore = "writes a 4.3 GB archive"]
fn zip64_members_past_4_gib_write_map_and_read_back_in_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.npz");
    let len = (1usize << 32) + 4096;
    let one = [3u8];
    let one = ndarray::ArrayView1::from(&one);
    let huge = one.broadcast(len).unwrap();
    let mut w = NpzWriter::create(&path).unwrap();
    w.add("small", &Array1::from_iter(0u16..10)).unwrap();
    w.add("huge", &huge).unwrap();
    w.add("after", &Array1::from_iter(0i64..10)).unwrap();
    w.finish().unwrap();
    let z = NpzReader::open(&path).unwrap();
    assert_eq!(z.names(), ["small", "huge", "after"]);
    // SAFETY: the archive is private to this test.
    unsafe {
        let m = z.map::<u8, Ix1>("huge").unwrap();
        assert_eq!(m.view().len(), len);
        assert_eq!((m.view()[0], m.view()[len - 1]), (3, 3));
        assert_eq!(z.map::<i64, Ix1>("after").unwrap().view()[9], 9);
    }
    assert_eq!(z.read::<i64, Ix1>("after").unwrap()[9], 9);
    if crate::numpy::available("zip64") {
        let script = "import sys, numpy as np; z = np.load(sys.argv[1]); print(z['after'][9], z['small'][9], z.files)";
        let out = Command::new("python3")
            .args(["-c", script, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "9 9 ['small', 'huge', 'after']",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Values of a multi-block member: compressible (rounded) but not constant, so every
/// 1 MiB block deflates to different bytes.
fn blocky(n: usize) -> Array1<f32> {
    Array1::from_iter((0..n).map(|i| ((i * 7919) % 1000) as f32 / 10.0 + (i / 100_000) as f32))
}

#[test]
fn compressed_members_in_many_blocks_round_trip_through_numpy() {
    if !crate::numpy::available("compressed_members_in_many_blocks_round_trip_through_numpy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocks.npz");
    // 3.5 MiB of data: four blocks, the last one partial; a member smaller than one
    // block; an empty member; a member of exactly one block of .npy bytes.
    let big = blocky(917_504);
    let small = Array2::<i64>::from_shape_fn((10, 3), |(i, j)| i as i64 * 10 - j as i64);
    let empty = Array1::<f64>::zeros(0);
    let exact = Array1::<u8>::from_iter((0..(1usize << 20) - 128).map(|i| (i % 7) as u8));
    let mut w = NpzWriter::compressed(&path).unwrap();
    w.add("big", &big).unwrap();
    w.add("small", &small).unwrap();
    w.add("empty", &empty).unwrap();
    w.add("exact", &exact).unwrap();
    w.finish().unwrap();

    let z = NpzReader::open(&path).unwrap();
    assert_eq!(z.names(), ["big", "small", "empty", "exact"]);
    assert_eq!(z.read::<f32, Ix1>("big").unwrap(), big);
    assert_eq!(z.read::<i64, Ix2>("small").unwrap(), small);
    assert_eq!(z.read::<f64, Ix1>("empty").unwrap(), empty);
    assert_eq!(z.read::<u8, Ix1>("exact").unwrap(), exact);
    let info = z.member_info("big").unwrap();
    assert!(
        info.compressed && info.stored_size < info.size / 2,
        "{info:?}"
    );
    let [b, e]: [Array1<f32>; 2] = z
        .read_many::<f32, Ix1>(&["big", "big"])
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!((b.len(), e[917_503]), (917_504, big[917_503]));

    let script = r#"
import sys, zipfile, zlib
import numpy as np
path = sys.argv[1]
n = 917_504
i = np.arange(n)
big = (((i * 7919) % 1000) / 10.0).astype(np.float32) + (i // 100_000).astype(np.float32)
want = {"big": big,
        "small": np.array([[r * 10 - c for c in range(3)] for r in range(10)], dtype=np.int64),
        "empty": np.zeros(0),
        "exact": (np.arange((1 << 20) - 128) % 7).astype(np.uint8)}
with np.load(path) as z:
    assert z.files == list(want), z.files
    for k, v in want.items():
        got = z[k]
        assert got.dtype == v.dtype and got.shape == v.shape, (k, got.dtype, got.shape)
        assert np.array_equal(got, v), k
with zipfile.ZipFile(path) as zf:
    assert zf.testzip() is None
    for info in zf.infolist():
        assert info.compress_type == zipfile.ZIP_DEFLATED, info
print("ok", len(want))
"#;
    let out = crate::numpy::run(script, &[&path]);
    assert_eq!(out.trim(), "ok 4");
}

#[test]
fn a_corrupt_block_of_a_compressed_member_is_refused_and_names_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.npz");
    let big = blocky(700_000);
    let mut w = NpzWriter::compressed(&path).unwrap();
    w.add("big", &big).unwrap();
    w.finish().unwrap();
    let info = NpzReader::open(&path).unwrap().member_info("big").unwrap();
    let size = info.size;
    // Flip the stored CRC-32 in the central directory (offset 16 of its record).
    let mut bytes = std::fs::read(&path).unwrap();
    let central = bytes
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    bytes[central + 16] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let e = NpzReader::open(&path)
        .unwrap()
        .read::<f32, Ix1>("big")
        .unwrap_err();
    match (e.path(), e.kind()) {
        (
            Some(p),
            ErrorKind::Crc {
                expected,
                found,
                len,
            },
        ) => {
            assert!(p.ends_with("c.npz:big"), "{e}");
            assert_eq!(expected ^ found, 0xFF);
            assert_eq!(*len, size);
        }
        _ => panic!("expected a CRC error, got {e}"),
    }
}

#[test]
fn a_compressed_archive_refuses_a_name_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.npz");
    let mut w = NpzWriter::compressed(&path).unwrap();
    w.add("a", &Array1::<u8>::zeros(3)).unwrap();
    let e = w.add("a", &Array1::<u8>::zeros(3)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Zip { .. }), "{e}");
    assert!(e.to_string().contains("a.npy"), "{e}");
    w.finish().unwrap();
    assert_eq!(NpzReader::open(&path).unwrap().names(), ["a"]);
}

#[test]
fn a_wrong_block_index_falls_back_to_the_sequential_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.npz");
    let big = blocky(917_504);
    let mut w = NpzWriter::compressed(&path).unwrap();
    w.add("big", &big).unwrap();
    w.finish().unwrap();
    assert_eq!(
        NpzReader::open(&path)
            .unwrap()
            .read::<f32, Ix1>("big")
            .unwrap(),
        big
    );
    // The index field (id 0x706e) follows the name in the central directory record:
    // shift one byte between the first two blocks' sizes, keeping their sum.
    let mut bytes = std::fs::read(&path).unwrap();
    let central = bytes
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    let field = central + 46 + "big.npy".len();
    assert_eq!(bytes[field..field + 2], [0x6e, 0x70]);
    let first = field + 8;
    let a = u32::from_le_bytes(bytes[first..first + 4].try_into().unwrap());
    let b = u32::from_le_bytes(bytes[first + 4..first + 8].try_into().unwrap());
    bytes[first..first + 4].copy_from_slice(&(a + 1).to_le_bytes());
    bytes[first + 4..first + 8].copy_from_slice(&(b - 1).to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        NpzReader::open(&path)
            .unwrap()
            .read::<f32, Ix1>("big")
            .unwrap(),
        big
    );
}

#[test]
fn a_large_numpy_deflated_member_reads_the_same_on_all_cores_and_corruption_is_caught() {
    // Members of one deflate stream over 4 MiB are inflated in parallel parts split
    // where blocks start; the result must be NumPy's array, bit for bit.
    if !crate::numpy::available(
        "a_large_numpy_deflated_member_reads_the_same_on_all_cores_and_corruption_is_caught",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (npz, a_npy, b_npy) = (
        dir.path().join("big.npz"),
        dir.path().join("a.npy"),
        dir.path().join("b.npy"),
    );
    crate::numpy::run(
        "import sys\n\
         import numpy as np\n\
         rng = np.random.default_rng(4)\n\
         a = np.round(rng.standard_normal((60000, 100)), 1).astype(np.float32)\n\
         t = np.arange(60000)[:, None] / 997.0 + np.arange(100)[None, :] * 0.1\n\
         b = np.round(np.sin(t) + rng.normal(0, 0.01, t.shape), 3)\n\
         np.savez_compressed(sys.argv[1], a=a, b=b)\n\
         np.save(sys.argv[2], a)\n\
         np.save(sys.argv[3], b)\n",
        &[&npz, &a_npy, &b_npy],
    );
    let z = NpzReader::open(&npz).unwrap();
    let a: Array2<f32> = z.read("a").unwrap();
    let b: Array2<f64> = z.read("b").unwrap();
    let a_ref: Array2<f32> = npmap::read_npy(&a_npy).unwrap();
    let b_ref: Array2<f64> = npmap::read_npy(&b_npy).unwrap();
    assert_eq!(a.dim(), (60000, 100));
    assert!(
        a.iter()
            .zip(&a_ref)
            .all(|(x, y)| x.to_bits() == y.to_bits())
    );
    assert!(
        b.iter()
            .zip(&b_ref)
            .all(|(x, y)| x.to_bits() == y.to_bits())
    );
    // On one thread (the sequential path), the same.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b1: Array2<f64> = pool.install(|| z.read("b")).unwrap();
    assert_eq!(b1, b_ref);

    // A flipped bit in the middle of b's compressed bytes: an error naming the member,
    // never other values.
    let bytes = std::fs::read(&npz).unwrap();
    let info = z.member_info("b").unwrap();
    assert!(info.compressed && info.stored_size > 4 << 20, "{info:?}");
    let mut bad = bytes.clone();
    let middle = (info.data_offset + info.stored_size / 2) as usize;
    bad[middle] ^= 0x10;
    let bad_path = dir.path().join("bad.npz");
    std::fs::write(&bad_path, &bad).unwrap();
    let e = NpzReader::open(&bad_path)
        .unwrap()
        .read::<f64, Ix2>("b")
        .unwrap_err();
    assert!(e.to_string().contains("bad.npz:b"), "{e}");
}

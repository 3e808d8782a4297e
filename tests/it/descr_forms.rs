//! Every structured descr form NumPy writes: sub-arrays of sub-arrays,
//! sub-arrays of records, fields named `''`, zero-length sub-array axes, and the type
//! strings and names `np.dtype` accepts. Expected values come from
//! `fixtures/struct/manifest.json` and `fixtures/struct/type_strings.json`, written by
//! `fixtures/make_struct_fixtures.py` from NumPy.

use ndarray::{Array1, Ix1, Ix2, Ix3, IxDyn};
use npmap::{DType, ErrorKind, HeaderOptions, MmapMode, NpyFile};
use serde_json::Value;

use crate::fixtures::{fixtures_dir, load_manifest};

fn open(rel: &str) -> NpyFile {
    // SAFETY: fixtures are never modified while the tests run.
    unsafe { NpyFile::open(fixtures_dir().join(rel), MmapMode::ReadOnly) }.unwrap()
}

fn entry(file: &str) -> Value {
    load_manifest("struct/manifest.json")
        .into_iter()
        .find(|e| e["file"] == file)
        .unwrap_or_else(|| panic!("{file} is not in the manifest"))
}

/// The manifest's record of field `path` of `file`: (sub-array shape, values).
fn field(file: &str, path: &str) -> (Vec<usize>, Vec<f64>) {
    let e = entry(file);
    let f = e["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{file}: no field {path} in the manifest"))
        .clone();
    let sub = f["sub_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let values = f["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (sub, values)
}

fn shape_of(file: &str) -> Vec<usize> {
    entry(file)["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn every_struct_fixture_is_rewritten_byte_for_byte() {
    let mut checked = 0;
    for e in load_manifest("struct/manifest.json") {
        if e.get("header_descr").is_some() {
            continue; // written by hand, not by np.save
        }
        let file = e["file"].as_str().unwrap();
        let path = fixtures_dir().join(file);
        let header = npmap::read_npy_header(&path).unwrap();
        assert_eq!(header.dtype.descr(), e["descr"].as_str().unwrap(), "{file}");
        assert_eq!(
            DType::parse(e["descr"].as_str().unwrap()).unwrap(),
            header.dtype,
            "{file}"
        );
        let f = open(file);
        let mut out = Vec::new();
        npmap::write_npy_raw_to(
            &mut out,
            &header.dtype,
            &header.shape,
            header.fortran_order,
            f.data(),
        )
        .unwrap();
        let original = std::fs::read(&path).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out[..header.data_offset as usize]),
            String::from_utf8_lossy(&original[..header.data_offset as usize]),
            "{file}: header differs from np.save's"
        );
        assert!(out == original, "{file}: data differs");
        checked += 1;
    }
    assert!(checked >= 24, "only {checked} files checked");
}

#[test]
fn a_subarray_of_a_subarray_has_numpys_shape() {
    let file = "struct/sub_of_sub.npy";
    let f = open(file);
    let (sub, values) = field(file, "c");
    assert_eq!(sub, [2, 5]);
    let c = f.read_field::<f64, Ix3>("c").unwrap();
    assert_eq!(c.shape(), [3, 2, 5]);
    assert_eq!(c.iter().copied().collect::<Vec<_>>(), values);
    assert_eq!(c[[1, 0, 3]], 10.0 * 0.5 - 3.0 + 3.0 * 0.5);
    // 82-byte records: no f64 view.
    assert!(matches!(
        f.field::<f64, Ix3>("c").as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::FieldMisaligned { .. })
    ));
    assert_eq!(f.read_field::<i16, Ix1>("k").unwrap().to_vec(), [-1, 0, 7]);
    // A path cannot go on through a sub-array of scalars.
    assert!(matches!(
        f.read_field::<f64, IxDyn>("c.x")
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::FieldNotFound { .. })
    ));

    let file = "struct/sub_of_sub_of_sub.npy";
    let f = open(file);
    let (sub, values) = field(file, "t");
    assert_eq!(sub, [2, 3, 2]);
    let view = f.field::<f32, IxDyn>("t").unwrap();
    assert_eq!(view.shape(), [2, 2, 3, 2]);
    assert_eq!(view.strides(), [12, 6, 2, 1]);
    let want: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    assert_eq!(view.iter().copied().collect::<Vec<_>>(), want);
    assert_eq!(f.read_field::<f32, IxDyn>("t").unwrap(), view);
}

#[test]
fn a_subarray_of_records_is_walked_by_dotted_paths() {
    let file = "struct/sub_of_records.npy";
    let f = open(file);
    assert_eq!(shape_of(file), [2]);
    let a = f.read_field::<i32, Ix2>("s.a").unwrap();
    assert_eq!(a, ndarray::arr2(&[[1, 2, 3], [-4, -5, -6]]));
    let (sub, values) = field(file, "s.b");
    assert_eq!(sub, [3]);
    let b = f.read_field::<f64, Ix2>("s.b").unwrap();
    assert_eq!(b.shape(), [2, 3]);
    assert_eq!(b.iter().copied().collect::<Vec<_>>(), values);
    assert_eq!(f.read_field::<u8, Ix1>("n").unwrap().to_vec(), [9, 255]);
    assert!(matches!(
        f.read_field::<i32, Ix2>("s.z").as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::FieldNotFound { available, .. }) if available == &["a", "b"]
    ));

    let file = "struct/sub_of_sub_of_records.npy";
    let f = open(file);
    for path in ["s.a", "s.b"] {
        let (sub, values) = field(file, path);
        let got: Vec<f64> = if path == "s.a" {
            let a = f.read_field::<i32, IxDyn>(path).unwrap();
            assert_eq!(a.shape(), [2, 3, 2]);
            a.iter().map(|&v| v as f64).collect()
        } else {
            let b = f.read_field::<f64, IxDyn>(path).unwrap();
            assert_eq!(b.shape(), [2, 3, 2, 2]);
            b.iter().copied().collect()
        };
        assert_eq!(sub.len() + 1, if path == "s.a" { 3 } else { 4 });
        assert_eq!(got, values, "{path}");
    }
}

#[test]
fn big_endian_nested_subarrays_are_swapped_when_copied() {
    let file = "struct/sub_of_sub_be.npy";
    let f = open(file);
    let c = f.read_field::<i32, Ix3>("c").unwrap();
    assert_eq!(c.shape(), [3, 2, 2]);
    assert_eq!(
        c.iter().copied().collect::<Vec<_>>(),
        (-5..7).collect::<Vec<_>>()
    );
    let x = f.read_field::<f64, Ix2>("r.x").unwrap();
    assert_eq!(x.iter().copied().collect::<Vec<_>>(), field(file, "r.x").1);
    if cfg!(target_endian = "little") {
        assert!(matches!(
            f.field::<i32, Ix3>("c").as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::NonNativeByteOrder { .. })
        ));
    }
}

#[test]
fn a_field_named_empty_is_kept_as_numpy_keeps_it() {
    let f = open("struct/empty_name.npy");
    let DType::Record { fields, .. } = &f.header().dtype else {
        panic!("not a record")
    };
    assert_eq!(fields[0].name, "");
    assert_eq!(f.read_field::<i32, Ix1>("").unwrap().to_vec(), [5, -6, 7]);
    assert_eq!(
        f.read_field::<f64, Ix1>("b").unwrap().to_vec(),
        [0.25, 0.5, 0.75]
    );
}

#[test]
fn a_zero_length_subarray_axis_reads_as_an_empty_array() {
    let file = "struct/zero_length_sub.npy";
    let f = open(file);
    assert_eq!(f.header().dtype.descr(), entry(file)["descr"]);
    let z = f.read_field::<i32, IxDyn>("z").unwrap();
    assert_eq!(z.shape(), [2, 3, 0, 7]);
    assert_eq!(z.len(), 0);
    let view = f.field::<i32, IxDyn>("z").unwrap();
    assert_eq!(view.shape(), [2, 3, 0, 7]);
    assert_eq!(f.read_field::<f64, Ix1>("b").unwrap().to_vec(), [1.5, -2.5]);
    assert_eq!(f.field::<f64, Ix1>("b").unwrap().to_vec(), [1.5, -2.5]);

    // Zero-sized records, and a zero-length sub-array of records.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.npy");
    let dtype = DType::parse("[('z', '<i4', (3, 0, 7)), ('s', [('a', '<f8')], (0,))]").unwrap();
    assert_eq!(dtype.itemsize(), 0);
    npmap::save_npy_raw(&path, &dtype, &[5], false, &[]).unwrap();
    // SAFETY: the test owns the file.
    let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly) }.unwrap();
    assert_eq!(
        f.read_field::<i32, IxDyn>("z").unwrap().shape(),
        [5, 3, 0, 7]
    );
    assert_eq!(f.field::<i32, IxDyn>("z").unwrap().shape(), [5, 3, 0, 7]);
    assert_eq!(f.read_field::<f64, Ix2>("s.a").unwrap().shape(), [5, 0]);
}

#[test]
fn headers_with_numpy_type_names_load_as_numpy_loads_them() {
    let floats = |file: &str| -> Vec<f64> {
        entry(file)["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    for file in [
        "struct/descr_float64.npy",
        "struct/descr_float.npy",
        "struct/descr_double_code.npy",
    ] {
        let got: Array1<f64> = npmap::read_npy(fixtures_dir().join(file)).unwrap();
        assert_eq!(got.to_vec(), floats(file), "{file}");
    }
    let ints: Array1<i64> = npmap::read_npy(fixtures_dir().join("struct/descr_int.npy")).unwrap();
    assert_eq!(ints.to_vec(), [1, -2, 1 << 40]);
    let bytes: Array1<u8> = npmap::read_npy(fixtures_dir().join("struct/descr_uint8.npy")).unwrap();
    assert_eq!(bytes.to_vec(), [0, 255]);
    let bools: Array1<bool> =
        npmap::read_npy(fixtures_dir().join("struct/descr_bool.npy")).unwrap();
    assert_eq!(bools.to_vec(), [true, false]);
    let h = npmap::read_npy_header(fixtures_dir().join("struct/descr_complex64.npy")).unwrap();
    assert_eq!(
        h.dtype.descr(),
        entry("struct/descr_complex64.npy")["descr"]
    );
    let f = open("struct/descr_names_in_record.npy");
    assert_eq!(
        f.header().dtype.descr(),
        "[('a', '<i4'), ('b', '<f8'), ('c', '<f4')]"
    );
    assert_eq!(f.read_field::<f32, Ix1>("c").unwrap().to_vec(), [2.5, -1.0]);
}

/// What npmap says of a type string NumPy accepts as `numpy_str`, or refuses (`None`).
fn check_type_string(text: &str, numpy_str: Option<&str>) -> Result<(), String> {
    let got = DType::parse(text);
    let unsupported = |s: &str| {
        s == "|O" || s.starts_with("StringDType") || s.ends_with("f16") || s.ends_with("c32")
    };
    match (numpy_str, got.as_ref().map_err(|e| e.kind())) {
        (Some(s), Ok(d)) if !unsupported(s) && d.descr() == s => Ok(()),
        (Some(s), Err(ErrorKind::UnsupportedDType { .. })) if unsupported(s) => Ok(()),
        (None, Err(ErrorKind::BadDescr { .. })) => Ok(()),
        (want, got) => Err(format!("{text:?}: NumPy {want:?}, npmap {got:?}")),
    }
}

#[test]
fn type_strings_are_read_as_np_dtype_reads_them() {
    if cfg!(target_endian = "big") {
        return; // the table's native order is little-endian
    }
    let path = fixtures_dir().join("struct/type_strings.json");
    let table: Vec<(String, Option<String>)> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(table.len() > 500);
    let wrong: Vec<String> = table
        .iter()
        .filter_map(|(text, numpy)| check_type_string(text, numpy.as_deref()).err())
        .collect();
    assert!(
        wrong.is_empty(),
        "{} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The test can fail: a refused string is told apart from an accepted one.
    assert!(check_type_string(">m[us]", Some(">m8[us]")).is_err());
    assert!(check_type_string("f", Some("<f8")).is_err());
}

fn header_with_descr(descr: &str) -> Vec<u8> {
    let mut dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}");
    let v2 = dict.len() > 60_000;
    let prefix = if v2 { 12 } else { 10 };
    while !(prefix + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    if v2 {
        out.extend([2, 0]);
        out.extend((dict.len() as u32).to_le_bytes());
    } else {
        out.extend([1, 0]);
        out.extend((dict.len() as u16).to_le_bytes());
    }
    out.extend(dict.as_bytes());
    out
}

#[test]
fn deep_and_hostile_subarray_descrs_are_bounded() {
    let read = |descr: &str, options: &HeaderOptions| {
        let bytes = header_with_descr(descr);
        npmap::Header::read_from(&mut bytes.as_slice(), None, options)
    };
    let nested = |depth: usize| {
        format!(
            "[('x', {}'<i2'{})]",
            "(".repeat(depth),
            ", (1,))".repeat(depth)
        )
    };
    // 60 levels of (base, shape): opens and renders back in NumPy's form, the
    // outermost shape after the format.
    let h = read(&nested(60), &HeaderOptions::default()).unwrap();
    assert_eq!(h.dtype.itemsize(), 2);
    let numpy_form = format!(
        "[('x', {}'<i2'{}, (1,))]",
        "(".repeat(59),
        ", (1,))".repeat(59)
    );
    assert_eq!(h.dtype.descr(), numpy_form);
    // 100 000 levels: refused by the nesting limit, not by the stack.
    let large = HeaderOptions::new().max_header_size(1 << 21);
    for options in [large.clone(), large.max_depth(100)] {
        let e = read(&nested(100_000), &options).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::HeaderNesting { .. }), "{e}");
    }
    // Sizes that overflow are refused with the descr named.
    let huge = format!("[('c', ('<f8', ({},)), (4,))]", u64::MAX / 16);
    let e = read(&huge, &HeaderOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadDescr { .. }), "{e}");
    // NumPy cannot load an array whose own dtype is a sub-array; npmap refuses it.
    let e = read("('<f8', (5,))", &HeaderOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadDescr { .. }), "{e}");
    let sub = DType::parse("('<f8', (5,))").unwrap();
    let e = npmap::write_npy_raw_to(Vec::new(), &sub, &[1], false, &[0; 40]).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadDescr { .. }), "{e}");
}

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed)]
struct AB {
    a: i32,
    b: f64,
}

impl npmap::Record for AB {
    fn fields() -> Vec<npmap::Field> {
        vec![
            npmap::Field::of::<i32>("a", 0),
            npmap::Field::of::<f64>("b", 4),
        ]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed)]
struct AB2 {
    a: i32,
    b: [f64; 2],
}

impl npmap::Record for AB2 {
    fn fields() -> Vec<npmap::Field> {
        vec![
            npmap::Field::of::<i32>("a", 0),
            npmap::Field::of::<f64>("b", 4).with_shape(&[2]),
        ]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct X {
    x: f64,
}

impl npmap::Record for X {
    fn fields() -> Vec<npmap::Field> {
        vec![npmap::Field::of::<f64>("x", 0)]
    }
}

#[test]
fn a_subarray_of_records_reads_as_records_of_numpys_shape() {
    let file = "struct/sub_of_records.npy";
    let f = open(file);
    let s = f.read_field_records::<AB, Ix2>("s").unwrap();
    assert_eq!(s.shape(), [2, 3]);
    let (_, a) = field(file, "s.a");
    let (_, b) = field(file, "s.b");
    for (k, r) in s.iter().enumerate() {
        let (ra, rb) = (r.a, r.b);
        assert_eq!((ra as f64, rb), (a[k], b[k]), "record {k}");
    }
    // 37-byte records: no view of 12-byte records.
    assert!(matches!(
        f.field_records::<AB, Ix2>("s")
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::FieldMisaligned { .. })
    ));
    assert!(matches!(
        f.read_field_records::<AB2, Ix2>("s")
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::RecordMismatch { .. })
    ));
    assert!(matches!(
        f.read_field_records::<AB, Ix1>("n")
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::RecordMismatch { .. })
    ));

    let file = "struct/sub_of_sub_of_records.npy";
    let f = open(file);
    let s = f.read_field_records::<AB2, Ix3>("s").unwrap();
    assert_eq!(s.shape(), [2, 3, 2]);
    let (_, a) = field(file, "s.a");
    let (_, b) = field(file, "s.b");
    for (k, r) in s.iter().enumerate() {
        let (ra, rb) = (r.a, r.b);
        assert_eq!((ra as f64, rb), (a[k], [b[2 * k], b[2 * k + 1]]), "{k}");
    }

    let file = "struct/sub_of_sub_be.npy";
    let f = open(file);
    let r = f.read_field_records::<X, Ix2>("r").unwrap();
    assert_eq!(r.shape(), [3, 2]);
    let want: Vec<X> = field(file, "r.x").1.into_iter().map(|x| X { x }).collect();
    assert_eq!(r.iter().copied().collect::<Vec<_>>(), want);
    if cfg!(target_endian = "little") {
        assert!(matches!(
            f.field_records::<X, Ix2>("r")
                .as_ref()
                .map_err(|e| e.kind()),
            Err(ErrorKind::NonNativeByteOrder { .. })
        ));
    }
}

/// The shape of every numeric field's copy (and view, where one is possible) of every
/// structured fixture is NumPy's `a[path].shape`: the array's axes, then `sub_shape`.
#[test]
fn every_numeric_field_has_numpys_shape() {
    let mut checked = 0;
    for e in load_manifest("struct/manifest.json") {
        let Some(fields) = e["fields"].as_array() else {
            continue;
        };
        let file = e["file"].as_str().unwrap();
        let f = open(file);
        let shape: Vec<usize> = shape_of(file);
        for field in fields {
            let path = field["path"].as_str().unwrap();
            let leaf = DType::parse(field["descr"].as_str().unwrap()).unwrap();
            let sub: Vec<usize> = field["sub_shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let want: Vec<usize> = shape.iter().chain(&sub).copied().collect();
            let got = npmap::with_element_type!(real leaf.to_native(), T => {
                let copy = f.read_field::<T, IxDyn>(path).unwrap();
                if let Ok(view) = f.field::<T, IxDyn>(path) {
                    assert_eq!(view, copy, "{file} {path}");
                }
                Some(copy.shape().to_vec())
            }, else None);
            if let Some(got) = got {
                assert_eq!(got, want, "{file} {path}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} fields checked");
}

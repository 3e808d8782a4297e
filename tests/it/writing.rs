//! Writing: `save_npy`/`save_npy_raw` give np.save's bytes; `create_npy` gives
//! np.save's header; NumPy reads what npmap writes.

use std::path::{Path, PathBuf};

use half::f16;
use ndarray::{Array, ArrayD, IxDyn, ShapeBuilder, s};
use npmap::{DType, Element, MmapMode};
use num_complex::Complex;

use crate::fixtures::{Fixture, load_manifest, open, with_element};
use crate::numpy;

fn np_save_fixtures() -> Vec<Fixture> {
    load_manifest("manifest.json")
        .iter()
        .filter(|v| v["source"] == "np.save")
        .map(Fixture::from_json)
        .collect()
}

#[test]
fn raw_resave_of_every_np_save_fixture_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = np_save_fixtures();
    assert!(
        fixtures.len() > 50,
        "only {} np.save fixtures",
        fixtures.len()
    );
    for fx in &fixtures {
        let f = open(fx).unwrap_or_else(|e| panic!("{}: {e}", fx.file));
        let h = f.header();
        let out = dir.path().join("resaved.npy");
        npmap::save_npy_raw(&out, &h.dtype, &h.shape, h.fortran_order, f.data()).unwrap();
        let expected = std::fs::read(&fx.path).unwrap();
        let found = std::fs::read(&out).unwrap();
        assert!(
            found == expected,
            "{}: bytes differ from np.save's\n{:?}\n{:?}",
            fx.file,
            String::from_utf8_lossy(&found[..(h.data_offset as usize).min(found.len())]),
            String::from_utf8_lossy(&expected[..h.data_offset as usize])
        );
    }
}

fn typed_resave<A: Element>(fx: &Fixture, out: &Path) -> Vec<u8> {
    let a: ArrayD<A> = npmap::read_npy_with(&fx.path, &fx.options()).unwrap();
    npmap::save_npy(out, &a).unwrap();
    std::fs::read(out).unwrap()
}

#[test]
fn save_npy_of_read_npy_is_byte_identical_for_native_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("typed.npy");
    let mut checked = 0;
    for fx in np_save_fixtures().iter().filter(|fx| fx.is_native_order()) {
        let Some(found) = with_element!(fx.kind, fx.itemsize, typed_resave(fx, &out)) else {
            continue;
        };
        assert!(
            found == std::fs::read(&fx.path).unwrap(),
            "{}: save_npy(read_npy(f)) differs",
            fx.file
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} typed fixtures checked");
}

#[test]
fn non_contiguous_views_are_written_in_c_order() {
    let a = Array::from_shape_fn((4, 6), |(i, j)| (i * 10 + j) as i32);
    let strided = a.slice(s![..;2, 1..;2]);
    let mut bytes = Vec::new();
    npmap::write_npy_to(&mut bytes, &strided).unwrap();
    let back: ndarray::Array2<i32> = npmap::read_npy_from(&bytes[..]).unwrap();
    assert_eq!(back, ndarray::arr2(&[[1, 3, 5], [21, 23, 25]]));
    assert!(back.is_standard_layout());

    let f = Array::from_shape_fn((3, 4).f(), |(i, j)| (i * 4 + j) as u8);
    let mut bytes = Vec::new();
    npmap::write_npy_to(&mut bytes, &f).unwrap();
    let text = String::from_utf8_lossy(&bytes[10..128]);
    assert!(text.contains("'fortran_order': True"), "{text}");
    assert_eq!(
        &bytes[128..131],
        &[0, 4, 8],
        "F-order data written as it lies in memory"
    );

    let reversed = a.slice(s![..;-1, ..]);
    let mut bytes = Vec::new();
    npmap::write_npy_to(&mut bytes, &reversed.t()).unwrap();
    let back: ndarray::Array2<i32> = npmap::read_npy_from(&bytes[..]).unwrap();
    assert_eq!(back, reversed.t());
}

#[test]
fn save_is_atomic_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    npmap::save_npy(&path, &ndarray::arr1(&[1.0f64, 2.0])).unwrap();
    // SAFETY: the test owns the file; save_npy replaces it by rename, never truncates it.
    let old = unsafe { npmap::load_npy::<f64, ndarray::Ix1>(&path, MmapMode::ReadOnly) }.unwrap();
    npmap::save_npy(&path, &ndarray::arr1(&[5.0f64, 6.0, 7.0])).unwrap();
    assert_eq!(
        old.view().to_vec(),
        [1.0, 2.0],
        "a mapping of the old file is undisturbed"
    );
    let new: ndarray::Array1<f64> = npmap::read_npy(&path).unwrap();
    assert_eq!(new.to_vec(), [5.0, 6.0, 7.0]);
    let synced = std::fs::read(&path).unwrap();
    let unsynced = npmap::SaveOptions::new().sync(false);
    npmap::save_npy_with(&path, &ndarray::arr1(&[5.0f64, 6.0, 7.0]), &unsynced).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        synced,
        "the same bytes with or without the sync"
    );
    assert_eq!(old.view().to_vec(), [1.0, 2.0]);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["a.npy"]);

    let bad = npmap::save_npy_raw(&path, &DType::parse("<f8").unwrap(), &[4], false, &[0; 8]);
    assert!(matches!(
        bad.as_ref().map_err(|e| e.kind()),
        Err(npmap::ErrorKind::DataLength {
            expected: 32,
            found: 8,
            ..
        })
    ));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["a.npy"],
        "a failed save leaves the old file and no temporary"
    );
}

#[test]
fn create_npy_is_sparse_and_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let rows = 25_000_000_000usize / 4; // 100 GB of f32 as (rows, 4)... kept sparse
    // SAFETY: the test owns the file.
    let mut m = unsafe { npmap::create_npy::<f32, _>(&path, (rows, 4)) }.unwrap();
    assert_eq!(m.header().data_offset, 128);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 128 + rows as u64 * 16);
    m.view_mut().unwrap()[[rows - 1, 3]] = 2.5;
    m.flush().unwrap();
    drop(m);
    // SAFETY: as above.
    let r = unsafe { npmap::load_npy::<f32, ndarray::Ix2>(&path, MmapMode::ReadOnly) }.unwrap();
    assert_eq!(r.view()[[rows - 1, 3]], 2.5);
    assert_eq!(r.view()[[0, 0]], 0.0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert!(
            std::fs::metadata(&path).unwrap().blocks() < 1024,
            "the file is sparse"
        );
    }
}

#[test]
fn read_only_views_refuse_writes_and_copy_on_write_never_touches_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.npy");
    npmap::save_npy(&path, &ndarray::arr1(&[1u16, 2, 3])).unwrap();
    // SAFETY: the test owns the file.
    let mut ro =
        unsafe { npmap::load_npy::<u16, ndarray::Ix1>(&path, MmapMode::ReadOnly) }.unwrap();
    assert!(matches!(
        ro.view_mut().as_ref().map_err(|e| e.kind()),
        Err(npmap::ErrorKind::ReadOnly)
    ));
    // SAFETY: as above.
    let mut cow =
        unsafe { npmap::load_npy::<u16, ndarray::Ix1>(&path, MmapMode::CopyOnWrite) }.unwrap();
    cow.view_mut().unwrap()[0] = 99;
    cow.flush().unwrap();
    assert_eq!(cow.view().to_vec(), [99, 2, 3]);
    assert_eq!(ro.view().to_vec(), [1, 2, 3]);
    let disk: ndarray::Array1<u16> = npmap::read_npy(&path).unwrap();
    assert_eq!(disk.to_vec(), [1, 2, 3]);
}

#[test]
fn two_read_write_mappings_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.npy");
    npmap::save_npy(&path, &ndarray::Array2::<i64>::zeros((3, 3))).unwrap();
    // SAFETY: the test owns the file; both mappings write valid i64 values.
    let mut a =
        unsafe { npmap::load_npy::<i64, ndarray::Ix2>(&path, MmapMode::ReadWrite) }.unwrap();
    // SAFETY: as above.
    let b = unsafe { npmap::load_npy::<i64, ndarray::Ix2>(&path, MmapMode::ReadWrite) }.unwrap();
    a.view_mut().unwrap()[[1, 2]] = -42;
    assert_eq!(b.view()[[1, 2]], -42);
}

// ------------------------------------------------------------ NumPy round trips

/// Deterministic values from a flat index, computed the same way in Python.
trait FromIndex: Element {
    /// The NumPy expression for the values, given `i = np.arange(n)`.
    const PY: &'static str;
    const DESCR: &'static str;
    fn from_index(i: usize) -> Self;
}

macro_rules! from_index_int {
    ($($t:ty => $descr:literal),*) => {$(
        impl FromIndex for $t {
            const PY: &'static str = "(i * 7 % 101)";
            const DESCR: &'static str = $descr;
            fn from_index(i: usize) -> Self {
                (i * 7 % 101) as $t
            }
        }
    )*};
}
from_index_int!(i8 => "i1", i16 => "<i2", i32 => "<i4", i64 => "<i8", u8 => "u1", u16 => "<u2", u32 => "<u4", u64 => "<u8");

impl FromIndex for bool {
    const PY: &'static str = "(i % 3 == 1)";
    const DESCR: &'static str = "?";
    fn from_index(i: usize) -> Self {
        i % 3 == 1
    }
}
impl FromIndex for f16 {
    const PY: &'static str = "(i * 0.25 - 3.0)";
    const DESCR: &'static str = "<f2";
    fn from_index(i: usize) -> Self {
        f16::from_f64(i as f64 * 0.25 - 3.0)
    }
}
impl FromIndex for f32 {
    const PY: &'static str = "(i * 0.25 - 3.0)";
    const DESCR: &'static str = "<f4";
    fn from_index(i: usize) -> Self {
        i as f32 * 0.25 - 3.0
    }
}
impl FromIndex for f64 {
    const PY: &'static str = "(i * 0.25 - 3.0)";
    const DESCR: &'static str = "<f8";
    fn from_index(i: usize) -> Self {
        i as f64 * 0.25 - 3.0
    }
}
impl FromIndex for Complex<f32> {
    const PY: &'static str = "(i * 0.5 - 1j * i)";
    const DESCR: &'static str = "<c8";
    fn from_index(i: usize) -> Self {
        Complex::new(i as f32 * 0.5, 0.0 - i as f32)
    }
}
impl FromIndex for Complex<f64> {
    const PY: &'static str = "(i * 0.5 - 1j * i)";
    const DESCR: &'static str = "<c16";
    fn from_index(i: usize) -> Self {
        Complex::new(i as f64 * 0.5, 0.0 - i as f64)
    }
}

/// Writes one file per layout for `A`; returns (file, descr, py expression, shape, order).
fn write_cases<A: FromIndex>(dir: &Path, cases: &mut Vec<String>) {
    let shapes: [&[usize]; 6] = [&[], &[0], &[7], &[3, 4], &[2, 3, 4], &[0, 5]];
    for (k, shape) in shapes.iter().enumerate() {
        for fortran in [false, true] {
            if fortran && shape.len() < 2 {
                continue;
            }
            let n: usize = shape.iter().product();
            let c =
                Array::from_shape_vec(IxDyn(shape), (0..n).map(A::from_index).collect()).unwrap();
            let name = format!(
                "{}_{k}_{}.npy",
                A::DESCR.replace(['<', '?'], "b"),
                if fortran { "f" } else { "c" }
            );
            let path = dir.join(&name);
            if fortran {
                let mut f = Array::from_elem(IxDyn(shape).f(), A::from_index(0));
                f.assign(&c);
                npmap::save_npy(&path, &f).unwrap();
            } else {
                npmap::save_npy(&path, &c).unwrap();
            }
            cases.push(format!(
                "('{name}', '{}', lambda i: {}, {:?}, {})",
                A::DESCR,
                A::PY,
                shape,
                if fortran { "'F'" } else { "'C'" }
            ));
        }
    }
    // A non-contiguous view: every other row of a (6, 5) array, reversed columns.
    let full = Array::from_shape_vec((6, 5), (0..30).map(A::from_index).collect()).unwrap();
    let view = full.slice(s![..;2, ..;-1]);
    let name = format!("{}_strided.npy", A::DESCR.replace(['<', '?'], "b"));
    npmap::save_npy(dir.join(&name), &view).unwrap();
    cases.push(format!(
        "('{name}', '{}', lambda i: {}, (6, 5), 'STRIDED')",
        A::DESCR,
        A::PY
    ));
}

const CHECK_SCRIPT: &str = r#"
import io, sys, numpy as np
cases = eval(open(sys.argv[1]).read())
checked = 0
for name, descr, values, shape, order in cases:
    path = sys.argv[2] + '/' + name
    a = np.load(path)
    if order == 'STRIDED':
        expected = values(np.arange(30)).astype(descr).reshape(shape)[::2, ::-1]
    else:
        n = int(np.prod(shape))
        expected = values(np.arange(n)).astype(descr).reshape(shape)
        if order == 'F':
            expected = np.asfortranarray(expected)
            assert a.flags.f_contiguous, name
    assert a.dtype == np.dtype(descr), (name, a.dtype, descr)
    assert a.shape == expected.shape, (name, a.shape, expected.shape)
    assert np.array_equal(a, expected), (name, a, expected)
    buf = io.BytesIO()
    np.save(buf, expected)
    assert buf.getvalue() == open(path, 'rb').read(), (name, 'bytes differ from np.save')
    checked += 1
print(checked)
"#;

#[test]
fn numpy_loads_what_npmap_saves_and_np_save_writes_the_same_bytes() {
    if !numpy::available("numpy_loads_what_npmap_saves") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    write_cases::<bool>(dir.path(), &mut cases);
    write_cases::<i8>(dir.path(), &mut cases);
    write_cases::<i16>(dir.path(), &mut cases);
    write_cases::<i32>(dir.path(), &mut cases);
    write_cases::<i64>(dir.path(), &mut cases);
    write_cases::<u8>(dir.path(), &mut cases);
    write_cases::<u16>(dir.path(), &mut cases);
    write_cases::<u32>(dir.path(), &mut cases);
    write_cases::<u64>(dir.path(), &mut cases);
    write_cases::<f16>(dir.path(), &mut cases);
    write_cases::<f32>(dir.path(), &mut cases);
    write_cases::<f64>(dir.path(), &mut cases);
    write_cases::<Complex<f32>>(dir.path(), &mut cases);
    write_cases::<Complex<f64>>(dir.path(), &mut cases);
    let list: PathBuf = dir.path().join("cases.py");
    std::fs::write(&list, format!("[{}]", cases.join(",\n"))).unwrap();
    let out = numpy::run(CHECK_SCRIPT, &[&list, dir.path()]);
    assert_eq!(out.trim(), cases.len().to_string());
}

#[test]
fn create_npy_header_matches_numpy_for_every_shape_and_order() {
    if !numpy::available("create_npy_header_matches_numpy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shapes: [&[usize]; 5] = [&[], &[5], &[12345678901, 0], &[3, 4], &[2, 0, 99999]];
    let mut cases = Vec::new();
    for (k, shape) in shapes.iter().enumerate() {
        for fortran in [false, true] {
            let name = format!("z{k}{}.npy", if fortran { "f" } else { "c" });
            // SAFETY: the test owns the file.
            let m = unsafe {
                npmap::create_npy::<f64, IxDyn>(dir.path().join(&name), IxDyn(shape).set_f(fortran))
            }
            .unwrap();
            drop(m);
            cases.push(format!(
                "('{name}', {shape:?}, '{}')",
                if fortran { "F" } else { "C" }
            ));
        }
    }
    let list = dir.path().join("cases.py");
    std::fs::write(&list, format!("[{}]", cases.join(","))).unwrap();
    let script = r#"
import io, sys, numpy as np
n = 0
for name, shape, order in eval(open(sys.argv[1]).read()):
    buf = io.BytesIO()
    np.save(buf, np.zeros(shape, dtype='<f8', order=order))
    header = buf.getvalue()[:len(buf.getvalue()) - 8 * int(np.prod(shape))]
    got = open(sys.argv[2] + '/' + name, 'rb').read(len(header))
    a = np.load(sys.argv[2] + '/' + name, mmap_mode='r')
    assert a.shape == tuple(shape) and a.dtype == np.float64, name
    assert got == header, (name, got, header)
    n += 1
print(n)
"#;
    let out = numpy::run(script, &[&list, dir.path()]);
    assert_eq!(out.trim(), cases.len().to_string());
}

/// The writer functions were renamed to `*_to` (readers end in `_from`); the old names
/// still compile, deprecated, and write the same bytes.
#[test]
#[allow(deprecated)]
fn renamed_writers_keep_their_old_names() {
    let a = ndarray::arr2(&[[1.5f32, 2.5], [3.5, 4.5]]);
    let (mut old, mut new) = (Vec::new(), Vec::new());
    npmap::write_npy(&mut old, &a).unwrap();
    npmap::write_npy_to(&mut new, &a).unwrap();
    assert_eq!(old, new);
    assert_eq!(
        npmap::read_npy_from::<f32, ndarray::Ix2>(&new[..]).unwrap(),
        a
    );
    let names = ndarray::arr1(&["a", "bc"]);
    let (mut old, mut new) = (Vec::new(), Vec::new());
    npmap::write_strings(&mut old, &names, None).unwrap();
    npmap::write_strings_to(&mut new, &names, None).unwrap();
    assert_eq!(old, new);
}

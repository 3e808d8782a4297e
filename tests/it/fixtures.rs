//! Every file in `fixtures/` made by NumPy (`fixtures/make_fixtures.py`) opens with the
//! header and values NumPy recorded in `fixtures/manifest.json`; every file in
//! `fixtures/malformed/` gives the error variant its manifest names, never a panic.
//!
//! Each test walks the whole manifest, collects every problem (a panic inside one
//! fixture is caught and reported as a problem too) and fails once with the full list,
//! so one run shows everything that is wrong.
//!
//! Needs the dev-dependency `serde_json` with its `float_roundtrip` feature: without
//! it serde_json may round decimal floats 1 ulp off, and the values here are compared
//! bit for bit (see `serde_json_parses_floats_exactly`).

use npmap::ErrorKind;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use half::f16;
use ndarray::{ArrayViewD, IxDyn};
use npmap::{Element, Error, HeaderOptions, MmapMode, NpyFile};
use num_complex::Complex;
use serde_json::Value;

// ------------------------------------------------------------------------ manifests

pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub(crate) fn load_manifest(rel: &str) -> Vec<Value> {
    let path = fixtures_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run fixtures/make_fixtures.py)", path.display()));
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        Ok(_) => panic!("{}: expected a JSON list", path.display()),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("manifest entry {v}: '{key}' is not a string"))
}

fn u64_field(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("manifest entry {v}: '{key}' is not an unsigned int"))
}

/// One entry of `fixtures/manifest.json`.
#[derive(Debug)]
pub(crate) struct Fixture {
    pub(crate) file: String,
    pub(crate) path: PathBuf,
    pub(crate) descr: String,
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) fortran_order: bool,
    pub(crate) version: (u8, u8),
    pub(crate) data_offset: u64,
    pub(crate) itemsize: usize,
    pub(crate) kind: char,
    pub(crate) byteorder: char,
    pub(crate) values: Option<Vec<Value>>,
    pub(crate) max_header_size: Option<usize>,
}

impl Fixture {
    pub(crate) fn from_json(v: &Value) -> Fixture {
        let file = str_field(v, "file").to_owned();
        let version = v["version"].as_array().expect("version is a list");
        Fixture {
            path: fixtures_dir().join(&file),
            descr: str_field(v, "descr").to_owned(),
            name: str_field(v, "name").to_owned(),
            shape: v["shape"]
                .as_array()
                .expect("shape is a list")
                .iter()
                .map(|d| d.as_u64().expect("shape holds ints") as usize)
                .collect(),
            fortran_order: v["fortran_order"]
                .as_bool()
                .expect("fortran_order is a bool"),
            version: (
                version[0].as_u64().unwrap() as u8,
                version[1].as_u64().unwrap() as u8,
            ),
            data_offset: u64_field(v, "data_offset"),
            itemsize: u64_field(v, "itemsize") as usize,
            kind: str_field(v, "kind")
                .chars()
                .next()
                .expect("kind is one char"),
            byteorder: str_field(v, "byteorder")
                .chars()
                .next()
                .expect("byteorder is one char"),
            values: v
                .get("values")
                .map(|x| x.as_array().expect("values is a list").clone()),
            max_header_size: v
                .get("max_header_size")
                .map(|x| x.as_u64().unwrap() as usize),
            file,
        }
    }

    pub(crate) fn options(&self) -> HeaderOptions {
        match self.max_header_size {
            Some(max_header_size) => HeaderOptions::new().max_header_size(max_header_size),
            None => HeaderOptions::default(),
        }
    }

    /// Data in the machine's byte order (or single bytes): a zero-copy view is possible.
    pub(crate) fn is_native_order(&self) -> bool {
        self.byteorder == '|' || self.byteorder == native_order()
    }
}

/// One entry of `fixtures/malformed/manifest.json`.
#[derive(Debug)]
struct Malformed {
    file: String,
    path: PathBuf,
    /// The expected variant, then any other acceptable ones.
    categories: Vec<String>,
    /// The descr whose element type to ask for, when the header itself is valid.
    dtype: Option<String>,
    note: String,
}

impl Malformed {
    fn from_json(v: &Value) -> Malformed {
        let file = str_field(v, "file").to_owned();
        let mut categories = vec![str_field(v, "category").to_owned()];
        if let Some(also) = v.get("also") {
            categories.extend(
                also.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned()),
            );
        }
        Malformed {
            path: fixtures_dir().join(&file),
            categories,
            dtype: v.get("dtype").map(|d| d.as_str().unwrap().to_owned()),
            note: str_field(v, "note").to_owned(),
            file,
        }
    }

    /// (kind, itemsize) of the element type to ask for: the valid dtype, or u8.
    fn element(&self) -> (char, usize) {
        match &self.dtype {
            Some(descr) => kind_and_size(descr),
            None => ('u', 1),
        }
    }
}

fn native_order() -> char {
    if cfg!(target_endian = "little") {
        '<'
    } else {
        '>'
    }
}

/// `"<f8"` -> `('f', 8)`, `"|b1"` -> `('b', 1)`.
fn kind_and_size(descr: &str) -> (char, usize) {
    let mut chars = descr.chars();
    let _order = chars.next();
    let kind = chars
        .next()
        .unwrap_or_else(|| panic!("short descr {descr:?}"));
    let size = chars
        .as_str()
        .parse()
        .unwrap_or_else(|_| panic!("descr {descr:?} has no size"));
    (kind, size)
}

/// The name of an error's variant, as the manifests spell categories.
fn variant_name(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::Io { .. } => "Io",
        ErrorKind::BadMagic { .. } => "BadMagic",
        ErrorKind::UnsupportedVersion { .. } => "UnsupportedVersion",
        ErrorKind::HeaderTooLarge { .. } => "HeaderTooLarge",
        ErrorKind::Truncated { .. } => "Truncated",
        ErrorKind::HeaderEncoding { .. } => "HeaderEncoding",
        ErrorKind::HeaderSyntax { .. } => "HeaderSyntax",
        ErrorKind::HeaderNesting { .. } => "HeaderNesting",
        ErrorKind::HeaderKeys { .. } => "HeaderKeys",
        ErrorKind::BadShape { .. } => "BadShape",
        ErrorKind::BadFortranOrder { .. } => "BadFortranOrder",
        ErrorKind::BadDescr { .. } => "BadDescr",
        ErrorKind::UnsupportedDType { .. } => "UnsupportedDType",
        ErrorKind::ShapeOverflow { .. } => "ShapeOverflow",
        ErrorKind::DTypeMismatch { .. } => "DTypeMismatch",
        ErrorKind::NdimMismatch { .. } => "NdimMismatch",
        ErrorKind::NonNativeByteOrder { .. } => "NonNativeByteOrder",
        ErrorKind::Misaligned { .. } => "Misaligned",
        ErrorKind::InvalidBool { .. } => "InvalidBool",
        ErrorKind::ReadOnly => "ReadOnly",
        _ => "<a variant this test does not know>",
    }
}

/// Runs `check` for one fixture, turning a panic into a reported problem.
fn run_isolated(file: &str, problems: &mut Vec<String>, check: impl FnOnce(&mut Vec<String>)) {
    let mut local = Vec::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| check(&mut local)));
    problems.extend(local);
    if let Err(payload) = outcome {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "<non-string panic>".into());
        problems.push(format!("{file}: PANICKED: {msg}"));
    }
}

fn fail_with(what: &str, checked: usize, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s) in {checked} {what}:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// ----------------------------------------------------------- expected element values

/// Element types whose expected values come from the manifest and compare exactly.
trait Expect: Element + Debug {
    fn from_json(v: &Value) -> Self;
    /// Exact equality: NaN equals NaN, -0.0 differs from 0.0.
    fn same(&self, other: &Self) -> bool;
}

/// A manifest float: a JSON number, or "nan", "inf", "-inf", "-0.0".
fn json_f64(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("number fits f64"),
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "-0.0" => -0.0,
            other => panic!("unexpected float string {other:?}"),
        },
        other => panic!("expected a float, found {other}"),
    }
}

impl Expect for bool {
    fn from_json(v: &Value) -> Self {
        v.as_bool()
            .unwrap_or_else(|| panic!("expected a bool, found {v}"))
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

macro_rules! expect_int {
    ($($t:ty => $get:ident),* $(,)?) => {$(
        impl Expect for $t {
            fn from_json(v: &Value) -> Self {
                let wide = v.$get().unwrap_or_else(|| panic!("expected an integer, found {v}"));
                <$t>::try_from(wide).unwrap_or_else(|_| panic!("{v} does not fit {}", stringify!($t)))
            }
            fn same(&self, other: &Self) -> bool {
                self == other
            }
        }
    )*};
}
expect_int!(i8 => as_i64, i16 => as_i64, i32 => as_i64, i64 => as_i64,
            u8 => as_u64, u16 => as_u64, u32 => as_u64, u64 => as_u64);

impl Expect for f64 {
    fn from_json(v: &Value) -> Self {
        json_f64(v)
    }
    fn same(&self, other: &Self) -> bool {
        (self.is_nan() && other.is_nan()) || self.to_bits() == other.to_bits()
    }
}

impl Expect for f32 {
    fn from_json(v: &Value) -> Self {
        let x = json_f64(v);
        let y = x as f32;
        assert!(
            x.is_nan() || f64::from(y) == x,
            "manifest value {v} is not an exact f32"
        );
        y
    }
    fn same(&self, other: &Self) -> bool {
        (self.is_nan() && other.is_nan()) || self.to_bits() == other.to_bits()
    }
}

impl Expect for f16 {
    fn from_json(v: &Value) -> Self {
        let x = json_f64(v);
        let y = f16::from_f64(x);
        assert!(
            x.is_nan() || y.to_f64() == x,
            "manifest value {v} is not an exact f16"
        );
        y
    }
    fn same(&self, other: &Self) -> bool {
        (self.is_nan() && other.is_nan()) || self.to_bits() == other.to_bits()
    }
}

macro_rules! expect_complex {
    ($($t:ty),*) => {$(
        impl Expect for Complex<$t> {
            fn from_json(v: &Value) -> Self {
                match v.as_array().map(Vec::as_slice) {
                    Some([re, im]) => Complex::new(<$t>::from_json(re), <$t>::from_json(im)),
                    _ => panic!("expected a [re, im] pair, found {v}"),
                }
            }
            fn same(&self, other: &Self) -> bool {
                self.re.same(&other.re) && self.im.same(&other.im)
            }
        }
    )*};
}
expect_complex!(f32, f64);

/// Compares elements in logical (C) order; returns a problem for the first difference.
fn compare_values<'a, A: Expect + 'a>(
    file: &str,
    what: &str,
    actual: impl ExactSizeIterator<Item = &'a A>,
    expected: &[A],
) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "{file}: {what}: {} elements, manifest has {}",
            actual.len(),
            expected.len()
        ));
    }
    for (i, (a, e)) in actual.zip(expected).enumerate() {
        if !a.same(e) {
            return Err(format!(
                "{file}: {what}: element {i} (C order) is {a:?}, NumPy wrote {e:?}"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------- type dispatch (kind, size)

/// Calls `$func::<T>(args..)` with the Rust element type for a NumPy (kind, itemsize).
/// Evaluates to `None` for kinds that have no Rust element type (strings, records, ...).
macro_rules! with_element {
    ($kind:expr, $size:expr, $func:ident ( $($arg:expr),* $(,)? )) => {
        match ($kind, $size) {
            ('b', 1) => Some($func::<bool>($($arg),*)),
            ('i', 1) => Some($func::<i8>($($arg),*)),
            ('i', 2) => Some($func::<i16>($($arg),*)),
            ('i', 4) => Some($func::<i32>($($arg),*)),
            ('i', 8) => Some($func::<i64>($($arg),*)),
            ('u', 1) => Some($func::<u8>($($arg),*)),
            ('u', 2) => Some($func::<u16>($($arg),*)),
            ('u', 4) => Some($func::<u32>($($arg),*)),
            ('u', 8) => Some($func::<u64>($($arg),*)),
            ('f', 2) => Some($func::<f16>($($arg),*)),
            ('f', 4) => Some($func::<f32>($($arg),*)),
            ('f', 8) => Some($func::<f64>($($arg),*)),
            ('c', 8) => Some($func::<Complex<f32>>($($arg),*)),
            ('c', 16) => Some($func::<Complex<f64>>($($arg),*)),
            _ => None,
        }
    };
}

pub(crate) use with_element;

// ------------------------------------------------------------------ valid fixtures

pub(crate) fn open(fx: &Fixture) -> npmap::Result<NpyFile> {
    // SAFETY: the fixtures are committed files nobody modifies while the test runs.
    unsafe { NpyFile::open_with(&fx.path, MmapMode::ReadOnly, &fx.options()) }
}

/// Header fields against the manifest.
fn check_header(fx: &Fixture, f: &NpyFile, problems: &mut Vec<String>) {
    let h = f.header();
    let file = &fx.file;
    let mut eq = |what: &str, found: String, expected: String| {
        if found != expected {
            problems.push(format!("{file}: {what} is {found}, NumPy says {expected}"));
        }
    };
    eq(
        "descr",
        format!("{:?}", h.dtype.descr()),
        format!("{:?}", fx.descr),
    );
    eq("dtype name", h.dtype.name(), fx.name.clone());
    eq(
        "itemsize",
        h.dtype.itemsize().to_string(),
        fx.itemsize.to_string(),
    );
    eq(
        "byte order",
        h.dtype.byte_order().as_char().to_string(),
        fx.byteorder.to_string(),
    );
    eq("shape", format!("{:?}", h.shape), format!("{:?}", fx.shape));
    eq(
        "fortran_order",
        h.fortran_order.to_string(),
        fx.fortran_order.to_string(),
    );
    eq(
        "version",
        format!("{:?}", h.version),
        format!("{:?}", fx.version),
    );
    eq(
        "data_offset",
        h.data_offset.to_string(),
        fx.data_offset.to_string(),
    );
}

/// Values through `read_npy`, `cow` and (native order) `view`, layout, zero copy.
fn check_values<A: Expect>(fx: &Fixture, f: &NpyFile, problems: &mut Vec<String>) {
    let file = &fx.file;
    let expected: Vec<A> = fx
        .values
        .as_ref()
        .unwrap_or_else(|| panic!("{file}: numeric fixture without values"))
        .iter()
        .map(A::from_json)
        .collect();
    let mut push = |r: Result<(), String>| {
        if let Err(p) = r {
            problems.push(p);
        }
    };

    // Copying read: any byte order, any alignment.
    match npmap::read_npy_with::<A, IxDyn>(&fx.path, &fx.options()) {
        Ok(a) if a.shape() != fx.shape.as_slice() => push(Err(format!(
            "{file}: read_npy shape {:?}, NumPy says {:?}",
            a.shape(),
            fx.shape
        ))),
        Ok(a) => push(compare_values(file, "read_npy", a.iter(), &expected)),
        Err(e) => push(Err(format!("{file}: read_npy failed: {e}"))),
    }

    // Cow: borrowed exactly when a view is possible.
    let aligned = fx
        .data_offset
        .is_multiple_of(std::mem::align_of::<A>() as u64);
    let viewable = fx.is_native_order() && aligned;
    match f.cow::<A, IxDyn>() {
        Ok(c) => {
            if c.is_view() != viewable {
                push(Err(format!(
                    "{file}: cow() is_view() = {}, expected {viewable} (native order: {}, aligned: {aligned})",
                    c.is_view(),
                    fx.is_native_order()
                )));
            }
            push(compare_values(file, "cow", c.iter(), &expected));
        }
        Err(e) => push(Err(format!("{file}: cow failed: {e}"))),
    }

    // Zero-copy view.
    let view = f.view::<A, IxDyn>();
    if !fx.is_native_order() {
        match view.map_err(npmap::Error::into_kind) {
            Err(ErrorKind::NonNativeByteOrder { .. }) => {}
            Err(e) => push(Err(format!(
                "{file}: view: expected NonNativeByteOrder, got {e}"
            ))),
            Ok(_) => push(Err(format!(
                "{file}: view of '{}' data succeeded on a '{}' machine",
                fx.byteorder,
                native_order()
            ))),
        }
    } else if !aligned {
        match view.map_err(npmap::Error::into_kind) {
            Err(ErrorKind::Misaligned { .. }) => {}
            Err(e) => push(Err(format!(
                "{file}: view at offset {}: expected Misaligned, got {e}",
                fx.data_offset
            ))),
            Ok(_) => push(Err(format!(
                "{file}: view at offset {} succeeded for a {}-aligned type",
                fx.data_offset,
                std::mem::align_of::<A>()
            ))),
        }
    } else {
        match view {
            Ok(v) => {
                push(compare_values(file, "view", v.iter(), &expected));
                push(check_layout(fx, &v, f.data()));
            }
            Err(e) => push(Err(format!("{file}: view failed: {e}"))),
        }
    }
}

/// A view has the file's memory order and points into the mapping.
fn check_layout<A>(fx: &Fixture, v: &ArrayViewD<'_, A>, data: &[u8]) -> Result<(), String> {
    let file = &fx.file;
    if v.shape() != fx.shape.as_slice() {
        return Err(format!(
            "{file}: view shape {:?}, NumPy says {:?}",
            v.shape(),
            fx.shape
        ));
    }
    let layout_ok = if fx.fortran_order {
        v.t().is_standard_layout()
    } else {
        v.is_standard_layout()
    };
    if !layout_ok {
        return Err(format!(
            "{file}: view strides {:?} do not match {} order for shape {:?}",
            v.strides(),
            if fx.fortran_order { "Fortran" } else { "C" },
            fx.shape
        ));
    }
    if !v.is_empty() && v.as_ptr().cast::<u8>() != data.as_ptr() {
        return Err(format!(
            "{file}: view does not start at the mapped data (not zero-copy)"
        ));
    }
    Ok(())
}

/// Asking for a type the file does not hold is a DTypeMismatch.
fn check_mismatch(fx: &Fixture, f: &NpyFile, problems: &mut Vec<String>) {
    let wrong_is_i64 = fx.kind == 'f' && fx.itemsize == 8;
    let r = if wrong_is_i64 {
        f.view::<i64, IxDyn>().map(|_| ())
    } else {
        f.view::<f64, IxDyn>().map(|_| ())
    };
    let asked = if wrong_is_i64 { "i64" } else { "f64" };
    match r.map_err(npmap::Error::into_kind) {
        Err(ErrorKind::DTypeMismatch { .. }) => {}
        Err(e) => problems.push(format!(
            "{}: view::<{asked}>: expected DTypeMismatch, got {e}",
            fx.file
        )),
        Ok(()) => problems.push(format!(
            "{}: view::<{asked}> of '{}' succeeded",
            fx.file, fx.descr
        )),
    }
}

fn check_fixture(fx: &Fixture, problems: &mut Vec<String>) {
    let f = match open(fx) {
        Ok(f) => f,
        Err(e) => {
            problems.push(format!("{}: open failed: {e}", fx.file));
            return;
        }
    };
    check_header(fx, &f, problems);
    check_mismatch(fx, &f, problems);
    if fx.max_header_size.is_some() {
        // SAFETY: as in `open`.
        match unsafe { NpyFile::open(&fx.path, MmapMode::ReadOnly) }
            .map_err(npmap::Error::into_kind)
        {
            Err(ErrorKind::HeaderTooLarge { .. }) => {}
            Err(e) => problems.push(format!(
                "{}: default open: expected HeaderTooLarge, got {e}",
                fx.file
            )),
            Ok(_) => problems.push(format!(
                "{}: opened with the default header cap; NumPy needs it raised",
                fx.file
            )),
        }
    }
    let numeric = with_element!(fx.kind, fx.itemsize, check_values(fx, &f, &mut *problems));
    match (numeric, &fx.values) {
        (Some(()), _) | (None, None) => {}
        (None, Some(_)) => problems.push(format!(
            "{}: manifest has values but the test has no Rust type for kind {:?} size {}",
            fx.file, fx.kind, fx.itemsize
        )),
    }
}

#[test]
fn numpy_fixtures_open_with_numpys_header_and_values() {
    let fixtures: Vec<Fixture> = load_manifest("manifest.json")
        .iter()
        .map(Fixture::from_json)
        .collect();
    assert!(
        fixtures.len() >= 90,
        "manifest lists only {} fixtures",
        fixtures.len()
    );
    let mut problems = Vec::new();
    for fx in &fixtures {
        run_isolated(&fx.file, &mut problems, |p| check_fixture(fx, p));
    }
    fail_with("fixtures", fixtures.len(), &problems);
}

fn listed_files(manifest: &str) -> BTreeSet<String> {
    load_manifest(manifest)
        .iter()
        .map(|v| str_field(v, "file").to_owned())
        .collect()
}

#[test]
fn every_fixture_file_is_in_a_manifest() {
    for (dir, manifest) in [
        ("npy", "manifest.json"),
        ("malformed", "malformed/manifest.json"),
    ] {
        let listed = listed_files(manifest);
        for entry in std::fs::read_dir(fixtures_dir().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".npy") {
                let rel = format!("{dir}/{name}");
                assert!(listed.contains(&rel), "{rel} is not listed in {manifest}");
            }
        }
    }
}

/// serde_json parses decimal floats best-effort unless its `float_roundtrip` feature is
/// on; the value comparisons above are exact, so make a wrong setup fail clearly.
#[test]
fn serde_json_parses_floats_exactly() {
    let cases: [(&str, f64); 5] = [
        ("2.2250738585072014e-308", f64::MIN_POSITIVE),
        ("1.7976931348623157e+308", f64::MAX),
        ("5e-324", f64::from_bits(1)),
        (
            "2.225073858507201e-308",
            f64::from_bits(0x000f_ffff_ffff_ffff),
        ),
        ("0.30000000000000004", 0.1 + 0.2),
    ];
    for (text, expected) in cases {
        let parsed: f64 = serde_json::from_str(text).unwrap();
        assert_eq!(
            parsed.to_bits(),
            expected.to_bits(),
            "serde_json parsed {text} as {parsed:e}: enable its `float_roundtrip` feature"
        );
    }
}

// --------------------------------------------------------------------- malformed

fn expect_category(m: &Malformed, step: &str, r: Result<(), Error>, problems: &mut Vec<String>) {
    match r {
        Err(e) if m.categories.iter().any(|c| c == variant_name(&e)) => {}
        Err(e) => problems.push(format!(
            "{}: {step}: expected {}, got {} ({e}) [{}]",
            m.file,
            m.categories.join(" or "),
            variant_name(&e),
            m.note
        )),
        Ok(()) => problems.push(format!(
            "{}: {step}: succeeded, expected {} [{}]",
            m.file,
            m.categories.join(" or "),
            m.note
        )),
    }
}

/// After a successful open: view, cow and read_npy as `A` must all fail the same way.
fn check_malformed_typed<A: Element>(
    m: &Malformed,
    opened: Option<&NpyFile>,
    problems: &mut Vec<String>,
) {
    let name = std::any::type_name::<A>();
    if let Some(f) = opened {
        let r = f.view::<A, IxDyn>().map(|_| ());
        expect_category(m, &format!("view::<{name}>"), r, problems);
        let r = f.cow::<A, IxDyn>().map(|_| ());
        expect_category(m, &format!("cow::<{name}>"), r, problems);
    }
    let r = npmap::read_npy::<A, IxDyn>(&m.path).map(|_| ());
    expect_category(m, &format!("read_npy::<{name}>"), r, problems);
}

fn check_malformed(m: &Malformed, problems: &mut Vec<String>) {
    // SAFETY: the fixtures are committed files nobody modifies while the test runs.
    let opened = unsafe { NpyFile::open(&m.path, MmapMode::ReadOnly) };
    let f = match opened {
        Ok(f) => {
            if m.dtype.is_none() {
                problems.push(format!(
                    "{}: open succeeded on a file whose header is broken (expected {}) [{}]",
                    m.file,
                    m.categories.join(" or "),
                    m.note
                ));
                return;
            }
            Some(f)
        }
        Err(e) => {
            expect_category(m, "open", Err(e), problems);
            None
        }
    };
    let (kind, size) = m.element();
    let done = with_element!(
        kind,
        size,
        check_malformed_typed(m, f.as_ref(), &mut *problems)
    );
    assert!(
        done.is_some(),
        "{}: no Rust element type for dtype {:?}",
        m.file,
        m.dtype
    );
}

#[test]
fn malformed_files_give_the_documented_error() {
    let cases: Vec<Malformed> = load_manifest("malformed/manifest.json")
        .iter()
        .map(Malformed::from_json)
        .collect();
    assert!(
        cases.len() >= 90,
        "malformed manifest lists only {} cases",
        cases.len()
    );
    let mut problems = Vec::new();
    for m in &cases {
        run_isolated(&m.file, &mut problems, |p| check_malformed(m, p));
    }
    fail_with("malformed cases", cases.len(), &problems);
}

/// Errors name the file they are about.
#[test]
fn malformed_errors_name_the_file() {
    for m in load_manifest("malformed/manifest.json")
        .iter()
        .map(Malformed::from_json)
    {
        if let Err(e) = npmap::read_npy::<u8, IxDyn>(&m.path) {
            assert_eq!(
                e.path(),
                Some(m.path.as_path()),
                "{}: error names another path: {e}",
                m.file
            );
            assert!(
                e.to_string().contains(&*m.path.to_string_lossy()),
                "{}: message lacks the path: {e}",
                m.file
            );
        }
    }
}

//! Inputs that once misbehaved, kept so they never do again. Each names who found
//! it (the mutation test, the hostile tests, or the fuzzer) and what went wrong.

use npmap::ErrorKind;
use std::time::Duration;

use ndarray::IxDyn;
use npmap::{Header, HeaderOptions};

use crate::hostile::{MIB, measured};

/// A bool file as the mutation test made them: digits inserted into the shape of
/// NumPy's header (fixtures/npy/b1_0d.npy, b1_long_1000.npy) so that it claims
/// `shape`, followed by one byte of data.
fn bool_claiming(shape: &str) -> Vec<u8> {
    let dict = format!("{{'descr': '|b1', 'fortran_order': False, 'shape': {shape}, }}");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let text = format!("{dict:<117}\n");
    bytes.extend(u16::try_from(text.len()).unwrap().to_le_bytes());
    bytes.extend(text.as_bytes());
    bytes.push(1);
    bytes
}

/// Found by tests/it/mutation.rs: from a stream, the first read step was a zeroed
/// buffer of min(claimed size, 16 MiB) whatever the stream held, so a 129-byte input
/// cost 16 MiB and up to 250 ms in a debug build. Reads from streams now start at
/// 64 KiB and double with what arrives.
#[test]
fn a_tiny_stream_claiming_a_huge_array_costs_little() {
    for (shape, claimed) in [
        ("(12345678901234, )", 12_345_678_901_234u64),
        // Under the 16 MiB step: this one was read "in one step" by the first fix.
        ("(10005220,)", 10_005_220),
    ] {
        let bytes = bool_claiming(shape);
        assert_eq!(bytes.len(), 129);
        let (r, took, largest) = measured(|| npmap::read_npy_from::<bool, IxDyn>(&bytes[..]));
        match r.map_err(npmap::Error::into_kind) {
            Err(ErrorKind::Truncated {
                what: "array data",
                offset: 128,
                expected,
                found: 1,
                ..
            }) => assert_eq!(expected, claimed),
            other => panic!("{shape}: expected Truncated, got {other:?}"),
        }
        assert!(largest <= 128 << 10, "{shape}: allocated {largest} bytes");
        assert!(took < Duration::from_millis(100), "{shape}: {took:?}");
    }
}

/// Found by tests/it/hostile.rs: from a stream, a header length field was trusted
/// for `Vec::with_capacity`, so with the cap raised a 16-byte input allocated 4 GiB.
/// The header buffer now starts at 64 KiB at most and grows with the bytes read.
#[test]
fn a_stream_header_length_is_not_trusted_for_allocation() {
    let mut bytes = b"\x93NUMPY\x03\x00".to_vec();
    bytes.extend(0xffff_fff0u32.to_le_bytes());
    bytes.extend(b"{'de");
    let unlimited = HeaderOptions::new().max_header_size(usize::MAX);
    let (r, _, largest) = measured(|| Header::read_from(&mut &bytes[..], None, &unlimited));
    match r.map_err(npmap::Error::into_kind) {
        Err(ErrorKind::Truncated {
            what: "header",
            offset: 12,
            expected: 0xffff_fff0,
            found: 4,
            ..
        }) => {}
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(largest < MIB, "allocated {largest} bytes");
}

/// Found by the fuzzer (target `header`): fixtures/regressions/crash-e8014948…
/// is the text `a8505850555555555855`, a bytes dtype of 8.5e18 bytes, whose
/// `name()` overflowed computing the bit count. The same happens for a file that
/// declares such a dtype with a zero-size shape, whose dtype-mismatch error names it.
#[test]
fn huge_flexible_dtypes_have_a_name() {
    let path = crate::fixtures::fixtures_dir()
        .join("regressions/crash-e8014948258423b44db788a46bdd0d07bcb5fd48");
    let text = std::fs::read_to_string(path).unwrap();
    let d = npmap::DType::parse(&text).unwrap();
    assert_eq!(d.itemsize(), 8_505_850_555_555_555_855);
    assert_eq!(d.name(), "bytes68046804444444446840");
    assert_eq!(
        npmap::DType::parse("<U4611686018427387903").unwrap().name(),
        "str147573952589676412896"
    );

    // 2^61 bytes per item: fits isize, its bit count (2^64) does not fit usize.
    let dict = "{'descr': '|S2305843009213693952', 'fortran_order': False, 'shape': (0,), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let text = format!("{dict:<117}\n");
    bytes.extend(u16::try_from(text.len()).unwrap().to_le_bytes());
    bytes.extend(text.as_bytes());
    match npmap::read_npy_from::<u8, IxDyn>(&bytes[..]).map_err(npmap::Error::into_kind) {
        Err(ErrorKind::DTypeMismatch {
            found, found_name, ..
        }) => {
            assert_eq!(found, "|S2305843009213693952");
            assert_eq!(found_name, "bytes18446744073709551616");
        }
        other => panic!("expected DTypeMismatch, got {other:?}"),
    }
}

/// Found by the fuzzer (target `joblib`): an object whose `BUILD` state is a list of
/// arrays. `Dump::arrays` listed them as `5`, `7`, ... but `Dump::get` did not follow
/// an object's state into a list; every listed path must lead to its array.
#[test]
fn every_array_a_dump_lists_is_found_at_its_path() {
    let bytes = std::fs::read(
        crate::fixtures::fixtures_dir().join("regressions/joblib_object_state_is_a_list.joblib"),
    )
    .unwrap();
    let dump = npmap::joblib::from_bytes(bytes).unwrap();
    let arrays = dump.arrays();
    assert!(!arrays.is_empty());
    for (path, array) in &arrays {
        let found = dump.get(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(found.array().unwrap(), *array, "{path}");
    }
}

//! Hostile inputs beyond the malformed corpus: streams and raised caps. Each test
//! asserts the error variant and, where a size is claimed, that nothing of that size
//! was allocated and that the answer came quickly.

use npmap::ErrorKind;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::time::{Duration, Instant};

use ndarray::IxDyn;
use npmap::{Error, Header, HeaderOptions, MmapMode, NpyFile};

/// The system allocator, remembering the largest single request made by each thread,
/// so a test can show that a size claimed by a file was never allocated.
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: allocations during thread teardown are simply not recorded.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every method forwards to `System` with the same arguments; the bookkeeping
// touches only a thread-local `Cell` (no allocation, no reentrancy).
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` and returns its result, how long it took, and the largest allocation it
/// (this thread) made.
pub(crate) fn measured<T>(f: impl FnOnce() -> T) -> (T, Duration, usize) {
    LARGEST.with(|l| l.set(0));
    let start = Instant::now();
    let out = f();
    (out, start.elapsed(), LARGEST.with(Cell::get))
}

fn malformed(name: &str) -> std::path::PathBuf {
    crate::fixtures::fixtures_dir().join("malformed").join(name)
}

/// A `.npy` prefix: magic, version, length field, then `text` as given.
fn npy(version: (u8, u8), len_field: u32, text: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version.0, version.1]);
    if version.0 == 1 {
        out.extend(u16::try_from(len_field).unwrap().to_le_bytes());
    } else {
        out.extend(len_field.to_le_bytes());
    }
    out.extend_from_slice(text);
    out
}

/// A header dict padded as NumPy pads it, in a file of `version`.
fn npy_dict(version: (u8, u8), dict: &str) -> Vec<u8> {
    let prefix = if version.0 == 1 { 10 } else { 12 };
    let total = (prefix + dict.len() + 1).next_multiple_of(64);
    let text = format!("{dict:<width$}\n", width = total - prefix - 1);
    npy(version, text.len() as u32, text.as_bytes())
}

pub(crate) const MIB: usize = 1 << 20;

#[test]
fn an_8_tib_shape_is_refused_without_allocating_it() {
    let path = malformed("shape_8tib.npy");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() < 4096);
    let truncated_8tib = |e: &Error| matches!(e.kind(), ErrorKind::Truncated { what: "array data", expected, .. } if *expected == 8 << 40);
    // Mapped.
    // SAFETY: a committed fixture nobody modifies.
    let (r, took, largest) = measured(|| unsafe { NpyFile::open(&path, MmapMode::ReadOnly) });
    let e = r.unwrap_err();
    assert!(truncated_8tib(&e), "{e}");
    assert!(
        largest < MIB && took < Duration::from_secs(1),
        "{largest} {took:?}"
    );
    // Copying, from the file.
    let (r, took, largest) = measured(|| npmap::read_npy::<f64, IxDyn>(&path));
    let e = r.unwrap_err();
    assert!(truncated_8tib(&e), "{e}");
    assert!(
        largest < MIB && took < Duration::from_secs(1),
        "{largest} {took:?}"
    );
    // Copying, from a stream whose length is unknown: memory follows the bytes that
    // actually arrive (in steps of 16 MiB), not the 8 TiB claimed.
    let (r, took, largest) = measured(|| npmap::read_npy_from::<f64, IxDyn>(&bytes[..]));
    match r.map_err(npmap::Error::into_kind) {
        Err(ErrorKind::Truncated {
            what: "array data",
            expected,
            found,
            ..
        }) => {
            assert_eq!(expected, 8 << 40);
            assert_eq!(found as usize, bytes.len() - 128);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    // The first step of a stream read is 64 KiB (it used to be a zeroed 16 MiB).
    assert!(largest <= MIB, "allocated {largest} bytes");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_stream_claiming_8_tib_costs_only_what_it_holds() {
    // 40 MiB of real data behind an 8 TiB header: the read fails at the end of the
    // data, having grown in steps to about what arrived.
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }";
    let header = npy_dict((1, 0), dict);
    let data = std::io::repeat(0x3f).take(40 * MIB as u64);
    let stream = (&header[..]).chain(data);
    let (r, took, largest) = measured(|| npmap::read_npy_from::<f64, IxDyn>(stream));
    match r.map_err(npmap::Error::into_kind) {
        Err(ErrorKind::Truncated {
            expected, found, ..
        }) => assert_eq!((expected, found), (8 << 40, 40 * MIB as u64)),
        other => panic!("expected Truncated, got {other:?}"),
    }
    // Growth doubles what arrived, in steps of at most 16 MiB.
    assert!(
        largest <= 2 * 40 * MIB + 16 * MIB,
        "allocated {largest} bytes"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_4_gib_header_length_is_refused_before_reading() {
    let path = malformed("header_len_4gib_v2.npy");
    let bytes = std::fs::read(&path).unwrap();
    // Default cap, from a stream: HeaderTooLarge, nothing read.
    let r = npmap::read_npy_from::<u8, IxDyn>(&bytes[..]);
    assert!(
        matches!(
            r.as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::HeaderTooLarge {
                found: 0xffff_ffff,
                limit: 10_000,
                ..
            })
        ),
        "{r:?}"
    );
    // With the cap lifted entirely, the file length still refuses it before any read...
    let unlimited = HeaderOptions::new().max_header_size(usize::MAX);
    // SAFETY: a committed fixture nobody modifies.
    let (r, _, largest) =
        measured(|| unsafe { NpyFile::open_with(&path, MmapMode::ReadOnly, &unlimited) });
    match r.map_err(npmap::Error::into_kind) {
        Err(ErrorKind::Truncated {
            what: "header",
            expected: 0xffff_ffff,
            ..
        }) => {}
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(largest < MIB, "allocated {largest} bytes");
    // ...and from a stream, where the length is unknown, the buffer grows with the
    // bytes that arrive instead of being sized from the 4 GiB claim.
    let (r, took, largest) = measured(|| Header::read_from(&mut &bytes[..], None, &unlimited));
    match r.map_err(npmap::Error::into_kind) {
        Err(ErrorKind::Truncated {
            what: "header",
            expected: 0xffff_ffff,
            found,
            ..
        }) => assert_eq!(found as usize, bytes.len() - 12),
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(largest < MIB, "allocated {largest} bytes for a 4 GiB claim");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn nesting_100k_under_a_raised_cap_fails_fast_on_depth() {
    let path = malformed("nesting_100k_v2.npy");
    let bytes = std::fs::read(&path).unwrap();
    let raised = HeaderOptions::new().max_header_size(MIB);
    let nesting = |r: Result<(), Error>| match r.map_err(npmap::Error::into_kind) {
        Err(ErrorKind::HeaderNesting {
            limit: 128, offset, ..
        }) => {
            // The dict is level 1, so the 128th '[' of the descr (which starts after
            // the 12-byte prefix and "{'descr': ") is level 129.
            assert_eq!(offset, 12 + 10 + 127);
        }
        other => panic!("expected HeaderNesting, got {other:?}"),
    };
    let start = Instant::now();
    nesting(Header::read_from(&mut &bytes[..], Some(bytes.len() as u64), &raised).map(|_| ()));
    // SAFETY: a committed fixture nobody modifies.
    nesting(unsafe { NpyFile::open_with(&path, MmapMode::ReadOnly, &raised) }.map(|_| ()));
    nesting(npmap::read_npy_with::<f64, IxDyn>(&path, &raised).map(|_| ()));
    // Three parses of a 200 KB header: milliseconds in release, well under a second
    // in a debug build.
    let took = start.elapsed();
    assert!(took < Duration::from_millis(500), "{took:?}");
}

#[test]
fn sixty_five_dimensions_are_refused_sixty_four_accepted() {
    let shape = |n: usize| {
        format!(
            "({})",
            vec!["1"; n].join(", ") + if n == 1 { "," } else { "" }
        )
    };
    let file = |n: usize| {
        let mut b = npy_dict(
            (1, 0),
            &format!(
                "{{'descr': '|u1', 'fortran_order': False, 'shape': {}, }}",
                shape(n)
            ),
        );
        b.push(42);
        b
    };
    let ok: ndarray::ArrayD<u8> = npmap::read_npy_from(&file(64)[..]).unwrap();
    assert_eq!(
        (ok.ndim(), ok.iter().copied().collect::<Vec<_>>()),
        (64, vec![42])
    );
    match npmap::read_npy_from::<u8, IxDyn>(&file(65)[..]).map_err(npmap::Error::into_kind) {
        Err(ErrorKind::BadShape { found, .. }) => {
            assert!(found.contains("65 dimensions"), "{found}")
        }
        other => panic!("expected BadShape, got {other:?}"),
    }
}

#[test]
fn invalid_utf8_in_a_v3_stream_is_an_encoding_error_at_its_offset() {
    let bytes = std::fs::read(malformed("v3_invalid_utf8_byte.npy")).unwrap();
    let bad = bytes.iter().position(|&b| b == 0xff).unwrap() as u64;
    match npmap::read_npy_from::<u8, IxDyn>(&bytes[..]).map_err(npmap::Error::into_kind) {
        Err(ErrorKind::HeaderEncoding {
            encoding: "utf-8",
            offset,
            ..
        }) => assert_eq!(offset, bad),
        other => panic!("expected HeaderEncoding, got {other:?}"),
    }
    // The same bytes in a 1.0 header are latin-1 text: the field is named 'ÿ...'.
    let mut v1 = bytes.clone();
    v1[6] = 1;
    v1.remove(11);
    v1.remove(10);
    let len = u16::from_le_bytes([v1[8], v1[9]]);
    assert_eq!(
        u32::from(len),
        u32::from_le_bytes(bytes[8..12].try_into().unwrap())
    );
    let h = Header::read_from(&mut &v1[..], None, &HeaderOptions::default());
    let h = h.unwrap();
    let npmap::DType::Record { fields, .. } = &h.dtype else {
        panic!("not a record: {:?}", h.dtype)
    };
    assert!(fields[0].name.contains('ÿ'), "{:?}", fields[0].name);
}

#[test]
fn nul_bytes_anywhere_are_refused_with_their_offset() {
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
    for (at, expect) in [
        (0, "syntax"),                            // before the dict
        (dict.len(), "syntax"),                   // after the dict, in the padding
        (14, "descr"),                            // inside the descr string: '<f8\0'
        (dict.find("(1").unwrap() + 1, "syntax"), // inside the shape tuple
    ] {
        let mut text = dict.to_string();
        text.insert(at, '\0');
        let mut bytes = npy_dict((1, 0), &text);
        bytes.extend(1.5f64.to_le_bytes());
        let r = npmap::read_npy_from::<f64, IxDyn>(&bytes[..]);
        match (expect, r.map_err(npmap::Error::into_kind)) {
            ("syntax", Err(ErrorKind::HeaderSyntax { offset, .. })) => {
                assert_eq!(offset, 10 + at as u64, "NUL at {at}")
            }
            ("descr", Err(ErrorKind::BadDescr { found, .. })) => {
                assert!(found.contains("\\x00"), "{found}")
            }
            (_, other) => panic!("NUL at {at}: expected {expect}, got {other:?}"),
        }
    }
}

/// Every file in the malformed corpus is refused from a stream too (where the
/// length is unknown), with the same error the file gives.
#[test]
fn malformed_corpus_from_streams_matches_files() {
    let dir = crate::fixtures::fixtures_dir().join("malformed");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "npy") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let from_file = npmap::read_npy::<u8, IxDyn>(&path);
        let (from_stream, took, largest) =
            measured(|| npmap::read_npy_from::<u8, IxDyn>(&bytes[..]));
        let name = path.file_name().unwrap().to_string_lossy();
        let variant = |r: &npmap::Result<_>| match r {
            Ok(_) => "Ok".to_string(),
            Err(e) => format!("{e:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap()
                .to_string(),
        };
        let (file_says, stream_says) = (variant(&from_file), variant(&from_stream));
        // A file's length shows short data before the dtype is compared; a stream
        // can only find it out by reading, after the dtype check.
        let short_data = matches!(
            from_file.as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::Truncated {
                what: "array data",
                ..
            })
        );
        assert!(
            stream_says == file_says
                || (short_data && ["DTypeMismatch", "Truncated"].contains(&&*stream_says)),
            "{name}: file: {file_says}, stream: {stream_says}"
        );
        assert!(largest <= MIB + bytes.len(), "{name}: allocated {largest}");
        assert!(took < Duration::from_secs(1), "{name}: {took:?}");
        checked += 1;
    }
    assert!(checked >= 90, "{checked}");
}

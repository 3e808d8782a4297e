//! Every copying reader on arbitrary bytes, meant to run under an allocation limit
//! (`-malloc_limit_mb=512 -rss_limit_mb=1024`): a copy must cost about what the file
//! holds, never what its header claims, so any allocation sized by a claim is found.
//!
//! - `read_npy_from` (a stream) and `read_npy` (a file) as several element types;
//! - `NpyBytes::parse` + `view`/`cow`;
//! - the bytes as a `.npy` file in /dev/shm: `NpyFile::cow`, `read_strings`,
//!   `read_bytes_strings`, `read_datetimes`, `read_timedeltas`, `read_records`, and
//!   `read_field`/`read_field_strings`/`read_field_bytes_strings` of every field;
//! - the same file as a `.npz` archive: `NpzReader::read` of every member.
#![no_main]

use std::mem::offset_of;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use npmap::ndarray::IxDyn;
use npmap::num_complex::Complex;
use npmap::{DType, Element, Field, MmapMode, NpyBytes, NpyFile, NpzReader, Record};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("npmap-fuzz-copy-{}.npy", std::process::id()))
    })
}

/// The layout of fixtures/struct/fortran_2d.npy: `[('i', '<i4'), ('f', '<f4')]`.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct Pair {
    i: i32,
    f: f32,
}

impl Record for Pair {
    fn fields() -> Vec<Field> {
        vec![
            Field::of::<i32>("i", offset_of!(Pair, i)),
            Field::of::<f32>("f", offset_of!(Pair, f)),
        ]
    }
}

fn stream<A: Element>(data: &[u8]) {
    if let Ok(a) = npmap::read_npy_from::<A, IxDyn>(data) {
        let _ = a.len();
    }
}

fn bytes<A: Element>(b: &NpyBytes<'_>) {
    let view = b.view::<A, IxDyn>();
    let cow = b.cow::<A, IxDyn>();
    if view.is_ok() {
        assert!(cow.is_ok(), "cow fails where view succeeds");
    }
    if let Ok(c) = cow {
        assert_eq!(c.len(), b.header().len());
    }
}

fn file<A: Element>(f: &NpyFile) {
    if let Ok(c) = f.cow::<A, IxDyn>() {
        assert_eq!(c.len(), f.header().len());
    }
    if let Ok(a) = npmap::read_npy::<A, IxDyn>(f.path()) {
        assert_eq!(a.len(), f.header().len());
    }
}

/// Strings a string copy would hold: the records times the field's sub-array.
/// Only zero-size items (`|S0`, `<U0`) make it exceed what a fuzz input (at most a
/// few hundred KB) can hold.
fn strings_claimed(f: &NpyFile, sub: &[usize]) -> usize {
    sub.iter()
        .fold(f.header().len(), |n, &d| n.saturating_mul(d))
}

/// The most strings a copy is asked for here. Zero-size items (`|S0`, `<U0`) with a
/// huge shape make the copies reserve one `String` per claimed item; the library
/// turns a failed reservation into an error (tests/it/faults_alloc.rs), but
/// libFuzzer's `-malloc_limit_mb` reports any single allocation over its limit,
/// failed or not. 2^24 strings (384 MiB of `String`s) stay under the 512 MB limit the
/// runs use.
const STRINGS_WITHIN_MALLOC_LIMIT: usize = 1 << 24;

fn fields(f: &NpyFile) {
    let DType::Record { fields, .. } = &f.header().dtype else {
        return;
    };
    for field in fields {
        let name = field.name.as_str();
        let _ = f.read_field::<f64, IxDyn>(name);
        let _ = f.read_field::<i32, IxDyn>(name);
        let _ = f.read_field::<u8, IxDyn>(name);
        let _ = f.read_field::<i64, IxDyn>(name);
        if strings_claimed(f, &field.shape) <= STRINGS_WITHIN_MALLOC_LIMIT {
            let _ = f.read_field_strings::<IxDyn>(name);
            let _ = f.read_field_bytes_strings::<IxDyn>(name);
        }
    }
}

fn member<A: Element>(z: &NpzReader, name: &str) {
    if let Ok(a) = z.read::<A, IxDyn>(name) {
        let h = z.header(name).expect("a member that reads has a header");
        assert_eq!(a.shape(), &h.shape[..]);
    }
}

fuzz_target!(|data: &[u8]| {
    stream::<u8>(data);
    stream::<bool>(data);
    stream::<i16>(data);
    stream::<f32>(data);
    stream::<i64>(data);
    stream::<f64>(data);
    stream::<Complex<f64>>(data);
    stream::<npmap::half::f16>(data);

    if let Ok(b) = NpyBytes::parse(data) {
        bytes::<u8>(&b);
        bytes::<bool>(&b);
        bytes::<i32>(&b);
        bytes::<f64>(&b);
        bytes::<Complex<f32>>(&b);
    }

    let npy = scratch();
    let written = std::fs::write(npy, data).is_ok();
    if written {
        // SAFETY: this process owns the scratch file; nothing truncates it while mapped.
        if let Ok(f) = unsafe { NpyFile::open(npy, MmapMode::ReadOnly) } {
            file::<u8>(&f);
            file::<f64>(&f);
            file::<bool>(&f);
            file::<i32>(&f);
            if strings_claimed(&f, &[]) <= STRINGS_WITHIN_MALLOC_LIMIT {
                let _ = f.read_strings::<IxDyn>();
                let _ = f.read_bytes_strings::<IxDyn>();
            }
            let _ = f.read_datetimes::<IxDyn>();
            let _ = f.read_timedeltas::<IxDyn>();
            let _ = f.read_records::<Pair, IxDyn>();
            let _ = npmap::read_records::<Pair, IxDyn>(npy);
            fields(&f);
        }
    }

    // The same file as an archive (the reader does not look at the name).
    if written {
        if let Ok(z) = NpzReader::open(npy) {
            for name in z.names() {
                member::<u8>(&z, &name);
                member::<f64>(&z, &name);
                member::<bool>(&z, &name);
                member::<i32>(&z, &name);
            }
        }
    }
});

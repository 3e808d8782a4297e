//! Opening cost: mapping a 1 GB `.npy` and taking its view, and parsing adversarial
//! 10 000-byte headers (deep nesting, long strings).
//!
//! Run: `cargo bench --bench open`

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Ix2;
use npmap::{Header, HeaderOptions, MmapMode};

/// A 1 GB float32 file (250 000 × 1 000), created sparse so setting up costs nothing.
fn one_gigabyte_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("big.npy");
    // SAFETY: the file is private to this benchmark.
    let created = unsafe { npmap::create_npy::<f32, _>(&path, (250_000, 1_000)) }.unwrap();
    drop(created);
    path
}

/// A v1.0 header of about 10 000 bytes whose dict holds `value` as the descr.
fn header_with_descr(value: &str) -> Vec<u8> {
    let dict = format!("{{'descr': {value}, 'fortran_order': False, 'shape': (1,), }}");
    let mut text = dict.into_bytes();
    let pad = 64 - (10 + text.len() + 1) % 64;
    text.extend(std::iter::repeat_n(b' ', pad));
    text.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.write_all(&(text.len() as u16).to_le_bytes()).unwrap();
    out.extend(text);
    out
}

fn parse(bytes: &[u8]) -> npmap::Result<Header> {
    Header::read_from(&mut &bytes[..], None, &HeaderOptions::default())
}

fn bench_open(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = one_gigabyte_file(dir.path());
    c.bench_function("open 1 GB .npy + view (mapped)", |b| {
        b.iter(|| {
            // SAFETY: nothing modifies the file during the benchmark.
            let x = unsafe { npmap::load_npy::<f32, Ix2>(&path, MmapMode::ReadOnly) }.unwrap();
            black_box(x.view().dim());
        })
    });
}

fn bench_headers(c: &mut Criterion) {
    let nested = header_with_descr(&format!("{}{}", "[".repeat(4_900), "]".repeat(4_900)));
    let long_string = header_with_descr(&format!("'{}'", "x".repeat(9_800)));
    let many_fields = header_with_descr(&format!(
        "[{}]",
        (0..380)
            .map(|i| format!("('f{i:04}', '<f8')"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    assert!(parse(&nested).is_err());
    assert!(parse(&long_string).is_err());
    assert_eq!(parse(&many_fields).unwrap().dtype.itemsize(), 380 * 8);
    let mut group = c.benchmark_group("parse 10 000-byte header");
    for (name, bytes) in [
        ("deep nesting", &nested),
        ("long string", &long_string),
        ("380 fields", &many_fields),
    ] {
        assert!(
            bytes.len() <= 10_000 + 10,
            "{name} is {} bytes",
            bytes.len()
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(parse(black_box(bytes)).is_ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_open, bench_headers);
criterion_main!(benches);

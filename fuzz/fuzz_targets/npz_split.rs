//! The parallel read of a deflated member written as one stream (split where its
//! blocks start), differentially: a valid archive whose member is one deflate stream
//! of 4.5 MB (past the size where reads split it) is damaged by the input, read as it
//! always is (on 2 threads) and on one thread (the sequential reader), and the two
//! must agree: the same values, or both an error.
//!
//! The input is a list of edits, 5 bytes each: a little-endian `u32` position within
//! the member's compressed bytes (modulo their length) and a byte XORed there.
#![no_main]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use npmap::NpzReader;
use npmap::ndarray::{Array1, Ix1};

struct Base {
    archive: Vec<u8>,
    /// The member's compressed bytes in `archive`.
    start: usize,
    len: usize,
    path: PathBuf,
    two: rayon::ThreadPool,
    one: rayon::ThreadPool,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        // 2.4 M float32 values with three decimals: deflates to about half.
        let mut x = 1u64;
        let values: Array1<f32> = (0..2_400_000)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((i as f32 / 997.0).sin() * 1000.0 + ((x >> 40) % 100) as f32).round() / 1000.0
            })
            .collect();
        let mut npy = Vec::new();
        npmap::write_npy_to(&mut npy, &values).unwrap();
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(6));
        zip.start_file("x.npy", options).unwrap();
        zip.write_all(&npy).unwrap();
        let archive = zip.finish().unwrap().into_inner();
        // The local header: 30 bytes, the name, the extra field; then the data.
        let name = u16::from_le_bytes([archive[26], archive[27]]) as usize;
        let extra = u16::from_le_bytes([archive[28], archive[29]]) as usize;
        let len = u32::from_le_bytes(archive[18..22].try_into().unwrap()) as usize;
        assert!(
            len > 4 << 20,
            "the member must be large enough to be split: {len}"
        );
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        Base {
            archive,
            start: 30 + name + extra,
            len,
            path: dir.join(format!("npmap-fuzz-split-{}.npz", std::process::id())),
            two: rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap(),
            one: rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let base = base();
    let mut archive = base.archive.clone();
    for edit in data.chunks_exact(5).take(64) {
        let at = u32::from_le_bytes([edit[0], edit[1], edit[2], edit[3]]) as usize % base.len;
        archive[base.start + at] ^= edit[4];
    }
    std::fs::write(&base.path, &archive).unwrap();
    let z = NpzReader::open(&base.path).unwrap();
    let split = base.two.install(|| z.read::<f32, Ix1>("x"));
    let sequential = base.one.install(|| z.read::<f32, Ix1>("x"));
    match (&split, &sequential) {
        (Ok(a), Ok(b)) => assert!(
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "the split read gave other values"
        ),
        (Err(_), Err(_)) => {}
        _ => panic!(
            "split and sequential reads disagree: {:?} against {:?}",
            split.as_ref().map(|a| a.len()),
            sequential.as_ref().map(|a| a.len())
        ),
    }
});

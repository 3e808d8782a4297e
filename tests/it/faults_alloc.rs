//! Faults: allocations that cannot succeed are errors, as NumPy raises `MemoryError`,
//! never an abort or a capacity-overflow panic. The risky reads run in a child
//! process (this test binary again) under an address-space limit (`RLIMIT_AS`).

use std::io::Write;
use std::path::Path;

use ndarray::{Ix1, Ix2};
use npmap::{ErrorKind, MmapMode, NpyFile, NpzReader};

use crate::faults::child_stdout;

const OOM_ENV: &str = "NPMAP_OOM_CHILD_DIR";

/// The address-space limit of the child: what the tester used.
const AS_LIMIT: u64 = 2 << 30;

/// Lowers this process's address-space limit to `bytes`.
fn limit_address_space(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads the struct we pass; the limit applies to this child only.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
}

/// A version 1.0 `.npy` header (128 bytes) for `descr` and `shape` (Python text).
fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let mut out = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    out.extend(format!("{dict:<117}\n").as_bytes());
    assert_eq!(out.len(), 128);
    out
}

/// A raw-deflate stream of `data`, flushed so that it can be followed by more
/// independently compressed pieces (a full flush resets the history).
fn deflate_piece(data: &[u8]) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    c.compress_vec(data, &mut out, flate2::FlushCompress::Full)
        .unwrap();
    assert_eq!(c.total_in(), data.len() as u64);
    out
}

/// A zip archive of one deflated member `name` whose uncompressed bytes are `head`
/// followed by zeros up to `pieces` MiB, built without ever holding them: the
/// compressed MiB of zeros is repeated.
fn deflated_zeros_zip(name: &str, head: &[u8], pieces: usize) -> Vec<u8> {
    const MIB: usize = 1 << 20;
    let mut first = head.to_vec();
    first.resize(MIB, 0);
    let zeros = vec![0u8; MIB];
    let (p0, pz) = (deflate_piece(&first), deflate_piece(&zeros));
    let mut crc = crc32fast::Hasher::new();
    crc.update(&first);
    let mut crc_z = crc32fast::Hasher::new();
    crc_z.update(&zeros);
    let mut data = p0;
    for _ in 1..pieces {
        data.extend_from_slice(&pz);
        crc.combine(&crc_z);
    }
    data.extend_from_slice(&[0x03, 0x00]); // a final, empty fixed-Huffman block
    let size = (pieces * MIB) as u32;
    zip_of(&[(name, 8, crc.finalize(), size, &data)])
}

/// A zip archive of `(name, method, crc, uncompressed size, stored bytes)` entries,
/// one after another.
pub(crate) fn zip_of(entries: &[(&str, u16, u32, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for &(name, method, crc, size, data) in entries {
        let offset = out.len() as u32;
        let fixed = |sig: u32, out: &mut Vec<u8>| {
            out.extend(sig.to_le_bytes());
            if sig == 0x0201_4b50 {
                out.extend(20u16.to_le_bytes()); // version made by
            }
            out.extend(20u16.to_le_bytes()); // version needed
            out.extend(0u16.to_le_bytes()); // flags
            out.extend(method.to_le_bytes());
            out.extend([0u8; 4]); // time, date
            out.extend(crc.to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend(size.to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes()); // extra length
        };
        fixed(0x0403_4b50, &mut out);
        out.extend(name.as_bytes());
        out.extend(data);
        fixed(0x0201_4b50, &mut central);
        central.extend([0u8; 6]); // comment length, disk, internal attributes
        central.extend(0u32.to_le_bytes()); // external attributes
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    eocd(&mut out, &central, entries.len());
    out
}

/// Appends `central` and the end-of-central-directory record for `count` entries.
pub(crate) fn eocd(out: &mut Vec<u8>, central: &[u8], count: usize) {
    let start = out.len() as u32;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]); // disk numbers
    out.extend((count as u16).to_le_bytes());
    out.extend((count as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
}

/// This process's peak resident set size, in KiB: `VmHWM` of its memory map, which
/// (unlike `getrusage`'s `ru_maxrss`) starts afresh at `exec`, so the parent's
/// peak does not count.
fn peak_resident_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// One line for the parent: the case, the error's kind and its message.
fn report(case: &str, r: Result<String, npmap::Error>) {
    match r {
        Ok(ok) => println!("@ {case}: ok {ok}"),
        Err(e) => println!("@ {case}: {:?} | {e}", e.kind()),
    }
}

/// The child side of `allocations_that_cannot_succeed_are_errors`.
#[test]
#[ignore = "run by allocations_that_cannot_succeed_are_errors in a child process"]
fn oom_child() {
    let Ok(dir) = std::env::var(OOM_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    limit_address_space(AS_LIMIT);
    // First (the peak resident size only grows): a 400 MB big-endian file, whose
    // first row is all that printing it reads and converts.
    // SAFETY: nothing else touches the test's files.
    let f = unsafe { NpyFile::open(dir.join("be.npy"), MmapMode::ReadOnly) }.unwrap();
    report("head be", npmap::display::npy_text(&f, Some(1)));
    println!("@ head be peak KiB: {}", peak_resident_kib());
    drop(f);
    let z = NpzReader::open(dir.join("big.npz")).unwrap();
    report(
        "npz",
        z.read::<f64, Ix1>("big").map(|a| a.len().to_string()),
    );
    for (case, file) in [("S0 2^40", "s0.npy"), ("U0 2^62", "u0.npy")] {
        // SAFETY: nothing else touches the test's files.
        let f = unsafe { NpyFile::open(dir.join(file), MmapMode::ReadOnly) }.unwrap();
        let r = match case.starts_with('S') {
            true => f.read_bytes_strings::<Ix1>().map(|a| a.len().to_string()),
            false => f.read_strings::<Ix1>().map(|a| a.len().to_string()),
        };
        report(case, r);
    }
    for file in ["z30.npy", "z62.npy"] {
        let r = unsafe { NpyFile::open(dir.join(file), MmapMode::ReadOnly) }
            .and_then(|f| npmap::display::npy_text(&f, Some(5)));
        report(&format!("head {file}"), r);
    }
    println!("@ done");
}

/// The marker lines the child printed, as `(case, rest)`.
fn markers(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once("@ ").map(|(_, m)| m))
        .filter_map(|m| m.split_once(": ").map(|(a, b)| (a.into(), b.into())))
        .collect()
}

fn write_file(path: &Path, head: &[u8], data_len: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(head).unwrap();
    f.set_len(head.len() as u64 + data_len).unwrap(); // sparse: costs no disk
}

/// The files the child reads, in `dir`.
fn prepare_oom_files(dir: &Path) {
    // 3000 MiB of float64 zeros, deflated into about 3 MB.
    let pieces = 3000;
    let elements = (pieces << 20) / 8 - 16;
    let head = npy_header("<f8", &format!("({elements},)"));
    let zip = deflated_zeros_zip("big.npy", &head, pieces);
    assert!(zip.len() < 4 << 20, "{} bytes", zip.len());
    std::fs::write(dir.join("big.npz"), &zip).unwrap();
    let files = [
        ("s0.npy", "|S0", "(1099511627776,)", 0),
        ("u0.npy", "<U0", "(4611686018427387904,)", 0),
        ("be.npy", ">f8", "(50000000, 1)", 400_000_000),
        ("z30.npy", "<f8", "(0, 1073741824)", 0),
        ("z62.npy", "<f8", "(0, 4611686018427387904)", 0),
    ];
    for (name, descr, shape, data_len) in files {
        write_file(&dir.join(name), &npy_header(descr, shape), data_len);
    }
}

#[test]
fn allocations_that_cannot_succeed_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    prepare_oom_files(dir.path());
    let stdout = child_stdout("faults_alloc::oom_child", (OOM_ENV, dir.path()));
    let got = markers(&stdout);
    let case = |name: &str| -> &str {
        &got.iter()
            .find(|(c, _)| c == name)
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .1
    };
    // The member is read in growing steps until memory runs out: an error naming
    // the member, not an abort.
    let npz = case("npz");
    assert!(npz.starts_with("OutOfMemory {"), "{npz}");
    assert!(npz.contains("what: \"array data\""), "{npz}");
    assert!(
        npz.contains("big.npz:big: out of memory: cannot allocate "),
        "{npz}"
    );
    // 2^40 empty byte strings need 24 TiB of Vec<u8>s: refused, not aborted.
    assert_eq!(
        case("S0 2^40"),
        format!(
            "{:?} | {}: out of memory: cannot allocate {} bytes for strings; expected the allocation to succeed, found the allocator refused it",
            ErrorKind::OutOfMemory {
                bytes: 24 << 40,
                what: "strings"
            },
            dir.path().join("s0.npy").display(),
            24u64 << 40
        )
    );
    // 2^62 Strings: the byte count does not even fit in 64 bits.
    let u0 = case("U0 2^62");
    assert!(
        u0.starts_with(&format!(
            "{:?}",
            ErrorKind::OutOfMemory {
                bytes: u64::MAX,
                what: "strings"
            }
        )),
        "{u0}"
    );
    assert_eq!(case("head be"), "ok [[0.]]");
    // A copy of the whole array would be 400 MB (and its conversion as much again).
    let peak: i64 = case("head be peak KiB").parse().unwrap();
    assert!(peak < 100 << 10, "peak resident size {peak} KiB");
    eprintln!("printing a row of a 400 MB big-endian file: peak resident size {peak} KiB");
    assert_eq!(case("head z30.npy"), "ok []");
    // NumPy refuses (0, 2**62) float64 too: "array is too big".
    let z62 = case("head z62.npy");
    assert!(z62.starts_with("ShapeOverflow {"), "{z62}");
    assert!(stdout.contains("@ done"), "{stdout}");
}

#[test]
fn zero_size_strings_read_as_numpy_reads_them() {
    // np.load of '|S0' shape (3,) gives [b'', b'', b'']; '<U0' (2, 3) six ''.
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("s0.npy");
    write_file(&s0, &npy_header("|S0", "(3,)"), 0);
    let u0 = dir.path().join("u0.npy");
    write_file(&u0, &npy_header("<U0", "(2, 3)"), 0);
    // SAFETY: nothing else touches the test's files.
    let f = unsafe { NpyFile::open(&s0, MmapMode::ReadOnly) }.unwrap();
    let b = f.read_bytes_strings::<Ix1>().unwrap();
    assert_eq!(b.to_vec(), vec![Vec::<u8>::new(); 3]);
    // SAFETY: as above.
    let f = unsafe { NpyFile::open(&u0, MmapMode::ReadOnly) }.unwrap();
    let u = f.read_strings::<Ix2>().unwrap();
    assert_eq!(u.shape(), [2, 3]);
    assert!(u.iter().all(String::is_empty));
}

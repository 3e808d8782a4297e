//! Faults of compressed joblib dumps: streams cut short or with flipped bytes give
//! errors (never a panic), and streams that expand hugely ("bombs") stop at the
//! memory limit with an error, in a child process under an address-space limit.

use std::path::Path;

use npmap::ErrorKind;

use crate::faults::child_stdout;

const BOMB_ENV: &str = "NPMAP_JOBLIB_BOMB_CHILD_DIR";

/// The compressors joblib has, as the generator names their fixtures.
const COMPRESSORS: [&str; 6] = ["zlib", "gzip", "bz2", "xz", "lzma", "lz4"];

/// Compressors whose streams carry no checksum of the data as joblib writes them (lzma
/// alone; lz4 frames without content checksum): a flipped byte may decode to other
/// bytes, which then read as a dump with other values.
const UNCHECKED: [&str; 2] = ["lzma", "lz4"];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(crate::fixtures::fixtures_dir().join("joblib").join(name)).unwrap()
}

fn read_bytes(bytes: &[u8]) -> npmap::Result<npmap::joblib::Dump> {
    npmap::joblib::from_bytes(bytes.to_vec())
}

/// The bytes of every array of a dump, by path: what a changed stream is compared by.
fn contents(d: &npmap::joblib::Dump) -> Vec<(String, Vec<u8>)> {
    d.arrays()
        .into_iter()
        .map(|(k, a)| (k, a.data().to_vec()))
        .collect()
}

#[test]
fn cut_or_flipped_compressed_streams_are_errors_not_panics() {
    for compressor in COMPRESSORS {
        if crate::joblib::feature_off(compressor).is_some() {
            continue;
        }
        let good = fixture(&format!("{compressor}_mixed.joblib"));
        let original = contents(&read_bytes(&good).unwrap());
        // Cut short anywhere: the stream ends early, or the pickle does.
        for cut in [1, 2, 5, 12, good.len() / 3, good.len() / 2, good.len() - 9] {
            let e = read_bytes(&good[..cut]).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::UnsupportedDump { .. } | ErrorKind::Pickle { .. }
                ),
                "{compressor} cut at {cut}: {e}"
            );
            if let ErrorKind::UnsupportedDump { reason } = e.kind() {
                let named = reason.contains(compressor) || reason.contains("not a pickle");
                assert!(named, "{compressor} cut at {cut}: {e}");
            }
        }
        // Flipped bytes through the stream, the headers included.
        let step = (good.len() / 40).max(1);
        let (mut errors, mut changed) = (0, 0);
        for at in (2..good.len()).step_by(step) {
            let mut bad = good.clone();
            bad[at] ^= 0x5a;
            match read_bytes(&bad) {
                Err(_) => errors += 1,
                // A flip in bits the decoder does not use (padding, an unused code
                // length) changes nothing; other values only where no checksum is.
                Ok(d) if contents(&d) == original => {}
                Ok(_) => {
                    assert!(
                        UNCHECKED.contains(&compressor),
                        "{compressor}: a flip at byte {at} read as other values"
                    );
                    changed += 1;
                }
            }
        }
        assert!(errors > 0, "{compressor}: no flip was an error");
        eprintln!("{compressor}: {errors} flips were errors, {changed} read as other values");
    }
}

#[test]
#[cfg(all(feature = "joblib-bz2", feature = "joblib-xz"))]
fn a_compressed_stream_names_its_compressor_in_errors() {
    let good = fixture("bz2_compressed.joblib");
    let mut bad = good.clone();
    bad[20] ^= 0xff; // inside the first block: its CRC no longer matches
    let e = read_bytes(&bad).unwrap_err();
    let ErrorKind::UnsupportedDump { reason } = e.kind() else {
        panic!("{e}")
    };
    assert!(reason.starts_with("the bz2 stream is corrupt: "), "{e}");
    // With a path, the file is named too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.joblib");
    std::fs::write(&path, &bad).unwrap();
    let e = npmap::joblib::read(&path).unwrap_err();
    assert_eq!(e.path(), Some(path.as_path()));
    assert!(e.to_string().contains("bad.joblib"), "{e}");
    // An xz stream whose header CRC is wrong.
    let mut xz = fixture("xz_compressed.joblib");
    xz[8] ^= 0x01; // a stream-header CRC byte
    let e = read_bytes(&xz).unwrap_err();
    assert!(e.to_string().contains("the xz stream is corrupt"), "{e}");
}

#[test]
fn joblib_0_9_zfiles_check_the_length_their_header_records() {
    let good = fixture("zfile_joblib_0_9.joblib");
    assert!(good.starts_with(b"ZF0x"));
    let path = crate::fixtures::fixtures_dir().join("joblib/zfile_joblib_0_9.joblib");
    let d = npmap::joblib::read(path).unwrap();
    assert_eq!(d["n"], npmap::joblib::Value::Int(5));
    let mut bad = good.clone();
    bad[4] = if bad[4] == b'9' { b'8' } else { b'9' }; // another length
    let e = read_bytes(&bad).unwrap_err();
    assert!(e.to_string().contains("the header says"), "{e}");
}

#[test]
fn the_arrays_of_joblib_0_9_zfiles_are_the_zf_files_beside_them() {
    let dir = crate::fixtures::fixtures_dir().join("joblib");
    let d = npmap::joblib::read(dir.join("zfile_joblib_0_9.joblib")).unwrap();
    assert_eq!(d.compression(), Some("zlib (joblib 0.9 and earlier)"));
    let a = d["a"]
        .array()
        .unwrap()
        .to_owned::<f64, ndarray::Ix1>()
        .unwrap();
    assert_eq!(a.to_vec(), [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
    let b = d["b"].array().unwrap();
    assert_eq!(b.header().dtype.descr(), ">i4");
    assert!(b.header().fortran_order);
    let b = b.to_owned::<i32, ndarray::Ix2>().unwrap();
    assert_eq!(b, ndarray::arr2(&[[0, 1, 2], [3, 4, 5]]));
    // From bytes there is no directory to find them in.
    let e = read_bytes(&fixture("zfile_joblib_0_9.joblib")).unwrap_err();
    assert!(e.to_string().contains("read it from its file"), "{e}");
    // A sibling that is not a ZF file, or is missing, is an error naming it.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.join("zfile_joblib_0_9.joblib"),
        tmp.path().join("zfile_joblib_0_9.joblib"),
    )
    .unwrap();
    let sibling = tmp.path().join("zfile_joblib_0_9.joblib_01.npy.z");
    std::fs::write(&sibling, b"not zlib").unwrap();
    let e = npmap::joblib::read(tmp.path().join("zfile_joblib_0_9.joblib")).unwrap_err();
    assert!(e.to_string().contains("not a zlib 'ZF' file"), "{e}");
    assert_eq!(e.path(), Some(sibling.as_path()));
    std::fs::remove_file(&sibling).unwrap();
    let e = npmap::joblib::read(tmp.path().join("zfile_joblib_0_9.joblib")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io { .. }), "{e}");
    assert_eq!(e.path(), Some(sibling.as_path()));
}

/// This process's virtual memory size (`VmSize`), in bytes.
fn virtual_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

/// The child side of `compressed_bombs_stop_at_the_memory_limit_with_an_error`.
#[test]
#[ignore = "run by compressed_bombs_stop_at_the_memory_limit_with_an_error in a child process"]
fn joblib_bomb_child() {
    let Ok(dir) = std::env::var(BOMB_ENV) else {
        return;
    };
    // Room for 256 MiB more than the child holds now: each bomb claims 1 GiB.
    let limit = virtual_size() + (256 << 20);
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit reads the struct we pass; the limit applies to this child only.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rlimit) }, 0);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let case = path.file_stem().unwrap().to_string_lossy().into_owned();
        match npmap::joblib::read(&path) {
            Ok(_) => println!("@ {case}: ok"),
            Err(e) => println!("@ {case}: {:?} | {e}", e.kind()),
        }
    }
    println!("@ done");
}

/// `piece` (a whole stream or frame decoding to some MiB of zeros) `n` times: the
/// formats whose readers (as Python's) read concatenated streams.
fn repeated(piece: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(piece.len() * n);
    for _ in 0..n {
        out.extend_from_slice(piece);
    }
    out
}

/// The bombs, each claiming 1 GiB of zeros from a few MB or less, in `dir`.
fn prepare_bombs(dir: &Path) {
    use std::io::Write;
    const MIB: usize = 1 << 20;
    let zeros = vec![0u8; 8 * MIB];
    // zlib: one stream of 1 GiB, made of fully flushed deflate pieces of 8 MiB each:
    // about 1030:1, within deflate's maximum, so only memory stops it.
    let mut z = flate2::Compress::new(flate2::Compression::default(), false);
    let mut piece = Vec::with_capacity(zeros.len() / 100);
    z.compress_vec(&zeros, &mut piece, flate2::FlushCompress::Full)
        .unwrap();
    let mut zlib = b"\x78\x9c".to_vec();
    zlib.extend(repeated(&piece, 128));
    zlib.extend([0x03, 0x00, 0, 0, 0, 1]); // an empty final block; adler32 (not reached)
    std::fs::write(dir.join("zlib.joblib"), zlib).unwrap();
    // gzip: 128 members of 8 MiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&zeros).unwrap();
    std::fs::write(
        dir.join("gzip.joblib"),
        repeated(&gz.finish().unwrap(), 128),
    )
    .unwrap();
    #[cfg(feature = "joblib-bz2")]
    {
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        bz.write_all(&zeros).unwrap();
        std::fs::write(dir.join("bz2.joblib"), repeated(&bz.finish().unwrap(), 128)).unwrap();
    }
    #[cfg(feature = "joblib-xz")]
    {
        let options = lzma_rust2::XzOptions::with_preset(1);
        let mut xz = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
        xz.write_all(&zeros).unwrap();
        std::fs::write(dir.join("xz.joblib"), repeated(&xz.finish().unwrap(), 128)).unwrap();
        // lzma alone: a header claiming a 4 GiB dictionary and 2^62 bytes, then
        // garbage. The dictionary is allocated as output grows, never up front.
        let mut lzma = vec![0x5d, 0, 0, 0, 0xff];
        lzma.extend((1u64 << 62).to_le_bytes());
        lzma.extend([0u8; 64]);
        std::fs::write(dir.join("lzma.joblib"), lzma).unwrap();
    }
    #[cfg(feature = "joblib-lz4")]
    {
        let mut lz4 = lz4_flex::frame::FrameEncoder::new(Vec::new());
        lz4.write_all(&zeros).unwrap();
        std::fs::write(
            dir.join("lz4.joblib"),
            repeated(&lz4.finish().unwrap(), 128),
        )
        .unwrap();
    }
}

#[test]
fn compressed_bombs_stop_at_the_memory_limit_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    prepare_bombs(dir.path());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let len = entry.unwrap().metadata().unwrap().len();
        assert!(len < 8 << 20, "a bomb of {len} bytes");
    }
    let stdout = child_stdout("joblib_faults::joblib_bomb_child", (BOMB_ENV, dir.path()));
    assert!(stdout.contains("@ done"), "{stdout}");
    let case = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| {
                l.split_once(&format!("@ {name}: "))
                    .map(|(_, r)| r.to_string())
            })
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let mut expected = vec!["zlib", "gzip"];
    if cfg!(feature = "joblib-bz2") {
        expected.push("bz2");
    }
    if cfg!(feature = "joblib-xz") {
        expected.push("xz");
    }
    if cfg!(feature = "joblib-lz4") {
        expected.push("lz4");
    }
    for name in expected {
        let got = case(name);
        assert!(got.starts_with("OutOfMemory {"), "{name}: {got}");
        assert!(got.contains("decompressed dump"), "{name}: {got}");
        assert!(
            got.contains(&format!("{name}.joblib: out of memory")),
            "{name}: {got}"
        );
    }
    if cfg!(feature = "joblib-xz") {
        let got = case("lzma");
        assert!(got.starts_with("UnsupportedDump {"), "lzma: {got}");
        assert!(got.contains("the lzma stream is corrupt"), "lzma: {got}");
    }
}

/// With `ReadOptions::max_decompressed`, a bomb stops at the limit set, long before
/// memory runs out, and a dump within it reads.
#[test]
#[cfg(feature = "joblib-bz2")]
fn a_decompression_limit_stops_a_bomb_early() {
    use npmap::joblib::ReadOptions;
    use std::io::Write;
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    bz.write_all(&vec![0u8; 8 << 20]).unwrap();
    let bomb = repeated(&bz.finish().unwrap(), 16); // 128 MiB of zeros
    let options = ReadOptions::new().max_decompressed(16 << 20);
    let e = npmap::joblib::from_bytes_with(bomb, &options).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::UnsupportedDump {
            reason: "the bz2 stream decompresses past 16777216 bytes, the limit set (ReadOptions::max_decompressed)".into()
        }
    );
    let path = crate::fixtures::fixtures_dir().join("joblib/bz2_mixed.joblib");
    let d = npmap::joblib::read_with(&path, &options).unwrap();
    assert_eq!(d["epochs"], npmap::joblib::Value::Int(12));
    // The fixture decompresses to more than 80 000 bytes.
    let e =
        npmap::joblib::read_with(&path, &ReadOptions::new().max_decompressed(80_000)).unwrap_err();
    assert!(
        e.to_string().contains("decompresses past 80000 bytes"),
        "{e}"
    );
    assert_eq!(e.path(), Some(path.as_path()));
}

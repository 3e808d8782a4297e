//! Deterministic mutation testing: every valid fixture (and a few generated files) is
//! damaged in tens of thousands of ways; each damaged file must give a value or an
//! error — never a panic — within a bounded time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ndarray::{Array, IxDyn, ShapeBuilder};
use npmap::{DType, Header, HeaderOptions, MmapMode, NpyFile};

/// A damaged case must finish within this, in a debug build.
const CASE_LIMIT: Duration = Duration::from_millis(100);
/// One case in this many also goes through the mapped path (a file write each).
const MAPPED_EVERY: usize = 50;
/// Headers up to this long are truncated at every position.
const EXHAUSTIVE_HEADER: usize = 1024;

/// SplitMix64: a tiny deterministic generator, so every run tests the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The seeds: the NumPy-made fixtures plus files written here (structured, v2, v3,
/// Fortran order, zero-size) so that every header form is damaged.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = crate::fixtures::fixtures_dir().join("npy");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    paths.sort();
    let mut out: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(p).unwrap(),
            )
        })
        .collect();
    let mut add = |name: &str, bytes: Vec<u8>| out.push((name.to_string(), bytes));
    let mut b = Vec::new();
    npmap::write_npy_to(
        &mut b,
        &Array::from_shape_fn((3, 4).f(), |(i, j)| (i * 4 + j) as f64),
    )
    .unwrap();
    add("gen_f8_fortran", b);
    let mut b = Vec::new();
    npmap::write_npy_to(&mut b, &Array::from_elem(IxDyn(&[2, 0, 5]), true)).unwrap();
    add("gen_b1_empty", b);
    let record =
        DType::parse("[('a', '<i4'), (('t', 'b'), '>f8', (2,)), ('c', [('x', '|u1')])]").unwrap();
    let mut b = Vec::new();
    npmap::write_npy_raw_to(&mut b, &record, &[2], false, &[7; 2 * 21]).unwrap();
    add("gen_record", b);
    let unicode = DType::parse("[('π', '<f8'), ('é', '|b1')]").unwrap();
    let mut b = Vec::new();
    npmap::write_npy_raw_to(&mut b, &unicode, &[3], false, &[0; 27]).unwrap();
    add("gen_v3", b);
    // A 2.0 header: more than 65535 bytes of field names.
    let many: Vec<String> = (0..3000)
        .map(|i| format!("('field_{i:05}', '|u1')"))
        .collect();
    let wide = DType::parse(&format!("[{}]", many.join(", "))).unwrap();
    let mut b = Vec::new();
    npmap::write_npy_raw_to(&mut b, &wide, &[1], false, &[1; 3000]).unwrap();
    assert_eq!(&b[6..8], &[2, 0]);
    add("gen_v2", b);
    out
}

/// Where the header ends (the data offset), or the whole length if it does not parse.
fn header_end(bytes: &[u8]) -> usize {
    Header::read_from(
        &mut &bytes[..],
        None,
        &HeaderOptions::new().max_header_size(1 << 20),
    )
    .map(|h| h.data_offset as usize)
    .unwrap_or(bytes.len())
}

const INTERESTING: [u8; 16] = [
    0x00, 0xff, 0x7f, 0x80, b'(', b')', b'[', b']', b'\'', b'"', b'\\', b'{', b'0', b'9', b',',
    b' ',
];

/// The damaged versions of `seed`: every header truncation, plus random flips, sets,
/// splices, duplications and digits inserted into the shape.
fn mutations(seed: &[u8], others: &[&[u8]], rng: &mut Rng, out: &mut Vec<Vec<u8>>) {
    let end = header_end(seed).min(seed.len());
    // Truncated at every position of the header (at 300 positions of a long header,
    // so the few huge seeds do not dominate the run), and a few inside the data.
    if end <= EXHAUSTIVE_HEADER {
        for cut in 0..end {
            out.push(seed[..cut].to_vec());
        }
    } else {
        for _ in 0..300 {
            out.push(seed[..rng.below(end)].to_vec());
        }
    }
    for _ in 0..4 {
        let cut = end + rng.below(seed.len() - end + 1);
        out.push(seed[..cut].to_vec());
    }
    // Positions are drawn mostly from the header, where the parsing is.
    let pos = |rng: &mut Rng| {
        if rng.below(4) > 0 && end > 0 {
            rng.below(end)
        } else {
            rng.below(seed.len())
        }
    };
    for _ in 0..60 {
        let mut m = seed.to_vec();
        for _ in 0..1 + rng.below(3) {
            let i = pos(rng);
            m[i] ^= 1 << rng.below(8);
        }
        out.push(m);
    }
    for _ in 0..60 {
        let mut m = seed.to_vec();
        for _ in 0..1 + rng.below(2) {
            let i = pos(rng);
            m[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        out.push(m);
    }
    for _ in 0..15 {
        // A chunk of another file spliced over ours.
        let other = others[rng.below(others.len())];
        let from = rng.below(other.len());
        let len = 1 + rng.below(64.min(other.len() - from));
        let at = pos(rng);
        let mut m = seed[..at].to_vec();
        m.extend_from_slice(&other[from..from + len]);
        if rng.below(2) == 0 {
            m.extend_from_slice(&seed[(at + len).min(seed.len())..]);
        } else {
            m.extend_from_slice(&seed[at..]);
        }
        out.push(m);
    }
    for _ in 0..10 {
        // A chunk of our own bytes, duplicated in place.
        let from = pos(rng);
        let len = 1 + rng.below(32.min(seed.len() - from));
        let mut m = seed[..from + len].to_vec();
        m.extend_from_slice(&seed[from..]);
        out.push(m);
    }
    if let Some(at) = find(seed, b"'shape': (") {
        // Digits inserted into the shape: huge, overflowing and shifted dimensions.
        for k in 0..20 {
            let digits: String = (0..1 + rng.below(if k < 10 { 4 } else { 25 }))
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect();
            let close = find(&seed[at..], b")").map_or(seed.len(), |c| at + c);
            let inside = at + 10 + rng.below(close - (at + 10) + 1);
            let mut m = seed[..inside].to_vec();
            m.extend_from_slice(digits.as_bytes());
            if k % 3 == 0 {
                m.extend_from_slice(b", ");
            }
            m.extend_from_slice(&seed[inside..]);
            out.push(m);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Runs every reader over `bytes`; `mapped` adds the mapped path through a file.
/// Returns the time spent in npmap (writing the scratch file is not counted).
fn exercise(bytes: &[u8], mapped: Option<&Path>) -> Duration {
    if let Some(path) = mapped {
        std::fs::write(path, bytes).unwrap();
    }
    let start = Instant::now();
    let default = HeaderOptions::default();
    let raised = HeaderOptions::new().max_header_size(1 << 20);
    let len = Some(bytes.len() as u64);
    let _ = Header::read_from(&mut &bytes[..], len, &default);
    let _ = Header::read_from(&mut &bytes[..], None, &default);
    let _ = Header::read_from(&mut &bytes[..], len, &raised);
    let _ = npmap::read_npy_from::<u8, IxDyn>(bytes);
    let _ = npmap::read_npy_from::<f64, IxDyn>(bytes);
    let _ = npmap::read_npy_from::<bool, IxDyn>(bytes);
    if let Some(path) = mapped {
        // SAFETY: the scratch file is this test's own; nothing truncates it while mapped.
        if let Ok(f) = unsafe { NpyFile::open(path, MmapMode::ReadOnly) } {
            let _ = f.view::<f64, IxDyn>();
            let _ = f.view::<u8, IxDyn>();
            let _ = f.view::<bool, IxDyn>();
            let _ = f.cow::<f64, IxDyn>();
            let _ = f.cow::<bool, IxDyn>();
        }
        let _ = npmap::read_npy::<f64, IxDyn>(path);
    }
    start.elapsed()
}

#[test]
fn mutated_files_never_panic_or_hang() {
    let seeds = seeds();
    assert!(seeds.len() >= 100, "only {} seeds", seeds.len());
    let all: Vec<&[u8]> = seeds.iter().map(|(_, b)| &b[..]).collect();
    // In memory where possible: the time of disk writes is not what is measured.
    let dir = match Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    };
    let scratch = dir.path().join("mutant.npy");
    let mut rng = Rng(0x6e70_6d61_7021);
    let mut failures = Vec::new();
    let mut slow = Vec::new();
    let mut n = 0usize;
    let mut cases = Vec::new();
    for (name, seed) in &seeds {
        cases.clear();
        mutations(seed, &all, &mut rng, &mut cases);
        for (i, case) in cases.iter().enumerate() {
            n += 1;
            let mapped = n.is_multiple_of(MAPPED_EVERY).then_some(scratch.as_path());
            let run = || catch_unwind(AssertUnwindSafe(|| exercise(case, mapped)));
            let result = run();
            if let Ok(mut took) = result {
                if took > CASE_LIMIT {
                    // Measure once more, so a descheduled thread on a busy machine is
                    // not taken for a slow parser.
                    took = took.min(run().unwrap_or(took));
                }
                if took > CASE_LIMIT {
                    slow.push(format!(
                        "{name} mutation {i}: took {took:?}: {:?}",
                        String::from_utf8_lossy(&case[..case.len().min(400)])
                    ));
                }
            }
            if let Err(panic) = result {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name} mutation {i}: panicked: {msg}: {case:?}"));
            }
        }
    }
    eprintln!("mutation: {n} cases");
    assert!(n >= 20_000, "only {n} mutation cases");
    assert!(
        failures.is_empty(),
        "{} of {n} mutated files panicked; first: {:.2000}",
        failures.len(),
        failures[0]
    );
    assert!(
        slow.is_empty(),
        "{} of {n} mutated files took over {CASE_LIMIT:?}: {:?}",
        slow.len(),
        &slow[..slow.len().min(5)]
    );
}

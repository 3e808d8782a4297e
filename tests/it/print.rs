//! `npmap::display` against NumPy's own output: every array of `fixtures/print/`
//! (written by `fixtures/make_print_fixtures.py`, with the text of
//! `print(np.load(f)[:n])` beside it) must print byte for byte the same.

use npmap::ErrorKind;
use std::io::Write as _;

use npmap::{Header, HeaderOptions, MmapMode, NpyFile};

use crate::fixtures::{fixtures_dir, load_manifest};

struct Entry {
    file: String,
    rows: usize,
    expected: String,
}

fn corpus() -> Vec<Entry> {
    load_manifest("print/manifest.json")
        .iter()
        .map(|e| Entry {
            file: e["file"].as_str().expect("file").to_string(),
            rows: e["n"].as_u64().expect("n") as usize,
            expected: e["expected"].as_str().expect("expected").to_string(),
        })
        .collect()
}

fn printed(entry: &Entry) -> npmap::Result<String> {
    let path = fixtures_dir().join(&entry.file);
    // SAFETY: the fixtures are not modified while the tests run.
    let file = unsafe { NpyFile::open(&path, MmapMode::ReadOnly) }?;
    npmap::display::npy_text(&file, Some(entry.rows))
}

#[test]
fn every_corpus_array_prints_as_numpy_prints_it() {
    let entries = corpus();
    assert!(
        entries.len() >= 300,
        "the corpus has {} arrays",
        entries.len()
    );
    let mut mismatches = Vec::new();
    for entry in &entries {
        match printed(entry) {
            Ok(text) if text == entry.expected => {}
            Ok(text) => mismatches.push(format!(
                "{} (n={}):\n--- NumPy\n{}\n--- npmap\n{}\n",
                entry.file, entry.rows, entry.expected, text
            )),
            Err(e) => mismatches.push(format!(
                "{} (n={}): error: {e}\n--- NumPy\n{}\n",
                entry.file, entry.rows, entry.expected
            )),
        }
    }
    let matched = entries.len() - mismatches.len();
    let _ = writeln!(
        std::io::stderr(),
        "npmap::display: {matched} of {} corpus arrays print exactly as NumPy prints them",
        entries.len()
    );
    let names: Vec<&str> = mismatches
        .iter()
        .map(|m| m.split(' ').next().unwrap_or(""))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} arrays print differently from NumPy: {}\n\nthe first ones in full:\n{}",
        mismatches.len(),
        entries.len(),
        names.join(", "),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
}

/// `array_text` on bytes read without a mapping gives the same text as `npy_text`.
#[test]
fn array_text_of_header_and_bytes_matches_the_mapped_file() {
    for entry in corpus().iter().step_by(7) {
        let bytes = std::fs::read(fixtures_dir().join(&entry.file)).unwrap();
        let options = HeaderOptions::default();
        let header = Header::read_from(&mut bytes.as_slice(), None, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.file));
        let data = &bytes[header.data_offset as usize..];
        let text = npmap::display::array_text(&header, data, Some(entry.rows)).unwrap();
        assert_eq!(text, entry.expected, "{}", entry.file);
    }
}

fn header_of(dict: &str) -> Vec<u8> {
    let mut text = dict.to_string();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((text.len() as u16).to_le_bytes());
    bytes.extend(text.as_bytes());
    bytes
}

#[test]
fn short_data_is_an_error_that_says_expected_and_found() {
    let bytes = header_of("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }");
    let header = Header::read_from(&mut bytes.as_slice(), None, &HeaderOptions::default()).unwrap();
    let err = npmap::display::array_text(&header, &[0u8; 16], Some(1)).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::DataLength {
                expected: 24,
                found: 16,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("needs 24 bytes, found 16"),
        "{err}"
    );
}

/// `head -n 1` of a 400 MB big-endian file reads one row: the rest of the file
/// (sparse, never written) stays out of the page cache, and nothing converts it.
#[test]
fn the_first_row_of_a_large_file_is_read_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let (rows, cols) = (50_000u64, 1000u64);
    let mut file = std::fs::File::create(&path).unwrap();
    let header = header_of("{'descr': '>f8', 'fortran_order': False, 'shape': (50000, 1000), }");
    file.write_all(&header).unwrap();
    file.write_all(&1.5f64.to_be_bytes()).unwrap();
    file.set_len(header.len() as u64 + rows * cols * 8).unwrap();
    drop(file);
    // SAFETY: the file is private to this test and not modified while mapped.
    let file = unsafe { NpyFile::open(&path, MmapMode::ReadOnly) }.unwrap();
    let text = npmap::display::npy_text(&file, Some(1)).unwrap();
    // str(a) in NumPy 2.4 for a = np.zeros((1, 1000)); a[0, 0] = 1.5: 56 lines, 4058 characters.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!((lines.len(), text.len()), (56, 4058), "{text}");
    assert_eq!(lines[0], format!("[[1.5 {}0.", "0.  ".repeat(16)));
    assert_eq!(lines[55], format!("  {}0. ]]", "0.  ".repeat(9)));
    // The kernel reads ahead around the faulting page (8 MiB here); a whole-file
    // read or copy would bring in all of it.
    let (resident, total) = file.residency().unwrap();
    assert!(
        resident * 10 < total,
        "{resident} of {total} pages were read to print one row"
    );
}

/// Corpus files with random bytes changed (in the header and in the data): whatever
/// opens prints or fails with an error, never a panic.
#[test]
fn mutated_corpus_files_print_or_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("m.npy");
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut panics = Vec::new();
    let mut printed = 0;
    for entry in corpus() {
        let original = std::fs::read(fixtures_dir().join(&entry.file)).unwrap();
        let options = HeaderOptions::default();
        let header = Header::read_from(&mut original.as_slice(), None, &options);
        let data_start = header.unwrap().data_offset as usize;
        for round in 0..16 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                // A quarter of the changes in the header (dtype, shape, order), the
                // rest in the data.
                let in_data = next() % 4 != 0 && data_start < bytes.len();
                let (from, len) = match in_data {
                    true => (data_start, bytes.len() - data_start),
                    false => (0, data_start),
                };
                let at = from + (next() as usize) % len;
                bytes[at] = next() as u8;
            }
            std::fs::write(&scratch, &bytes).unwrap();
            let result = std::panic::catch_unwind(|| {
                // SAFETY: the scratch file is private to this test and not modified while mapped.
                let file = unsafe { NpyFile::open(&scratch, MmapMode::ReadOnly) }.ok()?;
                Some(npmap::display::npy_text(&file, Some(entry.rows)).is_ok())
            });
            match result {
                Ok(Some(true)) => printed += 1,
                Ok(_) => {}
                Err(_) => panics.push(format!("{} mutation {round}: {bytes:?}", entry.file)),
            }
        }
    }
    assert!(
        printed > 2500,
        "only {printed} mutated files opened and printed"
    );
    assert!(
        panics.is_empty(),
        "{} panics; first: {:.3000}",
        panics.len(),
        panics[0]
    );
}

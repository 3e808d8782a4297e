//! Faults: a reader opening a file while another process appends to it gets a
//! consistent array (possibly shorter than the file by then), never a false
//! "file is truncated". The appender writes rows, then rewrites the header's
//! shape; a reader that measured the file before reading that header used to see
//! a header newer than its measurement.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use ndarray::{Array2, Ix2};
use npmap::{ErrorKind, MmapMode, NpyAppender, NpyFile};

use crate::faults::{child, next_marker};

const APPEND_ENV: &str = "NPMAP_APPENDING_CHILD_FILE";
/// Elements per row; row `i` holds `i` in every element.
const ROW: usize = 16;

/// The child side of `opening_while_another_process_appends_is_never_truncated`:
/// appends and flushes one row at a time until killed.
#[test]
#[ignore = "run by opening_while_another_process_appends_is_never_truncated in a child process"]
fn appending_child() {
    let Ok(path) = std::env::var(APPEND_ENV) else {
        return;
    };
    let mut log = NpyAppender::<f64>::create(&path, &[ROW]).unwrap();
    for i in 0..u64::MAX {
        log.append(&Array2::from_elem((1, ROW), i as f64)).unwrap();
        log.flush().unwrap();
        // About 10,000 header rewrites a second, so the file stays small enough
        // for the parent to copy it now and then.
        std::thread::sleep(std::time::Duration::from_micros(50));
        if i == 10 {
            println!("@ appending");
        }
    }
}

/// Checks the first and last rows of `view` against what the appender wrote (row
/// `i` all `i`): the array is consistent, whatever its length.
fn check_rows(view: ndarray::ArrayView2<'_, f64>) {
    let n = view.nrows();
    for i in [0, n / 2, n - 1] {
        let row = view.row(i);
        assert!(row.iter().all(|&x| x == i as f64), "row {i} of {n}: {row}");
    }
}

#[test]
fn opening_while_another_process_appends_is_never_truncated() {
    // On tmpfs the appender's syncs cost nothing, so it rewrites the header as
    // often as it can: the race is hit as often as it can be.
    let dir = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let path = dir.path().join("log.npy");
    let mut c = child("faults_open::appending_child", (APPEND_ENV, &path))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
    assert_eq!(next_marker(&mut lines), "appending");
    let (opens, mut truncated, mut other, mut last_rows) = (20_000u32, 0, Vec::new(), 0);
    for k in 0..opens {
        let result = match k % 100 {
            // SAFETY: the appender only grows the file; nothing truncates it.
            1.. => unsafe { NpyFile::open(&path, MmapMode::ReadOnly) }.map(|f| {
                let v = f.view::<f64, Ix2>().unwrap();
                check_rows(v.view());
                v.nrows()
            }),
            0 => npmap::read_npy::<f64, Ix2>(&path).map(|a| {
                check_rows(a.view());
                a.nrows()
            }),
        };
        match result {
            Ok(rows) => {
                assert!(rows >= 10, "open {k}: {rows} rows");
                last_rows = rows;
            }
            Err(e) if matches!(e.kind(), ErrorKind::Truncated { .. }) => truncated += 1,
            Err(e) => other.push(e.to_string()),
        }
    }
    c.kill().unwrap();
    c.wait().unwrap();
    eprintln!(
        "{opens} opens while appending: {truncated} spurious Truncated errors, {} other errors, {last_rows} rows at the last open",
        other.len()
    );
    assert_eq!((truncated, other.len()), (0, 0), "{other:?}");
    assert!(last_rows > 10, "the file grew while it was opened");
}

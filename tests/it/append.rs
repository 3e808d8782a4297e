//! Appending: values, row-shape checks, byte-identity with np.save, and a child
//! process killed mid-append, many times, never losing a flushed row.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use ndarray::{Array2, Axis, Ix2, arr2};
use npmap::{Error, NpyAppender};

const CHILD_ENV: &str = "NPMAP_APPEND_CHILD_FILE";
const ROW: usize = 4;

#[test]
fn appended_file_equals_np_save_of_the_final_array() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grown.npy");
    let mut log = NpyAppender::<i32>::create(&path, &[3]).unwrap();
    let all = Array2::from_shape_fn((1234, 3), |(i, j)| (i * 3 + j) as i32);
    for chunk in all.axis_chunks_iter(Axis(0), 100) {
        log.append(&chunk).unwrap();
        log.flush().unwrap();
    }
    assert_eq!(log.finish().unwrap(), 1234);
    let mut expected = Vec::new();
    npmap::write_npy(&mut expected, &all).unwrap();
    assert!(
        std::fs::read(&path).unwrap() == expected,
        "appended file differs from np.save's bytes"
    );
}

#[test]
fn appends_check_row_shape_and_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.npy");
    let mut log = NpyAppender::<f64>::create(&path, &[2]).unwrap();
    let wrong = log.append(&arr2(&[[1.0, 2.0, 3.0]]));
    assert!(
        matches!(wrong, Err(Error::RowShape { ref expected, ref found, .. }) if expected == &[2] && found == &[1, 3])
    );
    // A transposed (F-layout) block is written in C order.
    let block = arr2(&[[1.0, 3.0], [2.0, 4.0]]);
    log.append(&block.t()).unwrap();
    drop(log); // flushes
    let back: Array2<f64> = npmap::read_npy(&path).unwrap();
    assert_eq!(back, arr2(&[[1.0, 2.0], [3.0, 4.0]]));
    assert!(matches!(
        NpyAppender::<f32>::open(&path),
        Err(Error::DTypeMismatch { .. })
    ));
    npmap::save_npy(
        &path,
        &arr2(&[[1u8, 2], [3, 4]])
            .reversed_axes()
            .as_standard_layout()
            .t(),
    )
    .unwrap();
    assert!(matches!(
        NpyAppender::<u8>::open(&path),
        Err(Error::Unappendable { .. })
    ));
}

/// The child side of `killed_appends_never_lose_a_flushed_row`: appends rows whose
/// values are their row index, flushing every 7 rows and reporting each flush.
#[test]
#[ignore = "run by killed_appends_never_lose_a_flushed_row in a child process"]
fn append_child_process() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut log = if std::path::Path::new(&path).exists() {
        NpyAppender::<f64>::open(&path).unwrap()
    } else {
        NpyAppender::<f64>::create(&path, &[ROW]).unwrap()
    };
    loop {
        let r = log.rows() as f64;
        log.append(&Array2::from_elem((1, ROW), r)).unwrap();
        if log.rows() % 7 == 0 {
            log.flush().unwrap();
            println!("flushed {}", log.flushed_rows());
        }
        if log.rows() > 10_000_000 {
            return;
        }
    }
}

#[test]
fn killed_appends_never_lose_a_flushed_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.npy");
    let exe = std::env::current_exe().unwrap();
    let mut last_flushed = 0;
    for round in 0..30 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "append::append_child_process",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut flushes = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| {
                l.strip_prefix("flushed ")
                    .map(|n| n.parse::<usize>().unwrap())
            });
        for _ in 0..(round % 4 + 1) {
            last_flushed = flushes.next().expect("the child reports flushes");
        }
        std::thread::sleep(Duration::from_micros((round * 397 % 3000) as u64));
        child.kill().unwrap();
        child.wait().unwrap();
        // Flushes reported after our last read may have completed too.
        let a: Array2<f64> =
            npmap::read_npy(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            a.nrows() >= last_flushed,
            "round {round}: {} rows, {last_flushed} were flushed",
            a.nrows()
        );
        assert_eq!(a.ncols(), ROW);
        for (i, row) in a.rows().into_iter().enumerate() {
            assert!(
                row.iter().all(|&v| v == i as f64),
                "round {round}: row {i} is {row}"
            );
        }
        last_flushed = a.nrows();
        // SAFETY: nothing writes the file while this mapping lives.
        let mapped =
            unsafe { npmap::load_npy::<f64, Ix2>(&path, npmap::MmapMode::ReadOnly) }.unwrap();
        assert_eq!(mapped.view().nrows(), a.nrows());
    }
    let rows = npmap::recover(&path).unwrap();
    assert_eq!(rows, last_flushed);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        128 + (rows * ROW * 8) as u64
    );
}

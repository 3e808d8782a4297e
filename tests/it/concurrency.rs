//! Concurrency: processes sharing a ReadWrite mapping see each other's writes; many
//! threads read one mapped array; a file replaced by `save_npy` does not disturb a
//! process that has the old one mapped; one appender at a time, in this process or
//! across processes.

use npmap::ErrorKind;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use ndarray::{Array1, Array2, Axis, Ix1, Ix2, IxDyn, arr2};
use npmap::{MmapMode, NpyAppender, NpyArray, NpyFile};

use crate::faults::{child, next_marker};

const SHARED_ENV: &str = "NPMAP_SHARED_CHILD_FILE";
const REPLACED_ENV: &str = "NPMAP_REPLACED_CHILD_FILE";
const APPENDER_ENV: &str = "NPMAP_APPENDER_CHILD_FILE";

// Mapped arrays and files can be shared between threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<NpyFile>();
    send_sync::<NpyArray<f64, Ix2>>();
    send_sync::<NpyArray<bool, IxDyn>>();
};

/// The child side of `two_processes_see_each_others_writes`.
#[test]
#[ignore = "run by two_processes_see_each_others_writes in a child process"]
fn shared_child() {
    let Ok(path) = std::env::var(SHARED_ENV) else {
        return;
    };
    // SAFETY: both processes write only valid i64 values and never truncate.
    let mut f = unsafe { npmap::load_npy::<i64, Ix1>(&path, MmapMode::ReadWrite) }.unwrap();
    println!("@ mapped");
    // Wait until the parent has written and flushed through its own mapping.
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "parent wrote");
    assert_eq!(f.view()[5], 777, "the parent's write is visible here");
    f.view_mut().unwrap()[3] = 12345;
    f.flush().unwrap();
    println!("@ child wrote");
}

#[test]
fn two_processes_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.npy");
    npmap::save_npy(&path, &Array1::<i64>::zeros(16)).unwrap();
    // Mapped before the child exists, and kept: no reopening below.
    // SAFETY: both processes write only valid i64 values and never truncate.
    let mut mine = unsafe { npmap::load_npy::<i64, Ix1>(&path, MmapMode::ReadWrite) }.unwrap();
    let mut c = child("concurrency::shared_child", (SHARED_ENV, &path))
        .stdin(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
    assert_eq!(next_marker(&mut lines), "mapped");
    mine.view_mut().unwrap()[5] = 777;
    mine.flush().unwrap();
    writeln!(c.stdin.take().unwrap(), "parent wrote").unwrap();
    assert_eq!(next_marker(&mut lines), "child wrote");
    let status = c.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut expected = Array1::<i64>::zeros(16);
    expected[3] = 12345;
    expected[5] = 777;
    assert_eq!(mine.view(), expected, "the child's write is visible here");
    let on_disk: Array1<i64> = npmap::read_npy(&path).unwrap();
    assert_eq!(on_disk, expected);
}

#[test]
fn many_threads_read_one_mapped_array() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.npy");
    let a = Array2::from_shape_fn((2000, 64), |(i, j)| ((i * 64 + j) % 1009) as f64 * 0.25);
    npmap::save_npy(&path, &a).unwrap();
    let expected_total: f64 = a.sum();
    let expected_rows = a.sum_axis(Axis(1));
    // SAFETY: nothing writes the file while it is mapped.
    let x = unsafe { npmap::load_npy::<f64, Ix2>(&path, MmapMode::ReadOnly) }.unwrap();
    let results: Vec<(f64, Array1<f64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let x = &x;
                s.spawn(move || {
                    let v = x.view();
                    // Each thread walks the rows in its own order.
                    let mut rows = Array1::zeros(v.nrows());
                    for k in 0..v.nrows() {
                        let i = (k * 7 + t * 251) % v.nrows();
                        rows[i] = v.row(i).sum();
                    }
                    (v.sum(), rows)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), 8);
    for (total, rows) in results {
        assert_eq!(total, expected_total);
        assert_eq!(rows, expected_rows);
    }
}

/// The child side of `replacing_a_mapped_file_does_not_disturb_the_reader`.
#[test]
#[ignore = "run by replacing_a_mapped_file_does_not_disturb_the_reader in a child process"]
fn replaced_child() {
    let Ok(path) = std::env::var(REPLACED_ENV) else {
        return;
    };
    let old = Array2::from_shape_fn((300, 40), |(i, j)| (i * 40 + j) as u32);
    // SAFETY: save_npy replaces the file by rename and never truncates it in place.
    let x = unsafe { npmap::load_npy::<u32, Ix2>(&path, MmapMode::ReadOnly) }.unwrap();
    assert_eq!(x.view(), old);
    println!("@ ready");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "replaced");
    // The old mapping still shows the old array, in full...
    assert_eq!(x.view(), old);
    // ...while the path now names the new one.
    let new: Array2<u32> = npmap::read_npy(&path).unwrap();
    assert_eq!(new, Array2::from_elem((5, 5), 9));
    println!("@ ok");
}

#[test]
fn replacing_a_mapped_file_does_not_disturb_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replaced.npy");
    let old = Array2::from_shape_fn((300, 40), |(i, j)| (i * 40 + j) as u32);
    npmap::save_npy(&path, &old).unwrap();
    let mut c = child("concurrency::replaced_child", (REPLACED_ENV, &path))
        .stdin(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
    assert_eq!(next_marker(&mut lines), "ready");
    npmap::save_npy(&path, &Array2::<u32>::from_elem((5, 5), 9)).unwrap();
    writeln!(c.stdin.take().unwrap(), "replaced").unwrap();
    assert_eq!(next_marker(&mut lines), "ok");
    let status = c.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// Asserts that `r` is the refusal of a second appender on `path`, with a message
/// that names the file and says why.
fn assert_refused<T: std::fmt::Debug>(r: npmap::Result<T>, path: &std::path::Path, what: &str) {
    match r {
        Err(e) if e.kind() == &ErrorKind::AppendLocked => {
            assert_eq!(e.path(), Some(path), "{what}");
            let message = e.to_string();
            assert!(
                message.contains(&path.display().to_string())
                    && message.contains("being appended by another writer"),
                "{what}: {message}"
            );
        }
        other => panic!("{what}: expected AppendLocked, got {other:?}"),
    }
}

#[test]
fn a_second_appender_in_the_same_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.npy");
    let mut first = NpyAppender::<i64>::create(&path, &[2]).unwrap();
    first.append(&arr2(&[[1, 2], [3, 4]])).unwrap();
    first.flush().unwrap();
    let before = std::fs::read(&path).unwrap();
    assert_refused(NpyAppender::<i64>::open(&path), &path, "open");
    assert_refused(NpyAppender::<i64>::create(&path, &[2]), &path, "create");
    assert_refused(npmap::recover(&path), &path, "recover");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the refusals left the file alone"
    );
    // The first appender goes on as if nothing happened.
    first.append(&arr2(&[[5, 6]])).unwrap();
    assert_eq!(first.finish().unwrap(), 3);
    // Finished, the lock is free; dropped, too.
    let mut second = NpyAppender::<i64>::open(&path).unwrap();
    second.append(&arr2(&[[7, 8]])).unwrap();
    drop(second);
    let mut third = NpyAppender::<i64>::open(&path).unwrap();
    third.append(&arr2(&[[9, 10]])).unwrap();
    assert_eq!(third.finish().unwrap(), 5);
    let back: Array2<i64> = npmap::read_npy(&path).unwrap();
    assert_eq!(back, arr2(&[[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]));
}

/// The child side of `a_second_appender_in_another_process_is_refused`: holds an
/// appender on the file until told to append.
#[test]
#[ignore = "run by a_second_appender_in_another_process_is_refused in a child process"]
fn appender_child() {
    let Ok(path) = std::env::var(APPENDER_ENV) else {
        return;
    };
    let mut log = NpyAppender::<i64>::open(&path).unwrap();
    println!("@ holding");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "append");
    log.append(&arr2(&[[10, 11]])).unwrap();
    println!("@ appended {}", log.finish().unwrap());
}

#[test]
fn a_second_appender_in_another_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.npy");
    npmap::save_npy(&path, &arr2(&[[1i64, 2]])).unwrap();
    let spawn = || {
        let mut c = child("concurrency::appender_child", (APPENDER_ENV, &path))
            .stdin(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = BufReader::new(c.stdout.take().unwrap()).lines();
        (c, lines)
    };
    let (mut c, mut lines) = spawn();
    assert_eq!(next_marker(&mut lines), "holding");
    let before = std::fs::read(&path).unwrap();
    assert_refused(NpyAppender::<i64>::open(&path), &path, "open");
    assert_refused(NpyAppender::<i64>::create(&path, &[2]), &path, "create");
    assert_refused(npmap::recover(&path), &path, "recover");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    writeln!(c.stdin.take().unwrap(), "append").unwrap();
    assert_eq!(next_marker(&mut lines), "appended 2");
    assert!(c.wait().unwrap().success());
    // The child is done: this process may append.
    let mut log = NpyAppender::<i64>::open(&path).unwrap();
    log.append(&arr2(&[[20, 21]])).unwrap();
    assert_eq!(log.finish().unwrap(), 3);
    // A holder killed with SIGKILL frees the lock with its death.
    let (mut c, mut lines) = spawn();
    assert_eq!(next_marker(&mut lines), "holding");
    assert_refused(
        NpyAppender::<i64>::open(&path),
        &path,
        "open while the child holds it",
    );
    c.kill().unwrap();
    c.wait().unwrap();
    let mut log = NpyAppender::<i64>::open(&path).unwrap();
    log.append(&arr2(&[[30, 31]])).unwrap();
    assert_eq!(log.finish().unwrap(), 4);
    let expected = arr2(&[[1i64, 2], [10, 11], [20, 21], [30, 31]]);
    let back: Array2<i64> = npmap::read_npy(&path).unwrap();
    assert_eq!(back, expected);
    if crate::numpy::available("a_second_appender_in_another_process_is_refused") {
        let said = crate::numpy::run(
            "import sys, numpy as np\nprint(np.load(sys.argv[1]).tolist())",
            &[&path],
        );
        assert_eq!(said.trim(), "[[1, 2], [10, 11], [20, 21], [30, 31]]");
    }
}

#[test]
fn concurrent_saves_to_one_path_leave_one_whole_array_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.npy");
    let array = |t: usize, n: usize| Array1::from_elem(8192, (t * 1000 + n) as f64);
    std::thread::scope(|s| {
        for t in 0..8 {
            let path = &path;
            s.spawn(move || {
                for n in 0..25 {
                    npmap::save_npy(path, &array(t, n)).unwrap();
                }
            });
        }
    });
    let back: Array1<f64> = npmap::read_npy(&path).unwrap();
    let v = back[0];
    assert!(back.iter().all(|&x| x == v), "a mix of saves");
    let (t, n) = (v as usize / 1000, v as usize % 1000);
    assert!(t < 8 && n == 24, "the last save of some thread, found {v}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["shared.npy"]);
}

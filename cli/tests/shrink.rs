//! An input that shrinks while the CLI reads it: one error line naming the input
//! (`npmap: IN: file shrank while being read`) and exit status 1 — never a silent
//! SIGBUS, never an error that blames the output.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A sparse `.npy` of `descr` and `shape` (Python text) holding `data_len` zero bytes.
fn sparse_npy(path: &Path, descr: &str, fortran: bool, shape: &str, data_len: u64) {
    let order = if fortran { "True" } else { "False" };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(b"\x93NUMPY\x01\x00\x76\x00").unwrap();
    f.write_all(format!("{dict:<117}\n").as_bytes()).unwrap();
    f.set_len(128 + data_len).unwrap();
}

/// Runs `npmap ARGS` and cuts `input` to 1 MB after `delay`; returns the exit code
/// (None when killed by a signal) and stderr.
fn run_and_shrink(args: &[&str], input: &Path, delay: Duration) -> (Option<i32>, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_npmap"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    std::fs::OpenOptions::new()
        .write(true)
        .open(input)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Converts a shrinking input with `flags`, at growing delays, until one run is cut
/// mid-way; every run that failed must name the input, none the output.
fn shrinking_convert(fortran: bool, flag: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.npy");
    let output = dir.path().join("out.npy");
    let (i, o) = (input.display().to_string(), output.display().to_string());
    for ms in [30, 60, 120, 250, 500, 1000] {
        // 800 MB of zeros, costing no disk until converted.
        let shape = if fortran {
            "(10000, 10000)"
        } else {
            "(100000000,)"
        };
        sparse_npy(&input, "<f8", fortran, shape, 800_000_000);
        let (code, err) = run_and_shrink(
            &["convert", &i, &o, flag],
            &input,
            Duration::from_millis(ms),
        );
        assert!(!err.contains(&format!("{o}: write")), "{err}");
        if err.contains("shrank") {
            assert_eq!(code, Some(1), "{err}");
            let expected = format!("npmap: {i}: file shrank while being read");
            assert!(err.starts_with(&expected), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(!output.exists(), "no output is left");
            return err;
        }
        // Too early (the file was short when opened) or too late (it finished).
        assert!(
            code == Some(0) || err.contains("file is truncated"),
            "{code:?}: {err}"
        );
    }
    panic!("no run was cut while converting");
}

#[test]
fn a_write_from_a_shrinking_input_blames_the_input() {
    // --native of a native file writes straight from the mapping: write(2) fails
    // with EFAULT where the pages are gone.
    let err = shrinking_convert(false, "--native");
    assert!(
        err.ends_with("failed: Bad address (os error 14))\n")
            || err.ends_with("shrank while being read\n"),
        "{err}"
    );
}

#[test]
fn a_read_of_a_shrinking_input_is_an_error_not_sigbus() {
    // --c-order reads the mapping element by element: the first read past the new
    // end raises SIGBUS, which the CLI reports.
    let err = shrinking_convert(true, "--c-order");
    assert!(err.ends_with("shrank while being read\n"), "{err}");
}

#[test]
fn stats_of_a_shrinking_input_is_an_error_not_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.npy");
    let i = input.display().to_string();
    for ms in [30, 60, 120, 250, 500, 1000] {
        sparse_npy(&input, "<f8", false, "(100000000,)", 800_000_000);
        let (code, err) = run_and_shrink(&["stats", &i], &input, Duration::from_millis(ms));
        if err.contains("shrank") {
            assert_eq!(code, Some(1), "{err}");
            assert_eq!(err, format!("npmap: {i}: file shrank while being read\n"));
            return;
        }
        assert!(
            code == Some(0) || err.contains("file is truncated"),
            "{code:?}: {err}"
        );
    }
    panic!("no run was cut while scanning");
}

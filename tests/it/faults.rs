//! Faults: a file-size limit during creation gives an error (not SIGBUS) and leaves
//! nothing behind; a save killed at any moment leaves the old file or the new one,
//! and no temporary file that the next save does not remove.
//! Both run the risky part in a child process: this test binary, re-executed with an
//! environment variable naming the file.

use npmap::ErrorKind;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ndarray::{Array1, Ix1};
use npmap::{CreateOptions, MmapMode};

const FSIZE_ENV: &str = "NPMAP_FSIZE_CHILD_FILE";
const SAVE_ENV: &str = "NPMAP_SAVE_CHILD_FILE";
/// Set (to any value) when the save child should skip the sync (`SaveOptions::new().sync(false)`).
const UNSYNCED_ENV: &str = "NPMAP_SAVE_CHILD_UNSYNCED";

/// This test binary, running only the (ignored) test `name`, with `env` set.
pub(crate) fn child(name: &str, env: (&str, &Path)) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        name,
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(env.0, env.1)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

/// Runs the child test `name` to completion and returns what it printed; fails the
/// calling test, with the child's output, when the child does not succeed.
pub(crate) fn child_stdout(name: &str, env: (&str, &Path)) -> String {
    let out = child(name, env)
        .output()
        .expect("the test binary runs as a child");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed ({:?}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The text after `@ ` in the next line of the child's output that has it. The test
/// harness prints lines of its own around (and its `test NAME ... ` before) ours.
pub(crate) fn next_marker(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> String {
    lines
        .map(|l| l.expect("read the child's output"))
        .find_map(|l| l.split_once("@ ").map(|(_, m)| m.to_owned()))
        .expect("the child ended early")
}

/// The child side of `creating_past_the_file_size_limit_is_an_error`.
#[test]
#[ignore = "run by creating_past_the_file_size_limit_is_an_error in a child process"]
fn fsize_child() {
    let Ok(path) = std::env::var(FSIZE_ENV) else {
        return;
    };
    let limit = libc::rlimit {
        rlim_cur: 1 << 20,
        rlim_max: 1 << 20,
    };
    // SAFETY: setrlimit reads the struct we pass; lowering our own file-size limit
    // affects only this child process.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &limit) }, 0);
    // SAFETY: ignoring SIGXFSZ installs no handler code; writes past the limit then
    // fail with EFBIG instead of killing the process.
    assert_ne!(
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) },
        libc::SIG_ERR
    );
    // 8 MB of f64 under a 1 MiB limit.
    // SAFETY: the file is this child's own.
    let r = unsafe {
        npmap::create_npy_with::<f64, _>(
            &path,
            (1000, 1000),
            &CreateOptions::new().preallocate(true),
        )
    };
    match r.map_err(npmap::Error::into_kind) {
        Err(ErrorKind::Io { action, source, .. }) => println!(
            "fsize-child: {action}: errno {}",
            source.raw_os_error().unwrap_or(-1)
        ),
        Err(other) => panic!("expected an I/O error, got {other}"),
        Ok(_) => panic!("created 8 MB under a 1 MiB file-size limit"),
    }
    // A file that fits still works under the same limit.
    let small = format!("{path}.small");
    // SAFETY: as above.
    let mut m = unsafe {
        npmap::create_npy_with::<f64, _>(&small, (10, 10), &CreateOptions::new().preallocate(true))
    }
    .unwrap();
    m.view_mut().unwrap().fill(2.5);
    m.flush().unwrap();
    println!("fsize-child: small ok");
}

#[test]
fn creating_past_the_file_size_limit_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let stdout = child_stdout("faults::fsize_child", (FSIZE_ENV, &path));
    // Sizing the file (ftruncate) or reserving its blocks (posix_fallocate) fails
    // with EFBIG: an error returned, not a signal.
    assert!(
        stdout.contains(&format!("errno {}", libc::EFBIG)),
        "child said: {stdout}"
    );
    assert!(
        stdout.contains("fsize-child: small ok"),
        "child said: {stdout}"
    );
    // Nothing at the path, and no temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["big.npy.small"], "files left: {names:?}");
    let small: ndarray::Array2<f64> = npmap::read_npy(path.with_extension("npy.small")).unwrap();
    assert_eq!(small, ndarray::Array2::from_elem((10, 10), 2.5));
}

/// Elements of the array the killed child saves: 200 MB of f64.
const NEW_LEN: usize = 25_000_000;

/// The child side of `a_killed_save_leaves_the_old_file_or_the_new`.
#[test]
#[ignore = "run by a_killed_save_leaves_the_old_file_or_the_new in a child process"]
fn save_child() {
    let Ok(path) = std::env::var(SAVE_ENV) else {
        return;
    };
    let a = Array1::from_shape_fn(NEW_LEN, |i| i as f64);
    let options = npmap::SaveOptions::new().sync(std::env::var_os(UNSYNCED_ENV).is_none());
    println!("@ saving");
    npmap::save_npy_with(&path, &a, &options).unwrap();
    println!("@ saved");
}

#[test]
fn a_killed_save_leaves_the_old_file_or_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.npy");
    let old = Array1::from_shape_fn(10, |i| -(i as f64));
    let (mut saw_old, mut saw_new) = (0, 0);
    for round in 0..10u64 {
        npmap::save_npy(&path, &old).unwrap();
        let left = others(dir.path(), "target.npy");
        assert!(
            left.is_empty(),
            "round {round}: left after a save: {left:?}"
        );
        let mut c = child("faults::save_child", (SAVE_ENV, &path));
        if round % 2 == 1 {
            // Odd rounds: the rename without the sync is just as atomic for a crash
            // of the saving process.
            c.env(UNSYNCED_ENV, "1");
        }
        let mut c = c.stderr(Stdio::inherit()).spawn().unwrap();
        let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
        assert_eq!(next_marker(&mut lines), "saving");
        if round < 9 {
            // From the first write to around the rename and directory sync.
            std::thread::sleep(Duration::from_millis(round * round * 12));
            c.kill().unwrap();
        }
        let status = c.wait().unwrap();
        if round == 9 {
            assert!(status.success(), "the last save runs to completion");
        }
        // The path holds one of the two arrays, whole.
        // SAFETY: no process writes the file any more.
        let f = unsafe { npmap::NpyFile::open(&path, MmapMode::ReadOnly) }
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let v = f.view::<f64, Ix1>().unwrap();
        if v.len() == old.len() {
            assert_eq!(v, old, "round {round}");
            saw_old += 1;
        } else {
            assert_eq!(v.len(), NEW_LEN, "round {round}");
            let s = v.as_slice().unwrap();
            assert!(
                s.iter().enumerate().all(|(i, &x)| x == i as f64),
                "round {round}"
            );
            saw_new += 1;
        }
        drop(f);
    }
    // A killed save leaves no temporary file of 200 MB behind: it had no name, or
    // the next save (of the round after) removed it.
    let left = others(dir.path(), "target.npy");
    assert!(left.is_empty(), "left: {left:?}");
    assert!(saw_old >= 1 && saw_new >= 1, "old {saw_old}, new {saw_new}");
    eprintln!("killed saves: old file {saw_old} times, new file {saw_new} times");
}

const SMALL_SAVE_ENV: &str = "NPMAP_SMALL_SAVE_CHILD_FILE";
/// Elements of the array the killed child saves in `killed_saves_leave_no_temporary_files`: 4 MB of f64.
const SMALL_LEN: usize = 500_000;

/// The child side of `killed_saves_leave_no_temporary_files`.
#[test]
#[ignore = "run by killed_saves_leave_no_temporary_files in a child process"]
fn small_save_child() {
    let Ok(path) = std::env::var(SMALL_SAVE_ENV) else {
        return;
    };
    let a = Array1::from_shape_fn(SMALL_LEN, |i| i as f64);
    println!("@ saving");
    npmap::save_npy(&path, &a).unwrap();
    println!("@ saved");
}

/// Files in `dir` other than `keep`.
fn others(dir: &Path, keep: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != keep)
        .collect();
    names.sort();
    names
}

#[test]
fn killed_saves_leave_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.npy");
    let old = Array1::from_shape_fn(10, |i| -(i as f64));
    let (mut old_bytes, mut new_bytes) = (Vec::new(), Vec::new());
    npmap::write_npy_to(&mut old_bytes, &old).unwrap();
    npmap::write_npy_to(
        &mut new_bytes,
        &Array1::from_shape_fn(SMALL_LEN, |i| i as f64),
    )
    .unwrap();
    let (mut saw_old, mut saw_new, mut left_by_kills) = (0, 0, 0);
    for round in 0..50u64 {
        // The next save to the path: it leaves nothing of the killed ones either.
        npmap::save_npy(&path, &old).unwrap();
        let left = others(dir.path(), "target.npy");
        assert!(
            left.is_empty(),
            "round {round}: left after a save: {left:?}"
        );
        let mut c = child("faults::small_save_child", (SMALL_SAVE_ENV, &path))
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
        assert_eq!(next_marker(&mut lines), "saving");
        // Spread over the write, the sync, the rename and the directory sync.
        std::thread::sleep(Duration::from_micros(round * 397 % 20_000));
        c.kill().unwrap();
        c.wait().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        if bytes == old_bytes {
            saw_old += 1;
        } else {
            assert!(
                bytes == new_bytes,
                "round {round}: neither file ({} bytes)",
                bytes.len()
            );
            saw_new += 1;
        }
        // A kill between naming the finished file and renaming it can leave a
        // temporary name behind, of a dead writer; the next save removes it.
        let left = others(dir.path(), "target.npy");
        for name in &left {
            assert!(
                name.starts_with(".target.npy.") && name.ends_with(".tmp"),
                "round {round}: unexpected file {name}"
            );
        }
        left_by_kills += left.len();
    }
    npmap::save_npy(&path, &old).unwrap();
    let left = others(dir.path(), "target.npy");
    assert!(left.is_empty(), "left after the last save: {left:?}");
    eprintln!(
        "killed saves: 50 kills, old file {saw_old}, new file {saw_new}, \
         temporary files right after a kill {left_by_kills}, after the next save 0"
    );
    assert!(saw_old >= 1 && saw_new >= 1, "old {saw_old}, new {saw_new}");
}

#[test]
fn a_save_removes_dead_writers_temporary_files_and_keeps_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.npy");
    let slot = |k: u32| dir.path().join(format!(".t.npy.npmap-{k}.tmp"));
    // Left by writers that died: nothing holds them.
    std::fs::write(slot(0), b"stale").unwrap();
    std::fs::write(slot(2), b"stale").unwrap();
    // A live writer's: held, as npmap holds its temporary files, with an exclusive lock.
    let live = std::fs::File::create(slot(1)).unwrap();
    live.lock().unwrap();
    // Not of the pattern: never touched.
    std::fs::write(dir.path().join(".t.npy.1234.0.tmp"), b"other").unwrap();
    let a = ndarray::arr1(&[1.5f64, 2.5]);
    npmap::save_npy(&path, &a).unwrap();
    assert_eq!(
        others(dir.path(), "t.npy"),
        [".t.npy.1234.0.tmp", ".t.npy.npmap-1.tmp"]
    );
    assert_eq!(std::fs::read(slot(1)).unwrap(), b"");
    let back: Array1<f64> = npmap::read_npy(&path).unwrap();
    assert_eq!(back, a);
    // Its writer gone, the next save removes it too.
    drop(live);
    npmap::save_npy(&path, &(&a * 2.0)).unwrap();
    assert_eq!(others(dir.path(), "t.npy"), [".t.npy.1234.0.tmp"]);
    let back: Array1<f64> = npmap::read_npy(&path).unwrap();
    assert_eq!(back, ndarray::arr1(&[3.0, 5.0]));
}

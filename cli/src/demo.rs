//! `npmap demo`: the seed notebook, end to end, with timings and memory figures.
//!
//! Create a memory-mapped float32 `.npy` ('w+'), fill it column by column with random
//! values in parallel, keep the last column, flush and drop the mapping, reopen it
//! read-only and compare, share writes between two mappings and a second process,
//! compute whole and per-column statistics, show that resident memory stays far
//! below the file size, and save and reload training files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use npmap::ndarray::{Axis, Ix1, Ix2, s};
use npmap::{
    CreateOptions, MmapMode, NpzReader, NpzWriter, ParStats, par_fill_columns, uniform_at,
};

use crate::info::human_bytes;
use crate::{CliResult, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Where to put the files (default: a new folder in the system's temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Rows of the array.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Columns of the array.
    #[arg(long, default_value_t = 100)]
    cols: usize,
    /// Seed of the random fill.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keep the files instead of deleting them at the end.
    #[arg(long)]
    keep: bool,
}

/// The value used for column `col`'s stream of random numbers.
fn column_seed(seed: u64, col: usize) -> u64 {
    seed ^ (col as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

pub(crate) fn run(args: &Args) -> CliResult {
    if args.rows == 0 || args.cols == 0 {
        return fail("demo: --rows and --cols must be at least 1");
    }
    let (dir, made_dir) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("npmap-demo-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        crate::CliError::Message(format!("{}: cannot create folder: {e}", dir.display()))
    })?;
    let result = walkthrough(args, &dir);
    if !args.keep {
        for name in FILES {
            let _ = std::fs::remove_file(dir.join(name));
        }
        if made_dir {
            let _ = std::fs::remove_dir(&dir);
        }
    }
    if result.is_ok() {
        next_commands(args.keep, &dir);
    }
    result
}

/// The files the walkthrough writes.
const FILES: [&str; 4] = ["seed.npy", "X_train.npy", "y_train.npy", "train.npz"];

/// The commands to try next, on the files kept (or how to keep them).
fn next_commands(kept: bool, dir: &Path) {
    step("next");
    if !kept {
        say!(
            "the files were deleted. To keep {} in the current folder, for the commands of the README \
             (npmap info X_train.npy train.npz, ...), run:",
            FILES.join(", ")
        );
        say!(
            "  npmap demo --keep --dir .        (in a checkout: cargo run --release -- demo --keep --dir .)"
        );
        return;
    }
    say!("kept {} in {}; try:", FILES.join(", "), dir.display());
    if dir != Path::new(".") && dir != Path::new("") {
        say!("  cd {}", dir.display());
    }
    say!("  npmap info X_train.npy train.npz");
    say!("  npmap head X_train.npy -n 3");
    say!("  npmap stats train.npz:y_train");
}

fn step(title: &str) {
    say!("\n== {title}");
}

fn walkthrough(args: &Args, dir: &Path) -> CliResult {
    let (rows, cols) = (args.rows, args.cols);
    let path = dir.join("seed.npy");
    let bytes = (rows * cols * 4) as u64;
    say!(
        "npmap demo: a {rows} x {cols} float32 array ({}) in {}",
        human_bytes(bytes),
        dir.display()
    );
    say!("baseline resident memory: {}", memory_line());

    let last_column = create_fill_and_drop(args, &path)?;
    let x = reopen_and_check(&path, &last_column)?;

    step("5. two read-write mappings and a second process share writes");
    shared_writes(&path)?;

    statistics(&x, bytes)?;

    step("7. memory: the array is mapped, not loaded");
    say!(
        "file size {}; process memory now: {}",
        human_bytes(bytes),
        memory_line()
    );
    say!(
        "\"heap and stacks\" is the process's own memory: it stayed small, the array was never copied in."
    );
    say!(
        "\"mapped file pages\" are not heap: they are the OS page cache, pages of files this process \
         has read or written (its own program too), shared with the OS and with every other process mapping the file. The kernel \
         keeps them while memory is free and drops them, at no cost, when memory is needed."
    );
    if let Ok((resident, total)) = x.file().residency() {
        say!("pages of seed.npy in the page cache now: {resident} of {total}");
    }
    drop(x);

    step("8. a training set: X_train (features) and y_train (labels), as .npy files and one .npz");
    save_training_files(&path, dir, cols)?;
    Ok(())
}

/// Steps 1 to 3: create the file mapped (`'w+'`), fill it, keep its last column,
/// flush and drop the mapping.
fn create_fill_and_drop(args: &Args, path: &Path) -> CliResult<Vec<f32>> {
    let (rows, cols) = (args.rows, args.cols);
    let bytes = (rows * cols * 4) as u64;
    step("1. create a memory-mapped .npy ('w+')");
    let started = Instant::now();
    // Preallocating makes a full disk an error here rather than a SIGBUS during the
    // fill, and spares the fill the cost of allocating blocks page by page.
    let options = CreateOptions::new().preallocate(true);
    // SAFETY: the file is this process's own until the demo ends.
    let mut array = unsafe { npmap::create_npy_with::<f32, _>(path, (rows, cols), &options) }?;
    say!(
        "create_npy_with(preallocate): {:.1?} (blocks reserved, header as np.save writes it)",
        started.elapsed()
    );

    step("2. fill it column by column with random values, in parallel");
    let started = Instant::now();
    {
        let mut view = array.view_mut()?;
        par_fill_columns(&mut view, |col, row_start, out: &mut [f32]| {
            let stream = column_seed(args.seed, col);
            for (k, x) in out.iter_mut().enumerate() {
                *x = uniform_at(stream, (row_start + k) as u64) as f32;
            }
        });
    }
    let seconds = started.elapsed().as_secs_f64();
    say!(
        "filled {} in {seconds:.3} s ({:.2} GB/s), writing row blocks so the file is written in order",
        human_bytes(bytes),
        bytes as f64 / seconds / 1e9
    );

    step("3. keep the last column, flush, drop the mapping");
    let last_column: Vec<f32> = array.view().column(cols - 1).to_vec();
    let started = Instant::now();
    array.flush()?;
    drop(array);
    say!(
        "flush + drop: {:.3} s; kept {} values of column {}",
        started.elapsed().as_secs_f64(),
        last_column.len(),
        cols - 1
    );

    Ok(last_column)
}

/// Step 4: reopen read-only and check that the last column survived.
fn reopen_and_check(path: &Path, last_column: &[f32]) -> CliResult<npmap::NpyArray<f32, Ix2>> {
    step("4. reopen read-only and check the last column");
    let started = Instant::now();
    // SAFETY: as above.
    let x = unsafe { npmap::load_npy::<f32, Ix2>(path, MmapMode::ReadOnly) }?;
    say!("load_npy: {:.1?}", started.elapsed());
    let same = x
        .view()
        .column(x.view().ncols() - 1)
        .iter()
        .zip(last_column)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    say!("last column equal after reopening: {same}");
    if !same {
        return fail("demo: the last column changed after reopening");
    }

    Ok(x)
}

/// Step 6: whole-array and per-column statistics, one pass each.
fn statistics(x: &npmap::NpyArray<f32, Ix2>, bytes: u64) -> CliResult {
    let cols = x.view().ncols();
    step("6. statistics in one pass on all cores");
    let started = Instant::now();
    let all = x.view().par_moments();
    let whole = started.elapsed().as_secs_f64();
    say!(
        "whole array: sum {:.6e}, mean {:.9}, std {:.9}  ({whole:.3} s, {:.2} GB/s)",
        all.sum(),
        all.mean(),
        all.std(0),
        bytes as f64 / whole / 1e9
    );
    let started = Instant::now();
    let per_column = x.view().par_moments_axis(Axis(0));
    let by_col = started.elapsed().as_secs_f64();
    say!(
        "per column: all {cols} columns in {by_col:.3} s ({:.2} GB/s); the first {} of {cols}:",
        bytes as f64 / by_col / 1e9,
        cols.min(3)
    );
    for (c, m) in per_column.iter().enumerate().take(3) {
        // min and max are float32 values: printed with the shortest digits that
        // identify them as float32, as NumPy prints them (a max below 1 shows as such).
        say!(
            "  column {c}: mean {:.9}, std {:.9}, min {}, max {}",
            m.mean(),
            m.std(0),
            m.min() as f32,
            m.max() as f32
        );
    }
    say!(
        "  (a uniform [0, 1) sample has mean 0.5 and std {:.9}; every value is below 1)",
        (1.0f64 / 12.0).sqrt()
    );

    Ok(())
}

/// Writes through one mapping, reads through another, and asks a second process.
fn shared_writes(path: &Path) -> CliResult {
    // SAFETY: both mappings write only valid f32 values; nothing truncates the file.
    let mut a = unsafe { npmap::load_npy::<f32, Ix2>(path, MmapMode::ReadWrite) }?;
    // SAFETY: as above.
    let b = unsafe { npmap::load_npy::<f32, Ix2>(path, MmapMode::ReadWrite) }?;
    let before = b.view()[[0, 0]];
    a.view_mut()?[[0, 0]] = 123.5;
    say!(
        "wrote 123.5 at [0, 0] through mapping A; mapping B reads {} (was {before})",
        b.view()[[0, 0]]
    );
    a.flush()?;
    let exe = std::env::current_exe()
        .map_err(|e| crate::CliError::Message(format!("cannot find the npmap executable: {e}")))?;
    let output = Command::new(exe)
        .arg("peek")
        .arg(path)
        .args(["0", "0"])
        .output();
    match output {
        Ok(o) if o.status.success() => say!(
            "a second process (npmap peek) reads {}",
            String::from_utf8_lossy(&o.stdout).trim()
        ),
        Ok(o) => say!(
            "the second process failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => say!("could not start a second process: {e}"),
    }
    a.view_mut()?[[0, 0]] = before;
    a.flush()?;
    Ok(())
}

fn save_training_files(path: &Path, dir: &Path, cols: usize) -> CliResult {
    // SAFETY: as above.
    let x = unsafe { npmap::load_npy::<f32, Ix2>(path, MmapMode::ReadOnly) }?;
    let features = x.view().slice_move(s![.., ..cols.saturating_sub(1).max(1)]);
    let labels = x.view().column(cols - 1).mapv(|v| i64::from(v > 0.5));
    let (x_path, y_path) = (dir.join("X_train.npy"), dir.join("y_train.npy"));
    say!(
        "X_train: the first {} columns, float32 features; y_train: one int64 label per row, \
         1 where the last column is above 0.5, else 0 (y = (seed[:, -1] > 0.5).astype(np.int64))",
        features.ncols()
    );
    let started = Instant::now();
    npmap::save_npy(&x_path, &features)?;
    npmap::save_npy(&y_path, &labels)?;
    say!(
        "saved X_train.npy {:?} and y_train.npy ({},) in {:.3} s (atomic: temp file + rename)",
        features.dim(),
        labels.len(),
        started.elapsed().as_secs_f64()
    );
    // SAFETY: as above.
    let x_back = unsafe { npmap::load_npy::<f32, Ix2>(&x_path, MmapMode::ReadOnly) }?;
    // SAFETY: as above.
    let y_back = unsafe { npmap::load_npy::<i64, Ix1>(&y_path, MmapMode::ReadOnly) }?;
    let equal = x_back.view() == features && y_back.view() == labels;
    let ones = y_back.view().sum();
    say!(
        "reloaded mapped: X_train {:?}, y_train ({},) with {ones} labels 1 and {} labels 0 \
         (about half: the last column is uniform in [0, 1)); equal to what was saved: {equal}",
        x_back.view().dim(),
        y_back.view().len(),
        y_back.view().len() as i64 - ones
    );
    if !equal {
        return fail("demo: reloaded training files differ");
    }

    let npz_path = dir.join("train.npz");
    let started = Instant::now();
    let mut archive = NpzWriter::create(&npz_path)?;
    archive.add("X_train", &features)?;
    archive.add("y_train", &labels)?;
    archive.finish()?;
    say!(
        "saved train.npz (stored, members 64-byte aligned) in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let reader = NpzReader::open(&npz_path)?;
    // SAFETY: as above.
    let x_member = unsafe { reader.map::<f32, Ix2>("X_train") }?;
    let mapped = started.elapsed();
    let y_member: npmap::ndarray::Array1<i64> = reader.read("y_train")?;
    let same = x_member.view() == features && y_member == labels;
    say!(
        "reopened train.npz: members {:?}; X_train mapped zero-copy in {:.1?} (open included); equal: {same}",
        reader.names(),
        mapped
    );
    if !same {
        return fail("demo: train.npz members differ from what was saved");
    }
    Ok(())
}

/// VmRSS and VmHWM from /proc/self/status.
pub(crate) fn memory_line() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return "unknown".into();
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or("?".to_string(), |kb| human_bytes(kb * 1024))
    };
    format!(
        "resident {} (peak {}): heap and stacks {}, mapped file pages {}",
        field("VmRSS:"),
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:")
    )
}

/// `npmap peek FILE ROW COL` (hidden): the second process of step 5.
#[derive(clap::Args)]
pub(crate) struct PeekArgs {
    file: PathBuf,
    row: usize,
    col: usize,
}

pub(crate) fn peek(args: &PeekArgs) -> CliResult {
    // SAFETY: read-only, for the duration of one read.
    let x = unsafe { npmap::load_npy::<f32, Ix2>(&args.file, MmapMode::ReadOnly) }?;
    match x.view().get([args.row, args.col]) {
        Some(v) => {
            say!("{v}");
            Ok(())
        }
        None => fail(format!(
            "{}: index [{}, {}] is out of bounds for shape {:?}",
            args.file.display(),
            args.row,
            args.col,
            x.view().dim()
        )),
    }
}

//! One npmap operation, timed, for `benches/vs_numpy.py` (the side-by-side comparison
//! with NumPy). Prints one line of JSON: median seconds, the results needed for the
//! accuracy check, and memory use.
//!
//! ```text
//! bench_ops open|moments|moments_axis0|moments_axis1|fill_uniform|fill_columns|probe|probe_file PATH
//!           [--repeat N] [--rows R --cols C] [--threads T] [--preallocate 1]
//!           [--write-behind 1] [--flush 1] [--rescan 0]
//! ```
//!
//! `open`, `moments`, `moments_axis0` and `moments_axis1` (per row; prints the sums of
//! the rows' means and standard deviations) read an existing 2-D `f32` .npy file, with
//! no access advice (`BENCH_ADVICE=sequential`: `NpyFile::advise_sequential` first;
//! `drop_behind`: the whole-array scan releases what it has read, `NpyFile::drop_behind`);
//! `fill_uniform` and `fill_columns` create (and overwrite) `PATH` with `R × C` `f32`
//! values (`--preallocate 1`: with `CreateOptions::new().preallocate(true)`, so the
//! first write to each page does not allocate disk blocks; `--write-behind 1`: with
//! `NpyFile::write_behind` while filling; `--flush 1`: the time includes flushing the
//! file to disk); `probe` sums an in-RAM buffer of the same size as `PATH` (at least 512 MB)
//! with a plain vectorised parallel sum: how fast the memory can be read; `probe_file` runs
//! the same sum over the mapped file. The reads scan the file twice per repeat (a first
//! scan and a rescan); `--rescan 0` scans it once.

use std::time::Instant;

use ndarray::{Axis, Ix2};
use npmap::{CreateOptions, MmapMode, ParStats, par_fill_columns, par_fill_uniform, uniform_at};
use rayon::prelude::*;
use serde_json::{Value, json};

struct Args {
    op: String,
    path: String,
    repeat: usize,
    rows: usize,
    cols: usize,
    preallocate: bool,
    write_behind: bool,
    flush: bool,
    rescan: bool,
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bench_ops OP PATH [--repeat N] [--rows R --cols C] [--threads T] \
                 [--preallocate 1] [--write-behind 1] [--flush 1] [--rescan 0]";
    let op = args.next().expect(usage);
    let path = args.next().expect(usage);
    let mut parsed = Args {
        op,
        path,
        repeat: 5,
        rows: 4_000_000,
        cols: 100,
        preallocate: false,
        write_behind: false,
        flush: false,
        rescan: true,
    };
    while let Some(flag) = args.next() {
        let value: usize = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{flag} needs a number\n{usage}"));
        match flag.as_str() {
            "--repeat" => parsed.repeat = value.max(1),
            "--rows" => parsed.rows = value,
            "--cols" => parsed.cols = value,
            "--preallocate" => parsed.preallocate = value != 0,
            "--write-behind" => parsed.write_behind = value != 0,
            "--flush" => parsed.flush = value != 0,
            "--rescan" => parsed.rescan = value != 0,
            "--threads" => rayon::ThreadPoolBuilder::new()
                .num_threads(value)
                .build_global()
                .expect("the global pool is built once"),
            _ => panic!("unknown flag {flag}\n{usage}"),
        }
    }
    parsed
}

/// A field of `/proc/self/status`, in bytes (0 if absent).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    }
}

/// Runs `op` `repeat` times; returns the median seconds and the last result. The
/// fastest time goes to stderr (less sensitive to a busy machine when comparing).
fn timed<T>(repeat: usize, mut op: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(repeat);
    let mut last = None;
    for _ in 0..repeat {
        let start = Instant::now();
        let result = std::hint::black_box(op());
        times.push(start.elapsed().as_secs_f64());
        last = Some(result);
    }
    let fastest = times.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!("fastest {fastest:.5} s");
    (median(&mut times), last.expect("repeat >= 1"))
}

/// The bandwidth probe: a plain vectorisable `f32` sum in parallel chunks.
fn probe_sum(values: &[f32]) -> f32 {
    values
        .par_chunks(1 << 20)
        .map(|chunk| {
            let mut lanes = [0.0f32; 16];
            let blocks = chunk.chunks_exact(16);
            let rest: f32 = blocks.remainder().iter().sum();
            for block in blocks {
                for (acc, &x) in lanes.iter_mut().zip(block) {
                    *acc += x;
                }
            }
            lanes.iter().sum::<f32>() + rest
        })
        .sum()
}

fn run(args: &Args) -> npmap::Result<Value> {
    let path = args.path.as_str();
    let repeat = args.repeat;
    let bytes_of = |rows: usize, cols: usize| (rows * cols * 4) as u64;
    let out = match args.op.as_str() {
        "open" => {
            let (secs, shape) = timed(repeat, || {
                // SAFETY: the benchmark's files are not modified while mapped.
                let a = unsafe { npmap::load_npy::<f32, Ix2>(path, MmapMode::ReadOnly) };
                a.map(|a| a.view().dim())
            });
            let (rows, cols) = shape?;
            json!({"seconds": secs, "bytes": bytes_of(rows, cols)})
        }
        "moments" | "moments_axis0" | "moments_axis1" => {
            // Each repeat maps the file afresh and scans it twice: the first scan
            // ("seconds") also maps the pages into the process (page-table faults on
            // page-cache pages); the second ("rescan_seconds") reads mapped pages
            // (`--rescan 0`: the first scan only).
            let whole = args.op == "moments";
            let mut first = Vec::with_capacity(repeat);
            let mut again = Vec::with_capacity(repeat);
            let mut out = Value::Null;
            for _ in 0..repeat {
                let opened = Instant::now();
                // SAFETY: the benchmark's files are not modified while mapped.
                let a = unsafe { npmap::load_npy::<f32, Ix2>(path, MmapMode::ReadOnly)? };
                if std::env::var("BENCH_ADVICE").as_deref() == Ok("sequential") {
                    a.file().advise_sequential();
                }
                if std::env::var_os("BENCH_PREFAULT").is_some() {
                    a.file().prefault();
                }
                let v = a.view();
                let scans = if args.rescan { 2 } else { 1 };
                for (scan, times) in [&mut first, &mut again].into_iter().enumerate().take(scans) {
                    let start = if scan == 0 { opened } else { Instant::now() };
                    out = if whole {
                        let m = match std::env::var("BENCH_ADVICE").as_deref() {
                            Ok("drop_behind") => {
                                v.par_moments_with_progress(&a.file().drop_behind())
                            }
                            _ => v.par_moments(),
                        };
                        let m = std::hint::black_box(m);
                        json!({"mean": m.mean(), "std": m.std(0), "min": m.min(),
                               "max": m.max(), "sum": m.sum()})
                    } else if args.op == "moments_axis1" {
                        // One result per row: only their sums go out, to compare.
                        let rows = std::hint::black_box(v.par_moments_axis(Axis(1)));
                        let means: f64 = rows.iter().map(|m| m.mean()).sum();
                        let stds: f64 = rows.iter().map(|m| m.std(0)).sum();
                        json!({"sum_of_means": means, "sum_of_stds": stds})
                    } else {
                        let cols = std::hint::black_box(v.par_moments_axis(Axis(0)));
                        let means: Vec<f64> = cols.iter().map(|m| m.mean()).collect();
                        let stds: Vec<f64> = cols.iter().map(|m| m.std(0)).collect();
                        json!({"means": means, "stds": stds})
                    };
                    times.push(start.elapsed().as_secs_f64());
                }
                out["bytes"] = json!(bytes_of(v.nrows(), v.ncols()));
            }
            eprintln!("first scans {first:.4?}, rescans {again:.4?}");
            out["seconds"] = json!(median(&mut first));
            if args.rescan {
                out["rescan_seconds"] = json!(median(&mut again));
            }
            out
        }
        "fill_uniform" | "fill_columns" => {
            let by_columns = args.op == "fill_columns";
            let (secs, check) = timed(repeat, || -> npmap::Result<f32> {
                let options = CreateOptions::new().preallocate(args.preallocate);
                let shape = (args.rows, args.cols);
                // SAFETY: the benchmark's files are not modified by anyone else.
                let mut a = unsafe { npmap::create_npy_with::<f32, _>(path, shape, &options)? };
                let behind = match args.write_behind {
                    true => Some(a.file().write_behind()?),
                    false => None,
                };
                let mut v = a.view_mut()?;
                if by_columns {
                    let nrows = args.rows as u64;
                    par_fill_columns(&mut v, |col, row_start, out| {
                        let seed = col as u64;
                        for (row, x) in (row_start as u64..nrows).zip(out.iter_mut()) {
                            *x = uniform_at(seed, row) as f32;
                        }
                    });
                } else {
                    par_fill_uniform(&mut v, 1);
                }
                let last = v[[args.rows - 1, args.cols - 1]];
                drop(behind);
                if args.flush {
                    a.flush()?;
                }
                Ok(last)
            });
            json!({"seconds": secs, "bytes": bytes_of(args.rows, args.cols), "last": check?})
        }
        "probe" => {
            let file_bytes = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
            let len = file_bytes.max(512 << 20) / 4;
            let mut buffer = vec![0.0f32; len];
            buffer
                .par_chunks_mut(1 << 20)
                .enumerate()
                .for_each(|(k, c)| c.fill(k as f32));
            let (secs, sum) = timed(repeat, || probe_sum(&buffer));
            json!({"seconds": secs, "bytes": len * 4, "sum": sum})
        }
        "probe_file" => {
            // The probe's kernel over the mapped file: what reading mapped page-cache
            // pages costs, apart from the statistics kernel.
            // SAFETY: the benchmark's files are not modified while mapped.
            let a = unsafe { npmap::load_npy::<f32, Ix2>(path, MmapMode::ReadOnly)? };
            a.file().advise_sequential();
            let v = a.view();
            let values = v.as_slice().expect("a C-order file");
            let (secs, sum) = timed(repeat, || probe_sum(values));
            json!({"seconds": secs, "bytes": values.len() * 4, "sum": sum})
        }
        other => panic!("unknown operation {other}"),
    };
    Ok(out)
}

fn main() {
    let args = parse_args();
    let baseline_rss = status_bytes("VmRSS");
    let baseline_anon = status_bytes("RssAnon");
    let mut out = match run(&args) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("bench_ops: {e}");
            std::process::exit(1);
        }
    };
    out["op"] = json!(args.op);
    out["threads"] = json!(rayon::current_num_threads());
    out["baseline_rss"] = json!(baseline_rss);
    out["baseline_anon"] = json!(baseline_anon);
    out["hwm_extra"] = json!(status_bytes("VmHWM").saturating_sub(baseline_rss));
    println!("{out}");
}

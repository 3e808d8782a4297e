//! One npmap joblib operation, timed, for `benches/joblib_vs_joblib.py` (the
//! side-by-side comparison with joblib). Prints one line of JSON: the seconds of each
//! repeat and a checksum of what was read.
//!
//! ```text
//! joblib_ops open|read|write|memcpy PATH [--from NPY] [--repeat N]
//! ```
//!
//! `open` maps the dump at PATH and takes the view of its `X` array (as
//! `joblib.load(PATH, mmap_mode='r')['X']`); `read` reads the dump into memory (as
//! `joblib.load(PATH)`); `write` dumps the array of the `.npy` file NPY, read into
//! memory before the clock starts, as `{'X': array}` to PATH (as `joblib.dump`, then
//! synced); `memcpy` copies a buffer of PATH's size
//! into another one, both already in memory: the limit of a copying read on this
//! machine.

use std::time::Instant;

use ndarray::Ix2;
use npmap::MmapMode;
use npmap::joblib::JoblibWriter;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: joblib_ops open|read|write|memcpy PATH [--from NPY] [--repeat N]";
    let (op, path) = (args.first().expect(usage), args.get(1).expect(usage));
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let repeat: usize = flag("--repeat").map_or(1, |r| r.parse().expect(usage));
    let mut seconds = Vec::new();
    let mut check = 0.0f64;
    for _ in 0..repeat {
        let start = Instant::now();
        check = match op.as_str() {
            "open" => {
                // SAFETY: the benchmark's files are not modified while it runs.
                let d = unsafe { npmap::joblib::load(path, MmapMode::ReadOnly) }.unwrap();
                let x = d["X"].array().unwrap().view::<f32, Ix2>().unwrap();
                x.shape()[0] as f64
            }
            "read" => {
                let d = npmap::joblib::read(path).unwrap();
                let x = d["X"].array().unwrap().view::<f32, Ix2>().unwrap();
                f64::from(x[[x.nrows() - 1, x.ncols() - 1]])
            }
            "write" => {
                let from = flag("--from").expect("write needs --from NPY");
                let x: ndarray::Array2<f32> = npmap::read_npy(&from).unwrap();
                let start = Instant::now();
                let mut w = JoblibWriter::create(path).unwrap();
                w.add("X", &x).unwrap();
                w.finish().unwrap();
                seconds.push(start.elapsed().as_secs_f64());
                check = std::fs::metadata(path).unwrap().len() as f64;
                continue;
            }
            "memcpy" => {
                let len = std::fs::metadata(path).unwrap().len() as usize;
                let src = vec![1u8; len];
                let mut dst = vec![2u8; len];
                let start = Instant::now();
                dst.copy_from_slice(&src);
                seconds.push(start.elapsed().as_secs_f64());
                std::hint::black_box(&dst);
                continue;
            }
            other => panic!("unknown op {other}\n{usage}"),
        };
        seconds.push(start.elapsed().as_secs_f64());
    }
    println!("{{\"seconds\": {seconds:?}, \"check\": {check}}}");
}

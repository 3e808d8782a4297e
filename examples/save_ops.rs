//! Timing helper for `benches/save_vs_numpy.py`: one timed operation, as JSON.
//!
//! ```sh
//! cargo run --release --example save_ops -- save|save-unsynced|write DIR ROWS COLS
//! cargo run --release --example save_ops -- create DIR GIGABYTES REPEAT
//! ```

use std::time::Instant;

use ndarray::Array2;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {i} ({what}) missing or invalid"))
}

/// The benchmark array, allocated as NumPy allocates large arrays on Linux: with
/// transparent huge pages requested (`madvise(MADV_HUGEPAGE)`), so that both writers
/// copy from the same kind of memory.
fn numpy_like_array(rows: usize, cols: usize) -> Array2<f32> {
    let mut values: Vec<f32> = Vec::with_capacity(rows * cols);
    #[cfg(target_os = "linux")]
    {
        let start = values.as_mut_ptr() as usize;
        let page_start = start & !4095;
        let len = values.capacity() * 4 + (start - page_start);
        // SAFETY: the allocator maps a buffer this large on its own pages, so the range
        // from the page start lies within that mapping; the advice changes how the
        // kernel backs the memory, not its contents or validity.
        unsafe {
            libc::madvise(page_start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
    values.extend((0..rows * cols).map(|k| (k % 1000) as f32 * 0.5));
    Array2::from_shape_vec((rows, cols), values).unwrap()
}

/// Bytes of memory touched and released right before a timed save.
const WARM_BYTES: usize = 2_000_000_000;

/// Touches `bytes` of fresh memory (allocated as NumPy allocates, like the array) and
/// frees it. In this VM the host backs guest memory
/// lazily and takes back what the guest leaves free for a few seconds, so a first
/// write to such a page costs a host fault (~0.5 GB/s). A save fills the page cache,
/// so without this its time would depend on whether the kernel hands it pages freed
/// a moment ago (e.g. NumPy's temporaries) or long ago. Both children of
/// `benches/save_vs_numpy.py` do this, so both writers get the same warm memory, as on
/// a machine whose memory is simply there.
fn warm_memory(bytes: usize) {
    let buffer = numpy_like_array(bytes / 4, 1);
    std::hint::black_box(&buffer);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map(String::as_str).unwrap_or("");
    let dir = std::path::PathBuf::from(arg::<String>(&args, 2, "dir"));
    match op {
        "save" | "save-unsynced" | "write" => {
            let (rows, cols) = (
                arg::<usize>(&args, 3, "rows"),
                arg::<usize>(&args, 4, "cols"),
            );
            let a = numpy_like_array(rows, cols);
            let path = dir.join(format!("npmap_{op}.npy"));
            if std::env::var_os("SAVE_OPS_SHOW_THP").is_some() {
                let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
                eprintln!(
                    "{}",
                    rollup
                        .lines()
                        .filter(|l| l.contains("AnonHuge"))
                        .collect::<String>()
                );
            }
            // Start from a clean page cache state: no dirty pages from earlier runs.
            std::process::Command::new("sync").status().unwrap();
            warm_memory(WARM_BYTES);
            let t = Instant::now();
            if op == "save" {
                npmap::save_npy(&path, &a).unwrap();
            } else if op == "save-unsynced" {
                npmap::save_npy_with(&path, &a, &npmap::SaveOptions::new().sync(false)).unwrap();
            } else {
                let file = std::fs::File::create(&path).unwrap();
                npmap::write_npy_to(std::io::BufWriter::new(file), &a).unwrap();
            }
            println!(
                "{{\"seconds\": {}, \"bytes\": {}}}",
                t.elapsed().as_secs_f64(),
                rows * cols * 4
            );
        }
        "create" => {
            let (gigabytes, repeat) = (
                arg::<u64>(&args, 3, "gigabytes"),
                arg::<usize>(&args, 4, "repeat"),
            );
            let cols = 1000usize;
            let rows = (gigabytes * 1_000_000_000 / 4 / cols as u64) as usize;
            let path = dir.join("npmap_sparse.npy");
            let mut times = Vec::new();
            for _ in 0..repeat {
                let t = Instant::now();
                // SAFETY: the file is private to this benchmark.
                let m = unsafe { npmap::create_npy::<f32, _>(&path, (rows, cols)) }.unwrap();
                times.push(t.elapsed().as_secs_f64());
                drop(m);
                std::fs::remove_file(&path).unwrap();
            }
            println!(
                "{{\"create_npy\": {}, \"bytes\": {}}}",
                median(times),
                rows as u64 * cols as u64 * 4
            );
        }
        _ => panic!(
            "usage: save_ops save|save-unsynced|write DIR ROWS COLS | create DIR GIGABYTES REPEAT"
        ),
    }
}

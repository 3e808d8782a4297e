//! Times flate2's raw deflate and inflate of whole files with the backend this build
//! was compiled for (feature `miniz` or `zlib-rs`, optionally `runtime-detection`).
//!
//! ```text
//! npmap-deflate-bench [--repeat N] [--inflate-repeat M] [--level L] [--tsv] [--out DIR] FILE...
//! ```
//!
//! Each file is read into memory, deflated `N` times (`flate2::write::DeflateEncoder`, as
//! the `zip` crate writes a member), then inflated `M` times (default `N`;
//! `flate2::bufread::DeflateDecoder`, as npmap reads one). Every inflated copy is
//! compared with the input. Speeds are MB/s of uncompressed data (1 MB = 1e6 bytes) at
//! the median time. `--out DIR` also writes the deflated bytes to
//! `DIR/<file name>.<backend>.deflate`, so another zlib can check that it inflates them.

use std::error::Error;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use flate2::Compression;
use flate2::bufread::DeflateDecoder;
use flate2::write::DeflateEncoder;

#[cfg(all(feature = "miniz", feature = "zlib-rs"))]
compile_error!("enable one of the features `miniz` and `zlib-rs`, not both");
#[cfg(not(any(feature = "miniz", feature = "zlib-rs")))]
compile_error!("enable one of the features `miniz` or `zlib-rs`");

/// Short name of the backend, as the driver script's table shows it.
const BACKEND: &str = if cfg!(feature = "zlib-rs") {
    if cfg!(feature = "runtime-detection") {
        "zlib-rs+rtd"
    } else {
        "zlib-rs"
    }
} else {
    "miniz_oxide"
};

/// How this build selected the backend.
const FEATURES: &str = if cfg!(feature = "zlib-rs") {
    if cfg!(feature = "runtime-detection") {
        "flate2 features zlib-rs + runtime_detection (zlib-rs with std: SIMD picked at run time)"
    } else {
        "flate2 feature zlib-rs, default features off (zlib-rs without std: no run-time SIMD detection)"
    }
} else {
    "flate2 feature rust_backend (miniz_oxide)"
};

const USAGE: &str = "usage: npmap-deflate-bench [--repeat N] [--inflate-repeat M] [--level L] [--tsv] [--out DIR] FILE...";

struct Options {
    repeat: usize,
    inflate_repeat: Option<usize>,
    level: u32,
    tsv: bool,
    out: Option<PathBuf>,
    files: Vec<PathBuf>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        repeat: 5,
        inflate_repeat: None,
        level: 6,
        tsv: false,
        out: None,
        files: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--repeat" => {
                options.repeat = value("--repeat")?
                    .parse()
                    .map_err(|e| format!("--repeat: {e}"))?;
            }
            "--inflate-repeat" => {
                options.inflate_repeat = Some(
                    value("--inflate-repeat")?
                        .parse()
                        .map_err(|e| format!("--inflate-repeat: {e}"))?,
                );
            }
            "--level" => {
                options.level = value("--level")?
                    .parse()
                    .map_err(|e| format!("--level: {e}"))?;
            }
            "--out" => options.out = Some(PathBuf::from(value("--out")?)),
            "--tsv" => options.tsv = true,
            "-h" | "--help" => return Err(USAGE.into()),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}\n{USAGE}")),
            _ => options.files.push(PathBuf::from(arg)),
        }
    }
    if options.files.is_empty() {
        return Err(USAGE.into());
    }
    if options.repeat == 0 || options.inflate_repeat == Some(0) {
        return Err("--repeat and --inflate-repeat must be at least 1".into());
    }
    if options.level > 9 {
        return Err("--level must be 0 to 9".into());
    }
    Ok(options)
}

/// Deflates `input` (raw deflate, no zlib header) into `out`, replacing its contents.
fn deflate(input: &[u8], level: u32, out: &mut Vec<u8>) -> io::Result<()> {
    out.clear();
    let mut encoder = DeflateEncoder::new(out, Compression::new(level));
    encoder.write_all(input)?;
    encoder.finish()?;
    Ok(())
}

/// Inflates `compressed` into `out`, which must be exactly as long as the stream inflates.
fn inflate(compressed: &[u8], out: &mut [u8]) -> io::Result<()> {
    let mut decoder = DeflateDecoder::new(compressed);
    decoder.read_exact(out)?;
    let mut extra = [0u8; 1];
    if decoder.read(&mut extra)? != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "stream inflates past the input's length",
        ));
    }
    Ok(())
}

fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn mb_per_s(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds
}

fn join(times: &[f64]) -> String {
    let parts: Vec<String> = times.iter().map(|t| format!("{t:.4}")).collect();
    parts.join(",")
}

struct Measured {
    compressed: usize,
    deflate: Vec<f64>,
    inflate: Vec<f64>,
}

fn measure(input: &[u8], options: &Options, path: &Path) -> Result<Measured, Box<dyn Error>> {
    // Both buffers are written once before timing, so no run pays for page faults.
    let bound = input.len() + input.len() / 256 + 1024;
    let mut compressed = vec![0u8; bound];
    let mut inflated = vec![0xA5u8; input.len()];
    let mut deflate_times = Vec::with_capacity(options.repeat);
    let mut size = None;
    for _ in 0..options.repeat {
        let start = Instant::now();
        deflate(input, options.level, &mut compressed)?;
        deflate_times.push(start.elapsed().as_secs_f64());
        if *size.get_or_insert(compressed.len()) != compressed.len() {
            return Err(format!("{}: deflated size changed between runs", path.display()).into());
        }
    }
    let inflate_repeat = options.inflate_repeat.unwrap_or(options.repeat);
    let mut inflate_times = Vec::with_capacity(inflate_repeat);
    for _ in 0..inflate_repeat {
        let start = Instant::now();
        inflate(&compressed, &mut inflated)?;
        inflate_times.push(start.elapsed().as_secs_f64());
        if inflated != input {
            return Err(format!("{}: inflated bytes differ from the input", path.display()).into());
        }
        inflated.fill(0xA5);
    }
    if let Some(dir) = &options.out {
        let name = path
            .file_name()
            .unwrap_or(path.as_os_str())
            .to_string_lossy();
        let dest = dir.join(format!("{name}.{BACKEND}.deflate"));
        std::fs::write(&dest, &compressed).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    Ok(Measured {
        compressed: compressed.len(),
        deflate: deflate_times,
        inflate: inflate_times,
    })
}

fn cpu_line() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let yes = |detected: bool| if detected { "yes" } else { "no" };
        format!(
            "cpu: avx2 {}, bmi2 {}, avx512f {}, avx512bw {}, pclmulqdq {}",
            yes(std::is_x86_feature_detected!("avx2")),
            yes(std::is_x86_feature_detected!("bmi2")),
            yes(std::is_x86_feature_detected!("avx512f")),
            yes(std::is_x86_feature_detected!("avx512bw")),
            yes(std::is_x86_feature_detected!("pclmulqdq")),
        )
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        format!("cpu: {}", std::env::consts::ARCH)
    }
}

fn run(options: &Options) -> Result<(), Box<dyn Error>> {
    if !options.tsv {
        println!(
            "backend {BACKEND}: {FEATURES}\n{}\nlevel {}, {} deflate and {} inflate runs, MB/s of uncompressed bytes at the median time",
            cpu_line(),
            options.level,
            options.repeat,
            options.inflate_repeat.unwrap_or(options.repeat)
        );
    }
    for path in &options.files {
        let input = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let m = measure(&input, options, path)?;
        let (deflate, inflate) = (median(&m.deflate), median(&m.inflate));
        if options.tsv {
            println!(
                "{BACKEND}\t{}\t{}\t{}\t{deflate:.6}\t{inflate:.6}\t{}\t{}",
                path.display(),
                input.len(),
                m.compressed,
                join(&m.deflate),
                join(&m.inflate)
            );
        } else {
            println!(
                "{}: {} bytes -> {} deflated ({:.2} %), round trip verified",
                path.display(),
                input.len(),
                m.compressed,
                100.0 * m.compressed as f64 / input.len() as f64
            );
            println!(
                "  deflate  median {deflate:.4} s  {:8.1} MB/s  (runs: {})",
                mb_per_s(input.len(), deflate),
                join(&m.deflate)
            );
            println!(
                "  inflate  median {inflate:.4} s  {:8.1} MB/s  (runs: {})",
                mb_per_s(input.len(), inflate),
                join(&m.inflate)
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("npmap-deflate-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

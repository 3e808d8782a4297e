//! What the CLI's integration tests share: running the `npmap` binary, and a sample.

use std::path::Path;
use std::process::{Command, Output};

use npmap::ndarray::Array2;

/// The `npmap` binary run with `args` in `dir`.
pub fn npmap(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npmap"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the npmap binary runs")
}

/// Its standard output, after checking that it succeeded.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "npmap failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// 1000 x 7 float64 values of mixed signs and sizes.
pub fn sample() -> Array2<f64> {
    Array2::from_shape_fn((1000, 7), |(i, j)| {
        ((i * 7 + j) as f64 * 0.7).sin() * 10.0 + j as f64
    })
}

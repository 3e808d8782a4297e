//! Running NumPy from tests: `python3` with numpy, or a clear skip (a failure when
//! `NPMAP_REQUIRE_NUMPY=1`, as CI sets it).

use std::path::Path;
use std::process::Command;

/// True when `python3 -c "import numpy"` works. Without numpy, prints why the
/// calling test is skipped, or panics when numpy is required.
pub(crate) fn available(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        let required = std::env::var("NPMAP_REQUIRE_NUMPY").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{test}: numpy is required (NPMAP_REQUIRE_NUMPY=1) but python3 -c 'import numpy' fails"
        );
        eprintln!("{test}: skipped: numpy not available (pip install numpy to run it)");
    }
    ok
}

/// Runs a Python script with `args`; panics with its output when it fails, and
/// returns its standard output.
pub(crate) fn run(script: &str, args: &[&Path]) -> String {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

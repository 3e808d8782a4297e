//! Running NumPy from tests: `python3` with numpy, or a clear skip (a failure when
//! `NPMAP_REQUIRE_NUMPY=1`, as CI sets it).

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::{Once, OnceLock};

/// The installed numpy's version, or `None` without python3 + numpy; looked up once.
fn numpy_version() -> Option<&'static str> {
    static VERSION: OnceLock<Option<String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let output = Command::new("python3")
                .args(["-c", "import numpy; print(numpy.__version__)"])
                .output()
                .ok()?;
            let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
            (output.status.success() && !version.is_empty()).then_some(version)
        })
        .as_deref()
}

/// Says once per test run, on the terminal itself (test output capture does not hide
/// it), whether the NumPy round trips ran: a user without numpy sees "SKIPPED", not
/// just a row of "ok".
fn announce(version: Option<&str>) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let line = match version {
            Some(v) => format!("npmap tests: NumPy round trips RUN against numpy {v}\n"),
            None => "npmap tests: NumPy round trips SKIPPED: python3 cannot import numpy \
                     (pip install numpy, or set NPMAP_REQUIRE_NUMPY=1 to make this a failure)\n"
                .to_string(),
        };
        let _ = std::io::stderr().write_all(line.as_bytes());
    });
}

/// True when `python3 -c "import numpy"` works. Without numpy, says that the
/// calling test skipped its NumPy part, or panics when numpy is required
/// (`NPMAP_REQUIRE_NUMPY=1`).
pub(crate) fn available(test: &str) -> bool {
    let version = numpy_version();
    announce(version);
    if version.is_none() {
        let required = std::env::var("NPMAP_REQUIRE_NUMPY").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{test}: numpy is required (NPMAP_REQUIRE_NUMPY=1) but python3 -c 'import numpy' fails"
        );
        let _ = writeln!(
            std::io::stderr(),
            "{test}: NumPy part skipped (numpy not available)"
        );
    }
    version.is_some()
}

/// True when numpy and joblib both import (see [`modules_available`]).
pub(crate) fn joblib_available(test: &str) -> bool {
    modules_available(test, &["joblib"])
}

/// True when numpy and each of `modules` import (see [`available`]); otherwise says
/// that the calling test skipped its part, or panics when NumPy tests are required
/// (`NPMAP_REQUIRE_NUMPY=1`, as in CI, which installs them all).
pub(crate) fn modules_available(test: &str, modules: &[&str]) -> bool {
    if !available(test) {
        return false;
    }
    let imports = Command::new("python3")
        .args(["-c", &format!("import {}", modules.join(", "))])
        .output()
        .is_ok_and(|o| o.status.success());
    if !imports {
        let required = std::env::var("NPMAP_REQUIRE_NUMPY").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{test}: {modules:?} are required (NPMAP_REQUIRE_NUMPY=1) but do not all import"
        );
        let _ = writeln!(
            std::io::stderr(),
            "{test}: part skipped ({modules:?} not available)"
        );
    }
    imports
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

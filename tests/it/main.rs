//! Integration tests: one binary, one module per concern.

mod append;
pub(crate) mod fixtures;
mod hostile;
mod numpy;
mod regressions;
mod writing;

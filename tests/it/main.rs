//! Integration tests: one binary, one module per concern.

mod append;
mod concurrency;
mod faults;
pub(crate) mod fixtures;
mod hostile;
mod mutation;
mod numpy;
mod props;
mod regressions;
mod writing;

//! Integration tests: one binary, one module per concern.

mod advice;
mod append;
mod bytes;
mod concurrency;
mod descr_forms;
mod errors;
mod faults;
mod faults_alloc;
mod faults_npz;
mod faults_open;
mod fill;
pub(crate) mod fixtures;
mod hostile;
mod joblib;
mod joblib_faults;
mod layering;
mod mutation;
mod npz;
mod numpy;
mod print;
mod props;
mod readme;
mod regressions;
mod stats;
mod structured;
mod writing;

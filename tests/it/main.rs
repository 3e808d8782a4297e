//! Integration tests: one binary, one module per concern.

mod append;
mod fixtures;
mod numpy;
mod writing;

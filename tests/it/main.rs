//! Integration tests: one binary, one module per concern.

mod fixtures;
mod numpy;
mod writing;

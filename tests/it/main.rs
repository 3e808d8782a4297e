//! Integration tests: one binary, one module per concern.

mod append;
mod cli;
mod fill;
mod fixtures;
mod npz;
mod numpy;
mod stats;
mod structured;
mod writing;

/// The mapped types can be shared across threads.
#[test]
fn mapped_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<npmap::NpyFile>();
    assert_send_sync::<npmap::NpyArray<f32, ndarray::Ix2>>();
    assert_send_sync::<npmap::NpyArray<bool, ndarray::IxDyn>>();
}

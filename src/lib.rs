//! npmap: NumPy `.npy`/`.npz` files as memory-mapped `ndarray` views.
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod error;

pub use error::{Error, Result};

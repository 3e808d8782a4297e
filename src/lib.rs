//! npmap: NumPy `.npy`/`.npz` files as memory-mapped `ndarray` views.
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod error;
mod fill;
mod stats;

pub use error::{Error, Result};
pub use fill::{
    FillFloat, normal_at, par_fill, par_fill_columns, par_fill_normal, par_fill_uniform,
    par_fill_with, uniform_at,
};
pub use stats::{Moments, ParStats, StatElement};

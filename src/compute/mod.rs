//! Computation over arrays in memory or mapped: one-pass moments (whole array and
//! per axis) and parallel fills. Works on `ndarray` values only and knows nothing of
//! files or formats.
//!
//! May import: nothing else of the crate.

#![forbid(unsafe_code)]

pub(crate) mod axis;
mod f32_kernels;
pub(crate) mod fill;
pub(crate) mod kernels;
pub(crate) mod moments;
#[cfg(feature = "serde")]
mod moments_wire;
pub(crate) mod par_stats;
pub(crate) mod progress;
pub(crate) mod whole;

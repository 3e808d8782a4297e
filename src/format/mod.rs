//! The `.npy` format as text and bytes: the header literal, dtypes and their NumPy
//! descr text, the header itself. Pure parsing and rendering: no file system, no
//! `unsafe`.
//!
//! May import: crate::error.

#![forbid(unsafe_code)]

pub(crate) mod descr;
pub(crate) mod dtype;
pub(crate) mod element;
pub(crate) mod header;
pub(crate) mod leaf;
pub(crate) mod literal;
pub(crate) mod typestr;

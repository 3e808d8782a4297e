//! npmap: NumPy `.npy`/`.npz` files as memory-mapped [`ndarray`] views, written byte for byte as
//! `np.save` writes them, with parallel one-pass statistics over arrays larger than RAM.
//!
//! | task | call |
//! |---|---|
//! | map a file as a typed, zero-copy view | [`load_npy`] → [`NpyArray::view`] |
//! | inspect first, pick the type at run time | [`NpyFile::open`] → [`NpyFile::header`], [`NpyFile::view`] |
//! | write through to the file (`'r+'`) | [`MmapMode::ReadWrite`], [`NpyArray::view_mut`], [`NpyArray::flush`] |
//! | private changes (`'c'`) | [`MmapMode::CopyOnWrite`] |
//! | copy into memory, any byte order | [`read_npy`], [`read_npy_from`], [`NpyFile::cow`] |
//! | save exactly as `np.save`, atomically | [`save_npy`], [`save_npy_with`], [`write_npy_to`] |
//! | create a file and map it (`'w+'`) | [`create_npy`], [`create_raw`] |
//! | map a headerless file (`numpy.memmap`) | [`load_raw`], [`load_raw_1d`] |
//! | grow a file row by row, crash-safe | [`NpyAppender`], [`recover`] |
//! | one-pass count/sum/mean/var/std/min/max, all cores | [`ParStats::par_moments`], [`ParStats::par_moments_axis`], [`Moments`] |
//! | parallel, deterministic fills | [`par_fill`], [`par_fill_with`], [`par_fill_columns`], [`par_fill_uniform`], [`par_fill_normal`] |
//! | read, map or borrow the arrays of a `.npz` | [`NpzReader`] |
//! | write a `.npz` (stored and mappable, or compressed) | [`NpzWriter`] |
//! | make a NumPy-written `.npz` mappable | [`realign_npz`] |
//! | view or copy one field of a structured array | [`NpyFile::field`], [`NpyFile::field_mut`], [`NpyFile::read_field`] |
//! | a structured array as your `#[repr(C)]` struct | [`Record`], [`NpyFile::records`], [`read_records`], [`save_records`] |
//! | a nested record or sub-array of records field (NumPy's `a['s']`) as your struct | [`NpyFile::field_records`], [`NpyFile::read_field_records`] |
//! | read or write `U`/`S` string arrays | [`NpyFile::read_strings`], [`NpyFile::read_bytes_strings`], [`save_strings`], [`save_bytes_strings`] |
//! | datetime64 / timedelta64 as `i64` ticks | [`NpyFile::datetimes`], [`NpyFile::timedeltas`], [`NpyFile::read_datetimes`], [`NAT`] |
//! | parse or render a dtype | [`DType::parse`], [`DType::descr`] |
//! | write a Zarr v2/v3 store for Dask and xarray, read one, summarise it chunk by chunk (feature `zarr`) | `npmap::zarr::save`, `npmap::zarr::open` → `ZarrArray::read`, `ZarrArray::par_moments_axis` |
//!
//! ```
//! # fn main() -> npmap::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("X_train.npy");
//! use npmap::ndarray::{Array2, Ix2};
//! use npmap::MmapMode;
//! npmap::save_npy(&path, &Array2::<f32>::from_elem((1000, 100), 0.5))?;
//! // SAFETY: nothing truncates the file while it is mapped.
//! let x = unsafe { npmap::load_npy::<f32, Ix2>(&path, MmapMode::ReadOnly)? };
//! assert_eq!(x.view().shape(), [1000, 100]);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::undocumented_unsafe_blocks)]

pub use half;
pub use ndarray;
pub use num_complex;

mod cast;
mod compute;
pub mod display;
mod error;
mod format;
mod fs;
pub mod joblib;
mod npy;
pub mod npy_stack;
pub mod npz;
#[cfg(feature = "zarr")]
pub mod zarr;

pub use compute::fill::{
    FillFloat, normal_at, par_fill, par_fill_columns, par_fill_normal, par_fill_uniform,
    par_fill_with, uniform_at,
};
pub use compute::kernels::{StatElement, kernel_instruction_set};
pub use compute::moments::{InvalidMoments, Moments};
pub use compute::par_stats::ParStats;
pub use compute::progress::Progress;
pub use error::{Error, ErrorKind, IoError, Result};
pub use format::dtype::{ByteOrder, DType, Field, TimeUnit};
pub use format::element::Element;
pub use format::header::{Header, HeaderOptions};
pub use format::leaf::LeafField;
pub use npy::advice::Access;
pub use npy::append::NpyAppender;
pub use npy::bytes::NpyBytes;
pub use npy::create::{CreateOptions, create_npy, create_npy_with, create_raw, create_raw_with};
pub use npy::raw::{load_raw, load_raw_1d};
#[allow(deprecated)]
pub use npy::records::{Record, read_records, save_records, write_records, write_records_to};
pub use npy::recover::recover;
#[allow(deprecated)]
pub use npy::save::{
    SaveOptions, save_npy, save_npy_raw, save_npy_with, write_npy, write_npy_raw, write_npy_raw_to,
    write_npy_to,
};
#[allow(deprecated)]
pub use npy::save_strings::{
    save_bytes_strings, save_strings, write_bytes_strings, write_bytes_strings_to, write_strings,
    write_strings_to,
};
pub use npy::strings::NAT;
pub use npy::write_behind::WriteBehind;
pub use npy::{
    MmapMode, NpyArray, NpyFile, load_npy, load_npy_with, read_npy, read_npy_from, read_npy_header,
    read_npy_with,
};
pub use npz::{MemberInfo, NpzReader, NpzWriter, realign as realign_npz};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

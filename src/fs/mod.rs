//! The OS boundary: durable writes (temporary file, fsync, rename, directory sync,
//! space reservation) and every system call std does not wrap. The only place with
//! `#[cfg]` for platforms and `libc`; its `unsafe` blocks are the system calls.
//!
//! May import: `crate::error`. Imported by: `npy`, `npz` and the writers.

pub(crate) mod durable;
pub(crate) mod os;

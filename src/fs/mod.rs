//! The OS boundary: durable writes (unnamed or locked temporary file, fsync, rename,
//! directory sync, space reservation, removal of dead writers' temporary files),
//! advisory locks, and every system call std does not wrap. The only place with
//! `#[cfg]` for platforms and `libc`; its `unsafe` blocks are the system calls.
//!
//! May import: `crate::error`. Imported by: `npy`, `npz` and the writers.

pub(crate) mod durable;
pub(crate) mod durable_dir;
pub(crate) mod os;

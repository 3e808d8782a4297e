//! The one place raw bytes become typed elements: length, alignment and bool validity
//! are checked here, through `bytemuck`, and byte order is fixed here for copies.
//!
//! May import: crate::error, crate::format.

use std::io::Read;

use bytemuck::checked::CheckedCastError;
use bytemuck::{PodCastError, Zeroable};

use crate::error::{Error, ErrorKind, Result};
use crate::format::element::Element;
use crate::format::header::{read_up_to, truncated};

/// Where the bytes come from, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Origin {
    pub data_offset: u64,
}

impl Origin {
    fn cast_error<A: Element>(&self, err: CheckedCastError, bytes: &[u8]) -> Error {
        match err {
            CheckedCastError::InvalidBitPattern => {
                let index = bytes.iter().position(|&b| b > 1).unwrap_or(0);
                Error::from(ErrorKind::InvalidBool {
                    offset: self.data_offset + index as u64,
                    value: bytes.get(index).copied().unwrap_or(0),
                })
            }
            CheckedCastError::PodCastError(PodCastError::OutputSliceWouldHaveSlop)
            | CheckedCastError::PodCastError(PodCastError::SizeMismatch) => truncated(
                "array data",
                self.data_offset,
                bytes.len().next_multiple_of(std::mem::size_of::<A>()) as u64,
                bytes.len() as u64,
            ),
            CheckedCastError::PodCastError(_) => Error::from(ErrorKind::Misaligned {
                offset: self.data_offset,
                align: std::mem::align_of::<A>(),
                type_name: A::NAME,
            }),
        }
    }

    fn pod_error<T>(&self, err: PodCastError, len: usize) -> Error {
        match err {
            PodCastError::OutputSliceWouldHaveSlop | PodCastError::SizeMismatch => truncated(
                "array data",
                self.data_offset,
                len.next_multiple_of(std::mem::size_of::<T>().max(1)) as u64,
                len as u64,
            ),
            _ => Error::from(ErrorKind::Misaligned {
                offset: self.data_offset,
                align: std::mem::align_of::<T>(),
                type_name: std::any::type_name::<T>(),
            }),
        }
    }

    fn invalid_bool(&self, index: usize, value: u8) -> Error {
        Error::from(ErrorKind::InvalidBool {
            offset: self.data_offset + index as u64,
            value,
        })
    }
}

/// True when `bytes` starts at an address aligned for `A`.
pub(crate) fn is_aligned_for<A: Element>(bytes: &[u8]) -> bool {
    bytes.is_empty() || (bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<A>())
}

/// Views native-order bytes as elements: checks length, alignment and validity.
pub(crate) fn as_elements<A: Element>(bytes: &[u8], origin: Origin) -> Result<&[A]> {
    if bytes.is_empty() {
        return Ok(&[]);
    }
    A::cast_bytes(bytes).map_err(|e| origin.cast_error::<A>(e, bytes))
}

/// Mutable counterpart of [`as_elements`].
pub(crate) fn as_elements_mut<A: Element>(bytes: &mut [u8], origin: Origin) -> Result<&mut [A]> {
    if bytes.is_empty() {
        return Ok(&mut []);
    }
    if let Err(e) = A::cast_bytes(bytes) {
        return Err(origin.cast_error::<A>(e, bytes));
    }
    A::cast_bytes_mut(bytes).map_err(|e| origin.cast_error::<A>(e, &[]))
}

/// Views native-order bytes as plain-old-data records (a user's [`crate::Record`]):
/// checks length and alignment; every bit pattern is a valid `T`.
pub(crate) fn as_pod<T: bytemuck::Pod>(bytes: &[u8], origin: Origin) -> Result<&[T]> {
    if bytes.is_empty() {
        return Ok(&[]);
    }
    bytemuck::try_cast_slice(bytes).map_err(|e| origin.pod_error::<T>(e, bytes.len()))
}

/// Mutable counterpart of [`as_pod`].
pub(crate) fn as_pod_mut<T: bytemuck::Pod>(bytes: &mut [u8], origin: Origin) -> Result<&mut [T]> {
    if bytes.is_empty() {
        return Ok(&mut []);
    }
    let len = bytes.len();
    bytemuck::try_cast_slice_mut(bytes).map_err(|e| origin.pod_error::<T>(e, len))
}

/// An [`ErrorKind::OutOfMemory`] for `count` items of `T`.
pub(crate) fn out_of_memory<T>(count: usize, what: &'static str) -> Error {
    let bytes = (count as u64).saturating_mul(std::mem::size_of::<T>() as u64);
    Error::from(ErrorKind::OutOfMemory { bytes, what })
}

/// An empty vector with room for exactly `count` items, or
/// [`ErrorKind::OutOfMemory`] when the allocator refuses (as NumPy raises
/// `MemoryError`) instead of aborting the process.
pub(crate) fn try_with_capacity<T>(count: usize, what: &'static str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(count)
        .map_err(|_| out_of_memory::<T>(count, what))?;
    Ok(v)
}

/// `count` copies of `value`, allocated fallibly (see [`try_with_capacity`]).
pub(crate) fn try_filled<T: Clone>(count: usize, value: T, what: &'static str) -> Result<Vec<T>> {
    let mut v = try_with_capacity(count, what)?;
    v.resize(count, value);
    Ok(v)
}

/// Grows `v` to `len` items of `value`, or [`ErrorKind::OutOfMemory`].
pub(crate) fn try_grow<T: Clone>(
    v: &mut Vec<T>,
    len: usize,
    value: T,
    what: &'static str,
) -> Result<()> {
    let more = len.saturating_sub(v.len());
    v.try_reserve_exact(more)
        .map_err(|_| out_of_memory::<T>(len, what))?;
    v.resize(len, value);
    Ok(())
}

/// A copy of `bytes`, allocated fallibly (see [`try_with_capacity`]).
pub(crate) fn try_copy(bytes: &[u8], what: &'static str) -> Result<Vec<u8>> {
    let mut v = try_with_capacity(bytes.len(), what)?;
    v.extend_from_slice(bytes);
    Ok(v)
}

/// Copies bytes (any alignment) into plain-old-data records.
pub(crate) fn copy_pod<T: bytemuck::Pod>(bytes: &[u8], origin: Origin) -> Result<Vec<T>> {
    let size = std::mem::size_of::<T>().max(1);
    if !bytes.len().is_multiple_of(size) {
        return Err(origin.pod_error::<T>(PodCastError::OutputSliceWouldHaveSlop, bytes.len()));
    }
    let mut out = try_filled(bytes.len() / size, T::zeroed(), "array data")?;
    bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(bytes);
    Ok(out)
}

/// Copies bytes (any alignment) into elements, swapping byte order when `swap`.
pub(crate) fn copy_elements<A: Element>(
    bytes: &[u8],
    swap: bool,
    origin: Origin,
) -> Result<Vec<A>> {
    let size = std::mem::size_of::<A>();
    if !bytes.len().is_multiple_of(size) {
        return Err(truncated(
            "array data",
            origin.data_offset,
            bytes.len().next_multiple_of(size) as u64,
            bytes.len() as u64,
        ));
    }
    let count = bytes.len() / size;
    // Zeroed by the allocator (fresh pages from the kernel for large copies), then
    // written once: copied and, when `swap`, each unit reversed while in cache, in
    // pieces on all cores for large copies.
    let mut bits: Vec<A::Raw> = bytemuck::allocation::try_zeroed_vec(count)
        .map_err(|_| out_of_memory::<A::Raw>(count, "array data"))?;
    let copy = |to: &mut [u8], from: &[u8]| {
        to.copy_from_slice(from);
        if swap {
            reverse_units::<A>(to);
        }
    };
    let to = bytemuck::cast_slice_mut::<A::Raw, u8>(&mut bits);
    if to.len() < PARALLEL_COPY {
        copy(to, bytes);
    } else {
        use rayon::prelude::*;
        to.par_chunks_mut(COPY_PIECE)
            .zip(bytes.par_chunks(COPY_PIECE))
            .for_each(|(to, from)| copy(to, from));
    }
    A::from_bits(bits).map_err(|(index, value)| origin.invalid_bool(index, value))
}

/// Reverses the bytes of each of `A`'s swap units in `bytes` (the other byte order). The
/// unit is a constant, so the reversal compiles to byte-swap instructions.
fn reverse_units<A: Element>(bytes: &mut [u8]) {
    if A::SWAP_UNIT > 1 {
        bytes
            .chunks_exact_mut(A::SWAP_UNIT)
            .for_each(<[u8]>::reverse);
    }
}

/// Copies of at least this many bytes run on all cores.
const PARALLEL_COPY: usize = 4 << 20;

/// Bytes per piece of a parallel copy: a multiple of every swap unit (1 to 16).
const COPY_PIECE: usize = 1 << 20;

/// The first step of a bounded read, in bytes.
const FIRST_STEP_BYTES: usize = 64 << 10;

/// Reads `count` elements from `reader`, swapping byte order when `swap`.
///
/// With `max_step` `None` (a length already checked against the file) the elements
/// are read in one step. Otherwise memory grows with what is actually read: the first
/// step is 64 KiB, each next one doubles what has arrived, up to `max_step` elements,
/// so a stream that claims more data than it holds costs about what it holds (a tiny
/// stream claiming megabytes or terabytes costs 64 KiB, not a `max_step`-sized
/// buffer filled with zeros).
pub(crate) fn read_elements<A: Element>(
    reader: &mut impl Read,
    count: usize,
    max_step: Option<usize>,
    swap: bool,
    origin: Origin,
) -> Result<Vec<A>> {
    let size = std::mem::size_of::<A>();
    let first = (FIRST_STEP_BYTES / size.max(1)).max(1);
    let mut bits: Vec<A::Raw> = Vec::new();
    while bits.len() < count {
        let start = bits.len();
        let limit = match max_step {
            None => count,
            Some(max) => max.min(start.max(first)),
        };
        let take = (count - start).min(limit.max(1));
        try_grow(&mut bits, start + take, A::Raw::zeroed(), "array data")?;
        let buf = bytemuck::cast_slice_mut::<A::Raw, u8>(&mut bits[start..]);
        let got = read_up_to(reader, buf)?;
        if got < buf.len() {
            return Err(truncated(
                "array data",
                origin.data_offset,
                (count * size) as u64,
                (start * size + got) as u64,
            ));
        }
    }
    finish::<A>(bits, swap, origin)
}

/// Raw items as elements: swapped when `swap`, `bool` bytes checked.
pub(crate) fn finish<A: Element>(
    mut bits: Vec<A::Raw>,
    swap: bool,
    origin: Origin,
) -> Result<Vec<A>> {
    if swap {
        reverse_units::<A>(bytemuck::cast_slice_mut::<A::Raw, u8>(&mut bits));
    }
    A::from_bits(bits).map_err(|(index, value)| origin.invalid_bool(index, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin { data_offset: 128 }
    }

    #[test]
    fn bools_must_be_zero_or_one() {
        let e = as_elements::<bool>(&[0, 1, 7], origin()).unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::InvalidBool {
                offset: 130,
                value: 7,
                ..
            }
        ));
        assert_eq!(
            as_elements::<bool>(&[0, 1], origin()).unwrap(),
            &[false, true]
        );
    }

    #[test]
    fn large_copies_run_in_pieces_and_give_the_items_of_a_byte_at_a_time_copy() {
        // Over PARALLEL_COPY, and not a whole number of pieces.
        let bytes: Vec<u8> = (0..(5 << 20) + 48)
            .map(|i: u32| (i * 7 + i / 251) as u8)
            .collect();
        for swap in [false, true] {
            let got = copy_elements::<u32>(&bytes, swap, origin()).unwrap();
            let want: Vec<u32> = bytes
                .chunks_exact(4)
                .map(|c| {
                    let mut c = [c[0], c[1], c[2], c[3]];
                    if swap {
                        c.reverse();
                    }
                    u32::from_ne_bytes(c)
                })
                .collect();
            assert_eq!(got, want, "swap {swap}");
            let got = copy_elements::<num_complex::Complex<f64>>(&bytes, swap, origin()).unwrap();
            let part = |c: &[u8]| {
                let mut c: [u8; 8] = c.try_into().unwrap();
                if swap {
                    c.reverse();
                }
                f64::from_ne_bytes(c)
            };
            let want: Vec<_> = bytes
                .chunks_exact(16)
                .map(|c| num_complex::Complex::new(part(&c[..8]), part(&c[8..])))
                .collect();
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(g, w)| g.re.to_bits() == w.re.to_bits()
                        && g.im.to_bits() == w.im.to_bits())
            );
            assert_eq!(got.len(), want.len());
        }
    }

    #[test]
    fn misaligned_and_short_input_are_told_apart() {
        let buf = [0u64; 3];
        let bytes: &[u8] = bytemuck::cast_slice(&buf);
        assert!(matches!(
            as_elements::<f64>(&bytes[1..9], origin())
                .as_ref()
                .map_err(|e| e.kind()),
            Err(ErrorKind::Misaligned { align: 8, .. })
        ));
        assert!(matches!(
            as_elements::<f64>(&bytes[..12], origin())
                .as_ref()
                .map_err(|e| e.kind()),
            Err(ErrorKind::Truncated { .. })
        ));
        assert_eq!(as_elements::<f64>(&bytes[8..16], origin()).unwrap(), &[0.0]);
    }

    #[test]
    fn copies_swap_bytes_per_component() {
        let v: Vec<u16> = copy_elements(&[1, 2, 3, 4], true, origin()).unwrap();
        assert_eq!(v, [0x0102, 0x0304]);
        let c: Vec<num_complex::Complex<f32>> =
            copy_elements(&[0x3f, 0x80, 0, 0, 0x40, 0, 0, 0], true, origin()).unwrap();
        assert_eq!(c, [num_complex::Complex::new(1.0, 2.0)]);
    }

    #[test]
    fn reading_stops_at_the_end_of_a_short_stream() {
        let data = [1u8, 0, 2, 0, 3];
        let e =
            read_elements::<u16>(&mut &data[..], 1 << 40, Some(2), false, origin()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Truncated { found: 5, .. }));
        let v = read_elements::<u16>(&mut &data[..4], 2, Some(1), false, origin()).unwrap();
        assert_eq!(v, [1, 2]);
    }
}

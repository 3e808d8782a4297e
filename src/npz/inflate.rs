//! Parallel inflate of deflated members. Those npmap deflated in independent blocks:
//! the block index from the central directory (see `deflated::BLOCKS_EXTRA`), each
//! block inflated straight into its part of the array, CRC-32 per block, combined.
//! Those written as one stream (NumPy's): split where blocks start (see
//! `split_inflate`). Any disagreement (an index that does not fit the member, a block
//! that does not inflate to its size, a CRC that differs) sends the member to the
//! sequential reader, whose errors are the authoritative ones: the index and the
//! block starts found are hints, never trusted for the result.

use bytemuck::Zeroable;
use flate2::{Decompress, FlushDecompress, Status};
use rayon::prelude::*;

use super::deflated::{BLOCK, BLOCKS_EXTRA};
use super::split_inflate::{MIN_SPLIT, inflate_split, part_len};
use super::*;
use crate::fs::os::advise_huge_pages_untouched;
use crate::npy::read::{array_from_raw, raw_layout};

/// A member's block index: uncompressed block size and each block's deflated size.
#[derive(Clone, Debug)]
pub(crate) struct BlockIndex {
    pub(super) block: u64,
    pub(super) sizes: Vec<u32>,
}

/// The block index in the central-directory record at `central`, if it has one.
pub(super) fn index_at(file: &File, central: u64) -> Option<BlockIndex> {
    let mut fixed = [0u8; 46];
    if read_at(file, &mut fixed, central).ok()? != 46 || fixed[..4] != [0x50, 0x4b, 1, 2] {
        return None;
    }
    let name_len = u64::from(u16::from_le_bytes([fixed[28], fixed[29]]));
    let extra_len = usize::from(u16::from_le_bytes([fixed[30], fixed[31]]));
    let mut extra = vec![0u8; extra_len];
    if read_at(file, &mut extra, central + 46 + name_len).ok()? != extra_len {
        return None;
    }
    let mut rest = &extra[..];
    while rest.len() >= 4 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let body = rest.get(4..4 + len)?;
        if id == BLOCKS_EXTRA && len >= 8 && len % 4 == 0 {
            let words: Vec<u32> = body
                .chunks_exact(4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect();
            return Some(BlockIndex {
                block: u64::from(words[0]),
                sizes: words[1..].to_vec(),
            });
        }
        rest = &rest[4 + len..];
    }
    None
}

/// Inflates one block into `out` exactly: all of `input` consumed, `out` filled, the
/// stream ended when `last` and not before.
fn inflate_exact(input: &[u8], out: &mut [u8], last: bool) -> Option<()> {
    let mut d = Decompress::new(false);
    let mut status = d.decompress(input, out, FlushDecompress::None).ok()?;
    if d.total_out() as usize != out.len() {
        return None;
    }
    if (d.total_in() as usize) < input.len() || (last && status != Status::StreamEnd) {
        // What is left must be block ends only (the sync flush's empty stored block,
        // the final block's end code): no more output.
        let mut spare = [0u8; 1];
        let done = d.total_in() as usize;
        status = d
            .decompress(&input[done..], &mut spare, FlushDecompress::None)
            .ok()?;
        if d.total_out() as usize != out.len() {
            return None;
        }
    }
    let ended = status == Status::StreamEnd;
    (d.total_in() as usize == input.len() && ended == last).then_some(())
}

/// Whether the member's declared size is output deflate can make of its bytes (1032
/// to 1 at best), so that the allocations sized by it are sized by the file, not by
/// a claim.
fn within_deflate_ratio(member: &Member) -> bool {
    member.size <= member.compressed_size.saturating_mul(1032)
}

/// `count` zeros from a fresh zeroed allocation (pages the kernel backs, with huge
/// pages where it can, only where the inflaters write: a member that claims more
/// than it holds costs address space, not memory), or `None` when it cannot be had.
fn untouched_zeroed<T: Zeroable>(count: usize) -> Option<Vec<T>> {
    let mut buf = bytemuck::allocation::try_zeroed_slice_box::<T>(count).ok()?;
    advise_huge_pages_untouched(&mut buf);
    Some(buf.into_vec())
}

impl NpzReader {
    /// Reads a member with a block index on all cores, or `None` to read it the
    /// sequential way. `Some(Err)` only for what the values themselves are (a `bool`
    /// byte other than 0 or 1, a dtype or shape that does not fit `A`, `D`).
    pub(super) fn read_blocks<A: Element, D: Dimension>(
        &self,
        member: &Member,
        header: &Header,
        path: &Path,
    ) -> Option<Result<Array<A, D>>> {
        let index = member.blocks.as_ref()?;
        let (block, total) = (index.block, member.size);
        let n = index.sizes.len() as u64;
        let packed: u64 = index.sizes.iter().map(|&s| u64::from(s)).sum();
        // Only the block size npmap writes, and output deflate can make of the
        // member's bytes.
        if block != BLOCK as u64
            || total == 0
            || !within_deflate_ratio(member)
            || n.checked_sub(1)?.checked_mul(block)? >= total
            || n.checked_mul(block)? < total
            || packed != member.compressed_size
        {
            return None;
        }
        let (swap, _) = match raw_layout::<A, D>(header) {
            Ok(layout) => layout,
            Err(e) => return Some(Err(e.in_file(path))),
        };
        let count = header.len();
        let mut bits: Vec<A::Raw> = untouched_zeroed(count)?;
        let start = header.data_offset;
        // Each block: where its compressed bytes start, its .npy byte range, its part
        // of the data.
        let mut jobs = Vec::with_capacity(index.sizes.len());
        let mut rest: &mut [u8] = bytemuck::cast_slice_mut(&mut bits);
        let mut at = member.data_start;
        for (i, &size) in index.sizes.iter().enumerate() {
            let s = i as u64 * block;
            let e = (s + block).min(total);
            let take = (e - s.max(start).min(e)) as usize;
            if take > rest.len() {
                return None;
            }
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(take);
            rest = tail;
            jobs.push((at, size as usize, s, e, part));
            at += u64::from(size);
        }
        let last = jobs.len() - 1;
        let crcs: Option<Vec<crc32fast::Hasher>> = jobs
            .into_par_iter()
            .enumerate()
            .map(|(i, (at, size, s, e, part))| {
                let mut input = Vec::new();
                input.try_reserve_exact(size).ok()?;
                input.resize(size, 0);
                if read_at(&self.file, &mut input, at).ok()? != size {
                    return None;
                }
                let mut crc = crc32fast::Hasher::new();
                if s < start {
                    // The block holds (part of) the header: inflate it aside.
                    let mut whole = vec![0u8; (e - s) as usize];
                    inflate_exact(&input, &mut whole, i == last)?;
                    crc.update(&whole);
                    let skip = whole.len() - part.len();
                    part.copy_from_slice(&whole[skip..]);
                } else {
                    inflate_exact(&input, part, i == last)?;
                    crc.update(part);
                }
                Some(crc)
            })
            .collect();
        let mut crc = crc32fast::Hasher::new();
        for h in crcs? {
            crc.combine(&h);
        }
        if crc.finalize() != member.crc32 {
            return None;
        }
        Some(array_from_raw(header, bits, swap).map_err(|e| e.in_file(path)))
    }

    /// Reads a deflated member written as one stream (no block index) on all cores,
    /// or `None` to read it the sequential way (a small member, one thread, a stream
    /// that cannot be split, any disagreement). `Some(Err)` as for
    /// [`read_blocks`](Self::read_blocks).
    pub(super) fn read_split<A: Element, D: Dimension>(
        &self,
        member: &Member,
        header: &Header,
        path: &Path,
    ) -> Option<Result<Array<A, D>>> {
        let threads = rayon::current_num_threads();
        let compressed = usize::try_from(member.compressed_size).ok()?;
        let total = member.size;
        if member.method != Method::Deflated
            || member.encrypted
            || threads < 2
            || compressed < MIN_SPLIT
            || !within_deflate_ratio(member)
        {
            return None;
        }
        let (swap, _) = match raw_layout::<A, D>(header) {
            Ok(layout) => layout,
            Err(e) => return Some(Err(e.in_file(path))),
        };
        let skip = usize::try_from(header.data_offset).ok()?;
        let mut input: Vec<u8> = untouched_zeroed(compressed)?;
        input
            .par_chunks_mut(COPY_BUFFER)
            .enumerate()
            .try_for_each(|(i, chunk)| {
                let at = member.data_start + (i * COPY_BUFFER) as u64;
                (read_at(&self.file, chunk, at).ok()? == chunk.len()).then_some(())
            })?;
        let count = header.len();
        let mut bits: Vec<A::Raw> = untouched_zeroed(count)?;
        let body: &mut [u8] = bytemuck::cast_slice_mut(&mut bits);
        if (skip + body.len()) as u64 != total {
            return None;
        }
        let mut head = vec![0u8; skip];
        let inflated = inflate_split(
            &input,
            &mut head,
            body,
            part_len(compressed, total, threads),
        )?;
        if inflated.crc != member.crc32 {
            return None;
        }
        Some(array_from_raw(header, bits, swap).map_err(|e| e.in_file(path)))
    }
}

//! Parallel inflate of one deflate stream written in one piece (NumPy's
//! `savez_compressed`, Python's `zipfile`, any zip tool), although deflate has no index:
//!
//! 1. **Block starts.** Each part after the first starts at the first bit offset past
//!    its nominal start where a dynamic-Huffman block header is valid (every code
//!    complete, as inflaters require) and what follows inflates without error for a
//!    while.
//! 2. **An unknown window.** A part's first back-references may reach into the 32 KiB
//!    before it, which another part is still producing. So the part is inflated twice,
//!    each time after a stored block of 32 KiB of probe bytes, two probe windows that
//!    differ at every position: a byte that comes out the same both times is the part's
//!    own; one that differs was copied from the window, and its two values spell the
//!    window position. Once 32 KiB in a row come out the same, nothing later can depend
//!    on the window and the second inflation stops.
//! 3. **Verification.** Each part is inflated up to the next part's start followed by an
//!    empty final block, and must end exactly there. A part that starts at a true block
//!    boundary (the first one does) and ends so proves the next start true. The window
//!    bytes are then filled in, the parts copied into place, and the CRC-32 of the whole
//!    returned for the caller to compare with the archive's.
//!
//! Any disagreement returns `None`, and the member is read the sequential way, whose
//! errors are the authoritative ones.

use flate2::{Decompress, FlushDecompress, Status};
use rayon::prelude::*;

use crate::fs::os::advise_huge_pages;

/// Deflate's window: how far back a match can reach.
const WINDOW: usize = 1 << 15;

/// Output a candidate block start must inflate to without an error.
const TRIAL: usize = 1 << 16;

/// The first part is `1 + 1 / FIRST_BIAS` times as long as the others: they inflate
/// their first stretch twice (15 % to 36 % of a part in measured NumPy archives).
const FIRST_BIAS: usize = 5;

/// Bytes per task when parts are resolved and copied into place.
const COPY_STEP: usize = 1 << 20;

/// Output per step of the first part (CRC-32 taken while in cache).
const FIRST_STEP: usize = 1 << 18;

/// Output per step while a part is inflated twice (64 KiB steps took 1.4x as long
/// over a NumPy archive's stretch: each step switches between the two decoders).
const PROBE_STEP: usize = 1 << 18;

/// At most this many compressed bytes are searched for a block start past a part's
/// nominal start (zlib's blocks are far shorter, a few to some tens of KiB), so a
/// crafted stream costs a bounded search per part.
const SEARCH: usize = 256 << 10;

/// At most this many candidates (valid headers) are tried per part, each a trial
/// inflation; zlib's streams have had no false candidate in the archives measured.
const MAX_TRIALS: usize = 16;

/// The order in which a dynamic block lists the code-length code's lengths (RFC 1951).
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Compressed bytes below which a member is inflated in one piece: the search for
/// block starts and the second inflation of each part's first stretch cost more
/// than a second core saves.
pub(super) const MIN_SPLIT: usize = 4 << 20;

/// At most about this many bytes of output per part, so that the parts in flight
/// (held aside until their place is known) stay bounded for members of any size.
const MAX_PART_OUTPUT: u128 = 64 << 20;

/// Compressed bytes per part after the first: the stream in one part per thread, the
/// first `1 + 1 / FIRST_BIAS` times as long as the others (so `compressed = part *
/// (threads + 1 / FIRST_BIAS)`), or more parts when each would inflate to more than
/// `MAX_PART_OUTPUT`.
pub(super) fn part_len(compressed: usize, total: u64, threads: usize) -> usize {
    let shares = (threads.max(1) * FIRST_BIAS + 1) as u128;
    let per_thread = (compressed as u128 * FIRST_BIAS as u128).div_ceil(shares) as usize;
    let by_memory = MAX_PART_OUTPUT * compressed as u128 / u128::from(total.max(1));
    per_thread.min(by_memory.max(1 << 20) as usize)
}

/// What a split inflation produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Inflated {
    /// CRC-32 of all the output.
    pub(super) crc: u32,
    /// How many parts the stream was inflated in.
    pub(super) parts: usize,
}

/// Inflates the raw deflate stream `input`, whose output must be exactly
/// `head.len() + out.len()` bytes, into `head` then `out`, in parts of about
/// `part_len` compressed bytes inflated in parallel. `None` when the stream cannot be
/// split (fewer than two parts found) or anything disagrees.
pub(super) fn inflate_split(
    input: &[u8],
    head: &mut [u8],
    out: &mut [u8],
    part_len: usize,
) -> Option<Inflated> {
    let total = head.len() + out.len();
    // The first part is the only one inflated once from its start: a longer share.
    let part_len = part_len.max(1);
    let starts = block_starts(input, part_len + part_len / FIRST_BIAS, part_len);
    if starts.len() < 2 || total == 0 {
        return None;
    }
    let end_of = |j: usize| starts.get(j + 1).copied();
    let estimate = |j: usize| {
        let from = (starts[j] / 8) as usize;
        let to = end_of(j).map_or(input.len(), |e| (e / 8) as usize);
        let share = (to - from) as u128 * total as u128 / input.len() as u128;
        (share + share / 8 + (1 << 20)).min(total as u128) as usize
    };
    let threads = rayon::current_num_threads().max(1);
    let round = threads.min(starts.len());
    let head_len = head.len();
    let (first, parts) = rayon::join(
        || inflate_first(input, end_of(0)?, head, out),
        || {
            (1..round)
                .into_par_iter()
                .map(|j| inflate_part(input, starts[j], end_of(j), estimate(j), total))
                .collect::<Option<Vec<Part>>>()
        },
    );
    let (written, mut crc) = first?;
    let mut done = head_len + written;
    place(parts?, out, head_len, &mut done, &mut crc)?;
    let mut next = round;
    while next < starts.len() {
        let upto = (next + threads).min(starts.len());
        let parts = (next..upto)
            .into_par_iter()
            .map(|j| inflate_part(input, starts[j], end_of(j), estimate(j), total))
            .collect::<Option<Vec<Part>>>()?;
        place(parts, out, head_len, &mut done, &mut crc)?;
        next = upto;
    }
    (done == total).then(|| Inflated {
        crc: crc.finalize(),
        parts: starts.len(),
    })
}

/// One part inflated speculatively: its bytes (window positions where it copied from
/// the unknown window) and, over the stretch that depends on the window, the second
/// inflation's bytes.
struct Part {
    bytes: Vec<u8>,
    probe: Vec<u8>,
}

/// Fills in the window bytes of `parts` (in order, following what is already in
/// `out`), copies them into `out` after the `done - head_len` bytes there, and adds them
/// to `crc`.
fn place(
    mut parts: Vec<Part>,
    out: &mut [u8],
    head_len: usize,
    done: &mut usize,
    crc: &mut crc32fast::Hasher,
) -> Option<()> {
    let at = done.checked_sub(head_len)?;
    for m in 0..parts.len() {
        let (before, rest) = parts.split_at_mut(m);
        let part = &mut rest[0];
        let window: &[u8; WINDOW] = match before.last() {
            Some(previous) => previous
                .bytes
                .get(previous.bytes.len().checked_sub(WINDOW)?..)?,
            None => out.get(at.checked_sub(WINDOW)?..at)?,
        }
        .try_into()
        .ok()?;
        // Each byte on its own (the window is fixed), on all cores.
        part.bytes[..part.probe.len()]
            .par_chunks_mut(COPY_STEP)
            .zip(part.probe.par_chunks(COPY_STEP))
            .for_each(|(bytes, probe)| resolve(bytes, probe, window));
    }
    let mut rest = out.get_mut(at..)?;
    for part in &parts {
        if part.bytes.len() > rest.len() {
            return None;
        }
        let (dest, tail) = std::mem::take(&mut rest).split_at_mut(part.bytes.len());
        rest = tail;
        // Copied in pieces on all cores, each piece's CRC-32 taken while in cache.
        let crcs: Vec<crc32fast::Hasher> = dest
            .par_chunks_mut(COPY_STEP)
            .zip(part.bytes.par_chunks(COPY_STEP))
            .map(|(d, s)| {
                d.copy_from_slice(s);
                let mut h = crc32fast::Hasher::new();
                h.update(s);
                h
            })
            .collect();
        for h in &crcs {
            crc.combine(h);
        }
        *done += part.bytes.len();
    }
    Some(())
}

/// Bytes compared at a time: runs of a part's own bytes are skipped whole.
const RUN: usize = 32;

/// Replaces each byte of `bytes` that differs from `probe` (one copied from the
/// window) by the window byte at the position the two spell.
fn resolve(bytes: &mut [u8], probe: &[u8], window: &[u8; WINDOW]) {
    for (run, probe) in bytes.chunks_mut(RUN).zip(probe.chunks(RUN)) {
        if run != probe {
            // Without branches: a run's bytes differ or not at random.
            for (byte, &probe) in run.iter_mut().zip(probe) {
                let copied = window[usize::from(*byte) | usize::from(probe & 0x7f) << 8];
                *byte = if *byte == probe { *byte } else { copied };
            }
        }
    }
}

/// The index of the last byte where `a` and `b` (of equal length) differ.
fn last_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let mut end = a.len();
    for (run_a, run_b) in a.rchunks(RUN).zip(b.rchunks(RUN)) {
        let start = end - run_a.len();
        if run_a != run_b {
            let i = run_a.iter().zip(run_b).rposition(|(x, y)| x != y)?;
            return Some(start + i);
        }
        end = start;
    }
    None
}

/// The bit offsets where the parts start: 0, then, past `first_len` bytes and each
/// `part_len` after (but not in the last quarter part), the first dynamic block start
/// found.
fn block_starts(input: &[u8], first_len: usize, part_len: usize) -> Vec<u64> {
    let nominal: Vec<usize> = (0..)
        .map(|j| first_len + j * part_len)
        .take_while(|&s| s + part_len / 4 < input.len())
        .collect();
    let found: Vec<Option<u64>> = nominal
        .par_iter()
        .map(|&s| {
            let to = (s + part_len.min(SEARCH)).min(input.len());
            (s as u64 * 8..to as u64 * 8)
                .filter(|&bit| dynamic_header_ok(input, bit))
                .take(MAX_TRIALS)
                .find(|&bit| trial_ok(input, bit))
        })
        .collect();
    std::iter::once(0)
        .chain(found.into_iter().flatten())
        .collect()
}

/// Whether a part inflated from `bit` (with a probe window) yields `TRIAL` bytes or
/// ends without an error.
fn trial_ok(input: &[u8], bit: u64) -> bool {
    let Some((mut d, mut feed)) = speculative_decoder(input, bit, None, &probe_window(0)) else {
        return false;
    };
    let mut out = Vec::with_capacity(TRIAL);
    inflate_into(&mut d, &mut feed, &mut out).is_some()
}

/// The first part: from the stream's start into `head`, then `out`, ending exactly at
/// bit `end`. Returns how many bytes went into `out`.
fn inflate_first(
    input: &[u8],
    end: u64,
    head: &mut [u8],
    out: &mut [u8],
) -> Option<(usize, crc32fast::Hasher)> {
    let (mid, tail) = after_first_byte(input, 0, Some(end))?;
    let mut feed = Feed::new(*input.first()?, mid, tail);
    let mut d = Decompress::new(false);
    let (filled, ended) = inflate_into_slice(&mut d, &mut feed, head)?;
    if filled != head.len() || ended {
        return None;
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(head);
    // In steps, each added to the CRC while it is in cache.
    let mut written = 0;
    loop {
        let step = out.len().min(written + FIRST_STEP);
        let (n, ended) = inflate_into_slice(&mut d, &mut feed, &mut out[written..step])?;
        crc.update(&out[written..written + n]);
        written += n;
        if ended {
            return feed.is_empty().then_some((written, crc));
        }
        if written == out.len() {
            return None;
        }
    }
}

/// A part from bit `start` to bit `end` (the stream's end when `None`), inflated twice
/// over the stretch that depends on the window before it.
fn inflate_part(
    input: &[u8],
    start: u64,
    end: Option<u64>,
    estimate: usize,
    limit: usize,
) -> Option<Part> {
    let (mut d, mut feed) = speculative_decoder(input, start, end, &probe_window(0))?;
    let (mut d2, mut feed2) = speculative_decoder(input, start, end, &probe_window(1))?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(estimate.max(PROBE_STEP)).ok()?;
    advise_huge_pages(&mut bytes);
    let mut probe: Vec<u8> = Vec::new();
    // Both inflations step through the same fixed-size buffers, so that they stay in
    // step: the same blocks give the same lengths.
    let (mut step, mut step2) = (vec![0u8; PROBE_STEP], vec![0u8; PROBE_STEP]);
    // The last byte that differed ends before `clean_from`.
    let mut clean_from = 0;
    loop {
        let (n, ended) = inflate_into_slice(&mut d, &mut feed, &mut step)?;
        let (n2, ended2) = inflate_into_slice(&mut d2, &mut feed2, &mut step2)?;
        if (n, ended) != (n2, ended2) || bytes.len() + n > limit {
            return None;
        }
        let at = bytes.len();
        if let Some(i) = last_difference(&step[..n], &step2[..n]) {
            clean_from = at + i + 1;
        }
        bytes.try_reserve(n).ok()?;
        bytes.extend_from_slice(&step[..n]);
        probe.try_reserve(n).ok()?;
        probe.extend_from_slice(&step2[..n]);
        if ended {
            probe.truncate(clean_from);
            return feed.is_empty().then_some(Part { bytes, probe });
        }
        if bytes.len() - clean_from >= WINDOW {
            break;
        }
    }
    probe.truncate(clean_from);
    drop((d2, step, step2));
    loop {
        let goal = bytes.len() + (bytes.len() / 4).max(1 << 20);
        if inflate_until(&mut d, &mut feed, &mut bytes, goal, limit)? {
            return feed.is_empty().then_some(Part { bytes, probe });
        }
    }
}

/// Inflates into `out` until it holds `goal` bytes or the stream ends (`Some(true)`),
/// growing it fallibly; `None` past `limit` bytes or on an error.
fn inflate_until(
    d: &mut Decompress,
    feed: &mut Feed<'_>,
    out: &mut Vec<u8>,
    goal: usize,
    limit: usize,
) -> Option<bool> {
    let goal = goal.min(limit + 1);
    while out.len() < goal {
        if out.capacity() < goal {
            out.try_reserve(goal - out.len()).ok()?;
        }
        if inflate_into(d, feed, out)? {
            return (out.len() <= limit).then_some(true);
        }
    }
    (out.len() <= limit).then_some(false)
}

/// The bytes after a stored block of `window` and an empty dynamic block whose length
/// leaves the stream at bit `start % 8`: the decoder that has inflated that prefix,
/// and the input from bit `start` (its first byte merged with the prefix's last bits)
/// up to bit `end`, followed by an empty final block.
fn speculative_decoder<'a>(
    input: &'a [u8],
    start: u64,
    end: Option<u64>,
    window: &[u8; WINDOW],
) -> Option<(Decompress, Feed<'a>)> {
    let first = (start / 8) as usize;
    let shift = (start % 8) as u32;
    let (prefix, partial) = probe_prefix(window, shift);
    let merged = partial | (input.get(first)? & (0xffu8 << shift));
    let (mid, tail) = after_first_byte(input, first, end)?;
    let mut d = Decompress::new(false);
    let mut sink = vec![0u8; WINDOW];
    let status = d
        .decompress(&prefix, &mut sink, FlushDecompress::None)
        .ok()?;
    if status != Status::Ok || d.total_in() != prefix.len() as u64 || d.total_out() != WINDOW as u64
    {
        return None;
    }
    Some((d, Feed::new(merged, mid, tail)))
}

/// A probe window: 32 KiB whose bytes, taken with the other probe's at the same
/// position, spell the position (15 bits), and differ from the other probe's everywhere
/// (bit 7).
fn probe_window(which: u8) -> Box<[u8; WINDOW]> {
    let mut w = Box::new([0u8; WINDOW]);
    for (p, byte) in w.iter_mut().enumerate() {
        *byte = if which == 0 {
            p as u8
        } else {
            ((p >> 8) as u8 & 0x7f) | (!(p as u8) & 0x80)
        };
    }
    w
}

/// A stored block holding `window`, then an empty dynamic block `329 + n` bits long so
/// that the stream stands at bit `shift` of a byte: the whole bytes, and the last
/// `shift` bits (low bits of the byte the real data continues).
fn probe_prefix(window: &[u8; WINDOW], shift: u32) -> (Vec<u8>, u8) {
    let mut w = BitWriter::default();
    w.bytes.reserve(WINDOW + 64);
    // Stored block, not final: 3 header bits, padding, LEN, NLEN, the bytes.
    w.push(0, 3);
    w.align();
    w.bytes.extend_from_slice(&[0x00, 0x80, 0xff, 0x7f]);
    w.bytes.extend_from_slice(window);
    // Empty dynamic block, not final: 257 literal/length codes of which only the end of
    // block has a length (1), `distances` distance codes all unused, coded with a
    // code-length code of two 1-bit codes (lengths 0 and 1), so 329 + distances bits.
    let distances = match (shift + 7) % 8 {
        0 => 8,
        n => n,
    };
    w.push(0, 1);
    w.push(2, 2);
    w.push(0, 5);
    w.push(u64::from(distances) - 1, 5);
    w.push(14, 4);
    for &symbol in &CODE_LENGTH_ORDER[..18] {
        w.push(u64::from(symbol <= 1), 3);
    }
    for _ in 0..256 {
        w.push(0, 1);
    }
    w.push(1, 1);
    for _ in 0..distances {
        w.push(0, 1);
    }
    w.push(0, 1);
    debug_assert_eq!(w.pending, shift);
    (w.bytes, w.acc as u8)
}

/// What follows byte `first` of a part ending at bit `end` (the stream's end when
/// `None`): the whole bytes before `end`'s byte, then that byte's bits below `end`
/// and an empty final block.
fn after_first_byte(input: &[u8], first: usize, end: Option<u64>) -> Option<(&[u8], Vec<u8>)> {
    match end {
        Some(end) => Some((
            input.get(first + 1..(end / 8) as usize)?,
            end_block(input, end)?,
        )),
        None => Some((input.get(first + 1..)?, Vec::new())),
    }
}

/// The bits of `input` below bit `end` in its last byte, then an empty final block
/// with fixed codes, padded to a byte.
fn end_block(input: &[u8], end: u64) -> Option<Vec<u8>> {
    let pending = (end % 8) as u32;
    let last = if pending == 0 {
        0
    } else {
        input.get((end / 8) as usize)? & ((1u8 << pending) - 1)
    };
    let mut w = BitWriter {
        bytes: Vec::new(),
        acc: u64::from(last),
        pending,
    };
    // Final, fixed codes, end of block (seven zero bits).
    w.push(1, 1);
    w.push(1, 2);
    w.push(0, 7);
    w.align();
    Some(w.bytes)
}

/// Bits written least significant first, as deflate packs them.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    pending: u32,
}

impl BitWriter {
    fn push(&mut self, value: u64, bits: u32) {
        self.acc |= value << self.pending;
        self.pending += bits;
        while self.pending >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.pending -= 8;
        }
    }

    fn align(&mut self) {
        if self.pending > 0 {
            self.push(0, 8 - self.pending);
        }
    }
}

/// Input in three pieces: the part's first byte (merged with a prefix's last bits), a
/// borrowed stretch of the stream, and its last bits followed by an empty final block.
struct Feed<'a> {
    first: [u8; 1],
    mid: &'a [u8],
    tail: Vec<u8>,
    piece: usize,
    pos: usize,
}

impl<'a> Feed<'a> {
    fn new(first: u8, mid: &'a [u8], tail: Vec<u8>) -> Self {
        Feed {
            first: [first],
            mid,
            tail,
            piece: 0,
            pos: 0,
        }
    }

    fn piece(&self, i: usize) -> &[u8] {
        match i {
            0 => &self.first,
            1 => self.mid,
            _ => &self.tail,
        }
    }

    /// What is left of the current piece, moving past used-up pieces.
    fn rest(&mut self) -> &[u8] {
        while self.piece < 3 && self.pos >= self.piece(self.piece).len() {
            self.piece += 1;
            self.pos = 0;
        }
        if self.piece < 3 {
            &self.piece(self.piece)[self.pos..]
        } else {
            &[]
        }
    }

    fn is_empty(&mut self) -> bool {
        self.rest().is_empty()
    }
}

/// One round of inflation into `out`'s spare capacity: `Some(true)` at the stream's
/// end, `Some(false)` when `out` is full, `None` on an error or when the input ends
/// first.
fn inflate_into(d: &mut Decompress, feed: &mut Feed<'_>, out: &mut Vec<u8>) -> Option<bool> {
    loop {
        if out.len() == out.capacity() {
            return Some(false);
        }
        let (before_in, before_out) = (d.total_in(), out.len());
        let status = d
            .decompress_vec(feed.rest(), out, FlushDecompress::None)
            .ok()?;
        feed.pos += (d.total_in() - before_in) as usize;
        if status == Status::StreamEnd {
            return Some(true);
        }
        if d.total_in() == before_in && out.len() == before_out && feed.is_empty() {
            return None;
        }
    }
}

/// As [`inflate_into`], into a slice: how many bytes were written, and whether the
/// stream ended.
fn inflate_into_slice(
    d: &mut Decompress,
    feed: &mut Feed<'_>,
    out: &mut [u8],
) -> Option<(usize, bool)> {
    let start = d.total_out();
    loop {
        let written = (d.total_out() - start) as usize;
        if written == out.len() {
            return Some((written, false));
        }
        let before_in = d.total_in();
        let status = d
            .decompress(feed.rest(), &mut out[written..], FlushDecompress::None)
            .ok()?;
        feed.pos += (d.total_in() - before_in) as usize;
        let now = (d.total_out() - start) as usize;
        if status == Status::StreamEnd {
            return Some((now, true));
        }
        if d.total_in() == before_in && now == written && feed.is_empty() {
            return None;
        }
    }
}

/// `n <= 56` bits of `data` from bit `bit`, least significant first; zeros past the end.
fn peek(data: &[u8], bit: u64, n: u32) -> u64 {
    let byte = (bit / 8) as usize;
    let mut word = [0u8; 8];
    if let Some(s) = data.get(byte..byte + 8) {
        word.copy_from_slice(s);
    } else if let Some(s) = data.get(byte..) {
        word[..s.len()].copy_from_slice(s);
    }
    (u64::from_le_bytes(word) >> (bit % 8)) & ((1u64 << n) - 1)
}

/// Whether a non-final dynamic-Huffman block header that inflaters accept starts at
/// `bit`: sizes in range, a complete code-length code, code lengths that decode within
/// their count, an end-of-block code, and literal/length and distance codes that are
/// complete (or a single one-bit code, or no distance codes at all).
fn dynamic_header_ok(data: &[u8], at: u64) -> bool {
    let fixed = peek(data, at, 17);
    if fixed & 7 != 0b100 {
        return false;
    }
    let lengths = 257 + ((fixed >> 3) & 31) as usize;
    let distances = 1 + ((fixed >> 8) & 31) as usize;
    let code_lengths = 4 + ((fixed >> 13) & 15) as usize;
    if lengths > 286 || distances > 30 {
        return false;
    }
    let mut bit = at + 17;
    let mut cl = [0u8; 19];
    for &symbol in &CODE_LENGTH_ORDER[..code_lengths] {
        cl[symbol] = peek(data, bit, 3) as u8;
        bit += 3;
    }
    let Some(table) = code_length_table(&cl) else {
        return false;
    };
    let count = lengths + distances;
    let mut lens = [0u8; 316];
    let mut i = 0;
    while i < count {
        let (symbol, len) = table[peek(data, bit, 7) as usize];
        bit += u64::from(len);
        let (value, repeat) = match symbol {
            0..=15 => (symbol, 1),
            16 if i > 0 => {
                let r = 3 + peek(data, bit, 2) as usize;
                bit += 2;
                (lens[i - 1], r)
            }
            16 => return false,
            17 => {
                let r = 3 + peek(data, bit, 3) as usize;
                bit += 3;
                (0, r)
            }
            _ => {
                let r = 11 + peek(data, bit, 7) as usize;
                bit += 7;
                (0, r)
            }
        };
        if i + repeat > count {
            return false;
        }
        lens[i..i + repeat].fill(value);
        i += repeat;
    }
    lens[256] != 0 && code_ok(&lens[..lengths]) && code_ok(&lens[lengths..count])
}

/// The decoding table of a complete code-length code (7-bit index read least
/// significant bit first → symbol, length), or `None` when it is not complete.
fn code_length_table(lens: &[u8; 19]) -> Option<[(u8, u8); 128]> {
    let mut counts = [0u32; 8];
    for &l in lens {
        counts[usize::from(l)] += 1;
    }
    counts[0] = 0;
    let kraft: u32 = (1..8).map(|l| counts[l] << (7 - l)).sum();
    if kraft != 128 {
        return None;
    }
    let mut next = [0u32; 8];
    let mut code = 0;
    for l in 1..8 {
        code = (code + counts[l - 1]) << 1;
        next[l] = code;
    }
    let mut table = [(0u8, 7u8); 128];
    for (symbol, &l) in lens.iter().enumerate() {
        if l == 0 {
            continue;
        }
        let c = next[usize::from(l)];
        next[usize::from(l)] += 1;
        let reversed = (c.reverse_bits() >> (32 - u32::from(l))) as usize;
        for index in (reversed..128).step_by(1 << l) {
            table[index] = (symbol as u8, l);
        }
    }
    Some(table)
}

/// Whether code lengths make a code inflaters accept: neither over-subscribed nor
/// incomplete, unless its longest code is at most one bit.
fn code_ok(lens: &[u8]) -> bool {
    let mut counts = [0u32; 16];
    for &l in lens {
        counts[usize::from(l)] += 1;
    }
    let longest = (1..16).rev().find(|&l| counts[l] > 0).unwrap_or(0);
    let kraft: u32 = (1..16).map(|l| counts[l] << (15 - l)).sum();
    kraft == 1 << 15 || (kraft < 1 << 15 && longest <= 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use std::io::Write;

    fn deflate(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Bytes of a linear congruential generator: incompressible.
    fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect()
    }

    /// Float32 values rounded to a tenth, as bytes: compressible, with long matches.
    fn rounded_floats(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        let mut out = Vec::with_capacity(n * 4);
        for _ in 0..n {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((x >> 40) % 80) as f32 / 10.0 - 4.0;
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    fn split(
        compressed: &[u8],
        len: usize,
        skip: usize,
        part: usize,
    ) -> Option<(Vec<u8>, Inflated)> {
        let mut head = vec![0u8; skip];
        let mut out = vec![0u8; len - skip];
        let r = inflate_split(compressed, &mut head, &mut out, part)?;
        head.extend_from_slice(&out);
        Some((head, r))
    }

    #[test]
    fn a_probe_prefix_inflates_to_its_window_for_every_shift() {
        for which in 0..2 {
            let window = probe_window(which);
            for shift in 0..8 {
                let (mut bytes, partial) = probe_prefix(&window, shift);
                // Then a final fixed block holding one literal 'A' (0x41: code 0x71,
                // 8 bits), and end of block.
                let mut w = BitWriter {
                    bytes: Vec::new(),
                    acc: u64::from(partial),
                    pending: shift,
                };
                w.push(1, 1);
                w.push(1, 2);
                w.push(u64::from((0x30u8 + 0x41).reverse_bits()), 8);
                w.push(0, 7);
                w.align();
                bytes.extend(w.bytes);
                let mut out = Vec::with_capacity(WINDOW + 10);
                let mut d = Decompress::new(false);
                let status = d
                    .decompress_vec(&bytes, &mut out, FlushDecompress::Finish)
                    .unwrap();
                assert_eq!(status, Status::StreamEnd, "shift {shift}");
                assert_eq!(&out[..WINDOW], &window[..]);
                assert_eq!(&out[WINDOW..], b"A");
            }
        }
    }

    #[test]
    fn probe_windows_differ_everywhere_and_spell_the_position() {
        let (a, b) = (probe_window(0), probe_window(1));
        for p in 0..WINDOW {
            assert_ne!(a[p], b[p]);
            assert_eq!(usize::from(a[p]) | usize::from(b[p] & 0x7f) << 8, p);
        }
    }

    #[test]
    fn resolving_and_finding_the_last_difference_agree_with_a_byte_at_a_time_pass() {
        let window: Box<[u8; WINDOW]> = random_bytes(WINDOW, 3).try_into().unwrap();
        let noise = random_bytes(4 * 1000, 9);
        // Lengths around the run size; differences sparse, dense, at the ends, none.
        for len in [0, 1, 31, 32, 33, 64, 95, 1000] {
            for (case, every) in [(0u64, 1usize), (1, 3), (2, 37), (3, usize::MAX)] {
                let bytes = random_bytes(len, 20 + case);
                let mut probe = bytes.clone();
                let mut last = None;
                for i in (0..len).filter(|i| every != usize::MAX && i % every == every - 1) {
                    probe[i] = bytes[i] ^ (0x80 | (noise[i] & 0x7f));
                    last = Some(i);
                }
                assert_eq!(last_difference(&bytes, &probe), last, "{len} {every}");
                let expected: Vec<u8> = bytes
                    .iter()
                    .zip(&probe)
                    .map(|(&b, &p)| {
                        if b == p {
                            b
                        } else {
                            window[usize::from(b) | usize::from(p & 0x7f) << 8]
                        }
                    })
                    .collect();
                let mut resolved = bytes.clone();
                resolve(&mut resolved, &probe, &window);
                assert_eq!(resolved, expected, "{len} {every}");
            }
        }
    }

    #[test]
    fn split_inflation_matches_the_sequential_one() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("rounded floats", rounded_floats(1_500_000, 7)),
            (
                "text",
                (0..400_000)
                    .flat_map(|i: u32| format!("row {i}, value {}\n", i % 977).into_bytes())
                    .collect(),
            ),
        ];
        for (name, data) in cases {
            for level in [2, 6, 9] {
                let compressed = deflate(&data, level);
                for part in [40_000, 150_000, compressed.len() / 2] {
                    for skip in [0, 128] {
                        let (got, r) =
                            split(&compressed, data.len(), skip, part).unwrap_or_else(|| {
                                panic!("{name} level {level} part {part}: not split")
                            });
                        assert!(r.parts >= 2, "{name}: {r:?}");
                        assert!(
                            got == data,
                            "{name} level {level} part {part}: bytes differ"
                        );
                        assert_eq!(r.crc, crc32fast::hash(&data));
                    }
                }
            }
        }
    }

    #[test]
    fn a_wrong_size_or_a_corrupt_stream_never_gives_other_bytes() {
        let data = rounded_floats(600_000, 3);
        let compressed = deflate(&data, 6);
        assert!(split(&compressed, data.len() - 1, 0, 100_000).is_none());
        assert!(split(&compressed, data.len() + 1, 0, 100_000).is_none());
        let mut x = 11u64;
        for _ in 0..40 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            let mut bad = compressed.clone();
            let at = (x >> 33) as usize % bad.len();
            bad[at] ^= 1 << (x % 8);
            if let Some((got, r)) = split(&bad, data.len(), 0, 100_000) {
                // Either the same bytes (a flip the stream did not depend on) or a CRC
                // that tells the caller so.
                assert_eq!(got == data, r.crc == crc32fast::hash(&data), "flip at {at}");
            }
        }
    }

    #[test]
    fn a_truncated_stream_or_garbage_is_refused() {
        let data = rounded_floats(600_000, 5);
        let compressed = deflate(&data, 6);
        for cut in [1, 100, compressed.len() / 2] {
            let short = &compressed[..compressed.len() - cut];
            assert!(split(short, data.len(), 0, 100_000).is_none(), "cut {cut}");
        }
        // Random bytes where a stream should be: valid-looking headers may be found,
        // but nothing inflates to the size and CRC.
        let garbage = random_bytes(1_000_000, 17);
        assert!(split(&garbage, 3_000_000, 0, 100_000).is_none());
    }

    #[test]
    fn incompressible_input_is_not_split() {
        let data = random_bytes(2_000_000, 5);
        let compressed = deflate(&data, 6);
        // Stored blocks only: no dynamic block start, nothing to split.
        assert!(split(&compressed, data.len(), 0, 100_000).is_none());
    }

    #[test]
    fn a_block_start_is_found_past_every_nominal_split_of_a_zlib_stream() {
        let data = rounded_floats(1_000_000, 9);
        let compressed = deflate(&data, 6);
        assert!(dynamic_header_ok(&compressed, 0));
        // Longer than zlib's blocks here (about 36 KB of compressed bytes each).
        let part = 80_000u64;
        let starts = block_starts(&compressed, part as usize, part as usize);
        assert_eq!(starts[0], 0);
        // Each later start lies past a multiple of `part` and before the next, and
        // every multiple has one.
        let windows: Vec<u64> = starts[1..].iter().map(|&b| b / 8 / part).collect();
        for (w, &b) in windows.iter().zip(&starts[1..]) {
            assert!(b / 8 - w * part < part, "{starts:?}");
        }
        assert!(windows.windows(2).all(|p| p[0] < p[1]), "{starts:?}");
        let multiples = (compressed.len() as u64 - part / 4) / part;
        assert_eq!(windows.len() as u64, multiples, "{starts:?}");
    }
}

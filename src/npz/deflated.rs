//! Compressed archives written on all cores: each member's `.npy` bytes are cut into
//! blocks of [`BLOCK`] bytes, deflated independently on rayon's pool, and the blocks'
//! outputs written in order, as one deflate stream (pigz's scheme, without a shared
//! dictionary): every block but the last ends with a sync flush — the stream's bits
//! byte-aligned after an empty stored block, so the next block's output continues it —
//! and only the last one is final. The member's CRC-32 is computed per block in the
//! same tasks and combined. Memory stays bounded: one batch of `4 × threads` blocks
//! (input and output) is in flight, whatever the member's size.
//!
//! The zip crate writes a member's compressed bytes only through its own compressor
//! (or from a complete in-memory buffer), so this module writes the zip container of a
//! compressed archive itself: local headers (patched with the CRC and sizes once the
//! member is written: the file is seekable), the central directory and the end
//! records, with zip64 fields where sizes or offsets need them, as `zipfile` reads them.

use std::io::{Seek, SeekFrom};

use flate2::{Compress, Compression, FlushCompress, Status};
use rayon::prelude::*;

use super::*;

/// Bytes of `.npy` stream per independently deflated block.
pub(super) const BLOCK: usize = 1 << 20;

/// zlib's default level, the one `np.savez_compressed` uses.
pub(super) const LEVEL: u32 = 6;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EXTRA: u16 = 0x0001;
/// The central-directory extra field in which npmap records a member's blocks:
/// `u32` block size, then the `u32` deflated size of each block (little-endian).
/// Zip readers skip extra fields they do not know (`zipfile`, `unzip`, the zip crate);
/// npmap's reader uses it to inflate the blocks in parallel.
pub(super) const BLOCKS_EXTRA: u16 = 0x706e;
/// The most blocks an index holds: what fits in one extra field beside a zip64 one.
const MAX_INDEXED_BLOCKS: usize = (0xFFFF - 4 - 28 - 4) / 4 - 1;
const DEFLATE: u16 = 8;
const U32_MAX: u64 = 0xFFFF_FFFF;
/// 1980-01-01 00:00, the earliest DOS date (what the zip crate writes by default).
const DOS_DATE: u16 = (1 << 5) | 1;
/// `-rw-r--r--`, regular file, in the high half of the external attributes.
const UNIX_MODE: u32 = 0o100_644 << 16;

/// One member written: what the central directory says about it.
struct Entry {
    name: String,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
    /// Deflated size of each block, when there are several and the index fits.
    blocks: Vec<u32>,
}

/// A compressed archive being written to `out` (the temporary file).
pub(super) struct DeflatedArchive {
    out: BufWriter<File>,
    pos: u64,
    entries: Vec<Entry>,
    /// Set at the first failed write: the archive can then only be dropped.
    pub(super) failed: bool,
}

fn u16le(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn u32le(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// The 32-bit field for `v`: `v`, or 0xFFFFFFFF when the zip64 field holds it.
fn field32(v: u64) -> u32 {
    u32::try_from(v)
        .ok()
        .filter(|&v| u64::from(v) < U32_MAX)
        .unwrap_or(u32::MAX)
}

impl DeflatedArchive {
    pub(super) fn new(file: File) -> DeflatedArchive {
        DeflatedArchive {
            out: BufWriter::with_capacity(COPY_BUFFER, file),
            pos: 0,
            entries: Vec::new(),
            failed: false,
        }
    }

    /// True when a member `name` (the full name, with `.npy`) was written already.
    pub(super) fn has(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.name == name)
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes member `name` (the full name, with `.npy`): the local header, then what
    /// `fill` writes into the block deflater, then the header patched with the CRC-32
    /// and sizes. `zip64` reserves 64-bit sizes in the local header (decided before
    /// the member is written, from the size of the array). Any failure leaves the
    /// archive `failed`; I/O errors are `write archive` errors naming `path`.
    pub(super) fn member(
        &mut self,
        path: &Path,
        name: &str,
        zip64: bool,
        fill: impl FnOnce(&mut BlockDeflater<'_>) -> Result<()>,
    ) -> Result<()> {
        let result = self.write_member(path, name, zip64, fill);
        self.failed |= result.is_err();
        result
    }

    fn write_member(
        &mut self,
        path: &Path,
        name: &str,
        zip64: bool,
        fill: impl FnOnce(&mut BlockDeflater<'_>) -> Result<()>,
    ) -> Result<()> {
        let io_error = |e| Error::io(path, "write archive", e);
        let offset = self.pos;
        let flags: u16 = if name.is_ascii() { 0 } else { 1 << 11 };
        let version: u16 = if zip64 { 45 } else { 20 };
        let mut header = Vec::with_capacity(30 + name.len() + 20);
        header.extend(u32le(LOCAL_SIG));
        header.extend(u16le(version));
        header.extend(u16le(flags));
        header.extend(u16le(DEFLATE));
        header.extend(u16le(0));
        header.extend(u16le(DOS_DATE));
        header.extend([0; 12]); // CRC and sizes: patched below
        header.extend(u16le(name.len() as u16));
        header.extend(u16le(if zip64 { 20 } else { 0 }));
        header.extend(name.as_bytes());
        if zip64 {
            header.extend(u16le(ZIP64_EXTRA));
            header.extend(u16le(16));
            header.extend([0; 16]);
        }
        self.put(&header).map_err(io_error)?;
        let mut deflater = BlockDeflater::new(self);
        fill(&mut deflater)?;
        let (crc, size, compressed, mut blocks) = deflater.finish().map_err(io_error)?;
        if blocks.len() < 2 || blocks.len() > MAX_INDEXED_BLOCKS {
            blocks = Vec::new();
        }
        if !zip64 && (size >= U32_MAX || compressed >= U32_MAX) {
            return Err(Error::at(
                path,
                ErrorKind::Zip {
                    reason: format!(
                        "member deflated to {compressed} bytes from {size}: past the 4 GiB \
                         of a zip entry without zip64 sizes"
                    ),
                },
            ));
        }
        let end = self.pos;
        let file = &mut self.out;
        let mut patch = || -> io::Result<()> {
            file.seek(SeekFrom::Start(offset + 14))?;
            file.write_all(&u32le(crc))?;
            if zip64 {
                file.write_all(&u32le(u32::MAX))?;
                file.write_all(&u32le(u32::MAX))?;
                file.seek(SeekFrom::Start(offset + 30 + name.len() as u64 + 4))?;
                file.write_all(&size.to_le_bytes())?;
                file.write_all(&compressed.to_le_bytes())?;
            } else {
                file.write_all(&u32le(compressed as u32))?;
                file.write_all(&u32le(size as u32))?;
            }
            file.seek(SeekFrom::Start(end))?;
            Ok(())
        };
        patch().map_err(io_error)?;
        self.entries.push(Entry {
            name: name.to_string(),
            crc,
            compressed,
            size,
            offset,
            blocks,
        });
        Ok(())
    }

    /// Writes the central directory and end records; returns the file, flushed.
    pub(super) fn finish(mut self) -> io::Result<File> {
        let start = self.pos;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let mut extra = Vec::new();
            for v in [e.size, e.compressed, e.offset] {
                if v >= U32_MAX {
                    extra.extend(v.to_le_bytes());
                }
            }
            let zip64 = !extra.is_empty();
            let version: u16 = if zip64 { 45 } else { 20 };
            let mut fields = Vec::new();
            if zip64 {
                fields.extend(u16le(ZIP64_EXTRA));
                fields.extend(u16le(extra.len() as u16));
                fields.extend(extra);
            }
            if !e.blocks.is_empty() {
                fields.extend(u16le(BLOCKS_EXTRA));
                fields.extend(u16le(4 + 4 * e.blocks.len() as u16));
                fields.extend(u32le(BLOCK as u32));
                for &b in &e.blocks {
                    fields.extend(u32le(b));
                }
            }
            let mut rec = Vec::with_capacity(46 + e.name.len() + fields.len());
            rec.extend(u32le(CENTRAL_SIG));
            rec.extend(u16le((3 << 8) | version)); // made by: Unix
            rec.extend(u16le(version));
            rec.extend(u16le(if e.name.is_ascii() { 0 } else { 1 << 11 }));
            rec.extend(u16le(DEFLATE));
            rec.extend(u16le(0));
            rec.extend(u16le(DOS_DATE));
            rec.extend(u32le(e.crc));
            rec.extend(u32le(field32(e.compressed)));
            rec.extend(u32le(field32(e.size)));
            rec.extend(u16le(e.name.len() as u16));
            rec.extend(u16le(fields.len() as u16));
            rec.extend(u16le(0)); // comment
            rec.extend(u16le(0)); // disk
            rec.extend(u16le(0)); // internal attributes
            rec.extend(u32le(UNIX_MODE));
            rec.extend(u32le(field32(e.offset)));
            rec.extend(e.name.as_bytes());
            rec.extend(fields);
            self.put(&rec)?;
        }
        let size = self.pos - start;
        let count = entries.len() as u64;
        if count >= 0xFFFF || start >= U32_MAX || size >= U32_MAX {
            let record = self.pos;
            let mut end = Vec::with_capacity(56 + 20);
            end.extend(u32le(ZIP64_END_SIG));
            end.extend(44u64.to_le_bytes());
            end.extend(u16le((3 << 8) | 45));
            end.extend(u16le(45));
            end.extend(u32le(0));
            end.extend(u32le(0));
            end.extend(count.to_le_bytes());
            end.extend(count.to_le_bytes());
            end.extend(size.to_le_bytes());
            end.extend(start.to_le_bytes());
            end.extend(u32le(ZIP64_LOCATOR_SIG));
            end.extend(u32le(0));
            end.extend(record.to_le_bytes());
            end.extend(u32le(1));
            self.put(&end)?;
        }
        let mut end = Vec::with_capacity(22);
        end.extend(u32le(END_SIG));
        end.extend([0; 4]); // disk numbers
        let count16 = u16::try_from(count).unwrap_or(u16::MAX);
        end.extend(u16le(count16));
        end.extend(u16le(count16));
        end.extend(u32le(field32(size)));
        end.extend(u32le(field32(start)));
        end.extend(u16le(0)); // comment
        self.put(&end)?;
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// One block's output: its deflated bytes and the CRC-32 of its input.
struct Deflated {
    bytes: Vec<u8>,
    crc: crc32fast::Hasher,
}

/// Deflates `input` as one block of a stream: final (`last`) or ending in a sync flush.
fn deflate_block(input: &[u8], last: bool) -> io::Result<Deflated> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(input);
    let mut c = Compress::new(Compression::new(LEVEL), false);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(input.len() + input.len() / 64 + 1024)
        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    loop {
        let done = c.total_in() as usize;
        let status = c
            .compress_vec(&input[done..], &mut bytes, flush)
            .map_err(io::Error::other)?;
        let consumed = c.total_in() as usize == input.len();
        // A sync flush is complete when it left room in the output; a finish when the
        // stream ended.
        let complete = match last {
            true => status == Status::StreamEnd,
            false => consumed && bytes.len() < bytes.capacity(),
        };
        if complete {
            return Ok(Deflated { bytes, crc });
        }
        bytes
            .try_reserve(1 << 16)
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    }
}

/// The `Write` a member's `.npy` bytes go into: cuts them into blocks, deflates each
/// full batch of blocks in parallel and writes the outputs in order.
pub(super) struct BlockDeflater<'a> {
    archive: &'a mut DeflatedArchive,
    /// The block being filled.
    pending: Vec<u8>,
    /// Full blocks waiting for their batch.
    batch: Vec<Vec<u8>>,
    batch_len: usize,
    crc: crc32fast::Hasher,
    size: u64,
    compressed: u64,
    /// Deflated size of each block written (4 bytes per MiB of member; dropped past
    /// what an index can hold).
    blocks: Vec<u32>,
}

impl<'a> BlockDeflater<'a> {
    fn new(archive: &'a mut DeflatedArchive) -> BlockDeflater<'a> {
        BlockDeflater {
            archive,
            pending: Vec::new(),
            batch: Vec::new(),
            batch_len: 4 * rayon::current_num_threads().max(1),
            crc: crc32fast::Hasher::new(),
            size: 0,
            compressed: 0,
            blocks: Vec::new(),
        }
    }

    /// Deflates the batch (`last`: the final blocks of the member) and writes it.
    fn flush_batch(&mut self, last: bool) -> io::Result<()> {
        let blocks = std::mem::take(&mut self.batch);
        let count = blocks.len();
        let outputs: Vec<io::Result<Deflated>> = blocks
            .par_iter()
            .enumerate()
            .map(|(i, block)| deflate_block(block, last && i + 1 == count))
            .collect();
        for (block, output) in blocks.iter().zip(outputs) {
            let output = output?;
            self.archive.put(&output.bytes)?;
            self.crc.combine(&output.crc);
            self.size += block.len() as u64;
            self.compressed += output.bytes.len() as u64;
            if self.blocks.len() <= MAX_INDEXED_BLOCKS {
                self.blocks.push(output.bytes.len() as u32);
            }
        }
        // Reuse one input buffer for the next block.
        if let Some(mut buffer) = blocks.into_iter().next()
            && self.pending.capacity() == 0
        {
            buffer.clear();
            self.pending = buffer;
        }
        Ok(())
    }

    /// Deflates what is left, the last block final; returns CRC-32, size, compressed size
    /// and the blocks' deflated sizes.
    fn finish(mut self) -> io::Result<(u32, u64, u64, Vec<u32>)> {
        let pending = std::mem::take(&mut self.pending);
        if !pending.is_empty() || self.batch.is_empty() {
            self.batch.push(pending);
        }
        self.flush_batch(true)?;
        let blocks = std::mem::take(&mut self.blocks);
        Ok((
            self.crc.clone().finalize(),
            self.size,
            self.compressed,
            blocks,
        ))
    }
}

impl Write for BlockDeflater<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending.capacity() == 0 {
            self.pending
                .try_reserve_exact(BLOCK)
                .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        }
        let take = buf.len().min(BLOCK - self.pending.len());
        self.pending.extend_from_slice(&buf[..take]);
        if self.pending.len() == BLOCK {
            let full = std::mem::take(&mut self.pending);
            self.batch.push(full);
            if self.batch.len() == self.batch_len {
                self.flush_batch(false)?;
            }
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_concatenate_into_one_stream() {
        let data: Vec<u8> = (0..3 * BLOCK + 12345)
            .map(|i| (i % 251) as u8 ^ (i / 7919) as u8)
            .collect();
        let mut out = Vec::new();
        let mut crc = crc32fast::Hasher::new();
        let chunks: Vec<&[u8]> = data.chunks(BLOCK).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let d = deflate_block(chunk, i + 1 == chunks.len()).unwrap();
            out.extend(d.bytes);
            crc.combine(&d.crc);
        }
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(crc.finalize(), crc32fast::hash(&data));
    }
}

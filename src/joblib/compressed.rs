//! Compressed dumps: joblib runs the whole dump (pickle and array bytes) through the
//! compressor, so it is decompressed into memory first, bounded against bombs.
//!
//! [`decompress`] is the one entry point: each compressor is one small function that
//! wraps the bytes in its decoder, and one step loop reads every decoder, growing the
//! output a step at a time with fallible allocation and, for the formats that have a
//! real maximum expansion (deflate, lz4), stopping past it.

use std::io::Read;

use flate2::read::{MultiGzDecoder, ZlibDecoder};

use crate::error::{Error, ErrorKind, Result};
use crate::format::header::fill;

/// A compressor joblib writes dumps with, told by the dump's first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compressor {
    /// joblib 0.9 and earlier: `ZF`, the decompressed length in hex padded to 19
    /// characters, then a zlib stream.
    ZFile,
    /// joblib's default compressor (`compress=True`, `'zlib'`).
    Zlib,
    Gzip,
    Bz2,
    Xz,
    /// The legacy "alone" `.lzma` format (`compress='lzma'`).
    Lzma,
    /// The lz4 frame format (`compress='lz4'`).
    Lz4,
}

/// Deflate cannot expand data more than about 1032 times: a stream that inflates
/// past this many times its size is corrupt (or a bomb), and reading stops there.
const MAX_DEFLATE_RATIO: u64 = 1100;

/// An lz4 block cannot expand data more than 255 times (each further length byte
/// of a match adds at most 255 bytes of output); a frame's headers only lower that.
const MAX_LZ4_RATIO: u64 = 256;

/// Bytes read per step, so memory follows what actually decompresses.
const STEP: usize = 1 << 20;

/// The length of a `ZF` file's header: `ZF` and 19 characters of hex length.
const ZFILE_HEADER: usize = 2 + 19;

impl Compressor {
    /// The compressor of a dump that starts with `bytes`; `None` for anything else
    /// (an uncompressed pickle, or not a dump at all).
    pub(crate) fn detect(bytes: &[u8]) -> Option<Compressor> {
        const MAGIC: [(&[u8], Compressor); 7] = [
            (b"ZF", Compressor::ZFile),
            (b"\x1f\x8b", Compressor::Gzip),
            (b"BZh", Compressor::Bz2),
            (b"\xfd7zXZ\x00", Compressor::Xz),
            (b"\x5d\x00", Compressor::Lzma),
            (b"\x04\x22\x4d\x18", Compressor::Lz4),
            (b"\x78", Compressor::Zlib),
        ];
        MAGIC
            .iter()
            .find(|(magic, _)| bytes.starts_with(magic))
            .map(|&(_, kind)| kind)
    }

    /// The name joblib gives it (`compress=(name, level)`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Compressor::ZFile => "zlib (joblib 0.9 and earlier)",
            Compressor::Zlib => "zlib",
            Compressor::Gzip => "gzip",
            Compressor::Bz2 => "bz2",
            Compressor::Xz => "xz",
            Compressor::Lzma => "lzma",
            Compressor::Lz4 => "lz4",
        }
    }

    /// How many times its size a valid stream can expand at most, where the format
    /// has such a bound.
    fn max_ratio(self) -> Option<u64> {
        match self {
            Compressor::ZFile | Compressor::Zlib | Compressor::Gzip => Some(MAX_DEFLATE_RATIO),
            Compressor::Lz4 => Some(MAX_LZ4_RATIO),
            Compressor::Bz2 | Compressor::Xz | Compressor::Lzma => None,
        }
    }
}

/// The compressed dump `bytes`, decompressed with `kind`'s decoder, into at most
/// `max` bytes when given.
///
/// # Errors
///
/// - [`ErrorKind::UnsupportedDump`] naming the compressor when the stream is corrupt,
///   expands past what the format can or past `max`, or its decoder is not compiled
///   in (naming the cargo feature that brings it).
/// - [`ErrorKind::OutOfMemory`] when the output (or a decoder's buffer) cannot be
///   allocated.
pub(crate) fn decompress(bytes: &[u8], kind: Compressor, max: Option<u64>) -> Result<Vec<u8>> {
    let reader = match kind {
        Compressor::ZFile => zfile(bytes)?,
        Compressor::Zlib => Box::new(ZlibDecoder::new(bytes)),
        // Python's gzip module reads concatenated members, so joblib does.
        Compressor::Gzip => Box::new(MultiGzDecoder::new(bytes)),
        Compressor::Bz2 => bz2(bytes)?,
        Compressor::Xz => xz(bytes)?,
        Compressor::Lzma => lzma(bytes)?,
        Compressor::Lz4 => lz4(bytes)?,
    };
    let out = read_bounded(reader, kind, bytes.len(), max)?;
    if kind == Compressor::ZFile {
        check_zfile_length(bytes, out.len())?;
    }
    Ok(out)
}

/// A `ZF` file's zlib stream, after its header.
fn zfile(bytes: &[u8]) -> Result<Box<dyn Read + '_>> {
    let stream = bytes.get(ZFILE_HEADER..).ok_or_else(|| {
        corrupt(
            Compressor::ZFile,
            format!(
                "expected a {ZFILE_HEADER}-byte header, found {} bytes",
                bytes.len()
            ),
        )
    })?;
    // joblib 0.8.4 and earlier on Python 2 padded the length one character wider;
    // a zlib stream never starts with a space, so joblib skips one, and so does this.
    let stream = stream.strip_prefix(b" ").unwrap_or(stream);
    Ok(Box::new(ZlibDecoder::new(stream)))
}

/// The length a `ZF` header records (`hex(len)`, padded with spaces) against the
/// `found` decompressed length, as joblib checks it.
fn check_zfile_length(bytes: &[u8], found: usize) -> Result<()> {
    let text = std::str::from_utf8(&bytes[2..ZFILE_HEADER]).unwrap_or("");
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    let expected = u64::from_str_radix(digits, 16).map_err(|_| {
        corrupt(
            Compressor::ZFile,
            format!("expected the length in hex after 'ZF', found {text:?}"),
        )
    })?;
    if expected != found as u64 {
        return Err(corrupt(
            Compressor::ZFile,
            format!("the header says {expected} bytes, the stream inflates to {found}"),
        ));
    }
    Ok(())
}

#[cfg(feature = "joblib-bz2")]
fn bz2(bytes: &[u8]) -> Result<Box<dyn Read + '_>> {
    // Python's bz2 module reads concatenated streams, so joblib does.
    Ok(Box::new(bzip2::read::MultiBzDecoder::new(bytes)))
}

#[cfg(not(feature = "joblib-bz2"))]
fn bz2(_: &[u8]) -> Result<Box<dyn Read + '_>> {
    Err(feature_off(Compressor::Bz2, "joblib-bz2"))
}

#[cfg(feature = "joblib-xz")]
fn xz(bytes: &[u8]) -> Result<Box<dyn Read + '_>> {
    // The dictionary is allocated as the output grows (fallibly), so the decoder's
    // memory limit is left off: the step loop bounds what is allocated.
    Ok(Box::new(lzma_rust2::XzReader::new(bytes, true)))
}

#[cfg(not(feature = "joblib-xz"))]
fn xz(_: &[u8]) -> Result<Box<dyn Read + '_>> {
    Err(feature_off(Compressor::Xz, "joblib-xz"))
}

#[cfg(feature = "joblib-xz")]
fn lzma(bytes: &[u8]) -> Result<Box<dyn Read + '_>> {
    let reader = lzma_rust2::LzmaReader::new_mem_limit(bytes, u32::MAX, None)
        .map_err(|e| stream_error(Compressor::Lzma, &e))?;
    Ok(Box::new(reader))
}

#[cfg(not(feature = "joblib-xz"))]
fn lzma(_: &[u8]) -> Result<Box<dyn Read + '_>> {
    Err(feature_off(Compressor::Lzma, "joblib-xz"))
}

#[cfg(feature = "joblib-lz4")]
fn lz4(bytes: &[u8]) -> Result<Box<dyn Read + '_>> {
    Ok(Box::new(Lz4Frames(lz4_flex::frame::FrameDecoder::new(
        bytes,
    ))))
}

/// Concatenated lz4 frames, as Python's `lz4.frame.LZ4FrameFile` (so joblib) reads
/// them: the frame decoder reports the end of each frame as the end of its output.
#[cfg(feature = "joblib-lz4")]
struct Lz4Frames<'a>(lz4_flex::frame::FrameDecoder<&'a [u8]>);

#[cfg(feature = "joblib-lz4")]
impl Read for Lz4Frames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.0.read(buf)?;
            // Each call with input left consumes some of it (or fails), so this ends.
            if n > 0 || buf.is_empty() || self.0.get_ref().is_empty() {
                return Ok(n);
            }
        }
    }
}

#[cfg(not(feature = "joblib-lz4"))]
fn lz4(_: &[u8]) -> Result<Box<dyn Read + '_>> {
    Err(feature_off(Compressor::Lz4, "joblib-lz4"))
}

/// Everything `reader` decodes from `compressed_len` bytes of `kind`, read a step at
/// a time into fallibly grown memory, and refused past `kind`'s maximum expansion or
/// past `max` bytes.
fn read_bounded(
    reader: Box<dyn Read + '_>,
    kind: Compressor,
    compressed_len: usize,
    max: Option<u64>,
) -> Result<Vec<u8>> {
    let ratio_limit = kind
        .max_ratio()
        .map(|ratio| (compressed_len as u64).saturating_mul(ratio));
    let limit = match (ratio_limit, max) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut reader = reader.take(limit.map_or(u64::MAX, |l| l.saturating_add(1)));
    let mut out = Vec::new();
    loop {
        let start = out.len();
        out.try_reserve(STEP)
            .map_err(|_| crate::cast::out_of_memory::<u8>(start + STEP, "decompressed dump"))?;
        out.resize(start + STEP, 0);
        let n = fill(&mut reader, &mut out[start..]).map_err(|e| stream_error(kind, &e))?;
        out.truncate(start + n);
        if n == 0 {
            break;
        }
    }
    let found = out.len() as u64;
    if let Some(limit) = ratio_limit.filter(|&l| found > l) {
        return Err(corrupt(
            kind,
            format!(
                "the stream expands past {limit} bytes, {} times its {compressed_len} bytes, which {} cannot do: a corrupt stream or a bomb",
                limit / (compressed_len as u64).max(1),
                kind.name()
            ),
        ));
    }
    if let Some(max) = max.filter(|&m| found > m) {
        return Err(Error::from(ErrorKind::UnsupportedDump {
            reason: format!(
                "the {} stream decompresses past {max} bytes, the limit set (ReadOptions::max_decompressed)",
                kind.name()
            ),
        }));
    }
    Ok(out)
}

/// An error a decoder returned: out of memory when it could not allocate, else a
/// corrupt stream.
fn stream_error(kind: Compressor, e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::OutOfMemory {
        return Error::from(ErrorKind::OutOfMemory {
            bytes: u64::MAX,
            what: "a decompressor's buffer",
        });
    }
    corrupt(kind, format!("expected a valid stream, found {e}"))
}

fn corrupt(kind: Compressor, what: String) -> Error {
    Error::from(ErrorKind::UnsupportedDump {
        reason: format!("the {} stream is corrupt: {what}", kind.name()),
    })
}

/// The error for a compressor whose decoder is not compiled in.
#[allow(dead_code)] // with every decoder's feature on
fn feature_off(kind: Compressor, feature: &str) -> Error {
    Error::from(ErrorKind::UnsupportedDump {
        reason: format!(
            "a {}-compressed dump, and npmap was built without its decoder: enable the cargo feature '{feature}' (on by default)",
            kind.name()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No valid deflate or lz4 stream expands past its format's ratio, so the limit is
    /// reached only by a decoder fed a stream it should not accept: a reader that
    /// never ends stands for one.
    #[test]
    fn output_past_a_formats_maximum_ratio_is_refused() {
        let endless = || Box::new(std::io::repeat(7)) as Box<dyn Read>;
        let e = read_bounded(endless(), Compressor::Lz4, 10, None).unwrap_err();
        let ErrorKind::UnsupportedDump { reason } = e.kind() else {
            panic!("{e}")
        };
        assert_eq!(
            reason,
            "the lz4 stream is corrupt: the stream expands past 2560 bytes, 256 times its 10 bytes, which lz4 cannot do: a corrupt stream or a bomb"
        );
        let e = read_bounded(endless(), Compressor::Gzip, 3, None).unwrap_err();
        assert!(e.to_string().contains("past 3300 bytes"), "{e}");
        // Up to the limit is fine.
        let at_limit = Box::new(std::io::repeat(7).take(2560));
        assert_eq!(
            read_bounded(at_limit, Compressor::Lz4, 10, None).unwrap(),
            [7; 2560]
        );
    }

    #[test]
    fn output_past_the_limit_set_is_refused() {
        let endless = || Box::new(std::io::repeat(7)) as Box<dyn Read>;
        let e = read_bounded(endless(), Compressor::Bz2, 10, Some(5000)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a joblib dump npmap can read: the bz2 stream decompresses past 5000 bytes, the limit set (ReadOptions::max_decompressed)"
        );
        // The ratio's limit is the lower one: it says so.
        let e = read_bounded(endless(), Compressor::Lz4, 10, Some(5000)).unwrap_err();
        assert!(e.to_string().contains("past 2560 bytes"), "{e}");
        let exact = Box::new(std::io::repeat(7).take(5000));
        let out = read_bounded(exact, Compressor::Xz, 10, Some(5000)).unwrap();
        assert_eq!(out.len(), 5000);
    }

    #[test]
    fn the_first_bytes_tell_the_compressor() {
        let cases: [(&[u8], Option<Compressor>); 9] = [
            (b"ZF0x1c", Some(Compressor::ZFile)),
            (b"\x78\x9c", Some(Compressor::Zlib)),
            (b"\x1f\x8b\x08", Some(Compressor::Gzip)),
            (b"BZh9", Some(Compressor::Bz2)),
            (b"\xfd7zXZ\x00\x00", Some(Compressor::Xz)),
            (b"\x5d\x00\x00\x80", Some(Compressor::Lzma)),
            (b"\x04\x22\x4d\x18", Some(Compressor::Lz4)),
            (b"\x80\x04K\x07.", None),
            (b"", None),
        ];
        for (bytes, kind) in cases {
            assert_eq!(Compressor::detect(bytes), kind, "{bytes:?}");
        }
    }
}

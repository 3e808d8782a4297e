//! Streams over one member's bytes: positional reads of its span, inflated when
//! deflated, counted and CRC-checked against what the archive declares.

use super::*;

/// A byte range of a file, read with positional reads so that `&NpzReader` can serve
/// several readers (and threads) at once.
pub(super) struct Span<'a> {
    pub(super) file: &'a File,
    pub(super) pos: u64,
    pub(super) end: u64,
}

impl Read for Span<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let len = buf.len().min(left);
        if len == 0 {
            return Ok(0);
        }
        let got = read_at(self.file, &mut buf[..len], self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

/// A member's bytes as stored, or inflated.
pub(super) enum Inner<'a> {
    Stored(Span<'a>),
    Deflated(Box<flate2::bufread::DeflateDecoder<BufReader<Span<'a>>>>),
}

impl Read for Inner<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Inner::Stored(span) => span.read(buf),
            Inner::Deflated(decoder) => decoder.read(buf),
        }
    }
}

/// A member's uncompressed bytes, limited to one byte past the declared size, with a
/// running count and CRC-32.
pub(super) struct MemberStream<'a> {
    pub(super) inner: io::Take<Inner<'a>>,
    pub(super) crc: crc32fast::Hasher,
    pub(super) count: u64,
}

impl Read for MemberStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

impl MemberStream<'_> {
    /// The zip-bomb error, when more bytes came out than the archive declares.
    pub(super) fn overrun(&self, member: &Member, path: &Path) -> Option<Error> {
        (self.count > member.size).then(|| {
            Error::at(
                path,
                ErrorKind::MemberTooLarge {
                    declared: member.size,
                },
            )
        })
    }

    /// Reads what is left (at most one byte past the declared size) and checks the
    /// member's size and CRC-32.
    pub(super) fn finish(mut self, member: &Member, path: &Path) -> Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            match self.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(path, "read member", e)),
            }
        }
        if let Some(e) = self.overrun(member, path) {
            return Err(e);
        }
        if self.count < member.size {
            return Err(Error::at(
                path,
                ErrorKind::Truncated {
                    what: "archive member data",
                    offset: member.data_start,
                    expected: member.size,
                    found: self.count,
                },
            ));
        }
        let found = self.crc.finalize();
        if found != member.crc32 {
            return Err(Error::at(
                path,
                ErrorKind::Crc {
                    expected: member.crc32,
                    found,
                    len: self.count,
                },
            ));
        }
        Ok(())
    }
}

/// Keeps a copy of the bytes read through it (a member's `.npy` header, bounded by
/// the header size cap).
pub(super) struct Recorder<'a, R> {
    pub(super) inner: &'a mut R,
    pub(super) bytes: Vec<u8>,
}

impl<R: Read> Read for Recorder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

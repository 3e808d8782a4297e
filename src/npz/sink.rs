//! [`ArchiveSink`]: the writer under a `ZipWriter`, so that a failed archive never
//! reaches the zip crate's `Drop`, which finalizes an unfinished archive and prints
//! its own error to stderr (`ZipWriter::drop: failed to finalize archive: ...`).
//!
//! After the first failed write, seek or flush (a full disk) — or once the archive is
//! abandoned (its writer dropped unfinished) — the sink writes nothing more: it
//! accepts every later operation and keeps a consistent position, so the zip
//! crate's last attempt to finalize succeeds into nothing, silently. The failure
//! itself was already returned to the caller, and [`ArchiveSink::into_inner`]
//! returns it again, so a failed archive can never be taken for a finished one.

use std::io::{self, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the owner of a `ZipWriter` over an [`ArchiveSink`] shares with the sink.
#[derive(Default)]
pub(super) struct SinkState {
    /// Set by the owner to stop all writing before dropping the `ZipWriter`.
    abandoned: AtomicBool,
    /// Set by the sink at its first failure.
    failed: AtomicBool,
}

impl SinkState {
    /// Stops all writing: from now on the sink discards.
    pub(super) fn abandon(&self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }

    /// True once a write, seek or flush has failed.
    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

/// A `Write + Seek` that passes through to `inner` until the first failure (or until
/// it is abandoned), then discards.
pub(super) struct ArchiveSink<W> {
    inner: Option<W>,
    /// The first error, as kind, OS code and message (an `io::Error` is not `Clone`).
    failed: Option<(io::ErrorKind, Option<i32>, String)>,
    state: Arc<SinkState>,
    pos: u64,
    end: u64,
}

impl<W: Write + Seek> ArchiveSink<W> {
    /// A sink over `inner`, positioned at its start, and the state it shares.
    pub(super) fn new(inner: W) -> (ArchiveSink<W>, Arc<SinkState>) {
        let state = Arc::new(SinkState::default());
        let sink = ArchiveSink {
            inner: Some(inner),
            failed: None,
            state: Arc::clone(&state),
            pos: 0,
            end: 0,
        };
        (sink, state)
    }

    /// The writer, when every operation succeeded; otherwise the first error again.
    pub(super) fn into_inner(mut self) -> io::Result<W> {
        match (self.failed.take(), self.inner.take()) {
            (None, Some(w)) if !self.state.abandoned.load(Ordering::Relaxed) => Ok(w),
            (Some(first), _) => Err(rebuild(&first)),
            _ => Err(io::Error::other("the archive was abandoned")),
        }
    }

    /// The live writer, or `None` once the sink discards.
    fn live(&mut self) -> Option<&mut W> {
        if self.state.abandoned.load(Ordering::Relaxed) {
            self.stop();
        }
        self.inner.as_mut()
    }

    /// Discards from now on, dropping the writer (what it buffered is not flushed
    /// by the sink; a `BufWriter`'s own drop may try and ignores the result).
    fn stop(&mut self) {
        self.inner = None;
    }

    /// Records `e` as the failure (the first one wins), stops, and returns it.
    fn fail(&mut self, e: io::Error) -> io::Error {
        if self.failed.is_none() {
            self.failed = Some((e.kind(), e.raw_os_error(), e.to_string()));
            self.state.failed.store(true, Ordering::Relaxed);
        }
        self.stop();
        e
    }

    fn moved_to(&mut self, pos: u64) -> u64 {
        self.pos = pos;
        self.end = self.end.max(pos);
        pos
    }
}

fn rebuild(first: &(io::ErrorKind, Option<i32>, String)) -> io::Error {
    match first.1 {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(first.0, first.2.clone()),
    }
}

impl<W: Write + Seek> Write for ArchiveSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match self.live() {
            None => buf.len(),
            Some(w) => match w.write(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                Err(e) => return Err(self.fail(e)),
            },
        };
        self.moved_to(self.pos + n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.live().map(Write::flush) {
            None | Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(self.fail(e)),
        }
    }
}

impl<W: Write + Seek> Seek for ArchiveSink<W> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self.live().map(|w| w.seek(to)) {
            Some(Ok(pos)) => Ok(self.moved_to(pos)),
            Some(Err(e)) => Err(self.fail(e)),
            None => {
                let target = match to {
                    SeekFrom::Start(p) => Some(p),
                    SeekFrom::Current(d) => self.pos.checked_add_signed(d),
                    SeekFrom::End(d) => self.end.checked_add_signed(d),
                };
                let pos = target.ok_or_else(|| io::Error::other("seek before the start"))?;
                self.pos = pos;
                Ok(pos)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A writer that fails every write after `room` bytes, as a full disk does.
    struct Full {
        cur: Cursor<Vec<u8>>,
        room: u64,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.cur.position() + buf.len() as u64 > self.room {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.cur.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Seek for Full {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            self.cur.seek(to)
        }
    }

    #[test]
    fn after_a_failure_it_discards_and_reports_the_first_error() {
        let (mut sink, state) = ArchiveSink::new(Full {
            cur: Cursor::new(Vec::new()),
            room: 4,
        });
        assert_eq!(sink.write(b"abc").unwrap(), 3);
        let e = sink.write(b"defg").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert!(state.failed());
        // Later writes go nowhere, positions stay consistent.
        assert_eq!(sink.write(b"hi").unwrap(), 2);
        assert_eq!(sink.stream_position().unwrap(), 5);
        assert_eq!(sink.seek(SeekFrom::End(-1)).unwrap(), 4);
        let e = sink.into_inner().err().unwrap();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
    }

    #[test]
    fn an_abandoned_sink_writes_nothing() {
        let (mut sink, state) = ArchiveSink::new(Cursor::new(Vec::new()));
        sink.write_all(b"ab").unwrap();
        state.abandon();
        sink.write_all(b"cd").unwrap();
        assert_eq!(sink.stream_position().unwrap(), 4);
        assert!(sink.into_inner().is_err());
    }
}

//! How the kernel should cache a mapped file: access advice ([`Access`]: read-ahead
//! for sequential scans, none for random access, read now, release now), faulting
//! every page in at once, and how much of the file is in memory.

use std::ops::Range;

use crate::compute::progress::Progress;
use crate::npy::{Mapping, NpyFile};

/// How a mapped file's data will be used, for the kernel's read-ahead and page cache
/// (`madvise(2)`). Advice changes no data, only speed and memory use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// The kernel's default read-ahead.
    Normal,
    /// Read once from start to end: aggressive read-ahead, pages freed sooner. Measure
    /// before relying on it: on Linux 6.18 a cold scan of a 30 GB file was about 40 %
    /// slower with it than with the default read-ahead (13.2–17.0 s against
    /// 9.6–12.1 s); to scan a file larger than memory, [`NpyFile::drop_behind`] is
    /// the faster choice.
    Sequential,
    /// Read in no particular order: no read-ahead.
    Random,
    /// Needed soon: start reading it from disk now, in the background.
    WillNeed,
    /// Not needed again soon: release its pages from memory now (clean pages are
    /// dropped from the page cache, dirty ones written back first; a later read
    /// brings them back from disk). The way to scan a file larger than memory
    /// without pushing other programs' files out of the page cache: release each
    /// window once it has been read.
    DontNeed,
}

impl NpyFile {
    /// A [`Progress`] for a whole-array reduction of this file's data (the
    /// `*_with_progress` form of [`par_moments`](crate::ParStats::par_moments) on
    /// [`view`](Self::view) of the whole file) that releases each part of the file
    /// from memory as soon as the scan is done with it ([`Access::DontNeed`]). A cold
    /// scan of a file larger than RAM then leaves other files' cached pages alone;
    /// the result is the same, bit for bit, and the progress counts as usual.
    ///
    /// The ranges it is told are indices into the elements of the view it is passed
    /// with: pass it only with the whole file's view (with part of it, it releases
    /// other parts of the file, which costs speed but never correctness).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::Array2::<f32>::ones((1000, 300)))?;
    /// use npmap::{MmapMode, NpyFile, ParStats};
    /// use npmap::ndarray::Ix2;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// let x = f.view::<f32, Ix2>()?;
    /// let behind = f.drop_behind();
    /// let m = x.par_moments_with_progress(&behind);
    /// assert_eq!((m.sum(), behind.done()), (300_000.0, 300_000));
    /// assert_eq!(m, x.par_moments());
    /// # Ok(()) }
    /// ```
    pub fn drop_behind(&self) -> Progress<'_> {
        let size = self.header().dtype.itemsize().max(1);
        let len = self.map.bytes().len();
        // Dropping through the file is cheap (no reclaim work in the scanning
        // threads); a file that cannot be opened again (an archive member) falls back
        // to releasing the pages.
        let file = std::fs::File::open(self.path()).ok();
        let pending = std::sync::Mutex::new(Runs::default());
        Progress::on_finished(move |elements| {
            let bytes = elements.start.saturating_mul(size).min(len)
                ..elements.end.saturating_mul(size).min(len);
            // Finished ranges are gathered into runs and released a run of
            // `DROP_RUN` bytes at a time (a few hundred calls for a large file), and
            // all that is left once the whole data is done.
            let ready = {
                let mut runs = pending.lock().unwrap_or_else(|e| e.into_inner());
                runs.finish(bytes, len)
            };
            for run in ready {
                match &file {
                    Some(file) => self.forget(run, file),
                    None => self.advise_bytes(Access::DontNeed, run),
                }
            }
        })
    }

    /// Advises the kernel how the whole data will be used ([`Access`]).
    ///
    /// Best effort: advice only tunes caching, so a kernel that refuses it (or an
    /// access it does not know) changes nothing observable and no error is reported.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::Array1::<f32>::ones(1000))?;
    /// use npmap::{Access, MmapMode, NpyFile};
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// f.advise(Access::Sequential);
    /// assert_eq!(f.view::<f32, npmap::ndarray::Ix1>()?.sum(), 1000.0);
    /// f.advise(Access::DontNeed); // the view stays valid: pages come back on access
    /// assert_eq!(f.view::<f32, npmap::ndarray::Ix1>()?.sum(), 1000.0);
    /// # Ok(()) }
    /// ```
    pub fn advise(&self, access: Access) {
        self.advise_bytes(access, 0..self.map.bytes().len());
    }

    /// [`advise`](Self::advise) for the bytes `range` of the data (the part of the
    /// mapping [`data`](Self::data) returns), e.g. the rows of a C-order array just
    /// scanned. A range past the end is cut at the end.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::Array2::<f64>::ones((1000, 10)))?;
    /// use npmap::{Access, MmapMode, NpyFile, ParStats};
    /// use npmap::ndarray::{Ix2, s};
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// let x = f.view::<f64, Ix2>()?;
    /// let row_bytes = 10 * 8;
    /// let mut total = 0.0;
    /// for start in (0..1000).step_by(100) {
    ///     total += x.slice(s![start..start + 100, ..]).par_moments().sum();
    ///     f.advise_bytes(Access::DontNeed, start * row_bytes..(start + 100) * row_bytes);
    /// }
    /// assert_eq!(total, 10_000.0);
    /// # Ok(()) }
    /// ```
    pub fn advise_bytes(&self, access: Access, range: Range<usize>) {
        let len = self.map.bytes().len();
        let (start, end) = (range.start.min(len), range.end.min(len));
        if start >= end {
            return;
        }
        if access == Access::DontNeed {
            crate::fs::os::release_pages(&self.map.bytes()[start..end]);
            return;
        }
        let advice = match access {
            Access::Sequential => memmap2::Advice::Sequential,
            Access::Random => memmap2::Advice::Random,
            Access::WillNeed => memmap2::Advice::WillNeed,
            _ => memmap2::Advice::Normal,
        };
        // Advice only tunes caching; a failure changes nothing observable.
        let _ = match &self.map {
            Mapping::Empty => Ok(()),
            Mapping::ReadOnly(m) => m.advise_range(advice, start, end - start),
            Mapping::Writable(m) => m.advise_range(advice, start, end - start),
        };
    }

    /// Tells the kernel the data will be read sequentially (read-ahead), or not.
    ///
    /// Best effort: the advice only tunes read-ahead, so a kernel that refuses it
    /// changes nothing observable and no error is reported.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::Array1::<f32>::ones(1000))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// f.advise_sequential();
    /// assert_eq!(f.view::<f32, npmap::ndarray::Ix1>()?.sum(), 1000.0);
    /// # Ok(()) }
    /// ```
    pub fn advise_sequential(&self) {
        self.advise(Access::Sequential);
    }

    /// Maps every page of the file into the process now, on all threads, instead of
    /// one fault at a time during the first scan (`madvise(MADV_POPULATE_READ)` in
    /// 64 MiB pieces, Linux 5.14+; elsewhere it reads one byte per page). Pages that
    /// are not in the page cache are read from disk. Worth it before a scan of a large
    /// cached file; it changes no data.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// # npmap::save_npy(&path, &npmap::ndarray::Array1::<f32>::ones(100_000)).unwrap();
    /// // SAFETY: nothing modifies the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly) }.unwrap();
    /// f.prefault();
    /// let (resident, total) = f.residency().unwrap();
    /// assert_eq!(resident, total);
    /// ```
    pub fn prefault(&self) {
        use rayon::prelude::*;
        const PIECE: usize = 64 << 20;
        let len = self.map.bytes().len();
        let populate = |offset: usize| {
            let piece = PIECE.min(len - offset);
            let advice = memmap2::Advice::PopulateRead;
            let done = match &self.map {
                Mapping::Empty => Ok(()),
                Mapping::ReadOnly(m) => m.advise_range(advice, offset, piece),
                Mapping::Writable(m) => m.advise_range(advice, offset, piece),
            };
            if done.is_err() {
                // Older kernels: a read per page faults it in.
                let bytes = &self.map.bytes()[offset..offset + piece];
                let sum = bytes.iter().step_by(4096).fold(0u8, |a, &b| a ^ b);
                std::hint::black_box(sum);
            }
        };
        (0..len.div_ceil(PIECE))
            .into_par_iter()
            .for_each(|piece| populate(piece * PIECE));
    }

    /// How much of the data is in the page cache: `(resident pages, total pages)`,
    /// from `mincore(2)`. Reading it does not fault any page in. An array without
    /// elements has `(0, 0)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let (path, empty) = (dir.path().join("x.npy"), dir.path().join("e.npy"));
    /// use npmap::ndarray::Array1;
    /// npmap::save_npy(&path, &Array1::<f32>::ones(100_000)).unwrap();
    /// npmap::save_npy(&empty, &Array1::<f32>::ones(0)).unwrap();
    /// // SAFETY: nothing truncates or rewrites the files while they are mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly) }.unwrap();
    /// // SAFETY: as above.
    /// let e = unsafe { npmap::NpyFile::open(&empty, npmap::MmapMode::ReadOnly) }.unwrap();
    /// let (resident, total) = f.residency()?;
    /// assert!(total >= 400_000 / 65_536 && resident <= total);
    /// assert_eq!(e.residency()?, (0, 0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The operating system's error when `mincore(2)` or the page-size query fails; on
    /// platforms other than Unix always an error of kind
    /// [`Unsupported`](std::io::ErrorKind::Unsupported).
    pub fn residency(&self) -> std::io::Result<(usize, usize)> {
        let bytes = self.map.bytes();
        if bytes.is_empty() {
            return Ok((0, 0));
        }
        crate::fs::os::resident_pages(bytes)
    }
}

/// Bytes released at a time by [`NpyFile::drop_behind`].
const DROP_RUN: usize = 64 << 20;

/// The finished bytes of a scan not yet released: runs of adjacent ranges.
#[derive(Default)]
struct Runs {
    runs: Vec<Range<usize>>,
    finished: usize,
}

impl Runs {
    /// Adds `range` (merging it with a run it touches) and takes out the runs ready to
    /// release: those of at least [`DROP_RUN`] bytes, or every run once `len` bytes,
    /// the whole data, are finished.
    fn finish(&mut self, range: Range<usize>, len: usize) -> Vec<Range<usize>> {
        self.finished += range.len();
        let mut merged = range;
        self.runs.retain(|r| {
            let touches = r.start <= merged.end && merged.start <= r.end;
            if touches {
                merged = merged.start.min(r.start)..merged.end.max(r.end);
            }
            !touches
        });
        if self.finished >= len {
            self.runs.push(merged);
            return std::mem::take(&mut self.runs);
        }
        if merged.len() >= DROP_RUN {
            return vec![merged];
        }
        self.runs.push(merged);
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_ranges_are_released_in_runs() {
        let mb = 1 << 20;
        let len = 2 * DROP_RUN;
        let mut runs = Runs::default();
        assert!(runs.finish(0..mb, len).is_empty());
        assert!(runs.finish(2 * mb..3 * mb, len).is_empty());
        // The gap closes: one run of 3 MiB, not yet DROP_RUN.
        assert!(runs.finish(mb..2 * mb, len).is_empty());
        assert_eq!(runs.runs, vec![0..3 * mb]);
        assert_eq!(runs.finish(3 * mb..DROP_RUN, len), vec![0..DROP_RUN]);
        assert!(runs.runs.is_empty());
        // Two fronts: the second half's first part waits; the last range of the
        // whole data releases everything left.
        assert!(runs.finish(DROP_RUN..DROP_RUN + mb, len).is_empty());
        assert_eq!(runs.finish(DROP_RUN + mb..len, len), vec![DROP_RUN..len]);
    }
}

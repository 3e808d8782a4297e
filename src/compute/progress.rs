//! [`Progress`]: how far a running reduction is, for another thread to read.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many elements a running reduction has finished: the `*_with_progress`
/// methods of [`ParStats`](crate::ParStats) advance it as they go, and another thread reads it (for a
/// progress bar) with [`Progress::done`]. Counting costs one atomic add per leaf of
/// the reduction (about a megabyte of data), so it does not slow the scan.
///
/// ```
/// use npmap::ndarray::Array2;
/// use npmap::{ParStats, Progress};
/// let x = Array2::<f32>::ones((4096, 256));
/// let progress = Progress::new();
/// std::thread::scope(|s| {
///     let scan = s.spawn(|| x.par_moments_with_progress(&progress));
///     let seen = progress.done(); // anywhere from 0 to x.len() while it runs
///     assert!(seen <= x.len() as u64);
///     assert_eq!(scan.join().unwrap().count(), x.len() as u64);
/// });
/// assert_eq!(progress.done(), x.len() as u64);
/// ```
#[derive(Default)]
pub struct Progress<'a> {
    done: AtomicU64,
    on_finished: Option<Box<FinishedHook<'a>>>,
}

/// What [`Progress::on_finished`] calls.
type FinishedHook<'a> = dyn Fn(Range<usize>) + Send + Sync + 'a;

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("done", &self.done())
            .field("on_finished", &self.on_finished.is_some())
            .finish()
    }
}

impl Progress<'static> {
    /// A counter at zero.
    ///
    /// ```
    /// assert_eq!(npmap::Progress::new().done(), 0);
    /// ```
    pub fn new() -> Progress<'static> {
        Progress::default()
    }
}

impl<'a> Progress<'a> {
    /// A counter at zero that also tells `finished` each range of elements a
    /// whole-array reduction ([`par_moments`](crate::ParStats::par_moments) and
    /// [`par_nan_moments`](crate::ParStats::par_nan_moments) with progress) of a
    /// contiguous array is done with, as indices into the array's elements in memory
    /// order. Ranges arrive from several threads, in no particular order, each once;
    /// per-axis reductions and non-contiguous views only count. The hook that lets a
    /// scan release what it has read ([`NpyFile::drop_behind`](crate::NpyFile::drop_behind)).
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use npmap::ndarray::Array1;
    /// use npmap::{ParStats, Progress};
    /// let x = Array1::<f64>::ones(1_000_000);
    /// let seen = Mutex::new(Vec::new());
    /// let progress = Progress::on_finished(|range| seen.lock().unwrap().push(range));
    /// assert_eq!(x.par_moments_with_progress(&progress).sum(), 1e6);
    /// drop(progress);
    /// let mut ranges = seen.into_inner().unwrap();
    /// ranges.sort_by_key(|r| r.start);
    /// assert_eq!(ranges.first().unwrap().start, 0);
    /// assert_eq!(ranges.last().unwrap().end, 1_000_000);
    /// assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
    /// ```
    pub fn on_finished(finished: impl Fn(Range<usize>) + Send + Sync + 'a) -> Progress<'a> {
        Progress {
            done: AtomicU64::new(0),
            on_finished: Some(Box::new(finished)),
        }
    }

    /// The number of elements reduced so far (the array's length once done; NaNs a
    /// `nan_` reduction skips count as reduced).
    ///
    /// ```
    /// use npmap::{ParStats, Progress};
    /// let progress = Progress::new();
    /// npmap::ndarray::arr1(&[1u8, 2, 3]).par_moments_with_progress(&progress);
    /// assert_eq!(progress.done(), 3);
    /// ```
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub(super) fn add(&self, elements: usize) {
        self.done.fetch_add(elements as u64, Ordering::Relaxed);
    }

    /// Counts the elements `range` of the whole array's memory-order slice and tells
    /// the hook.
    pub(super) fn finished(&self, range: Range<usize>) {
        self.add(range.len());
        if let Some(hook) = &self.on_finished {
            hook(range);
        }
    }
}

//! [`Progress`]: how far a running reduction is, for another thread to read.

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
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
}

impl Progress {
    /// A counter at zero.
    ///
    /// ```
    /// assert_eq!(npmap::Progress::new().done(), 0);
    /// ```
    pub fn new() -> Progress {
        Progress::default()
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
}

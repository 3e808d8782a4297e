//! Write-behind for mappings filled faster than the disk takes them: a background
//! thread keeps starting write-back of the file's dirty pages in file order, so that
//! filling a file larger than memory streams to disk sequentially instead of in the
//! order the kernel happens to evict pages.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fs::os::start_writeback;
use crate::npy::NpyFile;

/// How often the background thread starts write-back.
const PERIOD: Duration = Duration::from_millis(25);

/// Writes a mapped file's dirty pages to disk in the background while it lives
/// ([`NpyFile::write_behind`]); dropping it stops the thread (call
/// [`NpyFile::flush`] afterwards to wait until everything is on disk).
#[derive(Debug)]
pub struct WriteBehind {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NpyFile {
    /// Starts writing this file's dirty pages to disk, in file order, every 25 ms
    /// while the returned guard lives: the way to fill (or create) a file larger than
    /// memory at the disk's sequential speed. Without it, once the dirty pages outgrow
    /// what the kernel keeps in memory, they are written in whatever order they are
    /// evicted. Only worth it for a [`MmapMode::ReadWrite`](crate::MmapMode) mapping
    /// that is being written; on systems without `sync_file_range` it does nothing.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("big.npy");
    /// // SAFETY: nothing else truncates or rewrites the new file while it is mapped.
    /// let mut x = unsafe { npmap::create_npy::<f32, _>(&path, (1000, 100))? };
    /// let behind = x.file().write_behind()?;
    /// npmap::par_fill_uniform(&mut x.view_mut()?, 7);
    /// drop(behind);
    /// x.flush()?;
    /// let back: npmap::ndarray::Array2<f32> = npmap::read_npy(&path)?;
    /// assert_eq!(back, x.view());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) (`action` `"open"` or `"start write-back
    /// thread"`) when the file cannot be opened again for the thread, or the thread
    /// cannot be started.
    pub fn write_behind(&self) -> Result<WriteBehind> {
        let file = File::open(self.path()).map_err(|e| Error::io(self.path(), "open", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("npmap-write-behind".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    if start_writeback(&file).is_err() {
                        return;
                    }
                    std::thread::park_timeout(PERIOD);
                }
            })
            .map_err(|e| Error::io(self.path(), "start write-back thread", e))?;
        Ok(WriteBehind {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for WriteBehind {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

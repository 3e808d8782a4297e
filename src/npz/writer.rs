//! [`NpzWriter`]: archives written as `np.savez` writes them, stored members aligned.

use std::sync::Arc;

use super::deflated::DeflatedArchive;
use super::sink::SinkState;
use super::*;

/// Where the members go: the zip crate's writer for stored members, npmap's own
/// container for deflated ones (see `deflated`).
enum Out {
    Stored(Box<ZipWriter<ArchiveSink<BufWriter<File>>>>),
    Deflated(DeflatedArchive),
}

/// Writes a `.npz` archive, atomically: members go to a temporary file beside the
/// target, which [`finish`](NpzWriter::finish) syncs and renames into place. Dropping
/// the writer without finishing removes the temporary file and leaves the target alone.
///
/// Each member is `name.npy`, byte-identical to what `np.save` writes for the array.
/// [`create`](NpzWriter::create) stores members uncompressed with their array data on
/// a 64-byte boundary of the archive (padding goes in the zip local header's extra
/// field), so [`NpzReader::map`] maps every member without copying and NumPy reads the
/// archive as usual; [`compressed`](NpzWriter::compressed) deflates them at
/// `np.savez_compressed`'s level, on all cores: each member in independent blocks of
/// 1 MiB deflated in parallel, which together form one deflate stream any zip reader
/// inflates; the blocks' sizes go in a central-directory extra field that zip readers
/// skip and [`NpzReader::read`] uses to inflate them in parallel too.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("train.npz");
/// let mut w = npmap::NpzWriter::create(&path)?;
/// w.add("X_train", &npmap::ndarray::Array2::<f32>::zeros((10, 3)))?;
/// w.finish()?;
/// assert_eq!(npmap::NpzReader::open(&path)?.names(), ["X_train"]);
/// # Ok(()) }
/// ```
pub struct NpzWriter {
    path: PathBuf,
    temp_path: PathBuf,
    /// `None` once finished.
    zip: Option<Out>,
    /// Shared with the sink under `zip`: stops it before an unfinished archive is
    /// dropped, and tells whether a write failed.
    sink: Arc<SinkState>,
    method: CompressionMethod,
}

impl std::fmt::Debug for NpzWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzWriter")
            .field("path", &self.path)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl NpzWriter {
    /// Starts an archive of stored (uncompressed), 64-byte-aligned members, as
    /// `np.savez` but mappable.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("a", &npmap::ndarray::arr1(&[1.0f64]))?;
    /// w.finish()?;
    /// let z = npmap::NpzReader::open(&path)?;
    /// // SAFETY: nothing truncates or rewrites the archive while it is mapped.
    /// assert_eq!(unsafe { z.map::<f64, npmap::ndarray::Ix1>("a")? }.view()[0], 1.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (`action` `"create temporary file"`) when the temporary file beside
    /// `path` cannot be created (a missing or read-only directory).
    pub fn create(path: impl AsRef<Path>) -> Result<NpzWriter> {
        NpzWriter::start(path.as_ref(), CompressionMethod::Stored)
    }

    /// Starts an archive of deflated members, as `np.savez_compressed`.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::compressed(&path)?;
    /// w.add("zeros", &npmap::ndarray::Array1::<f64>::zeros(100_000))?;
    /// w.finish()?;
    /// assert!(std::fs::metadata(&path).unwrap().len() < 10_000);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpzWriter::create`].
    pub fn compressed(path: impl AsRef<Path>) -> Result<NpzWriter> {
        NpzWriter::start(path.as_ref(), CompressionMethod::Deflated)
    }

    fn start(path: &Path, method: CompressionMethod) -> Result<NpzWriter> {
        let (temp_path, file) = create_temp_beside(path)?;
        let (out, state) = if method == CompressionMethod::Stored {
            let (sink, state) = ArchiveSink::new(BufWriter::with_capacity(COPY_BUFFER, file));
            (Out::Stored(Box::new(ZipWriter::new(sink))), state)
        } else {
            (Out::Deflated(DeflatedArchive::new(file)), Arc::default())
        };
        Ok(NpzWriter {
            path: path.to_path_buf(),
            temp_path,
            zip: Some(out),
            sink: state,
            method,
        })
    }

    /// Adds `array` as member `name.npy` (read back as `name`). Any layout: C- and
    /// F-contiguous arrays are written as they lie, others streamed in C order.
    /// A name used twice is refused.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let a = npmap::ndarray::arr2(&[[1u8, 2], [3, 4]]);
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("a", &a)?;
    /// w.add("a_t", &a.t())?;
    /// assert!(matches!(w.add("a", &a).as_ref().map_err(|e| e.kind()), Err(npmap::ErrorKind::Zip { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Zip`] when the archive already has a member `name.npy`.
    /// - [`ErrorKind::Io`] when writing the member to the temporary file fails, or
    ///   (`action` `"write archive"`) when an earlier write to it failed: the archive
    ///   can then only be dropped, or finished to get the first error again.
    pub fn add<A, D>(&mut self, name: &str, array: &ArrayRef<A, D>) -> Result<()>
    where
        A: Element,
        D: Dimension,
    {
        let path = member_path(&self.path, name);
        let Some(out) = self.zip.as_mut() else {
            unreachable!("only `finish` and `drop` take the zip writer");
        };
        let failed = match out {
            Out::Stored(_) => self.sink.failed(),
            Out::Deflated(archive) => archive.failed,
        };
        if failed {
            return Err(Error::io(
                &self.path,
                "write archive",
                io::Error::other("an earlier write to the archive failed; start a new NpzWriter"),
            ));
        }
        let data_len = (array.len() as u64).saturating_mul(std::mem::size_of::<A>() as u64);
        let full_name = format!("{name}{NPY_SUFFIX}");
        match out {
            Out::Stored(zip) => {
                let options = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Stored)
                    .unix_permissions(0o644)
                    .with_alignment(ARRAY_ALIGN as u16)
                    .large_file(needs_zip64(data_len));
                zip.start_file(full_name, options)
                    .map_err(|e| zip_write_error(&path, e))?;
                write_items_as(&mut **zip, array, &A::dtype()).map_err(|e| e.in_file(&path))
            }
            Out::Deflated(archive) => {
                if archive.has(&full_name) {
                    return Err(Error::at(
                        &path,
                        ErrorKind::Zip {
                            reason: format!("the archive already has a member {full_name:?}"),
                        },
                    ));
                }
                archive.member(&path, &full_name, needs_zip64(data_len), |w| {
                    write_items_as(w, array, &A::dtype()).map_err(|e| e.in_file(&path))
                })
            }
        }
    }

    /// Writes the central directory, syncs the file and renames it into place.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("a", &npmap::ndarray::arr1(&[1i8]))?;
    /// assert!(!path.exists());
    /// w.finish()?;
    /// assert!(path.exists());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (`action` `"write archive"`) or [`ErrorKind::Zip`] when the archive
    /// cannot be written — an earlier failed [`add`](NpzWriter::add) included: its first
    /// error is returned again, so a failed archive is never renamed into place — and
    /// [`ErrorKind::Io`] when the file cannot be synced (`action` `"sync"`) or renamed over
    /// the target (`"rename temporary file"`). Errors name the target path. The temporary
    /// file is then removed, the target is left as it was, and nothing is printed (the
    /// zip crate's own drop never finalizes a failed archive).
    pub fn finish(mut self) -> Result<()> {
        let Some(out) = self.zip.take() else {
            unreachable!("only `finish` and `drop` take the zip writer");
        };
        let temp = self.temp_path.clone();
        // Errors name the archive being written (the temporary file is ours, not the
        // caller's): `a.npz: write archive: No space left on device`.
        let path = self.path.clone();
        let file = match out {
            Out::Stored(zip) => zip
                .finish()
                .map_err(|e| zip_write_error(&path, e))
                .and_then(|sink| {
                    sink.into_inner()
                        .map_err(|e| Error::io(&path, "write archive", e))
                })
                .and_then(|buffered| {
                    buffered
                        .into_inner()
                        .map_err(|e| Error::io(&path, "write archive", e.into_error()))
                }),
            Out::Deflated(archive) if archive.failed => Err(Error::io(
                &path,
                "write archive",
                io::Error::other("an earlier write to the archive failed"),
            )),
            Out::Deflated(archive) => archive
                .finish()
                .map_err(|e| Error::io(&path, "write archive", e)),
        };
        let result = file
            .and_then(|file| file.sync_all().map_err(|e| Error::io(&path, "sync", e)))
            .and_then(|()| {
                std::fs::rename(&temp, &self.path)
                    .map_err(|e| Error::io(&self.path, "rename temporary file", e))
            });
        match result {
            Ok(()) => {
                sync_parent_dir(&self.path);
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                Err(e)
            }
        }
    }
}

impl Drop for NpzWriter {
    fn drop(&mut self) {
        if let Some(out) = self.zip.take() {
            // Unfinished: nothing more reaches the file, so the zip crate's own drop
            // finalizes into nothing and prints nothing.
            self.sink.abandon();
            drop(out);
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

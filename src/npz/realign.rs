//! [`realign`]: rewrite an archive so that every member can be mapped.

use super::*;

/// Rewrites archive `src` (as NumPy writes it, stored or deflated) to `dst` with every
/// member stored and its array data on a 64-byte boundary, so that
/// [`NpzReader::map`] maps each one. Members are streamed through a bounded buffer,
/// CRC-checked on the way; array members keep their bytes (a header padded to fewer
/// than 64 bytes is re-encoded as `np.save` writes it today), other members are copied
/// as they are. `dst` is written atomically and may be `src`.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let (src, dst) = (dir.path().join("c.npz"), dir.path().join("a.npz"));
/// use npmap::ndarray::{Array2, Ix2};
/// use npmap::{ErrorKind, NpzReader, NpzWriter};
/// let mut w = NpzWriter::compressed(&src)?;
/// w.add("X", &Array2::<f64>::eye(3))?;
/// w.finish()?;
/// let packed = NpzReader::open(&src)?;
/// // SAFETY: nothing is mapped: a deflated member is refused.
/// let refused = unsafe { packed.map::<f64, Ix2>("X") };
/// assert!(matches!(refused.as_ref().map_err(|e| e.kind()), Err(ErrorKind::MemberCompressed { .. })));
///
/// npmap::npz::realign(&src, &dst)?;
/// let z = NpzReader::open(&dst)?;
/// // SAFETY: nothing truncates or rewrites the archive while it is mapped.
/// let x = unsafe { z.map::<f64, Ix2>("X")? };
/// assert_eq!(x.view().diag().sum(), 3.0);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - The errors of [`NpzReader::open`] for `src`.
/// - For each member, the errors of reading it: [`ErrorKind::Zip`] (encrypted, unsupported
///   compression), the [`Header::read_from`] errors and [`ErrorKind::MemberSize`] for an
///   array member with a bad header, [`ErrorKind::Truncated`], [`ErrorKind::MemberTooLarge`]
///   and [`ErrorKind::Crc`] for bytes that are not what the archive declares.
/// - [`ErrorKind::Io`] or [`ErrorKind::Zip`] when writing `dst` fails (its temporary file
///   cannot be created, written, synced or renamed into place); `dst` is then left as
///   it was.
pub fn realign(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<()> {
    let reader = NpzReader::open(src)?;
    let dst = dst.as_ref();
    atomic_write(dst, Durability::Synced, |file| {
        let (sink, state) = ArchiveSink::new(BufWriter::with_capacity(COPY_BUFFER, file));
        let mut zip = ZipWriter::new(sink);
        for member in &reader.members {
            if let Err(e) = reader.copy_aligned(member, &mut zip, dst) {
                // Dropped unfinished: no finalizing, no message on stderr.
                state.abandon();
                return Err(e);
            }
        }
        let sink = zip.finish().map_err(|e| zip_write_error(dst, e))?;
        let buffered = sink
            .into_inner()
            .map_err(|e| Error::io(dst, "write archive", e))?;
        buffered
            .into_inner()
            .map_err(|e| Error::io(dst, "write archive", e.into_error()))?;
        Ok(())
    })
}

impl NpzReader {
    /// Copies one member into `zip` stored and with its array data 64-byte aligned.
    pub(super) fn copy_aligned<W: Write + io::Seek>(
        &self,
        member: &Member,
        zip: &mut ZipWriter<W>,
        dst: &Path,
    ) -> Result<()> {
        let path = member_path(&self.path, &member.display);
        let out_path = member_path(dst, &member.display);
        let mut stream = self.stream(member, &path)?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .unix_permissions(0o644)
            .with_alignment(ARRAY_ALIGN as u16)
            .large_file(needs_zip64(member.size));
        let mut buffer = vec![0u8; COPY_BUFFER];
        let data_len = if member.name.ends_with(NPY_SUFFIX) {
            let mut recorder = Recorder {
                inner: &mut stream,
                bytes: Vec::new(),
            };
            let header =
                Header::read_from(&mut recorder, None, &self.options).map_err(|e| e.in_file(&path));
            let recorded = recorder.bytes;
            let header = header.map_err(|e| stream.overrun(member, &path).unwrap_or(e))?;
            let expected = header.data_offset + header.data_len();
            if expected != member.size {
                return Err(Error::at(
                    path,
                    ErrorKind::MemberSize {
                        declared: member.size,
                        expected,
                    },
                ));
            }
            // NumPy pads headers to 64 bytes; older writers used 16: re-encode those.
            let head = if header.data_offset % ARRAY_ALIGN as u64 == 0 {
                recorded
            } else {
                Header::encode(&header.dtype, header.fortran_order, &header.shape)
            };
            zip.start_file(&member.name, options)
                .map_err(|e| zip_write_error(&out_path, e))?;
            zip.write_all(&head)
                .map_err(|e| Error::io(&out_path, "write", e))?;
            header.data_len()
        } else {
            zip.start_file(&member.name, options)
                .map_err(|e| zip_write_error(&out_path, e))?;
            member.size
        };
        let mut left = data_len;
        while left > 0 {
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let got = match stream.read(&mut buffer[..want]) {
                Ok(0) => {
                    return Err(Error::at(
                        path,
                        ErrorKind::Truncated {
                            what: "archive member data",
                            offset: member.data_start,
                            expected: member.size,
                            found: stream.count,
                        },
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(&path, "read member", e)),
            };
            zip.write_all(&buffer[..got])
                .map_err(|e| Error::io(&out_path, "write", e))?;
            left -= got as u64;
        }
        stream.finish(member, &path)
    }
}

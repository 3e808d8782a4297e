//! [`NpzReader`]: the members of an archive, read, mapped or borrowed.

use std::collections::HashMap;

use super::*;

/// A `.npz` archive opened for reading.
///
/// Opening reads the zip central directory only; each member is read, mapped or
/// borrowed on demand. [`read`](NpzReader::read) copies any member (stored or
/// deflated, any byte order) and checks its CRC-32; [`map`](NpzReader::map) maps a
/// stored, aligned member without copying, as `np.load(path, mmap_mode='r')` cannot.
/// Archives that NumPy wrote are seldom aligned: [`realign`] fixes that in one pass.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # let mut w = npmap::NpzWriter::compressed(&path)?;
/// # w.add("a", &npmap::ndarray::arr1(&[1.5f64, 2.5]))?;
/// # w.finish()?;
/// let z = npmap::NpzReader::open(&path)?;
/// let a: npmap::ndarray::Array1<f64> = z.read("a")?;
/// assert_eq!(a.to_vec(), [1.5, 2.5]);
/// # Ok(()) }
/// ```
pub struct NpzReader {
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) members: Vec<Member>,
    /// Index in `members` of each name (the first entry, when a name repeats), so a
    /// lookup costs O(1) and describing every member O(n), not O(n²).
    pub(super) by_name: HashMap<String, usize>,
    pub(super) options: HeaderOptions,
    /// A read-only mapping of the whole archive, made by the first borrowing `cow`.
    pub(super) whole: OnceLock<Mmap>,
}

impl std::fmt::Debug for NpzReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzReader")
            .field("path", &self.path)
            .field("members", &self.names())
            .finish_non_exhaustive()
    }
}

impl NpzReader {
    /// Opens `path` and reads its central directory, checking that every member's
    /// bytes lie inside the file.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let e = npmap::NpzReader::open(dir.path().join("missing.npz")).unwrap_err();
    /// assert!(matches!(e.kind(), npmap::ErrorKind::Io { action: "open", .. }));
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Io`] when the file cannot be opened, its size read (`action` `"stat"`)
    ///   or its central directory read (`"read archive"`).
    /// - [`ErrorKind::Zip`] when the file is not a zip archive npmap can read.
    /// - [`ErrorKind::Truncated`] (`what` `"archive member data"`, path `archive.npz:name`)
    ///   when a member's bytes run past the end of the file.
    /// - [`ErrorKind::OverlappingMembers`] when two members' bytes overlap (a crafted
    ///   archive that reads one compressed member many times over).
    pub fn open(path: impl AsRef<Path>) -> Result<NpzReader> {
        NpzReader::open_with(path, &HeaderOptions::default())
    }

    /// [`NpzReader::open`] with explicit limits for the members' `.npy` headers.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut w = npmap::NpzWriter::create(&path)?;
    /// # w.add("a", &npmap::ndarray::arr1(&[1u8]))?;
    /// # w.finish()?;
    /// let options = npmap::HeaderOptions::new().max_header_size(100_000);
    /// let z = npmap::NpzReader::open_with(&path, &options)?;
    /// assert_eq!(z.header("a")?.shape, [1]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpzReader::open`]; `options` are applied later, when a member's header is
    /// read (a header over the limit is then an [`ErrorKind::HeaderTooLarge`]).
    pub fn open_with(path: impl AsRef<Path>, options: &HeaderOptions) -> Result<NpzReader> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
        let file_len = file
            .metadata()
            .map_err(|e| Error::io(path, "stat", e))?
            .len();
        let mut archive = ZipArchive::new(&file).map_err(|e| zip_error(path, e))?;
        let mut members = Vec::with_capacity(archive.len());
        for index in 0..archive.len() {
            let entry = archive
                .by_index_raw(index)
                .map_err(|e| zip_error(path, e))?;
            let name = entry.name().map_err(|e| zip_error(path, e))?.into_owned();
            let display = name.strip_suffix(NPY_SUFFIX).unwrap_or(&name).to_string();
            let method = match entry.compression() {
                CompressionMethod::Stored => Method::Stored,
                CompressionMethod::Deflated => Method::Deflated,
                other => Method::Other(other.to_string()),
            };
            let blocks = match method {
                Method::Deflated => inflate::index_at(&file, entry.central_header_start()),
                _ => None,
            };
            let member = Member {
                blocks,
                method,
                encrypted: entry.encrypted(),
                compressed_size: entry.compressed_size(),
                size: entry.size(),
                crc32: entry.crc32(),
                data_start: entry.data_start().ok_or_else(|| {
                    Error::at(
                        path,
                        ErrorKind::Zip {
                            reason: format!("member {name:?}: the start of its data is unknown"),
                        },
                    )
                })?,
                header_start: entry.header_start(),
                name,
                display,
            };
            let available = file_len.saturating_sub(member.data_start);
            if available < member.compressed_size {
                return Err(Error::at(
                    member_path(path, &member.display),
                    ErrorKind::Truncated {
                        what: "archive member data",
                        offset: member.data_start,
                        expected: member.compressed_size,
                        found: available,
                    },
                ));
            }
            members.push(member);
        }
        check_overlaps(path, &members)?;
        let mut by_name = HashMap::with_capacity(members.len());
        for (index, member) in members.iter().enumerate() {
            by_name.entry(member.name.clone()).or_insert(index);
        }
        Ok(NpzReader {
            path: path.to_path_buf(),
            file,
            members,
            by_name,
            options: options.clone(),
            whole: OnceLock::new(),
        })
    }

    /// The archive's path.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npmap::NpzWriter::create(&path)?.finish()?;
    /// assert_eq!(npmap::NpzReader::open(&path)?.path(), path);
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The members' names in archive order: without the `.npy` suffix for array
    /// members (as `np.load(path).files`), in full for any other member.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("b", &npmap::ndarray::arr1(&[1u8]))?;
    /// w.add("a", &npmap::ndarray::arr1(&[2u8]))?;
    /// w.finish()?;
    /// assert_eq!(npmap::NpzReader::open(&path)?.names(), ["b", "a"]);
    /// # Ok(()) }
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.display.clone()).collect()
    }

    /// The `.npy` header of member `name`, read without reading its data. Also checks
    /// that the size the archive declares for the member is what the header needs.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut w = npmap::NpzWriter::compressed(&path)?;
    /// # w.add("X", &npmap::ndarray::Array2::<f32>::zeros((3, 4)))?;
    /// # w.finish()?;
    /// let h = npmap::NpzReader::open(&path)?.header("X")?;
    /// assert_eq!((h.dtype.descr(), h.shape), ("<f4".to_string(), vec![3, 4]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::MemberNotFound`] when the archive has neither `name.npy` nor `name`.
    /// - [`ErrorKind::Zip`] when the member is encrypted, uses a compression method other
    ///   than stored or deflate, or is stored with contradicting sizes.
    /// - The errors of [`Header::read_from`] for a member that is not a well-formed
    ///   `.npy` (offsets count from the start of the member), and [`ErrorKind::Io`] when
    ///   reading the archive fails.
    /// - [`ErrorKind::MemberSize`] when the size the archive declares for the member is not
    ///   what its header needs, and [`ErrorKind::MemberTooLarge`] when a compressed header
    ///   inflates past that size.
    pub fn header(&self, name: &str) -> Result<Header> {
        let member = self.member(name)?;
        self.member_header(member, &member_path(&self.path, &member.display))
    }

    /// Reads member `name` into memory: stored or deflated, any byte order, the
    /// member's memory order kept. The whole member is checked against its CRC-32 and
    /// the sizes the archive declares; a member that inflates past them is refused
    /// after reading one byte too many, so memory stays bounded.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let a = npmap::ndarray::arr2(&[[1i32, 2], [3, 4]]);
    /// let mut w = npmap::NpzWriter::compressed(&path)?;
    /// w.add("a", &a)?;
    /// w.finish()?;
    /// let z = npmap::NpzReader::open(&path)?;
    /// assert_eq!(z.read::<i32, npmap::ndarray::Ix2>("a")?, a);
    /// assert!(matches!(z.read::<f32, npmap::ndarray::Ix2>("a").as_ref().map_err(|e| e.kind()), Err(npmap::ErrorKind::DTypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::MemberNotFound`] when the archive has neither `name.npy` nor `name`.
    /// - [`ErrorKind::Zip`] when the member is encrypted, uses a compression method other
    ///   than stored or deflate, or is stored with contradicting sizes.
    /// - The errors of [`Header::read_from`] for a member that is not a well-formed
    ///   `.npy` (offsets count from the start of the member), and [`ErrorKind::Io`] when
    ///   reading the archive fails.
    /// - [`ErrorKind::MemberSize`] when the size the archive declares for the member is not
    ///   what its header needs, and [`ErrorKind::MemberTooLarge`] when a compressed header
    ///   inflates past that size.
    /// - [`ErrorKind::DTypeMismatch`] when the member's dtype is not `A`'s (in either byte
    ///   order), [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and
    ///   the member has another, [`ErrorKind::InvalidBool`] for a `bool` byte other than 0
    ///   or 1.
    /// - [`ErrorKind::Truncated`] when the member ends before its data does,
    ///   [`ErrorKind::MemberTooLarge`] when it inflates past its declared size, and
    ///   [`ErrorKind::Crc`] when its CRC-32 is not the one the archive declares.
    /// - [`ErrorKind::OutOfMemory`] when the data that arrives no longer fits in memory
    ///   (a deflated member is read in growing steps, so a member that claims more than
    ///   it holds costs what it holds).
    pub fn read<A: Element, D: Dimension>(&self, name: &str) -> Result<Array<A, D>> {
        let member = self.member(name)?;
        self.read_member(member)
    }

    /// Reads the members `names` into memory, in parallel (one member per task on
    /// rayon's pool, each checked as [`read`](NpzReader::read) checks it), and returns
    /// the arrays in the order of `names`. Every name is looked up before anything is
    /// read.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// use npmap::ndarray::{Array1, Ix1};
    /// let mut w = npmap::NpzWriter::compressed(&path)?;
    /// w.add("x", &Array1::<f32>::from_elem(1000, 0.5))?;
    /// w.add("y", &Array1::<f32>::from_elem(10, 2.0))?;
    /// w.finish()?;
    /// let z = npmap::NpzReader::open(&path)?;
    /// let [x, y]: [Array1<f32>; 2] = z.read_many::<f32, Ix1>(&["x", "y"])?.try_into().unwrap();
    /// assert_eq!((x.sum(), y.sum()), (500.0, 20.0));
    /// let names = z.names();
    /// let all = z.read_many::<f32, Ix1>(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
    /// assert_eq!(all.len(), 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`NpzReader::read`], for the first failing member in the order of
    /// `names` (a missing name is reported before any member is read).
    pub fn read_many<A: Element, D: Dimension>(&self, names: &[&str]) -> Result<Vec<Array<A, D>>> {
        use rayon::prelude::*;
        let members = names
            .iter()
            .map(|name| self.member(name))
            .collect::<Result<Vec<_>>>()?;
        members
            .into_par_iter()
            .map(|member| self.read_member(member))
            .collect()
    }

    /// Maps stored member `name` as an array of `A` with `D` dimensions, without
    /// copying. The member must be stored (not compressed), in native byte order, and
    /// its data must start at an offset aligned for `A` (archives from
    /// [`NpzWriter::create`] and [`realign`] always are). The CRC-32 is not checked:
    /// that would read every byte.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("X", &npmap::ndarray::Array2::<f64>::from_elem((1000, 10), 0.25))?;
    /// w.finish()?;
    /// let z = npmap::NpzReader::open(&path)?;
    /// // SAFETY: nothing truncates or rewrites the archive while it is mapped.
    /// let x = unsafe { z.map::<f64, npmap::ndarray::Ix2>("X")? };
    /// assert_eq!(x.view().sum(), 2500.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// The archive must not be truncated or rewritten in place while the array lives:
    /// see the [contract on `NpyFile`](NpyFile#safety).
    ///
    /// # Errors
    ///
    /// - The errors of [`NpzReader::header`] for a missing or malformed member.
    /// - [`ErrorKind::MemberCompressed`] when the member is deflated: use
    ///   [`read`](NpzReader::read) or [`cow`](NpzReader::cow), or rewrite the archive
    ///   with [`realign`].
    /// - [`ErrorKind::DTypeMismatch`] when the member's dtype is not `A`'s,
    ///   [`ErrorKind::NonNativeByteOrder`] when it is in the other byte order,
    ///   [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the
    ///   member has another.
    /// - [`ErrorKind::MemberMisaligned`] when the array data does not start at an offset
    ///   of the archive aligned for `A`.
    /// - [`ErrorKind::InvalidBool`] for a `bool` byte other than 0 or 1, and [`ErrorKind::Io`]
    ///   (`action` `"map"`) when the mapping fails.
    pub unsafe fn map<A: Element, D: Dimension>(&self, name: &str) -> Result<NpyArray<A, D>> {
        let member = self.member(name)?;
        let path = member_path(&self.path, &member.display);
        let header = self.member_header(member, &path)?;
        self.check_mappable::<A, D>(member, &path, &header)?;
        // SAFETY: `open` checked that the archive holds `compressed_size` bytes from
        // `data_start`; `check_mappable` that the member is stored, so that size is the
        // declared size, which `member_header` checked is header plus data. The caller
        // keeps the archive from being truncated while mapped.
        let file = unsafe {
            NpyFile::map_embedded(
                &self.file,
                path,
                header,
                member.data_start,
                MmapMode::ReadOnly,
            )
        }?;
        file.into_array()
    }

    /// Member `name` as `A`: borrowed from a read-only mapping of the archive when the
    /// member is stored, aligned and in native byte order (no CRC check, O(1) apart
    /// from validating `bool` bytes), otherwise read and checked as [`read`](Self::read) does.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let (stored, packed) = (dir.path().join("s.npz"), dir.path().join("c.npz"));
    /// use npmap::ndarray::{arr1, Ix1};
    /// use npmap::{NpzReader, NpzWriter};
    /// let a = arr1(&[1u16, 2, 3]);
    /// for mut w in [NpzWriter::create(&stored)?, NpzWriter::compressed(&packed)?] {
    ///     w.add("a", &a)?;
    ///     w.finish()?;
    /// }
    /// let (s, c) = (NpzReader::open(&stored)?, NpzReader::open(&packed)?);
    /// // SAFETY: nothing truncates or rewrites the archives while they are mapped.
    /// let (vs, vc) = unsafe { (s.cow::<u16, Ix1>("a")?, c.cow::<u16, Ix1>("a")?) };
    /// assert!(vs.is_view() && vc.is_owned());
    /// assert_eq!((vs.to_vec(), vc.to_vec()), (vec![1, 2, 3], vec![1, 2, 3]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// A borrowed result points into the archive's pages: the archive must not be
    /// truncated or rewritten in place while it lives (the
    /// [contract on `NpyFile`](NpyFile#safety)).
    ///
    /// # Errors
    ///
    /// The errors of [`NpzReader::read`] (a copied member is checked as `read` checks
    /// it; a borrowed one has no CRC check and so no [`ErrorKind::Crc`]), and
    /// [`ErrorKind::Io`] (`action` `"map"`) when mapping the archive fails.
    pub unsafe fn cow<A: Element, D: Dimension>(&self, name: &str) -> Result<CowArray<'_, A, D>> {
        let member = self.member(name)?;
        let path = member_path(&self.path, &member.display);
        let header = self.member_header(member, &path)?;
        let offset = member.data_start.saturating_add(header.data_offset);
        let in_place = member.method == Method::Stored
            && match_element::<A>(&header.dtype) == ElementMatch::Native
            && offset % std::mem::align_of::<A>() as u64 == 0;
        if !in_place {
            return self.read_member(member).map(CowArray::from);
        }
        // SAFETY: forwarded to the caller.
        let whole = unsafe { self.whole_archive() }?;
        let bytes = crate::npy::bytes::data_at(whole, offset, &header);
        bytes
            .and_then(|bytes| {
                crate::npy::bytes::cow(&header, bytes, crate::npy::bytes::origin(&header))
            })
            .map_err(|e| e.in_file(&path))
    }

    /// How member `name` is stored: compression, sizes, and where its array data
    /// starts in the archive (which decides whether [`map`](NpzReader::map) can
    /// view it in place). As in every method taking a member name, `name` designates
    /// the member `name.npy` first, then `name` itself.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut w = npmap::NpzWriter::create(&path)?;
    /// w.add("x", &npmap::ndarray::arr1(&[1.0f64, 2.0]))?;
    /// w.finish()?;
    /// let info = npmap::NpzReader::open(&path)?.member_info("x")?;
    /// assert!(!info.compressed);
    /// assert_eq!(info.data_offset % 64, 0);
    /// assert_eq!(info.header.shape, [2]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`NpzReader::header`].
    pub fn member_info(&self, name: &str) -> Result<MemberInfo> {
        let member = self.member(name)?;
        let header = self.member_header(member, &member_path(&self.path, &member.display))?;
        Ok(MemberInfo {
            name: member.display.clone(),
            compressed: member.method != Method::Stored,
            stored_size: member.compressed_size,
            size: member.size,
            data_offset: member.data_start + header.data_offset,
            header,
        })
    }

    /// The member that `name` designates: `name.npy` first, then `name` itself.
    pub(super) fn member(&self, name: &str) -> Result<&Member> {
        let with_suffix = format!("{name}{NPY_SUFFIX}");
        self.by_name
            .get(&with_suffix)
            .or_else(|| self.by_name.get(name))
            .map(|&index| &self.members[index])
            .ok_or_else(|| {
                Error::at(
                    self.path.clone(),
                    ErrorKind::MemberNotFound {
                        name: name.to_string(),
                        available: self.names(),
                    },
                )
            })
    }

    /// Parses the member's `.npy` header and checks it against the declared size.
    pub(super) fn member_header(&self, member: &Member, path: &Path) -> Result<Header> {
        let mut stream = self.stream(member, path)?;
        let header = Header::read_from(&mut stream, None, &self.options)
            .map_err(|e| e.in_file(path))
            .map_err(|e| stream.overrun(member, path).unwrap_or(e))?;
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
        Ok(header)
    }

    pub(super) fn read_member<A: Element, D: Dimension>(
        &self,
        member: &Member,
    ) -> Result<Array<A, D>> {
        let path = member_path(&self.path, &member.display);
        // The sizes agree before anything is allocated.
        let header = self.member_header(member, &path)?;
        if let Some(result) = self.read_blocks(member, &header, &path) {
            return result;
        }
        if let Some(result) = self.read_split(member, &header, &path) {
            return result;
        }
        let mut stream = self.stream(member, &path)?;
        // A stored member's declared size is backed by bytes of the file (checked at
        // open), so it can be allocated at once; a deflated member's is only a claim,
        // so its data is read in bounded steps and memory follows what inflates.
        let known_len = (member.method == Method::Stored).then_some(member.size);
        match read_array::<A, D>(&mut stream, known_len, &self.options)
            .map_err(|e| e.in_file(&path))
        {
            Ok(array) => {
                stream.finish(member, &path)?;
                Ok(array)
            }
            Err(e) => Err(stream.overrun(member, &path).unwrap_or(e)),
        }
    }

    /// Refuses members that cannot be viewed in place as `A` with `D` dimensions.
    pub(super) fn check_mappable<A: Element, D: Dimension>(
        &self,
        member: &Member,
        path: &Path,
        header: &Header,
    ) -> Result<()> {
        if member.method != Method::Stored {
            return Err(Error::at(
                path,
                ErrorKind::MemberCompressed {
                    method: method_name(&member.method),
                    offset: member.data_start,
                },
            ));
        }
        crate::npy::bytes::check_native::<A, D>(header).map_err(|e| e.in_file(path))?;
        let offset = member.data_start + header.data_offset;
        let align = std::mem::align_of::<A>();
        if header.data_len() > 0 && !offset.is_multiple_of(align as u64) {
            return Err(Error::at(
                path,
                ErrorKind::MemberMisaligned {
                    offset,
                    align,
                    type_name: A::NAME,
                },
            ));
        }
        Ok(())
    }

    /// The read-only mapping of the whole archive, made once.
    ///
    /// # Safety
    /// The archive must not be truncated while `self` lives.
    pub(super) unsafe fn whole_archive(&self) -> Result<&Mmap> {
        if let Some(map) = self.whole.get() {
            return Ok(map);
        }
        // SAFETY: the caller keeps the archive from being truncated while mapped.
        let map = unsafe { crate::npy::map_whole_read_only(&self.file, &self.path) }?;
        Ok(self.whole.get_or_init(|| map))
    }

    /// The member's uncompressed bytes, at most one past the declared size, with their
    /// count and CRC-32 kept.
    pub(super) fn stream(&self, member: &Member, path: &Path) -> Result<MemberStream<'_>> {
        if member.encrypted {
            return Err(Error::at(
                path,
                ErrorKind::Zip {
                    reason: "member is encrypted: expected a plain member".into(),
                },
            ));
        }
        let raw = Span {
            file: &self.file,
            pos: member.data_start,
            end: member.data_start + member.compressed_size,
        };
        let inner = match &member.method {
            Method::Stored if member.compressed_size != member.size => {
                return Err(Error::at(
                    path,
                    ErrorKind::Zip {
                        reason: format!(
                            "stored member declares {} bytes uncompressed but {} stored",
                            member.size, member.compressed_size
                        ),
                    },
                ));
            }
            Method::Stored => Inner::Stored(raw),
            Method::Deflated => Inner::Deflated(Box::new(flate2::bufread::DeflateDecoder::new(
                BufReader::with_capacity(INFLATE_BUFFER, raw),
            ))),
            Method::Other(method) => {
                return Err(Error::at(
                    path,
                    ErrorKind::Zip {
                        reason: format!(
                            "compression method {method} is not supported: expected stored or deflated"
                        ),
                    },
                ));
            }
        };
        Ok(MemberStream {
            inner: inner.take(member.size.saturating_add(1)),
            crc: crc32fast::Hasher::new(),
            count: 0,
        })
    }
}

/// Refuses an archive whose members' bytes overlap: each entry, from its local header
/// to the end of its data, must end before the next one starts. Zip writers never
/// overlap entries; a crafted archive does, to make one compressed member cost its
/// inflation many times over (NumPy refuses those too: their local names do not
/// match). Sorting by start makes the check O(n log n).
fn check_overlaps(path: &Path, members: &[Member]) -> Result<()> {
    let mut order: Vec<&Member> = members.iter().collect();
    order.sort_by_key(|m| (m.header_start, m.data_start));
    for pair in order.windows(2) {
        let (first, second) = (pair[0], pair[1]);
        let first_end = first.data_start.saturating_add(first.compressed_size);
        if second.header_start < first_end {
            return Err(Error::at(
                path,
                ErrorKind::OverlappingMembers {
                    first: first.display.clone(),
                    second: second.display.clone(),
                    offset: second.header_start,
                },
            ));
        }
    }
    Ok(())
}

//! The crate's one error type.
//!
//! May import: nothing else of the crate.
//!
//! An [`Error`] is an [`ErrorKind`] — what went wrong: expected vs found, and the
//! byte `offset` where it is about bytes of a file — plus the file it is about,
//! when there is one. The format layer (`format/`) returns kinds alone; the layer
//! that opened the file attaches its path, once.

use std::fmt;
use std::path::{Path, PathBuf};

mod kind;

pub use kind::{ErrorKind, IoError};

/// A `Result` whose error is [`Error`].
///
/// The error type is a defaulted parameter, so `npmap::Result<T>` is
/// `std::result::Result<T, npmap::Error>` and `?` passes npmap's errors on from a
/// function of your own.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("X.npy");
/// use npmap::ndarray::Array2;
///
/// fn row_count(path: &std::path::Path) -> npmap::Result<usize> {
///     let header = npmap::read_npy_header(path)?;
///     Ok(header.shape[0])
/// }
///
/// npmap::save_npy(&path, &Array2::<f32>::zeros((5, 2)))?;
/// assert_eq!(row_count(&path)?, 5);
/// # Ok(()) }
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong opening, mapping, reading or writing a NumPy file:
/// what went wrong ([`Error::kind`]) and the file it is about ([`Error::path`]).
///
/// The message (`Display`) is the path, a colon, and the kind's message, which
/// states what was expected and what was found. Errors from data that is not a
/// named file (a reader, a writer, a buffer, [`DType::parse`](crate::DType::parse))
/// carry no path, and their message is the kind's alone.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("x.npy");
/// use npmap::ndarray::{Array1, Ix1};
/// use npmap::ErrorKind;
///
/// npmap::save_npy(&path, &Array1::<f64>::zeros(3))?;
/// let e = npmap::read_npy::<f32, Ix1>(&path).unwrap_err();
/// assert_eq!(e.path(), Some(path.as_path()));
/// assert_eq!(
///     e.kind(),
///     &ErrorKind::DTypeMismatch { found: "<f8".into(), found_name: "float64".into(), expected: "f32" }
/// );
///
/// // I/O errors keep the OS error as their `source`.
/// let e = npmap::read_npy_header(dir.path().join("missing.npy")).unwrap_err();
/// let ErrorKind::Io { action, source } = e.kind() else { panic!("{e}") };
/// assert_eq!((*action, source.kind()), ("open", std::io::ErrorKind::NotFound));
/// assert!(e.to_string().contains("missing.npy: open: "));
/// # Ok(()) }
/// ```
#[derive(Debug, PartialEq)]
pub struct Error {
    path: Option<PathBuf>,
    kind: Box<ErrorKind>,
}

impl Error {
    /// An error about the file at `path`.
    pub(crate) fn at(path: impl Into<PathBuf>, kind: ErrorKind) -> Self {
        Error {
            path: Some(path.into()),
            kind: Box::new(kind),
        }
    }

    /// Shorthand for an [`ErrorKind::Io`] about the file at `path`.
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        source: std::io::Error,
    ) -> Self {
        Error::at(path, ErrorKind::io(action, source))
    }

    /// An [`ErrorKind::Io`] about data that is not a named file (a reader or writer).
    pub(crate) fn stream_io(action: &'static str, source: std::io::Error) -> Self {
        Error::from(ErrorKind::io(action, source))
    }

    /// This error, about the file at `path` unless it already names a file: the one
    /// place where a layer that knows the file labels what a lower layer found.
    pub(crate) fn in_file(mut self, path: impl Into<PathBuf>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.into());
        }
        self
    }

    /// The file this error is about: the path given to the call, or
    /// `archive.npz:name` for a member of an archive; `None` for data that is not a
    /// named file (a reader, a writer, a buffer, a descr string).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("missing.npy");
    /// let e = npmap::read_npy_header(&path).unwrap_err();
    /// assert_eq!(e.path(), Some(path.as_path()));
    /// let e = npmap::read_npy_from::<f32, npmap::ndarray::Ix1>(&b"not npy"[..]).unwrap_err();
    /// assert_eq!(e.path(), None);
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// What went wrong.
    ///
    /// ```
    /// use npmap::ErrorKind;
    /// let e = npmap::read_npy_from::<f32, npmap::ndarray::Ix1>(&b"not npy"[..]).unwrap_err();
    /// assert_eq!(e.kind(), &ErrorKind::BadMagic { found: b"not np".to_vec() });
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// What went wrong, by value.
    ///
    /// ```
    /// use npmap::ErrorKind;
    /// let e = npmap::DType::parse("<f16").unwrap_err();
    /// let ErrorKind::UnsupportedDType { descr, .. } = e.into_kind() else { unreachable!() };
    /// assert_eq!(descr, "<f16");
    /// ```
    pub fn into_kind(self) -> ErrorKind {
        *self.kind
    }
}

impl From<ErrorKind> for Error {
    /// An error about data that is not a named file.
    fn from(kind: ErrorKind) -> Self {
        Error {
            path: None,
            kind: Box::new(kind),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}", path.display(), self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.kind)
    }
}

//! A numeric array named on the command line: a `.npy` file (mapped), or an
//! `ARCHIVE.npz:MEMBER`.

use ndarray::{CowArray, IxDyn};
use npmap::{Element, Header, MmapMode, NpyFile};

use crate::CliResult;

/// An opened array source.
pub(crate) enum Source {
    Npy(NpyFile),
}

impl Source {
    /// Opens `spec`: `FILE.npy`, or `FILE.npz:MEMBER`.
    pub(crate) fn open(spec: &str) -> CliResult<Source> {
        // SAFETY: the mapping is read-only and lives only while the command runs.
        let file = unsafe { NpyFile::open(spec, MmapMode::ReadOnly) }?;
        file.advise_sequential();
        Ok(Source::Npy(file))
    }

    pub(crate) fn header(&self) -> &Header {
        match self {
            Source::Npy(f) => f.header(),
        }
    }

    /// The data as `T`: borrowed from the mapping when possible, else a copy.
    pub(crate) fn cow<T: Element>(&self) -> CliResult<CowArray<'_, T, IxDyn>> {
        match self {
            Source::Npy(f) => Ok(f.cow::<T, IxDyn>()?),
        }
    }
}

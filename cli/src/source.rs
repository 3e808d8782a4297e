//! A numeric array named on the command line: a `.npy` file (mapped), or an
//! `ARCHIVE.npz:MEMBER`.

use std::path::{Path, PathBuf};

use npmap::ndarray::{CowArray, IxDyn};
use npmap::{Element, Header, MmapMode, NpyFile, NpzReader};

use crate::CliResult;

/// An opened array source.
pub(crate) enum Source {
    Npy(NpyFile),
    Member {
        archive: NpzReader,
        name: String,
        header: Header,
    },
}

/// Splits `ARCHIVE.npz:MEMBER` unless `spec` names an existing file as it is.
pub(crate) fn split_member(spec: &str) -> Option<(PathBuf, String)> {
    if Path::new(spec).exists() {
        return None;
    }
    let at = spec.rfind(".npz:")?;
    Some((PathBuf::from(&spec[..at + 4]), spec[at + 5..].to_string()))
}

impl Source {
    /// Opens `spec`: `FILE.npy`, or `FILE.npz:MEMBER`.
    pub(crate) fn open(spec: &str) -> CliResult<Source> {
        if let Some((archive, name)) = split_member(spec) {
            let archive = NpzReader::open(archive)?;
            let header = archive.header(&name)?;
            return Ok(Source::Member {
                archive,
                name,
                header,
            });
        }
        // SAFETY: the mapping is read-only and lives only while the command runs.
        let file = unsafe { NpyFile::open(spec, MmapMode::ReadOnly) }?;
        file.advise_sequential();
        Ok(Source::Npy(file))
    }

    pub(crate) fn header(&self) -> &Header {
        match self {
            Source::Npy(f) => f.header(),
            Source::Member { header, .. } => header,
        }
    }

    /// The data as `T`: borrowed from a mapping when possible, else a copy.
    pub(crate) fn cow<T: Element>(&self) -> CliResult<CowArray<'_, T, IxDyn>> {
        match self {
            Source::Npy(f) => Ok(f.cow::<T, IxDyn>()?),
            // SAFETY: the archive is only read, while the command runs.
            Source::Member { archive, name, .. } => Ok(unsafe { archive.cow::<T, IxDyn>(name) }?),
        }
    }
}

//! Compressed dumps: joblib runs the whole dump (pickle and array bytes) through the
//! compressor, so it is decompressed into memory first, bounded against bombs.

use std::io::Read;

use flate2::read::{GzDecoder, ZlibDecoder};

use crate::error::{Error, ErrorKind, Result};
use crate::format::header::fill;

/// Deflate cannot expand data more than about 1032 times: a stream that inflates
/// past this many times its size is corrupt (or a bomb), and reading stops there.
const MAX_DEFLATE_RATIO: u64 = 1100;

/// Bytes read per step, so memory follows what actually inflates.
const STEP: usize = 1 << 20;

/// The zlib (or gzip) stream `bytes`, inflated.
pub(crate) fn inflate(bytes: &[u8], gzip: bool) -> Result<Vec<u8>> {
    let limit = (bytes.len() as u64).saturating_mul(MAX_DEFLATE_RATIO);
    let name = if gzip { "gzip" } else { "zlib" };
    let reader: Box<dyn Read + '_> = if gzip {
        Box::new(GzDecoder::new(bytes))
    } else {
        Box::new(ZlibDecoder::new(bytes))
    };
    let mut reader = reader.take(limit.saturating_add(1));
    let mut out = Vec::new();
    loop {
        let start = out.len();
        out.try_reserve(STEP)
            .map_err(|_| crate::cast::out_of_memory::<u8>(start + STEP, "decompressed dump"))?;
        out.resize(start + STEP, 0);
        let n = fill(&mut reader, &mut out[start..]).map_err(|e| {
            Error::from(ErrorKind::UnsupportedDump {
                reason: format!("the {name} stream is corrupt: {e}"),
            })
        })?;
        out.truncate(start + n);
        if n == 0 {
            break;
        }
    }
    if out.len() as u64 > limit {
        return Err(Error::from(ErrorKind::UnsupportedDump {
            reason: format!(
                "the {name} stream inflates past {MAX_DEFLATE_RATIO} times its {} bytes, which deflate cannot do: a corrupt stream or a bomb",
                bytes.len()
            ),
        }));
    }
    Ok(out)
}

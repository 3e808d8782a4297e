//! [`save`](super::save): a whole store, built beside its path and renamed into place.

use std::path::Path;
use std::sync::Arc;

use ndarray::{ArrayRef, ArrayViewD, ArrayViewMutD, Dimension, IxDyn, SliceInfoElem};
use rayon::prelude::*;
use zarrs::array::codec::{BytesCodec, GzipCodec, ZstdCodec};
use zarrs::array::{
    Array, ArrayBuilder, ArrayMetadata, ArrayMetadataOptions, ArrayMetadataV2,
    BytesToBytesCodecTraits, ChunkKeySeparator, Endianness, FillValue,
};
use zarrs::config::MetadataConvertVersion;
use zarrs::filesystem::FilesystemStore;

use super::types::{ZarrElement, zarr_data_type, zero_fill_json};
use super::{Compression, ZarrFormat, ZarrOptions};
use crate::cast::try_with_capacity;
use crate::error::{Error, ErrorKind, Result};
use crate::format::element::Element;
use crate::fs::durable_dir::{TempDir, sync_tree};

/// An [`ErrorKind::Zarr`] about `path`.
pub(super) fn zarr_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::at(
        path,
        ErrorKind::Zarr {
            reason: reason.into(),
        },
    )
}

pub(super) fn save<A, D>(
    path: &Path,
    array: &ArrayRef<A, D>,
    chunk_shape: &[usize],
    options: &ZarrOptions,
) -> Result<()>
where
    A: ZarrElement,
    D: Dimension,
{
    let dtype = A::dtype();
    let shape = array.shape().to_vec();
    if chunk_shape.len() != shape.len() || chunk_shape.contains(&0) {
        return Err(zarr_error(
            path,
            format!(
                "chunk shape {chunk_shape:?} does not fit the array of shape {shape:?}: expected \
                 {} lengths of at least 1",
                shape.len()
            ),
        ));
    }
    if let Some(names) = &options.dimension_names
        && names.len() != shape.len()
    {
        return Err(zarr_error(
            path,
            format!(
                "expected {} dimension names (one per axis of shape {shape:?}), found {}: {names:?}",
                shape.len(),
                names.len()
            ),
        ));
    }
    if path.symlink_metadata().is_ok() && !options.overwrite {
        return Err(Error::io(
            path,
            "create Zarr store",
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "expected no file or directory there, found one; set overwrite to replace a store",
            ),
        ));
    }
    if options.overwrite && path.symlink_metadata().is_ok() && !is_zarr_store(path) {
        return Err(Error::io(
            path,
            "create Zarr store",
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "expected nothing or a Zarr store (zarr.json, .zarray or .zgroup) to replace, \
                 found something else; npmap replaces only stores",
            ),
        ));
    }
    let temp = TempDir::beside(path)?;
    build(
        temp.path(),
        path,
        array.view().into_dyn(),
        &shape,
        chunk_shape,
        options,
        &dtype,
    )?;
    sync_tree(temp.path())?;
    temp.publish(path, |existing| {
        let refuse = |what: &str| {
            Err(Error::io(
                existing,
                "create Zarr store",
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, what.to_string()),
            ))
        };
        if !options.overwrite {
            refuse("expected no file or directory there, found one created meanwhile")
        } else if !is_zarr_store(existing) {
            refuse(
                "expected nothing or a Zarr store (zarr.json, .zarray or .zgroup) to replace, \
                 found something else; npmap replaces only stores",
            )
        } else {
            Ok(())
        }
    })
}

/// Whether `path` is a directory holding Zarr metadata: what `overwrite` may replace.
fn is_zarr_store(path: &Path) -> bool {
    ["zarr.json", ".zarray", ".zgroup"]
        .iter()
        .any(|m| path.join(m).is_file())
}

/// Writes the chunks, then the metadata, into `temp` (which `save` syncs, all of it,
/// before publishing it: until then no reader sees it, so one sync covers both).
fn build<A: ZarrElement>(
    temp: &Path,
    path: &Path,
    view: ArrayViewD<'_, A>,
    shape: &[usize],
    chunk_shape: &[usize],
    options: &ZarrOptions,
    dtype: &crate::format::dtype::DType,
) -> Result<()> {
    let data_type = zarr_data_type(dtype).ok_or_else(|| {
        zarr_error(
            path,
            format!(
                "dtype '{}' ({}) cannot be stored",
                dtype.descr(),
                dtype.name()
            ),
        )
    })?;
    let store = Arc::new(
        FilesystemStore::new(temp)
            .map_err(|e| zarr_error(temp, format!("cannot open the directory as a store: {e}")))?,
    );
    let shape_u64: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let chunks_u64: Vec<u64> = chunk_shape.iter().map(|&d| d as u64).collect();
    let itemsize = dtype.itemsize();
    let zarr_array: Array<FilesystemStore> = match options.format {
        ZarrFormat::V3 => {
            let codecs: Vec<Arc<dyn BytesToBytesCodecTraits>> = match options.compression {
                Compression::None => vec![],
                Compression::Zstd(level) => vec![Arc::new(ZstdCodec::new(level, false))],
                Compression::Gzip(level) => vec![Arc::new(GzipCodec::new(level).map_err(|e| {
                    zarr_error(path, format!("gzip level {level}: expected 0-9 ({e})"))
                })?)],
            };
            let mut builder = ArrayBuilder::new(
                shape_u64.clone(),
                chunks_u64.clone(),
                data_type,
                FillValue::new(vec![0u8; itemsize]),
            );
            builder
                .array_to_bytes_codec(Arc::new(BytesCodec::new(Some(Endianness::Little))))
                .bytes_to_bytes_codecs(codecs)
                .dimension_names(options.dimension_names.clone());
            builder
                .build(store, "/")
                .map_err(|e| zarr_error(path, format!("zarrs refused the array: {e}")))?
        }
        ZarrFormat::V2 => {
            let compressor = match options.compression {
                Compression::None => None,
                Compression::Zstd(level) => Some(serde_json::json!({"id": "zstd", "level": level})),
                Compression::Gzip(level) => Some(serde_json::json!({"id": "gzip", "level": level})),
            };
            let mut attributes = serde_json::Map::new();
            if let Some(names) = &options.dimension_names {
                attributes.insert("_ARRAY_DIMENSIONS".into(), serde_json::json!(names));
            }
            let metadata = serde_json::json!({
                "zarr_format": 2,
                "shape": shape_u64,
                "chunks": chunks_u64,
                "dtype": dtype.with_order(crate::format::dtype::ByteOrder::Little).descr(),
                "compressor": compressor,
                "fill_value": zero_fill_json(dtype),
                "order": "C",
                "filters": null,
                "dimension_separator": ".",
            });
            let metadata: ArrayMetadataV2 = serde_json::from_value(metadata)
                .map_err(|e| zarr_error(path, format!("zarrs refused the v2 metadata: {e}")))?;
            let metadata = metadata
                .with_dimension_separator(ChunkKeySeparator::Dot)
                .with_attributes(attributes);
            Array::new_with_metadata(store, "/", ArrayMetadata::V2(metadata))
                .map_err(|e| zarr_error(path, format!("zarrs refused the array: {e}")))?
        }
    };
    let zarr_array = zarr_array.with_metadata_options(
        ArrayMetadataOptions::default()
            .with_metadata_convert_version(MetadataConvertVersion::Default)
            .with_include_zarrs_metadata(false),
    );
    write_chunks(&zarr_array, path, &view, chunk_shape)?;
    zarr_array
        .store_metadata()
        .map_err(|e| zarr_error(path, format!("cannot write the metadata: {e}")))?;
    Ok(())
}

/// Encodes and stores every chunk, in parallel; edge chunks padded with zeros (the
/// fill value).
fn write_chunks<A: ZarrElement>(
    zarr_array: &Array<FilesystemStore>,
    path: &Path,
    view: &ArrayViewD<'_, A>,
    chunk_shape: &[usize],
) -> Result<()> {
    let grid: Vec<usize> = view
        .shape()
        .iter()
        .zip(chunk_shape)
        .map(|(&d, &c)| d.div_ceil(c))
        .collect();
    let count: usize = grid.iter().product();
    let chunk_len = chunk_elements(path, chunk_shape, std::mem::size_of::<A>())?;
    let zero = zero_of::<A>();
    (0..count).into_par_iter().try_for_each(|k| {
        let index = unravel(k, &grid);
        let mut buffer = try_with_capacity::<A>(chunk_len, "a Zarr chunk")?;
        buffer.resize(chunk_len, zero);
        let mut chunk = ArrayViewMutD::from_shape(IxDyn(chunk_shape), &mut buffer[..])
            .expect("the buffer holds the chunk's elements");
        let (source, target): (Vec<SliceInfoElem>, Vec<SliceInfoElem>) = index
            .iter()
            .zip(chunk_shape)
            .zip(view.shape())
            .map(|((&i, &c), &d)| {
                let start = i * c;
                let end = (start + c).min(d);
                (
                    SliceInfoElem::from(start..end),
                    SliceInfoElem::from(0..end - start),
                )
            })
            .unzip();
        chunk
            .slice_mut(target.as_slice())
            .assign(&view.slice(source.as_slice()));
        let indices: Vec<u64> = index.iter().map(|&i| i as u64).collect();
        zarr_array
            .store_chunk(&indices, &buffer[..])
            .map_err(|e| zarr_error(path, format!("cannot write chunk {indices:?}: {e}")))
    })
}

/// The elements of one chunk, checked: an error when the chunk's bytes (`itemsize`
/// each) would not fit in the address space.
pub(super) fn chunk_elements(path: &Path, chunk_shape: &[usize], itemsize: usize) -> Result<usize> {
    chunk_shape
        .iter()
        .try_fold(1usize, |acc, &c| acc.checked_mul(c))
        .filter(|&n| {
            n.checked_mul(itemsize)
                .is_some_and(|b| b <= isize::MAX as usize)
        })
        .ok_or_else(|| {
            zarr_error(
                path,
                format!("chunk shape {chunk_shape:?} overflows the address space"),
            )
        })
}

/// The element whose bytes are all zero: Zarr's fill value of npmap's stores.
fn zero_of<A: Element>() -> A {
    let bytes = vec![0u8; std::mem::size_of::<A>()];
    bytemuck::checked::pod_read_unaligned(&bytes)
}

/// The `k`-th chunk index of a grid in C order.
pub(super) fn unravel(mut k: usize, grid: &[usize]) -> Vec<usize> {
    let mut index = vec![0; grid.len()];
    for (i, &n) in grid.iter().enumerate().rev() {
        index[i] = k % n;
        k /= n;
    }
    index
}

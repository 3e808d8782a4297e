//! `npmap convert IN OUT [--native] [--c-order] [--align]`; `IN.npz:NAME OUT.npy` extracts;
//! `X.npy X.zarr [--chunks a,b] [--zarr-format 2|3] [--compression none|zstd|gzip]
//! [--dimension-names a,b]` writes a Zarr store, `X.zarr X.npy` reads one back;
//! `X.npy DIR --npy-stack [--block-rows N]` writes a Dask npy-stack, `DIR X.npy` reads one.

use crate::source::{RawArgs, Source, SourceSpec};
use crate::{CliError, CliResult, FileArg, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The input: FILE.npy, ARCHIVE.npz:MEMBER or DUMP.joblib:KEY to extract, a raw
    /// file with --dtype, or a whole .npz with --align.
    input: String,
    /// The output, written atomically: a .npz when its name ends in .npz (one stored,
    /// mappable member named after the input), a joblib dump when it ends in .joblib
    /// or .pkl (`{name: array}`, which joblib.load(mmap_mode='r') maps), a Zarr store
    /// when it ends in .zarr (an existing store there is replaced), a Dask npy-stack
    /// directory with --npy-stack, else a .npy.
    output: FileArg,
    /// Convert the data to this machine's byte order.
    #[arg(long)]
    native: bool,
    /// Rewrite Fortran-order data in C order.
    #[arg(long)]
    c_order: bool,
    /// Rewrite a NumPy-made .npz so that every member is stored and 64-byte aligned (mappable).
    #[arg(long)]
    align: bool,
    #[command(flatten)]
    raw: RawArgs,
    #[command(flatten)]
    zarr: ZarrArgs,
    /// Write the output as a Dask npy-stack (`dask.array.from_npy_stack(OUT)` reads
    /// it): a directory of 0.npy, 1.npy, ... blocks along the first axis and the info
    /// pickle; an existing stack there is replaced.
    #[arg(long)]
    npy_stack: bool,
    /// npy-stack output: rows per block. Default: about 32 MiB per block.
    #[arg(long, value_name = "N", requires = "npy_stack")]
    block_rows: Option<usize>,
}

/// What this conversion writes.
fn output_kind(args: &Args) -> Output {
    if args.npy_stack {
        Output::NpyStack
    } else {
        Output::of(&args.output)
    }
}

/// How a .zarr output is written.
#[derive(clap::Args)]
struct ZarrArgs {
    /// Zarr output: the chunk shape, one length per axis (e.g. 100000,100). Default:
    /// about 32 MiB per chunk, whole along every axis but the first (the first axes
    /// are split further only when one row alone is larger).
    #[arg(long, value_delimiter = ',', value_name = "a,b,...")]
    chunks: Option<Vec<usize>>,
    /// Zarr output: format 3 (zarr.json, the default) or 2 (.zarray).
    #[arg(long, value_name = "N", value_parser = ["2", "3"], default_value = "3")]
    zarr_format: String,
    /// Zarr output: chunk compression (zstd is zstd level 3, as zarr-python's default;
    /// gzip is level 5). Raw chunks (none) are the fastest to write and read.
    #[arg(long, value_parser = ["none", "zstd", "gzip"], default_value = "none")]
    compression: String,
    /// Zarr output: axis names, one per axis (v3 dimension_names, v2 _ARRAY_DIMENSIONS),
    /// so that xarray names the dimensions.
    #[arg(long, value_delimiter = ',', value_name = "a,b,...")]
    dimension_names: Option<Vec<String>>,
}

/// Bytes a default chunk holds at most.
const CHUNK_BYTES: usize = 32 << 20;

/// The default chunk shape: whole along the trailing axes, as many leading rows as fit
/// in [`CHUNK_BYTES`]; when a single row is larger, the next axis is split too.
fn default_chunks(shape: &[usize], itemsize: usize) -> Vec<usize> {
    let mut chunks: Vec<usize> = shape.iter().map(|&d| d.max(1)).collect();
    for axis in 0..chunks.len() {
        let rest: usize = chunks[axis + 1..]
            .iter()
            .fold(itemsize.max(1), |acc, &c| acc.saturating_mul(c));
        if rest.saturating_mul(chunks[axis]) <= CHUNK_BYTES {
            break;
        }
        chunks[axis] = (CHUNK_BYTES / rest).max(1);
        if chunks[axis] > 1 {
            break;
        }
    }
    chunks
}

pub(crate) fn run(args: &Args) -> CliResult {
    if args.align {
        npmap::realign_npz(&args.input, &args.output)?;
        say!(
            "wrote {} (stored, every member aligned to 64 bytes)",
            args.output.display()
        );
        return Ok(());
    }
    let spec = SourceSpec::parse(&args.input, &args.raw)?;
    // Anything but a .npy in (a member, a raw file) is a conversion in itself.
    let extracting = !spec.is_npy_file();
    let source = spec.open()?;
    let to_container = output_kind(args) != Output::Npy;
    if !extracting && !to_container && !args.native && !args.c_order {
        return Err(CliError::Usage(
            "convert: nothing to do; give --native, --c-order or --align, extract ARCHIVE.npz:MEMBER, or name a .npz or .joblib output".into(),
        ));
    }
    let h = source.header().clone();
    if !args.native && !h.dtype.is_native_order() {
        return fail(format!(
            "{}: data is in non-native byte order '{}'; add --native (npmap writes native order)",
            args.input,
            h.dtype.descr()
        ));
    }
    if let Some(z) = source.zarr()
        && output_kind(args) == Output::Npy
    {
        // Streamed, a row of chunks at a time: C order and native already.
        z.save_npy(&args.output)?;
        say!("wrote {}", args.output.display());
        return Ok(());
    }
    npmap::with_element_type!(h.dtype, T => convert::<T>(args, &source)?, else return fail(format!(
        "{}: convert handles numeric arrays; dtype '{}' ({}) is not one",
        args.input, h.dtype.descr(), h.dtype.name()
    )));
    say!("wrote {}", args.output.display());
    Ok(())
}

fn convert<T: npmap::zarr::ZarrElement>(args: &Args, source: &Source) -> CliResult {
    write_output::<T>(args, source).map_err(|e| blame_input(e, &args.input))
}

/// A write that faulted on its source's memory (`EFAULT`: the kernel could not read
/// the mapped input, because the input shrank while being read) is the input's
/// failure, not the output's: `IN: file shrank while being read`.
fn blame_input(e: CliError, input: &str) -> CliError {
    let CliError::Npmap(err) = &e else { return e };
    match err.kind() {
        npmap::ErrorKind::Io { source, .. } if source.raw_os_error() == Some(libc::EFAULT) => {
            CliError::Message(format!(
                "{input}: file shrank while being read (writing {} failed: {source})",
                err.path()
                    .map_or_else(|| "the output".into(), |p| p.display().to_string())
            ))
        }
        _ => e,
    }
}

fn write_output<T: npmap::zarr::ZarrElement>(args: &Args, source: &Source) -> CliResult {
    if output_kind(args) != Output::Zarr
        && (args.zarr.chunks.is_some() || args.zarr.dimension_names.is_some())
    {
        return Err(CliError::Usage(
            "convert: --chunks and --dimension-names are for a .zarr output".into(),
        ));
    }
    // A large mapped .npy that cannot be viewed in place, rewritten in its own memory
    // order: slab by slab, never whole in memory.
    if let Some(file) = source.file()
        && output_kind(args) == Output::Npy
        && !(args.c_order && file.header().fortran_order)
        && crate::source::needs_slabs::<T>(file)
    {
        return convert_in_slabs::<T>(file, &args.output);
    }
    let array = source.cow::<T>()?;
    let array = match args.c_order {
        true => array.as_standard_layout().into_owned().into(),
        false => array,
    };
    match output_kind(args) {
        Output::Npz => {
            let mut archive = npmap::NpzWriter::create(&args.output)?;
            archive.add(&source.spec().stem(), &array)?;
            archive.finish()?;
        }
        Output::Joblib => {
            let mut dump = npmap::joblib::JoblibWriter::create(&args.output)?;
            dump.add(&source.spec().stem(), &array)?;
            dump.finish()?;
        }
        Output::Zarr => {
            let shape = array.shape();
            let chunks = match &args.zarr.chunks {
                Some(c) => c.clone(),
                None => default_chunks(shape, std::mem::size_of::<T>()),
            };
            let mut options = npmap::zarr::ZarrOptions::new()
                .overwrite(true)
                .format(match args.zarr.zarr_format.as_str() {
                    "2" => npmap::zarr::ZarrFormat::V2,
                    _ => npmap::zarr::ZarrFormat::V3,
                })
                .compression(match args.zarr.compression.as_str() {
                    "zstd" => npmap::zarr::Compression::Zstd(0),
                    "gzip" => npmap::zarr::Compression::Gzip(5),
                    _ => npmap::zarr::Compression::None,
                });
            if let Some(names) = &args.zarr.dimension_names {
                options = options.dimension_names(names.iter().cloned());
            }
            npmap::zarr::save(&args.output, &array, &chunks, &options)?;
        }
        Output::NpyStack => {
            if array.ndim() == 0 {
                return fail(format!("{}: a 0-d array cannot be stacked", args.input));
            }
            let rows = match args.block_rows {
                Some(n) => n,
                None => default_chunks(array.shape(), std::mem::size_of::<T>())[0],
            };
            npmap::npy_stack::save(&args.output, &array, npmap::ndarray::Axis(0), rows)?;
        }
        Output::Npy => npmap::save_npy(&args.output, &array)?,
    }
    Ok(())
}

/// Writes `file`'s array, in its memory order and this machine's byte order, to the
/// `.npy` `output`: made under a temporary name beside it (mapped, written behind), each
/// slab ([`for_each_slab`](crate::source::for_each_slab)) copied into place, synced,
/// then renamed over `output`; the temporary file is removed on failure. The file is
/// what `np.save` writes of the array; memory stays bounded whatever the file's size.
fn convert_in_slabs<T: npmap::Element>(
    file: &npmap::NpyFile,
    output: &std::path::Path,
) -> CliResult {
    let name = output
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let temp = output.with_file_name(format!(".{name}.npmap-{}", std::process::id()));
    let written = write_slabs::<T>(file, &temp).and_then(|()| {
        std::fs::rename(&temp, output).map_err(|e| {
            CliError::Message(format!(
                "{}: cannot rename {} over it: {e}",
                output.display(),
                temp.display()
            ))
        })
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
        return written;
    }
    // The rename itself made durable.
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_slabs<T: npmap::Element>(file: &npmap::NpyFile, temp: &std::path::Path) -> CliResult {
    use npmap::ndarray::{Axis, IxDyn, ShapeBuilder, Slice};
    let h = file.header();
    let shape = IxDyn(&h.shape).set_f(h.fortran_order);
    // SAFETY: the temporary file is new and private to this process while mapped.
    let mut out = unsafe { npmap::create_npy::<T, IxDyn>(temp, shape) }?;
    let behind = out.file().write_behind()?;
    // A file over a slab has at least one axis: its outer one.
    let outer = Axis(file.outer_axis().map_or(0, |a| a.index()));
    let mut view = out.view_mut()?;
    crate::source::for_each_slab::<T>(file, |slab, data| {
        view.slice_axis_mut(outer, Slice::from(slab))
            .assign(&data.view());
        Ok(())
    })?;
    drop(view);
    drop(behind);
    out.flush()?;
    std::fs::File::open(temp)
        .and_then(|f| f.sync_all())
        .map_err(|e| CliError::Message(format!("{}: cannot sync: {e}", temp.display())))
}

/// What `convert` writes, from the output's name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Npy,
    Npz,
    Joblib,
    Zarr,
    NpyStack,
}

impl Output {
    fn of(path: &FileArg) -> Output {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".npz") {
            Output::Npz
        } else if name.ends_with(".joblib") || name.ends_with(".pkl") {
            Output::Joblib
        } else if crate::source::is_zarr(path) {
            Output::Zarr
        } else {
            Output::Npy
        }
    }
}

#[cfg(test)]
mod tests {
    use super::default_chunks;

    #[test]
    fn default_chunks_hold_about_32_mib_of_whole_rows() {
        // Small: one chunk, zero-length axes as 1.
        assert_eq!(default_chunks(&[1000, 7], 8), [1000, 7]);
        assert_eq!(default_chunks(&[0, 3], 4), [1, 3]);
        assert_eq!(default_chunks(&[], 8), Vec::<usize>::new());
        // 800-byte rows: 41 943 of them in 32 MiB.
        assert_eq!(default_chunks(&[1_000_000, 100], 8), [41_943, 100]);
        // One row of 40 MB: one row per chunk, the next axis split too.
        assert_eq!(default_chunks(&[10, 5_000_000], 8), [1, 4_194_304]);
        // 3-d: whole along the last two axes while a slab fits.
        assert_eq!(default_chunks(&[500, 256, 256], 4), [128, 256, 256]);
    }
}

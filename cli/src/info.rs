//! `npmap info SOURCE...`

use npmap::{DType, Header, MemberInfo, NpyFile, NpzReader};

use crate::source::{RawArgs, Source, SourceSpec};
use crate::{CliError, CliResult, FileArg};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// FILE.npy, ARCHIVE.npz (every member), ARCHIVE.npz:MEMBER, STORE.zarr, or raw files
    /// with --dtype.
    #[arg(required = true)]
    sources: Vec<String>,
    #[command(flatten)]
    raw: RawArgs,
}

/// Describes every source; one that cannot be read is reported and the others
/// still described (the exit status is 1 if any failed).
pub(crate) fn run(args: &Args) -> CliResult {
    let mut failed = false;
    for (i, spec) in args.sources.iter().enumerate() {
        if i > 0 {
            say!("");
        }
        let result = SourceSpec::parse(spec, &args.raw).and_then(|spec| match &spec {
            SourceSpec::Npz(path) => print_npz(path),
            SourceSpec::Joblib(path) => print_joblib(path),
            _ => describe(&spec.open()?),
        });
        if let Err(e) = result {
            eprintln!("npmap: {e}");
            failed = true;
        }
    }
    if failed {
        Err(CliError::Reported)
    } else {
        Ok(())
    }
}

/// One array: where it is, its layout, whether it maps zero-copy, residency.
fn describe(source: &Source) -> CliResult {
    let h = source.header();
    say!("{source}");
    match source.spec() {
        SourceSpec::Raw { layout, .. } => say!(
            "  format     raw (no header), as np.memmap(FILE, dtype='{}', mode='r', offset={}, shape={}, order='{}')",
            layout.dtype.descr(),
            layout.offset,
            shape_text(&h.shape),
            if layout.fortran { 'F' } else { 'C' }
        ),
        SourceSpec::NpzMember { .. } => say!(
            "  format     .npz member, .npy {}.{}",
            h.version.0,
            h.version.1
        ),
        SourceSpec::JoblibKey { .. } => say!("  format     array of a joblib dump"),
        SourceSpec::Zarr(_) => return describe_zarr(source),
        SourceSpec::NpyStack(_) => return describe_stack(source),
        _ => say!("  format     .npy {}.{}", h.version.0, h.version.1),
    }
    if let Some((archive, name)) = source.member() {
        let info = archive.member_info(name)?;
        print_layout(h, info.data_offset);
        say!("  zero-copy  {}", member_mappable(&info));
        return Ok(());
    }
    print_layout(h, h.data_offset);
    if let Some(array) = source.joblib_array() {
        say!("  zero-copy  {}", joblib_mappable(array));
        return Ok(());
    }
    if let Some(file) = source.file() {
        say!("  zero-copy  {}", zero_copy(file));
        print_residency(file);
    }
    Ok(())
}

/// A Zarr array: format, dtype, shape, chunks, codecs, axis names.
fn describe_zarr(source: &Source) -> CliResult {
    let Some(z) = source.zarr() else {
        return Ok(());
    };
    let h = z.header();
    say!("  format     Zarr v{}", z.format().number());
    say!("  dtype      {} ({})", h.dtype.descr(), h.dtype.name());
    say!("  shape      {}", shape_text(&h.shape));
    say!(
        "  chunks     {} ({} chunks: {})",
        shape_text(z.chunk_shape()),
        z.chunk_grid_shape().iter().product::<usize>(),
        shape_text(z.chunk_grid_shape())
    );
    let codecs = z.codecs();
    say!(
        "  codecs     {}",
        if codecs.is_empty() {
            "none (raw chunks)".to_string()
        } else {
            codecs.join(", ")
        }
    );
    if let Some(names) = z.dimension_names() {
        let names: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap_or("-")).collect();
        say!("  dims       {}", names.join(", "));
    }
    say!("  data       {} bytes decoded", h.data_len());
    say!(
        "  zero-copy  {}",
        if z.is_mapped() {
            "yes (raw chunks, mapped)"
        } else {
            "no: compressed chunks are decoded"
        }
    );
    Ok(())
}

/// A Dask npy-stack: dtype, logical shape, the blocks along their axis.
fn describe_stack(source: &Source) -> CliResult {
    let Some(s) = source.stack() else {
        return Ok(());
    };
    let h = s.header();
    say!(
        "  format     Dask npy-stack ({} blocks of .npy along axis {})",
        s.blocks().len(),
        s.axis().index()
    );
    say!("  dtype      {} ({})", h.dtype.descr(), h.dtype.name());
    say!("  shape      {}", shape_text(&h.shape));
    let lens = s.block_lens();
    let text = match lens.split_last() {
        Some((last, rest)) if rest.iter().all(|n| n == last) => {
            format!("{} x {last}", lens.len())
        }
        Some((last, rest)) if rest.iter().all(|n| *n == rest[0]) => {
            format!("{} x {}, then {last}", rest.len(), rest[0])
        }
        _ => lens
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    say!("  blocks     {text}");
    say!("  data       {} bytes", h.data_len());
    let native = h.dtype.is_native_order();
    say!(
        "  zero-copy  {}",
        if native {
            "yes (each block mapped)"
        } else {
            "no: non-native byte order, blocks are converted"
        }
    );
    Ok(())
}

fn print_npz(path: &FileArg) -> CliResult {
    let archive = NpzReader::open(path)?;
    say!("{}", path.display());
    let count = archive.names().len();
    say!(
        "  format     .npz, {count} member{}",
        if count == 1 { "" } else { "s" }
    );
    for name in archive.names() {
        match archive.member_info(&name) {
            Ok(info) => {
                let h = &info.header;
                say!(
                    "  {name}: {} ({}) {} {}, {} in {} bytes; map: {}",
                    h.dtype.descr(),
                    h.dtype.name(),
                    shape_text(&h.shape),
                    if h.fortran_order { "F" } else { "C" },
                    if info.compressed {
                        "deflated"
                    } else {
                        "stored"
                    },
                    info.stored_size,
                    member_mappable(&info),
                )
            }
            Err(e) => say!("  {name}: not a readable array: {e}"),
        }
    }
    Ok(())
}

/// A joblib dump: what was dumped, then every array in it with its layout and whether
/// it maps zero-copy.
fn print_joblib(path: &FileArg) -> CliResult {
    // SAFETY: the mapping is read-only and lives only while the command runs.
    let dump = unsafe { npmap::joblib::load(path, npmap::MmapMode::ReadOnly) }?;
    let arrays = dump.arrays();
    say!("{}", path.display());
    say!(
        "  format     joblib dump (pickle, read without running it), {} array{}",
        arrays.len(),
        if arrays.len() == 1 { "" } else { "s" }
    );
    if let Some(compressor) = dump.compression() {
        say!("  compressed {compressor} (decompressed into memory, as joblib does: nothing maps)");
    }
    let root = dump.root();
    let kind = match root.class_name() {
        Some((module, name)) => format!("{module}.{name} object"),
        None => root.value().kind_name().to_string(),
    };
    let keys = root.keys();
    match keys.is_empty() {
        true => say!("  root       {kind}"),
        false => say!("  root       {kind}: {}", keys.join(", ")),
    }
    for (key, a) in &arrays {
        let h = a.header();
        let name = if key.is_empty() {
            "(root)"
        } else {
            key.as_str()
        };
        say!(
            "  {name}: {} ({}) {} {}, data at byte {}; map: {}",
            h.dtype.descr(),
            h.dtype.name(),
            shape_text(&h.shape),
            if h.fortran_order { "F" } else { "C" },
            h.data_offset,
            joblib_mappable(a)
        );
    }
    Ok(())
}

/// Whether a dump's array is a zero-copy view of the file, and if not, why: the
/// library's own check (a view of its element type).
fn joblib_mappable(array: &npmap::joblib::JoblibArray) -> String {
    let dtype = &array.header().dtype;
    if !array.is_mapped() {
        return "no (in memory: a compressed dump, or pickled inside the dump)".into();
    }
    let viewed = npmap::with_element_type!(dtype, T => array.view::<T, npmap::ndarray::IxDyn>().map(|_| ()),
        else Ok(()));
    match viewed {
        Ok(()) => "yes (mapped, aligned, native order)".into(),
        Err(e) => match e.kind() {
            npmap::ErrorKind::NonNativeByteOrder { .. } => {
                "no (non-native byte order; read copies)".into()
            }
            npmap::ErrorKind::Misaligned { .. } => {
                "no (unaligned: a dump of joblib 1.1 or older; read copies)".into()
            }
            _ => format!("no ({e})"),
        },
    }
}

/// Whether a member maps zero-copy, and if not, why.
fn member_mappable(info: &MemberInfo) -> String {
    let h = &info.header;
    if info.compressed {
        "no (deflated; read copies)".to_string()
    } else if !h.dtype.is_native_order() {
        "no (non-native byte order)".to_string()
    } else if !info
        .data_offset
        .is_multiple_of(alignment_of(&h.dtype) as u64)
    {
        format!(
            "no (data at byte {} is unaligned; `npmap convert --align`)",
            info.data_offset
        )
    } else {
        "yes (stored, aligned)".to_string()
    }
}

fn print_layout(h: &Header, data_offset: u64) {
    say!("  dtype      {} ({})", h.dtype.descr(), h.dtype.name());
    say!("  shape      {}", shape_text(&h.shape));
    say!(
        "  order      {}",
        if h.fortran_order { "F (Fortran)" } else { "C" }
    );
    say!(
        "  data       offset {}, {} bytes ({})",
        data_offset,
        h.data_len(),
        human_bytes(h.data_len())
    );
}

fn zero_copy(file: &NpyFile) -> String {
    let h = file.header();
    if !h.dtype.is_native_order() {
        return "no: non-native byte order (read_npy / cow() copy)".into();
    }
    let align = alignment_of(&h.dtype);
    if !h.data_offset.is_multiple_of(align as u64) {
        return format!(
            "no: data offset {} is not aligned to {align} bytes",
            h.data_offset
        );
    }
    "yes (native byte order, aligned)".into()
}

/// The alignment a view of this dtype needs: its largest scalar's size, capped at 8.
fn alignment_of(dtype: &DType) -> usize {
    match dtype {
        DType::Record { fields, .. } => fields
            .iter()
            .map(|f| alignment_of(&f.dtype))
            .max()
            .unwrap_or(1),
        DType::SubArray { base, .. } => alignment_of(base),
        DType::Complex { size, .. } => size / 2,
        DType::Unicode { .. } => 4,
        DType::Bytes { .. } | DType::Void { .. } => 1,
        other => other.itemsize().clamp(1, 8),
    }
}

fn print_residency(file: &NpyFile) {
    match file.residency() {
        Ok((_, 0)) => say!("  resident   (no data)"),
        Ok((resident, total)) => say!(
            "  resident   {:.1}% in page cache ({resident} of {total} pages)",
            100.0 * resident as f64 / total as f64
        ),
        Err(e) => say!("  resident   unknown ({e})"),
    }
}

pub(crate) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

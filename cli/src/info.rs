//! `npmap info FILE...`

use npmap::{DType, Header, MmapMode, NpyFile, NpzReader};

use crate::{CliError, CliResult, FileArg};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// .npy files (or raw files with --dtype and --shape).
    #[arg(required = true)]
    files: Vec<FileArg>,
    /// Treat the files as headerless raw data of this dtype (e.g. f4, <i8).
    #[arg(long, requires = "shape")]
    dtype: Option<String>,
    /// Shape of the raw data, e.g. 1000,100.
    #[arg(long, requires = "dtype", value_delimiter = ',')]
    shape: Option<Vec<usize>>,
    /// Byte offset of the raw data.
    #[arg(long, default_value_t = 0, requires = "dtype")]
    offset: u64,
}

/// Describes every file; a file that cannot be read is reported and the others
/// still described (the exit status is 1 if any failed).
pub(crate) fn run(args: &Args) -> CliResult {
    let mut failed = false;
    for (i, path) in args.files.iter().enumerate() {
        if i > 0 {
            say!("");
        }
        let result = match (&args.dtype, &args.shape) {
            (Some(dtype), Some(shape)) => print_raw(path, dtype, shape, args.offset),
            _ if path.extension().is_some_and(|e| e == "npz") => print_npz(path),
            _ => print_npy(path),
        };
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

fn print_npy(path: &FileArg) -> CliResult {
    // SAFETY: the mapping is read-only and only lives while this function prints.
    let file = unsafe { NpyFile::open(path, MmapMode::ReadOnly) }?;
    let h = file.header();
    say!("{}", path.display());
    say!("  format     .npy {}.{}", h.version.0, h.version.1);
    print_layout(h);
    say!("  zero-copy  {}", zero_copy(&file));
    print_residency(&file);
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
                let mappable = if info.compressed {
                    "no (deflated; read copies)".to_string()
                } else if !h.dtype.is_native_order() {
                    "no (non-native byte order)".to_string()
                } else if info.data_offset % alignment_of(&h.dtype) as u64 != 0 {
                    format!(
                        "no (data at byte {} is unaligned; `npmap convert --align`)",
                        info.data_offset
                    )
                } else {
                    "yes (stored, aligned)".to_string()
                };
                say!(
                    "  {name}: {} ({}) {} {}, {} in {} bytes; map: {mappable}",
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
                )
            }
            Err(e) => say!("  {name}: not a readable array: {e}"),
        }
    }
    Ok(())
}

fn print_raw(path: &FileArg, dtype: &str, shape: &[usize], offset: u64) -> CliResult {
    let dtype = DType::parse(dtype)?;
    let len = std::fs::metadata(path)
        .map_err(|e| CliError::Message(format!("{}: stat: {e}", path.display())))?
        .len();
    let bytes = shape
        .iter()
        .try_fold(dtype.itemsize() as u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| {
            CliError::Message(format!(
                "{}: shape {} of {} overflows a 64-bit size",
                path.display(),
                shape_text(shape),
                dtype.descr()
            ))
        })?;
    say!("{}", path.display());
    say!("  format     raw (no header)");
    say!("  dtype      {} ({})", dtype.descr(), dtype.name());
    say!("  shape      {}", shape_text(shape));
    say!(
        "  data       offset {offset}, {bytes} bytes ({})",
        human_bytes(bytes)
    );
    let fits = offset.checked_add(bytes).is_some_and(|end| end <= len);
    say!(
        "  file       {len} bytes: {}",
        if fits {
            "holds the data"
        } else {
            "TOO SHORT for the data"
        }
    );
    match fits {
        true => Ok(()),
        false => Err(CliError::Message(format!(
            "{}: file of {len} bytes is too short: the data needs {bytes} bytes from offset {offset}",
            path.display()
        ))),
    }
}

fn print_layout(h: &Header) {
    say!("  dtype      {} ({})", h.dtype.descr(), h.dtype.name());
    say!("  shape      {}", shape_text(&h.shape));
    say!(
        "  order      {}",
        if h.fortran_order { "F (Fortran)" } else { "C" }
    );
    say!(
        "  data       offset {}, {} bytes ({})",
        h.data_offset,
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

//! `npmap convert IN OUT [--native] [--c-order] [--align]`; `IN.npz:NAME OUT.npy` extracts.

use crate::source::{RawArgs, Source, SourceSpec};
use crate::{CliError, CliResult, FileArg, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The input: FILE.npy, ARCHIVE.npz:MEMBER or DUMP.joblib:KEY to extract, a raw
    /// file with --dtype, or a whole .npz with --align.
    input: String,
    /// The output, written atomically: a .npz when its name ends in .npz (one stored,
    /// mappable member named after the input), a joblib dump when it ends in .joblib
    /// or .pkl (`{name: array}`, which joblib.load(mmap_mode='r') maps), else a .npy.
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
    let to_container = Output::of(&args.output) != Output::Npy;
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
    npmap::with_element_type!(h.dtype, T => convert::<T>(args, &source)?, else return fail(format!(
        "{}: convert handles numeric arrays; dtype '{}' ({}) is not one",
        args.input, h.dtype.descr(), h.dtype.name()
    )));
    say!("wrote {}", args.output.display());
    Ok(())
}

fn convert<T: npmap::Element>(args: &Args, source: &Source) -> CliResult {
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

fn write_output<T: npmap::Element>(args: &Args, source: &Source) -> CliResult {
    let array = source.cow::<T>()?;
    let array = match args.c_order {
        true => array.as_standard_layout().into_owned().into(),
        false => array,
    };
    match Output::of(&args.output) {
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
        Output::Npy => npmap::save_npy(&args.output, &array)?,
    }
    Ok(())
}

/// What `convert` writes, from the output's name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Npy,
    Npz,
    Joblib,
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
        } else {
            Output::Npy
        }
    }
}

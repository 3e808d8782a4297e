//! `npmap convert IN OUT [--native] [--c-order] [--align]`; `IN.npz:NAME OUT.npy` extracts.

use crate::source::{Source, split_member};
use crate::{CliResult, FileArg, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The input: a .npy file, a .npz (with --align), or ARCHIVE.npz:MEMBER to extract.
    input: String,
    /// The output .npy file (written atomically).
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
    let source = Source::open(&args.input)?;
    let extracting = split_member(&args.input).is_some();
    if !extracting && !args.native && !args.c_order {
        return fail(
            "convert: nothing to do; give --native, --c-order or --align, or extract ARCHIVE.npz:MEMBER",
        );
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
    let array = source.cow::<T>()?;
    if args.c_order {
        npmap::save_npy(&args.output, &array.as_standard_layout())?;
    } else {
        npmap::save_npy(&args.output, &array)?;
    }
    Ok(())
}

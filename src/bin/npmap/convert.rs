//! `npmap convert IN OUT [--native] [--c-order]`

use ndarray::IxDyn;

use crate::dispatch::with_element_type;
use crate::{CliResult, FileArg, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The input .npy file.
    input: FileArg,
    /// The output .npy file (written atomically).
    output: FileArg,
    /// Convert the data to this machine's byte order.
    #[arg(long)]
    native: bool,
    /// Rewrite Fortran-order data in C order.
    #[arg(long)]
    c_order: bool,
}

pub(crate) fn run(args: &Args) -> CliResult {
    if !args.native && !args.c_order {
        return fail("convert: nothing to do; give --native and/or --c-order");
    }
    let h = npmap::read_npy_header(&args.input)?;
    if !args.native && !h.dtype.is_native_order() {
        return fail(format!(
            "{}: data is in non-native byte order '{}'; add --native (npmap writes native order)",
            args.input.display(),
            h.dtype.descr()
        ));
    }
    with_element_type!(h.dtype, T => convert::<T>(args, h.fortran_order)?, else return fail(format!(
        "{}: convert handles numeric arrays; dtype '{}' ({}) is not one",
        args.input.display(), h.dtype.descr(), h.dtype.name()
    )));
    println!("wrote {}", args.output.display());
    Ok(())
}

fn convert<T: npmap::Element>(args: &Args, fortran: bool) -> CliResult {
    let array = npmap::read_npy::<T, IxDyn>(&args.input)?;
    if args.c_order && fortran {
        npmap::save_npy(&args.output, &array.as_standard_layout())?;
    } else {
        npmap::save_npy(&args.output, &array)?;
    }
    Ok(())
}

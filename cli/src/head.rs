//! `npmap head SOURCE [-n 5]`: the library's NumPy-exact printing, nothing re-derived.

use crate::CliResult;
use crate::source::{RawArgs, SourceSpec};

// What `head` prints is said by its doc line in main.rs (clap's `about`); the
// details follow the options in `--help`.
#[derive(clap::Args)]
#[command(
    after_help = "NumPy's default print options: precision=8, threshold=1000, \
    edgeitems=3, linewidth=75, floatmode='maxprec'. Floats show the shortest digits that \
    identify them as their own type; arrays of more than 1000 elements show 3 items at \
    each end of every axis around '...'. A 0-d array prints its value, as print(a) does. \
    A raw file prints as print(np.memmap(FILE, dtype, mode='r', offset, shape, order)[:N])."
)]
pub(crate) struct Args {
    /// FILE.npy, ARCHIVE.npz:MEMBER, or a raw file with --dtype.
    source: String,
    /// How many rows (along axis 0) to print: N in print(np.load(FILE)[:N]).
    #[arg(short = 'n', long, default_value_t = 5)]
    rows: usize,
    #[command(flatten)]
    raw: RawArgs,
}

pub(crate) fn run(args: &Args) -> CliResult {
    let source = SourceSpec::parse(&args.source, &args.raw)?.open()?;
    say!("{}", source.text(Some(args.rows))?);
    Ok(())
}

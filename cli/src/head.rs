//! `npmap head FILE [-n 5]`

use npmap::ndarray::{Axis, Ix2, IxDyn, s};
use npmap::{MmapMode, NpyFile};

use crate::format::{NumpyText, SUMMARY_THRESHOLD, matrix_text};
use crate::{CliResult, FileArg, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A .npy file.
    file: FileArg,
    /// How many rows.
    #[arg(short = 'n', long, default_value_t = 5)]
    rows: usize,
}

pub(crate) fn run(args: &Args) -> CliResult {
    // SAFETY: read-only mapping, alive only while printing.
    let file = unsafe { NpyFile::open(&args.file, MmapMode::ReadOnly) }?;
    let dtype = file.header().dtype.clone();
    if crate::records::is_textual(&dtype) {
        say!("{}", crate::records::head_text(&file, args.rows));
        return Ok(());
    }
    npmap::with_element_type!(dtype, T => print_rows::<T>(&file, args.rows), else fail(format!(
        "{}: head prints numeric arrays; dtype '{}' ({}) is not one",
        args.file.display(), dtype.descr(), dtype.name()
    )))
}

fn print_rows<T: npmap::Element + NumpyText>(file: &NpyFile, n: usize) -> CliResult {
    let data = file.cow::<T, IxDyn>()?;
    let shape = data.shape().to_vec();
    let summarize = data.len() > SUMMARY_THRESHOLD;
    let text = match shape.len() {
        0 => data
            .iter()
            .next()
            .map(|v| v.numpy_text())
            .unwrap_or_default(),
        1 => {
            let shown = data.slice(s![..n.min(shape[0])]).insert_axis(Axis(0));
            let shown = shown.into_dimensionality::<Ix2>().map_err(shape_error)?;
            let row = matrix_text(shown, false, false);
            let row = &row[1..row.len() - 1];
            match shape[0] > n {
                true => format!("{} ...]", &row[..row.len() - 1]),
                false => row.to_string(),
            }
        }
        _ => {
            let rows = n.min(shape[0]);
            let flat = data.slice_axis(Axis(0), (0..rows).into());
            let cols: usize = shape[1..].iter().product();
            let matrix = flat.to_shape((rows, cols)).map_err(shape_error)?;
            matrix_text(matrix.view(), shape[0] > n, summarize)
        }
    };
    say!("{text}");
    Ok(())
}

fn shape_error(e: npmap::ndarray::ShapeError) -> crate::CliError {
    crate::CliError::Message(format!("cannot reshape for printing: {e}"))
}

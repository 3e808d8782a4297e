//! `npmap create FILE --dtype f32 --shape 1000000,100 [--order C|F] [--fill zeros|range|random|normal] [--seed N]`

use std::time::Instant;

use npmap::ndarray::{ArrayViewMutD, Dimension, IxDyn, ShapeBuilder};
use npmap::{
    CreateOptions, DType, Element, MmapMode, par_fill_normal, par_fill_uniform, par_fill_with,
};

use crate::{CliError, CliResult, FileArg, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The .npy file to create (replaced if it exists).
    file: FileArg,
    /// Element type, as NumPy's dtype() takes it: f4, <f4, >f8 (big-endian, written
    /// as such), i1..i8, u1..u8, b1, c8, c16, float32, int64, ...
    #[arg(long)]
    dtype: String,
    /// Shape, e.g. 1000000,100.
    #[arg(long, value_delimiter = ',', required = true)]
    shape: Vec<usize>,
    /// Memory order.
    #[arg(long, default_value = "C", value_parser = ["C", "F"])]
    order: String,
    /// Contents: zeros, the flat index (np.arange), uniform [0, 1) or standard normal
    /// values (floats only; the same for any thread count).
    #[arg(long, default_value = "zeros", value_parser = ["zeros", "range", "random", "normal"])]
    fill: String,
    /// Seed of the random fills.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub(crate) fn run(args: &Args) -> CliResult {
    let dtype = DType::parse(&args.dtype)
        .map_err(|e| CliError::Usage(format!("--dtype {}: not a NumPy dtype: {e}", args.dtype)))?;
    let started = Instant::now();
    npmap::with_element_type!(dtype, T => create::<T>(args)?, else return fail(format!(
        "{}: create makes numeric arrays; dtype '{}' ({}) is not one",
        args.file.display(), dtype.descr(), dtype.name()
    )));
    if !dtype.is_native_order() {
        swap_byte_order(&args.file, &dtype)?;
    }
    let h = npmap::read_npy_header(&args.file)?;
    say!(
        "created {} {} {} ({} bytes) in {:.1?}",
        args.file.display(),
        h.dtype.descr(),
        crate::info::shape_text(&h.shape),
        h.data_offset + h.data_len(),
        started.elapsed()
    );
    Ok(())
}

/// How `create` fills an element type: from a flat index, for `--fill range` (as
/// `np.arange(n).reshape(shape)`), and with seeded random values (floats only).
pub(crate) trait FromIndex: Element {
    fn from_index(i: usize) -> Self;
    fn fill_random(_view: &mut ArrayViewMutD<'_, Self>, _seed: u64, _normal: bool) -> bool {
        false
    }
}

macro_rules! from_index_as {
    ($($t:ty),*) => {$(
        impl FromIndex for $t {
            fn from_index(i: usize) -> Self {
                i as $t
            }
        }
    )*};
}
from_index_as!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_fill {
    ($($t:ty => $from:expr),*) => {$(
        impl FromIndex for $t {
            fn from_index(i: usize) -> Self {
                $from(i)
            }
            fn fill_random(view: &mut ArrayViewMutD<'_, Self>, seed: u64, normal: bool) -> bool {
                if normal {
                    par_fill_normal(view, seed);
                } else {
                    par_fill_uniform(view, seed);
                }
                true
            }
        }
    )*};
}
float_fill!(f32 => |i| i as f32, f64 => |i| i as f64, npmap::half::f16 => |i| npmap::half::f16::from_f64(i as f64));

impl FromIndex for bool {
    fn from_index(i: usize) -> Self {
        i != 0
    }
}
impl<T: FromIndex> FromIndex for npmap::num_complex::Complex<T>
where
    npmap::num_complex::Complex<T>: Element,
{
    fn from_index(i: usize) -> Self {
        npmap::num_complex::Complex::new(T::from_index(i), T::from_index(0))
    }
}

fn create<T: FromIndex>(args: &Args) -> CliResult {
    let shape = IxDyn(&args.shape).set_f(args.order == "F");
    // A fill writes every page: reserve the blocks first, so that a full disk is an
    // error here (and no file is left) rather than a SIGBUS in the middle of the fill.
    let options =
        CreateOptions::new().preallocate(args.fill != "zeros" && cfg!(target_os = "linux"));
    // SAFETY: the new file is private to this process while it is mapped.
    let mut array = unsafe { npmap::create_npy_with::<T, IxDyn>(&args.file, shape, &options) }?;
    // Written pages go to disk in file order while the fill runs (a file larger than
    // memory then streams at the disk's speed).
    let behind = match args.fill.as_str() {
        "zeros" => None,
        _ => Some(array.file().write_behind()?),
    };
    let mut view = array.view_mut()?;
    if matches!(args.fill.as_str(), "random" | "normal")
        && !T::fill_random(&mut view, args.seed, args.fill == "normal")
    {
        drop(view);
        drop(array);
        let _ = std::fs::remove_file(&args.file);
        return fail(format!(
            "--fill {} needs a float dtype (f2, f4, f8)",
            args.fill
        ));
    }
    if args.fill == "range" {
        // np.arange(n).reshape(shape): each element gets its C-order flat index.
        let shape = view.shape().to_vec();
        let strides: Vec<usize> = (0..shape.len())
            .map(|k| shape[k + 1..].iter().product())
            .collect();
        par_fill_with(&mut view, |index: IxDyn| {
            let flat = index.slice().iter().zip(&strides).map(|(i, s)| i * s).sum();
            T::from_index(flat)
        });
    }
    drop(view);
    drop(behind);
    array.flush()?;
    Ok(())
}

/// Turns the native-order file `create` made into `dtype`'s byte order (`>f4` on a
/// little-endian machine), in place: each item's bytes reversed through a read-write
/// mapping (written behind, so a file larger than memory streams to disk), then the
/// header's descr changed, which leaves the file byte for byte what `np.save` writes
/// (the two descrs have the same length, so the header's padding is the same). Memory
/// stays bounded whatever the file's size.
fn swap_byte_order(path: &FileArg, dtype: &DType) -> CliResult {
    let header = npmap::read_npy_header(path)?;
    let unit = npmap::with_element_type!(dtype, T => <T as Element>::SWAP_UNIT, else 1);
    let bytes = header.data_len();
    let count = |unit: u64| usize::try_from(bytes / unit).expect("the file was mapped");
    let offset = header.data_offset;
    // The header is read and checked first: a file that could not be marked is never
    // left swapped.
    let (file, head) = byte_order_marked(path, offset, dtype)?;
    match unit {
        2 => swap_units(path, offset, count(2), u16::swap_bytes)?,
        4 => swap_units(path, offset, count(4), u32::swap_bytes)?,
        8 => swap_units(path, offset, count(8), u64::swap_bytes)?,
        _ => {}
    }
    write_header(path, &file, &head)
}

/// Reverses the bytes of each of the `count` units of `U` from byte `offset` of the
/// file, on all cores.
fn swap_units<U: Element>(
    path: &FileArg,
    offset: u64,
    count: usize,
    swap: fn(U) -> U,
) -> CliResult {
    // SAFETY: the file was just made by this process; nothing else maps or truncates it.
    let mut units = unsafe {
        npmap::load_raw::<U, npmap::ndarray::Ix1>(path, MmapMode::ReadWrite, offset, count)
    }?;
    let behind = units.file().write_behind()?;
    units.view_mut()?.par_map_inplace(|u| *u = swap(*u));
    drop(behind);
    units.flush()?;
    Ok(())
}

fn header_failed(path: &FileArg, what: &str, e: std::io::Error) -> CliError {
    CliError::Message(format!("{}: cannot {what} the header: {e}", path.display()))
}

/// The file opened for writing, and its header (the `data_offset` bytes before the
/// data) with the descr changed from native order to `dtype`'s.
fn byte_order_marked(
    path: &FileArg,
    data_offset: u64,
    dtype: &DType,
) -> CliResult<(std::fs::File, Vec<u8>)> {
    use std::io::Read;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| header_failed(path, "open", e))?;
    let mut head = vec![0u8; usize::try_from(data_offset).expect("a header of at most 4 GiB")];
    file.read_exact(&mut head)
        .map_err(|e| header_failed(path, "read", e))?;
    let (from, to) = (
        format!("'descr': '{}'", dtype.to_native().descr()),
        format!("'descr': '{}'", dtype.descr()),
    );
    let found: Vec<usize> = head
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from.as_bytes())
        .map(|(at, _)| at)
        .collect();
    let at = match (found.as_slice(), from.len() == to.len()) {
        (&[at], true) => at,
        _ => {
            return fail(format!(
                "{}: header has no single {from} to change",
                path.display()
            ));
        }
    };
    head[at..at + to.len()].copy_from_slice(to.as_bytes());
    Ok((file, head))
}

/// Writes `head` over the start of the file and syncs it.
fn write_header(path: &FileArg, file: &std::fs::File, head: &[u8]) -> CliResult {
    use std::os::unix::fs::FileExt;
    file.write_all_at(head, 0)
        .map_err(|e| header_failed(path, "write", e))?;
    file.sync_all().map_err(|e| header_failed(path, "sync", e))
}

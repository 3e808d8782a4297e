//! `npmap create FILE --dtype f32 --shape 1000000,100 [--order C|F] [--fill zeros|range]`

use std::time::Instant;

use ndarray::{Dimension, IxDyn, ShapeBuilder};
use npmap::{DType, Element};

use crate::dispatch::with_element_type;
use crate::{CliResult, FileArg, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The .npy file to create (replaced if it exists).
    file: FileArg,
    /// Element type: f2 f4 f8, i1..i8, u1..u8, b1, c8 c16 (or <f4, float32, ...).
    #[arg(long)]
    dtype: String,
    /// Shape, e.g. 1000000,100.
    #[arg(long, value_delimiter = ',', required = true)]
    shape: Vec<usize>,
    /// Memory order.
    #[arg(long, default_value = "C", value_parser = ["C", "F"])]
    order: String,
    /// Contents.
    #[arg(long, default_value = "zeros", value_parser = ["zeros", "range"])]
    fill: String,
}

pub(crate) fn run(args: &Args) -> CliResult {
    let dtype = DType::parse(&args.dtype)?;
    let started = Instant::now();
    with_element_type!(dtype, T => create::<T>(args)?, else return fail(format!(
        "create makes numeric arrays; dtype '{}' is not one", dtype.descr()
    )));
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

/// Conversion from a flat index, for `--fill range` (as `np.arange(n).reshape(shape)`).
pub(crate) trait FromIndex: Element {
    fn from_index(i: usize) -> Self;
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
from_index_as!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl FromIndex for bool {
    fn from_index(i: usize) -> Self {
        i != 0
    }
}
impl FromIndex for half::f16 {
    fn from_index(i: usize) -> Self {
        half::f16::from_f64(i as f64)
    }
}
impl<T: num_traits_like::FromUsize + Send + Sync + 'static> FromIndex for num_complex::Complex<T>
where
    num_complex::Complex<T>: Element,
{
    fn from_index(i: usize) -> Self {
        num_complex::Complex::new(T::from_usize(i), T::from_usize(0))
    }
}

mod num_traits_like {
    pub(crate) trait FromUsize: Copy {
        fn from_usize(i: usize) -> Self;
    }
    impl FromUsize for f32 {
        fn from_usize(i: usize) -> Self {
            i as f32
        }
    }
    impl FromUsize for f64 {
        fn from_usize(i: usize) -> Self {
            i as f64
        }
    }
}

fn create<T: FromIndex>(args: &Args) -> CliResult {
    let shape = IxDyn(&args.shape).set_f(args.order == "F");
    // SAFETY: the new file is private to this process while it is mapped.
    let mut array = unsafe { npmap::create_npy::<T, IxDyn>(&args.file, shape) }?;
    if args.fill == "range" {
        let mut view = array.view_mut()?;
        let shape = view.shape().to_vec();
        let strides: Vec<usize> = (0..shape.len())
            .map(|k| shape[k + 1..].iter().product())
            .collect();
        view.indexed_iter_mut().for_each(|(index, value)| {
            let flat: usize = index.slice().iter().zip(&strides).map(|(i, s)| i * s).sum();
            *value = T::from_index(flat);
        });
    }
    array.flush()?;
    Ok(())
}

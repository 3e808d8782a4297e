//! The Rust element types of NumPy dtypes: the sealed [`Element`] trait (what a mapped
//! view may hold), how a file's dtype matches one, and choosing the element type of a
//! dtype known only at run time.

use half::f16;
use num_complex::Complex;

use crate::format::dtype::{ByteOrder, DType};

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that can be the element of a mapped or copied NumPy array.
///
/// Implemented for `bool`, `i8`..`i64`, `u8`..`u64`, [`half::f16`], `f32`, `f64`,
/// `Complex<f32>` and `Complex<f64>`. The trait is sealed.
///
/// ```
/// use npmap::Element;
/// assert_eq!(f32::dtype().descr(), if cfg!(target_endian = "little") { "<f4" } else { ">f4" });
/// assert_eq!(<bool as Element>::NAME, "bool");
/// ```
pub trait Element:
    bytemuck::CheckedBitPattern + bytemuck::NoUninit + Copy + Send + Sync + 'static + sealed::Sealed
{
    /// The Rust name of the type, for messages: what [`ErrorKind::DTypeMismatch`](crate::ErrorKind::DTypeMismatch)
    /// reports as `expected`.
    ///
    /// ```
    /// use npmap::Element;
    /// use npmap::num_complex::Complex;
    /// assert_eq!(<f32 as Element>::NAME, "f32");
    /// assert_eq!(<npmap::half::f16 as Element>::NAME, "f16");
    /// assert_eq!(<Complex<f64> as Element>::NAME, "Complex<f64>");
    /// ```
    const NAME: &'static str;
    /// The dtype of this type in native byte order.
    ///
    /// ```
    /// use npmap::{ByteOrder, DType, Element};
    /// use npmap::num_complex::Complex;
    /// assert_eq!(u16::dtype(), DType::UInt { size: 2, order: ByteOrder::NATIVE });
    /// assert_eq!(i8::dtype().descr(), "|i1");
    /// assert_eq!(bool::dtype(), DType::Bool);
    /// assert_eq!(Complex::<f32>::dtype().name(), "complex64");
    /// assert_eq!(npmap::half::f16::dtype().itemsize(), 2);
    /// ```
    fn dtype() -> DType;
    /// Bytes of one scalar component (the byte-swapping unit): 4 for `Complex<f32>`.
    #[doc(hidden)]
    const SWAP_UNIT: usize;
    /// A plain-old-data type of the same layout, to read raw bytes into.
    #[doc(hidden)]
    type Raw: bytemuck::Pod + Send + Sync;
    /// Turns raw items into elements; `Err((i, byte))` names the first invalid item.
    #[doc(hidden)]
    fn from_bits(bits: Vec<Self::Raw>) -> Result<Vec<Self>, (usize, u8)>;
    /// Views bytes as elements, validating each only where a type has invalid values
    /// (so that for plain numbers the cost does not grow with the length).
    #[doc(hidden)]
    fn cast_bytes(bytes: &[u8]) -> Result<&[Self], bytemuck::checked::CheckedCastError>;
    /// Mutable counterpart of `cast_bytes`.
    #[doc(hidden)]
    fn cast_bytes_mut(bytes: &mut [u8])
    -> Result<&mut [Self], bytemuck::checked::CheckedCastError>;
}

macro_rules! plain_element {
    ($($t:ty => $name:literal, $unit:expr, $dtype:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const NAME: &'static str = $name;
            const SWAP_UNIT: usize = $unit;
            type Raw = $t;
            fn dtype() -> DType {
                $dtype
            }
            fn from_bits(bits: Vec<$t>) -> Result<Vec<$t>, (usize, u8)> {
                Ok(bits)
            }
            fn cast_bytes(bytes: &[u8]) -> Result<&[$t], bytemuck::checked::CheckedCastError> {
                bytemuck::try_cast_slice(bytes).map_err(Into::into)
            }
            fn cast_bytes_mut(bytes: &mut [u8]) -> Result<&mut [$t], bytemuck::checked::CheckedCastError> {
                bytemuck::try_cast_slice_mut(bytes).map_err(Into::into)
            }
        }
    )*};
}

const N: ByteOrder = ByteOrder::NATIVE;
const NA: ByteOrder = ByteOrder::NotApplicable;

plain_element! {
    i8 => "i8", 1, DType::Int { size: 1, order: NA };
    i16 => "i16", 2, DType::Int { size: 2, order: N };
    i32 => "i32", 4, DType::Int { size: 4, order: N };
    i64 => "i64", 8, DType::Int { size: 8, order: N };
    u8 => "u8", 1, DType::UInt { size: 1, order: NA };
    u16 => "u16", 2, DType::UInt { size: 2, order: N };
    u32 => "u32", 4, DType::UInt { size: 4, order: N };
    u64 => "u64", 8, DType::UInt { size: 8, order: N };
    f16 => "f16", 2, DType::Float { size: 2, order: N };
    f32 => "f32", 4, DType::Float { size: 4, order: N };
    f64 => "f64", 8, DType::Float { size: 8, order: N };
    Complex<f32> => "Complex<f32>", 4, DType::Complex { size: 8, order: N };
    Complex<f64> => "Complex<f64>", 8, DType::Complex { size: 16, order: N };
}

impl sealed::Sealed for bool {}
impl Element for bool {
    const NAME: &'static str = "bool";
    const SWAP_UNIT: usize = 1;
    type Raw = u8;
    fn dtype() -> DType {
        DType::Bool
    }
    fn from_bits(bits: Vec<u8>) -> Result<Vec<bool>, (usize, u8)> {
        if let Some(bad) = bits.iter().position(|&b| b > 1) {
            return Err((bad, bits[bad]));
        }
        Ok(bits.into_iter().map(|b| b == 1).collect())
    }
    fn cast_bytes(bytes: &[u8]) -> Result<&[bool], bytemuck::checked::CheckedCastError> {
        bytemuck::checked::try_cast_slice(bytes)
    }
    fn cast_bytes_mut(
        bytes: &mut [u8],
    ) -> Result<&mut [bool], bytemuck::checked::CheckedCastError> {
        bytemuck::checked::try_cast_slice_mut(bytes)
    }
}

/// How a file's dtype relates to an element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElementMatch {
    /// Same type, native byte order: can be viewed in place.
    Native,
    /// Same type, other byte order: needs a byte-swapping copy.
    Swapped,
    /// A different type.
    Different,
}

/// Compares a file's dtype with the element type `A`.
pub(crate) fn match_element<A: Element>(file: &DType) -> ElementMatch {
    let wanted = A::dtype();
    if *file == wanted {
        ElementMatch::Native
    } else if file.to_native() == wanted {
        ElementMatch::Swapped
    } else {
        ElementMatch::Different
    }
}

/// Runs a block with a type alias bound to the Rust element type of a dtype read at
/// run time (in native byte order), or evaluates a fallback for dtypes with no element
/// type (strings, records, datetimes, ...). The `real` form leaves out complex numbers
/// (they have no order, so no min or max).
///
/// `with_element_type!(dtype, T => body, else other)` matches `dtype.to_native()`:
/// `bool`, `i8`..`i64`, `u8`..`u64`, `f16` ([`half::f16`]), `f32`, `f64`, and (unless
/// `real`) `Complex<f32>`, `Complex<f64>`; inside `body`, `T` names that type. This is
/// how a program dispatches once on a file's dtype and then works with typed views:
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("x.npy");
/// use npmap::ndarray::{IxDyn, arr1};
/// use npmap::{MmapMode, NpyFile, ParStats};
/// npmap::save_npy(&path, &arr1(&[1i16, 2, 3, 6]))?;
/// // SAFETY: nothing truncates or rewrites x.npy while it is mapped.
/// let file = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
/// let dtype = file.header().dtype.clone();
/// let mean = npmap::with_element_type!(real dtype, T => {
///     file.view::<T, IxDyn>()?.par_moments().mean()
/// }, else f64::NAN);
/// assert_eq!(mean, 3.0);
///
/// let name = npmap::with_element_type!(npmap::DType::parse("<c8")?, T => {
///     std::any::type_name::<T>()
/// }, else "none");
/// assert!(name.ends_with("Complex<f32>"));
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! with_element_type {
    (real $dtype:expr, $T:ident => $body:expr, else $other:expr) => {
        $crate::with_element_type!(@match $dtype, $T, $body, $other, [
            ($crate::DType::Complex { .. }) => $other
        ])
    };
    ($dtype:expr, $T:ident => $body:expr, else $other:expr) => {
        $crate::with_element_type!(@match $dtype, $T, $body, $other, [
            ($crate::DType::Complex { size: 8, .. }) => {
                type $T = $crate::num_complex::Complex<f32>;
                $body
            },
            ($crate::DType::Complex { size: 16, .. }) => {
                type $T = $crate::num_complex::Complex<f64>;
                $body
            }
        ])
    };
    (@match $dtype:expr, $T:ident, $body:expr, $other:expr, [$(($pat:pat) => $arm:expr),*]) => {{
        use $crate::DType;
        match $dtype.to_native() {
            DType::Bool => {
                type $T = bool;
                $body
            }
            DType::Int { size: 1, .. } => {
                type $T = i8;
                $body
            }
            DType::Int { size: 2, .. } => {
                type $T = i16;
                $body
            }
            DType::Int { size: 4, .. } => {
                type $T = i32;
                $body
            }
            DType::Int { size: 8, .. } => {
                type $T = i64;
                $body
            }
            DType::UInt { size: 1, .. } => {
                type $T = u8;
                $body
            }
            DType::UInt { size: 2, .. } => {
                type $T = u16;
                $body
            }
            DType::UInt { size: 4, .. } => {
                type $T = u32;
                $body
            }
            DType::UInt { size: 8, .. } => {
                type $T = u64;
                $body
            }
            DType::Float { size: 2, .. } => {
                type $T = $crate::half::f16;
                $body
            }
            DType::Float { size: 4, .. } => {
                type $T = f32;
                $body
            }
            DType::Float { size: 8, .. } => {
                type $T = f64;
                $body
            }
            $($pat => $arm,)*
            _ => $other,
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DType {
        DType::parse(s).unwrap()
    }

    #[test]
    fn elements_match_native_and_swapped_files() {
        let other = if cfg!(target_endian = "little") {
            ">f4"
        } else {
            "<f4"
        };
        assert_eq!(match_element::<f32>(&f32::dtype()), ElementMatch::Native);
        assert_eq!(match_element::<f32>(&p(other)), ElementMatch::Swapped);
        assert_eq!(match_element::<f64>(&p(other)), ElementMatch::Different);
        assert_eq!(match_element::<u8>(&p("|u1")), ElementMatch::Native);
    }
}

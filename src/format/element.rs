//! Choosing the Rust element type of a dtype known only at run time.

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

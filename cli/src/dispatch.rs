//! Choosing the Rust element type from a dtype read at run time.

/// Runs `$body` with the type alias `$T` bound to the element type of `$dtype`
/// (in native byte order), or evaluates `$other` for dtypes with no element type.
/// The `real` form leaves out complex numbers (they have no order, so no min/max).
macro_rules! with_element_type {
    (real $dtype:expr, $T:ident => $body:expr, else $other:expr) => {
        $crate::dispatch::with_element_type!(@match $dtype, $T, $body, $other, [
            (npmap::DType::Complex { .. }) => $other
        ])
    };
    ($dtype:expr, $T:ident => $body:expr, else $other:expr) => {
        $crate::dispatch::with_element_type!(@match $dtype, $T, $body, $other, [
            (npmap::DType::Complex { size: 8, .. }) => {
                type $T = npmap::num_complex::Complex<f32>;
                $body
            },
            (npmap::DType::Complex { size: 16, .. }) => {
                type $T = npmap::num_complex::Complex<f64>;
                $body
            }
        ])
    };
    (@match $dtype:expr, $T:ident, $body:expr, $other:expr, [$(($pat:pat) => $arm:expr),*]) => {{
        use npmap::DType;
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
                type $T = npmap::half::f16;
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

pub(crate) use with_element_type;

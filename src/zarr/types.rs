//! npmap's dtypes as Zarr data types and back, the zero fill values npmap writes, and
//! the element trait that ties npmap's [`Element`] to zarrs' element traits.

use zarrs::array::{DataType, data_type};

use crate::format::dtype::DType;
use crate::format::element::Element;

mod sealed {
    /// zarrs' element traits, kept out of npmap's public API.
    pub trait Sealed: zarrs::array::Element + zarrs::array::ElementOwned {}
}

/// The element types a Zarr array of npmap's can hold: `bool`, `i8`-`i64`, `u8`-`u64`,
/// `f16`, `f32`, `f64`, `Complex<f32>` and `Complex<f64>` — every numeric dtype npmap
/// reads. Sealed: implemented for those types only.
///
/// ```
/// fn takes<A: npmap::zarr::ZarrElement>() {}
/// takes::<f32>();
/// takes::<npmap::num_complex::Complex<f64>>();
/// ```
pub trait ZarrElement: Element + sealed::Sealed {}

macro_rules! zarr_element {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl ZarrElement for $t {}
    )*};
}

zarr_element!(
    bool,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    half::f16,
    f32,
    f64,
    num_complex::Complex<f32>,
    num_complex::Complex<f64>
);

/// The Zarr data type of `dtype` (byte order aside: chunks are written little-endian),
/// or `None` for a dtype Zarr arrays of npmap's do not hold.
pub(super) fn zarr_data_type(dtype: &DType) -> Option<DataType> {
    Some(match dtype {
        DType::Bool => data_type::bool(),
        DType::Int { size: 1, .. } => data_type::int8(),
        DType::Int { size: 2, .. } => data_type::int16(),
        DType::Int { size: 4, .. } => data_type::int32(),
        DType::Int { size: 8, .. } => data_type::int64(),
        DType::UInt { size: 1, .. } => data_type::uint8(),
        DType::UInt { size: 2, .. } => data_type::uint16(),
        DType::UInt { size: 4, .. } => data_type::uint32(),
        DType::UInt { size: 8, .. } => data_type::uint64(),
        DType::Float { size: 2, .. } => data_type::float16(),
        DType::Float { size: 4, .. } => data_type::float32(),
        DType::Float { size: 8, .. } => data_type::float64(),
        DType::Complex { size: 8, .. } => data_type::complex64(),
        DType::Complex { size: 16, .. } => data_type::complex128(),
        _ => return None,
    })
}

/// The dtype (in this machine's byte order, as zarrs decodes) of a Zarr data type, or
/// `None` for one npmap does not handle (strings, datetimes, sub-byte and 8-bit floats,
/// optional types, ...).
pub(super) fn npmap_dtype(data_type: &DataType) -> Option<DType> {
    use num_complex::Complex;
    use zarrs::array::data_type::*;
    let t = data_type;
    Some(if t.is::<BoolDataType>() {
        bool::dtype()
    } else if t.is::<Int8DataType>() {
        i8::dtype()
    } else if t.is::<Int16DataType>() {
        i16::dtype()
    } else if t.is::<Int32DataType>() {
        i32::dtype()
    } else if t.is::<Int64DataType>() {
        i64::dtype()
    } else if t.is::<UInt8DataType>() {
        u8::dtype()
    } else if t.is::<UInt16DataType>() {
        u16::dtype()
    } else if t.is::<UInt32DataType>() {
        u32::dtype()
    } else if t.is::<UInt64DataType>() {
        u64::dtype()
    } else if t.is::<Float16DataType>() {
        half::f16::dtype()
    } else if t.is::<Float32DataType>() {
        f32::dtype()
    } else if t.is::<Float64DataType>() {
        f64::dtype()
    } else if t.is::<Complex64DataType>() || t.is::<ComplexFloat32DataType>() {
        Complex::<f32>::dtype()
    } else if t.is::<Complex128DataType>() || t.is::<ComplexFloat64DataType>() {
        Complex::<f64>::dtype()
    } else {
        return None;
    })
}

/// The fill value npmap writes, as Zarr v2's `.zarray` spells it (what zarr-python
/// writes by default): `false`, `0`, `0.0` or `[0.0, 0.0]`.
pub(super) fn zero_fill_json(dtype: &DType) -> serde_json::Value {
    match dtype {
        DType::Bool => serde_json::json!(false),
        DType::Float { .. } => serde_json::json!(0.0),
        DType::Complex { .. } => serde_json::json!([0.0, 0.0]),
        _ => serde_json::json!(0),
    }
}

//! The leaf fields of a structured dtype, by dotted path (`pos.x`), for
//! `stats --field` and the per-field summary. Printing records is the library's
//! (`npmap::display`).

use npmap::DType;

/// Every leaf field of a record dtype: (dotted path, element dtype, sub-array shape),
/// as the library's [`DType::leaf_fields`] finds them.
pub(crate) fn leaf_fields(dtype: &DType) -> Vec<(String, DType, Vec<usize>)> {
    dtype
        .leaf_fields()
        .into_iter()
        .map(|l| (l.path, l.dtype, l.shape))
        .collect()
}

//! The leaf fields of a structured dtype, by dotted path (`pos.x`), for
//! `stats --field` and the per-field summary. Printing records is the library's
//! (`npmap::display`).

use npmap::DType;

/// Every leaf field of a record dtype: (dotted path, element dtype, sub-array shape).
/// Paths go through nested records and sub-arrays of records; the shape is that of
/// NumPy's `a[path]` after the array's axes (the sub-arrays passed through, then the
/// field's own, a sub-array of a sub-array flattened), the dtype the innermost element.
pub(crate) fn leaf_fields(dtype: &DType) -> Vec<(String, DType, Vec<usize>)> {
    fn go(
        dtype: &DType,
        prefix: &str,
        outer: &[usize],
        out: &mut Vec<(String, DType, Vec<usize>)>,
    ) {
        let DType::Record { fields, .. } = dtype else {
            return;
        };
        for f in fields {
            let path = format!("{prefix}{}", f.name);
            let mut shape: Vec<usize> = outer.iter().chain(&f.shape).copied().collect();
            let mut elem = &f.dtype;
            while let DType::SubArray { base, shape: inner } = elem {
                shape.extend_from_slice(inner);
                elem = base;
            }
            match elem {
                DType::Record { .. } => go(elem, &format!("{path}."), &shape, out),
                other => out.push((path, other.clone(), shape)),
            }
        }
    }
    let mut out = Vec::new();
    go(dtype, "", &[], &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fields_are_dotted_paths() {
        let dtype =
            DType::parse("[('id', '<i4'), ('pos', [('x', '<f8'), ('k', '<i2', (2,))])]").unwrap();
        let paths: Vec<String> = leaf_fields(&dtype).into_iter().map(|(p, _, _)| p).collect();
        assert_eq!(paths, ["id", "pos.x", "pos.k"]);
    }

    #[test]
    fn paths_go_through_subarrays_of_records_and_flatten_nested_subarrays() {
        let dtype = DType::parse(
            "[('s', ([('a', '<i4'), ('b', '<f8', (2,))], (2,)), (3,)), ('c', ('<f4', (5,)), (2,))]",
        )
        .unwrap();
        let leaves: Vec<(String, String, Vec<usize>)> = leaf_fields(&dtype)
            .into_iter()
            .map(|(p, d, s)| (p, d.descr(), s))
            .collect();
        assert_eq!(
            leaves,
            [
                ("s.a".to_string(), "<i4".to_string(), vec![3, 2]),
                ("s.b".to_string(), "<f8".to_string(), vec![3, 2, 2]),
                ("c".to_string(), "<f4".to_string(), vec![2, 5]),
            ]
        );
    }
}

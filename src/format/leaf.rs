//! The leaf fields of a record dtype: every non-record field, reached through nested
//! records and sub-arrays of records by a dotted path (`pos.x`, `s.a`), with the shape
//! NumPy's `a[path]` adds after the array's own axes.

use crate::format::dtype::DType;

/// One leaf field of a record dtype ([`DType::leaf_fields`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LeafField {
    /// The dotted path: field names from the outermost record in, joined by `.`.
    pub path: String,
    /// The element dtype (never a record or a sub-array).
    pub dtype: DType,
    /// The shape of one record's worth of the field: the sub-arrays passed through,
    /// then the field's own (a sub-array of a sub-array flattened), as NumPy's
    /// `a[path].shape` after the array's axes.
    pub shape: Vec<usize>,
}

impl DType {
    /// Every leaf field, depth first in field order; empty for a dtype that is not a
    /// record.
    ///
    /// ```
    /// use npmap::DType;
    /// let d = DType::parse("[('id', '<i4'), ('s', [('a', '<f8'), ('b', '<i2', (2,))], (3,))]")?;
    /// let leaves: Vec<(String, String, Vec<usize>)> =
    ///     d.leaf_fields().into_iter().map(|l| (l.path, l.dtype.descr(), l.shape)).collect();
    /// assert_eq!(
    ///     leaves,
    ///     [
    ///         ("id".to_string(), "<i4".to_string(), vec![]),
    ///         ("s.a".to_string(), "<f8".to_string(), vec![3]),
    ///         ("s.b".to_string(), "<i2".to_string(), vec![3, 2]),
    ///     ]
    /// );
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub fn leaf_fields(&self) -> Vec<LeafField> {
        let DType::Record { fields, .. } = self else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // Depth first without recursion, so a deeply nested record costs no stack:
        // each level is (its fields, the next one to visit, path prefix, shape so far).
        let mut stack = vec![(fields.as_slice(), 0usize, String::new(), Vec::new())];
        while let Some((fields, next, prefix, outer)) = stack.last_mut() {
            let Some(f) = fields.get(*next) else {
                stack.pop();
                continue;
            };
            *next += 1;
            let path = format!("{prefix}{}", f.name);
            let mut shape: Vec<usize> = outer.iter().chain(&f.shape).copied().collect();
            let mut elem = &f.dtype;
            while let DType::SubArray { base, shape: inner } = elem {
                shape.extend_from_slice(inner);
                elem = base;
            }
            match elem {
                DType::Record { fields, .. } => {
                    stack.push((fields.as_slice(), 0, format!("{path}."), shape));
                }
                other => out.push(LeafField {
                    path,
                    dtype: other.clone(),
                    shape,
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_nested_between_fields_keeps_field_order() {
        let dtype = DType::parse("[('a', '<i4'), ('r', [('x', '<f8')]), ('z', '|u1')]").unwrap();
        let paths: Vec<String> = dtype.leaf_fields().into_iter().map(|l| l.path).collect();
        assert_eq!(paths, ["a", "r.x", "z"]);
        assert!(DType::parse("<f4").unwrap().leaf_fields().is_empty());
    }

    #[test]
    fn nested_fields_are_dotted_paths() {
        let dtype =
            DType::parse("[('id', '<i4'), ('pos', [('x', '<f8'), ('k', '<i2', (2,))])]").unwrap();
        let paths: Vec<String> = dtype.leaf_fields().into_iter().map(|l| l.path).collect();
        assert_eq!(paths, ["id", "pos.x", "pos.k"]);
    }

    #[test]
    fn paths_go_through_subarrays_of_records_and_flatten_nested_subarrays() {
        let dtype = DType::parse(
            "[('s', ([('a', '<i4'), ('b', '<f8', (2,))], (2,)), (3,)), ('c', ('<f4', (5,)), (2,))]",
        )
        .unwrap();
        let leaves: Vec<(String, String, Vec<usize>)> = dtype
            .leaf_fields()
            .into_iter()
            .map(|l| (l.path, l.dtype.descr(), l.shape))
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

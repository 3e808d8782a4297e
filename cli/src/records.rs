//! The leaf fields of a structured dtype, by dotted path (`pos.x`), for
//! `stats --field` and the per-field summary. Printing records is the library's
//! (`npmap::display`).

use npmap::DType;

/// Every leaf field of a record dtype: (dotted path, element dtype, sub-array shape).
pub(crate) fn leaf_fields(dtype: &DType) -> Vec<(String, DType, Vec<usize>)> {
    fn go(dtype: &DType, prefix: &str, out: &mut Vec<(String, DType, Vec<usize>)>) {
        if let DType::Record { fields, .. } = dtype {
            for f in fields {
                let path = format!("{prefix}{}", f.name);
                match &f.dtype {
                    DType::Record { .. } if f.shape.is_empty() => {
                        go(&f.dtype, &format!("{path}."), out)
                    }
                    other => out.push((path, other.clone(), f.shape.clone())),
                }
            }
        }
    }
    let mut out = Vec::new();
    go(dtype, "", &mut out);
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
}

//! NumPy `descr` text: parsing type strings (`<f4`, `>M8[ns]`, `float32`) and the
//! Python list of a structured dtype into [`DType`], and rendering it back as `np.save`
//! writes it.

use std::fmt::Write as _;

use crate::format::dtype::{DType, Field, python_repr_shape};
use crate::format::literal::{Literal, python_repr_str};
use crate::format::typestr::{DescrError, invalid, parse_type_str};

impl DType {
    /// Parses NumPy `descr` text: a type string such as `<f4`, the Python text of a
    /// structured descr such as `[('a', '<i4'), ('b', '<f8', (2,))]`, or a sub-array
    /// type `('<f8', (5,))` ([`DType::SubArray`]).
    ///
    /// Everything `np.dtype` reads in a descr is read the same way: the grammar is
    /// NumPy's `descr_to_dtype`, recursive (a field's format may be a `(base, shape)`
    /// tuple or a list of fields, to any depth); type strings may be NumPy's one-letter
    /// type codes (`d` is `float64`, `f` is `float32`, `b` is `int8`, `c` is `S1`) and
    /// type names (`float64`, `float`, `int`, `double`, `bool`, `complex64`,
    /// `datetime64[ns]`, ...); `=`, `|` and a missing order character mean the native
    /// order. A field named `''` is padding only when its type is void or a sub-array,
    /// as in NumPy; any other is a field of that name.
    ///
    /// ```
    /// use npmap::{ByteOrder, DType, ErrorKind};
    /// assert_eq!(DType::parse(">i8").unwrap(), DType::Int { size: 8, order: ByteOrder::Big });
    /// assert_eq!(DType::parse("float32").unwrap(), DType::parse("=f4").unwrap());
    /// assert_eq!(DType::parse("float").unwrap(), DType::parse("=f8").unwrap());
    /// assert_eq!(DType::parse("[('', '<i4')]").unwrap().descr(), "[('', '<i4')]");
    /// let nested = "[('s', [('a', '<i4'), ('b', '<f8')], (3,)), ('c', ('<f8', (5,)), (2,))]";
    /// assert_eq!(DType::parse(nested).unwrap().descr(), nested);
    /// assert!(matches!(DType::parse("|O").as_ref().map_err(|e| e.kind()), Err(ErrorKind::UnsupportedDType { .. })));
    /// assert!(matches!(DType::parse("<f3").as_ref().map_err(|e| e.kind()), Err(ErrorKind::BadDescr { .. })));
    /// assert!(matches!(DType::parse(">m[us]").as_ref().map_err(|e| e.kind()), Err(ErrorKind::BadDescr { .. }))); // no item size
    /// ```
    ///
    /// # Errors
    ///
    /// Errors carry no path; offsets count from the start of `descr`.
    ///
    /// - [`ErrorKind::BadDescr`](crate::ErrorKind::BadDescr) when the text is not a dtype NumPy
    ///   accepts (an unknown type, a bad size or unit, a unit without the item size as
    ///   in `m[us]`, field names or titles used twice, a size that overflows).
    /// - [`ErrorKind::UnsupportedDType`](crate::ErrorKind::UnsupportedDType) for dtypes npmap does
    ///   not represent: object arrays (`O`), variable-width strings (`T`) and the
    ///   platform-dependent long doubles (`g`, `G`, `f10`, `f12`, `f16`, `c20`, `c24`,
    ///   `c32`).
    /// - [`ErrorKind::HeaderSyntax`](crate::ErrorKind::HeaderSyntax) when a structured descr is not
    ///   a Python literal, and [`ErrorKind::HeaderNesting`](crate::ErrorKind::HeaderNesting) when it
    ///   nests deeper than the default [`HeaderOptions::max_depth`](crate::HeaderOptions::max_depth).
    pub fn parse(descr: &str) -> crate::Result<DType> {
        let text = if descr.trim_start().starts_with(['[', '(', '\'', '"']) {
            descr.to_string()
        } else {
            python_repr_str(descr)
        };
        let literal = crate::format::literal::parse(&text, &crate::HeaderOptions::default())
            .map_err(|e| e.into_error(0))?;
        DType::from_literal(&literal).map_err(|e| e.into_error())
    }

    /// Builds a dtype from a parsed `descr` value, following NumPy's `descr_to_dtype`:
    /// a type string, a list of fields, or a `(base, shape)` sub-array tuple. The
    /// recursion is as deep as the literal, whose nesting the literal parser bounds
    /// ([`HeaderOptions::max_depth`](crate::HeaderOptions::max_depth)).
    pub(crate) fn from_literal(value: &Literal) -> Result<DType, DescrError> {
        match value {
            Literal::Str(s) => parse_type_str(s),
            Literal::List(items) => parse_record(items),
            Literal::Tuple(parts) => match parts.as_slice() {
                [base, shape] => subarray(DType::from_literal(base)?, parse_subarray_shape(shape)?),
                _ => Err(DescrError::Invalid {
                    reason: "a sub-array type must be a (base, shape) pair".into(),
                    found: value.to_string(),
                }),
            },
            other => Err(DescrError::Invalid {
                reason: "expected a type string, a list of fields or a (base, shape) pair".into(),
                found: other.to_string(),
            }),
        }
    }

    /// NumPy's canonical `descr` text, as `np.save` writes it inside the header:
    /// `<f4`, `|b1`, `<U3`, `<M8[ns]`, or for records the Python text of the list,
    /// `[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))]`. `Display` prints the same.
    ///
    /// ```
    /// use npmap::{ByteOrder, DType};
    /// assert_eq!(DType::Float { size: 4, order: ByteOrder::Little }.descr(), "<f4");
    /// assert_eq!(DType::Bool.descr(), "|b1");
    /// assert_eq!(DType::parse("int8")?.descr(), "|i1");
    /// assert_eq!(DType::parse(">M8[ns]")?.to_string(), ">M8[ns]");
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub fn descr(&self) -> String {
        match self {
            DType::Record { .. } | DType::SubArray { .. } => self.descr_literal(),
            _ => self.type_str(),
        }
    }

    /// The header's `descr` value as Python source, as NumPy's `dtype.descr` gives it:
    /// the type string quoted (`'<f4'`), the record list, or a sub-array's
    /// `(base, shape)` tuple.
    pub(crate) fn descr_literal(&self) -> String {
        let mut out = String::new();
        self.write_descr_value(&mut out);
        out
    }

    fn type_str(&self) -> String {
        let order = self.byte_order().as_char();
        match self {
            DType::Bool => "|b1".into(),
            DType::Int { size, .. } => format!("{order}i{size}"),
            DType::UInt { size, .. } => format!("{order}u{size}"),
            DType::Float { size, .. } => format!("{order}f{size}"),
            DType::Complex { size, .. } => format!("{order}c{size}"),
            DType::Bytes { len } => format!("|S{len}"),
            DType::Unicode { chars, .. } => format!("{order}U{chars}"),
            DType::Void { size } => format!("|V{size}"),
            DType::DateTime { unit, .. } => format!("{order}M8{unit}"),
            DType::TimeDelta { unit, .. } => format!("{order}m8{unit}"),
            DType::Record { .. } | DType::SubArray { .. } => format!("|V{}", self.itemsize()),
        }
    }

    /// NumPy's `_array_descr`: a scalar's quoted type string, a sub-array's
    /// `(base, shape)`, a record's list of fields with `('', '|V<n>')` for the gaps.
    fn write_descr_value(&self, out: &mut String) {
        match self {
            DType::Record { fields, itemsize } => write_record(fields, *itemsize, out),
            DType::SubArray { base, shape } => {
                out.push('(');
                base.write_descr_value(out);
                out.push_str(", ");
                out.push_str(&python_repr_shape(shape));
                out.push(')');
            }
            _ => out.push_str(&python_repr_str(&self.type_str())),
        }
    }
}

fn write_record(fields: &[Field], itemsize: usize, out: &mut String) {
    out.push('[');
    let mut offset = 0;
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !std::mem::take(&mut first) {
            out.push_str(", ");
        }
    };
    for field in fields {
        if field.offset > offset {
            sep(out);
            let _ = write!(out, "('', '|V{}')", field.offset - offset);
        }
        sep(out);
        out.push('(');
        match &field.title {
            Some(title) => {
                let _ = write!(
                    out,
                    "({}, {})",
                    python_repr_str(title),
                    python_repr_str(&field.name)
                );
            }
            None => out.push_str(&python_repr_str(&field.name)),
        }
        out.push_str(", ");
        field.dtype.write_descr_value(out);
        if !field.shape.is_empty() {
            out.push_str(", ");
            out.push_str(&python_repr_shape(&field.shape));
        }
        out.push(')');
        offset = field.offset.saturating_add(field.size());
    }
    if itemsize > offset {
        sep(out);
        let _ = write!(out, "('', '|V{}')", itemsize - offset);
    }
    out.push(']');
}

/// `base` as a sub-array of `shape` (NumPy's `np.dtype((base, shape))`): `base` itself
/// for an empty shape; the size checked.
fn subarray(base: DType, shape: Vec<usize>) -> Result<DType, DescrError> {
    if shape.is_empty() {
        return Ok(base);
    }
    let size = shape
        .iter()
        .try_fold(base.itemsize(), |acc, &d| acc.checked_mul(d))
        .filter(|&s| s <= isize::MAX as usize);
    if size.is_none() {
        return Err(invalid(
            "sub-array size overflows the address space",
            &format!("({}, {})", base.descr(), python_repr_shape(&shape)),
        ));
    }
    Ok(DType::SubArray {
        base: Box::new(base),
        shape,
    })
}

/// Parses a structured descr, as NumPy's `descr_to_dtype`: a list of `(name, format)`
/// or `(name, format, shape)`, fields laid out one after another. An entry named `''`
/// (no title) whose type is void or a sub-array is padding; any other `''` entry is a
/// field of that name, as NumPy keeps it. Names and titles share one namespace.
fn parse_record(items: &[Literal]) -> Result<DType, DescrError> {
    let mut fields: Vec<Field> = Vec::with_capacity(items.len());
    let mut names = std::collections::HashSet::with_capacity(items.len());
    let mut offset: usize = 0;
    for item in items {
        let (title, name, whole) = parse_entry(item)?;
        let size = whole.itemsize();
        let is_padding = title.is_none()
            && name.is_empty()
            && matches!(whole, DType::Void { .. } | DType::SubArray { .. });
        if !is_padding {
            for key in title.iter().chain([&name]) {
                if !names.insert(key.clone()) {
                    return Err(invalid("field name or title occurs more than once", key));
                }
            }
            let (dtype, shape) = match whole {
                DType::SubArray { base, shape } => (*base, shape),
                other => (other, Vec::new()),
            };
            fields.push(Field {
                name,
                title,
                dtype,
                shape,
                offset,
            });
        }
        offset = offset
            .checked_add(size)
            .filter(|&end| end <= isize::MAX as usize)
            .ok_or_else(|| invalid("record size overflows", &item.to_string()))?;
    }
    Ok(DType::Record {
        fields,
        itemsize: offset,
    })
}

/// One entry of a record list: its title, its name, and its whole type (the format,
/// as a sub-array when the entry has a shape).
fn parse_entry(item: &Literal) -> Result<(Option<String>, String, DType), DescrError> {
    let bad_entry = || DescrError::Invalid {
        reason: "a field must be a tuple (name, format[, shape])".into(),
        found: item.to_string(),
    };
    let Literal::Tuple(parts) = item else {
        return Err(bad_entry());
    };
    let (name_part, format, shape_part) = match parts.as_slice() {
        [n, f] => (n, f, None),
        [n, f, s] => (n, f, Some(s)),
        _ => return Err(bad_entry()),
    };
    let (title, name) = match name_part {
        Literal::Str(n) => (None, n.clone()),
        Literal::Tuple(tn) => match tn.as_slice() {
            [Literal::Str(t), Literal::Str(n)] => (Some(t.clone()), n.clone()),
            _ => {
                return Err(DescrError::Invalid {
                    reason: "a field title must be a (title, name) pair of strings".into(),
                    found: name_part.to_string(),
                });
            }
        },
        other => {
            return Err(DescrError::Invalid {
                reason: "a field name must be a string".into(),
                found: other.to_string(),
            });
        }
    };
    let dtype = DType::from_literal(format)?;
    let whole = match shape_part {
        None => dtype,
        Some(s) => subarray(dtype, parse_subarray_shape(s)?)?,
    };
    Ok((title, name, whole))
}

fn parse_subarray_shape(value: &Literal) -> Result<Vec<usize>, DescrError> {
    let dims: Vec<&Literal> = match value {
        Literal::Int(_) => vec![value],
        Literal::Tuple(items) => items.iter().collect(),
        other => {
            return Err(DescrError::Invalid {
                reason: "a sub-array shape must be an int or a tuple of ints".into(),
                found: other.to_string(),
            });
        }
    };
    dims.into_iter()
        .map(|d| match d {
            Literal::Int(v) if *v >= 0 && *v <= isize::MAX as i128 => Ok(*v as usize),
            other => Err(DescrError::Invalid {
                reason: "a sub-array dimension must be a non-negative int".into(),
                found: other.to_string(),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::format::dtype::{ByteOrder, DType};

    fn p(s: &str) -> DType {
        DType::parse(s).unwrap()
    }

    #[test]
    fn records_keep_empty_names_numpy_keeps_and_reject_duplicates() {
        assert!(DType::parse("[('a', '<i4'), ('a', '<f8')]").is_err());
        assert!(DType::parse("[('', '<i4'), ('', '<f8')]").is_err());
        // A title shares the namespace of names, as in NumPy.
        assert!(DType::parse("[(('a', 'x'), '<i4'), ('a', '<f8')]").is_err());
        // NumPy's descr_to_dtype: '' is padding only for void and sub-array entries.
        let kept = p("[('', '<i4'), ('b', '<f8')]");
        let DType::Record { fields, itemsize } = &kept else {
            panic!("not a record")
        };
        assert_eq!(
            (fields.len(), fields[0].name.as_str(), *itemsize),
            (2, "", 12)
        );
        assert_eq!(kept.descr(), "[('', '<i4'), ('b', '<f8')]");
        for (padded, rendered) in [
            (
                "[('', '<i4', (2,)), ('b', '<f8')]",
                "[('', '|V8'), ('b', '<f8')]",
            ),
            (
                "[('', '|V4', (2,)), ('b', '<f8')]",
                "[('', '|V8'), ('b', '<f8')]",
            ),
            (
                "[('', [('x', '<i2')], (2,)), ('b', '<f8')]",
                "[('', '|V4'), ('b', '<f8')]",
            ),
        ] {
            assert_eq!(p(padded).descr(), rendered, "{padded}");
        }
        for kept in [
            "[('', [('x', '<i2')]), ('b', '<f8')]",
            "[('', '|S4'), ('b', '<f8')]",
            "[(('t', ''), '<i4'), ('b', '<f8')]",
        ] {
            assert_eq!(p(kept).descr(), kept);
        }
    }

    #[test]
    fn nested_subarrays_keep_their_nesting() {
        for (text, itemsize, rendered) in [
            ("[('c', ('<f8', (5,)), (2,))]", 80, None),
            ("[('c', (('<f8', (5,)), (3,)), (2,))]", 240, None),
            ("[('s', [('a', '<i4'), ('b', '<f8')], (3,))]", 36, None),
            (
                "[('s', ([('a', '<i4'), ('b', '<f8', (2,))], (2,)), (3,))]",
                120,
                None,
            ),
            ("[('z', '<i4', (3, 0, 7))]", 0, None),
            // NumPy's normal forms: a (base, shape) format with no outer shape is a
            // plain sub-array field; an empty shape is no sub-array.
            ("[('c', ('<f8', (5,)))]", 40, Some("[('c', '<f8', (5,))]")),
            (
                "[('c', ('<f8', 5), 2)]",
                80,
                Some("[('c', ('<f8', (5,)), (2,))]"),
            ),
            (
                "[('c', ('<f8', ()), (2,))]",
                16,
                Some("[('c', '<f8', (2,))]"),
            ),
            (
                "[('c', ('<f8', (5,)), ())]",
                40,
                Some("[('c', '<f8', (5,))]"),
            ),
        ] {
            let d = p(text);
            assert_eq!(d.itemsize(), itemsize, "{text}");
            assert_eq!(d.descr(), rendered.unwrap_or(text), "{text}");
            assert_eq!(p(&d.descr()), d, "{text}");
        }
        let d = p("[('c', (('>f8', (5,)), (3,)), (2,))]");
        assert!(!d.is_native_order() || cfg!(target_endian = "big"));
        assert_eq!(
            d.with_order(ByteOrder::Little).descr(),
            "[('c', (('<f8', (5,)), (3,)), (2,))]"
        );
        assert_eq!(d.name(), "void1920");
    }

    #[test]
    fn subarray_sizes_are_checked() {
        let huge = format!("[('c', ('<f8', ({},)), (2,))]", usize::MAX / 4);
        assert!(matches!(
            DType::parse(&huge).unwrap_err().kind(),
            crate::ErrorKind::BadDescr { .. }
        ));
        let deep = format!("[('c', {}'<f8'{})]", "(".repeat(200), ", 2)".repeat(200));
        assert!(matches!(
            DType::parse(&deep).unwrap_err().kind(),
            crate::ErrorKind::HeaderNesting { .. }
        ));
        assert!(DType::parse("('<f8', (2, 3, 4))").is_ok());
        assert!(DType::parse("('<f8', (2,), 3)").is_err());
    }
}

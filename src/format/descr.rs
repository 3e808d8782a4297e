//! NumPy `descr` text: parsing type strings (`<f4`, `>M8[ns]`, `float32`) and the
//! Python list of a structured dtype into [`DType`], and rendering it back as `np.save`
//! writes it.

use std::fmt::Write as _;

use crate::error::ErrorKind;
use crate::format::dtype::{ByteOrder, DType, Field, TimeUnit, python_repr_shape};
use crate::format::literal::{Literal, python_repr_str};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DescrError {
    /// Not a dtype NumPy would accept.
    Invalid { reason: String, found: String },
    /// A dtype NumPy has that npmap cannot represent.
    Unsupported { descr: String, reason: &'static str },
}

impl DType {
    /// Parses NumPy `descr` text: a type string such as `<f4`, or the Python text of a
    /// structured descr such as `[('a', '<i4'), ('b', '<f8', (2,))]`.
    ///
    /// Type strings may also be NumPy's type names (`float64`, `int8`, ...); `=` and a
    /// missing order character mean the native order.
    ///
    /// ```
    /// use npmap::{ByteOrder, DType, ErrorKind};
    /// assert_eq!(DType::parse(">i8").unwrap(), DType::Int { size: 8, order: ByteOrder::Big });
    /// assert_eq!(DType::parse("float32").unwrap(), DType::parse("=f4").unwrap());
    /// assert!(matches!(DType::parse("|O").as_ref().map_err(|e| e.kind()), Err(ErrorKind::UnsupportedDType { .. })));
    /// assert!(matches!(DType::parse("<f3").as_ref().map_err(|e| e.kind()), Err(ErrorKind::BadDescr { .. })));
    /// ```
    ///
    /// # Errors
    ///
    /// Errors carry no path; offsets count from the start of `descr`.
    ///
    /// - [`ErrorKind::BadDescr`](crate::ErrorKind::BadDescr) when the text is not a dtype NumPy
    ///   accepts (an unknown type, a bad size or unit, duplicate or empty field names).
    /// - [`ErrorKind::UnsupportedDType`](crate::ErrorKind::UnsupportedDType) for dtypes npmap does
    ///   not represent: object arrays (`O`) and the platform-dependent long doubles
    ///   (`f10`, `f12`, `f16`, `c20`, `c24`, `c32`).
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

    /// Builds a dtype from the parsed `descr` value of a header.
    pub(crate) fn from_literal(value: &Literal) -> Result<DType, DescrError> {
        match value {
            Literal::Str(s) => parse_type_str(s),
            Literal::List(items) => parse_record(items),
            other => Err(DescrError::Invalid {
                reason: "expected a type string or a list of fields".into(),
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
            DType::Record { .. } => {
                let mut out = String::new();
                self.write_record_descr(&mut out);
                out
            }
            _ => self.type_str(),
        }
    }

    /// The header's `descr` value as Python source: the type string quoted (`'<f4'`), or
    /// the record list.
    pub(crate) fn descr_literal(&self) -> String {
        match self {
            DType::Record { .. } => self.descr(),
            _ => python_repr_str(&self.type_str()),
        }
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
            DType::Record { itemsize, .. } => format!("|V{itemsize}"),
        }
    }

    fn write_record_descr(&self, out: &mut String) {
        let DType::Record { fields, itemsize } = self else {
            out.push_str(&python_repr_str(&self.type_str()));
            return;
        };
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
            field.dtype.write_record_descr(out);
            if !field.shape.is_empty() {
                out.push_str(", ");
                out.push_str(&python_repr_shape(&field.shape));
            }
            out.push(')');
            offset = field.offset + field.dtype.itemsize() * field.shape.iter().product::<usize>();
        }
        if *itemsize > offset {
            sep(out);
            let _ = write!(out, "('', '|V{}')", itemsize - offset);
        }
        out.push(']');
    }
}

const TIME_UNITS: [&str; 13] = [
    "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as",
];

fn invalid(reason: impl Into<String>, found: &str) -> DescrError {
    DescrError::Invalid {
        reason: reason.into(),
        found: python_repr_str(found),
    }
}

/// A type string cut into its parts: `<` `f` `4`, or `>` `M` `8` `[ns]`.
struct TypeParts<'t> {
    order: ByteOrder,
    kind: char,
    size: Option<usize>,
    unit: Option<&'t str>,
}

impl<'t> TypeParts<'t> {
    /// Cuts `text` into its parts; the size must be all digits, and only datetimes
    /// (`M`, `m`) may have a unit, and then an explicit size (NumPy refuses `m[us]`).
    fn split(text: &'t str) -> Result<TypeParts<'t>, DescrError> {
        let (order_char, rest) = match text.chars().next() {
            Some(c @ ('<' | '>' | '|' | '=')) => (Some(c), &text[1..]),
            _ => (None, text),
        };
        let order = match order_char {
            Some('<') => ByteOrder::Little,
            Some('>') => ByteOrder::Big,
            _ => ByteOrder::NATIVE,
        };
        let mut chars = rest.chars();
        let kind = chars
            .next()
            .ok_or_else(|| invalid("empty type string", text))?;
        let tail = chars.as_str();
        let (digits, unit) = match tail.find('[') {
            Some(i) => (&tail[..i], Some(&tail[i..])),
            None => (tail, None),
        };
        let size = match digits {
            "" => None,
            d if d.bytes().all(|b| b.is_ascii_digit()) => Some(
                d.parse()
                    .map_err(|_| invalid("item size too large", text))?,
            ),
            _ => return Err(invalid("data type not understood", text)),
        };
        let datetime = matches!(kind, 'M' | 'm');
        if unit.is_some() && (!datetime || size.is_none()) {
            return Err(invalid("data type not understood", text));
        }
        Ok(TypeParts {
            order,
            kind,
            size,
            unit,
        })
    }

    /// The size, which must be one of `sizes` (`default` when the text has none).
    fn size_in(&self, sizes: &[usize], default: usize, text: &str) -> Result<usize, DescrError> {
        let size = self.size.unwrap_or(default);
        match sizes.contains(&size) {
            true => Ok(size),
            false => Err(invalid("data type not understood", text)),
        }
    }

    /// The byte order a scalar of `size` bytes has (none for one byte).
    fn order_for(&self, size: usize) -> ByteOrder {
        match size {
            1 => ByteOrder::NotApplicable,
            _ => self.order,
        }
    }
}

fn unsupported(text: &str, reason: &'static str) -> DescrError {
    DescrError::Unsupported {
        descr: text.into(),
        reason,
    }
}

/// Parses a NumPy type string such as `<f4`, `|S5`, `>U3`, `<M8[ns]`, `float64`.
fn parse_type_str(text: &str) -> Result<DType, DescrError> {
    if let Some(d) = parse_type_name(text) {
        return Ok(d);
    }
    let parts = TypeParts::split(text)?;
    if parts.kind == '?' && parts.size.is_none() && parts.unit.is_none() {
        return Ok(DType::Bool);
    }
    let dtype = match parts.kind {
        'b' if parts.size == Some(1) => DType::Bool,
        'i' | 'u' => integer_type(&parts, text)?,
        'f' | 'c' => float_type(&parts, text)?,
        'S' | 'a' => DType::Bytes {
            len: parts.size.unwrap_or(0),
        },
        'U' => DType::Unicode {
            chars: parts.size.unwrap_or(0),
            order: parts.order,
        },
        'V' => DType::Void {
            size: parts.size.unwrap_or(0),
        },
        'M' | 'm' => {
            parts.size_in(&[8], 8, text)?;
            let unit = parse_time_unit(parts.unit, text)?;
            let order = parts.order;
            match parts.kind {
                'M' => DType::DateTime { unit, order },
                _ => DType::TimeDelta { unit, order },
            }
        }
        'O' => {
            return Err(unsupported(
                text,
                "object arrays hold pickled Python objects",
            ));
        }
        _ => return Err(invalid("data type not understood", text)),
    };
    if let DType::Unicode { chars, .. } = &dtype
        && chars.checked_mul(4).is_none()
    {
        return Err(invalid("item size too large", text));
    }
    Ok(dtype)
}

/// `i` and `u` type strings: 1, 2, 4 or 8 bytes (4 by default).
fn integer_type(parts: &TypeParts<'_>, text: &str) -> Result<DType, DescrError> {
    let size = parts.size_in(&[1, 2, 4, 8], 4, text)?;
    let order = parts.order_for(size);
    Ok(match parts.kind {
        'i' => DType::Int { size, order },
        _ => DType::UInt { size, order },
    })
}

/// `f` and `c` type strings; long doubles are NumPy types npmap cannot represent.
fn float_type(parts: &TypeParts<'_>, text: &str) -> Result<DType, DescrError> {
    let order = parts.order;
    if parts.kind == 'f' {
        if matches!(parts.size, Some(10 | 12 | 16)) {
            return Err(unsupported(
                text,
                "extended-precision (long double) floats depend on the platform",
            ));
        }
        let size = parts.size_in(&[2, 4, 8], 8, text)?;
        return Ok(DType::Float { size, order });
    }
    if matches!(parts.size, Some(20 | 24 | 32)) {
        return Err(unsupported(
            text,
            "extended-precision (long double) complex numbers depend on the platform",
        ));
    }
    let size = parts.size_in(&[8, 16], 16, text)?;
    Ok(DType::Complex { size, order })
}

/// NumPy's type names, which `np.dtype` also accepts in a descr.
fn parse_type_name(text: &str) -> Option<DType> {
    let n = ByteOrder::NATIVE;
    let d = match text {
        "bool" => DType::Bool,
        "int8" => DType::Int {
            size: 1,
            order: ByteOrder::NotApplicable,
        },
        "uint8" => DType::UInt {
            size: 1,
            order: ByteOrder::NotApplicable,
        },
        "int16" => DType::Int { size: 2, order: n },
        "int32" => DType::Int { size: 4, order: n },
        "int64" => DType::Int { size: 8, order: n },
        "uint16" => DType::UInt { size: 2, order: n },
        "uint32" => DType::UInt { size: 4, order: n },
        "uint64" => DType::UInt { size: 8, order: n },
        "float16" => DType::Float { size: 2, order: n },
        "float32" => DType::Float { size: 4, order: n },
        "float64" => DType::Float { size: 8, order: n },
        "complex64" => DType::Complex { size: 8, order: n },
        "complex128" => DType::Complex { size: 16, order: n },
        _ => return None,
    };
    Some(d)
}

fn parse_time_unit(unit_text: Option<&str>, whole: &str) -> Result<TimeUnit, DescrError> {
    let Some(bracketed) = unit_text else {
        return Ok(TimeUnit {
            multiplier: 1,
            unit: String::new(),
        });
    };
    let inner = bracketed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| invalid("malformed datetime unit", whole))?;
    let split = inner
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(inner.len());
    let (count, unit) = inner.split_at(split);
    let multiplier = if count.is_empty() {
        1
    } else {
        count
            .parse::<u64>()
            .ok()
            .filter(|&m| m > 0)
            .ok_or_else(|| invalid("malformed datetime unit multiplier", whole))?
    };
    if !TIME_UNITS.contains(&unit) {
        return Err(invalid("unknown datetime unit", whole));
    }
    Ok(TimeUnit {
        multiplier,
        unit: unit.into(),
    })
}

/// Parses a structured descr: a list of `(name, format)` or `(name, format, shape)`.
fn parse_record(items: &[Literal]) -> Result<DType, DescrError> {
    let mut fields: Vec<Field> = Vec::with_capacity(items.len());
    let mut names = std::collections::HashSet::with_capacity(items.len());
    let mut offset: usize = 0;
    for item in items {
        let Literal::Tuple(parts) = item else {
            return Err(DescrError::Invalid {
                reason: "a field must be a tuple (name, format[, shape])".into(),
                found: item.to_string(),
            });
        };
        let (name_part, format, shape_part) = match parts.as_slice() {
            [n, f] => (n, f, None),
            [n, f, s] => (n, f, Some(s)),
            _ => {
                return Err(DescrError::Invalid {
                    reason: "a field must be a tuple (name, format[, shape])".into(),
                    found: item.to_string(),
                });
            }
        };
        let dtype = DType::from_literal(format)?;
        let shape = match shape_part {
            None => Vec::new(),
            Some(s) => parse_subarray_shape(s)?,
        };
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| invalid("field size overflows", &item.to_string()))?;
        let size = dtype
            .itemsize()
            .checked_mul(count)
            .ok_or_else(|| invalid("field size overflows", &item.to_string()))?;
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
        let is_padding = name.is_empty() && matches!(dtype, DType::Void { .. }) && shape.is_empty();
        if !is_padding {
            if name.is_empty() {
                return Err(invalid("field names must not be empty", &item.to_string()));
            }
            if !names.insert(name.clone()) {
                return Err(invalid("field name occurs more than once", &name));
            }
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
            .ok_or_else(|| invalid("record size overflows", &item.to_string()))?;
    }
    Ok(DType::Record {
        fields,
        itemsize: offset,
    })
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

impl DescrError {
    pub(crate) fn into_error(self) -> crate::Error {
        match self {
            DescrError::Invalid { reason, found } => {
                crate::Error::from(ErrorKind::BadDescr { reason, found })
            }
            DescrError::Unsupported { descr, reason } => {
                crate::Error::from(ErrorKind::UnsupportedDType { descr, reason })
            }
        }
    }
}

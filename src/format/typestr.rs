//! NumPy type strings as `np.dtype` reads them: an optional byte-order character and
//! a kind with an item size (`<f4`, `|S5`, `>M8[ns]`), a one-letter type code (`d`,
//! `?`, `c`), or one of NumPy's type names (`float64`, `int`, `double`,
//! `datetime64[ns]`).

use crate::error::ErrorKind;
use crate::format::dtype::{ByteOrder, DType, TimeUnit};
use crate::format::literal::python_repr_str;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DescrError {
    /// Not a dtype NumPy would accept.
    Invalid { reason: String, found: String },
    /// A dtype NumPy has that npmap cannot represent.
    Unsupported { descr: String, reason: &'static str },
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

const TIME_UNITS: [&str; 13] = [
    "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as",
];

pub(crate) fn invalid(reason: impl Into<String>, found: &str) -> DescrError {
    DescrError::Invalid {
        reason: reason.into(),
        found: python_repr_str(found),
    }
}

fn not_understood(text: &str) -> DescrError {
    invalid("data type not understood", text)
}

fn unsupported(text: &str, reason: &'static str) -> DescrError {
    DescrError::Unsupported {
        descr: text.into(),
        reason,
    }
}

const LONG_DOUBLE: &str = "extended-precision (long double) floats depend on the platform";
const LONG_COMPLEX: &str =
    "extended-precision (long double) complex numbers depend on the platform";
const OBJECT: &str = "object arrays hold pickled Python objects";

/// A type string cut into its parts: `<` `f` `4`, or `>` `M` `8` `[ns]`.
struct TypeParts<'t> {
    order: ByteOrder,
    /// Whether the text starts with a byte-order character.
    prefixed: bool,
    kind: char,
    size: Option<usize>,
    unit: Option<&'t str>,
}

impl<'t> TypeParts<'t> {
    /// Cuts `text` into its parts; the size must be all digits, and only datetimes
    /// (`M`, `m`) may have a unit, and then the explicit size 8 (NumPy refuses
    /// `m[us]`).
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
            _ => return Err(not_understood(text)),
        };
        if unit.is_some() && (!matches!(kind, 'M' | 'm') || size != Some(8)) {
            return Err(not_understood(text));
        }
        Ok(TypeParts {
            order,
            prefixed: order_char.is_some(),
            kind,
            size,
            unit,
        })
    }

    /// The byte order a scalar of `size` bytes has (none for one byte).
    fn order_for(&self, size: usize) -> ByteOrder {
        match size {
            1 => ByteOrder::NotApplicable,
            _ => self.order,
        }
    }
}

/// Parses a NumPy type string such as `<f4`, `|S5`, `>U3`, `<M8[ns]`, `d`, `float64`.
pub(crate) fn parse_type_str(text: &str) -> Result<DType, DescrError> {
    let code;
    let text = match type_name_code(text) {
        Some(c) => {
            code = c;
            code.as_str()
        }
        None => text,
    };
    let parts = TypeParts::split(text)?;
    let dtype = match parts.size {
        None => type_code(&parts, text)?,
        Some(size) => sized_type(&parts, size, text)?,
    };
    if let DType::Unicode { chars, .. } = &dtype
        && chars.checked_mul(4).is_none()
    {
        return Err(invalid("item size too large", text));
    }
    Ok(dtype)
}

/// A kind letter with no size: NumPy's one-letter type codes (`b` is `int8`, `f` is
/// `float32`, `c` is `S1`; `S`, `U`, `V` are zero-sized; `M`, `m` the generic unit).
fn type_code(parts: &TypeParts<'_>, text: &str) -> Result<DType, DescrError> {
    let sized = |kind: char, size: usize| -> Result<DType, DescrError> {
        sized_type(&TypeParts { kind, ..*parts }, size, text)
    };
    match parts.kind {
        '?' => Ok(DType::Bool),
        'b' => sized('i', 1),
        'B' => sized('u', 1),
        'h' => sized('i', 2),
        'H' => sized('u', 2),
        'i' => sized('i', 4),
        'I' => sized('u', 4),
        'l' | 'q' | 'p' | 'n' => sized('i', 8),
        'L' | 'Q' | 'P' | 'N' => sized('u', 8),
        'e' => sized('f', 2),
        'f' => sized('f', 4),
        'd' => sized('f', 8),
        'F' => sized('c', 8),
        'D' => sized('c', 16),
        'c' => Ok(DType::Bytes { len: 1 }),
        // NumPy's deprecated alias `a` takes no order character without a size.
        'a' if parts.prefixed => Err(not_understood(text)),
        'S' | 'a' | 'U' | 'V' => sized(parts.kind, 0),
        'M' | 'm' => sized(parts.kind, 8),
        'g' => Err(unsupported(text, LONG_DOUBLE)),
        'G' => Err(unsupported(text, LONG_COMPLEX)),
        'O' => Err(unsupported(text, OBJECT)),
        'T' => Err(unsupported(
            text,
            "variable-width strings (StringDType) are not stored in the file",
        )),
        _ => Err(not_understood(text)),
    }
}

/// A kind letter with an item size: `b1`, `i`/`u` 1, 2, 4, 8, `f` 2, 4, 8, `c` 8, 16,
/// `S`/`a`/`U`/`V` any, `M`/`m` 8.
fn sized_type(parts: &TypeParts<'_>, size: usize, text: &str) -> Result<DType, DescrError> {
    let order = parts.order_for(size);
    let dtype = match (parts.kind, size) {
        ('b', 1) => DType::Bool,
        ('i', 1 | 2 | 4 | 8) => DType::Int { size, order },
        ('u', 1 | 2 | 4 | 8) => DType::UInt { size, order },
        ('f', 2 | 4 | 8) => DType::Float { size, order },
        ('f', 10 | 12 | 16) => return Err(unsupported(text, LONG_DOUBLE)),
        ('c', 8 | 16) => DType::Complex { size, order },
        ('c', 20 | 24 | 32) => return Err(unsupported(text, LONG_COMPLEX)),
        ('S' | 'a', len) => DType::Bytes { len },
        ('U', chars) => DType::Unicode {
            chars,
            order: parts.order,
        },
        ('V', size) => DType::Void { size },
        ('M' | 'm', 8) => {
            let unit = parse_time_unit(parts.unit, text)?;
            let order = parts.order;
            match parts.kind {
                'M' => DType::DateTime { unit, order },
                _ => DType::TimeDelta { unit, order },
            }
        }
        ('O', 4 | 8) => return Err(unsupported(text, OBJECT)),
        _ => return Err(not_understood(text)),
    };
    Ok(dtype)
}

/// The type string a NumPy type name stands for (`float` is `d`, `int` is `l`,
/// `datetime64[ns]` is `M8[ns]`), as `np.dtype` reads them on a 64-bit Linux; `None`
/// for any other text (type names take no byte-order character).
fn type_name_code(text: &str) -> Option<String> {
    for (name, kind) in [("datetime64", 'M'), ("timedelta64", 'm')] {
        if let Some(rest) = text.strip_prefix(name)
            && (rest.is_empty() || rest.starts_with('['))
        {
            return Some(format!("{kind}8{rest}"));
        }
    }
    let code = match text {
        "bool" | "bool_" => "?",
        "int8" | "byte" => "i1",
        "uint8" | "ubyte" => "u1",
        "int16" | "short" => "i2",
        "uint16" | "ushort" => "u2",
        "int32" | "intc" => "i4",
        "uint32" | "uintc" => "u4",
        "int64" | "int" | "int_" | "long" | "longlong" | "intp" => "i8",
        "uint64" | "uint" | "ulong" | "ulonglong" | "uintp" => "u8",
        "float16" | "half" => "f2",
        "float32" | "single" => "f4",
        "float64" | "float" | "double" => "f8",
        "float128" | "longdouble" => "g",
        "complex64" | "csingle" => "c8",
        "complex128" | "complex" | "cdouble" => "c16",
        "complex256" | "clongdouble" => "G",
        "str" | "str_" | "unicode" => "U",
        "bytes" | "bytes_" => "S",
        "void" => "V",
        "object" | "object_" => "O",
        _ => return None,
    };
    Some(code.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn descr(text: &str) -> String {
        parse_type_str(text)
            .unwrap()
            .with_order(ByteOrder::Little)
            .descr()
    }

    #[test]
    fn type_codes_follow_numpy() {
        for (code, want) in [
            ("?", "|b1"),
            ("b", "|i1"),
            ("B", "|u1"),
            ("h", "<i2"),
            ("i", "<i4"),
            ("l", "<i8"),
            ("Q", "<u8"),
            ("e", "<f2"),
            ("f", "<f4"),
            ("d", "<f8"),
            ("F", "<c8"),
            ("D", "<c16"),
            ("c", "|S1"),
            ("S", "|S0"),
            ("U", "<U0"),
            ("V", "|V0"),
            ("M", "<M8"),
            ("m", "<m8"),
            ("b1", "|b1"),
            (">b", "|i1"),
        ] {
            assert_eq!(descr(code), want, "{code}");
        }
        assert_eq!(parse_type_str(">f").unwrap().descr(), ">f4");
        assert_eq!(parse_type_str(">m8[us]").unwrap().descr(), ">m8[us]");
    }

    #[test]
    fn numpy_type_names_are_accepted() {
        for (name, want) in [
            ("float", "<f8"),
            ("double", "<f8"),
            ("int", "<i8"),
            ("bool", "|b1"),
            ("uint8", "|u1"),
            ("complex64", "<c8"),
            ("complex128", "<c16"),
            ("single", "<f4"),
            ("intc", "<i4"),
            ("str", "<U0"),
            ("datetime64[ns]", "<M8[ns]"),
            ("timedelta64", "<m8"),
        ] {
            assert_eq!(descr(name), want, "{name}");
        }
        for refused in [">float32", "=float64", "float64[ns]", "bool8", "float_"] {
            assert!(
                matches!(parse_type_str(refused), Err(DescrError::Invalid { .. })),
                "{refused}"
            );
        }
    }

    #[test]
    fn sizes_and_units_numpy_refuses_are_refused() {
        for refused in [
            ">m[us]",
            "<M[ns]",
            "m[us]",
            "M16",
            "u",
            "b2",
            "i16",
            "f1",
            "c4",
            "?1",
            "<i4[s]",
            "M8[parsec]",
            "M8[0s]",
            "",
        ] {
            let e = parse_type_str(refused).unwrap_err();
            assert!(matches!(e, DescrError::Invalid { .. }), "{refused}: {e:?}");
        }
        for unsupported in ["g", "G", "O", "O8", "f16", "c32", "T", "longdouble"] {
            let e = parse_type_str(unsupported).unwrap_err();
            assert!(matches!(e, DescrError::Unsupported { .. }), "{unsupported}");
        }
    }
}

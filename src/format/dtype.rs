//! NumPy data types: [`DType`], its byte order, parsing and rendering of NumPy's
//! `descr`, and the sealed [`Element`] trait that maps Rust types to dtypes.

use std::fmt::{self, Write as _};

use half::f16;
use num_complex::Complex;

use crate::format::literal::{Literal, python_repr_str};

/// Byte order of a multi-byte scalar type.
///
/// ```
/// use npmap::{ByteOrder, DType};
/// assert_eq!(DType::parse(">f8")?.byte_order(), ByteOrder::Big);
/// assert_eq!(DType::parse("<U3")?.byte_order(), ByteOrder::Little);
/// assert_eq!(DType::parse("|S5")?.byte_order(), ByteOrder::NotApplicable);
/// # Ok::<(), npmap::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `<`
    Little,
    /// `>`
    Big,
    /// `|`: single bytes, strings of bytes, void.
    NotApplicable,
}

impl ByteOrder {
    /// The byte order of the machine this code runs on.
    ///
    /// ```
    /// use npmap::ByteOrder;
    /// let expected = if cfg!(target_endian = "little") { ByteOrder::Little } else { ByteOrder::Big };
    /// assert_eq!(ByteOrder::NATIVE, expected);
    /// assert_eq!(npmap::DType::parse("=i4")?.byte_order(), ByteOrder::NATIVE);
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };

    /// The character NumPy uses for this order: `<`, `>` or `|`.
    ///
    /// ```
    /// use npmap::ByteOrder;
    /// assert_eq!(ByteOrder::Little.as_char(), '<');
    /// assert_eq!(ByteOrder::Big.as_char(), '>');
    /// assert_eq!(ByteOrder::NotApplicable.as_char(), '|');
    /// ```
    pub fn as_char(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        }
    }

    /// True when data in this order can be read without swapping bytes: the native
    /// order, or [`ByteOrder::NotApplicable`].
    ///
    /// ```
    /// use npmap::ByteOrder;
    /// assert!(ByteOrder::NATIVE.is_native());
    /// assert!(ByteOrder::NotApplicable.is_native());
    /// assert_eq!(ByteOrder::Big.is_native(), cfg!(target_endian = "big"));
    /// ```
    pub fn is_native(self) -> bool {
        self != ByteOrder::opposite(ByteOrder::NATIVE)
    }

    fn opposite(order: ByteOrder) -> ByteOrder {
        match order {
            ByteOrder::Little => ByteOrder::Big,
            ByteOrder::Big => ByteOrder::Little,
            ByteOrder::NotApplicable => ByteOrder::NotApplicable,
        }
    }
}

/// The unit of a `datetime64`/`timedelta64`, e.g. `ns`, `D`, or `10s`.
///
/// `unit` is empty for NumPy's generic unit (`'<M8'`). `Display` renders the
/// bracketed suffix of the descr (`[10s]`; nothing for the generic unit).
///
/// ```
/// use npmap::{DType, TimeUnit};
/// let DType::DateTime { unit, .. } = DType::parse("<M8[10s]")? else { unreachable!() };
/// assert_eq!(unit, TimeUnit { multiplier: 10, unit: "s".to_string() });
/// assert_eq!(unit.to_string(), "[10s]");
/// let DType::TimeDelta { unit, .. } = DType::parse("<m8")? else { unreachable!() };
/// assert_eq!((unit.multiplier, unit.unit.as_str(), unit.to_string()), (1, "", String::new()));
/// # Ok::<(), npmap::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimeUnit {
    /// How many units make one tick (1 unless written, as in `M8[10s]`).
    pub multiplier: u64,
    /// One of `Y M W D h m s ms us ns ps fs as`, or empty for the generic unit.
    pub unit: String,
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unit.is_empty() {
            return Ok(());
        }
        if self.multiplier == 1 {
            write!(f, "[{}]", self.unit)
        } else {
            write!(f, "[{}{}]", self.multiplier, self.unit)
        }
    }
}

/// One named field of a structured dtype.
///
/// Parsing a structured descr gives one `Field` per named entry (padding entries
/// are not fields); [`Field::new`], [`Field::of`] and [`Field::with_shape`] build the
/// list a [`Record`](crate::Record) type returns.
///
/// ```
/// use npmap::{DType, Field};
/// let d = DType::parse("[('id', '<u4'), ('', '|V4'), ('xy', '<f8', (2,))]")?;
/// let DType::Record { fields, itemsize } = &d else { unreachable!() };
/// assert_eq!(*itemsize, 24);
/// assert_eq!(fields.len(), 2);
/// let xy: &Field = &fields[1];
/// assert_eq!((xy.name.as_str(), xy.offset, xy.shape.clone()), ("xy", 8, vec![2]));
/// assert_eq!((xy.dtype.descr(), xy.title.clone()), ("<f8".to_string(), None));
/// # Ok::<(), npmap::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field name.
    pub name: String,
    /// An optional title (NumPy's `(title, name)` form).
    pub title: Option<String>,
    /// The field's element type.
    pub dtype: DType,
    /// The sub-array shape; empty for a scalar field.
    pub shape: Vec<usize>,
    /// Byte offset of the field within a record.
    pub offset: usize,
}

/// A NumPy data type as described by an `.npy` header's `descr`.
///
/// ```
/// use npmap::DType;
/// let d = DType::parse("<f4").unwrap();
/// assert_eq!(d.descr(), "<f4");
/// assert_eq!(d.name(), "float32");
/// assert_eq!(d.itemsize(), 4);
/// let r = DType::parse("[('a', '<i4'), ('b', '<f8', (2,))]").unwrap();
/// assert_eq!(r.itemsize(), 20);
/// assert_eq!(r.descr(), "[('a', '<i4'), ('b', '<f8', (2,))]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// `|b1`
    Bool,
    /// `i1 i2 i4 i8`
    Int {
        /// Bytes: 1, 2, 4 or 8.
        size: usize,
        /// Byte order.
        order: ByteOrder,
    },
    /// `u1 u2 u4 u8`
    UInt {
        /// Bytes: 1, 2, 4 or 8.
        size: usize,
        /// Byte order.
        order: ByteOrder,
    },
    /// `f2 f4 f8`
    Float {
        /// Bytes: 2, 4 or 8.
        size: usize,
        /// Byte order.
        order: ByteOrder,
    },
    /// `c8 c16`
    Complex {
        /// Bytes of the whole number: 8 or 16.
        size: usize,
        /// Byte order.
        order: ByteOrder,
    },
    /// `S<n>`: NUL-padded bytes.
    Bytes {
        /// Bytes per item.
        len: usize,
    },
    /// `U<n>`: UCS-4 text, `n` code points.
    Unicode {
        /// Code points per item (4 bytes each).
        chars: usize,
        /// Byte order of the code points.
        order: ByteOrder,
    },
    /// `V<n>`: raw bytes.
    Void {
        /// Bytes per item.
        size: usize,
    },
    /// `M8[unit]`
    DateTime {
        /// The time unit.
        unit: TimeUnit,
        /// Byte order.
        order: ByteOrder,
    },
    /// `m8[unit]`
    TimeDelta {
        /// The time unit.
        unit: TimeUnit,
        /// Byte order.
        order: ByteOrder,
    },
    /// A structured record: named fields at byte offsets.
    Record {
        /// The named fields, in order (padding entries are not fields).
        fields: Vec<Field>,
        /// Bytes per record, padding included.
        itemsize: usize,
    },
}

/// Why a descr could not be turned into a [`DType`].
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
    /// use npmap::{ByteOrder, DType, Error};
    /// assert_eq!(DType::parse(">i8").unwrap(), DType::Int { size: 8, order: ByteOrder::Big });
    /// assert_eq!(DType::parse("float32").unwrap(), DType::parse("=f4").unwrap());
    /// assert!(matches!(DType::parse("|O"), Err(Error::UnsupportedDType { .. })));
    /// assert!(matches!(DType::parse("<f3"), Err(Error::BadDescr { .. })));
    /// ```
    ///
    /// # Errors
    ///
    /// Errors name the path `<descr>`, offsets count from the start of `descr`.
    ///
    /// - [`Error::BadDescr`](crate::Error::BadDescr) when the text is not a dtype NumPy
    ///   accepts (an unknown type, a bad size or unit, duplicate or empty field names).
    /// - [`Error::UnsupportedDType`](crate::Error::UnsupportedDType) for dtypes npmap does
    ///   not represent: object arrays (`O`) and the platform-dependent long doubles
    ///   (`f10`, `f12`, `f16`, `c20`, `c24`, `c32`).
    /// - [`Error::HeaderSyntax`](crate::Error::HeaderSyntax) when a structured descr is not
    ///   a Python literal, and [`Error::HeaderNesting`](crate::Error::HeaderNesting) when it
    ///   nests deeper than the default [`HeaderOptions::max_depth`](crate::HeaderOptions::max_depth).
    pub fn parse(descr: &str) -> crate::Result<DType> {
        let path = std::path::Path::new("<descr>");
        let text = if descr.trim_start().starts_with(['[', '(', '\'', '"']) {
            descr.to_string()
        } else {
            python_repr_str(descr)
        };
        let literal = crate::format::literal::parse(&text, &crate::HeaderOptions::default())
            .map_err(|e| e.into_error(path, 0))?;
        DType::from_literal(&literal).map_err(|e| e.into_error(path))
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

    /// Bytes per item.
    ///
    /// ```
    /// use npmap::DType;
    /// assert_eq!(DType::parse("<c16")?.itemsize(), 16);
    /// assert_eq!(DType::parse("<U3")?.itemsize(), 12); // 4 bytes per code point
    /// assert_eq!(DType::parse("<M8[ns]")?.itemsize(), 8);
    /// assert_eq!(DType::parse("[('a', '|u1'), ('', '|V3'), ('b', '<i4')]")?.itemsize(), 8);
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub fn itemsize(&self) -> usize {
        match self {
            DType::Bool => 1,
            DType::Int { size, .. }
            | DType::UInt { size, .. }
            | DType::Float { size, .. }
            | DType::Complex { size, .. }
            | DType::Void { size } => *size,
            DType::Bytes { len } => *len,
            DType::Unicode { chars, .. } => chars * 4,
            DType::DateTime { .. } | DType::TimeDelta { .. } => 8,
            DType::Record { itemsize, .. } => *itemsize,
        }
    }

    /// The byte order of a scalar dtype; `NotApplicable` for single bytes, `S`, `V`
    /// and records (whose fields carry their own order).
    ///
    /// ```
    /// use npmap::{ByteOrder, DType};
    /// assert_eq!(DType::parse(">u4")?.byte_order(), ByteOrder::Big);
    /// assert_eq!(DType::parse("<i1")?.byte_order(), ByteOrder::NotApplicable);
    /// assert_eq!(DType::parse("[('a', '>f8')]")?.byte_order(), ByteOrder::NotApplicable);
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub fn byte_order(&self) -> ByteOrder {
        match self {
            DType::Int { order, .. }
            | DType::UInt { order, .. }
            | DType::Float { order, .. }
            | DType::Complex { order, .. }
            | DType::Unicode { order, .. }
            | DType::DateTime { order, .. }
            | DType::TimeDelta { order, .. } => *order,
            _ => ByteOrder::NotApplicable,
        }
    }

    /// True when every scalar in the dtype (fields included) is in native byte order.
    ///
    /// ```
    /// use npmap::DType;
    /// assert!(DType::parse("=f8")?.is_native_order());
    /// assert!(DType::parse("|S4")?.is_native_order());
    /// let little = DType::parse("[('a', '<i4'), ('b', '<f8')]")?;
    /// assert_eq!(little.is_native_order(), cfg!(target_endian = "little"));
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub fn is_native_order(&self) -> bool {
        match self {
            DType::Record { fields, .. } => fields.iter().all(|f| f.dtype.is_native_order()),
            other => other.byte_order().is_native(),
        }
    }

    /// The same dtype with every scalar in native byte order.
    ///
    /// ```
    /// use npmap::{DType, Element};
    /// assert_eq!(DType::parse(">f4")?.to_native(), f32::dtype());
    /// assert_eq!(DType::parse("<f4")?.to_native(), f32::dtype());
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub fn to_native(&self) -> DType {
        self.with_order(ByteOrder::NATIVE)
    }

    /// The same dtype with every multi-byte scalar in `order`; single-byte types, `S`
    /// and `V` are unchanged.
    ///
    /// ```
    /// use npmap::{ByteOrder, DType};
    /// let d = DType::parse("[('id', '<u2'), ('flag', '|u1'), ('x', '<f8')]")?;
    /// assert_eq!(d.with_order(ByteOrder::Big).descr(), "[('id', '>u2'), ('flag', '|u1'), ('x', '>f8')]");
    /// assert_eq!(DType::parse("<U2")?.with_order(ByteOrder::Big).descr(), ">U2");
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub fn with_order(&self, order: ByteOrder) -> DType {
        let mut d = self.clone();
        d.set_order(order);
        d
    }

    fn set_order(&mut self, new: ByteOrder) {
        match self {
            DType::Int { size, order }
            | DType::UInt { size, order }
            | DType::Float { size, order }
            | DType::Complex { size, order } => {
                if *size > 1 {
                    *order = new
                }
            }
            DType::Unicode { order, .. }
            | DType::DateTime { order, .. }
            | DType::TimeDelta { order, .. } => *order = new,
            DType::Record { fields, .. } => fields.iter_mut().for_each(|f| f.dtype.set_order(new)),
            DType::Bool | DType::Bytes { .. } | DType::Void { .. } => {}
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

    /// NumPy's name for the type: `float32`, `bool`, `bytes40`, `str96`,
    /// `datetime64[ns]`, `void64` for records.
    ///
    /// ```
    /// use npmap::DType;
    /// assert_eq!(DType::parse(">f4")?.name(), "float32");
    /// assert_eq!(DType::parse("|S5")?.name(), "bytes40");
    /// assert_eq!(DType::parse("<U3")?.name(), "str96");
    /// assert_eq!(DType::parse("<m8[D]")?.name(), "timedelta64[D]");
    /// assert_eq!(DType::parse("[('a', '<i4'), ('b', '<i4')]")?.name(), "void64");
    /// # Ok::<(), npmap::Error>(())
    /// ```
    pub fn name(&self) -> String {
        match self {
            DType::Bool => "bool".into(),
            DType::Int { size, .. } => format!("int{}", size * 8),
            DType::UInt { size, .. } => format!("uint{}", size * 8),
            DType::Float { size, .. } => format!("float{}", size * 8),
            DType::Complex { size, .. } => format!("complex{}", size * 8),
            // Bit counts in u128: a flexible type's size comes from the file and may be
            // near usize::MAX, where `len * 8` overflowed (found by fuzzing).
            DType::Bytes { len } => sized_name("bytes", *len as u128 * 8),
            DType::Unicode { chars, .. } => sized_name("str", *chars as u128 * 32),
            DType::Void { size } => sized_name("void", *size as u128 * 8),
            DType::DateTime { unit, .. } => format!("datetime64{unit}"),
            DType::TimeDelta { unit, .. } => format!("timedelta64{unit}"),
            DType::Record { itemsize, .. } => sized_name("void", *itemsize as u128 * 8),
        }
    }
}

/// `void64`, or plain `void` for a zero-sized flexible type, as NumPy names them.
fn sized_name(base: &str, bits: u128) -> String {
    if bits == 0 {
        base.to_string()
    } else {
        format!("{base}{bits}")
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.descr())
    }
}

/// Python's `repr` of a shape tuple: `()`, `(3,)`, `(3, 4)`.
pub(crate) fn python_repr_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [one] => format!("({one},)"),
        more => {
            let parts: Vec<String> = more.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
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

/// Parses a NumPy type string such as `<f4`, `|S5`, `>U3`, `<M8[ns]`, `float64`.
fn parse_type_str(text: &str) -> Result<DType, DescrError> {
    if let Some(d) = parse_type_name(text) {
        return Ok(d);
    }
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
    let (digits, unit_text) = match tail.find('[') {
        Some(i) => (&tail[..i], Some(&tail[i..])),
        None => (tail, None),
    };
    if kind == '?' && digits.is_empty() && unit_text.is_none() {
        return Ok(DType::Bool);
    }
    let size: Option<usize> = if digits.is_empty() {
        None
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        Some(
            digits
                .parse()
                .map_err(|_| invalid("item size too large", text))?,
        )
    } else {
        return Err(invalid("data type not understood", text));
    };
    if unit_text.is_some() && !matches!(kind, 'M' | 'm') {
        return Err(invalid("data type not understood", text));
    }
    let scalar = |sizes: &[usize], default: usize| -> Result<usize, DescrError> {
        let s = size.unwrap_or(default);
        if sizes.contains(&s) {
            Ok(s)
        } else {
            Err(invalid("data type not understood", text))
        }
    };
    let order_for = |s: usize| {
        if s == 1 {
            ByteOrder::NotApplicable
        } else {
            order
        }
    };
    let dtype = match kind {
        'b' if size == Some(1) => DType::Bool,
        'i' => {
            let s = scalar(&[1, 2, 4, 8], 4)?;
            DType::Int {
                size: s,
                order: order_for(s),
            }
        }
        'u' => {
            let s = scalar(&[1, 2, 4, 8], 4)?;
            DType::UInt {
                size: s,
                order: order_for(s),
            }
        }
        'f' => {
            if matches!(size, Some(10 | 12 | 16)) {
                return Err(DescrError::Unsupported {
                    descr: text.into(),
                    reason: "extended-precision (long double) floats depend on the platform",
                });
            }
            let s = scalar(&[2, 4, 8], 8)?;
            DType::Float { size: s, order }
        }
        'c' => {
            if matches!(size, Some(20 | 24 | 32)) {
                return Err(DescrError::Unsupported {
                    descr: text.into(),
                    reason: "extended-precision (long double) complex numbers depend on the platform",
                });
            }
            let s = scalar(&[8, 16], 16)?;
            DType::Complex { size: s, order }
        }
        'S' | 'a' => DType::Bytes {
            len: size.unwrap_or(0),
        },
        'U' => DType::Unicode {
            chars: size.unwrap_or(0),
            order,
        },
        'V' => DType::Void {
            size: size.unwrap_or(0),
        },
        'M' | 'm' => {
            scalar(&[8], 8)?;
            let unit = parse_time_unit(unit_text, text)?;
            if kind == 'M' {
                DType::DateTime { unit, order }
            } else {
                DType::TimeDelta { unit, order }
            }
        }
        'O' => {
            return Err(DescrError::Unsupported {
                descr: text.into(),
                reason: "object arrays hold pickled Python objects",
            });
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
    pub(crate) fn into_error(self, path: &std::path::Path) -> crate::Error {
        match self {
            DescrError::Invalid { reason, found } => crate::Error::BadDescr {
                path: path.to_path_buf(),
                reason,
                found,
            },
            DescrError::Unsupported { descr, reason } => crate::Error::UnsupportedDType {
                path: path.to_path_buf(),
                descr,
                reason,
            },
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that can be the element of a mapped or copied NumPy array.
///
/// Implemented for `bool`, `i8`..`i64`, `u8`..`u64`, [`half::f16`], `f32`, `f64`,
/// `Complex<f32>` and `Complex<f64>`. The trait is sealed.
///
/// ```
/// use npmap::Element;
/// assert_eq!(f32::dtype().descr(), if cfg!(target_endian = "little") { "<f4" } else { ">f4" });
/// assert_eq!(<bool as Element>::NAME, "bool");
/// ```
pub trait Element:
    bytemuck::CheckedBitPattern + bytemuck::NoUninit + Copy + Send + Sync + 'static + sealed::Sealed
{
    /// The Rust name of the type, for messages: what [`Error::DTypeMismatch`](crate::Error::DTypeMismatch)
    /// reports as `expected`.
    ///
    /// ```
    /// use npmap::Element;
    /// use npmap::num_complex::Complex;
    /// assert_eq!(<f32 as Element>::NAME, "f32");
    /// assert_eq!(<npmap::half::f16 as Element>::NAME, "f16");
    /// assert_eq!(<Complex<f64> as Element>::NAME, "Complex<f64>");
    /// ```
    const NAME: &'static str;
    /// The dtype of this type in native byte order.
    ///
    /// ```
    /// use npmap::{ByteOrder, DType, Element};
    /// use npmap::num_complex::Complex;
    /// assert_eq!(u16::dtype(), DType::UInt { size: 2, order: ByteOrder::NATIVE });
    /// assert_eq!(i8::dtype().descr(), "|i1");
    /// assert_eq!(bool::dtype(), DType::Bool);
    /// assert_eq!(Complex::<f32>::dtype().name(), "complex64");
    /// assert_eq!(npmap::half::f16::dtype().itemsize(), 2);
    /// ```
    fn dtype() -> DType;
    /// Bytes of one scalar component (the byte-swapping unit): 4 for `Complex<f32>`.
    #[doc(hidden)]
    const SWAP_UNIT: usize;
    /// A plain-old-data type of the same layout, to read raw bytes into.
    #[doc(hidden)]
    type Raw: bytemuck::Pod + Send + Sync;
    /// Turns raw items into elements; `Err((i, byte))` names the first invalid item.
    #[doc(hidden)]
    fn from_bits(bits: Vec<Self::Raw>) -> Result<Vec<Self>, (usize, u8)>;
    /// Views bytes as elements, validating each only where a type has invalid values
    /// (so that for plain numbers the cost does not grow with the length).
    #[doc(hidden)]
    fn cast_bytes(bytes: &[u8]) -> Result<&[Self], bytemuck::checked::CheckedCastError>;
    /// Mutable counterpart of `cast_bytes`.
    #[doc(hidden)]
    fn cast_bytes_mut(bytes: &mut [u8])
    -> Result<&mut [Self], bytemuck::checked::CheckedCastError>;
}

macro_rules! plain_element {
    ($($t:ty => $name:literal, $unit:expr, $dtype:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const NAME: &'static str = $name;
            const SWAP_UNIT: usize = $unit;
            type Raw = $t;
            fn dtype() -> DType {
                $dtype
            }
            fn from_bits(bits: Vec<$t>) -> Result<Vec<$t>, (usize, u8)> {
                Ok(bits)
            }
            fn cast_bytes(bytes: &[u8]) -> Result<&[$t], bytemuck::checked::CheckedCastError> {
                bytemuck::try_cast_slice(bytes).map_err(Into::into)
            }
            fn cast_bytes_mut(bytes: &mut [u8]) -> Result<&mut [$t], bytemuck::checked::CheckedCastError> {
                bytemuck::try_cast_slice_mut(bytes).map_err(Into::into)
            }
        }
    )*};
}

const N: ByteOrder = ByteOrder::NATIVE;
const NA: ByteOrder = ByteOrder::NotApplicable;

plain_element! {
    i8 => "i8", 1, DType::Int { size: 1, order: NA };
    i16 => "i16", 2, DType::Int { size: 2, order: N };
    i32 => "i32", 4, DType::Int { size: 4, order: N };
    i64 => "i64", 8, DType::Int { size: 8, order: N };
    u8 => "u8", 1, DType::UInt { size: 1, order: NA };
    u16 => "u16", 2, DType::UInt { size: 2, order: N };
    u32 => "u32", 4, DType::UInt { size: 4, order: N };
    u64 => "u64", 8, DType::UInt { size: 8, order: N };
    f16 => "f16", 2, DType::Float { size: 2, order: N };
    f32 => "f32", 4, DType::Float { size: 4, order: N };
    f64 => "f64", 8, DType::Float { size: 8, order: N };
    Complex<f32> => "Complex<f32>", 4, DType::Complex { size: 8, order: N };
    Complex<f64> => "Complex<f64>", 8, DType::Complex { size: 16, order: N };
}

impl sealed::Sealed for bool {}
impl Element for bool {
    const NAME: &'static str = "bool";
    const SWAP_UNIT: usize = 1;
    type Raw = u8;
    fn dtype() -> DType {
        DType::Bool
    }
    fn from_bits(bits: Vec<u8>) -> Result<Vec<bool>, (usize, u8)> {
        if let Some(bad) = bits.iter().position(|&b| b > 1) {
            return Err((bad, bits[bad]));
        }
        Ok(bits.into_iter().map(|b| b == 1).collect())
    }
    fn cast_bytes(bytes: &[u8]) -> Result<&[bool], bytemuck::checked::CheckedCastError> {
        bytemuck::checked::try_cast_slice(bytes)
    }
    fn cast_bytes_mut(
        bytes: &mut [u8],
    ) -> Result<&mut [bool], bytemuck::checked::CheckedCastError> {
        bytemuck::checked::try_cast_slice_mut(bytes)
    }
}

/// How a file's dtype relates to an element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElementMatch {
    /// Same type, native byte order: can be viewed in place.
    Native,
    /// Same type, other byte order: needs a byte-swapping copy.
    Swapped,
    /// A different type.
    Different,
}

/// Compares a file's dtype with the element type `A`.
pub(crate) fn match_element<A: Element>(file: &DType) -> ElementMatch {
    let wanted = A::dtype();
    if *file == wanted {
        ElementMatch::Native
    } else if file.to_native() == wanted {
        ElementMatch::Swapped
    } else {
        ElementMatch::Different
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DType {
        DType::parse(s).unwrap()
    }

    #[test]
    fn simple_types_round_trip_to_canonical_text() {
        for s in [
            "|b1", "|i1", "<i2", ">i4", "<i8", "|u1", ">u2", "<u4", "<u8", "<f2", ">f4", "<f8",
            "<c8", ">c16", "|S5", "<U3", ">U1", "|V8", "<M8[ns]", ">m8[D]", "<M8[10s]", "<M8",
        ] {
            assert_eq!(p(s).descr(), s);
        }
    }

    #[test]
    fn single_byte_types_have_no_byte_order() {
        assert_eq!(p("<i1").descr(), "|i1");
        assert_eq!(p(">u1").descr(), "|u1");
        assert_eq!(p("<b1"), DType::Bool);
        assert_eq!(p("?"), DType::Bool);
    }

    #[test]
    fn names_follow_numpy() {
        assert_eq!(p("<f8").name(), "float64");
        assert_eq!(p("|S5").name(), "bytes40");
        assert_eq!(p("<U3").name(), "str96");
        assert_eq!(p("<M8[ns]").name(), "datetime64[ns]");
        assert_eq!(p("<c16").name(), "complex128");
    }

    #[test]
    fn unsupported_and_invalid_types_are_told_apart() {
        let err = |s: &str| DType::parse(s).unwrap_err();
        assert!(matches!(err("|O"), crate::Error::UnsupportedDType { .. }));
        assert!(matches!(err("<f16"), crate::Error::UnsupportedDType { .. }));
        assert!(matches!(err("<c32"), crate::Error::UnsupportedDType { .. }));
        assert!(matches!(err("<f9"), crate::Error::BadDescr { .. }));
        assert!(matches!(err("xyz"), crate::Error::BadDescr { .. }));
        assert!(matches!(err("<M8[parsec]"), crate::Error::BadDescr { .. }));
    }

    #[test]
    fn records_render_padding_titles_and_subarrays() {
        let text = "[('a', '|u1'), ('', '|V3'), ('b', '<i4'), ('', '|V4')]";
        let d = p(text);
        assert_eq!(d.itemsize(), 12);
        let DType::Record { fields, .. } = &d else {
            panic!("not a record")
        };
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].offset, 4);
        assert_eq!(d.descr(), text);

        let titled = "[(('Title A', 'a'), '<i4'), ('n', [('x', '>f8'), ('y', '<i2', (2, 3))])]";
        assert_eq!(p(titled).descr(), titled);
        assert_eq!(p(titled).itemsize(), 4 + 8 + 12);
    }

    #[test]
    fn records_reject_duplicate_and_empty_names() {
        assert!(DType::parse("[('a', '<i4'), ('a', '<f8')]").is_err());
        assert!(DType::parse("[('', '<i4')]").is_err());
    }

    #[test]
    fn elements_match_native_and_swapped_files() {
        let other = if cfg!(target_endian = "little") {
            ">f4"
        } else {
            "<f4"
        };
        assert_eq!(match_element::<f32>(&f32::dtype()), ElementMatch::Native);
        assert_eq!(match_element::<f32>(&p(other)), ElementMatch::Swapped);
        assert_eq!(match_element::<f64>(&p(other)), ElementMatch::Different);
        assert_eq!(match_element::<u8>(&p("|u1")), ElementMatch::Native);
    }
}

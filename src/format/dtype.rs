//! NumPy data types: [`DType`] and its parts ([`ByteOrder`], [`TimeUnit`], [`Field`]),
//! sizes and NumPy's names. Parsing and rendering NumPy's `descr` text is in
//! `format::descr`; the Rust element types are in `format::element`.

use std::fmt;

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
    /// The field's element type: a scalar, a record, or — for a field whose format is
    /// a `(base, shape)` tuple inside its own shape — a [`DType::SubArray`].
    pub dtype: DType,
    /// The sub-array shape; empty for a scalar field.
    pub shape: Vec<usize>,
    /// Byte offset of the field within a record.
    pub offset: usize,
}

impl Field {
    /// Bytes the field takes in a record: its type's size times its shape's count
    /// (saturating; a parsed descr has checked it).
    pub(crate) fn size(&self) -> usize {
        self.shape
            .iter()
            .try_fold(self.dtype.itemsize(), |acc, &d| acc.checked_mul(d))
            .unwrap_or(usize::MAX)
    }
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
    /// A sub-array type, NumPy's `(base, shape)`: `shape` items of `base` in C order.
    ///
    /// It is the element type of a [`Field`] whose format is itself a `(base, shape)`
    /// tuple — a sub-array of a sub-array, as in `[('c', ('<f8', (5,)), (2,))]`, where the
    /// field has `shape` `[2]` and `dtype` `SubArray { base: <f8, shape: [5] }` — or the
    /// base of another `SubArray`. A plain sub-array field (`('c', '<f8', (2, 5))`) has its
    /// shape on the [`Field`] and a scalar `dtype`; a field's `(base, shape)` format with
    /// no outer shape is that form too, as NumPy renders it. `shape` is never empty (a
    /// `(base, ())` is `base`). An array's own dtype is never a `SubArray`: NumPy cannot
    /// load such a file, and npmap refuses it.
    ///
    /// ```
    /// use npmap::DType;
    /// let d = DType::parse("[('c', ('<f8', (5,)), (2,))]")?;
    /// let DType::Record { fields, itemsize } = &d else { unreachable!() };
    /// assert_eq!((*itemsize, fields[0].shape.clone()), (80, vec![2]));
    /// let DType::SubArray { base, shape } = &fields[0].dtype else { unreachable!() };
    /// assert_eq!((base.descr(), shape.clone()), ("<f8".to_string(), vec![5]));
    /// assert_eq!(fields[0].dtype.descr(), "('<f8', (5,))");
    /// assert_eq!(d.descr(), "[('c', ('<f8', (5,)), (2,))]");
    /// # Ok::<(), npmap::Error>(())
    /// ```
    SubArray {
        /// The element type (a scalar, a record, or another sub-array).
        base: Box<DType>,
        /// The sub-array shape (not empty).
        shape: Vec<usize>,
    },
}

/// Why a descr could not be turned into a [`DType`].
impl DType {
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
            DType::SubArray { base, shape } => shape
                .iter()
                .try_fold(base.itemsize(), |acc, &d| acc.checked_mul(d))
                .unwrap_or(usize::MAX),
        }
    }

    /// The innermost element type and the whole shape of a (possibly nested) sub-array
    /// type: `(<f8, [2, 5])` for `(('<f8', (5,)), (2,))`, as NumPy's `a['c'].shape` ends
    /// in `(2, 5)`; `(self, [])` for any other type.
    pub(crate) fn flat_subarray(&self) -> (&DType, Vec<usize>) {
        let mut shape = Vec::new();
        let mut d = self;
        while let DType::SubArray { base, shape: s } = d {
            shape.extend_from_slice(s);
            d = base;
        }
        (d, shape)
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
            DType::SubArray { base, .. } => base.is_native_order(),
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
            DType::SubArray { base, .. } => base.set_order(new),
            DType::Bool | DType::Bytes { .. } | DType::Void { .. } => {}
        }
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
            DType::Record { .. } | DType::SubArray { .. } => {
                sized_name("void", self.itemsize() as u128 * 8)
            }
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
        assert!(matches!(
            err("|O").kind(),
            crate::ErrorKind::UnsupportedDType { .. }
        ));
        assert!(matches!(
            err("<f16").kind(),
            crate::ErrorKind::UnsupportedDType { .. }
        ));
        assert!(matches!(
            err("<c32").kind(),
            crate::ErrorKind::UnsupportedDType { .. }
        ));
        assert!(matches!(
            err("<f9").kind(),
            crate::ErrorKind::BadDescr { .. }
        ));
        assert!(matches!(
            err("xyz").kind(),
            crate::ErrorKind::BadDescr { .. }
        ));
        assert!(matches!(
            err("<M8[parsec]").kind(),
            crate::ErrorKind::BadDescr { .. }
        ));
        // NumPy 2.4: a unit needs an explicit item size ('>m[us]' is "not understood"),
        // while a bare 'm' or 'M' is the generic 8-byte type.
        for refused in [">m[us]", "m[us]", ">M[D]", "<i4[s]"] {
            assert!(
                matches!(err(refused).kind(), crate::ErrorKind::BadDescr { .. }),
                "{refused}"
            );
        }
        assert_eq!(p("m").descr(), DType::parse("=m8").unwrap().descr());
        assert_eq!(p(">M8[us]").descr(), ">M8[us]");
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
}

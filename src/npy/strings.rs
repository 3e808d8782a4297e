//! String (`U<n>`, `S<n>`) and datetime/timedelta (`M8`, `m8`) arrays: decoded
//! copies of strings, `i64` views of times. The writers are in `npy::save_strings`.

use std::path::Path;

use ndarray::{Array, ArrayView, Dimension};

use crate::cast;
use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::{ByteOrder, DType, TimeUnit};
use crate::format::header::Header;
use crate::npy::NpyFile;
use crate::npy::fields::{Loc, locate, read_loc, view_loc};

/// NumPy's "not a time" (`NaT`): the smallest `i64`, in every unit. Datetime and
/// timedelta views hold it as is; compare with it before doing arithmetic.
///
/// ```
/// assert_eq!(npmap::NAT, i64::MIN);
/// ```
pub const NAT: i64 = i64::MIN;

/// Decodes every element of `loc` with `decode`, which gets the
/// bytes and their file offset; shaped as the field's copy.
fn decode_loc<T, D: Dimension>(
    path: &Path,
    header: &Header,
    bytes: &[u8],
    loc: &Loc,
    decode: impl Fn(&[u8], u64) -> Result<T>,
) -> Result<Array<T, D>> {
    let width = loc.dtype.itemsize();
    let overflow = || crate::npy::fields::overflow(path, header);
    let total = header
        .len()
        .checked_mul(loc.sub_count())
        .ok_or_else(overflow)?;
    // Zero-size items (`|S0`, `<U0`) take no file bytes, so `total` is bounded by
    // nothing but the header: allocated fallibly, as NumPy raises MemoryError.
    let mut values = cast::try_with_capacity(total, "strings").map_err(|e| e.in_file(path))?;
    let records = bytes
        .len()
        .checked_div(loc.record_size)
        .map_or(header.len(), |whole| whole.min(header.len()));
    loc.for_each_element(records, |start| {
        let value = decode(
            &bytes[start..start + width],
            header.data_offset + start as u64,
        )?;
        values.push(value);
        Ok::<(), Error>(())
    })?;
    let shape = loc.copy_shape::<D>(path, header)?;
    Array::from_shape_vec(shape, values).map_err(|_| overflow())
}

/// Decodes one `U<n>` item: UCS-4 code points in `order`, trailing NULs stripped.
fn decode_unicode(path: &Path, item: &[u8], order: ByteOrder, offset: u64) -> Result<String> {
    let mut units: Vec<u32> = item
        .chunks_exact(4)
        .map(|c| {
            let b = [c[0], c[1], c[2], c[3]];
            match order {
                ByteOrder::Big => u32::from_be_bytes(b),
                ByteOrder::Little => u32::from_le_bytes(b),
                ByteOrder::NotApplicable => u32::from_ne_bytes(b),
            }
        })
        .collect();
    while units.last() == Some(&0) {
        units.pop();
    }
    units
        .iter()
        .enumerate()
        .map(|(k, &u)| {
            char::from_u32(u).ok_or(Error::at(
                path,
                ErrorKind::InvalidString {
                    offset: offset + 4 * k as u64,
                    value: u,
                },
            ))
        })
        .collect()
}

/// Decodes one `S<n>` item: the bytes with trailing NULs stripped.
fn decode_bytes(item: &[u8]) -> Vec<u8> {
    let end = item.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    item[..end].to_vec()
}

fn not_text(path: &Path, dtype: &DType, expected: &'static str) -> Error {
    Error::at(
        path,
        ErrorKind::DTypeMismatch {
            found: dtype.descr(),
            found_name: dtype.name(),
            expected,
        },
    )
}

fn strings_of<D: Dimension>(
    path: &Path,
    header: &Header,
    bytes: &[u8],
    loc: &Loc,
) -> Result<Array<String, D>> {
    let DType::Unicode { order, .. } = loc.dtype else {
        return Err(not_text(path, &loc.dtype, "String (a 'U' dtype)"));
    };
    decode_loc(path, header, bytes, loc, |item, offset| {
        decode_unicode(path, item, order, offset)
    })
}

fn bytes_strings_of<D: Dimension>(
    path: &Path,
    header: &Header,
    bytes: &[u8],
    loc: &Loc,
) -> Result<Array<Vec<u8>, D>> {
    let DType::Bytes { .. } = loc.dtype else {
        return Err(not_text(path, &loc.dtype, "Vec<u8> (an 'S' dtype)"));
    };
    decode_loc(path, header, bytes, loc, |item, _| Ok(decode_bytes(item)))
}

/// Which of the two time kinds a method reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TimeKind {
    DateTime,
    TimeDelta,
}

fn time_unit(path: &Path, dtype: &DType, kind: TimeKind) -> Result<TimeUnit> {
    match (dtype, kind) {
        (DType::DateTime { unit, .. }, TimeKind::DateTime)
        | (DType::TimeDelta { unit, .. }, TimeKind::TimeDelta) => Ok(unit.clone()),
        _ => Err(not_text(
            path,
            dtype,
            match kind {
                TimeKind::DateTime => "i64 (a datetime64 'M8' dtype)",
                TimeKind::TimeDelta => "i64 (a timedelta64 'm8' dtype)",
            },
        )),
    }
}

impl NpyFile {
    /// Copies a `U<n>` array into `String`s: UCS-4 in either byte order, trailing
    /// NULs stripped as NumPy does (so `''` and values shorter than `n` come back as
    /// written). A code unit that is not a Unicode scalar value is an
    /// [`ErrorKind::InvalidString`]; another dtype is an [`ErrorKind::DTypeMismatch`].
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("names.npy");
    /// use npmap::ndarray::{Ix1, arr1};
    /// npmap::save_strings(&path, &arr1(&["Alice", "", "Zoë"]), None)?; // '<U5'
    /// // SAFETY: nothing truncates the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(f.header().dtype.name(), "str160");
    /// assert_eq!(f.read_strings::<Ix1>()?.to_vec(), ["Alice", "", "Zoë"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the array's dtype is not `U<n>`.
    /// - [`ErrorKind::InvalidString`] for a code unit that is not a Unicode scalar value.
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the array
    ///   has another.
    /// - [`ErrorKind::OutOfMemory`] when the strings cannot be allocated: zero-size items
    ///   (`<U0`) take no file bytes, so a shape of 2^40 of them reads as 2^40 empty
    ///   strings only where that fits in memory.
    pub fn read_strings<D: Dimension>(&self) -> Result<Array<String, D>> {
        let loc = Loc::whole(&self.header().dtype);
        strings_of(self.path(), self.header(), self.data(), &loc)
    }

    /// Copies an `S<n>` array into byte strings, trailing NULs stripped as NumPy does.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("ids.npy");
    /// let ids = npmap::ndarray::arr1(&[b"ab".as_slice(), b"", b"xyz"]);
    /// npmap::save_bytes_strings(&path, &ids, None)?; // '|S3'
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let back = f.read_bytes_strings::<npmap::ndarray::Ix1>()?;
    /// assert_eq!(back.to_vec(), [b"ab".to_vec(), vec![], b"xyz".to_vec()]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the array's dtype is not `S<n>`.
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the array
    ///   has another.
    /// - [`ErrorKind::OutOfMemory`] when the byte strings cannot be allocated (as for
    ///   [`NpyFile::read_strings`], with `|S0`).
    pub fn read_bytes_strings<D: Dimension>(&self) -> Result<Array<Vec<u8>, D>> {
        let loc = Loc::whole(&self.header().dtype);
        bytes_strings_of(self.path(), self.header(), self.data(), &loc)
    }

    /// [`NpyFile::read_strings`] for one `U<n>` field of a structured array (a dotted
    /// path for nested records; sub-array fields add trailing axes).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("people.npy");
    /// use npmap::ndarray::Ix1;
    /// use npmap::DType;
    /// // np.array([('Ann', 31), ('Bo', 27)], dtype=[('name', '<U4'), ('age', '<i4')])
    /// let dtype = DType::parse("[('name', '<U4'), ('age', '<i4')]")?;
    /// let mut data = Vec::new();
    /// for (name, age) in [("Ann", 31i32), ("Bo", 27)] {
    ///     let mut units: Vec<u32> = name.chars().map(u32::from).collect();
    ///     units.resize(4, 0);
    ///     data.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    ///     data.extend(age.to_le_bytes());
    /// }
    /// npmap::save_npy_raw(&path, &dtype, &[2], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(f.read_field_strings::<Ix1>("name")?.to_vec(), ["Ann", "Bo"]);
    /// assert_eq!(f.read_field::<i32, Ix1>("age")?.to_vec(), [31, 27]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotStructured`] when the array's dtype is not a record.
    /// - [`ErrorKind::FieldNotFound`] when no field has the name or dotted path `name`.
    /// - [`ErrorKind::DTypeMismatch`] when the field is not `U<n>`.
    /// - [`ErrorKind::InvalidString`] for a code unit that is not a Unicode scalar value.
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions other than the
    ///   array's plus the field's sub-array dimensions.
    pub fn read_field_strings<D: Dimension>(&self, name: &str) -> Result<Array<String, D>> {
        let loc = locate(self.path(), &self.header().dtype, name)?;
        strings_of(self.path(), self.header(), self.data(), &loc)
    }

    /// [`NpyFile::read_bytes_strings`] for one `S<n>` field of a structured array.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("codes.npy");
    /// use npmap::DType;
    /// let dtype = DType::parse("[('code', '|S3'), ('n', '|u1')]")?;
    /// npmap::save_npy_raw(&path, &dtype, &[2], false, b"ab\0\x05xyz\x07")?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let codes = f.read_field_bytes_strings::<npmap::ndarray::Ix1>("code")?;
    /// assert_eq!(codes.to_vec(), [b"ab".to_vec(), b"xyz".to_vec()]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotStructured`] when the array's dtype is not a record.
    /// - [`ErrorKind::FieldNotFound`] when no field has the name or dotted path `name`.
    /// - [`ErrorKind::DTypeMismatch`] when the field is not `S<n>`.
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions other than the
    ///   array's plus the field's sub-array dimensions.
    pub fn read_field_bytes_strings<D: Dimension>(&self, name: &str) -> Result<Array<Vec<u8>, D>> {
        let loc = locate(self.path(), &self.header().dtype, name)?;
        bytes_strings_of(self.path(), self.header(), self.data(), &loc)
    }

    /// A zero-copy view of a `datetime64` array as `i64` ticks since the Unix epoch,
    /// with the unit (`ns`, `D`, `10s`, ...). `NaT` is [`NAT`] (`i64::MIN`). The data
    /// must be in native byte order (and aligned); [`NpyFile::read_datetimes`] copies.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("t.npy");
    /// # if cfg!(target_endian = "little") {
    /// // np.array(['1970-01-02', 'NaT'], dtype='M8[D]')
    /// let dtype = npmap::DType::parse("<M8[D]")?;
    /// let data: Vec<u8> = [1i64, npmap::NAT].iter().flat_map(|v| v.to_le_bytes()).collect();
    /// npmap::save_npy_raw(&path, &dtype, &[2], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let (days, unit) = f.datetimes::<npmap::ndarray::Ix1>()?;
    /// assert_eq!(days.to_vec(), [1, npmap::NAT]);
    /// assert_eq!(unit.unit, "D");
    /// # }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the array's dtype is not `datetime64` (`M8`).
    /// - [`ErrorKind::NonNativeByteOrder`] when the data is in the other byte order.
    /// - [`ErrorKind::Misaligned`] when the data is not aligned for `i64`.
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the array
    ///   has another.
    pub fn datetimes<D: Dimension>(&self) -> Result<(ArrayView<'_, i64, D>, TimeUnit)> {
        self.time_view(TimeKind::DateTime)
    }

    /// A zero-copy view of a `timedelta64` array as `i64` ticks, with the unit; as
    /// [`NpyFile::datetimes`].
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("dt.npy");
    /// use npmap::{DType, NAT};
    /// // np.array([1500, 'NaT', -20], dtype='m8[ms]'), in native byte order ('=').
    /// let data: Vec<u8> = [1500i64, NAT, -20].iter().flat_map(|v| v.to_ne_bytes()).collect();
    /// npmap::save_npy_raw(&path, &DType::parse("=m8[ms]")?, &[3], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let (ticks, unit) = f.timedeltas::<npmap::ndarray::Ix1>()?;
    /// assert_eq!(ticks.to_vec(), [1500, NAT, -20]);
    /// assert_eq!((unit.multiplier, unit.unit.as_str()), (1, "ms"));
    /// let valid: i64 = ticks.iter().filter(|&&t| t != NAT).sum();
    /// assert_eq!(valid, 1480);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the array's dtype is not `timedelta64` (`m8`).
    /// - [`ErrorKind::NonNativeByteOrder`] when the data is in the other byte order.
    /// - [`ErrorKind::Misaligned`] when the data is not aligned for `i64`.
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the array
    ///   has another.
    pub fn timedeltas<D: Dimension>(&self) -> Result<(ArrayView<'_, i64, D>, TimeUnit)> {
        self.time_view(TimeKind::TimeDelta)
    }

    /// Copies a `datetime64` array as `i64` ticks (either byte order, any alignment),
    /// with the unit. `NaT` is [`NAT`].
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("t.npy");
    /// use npmap::DType;
    /// // Big-endian seconds since the epoch: 1970-01-01T00:01:00 and NaT.
    /// let data: Vec<u8> = [60i64, npmap::NAT].iter().flat_map(|v| v.to_be_bytes()).collect();
    /// npmap::save_npy_raw(&path, &DType::parse(">M8[s]")?, &[2], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let (seconds, unit) = f.read_datetimes::<npmap::ndarray::Ix1>()?;
    /// assert_eq!(seconds.to_vec(), [60, npmap::NAT]);
    /// assert_eq!(unit.to_string(), "[s]");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the array's dtype is not `datetime64` (`M8`).
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the array
    ///   has another.
    pub fn read_datetimes<D: Dimension>(&self) -> Result<(Array<i64, D>, TimeUnit)> {
        self.time_copy(TimeKind::DateTime)
    }

    /// Copies a `timedelta64` array as `i64` ticks, with the unit. `NaT` is [`NAT`].
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("dt.npy");
    /// use npmap::ndarray::Ix2;
    /// use npmap::DType;
    /// let data: Vec<u8> = [1i64, 2, 3, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
    /// npmap::save_npy_raw(&path, &DType::parse("<m8[10us]")?, &[2, 2], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let (ticks, unit) = f.read_timedeltas::<Ix2>()?;
    /// assert_eq!(ticks[[1, 0]], 3);
    /// assert_eq!((unit.multiplier, unit.unit.as_str()), (10, "us"));
    /// assert!(matches!(f.read_datetimes::<Ix2>().as_ref().map_err(|e| e.kind()), Err(npmap::ErrorKind::DTypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DTypeMismatch`] when the array's dtype is not `timedelta64` (`m8`).
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the array
    ///   has another.
    pub fn read_timedeltas<D: Dimension>(&self) -> Result<(Array<i64, D>, TimeUnit)> {
        self.time_copy(TimeKind::TimeDelta)
    }

    fn time_view<D: Dimension>(&self, kind: TimeKind) -> Result<(ArrayView<'_, i64, D>, TimeUnit)> {
        let unit = time_unit(self.path(), &self.header().dtype, kind)?;
        let loc = Loc::whole(&self.header().dtype);
        let view = view_loc(self.path(), self.header(), self.data(), &loc).map_err(|e| match e
            .kind()
        {
            ErrorKind::FieldMisaligned {
                offset,
                align,
                type_name,
                ..
            } => Error::at(
                self.path(),
                ErrorKind::Misaligned {
                    offset: *offset,
                    align: *align,
                    type_name,
                },
            ),
            _ => e,
        })?;
        Ok((view, unit))
    }

    fn time_copy<D: Dimension>(&self, kind: TimeKind) -> Result<(Array<i64, D>, TimeUnit)> {
        let unit = time_unit(self.path(), &self.header().dtype, kind)?;
        let loc = Loc::whole(&self.header().dtype);
        Ok((
            read_loc(self.path(), self.header(), self.data(), &loc)?,
            unit,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_decoding_strips_trailing_nuls_only() {
        let p = Path::new("t.npy");
        let mut item = Vec::new();
        for u in ['a' as u32, 0, 'é' as u32, 0, 0] {
            item.extend(u.to_be_bytes());
        }
        assert_eq!(decode_unicode(p, &item, ByteOrder::Big, 0).unwrap(), "a\0é");
        let bad = 0xD800u32.to_le_bytes();
        let e = decode_unicode(p, &bad, ByteOrder::Little, 128).unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::InvalidString {
                offset: 128,
                value: 0xD800,
                ..
            }
        ));
    }

    #[test]
    fn byte_strings_strip_trailing_nuls() {
        assert_eq!(decode_bytes(b"a\0b\0\0"), b"a\0b");
        assert_eq!(decode_bytes(b"\0\0"), b"");
    }
}

//! Whole records of a structured array as a user's `#[repr(C)]` type: [`Record`],
//! [`NpyFile::records`], [`read_records`], [`save_records`], [`write_records_to`].

use std::io::Write;
use std::path::Path;

use ndarray::{Array, ArrayRef, ArrayView, ArrayViewMut, Dimension, ShapeBuilder};

use crate::cast::{self, Origin};
use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::{DType, Field};
use crate::format::element::Element;
use crate::format::header::{Header, HeaderOptions, read_up_to, truncated};
use crate::fs::durable::Durability;
use crate::npy::save::{save_items_as, write_items_as};
use crate::npy::{NpyFile, dimension, open_npy};

use crate::npy::fields::*;

impl NpyFile {
    /// A zero-copy view of the whole structured array as the user's record type `R`.
    ///
    /// The file's dtype must be exactly `R::dtype()` (names, types, offsets, sub-array
    /// shapes, item size, native byte order), checked here; the data must be aligned
    /// for `R`. [`NpyFile::read_records`] copies and accepts the other byte order.
    /// See [`Record`] for a fuller example.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("points.npy");
    /// use npmap::ndarray::{arr1, Ix1, Ix2};
    /// use npmap::{ErrorKind, Field, MmapMode, NpyFile, Record};
    /// use std::mem::offset_of;
    ///
    /// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct Point { x: f32, y: f32 }
    /// impl Record for Point {
    ///     fn fields() -> Vec<Field> {
    ///         vec![Field::of::<f32>("x", offset_of!(Point, x)), Field::of::<f32>("y", offset_of!(Point, y))]
    ///     }
    /// }
    ///
    /// npmap::save_records(&path, &arr1(&[Point { x: 1.0, y: 2.0 }, Point { x: 3.0, y: 4.0 }]))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// let points = f.records::<Point, Ix1>()?;
    /// assert_eq!(points[1], Point { x: 3.0, y: 4.0 });
    /// assert_eq!(points.iter().map(|p| p.x + p.y).sum::<f32>(), 10.0);
    /// assert!(matches!(f.records::<Point, Ix2>().as_ref().map_err(|e| e.kind()), Err(ErrorKind::NdimMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::BadRecordType`] when `R::fields()` does not describe a layout inside `R`.
    /// - [`ErrorKind::RecordMismatch`] when the file's dtype is not `R::dtype()`.
    /// - [`ErrorKind::NonNativeByteOrder`] when it is, but in the other byte order.
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions and the array
    ///   has another.
    /// - [`ErrorKind::Misaligned`] when the data is not aligned for `R`.
    pub fn records<R: Record, D: Dimension>(&self) -> Result<ArrayView<'_, R, D>> {
        check_records::<R>(self.path(), &self.header().dtype, false)?;
        let dim = dimension::<D>(&self.header().shape).map_err(|e| e.in_file(self.path()))?;
        let origin = Origin {
            data_offset: self.header().data_offset,
        };
        let records = cast::as_pod::<R>(self.data(), origin).map_err(|e| e.in_file(self.path()))?;
        ArrayView::from_shape(dim.set_f(self.header().fortran_order), records)
            .map_err(|_| overflow(self.path(), self.header()))
    }

    /// A mutable view of the whole array as `R`; refused for read-only mappings.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("points.npy");
    /// use npmap::ndarray::{arr1, Array1, Ix1};
    /// use npmap::{Field, MmapMode, NpyFile, Record};
    /// use std::mem::offset_of;
    /// # #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// # #[repr(C)]
    /// # struct Point { x: f32, y: f32 }
    /// # impl Record for Point {
    /// #     fn fields() -> Vec<Field> {
    /// #         vec![Field::of::<f32>("x", offset_of!(Point, x)), Field::of::<f32>("y", offset_of!(Point, y))]
    /// #     }
    /// # }
    /// npmap::save_records(&path, &arr1(&[Point { x: 1.0, y: 2.0 }]))?;
    /// // SAFETY: nothing else truncates or writes the file while it is mapped.
    /// let mut f = unsafe { NpyFile::open(&path, MmapMode::ReadWrite)? };
    /// f.records_mut::<Point, Ix1>()?[0].y = -2.0;
    /// f.flush()?;
    /// let back: Array1<Point> = npmap::read_records(&path)?;
    /// assert_eq!(back[0], Point { x: 1.0, y: -2.0 });
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ReadOnly`] for a [`crate::MmapMode::ReadOnly`] mapping, and the errors of
    /// [`NpyFile::records`].
    pub fn records_mut<R: Record, D: Dimension>(&mut self) -> Result<ArrayViewMut<'_, R, D>> {
        let path = self.path().to_path_buf();
        let header = self.header().clone();
        check_records::<R>(&path, &header.dtype, false)?;
        let dim = dimension::<D>(&header.shape).map_err(|e| e.in_file(&path))?;
        let origin = Origin {
            data_offset: header.data_offset,
        };
        let records =
            cast::as_pod_mut::<R>(self.data_mut()?, origin).map_err(|e| e.in_file(&path))?;
        ArrayViewMut::from_shape(dim.set_f(header.fortran_order), records)
            .map_err(|_| overflow(&path, &header))
    }

    /// Copies the whole array as `R`, in either byte order (fields are swapped to
    /// native) and at any alignment.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("be.npy");
    /// use npmap::ndarray::Ix1;
    /// use npmap::{DType, ErrorKind, Field, MmapMode, NpyFile, Record};
    /// use std::mem::offset_of;
    /// # #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// # #[repr(C)]
    /// # struct Point { x: f32, y: f32 }
    /// # impl Record for Point {
    /// #     fn fields() -> Vec<Field> {
    /// #         vec![Field::of::<f32>("x", offset_of!(Point, x)), Field::of::<f32>("y", offset_of!(Point, y))]
    /// #     }
    /// # }
    /// // Written by `np.save(path, points.astype([('x', '>f4'), ('y', '>f4')]))`.
    /// let dtype = DType::parse("[('x', '>f4'), ('y', '>f4')]")?;
    /// let data = [1.0f32.to_be_bytes(), 2.0f32.to_be_bytes()].concat();
    /// npmap::save_npy_raw(&path, &dtype, &[1], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// # if cfg!(target_endian = "little") {
    /// assert!(matches!(f.records::<Point, Ix1>().as_ref().map_err(|e| e.kind()), Err(ErrorKind::NonNativeByteOrder { .. })));
    /// # }
    /// assert_eq!(f.read_records::<Point, Ix1>()?[0], Point { x: 1.0, y: 2.0 });
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::BadRecordType`], [`ErrorKind::RecordMismatch`] (the file's dtype is neither
    /// `R::dtype()` nor its byte-swapped form) and [`ErrorKind::NdimMismatch`], as for
    /// [`NpyFile::records`]; [`ErrorKind::OutOfMemory`] when the copy cannot be allocated.
    pub fn read_records<R: Record, D: Dimension>(&self) -> Result<Array<R, D>> {
        let bytes =
            cast::try_copy(self.data(), "record data").map_err(|e| e.in_file(self.path()))?;
        records_from_bytes(self.path(), self.header(), bytes)
    }
}

fn records_from_bytes<R: Record, D: Dimension>(
    path: &Path,
    header: &Header,
    mut bytes: Vec<u8>,
) -> Result<Array<R, D>> {
    let swap = check_records::<R>(path, &header.dtype, true)?;
    if swap {
        let size = header.dtype.itemsize();
        if size > 0 {
            for item in bytes.chunks_exact_mut(size) {
                swap_to_native(&header.dtype, item);
            }
        }
    }
    let dim = dimension::<D>(&header.shape).map_err(|e| e.in_file(path))?;
    let origin = Origin {
        data_offset: header.data_offset,
    };
    let records = cast::copy_pod::<R>(&bytes, origin).map_err(|e| e.in_file(path))?;
    Array::from_shape_vec(dim.set_f(header.fortran_order), records)
        .map_err(|_| overflow(path, header))
}

/// Reads a whole structured `.npy` file into memory as the record type `R` (no
/// mapping, so no contract to keep): either byte order, any alignment.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("p.npy");
/// use npmap::ndarray::{arr1, Array1};
/// use npmap::{Field, Record};
/// use std::mem::offset_of;
///
/// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Point { x: f32, y: f32 }
/// impl Record for Point {
///     fn fields() -> Vec<Field> {
///         vec![Field::of::<f32>("x", offset_of!(Point, x)), Field::of::<f32>("y", offset_of!(Point, y))]
///     }
/// }
///
/// let points = arr1(&[Point { x: 1.0, y: 2.0 }, Point { x: -1.0, y: 0.5 }]);
/// npmap::save_records(&path, &points)?;
/// let back: Array1<Point> = npmap::read_records(&path)?;
/// assert_eq!(back, points);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`ErrorKind::Io`] when the file cannot be opened or read, the errors of
/// [`Header::read_from`](crate::Header::read_from) for a malformed or truncated file,
/// and those of [`NpyFile::read_records`].
pub fn read_records<R: Record, D: Dimension>(path: impl AsRef<Path>) -> Result<Array<R, D>> {
    let path = path.as_ref();
    let (header, bytes) = read_whole(path)?;
    records_from_bytes(path, &header, bytes)
}

/// Reads a whole `.npy` file: its header and its data bytes (length checked first).
pub(crate) fn read_whole(path: &Path) -> Result<(Header, Vec<u8>)> {
    let (mut file, _, header) = open_npy(path, false, &HeaderOptions::default())?;
    let data_len = usize::try_from(header.data_len()).map_err(|_| overflow(path, &header))?;
    let mut bytes = cast::try_filled(data_len, 0u8, "array data").map_err(|e| e.in_file(path))?;
    let got = read_up_to(&mut file, &mut bytes).map_err(|e| e.in_file(path))?;
    if got < data_len {
        return Err(truncated(
            "array data",
            header.data_offset,
            data_len as u64,
            got as u64,
        )
        .in_file(path));
    }
    Ok((header, bytes))
}

/// Reverses the bytes of every multi-byte scalar of one item of `dtype` whose byte
/// order is not native.
pub(crate) fn swap_to_native(dtype: &DType, item: &mut [u8]) {
    match dtype {
        DType::Record { fields, .. } => {
            for f in fields {
                let end = f.offset + f.size();
                swap_elements(&f.dtype, &mut item[f.offset..end]);
            }
        }
        DType::SubArray { base, .. } => swap_elements(base, item),
        other if !other.byte_order().is_native() => {
            let unit = match other {
                DType::Complex { size, .. } => size / 2,
                DType::Unicode { .. } => 4,
                _ => other.itemsize(),
            };
            if unit > 1 {
                item.chunks_exact_mut(unit).for_each(<[u8]>::reverse);
            }
        }
        _ => {}
    }
}

/// [`swap_to_native`] on each item of `dtype` in `items`.
fn swap_elements(dtype: &DType, items: &mut [u8]) {
    let size = dtype.itemsize();
    if size > 0 {
        items
            .chunks_exact_mut(size)
            .for_each(|item| swap_to_native(dtype, item));
    }
}

/// A user's `#[repr(C)]` struct that mirrors a NumPy structured dtype, so that a whole
/// structured array can be viewed ([`NpyFile::records`]), copied ([`read_records`])
/// and written ([`save_records`]) as an array of the struct.
///
/// The struct must be [`bytemuck::Pod`] (no implicit padding: spell padding out as
/// `[u8; N]` members and leave them out of [`Record::fields`]; they become NumPy's
/// `('', '|V<N>')` padding entries). `fields` lists the named fields in offset order,
/// in native byte order; use [`std::mem::offset_of!`] for the offsets. A wrong list
/// cannot cause undefined behaviour (every bit pattern is a valid `Pod`), only a
/// mismatch error or wrong values; it is checked (in order, inside the struct, no
/// overlaps, unique non-empty names) before every use.
///
/// Strings are `[u8; N]` (`S<N>`, [`Field::new`] with [`DType::Bytes`]) or
/// `[u32; N]` (`U<N>`, [`DType::Unicode`] in native order); sub-arrays are Rust
/// arrays ([`Field::with_shape`]); nested records are other `Record` types
/// (`Field::new("inner", Inner::dtype(), offset)`).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("people.npy");
/// use npmap::ndarray::Ix1;
/// use npmap::{ByteOrder, DType, Field, MmapMode, NpyFile, Record};
/// use std::mem::offset_of;
///
/// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Person {
///     name: [u32; 10], // 'U10'
///     age: i32,
///     weight: f32,
/// }
///
/// impl Record for Person {
///     fn fields() -> Vec<Field> {
///         let text = DType::Unicode { chars: 10, order: ByteOrder::NATIVE };
///         vec![
///             Field::new("name", text, offset_of!(Person, name)),
///             Field::of::<i32>("age", offset_of!(Person, age)),
///             Field::of::<f32>("weight", offset_of!(Person, weight)),
///         ]
///     }
/// }
///
/// # if cfg!(target_endian = "little") {
/// assert_eq!(Person::dtype().descr(), "[('name', '<U10'), ('age', '<i4'), ('weight', '<f4')]");
/// # }
/// let mut name = [0u32; 10];
/// name[..3].copy_from_slice(&['B' as u32, 'o' as u32, 'b' as u32]);
/// let people = npmap::ndarray::arr1(&[Person { name, age: 30, weight: 75.0 }]);
/// npmap::save_records(&path, &people)?; // as np.save writes it
///
/// // SAFETY: nothing truncates the file while it is mapped.
/// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
/// let view = f.records::<Person, Ix1>()?;
/// assert_eq!(view[0].age, 30);
/// assert_eq!(f.read_field_strings::<Ix1>("name")?[0], "Bob");
/// # Ok(()) }
/// ```
pub trait Record: bytemuck::Pod + Send + Sync {
    /// The named fields, in offset order and native byte order. Padding (members
    /// left out of the list) becomes NumPy's `('', '|V<N>')` entries.
    ///
    /// ```
    /// use npmap::{Field, Record};
    /// use std::mem::offset_of;
    ///
    /// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct Sample {
    ///     flag: u8,
    ///     _pad: [u8; 3],
    ///     value: f32,
    /// }
    ///
    /// impl Record for Sample {
    ///     fn fields() -> Vec<Field> {
    ///         vec![
    ///             Field::of::<u8>("flag", offset_of!(Sample, flag)),
    ///             Field::of::<f32>("value", offset_of!(Sample, value)),
    ///         ]
    ///     }
    /// }
    ///
    /// let names: Vec<String> = Sample::fields().into_iter().map(|f| f.name).collect();
    /// assert_eq!(names, ["flag", "value"]);
    /// # if cfg!(target_endian = "little") {
    /// assert_eq!(Sample::dtype().descr(), "[('flag', '|u1'), ('', '|V3'), ('value', '<f4')]");
    /// # }
    /// let s = Sample { flag: 1, _pad: [0; 3], value: 0.5 };
    /// assert_eq!((s.flag, s.value), (1, 0.5));
    /// ```
    fn fields() -> Vec<Field>;

    /// The structured dtype: [`Record::fields`] with `size_of::<Self>()` as the item size.
    ///
    /// ```
    /// use npmap::{DType, Field, Record};
    /// use std::mem::offset_of;
    /// # #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// # #[repr(C)]
    /// # struct Point { x: f32, y: f32 }
    /// # impl Record for Point {
    /// #     fn fields() -> Vec<Field> {
    /// #         vec![Field::of::<f32>("x", offset_of!(Point, x)), Field::of::<f32>("y", offset_of!(Point, y))]
    /// #     }
    /// # }
    /// let DType::Record { fields, itemsize } = Point::dtype() else { unreachable!() };
    /// assert_eq!((fields.len(), itemsize), (2, 8));
    /// assert_eq!(fields[1].offset, 4);
    /// # let p = Point { x: 1.0, y: 2.0 };
    /// # assert_eq!(p.x + p.y, 3.0);
    /// ```
    fn dtype() -> DType {
        DType::Record {
            fields: Self::fields(),
            itemsize: std::mem::size_of::<Self>(),
        }
    }
}

impl Field {
    /// A scalar field of `dtype` at byte `offset` in the record.
    ///
    /// ```
    /// let f = npmap::Field::new("id", npmap::DType::Bytes { len: 8 }, 0);
    /// assert_eq!((f.name.as_str(), f.offset, f.shape.len()), ("id", 0, 0));
    /// ```
    pub fn new(name: &str, dtype: DType, offset: usize) -> Field {
        Field {
            name: name.to_string(),
            title: None,
            dtype,
            shape: Vec::new(),
            offset,
        }
    }

    /// A scalar field holding the element type `A` (native byte order).
    ///
    /// ```
    /// let f = npmap::Field::of::<f64>("x", 8);
    /// assert_eq!(f.dtype.name(), "float64");
    /// ```
    pub fn of<A: Element>(name: &str, offset: usize) -> Field {
        Field::new(name, A::dtype(), offset)
    }

    /// The same field as a sub-array of `shape` (a Rust array member, e.g. `[f32; 3]`).
    ///
    /// ```
    /// let f = npmap::Field::of::<f32>("xyz", 0).with_shape(&[3]);
    /// assert_eq!(f.shape, [3]);
    /// ```
    pub fn with_shape(mut self, shape: &[usize]) -> Field {
        self.shape = shape.to_vec();
        self
    }
}

/// Checks `R`'s field list and compares its dtype with the file's; `Ok(true)` when
/// the file is the byte-swapped form of it (only accepted when `allow_swap`).
pub(crate) fn check_records<R: Record>(
    path: &Path,
    found: &DType,
    allow_swap: bool,
) -> Result<bool> {
    let expected = record_dtype::<R>().map_err(|e| e.in_file(path))?;
    if *found == expected {
        return Ok(false);
    }
    if found.to_native() == expected && !found.is_native_order() {
        if allow_swap {
            return Ok(true);
        }
        return Err(Error::at(
            path,
            ErrorKind::NonNativeByteOrder {
                descr: found.descr(),
            },
        ));
    }
    Err(Error::at(
        path,
        ErrorKind::RecordMismatch {
            type_name: std::any::type_name::<R>(),
            expected: expected.descr(),
            found: found.descr(),
        },
    ))
}

/// `R::dtype()` after checking that it describes a layout inside `R`.
fn record_dtype<R: Record>() -> Result<DType> {
    let dtype = R::dtype();
    let bad = |reason: String| {
        Error::from(ErrorKind::BadRecordType {
            type_name: std::any::type_name::<R>(),
            reason,
        })
    };
    let DType::Record { fields, itemsize } = &dtype else {
        return Err(bad(format!(
            "dtype() must be a record, found '{}'",
            dtype.descr()
        )));
    };
    if *itemsize != std::mem::size_of::<R>() {
        return Err(bad(format!(
            "expected an item size of {} (size_of), found {itemsize}",
            std::mem::size_of::<R>()
        )));
    }
    check_fields(fields, *itemsize).map_err(bad)?;
    if !dtype.is_native_order() {
        return Err(bad(format!(
            "expected native byte order, found '{}'",
            dtype.descr()
        )));
    }
    Ok(dtype)
}

fn check_fields(fields: &[Field], itemsize: usize) -> std::result::Result<(), String> {
    let mut end = 0usize;
    let mut names = std::collections::HashSet::new();
    for f in fields {
        if f.name.is_empty() {
            return Err("field names must not be empty".into());
        }
        if !names.insert(f.name.as_str()) {
            return Err(format!("field '{}' occurs more than once", f.name));
        }
        if f.offset < end {
            return Err(format!(
                "field '{}' at offset {} overlaps or precedes the previous field (ends at {end}); list fields in offset order",
                f.name, f.offset
            ));
        }
        let count = f
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| format!("field '{}' overflows", f.name))?;
        end = f
            .dtype
            .itemsize()
            .checked_mul(count)
            .and_then(|s| s.checked_add(f.offset))
            .ok_or_else(|| format!("field '{}' overflows", f.name))?;
        if end > itemsize {
            return Err(format!(
                "field '{}' ends at byte {end}, past the record size {itemsize}",
                f.name
            ));
        }
        if let (
            DType::Record {
                fields: inner,
                itemsize: inner_size,
            },
            _,
        ) = f.dtype.flat_subarray()
        {
            check_fields(inner, *inner_size)?;
        }
    }
    Ok(())
}

/// Writes an array of records as a `.npy` stream, as `np.save` writes the same
/// structured array (descr from [`Record::fields`], padding entries for gaps).
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// use npmap::ndarray::arr1;
/// use npmap::{Field, Header, Record};
/// use std::mem::offset_of;
/// # #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
/// # #[repr(C)]
/// # struct Point { x: f32, y: f32 }
/// # impl Record for Point {
/// #     fn fields() -> Vec<Field> {
/// #         vec![Field::of::<f32>("x", offset_of!(Point, x)), Field::of::<f32>("y", offset_of!(Point, y))]
/// #     }
/// # }
/// let mut out = Vec::new();
/// npmap::write_records_to(&mut out, &arr1(&[Point { x: 0.5, y: 1.5 }]))?;
/// let h = Header::read_from(&mut out.as_slice(), None, &Default::default())?;
/// assert_eq!((h.dtype, h.shape), (Point::dtype(), vec![1]));
/// assert_eq!(out.len(), 128 + 8);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::BadRecordType`] when `R::fields()` does not describe a layout inside `R`
///   (nothing is written then).
/// - [`ErrorKind::Io`] (`action` `"write"`, no path) when `writer` fails.
pub fn write_records_to<R, D>(writer: impl Write, array: &ArrayRef<R, D>) -> Result<()>
where
    R: Record,
    D: Dimension,
{
    write_items_as(writer, array, &record_dtype::<R>()?)
}

/// Saves an array of records to `path` as `np.save` would, atomically (see
/// [`crate::save_npy`]). See [`Record`] for a fuller example.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("points.npy");
/// use npmap::ndarray::Array2;
/// use npmap::{Field, Record};
/// use std::mem::offset_of;
/// # #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
/// # #[repr(C)]
/// # struct Point { x: f32, y: f32 }
/// # impl Record for Point {
/// #     fn fields() -> Vec<Field> {
/// #         vec![Field::of::<f32>("x", offset_of!(Point, x)), Field::of::<f32>("y", offset_of!(Point, y))]
/// #     }
/// # }
/// let grid = Array2::from_elem((2, 3), Point { x: 0.0, y: 1.0 });
/// npmap::save_records(&path, &grid)?;
/// let h = npmap::read_npy_header(&path)?;
/// assert_eq!((h.dtype, h.shape), (Point::dtype(), vec![2, 3]));
/// assert_eq!(npmap::read_records::<Point, _>(&path)?, grid);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`ErrorKind::BadRecordType`] when `R::fields()` does not describe a layout inside `R`.
/// - [`ErrorKind::Io`] when the temporary file beside `path` cannot be created, its space
///   reserved, written, synced or renamed over `path`; `path` is then left as it was.
pub fn save_records<R, D>(path: impl AsRef<Path>, array: &ArrayRef<R, D>) -> Result<()>
where
    R: Record,
    D: Dimension,
{
    let path = path.as_ref();
    let dtype = record_dtype::<R>().map_err(|e| e.in_file(path))?;
    save_items_as(path, array, &dtype, Durability::Synced)
}

/// Renamed to [`write_records_to`] (writer functions end in `_to`, reader functions in `_from`).
#[deprecated(since = "0.2.0", note = "renamed to `write_records_to`")]
#[doc(hidden)]
pub fn write_records<R, D>(writer: impl Write, array: &ArrayRef<R, D>) -> Result<()>
where
    R: Record,
    D: Dimension,
{
    write_records_to(writer, array)
}

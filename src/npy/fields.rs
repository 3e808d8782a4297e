//! Structured (record) arrays: zero-copy strided views and copies of one field
//! ([`NpyFile::field`], [`NpyFile::read_field`]), and whole records as a user's
//! `#[repr(C)]` type ([`Record`], [`NpyFile::records`], [`save_records`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{Array, ArrayRef, ArrayView, ArrayViewMut, Dimension, ShapeBuilder, StrideShape};

use crate::cast::{self, Origin};
use crate::error::{Error, Result, STREAM_PATH};
use crate::format::dtype::{DType, Field};
use crate::format::element::Element;
use crate::format::header::{Header, HeaderOptions, read_up_to, truncated};
use crate::fs::durable::{Durability, atomic_write, reserve_space};
use crate::npy::save::written_in_fortran_order;
use crate::npy::{NpyFile, dimension};

/// Where one field's elements lie in every record of an array.
#[derive(Clone, Debug)]
pub(crate) struct Loc {
    /// The name asked for, for messages.
    pub name: String,
    /// The element dtype of the field (of one sub-array element).
    pub dtype: DType,
    /// The sub-array shape; empty for a scalar field.
    pub sub: Vec<usize>,
    /// Byte offset of the field in a record.
    pub offset: usize,
    /// Bytes per record.
    pub record_size: usize,
}

impl Loc {
    /// The whole item of an array as one "field" (for strings and datetimes).
    pub(crate) fn whole(dtype: &DType) -> Loc {
        Loc {
            name: String::new(),
            dtype: dtype.clone(),
            sub: Vec::new(),
            offset: 0,
            record_size: dtype.itemsize(),
        }
    }

    pub(crate) fn sub_count(&self) -> usize {
        self.sub.iter().product()
    }

    fn field_bytes(&self) -> usize {
        self.dtype.itemsize() * self.sub_count()
    }
}

/// Finds the field `name` of the record `dtype`. A name with dots is a path through
/// nested records (`"inner.y"`); a field whose own name contains a dot is found first.
pub(crate) fn locate(path: &Path, dtype: &DType, name: &str) -> Result<Loc> {
    let DType::Record { .. } = dtype else {
        return Err(Error::NotStructured {
            path: path.to_path_buf(),
            descr: dtype.descr(),
            field: name.to_string(),
        });
    };
    let record_size = dtype.itemsize();
    let mut current = dtype;
    let mut rest = name;
    let mut offset = 0usize;
    loop {
        let DType::Record { fields, .. } = current else {
            unreachable!("only records are walked");
        };
        if let Some(f) = fields.iter().find(|f| f.name == rest) {
            return Ok(Loc {
                name: name.to_string(),
                dtype: f.dtype.clone(),
                sub: f.shape.clone(),
                offset: offset + f.offset,
                record_size,
            });
        }
        let next = fields.iter().find(|f| {
            f.shape.is_empty()
                && matches!(f.dtype, DType::Record { .. })
                && rest.len() > f.name.len() + 1
                && rest.starts_with(f.name.as_str())
                && rest.as_bytes()[f.name.len()] == b'.'
        });
        match next {
            Some(f) => {
                offset += f.offset;
                rest = &rest[f.name.len() + 1..];
                current = &f.dtype;
            }
            None => {
                return Err(Error::FieldNotFound {
                    path: path.to_path_buf(),
                    field: name.to_string(),
                    available: fields.iter().map(|f| f.name.clone()).collect(),
                });
            }
        }
    }
}

/// The dtype a field is viewed as: datetimes and timedeltas are 64-bit integers.
fn viewed_as(dtype: &DType) -> DType {
    match dtype {
        DType::DateTime { order, .. } | DType::TimeDelta { order, .. } => DType::Int {
            size: 8,
            order: *order,
        },
        other => other.clone(),
    }
}

/// Checks that a field holds `A`s; `Ok(true)` when they need byte swapping.
pub(crate) fn field_element<A: Element>(path: &Path, loc: &Loc) -> Result<bool> {
    let found = viewed_as(&loc.dtype);
    let wanted = A::dtype();
    if found == wanted {
        Ok(false)
    } else if found.to_native() == wanted {
        Ok(true)
    } else {
        Err(Error::DTypeMismatch {
            path: path.to_path_buf(),
            found: loc.dtype.descr(),
            found_name: loc.dtype.name(),
            expected: A::NAME,
        })
    }
}

/// The shape of a field's array (the array's axes, then the sub-array's) with strides
/// in elements: `record_stride` elements from one record to the next in the array's
/// memory order (C, or Fortran when `fortran`), the sub-array contiguous in C order.
pub(crate) fn field_shape<D: Dimension>(
    path: &Path,
    shape: &[usize],
    fortran: bool,
    sub: &[usize],
    record_stride: usize,
) -> Result<StrideShape<D>> {
    let full: Vec<usize> = shape.iter().chain(sub).copied().collect();
    let dim = dimension::<D>(path, &full)?;
    let mut strides = D::zeros(full.len());
    let mut step = record_stride;
    let n = shape.len();
    let record_axes: Vec<usize> = match fortran {
        true => (0..n).collect(),
        false => (0..n).rev().collect(),
    };
    for k in record_axes {
        strides[k] = step;
        step = step.saturating_mul(shape[k]);
    }
    let mut step = 1usize;
    for j in (0..sub.len()).rev() {
        strides[n + j] = step;
        step = step.saturating_mul(sub[j]);
    }
    Ok(dim.strides(strides))
}

/// The part of the data bytes a strided view of `loc` as `A` covers, after checking
/// the alignment and the record size; with the file offset where it starts.
fn view_span<A: Element>(
    path: &Path,
    header: &Header,
    bytes: &[u8],
    loc: &Loc,
) -> Result<(std::ops::Range<usize>, u64)> {
    let size = std::mem::size_of::<A>();
    let align = std::mem::align_of::<A>();
    let file_offset = header.data_offset + loc.offset as u64;
    if bytes.is_empty() {
        return Ok((0..0, file_offset));
    }
    let address = (bytes.as_ptr() as usize).wrapping_add(loc.offset);
    // With one record at most the record stride is never used.
    let strided = header.len() > 1;
    if (strided && !loc.record_size.is_multiple_of(size)) || !address.is_multiple_of(align) {
        return Err(Error::FieldMisaligned {
            path: path.to_path_buf(),
            field: loc.name.clone(),
            offset: file_offset,
            record_size: loc.record_size,
            align,
            size,
            type_name: A::NAME,
        });
    }
    let elements = (bytes.len() - loc.offset) / size;
    Ok((loc.offset..loc.offset + elements * size, file_offset))
}

/// A zero-copy strided view of `loc` as `A`.
pub(crate) fn view_loc<'a, A: Element, D: Dimension>(
    path: &Path,
    header: &Header,
    bytes: &'a [u8],
    loc: &Loc,
) -> Result<ArrayView<'a, A, D>> {
    if field_element::<A>(path, loc)? {
        return Err(Error::NonNativeByteOrder {
            path: path.to_path_buf(),
            descr: loc.dtype.descr(),
        });
    }
    let (span, data_offset) = view_span::<A>(path, header, bytes, loc)?;
    let stride = loc.record_size / std::mem::size_of::<A>();
    let shape = field_shape::<D>(path, &header.shape, header.fortran_order, &loc.sub, stride)?;
    let elements = cast::as_elements::<A>(&bytes[span], Origin { path, data_offset })?;
    ArrayView::from_shape(shape, elements).map_err(|_| overflow(path, header))
}

/// Copies the field `loc` of every record, in memory order, into `A`s (swapping
/// byte order when the field is non-native), shaped like the field view.
pub(crate) fn read_loc<A: Element, D: Dimension>(
    path: &Path,
    header: &Header,
    bytes: &[u8],
    loc: &Loc,
) -> Result<Array<A, D>> {
    let swap = field_element::<A>(path, loc)?;
    let gathered = gather(bytes, loc, header.len());
    let origin = Origin {
        path,
        data_offset: header.data_offset + loc.offset as u64,
    };
    let elements = cast::copy_elements::<A>(&gathered, swap, origin)?;
    let shape = field_shape::<D>(
        path,
        &header.shape,
        header.fortran_order,
        &loc.sub,
        loc.sub_count(),
    )?;
    Array::from_shape_vec(shape, elements).map_err(|_| overflow(path, header))
}

/// The bytes of field `loc` of each of `count` records, in memory order.
pub(crate) fn gather(bytes: &[u8], loc: &Loc, count: usize) -> Vec<u8> {
    let width = loc.field_bytes();
    let mut out = Vec::with_capacity(count.saturating_mul(width));
    if loc.record_size == 0 {
        return out;
    }
    for record in bytes.chunks_exact(loc.record_size).take(count) {
        out.extend_from_slice(&record[loc.offset..loc.offset + width]);
    }
    out
}

fn overflow(path: &Path, header: &Header) -> Error {
    Error::ShapeOverflow {
        path: path.to_path_buf(),
        shape: header.shape.iter().map(|&d| d as u64).collect(),
        itemsize: header.dtype.itemsize(),
    }
}

impl NpyFile {
    /// A zero-copy strided view of one field of a structured array.
    ///
    /// `name` is a field name, or a dotted path into nested records (`"inner.y"`). The
    /// view has the array's axes followed by the field's sub-array axes (so `D` has
    /// `ndim + sub-array ndim` dimensions), and follows the file's memory order.
    /// Datetime and timedelta fields can be viewed as `i64`.
    ///
    /// A view needs the field in native byte order, its first element aligned for `A`
    /// and the record size a multiple of `size_of::<A>()`; otherwise the error
    /// ([`Error::NonNativeByteOrder`], [`Error::FieldMisaligned`]) suggests
    /// [`NpyFile::read_field`], which copies. For a `bool` field every byte the view
    /// spans (other fields' bytes included) must be 0 or 1; `read_field` has no such
    /// limit.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("people.npy");
    /// use npmap::ndarray::Ix1;
    /// use npmap::{DType, MmapMode, NpyFile};
    /// // np.array([(25, 55.5), (30, 75.0)], dtype=[('age', '<i4'), ('weight', '<f4')])
    /// let dtype = DType::parse("[('age', '<i4'), ('weight', '<f4')]")?;
    /// let mut data = Vec::new();
    /// for (age, weight) in [(25i32, 55.5f32), (30, 75.0)] {
    ///     data.extend(age.to_le_bytes());
    ///     data.extend(weight.to_le_bytes());
    /// }
    /// npmap::save_npy_raw(&path, &dtype, &[2], false, &data)?;
    /// // SAFETY: nothing truncates the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// # if cfg!(target_endian = "little") {
    /// let weight = f.field::<f32, Ix1>("weight")?;
    /// assert_eq!(weight.to_vec(), [55.5, 75.0]);
    /// assert_eq!(weight.strides(), [2]); // one record = two f32
    /// assert!(matches!(f.field::<f32, Ix1>("height"), Err(npmap::Error::FieldNotFound { .. })));
    /// assert!(matches!(f.field::<f64, Ix1>("weight"), Err(npmap::Error::DTypeMismatch { .. })));
    /// # }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::NotStructured`] when the array's dtype is not a record.
    /// - [`Error::FieldNotFound`] when no field has the name or dotted path `name`.
    /// - [`Error::DTypeMismatch`] when the field's type is not `A` (datetime and
    ///   timedelta fields match `i64`).
    /// - [`Error::NdimMismatch`] when `D` has a fixed number of dimensions other than the
    ///   array's plus the field's sub-array dimensions.
    /// - [`Error::NonNativeByteOrder`] when the field is in the other byte order.
    /// - [`Error::FieldMisaligned`] when its first element is not aligned for `A` or the
    ///   record size is not a multiple of `size_of::<A>()`.
    /// - [`Error::InvalidBool`] for a `bool` field when a byte the view spans is neither
    ///   0 nor 1.
    pub fn field<A: Element, D: Dimension>(&self, name: &str) -> Result<ArrayView<'_, A, D>> {
        let loc = locate(self.path(), &self.header().dtype, name)?;
        view_loc(self.path(), self.header(), self.data(), &loc)
    }

    /// A mutable strided view of one field, as [`NpyFile::field`]; refused for
    /// [`crate::MmapMode::ReadOnly`] mappings.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("r.npy");
    /// let dtype = npmap::DType::parse("[('a', '<i4'), ('b', '<i4')]")?;
    /// npmap::save_npy_raw(&path, &dtype, &[3], false, &[0u8; 24])?;
    /// # if cfg!(target_endian = "little") {
    /// // SAFETY: nothing else touches the file while it is mapped.
    /// let mut f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadWrite)? };
    /// f.field_mut::<i32, npmap::ndarray::Ix1>("b")?.fill(7);
    /// f.flush()?;
    /// assert_eq!(f.field::<i32, npmap::ndarray::Ix1>("a")?.to_vec(), [0, 0, 0]);
    /// assert_eq!(f.field::<i32, npmap::ndarray::Ix1>("b")?.to_vec(), [7, 7, 7]);
    /// # }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`] for a [`crate::MmapMode::ReadOnly`] mapping, and the errors of
    /// [`NpyFile::field`].
    pub fn field_mut<A: Element, D: Dimension>(
        &mut self,
        name: &str,
    ) -> Result<ArrayViewMut<'_, A, D>> {
        let path = self.path().to_path_buf();
        let header = self.header().clone();
        let loc = locate(&path, &header.dtype, name)?;
        if field_element::<A>(&path, &loc)? {
            return Err(Error::NonNativeByteOrder {
                path,
                descr: loc.dtype.descr(),
            });
        }
        let bytes = self.data_mut()?;
        let (span, data_offset) = view_span::<A>(&path, &header, bytes, &loc)?;
        let stride = loc.record_size / std::mem::size_of::<A>();
        let shape = field_shape::<D>(&path, &header.shape, header.fortran_order, &loc.sub, stride)?;
        let origin = Origin {
            path: &path,
            data_offset,
        };
        let elements = cast::as_elements_mut::<A>(&mut bytes[span], origin)?;
        ArrayViewMut::from_shape(shape, elements).map_err(|_| overflow(&path, &header))
    }

    /// Copies one field of a structured array: any alignment, any byte order (swapped
    /// to native). Shaped as [`NpyFile::field`], in the file's memory order.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("packed.npy");
    /// use npmap::ndarray::Ix1;
    /// use npmap::Error;
    /// // A packed record: the big-endian f8 sits at byte 1 of each 9-byte record.
    /// let dtype = npmap::DType::parse("[('flag', '|u1'), ('x', '>f8')]")?;
    /// let mut data = vec![1u8];
    /// data.extend(2.5f64.to_be_bytes());
    /// npmap::save_npy_raw(&path, &dtype, &[1], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let e = f.field::<f64, Ix1>("x").unwrap_err();
    /// assert!(matches!(e, Error::NonNativeByteOrder { .. } | Error::FieldMisaligned { .. }));
    /// assert_eq!(f.read_field::<f64, Ix1>("x")?.to_vec(), [2.5]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::NotStructured`] when the array's dtype is not a record.
    /// - [`Error::FieldNotFound`] when no field has the name or dotted path `name`.
    /// - [`Error::DTypeMismatch`] when the field's type is not `A` (datetime and
    ///   timedelta fields match `i64`).
    /// - [`Error::NdimMismatch`] when `D` has a fixed number of dimensions other than the
    ///   array's plus the field's sub-array dimensions.
    /// - [`Error::InvalidBool`] for a `bool` field holding a byte other than 0 or 1.
    pub fn read_field<A: Element, D: Dimension>(&self, name: &str) -> Result<Array<A, D>> {
        let loc = locate(self.path(), &self.header().dtype, name)?;
        read_loc(self.path(), self.header(), self.data(), &loc)
    }

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
    /// use npmap::{Error, Field, MmapMode, NpyFile, Record};
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
    /// assert!(matches!(f.records::<Point, Ix2>(), Err(Error::NdimMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::BadRecordType`] when `R::fields()` does not describe a layout inside `R`.
    /// - [`Error::RecordMismatch`] when the file's dtype is not `R::dtype()`.
    /// - [`Error::NonNativeByteOrder`] when it is, but in the other byte order.
    /// - [`Error::NdimMismatch`] when `D` has a fixed number of dimensions and the array
    ///   has another.
    /// - [`Error::Misaligned`] when the data is not aligned for `R`.
    pub fn records<R: Record, D: Dimension>(&self) -> Result<ArrayView<'_, R, D>> {
        check_records::<R>(self.path(), &self.header().dtype, false)?;
        let dim = dimension::<D>(self.path(), &self.header().shape)?;
        let origin = Origin {
            path: self.path(),
            data_offset: self.header().data_offset,
        };
        let records = cast::as_pod::<R>(self.data(), origin)?;
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
    /// [`Error::ReadOnly`] for a [`crate::MmapMode::ReadOnly`] mapping, and the errors of
    /// [`NpyFile::records`].
    pub fn records_mut<R: Record, D: Dimension>(&mut self) -> Result<ArrayViewMut<'_, R, D>> {
        let path = self.path().to_path_buf();
        let header = self.header().clone();
        check_records::<R>(&path, &header.dtype, false)?;
        let dim = dimension::<D>(&path, &header.shape)?;
        let origin = Origin {
            path: &path,
            data_offset: header.data_offset,
        };
        let records = cast::as_pod_mut::<R>(self.data_mut()?, origin)?;
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
    /// use npmap::{DType, Error, Field, MmapMode, NpyFile, Record};
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
    /// assert!(matches!(f.records::<Point, Ix1>(), Err(Error::NonNativeByteOrder { .. })));
    /// # }
    /// assert_eq!(f.read_records::<Point, Ix1>()?[0], Point { x: 1.0, y: 2.0 });
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BadRecordType`], [`Error::RecordMismatch`] (the file's dtype is neither
    /// `R::dtype()` nor its byte-swapped form) and [`Error::NdimMismatch`], as for
    /// [`NpyFile::records`].
    pub fn read_records<R: Record, D: Dimension>(&self) -> Result<Array<R, D>> {
        records_from_bytes(self.path(), self.header(), self.data().to_vec())
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
    let dim = dimension::<D>(path, &header.shape)?;
    let origin = Origin {
        path,
        data_offset: header.data_offset,
    };
    let records = cast::copy_pod::<R>(&bytes, origin)?;
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
/// [`Error::Io`] when the file cannot be opened or read, the errors of
/// [`Header::read_from`](crate::Header::read_from) for a malformed or truncated file,
/// and those of [`NpyFile::read_records`].
pub fn read_records<R: Record, D: Dimension>(path: impl AsRef<Path>) -> Result<Array<R, D>> {
    let path = path.as_ref();
    let (header, bytes) = read_whole(path)?;
    records_from_bytes(path, &header, bytes)
}

/// Reads a whole `.npy` file: its header and its data bytes (length checked first).
pub(crate) fn read_whole(path: &Path) -> Result<(Header, Vec<u8>)> {
    let mut file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    let header = Header::read_from(&mut file, path, Some(len), &HeaderOptions::default())?;
    let data_len = usize::try_from(header.data_len()).map_err(|_| overflow(path, &header))?;
    let mut bytes = vec![0u8; data_len];
    let got = read_up_to(&mut file, &mut bytes, path)?;
    if got < data_len {
        return Err(truncated(
            path,
            "array data",
            header.data_offset,
            data_len as u64,
            got as u64,
        ));
    }
    Ok((header, bytes))
}

/// Reverses the bytes of every multi-byte scalar of one item of `dtype` whose byte
/// order is not native.
pub(crate) fn swap_to_native(dtype: &DType, item: &mut [u8]) {
    match dtype {
        DType::Record { fields, .. } => {
            for f in fields {
                let size = f.dtype.itemsize();
                let count: usize = f.shape.iter().product();
                for k in 0..count {
                    let start = f.offset + k * size;
                    swap_to_native(&f.dtype, &mut item[start..start + size]);
                }
            }
        }
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
fn check_records<R: Record>(path: &Path, found: &DType, allow_swap: bool) -> Result<bool> {
    let expected = record_dtype::<R>(path)?;
    if *found == expected {
        return Ok(false);
    }
    if found.to_native() == expected && !found.is_native_order() {
        if allow_swap {
            return Ok(true);
        }
        return Err(Error::NonNativeByteOrder {
            path: path.to_path_buf(),
            descr: found.descr(),
        });
    }
    Err(Error::RecordMismatch {
        path: path.to_path_buf(),
        type_name: std::any::type_name::<R>(),
        expected: expected.descr(),
        found: found.descr(),
    })
}

/// `R::dtype()` after checking that it describes a layout inside `R`.
fn record_dtype<R: Record>(path: &Path) -> Result<DType> {
    let dtype = R::dtype();
    let bad = |reason: String| Error::BadRecordType {
        path: path.to_path_buf(),
        type_name: std::any::type_name::<R>(),
        reason,
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
        if let DType::Record {
            fields: inner,
            itemsize: inner_size,
        } = &f.dtype
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
/// npmap::write_records(&mut out, &arr1(&[Point { x: 0.5, y: 1.5 }]))?;
/// let h = Header::read_from(&mut out.as_slice(), "out".as_ref(), None, &Default::default())?;
/// assert_eq!((h.dtype, h.shape), (Point::dtype(), vec![1]));
/// assert_eq!(out.len(), 128 + 8);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// - [`Error::BadRecordType`] when `R::fields()` does not describe a layout inside `R`
///   (nothing is written then).
/// - [`Error::Io`] (`action` `"write"`, path `<stream>`) when `writer` fails.
pub fn write_records<R, D>(writer: impl Write, array: &ArrayRef<R, D>) -> Result<()>
where
    R: Record,
    D: Dimension,
{
    write_records_to(writer, array, Path::new(STREAM_PATH))
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
/// - [`Error::BadRecordType`] when `R::fields()` does not describe a layout inside `R`.
/// - [`Error::Io`] when the temporary file beside `path` cannot be created, its space
///   reserved, written, synced or renamed over `path`; `path` is then left as it was.
pub fn save_records<R, D>(path: impl AsRef<Path>, array: &ArrayRef<R, D>) -> Result<()>
where
    R: Record,
    D: Dimension,
{
    let path = path.as_ref();
    let dtype = record_dtype::<R>(path)?;
    let fortran = written_in_fortran_order(array);
    let header_len = Header::encode(&dtype, fortran, array.shape()).len();
    let len = header_len + array.len() * std::mem::size_of::<R>();
    atomic_write(path, Durability::Synced, |file| {
        reserve_space(file, len as u64, path)?;
        write_records_to(BufWriter::with_capacity(1 << 20, file), array, path)
    })
}

fn write_records_to<R, D>(mut writer: impl Write, array: &ArrayRef<R, D>, path: &Path) -> Result<()>
where
    R: Record,
    D: Dimension,
{
    let dtype = record_dtype::<R>(path)?;
    let io = |e| Error::io(path, "write", e);
    let fortran = written_in_fortran_order(array);
    writer
        .write_all(&Header::encode(&dtype, fortran, array.shape()))
        .map_err(io)?;
    match (array.as_slice(), array.as_slice_memory_order()) {
        (Some(slice), _) => writer.write_all(bytemuck::cast_slice(slice)).map_err(io)?,
        (None, Some(slice)) if fortran => {
            writer.write_all(bytemuck::cast_slice(slice)).map_err(io)?
        }
        _ => {
            let mut chunk: Vec<R> = Vec::with_capacity(4096.min(array.len()));
            for &record in array.iter() {
                chunk.push(record);
                if chunk.len() == 4096 {
                    writer.write_all(bytemuck::cast_slice(&chunk)).map_err(io)?;
                    chunk.clear();
                }
            }
            writer.write_all(bytemuck::cast_slice(&chunk)).map_err(io)?;
        }
    }
    writer.flush().map_err(io)
}

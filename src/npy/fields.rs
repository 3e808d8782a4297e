//! One field of a structured (record) array: zero-copy strided views and copies
//! ([`NpyFile::field`], [`NpyFile::field_mut`], [`NpyFile::read_field`]). Whole records
//! as a user's `#[repr(C)]` type are in `npy::records`.

use std::path::Path;

use ndarray::{Array, ArrayView, ArrayViewMut, Dimension, ShapeBuilder, StrideShape};

use crate::cast::{self, Origin};
use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::DType;
use crate::format::element::Element;
use crate::format::header::Header;
use crate::npy::{NpyFile, dimension};

/// Where one field's elements lie in every record of an array.
#[derive(Clone, Debug)]
pub(crate) struct Loc {
    /// The name asked for, for messages.
    pub name: String,
    /// The element dtype of the field (of one sub-array element; never a sub-array).
    pub dtype: DType,
    /// The sub-array axes after the array's: every sub-array the path passes through
    /// and the field's own, outermost first; empty for a scalar field.
    pub sub: Vec<usize>,
    /// Bytes from one element to the next along each axis of `sub`.
    pub sub_strides: Vec<usize>,
    /// Byte offset of the field's first element in a record.
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
            sub_strides: Vec::new(),
            offset: 0,
            record_size: dtype.itemsize(),
        }
    }

    /// Elements per record (the sub-array axes' product; a parsed descr has checked
    /// that it fits in a record, or it is zero).
    pub(crate) fn sub_count(&self) -> usize {
        self.sub
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX)
    }

    /// Appends the axes of a field of `shape` items of `dtype` (itself perhaps a
    /// sub-array, whose axes follow), C order; returns the innermost element type.
    fn push_axes<'d>(&mut self, dtype: &'d DType, shape: &[usize]) -> &'d DType {
        let first = self.sub.len();
        let mut step = dtype.itemsize();
        self.sub.extend_from_slice(shape);
        self.sub_strides.resize(self.sub.len(), 0);
        for j in (first..self.sub.len()).rev() {
            self.sub_strides[j] = step;
            step = step.saturating_mul(self.sub[j]);
        }
        match dtype {
            DType::SubArray { base, shape } => self.push_axes(base, shape),
            other => other,
        }
    }

    /// Calls `each` with the byte offset (from the start of the data) of every
    /// element of the field, record by record in memory order, each record's
    /// sub-array in C order; stops at the first error.
    pub(crate) fn for_each_element<E>(
        &self,
        records: usize,
        mut each: impl FnMut(usize) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let count = self.sub_count();
        let mut index = vec![0usize; self.sub.len()];
        for record in 0..records {
            let base = record * self.record_size + self.offset;
            index.iter_mut().for_each(|i| *i = 0);
            let mut at = base;
            for _ in 0..count {
                each(at)?;
                // Odometer: advance the last axis, carrying into earlier ones.
                for j in (0..index.len()).rev() {
                    index[j] += 1;
                    at += self.sub_strides[j];
                    if index[j] < self.sub[j] {
                        break;
                    }
                    at -= self.sub_strides[j] * index[j];
                    index[j] = 0;
                }
            }
        }
        Ok(())
    }

    /// The shape of a copy of the field (the array's axes, then the sub-array's),
    /// in memory order: records in the array's order, each record's elements in C
    /// order together.
    pub(crate) fn copy_shape<D: Dimension>(
        &self,
        path: &Path,
        header: &Header,
    ) -> Result<StrideShape<D>> {
        field_shape(
            path,
            &header.shape,
            header.fortran_order,
            &self.sub,
            self.sub_count(),
            &c_strides(&self.sub),
        )
    }
}

/// Finds the field `name` of the record `dtype`. A name with dots is a path through
/// nested records (`"inner.y"`), sub-arrays of records included (`"s.a"` where `s` is
/// `([('a', '<i4'), ...], (3,))` has the sub-array axis `3`, as NumPy's
/// `a['s']['a']`); a field whose own name contains a dot is found first.
pub(crate) fn locate(path: &Path, dtype: &DType, name: &str) -> Result<Loc> {
    let DType::Record { .. } = dtype else {
        return Err(Error::at(
            path,
            ErrorKind::NotStructured {
                descr: dtype.descr(),
                field: name.to_string(),
            },
        ));
    };
    let mut loc = Loc {
        name: name.to_string(),
        record_size: dtype.itemsize(),
        ..Loc::whole(&DType::Bool)
    };
    let mut current = dtype;
    let mut rest = name;
    loop {
        let DType::Record { fields, .. } = current else {
            unreachable!("only records are walked");
        };
        if let Some(f) = fields.iter().find(|f| f.name == rest) {
            loc.offset += f.offset;
            loc.dtype = loc.push_axes(&f.dtype, &f.shape).clone();
            return Ok(loc);
        }
        let next = fields.iter().find(|f| {
            matches!(f.dtype.flat_subarray().0, DType::Record { .. })
                && rest.len() > f.name.len() + 1
                && rest.starts_with(f.name.as_str())
                && rest.as_bytes()[f.name.len()] == b'.'
        });
        let Some(f) = next else {
            return Err(Error::at(
                path,
                ErrorKind::FieldNotFound {
                    field: name.to_string(),
                    available: fields.iter().map(|f| f.name.clone()).collect(),
                },
            ));
        };
        loc.offset += f.offset;
        rest = &rest[f.name.len() + 1..];
        current = loc.push_axes(&f.dtype, &f.shape);
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
        Err(Error::at(
            path,
            ErrorKind::DTypeMismatch {
                found: loc.dtype.descr(),
                found_name: loc.dtype.name(),
                expected: A::NAME,
            },
        ))
    }
}

/// The shape of a field's array (the array's axes, then the sub-array's) with strides
/// in elements: `record_stride` elements from one record to the next in the array's
/// memory order (C, or Fortran when `fortran`), `sub_strides` along the sub-array axes.
pub(crate) fn field_shape<D: Dimension>(
    path: &Path,
    shape: &[usize],
    fortran: bool,
    sub: &[usize],
    record_stride: usize,
    sub_strides: &[usize],
) -> Result<StrideShape<D>> {
    let full: Vec<usize> = shape.iter().chain(sub).copied().collect();
    let dim = dimension::<D>(&full).map_err(|e| e.in_file(path))?;
    if full.contains(&0) {
        // No element: any strides do, and ndarray wants them in bounds.
        return Ok(dim.into());
    }
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
    for (j, &s) in sub_strides.iter().enumerate() {
        strides[n + j] = s;
    }
    Ok(dim.strides(strides))
}

/// C-order strides, in elements, of an array of `shape`.
pub(crate) fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut step = 1usize;
    for j in (0..shape.len()).rev() {
        strides[j] = step;
        step = step.saturating_mul(shape[j]);
    }
    strides
}

/// The size, alignment and name of the type a field is viewed as.
#[derive(Clone, Copy)]
pub(crate) struct ViewedAs {
    pub size: usize,
    pub align: usize,
    pub name: &'static str,
}

impl ViewedAs {
    pub(crate) fn of<T>(name: &'static str) -> ViewedAs {
        ViewedAs {
            size: std::mem::size_of::<T>(),
            align: std::mem::align_of::<T>(),
            name,
        }
    }
}

/// The part of the data bytes a strided view of `loc` as `A` covers and the view's
/// shape, after checking the alignment and that the record size and every sub-array
/// stride are whole numbers of `A`s; with the file offset where the field starts.
fn view_parts<A: Element, D: Dimension>(
    path: &Path,
    header: &Header,
    bytes: &[u8],
    loc: &Loc,
) -> Result<(std::ops::Range<usize>, u64, StrideShape<D>)> {
    view_parts_as(path, header, bytes, loc, ViewedAs::of::<A>(A::NAME))
}

/// [`view_parts`] for a view as a type of `ty`'s size and alignment (not zero-sized).
pub(crate) fn view_parts_as<D: Dimension>(
    path: &Path,
    header: &Header,
    bytes: &[u8],
    loc: &Loc,
    ty: ViewedAs,
) -> Result<(std::ops::Range<usize>, u64, StrideShape<D>)> {
    let size = ty.size.max(1);
    let file_offset = header.data_offset + loc.offset as u64;
    // A stride along an axis of one element at most is never used.
    let whole = |stride: usize, len: usize| len <= 1 || stride.is_multiple_of(size);
    let mut span = 0..0;
    if !bytes.is_empty() {
        let address = (bytes.as_ptr() as usize).wrapping_add(loc.offset);
        let strides_whole = whole(loc.record_size, header.len())
            && loc
                .sub
                .iter()
                .zip(&loc.sub_strides)
                .all(|(&n, &s)| whole(s, n));
        if !strides_whole || !address.is_multiple_of(ty.align) {
            return Err(Error::at(
                path,
                ErrorKind::FieldMisaligned {
                    field: loc.name.clone(),
                    offset: file_offset,
                    record_size: loc.record_size,
                    align: ty.align,
                    size,
                    type_name: ty.name,
                },
            ));
        }
        let elements = (bytes.len() - loc.offset) / size;
        span = loc.offset..loc.offset + elements * size;
    }
    let sub_strides: Vec<usize> = loc.sub_strides.iter().map(|s| s / size).collect();
    let shape = field_shape::<D>(
        path,
        &header.shape,
        header.fortran_order,
        &loc.sub,
        loc.record_size / size,
        &sub_strides,
    )?;
    Ok((span, file_offset, shape))
}

/// A zero-copy strided view of `loc` as `A`.
pub(crate) fn view_loc<'a, A: Element, D: Dimension>(
    path: &Path,
    header: &Header,
    bytes: &'a [u8],
    loc: &Loc,
) -> Result<ArrayView<'a, A, D>> {
    if field_element::<A>(path, loc)? {
        return Err(Error::at(
            path,
            ErrorKind::NonNativeByteOrder {
                descr: loc.dtype.descr(),
            },
        ));
    }
    let (span, data_offset, shape) = view_parts::<A, D>(path, header, bytes, loc)?;
    let elements = cast::as_elements::<A>(&bytes[span], Origin { data_offset })
        .map_err(|e| e.in_file(path))?;
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
    let gathered = gather(path, header, bytes, loc)?;
    let origin = Origin {
        data_offset: header.data_offset + loc.offset as u64,
    };
    let elements =
        cast::copy_elements::<A>(&gathered, swap, origin).map_err(|e| e.in_file(path))?;
    let shape = loc.copy_shape::<D>(path, header)?;
    Array::from_shape_vec(shape, elements).map_err(|_| overflow(path, header))
}

/// The bytes of every element of field `loc` of every record, in memory order. The
/// elements are distinct bytes of `bytes`, so the copy is no larger than the data.
pub(crate) fn gather(path: &Path, header: &Header, bytes: &[u8], loc: &Loc) -> Result<Vec<u8>> {
    let width = loc.dtype.itemsize();
    let mut out = Vec::new();
    if loc.record_size == 0 || width == 0 {
        return Ok(out);
    }
    let records = header.len().min(bytes.len() / loc.record_size);
    let total = loc
        .sub_count()
        .checked_mul(width)
        .and_then(|b| b.checked_mul(records))
        .filter(|&b| b <= bytes.len())
        .ok_or_else(|| overflow(path, header))?;
    out.try_reserve_exact(total)
        .map_err(|_| cast::out_of_memory::<u8>(total, "field data").in_file(path))?;
    loc.for_each_element(records, |at| {
        out.extend_from_slice(&bytes[at..at + width]);
        Ok::<(), Error>(())
    })?;
    Ok(out)
}

pub(crate) fn overflow(path: &Path, header: &Header) -> Error {
    Error::at(
        path,
        ErrorKind::ShapeOverflow {
            shape: header.shape.iter().map(|&d| d as u64).collect(),
            itemsize: header.dtype.itemsize(),
        },
    )
}

impl NpyFile {
    /// A zero-copy strided view of one field of a structured array.
    ///
    /// `name` is a field name, or a dotted path into nested records (`"inner.y"`) and
    /// sub-arrays of records. The view has the array's axes followed by the sub-array
    /// axes: those of every sub-array of records the path passes through, then the
    /// field's own, a sub-array of a sub-array flattened, as NumPy's shapes are (for
    /// `[('s', [('a', '<i4')], (3,)), ('c', ('<f8', (5,)), (2,))]` in an `(n,)` array,
    /// `"s.a"` is `(n, 3)`, as `a['s']['a']`, and `"c"` is `(n, 2, 5)`); so `D` has
    /// `ndim + sub-array ndim` dimensions. It follows the file's memory order. Datetime
    /// and timedelta fields can be viewed as `i64`; record-typed fields as a
    /// [`Record`](crate::Record) type with [`NpyFile::field_records`].
    ///
    /// A view needs the field in native byte order, its first element aligned for `A`
    /// and the record size (and the stride of a sub-array of records) a multiple of
    /// `size_of::<A>()`; otherwise the error
    /// ([`ErrorKind::NonNativeByteOrder`], [`ErrorKind::FieldMisaligned`]) suggests
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
    /// assert!(matches!(f.field::<f32, Ix1>("height").as_ref().map_err(|e| e.kind()), Err(npmap::ErrorKind::FieldNotFound { .. })));
    /// assert!(matches!(f.field::<f64, Ix1>("weight").as_ref().map_err(|e| e.kind()), Err(npmap::ErrorKind::DTypeMismatch { .. })));
    /// # }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotStructured`] when the array's dtype is not a record.
    /// - [`ErrorKind::FieldNotFound`] when no field has the name or dotted path `name`.
    /// - [`ErrorKind::DTypeMismatch`] when the field's type is not `A` (datetime and
    ///   timedelta fields match `i64`).
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions other than the
    ///   array's plus the field's sub-array dimensions.
    /// - [`ErrorKind::NonNativeByteOrder`] when the field is in the other byte order.
    /// - [`ErrorKind::FieldMisaligned`] when its first element is not aligned for `A` or the
    ///   record size is not a multiple of `size_of::<A>()`.
    /// - [`ErrorKind::InvalidBool`] for a `bool` field when a byte the view spans is neither
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
    /// [`ErrorKind::ReadOnly`] for a [`crate::MmapMode::ReadOnly`] mapping, and the errors of
    /// [`NpyFile::field`].
    pub fn field_mut<A: Element, D: Dimension>(
        &mut self,
        name: &str,
    ) -> Result<ArrayViewMut<'_, A, D>> {
        let path = self.path().to_path_buf();
        let header = self.header().clone();
        let loc = locate(&path, &header.dtype, name)?;
        if field_element::<A>(&path, &loc)? {
            return Err(Error::at(
                path,
                ErrorKind::NonNativeByteOrder {
                    descr: loc.dtype.descr(),
                },
            ));
        }
        let bytes = self.data_mut()?;
        let (span, data_offset, shape) = view_parts::<A, D>(&path, &header, bytes, &loc)?;
        let origin = Origin { data_offset };
        let elements =
            cast::as_elements_mut::<A>(&mut bytes[span], origin).map_err(|e| e.in_file(&path))?;
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
    /// use npmap::ErrorKind;
    /// // A packed record: the big-endian f8 sits at byte 1 of each 9-byte record.
    /// let dtype = npmap::DType::parse("[('flag', '|u1'), ('x', '>f8')]")?;
    /// let mut data = vec![1u8];
    /// data.extend(2.5f64.to_be_bytes());
    /// npmap::save_npy_raw(&path, &dtype, &[1], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// let e = f.field::<f64, Ix1>("x").unwrap_err();
    /// assert!(matches!(e.kind(), ErrorKind::NonNativeByteOrder { .. } | ErrorKind::FieldMisaligned { .. }));
    /// assert_eq!(f.read_field::<f64, Ix1>("x")?.to_vec(), [2.5]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotStructured`] when the array's dtype is not a record.
    /// - [`ErrorKind::FieldNotFound`] when no field has the name or dotted path `name`.
    /// - [`ErrorKind::DTypeMismatch`] when the field's type is not `A` (datetime and
    ///   timedelta fields match `i64`).
    /// - [`ErrorKind::NdimMismatch`] when `D` has a fixed number of dimensions other than the
    ///   array's plus the field's sub-array dimensions.
    /// - [`ErrorKind::InvalidBool`] for a `bool` field holding a byte other than 0 or 1.
    pub fn read_field<A: Element, D: Dimension>(&self, name: &str) -> Result<Array<A, D>> {
        let loc = locate(self.path(), &self.header().dtype, name)?;
        read_loc(self.path(), self.header(), self.data(), &loc)
    }
}

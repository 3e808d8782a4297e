//! A record-typed field — a nested record, or a sub-array of records — as the user's
//! [`Record`] type, NumPy's `a['s']`: [`NpyFile::field_records`] (zero-copy) and
//! [`NpyFile::read_field_records`] (a copy).

use ndarray::{Array, ArrayView, Dimension};

use crate::cast::{self, Origin};
use crate::error::Result;
use crate::npy::NpyFile;
use crate::npy::fields::{ViewedAs, gather, locate, overflow, view_parts_as};
use crate::npy::records::{Record, check_records, swap_to_native};

impl NpyFile {
    /// A zero-copy strided view of a record-typed field as the record type `R`: a
    /// nested record (`[('inner', [('x', '<f4'), ...])]`) or a sub-array of records
    /// (`[('s', [('a', '<i4'), ('b', '<f8')], (3,))]`, whose view of a `(n,)` array has
    /// shape `(n, 3)`, as NumPy's `a['s']`).
    ///
    /// `name` is a field name or a dotted path, as for [`NpyFile::field`]. The field's
    /// record dtype must be exactly `R::dtype()` in native byte order, its first record
    /// aligned for `R` and every stride a whole number of `R`s;
    /// [`NpyFile::read_field_records`] copies and has none of these limits but the
    /// dtype.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("s.npy");
    /// use npmap::ndarray::Ix2;
    /// use npmap::{DType, Field, MmapMode, NpyFile, Record};
    /// use std::mem::offset_of;
    ///
    /// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct Pair { a: i32, b: f32 }
    /// impl Record for Pair {
    ///     fn fields() -> Vec<Field> {
    ///         vec![Field::of::<i32>("a", offset_of!(Pair, a)), Field::of::<f32>("b", offset_of!(Pair, b))]
    ///     }
    /// }
    ///
    /// // [('s', [('a', '<i4'), ('b', '<f4')], (3,)), ('n', '<i4'), ('', '|V4')], s[i][j] = (i, j)
    /// let dtype = DType::Record {
    ///     fields: vec![Field::new("s", Pair::dtype(), 0).with_shape(&[3]), Field::of::<i32>("n", 24)],
    ///     itemsize: 32,
    /// };
    /// let mut data = Vec::new();
    /// for i in 0..2 {
    ///     for j in 0..3 {
    ///         data.extend((i as i32).to_ne_bytes());
    ///         data.extend((j as f32).to_ne_bytes());
    ///     }
    ///     data.extend(7i32.to_ne_bytes());
    ///     data.extend([0; 4]);
    /// }
    /// npmap::save_npy_raw(&path, &dtype, &[2], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// let pairs = f.field_records::<Pair, Ix2>("s")?;
    /// assert_eq!(pairs.shape(), [2, 3]);
    /// assert_eq!(pairs[[1, 2]], Pair { a: 1, b: 2.0 });
    /// assert_eq!(pairs.strides(), [4, 1]); // in Pairs: 32-byte records, 8-byte pairs
    /// assert_eq!(f.read_field_records::<Pair, Ix2>("s")?, pairs);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotStructured`](crate::ErrorKind::NotStructured) when the array's dtype is
    ///   not a record; [`ErrorKind::FieldNotFound`](crate::ErrorKind::FieldNotFound) when no
    ///   field has the name or dotted path `name`.
    /// - [`ErrorKind::BadRecordType`](crate::ErrorKind::BadRecordType) when `R::fields()` does
    ///   not describe a layout inside `R`;
    ///   [`ErrorKind::RecordMismatch`](crate::ErrorKind::RecordMismatch) when the field's dtype
    ///   is not `R::dtype()`; [`ErrorKind::NonNativeByteOrder`](crate::ErrorKind::NonNativeByteOrder)
    ///   when it is, in the other byte order.
    /// - [`ErrorKind::NdimMismatch`](crate::ErrorKind::NdimMismatch) when `D` has a fixed number
    ///   of dimensions other than the array's plus the field's sub-array dimensions.
    /// - [`ErrorKind::FieldMisaligned`](crate::ErrorKind::FieldMisaligned) when the field is not
    ///   aligned for `R` or a stride is not a whole number of `R`s.
    pub fn field_records<R: Record, D: Dimension>(
        &self,
        name: &str,
    ) -> Result<ArrayView<'_, R, D>> {
        let (path, header) = (self.path(), self.header());
        let loc = locate(path, &header.dtype, name)?;
        check_records::<R>(path, &loc.dtype, false)?;
        let ty = ViewedAs::of::<R>(std::any::type_name::<R>());
        let (span, data_offset, shape) = view_parts_as::<D>(path, header, self.data(), &loc, ty)?;
        let records = cast::as_pod::<R>(&self.data()[span], Origin { data_offset })
            .map_err(|e| e.in_file(path))?;
        ArrayView::from_shape(shape, records).map_err(|_| overflow(path, header))
    }

    /// Copies a record-typed field as the record type `R`, shaped as
    /// [`NpyFile::field_records`] and in the file's memory order: any alignment, either
    /// byte order (fields swapped to native).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("inner.npy");
    /// use npmap::ndarray::Ix1;
    /// use npmap::{DType, Field, MmapMode, NpyFile, Record};
    ///
    /// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct X { x: f64 }
    /// impl Record for X {
    ///     fn fields() -> Vec<Field> { vec![Field::of::<f64>("x", 0)] }
    /// }
    ///
    /// // A packed big-endian record: [('flag', '|u1'), ('inner', [('x', '>f8')])].
    /// let dtype = DType::parse("[('flag', '|u1'), ('inner', [('x', '>f8')])]")?;
    /// let data = [&[1u8][..], &2.5f64.to_be_bytes()].concat();
    /// npmap::save_npy_raw(&path, &dtype, &[1], false, &data)?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// assert!(f.field_records::<X, Ix1>("inner").is_err());
    /// assert_eq!(f.read_field_records::<X, Ix1>("inner")?.to_vec(), [X { x: 2.5 }]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`NpyFile::field_records`], less the byte-order and alignment errors.
    pub fn read_field_records<R: Record, D: Dimension>(&self, name: &str) -> Result<Array<R, D>> {
        let (path, header) = (self.path(), self.header());
        let loc = locate(path, &header.dtype, name)?;
        let swap = check_records::<R>(path, &loc.dtype, true)?;
        let mut bytes = gather(path, header, self.data(), &loc)?;
        let size = loc.dtype.itemsize();
        if swap && size > 0 {
            for item in bytes.chunks_exact_mut(size) {
                swap_to_native(&loc.dtype, item);
            }
        }
        let origin = Origin {
            data_offset: header.data_offset + loc.offset as u64,
        };
        let records = cast::copy_pod::<R>(&bytes, origin).map_err(|e| e.in_file(path))?;
        let shape = loc.copy_shape::<D>(path, header)?;
        Array::from_shape_vec(shape, records).map_err(|_| overflow(path, header))
    }
}

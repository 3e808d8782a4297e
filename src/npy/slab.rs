//! Part of a mapped array at a time: the outer slices of a range, which lie one after
//! another in the file whatever the memory order, so that data that cannot be viewed
//! in place (non-native byte order, misaligned) can still be worked through in copies
//! of bounded size.

use std::ops::Range;

use ndarray::{CowArray, IxDyn};

use crate::cast::Origin;
use crate::error::Result;
use crate::format::element::Element;
use crate::npy::{NpyFile, bytes};

impl NpyFile {
    /// The axis whose slices lie one after another in the file: 0 in C order, the
    /// last in Fortran order (`None` for a 0-dimensional array).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// npmap::save_npy(&path, &npmap::ndarray::Array2::<f32>::zeros((3, 4)))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(f.outer_axis(), Some(npmap::ndarray::Axis(0)));
    /// # Ok(()) }
    /// ```
    pub fn outer_axis(&self) -> Option<ndarray::Axis> {
        let ndim = self.header().shape.len();
        match (ndim, self.header().fortran_order) {
            (0, _) => None,
            (_, false) => Some(ndarray::Axis(0)),
            (_, true) => Some(ndarray::Axis(ndim - 1)),
        }
    }

    /// Where the slices `slab` of the [outer axis](Self::outer_axis) lie in
    /// [`data`](Self::data): a byte range.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("x.npy");
    /// npmap::save_npy(&path, &npmap::ndarray::Array2::<f32>::zeros((3, 4)))?;
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { npmap::NpyFile::open(&path, npmap::MmapMode::ReadOnly)? };
    /// assert_eq!(f.slab_bytes(1..3), 16..48);
    /// # Ok(()) }
    /// ```
    pub fn slab_bytes(&self, slab: Range<usize>) -> Range<usize> {
        let header = self.header();
        let slice_len = match self.outer_axis() {
            None => 1,
            Some(axis) => header.len() / header.shape[axis.index()].max(1),
        };
        let slice_bytes = slice_len * header.dtype.itemsize();
        slab.start * slice_bytes..slab.end * slice_bytes
    }

    /// The slices `slab` of the [outer axis](Self::outer_axis) (rows of a C-order
    /// matrix, columns of a Fortran-order one) as `A`: a view when the file's data is
    /// `A` in native order and aligned, else a converted copy of just those slices.
    /// So an array larger than memory in big-endian order can be read a slab at a
    /// time. A 0-dimensional array is one slab, `0..1`. Working through an array
    /// in slabs, release each one's pages afterwards with
    /// [`advise_bytes`](Self::advise_bytes) ([`Access::DontNeed`](crate::Access::DontNeed))
    /// to keep the page cache for other files; [`slab_bytes`](Self::slab_bytes) gives
    /// the range.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("big_endian.npy");
    /// # let mut bytes = b"\x93NUMPY\x01\x00v\x00".to_vec();
    /// # let text = "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2), }";
    /// # bytes.extend(text.as_bytes());
    /// # bytes.extend(std::iter::repeat(b' ').take(127 - 10 - text.len()));
    /// # bytes.push(b'\n');
    /// # for v in [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0] { bytes.extend(v.to_be_bytes()); }
    /// # std::fs::write(&path, &bytes).unwrap();
    /// use npmap::{MmapMode, NpyFile};
    /// // SAFETY: nothing truncates or rewrites the file while it is mapped.
    /// let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly)? };
    /// let rows = f.cow_slab::<f32>(1..3)?; // rows 1 and 2, byte-swapped copies
    /// assert!(rows.is_owned());
    /// assert_eq!(rows.shape(), &[2, 2]);
    /// assert_eq!(rows.iter().copied().collect::<Vec<_>>(), [3.0, 4.0, 5.0, 6.0]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`cow`](Self::cow): [`ErrorKind::DTypeMismatch`](crate::ErrorKind::DTypeMismatch)
    /// when the file's dtype is not `A`'s in either byte order,
    /// [`ErrorKind::InvalidBool`](crate::ErrorKind::InvalidBool),
    /// [`ErrorKind::OutOfMemory`](crate::ErrorKind::OutOfMemory) when the copy cannot be
    /// allocated.
    ///
    /// # Panics
    ///
    /// When `slab` is not within the outer axis (`start > end` or `end` past its
    /// length), as slicing does.
    pub fn cow_slab<A: Element>(&self, slab: Range<usize>) -> Result<CowArray<'_, A, IxDyn>> {
        let header = self.header();
        let mut part = header.clone();
        let outer_len = match self.outer_axis() {
            None => {
                assert!(
                    slab == (0..1),
                    "a 0-dimensional array is one slab, 0..1, not {slab:?}"
                );
                1
            }
            Some(axis) => {
                part.shape[axis.index()] = slab.len();
                header.shape[axis.index()]
            }
        };
        assert!(
            slab.start <= slab.end && slab.end <= outer_len,
            "slab {slab:?} is not within an outer axis of length {outer_len}"
        );
        let range = self.slab_bytes(slab);
        let at = header.data_offset + range.start as u64;
        let bytes = &self.data()[range];
        part.data_offset = at;
        bytes::cow(&part, bytes, Origin { data_offset: at }).map_err(|e| e.in_file(self.path()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, Array3, ShapeBuilder, s};

    fn big_endian_npy(path: &std::path::Path, shape: &[usize], fortran: bool, values: &[f64]) {
        let shape_text: String = shape.iter().map(|d| format!("{d}, ")).collect();
        let text = format!(
            "{{'descr': '>f8', 'fortran_order': {}, 'shape': ({}), }}",
            if fortran { "True" } else { "False" },
            shape_text.trim_end_matches(' ')
        );
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let padded = (10 + text.len() + 1).next_multiple_of(64) - 10;
        bytes.extend((padded as u16).to_le_bytes());
        bytes.extend(text.as_bytes());
        bytes.resize(10 + padded - 1, b' ');
        bytes.push(b'\n');
        for v in values {
            bytes.extend(v.to_be_bytes());
        }
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn slabs_of_a_big_endian_array_are_its_outer_slices_in_either_order() {
        let dir = tempfile::tempdir().unwrap();
        let x = Array3::from_shape_fn((5, 3, 2), |(i, j, k)| (i * 100 + j * 10 + k) as f64);
        for fortran in [false, true] {
            let path = dir.path().join(format!("x{fortran}.npy"));
            let memory_order: Vec<f64> = match fortran {
                false => x.iter().copied().collect(),
                true => x.t().iter().copied().collect(),
            };
            big_endian_npy(&path, x.shape(), fortran, &memory_order);
            // SAFETY: the test's own file, not changed while mapped.
            let f = unsafe { NpyFile::open(&path, crate::MmapMode::ReadOnly) }.unwrap();
            let axis = f.outer_axis().unwrap();
            assert_eq!(axis.index(), if fortran { 2 } else { 0 });
            let outer = x.len_of(axis);
            for (a, b) in [(0, outer), (1, 2), (outer - 1, outer), (2, 2)] {
                let slab = f.cow_slab::<f64>(a..b).unwrap();
                assert!(slab.is_owned());
                let expected = x.slice_axis(axis, (a..b).into());
                assert_eq!(slab.view(), expected.into_dyn(), "{fortran} {a}..{b}");
            }
        }
    }

    #[test]
    fn a_native_slab_is_a_view_and_a_zero_dimensional_array_is_one_slab() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npy");
        let x = Array2::from_shape_vec((4, 3).f(), (0..12u8).map(f32::from).collect()).unwrap();
        crate::save_npy(&path, &x).unwrap();
        // SAFETY: the test's own file, not changed while mapped.
        let f = unsafe { NpyFile::open(&path, crate::MmapMode::ReadOnly) }.unwrap();
        let slab = f.cow_slab::<f32>(1..3).unwrap();
        assert!(slab.is_view());
        assert_eq!(slab.view(), x.slice(s![.., 1..3]).into_dyn());
        let path = dir.path().join("0d.npy");
        crate::save_npy(&path, &ndarray::arr0(7.5f64)).unwrap();
        // SAFETY: as above.
        let f = unsafe { NpyFile::open(&path, crate::MmapMode::ReadOnly) }.unwrap();
        assert_eq!(f.outer_axis(), None);
        assert_eq!(f.cow_slab::<f64>(0..1).unwrap().iter().sum::<f64>(), 7.5);
    }
}

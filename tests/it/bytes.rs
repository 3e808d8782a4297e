//! `NpyBytes` over buffers: every numeric NumPy fixture gives, from its bytes alone,
//! the values `read_npy` gives from the file, through a view when the bytes allow it
//! and a copy when they do not (other byte order, misaligned start).

use ndarray::{ArrayD, IxDyn};
use npmap::ErrorKind;
use npmap::{HeaderOptions, NpyBytes};

#[test]
fn every_numeric_fixture_reads_the_same_from_bytes_as_from_its_file() {
    let dir = crate::fixtures::fixtures_dir().join("npy");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let bytes = std::fs::read(&path).unwrap();
        // Some fixtures have headers past NumPy's default limit (written by allow_pickle
        // era NumPy, or on purpose); both readers get the same raised limit.
        let options = HeaderOptions::new().max_header_size(1 << 20);
        // Aligned and misaligned copies of the same bytes.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&bytes);
        for buffer in [&bytes[..], &shifted[1..]] {
            let npy = NpyBytes::parse_with(buffer, &options)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let same = npmap::with_element_type!(npy.header().dtype.clone(), T => {
                let from_file: ArrayD<T> = npmap::read_npy_with(&path, &options).unwrap();
                let from_bytes = npy.cow::<T, IxDyn>().unwrap();
                from_file.shape() == from_bytes.shape()
                    && from_file.iter().zip(from_bytes.iter()).all(|(a, b)| {
                        // NaN payloads compare by bits.
                        bytemuck::bytes_of(a) == bytemuck::bytes_of(b)
                    })
            }, else continue);
            assert!(same, "{}: values differ", path.display());
            checked += 1;
        }
    }
    assert!(
        checked >= 100,
        "only {checked} numeric fixture buffers checked"
    );
}

#[test]
fn bytes_views_borrow_and_refuse_what_a_view_cannot_be() {
    let mut buffer = Vec::new();
    npmap::write_npy_to(&mut buffer, &ndarray::arr1(&[1.0f64, 2.0, 3.0])).unwrap();
    // Trailing bytes after the data are ignored, as NumPy ignores them.
    buffer.extend_from_slice(b"trailing");
    let npy = NpyBytes::parse(&buffer).unwrap();
    assert_eq!(npy.data().len(), 24);
    let aligned = (buffer.as_ptr() as usize + 128).is_multiple_of(8);
    if aligned {
        let view = npy.view::<f64, ndarray::Ix1>().unwrap();
        assert_eq!(
            view.as_ptr() as usize,
            buffer.as_ptr() as usize + 128,
            "a borrowed view"
        );
    }
    assert!(matches!(
        npy.view::<f32, ndarray::Ix1>()
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::DTypeMismatch { .. })
    ));
    assert!(matches!(
        npy.view::<f64, ndarray::Ix2>()
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::NdimMismatch { .. })
    ));
    // A buffer cut inside the data is refused with the sizes.
    let cut = &buffer[..128 + 20];
    match NpyBytes::parse(cut).map_err(npmap::Error::into_kind) {
        Err(ErrorKind::Truncated {
            expected, found, ..
        }) => assert_eq!((expected, found), (24, 20)),
        other => panic!("expected Truncated, got {other:?}"),
    }
}

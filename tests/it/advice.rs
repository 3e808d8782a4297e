//! Access advice on a mapped file: releasing a scanned window takes its pages out of
//! memory (so a scan larger than RAM need not evict other files), and the data reads
//! the same afterwards.

use ndarray::{Array2, Ix2, s};
use npmap::{Access, MmapMode, NpyFile, ParStats};

#[test]
fn released_pages_leave_memory_and_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    let rows = 4096;
    let a = Array2::from_shape_fn((rows, 1024), |(i, j)| (i * 1024 + j) as f64);
    npmap::save_npy(&path, &a).unwrap();
    // SAFETY: the file is private to this test.
    let f = unsafe { NpyFile::open(&path, MmapMode::ReadOnly) }.unwrap();
    f.prefault();
    let (resident, total) = f.residency().unwrap();
    assert_eq!(resident, total);
    let x = f.view::<f64, Ix2>().unwrap();
    let expected = a.par_moments();
    // Scan in windows of 512 rows, releasing each one behind the scan.
    let window_bytes = 512 * 1024 * 8;
    let mut sum = 0.0;
    for w in 0..rows / 512 {
        sum += x.slice(s![w * 512..(w + 1) * 512, ..]).par_moments().sum();
        f.advise_bytes(Access::DontNeed, w * window_bytes..(w + 1) * window_bytes);
    }
    assert_eq!(sum, expected.sum());
    let (after, _) = f.residency().unwrap();
    assert!(after < total / 4, "{after} of {total} pages still resident");
    // The pages come back on access, with the same values.
    assert_eq!(x.par_moments(), expected);
    f.advise(Access::Random);
    f.advise(Access::WillNeed);
    f.advise(Access::Normal);
    assert_eq!(x[[rows - 1, 1023]], (rows * 1024 - 1) as f64);
}

#[test]
fn a_drop_behind_scan_gives_the_same_bits_and_leaves_the_file_uncached() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    let a = Array2::from_shape_fn((4096, 1024), |(i, j)| ((i * 31 + j * 7) % 1000) as f32);
    npmap::save_npy(&path, &a).unwrap();
    // SAFETY: the file is private to this test.
    let f = NpyFile::open_checked(&path);
    f.prefault();
    let x = f.view::<f32, Ix2>().unwrap();
    let behind = f.drop_behind();
    let m = x.par_moments_with_progress(&behind);
    assert_eq!(m, a.par_moments(), "the same bits as a plain scan");
    assert_eq!(behind.done(), a.len() as u64);
    let (resident, total) = f.residency().unwrap();
    assert!(
        resident < total / 4,
        "{resident} of {total} pages still resident"
    );
    assert_eq!(x.par_moments(), m, "the pages read back the same");
}

trait OpenChecked {
    fn open_checked(path: &std::path::Path) -> NpyFile;
}

impl OpenChecked for NpyFile {
    fn open_checked(path: &std::path::Path) -> NpyFile {
        // SAFETY: the callers' files are private to their test.
        unsafe { NpyFile::open(path, MmapMode::ReadOnly) }.unwrap()
    }
}

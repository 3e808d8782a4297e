//! The copying read (`read_npy_from`) on arbitrary bytes as several element types,
//! and the mapped path (`NpyFile::open` + `view` + `cow`) on the same bytes written
//! to a file in /dev/shm (or the temp dir).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use npmap::ndarray::IxDyn;
use npmap::{MmapMode, NpyFile, read_npy_from};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("npmap-fuzz-{}.npy", std::process::id()))
    })
}

fn check_copy<A: npmap::Element + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(a) = read_npy_from::<A, IxDyn>(data) {
        let h = npmap::Header::read_from(&mut &data[..], None, &npmap::HeaderOptions::default())
            .expect("read_npy_from accepted the header");
        assert_eq!(a.shape(), &h.shape[..]);
    }
}

fn check_map<A: npmap::Element + PartialEq + std::fmt::Debug>(f: &NpyFile) {
    let view = f.view::<A, IxDyn>();
    let cow = f.cow::<A, IxDyn>();
    if let Ok(v) = &view {
        // A view that succeeds agrees with the copy.
        let c = cow.as_ref().expect("cow fails where view succeeds");
        assert_eq!(v.shape(), c.shape());
        assert_eq!(v.len(), f.header().len());
    }
    if let Ok(c) = &cow {
        assert_eq!(c.shape(), &f.header().shape[..]);
        let _ = c.iter().count();
    }
}

fuzz_target!(|data: &[u8]| {
    check_copy::<u8>(data);
    check_copy::<f64>(data);
    check_copy::<bool>(data);
    check_copy::<i16>(data);
    check_copy::<npmap::num_complex::Complex<f32>>(data);

    let path = scratch();
    if std::fs::write(path, data).is_err() {
        return;
    }
    // SAFETY: this process owns the scratch file; nothing truncates it while mapped.
    if let Ok(f) = unsafe { NpyFile::open(path, MmapMode::ReadOnly) } {
        check_map::<f64>(&f);
        check_map::<u8>(&f);
        check_map::<bool>(&f);
        let _ = f.residency();
    }
    // SAFETY: as above.
    if let Ok(mut f) = unsafe { NpyFile::open(path, MmapMode::CopyOnWrite) } {
        if let Ok(mut v) = f.view_mut::<u8, IxDyn>() {
            v.fill(1);
        }
    }
});

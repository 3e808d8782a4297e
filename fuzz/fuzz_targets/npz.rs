//! The `.npz` reader on arbitrary bytes: open, list, read every member (CRC and size
//! checks, bounded inflation), and map / borrow the stored ones.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use npmap::NpzReader;
use npmap::ndarray::IxDyn;

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("npmap-fuzz-{}.npz", std::process::id()))
    })
}

fn check_member<A: npmap::Element>(z: &NpzReader, name: &str) {
    let read = z.read::<A, IxDyn>(name);
    if let Ok(a) = &read {
        let h = z.header(name).expect("a member that reads has a header");
        assert_eq!(a.shape(), &h.shape[..]);
    }
    // SAFETY: the scratch file is private to this process and not modified while mapped.
    if let Ok(m) = unsafe { z.map::<A, IxDyn>(name) } {
        assert_eq!(m.view().len(), m.header().len());
    }
    // SAFETY: as above.
    if let Ok(c) = unsafe { z.cow::<A, IxDyn>(name) } {
        let _ = c.iter().count();
    }
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    if std::fs::write(path, data).is_err() {
        return;
    }
    if let Ok(z) = NpzReader::open(path) {
        for name in z.names() {
            let _ = z.member_info(&name);
            check_member::<u8>(&z, &name);
            check_member::<f64>(&z, &name);
            check_member::<bool>(&z, &name);
        }
    }
});

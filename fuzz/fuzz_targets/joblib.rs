//! The joblib reader on arbitrary bytes: `joblib::from_bytes`, then every value walked
//! and every array viewed and copied. Must never panic, hang or allocate more than the
//! input justifies (run with `-malloc_limit_mb`); an accepted array's bytes are exactly
//! what its header describes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use npmap::joblib::{Node, Value};
use npmap::ndarray::IxDyn;

fuzz_target!(|data: &[u8]| {
    let Ok(dump) = npmap::joblib::from_bytes(data.to_vec()) else {
        return;
    };
    let root = dump.root();
    walk(root, 0);
    for (path, array) in dump.arrays() {
        assert_eq!(array.data().len() as u64, array.header().data_len(), "{path}");
        let _ = array.cow::<u8, IxDyn>();
        let _ = array.cow::<f64, IxDyn>();
        let _ = array.view::<bool, IxDyn>();
        assert!(dump.get(&path).is_ok() || path.is_empty() || path.contains('.'));
    }
});

/// Visits values a few levels down, as a user navigating the dump would.
fn walk(node: Node<'_>, depth: usize) {
    if depth > 8 {
        return;
    }
    let _ = node.keys();
    let _ = node.class_name();
    let _ = node.value().kind_name();
    if let Value::Array(a) = node.value() {
        let _ = a.header().dtype.descr();
    }
    for child in node.items().into_iter().take(16) {
        walk(child, depth + 1);
    }
    for (_, v) in node.entries().into_iter().take(16) {
        walk(v, depth + 1);
    }
}

//! The joblib reader on arbitrary bytes: `joblib::from_bytes`, then every value walked
//! and every array viewed and copied. Must never panic, hang or allocate more than the
//! input justifies (run with `-malloc_limit_mb`); an accepted array's bytes are exactly
//! what its header describes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use npmap::joblib::{Node, Value};
use npmap::ndarray::IxDyn;

/// What a compressed input may decompress to: bz2, xz and lzma have no ratio of their
/// own, and past this a legitimate, fallible allocation would trip the malloc limit.
const MAX_DECOMPRESSED: u64 = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let options = npmap::joblib::ReadOptions::new().max_decompressed(MAX_DECOMPRESSED);
    let Ok(dump) = npmap::joblib::from_bytes_with(data.to_vec(), &options) else {
        return;
    };
    walk(dump.root());
    for (path, array) in dump.arrays() {
        assert_eq!(array.data().len() as u64, array.header().data_len(), "{path}");
        let _ = array.cow::<u8, IxDyn>();
        let _ = array.cow::<f64, IxDyn>();
        let _ = array.view::<bool, IxDyn>();
        assert!(dump.get(&path).is_ok() || path.is_empty() || path.contains('.'));
    }
});

/// Visits values a few levels down, as a user navigating the dump would: each value
/// once (values are shared through the memo, so the dump is a graph), at most 10,000.
fn walk(root: Node<'_>) {
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![(root, 0usize)];
    while let Some((node, depth)) = todo.pop() {
        if depth > 8 || seen.len() > 10_000 || !seen.insert(node.id()) {
            continue;
        }
        let _ = node.keys();
        let _ = node.class_name();
        let _ = node.value().kind_name();
        if let Value::Array(a) = node.value() {
            let _ = a.header().dtype.descr();
        }
        todo.extend(node.items().into_iter().take(16).map(|c| (c, depth + 1)));
        todo.extend(node.entries().into_iter().take(16).map(|(_, v)| (v, depth + 1)));
    }
}

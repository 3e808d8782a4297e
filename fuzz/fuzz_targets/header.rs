//! `Header::read_from` on arbitrary bytes (with and without the file length, with
//! the default and a raised cap), and `DType::parse` on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use npmap::{DType, Header, HeaderOptions};

fuzz_target!(|data: &[u8]| {
    let default = HeaderOptions::default();
    let raised = HeaderOptions::new().max_header_size(1 << 20);
    for options in [&default, &raised] {
        let known = Header::read_from(&mut &data[..], Some(data.len() as u64), options);
        let stream = Header::read_from(&mut &data[..], None, options);
        if let Ok(h) = &known {
            // A header accepted with the file length is accepted from a stream too,
            // and its data fits in the file.
            assert_eq!(stream.as_ref().ok(), Some(h));
            assert!(h.data_offset + h.data_len() <= data.len() as u64);
            // Rendering the accepted dtype gives text that parses back to it.
            let descr = h.dtype.descr();
            assert_eq!(
                DType::parse(&descr).ok().as_ref(),
                Some(&h.dtype),
                "{descr}"
            );
        }
        let _ = known.map_err(|e| e.to_string());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(d) = DType::parse(text) {
            let descr = d.descr();
            assert_eq!(DType::parse(&descr).ok().as_ref(), Some(&d), "{descr}");
            let _ = (d.name(), d.itemsize(), d.to_native());
        }
    }
});

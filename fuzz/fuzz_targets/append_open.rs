//! The appender on arbitrary files: the bytes written to a file in /dev/shm (or the
//! temp dir), then `recover` and `NpyAppender::open` as f64, u8 and i32. Whenever
//! `open` succeeds, one row is appended and the file must then read back with
//! `read_npy` as the old rows plus that row (or, if the header has no room for the
//! new shape, as the old rows alone).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use npmap::ndarray::{ArrayD, Axis, IxDyn};
use npmap::{Element, ErrorKind, NpyAppender, read_npy, read_npy_from, recover};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("npmap-fuzz-append-{}.npy", std::process::id()))
    })
}

/// Bytes of the one row appended, at most: rows of larger claimed shapes are not
/// appended (the file's claim costs nothing until a row is built).
const MAX_ROW_BYTES: usize = 1 << 16;

/// The element types, compared by bit pattern (NaN included).
trait Bits: Element + Clone {
    fn bits(&self) -> u64;
    fn marker() -> Self;
}

impl Bits for f64 {
    fn bits(&self) -> u64 {
        self.to_bits()
    }
    fn marker() -> Self {
        -1.25
    }
}

impl Bits for u8 {
    fn bits(&self) -> u64 {
        u64::from(*self)
    }
    fn marker() -> Self {
        0xa5
    }
}

impl Bits for i32 {
    fn bits(&self) -> u64 {
        *self as u32 as u64
    }
    fn marker() -> Self {
        -7
    }
}

fn same<A: Bits>(a: &ArrayD<A>, b: &ArrayD<A>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| x.bits() == y.bits())
}

/// `open` as `A` on the file holding `data`; when it succeeds (and changes the
/// file), appends a row and checks the result. Returns the rows `open` found.
fn check<A: Bits>(path: &Path, data: &[u8]) -> Option<usize> {
    let mut app = match NpyAppender::<A>::open(path) {
        Ok(app) => app,
        Err(e) => {
            assert_ne!(e.kind(), &ErrorKind::AppendLocked, "{e}");
            let _ = e.to_string();
            return None;
        }
    };
    let rows = app.rows();
    assert_eq!(app.flushed_rows(), rows);
    // A file `open` accepts holds a native array of `A` that the copying reader reads.
    let original =
        read_npy_from::<A, IxDyn>(data).expect("read_npy_from fails where open succeeds");
    assert_eq!(original.shape()[0], rows);
    assert_eq!(&original.shape()[1..], app.row_shape());

    let row_shape = app.row_shape().to_vec();
    let elements = row_shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let fits = |n: &usize| {
        n.checked_mul(size_of::<A>())
            .is_some_and(|b| b <= MAX_ROW_BYTES)
    };
    let Some(elements) = elements.filter(fits) else {
        drop(app);
        // Nothing appended: the file still reads as it did.
        let back = read_npy::<A, IxDyn>(path).expect("the file no longer reads");
        assert!(same(&back, &original));
        return Some(rows);
    };
    let mut shape = vec![1];
    shape.extend_from_slice(&row_shape);
    let row =
        ArrayD::from_shape_vec(IxDyn(&shape), vec![A::marker(); elements]).expect("row shape");
    let appended = app.append(&row);
    match &appended {
        Ok(()) => assert_eq!(app.rows(), rows + 1),
        Err(e) => {
            // Only a shape whose byte size overflows may refuse the row.
            assert!(
                matches!(e.kind(), ErrorKind::ShapeOverflow { .. }),
                "append: {e}"
            );
            assert_eq!(app.rows(), rows);
        }
    }
    let expected = match (appended.is_ok(), app.finish()) {
        (true, Ok(n)) => {
            assert_eq!(n, rows + 1);
            let mut expected = original.clone();
            expected
                .append(Axis(0), row.view())
                .expect("append to the expected array");
            expected
        }
        (false, Ok(n)) => {
            assert_eq!(n, rows);
            original
        }
        (_, Err(e)) => {
            // The one way a flush fails on /dev/shm: no room in the header.
            assert!(
                matches!(e.kind(), ErrorKind::Unappendable { .. }),
                "finish: {e}"
            );
            original
        }
    };
    let back = read_npy::<A, IxDyn>(path).expect("the file no longer reads after append");
    assert!(
        same(&back, &expected),
        "read back {:?}, expected {:?}",
        back.shape(),
        expected.shape()
    );
    Some(rows)
}

fuzz_target!(|data: &[u8]| {
    // The file is written once, and again only after a successful `open` changed it.
    let path = scratch();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let mut opened = None;
    for check in [check::<f64>, check::<u8>, check::<i32>] {
        if opened.is_some() && std::fs::write(path, data).is_err() {
            return;
        }
        opened = opened.or(check(path, data));
    }
    if opened.is_some() && std::fs::write(path, data).is_err() {
        return;
    }
    // `recover` reads the header as `open` does and accepts more (any dtype, 0-d).
    match (recover(path), opened) {
        (Ok(rows), Some(opened)) => assert_eq!(rows, opened),
        (Err(e), Some(_)) => panic!("recover fails where open succeeds: {e}"),
        (Ok(_), None) => {
            let h = npmap::read_npy_header(path).expect("a recovered file has a header");
            assert_eq!(
                std::fs::metadata(path).unwrap().len(),
                h.data_offset + h.data_len()
            );
        }
        (Err(e), None) => assert_ne!(e.kind(), &ErrorKind::AppendLocked, "{e}"),
    }
});

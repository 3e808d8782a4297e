//! Property tests: random arrays round-trip through every write and read path, bit
//! for bit; headers render and parse back to themselves; random nested record dtypes
//! render and parse back to themselves.

use half::f16;
use ndarray::{ArrayD, IxDyn, ShapeBuilder, Slice};
use npmap::{DType, Element, Field, Header, HeaderOptions, MmapMode};
use num_complex::Complex;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Element types the properties run over, built from random bits (so floats include
/// NaNs with payloads, infinities, subnormals and negative zero).
trait Arbitrary: Element + std::fmt::Debug {
    fn make(bits: u64, more: u64) -> Self;
}

macro_rules! arbitrary_int {
    ($($t:ty),*) => {$(
        impl Arbitrary for $t {
            fn make(bits: u64, _: u64) -> Self {
                bits as $t
            }
        }
    )*};
}
arbitrary_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Arbitrary for bool {
    fn make(bits: u64, _: u64) -> Self {
        bits & 1 == 1
    }
}
impl Arbitrary for f16 {
    fn make(bits: u64, _: u64) -> Self {
        f16::from_bits(bits as u16)
    }
}
impl Arbitrary for f32 {
    fn make(bits: u64, _: u64) -> Self {
        f32::from_bits(bits as u32)
    }
}
impl Arbitrary for f64 {
    fn make(bits: u64, _: u64) -> Self {
        f64::from_bits(bits)
    }
}
impl Arbitrary for Complex<f32> {
    fn make(bits: u64, more: u64) -> Self {
        Complex::new(f32::from_bits(bits as u32), f32::from_bits(more as u32))
    }
}
impl Arbitrary for Complex<f64> {
    fn make(bits: u64, more: u64) -> Self {
        Complex::new(f64::from_bits(bits), f64::from_bits(more))
    }
}

/// How the source array is laid out in memory.
#[derive(Clone, Copy, Debug)]
enum Layout {
    C,
    F,
    /// Every other element of a twice-as-large array, along every axis.
    Strided,
    /// A C array with every axis reversed (negative strides).
    Reversed,
}

fn bytes_of<A: Element>(values: &[A]) -> Vec<u8> {
    bytemuck::cast_slice(values).to_vec()
}

/// The elements in logical (C) order, as bytes: equality is bitwise, NaNs included.
fn logical_bytes<A: Element>(a: ndarray::ArrayViewD<'_, A>) -> Vec<u8> {
    bytes_of(&a.iter().copied().collect::<Vec<A>>())
}

fn build<A: Arbitrary>(shape: &[usize], layout: Layout, bits: &[u64]) -> ArrayD<A> {
    let mut next = bits.iter().cycle().copied();
    let mut take = |n: usize| -> Vec<A> {
        (0..n)
            .map(|_| {
                let b = next.next().unwrap_or(0);
                A::make(b, b.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15)
            })
            .collect()
    };
    let n: usize = shape.iter().product();
    match layout {
        Layout::C => ArrayD::from_shape_vec(IxDyn(shape), take(n)).unwrap(),
        Layout::F => ArrayD::from_shape_vec(IxDyn(shape).f(), take(n)).unwrap(),
        Layout::Strided => {
            let big: Vec<usize> = shape.iter().map(|&d| 2 * d).collect();
            let mut whole =
                ArrayD::from_shape_vec(IxDyn(&big), take(big.iter().product())).unwrap();
            // Sliced in place, so the writer gets an owned array with real strides.
            whole.slice_each_axis_inplace(|_| Slice::new(0, None, 2));
            whole
        }
        Layout::Reversed => {
            let mut a = ArrayD::from_shape_vec(IxDyn(shape), take(n)).unwrap();
            for axis in 0..shape.len() {
                a.invert_axis(ndarray::Axis(axis));
            }
            a
        }
    }
}

fn round_trip<A: Arbitrary>(
    dir: &std::path::Path,
    shape: &[usize],
    layout: Layout,
    bits: &[u64],
) -> Result<(), TestCaseError> {
    let a = build::<A>(shape, layout, bits);
    let expected = logical_bytes(a.view());
    let path = dir.join(format!("{}.npy", A::NAME.replace(['<', '>'], "_")));

    // In memory: write_npy_to -> read_npy_from, and the header parses back.
    let mut bytes = Vec::new();
    npmap::write_npy_to(&mut bytes, &a).unwrap();
    let from_stream: ArrayD<A> = npmap::read_npy_from(&bytes[..]).unwrap();
    prop_assert_eq!(from_stream.shape(), shape);
    prop_assert_eq!(logical_bytes(from_stream.view()), expected.clone());
    let h = Header::read_from(
        &mut &bytes[..],
        Some(bytes.len() as u64),
        &HeaderOptions::default(),
    )
    .unwrap();
    prop_assert_eq!(&h.dtype, &A::dtype());
    prop_assert_eq!(&h.shape[..], shape);
    // Fortran order exactly when the array is F-contiguous and not also C-contiguous.
    let fortran = matches!(layout, Layout::F) && !a.is_standard_layout();
    prop_assert_eq!(h.fortran_order, fortran);
    prop_assert_eq!(h.data_offset % 64, 0);
    prop_assert_eq!(
        h.data_offset + h.data_len(),
        bytes.len() as u64,
        "data follows the header exactly"
    );

    // On disk: save_npy -> the same bytes; mapped and copied reads agree.
    npmap::save_npy(&path, &a).unwrap();
    prop_assert!(
        std::fs::read(&path).unwrap() == bytes,
        "save_npy != write_npy_to"
    );
    // SAFETY: the file is this test's own and nothing else writes it.
    let mapped = unsafe { npmap::load_npy::<A, IxDyn>(&path, MmapMode::ReadOnly) }.unwrap();
    let view = mapped.view();
    prop_assert_eq!(view.shape(), shape);
    prop_assert_eq!(logical_bytes(view), expected.clone());
    let copied: ArrayD<A> = npmap::read_npy(&path).unwrap();
    prop_assert_eq!(copied.shape(), shape);
    prop_assert_eq!(logical_bytes(copied.view()), expected);
    Ok(())
}

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    // Up to 4-D; dimensions of 0 included; at most 4^4 elements (x16 when strided).
    prop::collection::vec(prop_oneof![1 => Just(0usize), 6 => 1usize..=4], 0..=4)
}

fn layout_strategy() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::C),
        Just(Layout::F),
        Just(Layout::Strided),
        Just(Layout::Reversed)
    ]
}

pub(crate) const ARRAY_CASES: u32 = 400;

proptest! {
    #![proptest_config(Config { cases: ARRAY_CASES, failure_persistence: None, ..Config::default() })]

    #[test]
    fn arrays_round_trip_bitwise(
        kind in 0usize..13,
        shape in shape_strategy(),
        layout in layout_strategy(),
        bits in prop::collection::vec(any::<u64>(), 1..64),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        match kind {
            0 => round_trip::<bool>(d, &shape, layout, &bits)?,
            1 => round_trip::<i8>(d, &shape, layout, &bits)?,
            2 => round_trip::<i16>(d, &shape, layout, &bits)?,
            3 => round_trip::<i32>(d, &shape, layout, &bits)?,
            4 => round_trip::<i64>(d, &shape, layout, &bits)?,
            5 => round_trip::<u8>(d, &shape, layout, &bits)?,
            6 => round_trip::<u16>(d, &shape, layout, &bits)?,
            7 => round_trip::<u32>(d, &shape, layout, &bits)?,
            8 => round_trip::<u64>(d, &shape, layout, &bits)?,
            9 => round_trip::<f16>(d, &shape, layout, &bits)?,
            10 => round_trip::<f32>(d, &shape, layout, &bits)?,
            11 => round_trip::<f64>(d, &shape, layout, &bits)?,
            _ => {
                round_trip::<Complex<f32>>(d, &shape, layout, &bits)?;
                round_trip::<Complex<f64>>(d, &shape, layout, &bits)?;
            }
        }
    }
}

// ----------------------------------------------------------------- record dtypes

/// Leaf dtypes, from canonical text so each is what the parser produces.
const LEAVES: [&str; 16] = [
    "|b1", "|i1", "<i2", ">i4", "<i8", "|u1", ">u2", "<u8", "<f2", ">f4", "<f8", "<c8", ">c16",
    "|S3", "<U2", "<M8[ns]",
];

fn leaf() -> impl Strategy<Value = DType> {
    prop_oneof![
        prop::sample::select(&LEAVES[..]).prop_map(|s| DType::parse(s).unwrap()),
        Just(DType::parse("|V4").unwrap()),
        Just(DType::parse(">m8[10s]").unwrap()),
        Just(DType::parse("|S0").unwrap()),
    ]
}

/// Names with quotes, backslashes, control characters and non-ASCII text.
fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a",
            "b",
            "z",
            "_",
            "0",
            " ",
            "'",
            "\"",
            "\\",
            "\\'",
            "é",
            "π",
            "日本",
            "\u{1F600}",
            "\n",
            "\t",
            "\u{7f}",
            "\u{a0}",
            "(",
            ")",
            "[",
            "]",
            ",",
            ":",
            "{",
            "#",
        ]),
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

#[derive(Debug)]
struct FieldSpec {
    name: String,
    title: Option<String>,
    dtype: DType,
    shape: Vec<usize>,
    gap: usize,
}

fn record(inner: BoxedStrategy<DType>) -> impl Strategy<Value = DType> {
    let field = (
        name(),
        prop::option::weighted(0.2, name()),
        inner,
        prop::collection::vec(0usize..4, 0..3),
        prop::collection::vec(1usize..3, 0..3),
        prop_oneof![3 => Just(0usize), 1 => 1usize..9],
    )
        .prop_map(|(name, title, dtype, shape, inner_shape, gap)| FieldSpec {
            title: title.map(|t| format!("T{t}")),
            name,
            // A (base, shape) format inside a sub-array field, as in
            // `('c', ('<f8', (5,)), (2,))`; without an outer shape NumPy's form is
            // the plain sub-array field, so the nesting needs one.
            dtype: match (shape.is_empty(), inner_shape.is_empty()) {
                (false, false) => DType::SubArray {
                    base: Box::new(dtype),
                    shape: inner_shape,
                },
                _ => dtype,
            },
            shape,
            gap,
        });
    (
        prop::collection::vec(field, 0..5),
        prop_oneof![3 => Just(0usize), 1 => 1usize..9],
    )
        .prop_map(|(specs, tail)| {
            let mut fields: Vec<Field> = Vec::new();
            let mut offset = 0;
            for s in specs {
                // Names and titles share one namespace, as in NumPy.
                let taken = |key: &String| {
                    fields
                        .iter()
                        .any(|f| &f.name == key || f.title.as_ref() == Some(key))
                };
                if taken(&s.name) || s.title.as_ref().is_some_and(|t| taken(t) || *t == s.name) {
                    continue;
                }
                offset += s.gap;
                let size = s.dtype.itemsize() * s.shape.iter().product::<usize>();
                fields.push(Field {
                    name: s.name,
                    title: s.title,
                    dtype: s.dtype,
                    shape: s.shape,
                    offset,
                });
                offset += size;
            }
            DType::Record {
                fields,
                itemsize: offset + tail,
            }
        })
}

fn dtype() -> impl Strategy<Value = DType> {
    leaf().prop_recursive(3, 24, 5, |inner| record(inner.boxed()))
}

pub(crate) const DTYPE_CASES: u32 = 1000;

proptest! {
    #![proptest_config(Config { cases: DTYPE_CASES, failure_persistence: None, ..Config::default() })]

    #[test]
    fn record_descr_round_trips(d in dtype()) {
        let text = d.descr();
        let back = DType::parse(&text);
        prop_assert_eq!(back.as_ref().ok(), Some(&d), "descr: {} -> {:?}", text, back);
    }

    /// A record dtype also survives a whole header: render with write_npy_raw_to, parse
    /// with Header::read_from (version 1.0, or 3.0 for names outside latin-1).
    #[test]
    fn record_headers_round_trip(d in dtype(), n in 0usize..3) {
        let data = vec![0u8; d.itemsize() * n];
        let mut bytes = Vec::new();
        npmap::write_npy_raw_to(&mut bytes, &d, &[n], false, &data).unwrap();
        let h = Header::read_from(&mut &bytes[..], Some(bytes.len() as u64),
            &HeaderOptions::new().max_header_size(1 << 20),
        )
        .unwrap();
        prop_assert_eq!(&h.dtype, &d);
        prop_assert_eq!(&h.shape, &vec![n]);
        let latin1 = d.descr().chars().all(|c| (c as u32) < 256);
        prop_assert_eq!(h.version.0, if latin1 { h.version.0.min(2) } else { 3 });
        prop_assert_eq!(h.data_offset + h.data_len(), bytes.len() as u64);
    }
}

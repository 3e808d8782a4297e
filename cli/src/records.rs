//! Printing structured, string and datetime arrays the way NumPy prints them:
//! `[('Alice', 25, 55.5) ('Bob', 30, 75. )]`, each leaf field aligned as a column.

use npmap::{ByteOrder, DType, NpyFile, TimeUnit};

use crate::format::float_text;

/// True for dtypes `head` prints through this module rather than as numbers.
pub(crate) fn is_textual(dtype: &DType) -> bool {
    matches!(
        dtype,
        DType::Record { .. }
            | DType::Unicode { .. }
            | DType::Bytes { .. }
            | DType::Void { .. }
            | DType::DateTime { .. }
            | DType::TimeDelta { .. }
    )
}

/// One leaf of the dtype tree: a scalar (or sub-array of scalars) at a byte offset.
struct Leaf {
    dtype: DType,
    sub: Vec<usize>,
    offset: usize,
}

/// How an item is assembled from its leaves.
enum Shape {
    Leaf(usize),
    Record(Vec<Shape>),
}

fn walk(dtype: &DType, sub: &[usize], offset: usize, leaves: &mut Vec<Leaf>) -> Shape {
    match dtype {
        DType::Record { fields, .. } if sub.is_empty() => Shape::Record(
            fields
                .iter()
                .map(|f| walk(&f.dtype, &f.shape, offset + f.offset, leaves))
                .collect(),
        ),
        _ => {
            leaves.push(Leaf {
                dtype: dtype.clone(),
                sub: sub.to_vec(),
                offset,
            });
            Shape::Leaf(leaves.len() - 1)
        }
    }
}

/// Every leaf field of a record dtype: (dotted path, element dtype, sub-array shape).
pub(crate) fn leaf_fields(dtype: &DType) -> Vec<(String, DType, Vec<usize>)> {
    fn go(dtype: &DType, prefix: &str, out: &mut Vec<(String, DType, Vec<usize>)>) {
        if let DType::Record { fields, .. } = dtype {
            for f in fields {
                let path = format!("{prefix}{}", f.name);
                match &f.dtype {
                    DType::Record { .. } if f.shape.is_empty() => {
                        go(&f.dtype, &format!("{path}."), out)
                    }
                    other => out.push((path, other.clone(), f.shape.clone())),
                }
            }
        }
    }
    let mut out = Vec::new();
    go(dtype, "", &mut out);
    out
}

/// The first `n` rows (along axis 0) of `file` as NumPy prints them.
pub(crate) fn head_text(file: &NpyFile, n: usize) -> String {
    let header = file.header();
    let dtype = &header.dtype;
    let size = dtype.itemsize();
    let shape = &header.shape;
    let rows = shape.first().map_or(1, |&r| r.min(n));
    let per_row: usize = shape.iter().skip(1).product();
    let items = if shape.is_empty() { 1 } else { rows * per_row };
    let bytes = file.data();
    let mut leaves = Vec::new();
    let tree = walk(dtype, &[], 0, &mut leaves);
    // cells[leaf][item][sub-element]
    let mut cells: Vec<Vec<Vec<String>>> = leaves
        .iter()
        .map(|leaf| {
            let width = leaf.dtype.itemsize();
            let count: usize = leaf.sub.iter().product();
            (0..items)
                .map(|i| {
                    let at = memory_index(shape, header.fortran_order, i) * size + leaf.offset;
                    (0..count)
                        .map(|k| {
                            let start = at + k * width;
                            scalar_text(&leaf.dtype, &bytes[start..start + width])
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let in_record = matches!(tree, Shape::Record(_));
    for column in &mut cells {
        align(column, in_record);
    }
    let texts: Vec<String> = (0..items)
        .map(|i| assemble(&tree, &leaves, &cells, i))
        .collect();
    match shape.len() {
        0 => texts.into_iter().next().unwrap_or_default(),
        1 => {
            let more = if shape[0] > n { " ..." } else { "" };
            format!("[{}{more}]", texts.join(" "))
        }
        _ => {
            let lines: Vec<String> = texts
                .chunks(per_row.max(1))
                .map(|row| format!("[{}]", row.join(" ")))
                .collect();
            let more = if shape[0] > n { "\n ..." } else { "" };
            format!("[{}{more}]", lines.join("\n "))
        }
    }
}

/// The memory position of the `i`-th item in logical (C) order.
fn memory_index(shape: &[usize], fortran: bool, i: usize) -> usize {
    if !fortran {
        return i;
    }
    let mut rest = i;
    let mut index = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        index[k] = rest % d.max(1);
        rest /= d.max(1);
    }
    let mut at = 0;
    let mut step = 1;
    for (k, &d) in shape.iter().enumerate() {
        at += index[k] * step;
        step *= d;
    }
    at
}

fn assemble(tree: &Shape, leaves: &[Leaf], cells: &[Vec<Vec<String>>], item: usize) -> String {
    match tree {
        Shape::Record(children) => {
            let parts: Vec<String> = children
                .iter()
                .map(|c| assemble(c, leaves, cells, item))
                .collect();
            format!("({})", parts.join(", "))
        }
        Shape::Leaf(k) => {
            let values = &cells[*k][item];
            match leaves[*k].sub.as_slice() {
                [] => values[0].clone(),
                sub => nest(values, sub),
            }
        }
    }
}

/// `[a, b]`, `[[a, b], [c, d]]` for a sub-array of shape `sub`.
fn nest(values: &[String], sub: &[usize]) -> String {
    match sub {
        [] => values.first().cloned().unwrap_or_default(),
        [_] => format!("[{}]", values.join(", ")),
        [first, rest @ ..] => {
            let chunk = values.len() / first.max(&1);
            let parts: Vec<String> = values.chunks(chunk.max(1)).map(|c| nest(c, rest)).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// Pads the texts of one column as NumPy does: numbers right-aligned with decimal
/// points lined up; in records, booleans as ` True`/`False`.
fn align(column: &mut [Vec<String>], in_record: bool) {
    let all = || column.iter().flatten();
    if all().all(|c| c == "True" || c == "False") {
        if in_record {
            column
                .iter_mut()
                .flatten()
                .for_each(|c| *c = format!("{c:>5}"));
        }
        return;
    }
    let numeric = |c: &String| c.parse::<f64>().is_ok() || c.ends_with('.');
    if !all().all(numeric) {
        return;
    }
    let plain_decimal = |c: &String| c.contains('.') && !c.contains('e');
    if all().all(plain_decimal) {
        let int_len = |c: &String| c.find('.').unwrap_or(c.len());
        let frac_len = |c: &String| c.len() - int_len(c);
        let left = all().map(int_len).max().unwrap_or(0);
        let right = all().map(frac_len).max().unwrap_or(0);
        for c in column.iter_mut().flatten() {
            let pad_left = left - int_len(c);
            let pad_right = right - frac_len(c);
            *c = format!("{}{c}{}", " ".repeat(pad_left), " ".repeat(pad_right));
        }
    } else {
        let width = all().map(String::len).max().unwrap_or(0);
        column
            .iter_mut()
            .flatten()
            .for_each(|c| *c = format!("{c:>width$}"));
    }
}

fn array<const N: usize>(bytes: &[u8], order: ByteOrder) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&bytes[..N]);
    if order != ByteOrder::NATIVE && order != ByteOrder::NotApplicable {
        b.reverse();
    }
    b
}

/// One scalar as NumPy prints it inside an array.
fn scalar_text(dtype: &DType, bytes: &[u8]) -> String {
    let order = dtype.byte_order();
    match dtype {
        DType::Bool => if bytes[0] != 0 { "True" } else { "False" }.into(),
        DType::Int { size: 1, .. } => (bytes[0] as i8).to_string(),
        DType::Int { size: 2, .. } => i16::from_ne_bytes(array(bytes, order)).to_string(),
        DType::Int { size: 4, .. } => i32::from_ne_bytes(array(bytes, order)).to_string(),
        DType::Int { size: 8, .. } => i64::from_ne_bytes(array(bytes, order)).to_string(),
        DType::UInt { size: 1, .. } => bytes[0].to_string(),
        DType::UInt { size: 2, .. } => u16::from_ne_bytes(array(bytes, order)).to_string(),
        DType::UInt { size: 4, .. } => u32::from_ne_bytes(array(bytes, order)).to_string(),
        DType::UInt { size: 8, .. } => u64::from_ne_bytes(array(bytes, order)).to_string(),
        DType::Float { size: 2, .. } => float_text(
            npmap::half::f16::from_bits(u16::from_ne_bytes(array(bytes, order))).to_f64(),
        ),
        DType::Float { size: 4, .. } => {
            float_text(f64::from(f32::from_ne_bytes(array(bytes, order))))
        }
        DType::Float { size: 8, .. } => float_text(f64::from_ne_bytes(array(bytes, order))),
        DType::Complex { size, .. } => {
            let half = size / 2;
            let part = |b: &[u8]| match half {
                4 => f64::from(f32::from_ne_bytes(array(b, order))),
                _ => f64::from_ne_bytes(array(b, order)),
            };
            let (re, im) = (part(&bytes[..half]), part(&bytes[half..]));
            let sign = if im.is_sign_negative() { '-' } else { '+' };
            format!("{}{sign}{}j", float_text(re), float_text(im.abs()))
        }
        DType::Unicode { .. } => {
            let text: String = bytes
                .chunks_exact(4)
                .map(|c| u32::from_ne_bytes(array(c, order)))
                .collect::<Vec<u32>>()
                .into_iter()
                .rev()
                .skip_while(|&u| u == 0)
                .collect::<Vec<u32>>()
                .into_iter()
                .rev()
                .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            python_str(&text)
        }
        DType::Bytes { .. } => {
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            python_bytes(&bytes[..end])
        }
        DType::Void { .. } => python_bytes(bytes),
        DType::DateTime { unit, .. } => {
            format!(
                "'{}'",
                datetime_text(i64::from_ne_bytes(array(bytes, order)), unit)
            )
        }
        DType::TimeDelta { .. } => match i64::from_ne_bytes(array(bytes, order)) {
            i64::MIN => "'NaT'".into(),
            v => v.to_string(),
        },
        _ => python_bytes(bytes),
    }
}

/// Python's `repr` of a `str`.
fn python_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr` of a `bytes`.
fn python_bytes(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c as char == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote);
    out
}

/// Days since 1970-01-01 as (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A datetime64 value as NumPy prints it: ISO 8601 to the precision of its unit.
fn datetime_text(value: i64, unit: &TimeUnit) -> String {
    if value == i64::MIN {
        return "NaT".into();
    }
    let ticks = i128::from(value) * i128::from(unit.multiplier);
    let date = |days: i128| {
        let (y, m, d) = civil_from_days(days as i64);
        format!("{y:04}-{m:02}-{d:02}")
    };
    let (per_second, digits): (i128, usize) = match unit.unit.as_str() {
        "Y" => return format!("{:04}", 1970 + ticks),
        "M" => {
            let (y, m) = (1970 + ticks.div_euclid(12), ticks.rem_euclid(12) + 1);
            return format!("{y:04}-{m:02}");
        }
        "W" => return date(ticks * 7),
        "D" | "" => return date(ticks),
        "h" => {
            let (d, h) = (ticks.div_euclid(24), ticks.rem_euclid(24));
            return format!("{}T{h:02}", date(d));
        }
        "m" => {
            let (d, m) = (ticks.div_euclid(1440), ticks.rem_euclid(1440));
            return format!("{}T{:02}:{:02}", date(d), m / 60, m % 60);
        }
        "s" => (1, 0),
        "ms" => (1_000, 3),
        "us" => (1_000_000, 6),
        "ns" => (1_000_000_000, 9),
        "ps" => (1_000_000_000_000, 12),
        "fs" => (1_000_000_000_000_000, 15),
        _ => (1_000_000_000_000_000_000, 18),
    };
    let seconds = ticks.div_euclid(per_second);
    let fraction = ticks.rem_euclid(per_second);
    let (d, s) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let mut text = format!(
        "{}T{:02}:{:02}:{:02}",
        date(d),
        s / 3600,
        s / 60 % 60,
        s % 60
    );
    if digits > 0 {
        text.push_str(&format!(".{fraction:0digits$}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_print_as_numpy_does() {
        let unit = |u: &str| TimeUnit {
            multiplier: 1,
            unit: u.into(),
        };
        assert_eq!(datetime_text(0, &unit("D")), "1970-01-01");
        assert_eq!(datetime_text(11016, &unit("D")), "2000-02-29");
        assert_eq!(datetime_text(-1, &unit("D")), "1969-12-31");
        assert_eq!(datetime_text(-1, &unit("ms")), "1969-12-31T23:59:59.999");
        assert_eq!(
            datetime_text(1_704_067_200_000_000_001, &unit("ns")),
            "2024-01-01T00:00:00.000000001"
        );
        assert_eq!(datetime_text(i64::MIN, &unit("s")), "NaT");
    }

    #[test]
    fn reprs_follow_python() {
        assert_eq!(python_str("it's"), "\"it's\"");
        assert_eq!(python_str("Zoë"), "'Zoë'");
        assert_eq!(python_bytes(b"\x00x"), "b'\\x00x'");
    }
}

//! Scalars from raw bytes, and the Python `repr` of text and bytes.

use crate::ByteOrder;

use super::digits::{Float, Width};

/// The bytes of one scalar as an unsigned integer, read in `order`.
pub(super) fn unsigned(bytes: &[u8], order: ByteOrder) -> u64 {
    let push = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    match order {
        ByteOrder::Big => bytes.iter().fold(0, push),
        ByteOrder::Little | ByteOrder::NotApplicable => bytes.iter().rev().fold(0, push),
    }
}

/// The bytes of one two's-complement integer (1 to 8 bytes), read in `order`.
pub(super) fn signed(bytes: &[u8], order: ByteOrder) -> i64 {
    let unused = 64 - 8 * bytes.len().clamp(1, 8) as u32;
    ((unsigned(bytes, order) << unused) as i64) >> unused
}

/// The float of `bytes.len()` bytes (2, 4 or 8), read in `order`.
pub(super) fn float(bytes: &[u8], order: ByteOrder) -> Float {
    let width = match bytes.len() {
        2 => Width::Half,
        4 => Width::Single,
        _ => Width::Double,
    };
    Float::new(unsigned(bytes, order), width)
}

/// The real and imaginary parts of a complex number.
pub(super) fn complex(bytes: &[u8], order: ByteOrder) -> (Float, Float) {
    let (re, im) = bytes.split_at(bytes.len() / 2);
    (float(re, order), float(im, order))
}

/// The code points of a `U` item, trailing NULs removed (NumPy strips them).
pub(super) fn code_points(bytes: &[u8], order: ByteOrder) -> Vec<u32> {
    let mut points: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| unsigned(c, order) as u32)
        .collect();
    while points.last() == Some(&0) {
        points.pop();
    }
    points
}

/// An `S` item without its trailing NULs.
pub(super) fn trimmed_bytes(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Whether Python's `repr` shows `c` as itself (not as an escape): everything but
/// the control, format, surrogate, private-use, unassigned and separator characters
/// other than the space. Rust's debug escaping draws the same line.
fn printable(c: char) -> bool {
    let text = format!("x{c}");
    text.escape_debug().eq(text.chars())
}

fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double { '"' } else { '\'' }
}

/// Python's `repr` of a `str` of these code points: `'abc'`, `"it's"`, `'\x00'`,
/// `'\ud800'`. Values above U+10FFFF, which no `str` can hold, are escaped as NumPy
/// escapes them in arrays when it manages to print them at all: `'\U00110000'`.
pub(super) fn str_repr(points: &[u32]) -> String {
    let has = |c: char| points.contains(&(c as u32));
    let quote = quote_for(has('\''), has('"'));
    let mut out = String::from(quote);
    for &p in points {
        match char::from_u32(p) {
            Some('\\') => out.push_str("\\\\"),
            Some('\t') => out.push_str("\\t"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some(c) if c == quote => {
                out.push('\\');
                out.push(c);
            }
            Some(c) if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            Some(c) if !c.is_ascii() && printable(c) => out.push(c),
            _ if p < 0x100 => out.push_str(&format!("\\x{p:02x}")),
            _ if p < 0x1_0000 => out.push_str(&format!("\\u{p:04x}")),
            _ => out.push_str(&format!("\\U{p:08x}")),
        }
    }
    out.push(quote);
    out
}

/// The text itself (what `print` writes for a 0-d `U` array). `Err` carries the
/// index and value of a code unit that is not a Unicode scalar value.
pub(super) fn str_text(points: &[u32]) -> Result<String, (usize, u32)> {
    points
        .iter()
        .enumerate()
        .map(|(i, &p)| char::from_u32(p).ok_or((i, p)))
        .collect()
}

/// Python's `repr` of a `bytes`: `b'ab'`, `b"it's"`, `b'\x00\xff'`.
pub(super) fn bytes_repr(bytes: &[u8]) -> String {
    let quote = quote_for(bytes.contains(&b'\''), bytes.contains(&b'"'));
    let mut out = format!("b{quote}");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

/// The `str()` of an `np.void` without fields: every byte in upper-case hex, `b'\x41\xFF'`.
pub(super) fn void_str(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("\\x{b:02X}")).collect();
    format!("b'{hex}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(s: &str) -> Vec<u32> {
        s.chars().map(u32::from).collect()
    }

    #[test]
    fn integers_are_read_in_their_byte_order() {
        assert_eq!(signed(&[0xff, 0xfe], ByteOrder::Big), -2);
        assert_eq!(signed(&[0xfe, 0xff], ByteOrder::Little), -2);
        assert_eq!(signed(&[0x80], ByteOrder::NotApplicable), -128);
        assert_eq!(unsigned(&[1, 0, 0, 0], ByteOrder::Little), 1);
        assert_eq!(
            signed(&[0x80, 0, 0, 0, 0, 0, 0, 0], ByteOrder::Big),
            i64::MIN
        );
    }

    #[test]
    fn reprs_follow_python() {
        // repr() in Python 3.11 of each string.
        assert_eq!(str_repr(&points("it's")), "\"it's\"");
        assert_eq!(str_repr(&points("both'\"")), "'both\\'\"'");
        assert_eq!(
            str_repr(&points("\u{0}x\u{7f}\u{a0}é")),
            "'\\x00x\\x7f\\xa0é'"
        );
        assert_eq!(str_repr(&points("\u{301}a\u{200b}")), "'\u{301}a\\u200b'");
        assert_eq!(str_repr(&[0xd800, 0xe0001]), "'\\ud800\\U000e0001'");
        // print(np.array([0xFFFFFFFF, 0x80000000, 65], 'u4').view('U3')) in NumPy 2.4
        // writes ['\Uffffffff\U80000000A'] (other such values make it raise SystemError).
        assert_eq!(
            str_repr(&[0xffff_ffff, 0x8000_0000, 0x41]),
            "'\\Uffffffff\\U80000000A'"
        );
        assert_eq!(str_text(&[0x41, 0x11_0000]), Err((1, 0x11_0000)));
        assert_eq!(bytes_repr(b"\x00x'\xff\\"), "b\"\\x00x'\\xff\\\\\"");
        assert_eq!(void_str(b"AB\xff"), "b'\\x41\\x42\\xFF'");
    }
}

//! A purpose-built parser for the Python literals found in `.npy` headers.
//!
//! It accepts what `ast.literal_eval` accepts for the values NumPy writes and reads:
//! strings (either quote, `u`/`b`/`r` prefixes, escapes, adjacent concatenation), ints
//! (with `_` separators and, for old files, a Python 2 `L` suffix), floats, `True`,
//! `False`, `None`, tuples, lists and dicts, with whitespace, newlines, comments and
//! trailing commas anywhere Python allows them. It is not a general evaluator: it runs
//! in time linear in the input, refuses nesting deeper than a limit, and reports the
//! byte position of the first thing it cannot read.
#![forbid(unsafe_code)]

use std::fmt;

use crate::HeaderOptions;
use crate::error::ErrorKind;

/// A parsed Python literal.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Bytes(Vec<u8>),
    /// Saturates at the `i128` range; a header never needs more.
    Int(i128),
    /// Kept as written: only its presence matters (floats are never valid in a header).
    Float(String),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

/// Why parsing stopped, and where (a byte index into the parsed text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiteralError {
    pub pos: usize,
    pub kind: LiteralErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LiteralErrorKind {
    Syntax { expected: String, found: String },
    Nesting { limit: usize },
}

impl LiteralError {
    /// The crate error for this failure, with `base` the file offset of the text.
    pub(crate) fn into_error(self, base: u64) -> crate::Error {
        let offset = base + self.pos as u64;
        match self.kind {
            LiteralErrorKind::Syntax { expected, found } => {
                crate::Error::from(ErrorKind::HeaderSyntax {
                    offset,
                    expected,
                    found,
                })
            }
            LiteralErrorKind::Nesting { limit } => {
                crate::Error::from(ErrorKind::HeaderNesting { offset, limit })
            }
        }
    }
}

/// Parses `text` as one Python literal followed only by whitespace and comments.
pub(crate) fn parse(text: &str, options: &HeaderOptions) -> Result<Literal, LiteralError> {
    parse_dialect(text, options, false)
}

/// Like [`parse`], also accepting Python 2's `L` suffix on ints (format 1.0 and 2.0).
pub(crate) fn parse_dialect(
    text: &str,
    options: &HeaderOptions,
    python2_longs: bool,
) -> Result<Literal, LiteralError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
        max_depth: options.max_depth,
        python2_longs,
    };
    parser.skip_blank();
    let value = parser.value()?;
    parser.skip_blank();
    if parser.pos < parser.bytes.len() {
        return Err(parser.unexpected("end of header"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
    python2_longs: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips spaces, tabs, newlines, form feeds, line continuations and comments.
    fn skip_blank(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.pos += 1,
                b'\\' if matches!(self.bytes.get(self.pos + 1), Some(b'\n' | b'\r')) => {
                    self.pos += 2
                }
                b'#' => {
                    while !matches!(self.peek(), None | Some(b'\n' | b'\r')) {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn unexpected(&self, expected: &str) -> LiteralError {
        self.error_at(self.pos, expected)
    }

    fn error_at(&self, pos: usize, expected: &str) -> LiteralError {
        let found = match self.text.get(pos..) {
            None | Some("") => "end of header".to_string(),
            Some(rest) => {
                let excerpt: String = rest.chars().take(20).collect();
                format!("{excerpt:?}")
            }
        };
        LiteralError {
            pos,
            kind: LiteralErrorKind::Syntax {
                expected: expected.to_string(),
                found,
            },
        }
    }

    fn value(&mut self) -> Result<Literal, LiteralError> {
        match self.peek() {
            Some(b'{') => self.dict(),
            Some(b'[') => self.sequence(b']').map(Literal::List),
            Some(b'(') => self.parenthesized(),
            Some(b'\'' | b'"') => self.strings(),
            Some(b'0'..=b'9' | b'.' | b'-' | b'+') => self.number(),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => self.word(),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn enter(&mut self) -> Result<(), LiteralError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(LiteralError {
                pos: self.pos,
                kind: LiteralErrorKind::Nesting {
                    limit: self.max_depth,
                },
            });
        }
        self.pos += 1;
        self.skip_blank();
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
        self.pos += 1;
    }

    /// After an item: a comma (then blanks), or the closing bracket. Returns true when closed.
    fn after_item(&mut self, close: u8) -> Result<bool, LiteralError> {
        self.skip_blank();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_blank();
                Ok(false)
            }
            Some(b) if b == close => Ok(true),
            _ => Err(self.unexpected(&format!("',' or '{}'", close as char))),
        }
    }

    /// `[a, b, ...]` or the inside of a tuple, up to and including `close`.
    fn sequence(&mut self, close: u8) -> Result<Vec<Literal>, LiteralError> {
        self.enter()?;
        let mut items = Vec::new();
        while self.peek() != Some(close) {
            items.push(self.value()?);
            if self.after_item(close)? {
                break;
            }
        }
        self.leave();
        Ok(items)
    }

    /// `(x)` is `x`; `()`, `(x,)` and `(x, y)` are tuples.
    fn parenthesized(&mut self) -> Result<Literal, LiteralError> {
        self.enter()?;
        let mut items = Vec::new();
        let mut saw_comma = false;
        while self.peek() != Some(b')') {
            items.push(self.value()?);
            if self.after_item(b')')? {
                break;
            }
            saw_comma = true;
        }
        self.leave();
        if items.len() == 1 && !saw_comma {
            Ok(items.pop().unwrap_or(Literal::None))
        } else {
            Ok(Literal::Tuple(items))
        }
    }

    fn dict(&mut self) -> Result<Literal, LiteralError> {
        self.enter()?;
        let mut entries = Vec::new();
        while self.peek() != Some(b'}') {
            let key = self.value()?;
            self.skip_blank();
            if self.peek() != Some(b':') {
                return Err(self.unexpected("':'"));
            }
            self.pos += 1;
            self.skip_blank();
            let value = self.value()?;
            entries.push((key, value));
            if self.after_item(b'}')? {
                break;
            }
        }
        self.leave();
        Ok(Literal::Dict(entries))
    }

    /// `True`, `False`, `None`, or a prefixed string (`u'..'`, `b".."`, `r'..'`).
    fn word(&mut self) -> Result<Literal, LiteralError> {
        let start = self.pos;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_') {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        match word {
            "True" => Ok(Literal::Bool(true)),
            "False" => Ok(Literal::Bool(false)),
            "None" => Ok(Literal::None),
            _ if matches!(self.peek(), Some(b'\'' | b'"')) && is_string_prefix(word) => {
                self.pos = start;
                self.strings()
            }
            _ => Err(self.error_at(start, "a value")),
        }
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self) -> Result<Literal, LiteralError> {
        let start = self.pos;
        let mut text = String::new();
        let mut bytes: Option<Vec<u8>> = None;
        let mut count = 0;
        loop {
            let literal_start = self.pos;
            let prefix_len = self.bytes[self.pos..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            let prefix = self.text[self.pos..self.pos + prefix_len].to_ascii_lowercase();
            if !matches!(self.bytes.get(self.pos + prefix_len), Some(b'\'' | b'"'))
                || !is_string_prefix(&prefix)
            {
                break;
            }
            self.pos += prefix_len;
            let is_bytes = prefix.contains('b');
            let raw = prefix.contains('r');
            if count > 0 && is_bytes != bytes.is_some() {
                return Err(self.error_at(literal_start, "strings and bytes not mixed"));
            }
            let body = self.string_body(raw)?;
            if is_bytes {
                let chunk: Option<Vec<u8>> = body
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).ok())
                    .collect();
                let chunk = chunk.ok_or_else(|| {
                    self.error_at(literal_start, "only ASCII characters in a bytes literal")
                })?;
                bytes.get_or_insert_with(Vec::new).extend(chunk);
            } else {
                text.push_str(&body);
            }
            count += 1;
            self.skip_blank();
        }
        if count == 0 {
            return Err(self.error_at(start, "a string"));
        }
        Ok(match bytes {
            Some(b) => Literal::Bytes(b),
            None => Literal::Str(text),
        })
    }

    /// The body of one quoted string (single, double, or triple quotes), escapes decoded.
    fn string_body(&mut self, raw: bool) -> Result<String, LiteralError> {
        let open = self.pos;
        let quote = self.bytes[self.pos];
        let triple = self.bytes.get(open..open + 3) == Some(&[quote; 3][..]);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let Some(c) = self.text[self.pos..].chars().next() else {
                return Err(self.error_at(open, "a closing quote"));
            };
            if c as u32 == u32::from(quote) {
                if !triple {
                    self.pos += 1;
                    return Ok(out);
                }
                if self.bytes.get(self.pos..self.pos + 3) == Some(&[quote; 3][..]) {
                    self.pos += 3;
                    return Ok(out);
                }
            }
            if (c == '\n' || c == '\r') && !triple {
                return Err(self.error_at(open, "a closing quote on the same line"));
            }
            if c == '\\' {
                self.escape(raw, &mut out)?;
            } else {
                out.push(c);
                self.pos += c.len_utf8();
            }
        }
    }

    /// Decodes the escape sequence at `self.pos` (a backslash) into `out`.
    fn escape(&mut self, raw: bool, out: &mut String) -> Result<(), LiteralError> {
        let at = self.pos;
        self.pos += 1;
        let Some(c) = self.text[self.pos..].chars().next() else {
            return Err(self.error_at(at, "a closing quote"));
        };
        self.pos += c.len_utf8();
        if raw {
            out.push('\\');
            out.push(c);
            return Ok(());
        }
        let simple = match c {
            '\n' => Some(None),
            '\\' => Some(Some('\\')),
            '\'' => Some(Some('\'')),
            '"' => Some(Some('"')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(decoded) = simple {
            out.extend(decoded);
            return Ok(());
        }
        let code = match c {
            'x' => self.hex_digits(2, at)?,
            'u' => self.hex_digits(4, at)?,
            'U' => self.hex_digits(8, at)?,
            '0'..='7' => {
                let mut value = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                value
            }
            other => {
                out.push('\\');
                out.push(other);
                return Ok(());
            }
        };
        let decoded =
            char::from_u32(code).ok_or_else(|| self.error_at(at, "a valid unicode escape"))?;
        out.push(decoded);
        Ok(())
    }

    fn hex_digits(&mut self, count: usize, at: usize) -> Result<u32, LiteralError> {
        let digits = self
            .text
            .get(self.pos..self.pos + count)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error_at(at, &format!("{count} hex digits")))?;
        self.pos += count;
        u32::from_str_radix(digits, 16).map_err(|_| self.error_at(at, "hex digits"))
    }

    /// An int or float with optional unary signs, as Python's `-3`, `+1_000`, `2.5e3`.
    fn number(&mut self) -> Result<Literal, LiteralError> {
        let start = self.pos;
        let mut negative = false;
        while let Some(sign @ (b'-' | b'+')) = self.peek() {
            negative ^= sign == b'-';
            self.pos += 1;
            self.skip_blank();
        }
        let digits_start = self.pos;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            || (matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.bytes.get(self.pos.wrapping_sub(1)), Some(b'e' | b'E'))
                && self.bytes[digits_start..self.pos]
                    .first()
                    .is_some_and(|b| b.is_ascii_digit() || *b == b'.'))
        {
            self.pos += 1;
        }
        let token = &self.text[digits_start..self.pos];
        if let Some(value) = parse_int(token, self.python2_longs) {
            return Ok(Literal::Int(if negative {
                value.saturating_neg()
            } else {
                value
            }));
        }
        if is_float(token) {
            let sign = if negative { "-" } else { "" };
            return Ok(Literal::Float(format!("{sign}{token}")));
        }
        Err(self.error_at(start, "a number"))
    }
}

fn is_string_prefix(prefix: &str) -> bool {
    matches!(
        prefix.to_ascii_lowercase().as_str(),
        "" | "u" | "r" | "b" | "br" | "rb"
    )
}

/// A Python int literal (decimal with `_` separators, or `0x`/`0o`/`0b`), saturating.
fn parse_int(token: &str, python2_longs: bool) -> Option<i128> {
    let token = match token.strip_suffix(['L', 'l']) {
        Some(stripped) if python2_longs => stripped,
        _ => token,
    };
    let (radix, body) = match token.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => (16, &token[2..]),
        Some("0o") => (8, &token[2..]),
        Some("0b") => (2, &token[2..]),
        _ => (10, token),
    };
    let body = body
        .strip_prefix('_')
        .filter(|_| radix != 10)
        .unwrap_or(body);
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    if radix == 10
        && body.len() > 1
        && body.starts_with('0')
        && body.bytes().any(|b| b != b'0' && b != b'_')
    {
        return None;
    }
    let mut value: i128 = 0;
    for b in body.bytes().filter(|&b| b != b'_') {
        let digit = (b as char).to_digit(radix)?;
        value = value
            .saturating_mul(i128::from(radix))
            .saturating_add(i128::from(digit));
    }
    Some(value)
}

fn is_float(token: &str) -> bool {
    let clean: String = token.chars().filter(|&c| c != '_').collect();
    clean.contains(['.', 'e', 'E'])
        && clean
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && clean.parse::<f64>().is_ok()
}

/// Python's `repr` of a `str`: single quotes unless the text has a single quote and
/// no double quote; backslash escapes for the quote, backslash and control characters.
pub(crate) fn python_repr_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

impl fmt::Display for Literal {
    /// Python's `repr` of the value, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, items: &[Literal]) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        match self {
            Literal::Str(s) => f.write_str(&python_repr_str(s)),
            Literal::Bytes(b) => write!(f, "b{}", python_repr_str(&String::from_utf8_lossy(b))),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Float(v) => f.write_str(v),
            Literal::Bool(true) => f.write_str("True"),
            Literal::Bool(false) => f.write_str("False"),
            Literal::None => f.write_str("None"),
            Literal::Tuple(items) => {
                f.write_str("(")?;
                join(f, items)?;
                f.write_str(if items.len() == 1 { ",)" } else { ")" })
            }
            Literal::List(items) => {
                f.write_str("[")?;
                join(f, items)?;
                f.write_str("]")
            }
            Literal::Dict(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Literal {
        parse(s, &HeaderOptions::default()).unwrap()
    }

    fn err(s: &str) -> LiteralError {
        parse(s, &HeaderOptions::default()).unwrap_err()
    }

    #[test]
    fn parses_the_dict_numpy_writes() {
        let v = lit("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }        \n");
        assert_eq!(
            v,
            Literal::Dict(vec![
                (Literal::Str("descr".into()), Literal::Str("<f4".into())),
                (Literal::Str("fortran_order".into()), Literal::Bool(false)),
                (
                    Literal::Str("shape".into()),
                    Literal::Tuple(vec![Literal::Int(3), Literal::Int(4)])
                ),
            ])
        );
    }

    #[test]
    fn tuples_need_a_comma_except_when_empty() {
        assert_eq!(lit("()"), Literal::Tuple(vec![]));
        assert_eq!(lit("(3,)"), Literal::Tuple(vec![Literal::Int(3)]));
        assert_eq!(lit("(3)"), Literal::Int(3));
        assert_eq!(
            lit("( 3 ,\n 4 , )"),
            Literal::Tuple(vec![Literal::Int(3), Literal::Int(4)])
        );
    }

    #[test]
    fn strings_follow_python() {
        assert_eq!(lit(r#""it's""#), Literal::Str("it's".into()));
        assert_eq!(
            lit(r"'a\'b\\c\x41\u00e9\n'"),
            Literal::Str("a'b\\cAé\n".into())
        );
        assert_eq!(lit("u'<f8'"), Literal::Str("<f8".into()));
        assert_eq!(lit("'<' 'f8'"), Literal::Str("<f8".into()));
        assert_eq!(lit(r"r'\n'"), Literal::Str("\\n".into()));
        assert_eq!(lit("b'ab'"), Literal::Bytes(b"ab".to_vec()));
        assert_eq!(lit("'''x'y'''"), Literal::Str("x'y".into()));
    }

    #[test]
    fn numbers_follow_python() {
        assert_eq!(lit("-3"), Literal::Int(-3));
        assert_eq!(lit("1_000"), Literal::Int(1000));
        assert_eq!(lit("0x10"), Literal::Int(16));
        assert_eq!(lit("3.5"), Literal::Float("3.5".into()));
        assert_eq!(lit("1e3"), Literal::Float("1e3".into()));
        assert!(matches!(err("3L").kind, LiteralErrorKind::Syntax { .. }));
        let long = parse_dialect("(3L, 4l)", &HeaderOptions::default(), true).unwrap();
        assert_eq!(long, Literal::Tuple(vec![Literal::Int(3), Literal::Int(4)]));
        assert_eq!(
            lit("99999999999999999999999999999999999999999999"),
            Literal::Int(i128::MAX)
        );
        assert!(matches!(err("012").kind, LiteralErrorKind::Syntax { .. }));
    }

    #[test]
    fn errors_carry_positions() {
        assert_eq!(err("{'descr': '<f4'").pos, 15);
        assert_eq!(err("{'a': 1} x").pos, 9);
        assert_eq!(err("'abc").pos, 0);
        assert_eq!(err("{'a' 1}").pos, 5);
        assert!(matches!(err("\0").kind, LiteralErrorKind::Syntax { .. }));
    }

    #[test]
    fn nesting_is_limited_in_linear_time() {
        let deep = "[".repeat(100_000);
        let e = err(&deep);
        assert_eq!(
            e.kind,
            LiteralErrorKind::Nesting {
                limit: HeaderOptions::default().max_depth
            }
        );
        let ok = format!("{}{}", "(".repeat(50), ")".repeat(50));
        assert_eq!(parse(&ok, &HeaderOptions::default()).map(|_| ()), Ok(()));
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(python_repr_str("<f4"), "'<f4'");
        assert_eq!(python_repr_str("it's"), "\"it's\"");
        assert_eq!(python_repr_str("a'\"b"), "'a\\'\"b'");
        assert_eq!(python_repr_str("π\n\x01"), "'π\\n\\x01'");
        assert_eq!(lit("(1,)").to_string(), "(1,)");
    }
}

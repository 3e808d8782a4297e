//! The restricted unpickler: runs pickle's opcodes over the dump's bytes to build the
//! [`Value`] arena, and nothing else. Globals are never imported: an allow-listed few
//! (`numpy.dtype`, joblib's array wrapper, NumPy's array reconstructors, a handful of
//! builtins) are interpreted, every other one stays an opaque [`Value::Global`], and
//! a call of it an opaque [`Value::Object`].
//!
//! Bounded by construction: one pass over the opcodes, every push costs at least one
//! opcode byte, values shared through the memo are stored once, every length read
//! from the stream is checked against the bytes that remain before anything is
//! copied, and nothing recurses on the stream's nesting.

use std::collections::HashMap;
use std::sync::Arc;

use super::array::Buffer;
use super::machine::{Machine, Siblings, Special};
use super::value::{NodeId, Value};
use super::{numpy, wrapper};
use crate::error::{Error, ErrorKind, Result};

/// What the pass produced.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub values: Vec<Value>,
    pub root: NodeId,
    /// Where the pickle's `STOP` ended.
    pub end: usize,
}

/// The most pickles nested in one another (joblib nests one for an object array).
const MAX_NESTED: usize = 4;

/// Runs the pickle that starts at byte `start` of `buffer` up to its `STOP`.
pub(crate) fn parse(buffer: &Arc<Buffer>, start: usize, siblings: Siblings) -> Result<Parsed> {
    parse_nested(buffer, start, 0, siblings)
}

/// [`parse`] of a pickle inside `nested` others.
pub(crate) fn parse_nested(
    buffer: &Arc<Buffer>,
    start: usize,
    nested: usize,
    siblings: Siblings,
) -> Result<Parsed> {
    if nested > MAX_NESTED {
        return Err(Error::from(ErrorKind::Pickle {
            offset: start as u64,
            reason: format!("pickles nested more than {MAX_NESTED} deep"),
        }));
    }
    let mut m = Machine {
        buffer: buffer.clone(),
        pos: start,
        values: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        specials: HashMap::new(),
        nested,
        siblings,
    };
    let root = m.run()?;
    Ok(Parsed {
        values: m.values,
        root,
        end: m.pos,
    })
}

impl Machine {
    fn run(&mut self) -> Result<NodeId> {
        loop {
            let at = self.pos;
            let op = self.u8("an opcode")?;
            if op == b'.' {
                let root = self.pop(at)?;
                return Ok(root);
            }
            self.step(op, at)?;
        }
    }

    fn step(&mut self, op: u8, at: usize) -> Result<()> {
        match op {
            0x80 => {
                let proto = self.u8("the protocol")?;
                if proto > 5 {
                    return Err(self.fail(at, format!("pickle protocol {proto} (at most 5)")));
                }
            }
            0x95 => {
                let n = self.len_u64("FRAME")?;
                if n > self.bytes().len() - self.pos {
                    return Err(self.fail(at, format!("a frame of {n} bytes past the end")));
                }
            }
            _ => return self.step_value(op, at),
        }
        Ok(())
    }

    fn step_value(&mut self, op: u8, at: usize) -> Result<()> {
        match op {
            b'N' => self.push(Value::None),
            0x88 => self.push(Value::Bool(true)),
            0x89 => self.push(Value::Bool(false)),
            b'K' => {
                let v = self.u8("BININT1")?;
                self.push(Value::Int(v.into()))
            }
            b'M' => {
                let v = u16::from_le_bytes(self.le::<2>("BININT2")?);
                self.push(Value::Int(v.into()))
            }
            b'J' => {
                let v = i32::from_le_bytes(self.le::<4>("BININT")?);
                self.push(Value::Int(v.into()))
            }
            0x8a => {
                let n = self.u8("LONG1")? as usize;
                let v = long(self.take(n, "LONG1")?);
                self.push(v)
            }
            0x8b => {
                let n = self.len_u32("LONG4")?;
                let v = long(self.take(n, "LONG4")?);
                self.push(v)
            }
            b'G' => {
                let v = f64::from_be_bytes(self.le::<8>("BINFLOAT")?);
                self.push(Value::Float(v))
            }
            _ => return self.step_text_or_bytes(op, at),
        }
        Ok(())
    }

    fn step_text_or_bytes(&mut self, op: u8, at: usize) -> Result<()> {
        let (n, text) = match op {
            0x8c => (self.u8("SHORT_BINUNICODE")? as usize, true),
            b'X' => (self.len_u32("BINUNICODE")?, true),
            0x8d => (self.len_u64("BINUNICODE8")?, true),
            b'C' | b'U' => (self.u8("SHORT_BINBYTES")? as usize, false),
            b'B' | b'T' => (self.len_u32("BINBYTES")?, false),
            0x8e | 0x96 => (self.len_u64("BINBYTES8")?, false),
            _ => return self.step_container(op, at),
        };
        let range = self.span(n, "a string")?;
        let raw = &self.buffer.bytes()[range];
        let value = if text {
            let s = std::str::from_utf8(raw)
                .map_err(|_| self.fail(at, "a str that is not UTF-8"))?
                .to_string();
            Value::Str(s)
        } else {
            Value::Bytes(raw.to_vec())
        };
        self.push(value);
        Ok(())
    }

    fn step_container(&mut self, op: u8, at: usize) -> Result<()> {
        match op {
            b'(' => self.marks.push(self.stack.len()),
            b']' => self.push(Value::List(Vec::new())),
            b'}' => self.push(Value::Dict(Vec::new())),
            b')' => self.push(Value::Tuple(Vec::new())),
            0x8f => self.push(Value::Set(Vec::new())),
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let floor = self.marks.last().copied().unwrap_or(0);
                if self.stack.len() < floor + n {
                    return Err(self.fail(at, format!("TUPLE{n} needs {n} items")));
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push(Value::Tuple(items))
            }
            b't' => {
                let items = self.pop_mark(at)?;
                self.push(Value::Tuple(items))
            }
            b'l' => {
                let items = self.pop_mark(at)?;
                self.push(Value::List(items))
            }
            0x91 => {
                let items = self.pop_mark(at)?;
                self.push(Value::Set(items))
            }
            b'd' => {
                let items = self.pop_mark(at)?;
                let pairs = pairs(&items).ok_or_else(|| self.fail(at, "DICT of an odd count"))?;
                self.push(Value::Dict(pairs))
            }
            b'a' => {
                let item = self.pop(at)?;
                self.extend(at, vec![item])?
            }
            b'e' | 0x90 => {
                let items = self.pop_mark(at)?;
                self.extend(at, items)?
            }
            b's' => {
                let value = self.pop(at)?;
                let key = self.pop(at)?;
                self.set_items(at, vec![(key, value)])?
            }
            b'u' => {
                let items = self.pop_mark(at)?;
                let pairs =
                    pairs(&items).ok_or_else(|| self.fail(at, "SETITEMS of an odd count"))?;
                self.set_items(at, pairs)?
            }
            _ => return self.step_memo(op, at),
        }
        Ok(())
    }

    fn step_memo(&mut self, op: u8, at: usize) -> Result<()> {
        match op {
            b'q' => {
                let k = self.u8("BINPUT")?;
                self.memo_put(k.into(), at)?
            }
            b'r' => {
                let k = self.len_u32("LONG_BINPUT")?;
                self.memo_put(k as u64, at)?
            }
            0x94 => {
                let k = self.memo.len() as u64;
                self.memo_put(k, at)?
            }
            b'h' => {
                let k = self.u8("BINGET")?;
                let id = self.memo_get(k.into(), at)?;
                self.stack.push(id)
            }
            b'j' => {
                let k = self.len_u32("LONG_BINGET")?;
                let id = self.memo_get(k as u64, at)?;
                self.stack.push(id)
            }
            b'p' | b'g' => {
                let line = self.line("PUT/GET")?;
                let k: u64 = line
                    .trim()
                    .parse()
                    .map_err(|_| self.fail(at, format!("memo key {line:?}")))?;
                if op == b'p' {
                    self.memo_put(k, at)?
                } else {
                    let id = self.memo_get(k, at)?;
                    self.stack.push(id)
                }
            }
            b'0' => {
                self.pop(at)?;
            }
            b'1' => {
                self.pop_mark(at)?;
            }
            b'2' => {
                let id = self.top(at)?;
                self.stack.push(id)
            }
            _ => return self.step_object(op, at),
        }
        Ok(())
    }

    fn step_object(&mut self, op: u8, at: usize) -> Result<()> {
        match op {
            b'c' => {
                let module = self.line("GLOBAL")?;
                let name = self.line("GLOBAL")?;
                self.push(Value::Global { module, name })
            }
            0x93 => {
                let name = self.pop(at)?;
                let module = self.pop(at)?;
                let (Value::Str(module), Value::Str(name)) =
                    (&self.values[module.0], &self.values[name.0])
                else {
                    return Err(self.fail(at, "STACK_GLOBAL of values that are not str"));
                };
                let global = Value::Global {
                    module: module.clone(),
                    name: name.clone(),
                };
                self.push(global)
            }
            b'R' | 0x81 => {
                let args = self.pop(at)?;
                let class = self.pop(at)?;
                let id = numpy::call(self, class, args, at)?;
                self.stack.push(id)
            }
            0x92 => {
                let _kwargs = self.pop(at)?;
                let args = self.pop(at)?;
                let class = self.pop(at)?;
                let id = numpy::call(self, class, args, at)?;
                self.stack.push(id)
            }
            b'b' => {
                let state = self.pop(at)?;
                let target = self.top(at)?;
                if matches!(self.specials.get(&target), Some(Special::Wrapper)) {
                    self.specials.remove(&target);
                    self.values[target.0] = self.wrapped(state, at)?;
                } else if matches!(self.specials.get(&target), Some(Special::OldWrapper)) {
                    self.specials.remove(&target);
                    self.values[target.0] = wrapper::sibling_array(self, state, at)?;
                } else if matches!(self.specials.get(&target), Some(Special::ZWrapper)) {
                    self.specials.remove(&target);
                    self.values[target.0] = wrapper::zfile_array(self, state, at)?;
                } else {
                    numpy::build(self, target, state, at)?
                }
            }
            _ => return self.step_text(op, at),
        }
        Ok(())
    }

    /// The text opcodes of protocols 0 and 1 that old dumps use.
    fn step_text(&mut self, op: u8, at: usize) -> Result<()> {
        match op {
            b'I' | b'L' => {
                let line = self.line("INT")?;
                let t = line.trim().trim_end_matches('L');
                let v = match t {
                    "00" => Value::Bool(false),
                    "01" => Value::Bool(true),
                    _ => Value::Int(
                        t.parse()
                            .map_err(|_| self.fail(at, format!("an int {t:?} out of range")))?,
                    ),
                };
                self.push(v)
            }
            b'F' => {
                let line = self.line("FLOAT")?;
                let v = line
                    .trim()
                    .parse()
                    .map_err(|_| self.fail(at, format!("a float {line:?}")))?;
                self.push(Value::Float(v))
            }
            b'V' => {
                let line = self.line("UNICODE")?;
                let s = raw_unicode_escape(&line)
                    .ok_or_else(|| self.fail(at, "an invalid \\u escape"))?;
                self.push(Value::Str(s))
            }
            _ => {
                return Err(self.fail(
                    at,
                    format!("opcode {op:#04x} is not one a joblib dump needs (refused, never run)"),
                ));
            }
        }
        Ok(())
    }

    /// The array after a joblib wrapper's `BUILD`; an object array's own pickle is
    /// run (never its objects) only to find where it ends.
    fn wrapped(&mut self, state: NodeId, at: usize) -> Result<Value> {
        match wrapper::read_array(self, state, at)? {
            wrapper::Wrapped::Array(array) => Ok(array),
            wrapper::Wrapped::ObjectArray => {
                let nested = parse_nested(
                    &self.buffer,
                    self.pos,
                    self.nested + 1,
                    self.siblings.clone(),
                )
                .map_err(|e| self.fail(at, format!("the object array after this wrapper: {e}")))?;
                self.pos = nested.end;
                Ok(wrapper::object_array(self))
            }
        }
    }

    fn extend(&mut self, at: usize, items: Vec<NodeId>) -> Result<()> {
        let target = self.top(at)?;
        match &mut self.values[target.0] {
            Value::List(v) | Value::Set(v) => v.extend(items),
            Value::Object { items: v, .. } => v.extend(items),
            other => {
                let kind = other.kind_name();
                return Err(self.fail(at, format!("APPEND to a {kind}")));
            }
        }
        Ok(())
    }

    fn set_items(&mut self, at: usize, pairs: Vec<(NodeId, NodeId)>) -> Result<()> {
        let target = self.top(at)?;
        if let Value::Dict(v) = &mut self.values[target.0] {
            v.extend(pairs);
            return Ok(());
        }
        if !matches!(self.values[target.0], Value::Object { .. }) {
            let kind = self.values[target.0].kind_name();
            return Err(self.fail(at, format!("SETITEM on a {kind}")));
        }
        let tuples: Vec<NodeId> = pairs
            .into_iter()
            .map(|(k, v)| self.add(Value::Tuple(vec![k, v])))
            .collect();
        if let Value::Object { items, .. } = &mut self.values[target.0] {
            items.extend(tuples);
        }
        Ok(())
    }
}

/// Pairs of consecutive items.
fn pairs(items: &[NodeId]) -> Option<Vec<(NodeId, NodeId)>> {
    if !items.len().is_multiple_of(2) {
        return None;
    }
    Some(items.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

/// A little-endian two's-complement int of any length.
fn long(bytes: &[u8]) -> Value {
    if bytes.len() > 8 {
        return Value::BigInt(bytes.to_vec());
    }
    if bytes.is_empty() {
        return Value::Int(0);
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut full = [if negative { 0xff } else { 0 }; 8];
    full[..bytes.len()].copy_from_slice(bytes);
    Value::Int(i64::from_le_bytes(full))
}

/// Decodes Python's `raw-unicode-escape`: `\uXXXX` and `\UXXXXXXXX`, other bytes as
/// latin-1.
fn raw_unicode_escape(line: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let width = match (c, chars.peek()) {
            ('\\', Some('u')) => 4,
            ('\\', Some('U')) => 8,
            _ => {
                out.push(c);
                continue;
            }
        };
        chars.next();
        let hex: String = chars.by_ref().take(width).collect();
        let code = u32::from_str_radix(&hex, 16).ok()?;
        out.push(char::from_u32(code)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Result<Parsed> {
        let siblings = Siblings {
            dir: None,
            open: crate::joblib::read_sibling,
            max_decompressed: None,
        };
        parse(&Arc::new(Buffer::Owned(bytes.to_vec())), 0, siblings)
    }

    #[test]
    fn ints_of_every_width() {
        let p = run(b"\x80\x02\x8a\x02\x00\x80.").unwrap();
        assert_eq!(p.values[p.root.0], Value::Int(-32768));
        let p = run(b"\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.").unwrap();
        assert_eq!(
            p.values[p.root.0],
            Value::BigInt(vec![0, 0, 0, 0, 0, 0, 0, 0, 1])
        );
        let p = run(b"I42\n.").unwrap();
        assert_eq!(p.values[p.root.0], Value::Int(42));
    }

    #[test]
    fn shared_values_are_stored_once() {
        // l = []; pickle.dumps([l, l, l], 4) with memo references.
        let p = run(b"\x80\x04]\x94(]\x94h\x01h\x01e.").unwrap();
        let Value::List(items) = &p.values[p.root.0] else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|&i| i == items[0]));
    }

    #[test]
    fn hostile_streams_are_refused_with_an_offset() {
        let e = run(b"\x80\x04h\x05.").unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Pickle { offset: 2, .. }),
            "{e}"
        );
        let e = run(b"\x80\x04X\xff\xff\xff\xff").unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Pickle { offset: 7, .. }),
            "{e}"
        );
        let e = run(b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02ls\x85R.").unwrap();
        // os.system is never called: it stays an opaque object.
        assert!(matches!(e.values[e.root.0], Value::Object { .. }));
        let e = run(b"\x80\x04(").unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Pickle { offset: 3, .. }),
            "{e}"
        );
        let e = run(b"\x80\x04P").unwrap_err();
        assert!(e.to_string().contains("never run"), "{e}");
    }
}

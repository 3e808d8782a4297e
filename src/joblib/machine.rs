//! The unpickler's state: the bytes, the position, the value arena, the stack, the
//! memo, and the allow-listed objects waiting for their `BUILD`; with the reads and
//! stack operations the opcodes are made of.

use std::collections::HashMap;
use std::sync::Arc;

use super::array::Buffer;
use super::value::{NodeId, Value};
use crate::error::{Error, ErrorKind, Result};

/// The sibling `.npy` files of a dump of joblib before 0.10: the dump's directory,
/// and how they are opened (mapped after [`load`](super::load), read after
/// [`read`](super::read)).
#[derive(Clone, Debug)]
pub(crate) struct Siblings {
    pub dir: Option<std::path::PathBuf>,
    pub open: fn(&std::path::Path) -> Result<Buffer>,
    /// The most bytes a compressed sibling (joblib 0.9's `ZF` files) may decompress to.
    pub max_decompressed: Option<u64>,
}

/// Objects that the next `BUILD` completes, and dtypes already built.
pub(crate) enum Special {
    /// `numpy.dtype(code)`, waiting for its state.
    DTypeCall { code: String },
    /// A built dtype: its descr as Python literal text, and its sub-array shape.
    DType { base: String, shape: Vec<usize> },
    /// joblib's `NumpyArrayWrapper()`, waiting for its attributes.
    Wrapper,
    /// `_reconstruct(ndarray, (0,), b'b')`, waiting for `(1, shape, dtype, fortran, raw)`.
    Reconstruct,
    /// The `NDArrayWrapper()` of joblib before 0.10, waiting for its `filename`.
    OldWrapper,
    /// The `ZNDArrayWrapper()` of joblib 0.9's compressed dumps, waiting for its
    /// `filename` and `state`.
    ZWrapper,
}

pub(crate) struct Machine {
    pub(crate) buffer: Arc<Buffer>,
    /// The next byte to read.
    pub(crate) pos: usize,
    pub(crate) values: Vec<Value>,
    pub(crate) stack: Vec<NodeId>,
    pub(crate) marks: Vec<usize>,
    pub(crate) memo: HashMap<u64, NodeId>,
    /// Objects of allow-listed classes waiting for their `BUILD` (dtypes, joblib's
    /// array wrappers, `_reconstruct`ed arrays) and dtypes already built.
    pub(crate) specials: HashMap<NodeId, Special>,
    /// Nested pickles (object arrays) entered.
    pub(crate) nested: usize,
    /// Where the dump is, for the sibling `.npy` files of old dumps.
    pub(crate) siblings: Siblings,
}

impl Machine {
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buffer.bytes()
    }

    /// An error about the opcode at `at`.
    pub(crate) fn fail(&self, at: usize, reason: impl Into<String>) -> Error {
        Error::from(ErrorKind::Pickle {
            offset: at as u64,
            reason: reason.into(),
        })
    }

    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&[u8]> {
        let range = self.span(n, what)?;
        Ok(&self.buffer.bytes()[range])
    }

    /// The next `n` bytes' range, moving past them.
    pub(crate) fn span(&mut self, n: usize, what: &str) -> Result<std::ops::Range<usize>> {
        let start = self.pos;
        let end = start
            .checked_add(n)
            .filter(|&e| e <= self.bytes().len())
            .ok_or_else(|| {
                self.fail(
                    start,
                    format!(
                        "{what} needs {n} bytes, the file has {} more",
                        self.bytes().len().saturating_sub(start)
                    ),
                )
            })?;
        self.pos = end;
        Ok(start..end)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn le<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn len_u32(&mut self, what: &str) -> Result<usize> {
        Ok(u32::from_le_bytes(self.le::<4>(what)?) as usize)
    }

    pub(crate) fn len_u64(&mut self, what: &str) -> Result<usize> {
        let n = u64::from_le_bytes(self.le::<8>(what)?);
        usize::try_from(n).map_err(|_| self.fail(self.pos, format!("{what} of {n} bytes")))
    }

    /// A `\n`-terminated line (the text opcodes of protocols 0 and 1).
    pub(crate) fn line(&mut self, what: &str) -> Result<String> {
        let rest = &self.bytes()[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return Err(self.fail(self.pos, format!("{what}: no end of line")));
        };
        let text = rest[..n].iter().map(|&b| char::from(b)).collect();
        self.pos += n + 1;
        Ok(text)
    }

    pub(crate) fn add(&mut self, value: Value) -> NodeId {
        self.values.push(value);
        NodeId(self.values.len() - 1)
    }

    pub(crate) fn push(&mut self, value: Value) {
        let id = self.add(value);
        self.stack.push(id);
    }

    pub(crate) fn pop(&mut self, at: usize) -> Result<NodeId> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.fail(at, "the stack is empty"));
        }
        Ok(self.stack.pop().unwrap_or(NodeId(0)))
    }

    pub(crate) fn top(&self, at: usize) -> Result<NodeId> {
        self.stack
            .last()
            .copied()
            .ok_or_else(|| self.fail(at, "the stack is empty"))
    }

    /// The items above the last mark, which is removed.
    pub(crate) fn pop_mark(&mut self, at: usize) -> Result<Vec<NodeId>> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.fail(at, "no MARK before this opcode"))?;
        Ok(self.stack.split_off(mark))
    }

    pub(crate) fn memo_get(&self, key: u64, at: usize) -> Result<NodeId> {
        self.memo
            .get(&key)
            .copied()
            .ok_or_else(|| self.fail(at, format!("memo entry {key} was never stored")))
    }

    pub(crate) fn memo_put(&mut self, key: u64, at: usize) -> Result<()> {
        let id = self.top(at)?;
        self.memo.insert(key, id);
        Ok(())
    }
}

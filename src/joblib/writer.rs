//! [`JoblibWriter`]: dumps of a dict of arrays (and plain values) in the layout
//! joblib 1.2+ writes, which `joblib.load(path, mmap_mode='r')` maps.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayRef, Dimension};

use crate::error::{Error, ErrorKind, Result};
use crate::format::element::Element;
use crate::fs::durable::{create_temp_beside, sync_parent_dir};
use crate::npy::save::{write_c_order, written_in_fortran_order};

use super::Value;

/// The alignment joblib gives array data (its `numpy_array_alignment_bytes`).
const ALIGNMENT: u64 = 16;

/// Writes a joblib dump of a dict, atomically: the bytes go to a temporary file
/// beside the target, which [`finish`](JoblibWriter::finish) syncs and renames into
/// place; dropping the writer without finishing removes it and leaves the target
/// alone.
///
/// The layout is what `joblib.dump(dict, path)` writes (pickle protocol 4, each array
/// as joblib's `NumpyArrayWrapper` followed by its bytes on a 16-byte boundary), so
/// `joblib.load(path, mmap_mode='r')` maps every array and [`load`](super::load) gives
/// zero-copy views.
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("out.joblib");
/// use npmap::MmapMode;
/// use npmap::joblib::{JoblibWriter, Value};
/// use npmap::ndarray::{Array2, Ix2};
/// let x = Array2::<f32>::from_shape_fn((3, 2), |(i, j)| (i * 2 + j) as f32);
/// let mut w = JoblibWriter::create(&path)?;
/// w.add("X_train", &x)?;
/// w.add_value("epochs", &Value::Int(10))?;
/// w.finish()?;
/// // SAFETY: nothing truncates or rewrites the dump while it is mapped.
/// let d = unsafe { npmap::joblib::load(&path, MmapMode::ReadOnly)? };
/// assert_eq!(d["X_train"].array()?.view::<f32, Ix2>()?, x);
/// assert_eq!(d["epochs"], Value::Int(10));
/// # Ok(()) }
/// ```
pub struct JoblibWriter {
    path: PathBuf,
    temp_path: PathBuf,
    /// `None` once finished.
    out: Option<BufWriter<File>>,
    /// Bytes written so far.
    written: u64,
    keys: Vec<String>,
}

impl std::fmt::Debug for JoblibWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoblibWriter")
            .field("path", &self.path)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// A pickle opcode stream being built (protocol 4 opcodes, no memo): the dumps'
/// pickles, and Dask's npy-stack `info`.
#[derive(Default)]
pub(crate) struct Ops(pub(crate) Vec<u8>);

impl Ops {
    pub(crate) fn op(&mut self, op: u8) -> &mut Self {
        self.0.push(op);
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        match u8::try_from(s.len()) {
            Ok(n) => self.0.extend([0x8c, n]),
            Err(_) => {
                self.0.push(b'X');
                self.0.extend((s.len() as u32).to_le_bytes());
            }
        }
        self.0.extend(s.as_bytes());
        self
    }

    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        match v {
            0..=0xff => self.0.extend([b'K', v as u8]),
            0x100..=0xffff => {
                self.0.push(b'M');
                self.0.extend((v as u16).to_le_bytes());
            }
            _ if i32::try_from(v).is_ok() => {
                self.0.push(b'J');
                self.0.extend((v as i32).to_le_bytes());
            }
            _ => {
                self.0.extend([0x8a, 8]);
                self.0.extend(v.to_le_bytes());
            }
        }
        self
    }

    pub(crate) fn global(&mut self, module: &str, name: &str) -> &mut Self {
        self.str(module).str(name).op(0x93)
    }

    pub(crate) fn tuple_of_ints(&mut self, items: &[usize]) -> &mut Self {
        match items.len() {
            0 => return self.op(b')'),
            1..=3 => {}
            _ => {
                self.op(b'(');
            }
        }
        for &d in items {
            self.int(d as i64);
        }
        match items.len() {
            n @ 1..=3 => self.op(0x84 + n as u8),
            _ => self.op(b't'),
        }
    }

    /// `numpy.dtype(code, False, True)` with the state NumPy pickles for `descr`
    /// (`<f4`, `|b1`, ...): the number types an [`Element`] has.
    pub(crate) fn dtype(&mut self, descr: &str) -> &mut Self {
        let (order, code) = descr.split_at(1);
        self.global("numpy", "dtype")
            .str(code)
            .op(0x89)
            .op(0x88)
            .op(0x87)
            .op(b'R');
        self.op(b'(').int(3).str(order).op(b'N').op(b'N').op(b'N');
        self.int(-1).int(-1).int(0).op(b't').op(b'b')
    }

    fn value(&mut self, value: &Value) -> Result<()> {
        match value {
            Value::None => {
                self.op(b'N');
            }
            Value::Bool(b) => {
                self.op(if *b { 0x88 } else { 0x89 });
            }
            Value::Int(i) => {
                self.int(*i);
            }
            Value::Float(f) => {
                self.0.push(b'G');
                self.0.extend(f.to_be_bytes());
            }
            Value::Str(s) => {
                self.str(s);
            }
            Value::Bytes(b) => {
                self.0.push(0x8e);
                self.0.extend((b.len() as u64).to_le_bytes());
                self.0.extend(b);
            }
            other => {
                return Err(Error::from(ErrorKind::UnsupportedDump {
                    reason: format!(
                        "JoblibWriter::add_value writes None, bool, int, float, str and bytes, not a {}",
                        other.kind_name()
                    ),
                }));
            }
        }
        Ok(())
    }
}

impl JoblibWriter {
    /// Starts a dump at `path` (replacing any file there once finished).
    ///
    /// See [`JoblibWriter`] for an example.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (`action` `"create temporary file"` or `"write"`) when the
    /// temporary file beside `path` cannot be created or written.
    pub fn create(path: impl AsRef<Path>) -> Result<JoblibWriter> {
        let path = path.as_ref();
        let (temp_path, file) = create_temp_beside(path)?;
        let mut w = JoblibWriter {
            path: path.to_path_buf(),
            temp_path,
            out: Some(BufWriter::with_capacity(1 << 20, file)),
            written: 0,
            keys: Vec::new(),
        };
        // Protocol 4; the root dict; a mark under its items (SETITEMS in `finish`).
        w.write(&[0x80, 4, b'}', b'('])?;
        Ok(w)
    }

    /// The output, unless a write failed before.
    fn out(&mut self) -> Result<&mut BufWriter<File>> {
        self.out.as_mut().ok_or_else(|| {
            Error::at(
                &self.path,
                ErrorKind::UnsupportedDump {
                    reason: "the writer failed before; start a new one".into(),
                },
            )
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let written = self.out()?.write_all(bytes);
        written.map_err(|e| Error::io(&self.path, "write", e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn key(&mut self, key: &str) -> Result<()> {
        if self.keys.iter().any(|k| k == key) {
            return Err(Error::at(
                &self.path,
                ErrorKind::UnsupportedDump {
                    reason: format!("key '{key}' was added twice"),
                },
            ));
        }
        self.keys.push(key.to_string());
        let mut ops = Ops::default();
        ops.str(key);
        self.write(&ops.0)
    }

    /// Adds `array` under `key`: joblib's array wrapper, then the array's bytes in
    /// memory order (Fortran order for an F-contiguous array, else C order), aligned to
    /// 16 bytes in the file.
    ///
    /// See [`JoblibWriter`] for an example.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (`action` `"write"`) when writing fails (the writer is then
    /// unusable; dropping it removes the temporary file), and
    /// [`ErrorKind::UnsupportedDump`] for a key added twice.
    pub fn add<A: Element, D: Dimension>(
        &mut self,
        key: &str,
        array: &ArrayRef<A, D>,
    ) -> Result<()> {
        self.key(key)?;
        let fortran = written_in_fortran_order(array);
        let mut ops = Ops::default();
        ops.global("joblib.numpy_pickle", "NumpyArrayWrapper")
            .op(b')')
            .op(0x81);
        ops.op(b'}').op(b'(');
        ops.str("subclass").global("numpy", "ndarray");
        ops.str("shape").tuple_of_ints(array.shape());
        ops.str("order").str(if fortran { "F" } else { "C" });
        ops.str("dtype").dtype(&A::dtype().descr());
        ops.str("allow_mmap").op(0x88);
        ops.str("numpy_array_alignment_bytes").int(ALIGNMENT as i64);
        ops.op(b'u').op(b'b');
        // After the BUILD: one byte saying how many pad bytes follow, so that the data
        // starts on a 16-byte boundary (1 to 16 of them, as joblib writes).
        let after = self.written + ops.0.len() as u64 + 1;
        let pad = ALIGNMENT - after % ALIGNMENT;
        ops.0.push(pad as u8);
        ops.0.extend(std::iter::repeat_n(0xff, pad as usize));
        self.write(&ops.0)?;
        let result = {
            let out = self.out()?;
            match array.as_slice_memory_order() {
                Some(slice) if fortran => out.write_all(bytemuck::cast_slice(slice)),
                _ => write_c_order(out, array),
            }
        };
        result.map_err(|e| {
            self.out = None;
            Error::io(&self.path, "write", e)
        })?;
        self.written += (array.len() * std::mem::size_of::<A>()) as u64;
        Ok(())
    }

    /// Adds a plain value under `key`: `None`, a bool, an int, a float, a str or bytes.
    ///
    /// See [`JoblibWriter`] for an example.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnsupportedDump`] for another kind of value or a key added twice;
    /// [`ErrorKind::Io`] when writing fails.
    pub fn add_value(&mut self, key: &str, value: &Value) -> Result<()> {
        let mut ops = Ops::default();
        ops.value(value).map_err(|e| e.in_file(&self.path))?;
        self.key(key)?;
        self.write(&ops.0)
    }

    /// Ends the dict and the pickle, syncs the temporary file and renames it over the
    /// target.
    ///
    /// See [`JoblibWriter`] for an example.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (`"write"`, `"sync"`, `"rename temporary file"`); the target
    /// is then left as it was and the temporary file removed.
    pub fn finish(mut self) -> Result<()> {
        let result = self.write(b"u.").and_then(|()| self.persist());
        if result.is_err() {
            self.out = None;
            let _ = std::fs::remove_file(&self.temp_path);
        }
        result
    }

    fn persist(&mut self) -> Result<()> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let temp = self.temp_path.clone();
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&self.path, "write", e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io(&self.path, "sync", e))?;
        std::fs::rename(&temp, &self.path)
            .map_err(|e| Error::io(&self.path, "rename temporary file", e))?;
        sync_parent_dir(&self.path);
        Ok(())
    }
}

impl Drop for JoblibWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

//! joblib's `NumpyArrayWrapper`: its attributes say what array follows, and the
//! array's bytes follow its `BUILD` opcode, outside the pickle (after a pad-length
//! byte and pad bytes in dumps of joblib 1.2 and later).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::array::JoblibArray;
use super::compressed::{Compressor, decompress};
use super::machine::Machine;
use super::numpy::{dtype_of, ints, is_object_dtype, owned_array, tuple};
use super::value::{NodeId, Value};
use crate::error::{Error, ErrorKind, Result};
use crate::format::header::Header;
use crate::npy::bytes::NpyBytes;

/// The value of the wrapper's attribute `name`.
fn attribute<'m>(m: &'m Machine, state: NodeId, name: &str) -> Option<&'m Value> {
    attribute_id(m, state, name).map(|v| &m.values[v.0])
}

/// The id of the wrapper's attribute `name`.
fn attribute_id(m: &Machine, state: NodeId, name: &str) -> Option<NodeId> {
    let Value::Dict(entries) = &m.values[state.0] else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| matches!(&m.values[k.0], Value::Str(s) if s == name))
        .map(|&(_, v)| v)
}

/// The array class the wrapper records (`numpy.ndarray` when it names none).
fn subclass(m: &Machine, state: NodeId) -> String {
    match attribute(m, state, "subclass") {
        Some(Value::Global { module, name }) => format!("{module}.{name}"),
        _ => "numpy.ndarray".to_string(),
    }
}

/// What follows a wrapper's `BUILD`.
pub(crate) enum Wrapped {
    /// The array's bytes, now read (and moved past).
    Array(Value),
    /// A pickle of its own (an object array), still to be skipped.
    ObjectArray,
}

/// Reads the array the wrapper describes from the bytes after its `BUILD`, and moves
/// past them.
pub(crate) fn read_array(m: &mut Machine, state: NodeId, at: usize) -> Result<Wrapped> {
    let dtype_id = attribute_id(m, state, "dtype")
        .ok_or_else(|| m.fail(at, "an array wrapper without a dtype"))?;
    let shape = match attribute_id(m, state, "shape") {
        Some(id) if matches!(m.values[id.0], Value::Tuple(_)) => ints(m, id),
        _ => None,
    }
    .ok_or_else(|| m.fail(at, "an array wrapper whose shape is not a tuple of ints"))?;
    let fortran = matches!(attribute(m, state, "order"), Some(Value::Str(o)) if o == "F");
    let subclass = subclass(m, state);
    if matches!(attribute(m, state, "allow_mmap"), Some(Value::Bool(false)))
        && is_object_dtype(m, dtype_id)
    {
        return Ok(Wrapped::ObjectArray);
    }
    let dtype = dtype_of(m, dtype_id, at)?;
    if attribute(m, state, "numpy_array_alignment_bytes").is_some() {
        let pad = m.take(1, "the array's padding length")?[0] as usize;
        m.take(pad, "the array's padding")?;
    }
    let start = m.pos;
    let header = Header::new((0, 0), dtype, fortran, shape, start as u64)?;
    let len = usize::try_from(header.data_len())
        .map_err(|_| m.fail(start, "an array larger than the address space"))?;
    m.take(len, "the array's data")?;
    Ok(Wrapped::Array(Value::Array(JoblibArray::in_buffer(
        header,
        m.buffer.clone(),
        start..start + len,
        subclass,
    ))))
}

/// An object array, which joblib pickles as a pickle of its own right after the
/// wrapper (skipped by the caller): its items are not NumPy data, so it stays opaque.
pub(crate) fn object_array(m: &mut Machine) -> Value {
    let class = m.add(Value::Global {
        module: "numpy".into(),
        name: "ndarray".into(),
    });
    let note = m.add(Value::Str("object array (dtype 'O'), not read".into()));
    Value::Object {
        class,
        args: vec![note],
        state: None,
        items: Vec::new(),
    }
}

/// The `NDArrayWrapper` of a dump of joblib before 0.10: the array is the `.npy`
/// file `filename` beside the dump, mapped (after [`load`](super::load)) or read.
/// Only a plain file name is followed, never a path out of the dump's directory.
pub(crate) fn sibling_array(m: &mut Machine, state: NodeId, at: usize) -> Result<Value> {
    let path = sibling_path(m, state, at, "NDArrayWrapper")?;
    let subclass = subclass(m, state);
    let buffer = (m.siblings.open)(&path)?;
    let npy = NpyBytes::parse(buffer.bytes()).map_err(|e| e.in_file(&path))?;
    let header = npy.header().clone();
    let start = header.data_offset as usize;
    let range = start..start + npy.data().len();
    Ok(Value::Array(JoblibArray::in_buffer(
        header,
        Arc::new(buffer),
        range,
        subclass,
    )))
}

/// The file beside the dump that an old wrapper (`class`) names in its `filename`:
/// only a plain file name is followed, never a path out of the dump's directory.
fn sibling_path(m: &Machine, state: NodeId, at: usize, class: &str) -> Result<PathBuf> {
    let Some(Value::Str(name)) = attribute(m, state, "filename") else {
        return Err(m.fail(at, format!("an {class} without a filename")));
    };
    let plain = Path::new(name).file_name() == Some(std::ffi::OsStr::new(name));
    if !plain || name.starts_with('.') {
        return Err(m.fail(
            at,
            format!("an {class} names {name:?}, not a file beside the dump"),
        ));
    }
    let dir = m.siblings.dir.clone().unwrap_or_default();
    Ok(dir.join(name))
}

/// The `ZNDArrayWrapper` of a compressed dump of joblib 0.9 and earlier: the array's
/// raw bytes are the `ZF` file `filename` beside the dump, and its `state` is NumPy's
/// pickle state without them, `(version, shape, dtype, fortran)`. Read into memory
/// (joblib does not map these either); the file's name is followed as
/// [`sibling_array`] follows it.
pub(crate) fn zfile_array(m: &mut Machine, state: NodeId, at: usize) -> Result<Value> {
    let path = sibling_path(m, state, at, "ZNDArrayWrapper")?;
    let parts = match attribute_id(m, state, "state") {
        Some(id) if matches!(m.values[id.0], Value::Tuple(_)) => tuple(m, id).to_vec(),
        _ => Vec::new(),
    };
    let [_, shape, dtype, fortran] = parts.as_slice() else {
        return Err(m.fail(
            at,
            "a ZNDArrayWrapper whose state is not (version, shape, dtype, fortran)",
        ));
    };
    let shape = ints(m, *shape).ok_or_else(|| m.fail(at, "a ZNDArrayWrapper's shape"))?;
    if is_object_dtype(m, *dtype) {
        return Ok(object_array(m));
    }
    let dtype = dtype_of(m, *dtype, at)?;
    let fortran = matches!(m.values[fortran.0], Value::Bool(true) | Value::Int(1));
    let buffer = (m.siblings.open)(&path)?;
    let bytes = buffer.bytes();
    if !bytes.starts_with(b"ZF") {
        return Err(Error::from(ErrorKind::UnsupportedDump {
            reason:
                "a ZNDArrayWrapper's file is not a zlib 'ZF' file: expected it to start with 'ZF'"
                    .into(),
        })
        .in_file(&path));
    }
    let limit = m.siblings.max_decompressed;
    let raw = decompress(bytes, Compressor::ZFile, limit).map_err(|e| e.in_file(&path))?;
    drop(buffer);
    owned_array(m, dtype, shape, fortran, raw, at)
}

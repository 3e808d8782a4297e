//! The allow-list: what the unpickler interprets when a dump calls a global. NumPy
//! dtypes (`numpy.dtype` + its `BUILD` state), joblib's `NumpyArrayWrapper` (whose
//! array bytes follow its `BUILD`, outside the pickle), NumPy's own array and scalar
//! pickles, and a few builtins. Any other call becomes an opaque [`Value::Object`].

use super::array::JoblibArray;
use super::machine::{Machine, Special};
use super::value::{NodeId, Value};
use crate::error::Result;
use crate::format::dtype::DType;
use crate::format::header::Header;
use crate::format::literal::python_repr_str;

/// The most characters a pickled dtype's description may take (NumPy's own header
/// cap), so that dtypes shared through the memo cannot grow it exponentially.
const MAX_DESCR_CHARS: usize = 10_000;

fn global(m: &Machine, id: NodeId) -> Option<(&str, &str)> {
    match &m.values[id.0] {
        Value::Global { module, name } => Some((module, name)),
        _ => None,
    }
}

pub(crate) fn tuple(m: &Machine, id: NodeId) -> &[NodeId] {
    match &m.values[id.0] {
        Value::Tuple(items) | Value::List(items) => items,
        _ => &[],
    }
}

fn text(m: &Machine, id: NodeId) -> Option<&str> {
    match &m.values[id.0] {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// `class(*args)` for `REDUCE` / `NEWOBJ`: interpreted when allow-listed, else kept.
pub(crate) fn call(m: &mut Machine, class: NodeId, args: NodeId, at: usize) -> Result<NodeId> {
    let name = global(m, class).map(|(a, b)| format!("{a}.{b}"));
    let argv = tuple(m, args).to_vec();
    let value = match name.as_deref() {
        Some("numpy.dtype") => {
            let code = argv.first().and_then(|&a| text(m, a)).unwrap_or_default();
            let code = code.to_string();
            return Ok(special(m, class, argv, Special::DTypeCall { code }));
        }
        Some("joblib.numpy_pickle.NumpyArrayWrapper") => {
            return Ok(special(m, class, argv, Special::Wrapper));
        }
        Some("joblib.numpy_pickle.NDArrayWrapper") => {
            return Ok(special(m, class, argv, Special::OldWrapper));
        }
        Some("joblib.numpy_pickle.ZNDArrayWrapper") => {
            return Ok(special(m, class, argv, Special::ZWrapper));
        }
        Some("numpy.core.multiarray._reconstruct" | "numpy._core.multiarray._reconstruct") => {
            return Ok(special(m, class, argv, Special::Reconstruct));
        }
        Some("numpy.core.numeric._frombuffer" | "numpy._core.numeric._frombuffer") => {
            from_buffer(m, &argv, at)?
        }
        Some("numpy.core.multiarray.scalar" | "numpy._core.multiarray.scalar") => {
            scalar(m, &argv, at)?
        }
        Some("_codecs.encode") => encode(m, &argv, at)?,
        Some("builtins.bytearray" | "__builtin__.bytearray") => match argv.as_slice() {
            [] => Value::Bytes(Vec::new()),
            [b] if matches!(m.values[b.0], Value::Bytes(_)) => m.values[b.0].clone(),
            _ => encode(m, &argv, at)?,
        },
        Some("builtins.set" | "builtins.frozenset" | "__builtin__.set") => Value::Set(
            argv.first()
                .map(|&a| tuple(m, a).to_vec())
                .unwrap_or_default(),
        ),
        Some("collections.OrderedDict") if argv.is_empty() => Value::Dict(Vec::new()),
        _ => Value::Object {
            class,
            args: argv,
            state: None,
            items: Vec::new(),
        },
    };
    Ok(m.add(value))
}

fn special(m: &mut Machine, class: NodeId, args: Vec<NodeId>, kind: Special) -> NodeId {
    let id = m.add(Value::Object {
        class,
        args,
        state: None,
        items: Vec::new(),
    });
    m.specials.insert(id, kind);
    id
}

/// `BUILD`: completes an allow-listed object, or records the state of another.
pub(crate) fn build(m: &mut Machine, target: NodeId, state: NodeId, at: usize) -> Result<()> {
    match m.specials.remove(&target) {
        Some(Special::DTypeCall { code }) => {
            let built = dtype_state(m, &code, state, at)?;
            m.specials.insert(target, built);
        }
        Some(Special::Reconstruct) => {
            if let Some(array) = reconstructed(m, state, at)? {
                m.values[target.0] = array;
            }
        }
        Some(done @ Special::DType { .. }) => {
            m.specials.insert(target, done);
        }
        // A wrapper's `BUILD` is the wrapper module's (see `pickle`).
        Some(Special::Wrapper | Special::OldWrapper | Special::ZWrapper) | None => {}
    }
    if let Value::Object { state: s, .. } = &mut m.values[target.0] {
        *s = Some(state);
    }
    Ok(())
}

/// Whether a node is the object dtype (`O`): arrays of pickled Python objects.
pub(crate) fn is_object_dtype(m: &Machine, id: NodeId) -> bool {
    matches!(m.specials.get(&id), Some(Special::DType { base, .. }) if base.starts_with("'|O"))
}

/// The dtype a node holds, as a top-level array dtype.
pub(crate) fn dtype_of(m: &Machine, id: NodeId, at: usize) -> Result<DType> {
    match m.specials.get(&id) {
        Some(Special::DType { base, shape }) if shape.is_empty() => DType::parse(base),
        Some(Special::DType { .. }) => Err(m.fail(at, "an array whose dtype is a sub-array")),
        _ => Err(m.fail(at, "an array's dtype is not a numpy.dtype")),
    }
}

/// A dtype from `numpy.dtype(code)` and its state `(version, byteorder, subarray,
/// names, fields, elsize, alignment, flags[, metadata])`.
fn dtype_state(m: &Machine, code: &str, state: NodeId, at: usize) -> Result<Special> {
    let s = tuple(m, state);
    let get = |i: usize| s.get(i).map(|&id| &m.values[id.0]);
    let order = match get(1) {
        Some(Value::Str(o)) if o == "=" => native_order().to_string(),
        Some(Value::Str(o)) => o.clone(),
        _ => "|".to_string(),
    };
    if let Some(Value::Tuple(sub)) = get(2) {
        let [base, shape] = sub.as_slice() else {
            return Err(m.fail(at, "a dtype sub-array that is not (dtype, shape)"));
        };
        let shape = ints(m, *shape).ok_or_else(|| m.fail(at, "a sub-array shape"))?;
        let Some(Special::DType {
            base: b,
            shape: inner,
        }) = m.specials.get(base)
        else {
            return Err(m.fail(at, "a sub-array of something that is not a dtype"));
        };
        let base = nested(b, inner);
        return Ok(Special::DType { base, shape });
    }
    if let Some(Value::Tuple(names)) = get(3) {
        let elsize = match get(5) {
            Some(Value::Int(n)) if *n >= 0 => *n as usize,
            _ => return Err(m.fail(at, "a record dtype without its size")),
        };
        let fields = s
            .get(4)
            .copied()
            .ok_or_else(|| m.fail(at, "a record dtype"))?;
        let base = record_descr(m, names, fields, elsize, at)?;
        return Ok(Special::DType {
            base,
            shape: Vec::new(),
        });
    }
    let unit = match get(8) {
        Some(Value::Tuple(meta)) => datetime_unit(m, meta),
        _ => None,
    };
    let descr = match unit {
        Some(u) if code.starts_with(['M', 'm']) => format!("{order}{code}[{u}]"),
        _ => format!("{order}{code}"),
    };
    Ok(Special::DType {
        base: python_repr_str(&descr),
        shape: Vec::new(),
    })
}

fn native_order() -> &'static str {
    if cfg!(target_endian = "little") {
        "<"
    } else {
        ">"
    }
}

/// A base dtype text with its own sub-array shape folded in: `('<f8', (5,))`.
fn nested(base: &str, shape: &[usize]) -> String {
    if shape.is_empty() {
        base.to_string()
    } else {
        format!("({base}, {})", shape_repr(shape))
    }
}

fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

pub(crate) fn ints(m: &Machine, id: NodeId) -> Option<Vec<usize>> {
    let items = match &m.values[id.0] {
        Value::Tuple(items) | Value::List(items) => items,
        Value::Int(n) => return usize::try_from(*n).ok().map(|n| vec![n]),
        _ => return None,
    };
    items
        .iter()
        .map(|&i| match m.values[i.0] {
            Value::Int(n) => usize::try_from(n).ok(),
            _ => None,
        })
        .collect()
}

/// `(None, (b'ns', 10, 1, 1))` → `10ns`; the generic unit gives none.
fn datetime_unit(m: &Machine, meta: &[NodeId]) -> Option<String> {
    let inner = tuple(m, *meta.get(1)?);
    let (Value::Bytes(unit), Value::Int(count)) =
        (&m.values[inner.first()?.0], &m.values[inner.get(1)?.0])
    else {
        return None;
    };
    let unit = String::from_utf8_lossy(unit).into_owned();
    match (unit.as_str(), *count) {
        ("generic", _) => None,
        (u, 1) => Some(u.to_string()),
        (u, n) => Some(format!("{n}{u}")),
    }
}

/// The list descr of a record: fields in `names` order at increasing offsets, with
/// `('', '|V<n>')` padding between them and up to `elsize`, as NumPy writes it.
fn record_descr(
    m: &Machine,
    names: &[NodeId],
    fields: NodeId,
    elsize: usize,
    at: usize,
) -> Result<String> {
    let Value::Dict(entries) = &m.values[fields.0] else {
        return Err(m.fail(at, "a record dtype's fields are not a dict"));
    };
    let mut parts = Vec::new();
    let mut end = 0usize;
    let mut chars = 0usize;
    for &name_id in names {
        let name = text(m, name_id).ok_or_else(|| m.fail(at, "a field name that is not str"))?;
        let (_, spec) = entries
            .iter()
            .find(|(k, _)| text(m, *k) == Some(name))
            .ok_or_else(|| m.fail(at, format!("field '{name}' is not in the fields dict")))?;
        let spec = tuple(m, *spec);
        let (Some(&dt), Some(Value::Int(offset))) =
            (spec.first(), spec.get(1).map(|&i| &m.values[i.0]))
        else {
            return Err(m.fail(at, format!("field '{name}' is not (dtype, offset)")));
        };
        let offset = usize::try_from(*offset).map_err(|_| m.fail(at, "a negative field offset"))?;
        let Some(Special::DType { base, shape }) = m.specials.get(&dt) else {
            return Err(m.fail(at, format!("field '{name}' has no dtype")));
        };
        if offset < end {
            return Err(m.fail(at, format!("field '{name}' overlaps the one before it")));
        }
        if offset > end {
            parts.push(format!("('', '|V{}')", offset - end));
        }
        let title = spec.get(2).and_then(|&t| text(m, t));
        let label = match title {
            Some(t) => format!("({}, {})", python_repr_str(t), python_repr_str(name)),
            None => python_repr_str(name),
        };
        let part = match shape.as_slice() {
            [] => format!("({label}, {base})"),
            s => format!("({label}, {base}, {})", shape_repr(s)),
        };
        chars += part.len();
        if chars > MAX_DESCR_CHARS {
            return Err(m.fail(
                at,
                format!("a dtype description over {MAX_DESCR_CHARS} characters"),
            ));
        }
        parts.push(part);
        let size = DType::parse(base).map(|d| d.itemsize()).unwrap_or(0);
        end = offset.saturating_add(size.saturating_mul(shape.iter().product()));
    }
    if elsize > end {
        parts.push(format!("('', '|V{}')", elsize - end));
    }
    Ok(format!("[{}]", parts.join(", ")))
}

/// An array header for bytes decoded from the pickle.
pub(crate) fn owned_array(
    m: &Machine,
    dtype: DType,
    shape: Vec<usize>,
    fortran: bool,
    raw: Vec<u8>,
    at: usize,
) -> Result<Value> {
    let header = Header::new((0, 0), dtype, fortran, shape, 0)?;
    if header.data_len() != raw.len() as u64 {
        return Err(m.fail(
            at,
            format!(
                "an array of {} bytes holds {}",
                header.data_len(),
                raw.len()
            ),
        ));
    }
    Ok(Value::Array(JoblibArray::owned(
        header,
        raw,
        "numpy.ndarray".into(),
    )))
}

fn bytes_of(m: &Machine, id: NodeId) -> Option<Vec<u8>> {
    match &m.values[id.0] {
        Value::Bytes(b) => Some(b.clone()),
        Value::Str(s) => s.chars().map(|c| u8::try_from(c as u32).ok()).collect(),
        _ => None,
    }
}

/// `_reconstruct`'s state: `(1, shape, dtype, is_fortran, raw)`; `None` for an object
/// array, which stays opaque.
fn reconstructed(m: &mut Machine, state: NodeId, at: usize) -> Result<Option<Value>> {
    let s = tuple(m, state).to_vec();
    let [_, shape, dtype, fortran, raw] = s.as_slice() else {
        return Err(m.fail(
            at,
            "an ndarray state that is not (version, shape, dtype, fortran, data)",
        ));
    };
    let shape = ints(m, *shape).ok_or_else(|| m.fail(at, "an ndarray shape"))?;
    if is_object_dtype(m, *dtype) {
        // Its items are Python objects, not NumPy data: it stays opaque.
        return Ok(None);
    }
    let dtype = dtype_of(m, *dtype, at)?;
    let fortran = matches!(m.values[fortran.0], Value::Bool(true) | Value::Int(1));
    let raw = bytes_of(m, *raw).ok_or_else(|| m.fail(at, "ndarray data that is not bytes"))?;
    owned_array(m, dtype, shape, fortran, raw, at).map(Some)
}

/// `_frombuffer(buffer, dtype, shape, order)` (NumPy's protocol-5 array pickle).
fn from_buffer(m: &Machine, args: &[NodeId], at: usize) -> Result<Value> {
    let [buf, dtype, shape, order] = args else {
        return Err(m.fail(
            at,
            "_frombuffer arguments that are not (buffer, dtype, shape, order)",
        ));
    };
    let raw = bytes_of(m, *buf).ok_or_else(|| m.fail(at, "a _frombuffer buffer"))?;
    let dtype = dtype_of(m, *dtype, at)?;
    let shape = ints(m, *shape).ok_or_else(|| m.fail(at, "a _frombuffer shape"))?;
    let fortran = text(m, *order) == Some("F");
    owned_array(m, dtype, shape, fortran, raw, at)
}

/// `scalar(dtype, bytes)`: a NumPy scalar, as a 0-d array.
fn scalar(m: &Machine, args: &[NodeId], at: usize) -> Result<Value> {
    let [dtype, raw] = args else {
        return Err(m.fail(at, "scalar arguments that are not (dtype, bytes)"));
    };
    let dtype = dtype_of(m, *dtype, at)?;
    let raw = bytes_of(m, *raw).ok_or_else(|| m.fail(at, "a scalar's bytes"))?;
    owned_array(m, dtype, Vec::new(), false, raw, at)
}

/// `_codecs.encode(text, 'latin1')`: how protocol 2 pickles bytes.
fn encode(m: &Machine, args: &[NodeId], at: usize) -> Result<Value> {
    let [text_id, ..] = args else {
        return Err(m.fail(at, "_codecs.encode without its text"));
    };
    let raw = bytes_of(m, *text_id).ok_or_else(|| m.fail(at, "text that is not latin-1"))?;
    Ok(Value::Bytes(raw))
}

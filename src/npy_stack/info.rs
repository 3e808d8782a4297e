//! The `info` pickle of an npy-stack: `{'chunks': ((4, 4, 2), (3,)), 'dtype':
//! dtype('float64'), 'axis': 0}` as Python's `pickle.dump` writes it (protocol 4).

use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::DType;
use crate::joblib::{Node, Ops, Value};

/// What `info` says.
#[derive(Debug)]
pub(super) struct StackInfo {
    /// The logical array's shape.
    pub(super) shape: Vec<usize>,
    pub(super) axis: usize,
    /// The blocks' lengths along `axis`; at least one.
    pub(super) block_lens: Vec<usize>,
    pub(super) dtype: DType,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::from(ErrorKind::BadStack {
        reason: reason.into(),
    })
}

impl StackInfo {
    /// The pickle Dask writes for this stack.
    pub(super) fn to_pickle(&self) -> Vec<u8> {
        let mut ops = Ops::default();
        ops.op(0x80).op(4).op(b'}').op(b'(');
        ops.str("chunks").op(b'(');
        for (d, &n) in self.shape.iter().enumerate() {
            if d == self.axis {
                ops.tuple_of_ints(&self.block_lens);
            } else {
                ops.tuple_of_ints(&[n]);
            }
        }
        ops.op(b't');
        ops.str("dtype").dtype(&self.dtype.descr());
        ops.str("axis").int(self.axis as i64);
        ops.op(b'u').op(b'.');
        ops.0
    }

    /// What the pickle `bytes` says, checked: errors carry no path.
    pub(super) fn from_pickle(bytes: &[u8]) -> Result<StackInfo> {
        let dump = crate::joblib::from_bytes(bytes.to_vec())?;
        let root = dump.root();
        if !matches!(root.value(), Value::Dict(_)) {
            return Err(bad(format!(
                "info should be a dict, found a {}",
                root.value().kind_name()
            )));
        }
        let entry = |key: &str| {
            root.get(key)
                .map_err(|_| bad(format!("info has no '{key}' (keys: {:?})", root.keys())))
        };
        let chunks = entry("chunks")?;
        let axis = entry("axis")?;
        let dtype = entry("dtype")?;

        let chunks = match chunks.value() {
            Value::Tuple(_) | Value::List(_) => chunks.items(),
            other => {
                return Err(bad(format!(
                    "info's chunks should be a tuple, found a {}",
                    other.kind_name()
                )));
            }
        };
        let mut lens = Vec::with_capacity(chunks.len());
        for (d, dim) in chunks.iter().enumerate() {
            let items = match dim.value() {
                Value::Tuple(_) | Value::List(_) => dim.items(),
                other => {
                    return Err(bad(format!(
                        "info's chunks[{d}] should be a tuple of lengths, found a {}",
                        other.kind_name()
                    )));
                }
            };
            let dim_lens: Option<Vec<usize>> = items.iter().map(|n| length(n.value())).collect();
            let dim_lens = dim_lens.ok_or_else(|| {
                bad(format!(
                    "info's chunks[{d}] should hold non-negative ints, found {:?}",
                    items.iter().map(|n| n.value()).collect::<Vec<_>>()
                ))
            })?;
            lens.push(dim_lens);
        }
        if lens.is_empty() {
            return Err(bad(
                "info's chunks are empty: a 0-d array cannot be stacked",
            ));
        }
        let axis = length(axis.value())
            .filter(|&a| a < lens.len())
            .ok_or_else(|| {
                bad(format!(
                    "info's axis should be an axis of the {}-d array, found {:?}",
                    lens.len(),
                    axis.value()
                ))
            })?;
        let mut shape = Vec::with_capacity(lens.len());
        for (d, dim_lens) in lens.iter().enumerate() {
            if d != axis && dim_lens.len() != 1 {
                return Err(bad(format!(
                    "info's chunks[{d}] should be one length (the blocks are stacked along axis {axis}), found {dim_lens:?}"
                )));
            }
            if dim_lens.is_empty() {
                return Err(bad(format!("info's chunks[{d}] names no block")));
            }
            let total = dim_lens
                .iter()
                .try_fold(0usize, |t, &n| t.checked_add(n))
                .ok_or_else(|| bad(format!("info's chunks[{d}] add up past the address space")))?;
            shape.push(total);
        }
        let block_lens = lens.swap_remove(axis);
        Ok(StackInfo {
            shape,
            axis,
            block_lens,
            dtype: dtype_of(dtype)?,
        })
    }
}

/// `value` as a non-negative int.
fn length(value: &Value) -> Option<usize> {
    match value {
        Value::Int(n) => usize::try_from(*n).ok(),
        _ => None,
    }
}

/// The dtype of a pickled `numpy.dtype(code, False, True)` whose state's second item
/// is the byte order: `'<'`, `'>'`, `'|'` (not applicable) or `'='` (native).
fn dtype_of(node: Node<'_>) -> Result<DType> {
    let not_a_dtype = || {
        bad(format!(
            "info's dtype should be a numpy.dtype, found {:?}",
            node.value()
        ))
    };
    let Value::Object { args, state, .. } = node.value() else {
        return Err(not_a_dtype());
    };
    if node.class_name() != Some(("numpy", "dtype")) {
        return Err(not_a_dtype());
    }
    let dump_node = |id| node_at(node, id);
    let code = args
        .first()
        .and_then(|&id| dump_node(id).as_str())
        .ok_or_else(not_a_dtype)?;
    let order = state
        .and_then(|id| dump_node(id).items().get(1).and_then(|o| o.as_str()))
        .unwrap_or("|");
    let order = match order {
        "=" if cfg!(target_endian = "little") => "<",
        "=" => ">",
        o => o,
    };
    DType::parse(&format!("{order}{code}")).map_err(|e| {
        bad(format!(
            "info's dtype '{order}{code}' is not one npmap reads: {}",
            e.kind()
        ))
    })
}

fn node_at<'d>(node: Node<'d>, id: crate::joblib::NodeId) -> Node<'d> {
    node.dump.node(id)
}

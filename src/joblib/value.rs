//! The objects of a dump: an arena of [`Value`]s that refer to each other by
//! [`NodeId`] (as pickle's memo does), and [`Node`], a value with the dump it
//! belongs to, for navigation.

use super::Dump;
use super::array::JoblibArray;
use crate::error::{Error, ErrorKind, Result};

/// Where a value lives in its [`Dump`]; values that the pickle shares (through its
/// memo) have one id, so a dump costs memory linear in its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId(pub(crate) usize);

/// One value of a dump. Containers hold the ids of their items; [`Node`] resolves
/// them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits in 64 bits.
    Int(i64),
    /// A larger `int`: its little-endian two's-complement bytes, as pickle stores them.
    BigInt(Vec<u8>),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// `bytes` or `bytearray` (and protocol-2 `str` of Python 2).
    Bytes(Vec<u8>),
    /// A `list`.
    List(Vec<NodeId>),
    /// A `tuple`.
    Tuple(Vec<NodeId>),
    /// A `set` or `frozenset`.
    Set(Vec<NodeId>),
    /// A `dict` (or `collections.OrderedDict`), in insertion order.
    Dict(Vec<(NodeId, NodeId)>),
    /// A NumPy array (or NumPy scalar, as a 0-d array).
    Array(JoblibArray),
    /// A reference to a class or function (`module.name`), never resolved.
    Global {
        /// The module, e.g. `sklearn.linear_model._base`.
        module: String,
        /// The name, e.g. `LinearRegression`.
        name: String,
    },
    /// An instance of a class that is not on the allow-list: kept as the pickle
    /// describes it, never constructed.
    Object {
        /// The class (or the callable that made it).
        class: NodeId,
        /// The arguments it was called with.
        args: Vec<NodeId>,
        /// The state `BUILD` gave it (`None` when there was none): for most classes a
        /// dict of attributes.
        state: Option<NodeId>,
        /// Items appended (`APPEND`) or set (`SETITEM`) on it, as for list and dict
        /// subclasses.
        items: Vec<NodeId>,
    },
}

/// A value of a [`Dump`], for navigation: `dump.get("model")?.attr("coef_")?.array()?`.
#[derive(Clone, Copy)]
pub struct Node<'d> {
    pub(crate) dump: &'d Dump,
    pub(crate) id: NodeId,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Node").field(self.value()).finish()
    }
}

impl<'d> Node<'d> {
    /// The value.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04K\x07.").unwrap(); // joblib.dump(7, path)
    /// let d = npmap::joblib::read(&path)?;
    /// assert_eq!(d.root().value(), &npmap::joblib::Value::Int(7));
    /// # Ok(()) }
    /// ```
    pub fn value(&self) -> &'d Value {
        self.dump.value(self.id)
    }

    /// Its id in the dump.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04K\x07.").unwrap();
    /// let d = npmap::joblib::read(&path)?;
    /// assert_eq!(d.node(d.root().id()).value(), d.root().value());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> NodeId {
        self.id
    }

    fn at(&self, id: NodeId) -> Node<'d> {
        Node {
            dump: self.dump,
            id,
        }
    }

    /// The items of a list, tuple or set (empty for other values).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04K\x01K\x02\x86.").unwrap(); // (1, 2)
    /// let d = npmap::joblib::read(&path)?;
    /// let items: Vec<_> = d.root().items().iter().map(|n| n.value().clone()).collect();
    /// assert_eq!(items, [npmap::joblib::Value::Int(1), npmap::joblib::Value::Int(2)]);
    /// # Ok(()) }
    /// ```
    pub fn items(&self) -> Vec<Node<'d>> {
        match self.value() {
            Value::List(v) | Value::Tuple(v) | Value::Set(v) => {
                v.iter().map(|&id| self.at(id)).collect()
            }
            Value::Object { items, .. } => items.iter().map(|&id| self.at(id)).collect(),
            _ => Vec::new(),
        }
    }

    /// The (key, value) entries of a dict (empty for other values).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04}\x8c\x01a\x94K\x01s.").unwrap(); // {'a': 1}
    /// let d = npmap::joblib::read(&path)?;
    /// let (k, v) = d.root().entries()[0];
    /// assert_eq!((k.as_str(), v.value()), (Some("a"), &npmap::joblib::Value::Int(1)));
    /// # Ok(()) }
    /// ```
    pub fn entries(&self) -> Vec<(Node<'d>, Node<'d>)> {
        match self.value() {
            Value::Dict(v) => v.iter().map(|&(k, v)| (self.at(k), self.at(v))).collect(),
            _ => Vec::new(),
        }
    }

    /// The text of a `str` value.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04\x8c\x02hi.").unwrap(); // 'hi'
    /// assert_eq!(npmap::joblib::read(&path)?.root().as_str(), Some("hi"));
    /// # Ok(()) }
    /// ```
    pub fn as_str(&self) -> Option<&'d str> {
        match self.value() {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The string keys of a dict, or the attribute names of an object whose state
    /// is a dict.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04}\x8c\x01a\x94K\x01s.").unwrap(); // {'a': 1}
    /// assert_eq!(npmap::joblib::read(&path)?.root().keys(), ["a"]);
    /// # Ok(()) }
    /// ```
    pub fn keys(&self) -> Vec<&'d str> {
        let dict = match self.value() {
            Value::Object { state: Some(s), .. } => self.at(*s),
            _ => *self,
        };
        dict.entries()
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .collect()
    }

    /// The value under the string key `key` of a dict.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04}\x8c\x01a\x94K\x01s.").unwrap(); // {'a': 1}
    /// let d = npmap::joblib::read(&path)?;
    /// assert_eq!(d.root().get("a")?.value(), &npmap::joblib::Value::Int(1));
    /// assert!(d.root().get("b").is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyNotFound`] naming the keys there are, when this is not a dict or
    /// has no such key.
    pub fn get(&self, key: &str) -> Result<Node<'d>> {
        self.entries()
            .into_iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
            .ok_or_else(|| self.not_found(key))
    }

    /// The attribute `name` of an object (a key of its state dict), or the key `name`
    /// of a dict.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// // An instance of a class `m.C` with `c.w = 2`, as pickle writes it.
    /// # std::fs::write(&path, b"\x80\x04\x8c\x01m\x8c\x01C\x93)\x81}\x8c\x01w\x94K\x02sb.").unwrap();
    /// let d = npmap::joblib::read(&path)?;
    /// assert_eq!(d.root().class_name(), Some(("m", "C")));
    /// assert_eq!(d.root().attr("w")?.value(), &npmap::joblib::Value::Int(2));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyNotFound`] naming the attributes there are.
    pub fn attr(&self, name: &str) -> Result<Node<'d>> {
        match self.value() {
            Value::List(items) | Value::Tuple(items) => name
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .map(|&id| self.at(id))
                .ok_or_else(|| self.not_found(name)),
            // The state is looked into one level only (a state that is itself an
            // object is not followed), so a chain of objects costs no recursion.
            Value::Object { state: Some(s), .. } => match self.at(*s).value() {
                Value::Object { .. } => Err(self.not_found(name)),
                _ => self.at(*s).attr(name).map_err(|_| self.not_found(name)),
            },
            _ => self.get(name),
        }
    }

    /// Follows a dotted path of keys and attributes: `"model.coef_"`. A key that
    /// itself contains a dot is found first.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04}\x8c\x01a}\x8c\x01b\x94K\x03ss.").unwrap(); // {'a': {'b': 3}}
    /// let d = npmap::joblib::read(&path)?;
    /// assert_eq!(d.root().path("a.b")?.value(), &npmap::joblib::Value::Int(3));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyNotFound`] at the first step that is not there.
    pub fn path(&self, dotted: &str) -> Result<Node<'d>> {
        if dotted.is_empty() {
            return Ok(*self);
        }
        if let Ok(n) = self.attr(dotted) {
            return Ok(n);
        }
        let mut split = dotted
            .match_indices('.')
            .map(|(i, _)| i)
            .collect::<Vec<_>>();
        split.reverse();
        for at in split {
            if let Ok(n) = self.attr(&dotted[..at])
                && let Ok(found) = n.path(&dotted[at + 1..])
            {
                return Ok(found);
            }
        }
        Err(self.not_found(dotted))
    }

    /// `(module, name)` of an object's class, or of a global.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04\x8c\x01m\x8c\x01C\x93.").unwrap(); // the class m.C
    /// assert_eq!(npmap::joblib::read(&path)?.root().class_name(), Some(("m", "C")));
    /// # Ok(()) }
    /// ```
    pub fn class_name(&self) -> Option<(&'d str, &'d str)> {
        match self.value() {
            Value::Global { module, name } => Some((module, name)),
            Value::Object { class, .. } => self.at(*class).class_name(),
            _ => None,
        }
    }

    /// The array this value is.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.joblib");
    /// # std::fs::write(&path, b"\x80\x04K\x07.").unwrap();
    /// let d = npmap::joblib::read(&path)?;
    /// assert!(d.root().array().is_err()); // 7 is not an array
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotAnArray`] naming what the value is.
    pub fn array(&self) -> Result<&'d JoblibArray> {
        self.value().array().map_err(|e| self.dump.label(e))
    }

    fn not_found(&self, key: &str) -> Error {
        self.dump.label(Error::from(ErrorKind::KeyNotFound {
            key: key.to_string(),
            available: self.keys().iter().map(|k| k.to_string()).collect(),
        }))
    }
}

impl Value {
    /// The array this value is.
    ///
    /// ```
    /// assert!(npmap::joblib::Value::None.array().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotAnArray`] naming what the value is.
    pub fn array(&self) -> Result<&JoblibArray> {
        match self {
            Value::Array(a) => Ok(a),
            other => Err(Error::from(ErrorKind::NotAnArray {
                found: other.kind_name().to_string(),
            })),
        }
    }

    /// What kind of value this is, as Python names it: `int`, `dict`, `ndarray`, ...
    ///
    /// ```
    /// assert_eq!(npmap::joblib::Value::Float(1.5).kind_name(), "float");
    /// ```
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Set(_) => "set",
            Value::Dict(_) => "dict",
            Value::Array(_) => "ndarray",
            Value::Global { .. } => "class or function",
            Value::Object { .. } => "object",
        }
    }
}

//! The `.npy` header: magic string, format version, header length and the header dict,
//! read with a size cap and written exactly as `np.save` writes it.
#![forbid(unsafe_code)]

use std::io::Read;

use crate::error::{Error, ErrorKind, Result};
use crate::format::dtype::{DType, python_repr_shape};
use crate::format::literal::{self, Literal};

/// The six bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// NumPy's default cap on the header length (`max_header_size`).
pub const DEFAULT_MAX_HEADER_SIZE: usize = 10_000;

/// Data starts on a multiple of this many bytes in files NumPy writes.
pub const ARRAY_ALIGN: usize = 64;

/// Spare spaces NumPy leaves so the growth axis can reach this many digits in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The most dimensions NumPy supports.
pub const MAX_DIMS: usize = 64;

/// Limits applied while reading a header. Built with [`HeaderOptions::new`] (NumPy's
/// limits) and the setters, so that new options can be added without breaking code.
///
/// ```
/// use npmap::HeaderOptions;
/// let trusted = HeaderOptions::new().max_header_size(1 << 20).max_depth(256);
/// assert_eq!((trusted.max_header_size, trusted.max_depth), (1 << 20, 256));
/// assert_eq!(HeaderOptions::default().max_header_size, 10_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeaderOptions {
    /// The longest header accepted, in characters (NumPy's `max_header_size`, 10 000 by
    /// default). Large structured dtypes can need more; raise it for trusted files.
    pub max_header_size: usize,
    /// The deepest bracket nesting accepted in the header text (128 by default).
    pub max_depth: usize,
}

impl Default for HeaderOptions {
    fn default() -> Self {
        HeaderOptions {
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            max_depth: 128,
        }
    }
}

impl HeaderOptions {
    /// NumPy's limits: headers of at most 10 000 characters, nesting at most 128 deep.
    ///
    /// ```
    /// assert_eq!(npmap::HeaderOptions::new(), npmap::HeaderOptions::default());
    /// ```
    pub fn new() -> HeaderOptions {
        HeaderOptions::default()
    }

    /// Sets the longest header accepted, in characters.
    ///
    /// ```
    /// let options = npmap::HeaderOptions::new().max_header_size(100_000);
    /// assert_eq!(options.max_header_size, 100_000);
    /// ```
    pub fn max_header_size(mut self, characters: usize) -> HeaderOptions {
        self.max_header_size = characters;
        self
    }

    /// Sets the deepest bracket nesting accepted in the header text.
    ///
    /// ```
    /// let options = npmap::HeaderOptions::new().max_depth(16);
    /// assert_eq!(options.max_depth, 16);
    /// ```
    pub fn max_depth(mut self, depth: usize) -> HeaderOptions {
        self.max_depth = depth;
        self
    }
}

/// A parsed `.npy` header. Built only by the parser or by a writer, so its fields
/// are consistent: the shape's byte size fits in memory addresses.
///
/// Get one from [`read_npy_header`](crate::read_npy_header), [`NpyFile::header`](crate::NpyFile::header),
/// [`NpzReader::header`](crate::NpzReader::header) or [`Header::read_from`].
///
/// ```
/// # fn main() -> npmap::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("X.npy");
/// use npmap::{ByteOrder, DType};
/// npmap::save_npy(&path, &npmap::ndarray::Array2::<i32>::zeros((100, 3)))?;
/// let h = npmap::read_npy_header(&path)?;
/// assert_eq!(h.version, (1, 0));
/// assert_eq!(h.dtype, DType::Int { size: 4, order: ByteOrder::NATIVE });
/// assert_eq!((h.fortran_order, h.shape.clone()), (false, vec![100, 3]));
/// assert_eq!((h.data_offset, h.len(), h.data_len()), (128, 300, 1200));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// Format version: (1, 0), (2, 0) or (3, 0).
    pub version: (u8, u8),
    /// The element type.
    pub dtype: DType,
    /// True when the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The array shape.
    pub shape: Vec<usize>,
    /// Where the data starts in the file.
    pub data_offset: u64,
}

impl Header {
    /// Reads a header from the start of `reader`, leaving it positioned at the data.
    ///
    /// `path` names the source in errors; `file_len`, when known, lets truncation be
    /// reported before anything is read or allocated (and checks that the data is all
    /// there). Without it, only the header's bytes are read.
    ///
    /// ```
    /// use npmap::{ErrorKind, Header, HeaderOptions};
    /// let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    /// let dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }";
    /// bytes.extend(format!("{dict:<117}\n").as_bytes());
    /// bytes.extend([1, 0, 2, 0]);
    /// let h = Header::read_from(&mut bytes.as_slice(), None, &HeaderOptions::default()).unwrap();
    /// assert_eq!((h.shape.clone(), h.data_offset, h.dtype.descr()), (vec![2], 128, "<i2".to_string()));
    ///
    /// // With the length known, a file shorter than its data is refused at once.
    /// let len = Some(bytes.len() as u64 - 1);
    /// let e = Header::read_from(&mut bytes.as_slice(), len, &HeaderOptions::default());
    /// assert!(matches!(e.as_ref().map_err(|e| e.kind()), Err(ErrorKind::Truncated { what: "array data", expected: 4, found: 3, .. })));
    /// ```
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Io`] (`action` `"read header"`) when `reader` fails.
    /// - [`ErrorKind::BadMagic`] when the input does not start with `\x93NUMPY`.
    /// - [`ErrorKind::Truncated`] when the input ends inside the magic string, the header
    ///   length or the header, or (with `file_len`) before the data it declares.
    /// - [`ErrorKind::UnsupportedVersion`] for a format version other than 1.0, 2.0 or 3.0.
    /// - [`ErrorKind::HeaderTooLarge`] for a header longer than
    ///   [`HeaderOptions::max_header_size`].
    /// - [`ErrorKind::HeaderEncoding`] for a version 3.0 header that is not UTF-8.
    /// - [`ErrorKind::HeaderSyntax`] when the header is not a Python literal, and
    ///   [`ErrorKind::HeaderNesting`] when it nests deeper than [`HeaderOptions::max_depth`].
    /// - [`ErrorKind::HeaderKeys`] when it is not a dict of exactly `descr`, `fortran_order`
    ///   and `shape`; [`ErrorKind::BadShape`], [`ErrorKind::BadFortranOrder`] or
    ///   [`ErrorKind::BadDescr`] when one of those values is invalid.
    /// - [`ErrorKind::UnsupportedDType`] for dtypes npmap does not represent (object arrays,
    ///   long doubles).
    /// - [`ErrorKind::ShapeOverflow`] when the data's byte size does not fit in memory
    ///   addresses.
    pub fn read_from(
        reader: &mut impl Read,
        file_len: Option<u64>,
        options: &HeaderOptions,
    ) -> Result<Header> {
        let version = read_magic_and_version(reader)?;
        let length_bytes = if version == (1, 0) { 2 } else { 4 };
        let header_len = read_header_len(reader, length_bytes)?;
        let text_start = 8 + length_bytes as u64;
        let bytes_per_char = if version.0 == 3 { 4 } else { 1 };
        if header_len > (options.max_header_size as u64).saturating_mul(bytes_per_char) {
            return Err(Error::from(ErrorKind::HeaderTooLarge {
                found: header_len,
                limit: options.max_header_size,
            }));
        }
        if let Some(len) = file_len {
            let available = len.saturating_sub(text_start);
            if available < header_len {
                return Err(truncated("header", text_start, header_len, available));
            }
        }
        let raw = read_header_bytes(reader, header_len, text_start)?;
        let text = decode(&raw, version, text_start)?;
        let chars = text.chars().count();
        if chars > options.max_header_size {
            return Err(Error::from(ErrorKind::HeaderTooLarge {
                found: chars as u64,
                limit: options.max_header_size,
            }));
        }
        let header = Header::from_text(&text, version, text_start, options)?;
        if let Some(len) = file_len {
            header.check_file_len(len)?;
        }
        Ok(header)
    }

    /// [`ErrorKind::Truncated`] unless a file of `len` bytes holds the whole data.
    pub(crate) fn check_file_len(&self, len: u64) -> Result<()> {
        let available = len.saturating_sub(self.data_offset);
        if available < self.data_len() {
            return Err(truncated(
                "array data",
                self.data_offset,
                self.data_len(),
                available,
            ));
        }
        Ok(())
    }

    /// Interprets the header text (the dict) found at file offset `text_start`.
    fn from_text(
        text: &str,
        version: (u8, u8),
        text_start: u64,
        options: &HeaderOptions,
    ) -> Result<Header> {
        let latin1 = version.0 < 3;
        // Error positions are byte indices into `text`; in a latin-1 header each
        // character is one byte of the file.
        let to_file_offset = |mut e: literal::LiteralError| {
            if latin1 {
                e.pos = text[..e.pos].chars().count();
            }
            e.into_error(text_start)
        };
        let value = match literal::parse(text, options) {
            Ok(v) => v,
            // Files written by Python 2 may carry `3L`-style ints.
            Err(first) if latin1 => {
                literal::parse_dialect(text, options, true).map_err(|_| to_file_offset(first))?
            }
            Err(e) => return Err(to_file_offset(e)),
        };
        let Literal::Dict(entries) = value else {
            return Err(Error::from(ErrorKind::HeaderKeys {
                found: format!("not a dict: {}", excerpt(&value.to_string())),
            }));
        };
        let (descr, fortran, shape) = dict_entries(entries)?;
        let shape = parse_shape(&shape)?;
        let fortran_order = match &fortran {
            Literal::Bool(b) => *b,
            other => {
                return Err(Error::from(ErrorKind::BadFortranOrder {
                    found: excerpt(&other.to_string()),
                }));
            }
        };
        let dtype = DType::from_literal(&descr).map_err(|e| e.into_error())?;
        let encoded_len = if latin1 {
            text.chars().count()
        } else {
            text.len()
        };
        let data_offset = text_start + encoded_len as u64;
        Header::new(version, dtype, fortran_order, shape, data_offset)
    }

    /// Builds a header after checking that the data size fits in memory addresses.
    pub(crate) fn new(
        version: (u8, u8),
        dtype: DType,
        fortran_order: bool,
        shape: Vec<usize>,
        data_offset: u64,
    ) -> Result<Header> {
        let overflow = || {
            Error::from(ErrorKind::ShapeOverflow {
                shape: shape.iter().map(|&d| d as u64).collect(),
                itemsize: dtype.itemsize(),
            })
        };
        // As NumPy and ndarray do, the product of the non-zero dimensions times the
        // item size must fit in `isize`, even when another dimension is zero.
        let nonzero_bytes = shape
            .iter()
            .filter(|&&d| d != 0)
            .try_fold(dtype.itemsize().max(1), |acc, &d| acc.checked_mul(d))
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or_else(overflow)?;
        if let DType::SubArray { .. } = dtype {
            return Err(Error::from(ErrorKind::BadDescr {
                reason: "an array's dtype cannot be a sub-array type (NumPy cannot load \
                         it either); make the sub-array axes part of the shape"
                    .into(),
                found: dtype.descr(),
            }));
        }
        let bytes = if shape.contains(&0) { 0 } else { nonzero_bytes };
        if data_offset.checked_add(bytes as u64).is_none() {
            return Err(overflow());
        }
        Ok(Header {
            version,
            dtype,
            fortran_order,
            shape,
            data_offset,
        })
    }

    /// Number of elements (the product of the shape; 1 for a 0-d array).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// let mut bytes = Vec::new();
    /// npmap::write_npy_to(&mut bytes, &npmap::ndarray::Array3::<u8>::zeros((2, 3, 4)))?;
    /// let h = npmap::Header::read_from(&mut bytes.as_slice(), None, &Default::default())?;
    /// assert_eq!(h.len(), 24);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        // Checked when the header was built.
        self.shape.iter().product()
    }

    /// True when the array has no elements (some dimension is 0).
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// let mut bytes = Vec::new();
    /// npmap::write_npy_to(&mut bytes, &npmap::ndarray::Array2::<f32>::zeros((0, 5)))?;
    /// let h = npmap::Header::read_from(&mut bytes.as_slice(), None, &Default::default())?;
    /// assert!(h.is_empty());
    /// assert_eq!(h.shape, [0, 5]);
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of array data following the header: [`Header::len`] times the item size.
    ///
    /// ```
    /// # fn main() -> npmap::Result<()> {
    /// let mut bytes = Vec::new();
    /// npmap::write_npy_to(&mut bytes, &npmap::ndarray::Array2::<f64>::zeros((3, 4)))?;
    /// let h = npmap::Header::read_from(&mut bytes.as_slice(), None, &Default::default())?;
    /// assert_eq!(h.data_len(), 3 * 4 * 8);
    /// assert_eq!(h.data_offset + h.data_len(), bytes.len() as u64);
    /// # Ok(()) }
    /// ```
    pub fn data_len(&self) -> u64 {
        (self.len() * self.dtype.itemsize()) as u64
    }

    /// The header dict as `np.save` writes it, growth-axis spaces included, without
    /// the padding that aligns the data.
    pub(crate) fn dict_text(dtype: &DType, fortran_order: bool, shape: &[usize]) -> String {
        let order = if fortran_order { "True" } else { "False" };
        let mut text = format!(
            "{{'descr': {}, 'fortran_order': {order}, 'shape': {}, }}",
            dtype.descr_literal(),
            python_repr_shape(shape)
        );
        let growth_dim = if fortran_order {
            shape.last()
        } else {
            shape.first()
        };
        if let Some(dim) = growth_dim {
            let digits = dim.to_string().len();
            text.extend(std::iter::repeat_n(
                ' ',
                GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
            ));
        }
        text
    }

    /// The header `np.save` would write for an array of this dtype, order and shape
    /// (version, data offset and all): what converting an array held elsewhere (a
    /// Zarr store, an npy-stack) to a `.npy` produces. Checks the size first.
    pub(crate) fn of_array(dtype: &DType, fortran_order: bool, shape: &[usize]) -> Result<Header> {
        Header::new((1, 0), dtype.clone(), fortran_order, shape.to_vec(), 0)?;
        let bytes = Header::encode(dtype, fortran_order, shape);
        Header::read_from(
            &mut bytes.as_slice(),
            None,
            &HeaderOptions::new().max_header_size(usize::MAX),
        )
    }

    /// The complete header bytes `np.save` writes for this dtype, order and shape:
    /// magic, the oldest version that can hold the text, the length, the dict, and
    /// spaces plus a newline so the data starts on a 64-byte boundary.
    pub(crate) fn encode(dtype: &DType, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
        let text = Header::dict_text(dtype, fortran_order, shape);
        let latin1: Option<Vec<u8>> = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect();
        match latin1 {
            Some(bytes) => wrap(&bytes, (1, 0)).unwrap_or_else(|| {
                wrap(&bytes, (2, 0)).unwrap_or_else(|| wrap_v2_unchecked(&bytes, (2, 0)))
            }),
            None => {
                let bytes = text.into_bytes();
                wrap(&bytes, (3, 0)).unwrap_or_else(|| wrap_v2_unchecked(&bytes, (3, 0)))
            }
        }
    }
}

impl Header {
    /// The header bytes for a new shape, exactly `data_offset` bytes long in the
    /// same format version, so they can overwrite the old header in place: what
    /// `np.save` would write when that has the same length (as it does when only the
    /// growth axis changed), otherwise the dict padded with spaces. `None` when the
    /// dict does not fit.
    pub(crate) fn encode_in_place(
        version: (u8, u8),
        dtype: &DType,
        fortran_order: bool,
        shape: &[usize],
        data_offset: u64,
    ) -> Option<Vec<u8>> {
        let standard = Header::encode(dtype, fortran_order, shape);
        if standard.len() as u64 == data_offset && (standard[6], standard[7]) == version {
            return Some(standard);
        }
        let length_bytes = if version.0 == 1 { 2 } else { 4 };
        let prefix_len = MAGIC.len() + 2 + length_bytes;
        let text = Header::dict_text(dtype, fortran_order, shape);
        let text = text.trim_end();
        let bytes: Vec<u8> = if version.0 == 3 {
            text.as_bytes().to_vec()
        } else {
            text.chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect::<Option<_>>()?
        };
        let total = usize::try_from(data_offset).ok()?;
        let header_len = total.checked_sub(prefix_len)?;
        let pad = header_len.checked_sub(bytes.len() + 1)?;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(MAGIC);
        out.extend([version.0, version.1]);
        if version.0 == 1 {
            out.extend(u16::try_from(header_len).ok()?.to_le_bytes());
        } else {
            out.extend(u32::try_from(header_len).ok()?.to_le_bytes());
        }
        out.extend(bytes);
        out.extend(std::iter::repeat_n(b' ', pad));
        out.push(b'\n');
        Some(out)
    }
}

/// Magic, version, length and padded text, or `None` when the length does not fit.
fn wrap(text: &[u8], version: (u8, u8)) -> Option<Vec<u8>> {
    let length_bytes = if version.0 == 1 { 2 } else { 4 };
    let hlen = text.len() + 1;
    let pad = ARRAY_ALIGN - (MAGIC.len() + 2 + length_bytes + hlen) % ARRAY_ALIGN;
    let total_len = hlen + pad;
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + length_bytes + total_len);
    out.extend_from_slice(MAGIC);
    out.extend([version.0, version.1]);
    if version.0 == 1 {
        out.extend(u16::try_from(total_len).ok()?.to_le_bytes());
    } else {
        out.extend(u32::try_from(total_len).ok()?.to_le_bytes());
    }
    out.extend_from_slice(text);
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    Some(out)
}

/// A header over 4 GiB cannot be written in any version; NumPy fails the same way.
/// The text is capped so the result is still a well-formed (if unreadable) prefix.
fn wrap_v2_unchecked(text: &[u8], version: (u8, u8)) -> Vec<u8> {
    wrap(&text[..text.len().min(u32::MAX as usize - 128)], version).unwrap_or_default()
}

/// Converts the `shape` value: a tuple of non-negative ints that fit in `usize`.
fn parse_shape(value: &Literal) -> Result<Vec<usize>> {
    let bad = || {
        Error::from(ErrorKind::BadShape {
            found: excerpt(&value.to_string()),
        })
    };
    let Literal::Tuple(items) = value else {
        return Err(bad());
    };
    if items.len() > MAX_DIMS {
        return Err(Error::from(ErrorKind::BadShape {
            found: format!(
                "{} dimensions (at most {MAX_DIMS} are supported)",
                items.len()
            ),
        }));
    }
    items
        .iter()
        .map(|item| match item {
            Literal::Int(v) => usize::try_from(*v).map_err(|_| bad()),
            _ => Err(bad()),
        })
        .collect()
}

fn decode(raw: &[u8], version: (u8, u8), text_start: u64) -> Result<String> {
    if version.0 == 3 {
        std::str::from_utf8(raw).map(str::to_owned).map_err(|e| {
            Error::from(ErrorKind::HeaderEncoding {
                encoding: "utf-8",
                offset: text_start + e.valid_up_to() as u64,
            })
        })
    } else {
        Ok(raw.iter().map(|&b| char::from(b)).collect())
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    fill(reader, buf).map_err(|e| Error::from(ErrorKind::io("read header", e)))
}

/// [`read_up_to`] with the reader's own error: reads until `buf` is full or the input
/// ends (retrying interrupted reads); returns the bytes read.
pub(crate) fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub(crate) fn truncated(what: &'static str, offset: u64, expected: u64, found: u64) -> Error {
    Error::from(ErrorKind::Truncated {
        what,
        offset,
        expected,
        found,
    })
}

/// At most 200 characters of a value, for messages.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(200).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}

/// The `descr`, `fortran_order` and `shape` values of the header dict; any other key,
/// or a missing one, is an error listing the keys found. As in a Python dict literal,
/// a repeated key keeps its last value.
fn dict_entries(entries: Vec<(Literal, Literal)>) -> Result<(Literal, Literal, Literal)> {
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    let mut others = Vec::new();
    for (key, value) in entries {
        match &key {
            Literal::Str(k) if k == "descr" => descr = Some(value),
            Literal::Str(k) if k == "fortran_order" => fortran = Some(value),
            Literal::Str(k) if k == "shape" => shape = Some(value),
            _ => others.push(key.to_string()),
        }
    }
    if others.is_empty()
        && let (Some(d), Some(f), Some(s)) = (&descr, &fortran, &shape)
    {
        return Ok((d.clone(), f.clone(), s.clone()));
    }
    let mut keys: Vec<String> = [
        ("'descr'", &descr),
        ("'fortran_order'", &fortran),
        ("'shape'", &shape),
    ]
    .iter()
    .filter(|(_, v)| v.is_some())
    .map(|(k, _)| k.to_string())
    .chain(others)
    .collect();
    keys.sort();
    Err(Error::from(ErrorKind::HeaderKeys {
        found: format!("keys [{}]", keys.join(", ")),
    }))
}

/// Reads the magic string and the format version (1.0, 2.0 or 3.0).
fn read_magic_and_version(reader: &mut impl Read) -> Result<(u8, u8)> {
    let mut lead = [0u8; 8];
    let got = read_up_to(reader, &mut lead)?;
    if lead[..got.min(6)] != MAGIC[..got.min(6)] {
        return Err(Error::from(ErrorKind::BadMagic {
            found: lead[..got.min(6)].to_vec(),
        }));
    }
    if got < 8 {
        return Err(truncated("magic string", 0, 8, got as u64));
    }
    match (lead[6], lead[7]) {
        version @ ((1, 0) | (2, 0) | (3, 0)) => Ok(version),
        (major, minor) => Err(Error::from(ErrorKind::UnsupportedVersion { major, minor })),
    }
}

/// Reads the little-endian header length field (2 bytes in version 1.0, else 4).
fn read_header_len(reader: &mut impl Read, length_bytes: usize) -> Result<u64> {
    let mut length_field = [0u8; 4];
    let got = read_up_to(reader, &mut length_field[..length_bytes])?;
    if got < length_bytes {
        let (expected, found) = (length_bytes as u64, got as u64);
        return Err(truncated("header length", 8, expected, found));
    }
    Ok(u64::from(u32::from_le_bytes(length_field)))
}

/// Reads the `header_len` bytes of header text that start at `text_start`.
fn read_header_bytes(reader: &mut impl Read, header_len: u64, text_start: u64) -> Result<Vec<u8>> {
    // Without a file length (a stream), `header_len` is only a claim, which a raised
    // cap lets reach 4 GiB: reserve a bounded amount and let the buffer grow with
    // the bytes that actually arrive, as the data reader does.
    const INITIAL_HEADER_CAPACITY: u64 = 64 << 10;
    let mut raw = Vec::with_capacity(header_len.min(INITIAL_HEADER_CAPACITY) as usize);
    reader
        .take(header_len)
        .read_to_end(&mut raw)
        .map_err(|e| Error::from(ErrorKind::io("read header", e)))?;
    if (raw.len() as u64) < header_len {
        let found = raw.len() as u64;
        return Err(truncated("header", text_start, header_len, found));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Header> {
        Header::read_from(
            &mut &bytes[..],
            Some(bytes.len() as u64),
            &HeaderOptions::default(),
        )
    }

    fn file(version: (u8, u8), dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([version.0, version.1]);
        if version.0 == 1 {
            out.extend((dict.len() as u16).to_le_bytes());
        } else {
            out.extend((dict.len() as u32).to_le_bytes());
        }
        out.extend(dict.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn encode_matches_numpy_layout() {
        let mut bytes = Header::encode(&"<f4".parse_dtype(), false, &[3, 4]);
        assert_eq!(bytes.len() % 64, 0);
        let text = std::str::from_utf8(&bytes[10..]).unwrap();
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"));
        assert!(text.ends_with(" \n"));
        bytes.extend([0; 48]);
        let h = read(&bytes).unwrap();
        assert_eq!(
            (h.version, h.shape, h.data_offset),
            ((1, 0), vec![3, 4], 128)
        );
    }

    #[test]
    fn encode_picks_version_three_for_non_latin1_names() {
        let d = DType::parse("[('π', '<f8')]").unwrap();
        let bytes = Header::encode(&d, false, &[1]);
        assert_eq!(&bytes[6..8], &[3, 0]);
        let d = DType::parse("[('é', '<f8')]").unwrap();
        assert_eq!(&Header::encode(&d, false, &[1])[6..8], &[1, 0]);
    }

    #[test]
    fn reads_unpadded_double_quoted_headers_with_trailing_data() {
        let bytes = file(
            (1, 0),
            "{\"shape\": (2,), \"descr\": \"<u2\", \"fortran_order\": True}",
            &[1, 0, 2, 0, 99],
        );
        let h = read(&bytes).unwrap();
        assert_eq!(
            (h.shape.clone(), h.fortran_order, h.data_len()),
            (vec![2], true, 4)
        );
    }

    #[test]
    fn rejects_wrong_keys_shapes_and_orders() {
        let keys = file((1, 0), "{'descr': '<u2', 'shape': ()}", &[0, 0]);
        assert!(matches!(
            read(&keys).as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::HeaderKeys { .. })
        ));
        let shape = file(
            (1, 0),
            "{'descr': '<u2', 'fortran_order': False, 'shape': (-1,)}",
            &[],
        );
        assert!(matches!(
            read(&shape).as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::BadShape { .. })
        ));
        let order = file(
            (1, 0),
            "{'descr': '<u2', 'fortran_order': 0, 'shape': ()}",
            &[0, 0],
        );
        assert!(matches!(
            read(&order).as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::BadFortranOrder { .. })
        ));
    }

    #[test]
    fn truncation_is_reported_before_reading() {
        let bytes = file(
            (2, 0),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,)}",
            &[0; 8],
        );
        match read(&bytes).map_err(Error::into_kind) {
            Err(ErrorKind::Truncated {
                what,
                expected,
                found,
                ..
            }) => {
                assert_eq!((what, expected, found), ("array data", 8 << 40, 8));
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        let mut huge = MAGIC.to_vec();
        huge.extend([2, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            read(&huge).as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::HeaderTooLarge {
                found: 0xffff_ffff,
                ..
            })
        ));
    }

    #[test]
    fn overflowing_shapes_are_refused() {
        let bytes = file(
            (1, 0),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
            &[],
        );
        assert!(matches!(
            read(&bytes).as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::ShapeOverflow { .. })
        ));
    }

    trait ParseDType {
        fn parse_dtype(&self) -> DType;
    }
    impl ParseDType for str {
        fn parse_dtype(&self) -> DType {
            DType::parse(self).unwrap()
        }
    }
}

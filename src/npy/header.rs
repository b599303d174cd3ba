//! The header of a `.npy` file: the magic string that opens it, and the
//! Python dictionary literal that gives its dtype, order and shape. Knows
//! nothing of the body, of files or of writing.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::MAX_RANK;

/// The first six bytes of every `.npy` file.
pub(super) const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Deepest nesting of tuples and lists accepted in a header; real headers
/// nest at most a few levels (structured dtypes), so this only stops
/// hostile input from exhausting the stack.
const MAX_NESTING: usize = 32;

/// The three things a `.npy` header says.
#[derive(Debug)]
pub(super) struct Header {
    pub(super) descr: Descr,
    pub(super) fortran_order: bool,
    pub(super) shape: Vec<usize>,
}

/// Byte order of multi-byte components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    Little,
    Big,
}

/// What a `descr` string describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Descr {
    /// A fixed-size TensorFlow dtype.
    Fixed(DType, Order),
    /// `|S<n>`: `n` bytes per element, trailing NULs are padding.
    Bytes(usize),
    /// `<U<n>`: `n` UCS-4 code points per element, trailing NULs are padding.
    Unicode(usize, Order),
}

impl Descr {
    pub(super) fn item_size(self) -> Option<usize> {
        match self {
            Descr::Fixed(dtype, _) => dtype.size(),
            Descr::Bytes(n) => Some(n),
            Descr::Unicode(n, _) => n.checked_mul(4),
        }
    }
}

pub(super) fn parse_header(text: &str) -> Result<Header> {
    let mut parser = Parser::new(text);
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < parser.src.len() {
        return Err(parser.error("unexpected text after the dictionary"));
    }
    let entries = match value {
        Value::Dict(entries) => entries,
        other => {
            return Err(Error::invalid_input(format!(
                ".npy header is {}, not a dictionary",
                other.kind()
            )))
        }
    };

    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    for (key, value) in entries {
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran_order,
            "shape" => &mut shape,
            other => {
                return Err(Error::invalid_input(format!(
                    ".npy header has unexpected key {other:?} (expected 'descr', 'fortran_order', 'shape')"
                )))
            }
        };
        if slot.replace(value).is_some() {
            return Err(Error::invalid_input(format!(
                ".npy header has the key {key:?} twice"
            )));
        }
    }
    let missing = |key: &str| Error::invalid_input(format!(".npy header has no {key:?} key"));
    let descr = match descr.ok_or_else(|| missing("descr"))? {
        Value::Str(s) => parse_descr(&s)?,
        Value::List => {
            return Err(Error::invalid_input(
                ".npy structured dtypes (a list 'descr') are not supported",
            ))
        }
        other => {
            return Err(Error::invalid_input(format!(
                ".npy 'descr' is {}, not a dtype string",
                other.kind()
            )))
        }
    };
    let fortran_order = match fortran_order.ok_or_else(|| missing("fortran_order"))? {
        Value::Bool(b) => b,
        other => {
            return Err(Error::invalid_input(format!(
                ".npy 'fortran_order' is {}, not True or False",
                other.kind()
            )))
        }
    };
    let dims = match shape.ok_or_else(|| missing("shape"))? {
        Value::Tuple(dims) => dims,
        other => {
            return Err(Error::invalid_input(format!(
                ".npy 'shape' is {}, not a tuple",
                other.kind()
            )))
        }
    };
    if dims.len() > MAX_RANK {
        return Err(Error::invalid_input(format!(
            ".npy shape has {} dimensions, more than the maximum of {MAX_RANK}",
            dims.len()
        )));
    }
    let shape = dims
        .into_iter()
        .map(|d| match d {
            Value::Int(i) => usize::try_from(i).map_err(|_| {
                Error::invalid_input(format!(".npy shape dimension {i} is out of range"))
            }),
            other => Err(Error::invalid_input(format!(
                ".npy shape dimension is {}, not an integer",
                other.kind()
            ))),
        })
        .collect::<Result<Vec<usize>>>()?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

fn parse_descr(descr: &str) -> Result<Descr> {
    let (order, rest) = if let Some(rest) = descr.strip_prefix('>') {
        (Order::Big, rest)
    } else if let Some(rest) = descr.strip_prefix(['<', '|', '=']) {
        (Order::Little, rest)
    } else {
        (Order::Little, descr)
    };
    let mut chars = rest.chars();
    let kind = chars.next();
    let size_text = chars.as_str();
    let size: Option<usize> = if size_text.bytes().all(|b| b.is_ascii_digit()) {
        size_text.parse().ok()
    } else {
        None
    };
    let unsupported = |why: &str| {
        Err(Error::invalid_input(format!(
            ".npy dtype {descr:?} is not supported: {why}"
        )))
    };
    let dtype = match (kind, size) {
        (Some('f'), Some(2)) => DType::F16,
        (Some('f'), Some(4)) => DType::F32,
        (Some('f'), Some(8)) => DType::F64,
        (Some('i'), Some(1)) => DType::I8,
        (Some('i'), Some(2)) => DType::I16,
        (Some('i'), Some(4)) => DType::I32,
        (Some('i'), Some(8)) => DType::I64,
        (Some('u'), Some(1)) => DType::U8,
        (Some('u'), Some(2)) => DType::U16,
        (Some('u'), Some(4)) => DType::U32,
        (Some('u'), Some(8)) => DType::U64,
        (Some('b'), Some(1)) => DType::Bool,
        (Some('c'), Some(8)) => DType::Complex64,
        (Some('c'), Some(16)) => DType::Complex128,
        (Some('S'), Some(n)) if n > 0 => return Ok(Descr::Bytes(n)),
        (Some('U'), Some(n)) if n > 0 => return Ok(Descr::Unicode(n, order)),
        (Some('S' | 'U'), Some(_)) => return unsupported("zero-width strings"),
        (Some('O'), _) => return unsupported("object arrays need pickle, which is not read"),
        (Some('V'), _) => {
            return unsupported(
                "void (raw bytes) dtype; bfloat16 arrays from ml_dtypes are saved this way, \
                 but the file does not record what the bytes mean",
            )
        }
        (Some('M' | 'm'), _) => return unsupported("datetime and timedelta have no tensor dtype"),
        (Some('f' | 'i' | 'u' | 'b' | 'c'), Some(_)) => {
            return unsupported("no tensor dtype has this width")
        }
        _ => return unsupported("unknown type descriptor"),
    };
    Ok(Descr::Fixed(dtype, order))
}

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug)]
pub(super) enum Value {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    /// Only structured dtypes use lists; their items are not needed.
    List,
    Dict(Vec<(String, Value)>),
}

impl Value {
    /// What kind of literal this is, for error messages.
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a bool",
            Value::None => "None",
            Value::Tuple(_) => "a tuple",
            Value::List => "a list",
            Value::Dict(_) => "a dictionary",
        }
    }
}

/// A recursive-descent parser for the Python dictionary literal in a `.npy`
/// header: strings in either quote, integers, `True`/`False`/`None`,
/// tuples, lists and dictionaries with string keys.
pub(super) struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Parser {
            src: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn error(&self, what: &str) -> Error {
        Error::invalid_input(format!(".npy header: {what} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')) {
            self.pos += 1;
        }
    }

    /// Skips whitespace, then consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn value(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_NESTING {
            return Err(self.error("nesting too deep"));
        }
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let entries = self.sequence(b'}', |p| {
                    let key = match p.value(depth + 1)? {
                        Value::Str(key) => key,
                        _ => return Err(p.error("dictionary key is not a string")),
                    };
                    if !p.eat(b':') {
                        return Err(p.error("expected ':'"));
                    }
                    Ok((key, p.value(depth + 1)?))
                })?;
                Ok(Value::Dict(entries.0))
            }
            Some(b'[') => {
                self.pos += 1;
                self.sequence(b']', |p| p.value(depth + 1))?;
                Ok(Value::List)
            }
            Some(b'(') => {
                self.pos += 1;
                let (mut items, trailing_comma) = self.sequence(b')', |p| p.value(depth + 1))?;
                // `(x)` is just `x` in parentheses; only `(x,)` is a tuple.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.pop().unwrap_or(Value::None))
                } else {
                    Ok(Value::Tuple(items))
                }
            }
            Some(quote @ (b'\'' | b'"')) => self.string(quote).map(Value::Str),
            Some(b'-' | b'+' | b'0'..=b'9') => self.integer(),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'_') => {
                let start = self.pos;
                while matches!(
                    self.peek(),
                    Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_')
                ) {
                    self.pos += 1;
                }
                match self.text.get(start..self.pos) {
                    Some("True") => Ok(Value::Bool(true)),
                    Some("False") => Ok(Value::Bool(false)),
                    Some("None") => Ok(Value::None),
                    _ => {
                        self.pos = start;
                        Err(self.error("unknown name"))
                    }
                }
            }
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end")),
        }
    }

    /// Comma-separated items up to `close`, a trailing comma allowed.
    /// Returns the items and whether the last one was followed by a comma.
    fn sequence<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<(Vec<T>, bool)> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok((items, false));
            }
            items.push(item(self)?);
            if self.eat(b',') {
                if self.eat(close) {
                    return Ok((items, true));
                }
            } else if self.eat(close) {
                return Ok((items, false));
            } else {
                return Err(self.error("expected ',' or a closing bracket"));
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None | Some(b'\n') => {
                    self.pos = start;
                    return Err(self.error("unterminated string"));
                }
                Some(b) if b == quote => {
                    out.push_str(self.text.get(run..self.pos).unwrap_or_default());
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(self.text.get(run..self.pos).unwrap_or_default());
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some(b'\\') => '\\',
                        Some(b'\'') => '\'',
                        Some(b'"') => '"',
                        Some(b'n') => '\n',
                        Some(b't') => '\t',
                        Some(b'r') => '\r',
                        Some(b'0') => '\0',
                        // Python keeps unknown escapes as written.
                        _ => {
                            out.push('\\');
                            run = self.pos;
                            continue;
                        }
                    };
                    out.push(escaped);
                    self.pos += 1;
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn integer(&mut self) -> Result<Value> {
        let start = self.pos;
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        self.skip_whitespace();
        let digits_start = self.pos;
        let mut magnitude: i128 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(digit - b'0')))
                .ok_or_else(|| {
                    self.pos = start;
                    self.error("integer too large")
                })?;
            self.pos += 1;
        }
        if self.pos == digits_start {
            return Err(self.error("expected digits"));
        }
        // Headers written by Python 2 may carry a long-integer suffix.
        if matches!(self.peek(), Some(b'L' | b'l')) {
            self.pos += 1;
        }
        Ok(Value::Int(if negative { -magnitude } else { magnitude }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_strings_unescape_as_python_does() {
        let mut p = Parser::new(r#"'a\'b\"c\\d\ne\qf' "it's""#);
        let Value::Str(first) = p.value(0).unwrap() else {
            panic!()
        };
        assert_eq!(first, "a'b\"c\\d\ne\\qf");
        let Value::Str(second) = p.value(0).unwrap() else {
            panic!()
        };
        assert_eq!(second, "it's");
    }
}

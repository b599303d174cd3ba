//! The crate's one error type.
//!
//! An [`Error`] says *what* went wrong through its [`ErrorKind`] and *where*
//! through optional context: the file path, the byte offset of the record's
//! frame, and the record's index within the file. Lower layers (framing,
//! tensor decoding) build errors without context; the readers add it.
//!
//! Knows nothing of how errors arise: it parses nothing and does no I/O; it
//! carries what a caller needs to report an error or act on it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Shorthand for `std::result::Result<T, tfrec::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An I/O operation failed; the `std::io::Error` is the [`source`](std::error::Error::source).
    Io,
    /// The file ends inside a record: `needed` more bytes were required at the
    /// frame's offset but only `available` remain.
    TruncatedRecord {
        /// Bytes the frame needs from its offset on.
        needed: u64,
        /// Bytes left in the input from the frame's offset on.
        available: u64,
    },
    /// The masked CRC32C of the length field does not match.
    CorruptLength {
        /// The CRC stored in the file.
        stored: u32,
        /// The CRC computed over the length bytes.
        computed: u32,
    },
    /// The masked CRC32C of the payload does not match.
    CorruptData {
        /// The CRC stored in the file.
        stored: u32,
        /// The CRC computed over the payload.
        computed: u32,
    },
    /// A record's length exceeds the configured maximum.
    RecordTooLarge {
        /// The length read from the frame header.
        length: u64,
        /// The largest length accepted.
        limit: u64,
    },
    /// A payload is not a valid `TensorProto`, or describes an impossible tensor.
    InvalidTensor {
        /// Why the tensor was rejected.
        reason: String,
    },
    /// A `DataType` this crate does not handle (quantized, resource, variant,
    /// float8, int4, or unknown).
    UnsupportedDType {
        /// The `DataType` enum value as found on the wire.
        code: i32,
    },
    /// Input in another format (`.npy`, JSON) could not be understood.
    InvalidInput {
        /// What is wrong with it.
        reason: String,
    },
    /// Under [`CorruptionPolicy::Skip`](crate::read::CorruptionPolicy::Skip),
    /// more damaged stretches than the configured limit were skipped.
    TooManySkipped {
        /// The most skips allowed.
        limit: u64,
        /// What was wrong with the stretch that went over the limit.
        last: Box<ErrorKind>,
    },
    /// A payload is not a valid `tf.train.Example` or `SequenceExample`, or
    /// a feature does not hold what was asked of it.
    InvalidExample {
        /// Why the example or feature was rejected.
        reason: String,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io => f.write_str("I/O error"),
            ErrorKind::TruncatedRecord { needed, available } => write!(
                f,
                "truncated record: frame needs {needed} bytes, {available} remain"
            ),
            ErrorKind::CorruptLength { stored, computed } => write!(
                f,
                "corrupt length: stored crc {stored:#010x}, computed {computed:#010x}"
            ),
            ErrorKind::CorruptData { stored, computed } => write!(
                f,
                "corrupt data: stored crc {stored:#010x}, computed {computed:#010x}"
            ),
            ErrorKind::RecordTooLarge { length, limit } => {
                write!(f, "record too large: length {length} exceeds limit {limit}")
            }
            ErrorKind::InvalidTensor { reason } => write!(f, "invalid tensor: {reason}"),
            ErrorKind::UnsupportedDType { code } => {
                write!(f, "unsupported dtype: DataType enum value {code}")
            }
            ErrorKind::InvalidInput { reason } => write!(f, "invalid input: {reason}"),
            ErrorKind::TooManySkipped { limit, last } => write!(
                f,
                "too many damaged records: more than {limit} skipped; the last: {last}"
            ),
            ErrorKind::InvalidExample { reason } => write!(f, "invalid example: {reason}"),
        }
    }
}

impl ErrorKind {
    /// A short stable name for the kind, as printed by `tfrec verify`.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::TruncatedRecord { .. } => "truncated_record",
            ErrorKind::CorruptLength { .. } => "corrupt_length",
            ErrorKind::CorruptData { .. } => "corrupt_data",
            ErrorKind::RecordTooLarge { .. } => "record_too_large",
            ErrorKind::InvalidTensor { .. } => "invalid_tensor",
            ErrorKind::UnsupportedDType { .. } => "unsupported_dtype",
            ErrorKind::InvalidInput { .. } => "invalid_input",
            ErrorKind::TooManySkipped { .. } => "too_many_skipped",
            ErrorKind::InvalidExample { .. } => "invalid_example",
        }
    }

    /// True for damage to the record framing, which a reader under
    /// [`CorruptionPolicy::Skip`](crate::read::CorruptionPolicy::Skip) skips:
    /// a bad length or payload CRC, a length beyond the limit, or a frame
    /// cut short by the end of the input.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            ErrorKind::TruncatedRecord { .. }
                | ErrorKind::CorruptLength { .. }
                | ErrorKind::CorruptData { .. }
                | ErrorKind::RecordTooLarge { .. }
        )
    }
}

/// The error type of every fallible operation in this crate.
///
/// Boxed so that `Result<T>` stays one pointer wide on the success path.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    path: Option<PathBuf>,
    offset: Option<u64>,
    index: Option<u64>,
    source: Option<io::Error>,
}

impl Error {
    /// An error of `kind` with no context yet.
    pub fn new(kind: ErrorKind) -> Error {
        Error(Box::new(Inner {
            kind,
            path: None,
            offset: None,
            index: None,
            source: None,
        }))
    }

    pub(crate) fn invalid_tensor(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidTensor {
            reason: reason.into(),
        })
    }

    pub(crate) fn invalid_input(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput {
            reason: reason.into(),
        })
    }

    pub(crate) fn invalid_example(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidExample {
            reason: reason.into(),
        })
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The file the error happened in, when known.
    pub fn path(&self) -> Option<&Path> {
        self.0.path.as_deref()
    }

    /// Byte offset of the start of the offending record's frame, when known.
    pub fn offset(&self) -> Option<u64> {
        self.0.offset
    }

    /// Zero-based index of the offending record within its file, when known.
    pub fn record_index(&self) -> Option<u64> {
        self.0.index
    }

    /// The underlying I/O error, for [`ErrorKind::Io`].
    pub fn io_error(&self) -> Option<&io::Error> {
        self.0.source.as_ref()
    }

    /// Attaches a file path unless one is already set.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Error {
        if self.0.path.is_none() {
            self.0.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    /// Attaches a record position unless one is already set.
    pub fn at_record(mut self, offset: u64, index: u64) -> Error {
        if self.0.offset.is_none() {
            self.0.offset = Some(offset);
            self.0.index = Some(index);
        }
        self
    }

    /// Replaces the record position: for errors found in part of a file
    /// read on its own (a byte range handed to a
    /// [`SliceReader`](crate::read::SliceReader), say), whose positions count
    /// from the part's start.
    ///
    /// ```
    /// use tfrec::read::SliceReader;
    /// let damaged = [0u8; 20];
    /// let Some(Err(e)) = SliceReader::new(&damaged).next() else {
    ///     panic!("zeros are no frame");
    /// };
    /// let (offset, index) = (e.offset().unwrap_or(0), e.record_index().unwrap_or(0));
    /// let e = e.relocate(4096 + offset, 100 + index);
    /// assert_eq!((e.offset(), e.record_index()), (Some(4096), Some(100)));
    /// ```
    pub fn relocate(mut self, offset: u64, index: u64) -> Error {
        self.0.offset = Some(offset);
        self.0.index = Some(index);
        self
    }

    /// True when the error is a truncated last record (the input ends mid-frame).
    pub fn is_truncated(&self) -> bool {
        matches!(self.0.kind, ErrorKind::TruncatedRecord { .. })
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        let mut e = Error::new(ErrorKind::Io);
        e.0.source = Some(err);
        e
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.0.path {
            write!(f, "{}: ", path.display())?;
        }
        match (self.0.index, self.0.offset) {
            (Some(i), Some(o)) => write!(f, "record {i} at offset {o}: ")?,
            (None, Some(o)) => write!(f, "offset {o}: ")?,
            _ => {}
        }
        match (&self.0.kind, &self.0.source) {
            // The I/O error's own text is the useful part; say it once here
            // rather than making every caller walk `source()`.
            (ErrorKind::Io, Some(io)) => write!(f, "I/O error: {io}"),
            (kind, _) => write!(f, "{kind}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("path", &self.0.path)
            .field("offset", &self.0.offset)
            .field("index", &self.0.index)
            .field("source", &self.0.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_context_on_one_line() {
        let err = Error::new(ErrorKind::CorruptData {
            stored: 1,
            computed: 2,
        })
        .at_record(40, 3)
        .with_path("a.tfrecord");
        let text = err.to_string();
        assert_eq!(
            text,
            "a.tfrecord: record 3 at offset 40: corrupt data: stored crc 0x00000001, computed 0x00000002"
        );
        assert!(!text.contains('\n'));
        assert_eq!(err.record_index(), Some(3));
        assert_eq!(err.offset(), Some(40));
    }

    #[test]
    fn first_context_wins() {
        let err = Error::new(ErrorKind::Io)
            .at_record(1, 1)
            .at_record(2, 2)
            .with_path("x")
            .with_path("y");
        assert_eq!(err.offset(), Some(1));
        assert_eq!(err.path(), Some(Path::new("x")));
    }

    #[test]
    fn io_source_is_exposed() {
        let err = Error::from(io::Error::new(io::ErrorKind::NotFound, "gone"));
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(err.kind(), &ErrorKind::Io);
    }
}

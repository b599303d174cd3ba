//! What readers do about damaged records: stop (strict) or skip and resync.
//!
//! Knows nothing of where the bytes come from (maps, buffers, streams).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// What a reader does when it meets a damaged record.
///
/// Damage is anything wrong with the framing: a length or payload CRC that
/// does not match, a length beyond the limit, or a frame cut short by the end
/// of the input ([`ErrorKind::is_damage`]). I/O errors (including corrupt
/// compressed streams, which cannot be resynchronised) always stop the
/// reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CorruptionPolicy {
    /// Stop with an error naming the file, record index, offset and kind
    /// (the default).
    #[default]
    Strict,
    /// Skip the damaged record and carry on at the next sound frame.
    ///
    /// A record whose length checks out but whose payload does not is
    /// skipped by its length. Otherwise the reader scans forward, byte by
    /// byte, for the next offset where a whole frame checks out (length CRC,
    /// a length within the limit, payload CRC); a damaged stretch with no
    /// sound frame after it is skipped to the end of the input. Each skipped
    /// stretch is one [`Skipped`] and counts as one record: the records
    /// after it keep the indices they would have had if exactly one record
    /// was lost there.
    Skip,
}

/// A stretch of input skipped under [`CorruptionPolicy::Skip`].
#[derive(Debug)]
pub struct Skipped {
    /// Byte offset where the damage was found (the start of the damaged
    /// record's frame).
    pub offset: u64,
    /// Bytes skipped from `offset` to the next sound frame (or the end).
    pub len: u64,
    /// Why: the error the strict policy would have returned, with the path,
    /// offset and record index.
    pub error: Error,
}

impl Skipped {
    /// The file, when the reader knows it.
    pub fn path(&self) -> Option<&Path> {
        self.error.path()
    }

    /// What was wrong with the skipped record.
    pub fn reason(&self) -> &ErrorKind {
        self.error.kind()
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.path() {
            write!(f, "{}: ", path.display())?;
        }
        write!(f, "skipped {} bytes at offset {}", self.len, self.offset)?;
        if let Some(index) = self.error.record_index() {
            write!(f, " (record {index})")?;
        }
        write!(f, ": {}", self.error.kind())
    }
}

/// Totals of what a reader skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkipCounts {
    /// Damaged stretches skipped (each counts as one record).
    pub records: u64,
    /// Bytes skipped.
    pub bytes: u64,
}

/// A callback told of every skipped stretch.
pub type OnSkip = dyn FnMut(&Skipped) + Send;

/// A reader's policy, its counts and its callback.
pub(crate) struct Recovery {
    pub(crate) policy: CorruptionPolicy,
    pub(crate) max_skipped: Option<u64>,
    pub(crate) counts: SkipCounts,
    pub(crate) path: Option<PathBuf>,
    pub(crate) on_skip: Option<Box<OnSkip>>,
    /// When set, every skip is kept here too (for reports).
    pub(crate) log: Option<Vec<Skipped>>,
}

impl Recovery {
    pub(crate) fn new(policy: CorruptionPolicy, max_skipped: Option<u64>) -> Recovery {
        Recovery {
            policy,
            max_skipped,
            counts: SkipCounts::default(),
            path: None,
            on_skip: None,
            log: None,
        }
    }

    /// A skipping policy that keeps every skip's error, for reports.
    pub(crate) fn logging(path: Option<PathBuf>) -> Recovery {
        let mut recovery = Recovery::new(CorruptionPolicy::Skip, None);
        recovery.path = path;
        recovery.log = Some(Vec::new());
        recovery
    }

    /// True when `error` is damage this policy skips.
    pub(crate) fn skips(&self, error: &Error) -> bool {
        self.policy == CorruptionPolicy::Skip && error.kind().is_damage()
    }

    /// Records a skipped stretch: counts it and tells the callback. Past the
    /// limit, the error to stop with.
    pub(crate) fn skip(&mut self, offset: u64, len: u64, index: u64, error: Error) -> Result<()> {
        let mut error = error.at_record(offset, index);
        if let Some(path) = &self.path {
            error = error.with_path(path);
        }
        self.counts.records += 1;
        self.counts.bytes += len;
        if let Some(limit) = self.max_skipped {
            if self.counts.records > limit {
                let mut over = Error::new(ErrorKind::TooManySkipped {
                    limit,
                    last: Box::new(error.kind().clone()),
                })
                .at_record(offset, index);
                if let Some(path) = &self.path {
                    over = over.with_path(path);
                }
                return Err(over);
            }
        }
        let skipped = Skipped { offset, len, error };
        if let Some(f) = self.on_skip.as_mut() {
            f(&skipped);
        }
        if let Some(log) = self.log.as_mut() {
            log.push(skipped);
        }
        Ok(())
    }
}

impl fmt::Debug for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovery")
            .field("policy", &self.policy)
            .field("max_skipped", &self.max_skipped)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

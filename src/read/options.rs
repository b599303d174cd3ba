//! [`ReadOptions`]: what readers check and how they read. Knows nothing of
//! files, streams or records.

use crate::framing::{FrameCheck, DEFAULT_MAX_RECORD_LEN};

use super::recovery::{CorruptionPolicy, Recovery};

/// Options for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    verify_data_crc: bool,
    max_record_len: u64,
    mmap: bool,
    corruption: CorruptionPolicy,
    max_skipped: Option<u64>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            verify_data_crc: true,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            mmap: true,
            corruption: CorruptionPolicy::Strict,
            max_skipped: None,
        }
    }
}

impl ReadOptions {
    /// Whether to check each payload's CRC (default: yes). The length CRC is
    /// always checked.
    pub fn verify_data_crc(mut self, yes: bool) -> Self {
        self.verify_data_crc = yes;
        self
    }

    /// Largest payload accepted (default: 2 GiB).
    pub fn max_record_len(mut self, len: u64) -> Self {
        self.max_record_len = len;
        self
    }

    /// Whether [`Reader::open`](super::Reader::open) may memory-map uncompressed files (default:
    /// yes). Without it files are read with plain reads, which suits files
    /// rewritten in place while read; the records and errors are the same
    /// either way. A mapped file cut short while read is reported as a
    /// truncated record either way too (see [`Reader::open`](super::Reader::open)).
    pub fn mmap(mut self, yes: bool) -> Self {
        self.mmap = yes;
        self
    }

    /// What to do at a damaged record (default: [`CorruptionPolicy::Strict`],
    /// stop with an error).
    pub fn corruption(mut self, policy: CorruptionPolicy) -> Self {
        self.corruption = policy;
        self
    }

    /// Under [`CorruptionPolicy::Skip`], the most damaged stretches to skip
    /// in one file; one more ends reading with an
    /// [`ErrorKind::TooManySkipped`](crate::ErrorKind::TooManySkipped) error
    /// (default: no limit).
    pub fn max_skipped(mut self, limit: u64) -> Self {
        self.max_skipped = Some(limit);
        self
    }

    /// The corruption policy set.
    pub fn corruption_policy(&self) -> CorruptionPolicy {
        self.corruption
    }

    pub(crate) fn recovery(&self) -> Recovery {
        Recovery::new(self.corruption, self.max_skipped)
    }

    pub(crate) fn uses_mmap(&self) -> bool {
        self.mmap
    }

    pub(crate) fn frame_check(&self) -> FrameCheck {
        FrameCheck {
            data_crc: self.verify_data_crc,
            max_record_len: self.max_record_len,
        }
    }
}

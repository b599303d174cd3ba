//! What every verification walk shares: the [`Report`] it fills, the
//! [`Mode`] each payload is checked in, and progress reported in steps.
//! Knows nothing of files, streams, frames or threads.

use crate::error::{Error, Result};
use crate::example::{self, KindVote, RecordKind};
use crate::tensor::TensorView;

/// What verification found.
#[derive(Debug)]
pub struct Report {
    /// Records whose frames were read (sound or not).
    pub records: u64,
    /// Bytes of whole frames read (decompressed bytes for compressed
    /// files); damaged stretches are not counted.
    pub bytes: u64,
    /// Every problem, in file order. After damaged framing (a bad length,
    /// a cut-off frame) the check goes on at the next sound frame, as a
    /// reader under [`CorruptionPolicy::Skip`](crate::read::CorruptionPolicy::Skip)
    /// would, so every problem in the file is reported, with the record
    /// indices that reader gives.
    pub problems: Vec<Error>,
    /// The kind every record was checked against: decided from the
    /// records, or forced.
    pub kind: RecordKind,
    /// The kinds of the records with sound CRCs, when the kind was decided
    /// from them (all zero when it was forced).
    pub kinds: KindVote,
}

impl Default for Report {
    fn default() -> Report {
        Report {
            records: 0,
            bytes: 0,
            problems: Vec::new(),
            kind: RecordKind::Raw,
            kinds: KindVote::default(),
        }
    }
}

impl Report {
    /// True when nothing was wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What each payload with a sound CRC is checked against.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mode {
    /// Count its kind; the file's kind is decided afterwards.
    Detect,
    /// It must be a valid record of this kind.
    As(RecordKind),
}

impl Mode {
    pub(super) fn of(kind: Option<RecordKind>) -> Mode {
        kind.map_or(Mode::Detect, Mode::As)
    }

    /// Checks one payload whose CRC is sound.
    #[inline]
    pub(super) fn check(self, payload: &[u8], vote: &mut KindVote) -> Result<()> {
        match self {
            // Tensor files are the common case and their records are
            // small: keep their path as short as the tensor check alone.
            Mode::Detect => {
                if TensorView::decode(payload).is_ok() {
                    vote.tensor += 1;
                } else {
                    vote.add(payload);
                }
                Ok(())
            }
            Mode::As(RecordKind::Tensor) => TensorView::decode(payload).map(drop),
            Mode::As(kind) => example::check(kind, payload),
        }
    }
}

/// Bytes checked but not yet passed to the progress callback, which is
/// called about once a MiB: a shared progress bar bumped for every small
/// record from every thread would cost more than checking it.
pub(super) struct Unreported<'a> {
    progress: &'a (dyn Fn(u64) + Sync),
    bytes: u64,
}

impl<'a> Unreported<'a> {
    const STEP: u64 = 1 << 20;

    pub(super) fn new(progress: &'a (dyn Fn(u64) + Sync)) -> Unreported<'a> {
        Unreported { progress, bytes: 0 }
    }

    #[inline]
    pub(super) fn add(&mut self, bytes: u64) {
        self.bytes += bytes;
        if self.bytes >= Self::STEP {
            (self.progress)(self.bytes);
            self.bytes = 0;
        }
    }
}

impl Drop for Unreported<'_> {
    fn drop(&mut self) {
        if self.bytes > 0 {
            (self.progress)(self.bytes);
        }
    }
}

//! Deciding what a whole file holds from the kinds of its records
//! ([`KindVote`]), and whether a record fits the kind a file is said to
//! hold.
//!
//! Knows record kinds; knows nothing of reading files, threads or TFRecord
//! framing: callers bring the payloads.

use super::detect::RecordKind;
use super::view::{ExampleView, SequenceExampleView};
use crate::error::{Error, Result};
use crate::tensor::TensorView;

/// Records of each kind seen in a file, and the rule that decides from
/// them what the file holds.
///
/// Each record is counted as [`RecordKind::detect`] finds it, empty
/// payloads apart. [`decide`](KindVote::decide) then picks, ignoring empty
/// payloads (an empty payload is an `Example` with no features, a
/// `SequenceExample` with nothing, and opaque bytes all at once):
///
/// 1. [`Tensor`](RecordKind::Tensor) when tensors are more than half of
///    the non-empty records;
/// 2. otherwise, when `Example`s and `SequenceExample`s together are more
///    than half of them: [`SequenceExample`](RecordKind::SequenceExample)
///    if there are at least as many `SequenceExample`s (records with
///    feature lists) as `Example`s, else [`Example`](RecordKind::Example).
///    Every `Example` is also a valid `SequenceExample` (a context without
///    feature lists), so a `SequenceExample` file whose records sometimes
///    lack feature lists stays one;
/// 3. [`Raw`](RecordKind::Raw) otherwise: no kind dominates (a mixed
///    file), or there are no non-empty records.
///
/// A minority of records of another kind therefore never flips the
/// decision; they are the records that do not [`fit`](fits) it.
///
/// ```
/// use tfrec::example::{self, Example, KindVote, RecordKind};
/// use tfrec::Tensor;
///
/// let ex = example::encode(&Example::default().int64("label", [1]));
/// let tensor = Tensor::scalar(1u8).to_proto_bytes();
/// let mut vote = KindVote::default();
/// for payload in [&ex[..], &ex, &ex, b"", b"", b"", &tensor] {
///     vote.add(payload);
/// }
/// assert_eq!(vote.decide(), RecordKind::Example);
/// assert_eq!(vote.misfits(RecordKind::Example), 1); // the tensor
/// assert_eq!(vote.misfits(RecordKind::Tensor), 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindVote {
    /// Empty payloads.
    pub empty: u64,
    /// Valid `TensorProto`s.
    pub tensor: u64,
    /// `Example`s (and `SequenceExample`s with a context only).
    pub example: u64,
    /// `SequenceExample`s with feature lists.
    pub sequence_example: u64,
    /// Non-empty payloads of none of these kinds.
    pub raw: u64,
}

impl KindVote {
    /// Counts one record; returns its kind as [`RecordKind::detect`] sees it.
    pub fn add(&mut self, payload: &[u8]) -> RecordKind {
        let kind = RecordKind::detect(payload);
        self.count(kind, payload.is_empty());
        kind
    }

    /// Counts one record whose kind is already known.
    pub fn count(&mut self, kind: RecordKind, empty: bool) {
        let slot = match (empty, kind) {
            (true, _) => &mut self.empty,
            (false, RecordKind::Tensor) => &mut self.tensor,
            (false, RecordKind::Example) => &mut self.example,
            (false, RecordKind::SequenceExample) => &mut self.sequence_example,
            (false, RecordKind::Raw) => &mut self.raw,
        };
        *slot += 1;
    }

    /// Adds the counts of another vote.
    pub fn merge(&mut self, other: &KindVote) {
        self.empty += other.empty;
        self.tensor += other.tensor;
        self.example += other.example;
        self.sequence_example += other.sequence_example;
        self.raw += other.raw;
    }

    /// All records counted, empty ones included.
    pub fn total(&self) -> u64 {
        self.empty + self.non_empty()
    }

    fn non_empty(&self) -> u64 {
        self.tensor + self.example + self.sequence_example + self.raw
    }

    /// What the file holds, by the rule in the type's documentation.
    pub fn decide(&self) -> RecordKind {
        let n = self.non_empty();
        let messages = self.example + self.sequence_example;
        if self.tensor > n / 2 && n > 0 {
            RecordKind::Tensor
        } else if messages > n / 2 && n > 0 {
            if self.sequence_example >= self.example {
                RecordKind::SequenceExample
            } else {
                RecordKind::Example
            }
        } else {
            RecordKind::Raw
        }
    }

    /// Records counted that are not valid as `kind` (see [`fits`]).
    pub fn misfits(&self, kind: RecordKind) -> u64 {
        let all = [
            (RecordKind::Raw, true, self.empty),
            (RecordKind::Tensor, false, self.tensor),
            (RecordKind::Example, false, self.example),
            (RecordKind::SequenceExample, false, self.sequence_example),
            (RecordKind::Raw, false, self.raw),
        ];
        all.iter()
            .filter(|&&(detected, empty, _)| !fits(kind, detected, empty))
            .map(|&(_, _, n)| n)
            .sum()
    }
}

/// Whether a record that [`RecordKind::detect`] calls `detected` (and that
/// is `empty` or not) is a valid `kind`, as [`check`] would find.
///
/// The empty payload is a valid `Example` and `SequenceExample` but no
/// tensor (its dtype would be `DT_INVALID`); an `Example` is a valid
/// `SequenceExample`; anything is valid raw bytes.
pub fn fits(kind: RecordKind, detected: RecordKind, empty: bool) -> bool {
    match kind {
        RecordKind::Tensor => !empty && detected == RecordKind::Tensor,
        RecordKind::Example => empty || detected == RecordKind::Example,
        RecordKind::SequenceExample => {
            empty || matches!(detected, RecordKind::Example | RecordKind::SequenceExample)
        }
        RecordKind::Raw => true,
    }
}

/// Checks that `payload` is a valid `kind`, with the strictness
/// [`RecordKind::detect`] uses: a tensor within the default decode bounds
/// ([`TensorView::decode`]), an `Example` or `SequenceExample` with no
/// unknown fields at any depth. Raw bytes are always valid.
///
/// ```
/// use tfrec::example::{self, check, Example, RecordKind};
/// let ex = example::encode(&Example::default().int64("label", [1]));
/// assert!(check(RecordKind::Example, &ex).is_ok());
/// assert!(check(RecordKind::SequenceExample, &ex).is_ok());
/// assert!(check(RecordKind::Tensor, &ex).is_err());
/// assert!(check(RecordKind::Example, b"").is_ok());
/// assert!(check(RecordKind::Raw, b"\xff").is_ok());
/// ```
pub fn check(kind: RecordKind, payload: &[u8]) -> Result<()> {
    match kind {
        RecordKind::Tensor => TensorView::decode(payload).map(drop),
        RecordKind::Example => ExampleView::parse_with(payload, true).map(drop),
        RecordKind::SequenceExample => SequenceExampleView::parse_with(payload, true).map(drop),
        RecordKind::Raw => Ok(()),
    }
}

/// The problem for a record known (by its detected kind) not to be a
/// valid `kind`, when its payload is no longer at hand.
pub(crate) fn misfit_error(kind: RecordKind, detected: RecordKind, empty: bool) -> Error {
    let holds = if empty {
        "an empty payload".to_string()
    } else {
        match detected {
            RecordKind::Raw => "bytes of no known kind".to_string(),
            other => format!("a record that reads as {other}"),
        }
    };
    match kind {
        RecordKind::Tensor => Error::invalid_tensor(format!("not a tensor: {holds}")),
        RecordKind::Example => Error::invalid_example(format!("not an Example: {holds}")),
        _ => Error::invalid_example(format!("not a SequenceExample: {holds}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::owned::encode;
    use crate::proto::messages::{Example, Feature, SequenceExample};
    use crate::tensor::Tensor;

    fn vote(empty: u64, tensor: u64, example: u64, sequence_example: u64, raw: u64) -> KindVote {
        KindVote {
            empty,
            tensor,
            example,
            sequence_example,
            raw,
        }
    }

    #[test]
    fn the_majority_of_non_empty_records_decides() {
        use RecordKind::*;
        let cases = [
            (vote(0, 0, 0, 0, 0), Raw),
            (vote(9, 0, 0, 0, 0), Raw),
            (vote(0, 10, 0, 0, 0), Tensor),
            (vote(0, 10, 1, 1, 2), Tensor),
            (vote(0, 6, 0, 0, 5), Tensor),
            (vote(0, 5, 0, 0, 5), Raw),
            (vote(0, 5, 5, 0, 0), Raw),
            (vote(0, 5, 3, 3, 0), SequenceExample),
            (vote(0, 1, 10, 0, 0), Example),
            (vote(100, 1, 2, 0, 0), Example),
            (vote(0, 0, 10, 2, 1), Example),
            (vote(0, 0, 4, 6, 0), SequenceExample),
            (vote(0, 0, 5, 5, 0), SequenceExample),
            (vote(0, 0, 1, 0, 0), Example),
            (vote(0, 0, 0, 0, 1), Raw),
            (vote(0, 2, 2, 2, 2), Raw),
            (vote(0, 1, 1, 0, 1), Raw),
        ];
        for (v, kind) in cases {
            assert_eq!(v.decide(), kind, "{v:?}");
        }
    }

    #[test]
    fn a_few_records_of_another_kind_do_not_flip_the_decision() {
        let ex = encode(&Example::default().int64("a", [1]));
        let tensor = Tensor::scalar(1.0f32).to_proto_bytes();
        let mut v = KindVote::default();
        for i in 0..100 {
            let payload: &[u8] = match i % 10 {
                0 => &tensor,
                1..=3 => b"",
                _ => &ex,
            };
            v.add(payload);
        }
        assert_eq!(v.decide(), RecordKind::Example);
        assert_eq!(v.misfits(RecordKind::Example), 10);
        assert_eq!(v.total(), 100);
    }

    #[test]
    fn fits_agrees_with_check() {
        let payloads = [
            Vec::new(),
            Tensor::scalar(1u8).to_proto_bytes(),
            encode(&Example::default().bytes("b", ["x"])),
            encode(&SequenceExample::default().feature_list("s", [Feature::int64_list([1])])),
            encode(&SequenceExample::default().context_feature("c", Feature::default())),
            b"plain bytes".to_vec(),
            {
                let mut p = encode(&Example::default().int64("x", [1]));
                p.extend([0x18, 0x01]); // an unknown field
                p
            },
        ];
        for p in &payloads {
            let detected = RecordKind::detect(p);
            for kind in [
                RecordKind::Tensor,
                RecordKind::Example,
                RecordKind::SequenceExample,
                RecordKind::Raw,
            ] {
                assert_eq!(
                    fits(kind, detected, p.is_empty()),
                    check(kind, p).is_ok(),
                    "{kind} {p:02x?}"
                );
            }
        }
    }
}

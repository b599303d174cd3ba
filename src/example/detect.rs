//! Telling what a record's payload holds: a tensor, an `Example`, a
//! `SequenceExample` or raw bytes ([`RecordKind`]).
//!
//! Knows how each kind parses; knows nothing of whole files, JSON,
//! threads or TFRecord framing.

use super::view::{ExampleView, SequenceExampleView};
use crate::proto::tensor::{decode_with, DecodeLimits};
use crate::tensor::TensorView;

/// What a record's payload holds, as far as its bytes tell.
///
/// Protobuf messages carry no type, so this is a heuristic;
/// [`detect`](RecordKind::detect) documents its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A `TensorProto`, as `tf.io.serialize_tensor` writes.
    Tensor,
    /// A `tf.train.Example`.
    Example,
    /// A `tf.train.SequenceExample` with feature lists.
    SequenceExample,
    /// Anything else: opaque bytes.
    Raw,
}

impl RecordKind {
    /// Guesses what `payload` holds. In order:
    ///
    /// 1. **Empty**: [`Raw`](RecordKind::Raw). The empty payload is also
    ///    an `Example` with no features (and a `SequenceExample` with
    ///    nothing); calling it raw keeps a JSON round trip
    ///    (`{"raw": ""}`) byte-exact, and `ExampleView::parse(b"")`
    ///    still succeeds for callers who know better.
    /// 2. [`Tensor`](RecordKind::Tensor) if it decodes as a `TensorProto`
    ///    with a supported dtype (see [`crate::TensorView::decode`]),
    ///    declining tensors that would expand typed values to more than
    ///    64 KiB or 16 bytes a payload byte, whichever is more.
    /// 3. [`Example`](RecordKind::Example) if it parses strictly as an
    ///    `Example`: only field 1 (`features`) at the top, and no unknown
    ///    fields at any depth.
    /// 4. [`SequenceExample`](RecordKind::SequenceExample) if it parses
    ///    strictly as a `SequenceExample` and has field 2
    ///    (`feature_lists`).
    /// 5. [`Raw`](RecordKind::Raw) otherwise.
    ///
    /// A `SequenceExample` holding only a `context` is byte for byte an
    /// `Example` with those features, and is detected as an `Example`.
    /// The two message kinds share no valid non-empty payload with a
    /// `TensorProto`: its field 1 (`dtype`) is a varint, theirs a message.
    ///
    /// ```
    /// use tfrec::example::{self, Example, Feature, RecordKind, SequenceExample};
    /// use tfrec::Tensor;
    ///
    /// let tensor = Tensor::scalar(1.5f32).to_proto_bytes();
    /// let ex = example::encode(&Example::default().int64("a", [1]));
    /// let seq = example::encode(&SequenceExample::default().feature_list("a", [Feature::default()]));
    /// let context_only = example::encode(&SequenceExample::default().context_feature("a", Feature::int64_list([1])));
    /// assert_eq!(RecordKind::detect(&tensor), RecordKind::Tensor);
    /// assert_eq!(RecordKind::detect(&ex), RecordKind::Example);
    /// assert_eq!(RecordKind::detect(&seq), RecordKind::SequenceExample);
    /// assert_eq!(RecordKind::detect(&context_only), RecordKind::Example);
    /// assert_eq!(RecordKind::detect(b"hello"), RecordKind::Raw);
    /// assert_eq!(RecordKind::detect(b""), RecordKind::Raw);
    /// ```
    pub fn detect(payload: &[u8]) -> RecordKind {
        detect_parsed(payload).kind()
    }

    /// A short stable name: `tensor`, `example`, `sequence_example` or `raw`.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Tensor => "tensor",
            RecordKind::Example => "example",
            RecordKind::SequenceExample => "sequence_example",
            RecordKind::Raw => "raw",
        }
    }
}

/// A payload as [`RecordKind::detect`] finds it, parsed.
pub(crate) enum Detected<'a> {
    Tensor(TensorView<'a>),
    Example(ExampleView<'a>),
    SequenceExample(SequenceExampleView<'a>),
    Raw,
}

impl Detected<'_> {
    pub(crate) fn kind(&self) -> RecordKind {
        match self {
            Detected::Tensor(_) => RecordKind::Tensor,
            Detected::Example(_) => RecordKind::Example,
            Detected::SequenceExample(_) => RecordKind::SequenceExample,
            Detected::Raw => RecordKind::Raw,
        }
    }
}

/// [`RecordKind::detect`], keeping what it parsed.
pub(crate) fn detect_parsed(payload: &[u8]) -> Detected<'_> {
    if payload.is_empty() {
        return Detected::Raw;
    }
    // The default limits: whatever `TensorView::decode` accepts is a tensor,
    // and they bound the work relative to the payload.
    if let Ok(t) = decode_with(payload, &DecodeLimits::default()) {
        return Detected::Tensor(t);
    }
    if let Ok(ex) = ExampleView::parse_with(payload, true) {
        return Detected::Example(ex);
    }
    match SequenceExampleView::parse_with(payload, true) {
        Ok(seq) if seq.has_feature_lists() => Detected::SequenceExample(seq),
        _ => Detected::Raw,
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::owned::encode;
    use crate::proto::messages::{Example, Feature, SequenceExample};
    use crate::tensor::Tensor;

    #[test]
    fn every_kind() {
        let cases = [
            (
                Tensor::from_strings(&["a"], &[1]).unwrap().to_proto_bytes(),
                RecordKind::Tensor,
            ),
            (
                Tensor::from_slice::<f32>(&[], &[0])
                    .unwrap()
                    .to_proto_bytes(),
                RecordKind::Tensor,
            ),
            (
                encode(&Example::default().bytes("x", ["y"])),
                RecordKind::Example,
            ),
            (vec![0x0a, 0x00], RecordKind::Example),
            (
                encode(&SequenceExample::default().feature_list("s", [])),
                RecordKind::SequenceExample,
            ),
            (
                encode(
                    &SequenceExample::default()
                        .context_feature("c", Feature::default())
                        .feature_list("s", [Feature::float_list([1.0])]),
                ),
                RecordKind::SequenceExample,
            ),
            (vec![0x12, 0x00], RecordKind::SequenceExample),
            (b"\x89PNG\r\n\x1a\n".to_vec(), RecordKind::Raw),
            (b"{\"a\": 1}".to_vec(), RecordKind::Raw),
            (Vec::new(), RecordKind::Raw),
        ];
        for (payload, kind) in cases {
            assert_eq!(RecordKind::detect(&payload), kind, "{payload:02x?}");
        }
    }

    #[test]
    fn unknown_fields_make_a_message_raw() {
        // Valid Example plus an unknown top-level field: prost would
        // accept it, detection does not.
        let mut payload = encode(&Example::default().int64("x", [1]));
        payload.extend([0x18, 0x01]);
        assert!(ExampleView::parse(&payload).is_ok());
        assert_eq!(RecordKind::detect(&payload), RecordKind::Raw);
    }

    #[test]
    fn tensors_expanding_far_beyond_their_payload_are_not_tensors() {
        // float32, shape [1000000], no values: a million zeros from 12 bytes,
        // beyond what decoding allows by default.
        let payload = [0x08, 0x01, 0x12, 0x06, 0x12, 0x04, 0x08, 0xc0, 0x84, 0x3d];
        assert!(crate::tensor::TensorView::decode(&payload).is_err());
        assert_eq!(RecordKind::detect(&payload), RecordKind::Raw);
        let small = [0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x64];
        assert_eq!(RecordKind::detect(&small), RecordKind::Tensor);
    }
}

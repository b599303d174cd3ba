//! Protocol-buffer messages.
//!
//! [`tensor`] is the hand-written borrowing codec used on the hot path (its
//! counterpart for `tf.train.Example` lives in [`crate::example`]). The
//! [`messages`] module holds prost types generated from `proto/*.proto`:
//! `TensorProto`, and `Example`, `SequenceExample` and their parts; they
//! serve code that wants a plain owned message and cross-check the fast
//! codecs in tests. Maps are `BTreeMap`s, so they iterate in key order.
//!
//! Knows nothing of files or framing: messages are byte slices in and out.

pub mod tensor;
pub(crate) mod wire;

/// prost messages generated from this crate's `.proto` files.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod messages {
    include!(concat!(env!("OUT_DIR"), "/tensorflow.rs"));
}

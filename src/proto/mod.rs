//! Protocol-buffer messages.
//!
//! [`tensor`] is the hand-written borrowing codec used on the hot path. The
//! [`messages`] module holds prost types generated from `proto/*.proto`; they
//! serve code that wants a plain owned message and cross-check the fast codec
//! in tests.

pub mod tensor;
pub(crate) mod wire;

/// prost messages generated from this crate's `.proto` files.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod messages {
    include!(concat!(env!("OUT_DIR"), "/tensorflow.rs"));
}

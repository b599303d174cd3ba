//! Hand-built `Example` bytes for unit tests: fields, map entries and lists
//! written one by one, so that tests can make the layouts no encoder
//! writes (unpacked values, repeated messages, unknown fields, bad wire
//! types), and small readers of what the views give back.
//!
//! Test code only. Knows the wire format and the public face of the views;
//! knows nothing of how parsing works inside, of files, threads or
//! TFRecord framing.

use crate::error::{Error, ErrorKind};
use crate::example::view::feature::FeatureView;
use crate::proto::wire::{put_key, put_varint, FIXED32, LEN, VARINT};

/// Field `number`, length-delimited, holding `body`.
pub(crate) fn len_field(number: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_key(&mut out, number, LEN);
    put_varint(&mut out, body.len() as u64);
    out.extend_from_slice(body);
    out
}

/// Field `number`, a varint.
pub(crate) fn varint_field(number: u32, v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put_key(&mut out, number, VARINT);
    put_varint(&mut out, v);
    out
}

/// Field `number`, a fixed32 float.
pub(crate) fn fixed32_field(number: u32, v: f32) -> Vec<u8> {
    let mut out = Vec::new();
    put_key(&mut out, number, FIXED32);
    out.extend_from_slice(&v.to_le_bytes());
    out
}

/// One entry of `Features.feature`: its name, then the `Feature` message.
pub(crate) fn entry(name: &(impl AsRef<[u8]> + ?Sized), feature: &[u8]) -> Vec<u8> {
    len_field(
        1,
        &[len_field(1, name.as_ref()), len_field(2, feature)].concat(),
    )
}

/// An `Example` with one `features` field holding `entries`.
pub(crate) fn example(entries: &[Vec<u8>]) -> Vec<u8> {
    len_field(1, &entries.concat())
}

/// A `value` field of packed floats.
pub(crate) fn packed_floats(values: &[f32]) -> Vec<u8> {
    len_field(
        1,
        &values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    )
}

/// A `value` field of packed varints.
pub(crate) fn packed_ints(values: &[i64]) -> Vec<u8> {
    let mut body = Vec::new();
    for &v in values {
        put_varint(&mut body, v as u64);
    }
    len_field(1, &body)
}

/// The reason of an [`ErrorKind::InvalidExample`] error.
pub(crate) fn reason(err: Error) -> String {
    match err.kind() {
        ErrorKind::InvalidExample { reason } => reason.clone(),
        other => panic!("unexpected kind {other:?}"),
    }
}

/// The values of an `int64_list` feature.
pub(crate) fn ints(f: FeatureView<'_>) -> Vec<i64> {
    f.int64_list().unwrap().collect()
}

/// The values of a `float_list` feature.
pub(crate) fn floats(f: FeatureView<'_>) -> Vec<f32> {
    f.float_list().unwrap().collect()
}

//! Proptest settings and strategies shared by the property tests. Knows
//! nothing of what a test checks.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config as ProptestConfig;

/// A proptest configuration with `cases` cases that leaves no regression
/// files behind in the source tree.
pub fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

/// One edit of a byte string: what to do (0 to 3), where, and with which
/// byte.
pub type Edit = (u8, Index, u8);

/// One to three edits, for [`apply_edits`].
pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec((0u8..4, any::<Index>(), any::<u8>()), 1..4)
}

/// Damages `bytes` by each edit in turn: overwrite a byte, insert one,
/// remove one, flip one bit, or (when the position is the end) truncate.
pub fn apply_edits(bytes: &mut Vec<u8>, edits: Vec<Edit>) {
    for (op, at, byte) in edits {
        let i = at.index(bytes.len() + 1);
        match op {
            0 if i < bytes.len() => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            2 if i < bytes.len() => {
                bytes.remove(i);
            }
            3 if i < bytes.len() => bytes[i] ^= 1 << (byte % 8),
            _ => bytes.truncate(i),
        }
    }
}

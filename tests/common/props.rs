//! Proptest settings and strategies shared by the property tests. Knows
//! nothing of what a test checks.

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

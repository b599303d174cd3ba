//! Helpers shared by the integration tests, one concern a file; this file
//! only names them and knows nothing itself. Every test binary includes
//! them with `mod common;` and uses what it needs, so helpers (and the
//! re-exports below) that one binary leaves unused are expected.
//!
//! The counting allocator (`counting_alloc.rs`) is not part of it: it
//! installs itself as the global allocator, so only the binaries that
//! measure allocation include it, by path.
#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod files;
pub mod fixtures;
pub mod frames;
pub mod process;
pub mod props;
pub mod proto;
pub mod python;
pub mod readers;
pub mod rng;
pub mod tf;
pub mod unpack;

// The data helpers most tests use, reachable as `common::name`.
pub use files::*;
pub use fixtures::*;
pub use frames::*;
pub use props::*;
pub use proto::*;
pub use readers::*;
pub use rng::*;

//! What every clone of a [`Dataset`](super::Dataset) shares: the plan, and
//! what carries it out (the decoding pool, the pool of batch buffers, the
//! map function and what to do about damaged records).
//!
//! Only the bundle: knows nothing of how batches are made, prefetched or
//! iterated, nor of how the dataset was built.

use std::sync::Arc;

use super::batch::Pool;
use super::options::MapFn;
use super::plan::Plan;
use super::skip::SkipPolicy;

pub(crate) struct Inner {
    pub(crate) plan: Plan,
    pub(crate) map: Option<Arc<MapFn>>,
    pub(crate) threads: rayon::ThreadPool,
    pub(crate) slabs: Arc<Pool>,
    pub(crate) skip: SkipPolicy,
}

//! What a sharded job is asked for: how records are spread over shards,
//! and the options of a [`ShardedWriter`](super::ShardedWriter). Knows
//! nothing of files, records or threads.

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::write::atomic::IoHook;

/// How records are spread over shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sharding {
    /// Exactly this many shards (at most [`MAX_SHARDS`]). In order, record
    /// `i` goes to shard `i % n`, the split `tf.data.Dataset.shard(n, k)`
    /// makes; shards that get no record are written empty. All `n` shards
    /// stay open files until the job finishes, so `n` is bounded by the
    /// process's limit on open files.
    Shards(u64),
    /// A new shard after this many records; the last may hold fewer.
    RecordsPerShard(u64),
    /// A new shard before a record that would take the shard's frames
    /// (uncompressed, 16 framing bytes included) past this many bytes. A
    /// record larger than that gets a shard of its own.
    BytesPerShard(u64),
}

/// Options for a [`ShardedWriter`](super::ShardedWriter); a consuming builder.
#[derive(Debug, Clone)]
pub struct ShardOptions {
    pub(super) sharding: Sharding,
    pub(super) compression: Compression,
    pub(super) sync: bool,
    pub(super) ordered: bool,
    pub(super) index: bool,
    pub(super) hook: Option<IoHook>,
}

impl Default for ShardOptions {
    /// One shard, uncompressed, fsynced, in order, with index sidecars.
    fn default() -> Self {
        ShardOptions::new(Sharding::Shards(1))
    }
}

impl ShardOptions {
    /// Uncompressed, fsynced, in input order, with `.idx` sidecars.
    pub fn new(sharding: Sharding) -> Self {
        ShardOptions {
            sharding,
            compression: Compression::None,
            sync: true,
            ordered: true,
            index: true,
            hook: None,
        }
    }

    /// How records are spread over shards.
    pub fn sharding(mut self, sharding: Sharding) -> Self {
        self.sharding = sharding;
        self
    }

    /// Compression of every shard (default: none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Whether shards, sidecars, the manifest and the directory are fsynced
    /// before and after being renamed into place (default: yes). Without it,
    /// a final name still never shows an incomplete file to other
    /// processes, even after `kill -9`, but a power loss may leave one.
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// Whether input order is kept (default: yes): reading the shards in
    /// index order (for [`Sharding::Shards`], round-robin across the shards)
    /// gives the records in the order they were written, and the layout
    /// depends only on the records. Without it, records and pieces of
    /// batches may go to whichever of several open shards balances the work,
    /// so that several shards are written at once in every mode; each
    /// record still lands whole in exactly one shard.
    pub fn ordered(mut self, yes: bool) -> Self {
        self.ordered = yes;
        self
    }

    /// Whether each shard gets an `.idx` sidecar (default: yes).
    pub fn index(mut self, yes: bool) -> Self {
        self.index = yes;
        self
    }

    /// Calls `hook` before every file-system step of the job (creating,
    /// writing, fsyncing, renaming); an error it returns fails that step.
    /// Meant for tests that inject I/O failures.
    pub fn io_hook(mut self, hook: IoHook) -> Self {
        self.hook = Some(hook);
        self
    }

    pub(super) fn validate(&self) -> Result<()> {
        let ok = match self.sharding {
            Sharding::Shards(n) => (1..=MAX_SHARDS).contains(&n),
            Sharding::RecordsPerShard(n) | Sharding::BytesPerShard(n) => n >= 1,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid_input(format!(
                "{:?}: counts and sizes must be at least 1, shard counts at most {MAX_SHARDS}",
                self.sharding
            )))
        }
    }
}

/// The most shards [`Sharding::Shards`] makes: each is an open file until
/// the job finishes.
pub const MAX_SHARDS: u64 = 1_000_000;

/// Refuses a stem that is not a plain, non-hidden file name (empty, hidden,
/// `..`, or holding a path separator or NUL), as every sharded job does
/// before it creates a file; callers that stage work of their own under the
/// stem check it first with this.
///
/// ```
/// use tfrec::write::sharded::check_stem;
/// assert!(check_stem("train").is_ok());
/// assert!(check_stem(".hidden").is_err());
/// assert!(check_stem("a/b").is_err());
/// ```
pub fn check_stem(stem: &str) -> Result<()> {
    let bad = stem.is_empty()
        || stem.starts_with('.')
        || stem.contains(['/', '\\', '\0'])
        || stem == "..";
    if bad {
        return Err(Error::invalid_input(format!(
            "shard stem {stem:?} must be a plain, non-hidden file name"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        for bad in ["", ".x", "a/b", "..", "a\0b"] {
            assert!(check_stem(bad).is_err(), "{bad:?}");
        }
        check_stem("train.v2-x").unwrap();
    }
}

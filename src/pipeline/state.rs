//! Where an iteration stands, to save and resume, and its JSON form.
//!
//! Knows nothing of files, orders or iterators: a state is an epoch, a
//! position and the split between ranks it was counted in.

use std::fmt;

use crate::error::{Error, Result};

use super::options::ShardMode;

/// The position of an iteration: the epoch, how many of this rank's
/// records of that epoch have been handed to the caller, and how the
/// epoch's order was split between ranks.
///
/// Records fetched ahead by prefetching are not counted: the state says
/// exactly what the caller has received, so resuming from it yields the
/// very next record. When an epoch is finished the state moves on to the
/// next epoch at position 0.
///
/// It serialises as a small JSON object:
///
/// ```
/// use tfrec::pipeline::{IterState, ShardMode, Split};
/// let state = IterState {
///     epoch: 3,
///     position: 512,
///     split: Some(Split { world: 4, mode: ShardMode::Strided, start: 0 }),
/// };
/// let text = state.to_json();
/// assert_eq!(
///     text,
///     r#"{"epoch": 3, "position": 512, "world": 4, "shard_mode": "strided", "start": 0}"#
/// );
/// assert_eq!(IterState::from_json(&text)?, state);
/// // A state without the split resumes on the loading dataset's own split.
/// assert_eq!(
///     IterState::from_json(r#"{"epoch": 3, "position": 512}"#)?,
///     IterState { epoch: 3, position: 512, split: None }
/// );
/// # Ok::<(), tfrec::Error>(())
/// ```
///
/// # Resuming on a different number of ranks
///
/// With [`ShardMode::Strided`], rank `r` of `world` takes positions `r`,
/// `r + world`, ... of the epoch's order, so when every rank has taken the
/// same number of records `position` (synchronous training: each rank takes
/// one batch per step) the records taken so far are exactly the first
/// `position · world` of the order, whichever rank saved the state. A
/// dataset with another number of ranks loading that state splits the rest
/// of the order, strided again from there: rank `r'` of `world'` takes
/// positions `consumed + r'`, `consumed + r' + world'`, ..., so that every
/// record of the epoch is taken exactly once and the new parts differ in
/// size by at most one. The state then says where that split starts
/// ([`Split::start`]), so it can change size again.
///
/// A state saved with contiguous parts resumes only on the same number of
/// ranks with contiguous parts. One saved by a single rank of an
/// asynchronous job, where ranks are at different positions, does not
/// describe what the others have taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct IterState {
    /// The epoch (0 first): with shuffling, selects the permutation.
    pub epoch: u64,
    /// Records of the epoch already delivered to the caller, counted from
    /// the start of this rank's part (for batches, a multiple of the batch
    /// size except after a last partial batch).
    pub position: u64,
    /// How the epoch's order was split between ranks when the state was
    /// saved; states from [`Batches::state`](super::Batches::state) always
    /// say. `None` (a state written by hand, or by earlier versions) resumes
    /// `position` records into the loading dataset's own part.
    pub split: Option<Split>,
}

/// How an epoch's order was split between ranks; see [`IterState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Split {
    /// Ranks sharing the epoch.
    pub world: u64,
    /// Contiguous or strided parts.
    pub mode: ShardMode,
    /// The position in the epoch's order where the parts begin: the records
    /// before it were taken before a resume on a different number of ranks
    /// (0 otherwise). Always 0 for contiguous parts.
    pub start: u64,
}

impl IterState {
    /// The start of `epoch`.
    pub fn epoch_start(epoch: u64) -> IterState {
        IterState {
            epoch,
            position: 0,
            split: None,
        }
    }

    /// `{"epoch": E, "position": P}`, followed by `"world": W,
    /// "shard_mode": "strided"|"contiguous", "start": S` when the state
    /// says how the epoch was split.
    pub fn to_json(&self) -> String {
        let mut text = format!(
            "{{\"epoch\": {}, \"position\": {}",
            self.epoch, self.position
        );
        if let Some(split) = &self.split {
            let mode = match split.mode {
                ShardMode::Contiguous => "contiguous",
                ShardMode::Strided => "strided",
            };
            text.push_str(&format!(
                ", \"world\": {}, \"shard_mode\": \"{mode}\", \"start\": {}",
                split.world, split.start
            ));
        }
        text.push('}');
        text
    }

    /// Parses what [`to_json`](IterState::to_json) writes: any JSON object
    /// with non-negative integer `epoch` and `position`, and either all of
    /// `world` (at least 1), `shard_mode` and `start` or none of them (other
    /// keys ignored).
    pub fn from_json(text: &str) -> Result<IterState> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_input(format!("iteration state: {e}")))?;
        let bad = |what: String| Error::invalid_input(format!("iteration state: {what}"));
        let field = |name: &str| {
            value
                .get(name)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| bad(format!("{name:?} must be a non-negative integer")))
        };
        let (epoch, position) = (field("epoch")?, field("position")?);
        let named = ["world", "shard_mode", "start"].map(|k| value.get(k).is_some());
        let split = match named {
            [false, false, false] => None,
            [true, true, true] => {
                let mode = match value.get("shard_mode").and_then(serde_json::Value::as_str) {
                    Some("contiguous") => ShardMode::Contiguous,
                    Some("strided") => ShardMode::Strided,
                    _ => {
                        return Err(bad(
                            "\"shard_mode\" must be \"contiguous\" or \"strided\"".into()
                        ))
                    }
                };
                let world = field("world")?;
                if world == 0 {
                    return Err(bad("\"world\" must be at least 1".into()));
                }
                Some(Split {
                    world,
                    mode,
                    start: field("start")?,
                })
            }
            _ => {
                return Err(bad(
                    "\"world\", \"shard_mode\" and \"start\" go together".into()
                ))
            }
        };
        Ok(IterState {
            epoch,
            position,
            split,
        })
    }
}

impl fmt::Display for IterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {} position {}", self.epoch, self.position)?;
        if let Some(split) = &self.split {
            write!(f, " of {} ranks", split.world)?;
            if split.start > 0 {
                write!(f, " from {}", split.start)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_rejects() {
        let s = IterState {
            epoch: u64::MAX,
            position: 7,
            split: None,
        };
        assert_eq!(IterState::from_json(&s.to_json()).unwrap(), s);
        for mode in [ShardMode::Contiguous, ShardMode::Strided] {
            let s = IterState {
                epoch: 2,
                position: 9,
                split: Some(Split {
                    world: 3,
                    mode,
                    start: u64::MAX,
                }),
            };
            assert_eq!(IterState::from_json(&s.to_json()).unwrap(), s);
        }
        assert!(IterState::from_json(r#"{"epoch": -1, "position": 0}"#).is_err());
        assert!(IterState::from_json(r#"{"epoch": 1}"#).is_err());
        assert!(IterState::from_json("[]").is_err());
        assert!(IterState::from_json(r#"{"epoch": 1, "position": 0, "world": 2}"#).is_err());
        assert!(IterState::from_json(
            r#"{"epoch": 1, "position": 0, "world": 0, "shard_mode": "strided", "start": 0}"#
        )
        .is_err());
        assert!(IterState::from_json(
            r#"{"epoch": 1, "position": 0, "world": 2, "shard_mode": "mixed", "start": 0}"#
        )
        .is_err());
        assert_eq!(
            IterState::from_json(r#"{"position":2,"epoch":1,"x":0}"#).unwrap(),
            IterState {
                epoch: 1,
                position: 2,
                split: None,
            }
        );
    }
}

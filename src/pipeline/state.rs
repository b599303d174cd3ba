//! Where an iteration stands, to save and resume.

use std::fmt;

use crate::error::{Error, Result};

/// The position of an iteration: the epoch, and how many of this rank's
/// records of that epoch have been handed to the caller.
///
/// Records fetched ahead by prefetching are not counted: the state says
/// exactly what the caller has received, so resuming from it yields the
/// very next record. When an epoch is finished the state moves on to the
/// next epoch at position 0.
///
/// It serialises as a small JSON object:
///
/// ```
/// use tfrec::pipeline::IterState;
/// let state = IterState { epoch: 3, position: 512 };
/// let text = state.to_json();
/// assert_eq!(text, r#"{"epoch": 3, "position": 512}"#);
/// assert_eq!(IterState::from_json(&text)?, state);
/// # Ok::<(), tfrec::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct IterState {
    /// The epoch (0 first): with shuffling, selects the permutation.
    pub epoch: u64,
    /// Records of the epoch already delivered to the caller (for batches, a
    /// multiple of the batch size except after a last partial batch).
    pub position: u64,
}

impl IterState {
    /// The start of `epoch`.
    pub fn epoch_start(epoch: u64) -> IterState {
        IterState { epoch, position: 0 }
    }

    /// `{"epoch": E, "position": P}`.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"epoch\": {}, \"position\": {}}}",
            self.epoch, self.position
        )
    }

    /// Parses what [`to_json`](IterState::to_json) writes (any JSON object
    /// with non-negative integer `epoch` and `position`; other keys ignored).
    pub fn from_json(text: &str) -> Result<IterState> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_input(format!("iteration state: {e}")))?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| {
                    Error::invalid_input(format!(
                        "iteration state: {name:?} must be a non-negative integer"
                    ))
                })
        };
        Ok(IterState {
            epoch: field("epoch")?,
            position: field("position")?,
        })
    }
}

impl fmt::Display for IterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {} position {}", self.epoch, self.position)
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
        };
        assert_eq!(IterState::from_json(&s.to_json()).unwrap(), s);
        assert!(IterState::from_json(r#"{"epoch": -1, "position": 0}"#).is_err());
        assert!(IterState::from_json(r#"{"epoch": 1}"#).is_err());
        assert!(IterState::from_json("[]").is_err());
        assert_eq!(
            IterState::from_json(r#"{"position":2,"epoch":1,"x":0}"#).unwrap(),
            IterState {
                epoch: 1,
                position: 2
            }
        );
    }
}

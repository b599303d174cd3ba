//! The batches of one epoch from a given state on, whatever they are made
//! of: made on the caller's thread, ahead on a background thread, or
//! several at once on the pool, and the state to resume from, counting
//! what the caller received rather than what was made.
//!
//! Knows nothing of how records are found and read, nor of what a batch
//! holds: it drives a producer, keeps batches in flight, and counts.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::error::{Error, Result};

use super::assemble::Assemble;
use super::inner::Inner;
use super::plan::Files;
use super::produce::{batch_end, Batching, Producer};
use super::state::IterState;

enum Engine<A: Assemble> {
    Inline(Box<Producer<A>>),
    /// Up to `window` batches of an indexed dataset assembled at once, each
    /// whole on one pool thread, started from the caller's thread.
    Whole {
        producer: Box<Producer<A>>,
        in_flight: VecDeque<Receiver<Result<A::Output>>>,
        window: usize,
    },
    Background {
        rx: Option<Receiver<Result<A::Output>>>,
        stop: Arc<AtomicBool>,
        handle: Option<JoinHandle<()>>,
    },
}

/// The batches of one epoch from a given state on, whatever they are made
/// of: the prefetch engine and the state to resume from.
pub(crate) struct Run<A: Assemble> {
    engine: Engine<A>,
    state: IterState,
    /// The state after the epoch's last batch.
    next_epoch: IterState,
    len: u64,
    /// Records per batch: each batch moves the state on by this many (or
    /// what is left), however many damaged records were dropped from it.
    size: u64,
    /// Records of other parts' batches after each batch.
    stride: u64,
    done: bool,
    failed: bool,
}

impl<A: Assemble> Run<A> {
    pub(crate) fn new(
        inner: Arc<Inner>,
        state: IterState,
        batching: Batching,
        assembler: A,
    ) -> Result<Run<A>> {
        let (part, state) = inner.plan.resume(state)?;
        let next_epoch = inner.plan.next_epoch(state.epoch);
        let end = batch_end(part.len(), batching);
        let prefetch = inner.plan.cfg.prefetch;
        let whole = A::WHOLE_BATCHES && matches!(inner.plan.files, Files::Indexed(_));
        let mut producer = Producer::new(inner, part, batching, assembler, state)?;
        let engine = if prefetch == 0 {
            Engine::Inline(Box::new(producer))
        } else if whole {
            Engine::Whole {
                producer: Box::new(producer),
                in_flight: VecDeque::with_capacity(prefetch + 1),
                window: prefetch,
            }
        } else {
            // A queue of k - 1 plus the batch being filled: k in flight.
            let (tx, rx) = mpsc::sync_channel(prefetch - 1);
            let stop = Arc::new(AtomicBool::new(false));
            let halt = stop.clone();
            let handle = std::thread::Builder::new()
                .name("tfrec-prefetch".into())
                .spawn(move || {
                    while !halt.load(Ordering::Relaxed) {
                        let Some(item) = producer.next_batch() else {
                            break;
                        };
                        let failed = item.is_err();
                        if tx.send(item).is_err() || failed {
                            break;
                        }
                    }
                })
                .map_err(Error::from)?;
            Engine::Background {
                rx: Some(rx),
                stop,
                handle: Some(handle),
            }
        };
        let state = IterState {
            position: batching.first(state.position).min(end),
            ..state
        };
        Ok(Run {
            engine,
            state,
            next_epoch,
            len: end,
            size: batching.size as u64,
            stride: batching.stride(),
            done: state.position >= end,
            failed: false,
        })
    }

    /// The state to save: resuming from it yields the batch after the last
    /// one returned. After the epoch's last batch it is the start of the
    /// next epoch.
    pub(crate) fn state(&self) -> IterState {
        if self.done && !self.failed {
            self.next_epoch
        } else {
            self.state
        }
    }

    pub(crate) fn next(&mut self) -> Option<Result<A::Output>> {
        loop {
            if self.done || self.failed {
                return None;
            }
            match self.next_made()? {
                Ok(batch) => {
                    let planned = (self.len - self.state.position).min(self.size);
                    self.state.position =
                        (self.state.position + planned + self.stride).min(self.len);
                    self.done = self.state.position >= self.len;
                    if A::len(&batch) > 0 {
                        return Some(Ok(batch));
                    }
                }
                Err(e) => {
                    // Stay at the failed batch: the state is not advanced.
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// The next batch the engine made; `None` (and done) at the end.
    fn next_made(&mut self) -> Option<Result<A::Output>> {
        let item = match &mut self.engine {
            Engine::Inline(p) => p.next_batch(),
            Engine::Whole {
                producer,
                in_flight,
                window,
            } => {
                let next = in_flight.pop_front().or_else(|| producer.spawn_next());
                // Keep `window` batches in the making while the caller
                // works on this one.
                while in_flight.len() < *window {
                    let Some(rx) = producer.spawn_next() else {
                        break;
                    };
                    in_flight.push_back(rx);
                }
                next.map(|rx| {
                    rx.recv().unwrap_or_else(|_| {
                        Err(Error::invalid_input(
                            "internal: a batch was dropped before it was assembled",
                        ))
                    })
                })
            }
            Engine::Background { rx, .. } => rx.as_ref().and_then(|rx| rx.recv().ok()),
        };
        if item.is_none() {
            self.done = true;
        }
        item
    }
}

impl<A: Assemble> Drop for Run<A> {
    fn drop(&mut self) {
        match &mut self.engine {
            Engine::Background { rx, stop, handle } => {
                stop.store(true, Ordering::Relaxed);
                drop(rx.take());
                if let Some(h) = handle.take() {
                    let _ = h.join();
                }
            }
            // Nothing of the iterator's goes on running once it is dropped:
            // wait for the batches still being made (at most `prefetch`).
            Engine::Whole { in_flight, .. } => {
                for rx in in_flight.drain(..) {
                    let _ = rx.recv();
                }
            }
            Engine::Inline(_) => {}
        }
    }
}

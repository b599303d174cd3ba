//! Records in the order a dataset of the inputs visits them (`--shuffle`,
//! `--shard`, `--epoch`), for `cat` and `unpack`: the library's dataset
//! gives the order, and each record is fetched by index from uncompressed
//! files or read ahead in compressed ones.
//!
//! Knows nothing of what the commands do with the records. The order,
//! indexes and readers are the library's; the read-ahead of compressed
//! inputs is the one piece of record handling kept here.

use std::borrow::Cow;
use std::collections::HashMap;

use tfrec::index::{FrameBuf, IndexSource, IndexedFile};
use tfrec::pipeline::{Dataset, RecordId};
use tfrec::Reader;

use crate::inputs;
use crate::output::{warn, Failure};

/// The order flags `cat` and `unpack` share.
pub(crate) struct Order {
    shuffle: Option<u64>,
    shard: Option<(usize, usize)>,
    epoch: Option<u64>,
}

impl Order {
    /// The order `--shuffle`, `--shard` and `--epoch` ask for, or `None`
    /// when none is given and the records go in the files' order.
    pub(crate) fn asked(
        shuffle: Option<u64>,
        shard: Option<(usize, usize)>,
        epoch: Option<u64>,
    ) -> Option<Order> {
        (shuffle.is_some() || shard.is_some() || epoch.is_some()).then_some(Order {
            shuffle,
            shard,
            epoch,
        })
    }

    /// Calls `visit` with the id, offset and payload of every record of
    /// `files` in this order, stopping at the first error.
    pub(crate) fn for_each(
        &self,
        files: &[String],
        mut visit: impl FnMut(RecordId, u64, &[u8]) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let ds = ordered_dataset(files, self.shuffle, self.shard)?;
        let mut payloads = Payloads::new(&ds, files)?;
        for id in ds.order(self.epoch.unwrap_or(0)) {
            let (offset, payload) = payloads.get(id)?;
            visit(id, offset, &payload)?;
        }
        Ok(())
    }
}

/// The dataset of `files` shuffled with `shuffle` and sharded as `shard`
/// asks (`RANK/WORLD`).
fn ordered_dataset(
    files: &[String],
    shuffle: Option<u64>,
    shard: Option<(usize, usize)>,
) -> Result<Dataset, Failure> {
    if files.iter().any(|f| f == "-") {
        return Err(Failure::Error(
            "-: stdin cannot be shuffled or sharded (the order needs every record count first)"
                .into(),
        ));
    }
    let mut builder = Dataset::builder().files(files).mmap(inputs::mmap());
    if let Some(seed) = shuffle {
        builder = builder.shuffle(seed);
    }
    if let Some((rank, world)) = shard {
        builder = builder.shard(rank, world);
    }
    let ds = builder.build()?;
    for (file, name) in files.iter().enumerate() {
        if let Some(IndexSource::SidecarRejected { reason }) = ds.index(file).map(|i| i.source()) {
            warn(&format!(
                "tfrec: {name}: sidecar ignored, file rescanned: {reason}"
            ));
        }
    }
    Ok(ds)
}

/// Record payloads fetched in any order: by index from uncompressed files,
/// by reading ahead in compressed ones (keeping what was read past until it
/// is asked for; a dataset's order strays from the files' order by at most
/// its shuffle buffer).
enum Payloads {
    Indexed {
        files: Vec<IndexedFile>,
        buf: FrameBuf,
    },
    Streamed {
        names: Vec<String>,
        readers: Vec<Option<Reader>>,
        ahead: HashMap<RecordId, (u64, Vec<u8>)>,
    },
}

impl Payloads {
    fn new(ds: &Dataset, names: &[String]) -> Result<Payloads, Failure> {
        if !ds.is_random_access() {
            return Ok(Payloads::Streamed {
                names: names.to_vec(),
                readers: names.iter().map(|_| None).collect(),
                ahead: HashMap::new(),
            });
        }
        let mut files = Vec::with_capacity(names.len());
        for (i, path) in ds.paths().iter().enumerate() {
            let Some(index) = ds.index(i) else {
                return Err(Failure::Error(format!("{}: no index", path.display())));
            };
            let mut file = IndexedFile::with_index(path, index.clone())?;
            if inputs::mmap() {
                file = file.mapped()?;
            }
            files.push(file);
        }
        Ok(Payloads::Indexed {
            files,
            buf: FrameBuf::new(),
        })
    }

    /// The offset and payload of record `id`.
    fn get(&mut self, id: RecordId) -> Result<(u64, Cow<'_, [u8]>), Failure> {
        match self {
            Payloads::Indexed { files, buf } => {
                let Some(file) = files.get(id.file) else {
                    return Err(Failure::Error(format!("no file {}", id.file)));
                };
                let index = usize::try_from(id.index)
                    .map_err(|_| Failure::Error(format!("record {} out of reach", id.index)))?;
                let record = file.record(index, buf)?;
                Ok((record.offset, record.payload))
            }
            Payloads::Streamed {
                names,
                readers,
                ahead,
            } => {
                if let Some((offset, payload)) = ahead.remove(&id) {
                    return Ok((offset, Cow::Owned(payload)));
                }
                let (Some(name), Some(slot)) = (names.get(id.file), readers.get_mut(id.file))
                else {
                    return Err(Failure::Error(format!("no file {}", id.file)));
                };
                if slot.is_none() {
                    *slot = Some(inputs::open(name, inputs::options())?);
                }
                let Some(reader) = slot.as_mut() else {
                    return Err(Failure::Error(format!("{name}: not open")));
                };
                loop {
                    let Some(record) = reader.next_record() else {
                        return Err(Failure::Error(format!(
                            "{name}: record {} is missing: the file ended",
                            id.index
                        )));
                    };
                    let record = record?;
                    let payload = record.payload.into_owned();
                    if record.index == id.index {
                        return Ok((record.offset, Cow::Owned(payload)));
                    }
                    let seen = RecordId {
                        file: id.file,
                        index: record.index,
                    };
                    ahead.insert(seen, (record.offset, payload));
                }
            }
        }
    }
}

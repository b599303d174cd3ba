//! `tfrec pack`: `.npy` and JSON-lines inputs written as records, into one
//! file or into shards.
//!
//! Holds no logic the library lacks: it tells the inputs apart by their
//! first bytes and hands what it reads to the library's parsers and
//! writers.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;

use tfrec::example::json::JsonRecord;
use tfrec::example::MapOrder;
use tfrec::write::sharded::{ShardOptions, ShardedWriter};
use tfrec::{AtomicFile, Compression, Tensor, Writer};

use crate::args::{CompressionArg, ShardingArgs};
use crate::output::{report, Failure};

/// Write records into a TFRecord file, one per tensor or JSON line:
/// tensors byte-identical to `tf.io.serialize_tensor`, Examples and
/// SequenceExamples to TensorFlow's `SerializeToString(deterministic=True)`
/// (map entries sorted by name), raw records as given. The output appears
/// only once complete.
///
/// With `--out-dir` the records go into shards instead, exactly as
/// `tfrec convert` writes them (sidecars, manifest, same options), and one
/// line `MANIFEST<TAB>N shards<TAB>R records<TAB>B bytes` is printed.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Output file.
    #[arg(short, long, required_unless_present = "out_dir",
          conflicts_with_all = ["out_dir", "stem", "shards", "records_per_shard", "bytes_per_shard"])]
    output: Option<String>,
    /// Write shards into this directory (created if missing) instead of
    /// one file.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    #[command(flatten)]
    sharding: ShardingArgs,
    /// Compression of the output. With --out-dir it sets the shards'
    /// suffix, as in `tfrec convert`: `.tfrecord`, `.tfrecord.gz` (gzip) or
    /// `.tfrecord.deflate` (zlib).
    #[arg(long, value_enum, default_value = "none")]
    compression: CompressionArg,
    /// Order of feature names in Examples and SequenceExamples. `python`:
    /// what `SerializeToString(deterministic=True)` gives in TensorFlow's
    /// Python (its default protobuf backend puts a name after the names it
    /// is a prefix of: "ab", "a", "b", ""); `cpp`: C++ protobuf's (and the
    /// pure-Python backend's) plain byte order ("", "a", "ab", "b"). The two
    /// differ only when one name is a prefix of another.
    #[arg(long, value_enum, default_value = "python")]
    map_order: MapOrderArg,
    /// `.npy` files (one tensor each) or JSON-lines files in the
    /// `tfrec cat --jsonl` schemas, one record per line, its kind told by
    /// its keys: "dtype" a tensor, "features" an Example, "context" or
    /// "feature_lists" a SequenceExample, "raw" raw bytes. Other keys (such
    /// as "file", "index", "offset") are ignored; keys and names may come in
    /// any order. `-` for stdin. Recognised by content.
    #[arg(required = true)]
    inputs: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MapOrderArg {
    Python,
    Cpp,
}

impl From<MapOrderArg> for MapOrder {
    fn from(order: MapOrderArg) -> MapOrder {
        match order {
            MapOrderArg::Python => MapOrder::Python,
            MapOrderArg::Cpp => MapOrder::Cpp,
        }
    }
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Records gathered before a sharded writer takes them as one batch: about
/// this many serialized bytes...
const BATCH_BYTES: usize = 64 << 20;
/// ...or this many records.
const BATCH_RECORDS: usize = 1 << 16;

/// One record to write.
enum Item {
    /// Serialized by the writer, without an intermediate buffer.
    Tensor(Tensor),
    /// Any other record, serialized already.
    Payload(Vec<u8>),
}

/// Where packed records go.
enum Out {
    File(Writer<AtomicFile>),
    Shards {
        writer: ShardedWriter,
        /// Records in input order waiting for the writer: tensors or
        /// payloads, never both (a change of kind sends the batch).
        tensors: Vec<Tensor>,
        payloads: Vec<Vec<u8>>,
        bytes: usize,
    },
}

impl Out {
    fn put(&mut self, item: Item) -> Result<(), Failure> {
        match self {
            Out::File(w) => match &item {
                Item::Tensor(tensor) => w.write_tensor(tensor)?,
                Item::Payload(payload) => w.write_record(payload)?,
            },
            Out::Shards {
                writer,
                tensors,
                payloads,
                bytes,
            } => {
                match item {
                    Item::Tensor(tensor) => {
                        if !payloads.is_empty() {
                            writer.write_batch(payloads)?;
                            payloads.clear();
                            *bytes = 0;
                        }
                        *bytes += tfrec::proto::tensor::encoded_len(&tensor);
                        tensors.push(tensor);
                    }
                    Item::Payload(payload) => {
                        if !tensors.is_empty() {
                            writer.write_tensors(tensors)?;
                            tensors.clear();
                            *bytes = 0;
                        }
                        *bytes += payload.len();
                        payloads.push(payload);
                    }
                }
                if *bytes >= BATCH_BYTES || tensors.len() + payloads.len() >= BATCH_RECORDS {
                    writer.write_tensors(tensors)?;
                    writer.write_batch(payloads)?;
                    tensors.clear();
                    payloads.clear();
                    *bytes = 0;
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let compression: Compression = args.compression.into();
    let mut out = match (&args.output, &args.out_dir) {
        (Some(output), _) => {
            let mut file = AtomicFile::create(output.as_ref())
                .map_err(|e| tfrec::Error::from(e).with_path(output))?;
            file.set_sync(!args.sharding.no_fsync);
            Out::File(Writer::from_sink(file, compression))
        }
        (None, Some(dir)) => {
            let stem = args.sharding.stem_for(&args.inputs[0]);
            let options = ShardOptions::new(args.sharding.sharding()).compression(compression);
            Out::Shards {
                writer: args.sharding.writer(dir, &stem, options)?,
                tensors: Vec::new(),
                payloads: Vec::new(),
                bytes: 0,
            }
        }
        (None, None) => return Err(Failure::Error("pack: give -o FILE or --out-dir DIR".into())),
    };
    for name in &args.inputs {
        let raw: Box<dyn Read> = if name == "-" {
            Box::new(io::stdin())
        } else {
            Box::new(fs::File::open(name).map_err(|e| format!("{name}: {e}"))?)
        };
        let mut raw = BufReader::with_capacity(1 << 20, raw);
        // Decide by content; a pipe may deliver the magic in pieces.
        let mut prefix = Vec::with_capacity(NPY_MAGIC.len());
        (&mut raw)
            .take(NPY_MAGIC.len() as u64)
            .read_to_end(&mut prefix)
            .map_err(|e| format!("{name}: {e}"))?;
        let is_npy = prefix == NPY_MAGIC;
        let mut input: Box<dyn BufRead> = Box::new(io::Cursor::new(prefix).chain(raw));
        if is_npy {
            let mut bytes = Vec::new();
            input
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{name}: {e}"))?;
            let tensor = tfrec::npy::read_npy(&bytes).map_err(|e| e.with_path(name))?;
            out.put(Item::Tensor(tensor))?;
        } else {
            pack_jsonl(name, input, &mut out, args.map_order.into())?;
        }
    }
    // Dropping the writer on an error above removes the temporary files.
    match out {
        Out::File(writer) => {
            let output = args.output.unwrap_or_default();
            writer.finish().map_err(|e| e.with_path(&output))?;
            Ok(())
        }
        Out::Shards {
            mut writer,
            tensors,
            payloads,
            ..
        } => {
            // At most one of the two holds records.
            writer.write_tensors(&tensors)?;
            writer.write_batch(&payloads)?;
            let dir = writer.dir().to_path_buf();
            let manifest = writer.finish()?;
            report(&dir, &manifest)
        }
    }
}

fn pack_jsonl(
    name: &str,
    input: Box<dyn BufRead>,
    out: &mut Out,
    order: MapOrder,
) -> Result<(), Failure> {
    for (lineno, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("{name}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = JsonRecord::from_json_line(&line)
            .map_err(|e| format!("{name}: line {}: {e}", lineno + 1))?;
        out.put(match record {
            JsonRecord::Tensor(tensor) => Item::Tensor(tensor),
            JsonRecord::Raw(bytes) => Item::Payload(bytes),
            other => Item::Payload(other.to_payload_with(order)),
        })?;
    }
    Ok(())
}

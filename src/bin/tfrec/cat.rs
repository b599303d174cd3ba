//! `tfrec cat`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::time::Duration;

use tfrec::example::json::{write_example_json, write_raw_json, write_sequence_example_json};
use tfrec::example::{ExampleView, RecordKind, SequenceExampleView};
use tfrec::index::{FrameBuf, IndexSource, IndexedFile};
use tfrec::pipeline::{Dataset, RecordId};
use tfrec::read::Follow;
use tfrec::{Reader, TensorView};

use crate::inputs::{self, AsKind};
use crate::{describe, Failure};

/// How `tfrec cat` prints records without `--jsonl` (its help's epilogue).
pub(crate) const LINE_FORMS: &str = "\
Each record is read as what it holds (--as forces a kind) and printed on one line:
  tensor           FILE:INDEX<TAB>DTYPE[SHAPE]<TAB>[v0, v1, ...]
  Example          FILE:INDEX<TAB>example<TAB>NAME=int64[3] [1, 2, 3]; NAME=float[0] []; NAME=none
  SequenceExample  FILE:INDEX<TAB>sequence_example<TAB>context: NAME=...<TAB>feature_lists: NAME=steps[S] STEP | STEP | ...
  anything else    FILE:INDEX<TAB>raw<TAB>N bytes<TAB>b\"...\"
A feature is KIND[N] (int64, float, bytes; `none` when no kind is set) and its first 8 values;
a byte string shows its first 32 bytes, a feature list its first 4 steps; names are escaped
like Rust strings; (none) stands for no features or lists.";

/// Print every record, one line each, or one JSON object per record with
/// `--jsonl`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// One JSON object per record, "file", "index" and "offset" first.
    /// Tensors: "dtype", "shape", "data" (base64 of the little-endian
    /// bytes; string tensors "strings", a list of base64). Examples:
    /// "features": {NAME: {"int64_list": [ints]} | {"float_list": [numbers,
    /// "nan", "inf", "-inf"]} | {"bytes_list": [base64, ...]} | {}}.
    /// SequenceExamples: "context" (like "features") and "feature_lists":
    /// {NAME: [feature, ...]}. Anything else: "raw", base64 of the payload.
    #[arg(long)]
    jsonl: bool,
    /// Read every record as this kind instead of detecting it; a record
    /// that is not one is an error (with --skip-corrupt: reported and
    /// skipped). Detection calls a record a tensor only if it is a valid
    /// TensorProto, an Example or SequenceExample only if it has no unknown
    /// fields, and anything else raw.
    #[arg(long = "as", value_enum, value_name = "KIND")]
    as_kind: Option<AsKind>,
    /// Print the records in the order a dataset of these files shuffled
    /// with SEED visits them (a global permutation per epoch; compressed
    /// files stream through a shuffle buffer).
    #[arg(long, value_name = "SEED")]
    shuffle: Option<u64>,
    /// The epoch whose order to print (default 0).
    #[arg(long, value_name = "E")]
    epoch: Option<u64>,
    /// Print only the records of rank RANK of WORLD ranks, in that rank's
    /// order (after the shuffle).
    #[arg(long, value_name = "RANK/WORLD", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Skip damaged records instead of stopping at the first: go on at the
    /// next sound frame. Each skipped stretch (and each record that is not
    /// the kind --as asks for) is reported on stderr with its file, offset,
    /// size and reason; the exit status stays 0 unless --max-skipped is
    /// exceeded.
    #[arg(long, conflicts_with_all = ["shuffle", "shard", "epoch"])]
    skip_corrupt: bool,
    /// With --skip-corrupt: fail (exit 1) once more than N damaged stretches
    /// have been skipped in one file.
    #[arg(long, value_name = "N", requires = "skip_corrupt")]
    max_skipped: Option<u64>,
    /// Follow files still being written, like `tail -f`: at the end of a
    /// file, or in a record not yet whole, wait for more instead of ending.
    /// Uncompressed files only; stdin waits by itself.
    #[arg(long, conflicts_with_all = ["shuffle", "shard", "epoch"])]
    follow: bool,
    /// With --follow: stop once a file has not grown for SECS seconds (at a
    /// record boundary that is a clean end; inside a record, a truncated
    /// record error). Default: wait forever.
    #[arg(long, value_name = "SECS", requires = "follow")]
    idle_timeout: Option<f64>,
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin.
    #[arg(required = true)]
    pub(crate) files: Vec<String>,
}

pub(crate) fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (rank, world) = text
        .split_once('/')
        .ok_or_else(|| format!("expected RANK/WORLD, got {text:?}"))?;
    let rank: usize = rank.trim().parse().map_err(|e| format!("rank: {e}"))?;
    let world: usize = world.trim().parse().map_err(|e| format!("world: {e}"))?;
    if world == 0 || rank >= world {
        return Err(format!("rank {rank} must be below world size {world}"));
    }
    Ok((rank, world))
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    cat_all(&args, &mut out)?;
    out.flush()?;
    Ok(())
}

fn cat_all(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    if args.shuffle.is_some() || args.shard.is_some() || args.epoch.is_some() {
        return cat_ordered(args, out);
    }
    let mut line = String::new();
    for name in &args.files {
        let mut reader = open(args, name)?;
        while let Some(record) = reader.next_record() {
            let record = record?;
            print_record(
                args,
                out,
                &mut line,
                name,
                record.index,
                record.offset,
                &record.payload,
            )?;
            if args.follow {
                out.flush()?;
            }
        }
    }
    Ok(())
}

/// One record read as what `--as` asks for, or as what it holds.
enum Shown<'a> {
    Tensor(TensorView<'a>),
    Example(ExampleView<'a>),
    SequenceExample(SequenceExampleView<'a>),
    Raw(&'a [u8]),
}

fn read_as(payload: &[u8], as_kind: Option<AsKind>) -> tfrec::Result<Shown<'_>> {
    let kind = match as_kind {
        Some(AsKind::Tensor) => return TensorView::decode(payload).map(Shown::Tensor),
        Some(AsKind::Example) => return ExampleView::parse(payload).map(Shown::Example),
        Some(AsKind::Sequence) => {
            return SequenceExampleView::parse(payload).map(Shown::SequenceExample)
        }
        Some(AsKind::Raw) => return Ok(Shown::Raw(payload)),
        None => RecordKind::detect(payload),
    };
    // Detection parsed the payload already; should a second parse fail
    // all the same, the record is shown raw rather than lost.
    let shown = match kind {
        RecordKind::Tensor => TensorView::decode(payload).ok().map(Shown::Tensor),
        RecordKind::Example => ExampleView::parse(payload).ok().map(Shown::Example),
        RecordKind::SequenceExample => SequenceExampleView::parse(payload)
            .ok()
            .map(Shown::SequenceExample),
        RecordKind::Raw => None,
    };
    Ok(shown.unwrap_or(Shown::Raw(payload)))
}

/// Prints one record, or with --skip-corrupt reports one that is not the
/// kind asked for.
fn print_record(
    args: &Args,
    out: &mut impl Write,
    line: &mut String,
    name: &str,
    index: u64,
    offset: u64,
    payload: &[u8],
) -> Result<(), Failure> {
    let shown = match read_as(payload, args.as_kind) {
        Ok(shown) => shown,
        Err(e) => {
            let e = e.at_record(offset, index).with_path(name);
            if args.skip_corrupt {
                out.flush()?;
                crate::warn(&format!("tfrec: {e}"));
                return Ok(());
            }
            return Err(e.into());
        }
    };
    if args.jsonl {
        match &shown {
            Shown::Tensor(t) => tfrec::json::write_record_json(out, name, index, offset, t)?,
            Shown::Example(ex) => write_example_json(out, name, index, offset, ex)?,
            Shown::SequenceExample(seq) => {
                write_sequence_example_json(out, name, index, offset, seq)?
            }
            Shown::Raw(bytes) => write_raw_json(out, name, index, offset, bytes)?,
        }
    } else {
        line.clear();
        match &shown {
            Shown::Tensor(t) => describe::tensor(line, name, index, t),
            Shown::Example(ex) => describe::example(line, name, index, ex),
            Shown::SequenceExample(seq) => describe::sequence_example(line, name, index, seq),
            Shown::Raw(bytes) => describe::raw(line, name, index, bytes),
        }
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Opens one input with the policies the flags ask for.
fn open(args: &Args, name: &str) -> Result<Reader, Failure> {
    let options = inputs::options_skipping(args.skip_corrupt, args.max_skipped);
    let reader = if args.follow && name != "-" {
        let mut follow = Follow::new();
        if let Some(secs) = args.idle_timeout {
            let idle = Duration::try_from_secs_f64(secs)
                .map_err(|e| Failure::Error(format!("--idle-timeout {secs}: {e}")))?;
            follow = follow.idle_timeout(idle);
        }
        Reader::follow(name, options, follow)?
    } else {
        inputs::open(name, options)?
    };
    Ok(inputs::report_skips(reader))
}

/// The records in a dataset's order for one rank and epoch.
fn cat_ordered(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let ds = ordered_dataset(&args.files, args.shuffle, args.shard)?;
    let mut records = Payloads::new(&ds, &args.files)?;
    let mut line = String::new();
    for id in ds.order(args.epoch.unwrap_or(0)) {
        let name = args.files.get(id.file).map_or("", String::as_str);
        let (offset, payload) = records.get(id)?;
        print_record(args, out, &mut line, name, id.index, offset, &payload)?;
    }
    Ok(())
}

/// The dataset of `files` shuffled with `shuffle` and sharded as `shard`
/// asks (`RANK/WORLD`), for `cat` and `unpack`.
pub(crate) fn ordered_dataset(
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
            crate::warn(&format!(
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
pub(crate) enum Payloads {
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
    pub(crate) fn new(ds: &Dataset, names: &[String]) -> Result<Payloads, Failure> {
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
    pub(crate) fn get(&mut self, id: RecordId) -> Result<(u64, Cow<'_, [u8]>), Failure> {
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

//! `tfrec unpack`: tensor records written as `.npy` files.
//!
//! Holds no logic the library lacks: the library decodes the records and
//! writes the files (`tfrec::npy::NpyDir`); this module says which records
//! go and where each went.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use tfrec::example::RecordKind;
use tfrec::npy::{Bf16As, NpyDir, NpyDirOptions, NpyOutput, Placement};
use tfrec::{DType, ErrorKind, TensorView};

use crate::args::{default_stem, parse_shard};
use crate::inputs;
use crate::order::Order;
use crate::output::Failure;

/// What `tfrec unpack --help` says after the options.
const DETAILS: &str = "\
Files (the position is the record's place in the output order, from 0, across all inputs; with
--shuffle/--shard/--epoch that order is the one `tfrec cat` prints with the same flags):
  one per record   DIR/STEM-POSITION.npy, POSITION zero-padded to 5 digits (more if the count needs
                   them), so that sorted names are the output order
  --stack          DIR/STEM.DTYPE.SHAPE.npy of shape [N, ...SHAPE]: DTYPE as TensorFlow names it,
                   SHAPE the record's dimensions joined by x (`scalar` for rank 0); rows in output order
Each file is byte for byte what numpy.save writes for the tensor (or, stacked, for numpy.stack of
them): format 1.0 (2.0 if the header needs it), C order, little-endian (<f4, <i8, |b1, <c16, ...);
numpy.load gives the exact dtype, shape and bytes back, and `tfrec pack` of the files gives the
same records (so np.save, pack, unpack gives the same bytes for C-order little-endian arrays with
|S as wide as needed).
Strings are |S arrays as wide as the longest element. numpy strips trailing NUL bytes from |S
elements, so a record with an element that ends in NUL is refused (no pickled object arrays are
written, so nothing needs allow_pickle).
bfloat16 has no .npy dtype: refused unless --bf16-as says what to write.
All or nothing: files are written under hidden temporary names in DIR and renamed into place only
once every record is written; any error (a record that is not a tensor, a refused tensor, a read
error) leaves none of this run's files. Other files in DIR are left alone; files of the same names
are replaced. Temporary files a killed run of the same stem left in DIR are removed first.";

/// Write tensor records as `.npy` files: one per record, or stacked.
#[derive(clap::Args)]
#[command(after_help = DETAILS)]
pub(crate) struct Args {
    /// Directory for the `.npy` files (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// File name stem [default: the first input's name without its
    /// extensions and any -NNNNN-of-NNNNN suffix; `data` for stdin].
    #[arg(long, value_name = "NAME")]
    stem: Option<String>,
    /// Stack records of one dtype and shape into one `.npy` of shape
    /// [N, ...]: one file per (dtype, shape), at most 256.
    #[arg(long)]
    stack: bool,
    /// What to write for bfloat16 tensors, which `.npy` has no dtype for:
    /// `float32` the same values (exact), `uint16` the raw bits
    /// (`np.load(f).view(ml_dtypes.bfloat16)` restores them). Without it
    /// a bfloat16 record is an error.
    #[arg(long, value_enum, value_name = "DTYPE")]
    bf16_as: Option<Bf16Arg>,
    /// Write the records in the order a dataset of these files shuffled
    /// with SEED visits them (as `tfrec cat --shuffle SEED` prints them).
    #[arg(long, value_name = "SEED")]
    shuffle: Option<u64>,
    /// The epoch whose order to write (default 0).
    #[arg(long, value_name = "E")]
    epoch: Option<u64>,
    /// Write only the records of rank RANK of WORLD ranks, in that rank's
    /// order (after the shuffle).
    #[arg(long, value_name = "RANK/WORLD", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Print where each record went, one line each in output order:
    /// `NAME<TAB>FILE:INDEX`, or with --stack `NAME[ROW]<TAB>FILE:INDEX`.
    #[arg(long)]
    list: bool,
    /// Do not fsync the files and the directory (scratch output: a crash of
    /// the machine may lose data; a killed process still leaves only whole
    /// files under final names).
    #[arg(long)]
    no_fsync: bool,
    /// TFRecord files of tensors (uncompressed, GZIP or ZLIB); `-` for
    /// stdin.
    #[arg(required = true)]
    pub(crate) files: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Bf16Arg {
    Float32,
    Uint16,
}

impl From<Bf16Arg> for Bf16As {
    fn from(arg: Bf16Arg) -> Bf16As {
        match arg {
            Bf16Arg::Float32 => Bf16As::Float32,
            Bf16Arg::Uint16 => Bf16As::Uint16,
        }
    }
}

/// Where one record came from.
struct Source {
    file: usize,
    index: u64,
    placed: Placement,
}

/// The output directory and what has gone into it.
struct Unpacker<'a> {
    args: &'a Args,
    out: NpyDir,
    /// With --list: every record's source, in output order.
    sources: Vec<Source>,
}

impl Unpacker<'_> {
    /// Writes one record, or fails naming it.
    fn put(&mut self, file: usize, index: u64, offset: u64, payload: &[u8]) -> Result<(), Failure> {
        let name = self.args.files.get(file).map_or("", String::as_str);
        let at = |e: tfrec::Error| e.at_record(offset, index).with_path(name);
        let tensor = tensor_of(payload).map_err(at)?;
        if tensor.dtype() == DType::BF16 && self.args.bf16_as.is_none() {
            return Err(Failure::Error(format!(
                "{name}: record {index} at offset {offset}: bfloat16 has no .npy dtype; \
                 pass --bf16-as float32 (the same values) or --bf16-as uint16 (the raw bits)"
            )));
        }
        let placed = self.out.write(&tensor).map_err(at)?;
        if self.args.list {
            self.sources.push(Source {
                file,
                index,
                placed,
            });
        }
        Ok(())
    }
}

/// The tensor a record holds, or an error saying what it holds instead.
fn tensor_of(payload: &[u8]) -> tfrec::Result<TensorView<'_>> {
    let error = match TensorView::decode(payload) {
        Ok(tensor) => return Ok(tensor),
        Err(e) => e,
    };
    let what = match RecordKind::detect(payload) {
        RecordKind::Example => "a tf.train.Example",
        RecordKind::SequenceExample => "a tf.train.SequenceExample",
        RecordKind::Tensor | RecordKind::Raw => return Err(error),
    };
    Err(tfrec::Error::new(ErrorKind::InvalidTensor {
        reason: format!("the record is {what}, not a tensor; unpack writes tensor records only"),
    }))
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    // A missing input is reported before anything is created.
    for name in args.files.iter().filter(|n| n.as_str() != "-") {
        std::fs::metadata(name).map_err(|e| tfrec::Error::from(e).with_path(name))?;
    }
    let stem = match &args.stem {
        Some(stem) => stem.clone(),
        None => default_stem(args.files.first().map_or("-", String::as_str)),
    };
    let options = NpyDirOptions::new()
        .stack(args.stack)
        .bf16(args.bf16_as.map_or(Bf16As::Error, Bf16As::from))
        .sync(!args.no_fsync);
    let out = NpyDir::create(&args.out_dir, &stem, options)?;
    NpyDir::cleanup(&args.out_dir, &stem)?;
    let mut unpacker = Unpacker {
        args: &args,
        out,
        sources: Vec::new(),
    };
    // An early return drops the directory writer, which removes every
    // temporary file: nothing of this run appears.
    if let Some(order) = Order::asked(args.shuffle, args.shard, args.epoch) {
        order.for_each(&args.files, |id, offset, payload| {
            unpacker.put(id.file, id.index, offset, payload)
        })?;
    } else {
        for (file, name) in args.files.iter().enumerate() {
            let mut reader = inputs::open(name, inputs::options())?;
            while let Some(record) = reader.next_record() {
                let record = record?;
                unpacker.put(file, record.index, record.offset, &record.payload)?;
            }
        }
    }
    let Unpacker { out, sources, .. } = unpacker;
    let outputs = out.finish()?;
    if args.list {
        list(&args, &outputs, &sources)?;
    }
    Ok(())
}

/// `--list`: one line per record, in output order.
fn list(args: &Args, outputs: &[NpyOutput], sources: &[Source]) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for source in sources {
        let name = outputs
            .get(source.placed.file)
            .and_then(|o| o.path.file_name())
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let file = args.files.get(source.file).map_or("", String::as_str);
        if args.stack {
            writeln!(
                out,
                "{name}[{}]\t{file}:{}",
                source.placed.row, source.index
            )?;
        } else {
            writeln!(out, "{name}\t{file}:{}", source.index)?;
        }
    }
    out.flush()?;
    Ok(())
}

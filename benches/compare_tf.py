#!/usr/bin/env python3
"""Side-by-side benchmark: tfrec against TensorFlow's own TFRecord reader.

    .venv/bin/python benches/compare_tf.py [--tfrec target/release/tfrec]
        [--data-dir bench-data] [--repeat 5] [--small] [--tf-only]
        [--only NAME ...]

Input files are written with TensorFlow (TFRecordWriter + serialize_tensor)
into the data directory and reused on later runs:

    images.tfrecord      10,000 uint8[128,128,3] random tensors (~490 MB)
    images.gz.tfrecord   the same records, GZIP
    small.tfrecord       200,000 float32[16] random tensors
    small.gz.tfrecord    the same records, GZIP
    examples.tfrecord    200,000 tf.train.Example: "label" int64, "x" 16
                         random floats, "img" 1 KiB of random bytes (~230 MB)

--small divides the record counts by 10 (and keeps its files in a "small"
subdirectory of the data directory) for a quick smoke run.

For each benchmark the file is first read once to warm the page cache, then
the best wall time of --repeat runs is taken for
  - TensorFlow: iterating tf.data.TFRecordDataset(..., buffer_size=8 MiB)
    .batch(256) to the end in eager mode, timed in-process;
  - tfrec: the whole `tfrec SUBCOMMAND FILE` process, stdout discarded,
    exit code checked.
Rows marked tf="parse_example" time TensorFlow's
TFRecordDataset(...).batch(256).map(lambda b: tf.io.parse_example(b, SPEC))
iterated to the end, against a tfrec example program that parses the same
batches with the same spec through a Dataset.
Rows marked tf="copy" (convert) time TensorFlow's read -> write loop instead:
every record of TFRecordDataset written with tf.io.TFRecordWriter to a new
file next to the input; tfrec writes into a fresh directory there ("{out}").
Outputs are deleted after each run, outside the timing.

To add a benchmark, append a Bench(...) to BENCHES.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20240611
TF_BUFFER_SIZE = 8 * 1024 * 1024
TF_BATCH = 256
MiB = 1024 * 1024


# --------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class DataFile:
    name: str            # file name inside the data directory
    dtype: str           # numpy dtype of each tensor
    shape: tuple         # shape of each tensor
    count: int           # number of records at full size
    compression: str     # "", "GZIP" or "ZLIB"
    source: str = None   # name of an uncompressed DataFile to recompress

    def meta(self, count):
        return {"dtype": self.dtype, "shape": list(self.shape), "count": count,
                "compression": self.compression, "seed": SEED, "source": self.source}


DATA = {d.name: d for d in [
    DataFile("images.tfrecord", "uint8", (128, 128, 3), 10_000, ""),
    DataFile("small.tfrecord", "float32", (16,), 200_000, ""),
    DataFile("images.gz.tfrecord", "uint8", (128, 128, 3), 10_000, "GZIP", "images.tfrecord"),
    DataFile("small.gz.tfrecord", "float32", (16,), 200_000, "GZIP", "small.tfrecord"),
    # dtype "example": tf.train.Example records of EXAMPLE_SPEC's features.
    DataFile("examples.tfrecord", "example", (), 200_000, ""),
]}

EXAMPLE_BYTES = 1024
EXAMPLE_FLOATS = 16


def example_spec():
    """The parse spec of examples.tfrecord, as tf.io.parse_example takes it."""
    return {
        "label": tf.io.FixedLenFeature([], tf.int64),
        "x": tf.io.FixedLenFeature([EXAMPLE_FLOATS], tf.float32),
        "img": tf.io.FixedLenFeature([], tf.string),
    }


def serialized_examples(spec, count, chunk=1000):
    """Yield serialized tf.train.Examples: a random int64 label, 16 random
    floats and 1 KiB of random bytes each."""
    rng = np.random.default_rng([SEED, sum(spec.name.encode())])
    done = 0
    while done < count:
        n = min(chunk, count - done)
        labels = rng.integers(0, 1000, size=n)
        floats = rng.standard_normal((n, EXAMPLE_FLOATS), dtype=np.float32)
        blobs = rng.integers(0, 256, size=(n, EXAMPLE_BYTES), dtype=np.uint8)
        for i in range(n):
            yield tf.train.Example(features=tf.train.Features(feature={
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(labels[i])])),
                "x": tf.train.Feature(float_list=tf.train.FloatList(value=floats[i])),
                "img": tf.train.Feature(bytes_list=tf.train.BytesList(value=[blobs[i].tobytes()])),
            })).SerializeToString()
        done += n


def random_chunks(spec, count, chunk=1000):
    """Deterministic random tensors for a data file, in numpy chunks."""
    rng = np.random.default_rng([SEED, sum(spec.name.encode())])
    done = 0
    while done < count:
        n = min(chunk, count - done)
        shape = (n, *spec.shape)
        if spec.dtype == "uint8":
            arr = rng.integers(0, 256, size=shape, dtype=np.uint8)
        else:
            arr = rng.standard_normal(shape, dtype=np.float32)
        yield arr
        done += n


def serialized(spec, count):
    """Yield serialize_tensor payloads, using tf.data to keep this quick."""
    for arr in random_chunks(spec, count):
        ds = tf.data.Dataset.from_tensor_slices(arr).map(tf.io.serialize_tensor).batch(1024)
        for batch in ds:
            yield from batch.numpy()


def ensure_file(data_dir, name, scale):
    """Create the data file unless a matching one is already there."""
    spec = DATA[name]
    count = spec.count // scale
    path = os.path.join(data_dir, name)
    meta_path = path + ".meta.json"
    meta = spec.meta(count)
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            if json.load(f) == meta:
                return path
    if spec.source:
        src = ensure_file(data_dir, spec.source, scale)
        payloads = (r.numpy() for r in tf.data.TFRecordDataset(src, buffer_size=TF_BUFFER_SIZE))
    elif spec.dtype == "example":
        payloads = serialized_examples(spec, count)
    else:
        payloads = serialized(spec, count)
    log(f"generating {path} ({count} records) ...")
    t0 = time.perf_counter()
    tmp = path + ".partial"
    options = tf.io.TFRecordOptions(compression_type=spec.compression)
    n = 0
    with tf.io.TFRecordWriter(tmp, options) as w:
        for p in payloads:
            w.write(p)
            n += 1
    if n != count:
        raise SystemExit(f"error: wrote {n} records to {tmp}, expected {count}")
    os.replace(tmp, path)
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    log(f"  done in {time.perf_counter() - t0:.1f} s, {os.path.getsize(path) / 1e6:.1f} MB")
    return path


# --------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------

@dataclass
class Bench:
    name: str                 # row label
    file: str                 # key into DATA
    tfrec_args: list          # tfrec argv after the binary; the path is appended
    target: float             # required speed ratio tfrec / TensorFlow
    notes: str = ""
    # Another executable instead of tfrec (path relative to the repository).
    program: str = ""
    # TensorFlow's side: "read" iterates the records, "parse" also decodes
    # each with tf.io.parse_tensor (time_tf_parse), "parse_example" parses
    # batches of Examples with tf.io.parse_example (time_tf_parse_example),
    # "copy" writes every record read to a new file with TFRecordWriter
    # (time_tf_copy).
    tf: str = "read"
    result: dict = field(default_factory=dict)


BENCHES = [
    Bench("verify images", "images.tfrecord", ["verify"], 10.0),
    Bench("count small", "small.tfrecord", ["count"], 20.0),
    Bench("count small gzip", "small.gz.tfrecord", ["count"], 2.0),
    Bench("count images gzip", "images.gz.tfrecord", ["count"], 2.0),
    Bench("stats images", "images.tfrecord", ["stats"], 5.0, tf="parse"),
    Bench("stats small", "small.tfrecord", ["stats"], 200.0, tf="parse"),
    # "{out}" is a fresh output directory per run, deleted after it.
    Bench("convert images --shards 4", "images.tfrecord",
          ["convert", "--shards", "4", "--no-fsync", "--out-dir", "{out}"], 5.0,
          notes="no fsync", tf="copy"),
    # Examples parsed into batched tensors (label int64[256], x
    # float32[256,16], img string[256]) through a Dataset by
    # examples/parse_examples.rs, against TFRecordDataset.batch(256)
    # .map(tf.io.parse_example).
    Bench("parse examples", "examples.tfrecord", [], 20.0,
          program="target/release/examples/parse_examples", tf="parse_example"),
    # Reference, not a tfrec command: bare parallel pread + CRC32C of every
    # byte (examples/read_floor.rs), the most any checking reader can do.
    Bench("floor: pread+crc32c only", "images.tfrecord", [], 0.0,
          program="target/release/examples/read_floor"),
]


def warm_page_cache(path):
    with open(path, "rb", buffering=0) as f:
        while f.read(16 * MiB):
            pass


def time_tf(path, compression):
    ds = tf.data.TFRecordDataset(path, compression_type=compression,
                                 buffer_size=TF_BUFFER_SIZE).batch(TF_BATCH)
    t0 = time.perf_counter()
    for _ in ds:
        pass
    return time.perf_counter() - t0


def time_tf_parse(path, compression, dtype):
    """TFRecordDataset.map(parse_tensor, AUTOTUNE).batch(256), iterated to the end."""
    out_type = tf.dtypes.as_dtype(dtype)
    ds = (tf.data.TFRecordDataset(path, compression_type=compression,
                                  buffer_size=TF_BUFFER_SIZE)
          .map(lambda r: tf.io.parse_tensor(r, out_type), num_parallel_calls=tf.data.AUTOTUNE)
          .batch(TF_BATCH))
    t0 = time.perf_counter()
    for _ in ds:
        pass
    return time.perf_counter() - t0


def time_tf_parse_example(path, compression):
    """TFRecordDataset.batch(256).map(parse_example), iterated to the end."""
    spec = example_spec()
    ds = (tf.data.TFRecordDataset(path, compression_type=compression,
                                  buffer_size=TF_BUFFER_SIZE)
          .batch(TF_BATCH)
          .map(lambda b: tf.io.parse_example(b, spec)))
    t0 = time.perf_counter()
    for _ in ds:
        pass
    return time.perf_counter() - t0


def time_tf_copy(path, compression):
    """TFRecordDataset -> TFRecordWriter, record by record, into a new file."""
    out_dir = tempfile.mkdtemp(prefix="tf-copy-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        out = os.path.join(out_dir, "copy.tfrecord")
        ds = tf.data.TFRecordDataset(path, compression_type=compression,
                                     buffer_size=TF_BUFFER_SIZE)
        t0 = time.perf_counter()
        with tf.io.TFRecordWriter(out) as w:
            for record in ds:
                w.write(record.numpy())
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def time_tfrec(tfrec, args, path):
    out_dir = None
    if "{out}" in args:
        out_dir = tempfile.mkdtemp(prefix="tfrec-out-", dir=os.path.dirname(os.path.abspath(path)))
        args = [out_dir if a == "{out}" else a for a in args]
    argv = [tfrec, *args, path]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if out_dir:
        shutil.rmtree(out_dir, ignore_errors=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}: {err}")
    return elapsed


def best_of(repeat, fn, *args):
    return min(fn(*args) for _ in range(repeat))


def run_bench(bench, path, tfrec, repeat):
    spec = DATA[bench.file]
    size = os.path.getsize(path)
    warm_page_cache(path)
    r = {"size": size}
    log(f"{bench.name}: TensorFlow x{repeat} ...")
    if bench.tf == "parse":
        r["tf_s"] = best_of(repeat, time_tf_parse, path, spec.compression, spec.dtype)
    elif bench.tf == "parse_example":
        r["tf_s"] = best_of(repeat, time_tf_parse_example, path, spec.compression)
    elif bench.tf == "copy":
        r["tf_s"] = best_of(repeat, time_tf_copy, path, spec.compression)
    else:
        r["tf_s"] = best_of(repeat, time_tf, path, spec.compression)
    if tfrec:
        log(f"{bench.name}: tfrec {' '.join(bench.tfrec_args)} x{repeat} ...")
        try:
            program = os.path.join(REPO, bench.program) if bench.program else tfrec
            r["tfrec_s"] = best_of(repeat, time_tfrec, program, bench.tfrec_args, path)
        except RuntimeError as e:
            r["error"] = str(e)
            log(f"  {e}")
    bench.result = r


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def human_size(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def core_count():
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return f"{usable} usable ({os.cpu_count()} online)" if usable != os.cpu_count() else str(usable)


def tfrec_version(tfrec):
    try:
        p = subprocess.run([tfrec, "--version"], capture_output=True, timeout=30)
        return p.stdout.decode().strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def table(benches):
    head = ["benchmark", "file size", "TensorFlow s", "tfrec s", "TF GB/s", "tfrec GB/s",
            "ratio (tfrec speed / TF speed)", "target"]
    rows = [head, ["---"] * len(head)]
    for b in benches:
        r = b.result
        if not r:
            continue
        size, tf_s, fr_s = r["size"], r["tf_s"], r.get("tfrec_s")
        if fr_s is not None:
            ratio = tf_s / fr_s
            verdict = "met" if ratio >= b.target else "NOT met"
            target = f"≥{b.target:g}× ({verdict})" if b.target else "reference"
            cells = [f"{fr_s:.3f}", f"{size / fr_s / 1e9:.2f}", f"{ratio:.1f}×", target]
        else:
            what = "failed" if "error" in r else "n/a"
            cells = [what, what, what, f"≥{b.target:g}×"]
        rows.append([b.name + (f" ({b.notes})" if b.notes else ""), human_size(size),
                     f"{tf_s:.3f}", cells[0], f"{size / tf_s / 1e9:.2f}", *cells[1:]])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description="Benchmark tfrec against TensorFlow's TFRecord reader.")
    ap.add_argument("--tfrec", default=os.path.join(REPO, "target", "release", "tfrec"),
                    help="tfrec binary (default: target/release/tfrec)")
    ap.add_argument("--data-dir", default=os.path.join(REPO, "bench-data"),
                    help="where the input files are generated and cached (default: bench-data)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement; the best counts")
    ap.add_argument("--small", action="store_true", help="10x fewer records, for smoke tests")
    ap.add_argument("--tf-only", action="store_true", help="measure TensorFlow only")
    ap.add_argument("--only", nargs="+", metavar="NAME",
                    help="run only the benchmarks whose name contains one of these words")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    benches = [b for b in BENCHES
               if not args.only or any(w in b.name for w in args.only)]
    if not benches:
        sys.exit("error: --only matched no benchmark; names: " + ", ".join(b.name for b in BENCHES))

    def executable(path):
        return os.path.isfile(path) and os.access(path, os.X_OK)

    tfrec = None
    if not args.tf_only:
        tfrec = os.path.abspath(args.tfrec)
        # Only the programs the selected rows run need to exist.
        if any(not b.program for b in benches) and not executable(tfrec):
            sys.exit(f"error: {tfrec} is not an executable; build it with "
                     "`cargo build --release` or pass --tfrec PATH (or --tf-only)")
        missing = [b for b in benches
                   if b.program and not executable(os.path.join(REPO, b.program))]
        for b in missing:
            how = (f"{b.program} is not built "
                   f"(`cargo build --release --example {os.path.basename(b.program)}`)")
            if args.only:
                sys.exit(f"error: {how}")
            log(f"skipping {b.name!r}: {how}")
        benches = [b for b in benches if b not in missing]

    scale = 10 if args.small else 1
    data_dir = os.path.join(args.data_dir, "small") if args.small else args.data_dir
    os.makedirs(data_dir, exist_ok=True)
    paths = {b.file: ensure_file(data_dir, b.file, scale) for b in benches}

    for b in benches:
        run_bench(b, paths[b.file], tfrec, args.repeat)

    print(f"TensorFlow {tf.__version__} (eager, TFRecordDataset buffer_size=8 MiB, batch {TF_BATCH})")
    if tfrec and executable(tfrec):
        print(f"tfrec: {tfrec} ({tfrec_version(tfrec)})")
    print(f"CPU: {cpu_model()}")
    print(f"cores: {core_count()}")
    print(f"best of {args.repeat} runs, page cache warm{'; --small data set' if args.small else ''}")
    print()
    print(table(benches))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tensorflow": tf.__version__, "cpu": cpu_model(), "cores": os.cpu_count(),
                       "small": args.small, "repeat": args.repeat,
                       "results": [{"name": b.name, "file": b.file, "target": b.target, **b.result}
                                   for b in benches]}, f, indent=2)

    failed = [b.name for b in benches if "error" in b.result]
    if failed:
        sys.exit(f"error: tfrec failed in: {', '.join(failed)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Side-by-side benchmark: tfrec.ray.read_tfrecords against ray.data.read_tfrecords.

    PYTHONPATH=<tfrec package> python benches/compare_ray.py
        [--data-dir DIR] [--num-cpus 2] [--limit N] [--small]

The input is compare_python_dataset.py's Example file, written by
TensorFlow into the data directory and reused on later runs:

    examples-200000.tfrecord   200,000 tf.train.Example: "label" int64, "x" 16
                               random floats, "img" 1 KiB of random bytes

Both readers run on the same local Ray cluster (``ray.init(num_cpus=...)``)
in the same run, and each pass is counted by pulling every block to the
driver and adding up its rows (``ds.count()`` alone may answer from the
read tasks' metadata without reading). A warm-up pass of each fills the
page cache and starts the workers; then one timed pass of each:

    tfrec   tfrec.ray.read_tfrecords(path, spec=SPEC)
    ray     ray.data.read_tfrecords(path)   (parses with TensorFlow's protos in Python)

Ray's reader takes about two minutes for the whole file; ``--limit N`` gives
it a file of the first N records instead (a byte-identical prefix) and its
rate is scaled from that. The ratio compares rows per second.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ray  # noqa: E402
import ray.data  # noqa: E402

import tfrec  # noqa: E402
import tfrec.ray  # noqa: E402
from compare_python_dataset import write_examples  # noqa: E402

SPEC = {
    "label": tfrec.FixedLen([], "int64"),
    "x": tfrec.FixedLen([16], "float32"),
    "img": tfrec.FixedLen([], "string"),
}


def count_rows(ds: ray.data.Dataset) -> int:
    n = 0
    for block in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
        n += block.num_rows
    return n


def timed(make) -> tuple[float, int]:
    count_rows(make())  # warm: page cache, workers, imports
    t0 = time.perf_counter()
    n = count_rows(make())
    return time.perf_counter() - t0, n


def prefix(path: str, records: int) -> str:
    """The first `records` frames of `path`, as their own file."""
    out = f"{path}.first-{records}"
    if not os.path.exists(out):
        _, offsets = tfrec._tfrec.file_offsets(path)
        end = int(offsets[min(records, len(offsets) - 1)])
        with open(path, "rb") as f:
            data = f.read(end)
        with open(out + ".part", "wb") as f:
            f.write(data)
        os.replace(out + ".part", out)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench-data"))
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="records for Ray's own reader")
    ap.add_argument("--small", action="store_true", help="a tenth of the records")
    args = ap.parse_args()
    data = os.path.abspath(os.path.join(args.data_dir, "small") if args.small else args.data_dir)
    os.makedirs(data, exist_ok=True)
    count = 200_000 // (10 if args.small else 1)
    path = os.path.join(data, f"examples-{count}.tfrecord")
    if not os.path.exists(path):
        print(f"writing {path} ...", file=sys.stderr)
        write_examples(path, count)

    warnings.simplefilter("ignore", DeprecationWarning)
    env = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    ray.init(
        num_cpus=args.num_cpus,
        include_dashboard=False,
        logging_level=logging.ERROR,
        runtime_env={"env_vars": env},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False

    ours_s, ours_n = timed(lambda: tfrec.ray.read_tfrecords(path, spec=SPEC))
    assert ours_n == count, (ours_n, count)
    theirs_path = path if args.limit is None else prefix(path, args.limit)
    theirs_s, theirs_n = timed(lambda: ray.data.read_tfrecords(theirs_path))
    assert theirs_n == (count if args.limit is None else min(args.limit, count)), theirs_n
    ours_rate, theirs_rate = ours_n / ours_s, theirs_n / theirs_s

    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"Ray {ray.__version__}, ray.init(num_cpus={args.num_cpus}), tfrec {tfrec.__version__}"
    )
    print(f"{'reader':<28} {'rows':>8} {'s':>8} {'rows/s':>10}")
    print(f"{'tfrec.ray.read_tfrecords':<28} {ours_n:>8} {ours_s:>8.2f} {ours_rate:>10.0f}")
    print(f"{'ray.data.read_tfrecords':<28} {theirs_n:>8} {theirs_s:>8.2f} {theirs_rate:>10.0f}")
    print(f"ratio (rows/s): {ours_rate / theirs_rate:.1f}x")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

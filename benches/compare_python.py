"""Side-by-side timings of the `tfrec` Python package against TensorFlow and
the pip `tfrecord` package, on the same files in the same run.

    python benches/compare_python.py [--records 200000] [--arrays 10000] [--repeat 3] [--dir DIR]

Rows:
- read: iterating `tfrec.Reader` (one decoded float32[16] array per record,
  CRCs checked) vs `tfrecord.reader.tfrecord_iterator` (raw payload bytes,
  unchecked) vs `tf.data.TFRecordDataset` (raw bytes, eager) over the same
  file of 200,000 records. The `tfrecord` package runs in a child process:
  it must not share an interpreter with TensorFlow.
- write: `tfrec.Writer(sync=False).write` of 10,000 uint8[128,128,3] arrays
  vs `tf.io.TFRecordWriter` + `tf.io.serialize_tensor` in a loop.

Best of `--repeat` runs; the ratio column is tfrec's speed over the other's.
Nothing here is asserted: it prints a table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import tfrec

TFRECORD_CHILD = r"""
import sys, time
from tfrecord.reader import tfrecord_iterator
path, repeat = sys.argv[1], int(sys.argv[2])
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter()
    n = 0
    for _ in tfrecord_iterator(path):
        n += 1
    best = min(best, time.perf_counter() - t)
print(n, best)
"""


def best_of(repeat: int, fn) -> tuple[int, float]:
    best = float("inf")
    n = 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t)
    return n, best


def read_rows(dir: str, records: int, repeat: int, tf) -> list[tuple[str, int, float]]:
    path = os.path.join(dir, "f32x16.tfrecord")
    rng = np.random.default_rng(0)
    with tfrec.Writer(path, sync=False) as w:
        for _ in range(records):
            w.write(rng.standard_normal(16, dtype=np.float32))

    def ours() -> int:
        n = 0
        for _ in tfrec.Reader(path):
            n += 1
        return n

    rows = [("tfrec.Reader (decoded arrays)", *best_of(repeat, ours))]

    def ours_raw() -> int:
        n = 0
        for _ in tfrec.Reader(path).records():
            n += 1
        return n

    rows.append(("tfrec.Reader.records() (raw bytes)", *best_of(repeat, ours_raw)))
    child = subprocess.run(
        [sys.executable, "-c", TFRECORD_CHILD, path, str(repeat)],
        capture_output=True, text=True, check=False,
    )
    if child.returncode == 0:
        n, secs = child.stdout.split()
        rows.append(("tfrecord.reader.tfrecord_iterator (raw, unchecked)", int(n), float(secs)))
    else:
        print("tfrecord package unavailable:", child.stderr.strip().splitlines()[-1:], file=sys.stderr)
    if tf is not None:
        def tf_raw() -> int:
            n = 0
            for _ in tf.data.TFRecordDataset(path):
                n += 1
            return n

        rows.append(("tf.data.TFRecordDataset (raw bytes, eager)", *best_of(1, tf_raw)))
    return rows


def write_rows(dir: str, arrays: int, repeat: int, tf) -> list[tuple[str, int, float]]:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(16)]

    def ours() -> int:
        with tfrec.Writer(os.path.join(dir, "ours.tfrecord"), sync=False) as w:
            for i in range(arrays):
                w.write(images[i % len(images)])
        return arrays

    rows = [("tfrec.Writer(sync=False).write", *best_of(repeat, ours))]
    if tf is not None:
        def theirs() -> int:
            with tf.io.TFRecordWriter(os.path.join(dir, "tf.tfrecord")) as w:
                for i in range(arrays):
                    w.write(tf.io.serialize_tensor(images[i % len(images)]).numpy())
            return arrays

        rows.append(("tf.io.TFRecordWriter + serialize_tensor", *best_of(repeat, theirs)))
        same = open(os.path.join(dir, "ours.tfrecord"), "rb").read() == open(os.path.join(dir, "tf.tfrecord"), "rb").read()
        print(f"write: files byte-identical: {same}")
    return rows


def table(title: str, rows: list[tuple[str, int, float]]) -> None:
    base = rows[0][1] / rows[0][2]
    print(f"\n{title}")
    print(f"{'':<52}{'items':>9}{'seconds':>10}{'items/s':>14}{'tfrec ×':>9}")
    for name, n, secs in rows:
        rate = n / secs
        print(f"{name:<52}{n:>9}{secs:>10.3f}{rate:>14,.0f}{base / rate:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--arrays", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-tf", action="store_true", help="skip the TensorFlow rows")
    parser.add_argument("--dir", default=None, help="where to put the files (default: a temp dir)")
    args = parser.parse_args()
    tf = None
    if not args.no_tf:
        try:
            import tensorflow as tf  # noqa: F811
        except ImportError:
            print("TensorFlow unavailable: its rows are left out", file=sys.stderr)
    print(f"tfrec {tfrec.__version__}, {tfrec.num_threads()} threads, numpy {np.__version__}"
          + (f", tensorflow {tf.__version__}" if tf is not None else ""))
    with tempfile.TemporaryDirectory(dir=args.dir) as dir:
        table(f"read {args.records:,} float32[16] tensor records", read_rows(dir, args.records, args.repeat, tf))
        table(f"write {args.arrays:,} uint8[128,128,3] arrays", write_rows(dir, args.arrays, args.repeat, tf))


if __name__ == "__main__":
    main()

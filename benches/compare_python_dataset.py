#!/usr/bin/env python3
"""Side-by-side benchmark: tfrec.Dataset against tf.data, in one process.

    PYTHONPATH=<tfrec package> python benches/compare_python_dataset.py
        [--data-dir DIR] [--repeat 3] [--small] [--only NAME ...]

Input files are written with TensorFlow (TFRecordWriter, serialize_tensor,
tf.train.Example) into the data directory and reused on later runs:

    images.tfrecord     10,000 uint8[128,128,3] random tensors (~490 MB)
    small.tfrecord      200,000 float32[16] random tensors
    examples.tfrecord   200,000 tf.train.Example: "label" int64, "x" 16 random
                        floats, "img" 1 KiB of random bytes

--small divides the record counts by 10 (files in a "small" subdirectory).

Each side's pipeline is built once (as a training job builds it); one full
pass (an epoch) warms the page cache, pools and tracing, then the best wall
time of --repeat passes is taken, both sides in this process, over the same
file, in the same run:

    images, small   tfrec.Dataset(path, batch_size=256)
                    tf.data.TFRecordDataset(path).map(parse_tensor, AUTOTUNE).batch(256)
    examples        tfrec.Dataset(path, batch_size=256, spec=SPEC)
                    tf.data.TFRecordDataset(path).batch(256).map(parse_example)

Each pass iterates to the end and touches every batch (its shape), so
nothing lazy goes unmeasured. Ratios are TensorFlow's time over tfrec's.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfrec  # noqa: E402

SEED = 20240611
BATCH = 256
TF_BUFFER = 8 << 20


def write_tensors(path: str, dtype: str, shape: tuple[int, ...], count: int) -> None:
    rng = np.random.default_rng(SEED)
    tmp = path + ".part"
    with tf.io.TFRecordWriter(tmp) as w:
        for start in range(0, count, 1000):
            n = min(1000, count - start)
            if dtype == "uint8":
                block = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
            else:
                block = rng.standard_normal(size=(n, *shape)).astype(dtype)
            for t in block:
                w.write(tf.io.serialize_tensor(tf.constant(t)).numpy())
    os.replace(tmp, path)


def write_examples(path: str, count: int) -> None:
    rng = np.random.default_rng(SEED)
    tmp = path + ".part"
    with tf.io.TFRecordWriter(tmp) as w:
        for i in range(count):
            ex = tf.train.Example(
                features=tf.train.Features(
                    feature={
                        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 1000])),
                        "x": tf.train.Feature(
                            float_list=tf.train.FloatList(value=rng.standard_normal(16).astype(np.float32))
                        ),
                        "img": tf.train.Feature(bytes_list=tf.train.BytesList(value=[rng.bytes(1024)])),
                    }
                )
            )
            w.write(ex.SerializeToString())
    os.replace(tmp, path)


def best_of(repeat: int, run) -> float:
    run()  # warm: page cache, pools, tf.function tracing
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def drain_tfrec(ds) -> int:
    n = 0
    for batch in ds:
        n += (batch["label"] if isinstance(batch, dict) else batch).shape[0]
    return n


def drain_tf(ds) -> int:
    n = 0
    for batch in ds:
        n += int((batch["label"] if isinstance(batch, dict) else batch).shape[0])
    return n


def tensor_row(name: str, path: str, dtype: str, count: int, repeat: int):
    tf_dtype = tf.as_dtype(dtype)

    ours = tfrec.Dataset(path, batch_size=BATCH)
    theirs = (
        tf.data.TFRecordDataset(path, buffer_size=TF_BUFFER)
        .map(lambda r: tf.io.parse_tensor(r, tf_dtype), num_parallel_calls=tf.data.AUTOTUNE)
        .batch(BATCH)
    )

    def tfrec_pass():
        assert drain_tfrec(ours) == count

    def tf_pass():
        assert drain_tf(theirs) == count

    return name, best_of(repeat, tfrec_pass), best_of(repeat, tf_pass)


def examples_row(path: str, count: int, repeat: int):
    spec = {
        "label": tfrec.FixedLen([], "int64"),
        "x": tfrec.FixedLen([16], "float32"),
        "img": tfrec.FixedLen([], "string"),
    }
    tf_spec = {
        "label": tf.io.FixedLenFeature([], tf.int64),
        "x": tf.io.FixedLenFeature([16], tf.float32),
        "img": tf.io.FixedLenFeature([], tf.string),
    }

    ours = tfrec.Dataset(path, batch_size=BATCH, spec=spec)
    theirs = (
        tf.data.TFRecordDataset(path, buffer_size=TF_BUFFER)
        .batch(BATCH)
        .map(lambda b: tf.io.parse_example(b, tf_spec))
    )

    def tfrec_pass():
        assert drain_tfrec(ours) == count

    def tf_pass():
        assert drain_tf(theirs) == count

    return "examples", best_of(repeat, tfrec_pass), best_of(repeat, tf_pass)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench-data"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--only", nargs="*", default=None, choices=["images", "small", "examples"])
    args = ap.parse_args()
    scale = 10 if args.small else 1
    data = os.path.abspath(os.path.join(args.data_dir, "small") if args.small else args.data_dir)
    os.makedirs(data, exist_ok=True)
    rows_wanted = args.only or ["images", "small", "examples"]

    files = {
        "images": ("images.tfrecord", "uint8", (128, 128, 3), 10_000 // scale),
        "small": ("small.tfrecord", "float32", (16,), 200_000 // scale),
    }
    rows = []
    for name in rows_wanted:
        if name == "examples":
            count = 200_000 // scale
            path = os.path.join(data, f"examples-{count}.tfrecord")
            if not os.path.exists(path):
                print(f"writing {path} ...", file=sys.stderr)
                write_examples(path, count)
            rows.append(examples_row(path, count, args.repeat))
        else:
            fname, dtype, shape, count = files[name]
            path = os.path.join(data, f"{count}-{fname}")
            if not os.path.exists(path):
                print(f"writing {path} ...", file=sys.stderr)
                write_tensors(path, dtype, shape, count)
            rows.append(tensor_row(name, path, dtype, count, args.repeat))

    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, tfrec {tfrec.__version__} ({tfrec.num_threads()} threads), "
        f"batch {BATCH}, best of {args.repeat}{', --small' if args.small else ''}"
    )
    print(f"{'benchmark':<10} {'tfrec s':>9} {'tf.data s':>10} {'tf/tfrec':>9}")
    for name, ours, theirs in rows:
        print(f"{name:<10} {ours:>9.3f} {theirs:>10.3f} {theirs / ours:>8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

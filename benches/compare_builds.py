#!/usr/bin/env python3
"""Two builds of tfrec side by side: the same commands on the same files,
run alternately so that both see the same machine, best time of each.

    python benches/compare_builds.py BEFORE_DIR AFTER_DIR [--data-dir bench-data] [--repeat 7]

Each directory holds `tfrec` and the release examples `parse_examples` and
`read_floor` (copy them out of target/release after building each commit).
The data directory is the one benches/compare_tf.py writes (images.tfrecord,
small.tfrecord, small.gz.tfrecord, examples.tfrecord). Prints one row per
command with both best times and their ratio (after / before); ratios near
1.00 mean the change kept the speed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, program, arguments ("{out}" is a fresh directory per run, "{data}" the data directory)
COMMANDS = [
    ("verify images", "tfrec", ["verify", "{data}/images.tfrecord"]),
    ("count small", "tfrec", ["count", "{data}/small.tfrecord"]),
    ("count small gzip", "tfrec", ["count", "{data}/small.gz.tfrecord"]),
    ("stats images", "tfrec", ["stats", "{data}/images.tfrecord"]),
    ("stats small", "tfrec", ["stats", "{data}/small.tfrecord"]),
    ("convert images --shards 4", "tfrec",
     ["convert", "--shards", "4", "--no-fsync", "--out-dir", "{out}", "{data}/images.tfrecord"]),
    ("parse examples", "parse_examples", ["{data}/examples.tfrecord"]),
    ("floor: pread+crc32c", "read_floor", ["{data}/images.tfrecord"]),
]


def warm(data_dir: str) -> None:
    for name in os.listdir(data_dir):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            with open(path, "rb", buffering=0) as f:
                while f.read(1 << 24):
                    pass


def run_once(build: str, program: str, args: list[str], data_dir: str) -> float:
    out = tempfile.mkdtemp(prefix="compare-builds-", dir=data_dir)
    try:
        argv = [os.path.join(build, program)]
        argv += [a.replace("{data}", data_dir).replace("{out}", os.path.join(out, "o")) for a in args]
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')[-400:]}")
        return elapsed
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--data-dir", default=os.path.join(REPO, "bench-data"))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    data_dir = os.path.abspath(args.data_dir)
    warm(data_dir)
    print(f"{'command':30} {'before s':>9} {'after s':>9} {'after/before':>13}")
    for name, program, argv in COMMANDS:
        best = {"before": float("inf"), "after": float("inf")}
        for i in range(args.repeat):
            # Alternate which build goes first, so neither always follows the other.
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            for side in order:
                build = args.before if side == "before" else args.after
                best[side] = min(best[side], run_once(build, program, argv, data_dir))
        print(f"{name:30} {best['before']:9.3f} {best['after']:9.3f} {best['after'] / best['before']:13.2f}",
              flush=True)


if __name__ == "__main__":
    main()

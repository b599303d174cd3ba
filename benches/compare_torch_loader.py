"""A PyTorch DataLoader over `tfrec.torch.TFRecordDataset` against one over
the pip `tfrecord` package, on the same file in the same run, with the peak
memory of an epoch.

    python benches/compare_torch_loader.py [--records 10000] [--workers 2] [--repeat 3] [--dir DIR]

The file holds uint8[128,128,3] tensors as `tf.io.serialize_tensor` writes
them, with an `.idx` sidecar. The `tfrecord` side is the best that package
can do with such a file: raw payloads from `tfrecord_iterator` sharded over
the workers by its index, decoded with `np.frombuffer` from a dtype and shape
known in advance (it cannot parse a TensorProto, and checks no CRC), batched
by the DataLoader's collate. The tfrec side decodes each TensorProto, checks
both CRCs and hands out whole [256, ...] batches.

Each epoch runs in a child process so that its peak memory can be read
(`ru_maxrss` of the child and of its DataLoader workers). Best of
`--repeat` epochs; nothing here is asserted, it prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import tfrec

SHAPE = (128, 128, 3)
BATCH = 256

CHILD = r"""
import json, resource, sys, time
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

side, path, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
SHAPE = (128, 128, 3)
NBYTES = int(np.prod(SHAPE))
BATCH = 256

if side == "tfrec":
    from tfrec.torch import TFRecordDataset
    ds = TFRecordDataset(path, batch_size=BATCH)
    loader = DataLoader(ds, batch_size=None, num_workers=workers)
else:
    from tfrecord.reader import tfrecord_iterator

    class Raw(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            shard = None if info is None else (info.id, info.num_workers)
            for payload in tfrecord_iterator(path, path + ".idx", shard):
                # tensor_content is the payload's tail: the known dtype and shape.
                yield torch.from_numpy(
                    np.frombuffer(payload, dtype=np.uint8, count=NBYTES,
                                  offset=len(payload) - NBYTES).reshape(SHAPE))

    loader = DataLoader(Raw(), batch_size=BATCH, num_workers=workers)

t = time.perf_counter()
records = 0
checksum = 0
for batch in loader:
    records += batch.shape[0]
    checksum += int(batch[:, 0, 0, 0].sum())
elapsed = time.perf_counter() - t
print(json.dumps({
    "records": records,
    "seconds": elapsed,
    "checksum": checksum,
    "peak_main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "peak_worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def make_file(dir: str, records: int) -> str:
    path = os.path.join(dir, "images.tfrecord")
    if os.path.exists(path + ".idx"):
        return path
    rng = np.random.default_rng(0)
    with tfrec.Writer(path, sync=False) as w:
        for _ in range(records):
            w.write(rng.integers(0, 256, size=SHAPE, dtype=np.uint8))
    # The `offset length` sidecar both readers use.
    offsets = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 8], "little")
        offsets.append((pos, length + 16))
        pos += length + 16
    with open(path + ".idx", "w") as f:
        f.writelines(f"{o} {n}\n" for o, n in offsets)
    return path


def epoch(side: str, path: str, workers: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, side, path, str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    dir = args.dir or tempfile.mkdtemp(prefix="tfrec-loader-bench-")
    os.makedirs(dir, exist_ok=True)
    path = make_file(dir, args.records)
    size = os.path.getsize(path)
    best = {}
    for _ in range(args.repeat):
        for side in ("tfrec", "tfrecord"):
            r = epoch(side, path, args.workers)
            if side not in best or r["seconds"] < best[side]["seconds"]:
                best[side] = r
    a, b = best["tfrec"], best["tfrecord"]
    assert a["records"] == b["records"] == args.records, (a, b)
    print(f"file: {path} ({size / 1e6:.0f} MB, {args.records} uint8[128,128,3] tensors), "
          f"DataLoader num_workers={args.workers}, best of {args.repeat} epochs")
    print("| loader | records/s | GB/s | peak RSS main (MiB) | peak RSS worker (MiB) |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in (("tfrec.torch.TFRecordDataset (batch_size=256)", a),
                    ("pip tfrecord: tfrecord_iterator + np.frombuffer, collate 256", b)):
        print(f"| {name} | {r['records'] / r['seconds']:,.0f} | {size / r['seconds'] / 1e9:.2f} | "
              f"{r['peak_main_mib']:.0f} | {r['peak_worker_mib']:.0f} |")
    print(f"ratio (tfrec over tfrecord): {b['seconds'] / a['seconds']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

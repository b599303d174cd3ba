#!/usr/bin/env python3
"""Object-storage throughput against a local S3-compatible server.

Starts `moto_server` (from this Python's venv) on a free 127.0.0.1 port,
uploads images.tfrecord (10,000 uint8[128,128,3] tensors, ~490 MB; made in
--data-dir if missing, the same shape as benches/compare_tf.py's), and
measures in one run:

  boto3 GET      one plain GET of the whole object with boto3 (the store's
                 single-stream bandwidth: the reference)
  tfrec verify   `tfrec verify s3://.../images.tfrecord` (every CRC, every
                 tensor checked); its ratio to the GET is the figure asked
                 for (>= 0.7x)
  dataset seq    one epoch of the Dataset in file order
                 (examples/iterate_bench --sequential --epochs 1; the index
                 comes from a sidecar `tfrec index` writes first)
  dataset shuf   one epoch globally shuffled (random access: each batch's
                 records fetched by ranged GETs, neighbours coalesced, up to
                 10 requests in flight)

The two Dataset epochs read a smaller object, the first --dataset-records
records of images.tfrecord: moto answers every ranged GET by reading the
whole object (its key's `value`), so on the 490 MB object one record costs
about 0.4 s there, and a shuffled epoch would take an hour. Real stores
charge a range by its length.

Each is run --repeat times; the best counts.

    cargo build --release --bin tfrec --example iterate_bench
    .venv/bin/python benches/compare_s3.py [--data-dir bench-data] [--repeat 3]
"""

import argparse
import os
import re
import socket
import struct
import subprocess
import sys
import time

import boto3
import crc32c  # noqa: F401  (tfrecord_bytes's CRCs: a table would take minutes on 490 MB)
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from tfrecord_bytes import frame, serialize_tensor  # noqa: E402

BUCKET = "tfrec-bench"
KEY = "images.tfrecord"
SEED = 20240601


def make_images(path, count=10_000):
    rng = np.random.default_rng(SEED)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        for _ in range(count // 100):
            block = rng.integers(0, 256, size=(100, 128, 128, 3), dtype=np.uint8)
            for arr in block:
                f.write(frame(serialize_tensor(arr)))
    os.replace(tmp, path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def best(repeat, f):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=os.path.join(REPO, "bench-data"))
    ap.add_argument("--tfrec", default=os.path.join(REPO, "target", "release", "tfrec"))
    ap.add_argument("--iterate", default=os.path.join(REPO, "target", "release", "examples", "iterate_bench"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dataset-records", type=int, default=1000)
    args = ap.parse_args()

    os.makedirs(args.data_dir, exist_ok=True)
    local = os.path.join(args.data_dir, KEY)
    if not os.path.exists(local):
        print(f"making {local}", file=sys.stderr)
        make_images(local)
    size = os.path.getsize(local)

    port = free_port()
    server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    moto = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
                   AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                          aws_secret_access_key="bench", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(local, BUCKET, KEY)
        url = f"s3://{BUCKET}/{KEY}"
        with open(local, "rb") as f:
            prefix_len = 0
            for _ in range(args.dataset_records):
                f.seek(prefix_len)
                (n,) = struct.unpack("<Q", f.read(8))
                prefix_len += n + 16
            f.seek(0)
            small = f.read(prefix_len)
        small_key = f"images-{args.dataset_records}.tfrecord"
        s3.put_object(Bucket=BUCKET, Key=small_key, Body=small)
        small_url = f"s3://{BUCKET}/{small_key}"

        def get():
            body = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"]
            n = 0
            while chunk := body.read(8 << 20):
                n += len(chunk)
            assert n == size, (n, size)

        def verify():
            out = subprocess.run([args.tfrec, "verify", url], env=env, capture_output=True, text=True)
            assert out.returncode == 0 and "\tok\t" in out.stdout, out.stderr

        def epoch(*flags):
            """The best epoch time (the index comes from the sidecar, made
            once below, and is not timed)."""
            times = []
            for _ in range(args.repeat):
                out = subprocess.run([args.iterate, small_url, "--epochs", "1", *flags], env=env,
                                     capture_output=True, text=True)
                assert out.returncode == 0, out.stderr
                m = re.search(r"epoch 0: .* in ([0-9.]+) s", out.stdout)
                times.append(float(m.group(1)))
            return min(times)

        t_get = best(args.repeat, get)
        t_verify = best(args.repeat, verify)
        subprocess.run([args.tfrec, "index", small_url], env=env, check=True, capture_output=True)
        t_seq = epoch("--sequential")
        t_shuf = epoch()
        mb = size / 1e6
        print(f"object: {url}, {mb:.1f} MB, moto_server on {endpoint}")
        print(f"boto3 GET          {t_get:7.3f} s  {mb / t_get:8.1f} MB/s")
        print(f"tfrec verify       {t_verify:7.3f} s  {mb / t_verify:8.1f} MB/s  "
              f"ratio {t_get / t_verify:.2f}x of the GET (target >= 0.7x)")
        small_mb = len(small) / 1e6
        print(f"dataset objects: {small_url}, {args.dataset_records} records, {small_mb:.1f} MB")
        print(f"dataset sequential {t_seq:7.3f} s  {small_mb / t_seq:8.1f} MB/s  (one epoch, index from the sidecar)")
        print(f"dataset shuffled   {t_shuf:7.3f} s  {small_mb / t_shuf:8.1f} MB/s  "
              f"{t_seq / t_shuf:.2f}x of sequential")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()

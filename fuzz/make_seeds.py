#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into fuzz/seeds/<target>/.

The seeds are small valid (and a few deliberately damaged) inputs taken from
the golden files in testdata/, so that a short fuzz run starts from inputs
that reach deep into the code rather than from nothing. Standard library
only; deterministic. Run from anywhere:

    python3 fuzz/make_seeds.py
"""

import base64
import gzip
import hashlib
import json
import shutil
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
SEEDS = ROOT / "fuzz" / "seeds"


def frames(data):
    """Splits TFRecord bytes into whole frames (no CRC checks needed here)."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        end = pos + 12 + length + 4
        out.append(data[pos:end])
        pos = end
    return out


def payloads(name):
    return [json.loads(line) for line in (TESTDATA / f"{name}.expected.jsonl").open()]


def raw(record):
    return base64.b64decode(record["raw"])


def write(target, seeds):
    folder = SEEDS / target
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in seeds:
        (folder / name).write_bytes(data)


def npy(descr, shape, body, fortran=False):
    """A .npy file, version 1.0, as numpy.save lays it out."""
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': ({dims}), }}"
    pad = 64 - (10 + len(text) + 1) % 64
    header = (text + " " * pad + "\n").encode("latin-1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body


def main():
    plain = (TESTDATA / "tensors.tfrecord").read_bytes()
    tensor_frames = frames(plain)
    small = [f for f in tensor_frames if len(f) <= 120]

    # framing: runs of whole frames, and a cut one.
    write(
        "framing",
        [
            ("three_frames", b"".join(small[:3])),
            ("string_frames", tensor_frames[15] + tensor_frames[26] + tensor_frames[27]),
            ("cut_frame", small[3] + small[4][:-3]),
            ("invalid_tensors", b"".join(frames((TESTDATA / "invalid_tensors.tfrecord").read_bytes())[:3])),
        ],
    )

    # tensor_decode: payloads of many shapes and dtypes, typed-field
    # layouts, TensorFlow's lenient cases, and invalid ones.
    decode = []
    for i in [0, 1, 2, 12, 13, 15, 16, 26, 27, 29, 35, 36, 38, 39, 44, 49]:
        decode.append((f"tensor_{i:02}", raw(payloads("tensors")[i])))
    for r in payloads("typed_fields")[::10]:
        decode.append((f"typed_{r['index']:03}", raw(r)))
    for r in payloads("typed_fields_lenient")[::2]:
        decode.append((f"lenient_{r['index']:02}", raw(r)))
    for r in payloads("invalid_tensors"):
        decode.append((f"invalid_{r['index']:02}", raw(r)))
    write("tensor_decode", decode)

    # reader: small whole files, plain and compressed as TensorFlow
    # compresses them (gzip with mtime 0).
    body = b"".join(small[:6])
    write(
        "reader",
        [
            ("plain", body),
            ("gzip", gzip.compress(body, mtime=0)),
            ("zlib", zlib.compress(body)),
            ("typed_plain", b"".join(frames((TESTDATA / "typed_fields_lenient.tfrecord").read_bytes())[:6])),
        ],
    )

    # writer_ops: a compression byte, then (op, length, body) triples; ops
    # are raw record, uint8 tensor, strings, float32 tensor.
    def ops(mode, *items):
        out = bytearray([mode])
        for op, data in items:
            out += bytes([op, len(data)]) + data
        return bytes(out)

    floats = struct.pack("<3f", 1.5, -2.0, float("inf"))
    write(
        "writer_ops",
        [
            ("plain", ops(0, (0, b"raw"), (1, b"\x00\x01\x02"), (2, b"catdog!"), (3, floats))),
            ("gzip", ops(1, (1, b""), (2, b""), (3, floats), (0, b""))),
            ("zlib", ops(2, (2, b"abcdefgh"), (0, b"\xff" * 20), (3, b""))),
        ],
    )

    # npy_json: .npy files of several layouts, and JSON lines as `tfrec cat`
    # writes them.
    seeds = [
        ("f4.npy", npy("<f4", (2, 3), struct.pack("<6f", *range(6)))),
        ("i2_big_fortran.npy", npy(">i2", (2, 2), struct.pack(">4h", 1, -2, 3, -4), True)),
        ("scalar_u8.npy", npy("|u1", (), b"\x07")),
        ("bytes.npy", npy("|S3", (2,), b"cat\x00\x00\x00")),
        ("unicode.npy", npy("<U2", (1,), "h\u2603".encode("utf-32-le"))),
        ("bool_empty.npy", npy("|b1", (0, 3), b"")),
    ]
    for r in payloads("tensors"):
        if r["index"] in (0, 12, 15, 25, 35):
            line = {k: r[k] for k in ("dtype", "shape", "data", "strings") if k in r}
            line = {"file": "x.tfrecord", "index": r["index"], "offset": r["offset"], **line}
            seeds.append((f"tensor_{r['index']:02}.json", (json.dumps(line, separators=(",", ":")) + "\n").encode()))
    write("npy_json", seeds)

    total = sum(p.stat().st_size for p in SEEDS.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for p in sorted(SEEDS.rglob("*")):
        if p.is_file():
            digest.update(p.read_bytes())
    print(f"{sum(1 for p in SEEDS.rglob('*') if p.is_file())} seeds, {total} bytes, sha256 {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()

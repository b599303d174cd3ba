#!/usr/bin/env python3
"""Apache Beam's side of the Beam interop tests (tests/interop_beam.rs).

Run with the Python of the Beam venv (.ci/setup-beam-venv.sh); every
pipeline runs on the DirectRunner. Records travel as lines of "=" and the
record in hex ("=" alone is the empty record).

Subcommands
-----------
  write PREFIX --shards N [--compression none|gzip] [--suffix SUFFIX]
      Write the records read from standard input with
      beam.io.WriteToTFRecord(PREFIX, file_name_suffix=SUFFIX, num_shards=N,
      compression_type=...), which names shards
      PREFIX-SSSSS-of-NNNNNSUFFIX. Prints the file names written, one a
      line.

  read PATTERN
      Read every record of the files matching PATTERN with
      beam.io.ReadFromTFRecord(PATTERN), its compression detected from each
      file's name (AUTO: ".gz" GZIP, ".deflate" DEFLATE, anything else
      uncompressed), and print each record as one line, sorted (Beam gives
      no order).

Only the records or names go to standard output.
"""

import argparse
import glob
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
from pyhelpers import stdout_to_stderr  # noqa: E402  (this folder is sys.path[0])


def load_beam():
    """Beam, imported with nothing it prints while loading among the output."""
    with stdout_to_stderr():
        import apache_beam as beam  # noqa: PLC0415
        from apache_beam.io.filesystem import CompressionTypes  # noqa: PLC0415
    return beam, CompressionTypes


def write(args):
    beam, types = load_beam()
    records = [bytes.fromhex(line.strip()[1:]) for line in sys.stdin if line.startswith("=")]
    compression = {"none": types.UNCOMPRESSED, "gzip": types.GZIP}[args.compression]
    with beam.Pipeline(runner="DirectRunner") as p:
        _ = (
            p
            | beam.Create(records, reshuffle=False)
            | beam.io.WriteToTFRecord(
                args.prefix,
                file_name_suffix=args.suffix,
                num_shards=args.shards,
                compression_type=compression,
            )
        )
    for name in sorted(glob.glob(args.prefix + "-*-of-*")):
        print(name)


def read(args):
    beam, _ = load_beam()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        with beam.Pipeline(runner="DirectRunner") as p:
            _ = (
                p
                | beam.io.ReadFromTFRecord(args.pattern)
                | beam.Map(lambda r: "=" + r.hex())
                | beam.io.WriteToText(out, shard_name_template="")
            )
        with open(out) as f:
            lines = sorted(line.strip() for line in f if line.startswith("="))
    for line in lines:
        print(line)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write")
    w.add_argument("prefix")
    w.add_argument("--shards", type=int, required=True)
    w.add_argument("--compression", choices=["none", "gzip"], default="none")
    w.add_argument("--suffix", default="")
    r = sub.add_parser("read")
    r.add_argument("pattern")
    args = parser.parse_args()
    {"write": write, "read": read}[args.command](args)


if __name__ == "__main__":
    main()

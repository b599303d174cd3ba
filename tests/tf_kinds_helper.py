#!/usr/bin/env python3
"""TensorFlow's side of the `tfrec verify` / `tfrec stats` kind tests
(tests/cli_verify_kinds.rs): files of each kind of record, written by
TensorFlow.

Usage: tf_kinds_helper.py OUTDIR

Writes into OUTDIR, each uncompressed (NAME.tfrecord) and GZIP-compressed
(NAME.tfrecord.gz), with tf.io.TFRecordWriter:

  examples   tf.train.Example records, a few empty payloads among them
             (an empty payload is a valid Example)
  sequence   tf.train.SequenceExample records, some with a context only
  tensors    tf.io.serialize_tensor of tensors of several dtypes and shapes
  mixed      tensors, Examples and raw bytes in equal parts
  strays     Examples with a few tensors among them

and prints one JSON line per file: {"name", "compression", "kinds"}, with
"kinds" the kind each record was built as ("example", "sequence_example",
"tensor", "raw", or "empty"). Only JSON goes to standard output.
"""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
from pyhelpers import byts, example, floats, ints, load_tensorflow, write_records  # noqa: E402


def main():
    outdir = sys.argv[1]
    tf = load_tensorflow()
    import numpy as np  # noqa: PLC0415

    def example_record(i):
        return example(label=ints(i), x=floats(0.5 * i, 1.0), name=byts(b"r%d" % i)).SerializeToString()

    def sequence(i, with_lists=True):
        seq = tf.train.SequenceExample()
        seq.context.feature["id"].int64_list.value.append(i)
        if with_lists:
            steps = seq.feature_lists.feature_list["t"].feature
            for k in range(i % 4 + 1):
                steps.add().int64_list.value.extend([k, i])
        return seq.SerializeToString()

    def tensor(i):
        values = [
            np.arange(i + 1, dtype=np.float32),
            np.full((2, 3), i, dtype=np.int64),
            np.array(i % 2 == 0),
            np.array([b"a", b"bc"][: i % 2 + 1]),
            np.arange(6, dtype=np.uint8).reshape(2, 3),
        ][i % 5]
        return tf.io.serialize_tensor(tf.constant(values)).numpy()

    def raw(i):
        return bytes([0xFF, 0xFE, i % 256]) + b"not a message"

    files = {
        "examples": [("empty", b"") if i % 7 == 3 else ("example", example_record(i)) for i in range(30)],
        "sequence": [
            ("sequence_example", sequence(i)) if i % 4 else ("example", sequence(i, False))
            for i in range(24)
        ],
        "tensors": [("tensor", tensor(i)) for i in range(25)],
        "mixed": [
            [("tensor", tensor(i)), ("example", example_record(i)), ("raw", raw(i))][i % 3]
            for i in range(30)
        ],
        "strays": [("tensor", tensor(i)) if i % 10 == 5 else ("example", example_record(i)) for i in range(30)],
    }
    for name, records in files.items():
        for compression, suffix in [("none", ""), ("gzip", ".gz")]:
            path = os.path.join(outdir, name + ".tfrecord" + suffix)
            write_records(path, [payload for _, payload in records], compression)
            line = {
                "name": name + ".tfrecord" + suffix,
                "compression": compression,
                "kinds": [k for k, _ in records],
            }
            print(json.dumps(line))


if __name__ == "__main__":
    main()

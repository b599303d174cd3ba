#!/usr/bin/env python3
"""TensorFlow's side of the `tfrec cat` / `tfrec pack` interop tests for
tf.train.Example and tf.train.SequenceExample records
(tests/interop_cli_example.rs).

Subcommands
-----------
  write OUT [--compression none|gzip|zlib] [--big-mb N] [--no-prefix-names]
      Build a fixed mix of records with TensorFlow's protobuf classes
      (Examples and SequenceExamples with empty lists, missing features,
      features with no kind, NaN and infinities, int64 extremes, unicode and
      empty names, byte values of several MB; a tensor; raw bytes), write
      SerializeToString(deterministic=True) of each with tf.io.TFRecordWriter,
      and print for each record the JSON object `tfrec cat --jsonl OUT`
      should print, worked out from the messages. --no-prefix-names leaves
      out the names that are a prefix of another (and the empty name): the
      default (upb) protobuf backend does not sort those in deterministic
      output, the pure-Python one (PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=
      python) and TensorFlow's C++ do.

  serialize IN.jsonl
      Build each line's record with TensorFlow (the `tfrec cat --jsonl`
      schemas: "features", "context"/"feature_lists", "raw", "dtype") and
      print base64 of its payload, one a line: SerializeToString(
      deterministic=True) for messages, tf.io.serialize_tensor for tensors,
      the bytes for raw records.

  check IN.tfrecord IN.jsonl [--compression none|gzip|zlib]
      Read IN.tfrecord with tf.data.TFRecordDataset and check record i
      against line i of IN.jsonl: parsed with tf.io.parse_single_example or
      tf.io.parse_single_sequence_example (VarLenFeature of the line's
      kinds), and with the protobuf classes, it must hold the line's values.
      Prints {"records": N, "example": N, "sequence_example": N, "other": N}.

Floats in the JSON are numbers, or "nan", "inf", "-inf". Byte strings are
standard base64. Only JSON goes to standard output; a failure exits non-zero
with a message on standard error.
"""

import argparse
import json
import math
import sys

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
from pyhelpers import (  # noqa: E402  (this folder is sys.path[0])
    COMPRESSION,
    b64decode,
    b64encode,
    byts,
    example,
    features_to_json,
    float_from_json,
    floats,
    ints,
    json_to_tensor,
    kind_dtype,
    load_jsonl,
    load_tensorflow,
    message_from_json,
    message_to_json,
    tensor_to_json,
    write_records,
)

tf = load_tensorflow()
import numpy as np  # noqa: E402


def fail(msg):
    print(f"tf_cli_example_helper: error: {msg}", file=sys.stderr)
    sys.exit(1)


def record_from_json(obj):
    """(kind, payload) of one JSON line."""
    if "dtype" in obj:
        return "tensor", tf.io.serialize_tensor(json_to_tensor(obj)).numpy()
    if "raw" in obj:
        return "raw", b64decode(obj["raw"], "raw")
    kind = "example" if "features" in obj else "sequence_example"
    return kind, message_from_json(obj, kind).SerializeToString(deterministic=True)


# ---------------------------------------------------------------------------
# write
# ---------------------------------------------------------------------------


def fixed_records(big_mb, prefix_names):
    """(kind, message or payload) pairs: what `write` writes."""
    nan, inf = float("nan"), float("inf")
    big = bytes((i * 31 + 7) % 256 for i in range(256)) * (big_mb * 4096)
    out = []
    out.append(("message", example(
        label=ints(1), score=floats(0.25, -1.5), id=byts(b"img-0"))))
    # Missing features: another record, other names.
    out.append(("message", example(label=ints(0), extra=floats(2.0))))
    # Empty lists of every kind, and a feature with no kind.
    out.append(("message", example(
        e_int=tf.train.Feature(int64_list=tf.train.Int64List()),
        e_float=tf.train.Feature(float_list=tf.train.FloatList()),
        e_bytes=tf.train.Feature(bytes_list=tf.train.BytesList()),
        no_kind=tf.train.Feature())))
    out.append(("message", example(
        f=floats(nan, inf, -inf, -0.0, 1e-45, 3.4028234663852886e38, 0.1),
        i=ints(-(2**63), -1, 0, 2**63 - 1, 300),
        b=byts(b"", b"\x00\xff\xfe", "caf\u00e9".encode()))))
    # Unicode, empty and prefix names.
    unicode = tf.train.Example()
    names = [("\u732b", ints(1)), ("caf\u00e9 \"q\"", floats(1.0)), ("\U0001F600", ints(4))]
    if prefix_names:
        names += [("", byts(b"empty name")), ("a", ints(1)), ("ab", ints(2)), ("a\u0000b", ints(3))]
    for name, f in names:
        unicode.features.feature[name].CopyFrom(f)
    out.append(("message", unicode))
    # Large byte values.
    out.append(("message", example(img=byts(big, big[: len(big) // 2]), label=ints(7))))
    # An Example with an empty features message.
    empty_features = tf.train.Example()
    empty_features.features.SetInParent()
    out.append(("message", empty_features))
    # SequenceExamples.
    seq = tf.train.SequenceExample()
    seq.context.feature["length"].CopyFrom(ints(3))
    seq.context.feature["none"].CopyFrom(tf.train.Feature())
    for step in (ints(1, 2), ints(), ints(3)):
        seq.feature_lists.feature_list["tokens"].feature.add().CopyFrom(step)
    for step in (floats(nan, -inf), tf.train.Feature()):
        seq.feature_lists.feature_list["mixed"].feature.add().CopyFrom(step)
    seq.feature_lists.feature_list["empty"].SetInParent()
    seq.feature_lists.feature_list["frames"].feature.add().CopyFrom(byts(big[:1000], b""))
    out.append(("message", seq))
    only_lists = tf.train.SequenceExample()
    only_lists.feature_lists.feature_list["x"].feature.add().CopyFrom(floats(1.0))
    out.append(("message", only_lists))
    empty_lists = tf.train.SequenceExample()
    empty_lists.context.SetInParent()
    empty_lists.feature_lists.SetInParent()
    out.append(("message", empty_lists))
    # Context only: the same bytes as an Example with those features.
    context_only = tf.train.SequenceExample()
    context_only.context.feature["c"].CopyFrom(byts(b"x"))
    out.append(("message", context_only))
    # Nothing at all: the empty payload.
    out.append(("message", tf.train.Example()))
    # A tensor and raw bytes among them.
    out.append(("tensor", tf.io.serialize_tensor(tf.constant([[1.5, -2.0]], tf.float32)).numpy()))
    out.append(("raw", b"\xff\xfe not a protobuf message"))
    return out


def expected_json(payload, kind, msg):
    """What `tfrec cat --jsonl` prints for a record, by its detection rule."""
    if kind == "raw" or not payload:
        return {"raw": b64encode(payload)}
    if kind == "tensor":
        return tensor_to_json(tf.io.parse_tensor(payload, tf.float32))
    if isinstance(msg, tf.train.Example):
        return {"features": features_to_json(msg.features)}
    if not msg.HasField("feature_lists"):
        return {"features": features_to_json(msg.context)}
    return message_to_json(msg)


def cmd_write(args):
    records = fixed_records(args.big_mb, not args.no_prefix_names)
    payloads = [
        item.SerializeToString(deterministic=True) if kind == "message" else item
        for kind, item in records
    ]
    write_records(args.out, payloads, args.compression)
    offset = 0
    for index, ((kind, item), payload) in enumerate(zip(records, payloads)):
        obj = {"file": args.out, "index": index, "offset": offset}
        obj.update(expected_json(payload, kind, item if kind == "message" else None))
        print(json.dumps(obj, ensure_ascii=False, allow_nan=False))
        offset += len(payload) + 16


# ---------------------------------------------------------------------------
# serialize
# ---------------------------------------------------------------------------


def read_jsonl(path):
    return [obj for _, obj in load_jsonl(path)]


def cmd_serialize(args):
    for obj in read_jsonl(args.input):
        _, payload = record_from_json(obj)
        print(b64encode(payload))


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------

def json_values(obj):
    """(kind, [values]) of a feature's JSON, values as TensorFlow gives them."""
    if not obj:
        return None, []
    ((kind, values),) = obj.items()
    if kind == "bytes_list":
        return kind, [b64decode(v, kind) for v in values]
    if kind == "float_list":
        return kind, [float_from_json(v, kind) for v in values]
    return kind, [int(v) for v in values]


def same_values(kind, got, want):
    if len(got) != len(want):
        return False
    if kind == "float_list":
        return all(
            (math.isnan(g) and math.isnan(w)) or np.float32(g) == np.float32(w)
            for g, w in zip(got, want)
        )
    return list(got) == list(want)


def spec_of(features):
    """VarLenFeature per named feature whose kind is known."""
    spec = {}
    for name, obj in features.items():
        kind, _ = json_values(obj)
        if kind is not None:
            spec[name] = tf.io.VarLenFeature(kind_dtype(kind))
    return spec


def check_parsed(where, features, parsed):
    for name, obj in features.items():
        kind, want = json_values(obj)
        if kind is None:
            continue
        got = parsed[name].values.numpy().tolist()
        if not same_values(kind, got, want):
            fail(f"{where}: feature {name!r}: TensorFlow parsed {got[:5]!r}..., expected {want[:5]!r}...")


def same_message(cls, payload, want_payload):
    """Whether the payload parses to the message the line describes (compared
    by deterministic serialization: message equality fails on NaN)."""
    ours = cls.FromString(payload).SerializeToString(deterministic=True)
    return ours == cls.FromString(want_payload).SerializeToString(deterministic=True)


def cmd_check(args):
    lines = read_jsonl(args.jsonl)
    dataset = tf.data.TFRecordDataset(args.input, compression_type=COMPRESSION[args.compression])
    payloads = [r.numpy() for r in dataset]
    if len(payloads) != len(lines):
        fail(f"{len(payloads)} records, {len(lines)} lines")
    counts = {"records": len(lines), "example": 0, "sequence_example": 0, "other": 0}
    for i, (payload, obj) in enumerate(zip(payloads, lines)):
        where = f"record {i}"
        kind, want_payload = record_from_json(obj)
        if kind == "example":
            counts["example"] += 1
            if not same_message(tf.train.Example, payload, want_payload):
                fail(f"{where}: the Example differs from the line's")
            features = obj["features"]
            spec = spec_of(features)
            if spec:  # TensorFlow refuses an empty spec
                check_parsed(where, features, tf.io.parse_single_example(payload, spec))
        elif kind == "sequence_example":
            counts["sequence_example"] += 1
            if not same_message(tf.train.SequenceExample, payload, want_payload):
                fail(f"{where}: the SequenceExample differs from the line's")
            context = obj.get("context", {})
            lists = obj.get("feature_lists", {})
            sequence_spec = {}
            for name, steps in lists.items():
                kinds = {json_values(s)[0] for s in steps} - {None}
                if len(kinds) == 1:
                    sequence_spec[name] = tf.io.VarLenFeature(kind_dtype(kinds.pop()))
            if not spec_of(context) and not sequence_spec:
                continue
            parsed_context, parsed_lists = tf.io.parse_single_sequence_example(
                payload, context_features=spec_of(context), sequence_features=sequence_spec)
            check_parsed(where, context, parsed_context)
            for name in sequence_spec:
                steps = lists[name]
                sparse = parsed_lists[name]
                rows = [[] for _ in steps]
                for (step, _), v in zip(sparse.indices.numpy().tolist(), sparse.values.numpy().tolist()):
                    rows[step].append(v)
                for k, step in enumerate(steps):
                    step_kind, want = json_values(step)
                    if step_kind is not None and not same_values(step_kind, rows[k], want):
                        fail(f"{where}: list {name!r} step {k}: parsed {rows[k][:5]!r}, expected {want[:5]!r}")
        else:
            counts["other"] += 1
            if payload != want_payload:
                fail(f"{where}: payload differs")
    print(json.dumps(counts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("write")
    p.add_argument("out")
    p.add_argument("--compression", default="none", choices=["none", "gzip", "zlib"])
    p.add_argument("--big-mb", type=int, default=4)
    p.add_argument("--no-prefix-names", action="store_true")
    p.set_defaults(run=cmd_write)
    p = sub.add_parser("serialize")
    p.add_argument("input")
    p.set_defaults(run=cmd_serialize)
    p = sub.add_parser("check")
    p.add_argument("input")
    p.add_argument("jsonl")
    p.add_argument("--compression", default="none", choices=["none", "gzip", "zlib"])
    p.set_defaults(run=cmd_check)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()

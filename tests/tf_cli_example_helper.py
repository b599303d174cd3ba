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
import base64
import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def load_tensorflow():
    """TensorFlow, imported with stdout pointed at stderr so that nothing it
    prints while loading mixes with the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        import tensorflow as tf  # noqa: PLC0415
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    return tf


tf = load_tensorflow()
import numpy as np  # noqa: E402


def fail(msg):
    print(f"tf_cli_example_helper: error: {msg}", file=sys.stderr)
    sys.exit(1)


def b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(text):
    return base64.b64decode(text.encode("ascii"), validate=True)


# ---------------------------------------------------------------------------
# Messages to JSON and back
# ---------------------------------------------------------------------------


def float_json(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def float_value(v):
    if isinstance(v, str):
        return {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}[v]
    return float(v)


def feature_json(feature):
    kind = feature.WhichOneof("kind")
    if kind is None:
        return {}
    values = getattr(feature, kind).value
    if kind == "int64_list":
        return {kind: [int(v) for v in values]}
    if kind == "float_list":
        return {kind: [float_json(v) for v in values]}
    return {kind: [b64(v) for v in values]}


def features_json(features):
    return {name: feature_json(f) for name, f in features.feature.items()}


def fill_feature(feature, obj):
    if not obj:
        return
    ((kind, values),) = obj.items()
    target = getattr(feature, kind)
    target.SetInParent()
    if kind == "int64_list":
        target.value.extend(int(v) for v in values)
    elif kind == "float_list":
        target.value.extend(float_value(v) for v in values)
    elif kind == "bytes_list":
        target.value.extend(unb64(v) for v in values)
    else:
        fail(f"unknown feature kind {kind!r}")


def fill_features(features, obj):
    features.SetInParent()
    for name, f in obj.items():
        fill_feature(features.feature[name], f)


def record_from_json(obj):
    """(kind, payload) of one JSON line."""
    if "dtype" in obj:
        return "tensor", tensor_payload(obj)
    if "raw" in obj:
        return "raw", unb64(obj["raw"])
    if "features" in obj:
        ex = tf.train.Example()
        fill_features(ex.features, obj["features"])
        return "example", ex.SerializeToString(deterministic=True)
    seq = tf.train.SequenceExample()
    if "context" in obj:
        fill_features(seq.context, obj["context"])
    if "feature_lists" in obj:
        seq.feature_lists.SetInParent()
        for name, steps in obj["feature_lists"].items():
            fl = seq.feature_lists.feature_list[name]
            fl.SetInParent()
            for step in steps:
                fill_feature(fl.feature.add(), step)
    return "sequence_example", seq.SerializeToString(deterministic=True)


def tensor_payload(obj):
    dtype = tf.dtypes.as_dtype(obj["dtype"])
    shape = obj["shape"]
    if dtype == tf.string:
        values = np.array([unb64(s) for s in obj["strings"]], dtype=object).reshape(shape)
    else:
        values = np.frombuffer(unb64(obj["data"]), dtype=dtype.as_numpy_dtype).reshape(shape)
    return tf.io.serialize_tensor(tf.constant(values, dtype=dtype)).numpy()


# ---------------------------------------------------------------------------
# write
# ---------------------------------------------------------------------------


def ints(*v):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(v)))


def floats(*v):
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(v)))


def byts(*v):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(v)))


def example(**features):
    return tf.train.Example(features=tf.train.Features(feature=features))


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
        return {"raw": b64(payload)}
    if kind == "tensor":
        t = tf.io.parse_tensor(payload, tf.float32).numpy()
        return {"dtype": "float32", "shape": list(t.shape), "data": b64(t.astype("<f4").tobytes())}
    if isinstance(msg, tf.train.Example):
        return {"features": features_json(msg.features)}
    if not msg.HasField("feature_lists"):
        return {"features": features_json(msg.context)}
    obj = {}
    if msg.HasField("context"):
        obj["context"] = features_json(msg.context)
    obj["feature_lists"] = {
        name: [feature_json(f) for f in fl.feature]
        for name, fl in msg.feature_lists.feature_list.items()
    }
    return obj


def cmd_write(args):
    records = fixed_records(args.big_mb, not args.no_prefix_names)
    options = tf.io.TFRecordOptions(compression_type=compression(args.compression))
    offset = 0
    lines = []
    with tf.io.TFRecordWriter(args.out, options) as writer:
        for index, (kind, item) in enumerate(records):
            if kind == "message":
                payload = item.SerializeToString(deterministic=True)
            else:
                payload = item
            writer.write(payload)
            obj = {"file": args.out, "index": index, "offset": offset}
            obj.update(expected_json(payload, kind, item if kind == "message" else None))
            lines.append(json.dumps(obj, ensure_ascii=False, allow_nan=False))
            offset += len(payload) + 16
    for line in lines:
        print(line)


def compression(name):
    return {"none": "", "gzip": "GZIP", "zlib": "ZLIB"}[name]


# ---------------------------------------------------------------------------
# serialize
# ---------------------------------------------------------------------------


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_serialize(args):
    for obj in read_jsonl(args.input):
        _, payload = record_from_json(obj)
        print(b64(payload))


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------

DTYPES = {"int64_list": tf.int64, "float_list": tf.float32, "bytes_list": tf.string}


def json_values(obj):
    """(kind, [values]) of a feature's JSON, values as TensorFlow gives them."""
    if not obj:
        return None, []
    ((kind, values),) = obj.items()
    if kind == "bytes_list":
        return kind, [unb64(v) for v in values]
    if kind == "float_list":
        return kind, [float_value(v) for v in values]
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
            spec[name] = tf.io.VarLenFeature(DTYPES[kind])
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
    dataset = tf.data.TFRecordDataset(args.input, compression_type=compression(args.compression))
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
                    sequence_spec[name] = tf.io.VarLenFeature(DTYPES[kinds.pop()])
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

#!/usr/bin/env python3
"""TensorFlow reference implementation used by the integration tests.

The Rust tests run this script as a subprocess (with the interpreter from
`.venv`, see `.ci/setup-venv.sh`) to check that `tfrec` reads what TensorFlow
writes and writes what TensorFlow reads.

Subcommands
-----------
  write IN.jsonl OUT [--compression none|gzip|zlib]
      Build each tensor of IN.jsonl with TensorFlow and write
      tf.io.serialize_tensor(t) of each as one record of OUT, using
      tf.io.TFRecordWriter.  A line of the form {"raw": BASE64} (no "dtype")
      is written verbatim as a record payload instead.

  read IN [--compression none|gzip|zlib] [--allow-non-tensor]
      Read every record of IN with tf.data.TFRecordDataset, decode it with
      tf.io.parse_tensor and print one JSON line per record: the tensor in
      the schema below plus "index", "offset" (byte offset of the record's
      frame in the decompressed record stream) and "raw" (base64 of the
      record payload).  With --allow-non-tensor, a record that is not a
      TensorProto is printed as {"index", "offset", "raw", "error"} instead
      of failing.

  serialize IN.jsonl
      Print base64 of tf.io.serialize_tensor(t) for each tensor, one a line.

  write-examples OUT
      Build a fixed set of tf.train.Example and tf.train.SequenceExample
      records covering edge cases (empty lists, features absent from some
      records, a feature with no kind, NaN and infinite floats, int64
      extremes, a value of several MB, unicode names, two Examples
      concatenated into one payload), write them with tf.io.TFRecordWriter,
      and print one JSON line per record: {"index", "kind", "raw", "proto",
      "parsed"} as described under read-examples.

  read-examples IN --kind example|sequence_example
      Read every record of IN with tf.data.TFRecordDataset and print one
      JSON line per record: "index"; "raw" (base64 of the payload);
      "proto", the message as TensorFlow's Python protobuf classes parse
      it; and "parsed", the values as tf.io.parse_single_example (or
      parse_single_sequence_example) returns them, each feature parsed as a
      VarLenFeature (a RaggedFeature for feature lists) of the dtype its
      kind has (int64 for a feature with no kind, which parses as empty).
      Both in the example JSON schema below.

  serialize-examples IN.jsonl --kind example|sequence_example
      Build each message of IN.jsonl (example JSON schema) with
      tf.train.Example or tf.train.SequenceExample and print base64 of
      SerializeToString(deterministic=True), one a line.

IN.jsonl may be "-" for standard input.

Example JSON schema
-------------------
  {"features": {NAME: FEATURE, ...}}                      (tf.train.Example)
  {"context": {NAME: FEATURE, ...},
   "feature_lists": {NAME: [FEATURE, ...], ...}}          (tf.train.SequenceExample)
FEATURE is {"int64_list": [ints]}, {"float_list": [numbers]} or
{"bytes_list": [BASE64, ...]}, or {} when no kind is set.  Floats NaN and
infinite are the strings "nan", "inf" and "-inf".  A message part that is
absent ("context", "feature_lists", or "features") is left out.

JSON tensor schema (one object per line)
----------------------------------------
  {"dtype": NAME, "shape": [ints], "data": BASE64}
NAME is TensorFlow's dtype name (float16, bfloat16, float32, float64, int8,
int16, int32, int64, uint8, uint16, uint32, uint64, bool, complex64,
complex128, string).  "data" is standard base64 (padded) of the elements'
little-endian bytes in C order: bool one byte each (0 or 1), complex as
interleaved (re, im), float16/bfloat16 as their 16-bit patterns.  String
tensors carry "strings": [BASE64 of each element, ...] instead of "data".
Scalars have "shape": [].  Unknown keys are ignored.

Only JSON goes to standard output; diagnostics go to standard error and any
failure exits non-zero with a message prefixed "tf_helper: error:".
"""

import argparse
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
from pyhelpers import (  # noqa: E402  (this folder is sys.path[0])
    COMPRESSION,
    DTYPES,
    HelperError,
    b64decode,
    b64encode,
    byts,
    example,
    float_to_json,
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
from tensorflow.core.example import example_pb2  # noqa: E402
from tensorflow.core.framework import tensor_pb2  # noqa: E402
import numpy as np  # noqa: E402, F401  (loaded with TensorFlow; make_testdata.py uses it)


def tf_message(e):
    """The gist of a TensorFlow OpError, on one line."""
    msg = re.sub(r"\{\{function_node [^}]*\}\}", "", e.message)
    msg = re.sub(r"\[Op:\w+\]( name:.*)?$", "", msg.strip())
    return " ".join(msg.split())


# --------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------

def parse_record(payload):
    """Decode one serialized TensorProto the way TensorFlow does.

    The dtype is taken from the proto itself; the value is whatever
    tf.io.parse_tensor produces for it."""
    try:
        proto = tensor_pb2.TensorProto.FromString(payload)
    except Exception as e:  # google.protobuf.message.DecodeError
        raise HelperError(f"record is not a TensorProto: {e}") from None
    try:
        dtype = tf.dtypes.as_dtype(proto.dtype)
    except TypeError:
        raise HelperError(f"TensorProto has unsupported dtype enum {proto.dtype}") from None
    if dtype.name not in DTYPES:
        raise HelperError(f"TensorProto dtype {dtype.name} is outside the supported set")
    try:
        return tf.io.parse_tensor(payload, out_type=dtype)
    except tf.errors.OpError as e:
        raise HelperError(f"tf.io.parse_tensor rejected the record: {tf_message(e)}") from None


def record_to_json(index, offset, payload):
    obj = tensor_to_json(parse_record(payload))
    obj["index"] = index
    obj["offset"] = offset
    obj["raw"] = b64encode(payload)
    return obj


def frame_size(payload_len):
    # u64 length, u32 masked CRC of the length, payload, u32 masked CRC of payload
    return 8 + 4 + payload_len + 4


def iter_records(path, compression):
    """Yield (index, offset, payload) for every record of a TFRecord file."""
    if not os.path.isfile(path):
        raise HelperError(f"{path}: no such file")
    ds = tf.data.TFRecordDataset(path, compression_type=COMPRESSION[compression])
    offset = 0
    index = 0
    it = iter(ds)
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except tf.errors.OpError as e:
            raise HelperError(
                f"{path}: TFRecordDataset failed after {index} records: {tf_message(e)}"
            ) from None
        payload = rec.numpy()
        yield index, offset, payload
        offset += frame_size(len(payload))
        index += 1


def payloads_from_jsonl(path):
    out = []
    for lineno, obj in load_jsonl(path):
        try:
            if isinstance(obj, dict) and "dtype" not in obj and "raw" in obj:
                out.append(b64decode(obj["raw"], "raw"))
            else:
                out.append(tf.io.serialize_tensor(json_to_tensor(obj)).numpy())
        except HelperError as e:
            raise HelperError(f"{path}:{lineno}: {e}") from None
        except (tf.errors.OpError, ValueError, TypeError) as e:
            raise HelperError(f"{path}:{lineno}: TensorFlow rejected the tensor: {e}") from None
    return out


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


# --------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------

def feature_dtype(f):
    kind = f.WhichOneof("kind")
    return kind_dtype(kind) if kind else tf.int64


def list_dtype(fl):
    kinds = {f.WhichOneof("kind") for f in fl.feature} - {None}
    if len(kinds) > 1:
        raise HelperError(f"feature list mixes kinds {sorted(kinds)}")
    return kind_dtype(kinds.pop()) if kinds else tf.int64


def values_to_json(kind, values):
    if kind == "bytes_list":
        return [b64encode(v) for v in values]
    if kind == "float_list":
        return [float_to_json(float(v)) for v in values]
    return [int(v) for v in values]


def tf_parse(payload, msg):
    """The values TensorFlow's C++ parsing ops return for `payload`, in the
    example JSON schema, each feature under the kind the proto gives it."""
    def parsed_features(features, parsed):
        out = {}
        for name, f in features.feature.items():
            kind = f.WhichOneof("kind")
            values = parsed[name].values.numpy()
            if kind is None:
                if len(values):
                    raise HelperError(f"feature {name!r} has no kind but parses to values")
                out[name] = {}
            else:
                out[name] = {kind: values_to_json(kind, values)}
        return out

    try:
        if isinstance(msg, example_pb2.Example):
            spec = {n: tf.io.VarLenFeature(feature_dtype(f)) for n, f in msg.features.feature.items()}
            if not spec:  # the op refuses an empty spec
                return {"features": {}}
            return {"features": parsed_features(msg.features, tf.io.parse_single_example(payload, spec))}
        context_spec = {n: tf.io.VarLenFeature(feature_dtype(f)) for n, f in msg.context.feature.items()}
        lists = msg.feature_lists.feature_list
        list_spec = {n: tf.io.RaggedFeature(list_dtype(fl)) for n, fl in lists.items()}
        if not context_spec and not list_spec:
            return {"context": {}, "feature_lists": {}}
        context, sequence = tf.io.parse_single_sequence_example(
            payload, context_features=context_spec, sequence_features=list_spec
        )
        out = {"context": parsed_features(msg.context, context), "feature_lists": {}}
        for name, fl in lists.items():
            steps = sequence[name].to_list()
            out["feature_lists"][name] = [
                {f.WhichOneof("kind"): values_to_json(f.WhichOneof("kind"), step)}
                if f.WhichOneof("kind") else {}
                for f, step in zip(fl.feature, steps)
            ]
        return out
    except tf.errors.OpError as e:
        raise HelperError(f"TensorFlow could not parse the record: {tf_message(e)}") from None


def record_json(index, payload, kind):
    cls = example_pb2.Example if kind == "example" else example_pb2.SequenceExample
    try:
        msg = cls.FromString(payload)
    except Exception as e:  # google.protobuf.message.DecodeError
        raise HelperError(f"record {index} is not a {cls.__name__}: {e}") from None
    return {
        "index": index,
        "kind": kind,
        "raw": b64encode(payload),
        "proto": message_to_json(msg),
        "parsed": tf_parse(payload, msg),
    }


def fixed_examples():
    """(kind, payload) pairs TensorFlow writes for the interop tests."""
    import random

    rng = random.Random(7)
    F = tf.train.Feature

    out = []
    big = rng.randbytes(5 << 20)
    out.append(("example", example(**{
        "label": ints(1),
        "ints": ints(0, -1, 2**63 - 1, -(2**63), 300),
        "floats": floats(0.5, -0.0, float("nan"), float("inf"), float("-inf"), 1e-45, 3.4028234663852886e38),
        "bytes": byts(b"", b"\x00\xff", "caf\u00e9".encode()),
        "empty_int": F(int64_list=tf.train.Int64List()),
        "empty_float": F(float_list=tf.train.FloatList()),
        "empty_bytes": F(bytes_list=tf.train.BytesList()),
        "no_kind": F(),
        "": ints(42),
        "\u540d\u524d": byts("\u732b".encode()),
        "emoji \U0001F600": floats(1.5),
        "big": byts(big, b"tail"),
    }).SerializeToString()))
    # Features present in some records only.
    for i in range(4):
        f = {"id": byts(f"rec-{i}".encode())}
        if i % 2 == 0:
            f["label"] = ints(i)
        if i % 3 == 0:
            f["weights"] = floats(*[j / 4 for j in range(i + 1)])
        out.append(("example", example(**f).SerializeToString()))
    out.append(("example", tf.train.Example().SerializeToString()))  # b""
    out.append(("example", tf.train.Example(features=tf.train.Features()).SerializeToString()))
    # Two Examples concatenated: protobuf merges them, the later "x" wins.
    a = example(x=ints(1, 2), y=floats(1.0)).SerializeToString()
    b = example(x=ints(3), z=byts(b"z")).SerializeToString()
    out.append(("example", a + b))
    # Many features.
    out.append(("example", example(**{f"f{i:03}": ints(i) for i in range(300)}).SerializeToString()))

    seq = tf.train.SequenceExample()
    seq.context.feature["length"].CopyFrom(ints(3))
    seq.context.feature["no_kind"].CopyFrom(F())
    lists = seq.feature_lists.feature_list
    for v in ([1, 2], [], [3]):
        lists["tokens"].feature.add().CopyFrom(ints(*v))
    for v in ([0.25, float("nan")], [float("-inf")], []):
        lists["frames"].feature.add().CopyFrom(floats(*v))
    for v in ([b"a", b""], [big[:1 << 20]]):
        lists["\u00e9t\u00e9"].feature.add().CopyFrom(byts(*v))
    lists["empty"].SetInParent()
    lists["gaps"].feature.add().CopyFrom(ints(5))
    lists["gaps"].feature.add()  # a step with no kind
    out.append(("sequence_example", seq.SerializeToString()))
    only_lists = tf.train.SequenceExample()
    only_lists.feature_lists.feature_list["s"].feature.add().CopyFrom(floats(1.0))
    out.append(("sequence_example", only_lists.SerializeToString()))
    only_context = tf.train.SequenceExample()
    only_context.context.feature["c"].CopyFrom(ints(1))
    out.append(("sequence_example", only_context.SerializeToString()))
    return out


def cmd_write_examples(args):
    records = fixed_examples()
    try:
        write_records(args.output, [p for _, p in records], "none")
    except (tf.errors.OpError, OSError) as e:
        raise HelperError(f"{args.output}: cannot write: {e}") from None
    for index, (kind, payload) in enumerate(records):
        sys.stdout.write(dumps(record_json(index, payload, kind)) + "\n")


def cmd_read_examples(args):
    for index, _, payload in iter_records(args.input, "none"):
        sys.stdout.write(dumps(record_json(index, payload, args.kind)) + "\n")


def cmd_serialize_examples(args):
    for lineno, obj in load_jsonl(args.input):
        try:
            msg = message_from_json(obj, args.kind)
        except (HelperError, ValueError, TypeError) as e:
            raise HelperError(f"{args.input}:{lineno}: {e}") from None
        sys.stdout.write(b64encode(msg.SerializeToString(deterministic=True)) + "\n")


# --------------------------------------------------------------------------
# Subcommands
# --------------------------------------------------------------------------

def cmd_write(args):
    payloads = payloads_from_jsonl(args.input)  # validate everything first
    try:
        write_records(args.output, payloads, args.compression)
    except (tf.errors.OpError, OSError) as e:
        raise HelperError(f"{args.output}: cannot write: {e}") from None
    print(f"wrote {len(payloads)} records to {args.output}", file=sys.stderr)


def cmd_read(args):
    out = sys.stdout
    for index, offset, payload in iter_records(args.input, args.compression):
        try:
            obj = record_to_json(index, offset, payload)
        except HelperError as e:
            if not args.allow_non_tensor:
                raise HelperError(f"{args.input}: record {index} (offset {offset}): {e}") from None
            obj = {"index": index, "offset": offset, "raw": b64encode(payload), "error": str(e)}
        out.write(dumps(obj) + "\n")


def cmd_serialize(args):
    for payload in payloads_from_jsonl(args.input):
        sys.stdout.write(b64encode(payload) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tf_helper.py",
        description="TensorFlow reference reader/writer for TFRecord files of tensors and examples.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("write", help="write tensors from JSON lines as a TFRecord file")
    p.add_argument("input", metavar="IN.jsonl")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--compression", choices=sorted(COMPRESSION), default="none")
    p.set_defaults(func=cmd_write)

    p = sub.add_parser("read", help="print the tensors of a TFRecord file as JSON lines")
    p.add_argument("input", metavar="IN")
    p.add_argument("--compression", choices=sorted(COMPRESSION), default="none")
    p.add_argument("--allow-non-tensor", action="store_true",
                   help="report records that are not valid tensors instead of failing")
    p.set_defaults(func=cmd_read)

    p = sub.add_parser("serialize", help="print base64 of tf.io.serialize_tensor per tensor")
    p.add_argument("input", metavar="IN.jsonl")
    p.set_defaults(func=cmd_serialize)

    kinds = ["example", "sequence_example"]
    p = sub.add_parser("write-examples", help="write fixed Example records, print them as JSON")
    p.add_argument("output", metavar="OUT")
    p.set_defaults(func=cmd_write_examples)

    p = sub.add_parser("read-examples", help="print the Example records of a file as JSON lines")
    p.add_argument("input", metavar="IN")
    p.add_argument("--kind", choices=kinds, required=True)
    p.set_defaults(func=cmd_read_examples)

    p = sub.add_parser("serialize-examples",
                       help="print base64 of SerializeToString(deterministic=True) per message")
    p.add_argument("input", metavar="IN.jsonl")
    p.add_argument("--kind", choices=kinds, required=True)
    p.set_defaults(func=cmd_serialize_examples)

    args = parser.parse_args(argv)
    try:
        args.func(args)
        sys.stdout.flush()
    except HelperError as e:
        print(f"tf_helper: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    except Exception as e:  # anything unexpected still gets a clear one-liner
        print(f"tf_helper: error: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

IN.jsonl may be "-" for standard input.

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
import base64
import binascii
import json
import math
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_tensorflow():
    """Import TensorFlow with file descriptor 1 pointed at stderr, so that
    nothing it prints while loading can end up among the JSON lines."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        import numpy as np  # noqa: F401
        import tensorflow as tf
        from tensorflow.core.framework import tensor_pb2
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    return tf, tensor_pb2


tf, tensor_pb2 = _import_tensorflow()
import numpy as np  # noqa: E402  (after TensorFlow, under the same redirect)


class HelperError(Exception):
    """A user-facing failure: bad input, unreadable file, TF rejection."""


# name -> (TensorFlow dtype, numpy dtype of the element bytes in "data").
# bfloat16 travels as its uint16 bit pattern; string has no fixed-size bytes.
DTYPES = {
    "float16": (tf.float16, np.dtype("<f2")),
    "bfloat16": (tf.bfloat16, np.dtype("<u2")),
    "float32": (tf.float32, np.dtype("<f4")),
    "float64": (tf.float64, np.dtype("<f8")),
    "int8": (tf.int8, np.dtype("i1")),
    "int16": (tf.int16, np.dtype("<i2")),
    "int32": (tf.int32, np.dtype("<i4")),
    "int64": (tf.int64, np.dtype("<i8")),
    "uint8": (tf.uint8, np.dtype("u1")),
    "uint16": (tf.uint16, np.dtype("<u2")),
    "uint32": (tf.uint32, np.dtype("<u4")),
    "uint64": (tf.uint64, np.dtype("<u8")),
    "bool": (tf.bool, np.dtype("?")),
    "complex64": (tf.complex64, np.dtype("<c8")),
    "complex128": (tf.complex128, np.dtype("<c16")),
    "string": (tf.string, None),
}

COMPRESSION = {"none": "", "gzip": "GZIP", "zlib": "ZLIB"}


# --------------------------------------------------------------------------
# JSON <-> tf.Tensor
# --------------------------------------------------------------------------

def b64encode(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def b64decode(text, what):
    if not isinstance(text, str):
        raise HelperError(f"{what}: expected a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise HelperError(f"{what}: invalid base64: {e}") from None


def tf_message(e):
    """The gist of a TensorFlow OpError, on one line."""
    msg = re.sub(r"\{\{function_node [^}]*\}\}", "", e.message)
    msg = re.sub(r"\[Op:\w+\]( name:.*)?$", "", msg.strip())
    return " ".join(msg.split())


def _check_shape(shape):
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise HelperError(f"'shape' must be a list of non-negative integers, got {shape!r}")
    return shape


def json_to_tensor(obj):
    """Build a tf.Tensor from one schema object."""
    if not isinstance(obj, dict):
        raise HelperError(f"expected a JSON object, got {type(obj).__name__}")
    name = obj.get("dtype")
    if name not in DTYPES:
        raise HelperError(
            f"unknown or missing 'dtype' {name!r}; expected one of {', '.join(DTYPES)}"
        )
    if "shape" not in obj:
        raise HelperError("missing 'shape'")
    shape = _check_shape(obj["shape"])
    count = math.prod(shape)
    tf_dtype, np_dtype = DTYPES[name]

    if name == "string":
        strings = obj.get("strings")
        if not isinstance(strings, list):
            raise HelperError("string tensor needs a 'strings' list")
        if len(strings) != count:
            raise HelperError(
                f"shape {shape} has {count} elements but 'strings' has {len(strings)}"
            )
        values = [b64decode(s, f"strings[{i}]") for i, s in enumerate(strings)]
        arr = np.empty(len(values), dtype=object)
        arr[:] = values  # element-wise, so numpy never reinterprets the bytes
        return tf.constant(arr.reshape(shape), dtype=tf.string)

    if "data" not in obj:
        raise HelperError(f"{name} tensor needs 'data'")
    raw = b64decode(obj["data"], "data")
    if len(raw) != count * np_dtype.itemsize:
        raise HelperError(
            f"{name} shape {shape} needs {count * np_dtype.itemsize} bytes of data, got {len(raw)}"
        )
    if name == "bool" and any(b > 1 for b in raw):
        raise HelperError("bool data bytes must be 0 or 1")
    arr = np.frombuffer(raw, dtype=np_dtype).reshape(shape)
    arr = arr.astype(np_dtype.newbyteorder("="), copy=True)  # native order, writable
    if name == "bfloat16":
        return tf.bitcast(tf.constant(arr, dtype=tf.uint16), tf.bfloat16)
    return tf.constant(arr, dtype=tf_dtype)


def tensor_to_json(t):
    """Encode a tf.Tensor (eager) as a schema object."""
    name = t.dtype.name
    if name not in DTYPES:
        raise HelperError(f"tensor dtype {name} is outside the supported set")
    shape = [int(d) for d in t.shape]
    if name == "string":
        flat = np.asarray(t.numpy(), dtype=object).reshape(-1)
        return {"dtype": name, "shape": shape, "strings": [b64encode(s) for s in flat]}
    if name == "bfloat16":
        t = tf.bitcast(t, tf.uint16)
    arr = np.asarray(t.numpy())
    le = DTYPES[name][1]
    if name == "bool":
        arr = arr.astype(np.uint8)
    else:
        arr = arr.astype(le, copy=False)
    return {"dtype": name, "shape": shape, "data": b64encode(np.ascontiguousarray(arr).tobytes(order="C"))}


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


def write_records(path, payloads, compression):
    options = tf.io.TFRecordOptions(compression_type=COMPRESSION[compression])
    with tf.io.TFRecordWriter(path, options) as w:
        for p in payloads:
            w.write(p)


def load_jsonl(path):
    """Yield (line number, object) for every non-blank line."""
    try:
        f = sys.stdin if path == "-" else open(path, "r", encoding="utf-8")
    except OSError as e:
        raise HelperError(f"{path}: {e.strerror}") from None
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise HelperError(f"{path}:{lineno}: invalid JSON: {e}") from None


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
        description="TensorFlow reference reader/writer for TFRecord files of tensors.",
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

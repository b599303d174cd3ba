#!/usr/bin/env python3
"""TensorFlow's side of the Example parsing interop tests (tests/interop_parse.rs).

Subcommands
-----------
  write OUT IN.jsonl
      Build one tf.train.Example per line of IN.jsonl and write each,
      serialized, as one record of OUT with tf.io.TFRecordWriter.  A line is
      {"features": {NAME: FEATURE, ...}} where FEATURE is
        {"kind": "none"}                          tf.train.Feature()
        {"kind": "int64", "values": [ints]}
        {"kind": "float", "bits": [uint32 bit patterns]}
        {"kind": "bytes", "values": [BASE64, ...]}
      or {"raw": BASE64}, written verbatim.

  parse IN SPEC.json --batch N
      Iterate tf.data.TFRecordDataset(IN).batch(N) and parse each batch
      with tf.io.parse_example(batch, spec); print one JSON line per batch:
      {"features": {NAME: RESULT}}.  On the first error print
      {"error": MESSAGE} and stop (exit status 0).

  parse-single IN SPEC.json
      The same, one record at a time, with tf.io.parse_single_example.

  jobs JOBS.json
      Run many of the above in one process (TensorFlow loads once).
      JOBS.json is a list of {"op": "write", "out": OUT, "input": IN.jsonl}
      and {"op": "parse", "input": IN, "spec": SPEC.json, "batch": N or
      null (parse-single)}, run in order; prints one line per job,
      {"job": INDEX, "lines": [what the subcommand prints, as objects]}.

SPEC.json is a list of entries
  {"name": N, "kind": "fixed", "dtype": D, "shape": [ints], "default": DEFAULT or null}
  {"name": N, "kind": "var_len", "dtype": D}
  {"name": N, "kind": "tensor", "dtype": D, "shape": [ints]}
with D a TensorFlow dtype name.  Fixed entries are tf.io.FixedLenFeature,
var_len entries tf.io.VarLenFeature; a tensor entry is a
FixedLenFeature([], tf.string) whose values are then decoded with
tf.io.parse_tensor(value, D) each, checked to have shape `shape`
(tf.ensure_shape) and stacked.  DEFAULT is {"bits": [...]} (float32),
{"values": [ints]} (int64) or {"values": [BASE64, ...]} (string).

RESULT is a tensor, {"dtype": D, "shape": [ints], "data": BASE64 of the
little-endian element bytes} or, for strings, {"dtype": "string", "shape":
[ints], "strings": [BASE64, ...]}; for var_len entries it is the
SparseTensor, {"indices": [ints, row-major], "values": TENSOR,
"dense_shape": [ints]}.

Only JSON goes to standard output; any other failure exits non-zero with a
message prefixed "tf_parse_helper: error:".
"""

import argparse
import json
import sys

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
from pyhelpers import (  # noqa: E402  (this folder is sys.path[0])
    b64decode,
    load_jsonl,
    load_tensorflow,
    tensor_to_json,
    write_records,
)

tf = load_tensorflow()
import numpy as np  # noqa: E402


def fail(msg):
    print(f"tf_parse_helper: error: {msg}", file=sys.stderr)
    sys.exit(1)


# --------------------------------------------------------------------------
# write
# --------------------------------------------------------------------------

def build_feature(spec):
    kind = spec["kind"]
    if kind == "none":
        return tf.train.Feature()
    if kind == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=spec["values"]))
    if kind == "float":
        values = np.array(spec["bits"], dtype=np.uint32).view(np.float32)
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))
    if kind == "bytes":
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[b64decode(v) for v in spec["values"]]))
    fail(f"unknown feature kind {kind!r}")


def record(line):
    """The payload one line of IN.jsonl stands for."""
    if "raw" in line:
        return b64decode(line["raw"])
    features = {name: build_feature(f) for name, f in line["features"].items()}
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def write(out, input_path):
    write_records(out, [record(line) for _, line in load_jsonl(input_path)], "none")


# --------------------------------------------------------------------------
# parse
# --------------------------------------------------------------------------

def default_value(entry):
    d = entry.get("default")
    if d is None:
        return None
    if "bits" in d:
        return np.array(d["bits"], dtype=np.uint32).view(np.float32)
    if entry["dtype"] == "string":
        return [b64decode(v) for v in d["values"]]
    return np.array(d["values"], dtype=np.int64)


def tf_spec(entries):
    spec = {}
    for e in entries:
        if e["kind"] == "fixed":
            spec[e["name"]] = tf.io.FixedLenFeature(
                e["shape"], tf.dtypes.as_dtype(e["dtype"]), default_value=default_value(e))
        elif e["kind"] == "var_len":
            spec[e["name"]] = tf.io.VarLenFeature(tf.dtypes.as_dtype(e["dtype"]))
        elif e["kind"] == "tensor":
            spec[e["name"]] = tf.io.FixedLenFeature([], tf.string)
        else:
            fail(f"unknown spec kind {e['kind']!r}")
    return spec


def decode_tensors(entry, serialized, batched):
    dtype = tf.dtypes.as_dtype(entry["dtype"])
    shape = entry["shape"]

    def one(s):
        return tf.ensure_shape(tf.io.parse_tensor(s, dtype), shape)

    if not batched:
        return one(serialized)
    items = [one(s) for s in tf.unstack(serialized, num=int(serialized.shape[0]))]
    if not items:
        return tf.zeros([0, *shape], dtype=dtype)
    return tf.stack(items)


def result_json(entries, parsed, batched):
    out = {}
    for e in entries:
        value = parsed[e["name"]]
        if e["kind"] == "var_len":
            out[e["name"]] = {
                "indices": [int(i) for i in value.indices.numpy().reshape(-1)],
                "values": tensor_to_json(value.values),
                "dense_shape": [int(d) for d in value.dense_shape.numpy()],
            }
        elif e["kind"] == "tensor":
            out[e["name"]] = tensor_to_json(decode_tensors(e, value, batched))
        else:
            out[e["name"]] = tensor_to_json(value)
    return out


def parse(input_path, spec_path, batch):
    """The parse results of a file, batched (batch N) or one record at a
    time (batch None), ending with an error object if there is one."""
    with open(spec_path) as f:
        entries = json.load(f)
    spec = tf_spec(entries)
    ds = tf.data.TFRecordDataset(input_path)
    single = batch is None
    if not single:
        ds = ds.batch(batch)
    out = []
    try:
        for records in ds:
            if single:
                parsed = tf.io.parse_single_example(records, spec)
            else:
                parsed = tf.io.parse_example(records, spec)
            out.append({"features": result_json(entries, parsed, not single)})
    except (tf.errors.InvalidArgumentError, ValueError, UnicodeDecodeError) as e:
        message = str(e) if not isinstance(e, UnicodeDecodeError) else f"undecodable error: {e}"
        out.append({"error": message.splitlines()[0] if message else type(e).__name__})
    return out


def cmd_jobs(path):
    with open(path) as f:
        jobs = json.load(f)
    for k, job in enumerate(jobs):
        if job["op"] == "write":
            write(job["out"], job["input"])
            lines = []
        elif job["op"] == "parse":
            lines = parse(job["input"], job["spec"], job["batch"])
        else:
            fail(f"unknown job {job['op']!r}")
        print(json.dumps({"job": k, "lines": lines}), flush=True)


def main():
    ap = argparse.ArgumentParser(prog="tf_parse_helper")
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("out")
    w.add_argument("input")
    p = sub.add_parser("parse")
    p.add_argument("input")
    p.add_argument("spec")
    p.add_argument("--batch", type=int, required=True)
    s = sub.add_parser("parse-single")
    s.add_argument("input")
    s.add_argument("spec")
    j = sub.add_parser("jobs")
    j.add_argument("jobs")
    args = ap.parse_args()
    if args.cmd == "write":
        write(args.out, args.input)
    elif args.cmd == "jobs":
        cmd_jobs(args.jobs)
    else:
        batch = args.batch if args.cmd == "parse" else None
        for line in parse(args.input, args.spec, batch):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

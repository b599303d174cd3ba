"""Beam pipelines for the TensorFlow interop tests (python/tests/test_beam_interop.py).

Run by the Beam venv's python; the main suite, which has TensorFlow, checks
the results. Values cross between the two processes as JSON (dtype name,
shape, hex of the bytes), so neither side's check goes through tfrec's own
encoding.

    interop_job.py write-tensors  CASES.json PREFIX none|gzip
    interop_job.py write-examples CASES.json PREFIX none|gzip
    interop_job.py read-tensors   PATTERN OUT.jsonl
    interop_job.py read-examples  PATTERN OUT.jsonl

Only the JSON helpers are imported by the main suite: Beam is imported in
`main` alone.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np


def _dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def array_to_json(a: Any) -> dict[str, Any]:
    """An array as JSON: strings (str as UTF-8) as hex of each element, else
    hex of its bytes."""
    a = np.asarray(a)
    if a.dtype.kind in "OSU":
        items = a.ravel().tolist()
        values = [(v.encode() if isinstance(v, str) else bytes(v)).hex() for v in items]
        return {"dtype": "string", "shape": list(a.shape), "values": values}
    data = np.ascontiguousarray(a).tobytes().hex()
    return {"dtype": a.dtype.name, "shape": list(a.shape), "hex": data}


def array_from_json(j: dict[str, Any]) -> np.ndarray:
    shape = tuple(j["shape"])
    if j["dtype"] == "string":
        out = np.empty(len(j["values"]), dtype=object)
        out[:] = [bytes.fromhex(v) for v in j["values"]]
        return out.reshape(shape)
    return np.frombuffer(bytes.fromhex(j["hex"]), dtype=_dtype(j["dtype"])).reshape(shape)


def dict_to_json(d: dict[str, Any]) -> dict[str, Any]:
    return {name: array_to_json(v) for name, v in d.items()}


def dict_from_json(j: dict[str, Any]) -> dict[str, Any]:
    return {name: array_from_json(v) for name, v in j.items()}


def main(argv: list[str]) -> None:
    import apache_beam as beam
    from pipelines import write_tfrecords  # this folder is sys.path[0]

    from tfrec.beam import ExampleCoder, TensorCoder

    command, *args = argv
    if command in ("write-tensors", "write-examples"):
        cases_path, prefix, compression = args
        with open(cases_path) as f:
            cases = json.load(f)
        if command == "write-tensors":
            values: list[Any] = [array_from_json(c) for c in cases]
            coder: Any = TensorCoder()
        else:
            values = [dict_from_json(c) for c in cases]
            coder = ExampleCoder()
        write_tfrecords(values, prefix, coder, compression)
    elif command in ("read-tensors", "read-examples"):
        pattern, out = args
        if command == "read-tensors":
            coder, to_json = TensorCoder(), array_to_json
        else:
            coder, to_json = ExampleCoder(), dict_to_json
        with beam.Pipeline("DirectRunner") as p:
            _ = (
                p
                | beam.io.ReadFromTFRecord(pattern, coder=coder)
                | beam.Map(lambda x: json.dumps(to_json(x)))
                | beam.io.WriteToText(out, num_shards=1, shard_name_template="")
            )
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])

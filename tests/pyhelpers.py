"""What the helper scripts in tests/ share: importing a library without
letting it print among their output, base64, JSON lines, and tensors and
tf.train.Example / SequenceExample messages as JSON (the schemas are in
tf_helper.py's docstring).

The scripts run as `python tests/NAME.py`, which puts this folder first on
sys.path, so `import pyhelpers` finds this file from any working directory.
TensorFlow and numpy are imported only when a function needs them
(`load_tensorflow`): beam_helper.py runs in a venv that has no TensorFlow.
Knows nothing of any script's subcommands, of Beam, or of tfrec.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import math
import os
import sys
from typing import Any, Iterable, Iterator

# --------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 pointed at standard error while the block runs, so
    that nothing a library prints while loading (from C++ too) can end up
    among the JSON a script prints."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@functools.cache
def load_tensorflow() -> Any:
    """TensorFlow (and numpy before it), imported once, quietly."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stdout_to_stderr():
        import numpy  # noqa: F401
        import tensorflow
    return tensorflow


class HelperError(Exception):
    """A user-facing failure: bad input, unreadable file, TF rejection."""


# --------------------------------------------------------------------------
# base64 and JSON lines
# --------------------------------------------------------------------------


def b64encode(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def b64decode(text: Any, what: str = "base64") -> bytes:
    """Standard padded base64; anything else is a HelperError naming `what`."""
    if not isinstance(text, str):
        raise HelperError(f"{what}: expected a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise HelperError(f"{what}: invalid base64: {e}") from None


def load_jsonl(path: str) -> Iterator[tuple[int, Any]]:
    """Yield (line number, object) for every non-blank line; "-" is stdin."""
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


# --------------------------------------------------------------------------
# TFRecord files through TensorFlow
# --------------------------------------------------------------------------

# --compression choice -> TensorFlow's compression_type.
COMPRESSION = {"none": "", "gzip": "GZIP", "zlib": "ZLIB"}


def write_records(path: str, payloads: Iterable[bytes], compression: str) -> None:
    """Write each payload as one record of `path` with tf.io.TFRecordWriter."""
    tf = load_tensorflow()
    options = tf.io.TFRecordOptions(compression_type=COMPRESSION[compression])
    with tf.io.TFRecordWriter(path, options) as w:
        for p in payloads:
            w.write(p)


# --------------------------------------------------------------------------
# Tensors as JSON: {"dtype", "shape", "data" or "strings"}
# --------------------------------------------------------------------------

# name -> numpy dtype of the element bytes in "data" (little-endian).
# bfloat16 travels as its uint16 bit pattern; string has no fixed-size bytes.
DTYPES: dict[str, str | None] = {
    "float16": "<f2",
    "bfloat16": "<u2",
    "float32": "<f4",
    "float64": "<f8",
    "int8": "i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
    "uint8": "u1",
    "uint16": "<u2",
    "uint32": "<u4",
    "uint64": "<u8",
    "bool": "?",
    "complex64": "<c8",
    "complex128": "<c16",
    "string": None,
}


def _check_shape(shape: Any) -> list[int]:
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise HelperError(f"'shape' must be a list of non-negative integers, got {shape!r}")
    return shape


def json_to_tensor(obj: Any) -> Any:
    """Build a tf.Tensor from one schema object."""
    tf = load_tensorflow()
    import numpy as np

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

    element = DTYPES[name]
    if element is None:
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

    np_dtype = np.dtype(element)
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
    return tf.constant(arr, dtype=tf.dtypes.as_dtype(name))


def tensor_to_json(t: Any) -> dict[str, Any]:
    """Encode a tf.Tensor (eager) as a schema object."""
    tf = load_tensorflow()
    import numpy as np

    name = t.dtype.name
    if name not in DTYPES:
        raise HelperError(f"tensor dtype {name} is outside the supported set")
    shape = [int(d) for d in t.shape]
    element = DTYPES[name]
    if element is None:
        flat = np.asarray(t.numpy(), dtype=object).reshape(-1)
        return {"dtype": name, "shape": shape, "strings": [b64encode(s) for s in flat]}
    if name == "bfloat16":
        t = tf.bitcast(t, tf.uint16)
    arr = np.asarray(t.numpy())
    if name == "bool":
        arr = arr.astype(np.uint8)
    else:
        arr = arr.astype(np.dtype(element), copy=False)
    data = b64encode(np.ascontiguousarray(arr).tobytes(order="C"))
    return {"dtype": name, "shape": shape, "data": data}


# --------------------------------------------------------------------------
# tf.train.Example and SequenceExample as JSON
# --------------------------------------------------------------------------

# A feature's kind -> the TensorFlow dtype its values parse as.
KINDS = {"int64_list": "int64", "float_list": "float32", "bytes_list": "string"}


def kind_dtype(kind: str) -> Any:
    """The tf.DType a feature of `kind` ("int64_list", ...) parses as."""
    return load_tensorflow().dtypes.as_dtype(KINDS[kind])


def float_to_json(v: float) -> float | str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(v)


def float_from_json(v: Any, what: str) -> float:
    if isinstance(v, str):
        if v in ("nan", "inf", "-inf"):
            return float(v)
        raise HelperError(f"{what}: unknown float string {v!r}")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise HelperError(f"{what}: expected a number, got {type(v).__name__}")
    return float(v)


def feature_to_json(f: Any) -> dict[str, list[Any]]:
    kind = f.WhichOneof("kind")
    if kind is None:
        return {}
    values = getattr(f, kind).value
    if kind == "bytes_list":
        return {kind: [b64encode(v) for v in values]}
    if kind == "float_list":
        return {kind: [float_to_json(v) for v in values]}
    return {kind: [int(v) for v in values]}


def features_to_json(features: Any) -> dict[str, dict[str, list[Any]]]:
    return {name: feature_to_json(f) for name, f in features.feature.items()}


def message_to_json(msg: Any) -> dict[str, Any]:
    """An Example or SequenceExample as JSON; a part it does not have is left out."""
    tf = load_tensorflow()
    if isinstance(msg, tf.train.Example):
        return {"features": features_to_json(msg.features)} if msg.HasField("features") else {}
    out: dict[str, Any] = {}
    if msg.HasField("context"):
        out["context"] = features_to_json(msg.context)
    if msg.HasField("feature_lists"):
        out["feature_lists"] = {
            name: [feature_to_json(f) for f in fl.feature]
            for name, fl in msg.feature_lists.feature_list.items()
        }
    return out


def fill_feature(f: Any, obj: Any, what: str) -> None:
    """Set tf.train.Feature `f` from its JSON object."""
    if not isinstance(obj, dict) or len(obj) > 1:
        raise HelperError(f"{what}: a feature is an object with at most one key")
    for kind, values in obj.items():
        if kind not in KINDS or not isinstance(values, list):
            raise HelperError(f"{what}: unknown feature {kind!r}")
        lst = getattr(f, kind)
        lst.SetInParent()  # the kind is set even when the list is empty
        if kind == "bytes_list":
            lst.value.extend(b64decode(v, what) for v in values)
        elif kind == "float_list":
            lst.value.extend(float_from_json(v, what) for v in values)
        else:
            lst.value.extend(int(v) for v in values)


def fill_features(features: Any, obj: Any, what: str) -> None:
    features.SetInParent()
    if not isinstance(obj, dict):
        raise HelperError(f"{what}: expected an object")
    for name, f in obj.items():
        fill_feature(features.feature[name], f, f"{what} {name!r}")


def message_from_json(obj: Any, kind: str) -> Any:
    """A tf.train.Example (`kind` "example") or SequenceExample from JSON."""
    tf = load_tensorflow()
    if not isinstance(obj, dict):
        raise HelperError("expected a JSON object")
    if kind == "example":
        msg = tf.train.Example()
        if "features" in obj:
            fill_features(msg.features, obj["features"], "feature")
        return msg
    msg = tf.train.SequenceExample()
    if "context" in obj:
        fill_features(msg.context, obj["context"], "context feature")
    if "feature_lists" in obj:
        msg.feature_lists.SetInParent()
        for name, steps in obj["feature_lists"].items():
            fl = msg.feature_lists.feature_list[name]
            for i, f in enumerate(steps):
                fill_feature(fl.feature.add(), f, f"feature list {name!r} step {i}")
    return msg


# Builders for fixed cases.


def ints(*values: int) -> Any:
    """A tf.train.Feature holding an int64_list."""
    tf = load_tensorflow()
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def floats(*values: float) -> Any:
    """A tf.train.Feature holding a float_list."""
    tf = load_tensorflow()
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def byts(*values: bytes) -> Any:
    """A tf.train.Feature holding a bytes_list."""
    tf = load_tensorflow()
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))


def example(**features: Any) -> Any:
    """A tf.train.Example of the given features."""
    tf = load_tensorflow()
    return tf.train.Example(features=tf.train.Features(feature=features))

"""Python values to ``tf.train.Example`` features.

Knows nothing of files or framing; the encoding is the library's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._tensor import _as_bytes, _is_torch, _from_torch

__all__ = ["prepare_features"]

BYTES, FLOAT, INT64, NO_KIND = 0, 1, 2, 3
_INT64_MAX = 2**63 - 1


def _from_array(name: str, arr: np.ndarray) -> tuple[int, Any]:
    kind = arr.dtype.kind
    flat = arr.reshape(-1)
    if kind in "OSU":
        return BYTES, [_as_bytes(v) for v in flat.tolist()]
    if kind == "f" or (kind == "V" and arr.dtype.itemsize == 2):  # bfloat16 too
        return FLOAT, np.ascontiguousarray(flat, dtype=np.float32)
    if kind in "iub":
        if kind == "u" and arr.dtype.itemsize == 8 and flat.size and flat.max() > _INT64_MAX:
            raise ValueError(f"feature {name!r}: uint64 value above the int64 range")
        return INT64, np.ascontiguousarray(flat, dtype=np.int64)
    raise TypeError(f"feature {name!r}: no Example list for dtype {arr.dtype}")


def _feature(name: str, value: Any) -> tuple[int, Any]:
    if isinstance(value, (bytes, str, bytearray, memoryview)):
        return BYTES, [_as_bytes(value)]
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return _feature(name, [value])
    if isinstance(value, (float, np.floating)):
        return FLOAT, np.asarray([value], dtype=np.float32)
    if isinstance(value, np.ndarray):
        return _from_array(name, value)
    if _is_torch(value):
        return _from_array(name, _from_torch(value))
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return NO_KIND, None
        if all(isinstance(v, (bytes, str, bytearray, memoryview, np.bytes_, np.str_)) for v in value):
            return BYTES, [_as_bytes(v) for v in value]
        if all(isinstance(v, (bool, int, np.integer, np.bool_)) for v in value):
            try:
                ints = np.asarray(value, dtype=object).astype(np.int64)
            except OverflowError:
                raise ValueError(f"feature {name!r}: int out of the int64 range") from None
            return _from_array(name, ints)
        if all(isinstance(v, (bool, int, float, np.integer, np.floating, np.bool_)) for v in value):
            return FLOAT, np.asarray(value, dtype=np.float32)
        raise TypeError(f"feature {name!r}: a list must hold only numbers or only bytes/str")
    if hasattr(value, "__array__"):
        return _from_array(name, np.asarray(value))
    raise TypeError(f"feature {name!r}: cannot store {type(value).__name__!r} in an Example")


def prepare_features(mapping: Mapping[str, Any]) -> list[tuple[str, int, Any]]:
    """``(name, kind, values)`` triples for the compiled writer.

    ints (and bools) become an int64_list, floats a float_list, bytes and str
    a bytes_list (str as UTF-8); sequences and arrays by their elements or
    dtype kind (float64 is stored as float32, as FloatList holds float32);
    an empty sequence becomes a feature with no list set, which TensorFlow
    parses as empty for any dtype.
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(f"write_example takes a mapping, not {type(mapping).__name__!r}")
    out = []
    for name, value in mapping.items():
        if not isinstance(name, str):
            raise TypeError(f"feature names are str, not {type(name).__name__!r}")
        kind, values = _feature(name, value)
        out.append((name, kind, values))
    return out

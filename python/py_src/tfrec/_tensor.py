"""Tensors to and from ``tf.io.serialize_tensor``'s bytes.

Python normalizes the input (any array-like to a C-contiguous little-endian
NumPy array of the same dtype); the encoding itself is the library's, byte
for byte what TensorFlow writes.

Knows nothing of files; the dtype codes are the library's table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _tfrec

__all__ = ["serialize_tensor", "parse_tensor", "DTYPE_CODES"]

# TensorFlow ``DataType`` enum values, by name: the library's table.
_CODES: dict[str, int] = dict(_tfrec._dtype_codes())
_STRING = _CODES["string"]
_BFLOAT16 = _CODES["bfloat16"]

#: TensorFlow ``DataType`` enum values, by NumPy dtype (every dtype NumPy
#: has natively: not strings, nor bfloat16).
DTYPE_CODES: dict[np.dtype, int] = {
    np.dtype(name): code
    for name, code in sorted(_CODES.items(), key=lambda item: item[1])
    if code not in (_STRING, _BFLOAT16)
}

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _bfloat16() -> np.dtype | None:
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - ml_dtypes is a dependency
        return None
    return np.dtype(ml_dtypes.bfloat16)


_BF16 = _bfloat16()


def _from_torch(x: Any) -> np.ndarray:
    """A CPU NumPy array with the tensor's dtype (CUDA tensors are copied to the host)."""
    import torch

    t = x.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().view(_BF16)
    return t.numpy()


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _python_values(x: Any) -> np.ndarray:
    """Python scalars and nested lists, typed as ``tf.constant`` types them.

    ints become int32 (int64 when a value does not fit), floats float32,
    complex numbers complex128, bools bool, str and bytes DT_STRING.
    """
    if isinstance(x, (str, bytes)):
        return np.array(_as_bytes(x), dtype=object)
    arr = np.asarray(x)
    if arr.dtype.kind in "US":
        # NumPy's fixed-width strings drop trailing NUL bytes: keep the objects.
        arr = np.array(x, dtype=object)
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(np.float32)
    if kind in "iu":
        if arr.size == 0 or (arr.min() >= _INT32_MIN and arr.max() <= _INT32_MAX):
            return arr.astype(np.int32)
        if arr.max() > np.iinfo(np.int64).max:
            raise ValueError("Python int out of the int64 range (pass a uint64 array instead)")
        return arr.astype(np.int64)
    if kind == "O" and arr.size == 0:
        return arr.astype(np.float32)
    return arr


def to_array(x: Any) -> np.ndarray:
    """Any array-like as a NumPy array of its own dtype (not yet contiguous)."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    if isinstance(x, (bool, int, float, complex, str, bytes, list, tuple)):
        return _python_values(x)
    if _is_torch(x):
        return _from_torch(x)
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return np.asarray(x)
    if isinstance(x, (bytearray, memoryview)):
        return np.asarray(memoryview(x))
    if hasattr(x, "__dlpack__"):
        return np.from_dlpack(x)
    try:
        return np.asarray(memoryview(x))
    except TypeError:
        pass
    raise TypeError(f"cannot serialize {type(x).__name__!r} as a tensor")


def _as_bytes(v: Any) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (bytearray, memoryview, np.bytes_)):
        return bytes(v)
    raise TypeError(f"string tensors hold bytes or str, not {type(v).__name__!r}")


def prepare(x: Any) -> tuple[int, tuple[int, ...], Any]:
    """``(dtype code, shape, data)``: data a flat uint8 array, or a list of bytes for strings."""
    arr = to_array(x)
    shape = tuple(int(d) for d in arr.shape)
    dtype = arr.dtype
    if dtype.kind in "OSU":
        return _STRING, shape, [_as_bytes(v) for v in arr.ravel(order="C").tolist()]
    if _BF16 is not None and dtype == _BF16:
        code = _BFLOAT16
    else:
        native = dtype.newbyteorder("=") if dtype.byteorder not in "=|" else dtype
        code = DTYPE_CODES.get(native, -1)
        if code < 0:
            raise TypeError(f"no TensorFlow dtype for NumPy dtype {dtype}")
        if dtype.byteorder == ">" or (dtype.byteorder == "=" and np.little_endian is False):
            arr = arr.astype(native.newbyteorder("<"))
    arr = np.ascontiguousarray(arr)
    return code, shape, arr.reshape(-1).view(np.uint8)


def serialize_tensor(x: Any) -> bytes:
    """Serializes ``x`` exactly as ``tf.io.serialize_tensor`` does.

    ``x`` may be a NumPy array of any dtype, layout or byte order, a NumPy
    scalar, a ``torch.Tensor`` (bfloat16 included; CUDA tensors are copied to
    the host), anything with ``__array__``, the buffer protocol or
    ``__dlpack__``, or Python values: ints become int32 (int64 when a value
    does not fit), floats float32, as ``tf.constant`` types them. The dtype of
    an array is never changed. Object arrays of ``bytes``/``str`` are
    DT_STRING (``str`` encoded as UTF-8).

    >>> import numpy as np, tfrec
    >>> b = tfrec.serialize_tensor(np.arange(3, dtype=np.float64))
    >>> tfrec.parse_tensor(b)
    array([0., 1., 2.])
    """
    code, shape, data = prepare(x)
    if code == _STRING:
        return _tfrec._serialize_strings(shape, data)
    return _tfrec._serialize_array(code, shape, data)


def parse_tensor(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Parses a serialized ``TensorProto`` into a NumPy array of its dtype and shape.

    Reads ``tensor_content`` and the typed ``*_val`` fields with TensorFlow's
    rules (a shorter list repeats its last value, an empty one means zeros).
    Strings give an object array of ``bytes``, bfloat16 gives
    ``ml_dtypes.bfloat16``. Raises `tfrec.InvalidTensorError` for anything
    that is not a valid tensor.

    >>> import tfrec
    >>> tfrec.parse_tensor(tfrec.serialize_tensor([[1, 2], [3, 4]])).dtype
    dtype('int32')
    """
    if not isinstance(data, bytes):
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        else:
            raise TypeError(f"parse_tensor takes bytes, not {type(data).__name__!r}")
    return _tfrec._parse_tensor(data)

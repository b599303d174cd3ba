"""TFRecord files and the protobuf messages in them, built byte by byte in
pure Python: masked CRC32C, record frames, varints and fields, TensorProtos
of numeric arrays as ``tf.io.serialize_tensor`` writes them, and
``tf.train.Example`` s.

Shared by python/tests/dataset_data.py, benches/compare_s3.py and
testdata/make_testdata.py, each of which puts this folder on ``sys.path``.
CRCs come from the ``crc32c`` package when it is installed (a bench writes
hundreds of MB), from a table here otherwise. Knows nothing of TensorFlow or
tfrec, so a bug in tfrec cannot hide in data made with it.
"""

from __future__ import annotations

import os
import struct
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

# --------------------------------------------------------------------------
# CRC32C and frames
# --------------------------------------------------------------------------

_POLY = 0x82F63B78
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def _table_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fastest_crc32c() -> Callable[[bytes], int]:
    try:
        from crc32c import crc32c as package_crc32c
    except ImportError:
        return _table_crc32c
    return package_crc32c


crc32c = _fastest_crc32c()

assert _table_crc32c(b"123456789") == crc32c(b"123456789") == 0xE3069283


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(payload: bytes) -> bytes:
    """One record as it stands in a file: u64 LE length, masked CRC32C of the
    length, the payload, masked CRC32C of the payload."""
    header = struct.pack("<Q", len(payload))
    return (
        header
        + struct.pack("<I", masked_crc(header))
        + payload
        + struct.pack("<I", masked_crc(payload))
    )


def write_records(path: str | os.PathLike[str], payloads: Iterable[bytes]) -> list[int]:
    """Writes the records; returns each frame's byte offset."""
    offsets = []
    pos = 0
    with open(path, "wb") as f:
        for p in payloads:
            offsets.append(pos)
            fr = frame(p)
            f.write(fr)
            pos += len(fr)
    return offsets


# --------------------------------------------------------------------------
# Protobuf wire format
# --------------------------------------------------------------------------


def varint(n: int) -> bytes:
    """A base-128 varint; negative numbers as their 64-bit two's complement."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    """A field's key: its number and wire type."""
    return varint(number << 3 | wire_type)


def length_delimited(number: int, body: bytes) -> bytes:
    """A length-delimited field (wire type 2): bytes, a string, a message."""
    return tag(number, 2) + varint(len(body)) + body


# DataType enum of each numeric numpy dtype.
_DTYPES = {
    np.dtype(np.float32): 1,
    np.dtype(np.float64): 2,
    np.dtype(np.int32): 3,
    np.dtype(np.uint8): 4,
    np.dtype(np.int16): 5,
    np.dtype(np.int8): 6,
    np.dtype(np.int64): 9,
    np.dtype(np.uint16): 17,
    np.dtype(np.float16): 19,
    np.dtype(np.uint32): 22,
    np.dtype(np.uint64): 23,
}


def serialize_tensor(array: np.ndarray) -> bytes:
    """A numeric array as ``tf.io.serialize_tensor`` serializes it (dtype,
    shape, ``tensor_content``)."""
    array = np.ascontiguousarray(array)
    shape = b"".join(length_delimited(2, tag(1, 0) + varint(d)) for d in array.shape)
    out = tag(1, 0) + varint(_DTYPES[array.dtype])
    out += length_delimited(2, shape)
    if array.size:
        out += length_delimited(4, array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return out


def example(features: Mapping[str, Sequence[int] | Sequence[float] | Sequence[bytes]], kinds: Mapping[str, str]) -> bytes:
    """A serialized ``tf.train.Example``; ``kinds[name]`` is ``"int64"``,
    ``"float"`` or ``"bytes"``."""
    entries = b""
    for name, values in features.items():
        kind = kinds[name]
        if kind == "int64":
            packed = b"".join(varint(int(v)) for v in values)
            feature = length_delimited(3, length_delimited(1, packed))
        elif kind == "float":
            packed = struct.pack(f"<{len(values)}f", *values)
            feature = length_delimited(2, length_delimited(1, packed))
        else:
            inner = b"".join(length_delimited(1, bytes(v)) for v in values)
            feature = length_delimited(1, inner)
        entry = length_delimited(1, name.encode()) + length_delimited(2, feature)
        entries += length_delimited(1, entry)
    return length_delimited(1, entries)

"""Test files for the dataset tests, written in pure Python.

TFRecord framing (u64 LE length, masked CRC32C of the length, payload, masked
CRC32C of the payload), ``TensorProto`` s as ``tf.io.serialize_tensor`` writes
numeric tensors (dtype, shape, ``tensor_content``), and ``tf.train.Example`` s.
Nothing here uses tfrec, so a bug in tfrec cannot hide in its own test data.
"""

from __future__ import annotations

import os
import struct
from typing import Iterable, Mapping, Sequence

import numpy as np

_POLY = 0x82F63B78
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def frame(payload: bytes) -> bytes:
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


# -- protobuf ---------------------------------------------------------------


def _varint(n: int) -> bytes:
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


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes_field(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data


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
    """A numeric array as ``tf.io.serialize_tensor`` serializes it."""
    array = np.ascontiguousarray(array)
    shape = b"".join(_bytes_field(2, _key(1, 0) + _varint(d)) for d in array.shape)
    out = _key(1, 0) + _varint(_DTYPES[array.dtype])
    out += _bytes_field(2, shape)
    if array.size:
        out += _bytes_field(4, array.astype(array.dtype.newbyteorder("<")).tobytes())
    return out


def example(features: Mapping[str, Sequence[int] | Sequence[float] | Sequence[bytes]], kinds: Mapping[str, str]) -> bytes:
    """A serialized ``tf.train.Example``; ``kinds[name]`` is ``"int64"``,
    ``"float"`` or ``"bytes"``."""
    entries = b""
    for name, values in features.items():
        kind = kinds[name]
        if kind == "int64":
            packed = b"".join(_varint(int(v)) for v in values)
            feature = _bytes_field(3, _bytes_field(1, packed))
        elif kind == "float":
            packed = struct.pack(f"<{len(values)}f", *values)
            feature = _bytes_field(2, _bytes_field(1, packed))
        else:
            inner = b"".join(_bytes_field(1, bytes(v)) for v in values)
            feature = _bytes_field(1, inner)
        entry = _bytes_field(1, name.encode()) + _bytes_field(2, feature)
        entries += _bytes_field(1, entry)
    return _bytes_field(1, entries)


# -- datasets ---------------------------------------------------------------


def record_value(file: int, index: int) -> np.ndarray:
    """Record ``index`` of file ``file``: ``int64[3]`` naming itself."""
    return np.array([file, index, file * 7919 + index * 104729], dtype=np.int64)


def write_shards(directory: str | os.PathLike[str], counts: Sequence[int]) -> list[str]:
    """Files ``part-NN.tfrecord`` with ``counts[f]`` records each (see
    :func:`record_value`); returns the paths."""
    paths = []
    for f, n in enumerate(counts):
        path = os.path.join(os.fspath(directory), f"part-{f:02d}.tfrecord")
        write_records(path, (serialize_tensor(record_value(f, i)) for i in range(n)))
        paths.append(path)
    return paths


def flip_payload_bit(path: str | os.PathLike[str], record: int) -> int:
    """Flips one bit in the payload of record ``record``; returns its frame's offset."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    pos = 0
    for _ in range(record):
        (length,) = struct.unpack_from("<Q", data, pos)
        pos += length + 16
    (length,) = struct.unpack_from("<Q", data, pos)
    data[pos + 12 + length // 2] ^= 0x10
    with open(path, "wb") as f:
        f.write(bytes(data))
    return pos


def flip_length_bit(path: str | os.PathLike[str], record: int) -> int:
    """Damages the length field of record ``record`` (its frame header);
    returns its frame's offset."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    pos = 0
    for _ in range(record):
        (length,) = struct.unpack_from("<Q", data, pos)
        pos += length + 16
    data[pos] ^= 0x01
    with open(path, "wb") as f:
        f.write(bytes(data))
    return pos

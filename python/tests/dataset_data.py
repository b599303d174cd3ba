"""Test files for the dataset tests, written in pure Python: shards of
``int64[3]`` tensors that name their file and index, and damaged copies.

The bytes (TFRecord framing, ``TensorProto`` s as ``tf.io.serialize_tensor``
writes numeric tensors, ``tf.train.Example`` s) come from the repository's
tests/tfrecord_bytes.py, which knows nothing of tfrec, so a bug in tfrec
cannot hide in its own test data.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from tfrecord_bytes import example, serialize_tensor, write_records  # noqa: E402

__all__ = [
    "example",
    "flip_length_bit",
    "flip_payload_bit",
    "record_value",
    "serialize_tensor",
    "write_records",
    "write_shards",
]


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


def _flip_bit(
    path: str | os.PathLike[str], record: int, byte_in_frame: Callable[[int], int], mask: int
) -> int:
    """XORs ``mask`` into byte ``byte_in_frame(payload length)`` of record
    ``record``'s frame; returns the frame's offset."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    pos = 0
    for _ in range(record):
        (length,) = struct.unpack_from("<Q", data, pos)
        pos += length + 16
    (length,) = struct.unpack_from("<Q", data, pos)
    data[pos + byte_in_frame(length)] ^= mask
    with open(path, "wb") as f:
        f.write(bytes(data))
    return pos


def flip_payload_bit(path: str | os.PathLike[str], record: int) -> int:
    """Flips one bit in the payload of record ``record``; returns its frame's offset."""
    return _flip_bit(path, record, lambda length: 12 + length // 2, 0x10)


def flip_length_bit(path: str | os.PathLike[str], record: int) -> int:
    """Damages the length field of record ``record`` (its frame header);
    returns its frame's offset."""
    return _flip_bit(path, record, lambda length: 0, 0x01)

"""tfrec: fast, checked TFRecord files of tensors and ``tf.train.Example``s.

Reads and writes TFRecord files without TensorFlow: tensors serialized
byte-for-byte as ``tf.io.serialize_tensor`` does, ``tf.train.Example``s as
TensorFlow serializes them, every CRC checked, decoding in parallel in Rust
with the GIL released.

This module gathers the public names and holds no logic of its own.
"""

from __future__ import annotations

from . import _errors
from ._errors import (
    DataLossError,
    Error,
    InvalidExampleError,
    InvalidInputError,
    InvalidTensorError,
    TFRecordIOError,
    TFRecordNotFoundError,
    TFRecordPermissionError,
    TFRecordTimeoutError,
    TooManySkippedError,
    UnsupportedDTypeError,
)
from ._io import Reader, ShardedWriter, Writer, parse_example, serialize_example
from ._tensor import parse_tensor, serialize_tensor
from ._tfrec import __version__, num_threads
from .dataset import Dataset
from .spec import FixedLen, Ragged, VarLen

__all__ = [
    "__version__",
    "num_threads",
    "serialize_tensor",
    "parse_tensor",
    "serialize_example",
    "parse_example",
    "Reader",
    "Writer",
    "ShardedWriter",
    "Dataset",
    "FixedLen",
    "VarLen",
    "Ragged",
]
# The exception classes, as _errors lists them.
__all__ += _errors.__all__

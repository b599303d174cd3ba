"""Apache Beam coders for TFRecord payloads: tensors and ``tf.train.Example``s.

`TensorCoder` makes ``beam.io.ReadFromTFRecord(pattern, coder=TensorCoder())``
yield NumPy arrays and ``beam.io.WriteToTFRecord(prefix,
coder=TensorCoder())`` write tensors that ``tf.io.parse_tensor`` parses;
`ExampleCoder` does the same for ``{name: value}`` dicts and
``tf.train.Example``s. Both are deterministic and pickle.

This module imports Apache Beam; ``import tfrec`` does not import it.

>>> import numpy as np
>>> from tfrec.beam import ExampleCoder, TensorCoder
>>> TensorCoder().decode(TensorCoder().encode(np.arange(3, dtype=np.int64)))
array([0, 1, 2])
>>> ExampleCoder().decode(ExampleCoder().encode({"label": 1}))
{'label': array([1])}

Knows nothing of files: Beam reads and writes them, the coders only
translate payloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from apache_beam.coders import Coder

from ._io import parse_example, serialize_example
from ._tensor import parse_tensor, serialize_tensor

__all__ = ["TensorCoder", "ExampleCoder"]


class TensorCoder(Coder):  # type: ignore[misc]
    """Encodes a tensor as ``tf.io.serialize_tensor`` does (`tfrec.serialize_tensor`)
    and decodes one into a NumPy array (`tfrec.parse_tensor`).

    Encodes anything `tfrec.serialize_tensor` takes: arrays of every dtype
    (bfloat16 as ``ml_dtypes.bfloat16``, strings as object arrays of
    ``bytes``), scalars, nested lists, torch tensors.
    """

    def encode(self, value: Any) -> bytes:
        return serialize_tensor(value)

    def decode(self, encoded: bytes) -> np.ndarray:
        return parse_tensor(encoded)

    def is_deterministic(self) -> bool:
        # The same tensor always serializes to the same bytes.
        return True

    def to_type_hint(self) -> type:
        return np.ndarray

    def __repr__(self) -> str:
        return "tfrec.beam.TensorCoder()"


class ExampleCoder(Coder):  # type: ignore[misc]
    """Encodes ``{name: value}`` as a ``tf.train.Example`` (`tfrec.serialize_example`)
    and decodes one into ``{name: array}`` (`tfrec.parse_example`), as
    `tfrec.Reader` gives Examples.

    Values as `tfrec.Writer.write_example` takes them: ints and bools an
    int64_list, floats a float_list (float64 stored as float32), ``bytes``
    and ``str`` a bytes_list; lists by their elements, arrays by dtype kind.
    Decoding gives int64, float32 and object (``bytes``) arrays.
    """

    def encode(self, value: Mapping[str, Any]) -> bytes:
        return serialize_example(value)

    def decode(self, encoded: bytes) -> dict[str, Any]:
        return parse_example(encoded)

    def is_deterministic(self) -> bool:
        # Features are serialized sorted by name, as TensorFlow's
        # SerializeToString(deterministic=True) does.
        return True

    def to_type_hint(self) -> type:
        return dict

    def __repr__(self) -> str:
        return "tfrec.beam.ExampleCoder()"

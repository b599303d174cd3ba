"""Parse specs for ``tf.train.Example`` files, as ``tf.io.parse_example`` takes them.

A spec is a dict of feature name to :class:`FixedLen` or :class:`VarLen`::

    spec = {
        "label": tfrec.FixedLen([], "int64"),
        "x": tfrec.FixedLen([16], np.float32),
        "weight": tfrec.FixedLen([], "float32", default=1.0),
        "tokens": tfrec.VarLen("int64"),
    }
    for batch in tfrec.Dataset("train-*.tfrecord", batch_size=256, spec=spec):
        batch["x"]          # float32 array [256, 16]
        batch["tokens"]     # Ragged(values, row_splits)

A batch is a dict of feature name to:

- for a :class:`FixedLen` feature, an array ``[B, *shape]`` equal to
  ``tf.io.parse_example``'s: ``int64``, ``float32``, or an ``object`` array of
  ``bytes`` for strings;
- for a :class:`VarLen` feature, a :class:`Ragged` ``(values, row_splits)``:
  ``values`` holds every record's values one record after another (1-D, the
  ``values`` of TensorFlow's ``SparseTensor``), and record ``i`` holds
  ``values[row_splits[i]:row_splits[i + 1]]`` (``row_splits`` is ``int64``,
  ``B + 1`` long, as in ``tf.RaggedTensor.from_row_splits``).

Knows nothing of files or records: it only checks and normalizes
specs for the library's parser.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

__all__ = ["FixedLen", "VarLen", "Ragged"]

_NAMES = {
    "int64": "int64",
    "float32": "float32",
    "float": "float32",
    "string": "string",
    "bytes": "string",
    "str": "string",
    "object": "string",
}


def _dtype_name(dtype: Any) -> str:
    """The spec dtype ``int64``, ``float32`` or ``string`` for ``dtype``.

    Takes those names, NumPy dtypes and types (``np.int64``, ``np.float32``,
    ``bytes``/``object`` for strings), and TensorFlow dtypes (by name).
    """
    if isinstance(dtype, str):
        name = dtype
    elif dtype is bytes or dtype is str or dtype is object:
        name = "string"
    elif hasattr(dtype, "name") and not isinstance(dtype, np.dtype) and not isinstance(dtype, type):
        name = str(dtype.name)  # tf.DType
    else:
        try:
            np_dtype = np.dtype(dtype)
        except TypeError as e:
            raise TypeError(f"not a dtype: {dtype!r}") from e
        name = "string" if np_dtype.kind in "OSU" else np_dtype.name
    try:
        return _NAMES[name]
    except KeyError:
        raise TypeError(
            f"Example features hold int64, float32 or string values, not {name!r}"
        ) from None


class FixedLen:
    """A feature with the same number of values in every record
    (``tf.io.FixedLenFeature(shape, dtype, default_value)``).

    ``shape`` is the shape of one record's value (``[]`` for a scalar), whose
    element count every record must hold; ``default`` (a scalar, or anything
    ``np.asarray`` turns into ``shape``'s elements) is what records without
    the feature get; without one such a record is an error.
    """

    __slots__ = ("shape", "dtype", "default")

    def __init__(self, shape: Sequence[int] | int, dtype: Any, default: Any = None) -> None:
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        self.shape: tuple[int, ...] = tuple(int(d) for d in shape)
        if any(d < 0 for d in self.shape):
            raise ValueError(f"shape {self.shape} has a negative dimension")
        self.dtype: str = _dtype_name(dtype)
        self.default = default

    def __repr__(self) -> str:
        return f"FixedLen({list(self.shape)}, {self.dtype!r}, default={self.default!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FixedLen)
            and (self.shape, self.dtype) == (other.shape, other.dtype)
            and _same(self.default, other.default)
        )

    def __reduce__(self):  # type: ignore[override]
        return (FixedLen, (self.shape, self.dtype, self.default))

    def _default_values(self) -> list[Any] | None:
        if self.default is None:
            return None
        if self.dtype == "string":
            values = np.asarray(self.default, dtype=object).reshape(-1)
            return [v.encode() if isinstance(v, str) else bytes(v) for v in values]
        np_type = np.int64 if self.dtype == "int64" else np.float32
        values = np.asarray(self.default, dtype=np_type).reshape(-1)
        count = int(np.prod(self.shape, dtype=np.int64))
        if values.size == 1 and count != 1:
            values = np.full(count, values[0], dtype=np_type)
        return values.tolist()


class VarLen:
    """A feature with any number of values per record
    (``tf.io.VarLenFeature(dtype)``); batched as :class:`Ragged`."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype: str = _dtype_name(dtype)

    def __repr__(self) -> str:
        return f"VarLen({self.dtype!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VarLen) and self.dtype == other.dtype

    def __reduce__(self):  # type: ignore[override]
        return (VarLen, (self.dtype,))


class Ragged(NamedTuple):
    """A batch of a :class:`VarLen` feature: record ``i`` holds
    ``values[row_splits[i]:row_splits[i + 1]]``."""

    values: np.ndarray
    row_splits: np.ndarray

    def row(self, i: int) -> np.ndarray:
        """Record ``i``'s values."""
        return self.values[self.row_splits[i] : self.row_splits[i + 1]]

    def row_lengths(self) -> np.ndarray:
        """Number of values of each record."""
        return np.diff(self.row_splits)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def normalize(spec: Mapping[str, FixedLen | VarLen]) -> list[tuple[str, str, str, list[int], Any]]:
    """The spec as the entries the compiled module takes."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a dict of name to FixedLen or VarLen, not {type(spec).__name__}")
    entries = []
    for name, feature in spec.items():
        if not isinstance(name, str):
            raise TypeError(f"feature names are strings, not {name!r}")
        if isinstance(feature, FixedLen):
            entries.append((name, "fixed", feature.dtype, list(feature.shape), feature._default_values()))
        elif isinstance(feature, VarLen):
            entries.append((name, "var_len", feature.dtype, [], None))
        else:
            raise TypeError(f"feature {name!r}: expected FixedLen or VarLen, got {feature!r}")
    return entries

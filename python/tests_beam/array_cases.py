"""Arrays of every dtype tfrec and TensorFlow share, and Example features,
for the Beam tests in both venvs: test_beam.py here, and
python/tests/test_beam_interop.py, which loads this file by its path.

Imports only numpy and ml_dtypes; knows nothing of Beam, TensorFlow or tfrec.
"""

from __future__ import annotations

import math
from typing import Any

import ml_dtypes
import numpy as np

NUMERIC_DTYPES = [
    np.dtype(t)
    for t in [
        np.float16,
        np.float32,
        np.float64,
        ml_dtypes.bfloat16,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.complex64,
        np.complex128,
    ]
]


def numeric_cases(
    seed: int, shape: tuple[int, ...], scale: float, empty_shape: tuple[int, ...]
) -> list[np.ndarray]:
    """For each of ``NUMERIC_DTYPES``: normal random values times ``scale``
    of ``shape`` (complex ones with random imaginary parts, unsigned ones
    made positive), the first of them as a scalar, and zeros of
    ``empty_shape``."""
    rng = np.random.default_rng(seed)
    size = math.prod(shape)
    cases = []
    for dtype in NUMERIC_DTYPES:
        values = rng.normal(size=size) * scale
        if dtype.kind == "c":
            values = values + 1j * rng.normal(size=size)
        if dtype.kind == "u":
            values = np.abs(values)
        full = values.astype(dtype)
        cases += [full.reshape(shape), full[:1].reshape(()), np.zeros(empty_shape, dtype=dtype)]
    return cases


def edge_cases() -> list[np.ndarray]:
    """A bool matrix, the int64 and uint64 extremes, byte strings (empty,
    NUL, non-UTF-8, multi-byte UTF-8) and an empty string array."""
    return [
        np.array([[True, False, True]]),
        np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max]),
        np.array([np.iinfo(np.uint64).max], dtype=np.uint64),
        np.array([[b"a", b""], [b"\x00\xff", "é".encode()]], dtype=object),
        np.array([], dtype=object),
    ]


def scalar_features_case() -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(features of one Python scalar each, as given to ``ExampleCoder``; the
    arrays decoding or TensorFlow's parsing must give)."""
    return (
        {"label": 3, "score": 0.25, "id": "a", "raw": b"\x00\x01"},
        {
            "label": np.array([3]),
            "score": np.array([0.25], np.float32),
            "id": np.array([b"a"], object),
            "raw": np.array([b"\x00\x01"], object),
        },
    )

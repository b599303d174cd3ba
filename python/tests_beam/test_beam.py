"""tfrec.beam coders with Beam's own TFRecord IO, on the DirectRunner.

Run with the Beam venv's pytest (.ci/setup-beam-venv.sh), from this folder:
the main venv has TensorFlow and no Beam. TensorFlow reading what Beam wrote
is checked from the main suite (python/tests/test_beam_interop.py).
"""

from __future__ import annotations

import doctest
import glob
import os
import pickle
import subprocess
import sys

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.internal import pickler
from apache_beam.testing.util import assert_that, equal_to
from array_cases import edge_cases, numeric_cases, scalar_features_case
from pipelines import COMPRESSIONS, write_tfrecords

import tfrec
import tfrec.beam
from tfrec.beam import ExampleCoder, TensorCoder


def tensor_cases():
    """Arrays of every dtype tfrec serializes, of several shapes."""
    return (
        numeric_cases(5, (3, 4), 100, (0, 2))
        + edge_cases()
        + [np.array(False), np.array(b"scalar string", dtype=object)]
    )


def tensor_key(a):
    """A hashable, exact form of an array: dtype, shape and contents."""
    a = np.asarray(a)
    if a.dtype == object:
        return ("string", a.shape, tuple(a.ravel().tolist()))
    return (a.dtype.name, a.shape, a.tobytes())


def example_cases():
    """(features given to the coder, the dict decoding must give)."""
    f32 = np.float32
    return [
        scalar_features_case(),
        (
            {"ints": [1, -2, 2**62], "floats": np.array([1.5, -0.1]), "empty": [], "flag": True},
            {
                "ints": np.array([1, -2, 2**62]),
                "floats": np.array([1.5, -0.1], f32),
                "empty": np.zeros(0, f32),
                "flag": np.array([1]),
            },
        ),
        (
            {"names": ["x", "", "é"], "matrix": np.arange(6, dtype=np.uint8).reshape(2, 3)},
            {
                "names": np.array([b"x", b"", "é".encode()], object),
                "matrix": np.arange(6, dtype=np.int64),
            },
        ),
        ({}, {}),
    ]


def example_key(d):
    return tuple(sorted((name, tensor_key(v)) for name, v in d.items()))


def _write_with_beam(values, prefix, coder, compression):
    write_tfrecords(values, prefix, coder, compression)
    paths = sorted(glob.glob(prefix + "-*"))
    assert len(paths) == 2
    return paths


def _read_with_beam(pattern, coder, key, expected):
    with beam.Pipeline("DirectRunner") as p:
        keys = p | beam.io.ReadFromTFRecord(pattern, coder=coder) | beam.Map(key)
        assert_that(keys, equal_to(expected))


@pytest.mark.parametrize("compression", list(COMPRESSIONS))
def test_tensor_round_trip(tmp_path, compression):
    cases = tensor_cases()
    expected = [tensor_key(a) for a in cases]
    paths = _write_with_beam(cases, str(tmp_path / "t"), TensorCoder(), compression)
    # What Beam wrote is what tfrec.Writer writes: tfrec.Reader reads it
    # back, CRCs checked, with dtype and shape intact.
    read = [tensor_key(a) for path in paths for a in tfrec.Reader(path, kind="tensor")]
    assert sorted(read) == sorted(expected)
    assert all(tfrec.Reader(p).compression == compression for p in paths)
    _read_with_beam(str(tmp_path / "t-*"), TensorCoder(), tensor_key, expected)


@pytest.mark.parametrize("compression", list(COMPRESSIONS))
def test_beam_reads_tfrec_tensors(tmp_path, compression):
    cases = tensor_cases()
    # Beam's default (AUTO) compression goes by the file name.
    path = str(tmp_path / ("w.tfrecord" + (".gz" if compression == "gzip" else "")))
    with tfrec.Writer(path, compression=None if compression == "none" else compression) as w:
        for a in cases:
            w.write(a)
    _read_with_beam(path, TensorCoder(), tensor_key, [tensor_key(a) for a in cases])


@pytest.mark.parametrize("compression", list(COMPRESSIONS))
def test_example_round_trip(tmp_path, compression):
    cases = example_cases()
    expected = [example_key(want) for _, want in cases]
    given = [g for g, _ in cases]
    paths = _write_with_beam(given, str(tmp_path / "e"), ExampleCoder(), compression)
    read = [example_key(d) for path in paths for d in tfrec.Reader(path, kind="example")]
    assert sorted(read) == sorted(expected)
    _read_with_beam(str(tmp_path / "e-*"), ExampleCoder(), example_key, expected)


def test_example_coder_decodes_as_the_reader(tmp_path):
    path = str(tmp_path / "w.tfrecord")
    with tfrec.Writer(path) as w:
        for given, _ in example_cases():
            w.write_example(given)
    records = list(tfrec.Reader(path, kind="raw"))
    for record, from_reader in zip(records, tfrec.Reader(path)):
        decoded = ExampleCoder().decode(record)
        assert example_key(decoded) == example_key(from_reader)
        assert [v.dtype for v in decoded.values()] == [v.dtype for v in from_reader.values()]


def test_coders_are_deterministic_and_pickle():
    for coder in (TensorCoder(), ExampleCoder()):
        assert coder.is_deterministic()
        assert coder.as_deterministic_coder("step") is coder
        assert pickle.loads(pickle.dumps(coder)) == coder
        assert pickler.loads(pickler.dumps(coder)) == coder
        assert hash(coder) == hash(type(coder)())
    assert TensorCoder() != ExampleCoder()
    a = np.arange(10, dtype=np.float64).reshape(2, 5)
    assert TensorCoder().encode(a) == TensorCoder().encode(np.asfortranarray(a))
    assert TensorCoder().encode(a) == tfrec.serialize_tensor(a)
    one = {"b": [1, 2], "a": "x"}
    two = {"a": "x", "b": np.array([1, 2])}
    assert ExampleCoder().encode(one) == ExampleCoder().encode(two) == tfrec.serialize_example(one)


def test_decode_errors():
    with pytest.raises(tfrec.InvalidTensorError):
        TensorCoder().decode(b"\xff\xff not a tensor")
    with pytest.raises(tfrec.InvalidExampleError):
        ExampleCoder().decode(b"\xff\xff not an example")
    with pytest.raises(TypeError):
        ExampleCoder().encode([1, 2])


def test_importing_tfrec_does_not_import_beam():
    code = "import sys, tfrec; print('apache_beam' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert "beam" not in tfrec.__all__
    assert os.path.basename(tfrec.__file__) == "__init__.py"


def test_docstring_examples():
    result = doctest.testmod(tfrec.beam, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0

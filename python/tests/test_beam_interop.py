"""tfrec.beam against TensorFlow: TensorFlow parses what Beam wrote with the
coders, and Beam with the coders reads what TensorFlow wrote.

Beam and TensorFlow live in separate venvs (they pin clashing protobufs), so
the Beam side runs in the Beam venv's python (env ``TFREC_BEAM_PYTHON``,
made by .ci/setup-beam-venv.sh) as python/tests_beam/interop_job.py; values
cross as JSON. Skipped without that interpreter, failed instead when
``TFREC_REQUIRE_BEAM=1``.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

TESTS_BEAM = Path(__file__).resolve().parents[1] / "tests_beam"
JOB = TESTS_BEAM / "interop_job.py"
COMPRESSIONS = ["none", "gzip"]


def _beam_env():
    """The environment for the Beam venv's python: its own packages (tfrec
    as setup-beam-venv.sh installed it), never this interpreter's path."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env


def _load(path, name):
    """A module of python/tests_beam, loaded by its path: that folder is not
    on this suite's path, and its Beam-only modules must stay out of it."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


job = _load(JOB, "tfrec_beam_interop_job")
array_cases = _load(TESTS_BEAM / "array_cases.py", "tfrec_beam_array_cases")


@pytest.fixture(scope="module")
def beam_python():
    required = os.environ.get("TFREC_REQUIRE_BEAM") == "1"
    py = os.environ.get("TFREC_BEAM_PYTHON")
    problem = None
    if not py:
        problem = "TFREC_BEAM_PYTHON is not set (.ci/setup-beam-venv.sh prints it)"
    else:
        check = subprocess.run(
            [py, "-c", "import apache_beam, tfrec.beam"],
            capture_output=True,
            text=True,
            env=_beam_env(),
        )
        if check.returncode != 0:
            problem = f"{py} cannot import apache_beam and tfrec.beam: {check.stderr[-2000:]}"
    if problem is not None:
        if required:
            pytest.fail(f"TFREC_REQUIRE_BEAM=1 but {problem}")
        pytest.skip(f"{problem} (set TFREC_REQUIRE_BEAM=1 to require it)")
    return py


def _run_job(beam_python, tmp_path, *args):
    proc = subprocess.run(
        [beam_python, str(JOB), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_beam_env(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def tensor_cases():
    """Arrays of every dtype TensorFlow and tfrec share, of several shapes."""
    return (
        array_cases.numeric_cases(11, (2, 3), 50, (0, 3))
        + array_cases.edge_cases()
        + [np.array(b"scalar", dtype=object)]
    )


def tensor_key(x):
    """A hashable, exact form of an array: dtype, shape and contents."""
    if isinstance(x, bytes):
        x = np.array(x, dtype=object)
    a = np.asarray(x)
    if a.dtype.kind in "OS":
        return ("string", a.shape, tuple(bytes(v) for v in a.ravel().tolist()))
    return (a.dtype.name, a.shape, a.tobytes())


def example_cases():
    """(features given to ExampleCoder, the arrays TensorFlow must parse)."""
    f32 = np.float32
    return [
        array_cases.scalar_features_case(),
        (
            {"ints": np.array([1, -2, 2**62]), "floats": np.array([1.5, -0.1]), "empty": []},
            {
                "ints": np.array([1, -2, 2**62]),
                "floats": np.array([1.5, -0.1], f32),
                "empty": np.zeros(0, f32),
            },
        ),
        (
            {"names": np.array([b"x", b"", "é".encode()], object), "flags": np.array([1, 0, 1])},
            {
                "names": np.array([b"x", b"", "é".encode()], object),
                "flags": np.array([1, 0, 1]),
            },
        ),
    ]


def example_key(d):
    return tuple(sorted((name, tensor_key(v)) for name, v in d.items()))


def _tf_records(tf, pattern, compression):
    paths = sorted(glob.glob(pattern))
    assert paths, f"nothing matches {pattern}"
    ds = tf.data.TFRecordDataset(paths, compression_type="GZIP" if compression == "gzip" else "")
    return [r.numpy() for r in ds]


def _tf_parse_tensor(tf, record):
    from tensorflow.core.framework import tensor_pb2

    dtype = tf.dtypes.as_dtype(tensor_pb2.TensorProto.FromString(record).dtype)
    return tf.io.parse_tensor(record, out_type=dtype).numpy()


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_tensorflow_parses_tensors_beam_wrote(tf, beam_python, tmp_path, compression):
    cases = tensor_cases()
    (tmp_path / "cases.json").write_text(json.dumps([job.array_to_json(a) for a in cases]))
    cases_json, out = tmp_path / "cases.json", tmp_path / "out"
    _run_job(beam_python, tmp_path, "write-tensors", cases_json, out, compression)
    records = _tf_records(tf, str(tmp_path / "out-*"), compression)
    parsed = [tensor_key(_tf_parse_tensor(tf, r)) for r in records]
    assert sorted(parsed) == sorted(tensor_key(a) for a in cases)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_tensorflow_parses_examples_beam_wrote(tf, beam_python, tmp_path, compression):
    cases = example_cases()
    given = [job.dict_to_json({k: np.asarray(v) for k, v in g.items()}) for g, _ in cases]
    (tmp_path / "cases.json").write_text(json.dumps(given))
    cases_json, out = tmp_path / "cases.json", tmp_path / "out"
    _run_job(beam_python, tmp_path, "write-examples", cases_json, out, compression)
    records = _tf_records(tf, str(tmp_path / "out-*"), compression)
    want_by_names = {tuple(sorted(want)): want for _, want in cases}
    parsed = []
    for record in records:
        names = tuple(sorted(tf.train.Example.FromString(record).features.feature))
        want = want_by_names[names]
        tf_dtypes = {"O": tf.string, "i": tf.int64, "f": tf.float32}
        spec = {name: tf.io.VarLenFeature(tf_dtypes[v.dtype.kind]) for name, v in want.items()}
        features = tf.io.parse_single_example(record, spec)
        parsed.append(example_key({n: tf.sparse.to_dense(t).numpy() for n, t in features.items()}))
    assert sorted(parsed) == sorted(example_key(want) for _, want in cases)


def _tf_write(tf, path, payloads, compression):
    options = tf.io.TFRecordOptions(compression_type="GZIP" if compression == "gzip" else "")
    with tf.io.TFRecordWriter(str(path), options) as w:
        for p in payloads:
            w.write(p)


def _beam_read(beam_python, tmp_path, command, pattern):
    out = tmp_path / "read.jsonl"
    _run_job(beam_python, tmp_path, command, pattern, out)
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_beam_reads_tensors_tensorflow_wrote(tf, beam_python, tmp_path, compression):
    cases = tensor_cases()
    payloads = []
    for a in cases:
        t = tf.constant(a, dtype=tf.string) if a.dtype == object else tf.constant(a)
        payloads.append(tf.io.serialize_tensor(t).numpy())
    path = tmp_path / ("tf.tfrecord" + (".gz" if compression == "gzip" else ""))
    _tf_write(tf, path, payloads, compression)
    read = _beam_read(beam_python, tmp_path, "read-tensors", path)
    assert sorted(tensor_key(job.array_from_json(j)) for j in read) == sorted(
        tensor_key(a) for a in cases
    )


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_beam_reads_examples_tensorflow_wrote(tf, beam_python, tmp_path, compression):
    def feature(v):
        if v.dtype == object:
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(v)))
        if v.size == 0:
            return tf.train.Feature()  # no list set
        if v.dtype.kind == "f":
            return tf.train.Feature(float_list=tf.train.FloatList(value=v.tolist()))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v.tolist()))

    cases = [want for _, want in example_cases()]
    payloads = [
        tf.train.Example(
            features=tf.train.Features(feature={n: feature(v) for n, v in want.items()})
        ).SerializeToString()
        for want in cases
    ]
    path = tmp_path / ("tf.tfrecord" + (".gz" if compression == "gzip" else ""))
    _tf_write(tf, path, payloads, compression)
    read = _beam_read(beam_python, tmp_path, "read-examples", path)
    got = [job.dict_from_json(j) for j in read]
    assert sorted(example_key(d) for d in got) == sorted(example_key(w) for w in cases)
    for d in got:  # the dtypes the Reader gives
        assert {v.dtype.kind for v in d.values()} <= {"i", "f", "O"}

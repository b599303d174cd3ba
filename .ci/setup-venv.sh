#!/usr/bin/env bash
# Create (or reuse) the Python virtualenv at the repository root that holds
# TensorFlow (golden test data, the reference implementation in the interop
# tests, the comparison benchmarks), PyTorch, Grain, PySpark, Ray Data, moto
# (the S3 server of the object-storage tests), ml_dtypes, pytest and
# hypothesis, and build and install the `tfrec` Python package (./python)
# into it.
#
# Idempotent: an existing venv with working packages is left as it is; the
# tfrec package is rebuilt and reinstalled every time (incremental).
# Prints the path of the venv's python interpreter on the last line.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"
py="$venv/bin/python"

# A venv left half-made (no interpreter, or no pip) is rebuilt from scratch.
if [ ! -x "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
    echo "creating virtualenv in $venv" >&2
    python3 -m venv --clear "$venv"
fi

pip_install() {
    "$py" -m pip install -q --disable-pip-version-check "$@" >&2
}

if ! TF_CPP_MIN_LOG_LEVEL=3 "$py" -c 'import tensorflow, numpy' >/dev/null 2>&1; then
    echo "installing tensorflow-cpu and numpy into $venv" >&2
    pip_install tensorflow-cpu numpy
    # Fail loudly here rather than later in a test.
    TF_CPP_MIN_LOG_LEVEL=3 "$py" -c 'import tensorflow, numpy' >/dev/null
fi

if ! "$py" -c 'import torch, ml_dtypes, pytest, hypothesis, mypy' >/dev/null 2>&1; then
    echo "installing torch, ml_dtypes, pytest, hypothesis and mypy into $venv" >&2
    pip_install torch ml_dtypes pytest hypothesis mypy
    "$py" -c 'import torch, ml_dtypes, pytest, hypothesis, mypy' >/dev/null
fi

# Grain (PyPI name `grain`, imported as `grain`) for the tfrec.grain tests.
if ! "$py" -c 'import grain' >/dev/null 2>&1; then
    echo "installing grain into $venv" >&2
    pip_install grain
    "$py" -c 'import grain' >/dev/null
fi

# PySpark 4 (the Python data source API) and pyarrow for tfrec.spark; a
# local Spark also needs Java 17 on the PATH.
if ! "$py" -c 'import pyspark, pyarrow, sys; sys.exit(int(pyspark.__version__.split(".")[0]) < 4)' >/dev/null 2>&1; then
    echo "installing pyspark and pyarrow into $venv" >&2
    pip_install "pyspark>=4.0" pyarrow
    "$py" -c 'import pyspark.sql.datasource, pyarrow' >/dev/null
fi

# Ray Data, for tfrec.ray and its tests on a local cluster (and Ray's own
# TFRecord reader, the peer in benches/compare_ray.py).
if ! TF_CPP_MIN_LOG_LEVEL=3 "$py" -c 'import ray.data, pyarrow, tensorflow' >/dev/null 2>&1; then
    echo "installing ray[data] into $venv" >&2
    pip_install "ray[data]"
    TF_CPP_MIN_LOG_LEVEL=3 "$py" -c 'import ray.data, pyarrow, tensorflow' >/dev/null
fi

# An S3-compatible server for the object-storage tests (tests/s3.rs starts
# `moto_server` from this venv) and boto3 for the S3 benchmark's reference GET.
if ! "$py" -c 'import moto.server, boto3' >/dev/null 2>&1; then
    echo "installing moto[server] and boto3 into $venv" >&2
    pip_install "moto[server]" boto3
    "$py" -c 'import moto.server, boto3' >/dev/null
fi

# The pip `tfrecord` package is only a benchmark peer; it cannot be imported
# in a process that imported TensorFlow, so the benchmark runs it apart.
if ! "$py" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("tfrecord") is None)' >/dev/null 2>&1; then
    pip_install tfrecord || echo "note: the pip tfrecord package (benchmark peer only) did not install" >&2
fi

echo "building and installing the tfrec Python package (pip install ./python)" >&2
pip_install "$repo_root/python"

echo "$py"

#!/usr/bin/env bash
# Create (or reuse) the Python virtualenv at the repository root that holds
# TensorFlow, used to generate golden test data, as the reference
# implementation in the integration tests, and for the comparison benchmark.
#
# Idempotent: an existing venv with a working TensorFlow is left untouched.
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

if ! TF_CPP_MIN_LOG_LEVEL=3 "$py" -c 'import tensorflow, numpy' >/dev/null 2>&1; then
    echo "installing tensorflow-cpu and numpy into $venv" >&2
    "$py" -m pip install -q --disable-pip-version-check tensorflow-cpu numpy >&2
    # Fail loudly here rather than later in a test.
    TF_CPP_MIN_LOG_LEVEL=3 "$py" -c 'import tensorflow, numpy' >/dev/null
fi

echo "$py"

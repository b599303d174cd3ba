#!/usr/bin/env bash
# Create (or reuse) the Python virtualenv at the repository root that holds
# Apache Beam, used by the Beam interop tests (tests/interop_beam.rs,
# python/tests/test_beam_interop.py) and the tfrec.beam tests
# (python/tests_beam). It is separate from the TensorFlow venv because the
# two pin clashing protobufs. google-crc32c is needed too: Beam refuses to
# write TFRecords without a CRC32C package. The tfrec Python package
# (./python) is built and installed into it, with numpy, ml_dtypes and
# pytest.
#
# Idempotent: an existing venv with working packages is left as it is; the
# tfrec package is rebuilt and reinstalled every time (incremental).
# Prints the path of the venv's python interpreter on the last line.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv-beam"
py="$venv/bin/python"

# A venv left half-made (no interpreter, or no pip) is rebuilt from scratch.
if [ ! -x "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
    echo "creating virtualenv in $venv" >&2
    python3 -m venv --clear "$venv"
fi

if ! "$py" -c 'import apache_beam, google_crc32c' >/dev/null 2>&1; then
    echo "installing apache-beam and google-crc32c into $venv" >&2
    "$py" -m pip install -q --disable-pip-version-check apache-beam google-crc32c >&2
    # Fail loudly here rather than later in a test.
    "$py" -c 'import apache_beam, google_crc32c' >/dev/null
fi

if ! "$py" -c 'import numpy, ml_dtypes, pytest' >/dev/null 2>&1; then
    echo "installing numpy, ml_dtypes and pytest into $venv" >&2
    "$py" -m pip install -q --disable-pip-version-check numpy ml_dtypes pytest >&2
    "$py" -c 'import numpy, ml_dtypes, pytest' >/dev/null
fi

echo "building and installing the tfrec Python package (pip install ./python) into $venv" >&2
"$py" -m pip install -q --disable-pip-version-check "$repo_root/python" >&2

echo "$py"

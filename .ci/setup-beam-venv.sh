#!/usr/bin/env bash
# Create (or reuse) the Python virtualenv at the repository root that holds
# Apache Beam, used by the Beam interop tests (tests/interop_beam.rs). It is
# separate from the TensorFlow venv because the two pin clashing protobufs.
# google-crc32c is needed too: Beam refuses to write TFRecords without a
# CRC32C package.
#
# Idempotent: an existing venv with a working Beam is left untouched.
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

echo "$py"

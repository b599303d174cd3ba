"""Docstring examples run, and the stub file matches the compiled module."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

import tfrec


@pytest.mark.parametrize("module", ["tfrec._io", "tfrec._tensor", "tfrec.grain"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_names_are_documented():
    for name in tfrec.__all__:
        obj = getattr(tfrec, name)
        if callable(obj):
            assert obj.__doc__, name


def test_stubs_match_the_compiled_module():
    pytest.importorskip("mypy.stubtest")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "tfrec._tfrec"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

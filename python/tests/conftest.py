"""Shared fixtures: TensorFlow and torch (failing instead of skipping when
required by the environment), hypothesis profiles, golden files."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("slow", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"


def _framework(module: str, env: str):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if os.environ.get(env) == "1":
            pytest.fail(f"{env}=1 but {module} cannot be imported: {e}")
        pytest.skip(f"{module} is not installed (set {env}=1 to require it)")


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported in this interpreter (never together with the
    pip `tfrecord` package)."""
    tf = _framework("tensorflow", "TFREC_REQUIRE_TF")
    tf.config.set_visible_devices([], "GPU")
    return tf


@pytest.fixture(scope="session")
def torch():
    return _framework("torch", "TFREC_REQUIRE_TORCH")


@pytest.fixture(scope="session")
def testdata() -> Path:
    return TESTDATA

"""Fixtures of the gait tool's tests: the synthetic walks of the science tests (tests/gait/conftest.py,
loaded by path: with --import-mode=importlib one test folder cannot import another) and a browser."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCIENCE_CONFTEST = Path(__file__).resolve().parents[2] / "gait" / "conftest.py"


def _science_signals():
    spec = importlib.util.spec_from_file_location("_cadenza_gait_signals", SCIENCE_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_signals = _science_signals()


@pytest.fixture
def make_lower_back():
    return _signals.lower_back_signal


@pytest.fixture
def make_walk():
    return _signals.walking_times


@pytest.fixture
def make_insole_walk():
    return _signals.insole_walk


@pytest.fixture
def gait_web(web_browser, make_therapist):
    """A TestClient on the test's rolled-back transaction, an account maker, a log-in and a CSRF-token getter."""
    return web_browser, make_therapist, type(web_browser).log_in, type(web_browser).csrf
